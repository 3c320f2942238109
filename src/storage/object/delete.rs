//! Deletes: a path is the key and everything under its prefix, in batch deletes.

use futures::StreamExt;
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
        match self.op.delete(key_of(loc)).await {
            Ok(()) => {}
            Err(e) if is_missing(&e) => {}
            Err(e) => return Err(self.error(loc, e)),
        }
        let prefix = prefix_of(loc);
        let deleted = async {
            let mut lister = self.op.lister_with(&prefix).recursive(true).await?;
            let mut deleter = PrefixDeleter::new(&self.op, &prefix).await?;
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

/// Batch deletes of keys under one prefix, and then of the directory keys they imply
/// (`p/`, `p/sub/` ...), deepest level first, one level per batch (a batch is unordered).
/// On S3 those are markers or nothing (deleting a missing key is a no-op); stores on a
/// real filesystem (SeaweedFS) drop the emptied directories with them instead of listing
/// them as common prefixes for minutes.
pub(super) struct PrefixDeleter {
    op: Operator,
    deleter: opendal::Deleter,
    prefix: String,
    dirs: std::collections::BTreeSet<String>,
}

impl PrefixDeleter {
    async fn new(op: &Operator, prefix: &str) -> opendal::Result<Self> {
        Ok(PrefixDeleter {
            op: op.clone(),
            deleter: op.deleter().await?,
            prefix: prefix.to_string(),
            dirs: Default::default(),
        })
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
        self.deleter.delete(key).await
    }

    async fn finish(mut self) -> opendal::Result<()> {
        self.deleter.close().await?;
        let mut levels: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
        for dir in std::mem::take(&mut self.dirs) {
            levels
                .entry(dir.matches('/').count())
                .or_default()
                .push(dir);
        }
        for (_, dirs) in levels.into_iter().rev() {
            let mut deleter = self.op.deleter().await?;
            for dir in dirs {
                deleter.delete(dir).await?;
            }
            deleter.close().await?;
        }
        Ok(())
    }

    /// Deletes `keys` (all under `prefix`) and the directories they imply.
    pub(super) async fn delete_all(
        op: &Operator,
        prefix: &str,
        keys: &[String],
    ) -> opendal::Result<()> {
        let mut deleter = PrefixDeleter::new(op, prefix).await?;
        for key in keys {
            deleter.delete(key).await?;
        }
        deleter.finish().await
    }
}
