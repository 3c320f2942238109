//! The HDFS backend against a federated MiniDFSCluster: two namespaces, `ns1` (namenode 0)
//! and `ns2` (namenode 1), sharing 3 datanodes. One request's properties describe both
//! nameservices; each path goes to its own namespace and nowhere else.

use crate::common::minicluster::{exists_at, shared, Cluster, MiniCluster};
use crate::common::*;
use crate::conformance::unique;

const PROXY_PROVIDER: &str =
    "org.apache.hadoop.hdfs.server.namenode.ha.ConfiguredFailoverProxyProvider";

/// The federated cluster, locked for the calling test.
fn cluster() -> Cluster {
    shared("federated", &[])
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
    if missing(Server::Hdfs) {
        return;
    }
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
    c.with_props(&p).write_file(&x, "be:1", &xdata, 1 << 20);
    c.with_props(&p).write_file(&y, "be:1", &ydata, 1 << 20);

    // Each listing names its own nameservice and holds only its own file.
    assert_eq!(
        c.with_props(&p).glob(&format!("hdfs://ns1/tmp/{dir}/*")),
        vec![x.clone()]
    );
    assert_eq!(
        c.with_props(&p).glob(&format!("hdfs://ns2/tmp/{dir}/*")),
        vec![y.clone()]
    );
    assert!(c.with_props(&p).read_file(&x, "be:1", 4 << 20) == xdata);
    assert!(c.with_props(&p).read_file(&y, "be:1", 4 << 20) == ydata);
    let crossed = |f: &str| {
        f.replace("ns1", "nsX")
            .replace("ns2", "ns1")
            .replace("nsX", "ns2")
    };
    assert!(!c.with_props(&p).exists(&crossed(&x)).is_path_exist);
    assert!(!c.with_props(&p).exists(&crossed(&y)).is_path_exist);

    // The namenodes themselves agree: x only in ns1's namespace, y only in ns2's.
    let (nn1, nn2) = (&nns[0].3, &nns[1].3);
    assert!(exists_at(nn1, &format!("/tmp/{dir}/x.bin")));
    assert!(!exists_at(nn1, &format!("/tmp/{dir}/y.bin")));
    assert!(exists_at(nn2, &format!("/tmp/{dir}/y.bin")));
    assert!(!exists_at(nn2, &format!("/tmp/{dir}/x.bin")));

    // A rename across the two nameservices is refused, and moves nothing.
    let r = c
        .with_props(&p)
        .rename(&x, &format!("hdfs://ns2/tmp/{dir}/x.bin"));
    assert_code(&r, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r).contains("different filesystems"), "{r:?}");
    assert!(exists_at(nn1, &format!("/tmp/{dir}/x.bin")));

    // Deleting in one namespace leaves the other alone.
    assert_ok(&c.with_props(&p).delete(&format!("hdfs://ns1/tmp/{dir}")));
    assert!(!exists_at(nn1, &format!("/tmp/{dir}")));
    assert!(exists_at(nn2, &format!("/tmp/{dir}/y.bin")));
    assert_ok(&c.with_props(&p).delete(&format!("hdfs://ns2/tmp/{dir}")));
    assert!(!exists_at(nn2, &format!("/tmp/{dir}")));
}

/// Federation without HA: each nameservice names its one namenode as
/// `dfs.namenode.rpc-address.NS` (no `dfs.ha.namenodes.NS`), which Hadoop's
/// ConfiguredFailoverProxyProvider accepts and the broker's own checks let through.
#[test]
fn non_ha_nameservices_name_their_namenode_directly() {
    if missing(Server::Hdfs) {
        return;
    }
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
        c.with_props(&p).write_file(&f, "be:1", ns.as_bytes(), 1024);
        assert_eq!(
            c.with_props(&p).glob(&format!("hdfs://{ns}/tmp/{dir}/*")),
            vec![f.clone()]
        );
        assert!(exists_at(nn, &format!("/tmp/{dir}/{ns}.csv")));
        assert_ok(&c.with_props(&p).delete(&format!("hdfs://{ns}/tmp/{dir}")));
    }
}

/// The suite on the second namespace (`hdfs://ns2/tmp/fed-conf-*`), configured from the
/// cluster's conf/ XML.
mod conformance {
    use super::*;
    use crate::conformance::{Check, Suite, Target};

    fn run(check: Check) {
        static SUITE: Suite = Suite::new();
        let cluster = cluster();
        let conf = cluster.conf_dir();
        SUITE.run(
            &cluster.id(),
            || BrokerProcess::start_with_hadoop_conf(&[], Some(&conf)),
            |_| {
                Target::new(
                    format!("hdfs://ns2/tmp/{}", unique("fed-conf")),
                    Props::new(),
                )
            },
            check,
        );
    }

    crate::conformance::conformance_tests!(run, needs Server::Hdfs);
}
