//! An open writer: the sequential-write rules, the buffer limit, commit and abort.
//!
//! Writes are strictly sequential. A replay of the last write is acknowledged without
//! writing again (FE retries a pwrite after a timeout); any other offset is refused with
//! both offsets named. A failed write poisons the writer: the partial file is aborted and
//! every later call, the commit included, reports that failure, so nothing is lost
//! silently. The async mutex orders the pwrites of one fd; it is per writer, so a slow
//! write only ever waits for writes to the same file.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::metrics::{self, Label};
use crate::storage::{self, StorageError, WriteStream};

/// Why a pwrite or a commit did not go through.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    #[error("{len} bytes in one pwrite is more than max_writer_buffer_mb = {limit_mb} allows; send smaller chunks")]
    TooLarge { len: usize, limit_mb: usize },
    #[error("other pwrites on this fd already hold {held} bytes (max_writer_buffer_mb = {limit_mb}); send one pwrite at a time")]
    Busy { held: usize, limit_mb: usize },
    #[error("offset {offset} is not the end of the data written so far ({written} bytes)")]
    Offset { offset: i64, written: u64 },
    /// The store refused a write; the writer stays poisoned with this.
    #[error("write at offset {offset} failed: {error}")]
    Failed { offset: u64, error: StorageError },
    /// The store refused to make the data durable and visible.
    #[error("{0}")]
    Commit(StorageError),
    #[error("the writer was already ended")]
    Ended,
    /// The close's connection went away before the commit ended.
    #[error("the close was interrupted")]
    Interrupted,
}

/// An open writer.
pub struct Writer {
    path: String,
    scheme: Label,
    state: tokio::sync::Mutex<State>,
    /// pwrite bytes this writer holds right now, running or waiting for the mutex.
    buffered: AtomicUsize,
    limit_mb: usize,
}

struct State {
    /// `None` once the writer was committed, aborted or failed.
    stream: Option<Box<dyn WriteStream>>,
    /// Bytes accepted so far: the only offset the next pwrite may have.
    written: u64,
    /// Length of the last accepted pwrite, to recognise a replay of it.
    last_len: u64,
    /// Set when a write failed: every later call reports it.
    failure: Option<WriteError>,
}

