//! The HDFS backend against an HA MiniDFSCluster: nameservice `ns1` with `nn1` (index 0,
//! starts active) and `nn2` (index 1, standby), 3 datanodes, 1 MiB blocks, no ZooKeeper.
//!
//! The nameservice is configured from request properties alone, and from `conf/` XML;
//! manual failovers and a stopped active namenode must not break calls in flight nor
//! later ones. Every test holds the cluster lock for its whole run, so the failover test
//! never runs beside another one, and every test starts from (and the failover test
//! returns to) the initial state: nn1 active, nn2 standby.

use std::time::{Duration, Instant};

use crate::common::minicluster::{shared, Cluster, MiniCluster};
use crate::common::*;
use crate::conformance::unique;

const PROXY_PROVIDER: &str =
    "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";

/// One cluster for every test in this file (and webhdfs.rs's HA tests), in its initial HA
/// state. (webhdfs_gateways.rs has its own HA cluster, with TLS.)
pub(crate) fn cluster() -> Cluster {
    let mut guard = shared("ha", &[]);
    restore(&mut guard);
    guard
}

/// Puts the cluster back to nn1 active, nn2 standby, after a test that failed half-way.
pub(crate) fn restore(cluster: &mut MiniCluster) {
    for i in 0..2 {
        if cluster.fact(&format!("namenode.{i}.running")) != "true" {
            cluster.command(&format!("restart-namenode {i}"));
        }
    }
    if cluster.fact("namenode.0.state") != "active" {
        cluster.command("transition-active 0");
    }
    assert_states(cluster, "active", "standby");
}

#[track_caller]
pub(crate) fn assert_states(cluster: &MiniCluster, nn1: &str, nn2: &str) {
    assert_eq!(
        (
            cluster.fact("namenode.0.state"),
            cluster.fact("namenode.1.state")
        ),
        (nn1.to_string(), nn2.to_string()),
        "HA states of nn1, nn2"
    );
}

/// The `WITH BROKER (...)` keys of an HA nameservice, addresses from the cluster's facts.
fn ha_props(cluster: &MiniCluster) -> Props {
    let mut p = nameservice_keys(cluster, "rpc-address", "rpc");
    p.insert(
        "dfs.client.failover.proxy.provider.ns1".into(),
        PROXY_PROVIDER.into(),
    );
    p
}

/// Nameservice `ns1` and its namenodes `nn1`, `nn2`, each namenode's address as
/// `dfs.namenode.<kind>.ns1.<id>` from the cluster's fact `namenode.<index>.<fact>`
/// (`rpc-address` from `rpc`, `http-address` from `http`).
pub(crate) fn nameservice_keys(cluster: &MiniCluster, kind: &str, fact: &str) -> Props {
    assert_eq!(cluster.fact("nameservices"), "ns1");
    let mut p = Props::new();
    p.insert("dfs.nameservices".into(), "ns1".into());
    p.insert("dfs.ha.namenodes.ns1".into(), "nn1,nn2".into());
    for i in 0..2 {
        assert_eq!(cluster.fact(&format!("namenode.{i}.nameservice")), "ns1");
        let id = cluster.fact(&format!("namenode.{i}.id"));
        assert_eq!(id, format!("nn{}", i + 1));
        p.insert(
            format!("dfs.namenode.{kind}.ns1.{id}"),
            cluster.fact(&format!("namenode.{i}.{fact}")),
        );
    }
    p
}

// The suite on `hdfs://ns1/tmp/conf-*`, the nameservice from request properties alone
// (no Hadoop XML at all).
crate::conformance::cluster_conformance!(cluster, |_| "hdfs://ns1".into(), ha_props);

