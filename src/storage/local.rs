//! `file:` URIs: the broker host's own filesystem.
//!
//! Blocking std::fs calls run on tokio's blocking pool so a slow disk never stalls the
//! connection tasks. Writers go to a hidden temporary file beside the target and are
//! renamed over it on commit, so a reaped or aborted writer leaves nothing that looks
//! complete, and an existing file is only replaced once the new one is whole.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use super::temp_name::{is_unfinished_write, temp_name};
use super::{
    FileStatus, Location, ReadBuf, ReadStream, Result, Storage, StorageError, WriteStream,
};

pub struct LocalStorage;

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Io {
            path: String::new(),
            message: format!("local I/O task failed: {e}"),
        })?
}

fn status_of(loc: Location, meta: &fs::Metadata) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: meta.is_dir(),
        size: if meta.is_dir() { 0 } else { meta.len() },
        modification_time: meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000,
        block_size: meta.blksize() as i64,
    }
}

#[async_trait]
impl Storage for LocalStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        let loc = loc.clone();
        blocking(move || match fs::metadata(loc.path()) {
            Ok(meta) => Ok(Some(status_of(loc, &meta))),
            Err(e) => match StorageError::io(&loc, e) {
                StorageError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        })
        .await
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let loc = loc.clone();
        blocking(move || {
            let meta = fs::metadata(loc.path()).map_err(|e| StorageError::io(&loc, e))?;
            if !meta.is_dir() {
                return Ok(vec![status_of(loc, &meta)]);
            }
            let mut out = Vec::new();
            for entry in fs::read_dir(loc.path()).map_err(|e| StorageError::io(&loc, e))? {
                let entry = entry.map_err(|e| StorageError::io(&loc, e))?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue; // not valid UTF-8: no client could name it anyway
                };
                if is_unfinished_write(&name) {
                    continue; // a load must never pick up a file still being written
                }
                let child = loc.join(&name);
                // Follow symlinks like Hadoop's RawLocalFileSystem; skip dangling ones.
                match fs::metadata(entry.path()) {
                    Ok(meta) => out.push(status_of(child, &meta)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StorageError::io(&child, e)),
                }
            }
            out.sort_by(|a, b| a.name().cmp(b.name()));
            Ok(out)
        })
        .await
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let loc = loc.clone();
        blocking(move || {
            let file = File::open(loc.path()).map_err(|e| StorageError::io(&loc, e))?;
            let meta = file.metadata().map_err(|e| StorageError::io(&loc, e))?;
            if meta.is_dir() {
                return Err(StorageError::NotFound {
                    path: format!("{loc} (is a directory)"),
                });
            }
            Ok(Box::new(LocalReader {
                file: Arc::new(file),
                len: meta.len(),
                loc,
                nowait: NowaitReads::default(),
            }) as Box<dyn ReadStream>)
        })
        .await
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        let loc = loc.clone();
        blocking(move || {
            let target = PathBuf::from(loc.path());
            let parent = target.parent().ok_or_else(|| StorageError::Io {
                path: loc.to_string(),
                message: "cannot write to the root directory".into(),
            })?;
            fs::create_dir_all(parent).map_err(|e| StorageError::io(&loc, e))?;
            if target.is_dir() {
                return Err(StorageError::Io {
                    path: loc.to_string(),
                    message: "is a directory".into(),
                });
            }
            let temp = parent.join(temp_name(loc.name()));
            let file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&temp)
                .map_err(|e| StorageError::io(&loc, e))?;
            Ok(Box::new(LocalWriter {
                file: Some(file),
                finished: false,
                temp,
                target,
                loc,
            }) as Box<dyn WriteStream>)
        })
        .await
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        let loc = loc.clone();
        blocking(move || {
            let path = Path::new(loc.path());
            let result = match fs::symlink_metadata(path) {
                Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
                Ok(_) => fs::remove_file(path),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::io(&loc, e)),
            }
        })
        .await
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        let (src, dst) = (src.clone(), dst.clone());
        blocking(move || {
            if fs::symlink_metadata(src.path()).is_err() {
                return Err(StorageError::NotFound {
                    path: src.to_string(),
                });
            }
            if fs::symlink_metadata(dst.path()).is_ok() {
                return Err(StorageError::AlreadyExists {
                    path: dst.to_string(),
                });
            }
            match dst.parent() {
                Some(parent) if !Path::new(parent.path()).is_dir() => {
                    return Err(StorageError::Io {
                        path: dst.to_string(),
                        message: "parent directory does not exist".into(),
                    })
                }
                _ => {}
            }
            fs::rename(src.path(), dst.path()).map_err(|e| StorageError::Io {
                path: format!("{src} -> {dst}"),
                message: e.to_string(),
            })
        })
        .await
    }
}

/// Reads up to this long are tried on the worker thread first (when page-cached).
const INLINE_READ_MAX: usize = 256 * 1024;

struct LocalReader {
    file: Arc<File>,
    len: u64,
    loc: Location,
    nowait: NowaitReads,
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

struct LocalWriter {
    /// `None` once handed to a blocking task that did not come back (cancelled call).
    file: Option<File>,
    /// Set once the temp file was renamed over the target or removed.
    finished: bool,
    temp: PathBuf,
    target: PathBuf,
    loc: Location,
}

impl LocalWriter {
    fn take_file(&mut self) -> Result<File> {
        self.file.take().ok_or_else(|| StorageError::Io {
            path: self.loc.to_string(),
            message: "an earlier write on this stream did not finish".into(),
        })
    }
}

#[async_trait]
impl WriteStream for LocalWriter {
    async fn write(&mut self, data: Vec<u8>) -> Result<()> {
        let mut file = self.take_file()?;
        let loc = self.loc.clone();
        let (file, result) = tokio::task::spawn_blocking(move || {
            let result = file.write_all(&data).map_err(|e| StorageError::io(&loc, e));
            (file, result)
        })
        .await
        .map_err(|e| StorageError::Io {
            path: self.loc.to_string(),
            message: format!("local write task failed: {e}"),
        })?;
        self.file = Some(file);
        result
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let file = self.take_file()?;
        blocking(move || {
            let synced = file.sync_all().map_err(|e| StorageError::io(&self.loc, e));
            drop(file);
            let done = synced.and_then(|()| {
                fs::rename(&self.temp, &self.target).map_err(|e| StorageError::io(&self.loc, e))
            });
            // On failure Drop removes the temp file: nothing partial stays behind.
            self.finished = done.is_ok();
            done
        })
        .await
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        drop(self.file.take());
        blocking(move || {
            self.finished = true;
            match fs::remove_file(&self.temp) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::io(&self.loc, e)),
            }
        })
        .await
    }
}

impl Drop for LocalWriter {
    /// A writer dropped without commit (a cancelled task) must not leave its temp file.
    fn drop(&mut self) {
        if !self.finished {
            let _ = fs::remove_file(&self.temp);
        }
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
