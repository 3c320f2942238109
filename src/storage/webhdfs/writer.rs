//! Sequential writes of one file, committed atomically as on `hdfs://` ([`AtomicWrite`]):
//! `openWriter` creates an empty hidden temporary file beside the target
//! (`.<name>.broker-<hex>.tmp`, same directory, so its quotas and permissions apply), the
//! first pwrite starts one `APPEND` to it whose body streams every later pwrite (a few
//! chunks in flight, never the whole file), and closeWriter ends that body, waits for the
//! datanode to close the file and renames it over the target. A failed, aborted or dropped write drops the
//! upload mid-body and deletes the temporary file; the target is never touched.
//!
//! The temporary file exists from `openWriter` on, before any data is sent: a delete
//! after an abort then always finds it, and an append that reaches the datanode after
//! that delete fails instead of creating the file again.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use reqwest::{Method, StatusCode};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::core::{boolean, expect_status, CallResult, Core};
use super::error::{to_storage_error, WebHdfsError};
use super::lister::stat;
use crate::storage::atomic_write::{AtomicWrite, TempFile};
use crate::storage::temp_name::temp_name;
use crate::storage::{Location, Result, StorageError};

/// pwrite chunks queued for the upload: with 1 MiB pwrites, a few MiB per writer.
const CHUNKS_IN_FLIGHT: usize = 4;

type Chunk = std::result::Result<Bytes, std::io::Error>;

/// The running `APPEND`: its body's sender and the request.
struct Upload {
    chunks: mpsc::Sender<Chunk>,
    request: JoinHandle<CallResult<()>>,
}

pub(super) struct WebHdfsTempFile {
    core: Arc<Core>,
    /// The target, which every error names.
    loc: Location,
    temp: Location,
    upload: Option<Upload>,
}

impl WebHdfsTempFile {
    /// Starts a write that will create (or replace) `loc`: parents made (0755, as
    /// Hadoop's FileSystem.create gives them), the target checked not to be a directory,
    /// the empty temporary file created (0644). Permission refusals come from here.
    pub(super) async fn create(core: Arc<Core>, loc: &Location) -> Result<AtomicWrite<Self>> {
        let parent = loc.parent().ok_or_else(|| StorageError::Io {
            path: loc.to_string(),
            message: "cannot write to the root directory".into(),
        })?;
        let made = core
            .json(
                Method::PUT,
                parent.path(),
                "MKDIRS",
                &[("permission", "755")],
            )
            .await
            .map_err(|e| to_storage_error(&parent, e))?;
        if boolean(&made) == Some(false) {
            return Err(to_storage_error(
                &parent,
                WebHdfsError::Protocol("MKDIRS answered false".into()),
            ));
        }
        // The rename at commit would refuse a directory; say so before any byte is sent.
        if stat(&core, loc).await?.is_some_and(|s| s.is_dir) {
            return Err(StorageError::AlreadyExists {
                path: format!("{loc} (a directory)"),
            });
        }
        let temp = parent.join(&temp_name(loc.name()));
        core.create_empty(temp.path(), "644")
            .await
            .map_err(|e| to_storage_error(loc, e))?;
        Ok(AtomicWrite::new(WebHdfsTempFile {
            core,
            loc: loc.clone(),
            temp,
            upload: None,
        }))
    }

