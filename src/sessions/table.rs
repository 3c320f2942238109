//! The fd table's rows (each fd's stream and owning client, each client's fds and last
//! call) and the limits checked before a new fd joins it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::time::Instant;

use super::tombstones::Tombstones;
use super::FdId;
use crate::streams::Stream;

pub(super) struct Entry {
    pub(super) client: Arc<str>,
    pub(super) stream: Stream,
}

pub(super) struct Client {
    pub(super) last_seen: Instant,
    pub(super) fds: HashSet<FdId>,
}

pub(super) struct Table {
    pub(super) fds: HashMap<FdId, Entry>,
    /// Only clients that own at least one fd: nothing else needs reaping.
    pub(super) clients: HashMap<Arc<str>, Client>,
    pub(super) gone: Tombstones,
    /// How many of `fds` are readers and writers (metrics read them at scrape).
    pub(super) readers: usize,
    pub(super) writers: usize,
    /// The most fds held at once since the table was last empty.
    pub(super) peak: usize,
}

impl Table {
    /// Keeps `readers` / `writers` in step with `fds`: +1 when a stream enters, -1 when
    /// it leaves.
    pub(super) fn tally(&mut self, stream: &Stream, entering: bool) {
        let n = match stream {
            Stream::Reader(_) => &mut self.readers,
            Stream::Writer(_) => &mut self.writers,
        };
        *n = if entering {
            *n + 1
        } else {
            n.saturating_sub(1)
        };
    }
}

/// Caps on open fds (`max_open_fds_per_client`, `max_open_fds`): a client that leaks
/// readers, or many at once, meets a clear refusal instead of exhausting memory or the
/// process's file descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimits {
    pub per_client: usize,
    pub total: usize,
}

impl FdLimits {
    pub const UNLIMITED: FdLimits = FdLimits {
        per_client: usize::MAX,
        total: usize::MAX,
    };
}

impl FdLimits {
    pub(super) fn check(&self, table: &Table, client: &str) -> Result<(), String> {
        let held = table.clients.get(client).map_or(0, |c| c.fds.len());
        if held >= self.per_client {
            return Err(format!(
                "too many open streams: client {client} holds {held} (max_open_fds_per_client = {}); it must close streams it no longer reads or writes",
                self.per_client
            ));
        }
        if table.fds.len() >= self.total {
            return Err(format!(
                "too many open streams: the broker holds {} for all clients (max_open_fds = {}); try again once some are closed",
                table.fds.len(),
                self.total
            ));
        }
        Ok(())
    }
}
