//! `webhdfs://` against the MiniDFSCluster's namenode HTTP port (WebHDFS is on by default
//! in Hadoop 3; the data calls are redirected to the datanodes' HTTP ports), through the
//! Thrift wire: the whole conformance suite, a 256 MiB round trip, the reaper, permission
//! refusals, a forged delegation token and a refused `user.name` on the Kerberos cluster
//! with SPNEGO on its web ports, `fs.defaultFS`; and that
//! `swebhdfs://` speaks TLS. On the HA cluster (hdfs_ha.rs's), `webhdfs://ns1/`: the
//! suite, and calls across failovers. Through Hadoop's HttpFS gateway beside the plain
//! cluster (launcher `--httpfs`, plain HTTP; webhdfs_gateways.rs has it over HTTPS): the
//! suite, the reaper, permission refusals.
//!
//! The cluster lists at most 4 entries per WebHDFS page (`dfs.ls.limit`), so the suite's
//! listings (up to 6 entries a directory) take several `LISTSTATUS_BATCH` pages.

use std::io::Read;

use crate::common::hdfs_checks;
use crate::common::minicluster::{shared, Cluster, MiniCluster};
use crate::common::object_checks::write_round_trip;
use crate::common::*;
use crate::conformance::unique;

fn cluster() -> Cluster {
    shared("plain", &["--conf", "dfs.ls.limit=4", "--httpfs"])
}

/// `webhdfs://127.0.0.1:HTTP` of the cluster's namenode.
fn webhdfs_root(cluster: &MiniCluster) -> String {
    format!("webhdfs://{}", cluster.fact("namenode.0.http"))
}

// The suite on `webhdfs://127.0.0.1:HTTP/tmp/conf-*`.
crate::conformance::cluster_conformance!(cluster, webhdfs_root, |_| Props::new());

/// 256 MiB in 1 MiB pwrites, nothing visible before closeWriter, read back in 8 MiB
/// preads and compared by hash.
#[test]
fn a_256_mib_round_trip() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let path = format!("{}/tmp/{}/big.bin", webhdfs_root(&cluster), unique("big"));
    let broker = BrokerProcess::start();
    write_round_trip(&broker, &path, &Props::new(), 256 << 20);
}

/// The reaper aborts an idle client's writer: its temporary file goes, nothing is
/// committed, later calls on the fd say it expired.
#[test]
fn a_reaped_writer_leaves_no_file() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    hdfs_checks::reaped_writer_leaves_no_file(&cluster.namenode_uri(0), &webhdfs_root(&cluster));
}

/// `username` is the `user.name` of every call: a permission refusal is NOT_AUTHORIZED
/// with the namenode's own words.
#[test]
fn permission_refusals_are_not_authorized_with_the_namenodes_reason() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let root = webhdfs_root(&cluster);
    let dir = unique("users");
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let bob = props(&[("username", "bob")]);
    let file = format!("{root}/tmp/{dir}/alice/data.csv");
    hdfs_checks::permission_refusals(&mut c, &file, &bob);
    let r = c
        .with_props(&bob)
        .rename(&file, &format!("{root}/tmp/{dir}/alice/moved.csv"));
    assert_code(&r, Code::NOT_AUTHORIZED);
    assert!(message(&r).contains("Permission denied"), "{r:?}");
}

/// Hadoop's URL-safe string of a well-formed HDFS delegation token for `owner` that no
/// namenode issued (Token and DelegationTokenIdentifier as Writables).
/// `forged_token("alice")` is listed in tests/secrets.txt: no log may show it.
fn forged_token(owner: &str) -> String {
    use base64::Engine;
    fn text(out: &mut Vec<u8>, s: &str) {
        out.push(s.len() as u8); // a vint below 128 is one byte
        out.extend_from_slice(s.as_bytes());
    }
    let mut id = vec![0u8]; // version
    text(&mut id, owner);
    text(&mut id, owner); // renewer
    text(&mut id, ""); // real user
    id.extend_from_slice(&[0, 0, 7, 1]); // issue date, max date, sequence number, master key
    let mut token = Vec::new();
    token.push(id.len() as u8);
    token.extend_from_slice(&id);
    let password = b"forged-token-password";
    token.push(password.len() as u8);
    token.extend_from_slice(password);
    text(&mut token, "HDFS_DELEGATION_TOKEN");
    text(&mut token, "127.0.0.1:1");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token)
}

