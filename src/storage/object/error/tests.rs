//! Each row against errors as opendal makes them: a recorded store answer is served
//! on a loopback port and read through the store's own opendal service.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use super::*;
use crate::storage::object::storage::ObjectStorage;
use crate::storage::object::{azure::Azure, gcs::Gcs, oss::Oss, s3::S3};
use crate::storage::object::{Dialect, ObjectBackend};
use crate::storage::{props_of, Location};

/// A store on 127.0.0.1 that answers every request with one recorded response
/// (served until the test process ends).
fn recorded_store(status: u16, headers: &[(&str, &str)], body: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut reply = format!(
        "HTTP/1.1 {status} Recorded\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        reply.push_str(&format!("{name}: {value}\r\n"));
    }
    reply.push_str("\r\n");
    reply.push_str(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The request's head; none of these requests has a body.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    port
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn storage<D: Dialect>(dialect: D, uri: &str, props: &[(&str, &str)]) -> Arc<ObjectStorage> {
    ObjectBackend::new(dialect, Duration::from_secs(60))
        .resolve(&Location::parse(uri).unwrap(), &props_of(props))
        .unwrap()
}

/// An Azure container with an account key, served on `port`.
fn azure_at(port: u16) -> Arc<ObjectStorage> {
    let endpoint = format!("http://acct.blob.localhost:{port}");
    storage(
        Azure,
        "wasbs://cont@acct.blob.core.windows.net/k.csv",
        &[
            ("azure.blob.endpoint", &endpoint),
            (
                "fs.azure.account.key.acct.blob.core.windows.net",
                "c2VjcmV0LWFjY291bnQta2V5",
            ),
        ],
    )
}

/// The opendal error of reading `key` from that storage, and our mapping of it.
async fn read_failure(storage: &ObjectStorage, key: &str) -> (opendal::Error, StorageError) {
    let err = storage.op.read(key).await.unwrap_err();
    let mapped = storage.errors().map("s3a://bkt/k.csv", &err);
    (err, mapped)
}

fn s3_at(port: u16, signed: bool) -> Arc<ObjectStorage> {
    let endpoint = format!("http://127.0.0.1:{port}");
    let mut props = vec![
        ("fs.s3a.endpoint", endpoint.as_str()),
        ("fs.s3a.path.style.access", "true"),
    ];
    if signed {
        props.extend([("fs.s3a.access.key", "AK"), ("fs.s3a.secret.key", "SK")]);
    }
    storage(S3, "s3a://bkt/k.csv", &props)
}

fn s3_error_body(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>{message}</Message><Resource>/bkt/k.csv</Resource>\
         <RequestId>4442587FB7D0A2F9</RequestId></Error>"
    )
}

/// The S3 error `code` answered with `status`: opendal's kind, and our mapping.
async fn s3_answer(status: u16, code: &str, message: &str) -> (ErrorKind, StorageError) {
    let body = s3_error_body(code, message);
    let port = recorded_store(status, &[("content-type", "application/xml")], &body);
    let (err, mapped) = read_failure(&s3_at(port, true), "k.csv").await;
    (err.kind(), mapped)
}

#[track_caller]
fn assert_io_with(mapped: &StorageError, parts: &[&str]) {
    let StorageError::Io { message, .. } = mapped else {
        panic!("not Io: {mapped:?}");
    };
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[track_caller]
fn assert_refused_with(mapped: &StorageError, parts: &[&str]) {
    let StorageError::NotAuthorized(message) = mapped else {
        panic!("not NotAuthorized: {mapped:?}");
    };
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}

#[tokio::test]
async fn s3_answers_of_missing_objects_and_buckets() {
    let (kind, mapped) = s3_answer(404, "NoSuchKey", "The specified key does not exist.").await;
    assert_eq!(kind, ErrorKind::NotFound);
    assert!(
        matches!(mapped, StorageError::NotFound { .. }),
        "{mapped:?}"
    );
    // opendal calls a missing bucket a configuration error: it is no missing file.
    let reason = "The specified bucket does not exist";
    let (kind, mapped) = s3_answer(404, "NoSuchBucket", reason).await;
    assert_eq!(kind, ErrorKind::ConfigInvalid);
    assert_io_with(&mapped, &["S3 error NoSuchBucket", reason]);
}

#[tokio::test]
async fn s3_refused_credentials_are_not_authorized() {
    let reason = "The AWS Access Key Id you provided does not exist in our records.";
    let (_, mapped) = s3_answer(403, "InvalidAccessKeyId", reason).await;
    assert_refused_with(
        &mapped,
        &["S3 refused the credentials", "InvalidAccessKeyId", reason],
    );
    let (_, mapped) = s3_answer(400, "InvalidAccessKeyId", reason).await;
    assert_refused_with(&mapped, &["InvalidAccessKeyId", reason]);
    let reason = "The request signature we calculated does not match the signature you provided.";
    let (kind, mapped) = s3_answer(403, "SignatureDoesNotMatch", reason).await;
    assert_eq!(kind, ErrorKind::PermissionDenied);
    assert_refused_with(&mapped, &["SignatureDoesNotMatch", reason]);
}

#[tokio::test]
async fn other_s3_answers_keep_the_stores_code_and_reason() {
    let (kind, mapped) = s3_answer(403, "AccessDenied", "Access Denied").await;
    assert_eq!(kind, ErrorKind::PermissionDenied);
    assert_io_with(&mapped, &["S3 error AccessDenied: Access Denied"]);
    assert!(!mapped.to_string().contains("unsigned"), "{mapped}");
    let reason = "The request is not valid with the current state of the bucket.";
    let (_, mapped) = s3_answer(409, "InvalidBucketState", reason).await;
    assert_io_with(&mapped, &["S3 error InvalidBucketState", reason]);
    // Retried (opendal marks it temporary), then reported.
    let (kind, mapped) = s3_answer(503, "SlowDown", "Please reduce your request rate.").await;
    assert_eq!(kind, ErrorKind::RateLimited);
    assert_io_with(
        &mapped,
        &["S3 error SlowDown: Please reduce your request rate."],
    );
}

#[tokio::test]
async fn an_unsigned_request_refused_says_so() {
    let body = s3_error_body("AccessDenied", "Access Denied");
    let port = recorded_store(403, &[], &body);
    let (_, mapped) = read_failure(&s3_at(port, false), "k.csv").await;
    assert_io_with(&mapped, &["AccessDenied", "the request was unsigned"]);
}

/// A body-less error answer keeps its HTTP status and the store's request id.
#[tokio::test]
async fn a_body_less_answer_keeps_its_status_and_request_id() {
    let port = recorded_store(503, &[("x-amz-request-id", "4442587FB7D0A2F9")], "");
    let (_, mapped) = read_failure(&s3_at(port, true), "k.csv").await;
    assert_io_with(
        &mapped,
        &["S3 request failed (HTTP 503, request id 4442587FB7D0A2F9): Unexpected"],
    );
    let port = recorded_store(500, &[("x-ms-request-id", "0f1e-azure")], "");
    let (_, mapped) = read_failure(&azure_at(port), "k.csv").await;
    assert_io_with(
        &mapped,
        &["Azure request failed (HTTP 500, request id 0f1e-azure): Unexpected"],
    );
}

#[tokio::test]
async fn answers_without_a_code() {
    // A refused HEAD has no body: no code, and the caller asks a listing instead.
    let storage = s3_at(recorded_store(403, &[], ""), true);
    let err = storage.op.stat("k.csv").await.unwrap_err();
    assert!(is_refusal_without_code(&err), "{err}");
    assert_io_with(
        &storage.errors().map("p", &err),
        &["S3 request failed (HTTP 403): PermissionDenied"],
    );
    // A proxy's text instead of the store's error document: kept verbatim. (An
    // XML-shaped page, HTML included, reads as an S3Error without a code: opendal's
    // parser defaults every field.)
    let text = "upstream connect error or disconnect/reset before headers";
    let storage = s3_at(
        recorded_store(502, &[("content-type", "text/plain")], text),
        true,
    );
    let (err, mapped) = read_failure(&storage, "k.csv").await;
    assert!(!is_refusal_without_code(&err));
    assert_io_with(
        &mapped,
        &["S3 request failed (HTTP 502): Unexpected: ", text],
    );
}

#[tokio::test]
async fn a_store_that_is_not_there() {
    let (err, mapped) = read_failure(&s3_at(closed_port(), true), "k.csv").await;
    assert!(!is_missing(&err));
    assert_io_with(
        &mapped,
        &[
            "S3 request failed",
            "send http request",
            "Connection refused",
        ],
    );
}

/// GCS's JSON error with HTTP `status`, read from a bucket of unsigned requests.
async fn gcs_answer(status: u16, body: &str) -> StorageError {
    let port = recorded_store(status, &[("content-type", "application/json")], body);
    let endpoint = format!("http://127.0.0.1:{port}");
    let gcs = storage(
        Gcs,
        "gs://bkt/k.csv",
        &[("fs.gs.storage.root.url", &endpoint)],
    );
    read_failure(&gcs, "k.csv").await.1
}

#[tokio::test]
async fn gcs_json_errors_carry_the_status_as_code() {
    let body = r#"{"error":{"code":401,"message":"Invalid Credentials","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","locationType":"header","location":"Authorization"}]}}"#;
    assert_refused_with(
        &gcs_answer(401, body).await,
        &["GCS refused the credentials: 401: Invalid Credentials"],
    );
    let body = r#"{"error":{"code":403,"message":"broker@p.iam.gserviceaccount.com does not have storage.objects.get access","errors":[]}}"#;
    assert_io_with(
        &gcs_answer(403, body).await,
        &["GCS error 403", "does not have storage.objects.get access"],
    );
}

#[tokio::test]
async fn oss_and_azure_codes() {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>\
                <Message>The OSS Access Key Id you provided does not exist in our records.</Message>\
                <RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>bkt.localhost</HostId></Error>";
    let port = recorded_store(403, &[("content-type", "application/xml")], body);
    let endpoint = format!("http://localhost:{port}");
    let oss = storage(
        Oss,
        "oss://bkt/k.csv",
        &[
            ("fs.oss.endpoint", &endpoint),
            ("fs.oss.region", "cn-hangzhou"),
            ("fs.oss.accessKeyId", "AK"),
            ("fs.oss.accessKeySecret", "SK"),
        ],
    );
    let (_, mapped) = read_failure(&oss, "k.csv").await;
    assert_refused_with(
        &mapped,
        &["OSS refused the credentials: InvalidAccessKeyId: The OSS Access Key Id"],
    );
    let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>\
                <Message>Server failed to authenticate the request.</Message>\
                <AuthenticationErrorDetail>The MAC signature found in the HTTP request is not the same as any computed signature.</AuthenticationErrorDetail></Error>";
    let port = recorded_store(
        403,
        &[
            ("content-type", "application/xml"),
            ("x-ms-error-code", "AuthenticationFailed"),
        ],
        body,
    );
    let (_, mapped) = read_failure(&azure_at(port), "k.csv").await;
    assert_refused_with(
        &mapped,
        &["refused the credentials: AuthenticationFailed: Server failed to authenticate"],
    );
}

/// Signing with no credential, as opendal reports it (its request-sign error around
/// reqsign's), after our provider recorded why.
#[test]
fn a_failed_token_exchange_says_why() {
    let signing_failed = || {
        opendal::Error::new(ErrorKind::Unexpected, "signing http request")
            .with_operation("reqsign::Sign")
            .set_source(reqsign_core::Error::credential_invalid(
                "failed to load signing credential",
            ))
    };
    let mapper = ErrorMapper {
        store: "GCS",
        anonymous: false,
        credential_failure: CredentialFailure::default(),
        dfs: false,
    };
    // Nothing recorded: the signer's own words.
    assert_io_with(
        &mapper.map("p", &signing_failed()),
        &["GCS request failed", "failed to load signing credential"],
    );
    mapper.credential_failure.record::<()>(&Err(reqsign_core::Error::credential_invalid(
        "the token server http://127.0.0.1:9/token refused the service account b@p: 400 Bad Request: invalid_grant",
    )));
    assert_refused_with(
        &mapper.map("p", &signing_failed()),
        &["GCS refused the credentials", "invalid_grant"],
    );
    mapper
        .credential_failure
        .record::<()>(&Err(reqsign_core::Error::unexpected(
            "the token server http://127.0.0.1:9/token did not answer",
        )));
    assert_io_with(
        &mapper.map("p", &signing_failed()),
        &["GCS credentials could not be obtained", "did not answer"],
    );
    // A later success forgets it.
    mapper.credential_failure.record(&Ok(()));
    assert!(mapper.credential_failure.last().is_none());
}
