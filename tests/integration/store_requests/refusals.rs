//! Refusals: credentials refused are NOT_AUTHORIZED, anything else 502, both with the
//! store's code and message; bad properties are INVALID_ARGUMENT before any request.

use super::{
    assert_refused, cos_props, gcs_key_props, ks3_props, localhost, oss_props, props, ACCESS,
    AZURE_KEY,
};
use crate::common::http_listener::{HttpListener, Reply};
use crate::common::*;

/// An S3-style XML refusal.
fn xml_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::new(status)
        .header("Content-Type", "application/xml")
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>r1</RequestId></Error>"
        ))
}

#[test]
fn oss_refusals_are_not_authorized_or_502_with_the_stores_code() {
    let listener = HttpListener::start(|r| {
        if r.path().starts_with("/denied") || r.query().contains("prefix=denied") {
            xml_error(
                403,
                "AccessDenied",
                "You have no right to access this object.",
            )
        } else {
            xml_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        }
    });
    let broker = BrokerProcess::start();
    let p = oss_props(&localhost(&listener));
    assert_refused(
        &mut broker.client(),
        "oss://bkt/a.csv",
        &p,
        Code::NOT_AUTHORIZED,
        &["SignatureDoesNotMatch"],
    );
    assert_refused(
        &mut broker.client(),
        "oss://bkt/denied/a.csv",
        &p,
        Code::TARGET_STORAGE_SERVICE_ERROR,
        &["AccessDenied", "no right"],
    );
}

#[test]
fn azure_refused_key_is_not_authorized() {
    let listener = HttpListener::start(|_| {
        Reply::new(403)
            .header("Content-Type", "application/xml")
            .header("x-ms-error-code", "AuthenticationFailed")
            .body(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>\
                 <Message>Server failed to authenticate the request.</Message></Error>",
            )
    });
    let broker = BrokerProcess::start();
    let p = props(&[
        ("azure.blob.shared_key", AZURE_KEY),
        (
            "azure.blob.endpoint",
            &format!("http://acct.blob.localhost:{}", listener.port()),
        ),
    ]);
    assert_refused(
        &mut broker.client(),
        "wasbs://cont@acct.blob.core.windows.net/a.csv",
        &p,
        Code::NOT_AUTHORIZED,
        &["AuthenticationFailed"],
    );
}

/// Bad properties never reach the network: INVALID_ARGUMENT naming the key.
#[test]
fn missing_keys_are_invalid_arguments_naming_the_key() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for (path, p, named) in [
        ("oss://bkt/a", props(&[]), "fs.oss.endpoint"),
        (
            "cosn://bkt-1/a",
            props(&[("fs.cosn.userinfo.secretId", ACCESS)]),
            "fs.cosn.userinfo.secretKey",
        ),
        (
            "obs://bkt/a",
            props(&[("fs.obs.endpoint", "e")]),
            "fs.obs.access.key",
        ),
        ("ks3://bkt/a", props(&[]), "fs.ks3.AccessKey"),
        (
            "tos://bkt/a",
            props(&[("fs.tos.access.key", ACCESS)]),
            "fs.tos.secret.key",
        ),
        (
            "gs://bkt/a",
            props(&[("gcp.gcs.service_account_email", "a@b")]),
            "gcp.gcs.service_account_private_key",
        ),
        (
            "wasbs://cont@acct.blob.core.windows.net/a",
            props(&[]),
            "fs.azure.account.key.acct.blob.core.windows.net",
        ),
    ] {
        let r = c.with_props(&p).exists(path);
        assert_code(&r.op_status, Code::INVALID_ARGUMENT);
        assert!(message(&r.op_status).contains(named), "{path}: {r:?}");
    }
}

/// The token server refusing the key, or the API refusing the token, is NOT_AUTHORIZED
/// with what the server said; a refused permission is 502 with GCS's message.
#[test]
fn gcs_refusals_are_not_authorized_or_502() {
    let dir = tempfile::tempdir().unwrap();
    let refusing_token_server = HttpListener::start(|_| {
        Reply::new(400)
            .header("Content-Type", "application/json")
            .body(r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#)
    });
    let broker = BrokerProcess::start();
    let p = gcs_key_props(&refusing_token_server, dir.path());
    assert_refused(
        &mut broker.client(),
        "gs://bkt/a.csv",
        &p,
        Code::NOT_AUTHORIZED,
        &["invalid_grant"],
    );

    let refusing_api = HttpListener::start(|r| {
        if r.path() == "/token" {
            Reply::new(200)
                .header("Content-Type", "application/json")
                .body(r#"{"access_token":"gcs-access-token-5a7e","expires_in":3600}"#)
        } else if r.path().contains("forbidden") || r.query().contains("forbidden") {
            Reply::new(403).header("Content-Type", "application/json").body(
                r#"{"error":{"code":403,"message":"broker@test.iam.gserviceaccount.com does not have storage.objects.get access.","errors":[{"message":"no access","domain":"global","reason":"forbidden"}]}}"#,
            )
        } else {
            Reply::new(401).header("Content-Type", "application/json").body(
                r#"{"error":{"code":401,"message":"Invalid Credentials","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError"}]}}"#,
            )
        }
    });
    let p = gcs_key_props(&refusing_api, dir.path());
    assert_refused(
        &mut broker.client(),
        "gs://bkt/a.csv",
        &p,
        Code::NOT_AUTHORIZED,
        &["Invalid Credentials"],
    );
    assert_refused(
        &mut broker.client(),
        "gs://bkt/forbidden/a.csv",
        &p,
        Code::TARGET_STORAGE_SERVICE_ERROR,
        &["does not have storage.objects.get"],
    );
}

/// COS and an S3-compatible store (KS3) map their XML refusals like S3: credentials
/// refused → NOT_AUTHORIZED, anything else → 502, both with the store's code and message.
#[test]
fn cos_and_ks3_refusals_carry_the_stores_code() {
    let listener = HttpListener::start(|r| {
        if r.path().contains("denied") || r.query().contains("denied") {
            xml_error(403, "AccessDenied", "Access Denied by bucket policy.")
        } else {
            xml_error(
                403,
                "InvalidAccessKeyId",
                "The access key Id you provided does not exist.",
            )
        }
    });
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let endpoint = localhost(&listener);
    let cos = cos_props(&endpoint);
    let ks3 = ks3_props(&endpoint);
    for (base, p, store) in [("cosn://bkt-1", &cos, "COS"), ("ks3://bkt", &ks3, "KS3")] {
        assert_refused(
            &mut c,
            &format!("{base}/a.csv"),
            p,
            Code::NOT_AUTHORIZED,
            &["InvalidAccessKeyId", store],
        );
        assert_refused(
            &mut c,
            &format!("{base}/denied/a.csv"),
            p,
            Code::TARGET_STORAGE_SERVICE_ERROR,
            &["AccessDenied", "bucket policy"],
        );
    }
}
