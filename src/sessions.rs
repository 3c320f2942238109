//! The fd table: every open reader and writer, which client owns it, and the reaper that
//! closes the streams of clients that went quiet.
//!
//! One short `std::sync::Mutex` guards the table; it is never held across storage I/O or
//! an `.await`. Streams are taken out of the table first and closed afterwards, so a
//! stuck close on one store never delays another request (the Java broker's hang).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
// tokio's clock, so expiry runs on a paused clock in tests.
use tokio::time::Instant;

use crate::metrics::{self, OpenStreams};
use crate::streams::{Reader, Stream, WriteError, Writer};

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
    /// Replaces a running close's channel by its outcome.
    fn settle(&mut self, fd: FdId, outcome: Result<(), Arc<WriteError>>) {
        if let Some(gone @ Gone::Closing(_)) = self.map.get_mut(&fd) {
            *gone = Gone::Closed(outcome);
        }
    }

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
    /// The most fds held at once since the table was last empty.
    peak: usize,
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

/// How many closed or reaped fds are remembered for replayed calls: a replayed close comes
/// within an RPC timeout (seconds), and this many cost about 2 MiB.
const TOMBSTONES: usize = 32_768;

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

/// Delivers a close's outcome to the fd's tombstone: to replays already waiting on it,
/// and to the table for later ones.
pub struct CloseOutcome<'a> {
    sessions: &'a Sessions,
    fd: FdId,
    /// `None` once settled.
    tx: Option<watch::Sender<Option<Result<(), WriteError>>>>,
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
            metrics::fd_reaped(stream.is_writer());
            match stream {
                Stream::Reader(reader) => {
                    reader.close();
                    tracing::info!(%fd, %client, path = %reader.path(), "reaped reader of idle client");
                }
                Stream::Writer(writer) => {
                    tracing::warn!(%fd, %client, path = %writer.path(), "aborting writer of idle client");
                    // Each abort on its own task: one stuck store never holds up the rest.
                    tokio::spawn(async move {
                        if let Err(e) = writer.abort().await {
                            tracing::warn!(%fd, path = %writer.path(), "abort failed: {e}");
                        }
                    });
                }
            }
        }
    }
}

