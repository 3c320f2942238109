//! The S3 backend against a second S3 implementation (moto in server mode,
//! common/moto.rs) beside SeaweedFS (s3.rs), through the Thrift wire: the conformance
//! suite path-style and virtual-host style, both styles seen in moto's request log, a
//! 64 MiB write read back whole, the reaper, and directory renames and deletes; and the
//! S3-compatible stores' own property sets (OBS, KS3, TOS) through the suite,
//! virtual-host style as their S3 APIs take them.

use std::sync::OnceLock;
use std::time::Duration;

use crate::common::moto::{Moto, ACCESS_KEY, SECRET_KEY};
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

/// `http://localhost:PORT`: the stores below put the bucket in the host name.
fn localhost(moto: &Moto) -> String {
    format!("http://localhost:{}", moto.port)
}

/// OBS as a user configures it: its own keys, a session token, a region.
fn obs_props(moto: &Moto) -> Props {
    props(&[
        ("fs.obs.access.key", ACCESS_KEY),
        ("fs.obs.secret.key", SECRET_KEY),
        ("fs.obs.security.token", "moto-session-token"),
        ("fs.obs.endpoint", &localhost(moto)),
        ("fs.obs.region", "cn-north-4"),
    ])
}

/// KS3: its own keys (no token, the region read from the endpoint).
fn ks3_props(moto: &Moto) -> Props {
    props(&[
        ("fs.ks3.AccessKey", ACCESS_KEY),
        ("fs.ks3.AccessSecret", SECRET_KEY),
        ("fs.ks3.endpoint", &localhost(moto)),
    ])
}

/// TOS: its own keys, a session token, a region.
fn tos_props(moto: &Moto) -> Props {
    props(&[
        ("fs.tos.access.key", ACCESS_KEY),
        ("fs.tos.secret.key", SECRET_KEY),
        ("fs.tos.session.token", "moto-session-token"),
        ("fs.tos.endpoint", &localhost(moto)),
        ("fs.tos.region", "cn-beijing"),
    ])
}

/// The suite path-style and virtual-host style, and with OBS's, KS3's and TOS's keys,
/// one broker and base each: `s3_moto::conformance::virtual_host::rename_dir`,
/// `s3_moto::conformance::tos::rename_dir` ...
macro_rules! conformance_on {
    ($name:ident, $scheme:literal, $props:expr) => {
        mod $name {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let moto = server();
                SUITE.run(
                    "moto",
                    BrokerProcess::start,
                    |_| {
                        Target::new(
                            format!("{}://{BUCKET}/{}", $scheme, unique("conf")),
                            $props(moto),
                        )
                    },
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::Moto);
        }
    };
}

mod conformance {
    use super::*;
    conformance_on!(path_style, "s3a", Moto::props);
    conformance_on!(virtual_host, "s3a", virtual_host_props);
    conformance_on!(obs, "obs", obs_props);
    conformance_on!(ks3, "ks3", ks3_props);
    conformance_on!(tos, "tos", tos_props);
}

/// moto logs each request's path: the bucket is in it path-style, in the host name
/// virtual-host style (which OBS, KS3 and TOS always use).
#[test]
fn requests_reach_moto_in_the_style_asked_for() {
    if missing(Server::Moto) {
        return;
    }
    let moto = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for (style, scheme, props) in [
        ("path", "s3a", moto.props()),
        ("virtual host", "s3a", virtual_host_props(moto)),
        ("virtual host", "obs", obs_props(moto)),
        ("virtual host", "ks3", ks3_props(moto)),
        ("virtual host", "tos", tos_props(moto)),
    ] {
        let dir = unique("style");
        c.with_props(&props).write_file(
            &format!("{scheme}://{BUCKET}/{dir}/x.csv"),
            "be:1",
            b"x",
            1,
        );
        let bucket_in_path = format!("\"PUT /{BUCKET}/{dir}/");
        let bucket_in_host = format!("\"PUT /{dir}/");
        let (want, not) = if style == "path" {
            (&bucket_in_path, &bucket_in_host)
        } else {
            (&bucket_in_host, &bucket_in_path)
        };
        wait_for(
            &format!("moto to log the {style}-style PUT of {scheme}://"),
            Duration::from_secs(10),
            || moto.output().contains(want.as_str()),
        );
        assert!(
            !moto.output().contains(not.as_str()),
            "{scheme}:// {style}-style requests reached moto only as such"
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
