//! Faults on a real MiniDFSCluster (`plain`: 1 namenode, 3 datanodes, replication 3,
//! 1 MiB blocks): datanodes dying under a reader and a writer, the namenode going away
//! and coming back. Nothing hangs, every status is honest (no data loss reported as
//! success) and service resumes without restarting the broker.
//!
//! Every test changes the cluster, so each holds the cluster lock for its whole run and
//! starts from (and returns to) every node running.

use std::time::{Duration, Instant};

use crate::common::minicluster::{names_at, shared, Cluster, MiniCluster};
use crate::common::*;
use crate::conformance::unique;
use apache_hdfs_broker::wire::generated::{TBrokerFD, TBrokerOperationStatus};

const MIB: usize = 1 << 20;

/// One cluster for every test in this file, every node running.
fn cluster() -> Cluster {
    let mut guard = shared("plain", &[]);
    restore(&mut guard);
    guard
}

/// [`cluster`], its namenode's URI, a broker and a connection to it; `None` (the test
/// skips) where HDFS cannot run.
fn on_cluster() -> Option<(Cluster, String, BrokerProcess, Client)> {
    if missing(Server::Hdfs) {
        return None;
    }
    let cluster = cluster();
    let nn = cluster.namenode_uri(0);
    let broker = BrokerProcess::start();
    let c = broker.client();
    Some((cluster, nn, broker, c))
}

/// Restarts whatever an earlier (maybe failed) test left stopped.
fn restore(cluster: &mut MiniCluster) {
    if cluster.fact("namenode.0.running") != "true" {
        cluster.command("restart-namenode 0");
    }
    for i in 0..3 {
        if cluster.fact(&format!("datanode.{i}.running")) != "true" {
            cluster.command(&format!("restart-datanode {i}"));
        }
    }
    assert_eq!(cluster.fact("replication"), "3");
}

/// Reads `[from, to)` of `fd` with 1 MiB preads, comparing every one with `data`.
#[track_caller]
fn read_and_compare(c: &mut Client, fd: &TBrokerFD, data: &[u8], from: usize, to: usize) {
    let mut offset = from;
    while offset < to {
        let len = MIB.min(to - offset);
        let got = c.read_exact_at(fd, offset, len);
        assert!(
            got == data[offset..offset + len],
            "bytes at {offset}..{} differ",
            offset + len
        );
        offset += len;
    }
}

/// pwrites `data` from `offset` on in pieces of `piece` bytes, each acknowledged.
#[track_caller]
fn pwrite_pieces(c: &mut Client, fd: &TBrokerFD, offset: usize, data: &[u8], piece: usize) {
    for (i, chunk) in data.chunks(piece).enumerate() {
        assert_ok(&c.pwrite(fd, (offset + i * piece) as i64, chunk));
    }
}

/// After a fault: a new file under `dir` (`more`, in 1 MiB pwrites) is written and reads
/// back whole; then `dir` is deleted.
#[track_caller]
fn write_again_and_clean_up(c: &mut Client, dir: &str, more: Vec<u8>) {
    let fresh = format!("{dir}/after.bin");
    c.write_file(&fresh, "be:1", &more, MIB);
    assert!(c.read_file(&fresh, "be:1", 4 << 20) == more);
    assert_ok(&c.delete(dir));
}

