//! The S3 server stopped under a running broker (the second, stoppable server): in the
//! middle of an upload or a prefix rename, and started again.

use std::time::{Duration, Instant};

use super::{fault_server, on_fault_server};
use crate::common::*;
use crate::conformance::unique;

/// The server dies in the middle of an upload: the broker answers with a clear error
/// (not a hang), and after the server is back nothing partial is visible.
#[test]
fn server_stopped_mid_upload() {
    let Some((mut s3, _broker, mut c)) = on_fault_server() else {
        return;
    };
    let p = s3.props();
    let path = format!("{}/{}/cut.bin", s3.base("s3a"), unique("cut"));
    let fd = c.with_props(&p).writer_fd(&path, "be:1");
    let chunk = test_data(1 << 20, 9);
    for i in 0..9 {
        assert_ok(&c.pwrite(&fd, (i << 20) as i64, &chunk));
    }
    s3.stop();
    let started = Instant::now();
    let mut failure = None;
    for i in 9..40 {
        let s = c.pwrite(&fd, (i << 20) as i64, &chunk);
        if s.status_code != Code::OK {
            failure = Some(s);
            break;
        }
    }
    let s = match failure {
        Some(s) => s,
        None => c.close_writer(&fd),
    };
    let took = started.elapsed();
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    eprintln!("failure after {took:?}: {}", message(&s));
    assert!(
        message(&s).contains("Connect") || message(&s).contains("connect"),
        "the message says the store was unreachable: {s:?}"
    );
    assert!(took < Duration::from_secs(30), "failed only after {took:?}");
    // The fd is poisoned: closeWriter reports the failure too.
    assert_code(&c.close_writer(&fd), Code::TARGET_STORAGE_SERVICE_ERROR);
    s3.restart();
    assert!(
        !c.with_props(&p).exists(&path).is_path_exist,
        "nothing partial became visible"
    );
}

/// A prefix rename whose copies are cut by the server dying: the answer says so, and the
/// source is whole (nothing is deleted before every copy succeeded).
#[test]
fn a_prefix_rename_cut_short_leaves_the_source_whole() {
    if missing(Server::Seaweed) {
        return;
    }
    const KEYS: usize = 1500;
    let mut s3 = fault_server();
    let broker = BrokerProcess::start();
    let p = s3.props();
    let dir = unique("cutrename");
    for i in 0..KEYS {
        s3.put(&format!("{dir}/src/k-{i:04}.csv"), b"x");
    }
    let base = format!("{}/{dir}", s3.base("s3a"));
    let mut c = broker.client();
    let (src, dst, props) = (format!("{base}/src"), format!("{base}/dst"), p.clone());
    let rename = std::thread::spawn(move || c.with_props(&props).rename(&src, &dst));
    let deadline = Instant::now() + Duration::from_secs(30);
    while s3.keys(&format!("{dir}/dst/")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the rename never started copying"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    s3.stop();
    let s = rename.join().unwrap();
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&s).contains("the source is whole"),
        "the message says what moved: {s:?}"
    );
    s3.restart();
    assert_eq!(
        s3.keys(&format!("{dir}/src/")).len(),
        KEYS,
        "the source is whole"
    );
    let mut c = broker.client();
    assert_ok(&c.with_props(&p).delete(&base));
}

/// Stop the server under a running broker, then start it again: calls fail fast while
/// it is down and work again afterwards, with the same broker and the same connection.
#[test]
fn the_broker_recovers_when_the_server_comes_back() {
    let Some((mut s3, _broker, mut c)) = on_fault_server() else {
        return;
    };
    let p = s3.props();
    let dir = format!("{}/{}", s3.base("s3a"), unique("recover"));
    c.with_props(&p)
        .write_file(&format!("{dir}/a.csv"), "be:1", b"before", 1024);
    let fd = c.with_props(&p).reader_fd(&format!("{dir}/a.csv"), "be:1");
    s3.stop();
    let started = Instant::now();
    let r = c.with_props(&p).exists(&format!("{dir}/a.csv"));
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    let r = c.pread(&fd, 0, 100);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "failing took {:?}",
        started.elapsed()
    );
    assert_ok(&c.ping("be:1"));
    s3.restart();
    let r = c.with_props(&p).exists(&format!("{dir}/a.csv"));
    assert_ok(&r.op_status);
    assert!(r.is_path_exist);
    let r = c.pread(&fd, 0, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap(), b"before", "the open reader works again");
    assert_ok(&c.close_reader(&fd));
    c.with_props(&p)
        .write_file(&format!("{dir}/b.csv"), "be:1", b"after", 1024);
    assert_eq!(
        c.with_props(&p)
            .read_file(&format!("{dir}/b.csv"), "be:1", 1024),
        b"after"
    );
    assert_ok(&c.with_props(&p).delete(&dir));
}
