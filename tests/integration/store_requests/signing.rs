//! How each store's requests are addressed and signed (or sent unsigned), and that no
//! key reaches a DEBUG log.

use super::{
    assert_exists, blob_head, cos_props, gcs_key_props, ks3_props, localhost, object_head,
    obs_props, only_request, oss_props, props, ACCESS, AZURE_KEY, SECRET,
};
use crate::common::http_listener::{HttpListener, Reply};
use crate::common::*;

#[test]
fn oss_signs_with_its_own_scheme_on_a_virtual_host() {
    let listener = HttpListener::start(|_| object_head());
    let broker = BrokerProcess::start();
    let p = oss_props(&localhost(&listener));
    assert_exists(&broker, "oss://bkt/dir/a.csv", &p);
    let r = only_request(&listener);
    assert_eq!(r.method, "HEAD");
    assert_eq!(
        r.header("host"),
        Some(format!("bkt.localhost:{}", listener.port()).as_str())
    );
    assert_eq!(r.path(), "/dir/a.csv");
    let auth = r.header("authorization").unwrap_or_default();
    assert!(
        auth.starts_with(&format!("OSS4-HMAC-SHA256 Credential={ACCESS}/"))
            && auth.contains("/cn-hangzhou/oss/aliyun_v4_request"),
        "V4 by default: {auth}"
    );
    assert!(!auth.contains(SECRET));
    // V1 on request.
    let mut v1 = p.clone();
    v1.insert("fs.oss.signatureversion".into(), "V1".into());
    assert_exists(&broker, "oss://bkt/dir/b.csv", &v1);
    let auth = listener
        .requests()
        .last()
        .unwrap()
        .header("authorization")
        .unwrap_or_default()
        .to_string();
    assert!(auth.starts_with(&format!("OSS {ACCESS}:")), "{auth}");
}

#[test]
fn cos_signs_with_q_sign_algorithm_on_the_bucket_host() {
    let listener = HttpListener::start(|_| object_head());
    let broker = BrokerProcess::start();
    let p = cos_props(&localhost(&listener));
    assert_exists(&broker, "cosn://bkt-1250000000/dir/a.csv", &p);
    assert_exists(&broker, "cos://bkt-1250000000/dir/a.csv", &p);
    let requests = listener.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    for r in requests {
        assert_eq!(r.method, "HEAD");
        assert_eq!(
            r.header("host"),
            Some(format!("bkt-1250000000.localhost:{}", listener.port()).as_str())
        );
        assert_eq!(r.path(), "/dir/a.csv");
        let auth = r.header("authorization").unwrap_or_default();
        assert!(auth.contains("q-sign-algorithm=sha1"), "{auth}");
        assert!(auth.contains(&format!("q-ak={ACCESS}")), "{auth}");
        assert!(!auth.contains(SECRET));
    }
}

/// OBS, KS3 and TOS speak S3 (SigV4, virtual-host style) with their own keys.
#[test]
fn obs_ks3_and_tos_sign_sigv4_on_a_virtual_host() {
    let listener = HttpListener::start(|_| object_head());
    let broker = BrokerProcess::start();
    let endpoint = localhost(&listener);
    let cases = [
        ("obs://bkt/dir/a.csv", obs_props(&endpoint), "cn-north-4"),
        ("ks3://bkt/dir/a.csv", ks3_props(&endpoint), "BEIJING"),
        (
            "tos://bkt/dir/a.csv",
            props(&[
                ("fs.tos.endpoint", &endpoint),
                ("fs.tos.access.key", ACCESS),
                ("fs.tos.secret.key", SECRET),
                ("fs.tos.region", "cn-shanghai"),
            ]),
            "cn-shanghai",
        ),
    ];
    for (i, (path, p, region)) in cases.iter().enumerate() {
        assert_exists(&broker, path, p);
        let requests = listener.requests();
        assert_eq!(requests.len(), i + 1, "{requests:#?}");
        let r = &requests[i];
        assert_eq!(r.method, "HEAD", "{path}");
        assert_eq!(
            r.header("host"),
            Some(format!("bkt.localhost:{}", listener.port()).as_str()),
            "{path}"
        );
        assert_eq!(r.path(), "/dir/a.csv", "{path}");
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS}/")),
            "{path}: {auth}"
        );
        assert!(
            auth.contains(&format!("/{region}/s3/aws4_request")),
            "{path}: {auth}"
        );
        assert!(!auth.contains(SECRET));
    }
}

#[test]
fn gcs_exchanges_the_key_at_its_token_uri_then_sends_a_bearer_token() {
    let listener = HttpListener::start(|r| {
        if r.path() == "/token" {
            Reply::new(200)
                .header("Content-Type", "application/json")
                .body(r#"{"access_token":"gcs-access-token-5a7e","expires_in":3600,"token_type":"Bearer"}"#)
        } else {
            Reply::new(200).header("Content-Type", "application/json").body(
                r#"{"name":"dir/a.csv","bucket":"bkt","size":"5","updated":"2023-01-02T03:04:05.000Z","contentType":"text/csv","etag":"CAE="}"#,
            )
        }
    });
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let p = gcs_key_props(&listener, dir.path());
    assert_exists(&broker, "gs://bkt/dir/a.csv", &p);
    let requests = listener.requests();
    let token = &requests[0];
    assert_eq!((token.method.as_str(), token.path()), ("POST", "/token"));
    let form: Vec<(String, String)> = form_pairs(&token.body);
    assert!(form.contains(&(
        "grant_type".into(),
        "urn:ietf:params:oauth:grant-type:jwt-bearer".into()
    )));
    assert!(form
        .iter()
        .any(|(k, v)| k == "assertion" && v.split('.').count() == 3));
    let r = only_request(&listener);
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.header("host"),
        Some(format!("127.0.0.1:{}", listener.port()).as_str())
    );
    assert_eq!(r.path(), "/storage/v1/b/bkt/o/dir%2Fa.csv");
    assert_eq!(
        r.header("authorization"),
        Some("Bearer gcs-access-token-5a7e")
    );
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), urldecode(v)))
        .collect()
}

