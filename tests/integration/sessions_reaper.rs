//! Sessions: the reaper closes the fds of idle clients (aborting writers), pings and fd
//! activity keep a client alive, the check can be turned off, and SIGTERM aborts writers.
//!
//! Reaping can only be observed after the expiry has passed, so these tests wait (by
//! polling, with deadlines) for seconds; they run in parallel with each other.

use crate::common::*;

use std::path::{Path, PathBuf};

use apache_hdfs_broker::wire::generated::TBrokerFD;
use std::time::{Duration, Instant};

const EXPIRE: u64 = 2;

/// `client_expire_seconds` + one reaper period + slack: the SEMANTICS bound of 2×2+2 s.
const REAP_DEADLINE: Duration = Duration::from_secs(2 * EXPIRE + 2);

/// How long an unchecked client is left idle: well past expiry plus a reaper period.
const WATCH: Duration = Duration::from_secs(EXPIRE + 3);

fn short_expiry_broker(extra: &[(&str, &str)]) -> BrokerProcess {
    let mut conf = vec![("client_expire_seconds", "2")];
    conf.extend_from_slice(extra);
    BrokerProcess::start_with(&conf)
}

/// A short-expiry broker and, for one client, a reader and a writer open on it.
struct Both {
    broker: BrokerProcess,
    c: Client,
    /// The reader, on a file of 10 bytes (`0123456789`).
    rfd: TBrokerFD,
    /// The writer, with `partial ` written.
    wfd: TBrokerFD,
    /// The reader's file, as a URI.
    src: String,
    /// The writer's target.
    target: PathBuf,
    _dir: tempfile::TempDir,
}

/// [`Both`] on a broker with `extra` configuration, `src` and `target` relative to a
/// fresh directory.
fn open_both(extra: &[(&str, &str)], client: &str, src: &str, target: &str) -> Both {
    let broker = short_expiry_broker(extra);
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &[(src, b"0123456789")]);
    let src = uri(&dir.path().join(src));
    let target = dir.path().join(target);
    let mut c = broker.client();
    let rfd = c.reader_fd(&src, client);
    let wfd = c.writer_fd(&uri(&target), client);
    assert_ok(&c.pwrite(&wfd, 0, b"partial "));
    Both {
        broker,
        c,
        rfd,
        wfd,
        src,
        target,
        _dir: dir,
    }
}

/// Keeps a client alive with `keep_alive` every 500 ms (the BE's cadence, scaled down)
/// until the reaper has shown it ran past the expiry: it reaped the reader of an idle
/// control client opened beside (after) the kept one's fds.
fn keep_alive_until_an_idle_client_is_reaped(
    broker: &BrokerProcess,
    src: &str,
    mut keep_alive: impl FnMut(),
) {
    broker.client().reader_fd(src, "idle-control:9060");
    wait_for(
        "the idle control client to be reaped",
        REAP_DEADLINE + Duration::from_secs(1),
        || {
            keep_alive();
            std::thread::sleep(Duration::from_millis(500));
            broker.metric("broker_reaped_fds_total{kind=\"reader\"}") >= 1.0
        },
    );
}

/// Files (temp files included) left in the target's directory.
fn leftovers(dir: &Path) -> Vec<String> {
    dir_names(dir)
}

/// How many streams of `client` the broker logged as reaped (it names the client).
fn reaped_count(broker: &BrokerProcess, client: &str) -> usize {
    broker
        .log()
        .lines()
        .filter(|l| l.contains(client) && l.contains("idle client"))
        .count()
}

#[test]
fn idle_client_fds_are_reaped_and_the_writer_aborted() {
    let client = "idle-be:9060";
    let mut t = open_both(&[], client, "in/src.csv", "out/target.csv");
    let out_dir = t.target.parent().unwrap();
    let idle_since = Instant::now();

    // Poll without touching the client: the broker logs each reaped stream.
    let reaped = wait_for(
        "both fds of the idle client to be reaped",
        REAP_DEADLINE,
        || reaped_count(&t.broker, client) >= 2,
    );
    assert!(
        // The broker's clock started at the pwrite, a hair before ours.
        idle_since.elapsed() >= Duration::from_secs(EXPIRE) - Duration::from_millis(100),
        "reaped after {reaped:?}, before the {EXPIRE} s expiry"
    );
    // The abort runs in the background: wait for the partial file to go.
    wait_for(
        "the aborted writer's partial file to be removed",
        Duration::from_secs(5),
        || leftovers(out_dir).is_empty(),
    );

    let r = t.c.pread(&t.rfd, 0, 10);
    assert_ne!(r.op_status.status_code, Code::OK);
    assert!(
        message(&r.op_status).contains("expired"),
        "{:?}",
        r.op_status
    );
    let s = t.c.pwrite(&t.wfd, 8, b"more");
    assert_ne!(s.status_code, Code::OK);
    assert!(message(&s).contains("expired"), "{s:?}");
    let s = t.c.close_writer(&t.wfd);
    assert_ne!(
        s.status_code,
        Code::OK,
        "a reaped writer must not be committed"
    );
    assert!(message(&s).contains("expired"), "{s:?}");
    let s = t.c.close_reader(&t.rfd);
    assert_ne!(s.status_code, Code::OK);
    assert!(message(&s).contains("expired"), "{s:?}");

    assert!(!t.target.exists(), "a reaped writer leaves no file");
    assert!(leftovers(out_dir).is_empty(), "{:?}", leftovers(out_dir));
    let e = t.c.exists(&uri(&t.target));
    assert!(!e.is_path_exist);
}

