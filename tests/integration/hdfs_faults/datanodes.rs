//! Datanodes dying under a long read and under writes (all of them, or one of three
//! mid-block and across block boundaries).

use std::time::{Duration, Instant};

use super::{on_cluster, pwrite_pieces, read_and_compare, write_again_and_clean_up, MIB};
use crate::common::*;
use crate::conformance::unique;

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
