//! Unit tests of the fd table: lookups, tombstones, limits, counts, the reaper and bursts.

use super::*;

use crate::storage::{ReadBuf, ReadStream, WriteStream};

struct Empty;
#[async_trait::async_trait]
impl ReadStream for Empty {
    fn size(&self) -> u64 {
        0
    }
    async fn read_at(&self, _: u64, _: usize, _: &mut ReadBuf) -> crate::storage::Result<usize> {
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
