//! The S3 backend against a second S3 implementation (moto in server mode,
//! common/moto.rs) beside SeaweedFS (s3/), through the Thrift wire: the conformance
//! suite path-style and virtual-host style, both styles seen in moto's request log, a
//! 64 MiB write read back whole, the reaper, and directory renames and deletes; and the
//! S3-compatible stores' own property sets (OBS, KS3, TOS) through the suite,
//! virtual-host style as their S3 APIs take them; and assume-role through moto's STS
//! (`aws.s3.iam_role_arn`), on servers of their own that record or check identities.

use std::sync::OnceLock;
use std::time::Duration;

use crate::common::moto::{Moto, RecordedRequest, ACCESS_KEY, SECRET_KEY};
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

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/broker-reader";

/// StarRocks' keys for assuming `ROLE_ARN` (with an external id) through `moto`'s STS,
/// the base key pair calling STS.
fn assume_role_props(moto: &Moto) -> Props {
    props(&[
        ("aws.s3.access_key", ACCESS_KEY),
        ("aws.s3.secret_key", SECRET_KEY),
        ("aws.s3.endpoint", &moto.endpoint()),
        ("aws.s3.enable_path_style_access", "true"),
        ("aws.s3.region", "us-east-1"),
        ("aws.s3.iam_role_arn", ROLE_ARN),
        ("aws.s3.external_id", "broker-external-42"),
        ("aws.s3.sts.endpoint", &moto.endpoint()),
    ])
}

fn is_assume_role(r: &RecordedRequest) -> bool {
    r.body.contains("Action=AssumeRole")
}

/// With a role ARN, the base keys call AssumeRole once (role ARN and external id in the
/// form, signed by the base key for `sts`), and every S3 request of a write, a read and
/// a listing is signed with the session moto issued (`ASIA...` key, its token).
#[test]
fn an_assumed_role_signs_every_request() {
    if missing(Server::Moto) {
        return;
    }
    let moto = Moto::start_recording(&[BUCKET]);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = assume_role_props(&moto);
    let key = unique("role");
    let dir = format!("s3a://{BUCKET}/{key}");
    let data = test_data(300_000, 7);
    c.with_props(&p)
        .write_file(&format!("{dir}/a.bin"), "be:1", &data, 100_000);
    assert_eq!(c.read_file(&format!("{dir}/a.bin"), "be:1", 65_536), data);
    assert_eq!(
        listed(&c.list(&format!("{dir}/*"), false, true)),
        vec!["a.bin".to_string()]
    );
    let recorded = moto.recorded();
    let sts: Vec<&RecordedRequest> = recorded.iter().filter(|r| is_assume_role(r)).collect();
    assert_eq!(
        sts.len(),
        1,
        "one AssumeRole, then the cached session: {sts:?}"
    );
    let form: std::collections::HashMap<String, String> =
        form_urlencoded::parse(sts[0].body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(form["RoleArn"], ROLE_ARN);
    assert_eq!(form["ExternalId"], "broker-external-42");
    assert!(
        sts[0]
            .authorization
            .contains(&format!("Credential={ACCESS_KEY}/"))
            && sts[0].authorization.contains("/sts/aws4_request"),
        "{:?}",
        sts[0]
    );
    let s3: Vec<&RecordedRequest> = recorded
        .iter()
        .filter(|r| !is_assume_role(r) && r.url.contains(&key))
        .collect();
    assert!(s3.len() >= 3, "{recorded:?}");
    for r in s3 {
        assert!(
            r.authorization.contains("Credential=ASIA") && !r.security_token.is_empty(),
            "{} {} not signed with the assumed role's session: {}",
            r.method,
            r.url,
            r.authorization
        );
    }
}

/// A refused AssumeRole (moto checking identities knows no such base key) is
/// NOT_AUTHORIZED naming the role ARN and STS's reason, never the secret; a role ARN
/// without base credentials is INVALID_ARGUMENT naming the keys.
#[test]
fn a_refused_assume_role_names_the_role() {
    if missing(Server::Moto) {
        return;
    }
    let moto = Moto::start_checking_identities(BUCKET);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let path = format!("s3a://{BUCKET}/{}/x.csv", unique("refused"));
    let mut p = assume_role_props(&moto);
    let r = c.with_props(&p).exists(&path);
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&r.op_status);
    assert!(
        msg.contains(ROLE_ARN) && msg.contains("InvalidClientTokenId"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET_KEY), "{msg}");
    p.remove("aws.s3.access_key");
    p.remove("aws.s3.secret_key");
    let r = c.with_props(&p).exists(&path);
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    let msg = message(&r.op_status);
    assert!(
        msg.contains("aws.s3.iam_role_arn") && msg.contains("aws.s3.access_key"),
        "{msg}"
    );
}
