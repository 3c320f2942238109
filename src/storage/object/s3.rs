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

use opendal::Operator;
use reqsign_core::{ProvideCredential, ProvideCredentialChain};

use super::assume_role::{AssumeRole, AssumeRoleProvider};
use super::error::CredentialFailure;
use super::Dialect;
use crate::storage::{Properties, Result, StorageError};

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

#[derive(Clone, PartialEq, Eq, Hash)]
enum Credentials {
    /// Unsigned requests (public buckets).
    Anonymous,
    /// A static key pair; `then_chain` when the provider list also names the default
    /// chain (used only if the store refuses nothing: the pair always answers first).
    Keys {
        access_key: String,
        secret_key: String,
        session_token: Option<String>,
        then_chain: bool,
    },
    /// The AWS default chain: environment, profile files, container/instance metadata.
    DefaultChain,
}

/// A fixed key pair. Its `Debug` is the credential's own, which redacts the keys.
#[derive(Debug)]
struct KeyPair(reqsign_aws_v4::Credential);

impl ProvideCredential for KeyPair {
    type Credential = reqsign_aws_v4::Credential;

    async fn provide_credential(
        &self,
        _: &reqsign_core::Context,
    ) -> reqsign_core::Result<Option<Self::Credential>> {
        Ok(Some(self.0.clone()))
    }
}

const ACCESS_KEY: [&str; 2] = ["fs.s3a.access.key", "aws.s3.access_key"];
const SECRET_KEY: [&str; 2] = ["fs.s3a.secret.key", "aws.s3.secret_key"];
const SESSION_TOKEN: [&str; 2] = ["fs.s3a.session.token", "aws.s3.session_token"];
const ENDPOINT: [&str; 2] = ["fs.s3a.endpoint", "aws.s3.endpoint"];
const REGION: [&str; 2] = ["fs.s3a.endpoint.region", "aws.s3.region"];
const PATH_STYLE: [&str; 2] = [
    "fs.s3a.path.style.access",
    "aws.s3.enable_path_style_access",
];
const SSL: [&str; 2] = ["fs.s3a.connection.ssl.enabled", "aws.s3.enable_ssl"];
const PROVIDER: &str = "fs.s3a.aws.credentials.provider";
const INSTANCE_PROFILE: &str = "aws.s3.use_instance_profile";
const SDK_DEFAULT: &str = "aws.s3.use_aws_sdk_default_behavior";

const DEFAULT_REGION: &str = "us-east-1";

fn invalid(message: String) -> StorageError {
    StorageError::InvalidArgument(format!("S3 properties: {message}"))
}

/// A property's value and the key it came from; blank values count as unset.
fn get<'a>(props: &'a Properties, key: &'static str) -> Option<(&'a str, &'static str)> {
    props
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| (v, key))
}

/// One setting under either spelling. Both given and different: an error naming both
/// (showing the values unless `secret`).
fn either<'a>(
    props: &'a Properties,
    keys: [&'static str; 2],
    secret: bool,
) -> Result<Option<(&'a str, &'static str)>> {
    match (get(props, keys[0]), get(props, keys[1])) {
        (Some((a, _)), Some((b, _))) if a != b => Err(invalid(if secret {
            format!("{} and {} are both set and differ", keys[0], keys[1])
        } else {
            format!(
                "{} = {a} and {} = {b} contradict each other",
                keys[0], keys[1]
            )
        })),
        (Some(found), _) | (None, Some(found)) => Ok(Some(found)),
        (None, None) => Ok(None),
    }
}

fn parse_bool(value: &str, key: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!("{key} = {value} is not true or false"))),
    }
}

