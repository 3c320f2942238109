//! The namenode down (calls fail fast, service resumes, the previous file kept) or
//! refusing new blocks while block reports lag.

use std::time::{Duration, Instant};

use super::{on_cluster, pwrite_pieces, read_and_compare, write_again_and_clean_up, MIB};
use crate::common::minicluster::{names_at, shared};
use crate::common::*;
use crate::conformance::unique;

/// With the namenode down, metadata calls fail with a clear 502 naming the path within a
/// bound (the broker caps hdfs-native's retries to seconds), ping is answered meanwhile on
/// another connection, an open reader keeps reading from the datanodes, and service comes
/// back by itself once the namenode does.
#[test]
fn namenode_down_fails_fast_and_service_resumes() {
    let Some((mut cluster, nn, broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("{nn}/tmp/{}", unique("nn-down"));
    let path = format!("{dir}/a.bin");
    let data = test_data(3 * MIB, 5);
    c.write_file(&path, "be:1", &data, MIB);
    let fd = c.reader_fd(&path, "be:1");
    read_and_compare(&mut c, &fd, &data, 0, MIB);

    cluster.command("stop-namenode 0");
    assert_eq!(cluster.fact("namenode.0.running"), "false");

    // checkPathExist on one connection, pings on another while it runs.
    let (r, took, pings) = std::thread::scope(|s| {
        let probe = s.spawn(|| {
            let mut c = broker.client();
            let started = Instant::now();
            let r = c.exists(&path);
            (r, started.elapsed())
        });
        let mut pinger = broker.client();
        let mut pings = 0;
        while !probe.is_finished() {
            let started = Instant::now();
            assert_ok(&pinger.ping("fe:1"));
            let took = started.elapsed();
            assert!(took < Duration::from_secs(1), "ping took {took:?}");
            pings += 1;
            std::thread::sleep(Duration::from_millis(100));
        }
        let (r, took) = probe.join().unwrap();
        (r, took, pings)
    });
    eprintln!("checkPathExist with the namenode down: {took:?} ({pings} pings meanwhile)");
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(!r.is_path_exist);
    let msg = message(&r.op_status);
    assert!(
        msg.contains("checkPathExist") && msg.contains(&path),
        "{msg}"
    );
    assert!(
        took < Duration::from_secs(30),
        "checkPathExist took {took:?}"
    );

    // listPath and openWriter: the same, each bounded.
    let started = Instant::now();
    let l = c.list(&format!("{dir}/*"), false, false);
    let took = started.elapsed();
    assert_code(&l.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&l.op_status).contains(&dir), "{:?}", l.op_status);
    assert!(took < Duration::from_secs(30), "listPath took {took:?}");
    let started = Instant::now();
    let w = c.open_writer(&format!("{dir}/b.bin"), "be:1");
    let took = started.elapsed();
    assert_code(&w.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&w.op_status).contains(&dir), "{:?}", w.op_status);
    assert!(took < Duration::from_secs(30), "openWriter took {took:?}");

    // The datanodes still serve the open reader.
    read_and_compare(&mut c, &fd, &data, MIB, 2 * MIB);

    cluster.command("restart-namenode 0");
    let took = wait_for(
        "checkPathExist OK after the namenode restart",
        Duration::from_secs(60),
        || {
            let r = c.exists(&path);
            r.op_status.status_code == Code::OK && r.is_path_exist
        },
    );
    eprintln!("service back {took:?} after restart-namenode");
    // Same broker, no restart: everything works again.
    assert_eq!(c.glob(&format!("{dir}/*")), vec![path.clone()]);
    read_and_compare(&mut c, &fd, &data, 2 * MIB, 3 * MIB);
    assert_ok(&c.close_reader(&fd));
    write_again_and_clean_up(&mut c, &dir, test_data(2 * MIB + 1, 6));
}

/// The broker's counter of deferred clean-ups with this outcome.
fn deferred_cleanups(broker: &BrokerProcess, outcome: &str) -> f64 {
    broker.metric(&format!(
        "broker_deferred_cleanups_total{{outcome=\"{outcome}\"}}"
    ))
}

