//! Sequential writes of one FTP file, committed atomically: the bytes stream (STOR, no
//! buffering beyond the socket's) into a hidden temporary file beside the target
//! (`.<name>.broker-<16 hex>.tmp`), which closeWriter renames over the target
//! (RNFR/RNTO). A write that fails, is aborted, reaped or dropped closes its connection
//! (the server ends the transfer) and removes the temporary file.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use suppaftp::tokio::{AsyncNoTlsStream, TransferStream};
use tokio::io::AsyncWriteExt;

use super::core::{self, Conn, Pool};
use super::error::Doing;
use crate::storage::temp_name::temp_name;
use crate::storage::{Result, StorageError, WriteStream};

pub(super) struct FtpWriter {
    pool: Arc<Pool>,
    /// The connection running the upload, and the upload; `None` once ended.
    conn: Option<Conn>,
    transfer: Option<TransferStream<AsyncNoTlsStream>>,
    target: String,
    temp: String,
    shown: String,
    /// Set once the temporary file was renamed over the target or removed.
    finished: bool,
}

impl FtpWriter {
    /// Starts a write that will create (or replace) `target`, making missing parents.
    pub(super) async fn create(pool: Arc<Pool>, target: &str, shown: String) -> Result<Self> {
        if target == "/" {
            return Err(StorageError::Io {
                path: shown,
                message: "cannot write to the root directory".into(),
            });
        }
        let mut conn = pool.take(&shown).await?;
        let parent = core::parent_of(target);
        core::mkdirs(&pool, &mut conn, &shown, parent).await?;
        // The rename at commit would refuse a directory; say so before any byte is sent.
        if core::stat(&pool, &mut conn, &shown, target)
            .await?
            .is_some_and(|e| e.is_dir)
        {
            return Err(StorageError::AlreadyExists {
                path: format!("{shown} (a directory)"),
            });
        }
        let temp = core::join(parent, &temp_name(core::base_name(target)));
        let transfer = core::bounded("STOR", conn.put_with_stream(&temp))
            .await
            .map_err(|e| pool.error(&shown, Doing::Change, e))?;
        Ok(FtpWriter {
            pool,
            conn: Some(conn),
            transfer: Some(transfer),
            target: target.to_string(),
            temp,
            shown,
            finished: false,
        })
    }

    fn closed(&self) -> StorageError {
        StorageError::Io {
            path: self.shown.clone(),
            message: "the writer is already closed".into(),
        }
    }

    /// Ends the upload (226: the server has every byte) and renames it over the target;
    /// a server whose RNTO does not replace files gets the target removed first.
    async fn finish(&mut self) -> Result<()> {
        let transfer = self.transfer.take().ok_or_else(|| self.closed())?;
        let error = |e| self.pool.error(&self.shown, Doing::Change, e);
        core::bounded("the end of the upload (226 after STOR)", transfer.finish())
            .await
            .map_err(error)?;
        let mut conn = self.conn.take().ok_or_else(|| self.closed())?;
        let rename = core::bounded("RNFR/RNTO", conn.rename(&self.temp, &self.target)).await;
        if let Err(first) = rename {
            let target = core::stat(&self.pool, &mut conn, &self.shown, &self.target).await?;
            if target.is_none_or(|e| e.is_dir) {
                return Err(error(first));
            }
            core::bounded("DELE", conn.rm(&self.target))
                .await
                .map_err(error)?;
            core::bounded("RNFR/RNTO", conn.rename(&self.temp, &self.target))
                .await
                .map_err(error)?;
        }
        self.finished = true;
        self.pool.give(conn);
        Ok(())
    }

    /// Drops the upload's connection (the server ends the transfer) and removes the
    /// temporary file over another one.
    async fn discard(&mut self) -> Result<()> {
        self.transfer = None;
        self.conn = None;
        self.finished = true;
        let temp = self.temp.clone();
        self.pool
            .with_conn(&self.shown, async |conn| {
                match core::bounded("DELE", conn.rm(&temp)).await {
                    Ok(()) => Ok(()),
                    Err(e) if super::error::is_unavailable(&e) => Ok(()),
                    Err(e) => Err(self.pool.error(&self.shown, Doing::Change, e)),
                }
            })
            .await
    }
}

#[async_trait]
impl WriteStream for FtpWriter {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let server = self.pool.settings.server();
        let transfer = self.transfer.as_mut().ok_or_else(|| StorageError::Io {
            path: self.shown.clone(),
            message: "the writer is already closed".into(),
        })?;
        let sent = tokio::time::timeout(core::REPLY_TIMEOUT, transfer.write_all(&data)).await;
        let why = match sent {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("it took no data for {:?}", core::REPLY_TIMEOUT),
        };
        Err(StorageError::Io {
            path: self.shown.clone(),
            message: format!("sending to the FTP server {server}: {why}"),
        })
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

impl Drop for FtpWriter {
    /// A writer dropped mid-way (its task cancelled) must not leave its temporary file.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.transfer = None;
        self.conn = None;
        let (pool, temp, shown) = (self.pool.clone(), self.temp.clone(), self.shown.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = pool
                    .with_conn(&shown, async |conn| {
                        core::bounded("DELE", conn.rm(&temp))
                            .await
                            .map_err(|e| pool.error(&shown, Doing::Change, e))
                    })
                    .await;
            });
        }
    }
}
