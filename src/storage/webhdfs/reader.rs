//! Positional reads: each pread is one `OPEN` with `offset` and `length`, redirected by
//! the namenode to a datanode holding the block (an HttpFS gateway answers itself), its
//! body streamed straight into the reply's buffer.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;

use super::core::Core;
use super::error::{to_storage_error, WebHdfsError};
use super::lister::stat;
use crate::storage::{Location, ReadBuf, ReadStream, Result, StorageError};

pub(super) struct WebHdfsReader {
    core: Arc<Core>,
    loc: Location,
    /// The length at open: reads are clamped to it, as for `hdfs://`.
    size: u64,
}

impl WebHdfsReader {
    /// A missing path or a directory is `NotFound`.
    pub(super) async fn open(core: Arc<Core>, loc: &Location) -> Result<Self> {
        match stat(&core, loc).await? {
            Some(status) if !status.is_dir => Ok(WebHdfsReader {
                core,
                loc: loc.clone(),
                size: status.size,
            }),
            Some(_) => Err(StorageError::NotFound {
                path: format!("{loc} (a directory, not a file)"),
            }),
            None => Err(StorageError::NotFound {
                path: loc.to_string(),
            }),
        }
    }
}

#[async_trait]
impl ReadStream for WebHdfsReader {
    fn size(&self) -> u64 {
        self.size
    }

    /// One OPEN (and its redirect to a datanode) per chunk: two in flight overlap one's
    /// latency with the other's transfer.
    fn read_ahead_depth(&self) -> usize {
        2
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        if offset >= self.size || len == 0 {
            return Ok(0);
        }
        let len = len.min((self.size - offset) as usize);
        let (at, length) = (offset.to_string(), len.to_string());
        let params = [("offset", at.as_str()), ("length", length.as_str())];
        let fail = |e| to_storage_error(&self.loc, e);
        let mut resp = (self
            .core
            .data(Method::GET, self.loc.path(), "OPEN", &params, None)
            .await)
            .map_err(fail)?;
        let mut read = 0;
        while read < len {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let take = chunk.len().min(len - read);
                    buf.push(chunk.slice(..take));
                    read += take;
                }
                Ok(None) => break,
                Err(e) => {
                    // What arrived is kept: callers read on from where it stopped.
                    if read > 0 {
                        break;
                    }
                    return Err(fail(WebHdfsError::transport(e)));
                }
            }
        }
        Ok(read)
    }
}
