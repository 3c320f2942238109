//! Positional reads of a local file, opened confined to its root (root.rs).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::storage::{Location, ReadBuf, ReadStream, Result, StorageError};

/// Reads up to this long are tried on the worker thread first (when page-cached).
const INLINE_READ_MAX: usize = 256 * 1024;

pub(super) struct LocalReader {
    file: Arc<File>,
    len: u64,
    loc: Location,
    nowait: NowaitReads,
}

impl LocalReader {
    /// A reader of `file`, `len` bytes long when it was opened.
    pub(super) fn new(file: File, len: u64, loc: Location) -> Self {
        LocalReader {
            file: Arc::new(file),
            len,
            loc,
            nowait: NowaitReads::default(),
        }
    }
}

/// Set once `preadv2` turned out to be missing (ENOSYS: kernels before 4.6, such as
/// CentOS 7's 3.10): every later small read goes straight to the blocking pool.
static PREADV2_MISSING: AtomicBool = AtomicBool::new(false);

/// Whether a reader still tries `preadv2(RWF_NOWAIT)` first. A missing system call is
/// learnt once for the process; EOPNOTSUPP (kernels before 4.14, or a filesystem without
/// non-blocking reads, e.g. some network ones) is learnt once per open file, because
/// files on other filesystems may still support it.
#[derive(Default)]
struct NowaitReads {
    unsupported: AtomicBool,
}

impl NowaitReads {
    fn tried(&self) -> bool {
        !PREADV2_MISSING.load(Ordering::Relaxed) && !self.unsupported.load(Ordering::Relaxed)
    }

    /// EAGAIN (not cached) and the rest are per-read answers: try again next time.
    fn failed(&self, errno: rustix::io::Errno) {
        match unsupported_scope(errno) {
            Some(UnsupportedScope::Process) => PREADV2_MISSING.store(true, Ordering::Relaxed),
            Some(UnsupportedScope::File) => self.unsupported.store(true, Ordering::Relaxed),
            None => {}
        }
    }
}

#[derive(Debug, PartialEq)]
enum UnsupportedScope {
    Process,
    File,
}

fn unsupported_scope(errno: rustix::io::Errno) -> Option<UnsupportedScope> {
    use rustix::io::Errno;
    match errno {
        Errno::NOSYS => Some(UnsupportedScope::Process),
        Errno::OPNOTSUPP => Some(UnsupportedScope::File),
        _ => None,
    }
}

#[async_trait]
impl ReadStream for LocalReader {
    fn size(&self) -> u64 {
        self.len
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        // pread(2) refuses (EINVAL) a range ending beyond i64::MAX; no file has bytes
        // there, so such a read is simply past end of file.
        let len = len.min(i64::MAX.saturating_sub_unsigned(offset).max(0) as usize);
        if len == 0 {
            return Ok(0);
        }
        // Bytes already in the page cache are copied right here: a hop to the blocking
        // pool and back (two thread wake-ups) costs more than a small read itself.
        // RWF_NOWAIT makes the kernel refuse (EAGAIN) instead of waiting for the disk,
        // so a worker thread never blocks; what it refuses goes to the blocking pool.
        if len <= INLINE_READ_MAX && self.nowait.tried() {
            let mut slices = [std::io::IoSliceMut::new(buf.unfilled(len))];
            match rustix::io::preadv2(
                &*self.file,
                &mut slices,
                offset,
                rustix::io::ReadWriteFlags::NOWAIT,
            ) {
                Ok(n) => {
                    buf.advance(n);
                    return Ok(n);
                }
                Err(errno) => self.nowait.failed(errno),
            }
        }
        let file = self.file.clone();
        let loc = self.loc.clone();
        let mut owned = std::mem::take(buf);
        // The buffer travels to the blocking thread and back (a move, not a copy).
        let (owned, result) = tokio::task::spawn_blocking(move || {
            let result = file.read_at(owned.unfilled(len), offset);
            if let Ok(n) = result {
                owned.advance(n);
            }
            (owned, result.map_err(|e| StorageError::io(&loc, e)))
        })
        .await
        .map_err(|e| StorageError::Io {
            path: self.loc.to_string(),
            message: format!("local read task failed: {e}"),
        })?;
        *buf = owned;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::{unsupported_scope, UnsupportedScope};
    use rustix::io::Errno;

    #[test]
    fn a_missing_preadv2_is_learnt_for_the_process_and_rwf_nowait_per_file() {
        assert_eq!(
            unsupported_scope(Errno::NOSYS),
            Some(UnsupportedScope::Process)
        );
        assert_eq!(
            unsupported_scope(Errno::OPNOTSUPP),
            Some(UnsupportedScope::File)
        );
        // Not cached now, or a passing failure: the next read tries again.
        assert_eq!(unsupported_scope(Errno::AGAIN), None);
        assert_eq!(unsupported_scope(Errno::INTR), None);
        assert_eq!(unsupported_scope(Errno::IO), None);
    }
}
