//! Readers: ranged GETs, clamped at the size the object had when it was opened.

use async_trait::async_trait;
use opendal::Buffer;

use super::storage::{key_of, ObjectStorage};
use crate::storage::{Location, ReadBuf, ReadStream, Result, StorageError};

impl ObjectStorage {
    /// A reader of the object at `loc`; a missing key (or a directory) is `NotFound`.
    pub(super) async fn open_reader(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let key = key_of(loc);
        match self.head(key).await.map_err(|e| self.error(loc, e))? {
            Some(meta) => Ok(Box::new(ObjectReader {
                storage: self.clone(),
                key: key.to_string(),
                size: meta.content_length(),
                loc: loc.clone(),
            })),
            None => Err(StorageError::NotFound {
                path: loc.to_string(),
            }),
        }
    }
}

struct ObjectReader {
    storage: ObjectStorage,
    key: String,
    /// The size when opened: reads are clamped to it.
    size: u64,
    loc: Location,
}

#[async_trait]
impl ReadStream for ObjectReader {
    fn size(&self) -> u64 {
        self.size
    }

    /// One ranged GET per chunk: with two in flight, one's latency (first byte after
    /// about a millisecond on loopback, tens of ms from a real store) overlaps the
    /// other's transfer.
    fn read_ahead_depth(&self) -> usize {
        2
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        if offset >= self.size || len == 0 {
            return Ok(0);
        }
        let end = self.size.min(offset.saturating_add(len as u64));
        let data: Buffer = self
            .storage
            .op
            .read_with(&self.key)
            .range(offset..end)
            .await
            .map_err(|e| {
                self.storage
                    .errors()
                    .map_read(&self.loc, &e, end, self.size)
            })?;
        let before = buf.len();
        for chunk in data {
            buf.push(chunk);
        }
        Ok(buf.len() - before)
    }
}
