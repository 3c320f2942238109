//! The table of every known key, and conf text applied through it to a [`BrokerConfig`].

use std::path::Path;

use super::log_modes::{log_level, roll_mode};
use super::properties::{expand_vars, is_env_key, java_trim, parse_entries};
use super::settings::BrokerConfig;
use super::values::{boolean, ip_address, list, path, positive};
use super::ConfigError;

/// Applies one trimmed, `${VAR}`-expanded value; `Err` says what was expected.
type Apply = fn(&mut BrokerConfig, &str) -> Result<(), &'static str>;

/// Every known key, in the order errors are reported. The single place to add a key.
const KEYS: &[(&str, Apply)] = &[
    ("broker_ipc_port", |c, v| {
        c.broker_ipc_port = v.parse().map_err(|_| "a port number 0-65535")?;
        Ok(())
    }),
    ("broker_bind_address", |c, v| {
        c.broker_bind_address = ip_address(v)?;
        Ok(())
    }),
    ("broker_http_port", |c, v| {
        c.broker_http_port = match v {
            "-1" => None,
            port => Some(
                port.parse()
                    .map_err(|_| "a port number 0-65535, or -1 to disable")?,
            ),
        };
        Ok(())
    }),
    ("hdfs_read_buffer_size_kb", |c, v| {
        c.hdfs_read_buffer_size_kb = positive(v)?;
        Ok(())
    }),
    ("hdfs_write_buffer_size_kb", |c, v| {
        c.hdfs_write_buffer_size_kb = positive(v)?;
        Ok(())
    }),
    ("client_expire_seconds", |c, v| {
        c.client_expire_seconds = positive(v)?;
        Ok(())
    }),
    ("disable_broker_client_expiration_checking", |c, v| {
        c.disable_broker_client_expiration_checking = boolean(v)?;
        Ok(())
    }),
    ("sys_log_dir", |c, v| {
        c.sys_log_dir = path(v);
        Ok(())
    }),
    ("sys_log_level", |c, v| {
        c.sys_log_level = log_level(v)?;
        Ok(())
    }),
    ("sys_log_roll_mode", |c, v| {
        c.sys_log_roll_mode = roll_mode(v)?;
        Ok(())
    }),
    ("sys_log_roll_num", |c, v| {
        c.sys_log_roll_num = v.parse().map_err(|_| "an integer 0-4294967295")?;
        Ok(())
    }),
    ("sys_log_verbose_modules", |c, v| {
        c.sys_log_verbose_modules = list(v);
        Ok(())
    }),
    ("audit_log_dir", |c, v| {
        c.audit_log_dir = path(v);
        Ok(())
    }),
    ("audit_log_modules", |c, v| {
        c.audit_log_modules = list(v);
        Ok(())
    }),
    ("audit_log_roll_mode", |c, v| {
        c.audit_log_roll_mode = roll_mode(v)?;
        Ok(())
    }),
    ("audit_log_roll_num", |c, v| {
        c.audit_log_roll_num = v.parse().map_err(|_| "an integer 0-4294967295")?;
        Ok(())
    }),
    ("kerberos_token_expire_seconds", |c, v| {
        c.kerberos_token_expire_seconds = v.parse().map_err(|_| "a non-negative integer")?;
        Ok(())
    }),
    ("max_message_size_bytes", |c, v| {
        const EXPECTED: &str = "an integer >= 1048576 (1 MiB)";
        c.max_message_size_bytes = v
            .parse()
            .ok()
            .filter(|&n: &usize| n >= 1024 * 1024)
            .ok_or(EXPECTED)?;
        Ok(())
    }),
    ("broker_allowed_clients", |c, v| {
        c.broker_allowed_clients = list(v);
        Ok(())
    }),
    ("broker_http_allowed_clients", |c, v| {
        c.broker_http_allowed_clients = list(v);
        Ok(())
    }),
    ("broker_local_roots", |c, v| {
        c.broker_local_roots = list(v);
        Ok(())
    }),
    ("max_connections", |c, v| {
        c.max_connections = positive::<usize>(v)?;
        Ok(())
    }),
    ("max_open_fds_per_client", |c, v| {
        c.max_open_fds_per_client = positive::<usize>(v)?;
        Ok(())
    }),
    ("max_open_fds", |c, v| {
        c.max_open_fds = positive::<usize>(v)?;
        Ok(())
    }),
    ("max_writer_buffer_mb", |c, v| {
        c.max_writer_buffer_mb = positive::<usize>(v)?;
        Ok(())
    }),
    ("message_read_timeout_seconds", |c, v| {
        c.message_read_timeout_seconds = positive::<u64>(v)?;
        Ok(())
    }),
    ("shutdown_timeout_seconds", |c, v| {
        c.shutdown_timeout_seconds = v.parse().map_err(|_| "a non-negative integer")?;
        Ok(())
    }),
];

/// The names of all keys [`BrokerConfig`] understands.
pub fn known_keys() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|&(name, _)| name)
}

impl BrokerConfig {
    /// Reads and parses the file; `env` looks variables up (real callers pass
    /// `|k| std::env::var(k).ok()`). Errors name the file.
    pub fn load(path: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bytes = std::fs::read(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        // Java's FileReader replaces undecodable bytes rather than failing; so do we.
        let text = String::from_utf8_lossy(&bytes);
        Self::parse(&text, env).map_err(|error| ConfigError::InFile {
            path: path.to_path_buf(),
            error: Box::new(error),
        })
    }

    /// Parses conf text. Unknown keys are ignored (typos show up at debug level only,
    /// as in the Java broker); an empty value keeps the default only where "empty" means
    /// something (directories, lists), elsewhere it is an error like in Java.
    pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let entries = parse_entries(text);
        if let Some(bad) = entries.iter().find(|e| e.malformed) {
            return Err(ConfigError::MalformedEscape { line: bad.line });
        }
        for entry in &entries {
            if !is_env_key(&entry.key) && !KEYS.iter().any(|&(name, _)| name == entry.key) {
                tracing::debug!(key = ?entry.key, "ignoring unknown config key");
            }
        }
        let mut config = BrokerConfig::default();
        for &(name, apply) in KEYS {
            // Later duplicates win, so an overridden bad value is never looked at.
            let Some(entry) = entries.iter().rev().find(|e| e.key == name) else {
                continue;
            };
            let expanded = expand_vars(name, &entry.value, env)?;
            let value = java_trim(&expanded);
            apply(&mut config, value).map_err(|expected| ConfigError::InvalidValue {
                key: name.to_string(),
                value: value.to_string(),
                expected,
            })?;
        }
        // A bad entry must stop the start, never widen the list.
        config.allowed_clients()?;
        config.http_allowed_clients()?;
        config.local_roots()?;
        Ok(config)
    }
}
