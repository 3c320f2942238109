//! The HDFS backend through a viewfs mount table: the `viewfs` MiniDFSCluster (namespaces
//! `ns1` = namenode 0 and `ns2` = namenode 1) with `viewfs://cluster/` mounting
//! `/data` → `hdfs://ns1/data`, `/tmp` → `hdfs://ns2/tmp` and everything else on
//! `hdfs://ns1/`. The broker learns the mount table from the cluster's conf/ XML only.
//! Listed paths stay in viewfs terms; the bytes land in the mount target's namespace.

use crate::common::minicluster::{exists_at, shared, Cluster, MiniCluster};
use crate::common::*;
use crate::conformance::unique;

/// The viewfs cluster, locked for the calling test.
fn cluster() -> Cluster {
    shared("viewfs", &[])
}

/// The mount table as the launcher describes it; the tests below rely on exactly this.
fn check_mount_table(cluster: &MiniCluster) {
    let f = cluster.facts();
    assert_eq!(f["default_fs"].trim_end_matches('/'), "viewfs://cluster");
    assert_eq!(f["viewfs.link./data"], "hdfs://ns1/data");
    assert_eq!(f["viewfs.link./tmp"], "hdfs://ns2/tmp");
    assert_eq!(f["namenode.0.nameservice"], "ns1");
    assert_eq!(f["namenode.1.nameservice"], "ns2");
}

fn broker_with_mount_table(cluster: &MiniCluster) -> BrokerProcess {
    BrokerProcess::start_with_hadoop_conf(&[], Some(&cluster.conf_dir()))
}

/// The cluster (its mount table checked), a broker of it and a connection to that; `None`
/// (the test skips) where HDFS cannot run.
fn on_cluster() -> Option<(Cluster, BrokerProcess, Client)> {
    if missing(Server::Hdfs) {
        return None;
    }
    let cluster = cluster();
    check_mount_table(&cluster);
    let broker = broker_with_mount_table(&cluster);
    let c = broker.client();
    Some((cluster, broker, c))
}

/// The suite on `viewfs://cluster/tmp/viewfs-conf-*` (so on ns2, see
/// `tmp_is_mounted_from_ns2`), the mount table from the cluster's conf/ XML.
mod conformance {
    use super::*;
    use crate::conformance::{Check, Suite, Target};

    fn run(check: Check) {
        static SUITE: Suite = Suite::new();
        let cluster = cluster();
        SUITE.run(
            &cluster.id(),
            || {
                check_mount_table(&cluster);
                broker_with_mount_table(&cluster)
            },
            |_| {
                let base = format!("viewfs://cluster/tmp/{}", unique("viewfs-conf"));
                Target::new(base, Props::new())
            },
            check,
        );
    }

    crate::conformance::conformance_tests!(run, needs Server::Hdfs);
}

