//! Sequential writes of one HDFS file, committed atomically ([`AtomicWrite`]): the bytes
//! go to a hidden temporary file beside the target (`.<name>.broker-<16 hex>.tmp`, in the
//! same directory, so its quotas and permissions apply), which closeWriter hsyncs, closes
//! and renames over the target. A write that fails, is aborted or is dropped leaves the
//! previous file intact and removes its temporary file, in the background
//! ([`super::cleanup`]) when the cluster cannot be reached. A block the namenode refuses
//! for now is ridden out ([`super::resume`]).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use hdfs_native::file::FileWriter;
use hdfs_native::{Client, HdfsError, WriteOptions};

use super::cleanup::{Cleanups, Removal};
use super::error::{
    datanode_error, is_hsync_unsupported, is_namespace_quota, to_storage_error, DataTransfer,
};
use super::resume::write_resuming;
use crate::storage::atomic_write::{already_closed, AtomicWrite, TempFile};
use crate::storage::kerberos::PrivateKeytab;
use crate::storage::temp_name::temp_name;
use crate::storage::{Location, Result, StorageError};

pub(super) struct HdfsTempFile {
    /// `None` once closed or abandoned.
    writer: Option<FileWriter>,
    /// Bytes written so far, where a resumed write goes on from ([`super::resume`]).
    written: u64,
    client: Client,
    keytab: Option<Arc<PrivateKeytab>>,
    cleanups: Cleanups,
    transfer: DataTransfer,
    /// The target, which every error names.
    loc: Location,
    temp: Location,
}

impl HdfsTempFile {
    /// Starts a write that will create (or replace) `loc`. Missing parents get 0755, as
    /// Hadoop's FileSystem.create gives them under the default umask (the namenode's
    /// implicit parents would be world-writable).
    pub(super) async fn create(
        client: &Client,
        keytab: Option<Arc<PrivateKeytab>>,
        cleanups: Cleanups,
        transfer: DataTransfer,
        loc: &Location,
    ) -> Result<AtomicWrite<Self>> {
        let parent = loc.parent().ok_or_else(|| StorageError::Io {
            path: loc.to_string(),
            message: "cannot write to the root directory".into(),
        })?;
        client
            .mkdirs(parent.path(), 0o755, true)
            .await
            .map_err(|e| to_storage_error(&parent, e))?;
        // The rename at commit would refuse a directory; say so before any byte is sent.
        let replacing = match client.get_file_info(loc.path()).await {
            Ok(status) if status.isdir => {
                return Err(StorageError::AlreadyExists {
                    path: format!("{loc} (a directory)"),
                })
            }
            Ok(_) => true,
            Err(e) => match to_storage_error(loc, e) {
                StorageError::NotFound { .. } => false,
                other => return Err(other),
            },
        };
        let temp = parent.join(&temp_name(loc.name()));
        let options = WriteOptions::default()
            .overwrite(false)
            .create_parent(false);
        let writer = client
            .create(temp.path(), options)
            .await
            .map_err(|e| temp_refused(loc, e, replacing))?;
        Ok(AtomicWrite::new(HdfsTempFile {
            writer: Some(writer),
            written: 0,
            client: client.clone(),
            keytab,
            cleanups,
            transfer,
            loc: loc.clone(),
            temp,
        }))
    }

    fn writer(&mut self) -> Result<&mut FileWriter> {
        self.writer
            .as_mut()
            .ok_or_else(|| already_closed(&self.loc.to_string()))
    }
}

/// Creating the temporary file failed. Replacing a file needs one name more than the
/// directory holds afterwards (the old file stays until the rename), as Hadoop's own
/// `hdfs dfs -put -f` does with its `._COPYING_` file: when the namespace quota has no
/// room for it, the status says so, since the quota may look big enough.
fn temp_refused(loc: &Location, err: HdfsError, replacing: bool) -> StorageError {
    let quota = replacing && is_namespace_quota(&err);
    match to_storage_error(loc, err) {
        StorageError::Io { path, message } if quota => StorageError::Io {
            path,
            message: format!(
                "{message} (replacing a file atomically needs room for one more name in the directory's namespace quota while the write runs: its hidden temporary file)"
            ),
        },
        other => other,
    }
}

#[async_trait]
impl TempFile for HdfsTempFile {
    /// Riding out a refused block ([`super::resume`]: lease recovery, then an append) is
    /// part of this step, not of the shared life: only HDFS loses its writer that way, and
    /// the write goes on into the same temporary file.
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.writer()?;
        let len = data.len() as u64;
        let (client, temp) = (&self.client, self.temp.path());
        write_resuming(client, temp, &mut self.writer, self.written, data)
            .await
            .map_err(|e| datanode_error(&self.loc, e, &self.transfer))?;
        self.written += len;
        Ok(())
    }

    /// hsync (every datanode in the pipeline has the bytes on disk), then close.
    /// Erasure-coded files cannot hsync; close still waits for every block.
    async fn finish(&mut self) -> Result<()> {
        let (loc, transfer) = (self.loc.clone(), self.transfer.clone());
        let writer = self.writer()?;
        match writer.hsync().await {
            Err(e) if !is_hsync_unsupported(&e) => return Err(datanode_error(&loc, e, &transfer)),
            _ => {}
        }
        let closed = writer.close().await;
        self.writer = None;
        closed.map_err(|e| datanode_error(&loc, e, &transfer))
    }

    async fn publish(&mut self) -> Result<()> {
        self.client
            .rename(self.temp.path(), self.loc.path(), true)
            .await
            .map_err(|e| to_storage_error(&self.loc, e))
    }

    /// The temporary file goes (later, if the cluster cannot be reached now: the answer
    /// is success either way).
    fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
        drop(self.writer.take());
        let cleanups = self.cleanups.clone();
        let removal = Removal {
            client: self.client.clone(),
            _keytab: self.keytab.clone(),
            temp: self.temp.clone(),
        };
        Box::pin(async move {
            cleanups.remove(removal).await;
            Ok(())
        })
    }
}
