//! Stores reached through their S3-compatible API (OBS, KS3, TOS): their own property
//! names, read here into the S3 dialect's settings and signed with AWS SigV4. StarRocks'
//! own backends reach these stores the same way (through the AWS SDK on their S3
//! endpoints), so what works for StarRocks works here.
//!
//! Each store is a [`CompatStore`] (its keys, how its endpoint names the region, and the
//! S3 endpoint for a native one); [`S3Compatible`] is the [`Dialect`] for any of them.

use std::marker::PhantomData;

use opendal::Operator;

use super::props::{endpoint_url, host_of, invalid, one_of, pair};
use super::s3::{S3Settings, S3};
use super::Dialect;
use crate::storage::{Properties, Result};

/// What one S3-compatible store calls its settings.
pub trait CompatStore: Send + Sync + 'static {
    /// Name in messages ("OBS").
    const STORE: &'static str;
    const ACCESS_KEY: &'static [&'static str];
    const SECRET_KEY: &'static [&'static str];
    const SESSION_TOKEN: &'static [&'static str] = &[];
    /// Required: these stores have no default endpoint worth guessing.
    const ENDPOINT: &'static [&'static str];
    const REGION: &'static [&'static str] = &[];
    /// The signing region when neither a region key nor the endpoint's host names one.
    const FALLBACK_REGION: &'static str;

    /// The region an endpoint host of this store names (`obs.cn-north-4.myhuaweicloud.com`).
    fn region_of_host(host: &str) -> Option<String>;

    /// The host of the S3-compatible API for a host the user gave (which may be the
    /// store's native API host); `None` keeps it.
    fn s3_host(_host: &str) -> Option<String> {
        None
    }
}

/// The [`Dialect`] of an S3-compatible store `C`.
pub struct S3Compatible<C>(PhantomData<C>);

impl<C> Default for S3Compatible<C> {
    fn default() -> Self {
        S3Compatible(PhantomData)
    }
}

impl<C: CompatStore> Dialect for S3Compatible<C> {
    type Settings = S3Settings;
    const STORE: &'static str = C::STORE;

    fn settings(&self, _scheme: &str, bucket: &str, props: &Properties) -> Result<S3Settings> {
        let store = C::STORE;
        let keys = pair(store, props, C::ACCESS_KEY, C::SECRET_KEY)?.ok_or_else(|| {
            invalid(
                store,
                format!("{} and {} are required", C::ACCESS_KEY[0], C::SECRET_KEY[0]),
            )
        })?;
        let token = one_of(store, props, C::SESSION_TOKEN, true)?.map(|(t, _)| t);
        let (raw, key) = one_of(store, props, C::ENDPOINT, false)?
            .ok_or_else(|| invalid(store, format!("{} is required", C::ENDPOINT[0])))?;
        let mut endpoint = endpoint_url(store, raw, key, true)?;
        let host = host_of(&endpoint);
        if let Some(s3_host) = C::s3_host(&host) {
            let mut url = reqwest::Url::parse(&endpoint).expect("checked by endpoint_url");
            url.set_host(Some(&s3_host))
                .map_err(|e| invalid(store, format!("{key} = {raw}: {e}")))?;
            endpoint = url.as_str().trim_end_matches('/').to_string();
        }
        let region = match one_of(store, props, C::REGION, false)? {
            Some((r, _)) => r.to_string(),
            None => C::region_of_host(&host).unwrap_or_else(|| C::FALLBACK_REGION.to_string()),
        };
        Ok(S3Settings::compatible(
            bucket, endpoint, region, keys, token,
        ))
    }

    fn describe(s: &S3Settings) -> String {
        format!(
            "S3-compatible endpoint {}, region {}, credentials: key pair",
            s.endpoint(),
            s.region()
        )
    }

    fn is_anonymous(_: &S3Settings) -> bool {
        false
    }

    fn operator(s: &S3Settings) -> opendal::Result<Operator> {
        S3::operator(s)
    }
}