/// A 48 MiB file (48 blocks, each on all 3 datanodes) read with 1 MiB preads while
/// datanodes die. The namenode lists replicas with one random "local" datanode first
/// (all of them are on 127.0.0.1), so a reader may prefer any of the three: datanode 0
/// dies after 4 blocks, then datanode 1 instead, then datanode 2 instead, so whichever
/// one this reader prefers dies under it. Every byte must still arrive, in time.
#[test]
fn datanodes_stopped_in_the_middle_of_a_long_read() {
    const SIZE: usize = 48 * MIB;
    let Some((mut cluster, nn, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("{nn}/tmp/{}", unique("dn-read"));
    let path = format!("{dir}/big.bin");
    let data = test_data(SIZE, 48);
    c.write_file(&path, "be:1", &data, 4 * MIB);
    let fd = c.reader_fd(&path, "be:1");
    read_and_compare(&mut c, &fd, &data, 0, 4 * MIB);

    let started = Instant::now();
    cluster.command("stop-datanode 0");
    assert_eq!(cluster.fact("datanode.0.running"), "false");
    read_and_compare(&mut c, &fd, &data, 4 * MIB, 20 * MIB);
    // A reader opened now: the namenode still lists datanode 0 as live.
    let fresh = c.read_file(&path, "be:2", 8 << 20);
    assert!(fresh == data, "a full read with datanode 0 down differs");

    cluster.command("restart-datanode 0");
    cluster.command("stop-datanode 1");
    read_and_compare(&mut c, &fd, &data, 20 * MIB, 36 * MIB);
    cluster.command("restart-datanode 1");
    cluster.command("stop-datanode 2");
    read_and_compare(&mut c, &fd, &data, 36 * MIB, SIZE);
    let r = c.pread(&fd, SIZE as i64, MIB as i64);
    assert_ok(&r.op_status);
    assert!(r.data.unwrap().is_empty(), "EOF after the last byte");
    let took = started.elapsed();
    eprintln!("44 MiB + a full 48 MiB read with datanodes dying: {took:?}");
    assert!(took < Duration::from_secs(120), "reads stalled: {took:?}");
    assert_ok(&c.close_reader(&fd));

    cluster.command("restart-datanode 2");
    assert_ok(&c.delete(&dir));
}

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

/// Every datanode dies in the middle of two writes. One writer only closes: its
/// closeWriter (hsync + close) must fail. The other keeps writing: a pwrite or its
/// closeWriter must fail. Each within a bound, and a replayed closeWriter must fail the
/// same way. Data loss is never OK, and nothing complete is left under either path.
#[test]
fn a_write_losing_every_datanode_is_never_reported_as_success() {
    let Some((mut cluster, nn, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("{nn}/tmp/{}", unique("dn-write"));
    let closing = format!("{dir}/closing.bin");
    let writing = format!("{dir}/writing.bin");
    let data = test_data(12 * MIB, 9);
    let fd_closing = c.writer_fd(&closing, "be:1");
    let fd_writing = c.writer_fd(&writing, "be:1");
    // 2.5 blocks and 3 blocks.
    pwrite_pieces(&mut c, &fd_closing, 0, &data[..5 * MIB / 2], MIB);
    pwrite_pieces(&mut c, &fd_writing, 0, &data[..3 * MIB], MIB);

    for i in 0..3 {
        cluster.command(&format!("stop-datanode {i}"));
    }

    // The writer that only closes.
    let started = Instant::now();
    let close = c.close_writer(&fd_closing);
    let took = started.elapsed();
    eprintln!("closeWriter with every datanode down: {close:?} after {took:?}");
    assert_code(&close, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&close).contains(&closing), "{close:?}");
    assert!(took < Duration::from_secs(90), "closeWriter took {took:?}");
    // FE/BE resend a closeWriter whose answer was lost: the replay must fail the same way.
    assert_code(
        &c.close_writer(&fd_closing),
        Code::TARGET_STORAGE_SERVICE_ERROR,
    );

    // The writer that keeps writing.
    let started = Instant::now();
    let mut failed_pwrite = None;
    for i in 3..12 {
        let s = c.pwrite(&fd_writing, (i * MIB) as i64, &data[i * MIB..(i + 1) * MIB]);
        if s.status_code != Code::OK {
            failed_pwrite = Some((i, s));
            break;
        }
    }
    let close = c.close_writer(&fd_writing);
    let took = started.elapsed();
    eprintln!("pwrites with every datanode down: failure {failed_pwrite:?}, then {close:?}, after {took:?}");
    if let Some((_, s)) = &failed_pwrite {
        assert_code(s, Code::TARGET_STORAGE_SERVICE_ERROR);
        assert!(message(s).contains(&writing), "{s:?}");
    }
    assert_code(&close, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&close).contains(&writing), "{close:?}");
    assert!(took < Duration::from_secs(90), "the failure took {took:?}");
    assert_code(
        &c.close_writer(&fd_writing),
        Code::TARGET_STORAGE_SERVICE_ERROR,
    );

    for i in 0..3 {
        cluster.command(&format!("restart-datanode {i}"));
    }
    // Whatever is left under either path is not the data that was sent.
    for (path, sent) in [(&closing, 5 * MIB / 2), (&writing, 3 * MIB)] {
        let r = c.exists(path);
        assert_ok(&r.op_status);
        if r.is_path_exist {
            let size = c.file_size(path);
            eprintln!("left behind at {path}: {size:?}");
            assert_ok(&size.op_status);
            assert!(size.file_size.unwrap_or(0) < sent as i64, "{size:?}");
        }
    }
    // The cluster (and the broker's client) works again.
    write_again_and_clean_up(&mut c, &dir, test_data(3 * MIB + 3, 10));
}

/// One datanode of three dies in the middle of a block being written (a datanode
/// restart): the pipeline goes on with the other two, as Hadoop's DEFAULT
/// replace-datanode policy would (no replacement exists on this 3-node cluster), and every
/// byte arrives. hdfs-native alone failed the write here ("No new datanode found").
#[test]
fn a_write_losing_one_datanode_mid_block_completes() {
    let Some((mut cluster, nn, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("{nn}/tmp/{}", unique("dn-write-one"));
    let path = format!("{dir}/survives.bin");
    // 3 full blocks, then the 4th block: a quarter before the failure, half after it.
    let data = test_data(3 * MIB + 3 * MIB / 4, 13);
    let before = 3 * MIB + MIB / 4;
    let fd = c.writer_fd(&path, "be:1");
    pwrite_pieces(&mut c, &fd, 0, &data[..before], MIB / 4);
    cluster.command("stop-datanode 1");
    let started = Instant::now();
    pwrite_pieces(&mut c, &fd, before, &data[before..], 64 << 10);
    assert_ok(&c.close_writer(&fd));
    let took = started.elapsed();
    eprintln!("half a block written and closed with datanode 1 down: {took:?}");
    assert!(took < Duration::from_secs(60), "{took:?}");
    assert!(c.read_file(&path, "be:1", 4 << 20) == data);
    cluster.command("restart-datanode 1");
    assert!(c.read_file(&path, "be:1", 4 << 20) == data);
    assert_ok(&c.delete(&dir));
}

/// The same across block boundaries: after the failure, the namenode (which still lists
/// the dead datanode as live, for ~15 s here and ~10 min by default) puts it in the
/// pipeline of the next block. Hadoop's DataStreamer abandons that block and asks again
/// excluding the bad node; hdfs-native 0.14 sends no excluded nodes and fails the write
/// ("Connection refused"). Not fixable in the broker (it does not keep the bytes already
/// sent, so it cannot replay them): enable once hdfs-native retries addBlock.
#[test]
#[ignore = "hdfs-native 0.14 does not exclude a dead datanode from the next block's pipeline"]
fn a_write_losing_one_datanode_across_blocks_completes() {
    let Some((mut cluster, nn, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("{nn}/tmp/{}", unique("dn-write-blocks"));
    let path = format!("{dir}/survives.bin");
    let data = test_data(12 * MIB + 77, 14);
    let fd = c.writer_fd(&path, "be:1");
    pwrite_pieces(&mut c, &fd, 0, &data[..3 * MIB], MIB);
    cluster.command("stop-datanode 1");
    pwrite_pieces(&mut c, &fd, 3 * MIB, &data[3 * MIB..], MIB);
    assert_ok(&c.close_writer(&fd));
    assert!(c.read_file(&path, "be:1", 4 << 20) == data);
    cluster.command("restart-datanode 1");
    assert_ok(&c.delete(&dir));
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

/// A broker killed (SIGKILL) in the middle of a write leaves the target as it was and one
/// hidden temporary file beside it, `.<name>.broker-<16 hex>.tmp`, which no listing of
/// the broker shows; `hdfs dfs -ls` shows it, and deleting it is safe once no broker
/// writes it (the namenode recovers its lease within the hour).
#[test]
fn a_killed_broker_leaves_only_a_hidden_temporary_file() {
    let Some((_cluster, nn, mut broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("/tmp/{}", unique("killed"));
    let path = format!("{nn}{dir}/part-0.csv");
    let old = test_data(MIB + 5, 41);
    c.write_file(&path, "be:1", &old, MIB);
    let fd = c.writer_fd(&path, "be:1");
    assert_ok(&c.pwrite(&fd, 0, &test_data(2 * MIB, 42)));
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &broker.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = broker.terminate();

    let names = names_at(&nn, &dir);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "part-0.csv");
    assert!(
        names[0].starts_with(".part-0.csv.broker-") && names[0].ends_with(".tmp"),
        "{names:?}"
    );
    let after = BrokerProcess::start();
    let mut c = after.client();
    assert_eq!(c.glob(&format!("{nn}{dir}/*")), vec![path.clone()]);
    let listed = listed(&c.list(&format!("{nn}{dir}"), true, false));
    assert_eq!(listed, vec![path.clone()]);
    assert!(c.read_file(&path, "be:1", 4 << 20) == old);
    assert_ok(&c.delete(&format!("{nn}{dir}")));
}

/// Writes `data` to `path` in 1 MiB pwrites and closes: the first failing status, or OK.
fn write_until_failure(c: &mut Client, path: &str, data: &[u8]) -> TBrokerOperationStatus {
    let opened = c.open_writer(path, "be:1");
    let Some(fd) = opened.fd else {
        return opened.op_status;
    };
    for (i, piece) in data.chunks(MIB).enumerate() {
        let s = c.pwrite(&fd, (i * MIB) as i64, piece);
        if s.status_code != Code::OK {
            c.close_writer(&fd);
            return s;
        }
    }
    c.close_writer(&fd)
}

/// The hidden temporary file lives in the target's directory, so that directory's quotas
/// apply to the write. A write the quota refuses names the quota (the namenode's message)
/// and the path, leaves the previous file as it was and no temporary name behind.
/// Replacing a file needs one spare name in a namespace quota while it runs (as Hadoop's
/// `hdfs dfs -put -f` does, for its `._COPYING_` file), and the message says so; a new
/// file needs only its own name, as without the temporary file.
#[test]
fn quotas_of_the_target_directory_apply() {
    let Some((mut cluster, nn, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("/tmp/{}", unique("quota"));
    let url = |name: &str| format!("{nn}{dir}/{name}");
    let old = test_data(1000, 51);
    c.write_file(&url("a.csv"), "be:1", &old, MIB);
    let names = || names_at(&nn, &dir);

    // The directory and a.csv: a namespace quota of 2 is exactly full.
    cluster.command(&format!("set-quota 0 {dir} 2 -1"));
    let s = write_until_failure(&mut c, &url("a.csv"), &test_data(2000, 52));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&s);
    assert!(msg.contains(&url("a.csv")), "{msg}");
    assert!(
        msg.contains("NSQuotaExceededException") && msg.contains("quota=2"),
        "{msg}"
    );
    assert!(msg.contains("one more name"), "{msg}");
    assert!(msg.len() < 1000, "{msg}");
    assert_eq!(names(), vec!["a.csv"]);
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == old);

    // One spare name: the replacement succeeds and leaves the count as it was.
    cluster.command(&format!("set-quota 0 {dir} 3 -1"));
    let new = test_data(2000, 53);
    assert_ok(&write_until_failure(&mut c, &url("a.csv"), &new));
    assert_eq!(names(), vec!["a.csv"]);
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == new);
    // A new file takes the last name left, as it would without the temporary file ...
    assert_ok(&write_until_failure(&mut c, &url("b.csv"), &old));
    assert_eq!(names(), vec!["a.csv", "b.csv"]);
    // ... and the next one finds none: the namenode's message, without the hint about
    // replacing.
    let s = write_until_failure(&mut c, &url("c.csv"), &old);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&s);
    assert!(
        msg.contains(&url("c.csv")) && msg.contains("NSQuotaExceededException"),
        "{msg}"
    );
    assert!(!msg.contains("one more name"), "{msg}");
    assert_eq!(names(), vec!["a.csv", "b.csv"]);

    // A space quota of 5 MiB: each block allocated reserves a full block on each of the 3
    // replicas (3 MiB), so the second block of a 3 MiB replacement is refused mid-write.
    cluster.command(&format!("set-quota 0 {dir} -1 {}", 5 * MIB));
    let s = write_until_failure(&mut c, &url("a.csv"), &test_data(3 * MIB, 54));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&s);
    assert!(msg.contains(&url("a.csv")), "{msg}");
    assert!(
        msg.contains("DSQuotaExceededException") && msg.contains("quota"),
        "{msg}"
    );
    assert!(msg.len() < 1000, "{msg}");
    wait_for(
        "the temporary file of the refused write to go",
        Duration::from_secs(30),
        || names() == ["a.csv", "b.csv"],
    );
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == new);
    // Within the quota, a replacement works.
    let fits = test_data(MIB / 2, 55);
    assert_ok(&write_until_failure(&mut c, &url("a.csv"), &fits));
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == fits);
    assert_eq!(names(), vec!["a.csv", "b.csv"]);
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
