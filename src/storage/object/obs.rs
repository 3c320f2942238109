//! `obs://bucket/key`: Huawei Cloud OBS, through its S3-compatible API (`compat.rs`).
//!
//! Not opendal's native `services-obs`: in 0.59 it drops the endpoint's port and treats
//! any endpoint outside `*.myhuaweicloud.com` as a domain bound to the bucket, so neither
//! a private deployment on a port nor a local test listener can be reached. OBS serves
//! the S3 API with SigV4 on the same endpoints (StarRocks' own OBS access uses it).
//!
//! Keys: `fs.obs.access.key`, `fs.obs.secret.key`, `fs.obs.endpoint` (required, with or
//! without `https://`), optional `fs.obs.security.token` and `fs.obs.region` (else read
//! from `obs.<region>.myhuaweicloud.com`).

use super::compat::{CompatStore, S3Compatible};

pub struct ObsKeys;

pub type Obs = S3Compatible<ObsKeys>;

impl CompatStore for ObsKeys {
    const STORE: &'static str = "OBS";
    const ACCESS_KEY: &'static [&'static str] = &["fs.obs.access.key"];
    const SECRET_KEY: &'static [&'static str] = &["fs.obs.secret.key"];
    const SESSION_TOKEN: &'static [&'static str] = &["fs.obs.security.token"];
    const ENDPOINT: &'static [&'static str] = &["fs.obs.endpoint"];
    const REGION: &'static [&'static str] = &["fs.obs.region"];
    const FALLBACK_REGION: &'static str = "cn-north-4";

    fn region_of_host(host: &str) -> Option<String> {
        let rest = host
            .strip_suffix(".myhuaweicloud.com")
            .or_else(|| host.strip_suffix(".huaweicloud.com"))?;
        let labels: Vec<&str> = rest.split('.').collect();
        let at = labels.iter().position(|l| *l == "obs")?;
        labels.get(at + 1).map(|r| r.to_string())
    }
}
