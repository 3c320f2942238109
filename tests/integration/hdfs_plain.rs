//! The HDFS backend against a real MiniDFSCluster (1 namenode, 3 datanodes), through the
//! Thrift wire: the whole conformance suite, defaultFS resolution, per-request users and
//! permissions, and refusals for what this build does not do.

use crate::common::hdfs_checks;
use crate::common::minicluster::{direct, shared, Cluster};
use crate::common::*;
use crate::conformance::unique;

/// The plain cluster, locked for the calling test.
fn cluster() -> Cluster {
    shared("plain", &[])
}

// The suite on `hdfs://127.0.0.1:PORT/tmp/conf-*`.
crate::conformance::cluster_conformance!(cluster, |c| c.namenode_uri(0), |_| Props::new());

#[test]
fn a_path_without_authority_takes_fs_default_fs() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let nn = cluster.namenode_uri(0);
    let dir = unique("dfs");
    // From the request's properties ...
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = props(&[("fs.defaultFS", &nn)]);
    c.with_props(&p)
        .write_file(&format!("hdfs:///tmp/{dir}/a.csv"), "be:1", b"abc", 1024);
    let listed = listed(
        &c.with_props(&p)
            .list(&format!("hdfs:///tmp/{dir}/*"), false, false),
    );
    assert_eq!(listed, vec![format!("{nn}/tmp/{dir}/a.csv")]);
    // ... and from core-site.xml in the broker's conf/.
    let conf_dir = cluster.conf_dir();
    let broker = BrokerProcess::start_with_hadoop_conf(&[], Some(&conf_dir));
    let mut c = broker.client();
    let data = c.read_file(&format!("hdfs:///tmp/{dir}/a.csv"), "be:1", 1024);
    assert_eq!(data, b"abc");
    // Without either, the broker says what is missing.
    let broker = BrokerProcess::start();
    let r = broker.client().exists("hdfs:///tmp/x");
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    assert!(
        message(&r.op_status).contains("fs.defaultFS"),
        "{:?}",
        r.op_status
    );
}

/// The owner of a file as the namenode sees it.
fn owner_of(nn: &str, path: &str) -> String {
    direct(nn, async |client| {
        client.get_file_info(path).await.unwrap().owner
    })
}

#[test]
fn username_decides_the_owner_and_the_permissions() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let nn = cluster.namenode_uri(0);
    let dir = unique("users");
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let bob = props(&[("username", "bob"), ("password", "secret-of-bob")]);
    let file = format!("{nn}/tmp/{dir}/alice/data.csv");
    hdfs_checks::permission_refusals(&mut c, &file, &bob);
    assert_eq!(
        owner_of(&nn, &format!("/tmp/{dir}/alice/data.csv")),
        "alice"
    );
    assert_eq!(owner_of(&nn, &format!("/tmp/{dir}/alice")), "alice");
    // The password is part of the client identity only: it never reaches a log.
    assert!(!broker.log().contains("secret-of-bob"));
}

#[test]
fn kerberos_without_a_principal_is_named() {
    if missing(Server::Hdfs) {
        return;
    }
    // The rest of Kerberos runs against a real KDC in hdfs_kerberos/.
    let cluster = cluster();
    let nn = cluster.namenode_uri(0);
    let broker = BrokerProcess::start();
    let p = props(&[("hadoop.security.authentication", "kerberos")]);
    let r = broker.client().with_props(&p).exists(&format!("{nn}/tmp"));
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(
        message(&r.op_status).contains("kerberos_principal"),
        "{:?}",
        r.op_status
    );
}

#[test]
fn missing_ha_pieces_are_named() {
    if missing(Server::Hdfs) {
        return;
    }
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = props(&[("dfs.nameservices", "nsx")]);
    let r = c.with_props(&p).exists("hdfs://nsx/tmp");
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(
        message(&r.op_status).contains("dfs.ha.namenodes.nsx"),
        "{:?}",
        r.op_status
    );
    let p = props(&[
        ("dfs.nameservices", "nsx"),
        ("dfs.ha.namenodes.nsx", "nn1,nn2"),
        ("dfs.namenode.rpc-address.nsx.nn1", "127.0.0.1:1"),
    ]);
    let r = c.with_props(&p).exists("hdfs://nsx/tmp");
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(
        message(&r.op_status).contains("dfs.namenode.rpc-address.nsx.nn2"),
        "{:?}",
        r.op_status
    );
}

/// 1 GiB written with 4 MiB pwrites (the BE's snapshot upload size) and read back with
/// 8 MiB preads (the BE's read size): every byte arrives, in order.
#[test]
fn a_gibibyte_round_trip() {
    if missing(Server::Hdfs) {
        return;
    }
    const SIZE: usize = 1 << 30;
    const CHUNK: usize = 4 << 20;
    let cluster = cluster();
    let nn = cluster.namenode_uri(0);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let path = format!("{nn}/tmp/{}/big.bin", unique("big"));
    let fd = c.writer_fd(&path, "be:1");
    let mut sent = Fnv::new();
    let mut chunk = vec![0u8; CHUNK];
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..SIZE / CHUNK {
        fill(&mut chunk, &mut seed);
        sent.update(&chunk);
        assert_ok(&c.pwrite(&fd, (i * CHUNK) as i64, &chunk));
    }
    assert_ok(&c.close_writer(&fd));
    let fd = c.reader_fd(&path, "be:1");
    let mut got = Fnv::new();
    let mut offset = 0i64;
    loop {
        let r = c.pread(&fd, offset, 8 << 20);
        assert_ok(&r.op_status);
        let data = r.data.unwrap();
        if data.is_empty() {
            break;
        }
        assert!(data.len() == 8 << 20 || offset as usize + data.len() == SIZE);
        got.update(&data);
        offset += data.len() as i64;
    }
    assert_eq!(offset as usize, SIZE);
    assert_eq!(got.0, sent.0, "checksum of the bytes read back");
    assert_ok(&c.close_reader(&fd));
    assert_ok(&c.delete(&path));
}

/// The reaper aborts an idle client's HDFS writer: the partial (temporary) file is
/// deleted, never completed, and later calls on the fd say it expired.
#[test]
fn a_reaped_writer_leaves_no_file() {
    if missing(Server::Hdfs) {
        return;
    }
    let cluster = cluster();
    let nn = cluster.namenode_uri(0);
    hdfs_checks::reaped_writer_leaves_no_file(&nn, &nn);
}