/// The Kerberos cluster with SPNEGO on its web ports (launcher `--spnego`).
fn spnego_cluster() -> Cluster {
    shared("secure", &["--datanodes", "1", "--spnego"])
}

/// On a Kerberos cluster a delegation token is what WebHDFS callers without SPNEGO bring:
/// one the namenode never issued is NOT_AUTHORIZED with the namenode's reason, and never
/// reaches the log.
#[test]
fn secure_cluster_refuses_a_token_it_never_issued() {
    if missing(Server::Kerberos) {
        return;
    }
    let cluster = spnego_cluster();
    let root = webhdfs_root(&cluster);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let token = forged_token("alice");
    let r = c
        .with_props(&props(&[("delegation_token", &token)]))
        .exists(&format!("{root}/alice"));
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&r.op_status);
    assert!(
        msg.contains("InvalidToken") && msg.contains("can't be found"),
        "{msg}"
    );
    assert!(
        !broker.log().contains(&token[..40]),
        "the token reached the log"
    );
}

/// Without a token, a namenode whose web port requires SPNEGO refuses `user.name`: the
/// broker (which speaks no SPNEGO) answers NOT_AUTHORIZED with the server's reason.
#[test]
fn secure_cluster_refuses_a_user_name_without_spnego() {
    if missing(Server::Kerberos) {
        return;
    }
    let cluster = spnego_cluster();
    let root = webhdfs_root(&cluster);
    let broker = BrokerProcess::start();
    let r = broker
        .client()
        .with_props(&props(&[("username", "alice")]))
        .exists(&format!("{root}/alice"));
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&r.op_status);
    assert!(
        msg.contains("HTTP 401") && msg.contains("Authentication required"),
        "{msg}"
    );
}

/// `webhdfs:///path` takes the host of `fs.defaultFS`.
#[test]
fn a_path_without_host_takes_fs_default_fs() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let root = webhdfs_root(&cluster);
    let dir = unique("dfs");
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = props(&[("fs.defaultFS", &root)]);
    c.with_props(&p)
        .write_file(&format!("webhdfs:///tmp/{dir}/a.csv"), "be:1", b"abc", 1024);
    let listed = listed(
        &c.with_props(&p)
            .list(&format!("webhdfs:///tmp/{dir}/*"), false, false),
    );
    assert_eq!(listed, vec![format!("{root}/tmp/{dir}/a.csv")]);
    let r = c.with_props(&Props::new()).exists("webhdfs:///tmp/x");
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    assert!(
        message(&r.op_status).contains("fs.defaultFS"),
        "{:?}",
        r.op_status
    );
}

/// `swebhdfs://` is WebHDFS over TLS: the first bytes the broker sends are a TLS
/// handshake record (whatever answers: webhdfs_gateways.rs has the TLS cluster).
#[test]
fn swebhdfs_speaks_tls() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let first = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut head = [0u8; 3];
        conn.read_exact(&mut head).unwrap();
        head
    });
    let broker = BrokerProcess::start();
    let r = broker
        .client()
        .exists(&format!("swebhdfs://127.0.0.1:{port}/tmp/x"));
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    let head = first.join().unwrap();
    // Content type 22 (handshake), protocol version 3.x.
    assert_eq!(&head[..2], &[0x16, 0x03], "not a TLS ClientHello: {head:?}");
}

/// `webhdfs://127.0.0.1:HTTPFS`: the gateway impersonates each call's `user.name`.
mod httpfs {
    use super::*;

    fn httpfs_root(cluster: &MiniCluster) -> String {
        format!("webhdfs://{}", cluster.fact("httpfs"))
    }

    // The suite on `webhdfs://127.0.0.1:HTTPFS/tmp/conf-*`.
    crate::conformance::cluster_conformance!(cluster, httpfs_root, |_| Props::new());

    /// The reaper's abort deletes the temporary file through the gateway too.
    #[test]
    fn a_reaped_writer_leaves_no_file() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        hdfs_checks::reaped_writer_leaves_no_file(&cluster.namenode_uri(0), &httpfs_root(&cluster));
    }

    /// The namenode's refusals of the impersonated user come through the gateway as
    /// NOT_AUTHORIZED with the namenode's words.
    #[test]
    fn permission_refusals_are_not_authorized() {
        if missing(Server::Hdfs) {
            return;
        }
        let cluster = cluster();
        let broker = BrokerProcess::start();
        let mut c = broker.client();
        let file = format!(
            "{}/tmp/{}/alice/data.csv",
            httpfs_root(&cluster),
            unique("users")
        );
        hdfs_checks::permission_refusals(&mut c, &file, &props(&[("username", "bob")]));
    }
}

