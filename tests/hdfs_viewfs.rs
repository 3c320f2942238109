//! The HDFS backend through a viewfs mount table: the `viewfs` MiniDFSCluster (namespaces
//! `ns1` = namenode 0 and `ns2` = namenode 1) with `viewfs://cluster/` mounting
//! `/data` → `hdfs://ns1/data`, `/tmp` → `hdfs://ns2/tmp` and everything else on
//! `hdfs://ns1/`. The broker learns the mount table from the cluster's conf/ XML only.
//! Listed paths stay in viewfs terms; the bytes land in the mount target's namespace.

mod common;
mod conformance;

use std::sync::MutexGuard;

use common::minicluster::{exists_at, shared, MiniCluster, Shared};
use common::*;
use conformance::*;

fn cluster() -> MutexGuard<'static, MiniCluster> {
    static CLUSTER: Shared = Shared::new();
    shared(&CLUSTER, "viewfs")
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

#[test]
fn conformance_on_viewfs() {
    let (broker, ns2) = {
        let cluster = cluster();
        check_mount_table(&cluster);
        (broker_with_mount_table(&cluster), cluster.namenode_uri(1))
    };
    let name = unique("viewfs-conf");
    let base = format!("viewfs://cluster/tmp/{name}");
    let target = Target::new(base.clone(), props());
    // Keep a file the suite does not touch, to see where the suite's base lived.
    let mut c = broker.client();
    write_file(&mut c, &format!("{base}-marker/m.csv"), "be:1", b"m", 1024);
    run_all(&broker, &target);
    assert!(exists_at(&ns2, &format!("/tmp/{name}-marker/m.csv")));
    assert_ok(&delete(&mut c, &format!("{base}-marker")));
    assert!(!exists_at(&ns2, &format!("/tmp/{name}-marker")));
}

#[test]
fn tmp_is_mounted_from_ns2() {
    let cluster = cluster();
    check_mount_table(&cluster);
    let broker = broker_with_mount_table(&cluster);
    let mut c = broker.client();
    let dir = unique("vtmp");
    let via_view = format!("viewfs://cluster/tmp/{dir}/f.bin");
    let data = test_data(2 * (1 << 20) + 99, 11);
    write_file(&mut c, &via_view, "be:1", &data, 1 << 20);

    // Listed in viewfs terms, reopenable verbatim.
    let listed = glob(&mut c, &format!("viewfs://cluster/tmp/{dir}/*"));
    assert_eq!(listed, vec![via_view.clone()]);
    let recursive = listed_paths(&mut c, &format!("viewfs://cluster/tmp/{dir}"), true);
    assert_eq!(recursive, vec![via_view.clone()]);
    assert!(read_file(&mut c, &listed[0], "be:1", 4 << 20) == data);

    // The bytes live in ns2's /tmp, not ns1's.
    let (nn1, nn2) = (cluster.namenode_uri(0), cluster.namenode_uri(1));
    assert!(exists_at(&nn2, &format!("/tmp/{dir}/f.bin")));
    assert!(!exists_at(&nn1, &format!("/tmp/{dir}")));
    // hdfs://ns2/... (resolved from the same conf/) reads the same file.
    let direct = format!("hdfs://ns2/tmp/{dir}/f.bin");
    assert_eq!(
        glob(&mut c, &format!("hdfs://ns2/tmp/{dir}/*")),
        vec![direct.clone()]
    );
    assert!(read_file(&mut c, &direct, "be:1", 4 << 20) == data);
    assert!(!exists(&mut c, &format!("hdfs://ns1/tmp/{dir}")).is_path_exist);

    // A rename across mount points (ns2 → ns1) is refused, and moves nothing.
    let across = format!("viewfs://cluster/data/{dir}.bin");
    let r = rename(&mut c, &via_view, &across);
    assert_code(&r, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r).contains(&via_view), "{r:?}");
    assert!(exists_at(&nn2, &format!("/tmp/{dir}/f.bin")));
    assert!(!exists_at(&nn1, &format!("/data/{dir}.bin")));

    // A path without authority takes fs.defaultFS = viewfs://cluster/.
    assert_eq!(
        glob(&mut c, &format!("viewfs:///tmp/{dir}/*")),
        vec![via_view.clone()]
    );
    assert_ok(&delete(&mut c, &format!("viewfs://cluster/tmp/{dir}")));
    assert!(!exists_at(&nn2, &format!("/tmp/{dir}")));
}

#[test]
fn data_and_fallback_are_mounted_from_ns1() {
    let cluster = cluster();
    check_mount_table(&cluster);
    let broker = broker_with_mount_table(&cluster);
    let mut c = broker.client();
    let (nn1, nn2) = (cluster.namenode_uri(0), cluster.namenode_uri(1));

    // /data → hdfs://ns1/data: a quick round trip.
    let dir = unique("vdata");
    let f = format!("viewfs://cluster/data/{dir}/part-0.csv");
    let data = test_data(1_500_000, 12);
    write_file(&mut c, &f, "be:1", &data, 1 << 20);
    assert_eq!(
        glob(&mut c, &format!("viewfs://cluster/data/{dir}/*.csv")),
        vec![f.clone()]
    );
    assert!(read_file(&mut c, &f, "be:1", 1 << 20) == data);
    assert!(exists_at(&nn1, &format!("/data/{dir}/part-0.csv")));
    assert!(!exists_at(&nn2, &format!("/data/{dir}")));
    // A rename within the mount point.
    let g = format!("viewfs://cluster/data/{dir}/part-0.renamed");
    assert_ok(&rename(&mut c, &f, &g));
    assert!(exists_at(&nn1, &format!("/data/{dir}/part-0.renamed")));
    assert_ok(&delete(&mut c, &format!("viewfs://cluster/data/{dir}")));
    assert!(!exists_at(&nn1, &format!("/data/{dir}")));

    // Anything not mounted falls back to hdfs://ns1/.
    let top = unique("vfallback");
    let f = format!("viewfs://cluster/{top}/x.csv");
    write_file(&mut c, &f, "be:1", b"fallback", 1024);
    assert_eq!(
        glob(&mut c, &format!("viewfs://cluster/{top}/*")),
        vec![f.clone()]
    );
    assert_eq!(read_file(&mut c, &f, "be:1", 1024), b"fallback");
    assert!(exists_at(&nn1, &format!("/{top}/x.csv")));
    assert!(!exists_at(&nn2, &format!("/{top}")));
    assert_ok(&delete(&mut c, &format!("viewfs://cluster/{top}")));
    assert!(!exists_at(&nn1, &format!("/{top}")));
}

/// Paths of a listing (recursive or not) of exactly `path`.
fn listed_paths(c: &mut Client, path: &str, recursive: bool) -> Vec<String> {
    listed(&list(c, path, recursive, false))
}
