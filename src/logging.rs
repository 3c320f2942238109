//! The system log `apache_hdfs_broker.log` and the audit log `apache_hdfs_broker.audit`.
//!
//! Everything logs through `tracing`; this file only decides where lines go and when
//! files roll (`*_log_roll_mode`: TIME-DAY, TIME-HOUR or SIZE-MB-<n>, keeping
//! `*_log_roll_num` old files). The active file keeps its plain name, so
//! `grep thrift log/apache_hdfs_broker.log` always works; rolled files are suffixed with
//! their period (`.20261126`, `.2026112613`) or a number (`.1` newest). Audit records are
//! events with target `audit`, written only to the audit log. Property maps are never
//! logged as they are: use [`masked`] so credentials stay out of logs.

use std::io::Write;
use std::path::Path;

use file_rotate::compression::Compression;
use file_rotate::suffix::{AppendCount, AppendTimestamp, DateFrom, FileLimit};
use file_rotate::{ContentLimit, FileRotate, TimeFrequency};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use crate::config::{BrokerConfig, RollMode};

pub const LOG_FILE: &str = "apache_hdfs_broker.log";
pub const AUDIT_FILE: &str = "apache_hdfs_broker.audit";
/// The `tracing` target of audit records.
pub const AUDIT_TARGET: &str = "audit";

/// Keeps the background writers alive; dropping it flushes them.
pub struct LogGuards {
    _sys: WorkerGuard,
    _audit: Option<WorkerGuard>,
}

/// Starts logging: the system log in `sys_dir`, and the audit log in `audit_dir` when
/// `audit_log_modules` names any module. Fails when a log file cannot be written.
pub fn init(config: &BrokerConfig, sys_dir: &Path, audit_dir: &Path) -> std::io::Result<LogGuards> {
    let (sys_writer, sys_guard) = tracing_appender::non_blocking(rolling_file(
        sys_dir,
        LOG_FILE,
        config.sys_log_roll_mode,
        config.sys_log_roll_num,
    )?);
    let mut filter = EnvFilter::new(config.sys_log_level.tracing_level().as_str()).add_directive(
        format!("{AUDIT_TARGET}=off")
            .parse()
            .expect("static directive"),
    );
    // reqsign debug-logs each credential provider it tries with its `Debug`, which for
    // the stock static providers of OSS and COS (the only way their opendal services
    // take keys) prints the keys: its records stay at INFO whatever the level.
    for quiet in REQSIGN_TARGETS {
        filter = filter.add_directive(format!("{quiet}=info").parse().expect("static directive"));
    }
    // hdfs-native logs its protocol messages at DEBUG, Kerberos (SASL) tokens and block
    // access tokens (identifier and password) included: never below INFO.
    filter = filter.add_directive("hdfs_native=info".parse().expect("static directive"));
    // suppaftp traces every FTP command it sends (PASS with the password), russh its
    // authentication: never below INFO either.
    for quiet in ["suppaftp", "russh", "russh_sftp"] {
        filter = filter.add_directive(format!("{quiet}=info").parse().expect("static directive"));
    }
    for module in &config.sys_log_verbose_modules {
        if let Ok(d) = format!("apache_hdfs_broker::{module}=debug").parse() {
            filter = filter.add_directive(d);
        }
    }
    let sys = tracing_subscriber::fmt::layer()
        .with_writer(sys_writer)
        .with_ansi(false)
        .with_target(true)
        .with_filter(filter);

    let (audit, audit_guard) = if config.audit_log_modules.is_empty() {
        (None, None)
    } else {
        let (writer, guard) = tracing_appender::non_blocking(rolling_file(
            audit_dir,
            AUDIT_FILE,
            config.audit_log_roll_mode,
            config.audit_log_roll_num,
        )?);
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_level(false)
            .with_target(false)
            .with_filter(filter_fn(|meta| meta.target() == AUDIT_TARGET));
        (Some(layer), Some(guard))
    };
    tracing_subscriber::registry().with(sys).with(audit).init();
    Ok(LogGuards {
        _sys: sys_guard,
        _audit: audit_guard,
    })
}

/// A writer for `<dir>/<name>` that rolls by `mode` and keeps `keep` rolled files.
fn rolling_file(
    dir: &Path,
    name: &str,
    mode: RollMode,
    keep: u32,
) -> std::io::Result<Box<dyn Write + Send>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(name);
    // Open once here so a read-only directory fails the start with a clear error
    // (the rotating writer itself would only report it on the first line).
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    let files = FileLimit::MaxFiles(keep as usize);
    let file: Box<dyn Write + Send> = match mode {
        RollMode::SizeMb(_) => {
            let bytes = mode.size_bytes().unwrap_or(u64::MAX);
            Box::new(FileRotate::new(
                path,
                AppendCount::new(keep as usize),
                ContentLimit::BytesSurpassed(usize::try_from(bytes).unwrap_or(usize::MAX)),
                Compression::None,
                None,
            ))
        }
        RollMode::TimeDay => Box::new(FileRotate::new(
            path,
            AppendTimestamp::with_format("%Y%m%d", files, DateFrom::DateYesterday),
            ContentLimit::Time(TimeFrequency::Daily),
            Compression::None,
            None,
        )),
        RollMode::TimeHour => Box::new(FileRotate::new(
            path,
            AppendTimestamp::with_format("%Y%m%d%H", files, DateFrom::DateHourAgo),
            ContentLimit::Time(TimeFrequency::Hourly),
            Compression::None,
            None,
        )),
    };
    Ok(Box::new(Redacting(file)))
}

/// Every log line passes here on its way to the file: passwords in URIs
/// (`ftp://user:password@host/...`, which clients send as paths) become `***`, whichever
/// line prints a path (failures, audit records, the reaper ...).
struct Redacting(Box<dyn Write + Send>);

impl Write for Redacting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match std::str::from_utf8(buf) {
            Ok(text) if text.contains("://") => {
                self.0
                    .write_all(crate::storage::redact_userinfo(text).as_bytes())?;
                Ok(buf.len())
            }
            _ => self.0.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Crates whose DEBUG records may carry credentials (see [`init`]).
const REQSIGN_TARGETS: &[&str] = &["reqsign_core", "reqsign_aliyun_oss", "reqsign_tencent_cos"];

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
