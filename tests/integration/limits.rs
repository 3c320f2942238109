//! Resource bounds through the real wire: fd limits per client and in total, the pwrite
//! data a writer may hold, connections past `max_connections`, connections stalled in
//! the middle of a message, and no work at all while idle.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::*;

fn status_of_open_reader(c: &mut Client, path: &str, client: &str) -> TBrokerOperationStatus {
    c.open_reader(path, client).op_status
}

use apache_hdfs_broker::wire::generated::TBrokerOperationStatus;

#[test]
fn fd_limits_refuse_opens_clearly_and_leave_open_streams_and_other_clients_alone() {
    let broker =
        BrokerProcess::start_with(&[("max_open_fds_per_client", "3"), ("max_open_fds", "5")]);
    let dir = tempfile::tempdir().unwrap();
    let data = test_data(10_000, 1);
    std::fs::write(dir.path().join("f"), &data).unwrap();
    let f = file_uri(&dir.path().join("f"));
    let mut c = broker.client();

    let a: Vec<_> = (0..3).map(|_| c.reader_fd(&f, "be-a")).collect();
    let refused = status_of_open_reader(&mut c, &f, "be-a");
    assert_code(&refused, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&refused).contains("max_open_fds_per_client = 3"));
    assert!(
        message(&refused).contains(&f),
        "names the path: {refused:?}"
    );
    // A refused writer creates nothing.
    let w = dir.path().join("never");
    let refused = c.open_writer(&file_uri(&w), "be-a").op_status;
    assert_code(&refused, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(!w.exists());

    // Another client still gets what is left of the total, then the total refuses it.
    let b: Vec<_> = (0..2).map(|_| c.reader_fd(&f, "be-b")).collect();
    let refused = status_of_open_reader(&mut c, &f, "be-b");
    assert_code(&refused, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&refused).contains("max_open_fds = 5"),
        "{refused:?}"
    );

    // The streams already open are untouched by the refusals.
    for fd in a.iter().chain(&b) {
        let r = c.pread(fd, 100, 50);
        assert_ok(&r.op_status);
        assert_eq!(r.data.unwrap(), &data[100..150]);
    }
    // Closing one makes room again.
    assert_ok(&c.close_reader(&a[0]));
    let again = c.open_reader(&f, "be-a");
    assert_ok(&again.op_status);
}

#[test]
fn a_pwrite_bigger_than_the_writer_buffer_is_refused_and_the_writer_goes_on() {
    let broker = BrokerProcess::start_with(&[("max_writer_buffer_mb", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out");
    let mut c = broker.client();
    let fd = c.writer_fd(&file_uri(&path), "be-w");

    let too_big = vec![7u8; (1 << 20) + 1];
    let refused = c.pwrite(&fd, 0, &too_big);
    assert_code(&refused, Code::INVALID_ARGUMENT);
    assert!(
        message(&refused).contains("max_writer_buffer_mb = 1"),
        "{refused:?}"
    );

    // Nothing was written, so the next pwrite starts at 0 and the file is whole.
    let fits = test_data(1 << 20, 3);
    assert_ok(&c.pwrite(&fd, 0, &fits));
    assert_ok(&c.pwrite(&fd, 1 << 20, &fits[..10]));
    assert_ok(&c.close_writer(&fd));
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written.len(), (1 << 20) + 10);
    assert_eq!(&written[..1 << 20], &fits[..]);
}

#[test]
fn connections_past_the_limit_wait_and_the_served_ones_are_unaffected() {
    let broker = BrokerProcess::start_with(&[("max_connections", "2")]);
    let mut first = broker.client();
    let mut second = broker.client();
    assert_ok(&first.ping("c1"));
    assert_ok(&second.ping("c2"));

    // The third connects (the kernel's backlog takes it) but is not served yet.
    let mut third = broker.raw();
    third.write_all(&encode_ping(1, true, "c3")).unwrap();
    let (closed, got) = closed_within(&mut third, Duration::from_millis(500));
    assert!(!closed && got.is_empty(), "served past max_connections");
    // Meanwhile the two served connections go on as usual.
    for _ in 0..10 {
        assert_ok(&first.ping("c1"));
        assert_ok(&second.ping("c2"));
    }
    // One leaves: the waiting connection is served, its ping answered.
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let reply = read_reply::<TBrokerOperationStatus>(&mut third).unwrap();
    assert_ok(&reply.value());
    assert_ok(&second.ping("c2"));
}

#[test]
fn a_connection_stalled_mid_message_is_dropped_and_an_idle_one_is_kept() {
    let broker = BrokerProcess::start_with(&[("message_read_timeout_seconds", "1")]);
    let mut idle = broker.client();
    assert_ok(&idle.ping("pooled"));

    let whole = encode_ping(1, true, "half");
    let mut stalled = broker.raw();
    stalled.write_all(&whole[..whole.len() / 2]).unwrap();
    let started = Instant::now();
    let (closed, got) = closed_within(&mut stalled, Duration::from_secs(20));
    assert!(closed, "a stalled half message kept its connection");
    assert!(got.is_empty(), "half a message got an answer");
    assert!(started.elapsed() >= Duration::from_millis(900));

    // The pooled connection was silent between messages for as long, and is still served.
    std::thread::sleep(Duration::from_millis(1500));
    assert_ok(&idle.ping("pooled"));
}

/// CPU ticks (user + system) the process has used, from `/proc/<pid>/stat`.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ") ".
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// An idle broker, even one probed by a health checker several times a second, does no
/// background work: no polling loop, no timer that fires without fds.
#[test]
fn an_idle_broker_probed_every_100_ms_uses_almost_no_cpu() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    assert_ok(&c.ping("warm-up"));
    drop(c);
    let ticks_per_second = 100; // USER_HZ on Linux
    let before = cpu_ticks(broker.pid());
    let window = Instant::now();
    let mut probes = 0;
    while window.elapsed() < Duration::from_secs(3) {
        drop(broker.raw());
        probes += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let used = cpu_ticks(broker.pid()) - before;
    let budget = window.elapsed().as_secs_f64() * ticks_per_second as f64 * 0.05;
    assert!(
        (used as f64) <= budget,
        "{used} CPU ticks over {:?} with {probes} probes (budget 5%: {budget})",
        window.elapsed()
    );
}
