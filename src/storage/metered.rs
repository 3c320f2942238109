//! The metering layer every backend is wrapped in (as opendal stacks layers): each
//! failure a store reports, from a listing to a writer's commit, is counted once here, by
//! scheme and the status it maps to, so no handler counts by hand.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::{
    FileStatus, Location, ReadBuf, ReadStream, Result, Storage, StorageError, WriteStream,
};
use crate::metrics::{self, Label};

/// Counts `err` under `scheme` and hands it back.
pub(super) fn count(scheme: Label, err: StorageError) -> StorageError {
    metrics::storage_error(scheme, err.status().label());
    err
}

fn counted<T>(scheme: Label, result: Result<T>) -> Result<T> {
    result.map_err(|e| count(scheme, e))
}

pub(super) struct Metered {
    inner: Arc<dyn Storage>,
    scheme: Label,
}

impl Metered {
    pub(super) fn wrap(inner: Arc<dyn Storage>, scheme: Label) -> Arc<dyn Storage> {
        Arc::new(Metered { inner, scheme })
    }
}

#[async_trait]
impl Storage for Metered {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        counted(self.scheme, self.inner.stat(loc).await)
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        counted(self.scheme, self.inner.list_dir(loc).await)
    }

    async fn list_recursive(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        counted(self.scheme, self.inner.list_recursive(loc).await)
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let inner = counted(self.scheme, self.inner.open_read(loc).await)?;
        Ok(Box::new(MeteredRead {
            inner,
            scheme: self.scheme,
        }))
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        let inner = counted(self.scheme, self.inner.create(loc).await)?;
        Ok(Box::new(MeteredWrite {
            inner,
            scheme: self.scheme,
        }))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        counted(self.scheme, self.inner.delete(loc).await)
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        counted(self.scheme, self.inner.rename(src, dst).await)
    }
}

struct MeteredRead {
    inner: Box<dyn ReadStream>,
    scheme: Label,
}

#[async_trait]
impl ReadStream for MeteredRead {
    fn size(&self) -> u64 {
        self.inner.size()
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        counted(self.scheme, self.inner.read_at(offset, len, buf).await)
    }

    fn read_ahead_depth(&self) -> usize {
        self.inner.read_ahead_depth()
    }
}

struct MeteredWrite {
    inner: Box<dyn WriteStream>,
    scheme: Label,
}

#[async_trait]
impl WriteStream for MeteredWrite {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        counted(self.scheme, self.inner.write(data).await)
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        counted(self.scheme, self.inner.commit().await)
    }

    async fn abort(self: Box<Self>) -> Result<()> {
        counted(self.scheme, self.inner.abort().await)
    }
}
