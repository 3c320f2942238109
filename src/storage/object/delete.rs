//! Deletes: a path is the key and everything under its prefix, in batch deletes.

use futures::{StreamExt, TryStreamExt};
use opendal::Operator;

use super::error::is_missing;
use super::storage::{key_of, prefix_of, ObjectStorage};
use crate::storage::{Location, Result, StorageError};

impl ObjectStorage {
    /// Deletes the key `loc` and every key under `loc/`; a missing path is no error.
    pub(super) async fn delete_tree(&self, loc: &Location) -> Result<()> {
        if loc.is_root() {
            return Err(StorageError::Io {
                path: loc.to_string(),
                message: "refusing to delete everything in the bucket".into(),
            });
        }
        if self.hierarchical {
            // A file, or a directory with everything below it: one recursive delete.
            return match self.op.delete_with(key_of(loc)).recursive(true).await {
                Ok(()) => Ok(()),
                Err(e) if is_missing(&e) => Ok(()),
                Err(e) => Err(self.error(loc, e)),
            };
        }
        match self.op.delete(key_of(loc)).await {
            Ok(()) => {}
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(self.error(loc, e)),
        }
        let prefix = prefix_of(loc);
        let deleted = async {
            let mut lister = self.op.lister_with(&prefix).recursive(true).await?;
            let mut deleter = PrefixDeleter::new(&self.op, &prefix, self.batch_deletes).await?;
            while let Some(entry) = lister.next().await {
                deleter.delete(entry?.path()).await?;
            }
            deleter.finish().await
        }
        .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(self.error(loc, e)),
        }
    }
}

/// Deletes of keys under one prefix, and then of the directory keys they imply (`p/`,
/// `p/sub/` ...), deepest level first, one level per round (a batch is unordered).
/// On S3 those are markers or nothing (deleting a missing key is a no-op); stores on a
/// real filesystem (SeaweedFS) drop the emptied directories with them instead of listing
/// them as common prefixes for minutes.
///
/// Keys go in the store's batch deletes, or one request per key when the storage's
/// credentials cannot authorize a batch (Azure's batch sub-requests go out without a SAS
/// token, and Azure authorizes each on its own).
pub(super) struct PrefixDeleter {
    op: Operator,
    sink: Sink,
    prefix: String,
    dirs: std::collections::BTreeSet<String>,
}

/// Where the keys go.
enum Sink {
    Batch(opendal::Deleter),
    /// Keys waiting for their own delete requests, sent [`SINGLE_DELETES_AT_ONCE`] at a
    /// time once [`SINGLE_DELETES_QUEUED`] wait.
    OneByOne(Vec<String>),
}

/// Per-key deletes in flight at once.
const SINGLE_DELETES_AT_ONCE: usize = 16;
/// Keys queued before per-key deletes are sent (bounds the memory of a huge prefix).
const SINGLE_DELETES_QUEUED: usize = 1000;

impl Sink {
    async fn new(op: &Operator, batch: bool) -> opendal::Result<Self> {
        Ok(if batch {
            Sink::Batch(op.deleter().await?)
        } else {
            Sink::OneByOne(Vec::new())
        })
    }

    async fn push(&mut self, op: &Operator, key: String) -> opendal::Result<()> {
        match self {
            Sink::Batch(deleter) => deleter.delete(key).await,
            Sink::OneByOne(queued) => {
                queued.push(key);
                if queued.len() >= SINGLE_DELETES_QUEUED {
                    delete_each(op, std::mem::take(queued)).await?;
                }
                Ok(())
            }
        }
    }

    async fn close(self, op: &Operator) -> opendal::Result<()> {
        match self {
            Sink::Batch(mut deleter) => deleter.close().await,
            Sink::OneByOne(queued) => delete_each(op, queued).await,
        }
    }
}

/// One delete request per key, [`SINGLE_DELETES_AT_ONCE`] at a time; stops at the first
/// failure.
async fn delete_each(op: &Operator, keys: Vec<String>) -> opendal::Result<()> {
    futures::stream::iter(keys.into_iter().map(Ok))
        .try_for_each_concurrent(SINGLE_DELETES_AT_ONCE, |key| async move {
            op.delete(&key).await
        })
        .await
}

impl PrefixDeleter {
    async fn new(op: &Operator, prefix: &str, batch: bool) -> opendal::Result<Self> {
        Ok(PrefixDeleter {
            op: op.clone(),
            sink: Sink::new(op, batch).await?,
            prefix: prefix.to_string(),
            dirs: Default::default(),
        })
    }

    fn batch(&self) -> bool {
        matches!(self.sink, Sink::Batch(_))
    }

    async fn delete(&mut self, key: &str) -> opendal::Result<()> {
        if let Some(rest) = key.strip_prefix(self.prefix.as_str()) {
            self.dirs.insert(self.prefix.clone());
            for (i, _) in rest.match_indices('/') {
                self.dirs
                    .insert(key[..self.prefix.len() + i + 1].to_string());
            }
        }
        if key.ends_with('/') {
            // A marker: deleted with the directories, after their children.
            return Ok(());
        }
        self.sink.push(&self.op, key.to_string()).await
    }

    async fn finish(mut self) -> opendal::Result<()> {
        let batch = self.batch();
        self.sink.close(&self.op).await?;
        let mut levels: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
        for dir in std::mem::take(&mut self.dirs) {
            levels
                .entry(dir.matches('/').count())
                .or_default()
                .push(dir);
        }
        for (_, dirs) in levels.into_iter().rev() {
            let mut sink = Sink::new(&self.op, batch).await?;
            for dir in dirs {
                sink.push(&self.op, dir).await?;
            }
            sink.close(&self.op).await?;
        }
        Ok(())
    }
}

impl ObjectStorage {
    /// Deletes `keys` (all under `prefix`) and the directories they imply.
    pub(super) async fn delete_keys(&self, prefix: &str, keys: &[String]) -> opendal::Result<()> {
        let mut deleter = PrefixDeleter::new(&self.op, prefix, self.batch_deletes).await?;
        for key in keys {
            deleter.delete(key).await?;
        }
        deleter.finish().await
    }
}