/// `webhdfs://ns1/` on the HA MiniDFSCluster (hdfs_ha.rs's: nn1 active, nn2 standby), the
/// nameservice's namenodes named by their HTTP addresses in request properties alone.
pub(crate) mod ha {
    use super::*;
    use crate::hdfs_ha::{assert_states, cluster, nameservice_keys};

    const MIB: usize = 1 << 20;

    fn ha_props(cluster: &MiniCluster) -> Props {
        nameservice_keys(cluster, "http-address", "http")
    }

    // The suite on `webhdfs://ns1/tmp/conf-*`.
    crate::conformance::cluster_conformance!(cluster, |_| "webhdfs://ns1".into(), ha_props);

    /// A reader opened before a failover reads on after it, and listings, writes and
    /// reads keep working with nn2 active, then with nn1 active again. A first namenode
    /// that refuses connections (no server on its port) is passed over. (No namenode is
    /// stopped: a MiniDFSCluster namenode restarted and then active redirects writes to
    /// datanodes that no longer resolve the nameservice.)
    #[test]
    fn calls_keep_working_across_a_failover() {
        if missing(Server::Hdfs) {
            return;
        }
        let mut cluster = cluster();
        let p = ha_props(&cluster);
        calls_keep_working_across_a_failover_on(&mut cluster, "webhdfs", "http-address", p);
    }

    /// The failover check above on `<scheme>://ns1/` of `cluster` (an HA one in its initial
    /// state), `p` naming the namenodes by their `dfs.namenode.<kind>.ns1.*` addresses.
    pub(crate) fn calls_keep_working_across_a_failover_on(
        cluster: &mut MiniCluster,
        scheme: &str,
        kind: &str,
        mut p: Props,
    ) {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let refused = closed.local_addr().unwrap().to_string();
        drop(closed);
        p.insert("dfs.ha.namenodes.ns1".into(), "nn0,nn1,nn2".into());
        p.insert(format!("dfs.namenode.{kind}.ns1.nn0"), refused);
        let broker = BrokerProcess::start();
        let mut c = broker.client();
        c.with_props(&p);
        let dir = format!("{scheme}://ns1/tmp/{}", unique("failover"));
        let data = test_data(3 * MIB, 23);
        let before = format!("{dir}/before.bin");
        c.write_file(&before, "be:1", &data, MIB);
        let fd = c.reader_fd(&before, "be:1");
        assert!(c.read_exact_at(&fd, 0, MIB) == data[..MIB]);

        cluster.command("transition-active 1");
        assert_states(cluster, "standby", "active");
        assert!(c.read_exact_at(&fd, MIB, MIB) == data[MIB..2 * MIB]);
        let after = format!("{dir}/after.bin");
        c.write_file(&after, "be:1", &data[..MIB], MIB);
        assert!(c.read_file(&after, "be:1", MIB as i64) == data[..MIB]);
        let listed = c.list(&format!("{dir}/*"), false, true).files;
        assert_eq!(listed.map(|f| f.len()), Some(2));

        cluster.command("transition-active 0");
        assert_states(cluster, "active", "standby");
        assert!(c.read_exact_at(&fd, 2 * MIB, MIB) == data[2 * MIB..]);
        assert_ok(&c.close_reader(&fd));
        assert_ok(&c.delete(&dir));
        let r = c.exists(&before);
        assert_ok(&r.op_status);
        assert!(!r.is_path_exist, "deleted with nn1 active again: {r:?}");
    }

    /// Both namenodes standby: a call fails over between them for a bounded time, then
    /// answers with the namenodes' StandbyException rather than hanging.
    #[test]
    fn no_active_namenode_fails_within_bounds() {
        if missing(Server::Hdfs) {
            return;
        }
        let mut cluster = cluster();
        let p = ha_props(&cluster);
        let broker = BrokerProcess::start();
        let mut c = broker.client();
        c.with_props(&p);
        cluster.command("transition-standby 0");
        assert_states(&cluster, "standby", "standby");
        let started = std::time::Instant::now();
        let r = c.list("webhdfs://ns1/tmp", false, false);
        let took = started.elapsed();
        cluster.command("transition-active 0");
        assert_states(&cluster, "active", "standby");
        assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
        assert!(
            message(&r.op_status).contains("StandbyException"),
            "{:?}",
            r.op_status
        );
        assert!(took < std::time::Duration::from_secs(60), "{took:?}");
    }
}