/// The label after `prefix` in the first label of `host` that starts with it:
/// `("ks3-cn-beijing.ksyuncs.com", "ks3-")` → `cn-beijing`.
pub(super) fn label_after(host: &str, prefix: &str) -> Option<String> {
    let first = host.split('.').next()?;
    first
        .strip_prefix(prefix)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::super::{
        ks3::{Ks3, Ks3Keys},
        obs::Obs,
        tos::Tos,
    };
    use super::*;
    use crate::storage::StorageError;

    use crate::storage::props_of as props;

    #[test]
    fn endpoints_and_regions_of_each_store() {
        let obs = Obs::default()
            .settings(
                "obs",
                "bkt",
                &props(&[
                    ("fs.obs.access.key", "AK"),
                    ("fs.obs.secret.key", "SECRET1"),
                    ("fs.obs.endpoint", "obs.cn-south-1.myhuaweicloud.com"),
                ]),
            )
            .unwrap();
        assert_eq!(obs.endpoint(), "https://obs.cn-south-1.myhuaweicloud.com");
        assert_eq!(obs.region(), "cn-south-1");
        assert!(Obs::operator(&obs).is_ok());
        assert!(!Obs::describe(&obs).contains("SECRET1"));
        let ks3 = Ks3::default()
            .settings(
                "ks3",
                "bkt",
                &props(&[
                    ("fs.ks3.AccessKey", "AK"),
                    ("fs.ks3.AccessSecret", "SECRET1"),
                    (
                        "fs.ks3.endpoint",
                        "http://ks3-cn-shanghai-internal.ksyuncs.com",
                    ),
                ]),
            )
            .unwrap();
        assert_eq!(
            ks3.endpoint(),
            "http://ks3-cn-shanghai-internal.ksyuncs.com"
        );
        assert_eq!(ks3.region(), "SHANGHAI");
        assert_eq!(
            Ks3Keys::region_of_host("ks3-cn-guangzhou.ksyun.com").as_deref(),
            Some("GUANGZHOU")
        );
        assert_eq!(
            Ks3Keys::region_of_host("ks3-rus-1.ksyuncs.com").as_deref(),
            Some("RUS-1")
        );
        assert_eq!(Ks3Keys::region_of_host("ks3.example.com"), None);
        // TOS: the native endpoint becomes the S3 one; the region key wins.
        let tos = Tos::default()
            .settings(
                "tos",
                "bkt",
                &props(&[
                    ("fs.tos.access.key", "AK"),
                    ("fs.tos.secret.key", "SECRET1"),
                    ("fs.tos.endpoint", "tos-cn-beijing.volces.com"),
                ]),
            )
            .unwrap();
        assert_eq!(tos.endpoint(), "https://tos-s3-cn-beijing.volces.com");
        assert_eq!(tos.region(), "cn-beijing");
        let tos = Tos::default()
            .settings(
                "tos",
                "bkt",
                &props(&[
                    ("fs.tos.access.key", "AK"),
                    ("fs.tos.secret.key", "SECRET1"),
                    (
                        "fs.tos.endpoint",
                        "https://tos-s3-ap-southeast-1.volces.com",
                    ),
                    ("fs.tos.region", "ap-southeast-1"),
                ]),
            )
            .unwrap();
        assert_eq!(tos.endpoint(), "https://tos-s3-ap-southeast-1.volces.com");
        assert_eq!(tos.region(), "ap-southeast-1");
        // An internal endpoint (inside Volcengine) likewise.
        for endpoint in [
            "tos-cn-shanghai.ivolces.com",
            "tos-s3-cn-shanghai.ivolces.com",
        ] {
            let tos = Tos::default()
                .settings(
                    "tos",
                    "bkt",
                    &props(&[
                        ("fs.tos.access.key", "AK"),
                        ("fs.tos.secret.key", "SECRET1"),
                        ("fs.tos.endpoint", endpoint),
                    ]),
                )
                .unwrap();
            assert_eq!(tos.endpoint(), "https://tos-s3-cn-shanghai.ivolces.com");
            assert_eq!(tos.region(), "cn-shanghai");
        }
    }

    #[test]
    fn missing_keys_are_named() {
        let cases: [(Result<S3Settings>, &str); 4] = [
            (
                Obs::default().settings("obs", "b", &props(&[("fs.obs.endpoint", "e")])),
                "fs.obs.access.key",
            ),
            (
                Ks3::default().settings(
                    "ks3",
                    "b",
                    &props(&[("fs.ks3.AccessKey", "AK"), ("fs.ks3.endpoint", "e")]),
                ),
                "fs.ks3.AccessSecret",
            ),
            (
                Tos::default().settings(
                    "tos",
                    "b",
                    &props(&[
                        ("fs.tos.access.key", "AK"),
                        ("fs.tos.secret.key", "SECRET1"),
                    ]),
                ),
                "fs.tos.endpoint",
            ),
            (
                Tos::default().settings(
                    "tos",
                    "b",
                    &props(&[
                        ("fs.tos.access.key", "AK"),
                        ("fs.tos.secret.key", "SECRET1"),
                        ("fs.tos.endpoint", "ftp://x"),
                    ]),
                ),
                "fs.tos.endpoint",
            ),
        ];
        for (result, named) in cases {
            match result {
                Err(StorageError::InvalidArgument(m)) => {
                    assert!(m.contains(named), "{m}");
                    assert!(!m.contains("SECRET1"), "{m}");
                }
                Err(e) => panic!("{named}: {e}"),
                Ok(_) => panic!("accepted without {named}"),
            }
        }
    }
}
