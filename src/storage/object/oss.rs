//! `oss://bucket/key`: Alibaba Cloud OSS on opendal's native OSS service (OSS's own
//! request signature, virtual-host addressing `bucket.endpoint`).
//!
//! Keys (Hadoop's aliyun connector): `fs.oss.endpoint` (required, with or without
//! `https://`, e.g. `oss-cn-hangzhou.aliyuncs.com`), `fs.oss.accessKeyId` and
//! `fs.oss.accessKeySecret` (together, or neither for unsigned requests to a public
//! bucket), optional `fs.oss.securityToken` (STS).

use opendal::Operator;

use super::props::{endpoint_url, invalid, one_of, pair};
use super::Dialect;
use crate::storage::{Properties, Result};

pub struct Oss;

const STORE: &str = "OSS";
const ACCESS_KEY: &[&str] = &["fs.oss.accessKeyId"];
const SECRET_KEY: &[&str] = &["fs.oss.accessKeySecret"];
const SECURITY_TOKEN: &[&str] = &["fs.oss.securityToken"];
const ENDPOINT: &[&str] = &["fs.oss.endpoint"];

/// Connection settings of one bucket. No `Debug`: it holds keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OssSettings {
    bucket: String,
    /// With its scheme, no trailing slash, without the bucket.
    endpoint: String,
    /// `(access key id, secret, STS token)`; `None` signs nothing.
    keys: Option<(String, String, Option<String>)>,
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
        Ok(OssSettings {
            bucket: bucket.to_string(),
            endpoint: endpoint_url(STORE, raw, key, true)?,
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
        format!("endpoint {}, credentials: {credentials}", s.endpoint)
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
