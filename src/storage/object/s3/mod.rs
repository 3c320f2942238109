//! `s3a://`, `s3://`, `s3n://`: Amazon S3 and S3-compatible stores.
//!
//! Both spellings of every setting are read: Hadoop S3A's (`fs.s3a.*`, what Java broker
//! users pass) and StarRocks' own (`aws.s3.*`). Giving both with different values is an
//! error naming the two keys, as is half a key pair.
//!
//! Credentials, in this order:
//! * `fs.s3a.aws.credentials.provider` names the Hadoop/AWS SDK provider classes to use
//!   (simple names or fully qualified): the key-pair ones need the keys, the anonymous
//!   one signs nothing, the environment/profile/instance ones mean the default chain.
//! * `aws.s3.use_instance_profile` or `aws.s3.use_aws_sdk_default_behavior` = true: the
//!   AWS default chain (environment, profile files, container and instance metadata).
//! * Otherwise the access/secret key pair (and session token) when given, else
//!   anonymous (unsigned) requests, as StarRocks does. The environment, the profile
//!   files and the instance metadata service are never consulted unless asked for.
//!
//! Endpoint: with or without `http(s)://`; without, https unless SSL is turned off.
//! Without an endpoint, AWS's own for the region. Region: given, else read from an AWS
//! endpoint's host name, else (default chain only) `AWS_REGION`, else `us-east-1`.
//! Style: virtual-host (`bucket.endpoint`) unless path-style access is asked for or the
//! bucket name holds a dot (no TLS certificate covers such a host).

mod assume_role;
mod credentials;
mod keys;
#[cfg(test)]
mod tests;

use opendal::Operator;
use reqsign_core::ProvideCredentialChain;

use self::assume_role::{AssumeRole, AssumeRoleProvider};
use self::credentials::{credentials, Credentials, KeyPair};
use self::keys::{either, either_bool, invalid, DEFAULT_REGION, ENDPOINT, PATH_STYLE, REGION, SSL};
use super::error::CredentialFailure;
use super::Dialect;
use crate::storage::{Properties, Result};

pub struct S3;

/// Connection settings of one bucket: the client cache key. No `Debug`: it holds keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct S3Settings {
    bucket: String,
    /// With its scheme, no trailing slash.
    endpoint: String,
    region: String,
    virtual_host: bool,
    credentials: Credentials,
    /// `aws.s3.iam_role_arn`: the credentials above only call STS for the role's.
    assume_role: Option<AssumeRole>,
}

impl S3Settings {
    /// A client signing with a key pair (SigV4) for an S3-compatible store (OBS, KS3,
    /// TOS): virtual-host style, as those stores' S3 APIs require, unless the bucket
    /// name holds a dot.
    pub(super) fn compatible(
        bucket: &str,
        endpoint: String,
        region: String,
        (access_key, secret_key): (&str, &str),
        session_token: Option<&str>,
    ) -> Self {
        S3Settings {
            bucket: bucket.to_string(),
            virtual_host: !bucket.contains('.'),
            endpoint,
            region,
            credentials: Credentials::Keys {
                access_key: access_key.to_string(),
                secret_key: secret_key.to_string(),
                session_token: session_token.map(str::to_string),
                then_chain: false,
            },
            assume_role: None,
        }
    }

    pub(super) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub(super) fn region(&self) -> &str {
        &self.region
    }
}

/// `http(s)://host[:port][/path]` from an endpoint setting with or without scheme.
fn endpoint_url(raw: &str, key: &str, ssl: bool) -> Result<String> {
    let raw = raw.trim_end_matches('/');
    let lower = raw.to_ascii_lowercase();
    let url = if lower.starts_with("http://") || lower.starts_with("https://") {
        raw.to_string()
    } else if raw.contains("://") {
        return Err(invalid(format!(
            "{key} = {raw}: only http:// and https:// endpoints are supported"
        )));
    } else {
        format!("{}://{raw}", if ssl { "https" } else { "http" })
    };
    match reqwest::Url::parse(&url) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        _ => Err(invalid(format!("{key} = {raw} is not a host name or URL"))),
    }
}

/// The region in an AWS endpoint's host name: `s3.eu-west-1.amazonaws.com`,
/// `s3-eu-west-1.amazonaws.com`, `s3.dualstack.eu-west-1.amazonaws.com`.
fn region_of_aws_host(endpoint: &str) -> Option<String> {
    let host = reqwest::Url::parse(endpoint).ok()?.host_str()?.to_string();
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let labels: Vec<&str> = rest.split('.').collect();
    let at = labels
        .iter()
        .rposition(|l| *l == "s3" || l.starts_with("s3-"))?;
    let candidate = if labels[at] == "s3" {
        labels[at + 1..]
            .iter()
            .find(|l| **l != "dualstack")
            .map(|l| l.to_string())?
    } else {
        labels[at].strip_prefix("s3-")?.to_string()
    };
    (candidate != "external-1").then_some(candidate)
}

