//! Which credentials the properties ask for (key pair, default chain, or none), from
//! `fs.s3a.aws.credentials.provider`, the StarRocks flags and the keys given.

use reqsign_core::ProvideCredential;

use super::keys::{
    either, flag, get, invalid, ACCESS_KEY, INSTANCE_PROFILE, PROVIDER, SDK_DEFAULT, SECRET_KEY,
    SESSION_TOKEN,
};
use crate::storage::{Properties, Result};

/// What signs the requests (part of the client cache key).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Credentials {
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
pub(super) struct KeyPair(pub(super) reqsign_aws_v4::Credential);

impl ProvideCredential for KeyPair {
    type Credential = reqsign_aws_v4::Credential;

    async fn provide_credential(
        &self,
        _: &reqsign_core::Context,
    ) -> reqsign_core::Result<Option<Self::Credential>> {
        Ok(Some(self.0.clone()))
    }
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

pub(super) fn credentials(props: &Properties) -> Result<Credentials> {
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
