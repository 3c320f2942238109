//! OSS and COS signatures checked by the vendors' own SDKs: every request passes a proxy
//! (common/signature_proxy.rs) that signs it again with PyPI `oss2` (OSS V4 and V1) or
//! `cos-python-sdk-v5` (COS), refuses it with 403 `SignatureDoesNotMatch` on any
//! difference, and forwards it to moto. Four variants, each with its own proxy, broker
//! and base: OSS V4 with an STS token, OSS V1, COS with a session token and without one.
//! Each runs the conformance suite (`signed_stores::oss_v4_sts_token::conformance::
//! rename_dir` ...), any refused request failing the check that saw it, and a round trip
//! whose every request must be verified (`signed_stores::cos_session_token::
//! every_request_of_a_round_trip_is_verified`).

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use crate::common::moto::Moto;
use crate::common::signature_proxy::{Signature, SignatureProxy};
use crate::common::*;
use crate::conformance::unique;

const ACCESS: &str = "AKIDSIGNEDSTORE";
const SECRET: &str = "signed-store-secret-5d0e";
const TOKEN: &str = "signed-store-token-77ab";
const OSS_BUCKET: &str = "oss-signed";
const COS_BUCKET: &str = "cos-1250000000";

fn moto() -> &'static Moto {
    static SERVER: OnceLock<Moto> = OnceLock::new();
    SERVER.get_or_init(|| Moto::start(&[OSS_BUCKET, COS_BUCKET]))
}

/// What a variant signs with, and how a user configures it.
#[derive(Clone, Copy)]
enum Variant {
    OssV4StsToken,
    OssV1,
    CosSessionToken,
    CosWithoutToken,
}

impl Variant {
    fn token(self) -> Option<&'static str> {
        match self {
            Variant::OssV4StsToken | Variant::CosSessionToken => Some(TOKEN),
            Variant::OssV1 | Variant::CosWithoutToken => None,
        }
    }

    /// A proxy in front of moto checking this variant's signature.
    fn start_proxy(self) -> SignatureProxy {
        let (signature, region) = match self {
            Variant::OssV4StsToken => (Signature::OssV4, "cn-hangzhou"),
            Variant::OssV1 => (Signature::OssV1, ""),
            Variant::CosSessionToken | Variant::CosWithoutToken => (Signature::Cos, "ap-guangzhou"),
        };
        SignatureProxy::start(moto(), signature, (ACCESS, SECRET, self.token()), region)
    }

    /// A fresh directory URI in the variant's bucket.
    fn base(self) -> String {
        match self {
            Variant::OssV4StsToken | Variant::OssV1 => {
                format!("oss://{OSS_BUCKET}/{}", unique("signed"))
            }
            Variant::CosSessionToken | Variant::CosWithoutToken => {
                format!("cosn://{COS_BUCKET}/{}", unique("signed"))
            }
        }
    }

    /// The store's own keys, reaching the proxy.
    fn props(self, proxy: &SignatureProxy) -> Props {
        let endpoint = proxy.endpoint();
        let mut p = match self {
            Variant::OssV4StsToken => props(&[
                ("fs.oss.endpoint", &endpoint),
                ("fs.oss.region", "cn-hangzhou"),
                ("fs.oss.accessKeyId", ACCESS),
                ("fs.oss.accessKeySecret", SECRET),
                ("fs.oss.securityToken", TOKEN),
            ]),
            Variant::OssV1 => props(&[
                ("fs.oss.endpoint", &endpoint),
                ("fs.oss.signatureversion", "V1"),
                ("fs.oss.accessKeyId", ACCESS),
                ("fs.oss.accessKeySecret", SECRET),
            ]),
            Variant::CosSessionToken | Variant::CosWithoutToken => props(&[
                ("fs.cosn.bucket.endpoint_suffix", &endpoint),
                ("fs.cosn.userinfo.secretId", ACCESS),
                ("fs.cosn.userinfo.secretKey", SECRET),
            ]),
        };
        if let (Variant::CosSessionToken, Some(token)) = (self, self.token()) {
            p.insert("fs.cosn.userinfo.sessionToken".into(), token.into());
        }
        p
    }
}

/// Runs `work`, then fails on any request the proxy refused (listing them first: they
/// explain whatever else failed). Checks of one variant share a proxy and run
/// concurrently, so a refusal fails every check that ends after it.
fn refusing_none(proxy: &SignatureProxy, work: impl FnOnce()) {
    let outcome = catch_unwind(AssertUnwindSafe(work));
    let mismatches = proxy.mismatches();
    assert!(
        mismatches.is_empty(),
        "signatures the SDK does not compute: {mismatches:#?}"
    );
    if let Err(failure) = outcome {
        resume_unwind(failure);
    }
}

/// A write, a listing, a rename (a copy and a delete), reads, a delete, all below one
/// fresh directory: every one of its requests verified by the SDK, of each method, and
/// none refused. COS renames name the copy source in Tencent's host form (the proxy
/// refuses the path form).
fn every_request_of_a_round_trip_is_verified(variant: Variant, proxy: &SignatureProxy) {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&variant.props(proxy));
    let base = variant.base();
    let dir = base.rsplit('/').next().unwrap().to_string();
    refusing_none(proxy, || {
        let (a, b) = (format!("{base}/a.csv"), format!("{base}/b.csv"));
        c.write_file(&a, "be:1", b"signed bytes", 5);
        assert_eq!(listed(&c.list(&format!("{base}/*"), false, false)).len(), 1);
        assert_ok(&c.rename(&a, &b));
        assert_eq!(c.read_file(&b, "be:1", 4), b"signed bytes");
        assert!(!c.exists(&a).is_path_exist);
        assert_ok(&c.delete(&base));
        assert!(!c.exists(&b).is_path_exist);
    });
    let verified = proxy.verified(&dir);
    for method in ["PUT", "GET", "HEAD", "DELETE"] {
        assert!(
            verified
                .iter()
                .any(|l| l.starts_with(&format!("verified {method} "))),
            "no {method} verified: {verified:#?}\n{}",
            proxy.output()
        );
    }
    if matches!(variant, Variant::CosSessionToken | Variant::CosWithoutToken) {
        assert!(
            proxy.output().contains("copy-source in host form"),
            "the rename copied with a host-form source: {}",
            proxy.output()
        );
    }
    eprintln!("{} requests verified by the SDK", verified.len());
}

/// One variant: its proxy, the conformance suite through it, and the round trip.
macro_rules! signed_variant {
    ($name:ident, $variant:expr) => {
        mod $name {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn proxy() -> &'static SignatureProxy {
                static PROXY: OnceLock<SignatureProxy> = OnceLock::new();
                PROXY.get_or_init(|| $variant.start_proxy())
            }

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let proxy = proxy();
                refusing_none(proxy, || {
                    SUITE.run(
                        "signature proxy",
                        BrokerProcess::start,
                        |_| Target::new($variant.base(), $variant.props(proxy)),
                        check,
                    )
                });
            }

            mod conformance {
                use crate::common::Server;
                crate::conformance::conformance_tests!(super::run, needs Server::SignatureProxy);
            }

            #[test]
            fn every_request_of_a_round_trip_is_verified() {
                if missing(Server::SignatureProxy) {
                    return;
                }
                super::every_request_of_a_round_trip_is_verified($variant, proxy());
            }
        }
    };
}

signed_variant!(oss_v4_sts_token, Variant::OssV4StsToken);
signed_variant!(oss_v1, Variant::OssV1);
signed_variant!(cos_session_token, Variant::CosSessionToken);
signed_variant!(cos_without_token, Variant::CosWithoutToken);
