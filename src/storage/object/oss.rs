//! `oss://bucket/key`: Alibaba Cloud OSS on opendal's native OSS service (OSS's own
//! request signature, virtual-host addressing `bucket.endpoint`).
//!
//! Keys (Hadoop's aliyun connector): `fs.oss.endpoint` (required, with or without
//! `https://`, e.g. `oss-cn-hangzhou.aliyuncs.com`), `fs.oss.accessKeyId` and
//! `fs.oss.accessKeySecret` (together, or neither for unsigned requests to a public
//! bucket), optional `fs.oss.securityToken` (STS).
//!
//! Signature V4 by default (OSS retires V1), with the region from the endpoint
//! (`oss-<region>[-internal].aliyuncs.com`) or `fs.oss.region`; `fs.oss.signatureversion`
//! (also spelled `fs.oss.signatureVersion`) = `V1` keeps the old signature for
//! deployments that do not take V4. V4 requests are signed in our transport
//! (`signing.rs`): opendal's OSS service signs V1 only.

use opendal::Operator;

use super::props::{endpoint_url, host_of, invalid, one_of, pair};
use super::{signing, Dialect};
use crate::storage::{Properties, Result};

pub struct Oss;

const STORE: &str = "OSS";
const ACCESS_KEY: &[&str] = &["fs.oss.accessKeyId"];
const SECRET_KEY: &[&str] = &["fs.oss.accessKeySecret"];
const SECURITY_TOKEN: &[&str] = &["fs.oss.securityToken"];
const ENDPOINT: &[&str] = &["fs.oss.endpoint"];
const REGION: &[&str] = &["fs.oss.region"];
const SIGNATURE_VERSION: &[&str] = &["fs.oss.signatureversion", "fs.oss.signatureVersion"];

/// How requests are signed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
enum Signature {
    V1,
    V4 { region: String },
}

/// Connection settings of one bucket. No `Debug`: it holds keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OssSettings {
    bucket: String,
    /// With its scheme, no trailing slash, without the bucket.
    endpoint: String,
    /// `(access key id, secret, STS token)`; `None` signs nothing.
    keys: Option<(String, String, Option<String>)>,
    signature: Signature,
}

impl Dialect for Oss {
    type Settings = OssSettings;
    const STORE: &'static str = STORE;

    fn settings(&self, _scheme: &str, bucket: &str, props: &Properties) -> Result<OssSettings> {
        let keys = pair(STORE, props, ACCESS_KEY, SECRET_KEY)?;
        let token = one_of(STORE, props, SECURITY_TOKEN, true)?;
        if let (Some((_, key)), None) = (token, keys) {
            return Err(invalid(
                STORE,
                format!(
                    "{key} is set but {} and {} are missing",
                    ACCESS_KEY[0], SECRET_KEY[0]
                ),
            ));
        }
        let (raw, key) = one_of(STORE, props, ENDPOINT, false)?.ok_or_else(|| {
            invalid(
                STORE,
                format!(
                    "{} is required (e.g. oss-cn-hangzhou.aliyuncs.com)",
                    ENDPOINT[0]
                ),
            )
        })?;
        let endpoint = endpoint_url(STORE, raw, key, true)?;
        let signature = signature(props, &endpoint, keys.is_some())?;
        Ok(OssSettings {
            bucket: bucket.to_string(),
            endpoint,
            signature,
            keys: keys.map(|(a, s)| {
                (
                    a.to_string(),
                    s.to_string(),
                    token.map(|(t, _)| t.to_string()),
                )
            }),
        })
    }

    fn describe(s: &OssSettings) -> String {
        let credentials = match &s.keys {
            None => "none (unsigned requests)",
            Some((_, _, Some(_))) => "key pair with STS token",
            Some(_) => "key pair",
        };
        let signature = match &s.signature {
            Signature::V1 => "V1".to_string(),
            Signature::V4 { region } => format!("V4, region {region}"),
        };
        format!(
            "endpoint {}, credentials: {credentials}, signature {signature}",
            s.endpoint
        )
    }

