//! The ftp:// backend against a real FTP server (pyftpdlib, common/pyftpdlib.rs), through
//! the Thrift wire: the conformance suite with the user and password in the URI over
//! active data connections (Hadoop's default) and over passive ones, and with Hadoop's
//! `fs.ftp.*` keys (passive); a round trip with active ones; a 64 MiB write read back in
//! sequential preads over one transfer; the reaper; refused logins and a read-only user
//! answered NOT_AUTHORIZED with the server's reply; the password kept out of the broker's
//! log (and, by scripts/test.sh, out of every log). The server carries a fix for
//! pyftpdlib's active mode (common/ftp_server.py).

use std::sync::OnceLock;

use crate::common::object_checks::{big_write_round_trip, reaped_writer_leaves_nothing};
use crate::common::pyftpdlib::{FtpServer, PASSWORD, READER, READER_PASSWORD, USER};
use crate::common::*;
use crate::conformance::unique;

fn server() -> &'static FtpServer {
    static SERVER: OnceLock<FtpServer> = OnceLock::new();
    SERVER.get_or_init(FtpServer::start)
}

/// Hadoop's keys instead of user information, and passive data connections.
fn hadoop_keys() -> Props {
    props(&[
        ("fs.ftp.user.127.0.0.1", USER),
        ("fs.ftp.password.127.0.0.1", PASSWORD),
        (
            "fs.ftp.data.connection.mode",
            "PASSIVE_LOCAL_DATA_CONNECTION_MODE",
        ),
    ])
}

/// The suite, one broker and base each: `ftp::conformance::uri_login_active::rename_dir` ...
macro_rules! conformance_on {
    ($name:ident, $base:expr, $props:expr) => {
        mod $name {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let ftp = server();
                SUITE.run(
                    "pyftpdlib",
                    BrokerProcess::start,
                    |_| Target::new(format!("{}/{}", $base(ftp), unique("conf")), $props),
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::Ftp);
        }
    };
}

/// Passive data connections, said explicitly.
fn passive() -> Props {
    props(&[(
        "fs.ftp.data.connection.mode",
        "PASSIVE_LOCAL_DATA_CONNECTION_MODE",
    )])
}

/// Active data connections (PORT, Hadoop's default), said explicitly.
fn active() -> Props {
    props(&[(
        "fs.ftp.data.connection.mode",
        "ACTIVE_LOCAL_DATA_CONNECTION_MODE",
    )])
}

mod conformance {
    use super::*;
    conformance_on!(
        uri_login_passive,
        |f: &FtpServer| f.base(USER, PASSWORD),
        passive()
    );
    conformance_on!(
        hadoop_keys_passive,
        |f: &FtpServer| format!("ftp://127.0.0.1:{}", f.port),
        hadoop_keys()
    );
    conformance_on!(
        uri_login_active,
        |f: &FtpServer| f.base(USER, PASSWORD),
        active()
    );
}

/// 64 MiB in 1 MiB pwrites, read back in 8 MiB preads: one RETR serves every pread.
#[test]
fn a_64_mib_write_reads_back_over_one_transfer() {
    if missing(Server::Ftp) {
        return;
    }
    let ftp = server();
    let broker = BrokerProcess::start();
    let dir = unique("big");
    let path = format!("{}/{dir}/big.bin", ftp.base(USER, PASSWORD));
    big_write_round_trip(&broker, &path, &passive());
    let retrs = ftp
        .output()
        .lines()
        .filter(|l| l.contains("] RETR /") && l.contains(&format!("/{dir}/big.bin ")))
        .count();
    assert_eq!(
        retrs,
        1,
        "sequential preads reuse one transfer: {}",
        ftp.output()
    );
}

/// Active data connections (PORT, Hadoop's default, chosen by its key here): a write, a
/// listing, sequential and positional reads, a replace.
#[test]
fn active_mode_round_trip() {
    if missing(Server::Ftp) {
        return;
    }
    let ftp = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&props(&[(
        "fs.ftp.data.connection.mode",
        "ACTIVE_LOCAL_DATA_CONNECTION_MODE",
    )]));
    let path = format!("{}/{}/a.bin", ftp.base(USER, PASSWORD), unique("active"));
    let data = test_data(3 << 20, 11);
    c.write_file(&path, "be:1", &data, 1 << 20);
    assert_eq!(c.read_file(&path, "be:1", 1 << 20), data);
    let fd = c.reader_fd(&path, "be:1");
    assert_eq!(c.read_at(&fd, 2 << 20, 10), &data[2 << 20..(2 << 20) + 10]);
    assert_eq!(c.read_at(&fd, 5, 10), &data[5..15]);
    assert_ok(&c.close_reader(&fd));
    c.write_file(&path, "be:1", b"new", 3);
    assert_eq!(c.read_file(&path, "be:1", 1024), b"new");
    assert_eq!(c.list(&path, false, false).files.map(|f| f.len()), Some(1));
}

#[test]
fn a_reaped_writer_leaves_nothing() {
    if missing(Server::Ftp) {
        return;
    }
    let ftp = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let dir = unique("reap");
    let path = format!("{}/{dir}/reaped.bin", ftp.base(USER, PASSWORD));
    reaped_writer_leaves_nothing(&broker, &path, &Props::new());
    let local = ftp.root().join(&dir);
    wait_for(
        "the temporary file to go",
        std::time::Duration::from_secs(10),
        || std::fs::read_dir(&local).map_or(true, |d| d.count() == 0),
    );
}

/// A wrong password and an unknown user: NOT_AUTHORIZED with the server's reply; a
/// read-only user may read but not write. The password is in no message and no log line.
#[test]
fn refused_logins_and_writes_are_not_authorized_with_the_reason() {
    if missing(Server::Ftp) {
        return;
    }
    let ftp = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let wrong = "wrong-secret-value-42";
    for base in [ftp.base(USER, wrong), ftp.base("nobody", wrong)] {
        let r = c.list(&format!("{base}/x"), false, false);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        let m = message(&r.op_status);
        assert!(m.contains("530") && m.contains("refused the login"), "{m}");
        assert!(!m.contains(wrong), "{m}");
    }
    let dir = unique("ro");
    let file = format!("{}/{dir}/a.csv", ftp.base(USER, PASSWORD));
    c.write_file(&file, "be:1", b"a,b\n", 4);
    let reader = ftp.base(READER, READER_PASSWORD);
    assert_eq!(
        c.read_file(&format!("{reader}/{dir}/a.csv"), "be:1", 1024),
        b"a,b\n"
    );
    let w = c.open_writer(&format!("{reader}/{dir}/b.csv"), "be:1");
    assert_code(&w.op_status, Code::NOT_AUTHORIZED);
    assert!(
        message(&w.op_status).contains("Not enough privileges"),
        "{:?}",
        w.op_status
    );
    let d = c.delete(&format!("{reader}/{dir}/a.csv"));
    assert_code(&d, Code::NOT_AUTHORIZED);
    let log = broker.log();
    assert!(
        log.contains("NOT_AUTHORIZED"),
        "the refusals are logged: {log}"
    );
    for secret in [wrong, PASSWORD, READER_PASSWORD, "secret-9f3a"] {
        assert!(!log.contains(secret), "{secret} in the broker's log: {log}");
    }
}
