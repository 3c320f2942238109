//! The object stores whose servers cannot run here (OSS, COS, OBS, KS3, TOS, GCS, Azure),
//! verified by the shape of the requests the broker sends: a checkPathExist through the
//! Thrift wire, answered by a recording HTTP listener on 127.0.0.1
//! (common/http_listener.rs), and the request's host, path and authorization
//! scheme checked against each store's API. This proves the broker builds each store's
//! requests and reads its answers; it does not prove a live service accepts the
//! signatures. Refusals map to NOT_AUTHORIZED (credentials) or 502 (anything else) with
//! the store's code and message.

use crate::common::http_listener::{HttpListener, Recorded, Reply};
use crate::common::*;

const ACCESS: &str = "AKIDSTORETEST";
const SECRET: &str = "store-shape-secret-8c1f";

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `http://localhost:<port>` of a listener: bucket hosts below it resolve to it.
fn localhost(listener: &HttpListener) -> String {
    format!("http://localhost:{}", listener.port())
}

/// OSS keys for the store at `endpoint` (region cn-hangzhou, V4 by default).
fn oss_props(endpoint: &str) -> Props {
    props(&[
        ("fs.oss.endpoint", endpoint),
        ("fs.oss.accessKeyId", ACCESS),
        ("fs.oss.accessKeySecret", SECRET),
        ("fs.oss.region", "cn-hangzhou"),
    ])
}

/// COS keys, the buckets below `endpoint`.
fn cos_props(endpoint: &str) -> Props {
    props(&[
        ("fs.cosn.bucket.endpoint_suffix", endpoint),
        ("fs.cosn.userinfo.secretId", ACCESS),
        ("fs.cosn.userinfo.secretKey", SECRET),
    ])
}

fn obs_props(endpoint: &str) -> Props {
    props(&[
        ("fs.obs.endpoint", endpoint),
        ("fs.obs.access.key", ACCESS),
        ("fs.obs.secret.key", SECRET),
    ])
}

fn ks3_props(endpoint: &str) -> Props {
    props(&[
        ("fs.ks3.endpoint", endpoint),
        ("fs.ks3.AccessKey", ACCESS),
        ("fs.ks3.AccessSecret", SECRET),
    ])
}

/// An object of 5 bytes, as S3-like stores answer a HEAD.
fn object_head() -> Reply {
    Reply::new(200)
        .header("Content-Length", "5")
        .header("Last-Modified", "Mon, 02 Jan 2023 03:04:05 GMT")
        .header("ETag", "\"5d41402abc4b2a76b9719d911017c592\"")
        .header("Content-Type", "text/csv")
}

/// The one storage request (token requests aside) the broker sent for the check.
#[track_caller]
fn only_request(listener: &HttpListener) -> Recorded {
    let requests: Vec<Recorded> = listener
        .requests()
        .into_iter()
        .filter(|r| r.path() != "/token")
        .collect();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    requests.into_iter().next().unwrap()
}

#[track_caller]
fn assert_exists(broker: &BrokerProcess, path: &str, p: &Props) {
    let r = broker.client().with_props(p).exists(path);
    assert_ok(&r.op_status);
    assert!(r.is_path_exist, "{path} should exist: {r:?}");
}

/// A checkPathExist of `path` with `p` refused with `code`, its message holding each of
/// `said`.
#[track_caller]
fn assert_refused(c: &mut Client, path: &str, p: &Props, code: Code, said: &[&str]) {
    let r = c.with_props(p).exists(path);
    assert_code(&r.op_status, code);
    for said in said {
        assert!(message(&r.op_status).contains(said), "{r:?}");
    }
}

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

fn blob_head() -> Reply {
    object_head()
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-version", "2019-12-12")
}

/// The account key of the Azure tests (base64 of a made-up key).
const AZURE_KEY: &str = "YXp1cmUtc2hhcGUtYWNjb3VudC1rZXktNGQ5";

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

