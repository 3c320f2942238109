//! The system log `apache_hdfs_broker.log` in `sys_log_dir`.
//!
//! Everything logs through `tracing`; this file only decides where lines go. Property
//! maps are never logged as they are: use [`masked`] so credentials stay out of logs.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

use crate::config::BrokerConfig;

pub const LOG_FILE: &str = "apache_hdfs_broker.log";

/// Starts logging to `<dir>/apache_hdfs_broker.log`. Keep the guard alive: dropping it
/// flushes and stops the background writer.
pub fn init(config: &BrokerConfig, dir: &Path) -> std::io::Result<WorkerGuard> {
    std::fs::create_dir_all(dir)?;
    // Open once here so a read-only directory fails the start with a clear error.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG_FILE))?;
    let appender = tracing_appender::rolling::never(dir, LOG_FILE);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let level = config.sys_log_level.tracing_level();
    let mut filter = EnvFilter::new(level.as_str());
    for module in &config.sys_log_verbose_modules {
        let directive = format!("apache_hdfs_broker::{module}=debug");
        if let Ok(d) = directive.parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .with_target(true)
        .init();
    Ok(guard)
}

/// Key words that mark a property value as a secret.
const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "key",
    "token",
    "credential",
    "keytab",
    "userinfo",
    "sas",
];

/// Whether a property's value must never be logged.
pub fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| key.contains(w))
}

/// A property map with secret values replaced by `***`, for log lines.
pub fn masked<'a, I>(props: I) -> String
where
    I: IntoIterator<Item = (&'a String, &'a String)>,
{
    let mut parts: Vec<String> = props
        .into_iter()
        .map(|(k, v)| {
            if is_secret(k) {
                format!("{k}=***")
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    parts.sort();
    format!("{{{}}}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn secrets_are_masked() {
        let props: HashMap<String, String> = [
            ("username", "hdfs"),
            ("password", "p4ss"),
            ("fs.s3a.secret.key", "s3cr3t"),
            ("aws.s3.access_key", "AKIA"),
            ("kerberos_keytab_content", "BASE64"),
            ("column_separator", ","),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let line = masked(&props);
        for secret in ["p4ss", "s3cr3t", "AKIA", "BASE64"] {
            assert!(!line.contains(secret), "{line}");
        }
        assert!(line.contains("username=hdfs"));
        assert!(line.contains("column_separator=,"));
    }
}
