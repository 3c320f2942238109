//! Writes to a local file, committed atomically ([`AtomicWrite`]): a hidden temporary file
//! beside the target, synced and renamed over it on commit, so a reaped or aborted writer
//! leaves nothing that looks complete and an existing file is only replaced once the new
//! one is whole.
//!
//! The writer holds a handle of the target's parent directory, opened confined to the
//! root when the writer was created; the temporary file is created (`O_EXCL`), renamed and
//! removed by name inside that handle, so nothing a client does later on the path can
//! send the bytes elsewhere.
//!
//! Written behind: a chunk is handed to the blocking pool and the pwrite answered at once,
//! so the client sends the next chunk while this one goes into the file (waiting for each
//! write kept the broker at about half the speed of writing locally). The next write, or
//! the commit, waits for it first and reports its failure, naming the bytes: a failed
//! chunk still fails the file, as Hadoop's buffered output streams (the Java broker's)
//! report theirs at a later write or at close. One chunk per writer is in flight at most;
//! it is the chunk just acknowledged, outside `max_writer_buffer_mb`'s count once its
//! pwrite returned. Each chunk's writeback to the disk is started as soon as it is in the
//! file, so the commit's fsync has little left to flush.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cap_std::fs::Dir;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;

use super::blocking;
use crate::storage::atomic_write::{AtomicWrite, TempFile};
use crate::storage::{Location, Result, StorageError};

/// What a chunk's write task hands back: the file, and how the write went.
type WriteOutcome = (File, std::io::Result<()>);

pub(super) struct LocalTempFile {
    /// `None` while a write holds it, or once handed to a blocking task that did not come
    /// back (cancelled call).
    file: Option<File>,
    /// The chunk being written behind (the offset it starts at, and its task, which hands
    /// the file back with the outcome).
    in_flight: Option<(u64, JoinHandle<WriteOutcome>)>,
    /// Bytes handed to the file so far.
    written: u64,
    /// The target's parent directory; `temp` and `name` are single names inside it.
    parent: Arc<Dir>,
    temp: String,
    name: String,
    loc: Location,
}

impl LocalTempFile {
    pub(super) fn writer(
        file: File,
        parent: Dir,
        temp: String,
        name: String,
        loc: Location,
    ) -> AtomicWrite<Self> {
        AtomicWrite::new(LocalTempFile {
            file: Some(file),
            in_flight: None,
            written: 0,
            parent: Arc::new(parent),
            temp,
            name,
            loc,
        })
    }

    fn take_file(&mut self) -> Result<File> {
        self.file.take().ok_or_else(|| StorageError::Io {
            path: self.loc.to_string(),
            message: "an earlier write on this stream did not finish".into(),
        })
    }

    /// Waits for the chunk in flight; its failure is the answer, naming its bytes.
    async fn settle(&mut self) -> Result<()> {
        let Some((from, task)) = self.in_flight.take() else {
            return Ok(());
        };
        let (file, result) = task.await.map_err(|e| StorageError::Io {
            path: self.loc.to_string(),
            message: format!("local write task failed: {e}"),
        })?;
        self.file = Some(file);
        result.map_err(|e| StorageError::Io {
            path: self.loc.to_string(),
            message: format!("writing bytes {from}..{} failed: {e}", self.written),
        })
    }
}

#[async_trait]
impl TempFile for LocalTempFile {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.settle().await?;
        let mut file = self.take_file()?;
        let from = self.written;
        self.written += data.len() as u64;
        let task = tokio::task::spawn_blocking(move || {
            let result = file.write_all(&data);
            if result.is_ok() {
                start_writeback(&file, from, data.len());
            }
            (file, result)
        });
        self.in_flight = Some((from, task));
        Ok(())
    }

    async fn finish(&mut self) -> Result<()> {
        self.settle().await?;
        let file = self.take_file()?;
        let loc = self.loc.clone();
        blocking(move || file.sync_all().map_err(|e| StorageError::io(&loc, e))).await
    }

    async fn publish(&mut self) -> Result<()> {
        let (parent, temp, name) = (self.parent.clone(), self.temp.clone(), self.name.clone());
        let loc = self.loc.clone();
        blocking(move || {
            parent
                .rename(&temp, &parent, &name)
                .map_err(|e| StorageError::io(&loc, e))
        })
        .await
    }

    fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
        // A chunk still in flight ends on the pool and closes the file there; its bytes
        // go to the unlinked file.
        drop(self.in_flight.take());
        drop(self.file.take());
        let (parent, temp, loc) = (self.parent.clone(), self.temp.clone(), self.loc.clone());
        Box::pin(blocking(move || match parent.remove_file(&temp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io(&loc, e)),
        }))
    }
}

/// Asks the kernel to start writing the chunk just written to the disk, without waiting
/// for it: the commit's fsync then finds most of the file already written instead of
/// flushing all of it at once (it took half of a 512 MiB write's time, measured in
/// BENCHMARKS.md "Writes flushed as they arrive"), and the file's dirty pages stay few.
/// Only a hint: a failure here loses nothing, the commit's fsync reports real I/O errors.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, from: u64, len: usize) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain system call on a descriptor `file` keeps open; no memory is passed.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            from as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: usize) {}

#[cfg(test)]
mod tests {
    use cap_std::ambient_authority;

    use super::*;
    use crate::storage::WriteStream;

    /// A writer over a temporary file that refuses writes (opened read-only), so every
    /// chunk written behind fails.
    fn refusing_writer(dir: &std::path::Path) -> Box<dyn WriteStream> {
        let parent = Dir::open_ambient_dir(dir, ambient_authority()).unwrap();
        std::fs::write(dir.join(".t.tmp"), b"").unwrap();
        let file = File::open(dir.join(".t.tmp")).unwrap();
        let loc = Location::parse("file:///data/t").unwrap();
        Box::new(LocalTempFile::writer(
            file,
            parent,
            ".t.tmp".into(),
            "t".into(),
            loc,
        ))
    }

    #[tokio::test]
    async fn a_chunk_written_behind_fails_the_next_write_naming_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = refusing_writer(dir.path());
        writer.write(Bytes::from_static(b"abc")).await.unwrap();
        let err = writer.write(Bytes::from_static(b"de")).await.unwrap_err();
        assert!(
            err.to_string().contains("writing bytes 0..3 failed"),
            "{err}"
        );
        assert!(err.to_string().contains("file:/data/t"), "{err}");
    }

    #[tokio::test]
    async fn a_chunk_written_behind_fails_the_commit_and_nothing_is_published() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = refusing_writer(dir.path());
        writer.write(Bytes::from_static(b"abc")).await.unwrap();
        let err = writer.commit().await.unwrap_err();
        assert!(
            err.to_string().contains("writing bytes 0..3 failed"),
            "{err}"
        );
        assert!(!dir.path().join("t").exists(), "nothing published");
        assert!(
            !dir.path().join(".t.tmp").exists(),
            "temporary file removed"
        );
    }
}