#[test]
fn a_nameservice_from_properties_only_lists_its_name_and_needs_its_namenodes() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let p = ha_props(&cluster);
    // No Hadoop XML at all: the nameservice is known from the request alone.
    let broker = BrokerProcess::start();
    let base = format!("hdfs://ns1/tmp/{}", unique("ha-names"));
    // Listed paths name the nameservice, never the namenode that answered.
    let mut c = broker.client();
    c.with_props(&p)
        .write_file(&format!("{base}/a.csv"), "be:1", b"a", 1024);
    assert_eq!(
        c.with_props(&p).glob(&format!("{base}/*")),
        vec![format!("{base}/a.csv")]
    );
    let rec = listed(&c.with_props(&p).list(&base, true, false));
    assert_eq!(rec, vec![format!("{base}/a.csv")]);
    assert_ok(&c.with_props(&p).delete(&base));

    // The same request without the namenode list is refused up front (naming the key).
    let mut partial = p.clone();
    partial.remove("dfs.ha.namenodes.ns1");
    let r = c.with_props(&partial).exists("hdfs://ns1/tmp");
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(message(&r.op_status).contains("dfs.ha.namenodes.ns1"));
}

/// listPath, openReader + full read, openWriter + write + read back: all OK and correct.
#[track_caller]
fn namespace_works(c: &mut Client, dir: &str, file: &str, data: &[u8], p: &Props, tag: &str) {
    assert_eq!(
        c.with_props(p)
            .glob(&format!("{dir}/*.bin"))
            .into_iter()
            .filter(|f| f == file)
            .count(),
        1,
        "{tag}: {file} listed"
    );
    let back = c.with_props(p).read_file(file, "be:1", 1 << 20);
    assert!(back == data, "{tag}: full read of {file} differs");
    let fresh = format!("{dir}/{tag}.bin");
    let payload = test_data(2 * (1 << 20) + 333, tag.len() as u64);
    c.with_props(p)
        .write_file(&fresh, "be:1", &payload, 1 << 20);
    assert!(
        c.with_props(p).read_file(&fresh, "be:1", 4 << 20) == payload,
        "{tag}: {fresh} read back differs"
    );
}

/// Manual failovers with a reader open: a graceful one (nn1 → nn2), then the active nn2
/// stopped and nn1 made active by hand. Preads never notice; every other call works right
/// after the graceful failover and again once nn1 is active.
#[test]
fn failover_keeps_readers_and_calls_working() {
    if missing(Server::Hdfs) {
        return;
    }
    const MIB: usize = 1 << 20;
    let mut cluster = cluster();
    let p = ha_props(&cluster);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = format!("hdfs://ns1/tmp/{}", unique("failover"));
    let file = format!("{dir}/data.bin");
    // 7.5 blocks.
    let data = test_data(7 * MIB + MIB / 2, 7);
    c.with_props(&p).write_file(&file, "be:1", &data, MIB);

    let fd = c.with_props(&p).reader_fd(&file, "be:1");
    assert!(c.read_exact_at(&fd, 0, MIB) == data[..MIB]);
    assert!(c.read_exact_at(&fd, MIB, MIB) == data[MIB..2 * MIB]);

    // Graceful failover: nn1 standby, nn2 active.
    cluster.command("transition-active 1");
    assert_states(&cluster, "standby", "active");
    assert!(c.read_exact_at(&fd, 2 * MIB, MIB) == data[2 * MIB..3 * MIB]);
    // A StandbyException moves the client to the other namenode at once: no retry here.
    let started = Instant::now();
    namespace_works(&mut c, &dir, &file, &data, &p, "after-transition");
    eprintln!(
        "calls after the graceful failover took {:?}",
        started.elapsed()
    );
    // A second reader, opened while nn2 is active, read across the next failover.
    let fd2 = c.with_props(&p).reader_fd(&file, "be:2");
    assert!(c.read_exact_at(&fd2, 0, MIB) == data[..MIB]);

    // The active namenode dies; nobody is active until an operator fails over by hand.
    cluster.command("stop-namenode 1");
    // With no active namenode, a call waits out a failover (30 s), then fails with a
    // clear error: no hang.
    let started = Instant::now();
    let r = c.with_props(&p).exists(&file);
    let took = started.elapsed();
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r.op_status).contains(&file), "{:?}", r.op_status);
    assert!(
        took > Duration::from_secs(25) && took < Duration::from_secs(45),
        "no active namenode: {took:?}"
    );
    // Datanodes still serve the open readers.
    assert!(c.read_exact_at(&fd, 3 * MIB, MIB) == data[3 * MIB..4 * MIB]);

    cluster.command("transition-active 0");
    assert_states(&cluster, "active", "stopped");
    let took = wait_for(
        "checkPathExist OK through nn1 again",
        Duration::from_secs(60),
        || {
            let r = c.with_props(&p).exists(&file);
            r.op_status.status_code == Code::OK && r.is_path_exist
        },
    );
    eprintln!("service back {took:?} after the manual failover");
    // The old readers finish their files, byte for byte.
    let mut offset = 4 * MIB;
    while offset < data.len() {
        let len = MIB.min(data.len() - offset);
        assert!(c.read_exact_at(&fd, offset, len) == data[offset..offset + len]);
        offset += len;
    }
    let r = c.pread(&fd, data.len() as i64, MIB as i64);
    assert_ok(&r.op_status);
    assert!(r.data.unwrap().is_empty(), "EOF after the last byte");
    assert!(c.read_exact_at(&fd2, MIB, 6 * MIB + MIB / 2) == data[MIB..]);
    assert_ok(&c.close_reader(&fd));
    assert_ok(&c.close_reader(&fd2));
    namespace_works(&mut c, &dir, &file, &data, &p, "after-manual-failover");
    // Everything written while nn2 was active survived its death.
    assert_eq!(
        c.with_props(&p).glob(&format!("{dir}/*")),
        vec![
            format!("{dir}/after-manual-failover.bin"),
            format!("{dir}/after-transition.bin"),
            file.clone(),
        ]
    );
    assert_ok(&c.with_props(&p).delete(&dir));

    // Back to the initial state for the other tests: nn2 returns as standby.
    cluster.command("restart-namenode 1");
    assert_states(&cluster, "active", "standby");
    assert!(c.with_props(&p).exists("hdfs://ns1/tmp").is_path_exist);
}