fn either_bool(props: &Properties, keys: [&'static str; 2]) -> Result<Option<bool>> {
    let a = get(props, keys[0])
        .map(|(v, k)| parse_bool(v, k))
        .transpose()?;
    let b = get(props, keys[1])
        .map(|(v, k)| parse_bool(v, k))
        .transpose()?;
    match (a, b) {
        (Some(a), Some(b)) if a != b => Err(invalid(format!(
            "{} = {a} and {} = {b} contradict each other",
            keys[0], keys[1]
        ))),
        (a, b) => Ok(a.or(b)),
    }
}

fn flag(props: &Properties, key: &'static str) -> Result<bool> {
    get(props, key).map_or(Ok(false), |(v, k)| parse_bool(v, k))
}

/// What `fs.s3a.aws.credentials.provider` asks for.
#[derive(Default)]
struct Providers {
    keys: bool,
    session: bool,
    anonymous: bool,
    chain: bool,
}

fn parse_providers(value: &str) -> Result<Providers> {
    let mut p = Providers::default();
    for class in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let simple = class.rsplit('.').next().unwrap_or(class);
        match simple {
            "SimpleAWSCredentialsProvider" => p.keys = true,
            "TemporaryAWSCredentialsProvider" => {
                p.keys = true;
                p.session = true;
            }
            "AnonymousAWSCredentialsProvider" | "AnonymousCredentialsProvider" => {
                p.anonymous = true
            }
            "InstanceProfileCredentialsProvider"
            | "IAMInstanceCredentialsProvider"
            | "EC2ContainerCredentialsProviderWrapper"
            | "ContainerCredentialsProvider"
            | "DefaultAWSCredentialsProviderChain"
            | "DefaultCredentialsProvider"
            | "EnvironmentVariableCredentialsProvider"
            | "ProfileCredentialsProvider"
            | "WebIdentityTokenCredentialsProvider" => p.chain = true,
            _ => {
                return Err(invalid(format!(
                "{PROVIDER}: {class} is not supported (supported: SimpleAWSCredentialsProvider, \
                     TemporaryAWSCredentialsProvider, AnonymousAWSCredentialsProvider, and the \
                     environment, profile, container and instance-profile providers, which use the \
                     AWS default chain)"
            )))
            }
        }
    }
    Ok(p)
}