    /// Starts the `APPEND` whose body the pwrites feed.
    fn start_upload(&self) -> Upload {
        let (chunks, rx) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
        let body = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        });
        let (core, temp) = (self.core.clone(), self.temp.clone());
        let request = tokio::spawn(async move {
            let body = reqwest::Body::wrap_stream(body);
            let resp = core
                .data(Method::POST, temp.path(), "APPEND", &[], Some(body))
                .await?;
            expect_status(resp, StatusCode::OK, "APPEND").await
        });
        Upload { chunks, request }
    }

    /// Finishes the upload's body and awaits the request's outcome.
    async fn finish_upload(&mut self) -> CallResult<()> {
        match self.upload.take() {
            Some(upload) => end_upload(upload, false).await,
            None => Ok(()),
        }
    }

    /// Renames the complete temporary file over the target. `renameoptions=OVERWRITE`
    /// replaces the target in one namenode operation; a server that ignores it (HttpFS
    /// renames plainly) answers false while the target exists: then the target is
    /// deleted first and the rename repeated.
    async fn rename_over_target(&self) -> CallResult<()> {
        let (temp, target) = (self.temp.path(), self.loc.path());
        let params = [("destination", target), ("renameoptions", "OVERWRITE")];
        let renamed = self.core.json(Method::PUT, temp, "RENAME", &params).await?;
        if boolean(&renamed) != Some(false) {
            return Ok(());
        }
        self.core
            .json(Method::DELETE, target, "DELETE", &[("recursive", "false")])
            .await?;
        let renamed = self
            .core
            .json(Method::PUT, temp, "RENAME", &[("destination", target)])
            .await?;
        match boolean(&renamed) {
            Some(false) => Err(WebHdfsError::Protocol(format!(
                "the rename of the temporary file onto {target} answered false"
            ))),
            _ => Ok(()),
        }
    }
}

/// Ends an upload: the body is finished and the request's outcome awaited; with `abort`,
/// the request is dropped mid-body (the connection closes, so a stuck datanode cannot
/// hold an abort up).
async fn end_upload(upload: Upload, abort: bool) -> CallResult<()> {
    drop(upload.chunks);
    if abort {
        upload.request.abort();
    }
    match upload.request.await {
        Ok(outcome) => outcome,
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(WebHdfsError::Protocol(format!(
            "the upload task failed: {e}"
        ))),
    }
}

#[async_trait]
impl TempFile for WebHdfsTempFile {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        if self.upload.is_none() {
            self.upload = Some(self.start_upload());
        }
        let sent = match &self.upload {
            Some(upload) => upload.chunks.send(Ok(data)).await.is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        // The request ended early: its outcome says why.
        let outcome = self.finish_upload().await;
        Err(to_storage_error(
            &self.loc,
            outcome.err().unwrap_or_else(|| {
                WebHdfsError::Protocol("the datanode ended the upload early".into())
            }),
        ))
    }

    /// Ends the body and waits for the datanode to close the file.
    async fn finish(&mut self) -> Result<()> {
        self.finish_upload()
            .await
            .map_err(|e| to_storage_error(&self.loc, e))
    }

    async fn publish(&mut self) -> Result<()> {
        self.rename_over_target()
            .await
            .map_err(|e| to_storage_error(&self.loc, e))
    }

    /// Drops the upload mid-body; the temporary file is deleted (in the background while
    /// the server cannot be reached), and the answer is always success.
    fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
        let upload = self.upload.take();
        let (core, temp) = (self.core.clone(), self.temp.clone());
        Box::pin(async move {
            if let Some(upload) = upload {
                let _ = end_upload(upload, true).await;
            }
            remove_temp(core, temp).await;
            Ok(())
        })
    }
}

/// Retries of a temporary file's removal after the first failed (1 s doubling to 32 s
/// apart, about a minute in all): a server down for longer leaves it, named in a WARN line.
const REMOVAL_RETRIES: u32 = 6;

/// Deletes a temporary file; while the server cannot be reached, tries again in the
/// background.
async fn remove_temp(core: Arc<Core>, temp: Location) {
    if core.delete(&temp, false).await.is_ok() {
        return;
    }
    tokio::spawn(async move {
        for attempt in 0..REMOVAL_RETRIES {
            tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            match core.delete(&temp, false).await {
                Ok(()) => return,
                Err(e) if attempt + 1 == REMOVAL_RETRIES => {
                    tracing::warn!(path = %temp, "leaving a temporary file of a failed write: {e}");
                }
                Err(_) => {}
            }
        }
    });
}