/// One call of a loop: what it was, when it ended, whether it was OK.
struct Call {
    what: String,
    started: Instant,
    ended: Instant,
    ok: bool,
}

/// `threads` × `loops` of listPath, openReader + pread, openWriter + pwrite + closeWriter,
/// each call timed, while the test body takes every namenode out of the active state for
/// 10 s and then makes `comes_back` active. No call may fail, and every call that waited
/// ends within 1 s of a namenode being active again.
fn loops_across_a_failover(cluster: &mut MiniCluster, p: &Props, away: &str, comes_back: usize) {
    const THREADS: usize = 4;
    const LOOPS: usize = 5;
    let broker = BrokerProcess::start();
    let dir = format!("hdfs://ns1/tmp/{}", unique("ride"));
    let file = format!("{dir}/in.bin");
    let data = test_data((1 << 20) + 99, 21);
    broker
        .client()
        .with_props(p)
        .write_file(&file, "be:0", &data, 1 << 20);

    let (calls, active_at) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (broker, dir, file, data) = (&broker, &dir, &file, &data);
                s.spawn(move || {
                    let mut c = broker.client();
                    c.with_props(p);
                    let mut calls = Vec::new();
                    let mut started = Instant::now();
                    let mut record = |what: String, ok: bool| {
                        let ended = Instant::now();
                        calls.push(Call {
                            what,
                            started,
                            ended,
                            ok,
                        });
                        started = ended;
                    };
                    for i in 0..LOOPS {
                        let be = format!("be:{t}");
                        let l = c.list(&format!("{dir}/*"), false, false);
                        record(
                            format!("listPath {i}: {:?}", l.op_status),
                            l.op_status.status_code == Code::OK,
                        );
                        let r = c.open_reader(file, &be);
                        record(
                            format!("openReader {i}: {:?}", r.op_status),
                            r.op_status.status_code == Code::OK,
                        );
                        if let Some(fd) = r.fd {
                            let got = c.pread(&fd, 0, data.len() as i64);
                            let same = got.data.as_deref() == Some(&data[..]);
                            record(format!("pread {i}: {:?}", got.op_status), same);
                            c.close_reader(&fd);
                        }
                        let out = format!("{dir}/out-{t}-{i}.bin");
                        let w = c.open_writer(&out, &be);
                        record(
                            format!("openWriter {i}: {:?}", w.op_status),
                            w.op_status.status_code == Code::OK,
                        );
                        if let Some(fd) = w.fd {
                            let s = c.pwrite(&fd, 0, &data[..4096]);
                            record(format!("pwrite {i}: {s:?}"), s.status_code == Code::OK);
                            let s = c.close_writer(&fd);
                            record(format!("closeWriter {i}: {s:?}"), s.status_code == Code::OK);
                        }
                    }
                    calls
                })
            })
            .collect();
        // The outage itself: no namenode active for 10 s, whatever the loops do meanwhile.
        cluster.command(away);
        std::thread::sleep(Duration::from_secs(10));
        cluster.command(&format!("transition-active {comes_back}"));
        let active_at = Instant::now();
        let calls: Vec<Call> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        (calls, active_at)
    });
    let failed: Vec<&str> = calls
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.what.as_str())
        .collect();
    assert!(failed.is_empty(), "{away}: failed calls: {failed:#?}");
    assert_eq!(calls.len(), THREADS * LOOPS * 6, "{away}: every call made");
    // Every call that was waiting when a namenode became active ends within 1 s.
    let waiting: Vec<&Call> = calls
        .iter()
        .filter(|c| c.started < active_at && c.ended > active_at)
        .collect();
    assert!(
        !waiting.is_empty(),
        "{away}: no call waited through the outage"
    );
    let latest = waiting
        .iter()
        .map(|c| c.ended - active_at)
        .max()
        .unwrap_or_default();
    eprintln!(
        "{away}: {} calls OK, {} waited through the outage, the last ended {latest:?} after the failover",
        calls.len(),
        waiting.len()
    );
    for call in waiting {
        let late = call.ended - active_at;
        assert!(
            late < Duration::from_secs(1),
            "{away}: {} ended {late:?} after the failover",
            call.what
        );
    }
    let mut c = broker.client();
    assert_eq!(
        c.with_props(p).glob(&format!("{dir}/out-*")).len(),
        THREADS * LOOPS,
        "every output file written once"
    );
    assert_ok(&c.with_props(p).delete(&dir));
}

