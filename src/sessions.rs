//! The fd table: every open reader and writer, which client owns it, and the reaper that
//! closes the streams of clients that went quiet.
//!
//! One short `std::sync::Mutex` guards the table; it is never held across storage I/O or
//! an `.await`. Streams are taken out of the table first and closed afterwards, so a
//! stuck close on one store never delays another request (the Java broker's hang).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::storage::{ReadStream, WriteStream};

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

/// An open reader. Reads are positional and shared, so no lock is needed to serve them.
pub struct ReaderSlot {
    pub path: String,
    pub stream: Box<dyn ReadStream>,
    /// Only `seek` moves it; clients send the offset with every pread.
    pub position: AtomicU64,
}

/// An open writer. The async mutex orders a client's pwrites; it is per fd, so a slow
/// write only ever waits for writes to the same file.
pub struct WriterSlot {
    pub path: String,
    pub state: tokio::sync::Mutex<WriterState>,
}

pub struct WriterState {
    /// `None` once the writer was committed, aborted or failed.
    pub stream: Option<Box<dyn WriteStream>>,
    /// Bytes accepted so far: the only offset the next pwrite may have.
    pub written: u64,
    /// Length of the last accepted pwrite, to recognise a replay of it.
    pub last_len: u64,
    /// Set when a write failed: every later call on the fd reports it.
    pub failure: Option<String>,
}

#[derive(Clone)]
pub enum Stream {
    Reader(Arc<ReaderSlot>),
    Writer(Arc<WriterSlot>),
}

/// What became of an fd that is no longer open. Its close outcome is kept so a replayed
/// close gets the same answer as the first (FE retries a close whose reply was lost).
#[derive(Clone)]
pub enum Gone {
    /// Closed by its client; the receiver yields the close's outcome once it is known.
    Closed(watch::Receiver<Option<Result<(), String>>>),
    /// Reaped after its client was idle too long.
    Expired { client: Arc<str> },
}

pub enum Lookup {
    Open(Stream),
    Gone(Gone),
    Unknown,
}

struct Entry {
    client: Arc<str>,
    stream: Stream,
}

struct Client {
    last_seen: Instant,
    fds: HashSet<FdId>,
}

/// Bounded memory of fds that were closed or reaped, oldest forgotten first.
struct Tombstones {
    map: HashMap<FdId, Gone>,
    order: VecDeque<FdId>,
    cap: usize,
}

