//! Positional reads of one HDFS file: reread with fresh block locations after datanode
//! failures, large ranges fetched as two halves at once, all of it on the HDFS runtime
//! ([`super::io`]).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hdfs_native::file::FileReader;
use hdfs_native::{Client, HdfsError};

use super::error::{datanode_error, is_datanode_failure, to_storage_error, DataTransfer};
use super::io;
use crate::storage::kerberos::PrivateKeytab;
use crate::storage::{Location, ReadBuf, ReadStream, Result, StorageError};

pub(super) struct HdfsReader {
    /// Replaced by a fresh one when a read fails on the datanodes; the lock is only held
    /// to clone or swap the `Arc`, never across I/O, so reads of one fd never wait.
    reader: Mutex<Arc<FileReader>>,
    client: Client,
    _keytab: Option<Arc<PrivateKeytab>>,
    transfer: DataTransfer,
    size: u64,
    loc: Location,
}

impl HdfsReader {
    pub(super) async fn open(
        client: &Client,
        keytab: Option<Arc<PrivateKeytab>>,
        transfer: DataTransfer,
        loc: &Location,
    ) -> Result<Self> {
        let reader = client
            .read(loc.path())
            .await
            .map_err(|e| to_storage_error(loc, e))?;
        Ok(HdfsReader {
            _keytab: keytab,
            transfer,
            size: reader.file_length() as u64,
            reader: Mutex::new(Arc::new(reader)),
            client: client.clone(),
            loc: loc.clone(),
        })
    }

    fn current(&self) -> Arc<FileReader> {
        self.reader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// hdfs-native's reader fetches block locations once and never forgets a datanode
    /// that failed it, so after a rolling restart of the datanodes it has none left.
    /// Hadoop's DFSInputStream then clears its dead nodes and refetches the locations;
    /// so does this, once per failure: a new reader for the same file (same length).
    async fn reopen(&self, failed: &Arc<FileReader>) -> Option<Arc<FileReader>> {
        let current = self.current();
        if !Arc::ptr_eq(&current, failed) {
            // A concurrent pread reopened already.
            return Some(current);
        }
        let fresh = match self.client.read(self.loc.path()).await {
            Ok(r) if r.file_length() as u64 == self.size => Arc::new(r),
            Ok(r) => {
                tracing::warn!(path = %self.loc, "not rereading: the file changed length from {} to {}", self.size, r.file_length());
                return None;
            }
            Err(e) => {
                tracing::warn!(path = %self.loc, "cannot refetch block locations: {e}");
                return None;
            }
        };
        *self.reader.lock().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        Some(fresh)
    }
}

#[async_trait]
impl ReadStream for HdfsReader {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        // hdfs-native panics on a range past the end: clamp first.
        if offset >= self.size {
            return Ok(0);
        }
        let n = (len as u64).min(self.size - offset) as usize;
        let reader = self.current();
        let mut result = fetch_on_io(reader.clone(), buf, n, offset as usize).await;
        if let Some(Err(e)) = &result {
            if is_datanode_failure(e) {
                tracing::warn!(path = %self.loc, offset, "read failed on the datanodes, retrying with fresh block locations: {e}");
                if let Some(fresh) = self.reopen(&reader).await {
                    result = fetch_on_io(fresh, buf, n, offset as usize).await;
                }
            }
        }
        match result {
            Some(Ok(())) => {
                buf.advance(n);
                Ok(n)
            }
            Some(Err(e)) => Err(datanode_error(&self.loc, e, &self.transfer)),
            None => Err(StorageError::Io {
                path: self.loc.to_string(),
                message: format!(
                    "the HDFS client failed internally reading {n} bytes at offset {offset}"
                ),
            }),
        }
    }
}

/// [`fetch`] on the HDFS runtime ([`io`]): the buffer travels there and back. `None`
/// if hdfs-native panicked (the buffer is then gone: the pread fails).
async fn fetch_on_io(
    reader: Arc<FileReader>,
    buf: &mut ReadBuf,
    n: usize,
    offset: usize,
) -> Option<std::result::Result<(), HdfsError>> {
    let mut owned = std::mem::take(buf);
    let (owned, result) = io::run(async move {
        let result = fetch(&reader, owned.unfilled(n), offset).await;
        (owned, result)
    })
    .await?;
    *buf = owned;
    Some(result)
}

/// Ranges at least this long are fetched as two halves at once.
const SPLIT_FETCH_MIN: usize = 1 << 20;

/// Reads `buf.len()` bytes at `offset`. A large range is fetched as two halves over two
/// datanode streams at once: one stream is paced by its round trips and by the datanode
/// producing packets, so two in flight fill the pread sooner (the BE waits for the
/// whole answer before it asks for the next).
async fn fetch(
    reader: &FileReader,
    buf: &mut [u8],
    offset: usize,
) -> std::result::Result<(), HdfsError> {
    if buf.len() < SPLIT_FETCH_MIN {
        return reader.read_range_buf(buf, offset).await;
    }
    let half = buf.len() / 2;
    let (head, tail) = buf.split_at_mut(half);
    let (a, b) = tokio::join!(
        reader.read_range_buf(head, offset),
        reader.read_range_buf(tail, offset + half)
    );
    a.and(b)
}