/// A write replacing a complete file loses its namenode half-way: closeWriter fails, the
/// complete file stays as it was (no partial file ever stands in its place), and the
/// hidden temporary file, which cannot be removed while the namenode is down, is removed
/// in the background once it is back, counted in /metrics.
#[test]
fn a_write_losing_the_namenode_keeps_the_previous_file() {
    let Some((mut cluster, nn, broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("/tmp/{}", unique("keep"));
    let path = format!("{nn}{dir}/table.bin");
    let complete = test_data(8 * MIB, 31);
    c.write_file(&path, "be:1", &complete, MIB);

    let fd = c.writer_fd(&path, "be:1");
    let partial = test_data(3 * MIB, 32);
    pwrite_pieces(&mut c, &fd, 0, &partial, MIB);
    // Mid-write: the target is the complete file; the new bytes are in a hidden file.
    assert_eq!(c.file_size(&path).file_size, Some(8 * MIB as i64));
    let names = names_at(&nn, &dir);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(c.glob(&format!("{nn}{dir}/*")), vec![path.clone()]);

    let queued = deferred_cleanups(&broker, "queued");
    let done = deferred_cleanups(&broker, "done");
    cluster.command("stop-namenode 0");
    let started = Instant::now();
    let close = c.close_writer(&fd);
    let took = started.elapsed();
    eprintln!("closeWriter with the namenode down: {close:?} after {took:?}");
    assert_code(&close, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&close).contains(&path), "{close:?}");
    assert!(took < Duration::from_secs(30), "closeWriter took {took:?}");
    assert!(
        deferred_cleanups(&broker, "queued") > queued,
        "the removal was not deferred"
    );

    cluster.command("restart-namenode 0");
    wait_for(
        "the deferred removal of the temporary file",
        Duration::from_secs(90),
        || deferred_cleanups(&broker, "done") > done,
    );
    assert_eq!(names_at(&nn, &dir), vec!["table.bin".to_string()]);
    assert!(c.read_file(&path, "be:1", 4 << 20) == complete);
    assert_ok(&c.delete(&format!("{nn}{dir}")));
}

/// Block reports that lag (one datanode, heartbeats every 3 s carrying them, no report
/// sent sooner): the namenode refuses new blocks with NotReplicatedYetException until
/// the block before the last is reported stored, as it does under load. Hadoop's client
/// retries such an addBlock; the broker recovers the temporary file and resumes the
/// write from what the datanodes hold. Every byte arrives once, in order.
#[test]
fn slow_block_reports_refusing_new_blocks_are_ridden_out() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = shared(
        "plain",
        &[
            "--datanodes",
            "1",
            "--conf",
            "dfs.heartbeat.interval=3",
            "--conf",
            "dfs.blockreport.incremental.intervalMsec=600000",
        ],
    );
    let nn = cluster.namenode_uri(0);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = format!("/tmp/{}", unique("not-replicated"));
    let path = format!("{nn}{dir}/slow.bin");
    let old = test_data(1000, 61);
    c.write_file(&path, "be:1", &old, MIB);
    let data = test_data(6 * MIB + 12_345, 62);
    let started = Instant::now();
    let fd = c.writer_fd(&path, "be:1");
    pwrite_pieces(&mut c, &fd, 0, &data, MIB / 2);
    assert_ok(&c.close_writer(&fd));
    eprintln!("6 MiB with lagging block reports: {:?}", started.elapsed());
    let log = broker.log();
    assert!(
        log.contains("NotReplicatedYetException"),
        "no block was refused: nothing was ridden out"
    );
    assert!(c.read_file(&path, "be:1", 4 << 20) == data);
    assert_eq!(c.file_size(&path).file_size, Some(data.len() as i64));
    assert_eq!(names_at(&nn, &dir), vec!["slow.bin"]);
    assert_ok(&c.delete(&format!("{nn}{dir}")));
}
