//! What the properties select: addressing styles and both key spellings, refused
//! credentials and bad properties, no secret in a DEBUG log, and one client per settings.

use std::time::Duration;

use super::{on_server, server, with, without};
use crate::common::seaweed::{ACCESS_KEY, SECRET_KEY};
use crate::common::*;
use crate::conformance::unique;

/// Virtual-host style (`bucket.localhost:port`), an endpoint without a scheme, and
/// StarRocks' own key names all reach the same objects.
#[test]
fn addressing_styles_and_key_spellings() {
    let Some((s3, _broker, mut c)) = on_server(&[]) else {
        return;
    };
    let dir = unique("styles");
    let path = format!("{}/{dir}/a.csv", s3.base("s3a"));
    c.with_props(&s3.props())
        .write_file(&path, "be:1", b"styles", 1024);
    let host_port = format!("localhost:{}", s3.s3_port);
    let variants: Vec<(&str, Props)> = vec![
        (
            "virtual-host style",
            with(
                &without(&s3.props(), &["fs.s3a.path.style.access"]),
                &[("fs.s3a.endpoint", &format!("http://{host_port}"))],
            ),
        ),
        (
            "endpoint without scheme, SSL off",
            with(
                &s3.props(),
                &[
                    ("fs.s3a.endpoint", &format!("127.0.0.1:{}", s3.s3_port)),
                    ("fs.s3a.connection.ssl.enabled", "false"),
                ],
            ),
        ),
        (
            "StarRocks keys",
            [
                ("aws.s3.access_key", ACCESS_KEY),
                ("aws.s3.secret_key", SECRET_KEY),
                ("aws.s3.endpoint", host_port.as_str()),
                ("aws.s3.enable_ssl", "false"),
                ("aws.s3.enable_path_style_access", "true"),
                ("aws.s3.region", "us-east-1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ),
    ];
    for (name, p) in variants {
        assert_eq!(
            c.with_props(&p).read_file(&path, "be:1", 1024),
            b"styles",
            "{name}"
        );
        assert!(
            c.with_props(&p)
                .glob(&format!("{}/{dir}/*", s3.base("s3a")))
                .contains(&path),
            "{name}"
        );
        let other = format!("{}/{dir}/{}.csv", s3.base("s3a"), name.replace(' ', "_"));
        c.with_props(&p)
            .write_file(&other, "be:1", name.as_bytes(), 1024);
        assert_eq!(
            c.with_props(&s3.props()).read_file(&other, "be:1", 1024),
            name.as_bytes()
        );
    }
    assert_ok(
        &c.with_props(&s3.props())
            .delete(&format!("{}/{dir}", s3.base("s3a"))),
    );
}

/// A wrong secret or an unknown key is NOT_AUTHORIZED with the store's code; no
/// credentials at all is the store's refusal (502) saying the request was unsigned; bad
/// properties are INVALID_ARGUMENT naming the key. No secret reaches the log.
#[test]
fn refused_credentials_and_bad_properties() {
    let Some((s3, broker, mut c)) = on_server(&[]) else {
        return;
    };
    let dir = unique("auth");
    let path = format!("{}/{dir}/a.csv", s3.base("s3a"));
    c.with_props(&s3.props())
        .write_file(&path, "be:1", b"a", 1024);

    let wrong_secret = with(
        &s3.props(),
        &[("fs.s3a.secret.key", "wrong-secret-value-42")],
    );
    let unknown_key = with(&s3.props(), &[("fs.s3a.access.key", "no-such-access-key")]);
    for (p, code) in [
        (&wrong_secret, "SignatureDoesNotMatch"),
        (&unknown_key, "InvalidAccessKeyId"),
    ] {
        let r = c.with_props(p).exists(&path);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        assert!(message(&r.op_status).contains(code), "{r:?}");
        let r = c
            .with_props(p)
            .list(&format!("{}/{dir}/*", s3.base("s3a")), false, false);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        let r = c.with_props(p).open_reader(&path, "be:1");
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        assert!(message(&r.op_status).contains(code), "{r:?}");
        let s = c.with_props(p).delete(&path);
        assert_code(&s, Code::NOT_AUTHORIZED);
        let w = c.with_props(p).open_writer(&format!("{path}.new"), "be:1");
        assert_code(&w.op_status, Code::NOT_AUTHORIZED);
    }
    let anonymous = without(&s3.props(), &["fs.s3a.access.key", "fs.s3a.secret.key"]);
    let r = c.with_props(&anonymous).open_reader(&path, "be:1");
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&r.op_status).contains("AccessDenied")
            && message(&r.op_status).contains("no credentials"),
        "{r:?}"
    );

    for (p, key) in [
        (
            without(&s3.props(), &["fs.s3a.secret.key"]),
            "fs.s3a.secret.key",
        ),
        (
            with(&s3.props(), &[("aws.s3.endpoint", "http://127.0.0.1:1")]),
            "aws.s3.endpoint",
        ),
        (
            with(&s3.props(), &[("fs.s3a.path.style.access", "maybe")]),
            "fs.s3a.path.style.access",
        ),
        (
            with(&s3.props(), &[("aws.s3.use_instance_profile", "true")]),
            "aws.s3.use_instance_profile",
        ),
    ] {
        let r = c.with_props(&p).exists(&path);
        assert_code(&r.op_status, Code::INVALID_ARGUMENT);
        assert!(message(&r.op_status).contains(key), "{key}: {r:?}");
    }
    // S3 keys say nothing to another store: its own missing key is named.
    let r = c.with_props(&s3.props()).exists("oss://bucket/x");
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(message(&r.op_status).contains("fs.oss.endpoint"), "{r:?}");
    let r = c.with_props(&s3.props()).exists("s3a:///no-bucket");
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    let r = c
        .with_props(&s3.props())
        .exists("s3a://no-such-bucket-here/x");
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r.op_status).contains("NoSuchBucket"), "{r:?}");

    let log = broker.log();
    for secret in [SECRET_KEY, "wrong-secret-value-42"] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert_ok(
        &c.with_props(&s3.props())
            .delete(&format!("{}/{dir}", s3.base("s3a"))),
    );
}

