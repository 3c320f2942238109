//! `tos://bucket/key`: Volcengine TOS, through its S3-compatible API (`compat.rs`).
//!
//! Keys: `fs.tos.access.key`, `fs.tos.secret.key`, `fs.tos.endpoint` (required, with or
//! without `https://`), `fs.tos.region` (else read from the endpoint), optional
//! `fs.tos.session.token`. TOS serves S3 on its own hosts: a native endpoint
//! (`tos-cn-beijing.volces.com`, what Hadoop's TOS connector takes) is turned into the
//! S3 one (`tos-s3-cn-beijing.volces.com`); the same for the internal endpoints reached
//! from inside Volcengine (`tos-cn-beijing.ivolces.com` → `tos-s3-cn-beijing.ivolces.com`).

use super::compat::{label_after, CompatStore, S3Compatible};

pub struct TosKeys;

pub type Tos = S3Compatible<TosKeys>;

impl CompatStore for TosKeys {
    const STORE: &'static str = "TOS";
    const ACCESS_KEY: &'static [&'static str] = &["fs.tos.access.key"];
    const SECRET_KEY: &'static [&'static str] = &["fs.tos.secret.key"];
    const SESSION_TOKEN: &'static [&'static str] = &["fs.tos.session.token"];
    const ENDPOINT: &'static [&'static str] = &["fs.tos.endpoint"];
    const REGION: &'static [&'static str] = &["fs.tos.region"];
    const FALLBACK_REGION: &'static str = "cn-beijing";

    fn region_of_host(host: &str) -> Option<String> {
        if !is_tos_host(host) {
            return None;
        }
        label_after(host, "tos-s3-").or_else(|| label_after(host, "tos-"))
    }

    fn s3_host(host: &str) -> Option<String> {
        let rest = host.strip_prefix("tos-")?;
        (is_tos_host(host) && !rest.starts_with("s3-")).then(|| format!("tos-s3-{rest}"))
    }
}

/// Volcengine's public (`*.volces.com`) and internal (`*.ivolces.com`) TOS hosts.
fn is_tos_host(host: &str) -> bool {
    host.ends_with(".volces.com") || host.ends_with(".ivolces.com")
}