impl Writer {
    /// `limit_mb` (`max_writer_buffer_mb`) bounds the pwrite bytes held at once.
    pub fn new(path: String, stream: Box<dyn WriteStream>, limit_mb: usize) -> Arc<Writer> {
        Arc::new(Writer {
            scheme: storage::scheme_label(&path),
            path,
            state: tokio::sync::Mutex::new(State {
                stream: Some(stream),
                written: 0,
                last_len: 0,
                failure: None,
            }),
            buffered: AtomicUsize::new(0),
            limit_mb,
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// Appends `data`, which must start where the data written so far ends (or replay
    /// the last pwrite exactly, which is acknowledged without writing). `data` is usually a
    /// slice of the connection's receive buffer, handed to the store without a copy.
    pub async fn pwrite(&self, offset: i64, data: Bytes) -> Result<(), WriteError> {
        // Counted before waiting for the lock: pwrites racing on one fd (replays from
        // several connections) must not pile up unbounded data behind a slow store.
        let _held = self.hold(data.len())?;
        let mut state = self.state.lock().await;
        if let Some(failure) = &state.failure {
            return Err(failure.clone());
        }
        let len = data.len() as u64;
        if offset < 0 || offset as u64 != state.written {
            let replay = len > 0
                && len == state.last_len
                && offset >= 0
                && offset as u64 + len == state.written;
            if replay {
                return Ok(());
            }
            return Err(WriteError::Offset {
                offset,
                written: state.written,
            });
        }
        if len == 0 {
            return Ok(());
        }
        let Some(stream) = state.stream.as_mut() else {
            return Err(WriteError::Ended);
        };
        match stream.write(data).await {
            Ok(()) => {
                state.written += len;
                state.last_len = len;
                metrics::written_bytes(self.scheme, len as usize);
                Ok(())
            }
            Err(error) => {
                let failure = WriteError::Failed {
                    offset: offset as u64,
                    error,
                };
                state.failure = Some(failure.clone());
                if let Some(stream) = state.stream.take() {
                    if let Err(abort) = stream.abort().await {
                        tracing::warn!(path = %self.path, "abort after failed write: {abort}");
                    }
                }
                Err(failure)
            }
        }
    }

    /// Makes the data durable and visible, or says why it could not.
    pub async fn commit(&self) -> Result<(), WriteError> {
        let mut state = self.state.lock().await;
        if let Some(failure) = &state.failure {
            return Err(failure.clone());
        }
        match state.stream.take() {
            Some(stream) => stream.commit().await.map_err(WriteError::Commit),
            None => Err(WriteError::Ended),
        }
    }

    /// Throws the partial file away (reaped, refused, shut down): nothing becomes visible.
    pub async fn abort(&self) -> Result<(), StorageError> {
        let stream = self.state.lock().await.stream.take();
        match stream {
            Some(stream) => stream.abort().await,
            None => Ok(()),
        }
    }

    /// Counts `len` bytes against the limit for as long as the guard lives.
    fn hold(&self, len: usize) -> Result<BufferHold<'_>, WriteError> {
        let limit = self.limit_mb.saturating_mul(1 << 20);
        if len > limit {
            return Err(WriteError::TooLarge {
                len,
                limit_mb: self.limit_mb,
            });
        }
        let before = self.buffered.fetch_add(len, Ordering::AcqRel);
        if before.saturating_add(len) > limit {
            self.buffered.fetch_sub(len, Ordering::AcqRel);
            return Err(WriteError::Busy {
                held: before,
                limit_mb: self.limit_mb,
            });
        }
        Ok(BufferHold { writer: self, len })
    }
}

/// pwrite bytes counted in [`Writer::buffered`] until dropped.
struct BufferHold<'a> {
    writer: &'a Writer,
    len: usize,
}

impl Drop for BufferHold<'_> {
    fn drop(&mut self) {
        self.writer.buffered.fetch_sub(self.len, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what reaches the store; fails writes once `fail_after` bytes went in.
    struct Recording {
        got: Arc<std::sync::Mutex<Vec<u8>>>,
        fail_after: usize,
    }

    #[async_trait::async_trait]
    impl WriteStream for Recording {
        async fn write(&mut self, data: Bytes) -> storage::Result<()> {
            let mut got = self.got.lock().unwrap();
            if got.len() + data.len() > self.fail_after {
                return Err(StorageError::NotAuthorized("quota".into()));
            }
            got.extend_from_slice(&data);
            Ok(())
        }
        async fn commit(self: Box<Self>) -> storage::Result<()> {
            Ok(())
        }
        async fn abort(self: Box<Self>) -> storage::Result<()> {
            self.got.lock().unwrap().clear();
            Ok(())
        }
    }

    fn writer(fail_after: usize) -> (Arc<Writer>, Arc<std::sync::Mutex<Vec<u8>>>) {
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stream = Recording {
            got: got.clone(),
            fail_after,
        };
        (Writer::new("file:/w".into(), Box::new(stream), 1), got)
    }

    #[tokio::test]
    async fn sequential_rules_replay_and_gaps() {
        let (w, got) = writer(usize::MAX);
        w.pwrite(0, Bytes::from_static(b"abc")).await.unwrap();
        // A replay of the last write is acknowledged and not written again.
        w.pwrite(0, Bytes::from_static(b"abc")).await.unwrap();
        let err = w.pwrite(5, Bytes::from_static(b"x")).await.unwrap_err();
        assert!(
            matches!(
                err,
                WriteError::Offset {
                    offset: 5,
                    written: 3
                }
            ),
            "{err}"
        );
        w.pwrite(3, Bytes::new()).await.unwrap();
        w.pwrite(3, Bytes::from_static(b"de")).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(&*got.lock().unwrap(), b"abcde");
        assert!(matches!(w.commit().await, Err(WriteError::Ended)));
    }

    #[tokio::test]
    async fn a_failed_write_poisons_the_writer_with_its_cause() {
        let (w, got) = writer(4);
        w.pwrite(0, Bytes::from_static(b"abc")).await.unwrap();
        let err = w.pwrite(3, Bytes::from_static(b"de")).await.unwrap_err();
        assert!(matches!(
            err,
            WriteError::Failed {
                offset: 3,
                error: StorageError::NotAuthorized(_)
            }
        ));
        assert!(
            got.lock().unwrap().is_empty(),
            "the partial file was aborted"
        );
        assert!(matches!(
            w.pwrite(3, Bytes::from_static(b"de")).await,
            Err(WriteError::Failed { .. })
        ));
        assert!(matches!(w.commit().await, Err(WriteError::Failed { .. })));
    }

    #[tokio::test]
    async fn the_buffer_limit_refuses_oversized_pwrites() {
        let (w, _) = writer(usize::MAX);
        let err = w
            .pwrite(0, Bytes::from(vec![0; (1 << 20) + 1]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, WriteError::TooLarge { limit_mb: 1, .. }),
            "{err}"
        );
        let held = w.hold(1 << 20).unwrap();
        assert!(matches!(w.hold(1), Err(WriteError::Busy { .. })));
        drop(held);
        assert!(w.hold(1).is_ok());
    }
}