/// Even a DEBUG log (the storage libraries log what they sign and which credential
/// provider they try) holds no key.
#[test]
fn secrets_stay_out_of_a_debug_log() {
    let Some((s3, broker, mut c)) = on_server(&[("sys_log_level", "DEBUG")]) else {
        return;
    };
    let token = "session-token-value-77";
    let p = with(&s3.props(), &[("fs.s3a.session.token", token)]);
    let path = format!("{}/{}/a.csv", s3.base("s3a"), unique("debuglog"));
    // SeaweedFS refuses the made-up token; the signing happened all the same.
    let r = c.with_props(&p).exists(&path);
    assert_ne!(r.op_status.status_code, Code::OK, "{r:?}");
    c.with_props(&s3.props())
        .write_file(&path, "be:1", b"x", 1024);
    assert_eq!(
        c.with_props(&s3.props()).read_file(&path, "be:1", 1024),
        b"x"
    );
    assert_ok(&c.with_props(&s3.props()).delete(&path));
    // The log is written in the background: wait for the signer's own DEBUG lines
    // (without them this test proves nothing).
    wait_for(
        "the signer's DEBUG lines in the log",
        Duration::from_secs(10),
        || broker.log().contains("calculated string to sign"),
    );
    let log = broker.log();
    assert!(
        !log.contains("Trying credential provider"),
        "reqsign's provider lines (which print stock providers' keys) are held at INFO"
    );
    for secret in [SECRET_KEY, token] {
        assert!(!log.contains(secret), "a secret reached the DEBUG log");
    }
}

/// How many S3 clients the broker has built so far (one log line each).
fn clients_built(broker: &BrokerProcess) -> usize {
    broker.log().matches("new S3 client for bucket").count()
}

/// One client per connection settings: the same settings (under either key spelling)
/// share it, other credentials get their own, at most 256 are kept (the least recently
/// used goes), and one idle longer than `client_expire_seconds` is dropped and rebuilt.
#[test]
fn clients_are_shared_per_settings_bounded_and_dropped_when_idle() {
    if missing(Server::Seaweed) {
        return;
    }
    let s3 = server();
    let path = format!("{}/{}/a.csv", s3.base("s3a"), unique("cache"));
    let built = |broker: &BrokerProcess, n: usize| {
        wait_for(
            &format!("{n} clients built"),
            Duration::from_secs(5),
            || clients_built(broker) >= n,
        );
    };

    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let mut c = broker.client();
    let hadoop = s3.props();
    let starrocks: Props = [
        ("aws.s3.access_key", ACCESS_KEY),
        ("aws.s3.secret_key", SECRET_KEY),
        ("aws.s3.endpoint", &s3.endpoint()),
        ("aws.s3.enable_path_style_access", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for p in [&hadoop, &hadoop, &starrocks] {
        assert_ok(&c.with_props(p).exists(&path).op_status);
    }
    built(&broker, 1);
    let other = with(&hadoop, &[("fs.s3a.secret.key", "wrong-secret-value-42")]);
    assert_code(
        &c.with_props(&other).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 2);
    assert_ok(&c.with_props(&hadoop).exists(&path).op_status);
    // Idle past the expiry: the next call builds the client anew.
    std::thread::sleep(Duration::from_millis(2500));
    assert_ok(&c.with_props(&hadoop).exists(&path).op_status);
    built(&broker, 3);
    assert_eq!(clients_built(&broker), 3, "no other client was built");

    // 257 distinct credentials, then the first again: it was evicted.
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for i in 0..=256 {
        let p = with(
            &hadoop,
            &[("fs.s3a.access.key", &format!("no-such-key-{i}"))],
        );
        assert_code(
            &c.with_props(&p).exists(&path).op_status,
            Code::NOT_AUTHORIZED,
        );
    }
    built(&broker, 257);
    let first = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-0")]);
    assert_code(
        &c.with_props(&first).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 258);
    let last = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-256")]);
    assert_code(
        &c.with_props(&last).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    let marker = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-marker")]);
    assert_code(
        &c.with_props(&marker).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 259);
    assert_eq!(
        clients_built(&broker),
        259,
        "the most recent client was kept"
    );
}
