//! [`ObjectStorage`]: one bucket as a [`Storage`]. Keys and prefixes, object metadata as
//! file statuses, and the calls of the trait, each carried out by its role's file
//! (`lister.rs`, `reader.rs`, `writer.rs`, `delete.rs`, `rename.rs`).

use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use futures::StreamExt;
use opendal::{EntryMode, Metadata, Operator};

use super::error::{is_missing, is_refusal_without_code, ErrorMapper};
#[cfg(doc)]
use super::Dialect;
use crate::storage::{
    FileStatus, Location, ReadStream, Result, Storage, StorageError, WriteStream,
};

/// Block size reported for objects: S3A's `fs.s3a.block.size` default, what the Java
/// broker answers for them.
const BLOCK_SIZE: i64 = 32 << 20;

/// One bucket of one store, as a [`Storage`]. Cheap to clone (streams hold a clone).
#[derive(Clone)]
pub struct ObjectStorage {
    pub(super) op: Operator,
    errors: ErrorMapper,
    /// Whether many keys go in one batch delete ([`Dialect::batch_deletes`]).
    pub(super) batch_deletes: bool,
    /// Whether writes carry a precondition ([`Dialect::CONDITIONAL_WRITES`]).
    pub(super) conditional_writes: bool,
    /// Whether the store has real directories ([`Dialect::HIERARCHICAL`]).
    pub(super) hierarchical: bool,
}

/// The key of a path: `/a/b` → `a/b`; the root is the empty key.
pub(super) fn key_of(loc: &Location) -> &str {
    loc.path().trim_start_matches('/')
}

/// The prefix of a directory, as opendal lists it: `a/b/`, or `/` for the bucket root.
pub(super) fn prefix_of(loc: &Location) -> String {
    let key = key_of(loc);
    if key.is_empty() {
        "/".to_string()
    } else {
        format!("{key}/")
    }
}

fn millis(meta: &Metadata) -> i64 {
    meta.last_modified()
        .and_then(|t| {
            std::time::SystemTime::from(t)
                .duration_since(UNIX_EPOCH)
                .ok()
        })
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) fn file_status(loc: Location, meta: &Metadata) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: false,
        size: meta.content_length(),
        modification_time: millis(meta),
        block_size: BLOCK_SIZE,
    }
}

pub(super) fn dir_status(loc: Location) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: true,
        size: 0,
        modification_time: 0,
        block_size: 0,
    }
}

impl ObjectStorage {
    pub(super) fn new(
        op: Operator,
        errors: ErrorMapper,
        batch_deletes: bool,
        conditional_writes: bool,
        hierarchical: bool,
    ) -> Self {
        ObjectStorage {
            op,
            errors,
            batch_deletes,
            conditional_writes,
            hierarchical,
        }
    }

    /// A store failure as a [`StorageError`] on `path` (the rows are in `error/mod.rs`).
    pub(super) fn error(&self, path: impl std::fmt::Display, err: opendal::Error) -> StorageError {
        self.errors.map(path, &err)
    }

    pub(super) fn errors(&self) -> &ErrorMapper {
        &self.errors
    }

    /// HEAD of a key: its metadata, `None` when there is no such key.
    pub(super) async fn head(&self, key: &str) -> opendal::Result<Option<Metadata>> {
        if key.is_empty() {
            return Ok(None);
        }
        match self.op.stat(key).await {
            Ok(meta) if meta.mode() == EntryMode::DIR => Ok(None),
            Ok(meta) => Ok(Some(meta)),
            Err(e) if is_missing(&e) => Ok(None),
            // A refused HEAD has no body, hence no error code: a listing of the same
            // key says whether the credentials or the permissions were refused.
            Err(e) if is_refusal_without_code(&e) => {
                match self.op.lister_with(key).limit(1).await {
                    Err(listed) => Err(listed),
                    Ok(mut lister) => match lister.next().await {
                        Some(Err(listed)) => Err(listed),
                        _ => Err(e),
                    },
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The file at `loc` listed as itself, or `NotFound`: what a listing of a path that
    /// is no directory answers.
    pub(super) async fn file_or_missing(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        match self
            .head(key_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?
        {
            Some(meta) => Ok(vec![file_status(loc.clone(), &meta)]),
            None => Err(StorageError::NotFound {
                path: loc.to_string(),
            }),
        }
    }
}

#[async_trait]
impl Storage for ObjectStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        if loc.is_root() {
            // The bucket: a listing says whether it is there and reachable.
            self.has_children("/")
                .await
                .map_err(|e| self.error(loc, e))?;
            return Ok(Some(dir_status(loc.clone())));
        }
        if let Some(meta) = self
            .head(key_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?
        {
            return Ok(Some(file_status(loc.clone(), &meta)));
        }
        let is_dir = self
            .has_children(&prefix_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?;
        Ok(is_dir.then(|| dir_status(loc.clone())))
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        self.list_level(loc).await
    }

    async fn list_recursive(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        self.list_flat(loc).await
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        self.open_reader(loc).await
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        self.open_writer(loc).await
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        self.delete_tree(loc).await
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        self.move_path(src, dst).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_prefixes() {
        let l = Location::parse("s3a://b/a/b").unwrap();
        assert_eq!(key_of(&l), "a/b");
        assert_eq!(prefix_of(&l), "a/b/");
        let root = Location::parse("s3a://b/").unwrap();
        assert_eq!(key_of(&root), "");
        assert_eq!(prefix_of(&root), "/");
    }
}
