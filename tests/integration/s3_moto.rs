//! The S3 backend against a second S3 implementation (moto in server mode,
//! common/moto.rs) beside SeaweedFS (s3.rs), through the Thrift wire: the conformance
//! suite path-style and virtual-host style, both styles seen in moto's request log, a
//! 64 MiB write read back whole, the reaper, and directory renames and deletes.

use std::sync::OnceLock;
use std::time::Duration;

use crate::common::moto::Moto;
use crate::common::object_checks::{
    big_write_round_trip, directory_rename_and_delete, reaped_writer_leaves_nothing,
};
use crate::common::*;
use crate::conformance::unique;

const BUCKET: &str = "broker-test";

fn server() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| Moto::start(&[BUCKET]))
}

/// The server's keys, addressed virtual-host style (`broker-test.localhost:PORT`).
fn virtual_host_props(moto: &Moto) -> Props {
    let mut p = moto.props();
    p.insert("fs.s3a.path.style.access".into(), "false".into());
    p.insert(
        "fs.s3a.endpoint".into(),
        format!("http://localhost:{}", moto.port),
    );
    p
}

/// The suite path-style and virtual-host style, one broker and base each:
/// `s3_moto::conformance::virtual_host::rename_dir` ...
macro_rules! conformance_on {
    ($name:ident, $props:expr) => {
        mod $name {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let moto = server();
                SUITE.run(
                    "moto",
                    BrokerProcess::start,
                    |_| Target::new(format!("s3a://{BUCKET}/{}", unique("conf")), $props(moto)),
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::Moto);
        }
    };
}

mod conformance {
    use super::*;
    conformance_on!(path_style, Moto::props);
    conformance_on!(virtual_host, virtual_host_props);
}

/// moto logs each request's path: the bucket is in it path-style, in the host name
/// virtual-host style.
#[test]
fn requests_reach_moto_in_the_style_asked_for() {
    if missing(Server::Moto) {
        return;
    }
    let moto = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for (style, props) in [
        ("path", moto.props()),
        ("virtual host", virtual_host_props(moto)),
    ] {
        let dir = unique("style");
        c.with_props(&props)
            .write_file(&format!("s3a://{BUCKET}/{dir}/x.csv"), "be:1", b"x", 1);
        let bucket_in_path = format!("\"PUT /{BUCKET}/{dir}/");
        let bucket_in_host = format!("\"PUT /{dir}/");
        let (want, not) = if style == "path" {
            (&bucket_in_path, &bucket_in_host)
        } else {
            (&bucket_in_host, &bucket_in_path)
        };
        wait_for(
            &format!("moto to log the {style}-style PUT"),
            Duration::from_secs(10),
            || moto.output().contains(want.as_str()),
        );
        assert!(
            !moto.output().contains(not.as_str()),
            "{style}-style requests reached moto only as such"
        );
    }
}

#[test]
fn a_64_mib_write_reads_back_whole() {
    if missing(Server::Moto) {
        return;
    }
    let moto = server();
    let broker = BrokerProcess::start();
    let path = format!("s3a://{BUCKET}/{}/big.bin", unique("big"));
    big_write_round_trip(&broker, &path, &moto.props());
}

#[test]
fn a_reaped_writer_leaves_nothing() {
    if missing(Server::Moto) {
        return;
    }
    let moto = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let dir = unique("reap");
    let path = format!("s3a://{BUCKET}/{dir}/reaped.bin");
    reaped_writer_leaves_nothing(&broker, &path, &moto.props());
    assert!(moto.keys(BUCKET, &format!("{dir}/")).is_empty());
}

#[test]
fn directory_deletes_and_renames_leave_nothing_behind() {
    if missing(Server::Moto) {
        return;
    }
    let moto = server();
    let broker = BrokerProcess::start();
    directory_rename_and_delete(
        &broker,
        &format!("s3a://{BUCKET}"),
        &moto.props(),
        |prefix| moto.keys(BUCKET, prefix),
    );
}
