//! The object stores whose servers cannot run here (OSS, COS, OBS, KS3, TOS, GCS, Azure),
//! verified by the shape of the requests the broker sends: a checkPathExist through the
//! Thrift wire, answered by a recording HTTP listener on 127.0.0.1
//! (common/http_listener.rs), and the request's host, path and authorization
//! scheme checked against each store's API. This proves the broker builds each store's
//! requests and reads its answers; it does not prove a live service accepts the
//! signatures. Refusals map to NOT_AUTHORIZED (credentials) or 502 (anything else) with
//! the store's code and message.
//!
//! By topic: how each store signs (signing.rs), how refusals and bad properties are
//! answered (refusals.rs), ranged reads and recursive listings (reads_and_listings.rs);
//! the stores' properties and answers shared by them are here.

mod reads_and_listings;
mod refusals;
mod signing;

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

fn blob_head() -> Reply {
    object_head()
        .header("x-ms-blob-type", "BlockBlob")
        .header("x-ms-version", "2019-12-12")
}

/// The account key of the Azure tests (base64 of a made-up key).
const AZURE_KEY: &str = "YXp1cmUtc2hhcGUtYWNjb3VudC1rZXktNGQ5";

/// A GCS key file for a listener: the test key, tokens from the listener's `/token`.
fn gcs_key_props(listener: &HttpListener, dir: &std::path::Path) -> Props {
    let key = serde_json::json!({
        "type": "service_account",
        "client_email": "broker@test.iam.gserviceaccount.com",
        "private_key": include_str!("../../data/gcs-test-key.pem"),
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
