//! Writes to a local file, committed atomically ([`AtomicWrite`]): a hidden temporary file
//! beside the target, synced and renamed over it on commit, so a reaped or aborted writer
//! leaves nothing that looks complete and an existing file is only replaced once the new
//! one is whole.
//!
//! The writer holds a handle of the target's parent directory, opened confined to the
//! root when the writer was created; the temporary file is created (`O_EXCL`), renamed and
//! removed by name inside that handle, so nothing a client does later on the path can
//! send the bytes elsewhere.

use std::fs::File;
use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use cap_std::fs::Dir;
use futures::future::BoxFuture;

use super::blocking;
use crate::storage::atomic_write::{AtomicWrite, TempFile};
use crate::storage::{Location, Result, StorageError};

pub(super) struct LocalTempFile {
    /// `None` once handed to a blocking task that did not come back (cancelled call).
    file: Option<File>,
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
}

#[async_trait]
impl TempFile for LocalTempFile {
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

    /// fsync, then close.
    async fn finish(&mut self) -> Result<()> {
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
        drop(self.file.take());
        let (parent, temp, loc) = (self.parent.clone(), self.temp.clone(), self.loc.clone());
        Box::pin(blocking(move || match parent.remove_file(&temp) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::io(&loc, e)),
        }))
    }
}
