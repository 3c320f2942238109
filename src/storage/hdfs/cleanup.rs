//! Removing the temporary file of a write that failed, was aborted or was dropped. The
//! target is intact either way, but an unreachable cluster (namenode down, no namenode
//! active) must not leave the hidden file behind for good: a removal that fails is retried
//! in the background, with backoff, until it succeeds or a day has passed. Each deferred
//! removal is logged once when queued and once when it ends, and counted in /metrics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use hdfs_native::{Client, HdfsError};
use tokio::sync::mpsc;

use super::error::is_access_refusal;
use crate::metrics::{self, DeferredCleanup};
use crate::storage::kerberos::PrivateKeytab;
use crate::storage::Location;

/// A removal tried inline (abort, failed close) waits this long before the background
/// takes it over, so a failing write answers promptly even while calls wait for a failover.
const INLINE_WAIT: Duration = Duration::from_secs(2);
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// More deferred removals than this are abandoned at once (logged and counted): the queue
/// stays bounded however long a cluster is gone.
const MAX_PENDING: usize = 10_000;

/// One temporary file to remove, with what it takes to reach its cluster.
pub(super) struct Removal {
    pub client: Client,
    /// An inline keytab's file, kept while the removal may still log in again.
    pub _keytab: Option<Arc<PrivateKeytab>>,
    pub temp: Location,
}

impl Removal {
    /// Gone (or never there) is done.
    async fn attempt(&self) -> Result<(), HdfsError> {
        self.client
            .delete(self.temp.path(), false)
            .await
            .map(|_| ())
    }
}

/// The sending side, held by every HDFS client and writer.
#[derive(Clone)]
pub(super) struct Cleanups {
    queue: mpsc::UnboundedSender<Removal>,
    pending: Arc<AtomicUsize>,
}

/// The retrying side, run by the backend's sweeper task.
pub(super) struct CleanupWorker {
    queue: Mutex<Option<mpsc::UnboundedReceiver<Removal>>>,
    pending: Arc<AtomicUsize>,
}

pub(super) fn cleanups() -> (Cleanups, CleanupWorker) {
    let (tx, rx) = mpsc::unbounded_channel();
    let pending = Arc::new(AtomicUsize::new(0));
    (
        Cleanups {
            queue: tx,
            pending: pending.clone(),
        },
        CleanupWorker {
            queue: Mutex::new(Some(rx)),
            pending,
        },
    )
}

impl Cleanups {
    /// Removes the file now if the cluster answers within [`INLINE_WAIT`], else in the
    /// background.
    pub(super) async fn remove(&self, removal: Removal) {
        let error = match tokio::time::timeout(INLINE_WAIT, removal.attempt()).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {INLINE_WAIT:?}"),
        };
        self.defer(removal, &error);
    }

    fn defer(&self, removal: Removal, error: &str) {
        let temp = removal.temp.to_string();
        if self.pending.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            metrics::deferred_cleanup(DeferredCleanup::Abandoned);
            tracing::warn!(path = %temp, "cannot remove the temporary file of a failed write ({error}) and {MAX_PENDING} removals already wait: left in place");
            return;
        }
        metrics::deferred_cleanup(DeferredCleanup::Queued);
        tracing::warn!(path = %temp, "cannot remove the temporary file of a failed write yet ({error}); retrying in the background");
        if self.queue.send(removal).is_err() {
            // The backend is shutting down: nothing will retry it.
            self.pending.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl CleanupWorker {
    /// Retries queued removals until the process ends. Only the first call works; the
    /// queue has one consumer.
    pub(super) async fn run(&self) {
        let Some(mut queue) = self.queue.lock().unwrap_or_else(|e| e.into_inner()).take() else {
            return std::future::pending().await;
        };
        let mut retrying = FuturesUnordered::new();
        loop {
            tokio::select! {
                Some(removal) = queue.recv() => retrying.push(retry(removal)),
                Some(outcome) = retrying.next(), if !retrying.is_empty() => {
                    self.pending.fetch_sub(1, Ordering::SeqCst);
                    metrics::deferred_cleanup(outcome);
                }
                else => return std::future::pending().await,
            }
        }
    }
}

async fn retry(removal: Removal) -> DeferredCleanup {
    let started = Instant::now();
    let mut delay = FIRST_RETRY;
    let mut attempts = 0u32;
    loop {
        tokio::time::sleep(delay).await;
        attempts += 1;
        let error = match removal.attempt().await {
            Ok(()) => {
                tracing::info!(path = %removal.temp, attempts, "removed the temporary file of a failed write");
                return DeferredCleanup::Done;
            }
            Err(e) => e,
        };
        // A refusal stays a refusal; a day is long past any failover or restart.
        if is_access_refusal(&error) || started.elapsed() >= GIVE_UP_AFTER {
            tracing::warn!(path = %removal.temp, attempts, "gave up removing the temporary file of a failed write: {error}");
            return DeferredCleanup::Abandoned;
        }
        tracing::debug!(path = %removal.temp, attempts, "temporary file not removed yet: {error}");
        delay = (delay * 2).min(MAX_RETRY);
    }
}