    fn is_anonymous(s: &OssSettings) -> bool {
        s.keys.is_none()
    }

    fn operator(s: &OssSettings) -> opendal::Result<Operator> {
        let mut b = opendal::services::Oss::default()
            .bucket(&s.bucket)
            .root("/")
            .endpoint(&s.endpoint);
        b = match &s.keys {
            // The service's chain goes on to the environment, OIDC and the ECS metadata
            // service only when no key pair answers: with one it never does.
            // V4: sent unsigned, signed by the transport (see `transport`).
            Some(_) if s.signature != Signature::V1 => b.skip_signature(),
            Some((access, secret, token)) => {
                let b = b.access_key_id(access).access_key_secret(secret);
                match token {
                    Some(t) => b.security_token(t),
                    None => b,
                }
            }
            None => b.skip_signature(),
        };
        Operator::new(b)
    }

    fn transport(s: &OssSettings, shared: opendal::HttpTransporter) -> opendal::HttpTransporter {
        match (&s.keys, &s.signature) {
            (Some((access, secret, token)), Signature::V4 { region }) => signing::oss_v4(
                shared,
                &s.bucket,
                region,
                (access, secret, token.as_deref()),
            ),
            _ => shared,
        }
    }
}

/// The signature the properties ask for: V4 unless `fs.oss.signatureversion` says V1,
/// its region from `fs.oss.region` or else the endpoint. Without keys nothing is signed,
/// so no region is needed.
fn signature(props: &Properties, endpoint: &str, signed: bool) -> Result<Signature> {
    match one_of(STORE, props, SIGNATURE_VERSION, false)? {
        Some((v, _)) if v.eq_ignore_ascii_case("v1") => return Ok(Signature::V1),
        Some((v, _)) if v.eq_ignore_ascii_case("v4") => {}
        Some((v, key)) => {
            return Err(invalid(
                STORE,
                format!("{key} = {v}: only V1 and V4 are supported"),
            ))
        }
        None => {}
    }
    let region = match one_of(STORE, props, REGION, false)? {
        Some((region, _)) => region.to_string(),
        None => match region_of(&host_of(endpoint)) {
            Some(region) => region,
            None if !signed => String::new(),
            None => {
                return Err(invalid(
                    STORE,
                    format!(
                        "signature V4 needs the bucket's region: {endpoint} does not name one \
                         (oss-<region>.aliyuncs.com), so set {} (e.g. cn-hangzhou), or {} = V1",
                        REGION[0], SIGNATURE_VERSION[0]
                    ),
                ))
            }
        },
    };
    Ok(Signature::V4 { region })
}

