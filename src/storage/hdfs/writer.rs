//! Sequential writes of one HDFS file: hsync before close, and no partial file left
//! behind by a failed, aborted or dropped writer.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use hdfs_native::file::FileWriter;
use hdfs_native::{Client, WriteOptions};

use super::error::{is_hsync_unsupported, to_storage_error};
use crate::storage::kerberos::PrivateKeytab;
use crate::storage::{Location, Result, StorageError, WriteStream};

pub(super) struct HdfsWriter {
    /// `None` once closed or abandoned.
    writer: Option<FileWriter>,
    client: Client,
    _keytab: Option<Arc<PrivateKeytab>>,
    loc: Location,
}

impl HdfsWriter {
    /// Creates (or replaces) `loc`. Missing parents get 0755, as Hadoop's
    /// FileSystem.create gives them under the default umask (the namenode's implicit
    /// parents would be world-writable).
    pub(super) async fn create(
        client: &Client,
        keytab: Option<Arc<PrivateKeytab>>,
        loc: &Location,
    ) -> Result<Self> {
        if let Some(parent) = loc.parent() {
            client
                .mkdirs(parent.path(), 0o755, true)
                .await
                .map_err(|e| to_storage_error(&parent, e))?;
        }
        let options = WriteOptions::default().overwrite(true).create_parent(false);
        let writer = client
            .create(loc.path(), options)
            .await
            .map_err(|e| to_storage_error(loc, e))?;
        Ok(HdfsWriter {
            _keytab: keytab,
            writer: Some(writer),
            client: client.clone(),
            loc: loc.clone(),
        })
    }

    fn writer(&mut self) -> Result<&mut FileWriter> {
        self.writer.as_mut().ok_or_else(|| StorageError::Io {
            path: self.loc.to_string(),
            message: "the writer is already closed".into(),
        })
    }
}

#[async_trait]
impl WriteStream for HdfsWriter {
    async fn write(&mut self, data: Vec<u8>) -> Result<()> {
        let loc = self.loc.clone();
        self.writer()?
            .write_bytes(Bytes::from(data))
            .await
            .map(|_| ())
            .map_err(|e| to_storage_error(&loc, e))
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let loc = self.loc.clone();
        let writer = self.writer()?;
        // hsync: every datanode in the pipeline has the bytes on disk before we say OK.
        // Erasure-coded files cannot hsync; close still waits for every block.
        match writer.hsync().await {
            Err(e) if !is_hsync_unsupported(&e) => return Err(to_storage_error(&loc, e)),
            _ => {}
        }
        let closed = writer.close().await;
        self.writer = None;
        if let Err(e) = closed {
            // A file that could not be completed must not stay behind looking whole.
            if let Err(cleanup) = self.client.delete(loc.path(), false).await {
                tracing::warn!(path = %loc, "cannot remove the incomplete file: {cleanup}");
            }
            return Err(to_storage_error(&loc, e));
        }
        Ok(())
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        drop(self.writer.take());
        match self.client.delete(self.loc.path(), false).await {
            Ok(_) => Ok(()),
            Err(e) => match to_storage_error(&self.loc, e) {
                StorageError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

impl Drop for HdfsWriter {
    /// A writer dropped mid-way (its task cancelled) must not leave a partial file.
    fn drop(&mut self) {
        if self.writer.take().is_none() {
            return;
        }
        let (client, path) = (self.client.clone(), self.loc.path().to_string());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = client.delete(&path, false).await;
            });
        }
    }
}