impl Dialect for S3 {
    type Settings = S3Settings;
    const STORE: &'static str = "S3";

    fn settings(&self, _scheme: &str, bucket: &str, props: &Properties) -> Result<S3Settings> {
        let credentials = credentials(props)?;
        let ssl = either_bool(props, SSL)?.unwrap_or(true);
        let path_style = either_bool(props, PATH_STYLE)?.unwrap_or(false);
        let endpoint = either(props, ENDPOINT, false)?
            .map(|(v, k)| endpoint_url(v, k, ssl))
            .transpose()?;
        let region = match either(props, REGION, false)? {
            Some((r, _)) => r.to_string(),
            None => endpoint
                .as_deref()
                .and_then(region_of_aws_host)
                .or_else(|| {
                    (credentials == Credentials::DefaultChain)
                        .then(|| {
                            std::env::var("AWS_REGION")
                                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                                .ok()
                        })
                        .flatten()
                })
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
        };
        let endpoint = endpoint.unwrap_or_else(|| {
            let domain = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            let scheme = if ssl { "https" } else { "http" };
            format!("{scheme}://s3.{region}.{domain}")
        });
        let assume_role =
            AssumeRole::from_props(props, &region, credentials != Credentials::Anonymous)?;
        Ok(S3Settings {
            bucket: bucket.to_string(),
            virtual_host: !path_style && !bucket.contains('.'),
            endpoint,
            region,
            credentials,
            assume_role,
        })
    }

    fn describe(s: &S3Settings) -> String {
        let credentials = match &s.credentials {
            Credentials::Anonymous => "none (unsigned requests)",
            Credentials::Keys {
                session_token: Some(_),
                ..
            } => "key pair with session token",
            Credentials::Keys { .. } => "key pair",
            Credentials::DefaultChain => "AWS default chain",
        };
        let role = s.assume_role.as_ref().map_or(String::new(), |r| {
            format!(
                ", assuming the role {} (STS at {})",
                r.role_arn, r.sts_endpoint
            )
        });
        format!(
            "endpoint {}, region {}, {} style, credentials: {credentials}{role}",
            s.endpoint,
            s.region,
            if s.virtual_host {
                "virtual-host"
            } else {
                "path"
            }
        )
    }

    fn is_anonymous(s: &S3Settings) -> bool {
        s.credentials == Credentials::Anonymous
    }

    fn operator(s: &S3Settings) -> opendal::Result<Operator> {
        Self::operator_reporting(s, &CredentialFailure::default())
    }

    fn operator_reporting(
        s: &S3Settings,
        failure: &CredentialFailure,
    ) -> opendal::Result<Operator> {
        let mut b = opendal::services::S3::default()
            .bucket(&s.bucket)
            .root("/")
            .endpoint(&s.endpoint)
            .region(&s.region);
        if s.virtual_host {
            b = b.enable_virtual_host_style();
        }
        let base = match &s.credentials {
            Credentials::Anonymous => {
                return Operator::new(
                    b.skip_signature()
                        .disable_config_load()
                        .disable_ec2_metadata(),
                )
            }
            Credentials::Keys {
                access_key,
                secret_key,
                session_token,
                then_chain,
            } => {
                // Not `access_key_id()`: the stock static provider prints its keys when
                // the signer debug-logs the provider it tries.
                let mut chain =
                    ProvideCredentialChain::new().push(KeyPair(reqsign_aws_v4::Credential {
                        access_key_id: access_key.clone(),
                        secret_access_key: secret_key.clone(),
                        session_token: session_token.clone(),
                        expires_in: None,
                    }));
                if *then_chain {
                    chain = chain.push(reqsign_aws_v4::DefaultCredentialProvider::new());
                }
                b = b.disable_config_load().disable_ec2_metadata();
                Some(chain)
            }
            Credentials::DefaultChain => None,
        };
        b = match (&s.assume_role, base) {
            (Some(role), base) => {
                let base = base.unwrap_or_else(|| {
                    ProvideCredentialChain::new()
                        .push(reqsign_aws_v4::DefaultCredentialProvider::new())
                });
                b.credential_provider_chain(ProvideCredentialChain::new().push(
                    AssumeRoleProvider {
                        role: role.clone(),
                        base,
                        failure: failure.clone(),
                    },
                ))
            }
            (None, Some(chain)) => b.credential_provider_chain(chain),
            (None, None) => b,
        };
        Operator::new(b)
    }
}
