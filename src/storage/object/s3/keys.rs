//! Both spellings of every S3 setting, Hadoop S3A's (`fs.s3a.*`) and StarRocks'
//! (`aws.s3.*`), and reading one: given twice with different values is an error naming
//! both keys.

use crate::storage::{Properties, Result, StorageError};

pub(super) const ACCESS_KEY: [&str; 2] = ["fs.s3a.access.key", "aws.s3.access_key"];
pub(super) const SECRET_KEY: [&str; 2] = ["fs.s3a.secret.key", "aws.s3.secret_key"];
pub(super) const SESSION_TOKEN: [&str; 2] = ["fs.s3a.session.token", "aws.s3.session_token"];
pub(super) const ENDPOINT: [&str; 2] = ["fs.s3a.endpoint", "aws.s3.endpoint"];
pub(super) const REGION: [&str; 2] = ["fs.s3a.endpoint.region", "aws.s3.region"];
pub(super) const PATH_STYLE: [&str; 2] = [
    "fs.s3a.path.style.access",
    "aws.s3.enable_path_style_access",
];
pub(super) const SSL: [&str; 2] = ["fs.s3a.connection.ssl.enabled", "aws.s3.enable_ssl"];
pub(super) const PROVIDER: &str = "fs.s3a.aws.credentials.provider";
pub(super) const INSTANCE_PROFILE: &str = "aws.s3.use_instance_profile";
pub(super) const SDK_DEFAULT: &str = "aws.s3.use_aws_sdk_default_behavior";

pub(super) const DEFAULT_REGION: &str = "us-east-1";

pub(super) fn invalid(message: String) -> StorageError {
    StorageError::InvalidArgument(format!("S3 properties: {message}"))
}

/// A property's value and the key it came from; blank values count as unset.
pub(super) fn get<'a>(props: &'a Properties, key: &'static str) -> Option<(&'a str, &'static str)> {
    props
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| (v, key))
}

/// One setting under either spelling. Both given and different: an error naming both
/// (showing the values unless `secret`).
pub(super) fn either<'a>(
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

pub(super) fn parse_bool(value: &str, key: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(format!("{key} = {value} is not true or false"))),
    }
}

pub(super) fn either_bool(props: &Properties, keys: [&'static str; 2]) -> Result<Option<bool>> {
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

pub(super) fn flag(props: &Properties, key: &'static str) -> Result<bool> {
    get(props, key).map_or(Ok(false), |(v, k)| parse_bool(v, k))
}
