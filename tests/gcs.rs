//! The GCS backend against a real GCS server (fake-gcs-server, tests/common/fake_gcs.rs),
//! through the Thrift wire: the conformance suite with a service-account key (whose
//! `token_uri` is a token endpoint that checks the RS256 assertion) and unsigned; a 64 MiB
//! write read back whole (past the size where writes become multi-part); the reaper;
//! directory deletes; a key the token endpoint refuses.

mod common;
mod conformance;

use std::sync::OnceLock;
use std::time::Instant;

use common::fake_gcs::{FakeGcs, TokenServer};
use common::object_checks::{
    big_write_round_trip, directory_rename_and_delete, reaped_writer_leaves_nothing,
};
use common::*;
use conformance::*;

const BUCKET: &str = "broker-test";

fn server() -> &'static FakeGcs {
    static SERVER: OnceLock<FakeGcs> = OnceLock::new();
    SERVER.get_or_init(|| FakeGcs::start(&[BUCKET]))
}

fn tokens() -> &'static TokenServer {
    static TOKENS: OnceLock<TokenServer> = OnceLock::new();
    TOKENS.get_or_init(TokenServer::start)
}

#[test]
fn conformance_with_a_service_account_key_and_unsigned() {
    let gcs = server();
    let broker = BrokerProcess::start();
    for (what, props) in [
        ("key", gcs.key_props(tokens())),
        ("unsigned", gcs.unsigned_props()),
    ] {
        let started = Instant::now();
        let target = Target::new(format!("gs://{BUCKET}/{}", unique("conf")), props);
        run_all(&broker, &target);
        eprintln!("conformance on gs:// ({what}) took {:?}", started.elapsed());
    }
    assert!(
        tokens().exchanges() >= 1,
        "the key was exchanged for a token"
    );
    assert!(
        !broker.log().contains("BEGIN PRIVATE KEY"),
        "the private key reached the log"
    );
}

#[test]
fn a_64_mib_write_reads_back_whole() {
    let gcs = server();
    let broker = BrokerProcess::start();
    let path = format!("gs://{BUCKET}/{}/big.bin", unique("big"));
    big_write_round_trip(&broker, &path, &gcs.key_props(tokens()));
}

#[test]
fn a_reaped_writer_leaves_nothing() {
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
        common::fake_gcs::PRIVATE_KEY.into(),
    );
    p.insert("fs.gs.token.server.url".into(), tokens().uri());
    let r = exists_with(&mut c, &path, &p);
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    assert!(
        message(&r.op_status).contains("invalid_grant"),
        "{:?}",
        r.op_status
    );
    p.remove("gcp.gcs.service_account_private_key");
    let r = exists_with(&mut c, &path, &p);
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(
        message(&r.op_status).contains("gcp.gcs.service_account_private_key"),
        "{:?}",
        r.op_status
    );
}
