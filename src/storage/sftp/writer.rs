//! Sequential writes of one SFTP file, committed atomically ([`AtomicWrite`]): the bytes
//! go (pipelined, up to 16 writes in flight, nothing buffered beyond them) to a hidden
//! temporary file beside the target (`.<name>.broker-<16 hex>.tmp`), which closeWriter
//! closes (every write acknowledged) and renames over the target
//! (`posix-rename@openssh.com`). A write that fails, is aborted, reaped or dropped removes
//! the temporary file.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use russh_sftp::client::fs::File;
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;

use super::core::Session;
use super::error::{stream_error, to_storage_error};
use crate::storage::atomic_write::{already_closed, AtomicWrite, TempFile};
use crate::storage::{Result, StorageError};

pub(super) struct SftpTempFile {
    session: Arc<Session>,
    /// The file's room on the session (see `FILES_PER_SESSION`).
    _room: OwnedSemaphorePermit,
    /// `None` once closed.
    file: Option<File>,
    target: String,
    temp: String,
    shown: String,
    server: String,
}

impl SftpTempFile {
    pub(super) fn writer(
        session: Arc<Session>,
        room: OwnedSemaphorePermit,
        file: File,
        target: String,
        temp: String,
        shown: String,
        server: String,
    ) -> AtomicWrite<Self> {
        AtomicWrite::new(SftpTempFile {
            session,
            _room: room,
            file: Some(file),
            target,
            temp,
            shown,
            server,
        })
    }
}

#[async_trait]
impl TempFile for SftpTempFile {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| already_closed(&self.shown))?;
        file.write_all(&data)
            .await
            .map_err(|e| stream_error(&self.shown, &self.server, "writing", e))
    }

    /// Closes the file: every write acknowledged.
    async fn finish(&mut self) -> Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| already_closed(&self.shown))?;
        file.close()
            .await
            .map_err(|e| stream_error(&self.shown, &self.server, "closing the file", e))
    }

    async fn publish(&mut self) -> Result<()> {
        self.session
            .rename_over(&self.temp, &self.target)
            .await
            .map_err(|e| to_storage_error(&self.shown, &self.server, e))
    }

    fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
        drop(self.file.take());
        let (session, temp) = (self.session.clone(), self.temp.clone());
        let (shown, server) = (self.shown.clone(), self.server.clone());
        Box::pin(async move {
            match session.sftp.remove_file(temp).await {
                Ok(()) => Ok(()),
                Err(e) => match to_storage_error(&shown, &server, e) {
                    StorageError::NotFound { .. } => Ok(()),
                    other => Err(other),
                },
            }
        })
    }
}