#[test]
fn tmp_is_mounted_from_ns2() {
    let Some((cluster, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = unique("vtmp");
    let via_view = format!("viewfs://cluster/tmp/{dir}/f.bin");
    let data = test_data(2 * (1 << 20) + 99, 11);
    c.write_file(&via_view, "be:1", &data, 1 << 20);

    // Listed in viewfs terms, reopenable verbatim.
    let listed = c.glob(&format!("viewfs://cluster/tmp/{dir}/*"));
    assert_eq!(listed, vec![via_view.clone()]);
    let recursive = listed_paths(&mut c, &format!("viewfs://cluster/tmp/{dir}"), true);
    assert_eq!(recursive, vec![via_view.clone()]);
    assert!(c.read_file(&listed[0], "be:1", 4 << 20) == data);

    // The bytes live in ns2's /tmp, not ns1's.
    let (nn1, nn2) = (cluster.namenode_uri(0), cluster.namenode_uri(1));
    assert!(exists_at(&nn2, &format!("/tmp/{dir}/f.bin")));
    assert!(!exists_at(&nn1, &format!("/tmp/{dir}")));
    // hdfs://ns2/... (resolved from the same conf/) reads the same file.
    let direct = format!("hdfs://ns2/tmp/{dir}/f.bin");
    assert_eq!(
        c.glob(&format!("hdfs://ns2/tmp/{dir}/*")),
        vec![direct.clone()]
    );
    assert!(c.read_file(&direct, "be:1", 4 << 20) == data);
    assert!(!c.exists(&format!("hdfs://ns1/tmp/{dir}")).is_path_exist);

    // A rename across mount points (ns2 → ns1) is refused, and moves nothing.
    let across = format!("viewfs://cluster/data/{dir}.bin");
    let r = c.rename(&via_view, &across);
    assert_code(&r, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r).contains(&via_view), "{r:?}");
    assert!(exists_at(&nn2, &format!("/tmp/{dir}/f.bin")));
    assert!(!exists_at(&nn1, &format!("/data/{dir}.bin")));

    // A path without authority takes fs.defaultFS = viewfs://cluster/.
    assert_eq!(
        c.glob(&format!("viewfs:///tmp/{dir}/*")),
        vec![via_view.clone()]
    );
    assert_ok(&c.delete(&format!("viewfs://cluster/tmp/{dir}")));
    assert!(!exists_at(&nn2, &format!("/tmp/{dir}")));
}

#[test]
fn data_and_fallback_are_mounted_from_ns1() {
    let Some((cluster, _broker, mut c)) = on_cluster() else {
        return;
    };
    let (nn1, nn2) = (cluster.namenode_uri(0), cluster.namenode_uri(1));

    // /data → hdfs://ns1/data: a quick round trip.
    let dir = unique("vdata");
    let f = format!("viewfs://cluster/data/{dir}/part-0.csv");
    let data = test_data(1_500_000, 12);
    c.write_file(&f, "be:1", &data, 1 << 20);
    assert_eq!(
        c.glob(&format!("viewfs://cluster/data/{dir}/*.csv")),
        vec![f.clone()]
    );
    assert!(c.read_file(&f, "be:1", 1 << 20) == data);
    assert!(exists_at(&nn1, &format!("/data/{dir}/part-0.csv")));
    assert!(!exists_at(&nn2, &format!("/data/{dir}")));
    // A rename within the mount point.
    let g = format!("viewfs://cluster/data/{dir}/part-0.renamed");
    assert_ok(&c.rename(&f, &g));
    assert!(exists_at(&nn1, &format!("/data/{dir}/part-0.renamed")));
    assert_ok(&c.delete(&format!("viewfs://cluster/data/{dir}")));
    assert!(!exists_at(&nn1, &format!("/data/{dir}")));

    // Anything not mounted falls back to hdfs://ns1/.
    let top = unique("vfallback");
    let f = format!("viewfs://cluster/{top}/x.csv");
    c.write_file(&f, "be:1", b"fallback", 1024);
    assert_eq!(
        c.glob(&format!("viewfs://cluster/{top}/*")),
        vec![f.clone()]
    );
    assert_eq!(c.read_file(&f, "be:1", 1024), b"fallback");
    assert!(exists_at(&nn1, &format!("/{top}/x.csv")));
    assert!(!exists_at(&nn2, &format!("/{top}")));
    assert_ok(&c.delete(&format!("viewfs://cluster/{top}")));
    assert!(!exists_at(&nn1, &format!("/{top}")));
}

/// Errors map through a mount the same as on the namenode underneath: a permission
/// refusal is NOT_AUTHORIZED with the namenode's words, a missing file FILE_NOT_FOUND,
/// each naming the path as the client gave it.
#[test]
fn errors_through_a_mount_map_as_on_hdfs() {
    let Some((cluster, _broker, mut c)) = on_cluster() else {
        return;
    };
    let (nn1, nn2) = (cluster.namenode_uri(0), cluster.namenode_uri(1));
    let alice = Props::from([("username".to_string(), "alice".to_string())]);
    let dir = unique("verr");
    // /data (the superuser's, 0755) through its link, `/` through the fallback, both ns1;
    // /tmp (1777) on ns2, where a directory of the superuser's is closed to alice.
    let closed = format!("viewfs://cluster/tmp/{dir}");
    c.write_file(&format!("{closed}/theirs.csv"), "be:1", b"x", 1024);
    let cases = [
        (
            format!("viewfs://cluster/data/{dir}.csv"),
            format!("{nn1}/data/{dir}.csv"),
        ),
        (
            format!("viewfs://cluster/{dir}.csv"),
            format!("{nn1}/{dir}.csv"),
        ),
        (
            format!("{closed}/mine.csv"),
            format!("{nn2}/tmp/{dir}/mine.csv"),
        ),
    ];
    // The superuser's new directory is 0755: alice may read, not write.
    for (view, direct) in &cases {
        let mut answers = Vec::new();
        for path in [view, direct] {
            let w = c.with_props(&alice).open_writer(path, "be:1");
            assert_code(&w.op_status, Code::NOT_AUTHORIZED);
            let msg = message(&w.op_status).to_string();
            assert!(msg.contains(path.as_str()), "{msg}");
            assert!(
                msg.contains("Permission denied: user=alice, access=WRITE"),
                "{msg}"
            );
            answers.push(msg.replace(path.as_str(), "PATH"));
            let r = c.with_props(&alice).open_reader(path, "be:1");
            assert_code(&r.op_status, Code::FILE_NOT_FOUND);
            assert!(message(&r.op_status).contains(path.as_str()), "{r:?}");
        }
        assert_eq!(answers[0], answers[1], "viewfs and hdfs:// say the same");
    }
    assert_ok(&c.with_props(&Props::new()).delete(&closed));
}

/// Paths of a listing (recursive or not) of exactly `path`.
fn listed_paths(c: &mut Client, path: &str, recursive: bool) -> Vec<String> {
    listed(&c.list(path, recursive, false))
}
