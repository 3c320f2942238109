//! The S3 backend against a second S3 implementation (moto in server mode,
//! tests/common/moto.rs) beside SeaweedFS (tests/s3.rs), through the Thrift wire: the
//! conformance suite path-style and virtual-host style, a 64 MiB write read back whole,
//! the reaper, and directory renames and deletes; and the S3-compatible stores' own
//! property sets (OBS, KS3, TOS), virtual-host style as their S3 APIs take them.

mod common;
mod conformance;

use std::sync::OnceLock;
use std::time::Instant;

use common::moto::Moto;
use common::object_checks::{
    big_write_round_trip, directory_rename_and_delete, reaped_writer_leaves_nothing,
};
use common::*;
use conformance::*;

const BUCKET: &str = "broker-test";

fn server() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| Moto::start(&[BUCKET]))
}

fn with(base: &Props, pairs: &[(&str, &str)]) -> Props {
    let mut p = base.clone();
    for (k, v) in pairs {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

#[test]
fn conformance_path_style_and_virtual_host() {
    let moto = server();
    let broker = BrokerProcess::start();
    let virtual_host = with(
        &moto.props(),
        &[
            ("fs.s3a.path.style.access", "false"),
            (
                "fs.s3a.endpoint",
                &format!("http://localhost:{}", moto.port),
            ),
        ],
    );
    for (style, props) in [("path", moto.props()), ("virtual host", virtual_host)] {
        let started = Instant::now();
        let dir = unique("conf");
        let target = Target::new(format!("s3a://{BUCKET}/{dir}"), props);
        run_all(&broker, &target);
        eprintln!("conformance on moto ({style}) took {:?}", started.elapsed());
        // moto logs each request's path: the bucket is in it only path-style.
        let bucket_in_path = format!("\"PUT /{BUCKET}/{dir}/");
        let bucket_in_host = format!("\"PUT /{dir}/");
        let out = moto.output();
        assert!(
            out.contains(if style == "path" {
                &bucket_in_path
            } else {
                &bucket_in_host
            }),
            "{style}-style requests reached moto as such"
        );
    }
}

/// OBS, KS3 and TOS as a user configures them (their own keys, with a session token where
/// the store has one, the region given where the store has a key for it), through the whole suite:
/// moto logs each request's path, and it names no bucket (virtual-host style).
#[test]
fn obs_ks3_and_tos_properties_pass_the_conformance_suite() {
    let moto = server();
    let broker = BrokerProcess::start();
    let endpoint = format!("http://localhost:{}", moto.port);
    let (access, secret) = (common::moto::ACCESS_KEY, common::moto::SECRET_KEY);
    let stores: [(&str, Vec<(&str, &str)>); 3] = [
        (
            "obs",
            vec![
                ("fs.obs.access.key", access),
                ("fs.obs.secret.key", secret),
                ("fs.obs.security.token", "moto-session-token"),
                ("fs.obs.endpoint", &endpoint),
                ("fs.obs.region", "cn-north-4"),
            ],
        ),
        (
            "ks3",
            vec![
                ("fs.ks3.AccessKey", access),
                ("fs.ks3.AccessSecret", secret),
                ("fs.ks3.endpoint", &endpoint),
            ],
        ),
        (
            "tos",
            vec![
                ("fs.tos.access.key", access),
                ("fs.tos.secret.key", secret),
                ("fs.tos.session.token", "moto-session-token"),
                ("fs.tos.endpoint", &endpoint),
                ("fs.tos.region", "cn-beijing"),
            ],
        ),
    ];
    for (scheme, pairs) in stores {
        let props: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = unique(scheme);
        run_all(
            &broker,
            &Target::new(format!("{scheme}://{BUCKET}/{dir}"), props),
        );
        let out = moto.output();
        assert!(
            out.contains(&format!("\"PUT /{dir}/")) && !out.contains(&format!("/{BUCKET}/{dir}/")),
            "{scheme}: virtual-host requests reached moto"
        );
    }
}

#[test]
fn a_64_mib_write_reads_back_whole() {
    let moto = server();
    let broker = BrokerProcess::start();
    let path = format!("s3a://{BUCKET}/{}/big.bin", unique("big"));
    big_write_round_trip(&broker, &path, &moto.props());
}

#[test]
fn a_reaped_writer_leaves_nothing() {
    let moto = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let dir = unique("reap");
    let path = format!("s3a://{BUCKET}/{dir}/reaped.bin");
    reaped_writer_leaves_nothing(&broker, &path, &moto.props());
    assert!(moto.keys(BUCKET, &format!("{dir}/")).is_empty());
}

#[test]
fn directory_deletes_and_renames_leave_nothing_behind() {
    let moto = server();
    let broker = BrokerProcess::start();
    directory_rename_and_delete(
        &broker,
        &format!("s3a://{BUCKET}"),
        &moto.props(),
        |prefix| moto.keys(BUCKET, prefix),
    );
}
