//! How one value is read: numbers, booleans, addresses, paths and lists, each returning
//! what was expected when it does not parse (the caller names the key and the value).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::properties::java_trim;
use super::ConfigError;

pub(super) fn positive<T: std::str::FromStr + Default + PartialEq>(
    v: &str,
) -> Result<T, &'static str> {
    v.parse::<T>()
        .ok()
        .filter(|n| *n != T::default())
        .ok_or("a positive integer")
}

pub(super) fn boolean(v: &str) -> Result<bool, &'static str> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("true or false")
    }
}

/// Stored canonically so later `parse::<IpAddr>()` cannot fail; `[::]` is accepted too.
pub(super) fn ip_address(v: &str) -> Result<String, &'static str> {
    let bare = v
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(v);
    bare.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| "an IP address such as 0.0.0.0 or ::")
}

/// Empty means "not set": the caller picks the directory from `BROKER_HOME`.
pub(super) fn path(v: &str) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// Comma-separated, like `ConfigBase`'s `String[]`, minus the empty entries it would keep.
/// Addresses and CIDR blocks, IPv4 or IPv6; an entry that is neither names itself.
pub(super) fn networks(key: &str, entries: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    entries
        .iter()
        .map(|entry| {
            let parsed = match entry.parse::<ipnet::IpNet>() {
                Ok(net) => Some(net),
                Err(_) => entry.parse::<IpAddr>().ok().map(ipnet::IpNet::from),
            };
            parsed.ok_or_else(|| ConfigError::InvalidEntry {
                key: key.to_string(),
                entry: entry.clone(),
                expected:
                    "an IPv4 or IPv6 address or a CIDR block (10.0.0.0/8, 192.168.1.7, fd00::/8)",
            })
        })
        .collect()
}

/// Absolute directories, each normalised (repeated slashes and `.` dropped); a relative
/// entry, or one holding `..`, names itself: a root must mean one directory, read the same
/// way whatever the broker's working directory.
pub(super) fn directories(key: &str, entries: &[String]) -> Result<Vec<PathBuf>, ConfigError> {
    entries
        .iter()
        .map(|entry| {
            let path = Path::new(entry);
            let plain = path.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::RootDir | std::path::Component::Normal(_)
                )
            });
            if path.is_absolute() && plain {
                Ok(path.components().collect())
            } else {
                Err(ConfigError::InvalidEntry {
                    key: key.to_string(),
                    entry: entry.clone(),
                    expected:
                        "an absolute directory without '..' (/data/broker, ${BROKER_HOME}/data)",
                })
            }
        })
        .collect()
}

pub(super) fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(java_trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
