//! The life every writer through a temporary file shares (local, HDFS, WebHDFS, FTP,
//! SFTP): the bytes go to a hidden temporary file beside the target
//! ([`super::temp_name`]); commit finishes it, then publishes it (renames it over the
//! target); a failed commit, an abort and a writer dropped unfinished discard it. So the
//! target is only ever replaced by a whole file, and nothing partial stays visible.
//!
//! A backend supplies only its steps on its store ([`TempFile`]); [`AtomicWrite`] owns
//! their order and which failure leads to which clean-up.

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;

use super::{Result, StorageError, WriteStream};

/// One backend's temporary file, open for writing.
#[async_trait]
pub(crate) trait TempFile: Send {
    /// Appends `data` to the temporary file.
    async fn write(&mut self, data: Bytes) -> Result<()>;

    /// Ends the writing: every byte is in the store and the file closed (nothing of it
    /// is visible under the target yet).
    async fn finish(&mut self) -> Result<()>;

    /// Renames the finished temporary file over the target.
    async fn publish(&mut self) -> Result<()>;

    /// Stops any transfer still running and hands back the removal of the temporary
    /// file (one already gone is no error). A future of its own, holding what it needs:
    /// an abort or a failed commit awaits it, a writer dropped unfinished runs it on a
    /// task.
    fn discard(&mut self) -> BoxFuture<'static, Result<()>>;
}

/// A [`WriteStream`] committed atomically through a [`TempFile`].
pub(crate) struct AtomicWrite<F: TempFile> {
    file: F,
    /// The temporary file may still be there and is ours to remove. Cleared only once a
    /// commit or abort ran to its end, so one cancelled half-way leaves the removal to
    /// `Drop`.
    pending: bool,
}

impl<F: TempFile> AtomicWrite<F> {
    pub(crate) fn new(file: F) -> Self {
        AtomicWrite {
            file,
            pending: true,
        }
    }
}

/// The failure of a step on a writer whose file is no longer open (what ended it failed
/// or was cancelled), naming `path`.
pub(crate) fn already_closed(path: &str) -> StorageError {
    StorageError::Io {
        path: path.to_string(),
        message: "the writer is already closed".into(),
    }
}

#[async_trait]
impl<F: TempFile> WriteStream for AtomicWrite<F> {
    async fn write(&mut self, data: Bytes) -> Result<()> {
        self.file.write(data).await
    }

    /// Finish, then publish; after either failed, the temporary file goes and the
    /// failure (not the removal's) is the answer.
    async fn commit(mut self: Box<Self>) -> Result<()> {
        let result = match self.file.finish().await {
            Ok(()) => self.file.publish().await,
            Err(e) => Err(e),
        };
        if result.is_err() {
            let _ = self.file.discard().await;
        }
        self.pending = false;
        result
    }

    /// The target stays as it was; the temporary file goes.
    async fn abort(mut self: Box<Self>) -> Result<()> {
        let result = self.file.discard().await;
        self.pending = false;
        result
    }
}

impl<F: TempFile> Drop for AtomicWrite<F> {
    /// A writer dropped mid-way (its task cancelled) must not leave its temporary file:
    /// the removal runs on a task of its own.
    fn drop(&mut self) {
        if !self.pending {
            return;
        }
        let removal = self.file.discard();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = removal.await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    type Log = Arc<Mutex<Vec<&'static str>>>;

    /// Records the steps taken; the steps named in `failing` fail.
    struct Steps {
        log: Log,
        failing: &'static [&'static str],
    }

    impl Steps {
        fn step(&self, name: &'static str) -> Result<()> {
            self.log.lock().unwrap().push(name);
            if self.failing.contains(&name) {
                return Err(StorageError::Io {
                    path: "p".into(),
                    message: format!("{name} failed"),
                });
            }
            Ok(())
        }
    }

    #[async_trait]
    impl TempFile for Steps {
        async fn write(&mut self, _: Bytes) -> Result<()> {
            self.step("write")
        }
        async fn finish(&mut self) -> Result<()> {
            self.step("finish")
        }
        async fn publish(&mut self) -> Result<()> {
            self.step("publish")
        }
        /// "stop" at once, "remove" when the future runs.
        fn discard(&mut self) -> BoxFuture<'static, Result<()>> {
            let _ = self.step("stop");
            let steps = Steps {
                log: self.log.clone(),
                failing: self.failing,
            };
            Box::pin(async move { steps.step("remove") })
        }
    }

    fn writer(failing: &'static [&'static str]) -> (Box<AtomicWrite<Steps>>, Log) {
        let log = Log::default();
        let file = Steps {
            log: log.clone(),
            failing,
        };
        (Box::new(AtomicWrite::new(file)), log)
    }

    fn taken(log: &Log) -> Vec<&'static str> {
        log.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_commit_finishes_then_publishes_and_discards_nothing() {
        let (mut w, log) = writer(&[]);
        w.write(Bytes::from_static(b"x")).await.unwrap();
        w.commit().await.unwrap();
        assert_eq!(taken(&log), ["write", "finish", "publish"]);
    }

    #[tokio::test]
    async fn a_failed_commit_discards_and_answers_its_own_failure() {
        let (w, log) = writer(&["finish", "remove"]);
        let err = w.commit().await.unwrap_err();
        assert_eq!(err.to_string(), "p: finish failed");
        assert_eq!(taken(&log), ["finish", "stop", "remove"]);

        let (w, log) = writer(&["publish"]);
        let err = w.commit().await.unwrap_err();
        assert_eq!(err.to_string(), "p: publish failed");
        assert_eq!(taken(&log), ["finish", "publish", "stop", "remove"]);
    }

    #[tokio::test]
    async fn an_abort_discards_and_answers_the_removal() {
        let (w, log) = writer(&[]);
        w.abort().await.unwrap();
        assert_eq!(taken(&log), ["stop", "remove"]);
        let (w, _) = writer(&["remove"]);
        assert_eq!(w.abort().await.unwrap_err().to_string(), "p: remove failed");
    }

    #[tokio::test]
    async fn a_writer_dropped_unfinished_discards_on_a_task() {
        let (mut w, log) = writer(&[]);
        w.write(Bytes::from_static(b"x")).await.unwrap();
        drop(w);
        assert_eq!(taken(&log), ["write", "stop"]);
        let removed = async {
            while taken(&log).len() < 3 {
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), removed)
            .await
            .expect("the removal ran");
        assert_eq!(taken(&log), ["write", "stop", "remove"]);
    }
}