/// A failover taking 10 s (both namenodes standby, as while ZKFC decides) or the active
/// namenode killed and the standby promoted 10 s later: every call rides through.
#[test]
fn calls_ride_through_ten_seconds_without_an_active_namenode() {
    if missing(Server::Hdfs) {
        return;
    }
    let mut cluster = cluster();
    let p = ha_props(&cluster);
    loops_across_a_failover(&mut cluster, &p, "transition-standby 0", 0);
    assert_states(&cluster, "active", "standby");
    loops_across_a_failover(&mut cluster, &p, "stop-namenode 0", 1);
    assert_states(&cluster, "stopped", "active");
    cluster.command("restart-namenode 0");
    cluster.command("transition-active 0");
    assert_states(&cluster, "active", "standby");
}

/// The same nameservice from the cluster's own core-site.xml/hdfs-site.xml in the broker's
/// conf/, with no properties in the requests.
#[test]
fn nameservice_from_hadoop_xml() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let broker = BrokerProcess::start_with_hadoop_conf(&[], Some(&cluster.conf_dir()));
    let mut c = broker.client();
    let dir = format!("hdfs://ns1/tmp/{}", unique("ha-xml"));
    let data = test_data(3 * (1 << 20) + 17, 3);
    c.write_file(&format!("{dir}/x.bin"), "be:1", &data, 1 << 20);
    assert_eq!(c.glob(&format!("{dir}/*")), vec![format!("{dir}/x.bin")]);
    assert!(c.read_file(&format!("{dir}/x.bin"), "be:1", 1 << 20) == data);
    // fs.defaultFS = hdfs://ns1 fills in a path without authority, printed qualified.
    let bare = dir.replace("hdfs://ns1/", "hdfs:///");
    assert_eq!(c.glob(&format!("{bare}/*")), vec![format!("{dir}/x.bin")]);
    assert!(c.read_file(&format!("{bare}/x.bin"), "be:1", 4 << 20) == data);
    // The properties-only broker sees the same namespace.
    let p = ha_props(&cluster);
    let other = BrokerProcess::start();
    assert!(
        other
            .client()
            .with_props(&p)
            .exists(&format!("{dir}/x.bin"))
            .is_path_exist
    );
    assert_ok(&c.delete(&dir));
    assert!(!c.exists(&dir).is_path_exist);
}
