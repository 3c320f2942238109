//! Writes to a local file: a hidden temporary file beside the target, renamed over it on
//! commit, so a reaped or aborted writer leaves nothing that looks complete and an
//! existing file is only replaced once the new one is whole.
//!
//! The writer holds a handle of the target's parent directory, opened confined to the
//! root when the writer was created; the temporary file is created (`O_EXCL`), renamed and
//! removed by name inside that handle, so nothing a client does later on the path can
//! send the bytes elsewhere.

use std::fs::File;
use std::io::Write;

use async_trait::async_trait;
use bytes::Bytes;
use cap_std::fs::Dir;

use super::blocking;
use crate::storage::{Location, Result, StorageError, WriteStream};

pub(super) struct LocalWriter {
    /// `None` once handed to a blocking task that did not come back (cancelled call).
    file: Option<File>,
    /// Set once the temp file was renamed over the target or removed.
    finished: bool,
    /// The target's parent directory; `temp` and `name` are single names inside it.
    parent: Dir,
    temp: String,
    name: String,
    loc: Location,
}

impl LocalWriter {
    pub(super) fn new(file: File, parent: Dir, temp: String, name: String, loc: Location) -> Self {
        LocalWriter {
            file: Some(file),
            finished: false,
            parent,
            temp,
            name,
            loc,
        }
    }

    fn take_file(&mut self) -> Result<File> {
        self.file.take().ok_or_else(|| StorageError::Io {
            path: self.loc.to_string(),
            message: "an earlier write on this stream did not finish".into(),
        })
    }
}

#[async_trait]
impl WriteStream for LocalWriter {
    async fn write(&mut self, data: Bytes) -> Result<()> {
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
                self.parent
                    .rename(&self.temp, &self.parent, &self.name)
                    .map_err(|e| StorageError::io(&self.loc, e))
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
            match self.parent.remove_file(&self.temp) {
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
            let _ = self.parent.remove_file(&self.temp);
        }
    }
}
