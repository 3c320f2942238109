//! Memory of fds that are no longer open (closed by their client or reaped), so a
//! replayed close gets the first close's outcome instead of "unknown fd".

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::watch;

use super::{FdId, Sessions};
use crate::streams::WriteError;

/// What became of an fd that is no longer open. Its close outcome is kept so a replayed
/// close gets the same answer as the first (FE retries a close whose reply was lost).
#[derive(Clone)]
pub enum Gone {
    /// Closed by its client, the close still running: the receiver yields its outcome.
    Closing(watch::Receiver<Option<Result<(), WriteError>>>),
    /// Closed by its client with this outcome. Kept without the channel, so a remembered
    /// close costs a few dozen bytes (there are up to [`TOMBSTONES`] of them).
    Closed(Result<(), Arc<WriteError>>),
    /// Reaped after its client was idle too long.
    Expired { client: Arc<str> },
}

/// How many closed or reaped fds are remembered for replayed calls: a replayed close comes
/// within an RPC timeout (seconds), and this many cost about 2 MiB.
pub(super) const TOMBSTONES: usize = 32_768;

/// Bounded memory of fds that were closed or reaped, oldest forgotten first.
pub(super) struct Tombstones {
    pub(super) map: HashMap<FdId, Gone>,
    pub(super) order: VecDeque<FdId>,
    pub(super) cap: usize,
}

impl Tombstones {
    /// Replaces a running close's channel by its outcome.
    pub(super) fn settle(&mut self, fd: FdId, outcome: Result<(), Arc<WriteError>>) {
        if let Some(gone @ Gone::Closing(_)) = self.map.get_mut(&fd) {
            *gone = Gone::Closed(outcome);
        }
    }

    pub(super) fn insert(&mut self, fd: FdId, gone: Gone) {
        if self.map.insert(fd, gone).is_none() {
            self.order.push_back(fd);
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
}

/// Delivers a close's outcome to the fd's tombstone: to replays already waiting on it,
/// and to the table for later ones.
pub struct CloseOutcome<'a> {
    pub(super) sessions: &'a Sessions,
    pub(super) fd: FdId,
    /// `None` once settled.
    pub(super) tx: Option<watch::Sender<Option<Result<(), WriteError>>>>,
}

impl CloseOutcome<'_> {
    pub fn finish(mut self, outcome: Result<(), WriteError>) {
        self.settle(outcome);
    }

    fn settle(&mut self, outcome: Result<(), WriteError>) {
        let Some(tx) = self.tx.take() else {
            return;
        };
        let kept = outcome.clone().map_err(Arc::from);
        tx.send_replace(Some(outcome));
        self.sessions.lock().gone.settle(self.fd, kept);
    }
}

impl Drop for CloseOutcome<'_> {
    /// A close abandoned midway (its connection dropped) still answers replays.
    fn drop(&mut self) {
        self.settle(Err(WriteError::Interrupted));
    }
}
