//! The GCS backend against a real GCS server (fake-gcs-server, common/fake_gcs.rs),
//! through the Thrift wire: the conformance suite with a service-account key (whose
//! `token_uri` is a token endpoint that checks the RS256 assertion) and unsigned; a 64 MiB
//! write read back whole (past the size where writes become multi-part); the reaper;
//! directory deletes; a key the token endpoint refuses. The private key never reaching a
//! log is scripts/test.sh's search of every broker log (tests/secrets.txt).

use std::sync::OnceLock;

use crate::common::fake_gcs::{FakeGcs, TokenServer};
use crate::common::object_checks::{
    big_write_round_trip, directory_rename_and_delete, reaped_writer_leaves_nothing,
};
use crate::common::*;
use crate::conformance::unique;

const BUCKET: &str = "broker-test";

fn server() -> &'static FakeGcs {
    static SERVER: OnceLock<FakeGcs> = OnceLock::new();
    SERVER.get_or_init(|| FakeGcs::start(&[BUCKET]))
}

fn tokens() -> &'static TokenServer {
    static TOKENS: OnceLock<TokenServer> = OnceLock::new();
    TOKENS.get_or_init(TokenServer::start)
}

/// The suite on `gs://` with a service-account key and unsigned, one broker and base
/// each: `gcs::conformance::key::rename_dir` ...
macro_rules! conformance_on {
    ($name:ident, $props:expr) => {
        mod $name {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let gcs = server();
                SUITE.run(
                    "fake-gcs",
                    BrokerProcess::start,
                    |_| Target::new(format!("gs://{BUCKET}/{}", unique("conf")), $props(gcs)),
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::FakeGcs);
        }
    };
}

mod conformance {
    use super::*;
    conformance_on!(key, |gcs: &FakeGcs| gcs.key_props(tokens()));
    conformance_on!(unsigned, FakeGcs::unsigned_props);
}

/// The key's whole path runs: the broker signs an assertion, the token endpoint checks
/// it and hands out a token, the store answers (a token endpoint of its own, so the
/// count is this test's).
#[test]
fn a_service_account_key_is_exchanged_for_a_token() {
    if missing(Server::FakeGcs) {
        return;
    }
    let gcs = server();
    let own_tokens = TokenServer::start();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let path = format!("gs://{BUCKET}/{}/x.csv", unique("token"));
    c.with_props(&gcs.key_props(&own_tokens))
        .write_file(&path, "be:1", b"a,b\n", 4);
    assert_eq!(c.read_file(&path, "be:1", 16), b"a,b\n");
    assert!(
        own_tokens.exchanges() >= 1,
        "the key was exchanged for a token"
    );
}

#[test]
fn a_64_mib_write_reads_back_whole() {
    if missing(Server::FakeGcs) {
        return;
    }
    let gcs = server();
    let broker = BrokerProcess::start();
    let path = format!("gs://{BUCKET}/{}/big.bin", unique("big"));
    big_write_round_trip(&broker, &path, &gcs.key_props(tokens()));
}

#[test]
fn a_reaped_writer_leaves_nothing() {
    if missing(Server::FakeGcs) {
        return;
    }
    let gcs = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let dir = unique("reap");
    let path = format!("gs://{BUCKET}/{dir}/reaped.bin");
    reaped_writer_leaves_nothing(&broker, &path, &gcs.key_props(tokens()));
    assert_eq!(
        gcs.objects(BUCKET, &format!("{dir}/")),
        Vec::<String>::new()
    );
}

#[test]
fn directory_deletes_and_renames_leave_nothing_behind() {
    if missing(Server::FakeGcs) {
        return;
    }
    let gcs = server();
    let broker = BrokerProcess::start();
    directory_rename_and_delete(
        &broker,
        &format!("gs://{BUCKET}"),
        &gcs.key_props(tokens()),
        |prefix| gcs.objects(BUCKET, prefix),
    );
}

/// A key the token endpoint turns down (another account's email on the same key) is
/// NOT_AUTHORIZED with the endpoint's reason; a missing half of a key names the key.
#[test]
fn a_refused_key_and_a_missing_key() {
    if missing(Server::FakeGcs) {
        return;
    }
    let gcs = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let path = format!("gs://{BUCKET}/{}/x.csv", unique("refused"));
    let mut p = gcs.unsigned_props();
    p.insert(
        "gcp.gcs.service_account_email".into(),
        "intruder@test.iam.gserviceaccount.com".into(),
    );
    p.insert(
        "gcp.gcs.service_account_private_key".into(),
        crate::common::fake_gcs::PRIVATE_KEY.into(),
    );
    p.insert("fs.gs.token.server.url".into(), tokens().uri());
    let r = c.with_props(&p).exists(&path);
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    assert!(
        message(&r.op_status).contains("invalid_grant"),
        "{:?}",
        r.op_status
    );
    p.remove("gcp.gcs.service_account_private_key");
    let r = c.with_props(&p).exists(&path);
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(
        message(&r.op_status).contains("gcp.gcs.service_account_private_key"),
        "{:?}",
        r.op_status
    );
}