/// `cn-hangzhou` from `oss-cn-hangzhou.aliyuncs.com` or `oss-cn-hangzhou-internal...`;
/// `None` for a host that names no region (a custom domain, `oss-accelerate`).
fn region_of(host: &str) -> Option<String> {
    let name = host.strip_suffix(".aliyuncs.com")?;
    let label = name.rsplit('.').next()?.strip_prefix("oss-")?;
    let region = label.strip_suffix("-internal").unwrap_or(label);
    (!region.is_empty() && !region.starts_with("accelerate")).then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    use crate::storage::props_of as props;

    #[test]
    fn keys_build_the_settings() {
        let s = Oss
            .settings(
                "oss",
                "bkt",
                &props(&[
                    ("fs.oss.endpoint", "oss-cn-hangzhou.aliyuncs.com"),
                    ("fs.oss.accessKeyId", "AK"),
                    ("fs.oss.accessKeySecret", "SECRET1"),
                ]),
            )
            .unwrap();
        assert_eq!(s.bucket, "bkt");
        assert_eq!(s.endpoint, "https://oss-cn-hangzhou.aliyuncs.com");
        assert_eq!(
            s.keys,
            Some(("AK".into(), "SECRET1".into(), None)),
            "{}",
            Oss::describe(&s)
        );
        assert!(!Oss::describe(&s).contains("SECRET1"));
        assert!(Oss::operator(&s).is_ok());
        let anonymous = Oss
            .settings(
                "oss",
                "bkt",
                &props(&[("fs.oss.endpoint", "http://127.0.0.1:1")]),
            )
            .unwrap();
        assert!(Oss::is_anonymous(&anonymous));
        assert_eq!(anonymous.endpoint, "http://127.0.0.1:1");
    }

    #[test]
    fn v4_by_default_with_the_region_of_the_endpoint_v1_on_request() {
        for (host, region) in [
            ("oss-cn-hangzhou.aliyuncs.com", Some("cn-hangzhou")),
            ("oss-cn-beijing-internal.aliyuncs.com", Some("cn-beijing")),
            ("oss-accelerate.aliyuncs.com", None),
            ("files.example.com", None),
        ] {
            assert_eq!(region_of(host).as_deref(), region, "{host}");
        }
        let keys = [
            ("fs.oss.accessKeyId", "AK"),
            ("fs.oss.accessKeySecret", "SECRET1"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut pairs = keys.to_vec();
            pairs.extend_from_slice(extra);
            Oss.settings("oss", "b", &props(&pairs))
        };
        let s = with(&[("fs.oss.endpoint", "oss-cn-hangzhou-internal.aliyuncs.com")]).unwrap();
        assert_eq!(
            s.signature,
            Signature::V4 {
                region: "cn-hangzhou".into()
            }
        );
        assert!(Oss::describe(&s).contains("V4, region cn-hangzhou"));
        let s = with(&[
            ("fs.oss.endpoint", "http://127.0.0.1:1"),
            ("fs.oss.region", "cn-shanghai"),
        ])
        .unwrap();
        assert_eq!(
            s.signature,
            Signature::V4 {
                region: "cn-shanghai".into()
            }
        );
        let s = with(&[
            ("fs.oss.endpoint", "http://127.0.0.1:1"),
            ("fs.oss.signatureVersion", "v1"),
        ])
        .unwrap();
        assert_eq!(s.signature, Signature::V1);
        for (extra, named) in [
            (
                &[("fs.oss.endpoint", "http://127.0.0.1:1")][..],
                "fs.oss.region",
            ),
            (
                &[
                    ("fs.oss.endpoint", "oss-cn-hangzhou.aliyuncs.com"),
                    ("fs.oss.signatureversion", "V2"),
                ][..],
                "only V1 and V4",
            ),
        ] {
            let err = with(extra).err().expect("refused").to_string();
            assert!(err.contains(named) && !err.contains("SECRET1"), "{err}");
        }
        // Unsigned requests need no region.
        assert!(Oss
            .settings(
                "oss",
                "b",
                &props(&[("fs.oss.endpoint", "http://127.0.0.1:1")])
            )
            .is_ok());
    }

    #[test]
    fn missing_keys_are_named() {
        for (pairs, named) in [
            (
                &[
                    ("fs.oss.accessKeyId", "AK"),
                    ("fs.oss.accessKeySecret", "SECRET1"),
                ][..],
                "fs.oss.endpoint",
            ),
            (
                &[("fs.oss.endpoint", "e"), ("fs.oss.accessKeyId", "AK")][..],
                "fs.oss.accessKeySecret",
            ),
            (
                &[
                    ("fs.oss.endpoint", "e"),
                    ("fs.oss.securityToken", "SECRET3"),
                ][..],
                "fs.oss.accessKeyId",
            ),
        ] {
            match Oss.settings("oss", "b", &props(pairs)) {
                Err(StorageError::InvalidArgument(m)) => {
                    assert!(m.contains(named), "{m}");
                    assert!(!m.contains("SECRET"), "{m}");
                }
                _ => panic!("{pairs:?} accepted"),
            }
        }
    }
}