fn urldecode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn azure_signs_with_shared_key_or_sends_the_sas_token() {
    let listener = HttpListener::start(|_| blob_head());
    let broker = BrokerProcess::start();
    let endpoint = format!("http://acct.blob.localhost:{}", listener.port());
    let host = format!("acct.blob.localhost:{}", listener.port());
    let shared_key = props(&[
        ("fs.azure.account.key.acct.blob.core.windows.net", AZURE_KEY),
        ("azure.blob.endpoint", &endpoint),
    ]);
    assert_exists(
        &broker,
        "wasbs://cont@acct.blob.core.windows.net/dir/a.csv",
        &shared_key,
    );
    let r = only_request(&listener);
    assert_eq!(r.method, "HEAD");
    assert_eq!(r.header("host"), Some(host.as_str()));
    assert_eq!(r.path(), "/cont/dir/a.csv");
    let auth = r.header("authorization").unwrap_or_default();
    assert!(auth.starts_with("SharedKey acct:"), "{auth}");
    assert!(!auth.contains(AZURE_KEY));
    assert!(r.header("x-ms-version").is_some(), "{r:?}");

    let sas = props(&[
        (
            "azure.adls2.sas_token",
            "sv=2022-11-02&ss=b&srt=co&sp=rl&sig=c2lnbmF0dXJl",
        ),
        ("azure.blob.endpoint", &endpoint),
    ]);
    assert_exists(
        &broker,
        "wasbs://cont@acct.blob.core.windows.net/dir/a.csv",
        &sas,
    );
    let requests = listener.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    let r = &requests[1];
    assert_eq!(r.header("host"), Some(host.as_str()));
    assert_eq!(r.path(), "/cont/dir/a.csv");
    assert!(r.header("authorization").is_none(), "{r:?}");
    for param in ["sv=2022-11-02", "sp=rl", "sig=c2lnbmF0dXJl"] {
        assert!(r.query().contains(param), "{}", r.target);
    }
}

/// At DEBUG the storage libraries log what they build and sign; no key of any of these
/// stores reaches the log (OSS and COS take keys only through providers that print them).
#[test]
fn no_secret_reaches_a_debug_log() {
    let listener = HttpListener::start(|_| blob_head());
    let broker = BrokerProcess::start_with(&[("sys_log_level", "DEBUG")]);
    let endpoint = localhost(&listener);
    for (path, p) in [
        ("oss://bkt/a.csv", oss_props(&endpoint)),
        ("cosn://bkt-1/a.csv", cos_props(&endpoint)),
        ("ks3://bkt/a.csv", ks3_props(&endpoint)),
        (
            "wasbs://cont@acct.blob.core.windows.net/a.csv",
            props(&[
                ("azure.blob.shared_key", AZURE_KEY),
                (
                    "azure.blob.endpoint",
                    &format!("http://acct.blob.localhost:{}", listener.port()),
                ),
            ]),
        ),
    ] {
        assert_exists(&broker, path, &p);
    }
    wait_for(
        "the DEBUG lines of the requests",
        std::time::Duration::from_secs(5),
        || broker.log().contains("calculated string to sign"),
    );
    let log = broker.log();
    for secret in [SECRET, AZURE_KEY] {
        assert!(!log.contains(secret), "a secret reached the DEBUG log");
    }
}

/// OSS and GCS without credentials send unsigned requests (public buckets) and never
/// ask a token or metadata server for any.
#[test]
fn oss_and_gcs_without_keys_send_unsigned_requests() {
    let listener = HttpListener::start(|r| {
        if r.path().starts_with("/storage/") {
            Reply::new(200).header("Content-Type", "application/json").body(
                r#"{"name":"a.csv","bucket":"bkt","size":"5","updated":"2023-01-02T03:04:05.000Z"}"#,
            )
        } else {
            object_head()
        }
    });
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let endpoint = localhost(&listener);
    for (path, p) in [
        ("oss://bkt/a.csv", props(&[("fs.oss.endpoint", &endpoint)])),
        (
            "gs://bkt/a.csv",
            props(&[("fs.gs.storage.root.url", &endpoint)]),
        ),
    ] {
        let r = c.with_props(&p).exists(path);
        assert_ok(&r.op_status);
        assert!(r.is_path_exist, "{path}: {r:?}");
    }
    let requests = listener.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].path(), "/a.csv");
    assert_eq!(requests[1].path(), "/storage/v1/b/bkt/o/a.csv");
    for r in &requests {
        assert!(r.header("authorization").is_none(), "{r:?}");
    }
}
