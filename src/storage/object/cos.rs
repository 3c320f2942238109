//! `cosn://bucket/key` and `cos://bucket/key`: Tencent Cloud COS on opendal's native COS
//! service (COS's own `q-sign-algorithm=sha1` signature, host `bucket.endpoint`). The
//! bucket is COS's full name, `<name>-<appid>`.
//!
//! Keys (Hadoop-COS): `fs.cosn.userinfo.secretId` and `fs.cosn.userinfo.secretKey`
//! (required), and where the bucket lives: `fs.cosn.bucket.endpoint_suffix`
//! (`cos.ap-guangzhou.myqcloud.com`, with or without `https://`) or
//! `fs.cosn.bucket.region` (`ap-guangzhou`, meaning `cos.<region>.myqcloud.com`); the
//! suffix wins when both are given, as in Hadoop-COS. Optional
//! `fs.cosn.userinfo.sessionToken` (temporary keys from STS).
//!
//! Copies (renames) send their source as Tencent documents it,
//! `<bucket>.<endpoint>/<key>`, and a session token is signed with the request, as
//! Tencent's SDKs do: the transport changes opendal's request and signs it again
//! (`signing.rs`).

use opendal::Operator;

use super::props::{endpoint_url, invalid, one_of, pair};
use super::{signing, Dialect};
use crate::storage::{Properties, Result};

pub struct Cos;

const STORE: &str = "COS";
const SECRET_ID: &[&str] = &["fs.cosn.userinfo.secretId"];
const SECRET_KEY: &[&str] = &["fs.cosn.userinfo.secretKey"];
const ENDPOINT_SUFFIX: &[&str] = &["fs.cosn.bucket.endpoint_suffix"];
const REGION: &[&str] = &["fs.cosn.bucket.region"];
const SESSION_TOKEN: &[&str] = &["fs.cosn.userinfo.sessionToken"];

/// Connection settings of one bucket. No `Debug`: it holds keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CosSettings {
    bucket: String,
    /// With its scheme, without the bucket (the service puts it in front).
    endpoint: String,
    secret_id: String,
    secret_key: String,
    session_token: Option<String>,
}

impl Dialect for Cos {
    type Settings = CosSettings;
    const STORE: &'static str = STORE;

    fn settings(&self, _scheme: &str, bucket: &str, props: &Properties) -> Result<CosSettings> {
        let (secret_id, secret_key) =
            pair(STORE, props, SECRET_ID, SECRET_KEY)?.ok_or_else(|| {
                invalid(
                    STORE,
                    format!("{} and {} are required", SECRET_ID[0], SECRET_KEY[0]),
                )
            })?;
        let endpoint = match (
            one_of(STORE, props, ENDPOINT_SUFFIX, false)?,
            one_of(STORE, props, REGION, false)?,
        ) {
            (Some((raw, key)), _) => endpoint_url(STORE, raw, key, true)?,
            (None, Some((region, _))) => format!("https://cos.{region}.myqcloud.com"),
            (None, None) => {
                return Err(invalid(
                    STORE,
                    format!("{} or {} is required", REGION[0], ENDPOINT_SUFFIX[0]),
                ))
            }
        };
        Ok(CosSettings {
            bucket: bucket.to_string(),
            endpoint,
            secret_id: secret_id.to_string(),
            secret_key: secret_key.to_string(),
            session_token: one_of(STORE, props, SESSION_TOKEN, true)?.map(|(t, _)| t.to_string()),
        })
    }

    fn describe(s: &CosSettings) -> String {
        let credentials = match s.session_token {
            Some(_) => "key pair with session token",
            None => "key pair",
        };
        format!("endpoint {}, credentials: {credentials}", s.endpoint)
    }

    fn is_anonymous(_: &CosSettings) -> bool {
        false
    }

    fn operator(s: &CosSettings) -> opendal::Result<Operator> {
        // No configuration load: the environment is never a source of keys here.
        let b = opendal::services::Cos::default()
            .bucket(&s.bucket)
            .root("/")
            .endpoint(&s.endpoint)
            .secret_id(&s.secret_id)
            .secret_key(&s.secret_key)
            .disable_config_load();
        Operator::new(match &s.session_token {
            Some(token) => b.security_token(token),
            None => b,
        })
    }

    fn transport(s: &CosSettings, shared: opendal::HttpTransporter) -> opendal::HttpTransporter {
        signing::cos(
            shared,
            &s.bucket,
            (&s.secret_id, &s.secret_key, s.session_token.as_deref()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    use crate::storage::props_of as props;

    const KEYS: [(&str, &str); 2] = [
        ("fs.cosn.userinfo.secretId", "AKID"),
        ("fs.cosn.userinfo.secretKey", "SECRET1"),
    ];

    #[test]
    fn region_or_suffix_make_the_endpoint() {
        let mut p = props(&KEYS);
        p.insert("fs.cosn.bucket.region".into(), "ap-guangzhou".into());
        let s = Cos.settings("cosn", "b-1250000000", &p).unwrap();
        assert_eq!(s.endpoint, "https://cos.ap-guangzhou.myqcloud.com");
        assert_eq!(s.bucket, "b-1250000000");
        assert_eq!(
            (s.secret_id.as_str(), s.secret_key.as_str()),
            ("AKID", "SECRET1")
        );
        assert!(Cos::operator(&s).is_ok());
        p.insert(
            "fs.cosn.bucket.endpoint_suffix".into(),
            "http://localhost:9".into(),
        );
        let s = Cos.settings("cos", "b", &p).unwrap();
        assert_eq!(s.endpoint, "http://localhost:9");
        assert!(!Cos::describe(&s).contains("SECRET1"));
        assert_eq!(s.session_token, None);
        p.insert("fs.cosn.userinfo.sessionToken".into(), "SECRET2".into());
        let s = Cos.settings("cos", "b", &p).unwrap();
        assert_eq!(s.session_token.as_deref(), Some("SECRET2"));
        assert!(Cos::describe(&s).contains("session token"));
        assert!(!Cos::describe(&s).contains("SECRET2"));
        assert!(Cos::operator(&s).is_ok());
    }

    #[test]
    fn missing_keys_are_named() {
        let no_region = props(&KEYS);
        let no_secret = props(&[
            ("fs.cosn.userinfo.secretId", "AKID"),
            ("fs.cosn.bucket.region", "ap-guangzhou"),
        ]);
        let nothing = props(&[("fs.cosn.bucket.region", "ap-guangzhou")]);
        for (p, named) in [
            (no_region, "fs.cosn.bucket.region"),
            (no_secret, "fs.cosn.userinfo.secretKey"),
            (nothing, "fs.cosn.userinfo.secretId"),
        ] {
            match Cos.settings("cosn", "b", &p) {
                Err(StorageError::InvalidArgument(m)) => assert!(m.contains(named), "{m}"),
                _ => panic!("{p:?} accepted"),
            }
        }
    }
}
