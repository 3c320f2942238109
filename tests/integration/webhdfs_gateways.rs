//! `swebhdfs://`, WebHDFS over TLS, on an HA MiniDFSCluster whose web ports all speak
//! HTTPS only (launcher `ha --https --httpfs`: a certificate made at start, trusted through
//! Hadoop's `ssl.client.truststore.*` keys): on the active namenode's HTTPS port (the whole
//! conformance suite, a 256 MiB round trip, the truststore's failures), as `swebhdfs://ns1/`
//! (the suite and calls across a failover), and through Hadoop's HttpFS gateway serving
//! HTTPS beside it (the suite, the reaper). webhdfs.rs has the plain-HTTP gateway.

use crate::common::minicluster::{shared, Cluster, MiniCluster};
use crate::common::object_checks::write_round_trip;
use crate::common::*;
use crate::conformance::unique;

/// One cluster for the module: nn1 active, nn2 standby, HTTPS only on both namenodes,
/// the datanodes and the HttpFS gateway beside them.
fn cluster() -> Cluster {
    let mut guard = shared("ha", &["--conf", "dfs.ls.limit=4", "--https", "--httpfs"]);
    crate::hdfs_ha::restore(&mut guard);
    guard
}

const LOCATION: &str = "ssl.client.truststore.location";
const TYPE: &str = "ssl.client.truststore.type";
const PASSWORD: &str = "ssl.client.truststore.password";
/// Listed in tests/secrets.txt: no log may show it.
const WRONG_PASSWORD: &str = "wrong-truststore-pw-5e1";

/// `swebhdfs://127.0.0.1:HTTPS` of the active namenode, nn1.
fn swebhdfs_root(cluster: &MiniCluster) -> String {
    format!("swebhdfs://{}", cluster.fact("namenode.0.https"))
}

/// The launcher's PKCS12 truststore (holding the cluster's certificate) as properties.
fn pkcs12_trust(cluster: &MiniCluster) -> Props {
    props(&[
        (LOCATION, &cluster.fact("tls.truststore")),
        (TYPE, "pkcs12"),
        (PASSWORD, &cluster.fact("tls.truststore_password")),
    ])
}

/// Hadoop's `ssl-client.xml` in `dir` with the launcher's PKCS12 truststore.
fn write_ssl_client_xml(dir: &std::path::Path, cluster: &MiniCluster) {
    let xml: String = pkcs12_trust(cluster)
        .iter()
        .map(|(k, v)| format!("<property><name>{k}</name><value>{v}</value></property>"))
        .collect();
    std::fs::write(
        dir.join("ssl-client.xml"),
        format!("<?xml version=\"1.0\"?><configuration>{xml}</configuration>"),
    )
    .unwrap();
}

mod swebhdfs {
    use super::*;

    // The suite on `swebhdfs://127.0.0.1:HTTPS/tmp/conf-*`, trusting the PKCS12 store.
    crate::conformance::cluster_conformance!(cluster, swebhdfs_root, pkcs12_trust);

    /// 256 MiB over HTTPS (namenode and datanodes), read back by hash.
    #[test]
    fn a_256_mib_round_trip() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let path = format!("{}/tmp/{}/big.bin", swebhdfs_root(&cluster), unique("big"));
        let broker = BrokerProcess::start();
        write_round_trip(&broker, &path, &pkcs12_trust(&cluster), 256 << 20);
        assert!(
            !broker
                .log()
                .contains(&cluster.fact("tls.truststore_password")),
            "the truststore password reached the log"
        );
    }

    /// The certificate as a PEM file is trusted too (type `pem`, or found by its header
    /// whatever the type says).
    #[test]
    fn a_pem_file_is_a_truststore() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let broker = BrokerProcess::start();
        let mut c = broker.client();
        let tmp = format!("{}/tmp", swebhdfs_root(&cluster));
        for kind in ["pem", "jks"] {
            let p = props(&[(LOCATION, &cluster.fact("tls.ca_pem")), (TYPE, kind)]);
            let r = c.with_props(&p).exists(&tmp);
            assert_ok(&r.op_status);
            assert!(r.is_path_exist, "{kind}: {r:?}");
        }
    }

    /// A Hadoop `ssl-client.xml` beside the broker's conf is the truststore of requests
    /// that name none; a request's own keys win over it.
    #[test]
    fn ssl_client_xml_is_read() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let password = cluster.fact("tls.truststore_password");
        let conf = tempfile::tempdir().unwrap();
        write_ssl_client_xml(conf.path(), &cluster);
        let broker = BrokerProcess::start_with_hadoop_conf(&[], Some(conf.path()));
        let mut c = broker.client();
        let tmp = format!("{}/tmp", swebhdfs_root(&cluster));
        let r = c.with_props(&Props::new()).exists(&tmp);
        assert_ok(&r.op_status);
        assert!(r.is_path_exist, "{r:?}");
        let r = c
            .with_props(&props(&[(LOCATION, "/nonexistent/ca.pem")]))
            .exists(&tmp);
        assert_code(&r.op_status, Code::INVALID_ARGUMENT);
        assert!(
            !broker.log().contains(&password),
            "the password reached the log"
        );
    }

    /// Without a truststore the system's roots do not know the cluster's certificate: the
    /// call fails at once, naming the server and the certificate.
    #[test]
    fn an_untrusted_certificate_is_named() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let server = cluster.fact("namenode.0.https");
        let broker = BrokerProcess::start();
        let mut c = broker.client();
        let r = c
            .with_props(&Props::new())
            .exists(&format!("swebhdfs://{server}/tmp"));
        assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
        let msg = message(&r.op_status);
        assert!(
            msg.contains(&server) && msg.contains("certificate") && msg.contains(LOCATION),
            "{msg}"
        );
    }

    /// A truststore that cannot be read or opened is INVALID_ARGUMENT naming the key and
    /// the cause; the password never reaches the log.
    #[test]
    fn a_bad_truststore_is_an_invalid_argument() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let tmp = format!("{}/tmp", swebhdfs_root(&cluster));
        let broker = BrokerProcess::start();
        let mut c = broker.client();
        let store = cluster.fact("tls.truststore");
        let cases = [
            (props(&[(LOCATION, "/nonexistent/ca.p12")]), "cannot read"),
            (
                props(&[
                    (LOCATION, &store),
                    (TYPE, "pkcs12"),
                    (PASSWORD, WRONG_PASSWORD),
                ]),
                PASSWORD,
            ),
            (props(&[(LOCATION, &store), (TYPE, "bks")]), TYPE),
        ];
        for (p, cause) in cases {
            let r = c.with_props(&p).exists(&tmp);
            assert_code(&r.op_status, Code::INVALID_ARGUMENT);
            let msg = message(&r.op_status);
            assert!(msg.contains(cause), "{msg}");
            assert!(!msg.contains(WRONG_PASSWORD), "{msg}");
        }
        assert!(
            !broker.log().contains(WRONG_PASSWORD),
            "a password reached the log"
        );
    }
}

