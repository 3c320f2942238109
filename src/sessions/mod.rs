//! The fd table: every open reader and writer, which client owns it, and the reaper that
//! closes the streams of clients that went quiet.
//!
//! One short `std::sync::Mutex` guards the table; it is never held across storage I/O or
//! an `.await`. Streams are taken out of the table first and closed afterwards, so a
//! stuck close on one store never delays another request (the Java broker's hang).

mod reaper;
mod table;
mod tombstones;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
// tokio's clock, so expiry runs on a paused clock in tests.
use tokio::time::Instant;

use crate::metrics::OpenStreams;
use crate::streams::{Reader, Stream, Writer};
use table::{Client, Entry, Table};
use tombstones::{Tombstones, TOMBSTONES};

pub use reaper::{reaper_period, run_reaper};
pub use table::FdLimits;
pub use tombstones::{CloseOutcome, Gone};

/// The two halves of a `TBrokerFD`: a random 128-bit id, unique and unguessable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FdId {
    pub high: i64,
    pub low: i64,
}

impl std::fmt::Display for FdId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}{:016x}", self.high as u64, self.low as u64)
    }
}

pub enum Lookup {
    Open(Stream),
    Gone(Gone),
    Unknown,
}

/// An open refused by [`FdLimits`]: the stream comes back so the caller can close or abort
/// it, with the reason for the client.
pub struct Refused {
    pub stream: Stream,
    pub reason: String,
}

impl std::fmt::Debug for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

pub struct Sessions {
    table: Mutex<Table>,
    limits: FdLimits,
    expire_after: Duration,
    /// Wakes the reaper when the first fd appears (it sleeps while there are none).
    fd_opened: Notify,
    /// Signalled when the table empties after holding at least [`BURST`] fds.
    burst_over: Notify,
}

/// So many fds open at once make a burst: once they are all gone, the memory they held is
/// worth handing back ([`Sessions::burst_over`]).
pub const BURST: usize = 1000;

impl Sessions {
    pub fn new(expire_after: Duration) -> Self {
        Sessions {
            table: Mutex::new(Table {
                fds: HashMap::new(),
                clients: HashMap::new(),
                gone: Tombstones {
                    map: HashMap::new(),
                    order: VecDeque::new(),
                    cap: TOMBSTONES,
                },
                readers: 0,
                writers: 0,
                peak: 0,
            }),
            limits: FdLimits::UNLIMITED,
            expire_after,
            fd_opened: Notify::new(),
            burst_over: Notify::new(),
        }
    }