/// A GCS key file for a listener: the test key, tokens from the listener's `/token`.
fn gcs_key_props(listener: &HttpListener, dir: &std::path::Path) -> Props {
    let key = serde_json::json!({
        "type": "service_account",
        "client_email": "broker@test.iam.gserviceaccount.com",
        "private_key": include_str!("../data/gcs-test-key.pem"),
        "token_uri": format!("http://127.0.0.1:{}/token", listener.port()),
    });
    let keyfile = dir.join("key.json");
    std::fs::write(&keyfile, key.to_string()).unwrap();
    props(&[
        (
            "fs.gs.auth.service.account.json.keyfile",
            keyfile.to_str().unwrap(),
        ),
        (
            "fs.gs.storage.root.url",
            &format!("http://127.0.0.1:{}", listener.port()),
        ),
    ])
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

/// A pread is one ranged GET of the bytes asked for, clamped at the object's size.
#[test]
fn oss_pread_is_a_ranged_get() {
    let listener = HttpListener::start(|r| match r.method.as_str() {
        "HEAD" => object_head(),
        _ => {
            let range = r.header("range").unwrap_or_default().to_string();
            let body: &[u8] = match range.as_str() {
                "bytes=1-3" => b"ell",
                "bytes=3-4" => b"lo",
                _ => b"?",
            };
            Reply::new(206)
                .header("Content-Range", &format!("{}/5", range.replace('=', " ")))
                .header("Last-Modified", "Mon, 02 Jan 2023 03:04:05 GMT")
                .body(body)
        }
    });
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = oss_props(&localhost(&listener));
    let fd = c.with_props(&p).reader_fd("oss://bkt/a.csv", "be:1");
    let r = c.pread(&fd, 1, 3);
    assert_ok(&r.op_status);
    assert_eq!(r.data.as_deref(), Some(&b"ell"[..]));
    let r = c.pread(&fd, 3, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data.as_deref(), Some(&b"lo"[..]));
    let gets: Vec<Recorded> = listener
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    for (r, range) in gets.iter().zip(["bytes=1-3", "bytes=3-4"]) {
        assert_eq!(r.path(), "/a.csv");
        assert_eq!(r.header("range"), Some(range));
        assert!(r
            .header("authorization")
            .unwrap_or_default()
            .starts_with("OSS4-HMAC-SHA256 "));
    }
    assert_ok(&c.close_reader(&fd));
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

/// One page of an S3 ListObjectsV2 answer: `keys` with their sizes, and the token of
/// the next page if any.
fn list_page(keys: &[(&str, u64)], next: Option<&str>) -> Reply {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>bkt</Name><Prefix>dir/</Prefix><MaxKeys>1000</MaxKeys>",
    );
    xml.push_str(&format!("<KeyCount>{}</KeyCount>", keys.len()));
    match next {
        Some(token) => xml.push_str(&format!(
            "<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>"
        )),
        None => xml.push_str("<IsTruncated>false</IsTruncated>"),
    }
    for (key, size) in keys {
        xml.push_str(&format!(
            "<Contents><Key>{key}</Key><LastModified>2023-01-02T03:04:05.000Z</LastModified>\
             <ETag>\"e\"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        ));
    }
    xml.push_str("</ListBucketResult>");
    Reply::new(200)
        .header("Content-Type", "application/xml")
        .body(xml)
}

/// A recursive listing on an object store is one listing without a delimiter, paged,
/// not one listing per directory; its files come in the walk's order (by path
/// components: `a/x.csv` before `a.txt`), markers are no entries.
#[test]
fn a_recursive_listing_is_one_flat_listing_of_pages() {
    let listener = HttpListener::start(|r| {
        if r.method != "GET" || !r.query().contains("list-type=2") {
            return Reply::new(404);
        }
        if r.query().contains("continuation-token=page2") {
            list_page(&[("dir/b/c.csv", 3), ("dir/b/c/d.csv", 4)], None)
        } else {
            list_page(
                &[("dir/a.txt", 1), ("dir/a/x.csv", 2), ("dir/b/", 0)],
                Some("page2"),
            )
        }
    });
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = obs_props(&localhost(&listener));
    let r = c.with_props(&p).list_located("obs://bkt/dir", true, false);
    assert_ok(&r.op_status);
    let files: Vec<(String, bool, i64)> = r
        .files
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir, f.size))
        .collect();
    let file = |path: &str, size| (format!("obs://bkt/dir/{path}"), false, size);
    assert_eq!(
        files,
        vec![
            file("a/x.csv", 2),
            file("a.txt", 1),
            file("b/c/d.csv", 4),
            file("b/c.csv", 3),
        ]
    );
    let requests = listener.requests();
    assert_eq!(requests.len(), 2, "one listing of two pages: {requests:#?}");
    for r in &requests {
        let query: Vec<&str> = r.query().split('&').collect();
        assert!(query.contains(&"prefix=dir/"), "{r:?}");
        assert!(!r.query().contains("delimiter"), "{r:?}");
    }
}
