//! Reading a store's properties: blank values are unset, synonyms (a Hadoop key and a
//! StarRocks key for one setting) must agree, pairs come together, and every refusal is
//! `InvalidArgument` naming the keys (never a secret value).

use crate::storage::{Properties, Result, StorageError};

/// `InvalidArgument` prefixed with the store's name ("OSS properties: ...").
pub fn invalid(store: &str, message: impl std::fmt::Display) -> StorageError {
    StorageError::InvalidArgument(format!("{store} properties: {message}"))
}

/// A property's trimmed value; blank counts as unset.
pub fn get<'a>(props: &'a Properties, key: &str) -> Option<&'a str> {
    props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// One setting spelled several ways: the value and the key it came from. Two keys with
/// different values are an error naming both (values shown unless `secret`).
pub fn one_of<'a>(
    store: &str,
    props: &'a Properties,
    keys: &[&'static str],
    secret: bool,
) -> Result<Option<(&'a str, &'static str)>> {
    let mut found: Option<(&'a str, &'static str)> = None;
    for &key in keys {
        let Some(value) = get(props, key) else {
            continue;
        };
        match found {
            Some((first, first_key)) if first != value => {
                return Err(invalid(
                    store,
                    if secret {
                        format!("{first_key} and {key} are both set and differ")
                    } else {
                        format!("{first_key} = {first} and {key} = {value} contradict each other")
                    },
                ))
            }
            Some(_) => {}
            None => found = Some((value, key)),
        }
    }
    Ok(found)
}

/// A key pair (an id and its secret, each under any of its spellings): both or neither.
pub fn pair<'a>(
    store: &str,
    props: &'a Properties,
    id_keys: &[&'static str],
    secret_keys: &[&'static str],
) -> Result<Option<(&'a str, &'a str)>> {
    match (
        one_of(store, props, id_keys, true)?,
        one_of(store, props, secret_keys, true)?,
    ) {
        (Some((id, _)), Some((secret, _))) => Ok(Some((id, secret))),
        (Some((_, given)), None) => Err(invalid(
            store,
            format!("{given} is set but {} is missing", secret_keys[0]),
        )),
        (None, Some((_, given))) => Err(invalid(
            store,
            format!("{given} is set but {} is missing", id_keys[0]),
        )),
        (None, None) => Ok(None),
    }
}

/// `true`/`false` (any case), else an error naming the key.
pub fn parse_bool(store: &str, value: &str, key: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(invalid(
            store,
            format!("{key} = {value} is not true or false"),
        )),
    }
}

/// `http(s)://host[:port][/path]` from an endpoint given with or without a scheme
/// (without: https unless `ssl` is off), no trailing slash.
pub fn endpoint_url(store: &str, raw: &str, key: &str, ssl: bool) -> Result<String> {
    let raw = raw.trim_end_matches('/');
    let lower = raw.to_ascii_lowercase();
    let url = if lower.starts_with("http://") || lower.starts_with("https://") {
        raw.to_string()
    } else if raw.contains("://") {
        return Err(invalid(
            store,
            format!("{key} = {raw}: only http:// and https:// endpoints are supported"),
        ));
    } else {
        format!("{}://{raw}", if ssl { "https" } else { "http" })
    };
    match reqwest::Url::parse(&url) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        _ => Err(invalid(
            store,
            format!("{key} = {raw} is not a host name or URL"),
        )),
    }
}

/// The host name of an endpoint URL made by [`endpoint_url`].
pub fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::storage::props_of as props;

    #[test]
    fn synonyms_must_agree_and_pairs_come_together() {
        let p = props(&[("a", "1"), ("b", "1"), ("c", "2"), ("blank", "  ")]);
        assert_eq!(
            one_of("X", &p, &["a", "b"], false).unwrap(),
            Some(("1", "a"))
        );
        assert_eq!(
            one_of("X", &p, &["blank", "b"], false).unwrap(),
            Some(("1", "b"))
        );
        let err = one_of("X", &p, &["a", "c"], true).unwrap_err().to_string();
        assert!(err.contains("a and c") && !err.contains('2'), "{err}");
        let err = pair("X", &p, &["a"], &["missing"]).unwrap_err().to_string();
        assert!(err.contains("a is set but missing is missing"), "{err}");
        assert_eq!(pair("X", &p, &["none"], &["blank"]).unwrap(), None);
    }

    #[test]
    fn endpoints_with_and_without_scheme() {
        assert_eq!(endpoint_url("X", "h:1/", "k", true).unwrap(), "https://h:1");
        assert_eq!(endpoint_url("X", "h", "k", false).unwrap(), "http://h");
        assert_eq!(
            endpoint_url("X", "HTTP://h", "k", true).unwrap(),
            "HTTP://h"
        );
        assert!(endpoint_url("X", "ftp://h", "k", true).is_err());
        assert_eq!(host_of("http://Bucket.Host:9/x"), "bucket.host");
    }
}
