//! OSS and COS signatures checked by the vendors' own SDKs: the conformance suite through
//! the Thrift wire, every request passing a proxy (tests/common/signature_proxy.rs) that
//! signs it again with PyPI `oss2` (OSS V4 and V1) or `cos-python-sdk-v5` (COS) and
//! refuses it on any difference, then forwards it to moto. A mismatch fails the test.

mod common;
mod conformance;

use std::sync::OnceLock;

use common::moto::Moto;
use common::signature_proxy::{Signature, SignatureProxy};
use common::*;
use conformance::*;

const ACCESS: &str = "AKIDSIGNEDSTORE";
const SECRET: &str = "signed-store-secret-5d0e";
const TOKEN: &str = "signed-store-token-77ab";
const OSS_BUCKET: &str = "oss-signed";
const COS_BUCKET: &str = "cos-1250000000";

fn moto() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| Moto::start(&[OSS_BUCKET, COS_BUCKET]))
}

fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The suite through `proxy`, then: every request verified, none refused.
#[track_caller]
fn conformance_through(proxy: &SignatureProxy, base: String, p: Props) {
    let broker = BrokerProcess::start();
    let suite = std::panic::catch_unwind(|| run_all(&broker, &Target::new(base, p)));
    // Mismatches first: they explain the suite's failures.
    let (verified, mismatches) = proxy.tally();
    assert!(
        mismatches.is_empty(),
        "signatures the SDK does not compute: {mismatches:#?}\n{}",
        proxy.output()
    );
    if let Err(failure) = suite {
        eprintln!("proxy output:\n{}", proxy.output());
        std::panic::resume_unwind(failure);
    }
    assert!(
        verified > 100,
        "only {verified} requests verified: {}",
        proxy.output()
    );
    eprintln!("{verified} requests verified by the SDK");
}

#[test]
fn oss_v4_signatures_match_oss2_through_the_conformance_suite() {
    let proxy = SignatureProxy::start(
        moto(),
        Signature::OssV4,
        (ACCESS, SECRET, Some(TOKEN)),
        "cn-hangzhou",
    );
    let p = props(&[
        ("fs.oss.endpoint", &proxy.endpoint()),
        ("fs.oss.region", "cn-hangzhou"),
        ("fs.oss.accessKeyId", ACCESS),
        ("fs.oss.accessKeySecret", SECRET),
        ("fs.oss.securityToken", TOKEN),
    ]);
    conformance_through(&proxy, format!("oss://{OSS_BUCKET}/{}", unique("v4")), p);
}

#[test]
fn oss_v1_signatures_match_oss2_through_the_conformance_suite() {
    let proxy = SignatureProxy::start(moto(), Signature::OssV1, (ACCESS, SECRET, None), "");
    let p = props(&[
        ("fs.oss.endpoint", &proxy.endpoint()),
        ("fs.oss.signatureversion", "V1"),
        ("fs.oss.accessKeyId", ACCESS),
        ("fs.oss.accessKeySecret", SECRET),
    ]);
    conformance_through(&proxy, format!("oss://{OSS_BUCKET}/{}", unique("v1")), p);
}

/// With and without a session token; renames copy with the source in Tencent's host
/// form (the proxy refuses the path form).
#[test]
fn cos_signatures_match_the_cos_sdk_through_the_conformance_suite() {
    for token in [Some(TOKEN), None] {
        let proxy = SignatureProxy::start(
            moto(),
            Signature::Cos,
            (ACCESS, SECRET, token),
            "ap-guangzhou",
        );
        let mut p = props(&[
            ("fs.cosn.bucket.endpoint_suffix", &proxy.endpoint()),
            ("fs.cosn.userinfo.secretId", ACCESS),
            ("fs.cosn.userinfo.secretKey", SECRET),
        ]);
        if let Some(token) = token {
            p.insert("fs.cosn.userinfo.sessionToken".into(), token.into());
        }
        conformance_through(&proxy, format!("cosn://{COS_BUCKET}/{}", unique("cos")), p);
        assert!(
            proxy.output().contains("copy-source in host form"),
            "renames copied in host form"
        );
    }
}
