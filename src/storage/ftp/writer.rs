//! Sequential writes of one FTP file, committed atomically ([`AtomicWrite`]): the bytes
//! stream (STOR, no buffering beyond the socket's) into a hidden temporary file beside the
//! target (`.<name>.broker-<16 hex>.tmp`), which closeWriter renames over the target
//! (RNFR/RNTO). A write that fails, is aborted, reaped or dropped closes its connection
//! (the server ends the transfer) and removes the temporary file.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use suppaftp::tokio::{AsyncNoTlsStream, TransferStream};
use tokio::io::AsyncWriteExt;

use super::core::{self, Conn, Pool};
use super::error::Doing;
use crate::storage::atomic_write::{already_closed, AtomicWrite, TempFile};
use crate::storage::temp_name::temp_name;
use crate::storage::{Result, StorageError};

pub(super) struct FtpTempFile {
    pool: Arc<Pool>,
    /// The connection running the upload, and the upload; `None` once ended.
    conn: Option<Conn>,
    transfer: Option<TransferStream<AsyncNoTlsStream>>,
    target: String,
    temp: String,
    shown: String,
}

impl FtpTempFile {
    /// Starts a write that will create (or replace) `target`, making missing parents.
    pub(super) async fn create(
        pool: Arc<Pool>,
        target: &str,
        shown: String,
    ) -> Result<AtomicWrite<Self>> {
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
        Ok(AtomicWrite::new(FtpTempFile {
            pool,
            conn: Some(conn),
            transfer: Some(transfer),
            target: target.to_string(),
            temp,
            shown,
        }))
    }
}

#[async_trait]
impl TempFile for FtpTempFile {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        let server = self.pool.settings.server();
        let transfer = self
            .transfer
            .as_mut()
            .ok_or_else(|| already_closed(&self.shown))?;
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

    /// Ends the upload: 226, the server has every byte.
    async fn finish(&mut self) -> Result<()> {
        let transfer = self
            .transfer
            .take()
            .ok_or_else(|| already_closed(&self.shown))?;
        core::bounded("the end of the upload (226 after STOR)", transfer.finish())
            .await
            .map_err(|e| self.pool.error(&self.shown, Doing::Change, e))
    }

    /// RNFR/RNTO over the target; a server whose RNTO does not replace files gets the
    /// target removed first.
    async fn publish(&mut self) -> Result<()> {
        let mut conn = self
            .conn
            .take()
            .ok_or_else(|| already_closed(&self.shown))?;
        let error = |e| self.pool.error(&self.shown, Doing::Change, e);
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
        self.pool.give(conn);
        Ok(())
    }

    /// Drops the upload's connection (the server ends the transfer); the temporary file
    /// is removed over another one.
    fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
        self.transfer = None;
        self.conn = None;
        let (pool, temp, shown) = (self.pool.clone(), self.temp.clone(), self.shown.clone());
        Box::pin(async move {
            pool.with_conn(&shown, async |conn| {
                match core::bounded("DELE", conn.rm(&temp)).await {
                    Ok(()) => Ok(()),
                    Err(e) if super::error::is_unavailable(&e) => Ok(()),
                    Err(e) => Err(pool.error(&shown, Doing::Change, e)),
                }
            })
            .await
        })
    }
}
