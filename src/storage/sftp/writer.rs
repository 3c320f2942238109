//! Sequential writes of one SFTP file, committed atomically: the bytes go (pipelined, up
//! to 16 writes in flight, nothing buffered beyond them) to a hidden temporary file beside
//! the target (`.<name>.broker-<16 hex>.tmp`), which closeWriter closes (every write
//! acknowledged) and renames over the target (`posix-rename@openssh.com`). A write that
//! fails, is aborted, reaped or dropped removes the temporary file.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use russh_sftp::client::fs::File;
use tokio::io::AsyncWriteExt;
use tokio::sync::OwnedSemaphorePermit;

use super::core::Session;
use super::error::{stream_error, to_storage_error};
use crate::storage::{Result, StorageError, WriteStream};

pub(super) struct SftpWriter {
    session: Arc<Session>,
    /// The file's room on the session (see `FILES_PER_SESSION`).
    _room: OwnedSemaphorePermit,
    /// `None` once closed.
    file: Option<File>,
    target: String,
    temp: String,
    shown: String,
    server: String,
    /// Set once the temporary file was renamed over the target or removed.
    finished: bool,
}

impl SftpWriter {
    pub(super) fn new(
        session: Arc<Session>,
        room: OwnedSemaphorePermit,
        file: File,
        target: String,
        temp: String,
        shown: String,
        server: String,
    ) -> Self {
        SftpWriter {
            session,
            _room: room,
            file: Some(file),
            target,
            temp,
            shown,
            server,
            finished: false,
        }
    }

    fn closed(&self) -> StorageError {
        StorageError::Io {
            path: self.shown.clone(),
            message: "the writer is already closed".into(),
        }
    }

    async fn finish(&mut self) -> Result<()> {
        let file = self.file.take().ok_or_else(|| self.closed())?;
        file.close()
            .await
            .map_err(|e| stream_error(&self.shown, &self.server, "closing the file", e))?;
        self.session
            .rename_over(&self.temp, &self.target)
            .await
            .map_err(|e| to_storage_error(&self.shown, &self.server, e))?;
        self.finished = true;
        Ok(())
    }

    async fn discard(&mut self) -> Result<()> {
        drop(self.file.take());
        self.finished = true;
        match self.session.sftp.remove_file(self.temp.as_str()).await {
            Ok(()) => Ok(()),
            Err(e) => match to_storage_error(&self.shown, &self.server, e) {
                StorageError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

#[async_trait]
impl WriteStream for SftpWriter {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let (shown, server) = (self.shown.clone(), self.server.clone());
        let file = self.file.as_mut().ok_or_else(|| StorageError::Io {
            path: shown.clone(),
            message: "the writer is already closed".into(),
        })?;
        file.write_all(&data)
            .await
            .map_err(|e| stream_error(&shown, &server, "writing", e))
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let result = self.finish().await;
        if result.is_err() {
            let _ = self.discard().await;
        }
        result
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        self.discard().await
    }
}

impl Drop for SftpWriter {
    /// A writer dropped mid-way (its task cancelled) must not leave its temporary file.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        drop(self.file.take());
        let (session, temp) = (self.session.clone(), self.temp.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = session.sftp.remove_file(temp).await;
            });
        }
    }
}
