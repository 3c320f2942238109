//! The sftp:// backend against real SSH servers, through the Thrift wire: OpenSSH's sshd
//! (common/sshd.rs) with a key (`fs.sftp.keyfile`), and asyncssh (common/asyncssh.rs)
//! with a password in the URI (sshd would check passwords against the host's users).
//! The conformance suite on each; a 64 MiB write read back; the reaper; refused keys and
//! passwords answered NOT_AUTHORIZED naming what the server refused; the password kept
//! out of the broker's log (and, by scripts/test.sh, out of every log).

use std::sync::OnceLock;

use crate::common::asyncssh::{AsyncSsh, PASSWORD};
use crate::common::object_checks::{big_write_round_trip, reaped_writer_leaves_nothing};
use crate::common::sshd::Sshd;
use crate::common::*;
use crate::conformance::unique;

fn sshd() -> &'static Sshd {
    static SERVER: OnceLock<Sshd> = OnceLock::new();
    SERVER.get_or_init(Sshd::start)
}

fn asyncssh() -> &'static AsyncSsh {
    static SERVER: OnceLock<AsyncSsh> = OnceLock::new();
    SERVER.get_or_init(AsyncSsh::start)
}

fn key_props(sshd: &Sshd) -> Props {
    props(&[("fs.sftp.keyfile", &sshd.key.display().to_string())])
}

/// The suite on each server, one broker and base each: `sftp::conformance::openssh_key::
/// rename_dir` ...
mod conformance {
    use super::*;
    use crate::conformance::{Check, Suite, Target};

    mod openssh_key {
        use super::*;

        fn run(check: Check) {
            static SUITE: Suite = Suite::new();
            let sshd = sshd();
            SUITE.run(
                "sshd",
                BrokerProcess::start,
                |_| {
                    let dir = sshd.scratch().join(unique("conf"));
                    Target::new(format!("{}{}", sshd.base(), dir.display()), key_props(sshd))
                },
                check,
            );
        }

        crate::conformance::conformance_tests!(run, needs Server::Sshd);
    }

    mod asyncssh_password {
        use super::*;

        fn run(check: Check) {
            static SUITE: Suite = Suite::new();
            let server = asyncssh();
            SUITE.run(
                "asyncssh",
                BrokerProcess::start,
                |_| {
                    Target::new(
                        format!("{}/{}", server.base(PASSWORD), unique("conf")),
                        Props::new(),
                    )
                },
                check,
            );
        }

        crate::conformance::conformance_tests!(run, needs Server::AsyncSsh);
    }
}

#[test]
fn a_64_mib_write_reads_back_whole() {
    if missing(Server::Sshd) {
        return;
    }
    let sshd = sshd();
    let broker = BrokerProcess::start();
    let dir = sshd.scratch().join(unique("big"));
    let path = format!("{}{}/big.bin", sshd.base(), dir.display());
    big_write_round_trip(&broker, &path, &key_props(sshd));
}

#[test]
fn a_reaped_writer_leaves_nothing() {
    if missing(Server::Sshd) {
        return;
    }
    let sshd = sshd();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let dir = sshd.scratch().join(unique("reap"));
    let path = format!("{}{}/reaped.bin", sshd.base(), dir.display());
    reaped_writer_leaves_nothing(&broker, &path, &key_props(sshd));
    wait_for(
        "the temporary file to go",
        std::time::Duration::from_secs(10),
        || std::fs::read_dir(&dir).map_or(true, |d| d.count() == 0),
    );
}

/// A key the server does not know, and a wrong password: NOT_AUTHORIZED naming what was
/// refused and what the server accepts. The password is in no message and no log line.
#[test]
fn refused_keys_and_passwords_are_not_authorized_with_the_reason() {
    if missing(Server::Sshd) || missing(Server::AsyncSsh) {
        return;
    }
    let (sshd, password_server) = (sshd(), asyncssh());
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let stranger = props(&[("fs.sftp.keyfile", &sshd.stranger_key.display().to_string())]);
    let r = c
        .with_props(&stranger)
        .list(&format!("{}/tmp", sshd.base()), false, false);
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let m = message(&r.op_status);
    assert!(
        m.contains("refused user") && m.contains("fs.sftp.keyfile") && m.contains("publickey"),
        "{m}"
    );
    let wrong = "wrong-secret-value-42";
    let r = c.with_props(&Props::new()).list(
        &format!("{}/x", password_server.base(wrong)),
        false,
        false,
    );
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let m = message(&r.op_status);
    assert!(m.contains("refused user") && m.contains("password"), "{m}");
    assert!(!m.contains(wrong), "{m}");
    // The right password lists the (empty) root.
    let ok = c.list(
        &format!("{}/", password_server.base(PASSWORD)),
        false,
        false,
    );
    assert_ok(&ok.op_status);
    let log = broker.log();
    assert!(
        log.contains("NOT_AUTHORIZED"),
        "the refusals are logged: {log}"
    );
    for secret in [wrong, PASSWORD] {
        assert!(!log.contains(secret), "{secret} in the broker's log: {log}");
    }
}

/// 150 readers open at once on one client: more than 127 SFTP handles open on one session
/// would break (see `FILES_PER_SESSION`), so some go to another session; every one reads.
#[test]
fn many_files_open_at_once_each_read() {
    if missing(Server::Sshd) {
        return;
    }
    let sshd = sshd();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&key_props(sshd));
    let dir = sshd.scratch().join(unique("many"));
    let path = format!("{}{}/one.csv", sshd.base(), dir.display());
    c.write_file(&path, "be:1", b"0123456789", 10);
    let fds: Vec<_> = (0..150).map(|_| c.reader_fd(&path, "be:many")).collect();
    for (i, fd) in fds.iter().enumerate() {
        let at = (i % 10) as i64;
        assert_eq!(c.read_at(fd, at, 1), [b'0' + at as u8], "reader {i}");
    }
    for fd in &fds {
        assert_ok(&c.close_reader(fd));
    }
}