impl Tombstones {
    fn insert(&mut self, fd: FdId, gone: Gone) {
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

struct Table {
    fds: HashMap<FdId, Entry>,
    /// Only clients that own at least one fd: nothing else needs reaping.
    clients: HashMap<Arc<str>, Client>,
    gone: Tombstones,
    /// How many of `fds` are readers and writers (metrics read them at scrape).
    readers: usize,
    writers: usize,
}

impl Table {
    /// Keeps `readers` / `writers` in step with `fds`: +1 when a stream enters, -1 when
    /// it leaves.
    fn tally(&mut self, stream: &Stream, entering: bool) {
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

/// Open streams and the clients owning them, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenCounts {
    pub readers: usize,
    pub writers: usize,
    pub clients: usize,
}

pub struct Sessions {
    table: Mutex<Table>,
    expire_after: Duration,
    /// Wakes the reaper when the first fd appears (it sleeps while there are none).
    fd_opened: Notify,
}

/// How many closed or reaped fds are remembered for replayed calls.
const TOMBSTONES: usize = 65_536;

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
            }),
            expire_after,
            fd_opened: Notify::new(),
        }
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

    /// Registers a new stream for `client` and returns its fresh fd.
    pub fn insert(&self, client: &str, stream: Stream) -> FdId {
        let mut table = self.lock();
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
        drop(table);
        self.fd_opened.notify_one();
        fd
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
        self.lock().fds.get(&fd).map(|entry| match &entry.stream {
            Stream::Reader(r) => r.path.clone(),
            Stream::Writer(w) => w.path.clone(),
        })
    }

    /// Takes a reader out of the table for closing (see [`Sessions::remove`]).
    pub fn remove_reader(&self, fd: FdId) -> Result<(Arc<ReaderSlot>, CloseOutcome), Lookup> {
        self.remove(fd, |s| match s {
            Stream::Reader(r) => Some(r.clone()),
            Stream::Writer(_) => None,
        })
    }

    /// Takes a writer out of the table for closing (see [`Sessions::remove`]).
    pub fn remove_writer(&self, fd: FdId) -> Result<(Arc<WriterSlot>, CloseOutcome), Lookup> {
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
    ) -> Result<(T, CloseOutcome), Lookup> {
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
        let (tx, rx) = watch::channel(None);
        table.gone.insert(fd, Gone::Closed(rx));
        Ok((picked, CloseOutcome(tx)))
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
        out
    }

    /// Takes every open stream (graceful shutdown).
    pub fn take_all(&self) -> Vec<(FdId, Stream)> {
        let mut table = self.lock();
        table.clients.clear();
        table.readers = 0;
        table.writers = 0;
        table.fds.drain().map(|(fd, e)| (fd, e.stream)).collect()
    }

    /// Open fds and the clients owning them (for logs and metrics).
    pub fn counts(&self) -> (usize, usize) {
        let table = self.lock();
        (table.fds.len(), table.clients.len())
    }

    pub fn open_counts(&self) -> OpenCounts {
        let table = self.lock();
        OpenCounts {
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
}

/// Delivers a close's outcome to the fd's tombstone.
pub struct CloseOutcome(watch::Sender<Option<Result<(), String>>>);

impl CloseOutcome {
    pub fn finish(self, outcome: Result<(), String>) {
        self.0.send_replace(Some(outcome));
    }
}

impl Drop for CloseOutcome {
    /// A close abandoned midway (its connection dropped) still answers replays.
    fn drop(&mut self) {
        if self.0.borrow().is_none() {
            self.0
                .send_replace(Some(Err("the close was interrupted".into())));
        }
    }
}

/// Aborts a writer taken out of the table (reaped, shut down): nothing partial is kept.
pub async fn abort_writer(writer: &WriterSlot) -> Result<(), String> {
    let stream = writer.state.lock().await.stream.take();
    match stream {
        Some(stream) => stream.abort().await.map_err(|e| {
            crate::metrics::storage_error(&writer.path, &e);
            e.to_string()
        }),
        None => Ok(()),
    }
}

/// Closes the streams of idle clients until the process ends. Sleeps while no fd is open,
/// so an idle broker does no work at all.
pub async fn run_reaper(sessions: Arc<Sessions>) {
    let period = reaper_period(sessions.expire_after());
    loop {
        if sessions.counts().0 == 0 {
            sessions.fd_opened().await;
        }
        tokio::time::sleep(period).await;
        for (fd, client, stream) in sessions.take_expired(Instant::now()) {
            crate::metrics::fd_reaped(&stream);
            match stream {
                Stream::Reader(reader) => {
                    tracing::info!(%fd, %client, path = %reader.path, "reaped reader of idle client");
                }
                Stream::Writer(writer) => {
                    tracing::warn!(%fd, %client, path = %writer.path, "aborting writer of idle client");
                    // Each abort on its own task: one stuck store never holds up the rest.
                    tokio::spawn(async move {
                        if let Err(e) = abort_writer(&writer).await {
                            tracing::warn!(%fd, path = %writer.path, "abort failed: {e}");
                        }
                    });
                }
            }
        }
    }
}

/// `max(1 s, min(60 s, expiry / 2))`, as SEMANTICS.md asks.
pub fn reaper_period(expire_after: Duration) -> Duration {
    (expire_after / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Empty;
    #[async_trait::async_trait]
    impl ReadStream for Empty {
        fn size(&self) -> u64 {
            0
        }
        async fn read_at(
            &self,
            _: u64,
            _: usize,
            _: &mut crate::storage::ReadBuf,
        ) -> crate::storage::Result<usize> {
            Ok(0)
        }
    }

    fn reader() -> Stream {
        Stream::Reader(Arc::new(ReaderSlot {
            path: "file:/x".into(),
            stream: Box::new(Empty),
            position: AtomicU64::new(0),
        }))
    }

    #[test]
    fn closed_fds_are_remembered_and_unknown_ones_are_not() {
        let s = Sessions::new(Duration::from_secs(10));
        let fd = s.insert("be1:9060", reader());
        assert!(matches!(s.get(fd), Lookup::Open(_)));
        let (_, outcome) = s.remove_reader(fd).ok().unwrap();
        outcome.finish(Ok(()));
        assert!(matches!(s.get(fd), Lookup::Gone(Gone::Closed(_))));
        assert!(matches!(s.get(FdId { high: 1, low: 2 }), Lookup::Unknown));
        assert_eq!(s.counts(), (0, 0));
        assert_eq!(
            s.open_counts(),
            OpenCounts {
                readers: 0,
                writers: 0,
                clients: 0
            }
        );
    }

    #[test]
    fn open_counts_follow_every_way_out_of_the_table() {
        let s = Sessions::new(Duration::from_secs(10));
        let writer = || {
            Stream::Writer(Arc::new(WriterSlot {
                path: "file:/w".into(),
                state: tokio::sync::Mutex::new(WriterState {
                    stream: None,
                    written: 0,
                    last_len: 0,
                    failure: None,
                }),
            }))
        };
        let r1 = s.insert("a", reader());
        s.insert("a", writer());
        s.insert("b", reader());
        s.insert("c", writer());
        let counts = |r, w, c| OpenCounts {
            readers: r,
            writers: w,
            clients: c,
        };
        assert_eq!(s.open_counts(), counts(2, 2, 3));
        let _ = s.remove_reader(r1).ok().unwrap();
        assert!(s.remove_reader(r1).is_err());
        assert_eq!(s.open_counts(), counts(1, 2, 3));
        s.touch("c");
        let later = Instant::now() + Duration::from_secs(11);
        assert_eq!(s.take_expired(later).len(), 3);
        assert_eq!(s.open_counts(), counts(0, 0, 0));
        s.insert("d", writer());
        s.insert("d", reader());
        assert_eq!(s.open_counts(), counts(1, 1, 1));
        assert_eq!(s.take_all().len(), 2);
        assert_eq!(s.open_counts(), counts(0, 0, 0));
    }

    #[test]
    fn only_idle_clients_expire() {
        let s = Sessions::new(Duration::from_secs(10));
        let idle = s.insert("idle", reader());
        let busy = s.insert("busy", reader());
        let later = Instant::now() + Duration::from_secs(11);
        // `busy` was seen "later" than the expiry: simulate by touching then checking at now.
        let taken = s.take_expired(later);
        assert_eq!(taken.len(), 2);
        assert!(matches!(s.get(idle), Lookup::Gone(Gone::Expired { .. })));
        let fresh = s.insert("busy", reader());
        assert!(s.take_expired(Instant::now()).is_empty());
        assert!(matches!(s.get(fresh), Lookup::Open(_)));
        assert!(matches!(s.get(busy), Lookup::Gone(_)));
    }

    #[test]
    fn tombstones_are_bounded() {
        let mut t = Tombstones {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: 3,
        };
        for i in 0..10 {
            t.insert(
                FdId { high: 0, low: i },
                Gone::Expired { client: "c".into() },
            );
        }
        assert_eq!(t.map.len(), 3);
        assert!(t.map.contains_key(&FdId { high: 0, low: 9 }));
        assert!(!t.map.contains_key(&FdId { high: 0, low: 0 }));
    }

    #[test]
    fn reaper_period_is_clamped() {
        assert_eq!(
            reaper_period(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        assert_eq!(
            reaper_period(Duration::from_secs(300)),
            Duration::from_secs(60)
        );
        assert_eq!(
            reaper_period(Duration::from_secs(30)),
            Duration::from_secs(15)
        );
    }
}