fn credentials(props: &Properties) -> Result<Credentials> {
    let access = either(props, ACCESS_KEY, false)?;
    let secret = either(props, SECRET_KEY, true)?;
    let token = either(props, SESSION_TOKEN, true)?;
    let pair = match (access, secret) {
        (Some((a, _)), Some((s, _))) => Some((a, s)),
        (Some((_, given)), None) => {
            let missing = if given == ACCESS_KEY[0] {
                SECRET_KEY[0]
            } else {
                SECRET_KEY[1]
            };
            return Err(invalid(format!("{given} is set but {missing} is missing")));
        }
        (None, Some((_, given))) => {
            let missing = if given == SECRET_KEY[0] {
                ACCESS_KEY[0]
            } else {
                ACCESS_KEY[1]
            };
            return Err(invalid(format!("{given} is set but {missing} is missing")));
        }
        (None, None) => None,
    };
    if let (Some((_, key)), None) = (token, pair) {
        return Err(invalid(format!(
            "{key} is set but the access and secret keys ({}, {}) are missing",
            ACCESS_KEY[0], SECRET_KEY[0]
        )));
    }
    let providers = get(props, PROVIDER)
        .map(|(v, _)| parse_providers(v))
        .transpose()?;
    let sdk_flag = [INSTANCE_PROFILE, SDK_DEFAULT]
        .into_iter()
        .map(|k| flag(props, k).map(|on| on.then_some(k)))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .next();
    let keys = |then_chain| {
        pair.map(|(a, s)| Credentials::Keys {
            access_key: a.to_string(),
            secret_key: s.to_string(),
            session_token: token.map(|(t, _)| t.to_string()),
            then_chain,
        })
    };
    if let Some(p) = providers {
        if p.anonymous && (p.keys || p.chain || pair.is_some() || sdk_flag.is_some()) {
            return Err(invalid(format!(
                "{PROVIDER} names the anonymous provider, which cannot be combined with \
                 credentials or other providers"
            )));
        }
        if p.anonymous {
            return Ok(Credentials::Anonymous);
        }
        if p.keys && !p.chain && pair.is_none() {
            return Err(invalid(format!(
                "{PROVIDER} asks for a key pair but {} and {} are not set",
                ACCESS_KEY[0], SECRET_KEY[0]
            )));
        }
        if p.session && !p.chain && token.is_none() {
            return Err(invalid(format!(
                "{PROVIDER} asks for temporary credentials but {} is not set",
                SESSION_TOKEN[0]
            )));
        }
        let chain = p.chain || sdk_flag.is_some();
        if p.keys {
            // The pair answers first; without one, the chain (checked above).
            return Ok(keys(chain).unwrap_or(Credentials::DefaultChain));
        }
        if p.chain {
            if pair.is_some() {
                return Err(invalid(format!(
                    "{PROVIDER} names only default-chain providers, but a key pair ({}) is \
                     set too: add SimpleAWSCredentialsProvider to use it",
                    ACCESS_KEY[0]
                )));
            }
            return Ok(Credentials::DefaultChain);
        }
    }
    match (sdk_flag, pair) {
        (Some(flag_key), Some(_)) => Err(invalid(format!(
            "{flag_key} = true asks for the AWS default credentials, but a key pair ({} / {}) \
             is set too: give one or the other",
            ACCESS_KEY[0], ACCESS_KEY[1]
        ))),
        (Some(_), None) => Ok(Credentials::DefaultChain),
        (None, Some(_)) => Ok(keys(false).expect("a key pair")),
        (None, None) => Ok(Credentials::Anonymous),
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

#[cfg(test)]
mod tests {
    use super::*;

    use crate::storage::props_of as props;

    fn settings(pairs: &[(&str, &str)]) -> Result<S3Settings> {
        S3.settings("s3a", "bkt", &props(pairs))
    }

    #[track_caller]
    fn refused(pairs: &[(&str, &str)], names: &[&str]) {
        match settings(pairs) {
            Err(StorageError::InvalidArgument(msg)) => {
                for name in names {
                    assert!(msg.contains(name), "{msg} should name {name}");
                }
                for (_, v) in pairs {
                    if v.starts_with("SECRET") {
                        assert!(!msg.contains(v), "{msg} shows a secret");
                    }
                }
            }
            Err(other) => panic!("{pairs:?}: {other}"),
            Ok(s) => panic!("{pairs:?} accepted: {}", S3::describe(&s)),
        }
    }

    #[test]
    fn hadoop_and_starrocks_keys_are_the_same_settings() {
        let hadoop = settings(&[
            ("fs.s3a.access.key", "AK"),
            ("fs.s3a.secret.key", "SECRET1"),
            ("fs.s3a.endpoint", "127.0.0.1:9000"),
            ("fs.s3a.endpoint.region", "eu-west-1"),
            ("fs.s3a.path.style.access", "true"),
            ("fs.s3a.connection.ssl.enabled", "false"),
        ])
        .unwrap();
        let starrocks = settings(&[
            ("aws.s3.access_key", "AK"),
            ("aws.s3.secret_key", "SECRET1"),
            ("aws.s3.endpoint", "http://127.0.0.1:9000/"),
            ("aws.s3.region", "eu-west-1"),
            ("aws.s3.enable_path_style_access", "TRUE"),
            ("column_separator", ","),
        ])
        .unwrap();
        assert!(hadoop == starrocks, "{}", S3::describe(&hadoop));
        assert_eq!(hadoop.endpoint, "http://127.0.0.1:9000");
        assert!(!hadoop.virtual_host);
        assert!(matches!(hadoop.credentials, Credentials::Keys { .. }));
        // Without a scheme, https unless SSL is off; with one, as given.
        let s = settings(&[("fs.s3a.endpoint", "minio.example.com:9000")]).unwrap();
        assert_eq!(s.endpoint, "https://minio.example.com:9000");
        let s = settings(&[
            ("aws.s3.endpoint", "http://minio:9000"),
            ("aws.s3.enable_ssl", "true"),
        ])
        .unwrap();
        assert_eq!(s.endpoint, "http://minio:9000");
    }

    #[test]
    fn defaults_are_aws_anonymous_virtual_host() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.endpoint, "https://s3.us-east-1.amazonaws.com");
        assert_eq!(s.region, "us-east-1");
        assert!(s.virtual_host);
        assert!(s.credentials == Credentials::Anonymous);
        let s = settings(&[("aws.s3.region", "cn-north-1")]).unwrap();
        assert_eq!(s.endpoint, "https://s3.cn-north-1.amazonaws.com.cn");
        let s = settings(&[("fs.s3a.endpoint", "s3.ap-south-1.amazonaws.com")]).unwrap();
        assert_eq!(s.region, "ap-south-1");
        let s = settings(&[("fs.s3a.endpoint", "https://s3-eu-west-2.amazonaws.com")]).unwrap();
        assert_eq!(s.region, "eu-west-2");
        let s = settings(&[("fs.s3a.endpoint", "s3.dualstack.us-west-2.amazonaws.com")]).unwrap();
        assert_eq!(s.region, "us-west-2");
        // A dotted bucket cannot be a TLS host name: path style.
        let s = S3.settings("s3", "my.bucket", &props(&[])).unwrap();
        assert!(!s.virtual_host);
    }

    #[test]
    fn missing_and_contradictory_keys_are_named() {
        refused(&[("fs.s3a.access.key", "AK")], &["fs.s3a.secret.key"]);
        refused(&[("aws.s3.secret_key", "SECRET1")], &["aws.s3.access_key"]);
        refused(
            &[
                ("fs.s3a.access.key", "AK"),
                ("fs.s3a.secret.key", "SECRET1"),
                ("aws.s3.secret_key", "SECRET2"),
            ],
            &["fs.s3a.secret.key", "aws.s3.secret_key"],
        );
        refused(
            &[("fs.s3a.endpoint", "a:1"), ("aws.s3.endpoint", "b:2")],
            &["fs.s3a.endpoint", "aws.s3.endpoint"],
        );
        refused(
            &[
                ("fs.s3a.path.style.access", "true"),
                ("aws.s3.enable_path_style_access", "false"),
            ],
            &[
                "fs.s3a.path.style.access",
                "aws.s3.enable_path_style_access",
            ],
        );
        refused(&[("aws.s3.enable_ssl", "yes")], &["aws.s3.enable_ssl"]);
        refused(
            &[("fs.s3a.session.token", "SECRET3")],
            &["fs.s3a.session.token"],
        );
        refused(
            &[
                ("aws.s3.use_instance_profile", "true"),
                ("aws.s3.access_key", "AK"),
                ("aws.s3.secret_key", "SECRET1"),
            ],
            &["aws.s3.use_instance_profile", "access"],
        );
        refused(
            &[("fs.s3a.aws.credentials.provider", "com.example.MyProvider")],
            &["fs.s3a.aws.credentials.provider", "com.example.MyProvider"],
        );
        refused(
            &[(
                "fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            )],
            &["fs.s3a.access.key"],
        );
        refused(
            &[
                (
                    "fs.s3a.aws.credentials.provider",
                    "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
                ),
                ("fs.s3a.access.key", "AK"),
                ("fs.s3a.secret.key", "SECRET1"),
            ],
            &["anonymous"],
        );
        refused(&[("fs.s3a.endpoint", "ftp://x")], &["fs.s3a.endpoint"]);
    }

    #[test]
    fn a_key_pair_prints_no_key() {
        let pair = KeyPair(reqsign_aws_v4::Credential {
            access_key_id: "AKIAEXAMPLEKEY".into(),
            secret_access_key: "SECRET-VALUE".into(),
            session_token: Some("SESSION-VALUE".into()),
            expires_in: None,
        });
        let printed = format!("{pair:?}");
        for secret in ["AKIAEXAMPLEKEY", "SECRET-VALUE", "SESSION-VALUE"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }

    #[test]
    fn the_default_chain_only_when_asked() {
        for pairs in [
            &[("aws.s3.use_instance_profile", "true")][..],
            &[("aws.s3.use_aws_sdk_default_behavior", "true")][..],
            &[(
                "fs.s3a.aws.credentials.provider",
                "com.amazonaws.auth.InstanceProfileCredentialsProvider",
            )][..],
            &[(
                "fs.s3a.aws.credentials.provider",
                "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
            )][..],
        ] {
            assert!(
                settings(pairs).unwrap().credentials == Credentials::DefaultChain,
                "{pairs:?}"
            );
        }
        for pairs in [
            &[][..],
            &[("aws.s3.use_instance_profile", "false")][..],
            &[(
                "fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
            )][..],
        ] {
            assert!(
                settings(pairs).unwrap().credentials == Credentials::Anonymous,
                "{pairs:?}"
            );
        }
        let s = settings(&[
            (
                "fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
            ),
            ("fs.s3a.access.key", "AK"),
            ("fs.s3a.secret.key", "SECRET1"),
            ("fs.s3a.session.token", "SECRET3"),
        ])
        .unwrap();
        assert!(matches!(
            s.credentials,
            Credentials::Keys {
                session_token: Some(_),
                then_chain: false,
                ..
            }
        ));
    }
}