    pub fn with_limits(mut self, limits: FdLimits) -> Self {
        self.limits = limits;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // A panic elsewhere must not wedge every later request.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks a client as alive (ping, or any call naming it).
    pub fn touch(&self, client: &str) {
        if let Some(c) = self.lock().clients.get_mut(client) {
            c.last_seen = Instant::now();
        }
    }

    /// Whether `client` may open one more stream now; `Err` says which limit it meets.
    /// Checked before a stream is opened, so a refused client costs the store nothing;
    /// [`Sessions::insert`] checks again, atomically.
    pub fn check_room(&self, client: &str) -> Result<(), String> {
        self.limits.check(&self.lock(), client)
    }

    /// Registers a new stream for `client` and returns its fresh fd, unless the client or
    /// the broker holds as many fds as the limits allow.
    pub fn insert(&self, client: &str, stream: Stream) -> Result<FdId, Refused> {
        let mut table = self.lock();
        if let Err(reason) = self.limits.check(&table, client) {
            return Err(Refused { stream, reason });
        }
        let fd = loop {
            let fd = FdId {
                high: rand::random(),
                low: rand::random(),
            };
            if !table.fds.contains_key(&fd) && !table.gone.map.contains_key(&fd) {
                break fd;
            }
        };
        let client: Arc<str> = match table.clients.get_key_value(client) {
            Some((name, _)) => name.clone(),
            None => Arc::from(client),
        };
        let entry = table.clients.entry(client.clone()).or_insert(Client {
            last_seen: Instant::now(),
            fds: HashSet::new(),
        });
        entry.last_seen = Instant::now();
        entry.fds.insert(fd);
        table.tally(&stream, true);
        table.fds.insert(fd, Entry { client, stream });
        table.peak = table.peak.max(table.fds.len());
        drop(table);
        self.fd_opened.notify_one();
        Ok(fd)
    }

    /// Finds an fd and refreshes its client.
    pub fn get(&self, fd: FdId) -> Lookup {
        let mut table = self.lock();
        let table = &mut *table;
        if let Some(entry) = table.fds.get(&fd) {
            if let Some(c) = table.clients.get_mut(&entry.client) {
                c.last_seen = Instant::now();
            }
            return Lookup::Open(entry.stream.clone());
        }
        match table.gone.map.get(&fd) {
            Some(gone) => Lookup::Gone(gone.clone()),
            None => Lookup::Unknown,
        }
    }

    /// The path an open fd streams, without refreshing its client (for audit records).
    pub fn path_of(&self, fd: FdId) -> Option<String> {
        self.lock()
            .fds
            .get(&fd)
            .map(|entry| entry.stream.path().to_string())
    }

    /// Takes a reader out of the table for closing (see [`Sessions::remove`]).
    pub fn remove_reader(&self, fd: FdId) -> Result<(Arc<Reader>, CloseOutcome<'_>), Lookup> {
        self.remove(fd, |s| match s {
            Stream::Reader(r) => Some(r.clone()),
            Stream::Writer(_) => None,
        })
    }

    /// Takes a writer out of the table for closing (see [`Sessions::remove`]).
    pub fn remove_writer(&self, fd: FdId) -> Result<(Arc<Writer>, CloseOutcome<'_>), Lookup> {
        self.remove(fd, |s| match s {
            Stream::Writer(w) => Some(w.clone()),
            Stream::Reader(_) => None,
        })
    }

    /// Takes an fd of the kind `pick` accepts out of the table; an fd of the other kind
    /// stays open and is reported as `Lookup::Open`. The returned outcome must be given
    /// the close's result; until then a replayed close waits for it.
    fn remove<T>(
        &self,
        fd: FdId,
        pick: impl FnOnce(&Stream) -> Option<T>,
    ) -> Result<(T, CloseOutcome<'_>), Lookup> {
        let mut table = self.lock();
        let Some(entry) = table.fds.get(&fd) else {
            return Err(match table.gone.map.get(&fd) {
                Some(gone) => Lookup::Gone(gone.clone()),
                None => Lookup::Unknown,
            });
        };
        let Some(picked) = pick(&entry.stream) else {
            return Err(Lookup::Open(entry.stream.clone()));
        };
        let client = entry.client.clone();
        if let Some(removed) = table.fds.remove(&fd) {
            table.tally(&removed.stream, false);
        }
        if let Some(c) = table.clients.get_mut(&client) {
            c.fds.remove(&fd);
            c.last_seen = Instant::now();
            if c.fds.is_empty() {
                table.clients.remove(&client);
            }
        }
        self.note_if_empty(&mut table);
        let (tx, rx) = watch::channel(None);
        table.gone.insert(fd, Gone::Closing(rx));
        let outcome = CloseOutcome {
            sessions: self,
            fd,
            tx: Some(tx),
        };
        Ok((picked, outcome))
    }

    /// Takes every stream of every client idle longer than the expiry out of the table.
    pub fn take_expired(&self, now: Instant) -> Vec<(FdId, Arc<str>, Stream)> {
        let mut table = self.lock();
        let table = &mut *table;
        let expired: Vec<Arc<str>> = table
            .clients
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_seen) > self.expire_after)
            .map(|(name, _)| name.clone())
            .collect();
        let mut out = Vec::new();
        for name in expired {
            let Some(client) = table.clients.remove(&name) else {
                continue;
            };
            for fd in client.fds {
                if let Some(entry) = table.fds.remove(&fd) {
                    table.tally(&entry.stream, false);
                    table.gone.insert(
                        fd,
                        Gone::Expired {
                            client: name.clone(),
                        },
                    );
                    out.push((fd, name.clone(), entry.stream));
                }
            }
        }
        self.note_if_empty(table);
        out
    }

    /// Takes every open stream (graceful shutdown).
    pub fn take_all(&self) -> Vec<(FdId, Stream)> {
        let mut table = self.lock();
        table.clients.clear();
        table.readers = 0;
        table.writers = 0;
        let all = table.fds.drain().map(|(fd, e)| (fd, e.stream)).collect();
        self.note_if_empty(&mut table);
        all
    }

    /// Signals [`Sessions::burst_over`] when the table just emptied after a burst.
    fn note_if_empty(&self, table: &mut Table) {
        if table.fds.is_empty() {
            if table.peak >= BURST {
                self.burst_over.notify_one();
            }
            table.peak = 0;
        }
    }

    /// Open fds and the clients owning them (for logs and metrics).
    pub fn counts(&self) -> (usize, usize) {
        let table = self.lock();
        (table.fds.len(), table.clients.len())
    }

    pub fn open_counts(&self) -> OpenStreams {
        let table = self.lock();
        OpenStreams {
            readers: table.readers,
            writers: table.writers,
            clients: table.clients.len(),
        }
    }

    pub fn expire_after(&self) -> Duration {
        self.expire_after
    }

    /// Resolves when an fd may have been opened since the table was last seen empty.
    pub async fn fd_opened(&self) {
        self.fd_opened.notified().await
    }

    /// Resolves when the table has emptied after holding at least [`BURST`] fds at once
    /// (once per burst; a burst that ended before the call is reported at once).
    pub async fn burst_over(&self) {
        self.burst_over.notified().await
    }
}

#[cfg(test)]
mod tests;
