//! Positional reads of one FTP file: REST + RETR from the offset asked, and the transfer
//! kept open across sequential preads (BE reads a file front to back), so a file is
//! downloaded once, not from 0 for every pread. A pread elsewhere aborts the transfer
//! (ABOR) and starts another at its offset, on the same connection.

use std::sync::Arc;

use async_trait::async_trait;
use suppaftp::tokio::{AsyncNoTlsStream, TransferStream};
use tokio::io::AsyncReadExt;

use super::core::{Conn, Pool};
use super::error::Doing;
use crate::storage::{ReadBuf, ReadStream, Result, StorageError};

pub(super) struct FtpReader {
    pool: Arc<Pool>,
    /// The path on the server, and the URI as messages show it.
    path: String,
    shown: String,
    size: u64,
    /// The connection and its open transfer: preads of one fd take turns.
    open: tokio::sync::Mutex<Open>,
}

#[derive(Default)]
struct Open {
    conn: Option<Conn>,
    transfer: Option<TransferStream<AsyncNoTlsStream>>,
    /// Where the open transfer is in the file.
    at: u64,
}

impl FtpReader {
    pub(super) fn new(pool: Arc<Pool>, path: String, shown: String, size: u64) -> Self {
        FtpReader {
            pool,
            path,
            shown,
            size,
            open: tokio::sync::Mutex::new(Open::default()),
        }
    }

    /// A transfer positioned at `offset`: the open one if it is there, else a new one.
    async fn transfer_at<'a>(
        &self,
        open: &'a mut Open,
        offset: u64,
    ) -> Result<&'a mut TransferStream<AsyncNoTlsStream>> {
        if open.transfer.is_some() && open.at == offset {
            return Ok(open.transfer.as_mut().expect("checked"));
        }
        if let Some(transfer) = open.transfer.take() {
            let aborted = match open.conn.as_mut() {
                Some(conn) => conn.abort(transfer).await.is_ok(),
                None => false,
            };
            if !aborted {
                open.conn = None; // a fresh connection rather than a confused one
            }
        }
        let mut conn = match open.conn.take() {
            Some(conn) => conn,
            None => self.pool.take(&self.shown).await?,
        };
        let error = |e| self.pool.error(&self.shown, Doing::Lookup, e);
        conn.resume_transfer(offset as usize).await.map_err(error)?;
        let transfer = conn.retr_as_stream(&self.path).await.map_err(error)?;
        open.conn = Some(conn);
        open.at = offset;
        Ok(open.transfer.insert(transfer))
    }
}

#[async_trait]
impl ReadStream for FtpReader {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        if offset >= self.size || len == 0 {
            return Ok(0);
        }
        let want = (len as u64).min(self.size - offset) as usize;
        let mut open = self.open.lock().await;
        let result = async {
            let transfer = self.transfer_at(&mut *open, offset).await?;
            let into = buf.unfilled(want);
            let mut got = 0;
            while got < want {
                match transfer.read(&mut into[got..]).await {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) => {
                        return Err(StorageError::Io {
                            path: self.shown.clone(),
                            message: format!(
                                "reading from the FTP server {} at offset {}: {e}",
                                self.pool.settings.server(),
                                offset + got as u64
                            ),
                        })
                    }
                }
            }
            Ok(got)
        }
        .await;
        match result {
            Ok(got) => {
                buf.advance(got);
                open.at = offset + got as u64;
                if got < want || open.at >= self.size {
                    // The whole file came: end the transfer (226) and keep the connection.
                    if let Some(transfer) = open.transfer.take() {
                        if transfer.finish().await.is_err() {
                            open.conn = None;
                        }
                    }
                }
                Ok(got)
            }
            Err(e) => {
                // Whatever state the connection is in, it is not worth keeping.
                *open = Open::default();
                Err(e)
            }
        }
    }
}
