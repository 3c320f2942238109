//! Positional reads of one SFTP file. SFTP reads at an offset natively; the open file
//! keeps its pipeline of read requests (up to 16 in flight) across sequential preads, so
//! a file read front to back streams, and a pread elsewhere only moves the position.

use std::io::SeekFrom;
use std::sync::Arc;

use async_trait::async_trait;
use russh_sftp::client::fs::File;
use tokio::io::AsyncSeekExt;
use tokio::sync::OwnedSemaphorePermit;

use super::core::Session;
use super::error::stream_error;
use crate::storage::fill::fill;
use crate::storage::{ReadBuf, ReadStream, Result};

pub(super) struct SftpReader {
    /// Keeps the SSH connection up, and the file's room on it, while the file is open.
    _session: Arc<Session>,
    _room: OwnedSemaphorePermit,
    /// The open file and its position: preads of one fd take turns.
    file: tokio::sync::Mutex<(File, u64)>,
    size: u64,
    shown: String,
    server: String,
}

impl SftpReader {
    pub(super) fn new(
        session: Arc<Session>,
        room: OwnedSemaphorePermit,
        file: File,
        size: u64,
        shown: String,
        server: String,
    ) -> Self {
        SftpReader {
            _session: session,
            _room: room,
            file: tokio::sync::Mutex::new((file, 0)),
            size,
            shown,
            server,
        }
    }
}

#[async_trait]
impl ReadStream for SftpReader {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        if offset >= self.size || len == 0 {
            return Ok(0);
        }
        let want = (len as u64).min(self.size - offset) as usize;
        let mut guard = self.file.lock().await;
        let (file, at) = &mut *guard;
        let error = |e| stream_error(&self.shown, &self.server, "reading", e);
        if *at != offset {
            // Drops the requests in flight for the old position.
            file.seek(SeekFrom::Start(offset)).await.map_err(error)?;
            *at = offset;
        }
        let got = match fill(file, buf.unfilled(want), None).await {
            Ok(got) => got,
            Err(short) => {
                // The position is unknown now: the next read seeks.
                *at = u64::MAX;
                return Err(error(short.error));
            }
        };
        *at += got as u64;
        buf.advance(got);
        Ok(got)
    }
}