/// `swebhdfs://127.0.0.1:HTTPFS`: the gateway serving HTTPS with the cluster's
/// certificate (HttpFS's `httpfs.ssl.enabled`), trusted through the same truststore.
mod httpfs {
    use super::*;

    fn httpfs_root(cluster: &MiniCluster) -> String {
        format!("swebhdfs://{}", cluster.fact("httpfs"))
    }

    // The suite on `swebhdfs://127.0.0.1:HTTPFS/tmp/conf-*`, trusting the PKCS12 store.
    crate::conformance::cluster_conformance!(cluster, httpfs_root, pkcs12_trust);

    /// The gateway's port speaks TLS only: without the truststore the certificate is
    /// refused, naming the gateway.
    #[test]
    fn an_untrusted_gateway_certificate_is_named() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let broker = BrokerProcess::start();
        let r = broker
            .client()
            .with_props(&Props::new())
            .exists(&format!("{}/tmp", httpfs_root(&cluster)));
        assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
        let msg = message(&r.op_status);
        assert!(
            msg.contains(&cluster.fact("httpfs")) && msg.contains("certificate"),
            "{msg}"
        );
    }
}

/// `swebhdfs://ns1/`: the nameservice's namenodes by their
/// `dfs.namenode.https-address.ns1.*` in request properties, with the truststore.
mod ha {
    use super::*;
    use crate::hdfs_ha::nameservice_keys;
    use crate::webhdfs::ha::calls_keep_working_across_a_failover_on;

    fn ha_props(cluster: &MiniCluster) -> Props {
        let mut p = nameservice_keys(cluster, "https-address", "https");
        p.extend(pkcs12_trust(cluster));
        p
    }

    // The suite on `swebhdfs://ns1/tmp/conf-*`.
    crate::conformance::cluster_conformance!(cluster, |_| "swebhdfs://ns1".into(), ha_props);

    /// No request property at all: the nameservice from the cluster's own client config
    /// (its `hdfs-site.xml`, with `dfs.namenode.https-address.ns1.*`) and the truststore
    /// from an `ssl-client.xml`, all in the broker's conf.
    #[test]
    fn a_nameservice_from_hadoop_xml() {
        if missing(Server::Hdfs) {
            return;
        }
        const MIB: usize = 1 << 20;
        let cluster = cluster();
        let conf = tempfile::tempdir().unwrap();
        for file in ["core-site.xml", "hdfs-site.xml"] {
            std::fs::copy(cluster.conf_dir().join(file), conf.path().join(file)).unwrap();
        }
        write_ssl_client_xml(conf.path(), &cluster);
        let broker = BrokerProcess::start_with_hadoop_conf(&[], Some(conf.path()));
        let mut c = broker.client();
        c.with_props(&Props::new());
        let dir = format!("swebhdfs://ns1/tmp/{}", unique("ha-xml"));
        let file = format!("{dir}/x.bin");
        let data = test_data(2 * MIB + 5, 9);
        c.write_file(&file, "be:1", &data, MIB);
        assert_eq!(c.glob(&format!("{dir}/*")), vec![file.clone()]);
        assert!(c.read_file(&file, "be:1", MIB as i64) == data);
        assert_ok(&c.delete(&dir));
        assert!(!c.exists(&dir).is_path_exist);
    }

    /// webhdfs.rs's failover check over HTTPS: a reader across failovers both ways, writes
    /// and listings with either namenode active, a refusing first namenode passed over.
    #[test]
    fn calls_keep_working_across_a_failover() {
        if missing(Server::Hdfs) {
            return;
        }
        let mut cluster = cluster();
        let p = ha_props(&cluster);
        calls_keep_working_across_a_failover_on(&mut cluster, "swebhdfs", "https-address", p);
    }
}
