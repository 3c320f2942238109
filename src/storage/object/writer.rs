//! Writers: multipart uploads in [`PART_SIZE`] parts, [`PARTS_IN_FLIGHT`] of them uploaded
//! at once, so a writer holds at most three parts in memory whatever the file size.
//! Commit completes the upload; abort, a failed commit and a writer dropped unfinished
//! abort it, so nothing partial becomes visible.
//!
//! On a store with real directories (ADLS Gen2's DFS API) a file exists from its first
//! create call, and appends cannot be thrown away: the writer fills a temporary file
//! beside the target ([`temp_name`], hidden from listings) in [`PART_SIZE`] appends,
//! flushes it at commit and renames it over the target in one call; abort, a failed
//! commit and a dropped writer delete the temporary file instead ([`AtomicWrite`]).

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use opendal::Buffer;

use super::error::{describe_error, is_missing};
use super::storage::{key_of, prefix_of, ObjectStorage};
use crate::storage::atomic_write::{AtomicWrite, TempFile};
use crate::storage::temp_name::temp_name;
use crate::storage::{Location, Result, StorageError, WriteStream};

/// Part size of multipart uploads: what one writer buffers. S3's minimum part is 5 MiB
/// (all but the last), its maximum part count 10,000: 8 MiB parts allow 78 GiB files.
pub const PART_SIZE: usize = 8 << 20;

/// Parts of one writer uploaded at the same time (the next one filling meanwhile): with
/// one, each part's upload waited for the one before it to be stored, and a writer
/// reached 173 MB/s on SeaweedFS against 245 with two (BENCHMARKS.md, group 7). An
/// upload the store takes in order (GCS's resumable upload) still sends one at a time.
pub const PARTS_IN_FLIGHT: usize = 2;

impl ObjectStorage {
    /// A writer of the key at `loc`; refused at the bucket root and over a directory.
    pub(super) async fn open_writer(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        if loc.is_root() {
            return Err(StorageError::Io {
                path: loc.to_string(),
                message: "cannot write to the root of a bucket".into(),
            });
        }
        if self
            .has_children(&prefix_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?
        {
            return Err(StorageError::Io {
                path: loc.to_string(),
                message: "is a directory".into(),
            });
        }
        let temp = self.hierarchical.then(|| {
            let key = key_of(loc);
            let (parent, name) = key.rsplit_once('/').map_or(("", key), |(p, n)| (p, n));
            let temp = temp_name(name);
            let temp = match parent {
                "" => temp,
                parent => format!("{parent}/{temp}"),
            };
            (temp, key.to_string())
        });
        let written = temp.as_ref().map_or(key_of(loc), |(temp, _)| temp.as_str());
        // opendal keeps the first part back until a second shows the file needs a
        // multipart upload: a smaller file is one PUT.
        let mut writer = self
            .op
            .writer_with(written)
            .chunk(PART_SIZE)
            .concurrent(PARTS_IN_FLIGHT);
        if self.conditional_writes {
            // Replace exactly what is there now (or create): the condition is what
            // routes the store's writes through its resumable upload.
            let current = self
                .head(key_of(loc))
                .await
                .map_err(|e| self.error(loc, e))?;
            writer = match current.as_ref().and_then(|meta| meta.version()) {
                Some(version) => writer.if_version_match(version),
                None => writer.if_not_exists(true),
            };
        }
        let writer = Some(writer.await.map_err(|e| self.error(loc, e))?);
        let (loc, storage) = (loc.clone(), self.clone());
        Ok(match temp {
            Some((temp, target)) => Box::new(AtomicWrite::new(ObjectTempFile {
                writer,
                temp,
                target,
                loc,
                storage,
            })),
            None => Box::new(ObjectWriter {
                writer,
                loc,
                storage,
            }),
        })
    }
}

/// A multipart upload (or one PUT) straight to the target key.
struct ObjectWriter {
    /// `None` once committed or aborted.
    writer: Option<opendal::Writer>,
    loc: Location,
    storage: ObjectStorage,
}

fn ended(loc: &Location) -> StorageError {
    StorageError::Io {
        path: loc.to_string(),
        message: "the upload was already ended".into(),
    }
}

/// One pwrite's bytes into `writer` (`None`: the upload was ended).
async fn append(
    writer: Option<&mut opendal::Writer>,
    storage: &ObjectStorage,
    loc: &Location,
    data: Bytes,
) -> Result<()> {
    let Some(writer) = writer else {
        return Err(ended(loc));
    };
    writer
        .write(Buffer::from(data))
        .await
        .map_err(|e| storage.error(loc, e))
}

#[async_trait]
impl WriteStream for ObjectWriter {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        append(self.writer.as_mut(), &self.storage, &self.loc, data).await
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Err(ended(&self.loc));
        };
        match writer.close().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = self.storage.error(&self.loc, e);
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(path = %self.loc, "aborting the failed upload failed too: {}", describe_error(&abort));
                }
                Err(err)
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        writer
            .abort()
            .await
            .map_err(|e| self.storage.error(&self.loc, e))
    }
}

impl Drop for ObjectWriter {
    /// A writer dropped unfinished (a cancelled task) is aborted, never completed: its
    /// parts are thrown away in the background.
    fn drop(&mut self) {
        let Some(mut writer) = self.writer.take() else {
            return;
        };
        let path = self.loc.to_string();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::warn!(%path, "aborting a dropped upload failed: {}", describe_error(&e));
                }
            });
        }
    }
}

/// On a store with real directories: the temporary file written, renamed over the
/// target at commit.
struct ObjectTempFile {
    /// `None` once closed.
    writer: Option<opendal::Writer>,
    /// The temporary key and the target key.
    temp: String,
    target: String,
    loc: Location,
    storage: ObjectStorage,
}

#[async_trait]
impl TempFile for ObjectTempFile {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        append(self.writer.as_mut(), &self.storage, &self.loc, data).await
    }

    /// The last append and the flush.
    async fn finish(&mut self) -> Result<()> {
        let mut writer = self.writer.take().ok_or_else(|| ended(&self.loc))?;
        match writer.close().await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.storage.error(&self.loc, e)),
        }
    }

    async fn publish(&mut self) -> Result<()> {
        self.storage
            .op
            .rename(&self.temp, &self.target)
            .await
            .map_err(|e| self.storage.error(&self.loc, e))
    }

    /// A failure is logged too: after a failed commit or a drop nobody else sees it (the
    /// file is hidden from listings, and the caller has the writer's own error).
    fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
        drop(self.writer.take());
        let (storage, temp, loc) = (self.storage.clone(), self.temp.clone(), self.loc.clone());
        Box::pin(async move {
            match storage.op.delete(&temp).await {
                Ok(()) => Ok(()),
                Err(e) if is_missing(&e) => Ok(()),
                Err(e) => {
                    tracing::warn!(path = %loc, "deleting the temporary file {temp} failed: {}", describe_error(&e));
                    Err(storage.error(&loc, e))
                }
            }
        })
    }
}
