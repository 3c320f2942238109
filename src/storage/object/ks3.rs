//! `ks3://bucket/key`: Kingsoft Cloud KS3, through its S3-compatible API (`compat.rs`).
//!
//! Keys: `fs.ks3.AccessKey`, `fs.ks3.AccessSecret`, `fs.ks3.endpoint` (required, with or
//! without `https://`), optional `fs.ks3.region` (else read from
//! `ks3-<region>[-internal].ksyuncs.com`, or `.ksyun.com`, the domain KS3's older
//! documentation gives the same endpoints). KS3 documents its region IDs as
//! `ks3-cn-beijing` and its Signature V4 as AWS-compatible, but not the region string a
//! V4 scope carries: the region is the endpoint's `cn-beijing` unless `fs.ks3.region`
//! says otherwise.

use super::compat::{label_after, CompatStore, S3Compatible};

pub struct Ks3Keys;

pub type Ks3 = S3Compatible<Ks3Keys>;

impl CompatStore for Ks3Keys {
    const STORE: &'static str = "KS3";
    const ACCESS_KEY: &'static [&'static str] = &["fs.ks3.AccessKey"];
    const SECRET_KEY: &'static [&'static str] = &["fs.ks3.AccessSecret"];
    const ENDPOINT: &'static [&'static str] = &["fs.ks3.endpoint"];
    const REGION: &'static [&'static str] = &["fs.ks3.region"];
    const FALLBACK_REGION: &'static str = "cn-beijing";

    fn region_of_host(host: &str) -> Option<String> {
        if !host.ends_with(".ksyuncs.com") && !host.ends_with(".ksyun.com") {
            return None;
        }
        // `ks3-cn-beijing-internal.ksyuncs.com` is the same region's internal endpoint.
        label_after(host, "ks3-").map(|r| r.trim_end_matches("-internal").to_string())
    }
}
