//! Positional reads of one FTP file: REST + RETR from the offset asked, and the transfer
//! kept open across sequential preads (BE reads a file front to back), so a file is
//! downloaded once, not from 0 for every pread. A pread a little ahead skips to it; one
//! elsewhere starts another transfer at its offset.

use std::sync::Arc;

use async_trait::async_trait;
use suppaftp::tokio::{AsyncNoTlsStream, TransferStream};
use tokio::io::AsyncReadExt;

use super::core::{self, Conn, Pool};
use super::error::Doing;
use crate::storage::fill::fill;
use crate::storage::{ReadBuf, ReadStream, Result, StorageError};

/// A pread at most this far past the open transfer's position reads up to it rather
/// than starting a new transfer.
const SKIP_MAX: u64 = 1 << 20;
/// A transfer that sends nothing this long fails the pread (rather than waiting for the
/// server's own idle timeout).
const STALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

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

    /// A transfer positioned at `offset`: the open one if it is there (skipping ahead a
    /// little if the pread is just past it), else a new one.
    async fn transfer_at(&self, open: &mut Open, offset: u64) -> Result<()> {
        if open.transfer.is_some() && offset > open.at && offset - open.at <= SKIP_MAX {
            let skip = offset - open.at;
            let transfer = open.transfer.as_mut().expect("checked");
            let skipped =
                tokio::io::copy(&mut (&mut *transfer).take(skip), &mut tokio::io::sink()).await;
            match skipped {
                Ok(n) if n == skip => open.at = offset,
                _ => *open = Open::default(),
            }
        }
        if open.transfer.is_some() && open.at == offset {
            return Ok(());
        }
        // Elsewhere: a new transfer on a new connection. ABOR is not used: a server that
        // sent the whole file already answers it out of step (pyftpdlib's 225 after the
        // 226), and the connection would be left one reply behind.
        *open = Open::default();
        let mut conn = self.pool.take(&self.shown).await?;
        let error = |e| self.pool.error(&self.shown, Doing::Lookup, e);
        conn.resume_transfer(offset as usize).await.map_err(error)?;
        let transfer = core::bounded("RETR", conn.retr_as_stream(&self.path))
            .await
            .map_err(error)?;
        open.conn = Some(conn);
        open.at = offset;
        open.transfer = Some(transfer);
        Ok(())
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
        let positioned = tokio::time::timeout(STALL_TIMEOUT, self.transfer_at(&mut open, offset))
            .await
            .unwrap_or_else(|_| {
                Err(StorageError::Io {
                    path: self.shown.clone(),
                    message: format!(
                        "the FTP server {} did not start sending at offset {offset} within {STALL_TIMEOUT:?}",
                        self.pool.settings.server()
                    ),
                })
            });
        if let Err(e) = positioned {
            *open = Open::default();
            return Err(e);
        }
        // Out of `open` while bytes move: a read cancelled half-way (a dropped read-ahead)
        // drops the transfer and its connection instead of leaving them at an unknown
        // position.
        let (Some(mut transfer), conn) = (open.transfer.take(), open.conn.take()) else {
            unreachable!("transfer_at leaves a transfer open");
        };
        let got = match fill(&mut transfer, buf.unfilled(want), Some(STALL_TIMEOUT)).await {
            Ok(got) => got,
            Err(short) => {
                return Err(StorageError::Io {
                    path: self.shown.clone(),
                    message: format!(
                        "reading from the FTP server {} at offset {}: {}",
                        self.pool.settings.server(),
                        offset + short.got as u64,
                        short.error
                    ),
                });
            }
        };
        buf.advance(got);
        open.at = offset + got as u64;
        if got < want || open.at >= self.size {
            // The whole file came: end the transfer (226), and the connection may serve
            // others.
            if core::bounded(
                "the end of the download (226 after RETR)",
                transfer.finish(),
            )
            .await
            .is_ok()
            {
                if let Some(conn) = conn {
                    self.pool.give(conn);
                }
            }
        } else {
            open.transfer = Some(transfer);
            open.conn = conn;
        }
        Ok(got)
    }
}
