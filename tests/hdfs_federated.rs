//! The HDFS backend against a federated MiniDFSCluster: two namespaces, `ns1` (namenode 0)
//! and `ns2` (namenode 1), sharing 3 datanodes. One request's properties describe both
//! nameservices; each path goes to its own namespace and nowhere else.

mod common;
mod conformance;

use std::sync::MutexGuard;

use common::minicluster::{exists_at, shared, MiniCluster, Shared};
use common::*;
use conformance::*;

const PROXY_PROVIDER: &str =
    "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";

fn cluster() -> MutexGuard<'static, MiniCluster> {
    static CLUSTER: Shared = Shared::new();
    shared(&CLUSTER, "federated")
}

/// `(nameservice, namenode id, rpc address, direct hdfs://host:port URI)` per namenode.
fn namenodes(cluster: &MiniCluster) -> Vec<(String, String, String, String)> {
    assert_eq!(cluster.fact("nameservices"), "ns1,ns2");
    (0..2)
        .map(|i| {
            (
                cluster.fact(&format!("namenode.{i}.nameservice")),
                cluster.fact(&format!("namenode.{i}.id")),
                cluster.namenode_rpc(i),
                cluster.namenode_uri(i),
            )
        })
        .collect()
}

/// Both nameservices, described the HA way (one namenode each), in one property map.
fn both_nameservices(cluster: &MiniCluster) -> Props {
    let mut p = Props::new();
    p.insert("dfs.nameservices".into(), "ns1,ns2".into());
    for (ns, id, rpc, _) in namenodes(cluster) {
        p.insert(format!("dfs.ha.namenodes.{ns}"), id.clone());
        p.insert(format!("dfs.namenode.rpc-address.{ns}.{id}"), rpc);
        p.insert(
            format!("dfs.client.failover.proxy.provider.{ns}"),
            PROXY_PROVIDER.into(),
        );
    }
    // Keys meant for other layers ride along and change nothing.
    p.insert("column_separator".into(), ",".into());
    p
}

#[test]
fn two_nameservices_in_one_request_map() {
    let cluster = cluster();
    let nns = namenodes(&cluster);
    assert_eq!((nns[0].0.as_str(), nns[1].0.as_str()), ("ns1", "ns2"));
    let p = both_nameservices(&cluster);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = unique("fed");
    let x = format!("hdfs://ns1/tmp/{dir}/x.bin");
    let y = format!("hdfs://ns2/tmp/{dir}/y.bin");
    let xdata = test_data(2 * (1 << 20) + 5, 1);
    let ydata = test_data(3 * (1 << 20) + 7, 2);
    write_file_with(&mut c, &x, "be:1", &xdata, 1 << 20, &p);
    write_file_with(&mut c, &y, "be:1", &ydata, 1 << 20, &p);

    // Each listing names its own nameservice and holds only its own file.
    assert_eq!(
        glob_with(&mut c, &format!("hdfs://ns1/tmp/{dir}/*"), &p),
        vec![x.clone()]
    );
    assert_eq!(
        glob_with(&mut c, &format!("hdfs://ns2/tmp/{dir}/*"), &p),
        vec![y.clone()]
    );
    assert!(read_file_with(&mut c, &x, "be:1", 4 << 20, &p) == xdata);
    assert!(read_file_with(&mut c, &y, "be:1", 4 << 20, &p) == ydata);
    let crossed = |f: &str| {
        f.replace("ns1", "nsX")
            .replace("ns2", "ns1")
            .replace("nsX", "ns2")
    };
    assert!(!exists_with(&mut c, &crossed(&x), &p).is_path_exist);
    assert!(!exists_with(&mut c, &crossed(&y), &p).is_path_exist);

    // The namenodes themselves agree: x only in ns1's namespace, y only in ns2's.
    let (nn1, nn2) = (&nns[0].3, &nns[1].3);
    assert!(exists_at(nn1, &format!("/tmp/{dir}/x.bin")));
    assert!(!exists_at(nn1, &format!("/tmp/{dir}/y.bin")));
    assert!(exists_at(nn2, &format!("/tmp/{dir}/y.bin")));
    assert!(!exists_at(nn2, &format!("/tmp/{dir}/x.bin")));

    // A rename across the two nameservices is refused, and moves nothing.
    let r = rename_with(&mut c, &x, &format!("hdfs://ns2/tmp/{dir}/x.bin"), &p);
    assert_code(&r, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r).contains("different filesystems"), "{r:?}");
    assert!(exists_at(nn1, &format!("/tmp/{dir}/x.bin")));

    // Deleting in one namespace leaves the other alone.
    assert_ok(&delete_with(&mut c, &format!("hdfs://ns1/tmp/{dir}"), &p));
    assert!(!exists_at(nn1, &format!("/tmp/{dir}")));
    assert!(exists_at(nn2, &format!("/tmp/{dir}/y.bin")));
    assert_ok(&delete_with(&mut c, &format!("hdfs://ns2/tmp/{dir}"), &p));
    assert!(!exists_at(nn2, &format!("/tmp/{dir}")));
}

/// Federation without HA: each nameservice names its one namenode as
/// `dfs.namenode.rpc-address.NS` (no `dfs.ha.namenodes.NS`), which Hadoop's
/// ConfiguredFailoverProxyProvider accepts and the broker's own checks let through.
#[test]
fn non_ha_nameservices_name_their_namenode_directly() {
    let cluster = cluster();
    let nns = namenodes(&cluster);
    let mut p = Props::new();
    p.insert("dfs.nameservices".into(), "ns1,ns2".into());
    for (ns, _, rpc, _) in &nns {
        p.insert(format!("dfs.namenode.rpc-address.{ns}"), rpc.clone());
        p.insert(
            format!("dfs.client.failover.proxy.provider.{ns}"),
            PROXY_PROVIDER.into(),
        );
    }
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = unique("fed-direct");
    for (ns, _, _, nn) in &nns {
        let f = format!("hdfs://{ns}/tmp/{dir}/{ns}.csv");
        write_file_with(&mut c, &f, "be:1", ns.as_bytes(), 1024, &p);
        assert_eq!(
            glob_with(&mut c, &format!("hdfs://{ns}/tmp/{dir}/*"), &p),
            vec![f.clone()]
        );
        assert!(exists_at(nn, &format!("/tmp/{dir}/{ns}.csv")));
        assert_ok(&delete_with(&mut c, &format!("hdfs://{ns}/tmp/{dir}"), &p));
    }
}

/// The suite on the second namespace, configured from the cluster's conf/ XML.
#[test]
fn conformance_on_the_second_nameservice_from_xml() {
    let conf = cluster().conf_dir();
    let broker = BrokerProcess::start_with_hadoop_conf(&[], Some(&conf));
    let target = Target::new(format!("hdfs://ns2/tmp/{}", unique("fed-conf")), props());
    run_all(&broker, &target);
}
