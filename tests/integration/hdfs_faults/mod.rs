//! Faults on a real MiniDFSCluster (`plain`: 1 namenode, 3 datanodes, replication 3,
//! 1 MiB blocks): datanodes dying under a reader and a writer, the namenode going away
//! and coming back. Nothing hangs, every status is honest (no data loss reported as
//! success) and service resumes without restarting the broker.
//!
//! Every test changes the cluster, so each holds the cluster lock for its whole run and
//! starts from (and returns to) every node running.
//!
//! By what fails: datanodes (datanodes.rs), the namenode (namenode.rs), and the writer's
//! hidden temporary file under a killed broker or a quota (temporary_files.rs).

mod datanodes;
mod namenode;
mod temporary_files;

use crate::common::minicluster::{shared, Cluster, MiniCluster};
use crate::common::*;
use apache_hdfs_broker::wire::generated::TBrokerFD;

const MIB: usize = 1 << 20;

/// One cluster for every test in this module, every node running.
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