#[test]
fn a_reaped_writer_does_not_destroy_the_file_it_would_have_replaced() {
    let broker = short_expiry_broker(&[]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("existing.csv");
    std::fs::write(&target, b"committed earlier").unwrap();
    let client = "idle-fe:9020";
    let mut c = broker.client();
    let w = c.writer_fd(&uri(&target), client);
    assert_ok(&c.pwrite(&w, 0, b"half"));
    wait_for("the writer to be reaped", REAP_DEADLINE, || {
        reaped_count(&broker, client) == 1
    });
    wait_for(
        "the partial file to be removed",
        Duration::from_secs(5),
        || dir_names(dir.path()) == ["existing.csv"],
    );
    assert_ne!(c.close_writer(&w).status_code, Code::OK);
    assert_eq!(std::fs::read(&target).unwrap(), b"committed earlier");
}

#[test]
fn a_pinging_client_keeps_its_fds_past_the_expiry() {
    let client = "pinging-be:9060";
    let mut t = open_both(&[], client, "src.csv", "out/target.csv");
    keep_alive_until_an_idle_client_is_reaped(&t.broker, &t.src, || assert_ok(&t.c.ping(client)));
    assert_eq!(
        reaped_count(&t.broker, client),
        0,
        "fds of a pinging client were reaped"
    );
    assert_eq!(t.c.pread(&t.rfd, 2, 3).data.unwrap(), b"234");
    assert_ok(&t.c.pwrite(&t.wfd, 8, b"and done"));
    assert_ok(&t.c.close_writer(&t.wfd));
    assert_ok(&t.c.close_reader(&t.rfd));
    assert_eq!(std::fs::read(&t.target).unwrap(), b"partial and done");
}

/// Any call touching one of the client's fds refreshes the whole client.
#[test]
fn fd_activity_alone_keeps_all_the_clients_fds() {
    let client = "busy-be:9060";
    let mut t = open_both(&[], client, "src.csv", "target.csv");
    keep_alive_until_an_idle_client_is_reaped(&t.broker, &t.src, || {
        assert_eq!(t.c.pread(&t.rfd, 0, 1).data.unwrap(), b"0")
    });
    assert_eq!(
        reaped_count(&t.broker, client),
        0,
        "fds of a busy client were reaped"
    );
    assert_ok(&t.c.close_writer(&t.wfd));
    assert_eq!(std::fs::read(&t.target).unwrap(), b"partial ");
}

#[test]
fn expiration_checking_can_be_disabled() {
    let mut t = open_both(
        &[("disable_broker_client_expiration_checking", "true")],
        "unchecked-be:9060",
        "src.csv",
        "target.csv",
    );
    // Nothing to poll for: the point is that nothing happens while the client is idle.
    std::thread::sleep(WATCH);
    assert_eq!(t.c.pread(&t.rfd, 5, 100).data.unwrap(), b"56789");
    assert_ok(&t.c.pwrite(&t.wfd, 8, b"kept"));
    assert_ok(&t.c.close_writer(&t.wfd));
    assert_eq!(std::fs::read(&t.target).unwrap(), b"partial kept");
}

#[test]
fn sigterm_exits_zero_and_aborts_open_writers() {
    let mut broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let mut c = broker.client();
    let w = c.writer_fd(&uri(&out_dir.join("unfinished.csv")), "be1:9060");
    assert_ok(&c.pwrite(&w, 0, b"half a file"));
    // A second, idle pooled connection must not hold the shutdown up.
    let mut idle = broker.client();
    assert_ok(&idle.ping("fe1:9020"));
    let started = Instant::now();
    let status = broker.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        !out_dir.join("unfinished.csv").exists(),
        "a writer open at shutdown is aborted"
    );
    assert!(leftovers(&out_dir).is_empty(), "{:?}", leftovers(&out_dir));
}