impl FdLimits {
    fn check(&self, table: &Table, client: &str) -> Result<(), String> {
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

/// `max(1 s, min(60 s, expiry / 2))`, as SEMANTICS.md asks.
pub fn reaper_period(expire_after: Duration) -> Duration {
    (expire_after / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::storage::{ReadBuf, ReadStream, WriteStream};

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
            _: &mut ReadBuf,
        ) -> crate::storage::Result<usize> {
            Ok(0)
        }
    }
    #[async_trait::async_trait]
    impl WriteStream for Empty {
        async fn write(&mut self, _: bytes::Bytes) -> crate::storage::Result<()> {
            Ok(())
        }
        async fn commit(self: Box<Self>) -> crate::storage::Result<()> {
            Ok(())
        }
        async fn abort(self: Box<Self>) -> crate::storage::Result<()> {
            Ok(())
        }
    }

    fn reader() -> Stream {
        Stream::Reader(Reader::new("file:/x".into(), Box::new(Empty), 0))
    }

    fn writer() -> Stream {
        Stream::Writer(Writer::new("file:/w".into(), Box::new(Empty), 1))
    }

    #[test]
    fn closed_fds_are_remembered_and_unknown_ones_are_not() {
        let s = Sessions::new(Duration::from_secs(10));
        let fd = s.insert("be1:9060", reader()).unwrap();
        assert!(matches!(s.get(fd), Lookup::Open(_)));
        let (_, outcome) = s.remove_reader(fd).ok().unwrap();
        assert!(matches!(s.get(fd), Lookup::Gone(Gone::Closing(_))));
        outcome.finish(Ok(()));
        assert!(matches!(s.get(fd), Lookup::Gone(Gone::Closed(Ok(())))));
        assert!(matches!(s.get(FdId { high: 1, low: 2 }), Lookup::Unknown));
        assert_eq!(s.counts(), (0, 0));
        assert_eq!(
            s.open_counts(),
            OpenStreams {
                readers: 0,
                writers: 0,
                clients: 0
            }
        );
    }

    #[test]
    fn fd_limits_refuse_per_client_and_in_total_and_free_up_on_close() {
        let s = Sessions::new(Duration::from_secs(10)).with_limits(FdLimits {
            per_client: 2,
            total: 3,
        });
        let a1 = s.insert("a", reader()).unwrap();
        s.insert("a", reader()).unwrap();
        let refused = s.insert("a", reader()).unwrap_err();
        assert!(refused.reason.contains("client a holds 2"), "{refused:?}");
        assert!(refused.reason.contains("max_open_fds_per_client = 2"));
        assert!(s.check_room("a").is_err());
        // Another client is not held back by a's limit, only by the total.
        s.insert("b", reader()).unwrap();
        let refused = s.insert("c", reader()).unwrap_err();
        assert!(refused.reason.contains("max_open_fds = 3"), "{refused:?}");
        let (_, outcome) = s.remove_reader(a1).ok().unwrap();
        outcome.finish(Ok(()));
        assert!(s.check_room("a").is_ok());
        s.insert("c", reader()).unwrap();
        assert_eq!(s.counts(), (3, 3));
    }

    #[test]
    fn open_counts_follow_every_way_out_of_the_table() {
        let s = Sessions::new(Duration::from_secs(10));
        let r1 = s.insert("a", reader()).unwrap();
        s.insert("a", writer()).unwrap();
        s.insert("b", reader()).unwrap();
        s.insert("c", writer()).unwrap();
        let counts = |r, w, c| OpenStreams {
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
        s.insert("d", writer()).unwrap();
        s.insert("d", reader()).unwrap();
        assert_eq!(s.open_counts(), counts(1, 1, 1));
        assert_eq!(s.take_all().len(), 2);
        assert_eq!(s.open_counts(), counts(0, 0, 0));
    }

    #[test]
    fn only_idle_clients_expire() {
        let s = Sessions::new(Duration::from_secs(10));
        let idle = s.insert("idle", reader()).unwrap();
        let busy = s.insert("busy", reader()).unwrap();
        let later = Instant::now() + Duration::from_secs(11);
        // `busy` was seen "later" than the expiry: simulate by touching then checking at now.
        let taken = s.take_expired(later);
        assert_eq!(taken.len(), 2);
        assert!(matches!(s.get(idle), Lookup::Gone(Gone::Expired { .. })));
        let fresh = s.insert("busy", reader()).unwrap();
        assert!(s.take_expired(Instant::now()).is_empty());
        assert!(matches!(s.get(fresh), Lookup::Open(_)));
        assert!(matches!(s.get(busy), Lookup::Gone(_)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_reaper_expires_idle_clients_on_tokios_clock() {
        let s = Arc::new(Sessions::new(Duration::from_secs(10)));
        let fd = s.insert("idle", writer()).unwrap();
        let busy = s.insert("busy", reader()).unwrap();
        tokio::spawn(run_reaper(s.clone()));
        // The paused clock jumps ahead whenever every task waits.
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_secs(4)).await;
            s.touch("busy");
        }
        assert!(matches!(s.get(fd), Lookup::Gone(Gone::Expired { .. })));
        assert!(matches!(s.get(busy), Lookup::Open(_)));
        assert_eq!(s.counts(), (1, 1));
    }

    #[tokio::test]
    async fn a_burst_is_over_when_the_table_empties_after_it() {
        let s = Sessions::new(Duration::from_secs(10));
        let small: Vec<_> = (0..3).map(|_| s.insert("a", reader()).unwrap()).collect();
        for fd in small {
            let _ = s.remove_reader(fd).ok().unwrap();
        }
        let quiet = tokio::time::timeout(Duration::from_millis(50), s.burst_over()).await;
        assert!(quiet.is_err(), "3 fds are no burst");
        let fds: Vec<_> = (0..BURST)
            .map(|_| s.insert("a", reader()).unwrap())
            .collect();
        for fd in &fds[1..] {
            let _ = s.remove_reader(*fd).ok().unwrap();
        }
        let open = tokio::time::timeout(Duration::from_millis(50), s.burst_over()).await;
        assert!(open.is_err(), "one fd still open");
        let _ = s.remove_reader(fds[0]).ok().unwrap();
        s.burst_over().await;
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
