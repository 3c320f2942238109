//! The typed settings: [`BrokerConfig`], the table of known keys with their defaults, and
//! how each value is parsed and checked.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::properties::{expand_vars, is_env_key, java_trim, parse_entries};
use super::ConfigError;

/// `sys_log_level`. Names follow the Java broker (`WARNING`, `FATAL`); `DEBUG` is ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Info,
    Warning,
    Error,
    Fatal,
}

impl LogLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warning => "WARNING",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }

    /// The nearest `tracing` level: tracing has no FATAL, so it maps to ERROR.
    pub fn tracing_level(self) -> tracing::Level {
        match self {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warning => tracing::Level::WARN,
            LogLevel::Error | LogLevel::Fatal => tracing::Level::ERROR,
        }
    }
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `sys_log_roll_mode` / `audit_log_roll_mode`: when a log file is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollMode {
    TimeDay,
    TimeHour,
    /// Rotate when the file reaches this many MiB (always > 0).
    SizeMb(u64),
}

impl RollMode {
    /// The size limit in bytes for `SizeMb`, saturating rather than overflowing.
    pub fn size_bytes(self) -> Option<u64> {
        match self {
            RollMode::SizeMb(mb) => Some(mb.saturating_mul(1024 * 1024)),
            RollMode::TimeDay | RollMode::TimeHour => None,
        }
    }
}

impl std::fmt::Display for RollMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RollMode::TimeDay => f.write_str("TIME-DAY"),
            RollMode::TimeHour => f.write_str("TIME-HOUR"),
            RollMode::SizeMb(mb) => write!(f, "SIZE-MB-{mb}"),
        }
    }
}

/// The typed configuration. Field names are the conf keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerConfig {
    /// Thrift port; 0 binds an ephemeral port (tests).
    pub broker_ipc_port: u16,
    /// Listen address, validated and stored in canonical form.
    pub broker_bind_address: String,
    /// Port of the `/metrics` and `/health` endpoint; `None` (conf `-1`) disables it,
    /// 0 binds an ephemeral port (tests).
    pub broker_http_port: Option<u16>,
    /// Caps the bytes served by one pread.
    pub hdfs_read_buffer_size_kb: u64,
    pub hdfs_write_buffer_size_kb: u64,
    /// Idle time after which a client's open files are closed.
    pub client_expire_seconds: u64,
    pub disable_broker_client_expiration_checking: bool,
    /// `None`: the caller uses `$BROKER_HOME/log`.
    pub sys_log_dir: Option<PathBuf>,
    pub sys_log_level: LogLevel,
    pub sys_log_roll_mode: RollMode,
    pub sys_log_roll_num: u32,
    pub sys_log_verbose_modules: Vec<String>,
    /// `None`: the caller decides (normally next to the sys log).
    pub audit_log_dir: Option<PathBuf>,
    pub audit_log_modules: Vec<String>,
    pub audit_log_roll_mode: RollMode,
    pub audit_log_roll_num: u32,
    pub kerberos_token_expire_seconds: u64,
    /// Bounds every length read off the Thrift wire, so a bad peer cannot make us allocate.
    pub max_message_size_bytes: usize,
    pub max_connections: usize,
    /// Who may connect to the Thrift port: addresses and CIDR blocks, empty for anyone
    /// (checked by [`BrokerConfig::allowed_clients`]).
    pub broker_allowed_clients: Vec<String>,
    /// Who may connect to the HTTP port (metrics scrapers are often other hosts than the
    /// FE and BE): its own list, empty for anyone.
    pub broker_http_allowed_clients: Vec<String>,
    /// The directories `file://` paths are served beneath (checked by
    /// [`BrokerConfig::local_roots`]); none (a conf without the key, as the Java broker's)
    /// serves no local file at all.
    pub broker_local_roots: Vec<String>,
    /// Open readers + writers one client (`clientId`) may hold; opening more is refused.
    pub max_open_fds_per_client: usize,
    /// Open readers + writers of all clients together.
    pub max_open_fds: usize,
    /// pwrite data one writer holds at once (one call's, or several racing on the fd);
    /// a single larger pwrite is refused.
    pub max_writer_buffer_mb: usize,
    /// How long a connection may stall in the middle of a message before it is dropped.
    pub message_read_timeout_seconds: u64,
    /// Bounded wait for in-flight calls on SIGTERM.
    pub shutdown_timeout_seconds: u64,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            broker_ipc_port: 8000,
            broker_bind_address: "0.0.0.0".to_string(),
            broker_http_port: Some(DEFAULT_HTTP_PORT),
            hdfs_read_buffer_size_kb: 8192,
            hdfs_write_buffer_size_kb: 1024,
            client_expire_seconds: 300,
            disable_broker_client_expiration_checking: false,
            sys_log_dir: None,
            sys_log_level: LogLevel::Info,
            sys_log_roll_mode: RollMode::SizeMb(1024),
            sys_log_roll_num: 30,
            sys_log_verbose_modules: Vec::new(),
            audit_log_dir: None,
            audit_log_modules: Vec::new(),
            audit_log_roll_mode: RollMode::TimeDay,
            audit_log_roll_num: 10,
            kerberos_token_expire_seconds: 86000,
            max_message_size_bytes: 256 * 1024 * 1024,
            max_connections: 4096,
            broker_allowed_clients: Vec::new(),
            broker_http_allowed_clients: Vec::new(),
            broker_local_roots: Vec::new(),
            max_open_fds_per_client: 8192,
            max_open_fds: 65536,
            max_writer_buffer_mb: 128,
            message_read_timeout_seconds: 120,
            shutdown_timeout_seconds: 30,
        }
    }
}

/// Clear of StarRocks' and Doris' FE/BE/CN ports (8030, 8040, 8050, 8060, 8070, 9010-9070,
/// 6090) and of the broker's own 8000 and the ports just above it that a second broker on
/// the host would take.
pub const DEFAULT_HTTP_PORT: u16 = 8200;

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

fn positive<T: std::str::FromStr + Default + PartialEq>(v: &str) -> Result<T, &'static str> {
    v.parse::<T>()
        .ok()
        .filter(|n| *n != T::default())
        .ok_or("a positive integer")
}

fn boolean(v: &str) -> Result<bool, &'static str> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err("true or false")
    }
}

/// Stored canonically so later `parse::<IpAddr>()` cannot fail; `[::]` is accepted too.
fn ip_address(v: &str) -> Result<String, &'static str> {
    let bare = v
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(v);
    bare.parse::<IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| "an IP address such as 0.0.0.0 or ::")
}

/// Empty means "not set": the caller picks the directory from `BROKER_HOME`.
fn path(v: &str) -> Option<PathBuf> {
    (!v.is_empty()).then(|| PathBuf::from(v))
}

/// Comma-separated, like `ConfigBase`'s `String[]`, minus the empty entries it would keep.
/// Addresses and CIDR blocks, IPv4 or IPv6; an entry that is neither names itself.
fn networks(key: &str, entries: &[String]) -> Result<Vec<ipnet::IpNet>, ConfigError> {
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
fn directories(key: &str, entries: &[String]) -> Result<Vec<PathBuf>, ConfigError> {
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

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(java_trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn log_level(v: &str) -> Result<LogLevel, &'static str> {
    const LEVELS: [(&str, LogLevel); 6] = [
        ("DEBUG", LogLevel::Debug),
        ("INFO", LogLevel::Info),
        ("WARNING", LogLevel::Warning),
        ("WARN", LogLevel::Warning),
        ("ERROR", LogLevel::Error),
        ("FATAL", LogLevel::Fatal),
    ];
    LEVELS
        .iter()
        .find(|(name, _)| v.eq_ignore_ascii_case(name))
        .map(|&(_, level)| level)
        .ok_or("one of DEBUG, INFO, WARNING, ERROR, FATAL")
}

fn roll_mode(v: &str) -> Result<RollMode, &'static str> {
    const EXPECTED: &str = "TIME-DAY, TIME-HOUR or SIZE-MB-<n> with n > 0";
    let upper = v.to_ascii_uppercase();
    match upper.as_str() {
        "TIME-DAY" => Ok(RollMode::TimeDay),
        "TIME-HOUR" => Ok(RollMode::TimeHour),
        other => other
            .strip_prefix("SIZE-MB-")
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|&n| n > 0)
            .map(RollMode::SizeMb)
            .ok_or(EXPECTED),
    }
}

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

    /// `broker_allowed_clients` as networks (a bare address is a network of one).
    pub fn allowed_clients(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        networks("broker_allowed_clients", &self.broker_allowed_clients)
    }

    /// `broker_http_allowed_clients` as networks.
    pub fn http_allowed_clients(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        networks(
            "broker_http_allowed_clients",
            &self.broker_http_allowed_clients,
        )
    }

    /// `broker_local_roots` as absolute, normalised directories (empty: no `file://`).
    pub fn local_roots(&self) -> Result<Vec<PathBuf>, ConfigError> {
        directories("broker_local_roots", &self.broker_local_roots)
    }

    /// The socket address to listen on.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        let ip = ip_address(&self.broker_bind_address).map_err(|expected| {
            ConfigError::InvalidValue {
                key: "broker_bind_address".to_string(),
                value: self.broker_bind_address.clone(),
                expected,
            }
        })?;
        // `ip_address` returned a canonical address, so this parse cannot fail.
        let ip: IpAddr = ip.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
        Ok(SocketAddr::new(ip, self.broker_ipc_port))
    }

    /// The address of the metrics and health endpoint; `None` when it is disabled.
    pub fn http_listen_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let thrift = self.listen_addr()?;
        Ok(self
            .broker_http_port
            .map(|port| SocketAddr::new(thrift.ip(), port)))
    }

    /// `hdfs_read_buffer_size_kb` in bytes, saturating on absurd values.
    pub fn read_buffer_bytes(&self) -> usize {
        kb_to_bytes(self.hdfs_read_buffer_size_kb)
    }

    /// `hdfs_write_buffer_size_kb` in bytes, saturating on absurd values.
    pub fn write_buffer_bytes(&self) -> usize {
        kb_to_bytes(self.hdfs_write_buffer_size_kb)
    }

    pub fn client_expire(&self) -> Duration {
        Duration::from_secs(self.client_expire_seconds)
    }

    pub fn shutdown_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout_seconds)
    }
}

fn kb_to_bytes(kb: u64) -> usize {
    usize::try_from(kb.saturating_mul(1024)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_properties;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<BrokerConfig, ConfigError> {
        BrokerConfig::parse(text, &no_env)
    }

    fn invalid(text: &str, key: &str) -> String {
        match parse(text) {
            Err(e @ ConfigError::InvalidValue { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(key), "{msg}");
                msg
            }
            other => panic!("{text:?}: expected InvalidValue for {key}, got {other:?}"),
        }
    }

    #[test]
    fn allowed_clients_are_networks_and_a_bad_entry_stops_the_start() {
        let c = parse("broker_allowed_clients = 10.0.0.0/8, 192.168.1.7 ,fd00::/8").unwrap();
        let nets: Vec<String> = c
            .allowed_clients()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
        // The HTTP port has a list of its own (empty: anyone).
        assert!(c.http_allowed_clients().unwrap().is_empty());
        let own = parse("broker_http_allowed_clients = 10.0.0.7").unwrap();
        assert_eq!(own.http_allowed_clients().unwrap().len(), 1);
        assert!(parse("").unwrap().allowed_clients().unwrap().is_empty());
        for (text, key, entry) in [
            (
                "broker_allowed_clients = 10.0.0.0/8, 10.0.0.300",
                "broker_allowed_clients",
                "10.0.0.300",
            ),
            (
                "broker_allowed_clients = 10.0.0.0/33",
                "broker_allowed_clients",
                "10.0.0.0/33",
            ),
            (
                "broker_allowed_clients = be-host-1",
                "broker_allowed_clients",
                "be-host-1",
            ),
            (
                "broker_http_allowed_clients = *",
                "broker_http_allowed_clients",
                "*",
            ),
        ] {
            match parse(text) {
                Err(e @ ConfigError::InvalidEntry { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains(key) && msg.contains(entry), "{msg}");
                }
                other => panic!("{text:?}: expected InvalidEntry, got {other:?}"),
            }
        }
    }

    #[test]
    fn local_roots_are_absolute_directories_and_a_bad_entry_stops_the_start() {
        // No key (a Java broker's conf) and an empty value both serve no local file.
        assert!(parse("").unwrap().local_roots().unwrap().is_empty());
        assert!(parse("broker_local_roots =")
            .unwrap()
            .local_roots()
            .unwrap()
            .is_empty());
        let c = parse("broker_local_roots = /data/exports/ , /mnt//nas/./in,/").unwrap();
        assert_eq!(
            c.local_roots().unwrap(),
            [
                PathBuf::from("/data/exports"),
                PathBuf::from("/mnt/nas/in"),
                PathBuf::from("/")
            ]
        );
        let env = |k: &str| (k == "BROKER_HOME").then(|| "/opt/broker".to_string());
        let c = BrokerConfig::parse("broker_local_roots = ${BROKER_HOME}/data", &env).unwrap();
        assert_eq!(
            c.local_roots().unwrap(),
            [PathBuf::from("/opt/broker/data")]
        );
        for entry in ["data", "./data", "/data/../etc", "~/data"] {
            match parse(&format!("broker_local_roots = /ok, {entry}")) {
                Err(e @ ConfigError::InvalidEntry { .. }) => {
                    let msg = e.to_string();
                    assert!(
                        msg.contains("broker_local_roots") && msg.contains(entry),
                        "{msg}"
                    );
                }
                other => panic!("{entry:?}: expected InvalidEntry, got {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_escapes_are_refused_with_their_line() {
        assert!(matches!(
            parse("a = 1\n\nk = \\u12"),
            Err(ConfigError::MalformedEscape { line: 3 })
        ));
    }

    #[test]
    fn duplicates_last_wins() {
        assert_eq!(
            parse("broker_ipc_port = nonsense\nbroker_ipc_port = 9000")
                .unwrap()
                .broker_ipc_port,
            9000
        );
    }

    #[test]
    fn variable_substitution() {
        let env = |k: &str| match k {
            "BROKER_HOME" => Some("/opt/broker".to_string()),
            "SUB" => Some("x".to_string()),
            "LOOP" => Some("${LOOP}".to_string()),
            _ => None,
        };
        let c = BrokerConfig::parse(
            "sys_log_dir = ${BROKER_HOME}/log/${SUB}${SUB}\n\
             audit_log_dir = $HOME/${unterminated\n\
             audit_log_modules = ${LOOP}\n",
            &env,
        )
        .unwrap();
        assert_eq!(c.sys_log_dir, Some(PathBuf::from("/opt/broker/log/xx")));
        assert_eq!(c.audit_log_dir, Some(PathBuf::from("$HOME/${unterminated")));
        assert_eq!(c.audit_log_modules, vec!["${LOOP}".to_string()]);
    }

    #[test]
    fn missing_variable_names_key_and_variable() {
        let err = parse("sys_log_dir = ${BROKER_HOME}/log").unwrap_err();
        assert!(matches!(
            &err,
            ConfigError::UndefinedVariable { key, var } if key == "sys_log_dir" && var == "BROKER_HOME"
        ));
        let msg = err.to_string();
        assert!(
            msg.contains("sys_log_dir") && msg.contains("BROKER_HOME"),
            "{msg}"
        );
        // Unknown and environment keys are never expanded.
        assert!(parse("some_future_key = ${NOPE}\nJAVA_OPTS = ${NOPE}").is_ok());
    }

    #[test]
    fn defaults() {
        let d = BrokerConfig::default();
        assert_eq!(d.broker_ipc_port, 8000);
        assert_eq!(d.broker_bind_address, "0.0.0.0");
        assert_eq!(d.broker_http_port, Some(8200));
        assert_eq!(d.hdfs_read_buffer_size_kb, 8192);
        assert_eq!(d.hdfs_write_buffer_size_kb, 1024);
        assert_eq!(d.client_expire_seconds, 300);
        assert!(!d.disable_broker_client_expiration_checking);
        assert_eq!(d.sys_log_dir, None);
        assert_eq!(d.sys_log_level, LogLevel::Info);
        assert_eq!(d.sys_log_roll_mode, RollMode::SizeMb(1024));
        assert_eq!(d.sys_log_roll_num, 30);
        assert!(d.sys_log_verbose_modules.is_empty());
        assert_eq!(d.audit_log_dir, None);
        assert!(d.audit_log_modules.is_empty());
        assert_eq!(d.audit_log_roll_mode, RollMode::TimeDay);
        assert_eq!(d.audit_log_roll_num, 10);
        assert_eq!(d.kerberos_token_expire_seconds, 86000);
        assert_eq!(d.max_message_size_bytes, 268_435_456);
        assert_eq!(d.max_connections, 4096);
        assert_eq!(d.max_open_fds_per_client, 8192);
        assert_eq!(d.max_open_fds, 65536);
        assert_eq!(d.max_writer_buffer_mb, 128);
        assert_eq!(d.message_read_timeout_seconds, 120);
        assert_eq!(d.shutdown_timeout_seconds, 30);
        assert_eq!(parse("").unwrap(), d);
        assert_eq!(parse("# nothing\n").unwrap(), d);
        assert_eq!(d.read_buffer_bytes(), 8 * 1024 * 1024);
        assert_eq!(d.write_buffer_bytes(), 1024 * 1024);
        assert_eq!(d.client_expire(), Duration::from_secs(300));
        assert_eq!(d.shutdown_timeout(), Duration::from_secs(30));
        assert_eq!(
            d.listen_addr().unwrap(),
            "0.0.0.0:8000".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            d.http_listen_addr().unwrap(),
            Some("0.0.0.0:8200".parse::<SocketAddr>().unwrap())
        );
    }

    #[test]
    fn every_key_parses() {
        let c = parse(
            "broker_ipc_port = 0\n\
             broker_bind_address = [::1]\n\
             broker_http_port = 0\n\
             hdfs_read_buffer_size_kb = 16\n\
             hdfs_write_buffer_size_kb = 32\n\
             client_expire_seconds = 5\n\
             disable_broker_client_expiration_checking = TRUE\n\
             sys_log_dir = /var/log/broker  \n\
             sys_log_level = warning\n\
             sys_log_roll_mode = TIME-HOUR\n\
             sys_log_roll_num = 7\n\
             sys_log_verbose_modules = a.b , ,c ,\n\
             audit_log_dir = /audit\n\
             audit_log_modules = slow_query, query\n\
             audit_log_roll_mode = size-mb-10\n\
             audit_log_roll_num = 0\n\
             kerberos_token_expire_seconds = 0\n\
             max_message_size_bytes = 1048576\n\
             max_connections = 1\n\
             shutdown_timeout_seconds = 0\n",
        )
        .unwrap();
        assert_eq!(c.broker_ipc_port, 0);
        assert_eq!(c.broker_bind_address, "::1");
        assert_eq!(c.listen_addr().unwrap(), "[::1]:0".parse().unwrap());
        assert_eq!(c.broker_http_port, Some(0));
        assert_eq!(
            c.http_listen_addr().unwrap(),
            Some("[::1]:0".parse().unwrap())
        );
        let off = parse("broker_http_port = -1").unwrap();
        assert_eq!(off.broker_http_port, None);
        assert_eq!(off.http_listen_addr().unwrap(), None);
        assert_eq!(c.hdfs_read_buffer_size_kb, 16);
        assert_eq!(c.hdfs_write_buffer_size_kb, 32);
        assert_eq!(c.client_expire_seconds, 5);
        assert!(c.disable_broker_client_expiration_checking);
        assert_eq!(c.sys_log_dir, Some(PathBuf::from("/var/log/broker")));
        assert_eq!(c.sys_log_level, LogLevel::Warning);
        assert_eq!(c.sys_log_roll_mode, RollMode::TimeHour);
        assert_eq!(c.sys_log_roll_num, 7);
        assert_eq!(c.sys_log_verbose_modules, vec!["a.b", "c"]);
        assert_eq!(c.audit_log_dir, Some(PathBuf::from("/audit")));
        assert_eq!(c.audit_log_modules, vec!["slow_query", "query"]);
        assert_eq!(c.audit_log_roll_mode, RollMode::SizeMb(10));
        assert_eq!(c.audit_log_roll_mode.size_bytes(), Some(10 << 20));
        assert_eq!(c.audit_log_roll_num, 0);
        assert_eq!(c.kerberos_token_expire_seconds, 0);
        assert_eq!(c.max_message_size_bytes, 1 << 20);
        assert_eq!(c.max_connections, 1);
        assert_eq!(c.shutdown_timeout_seconds, 0);
    }

    #[test]
    fn enum_spellings() {
        for (text, level) in [
            ("DEBUG", LogLevel::Debug),
            ("info", LogLevel::Info),
            ("WARN", LogLevel::Warning),
            ("Error", LogLevel::Error),
            ("FATAL", LogLevel::Fatal),
        ] {
            let c = parse(&format!("sys_log_level = {text}")).unwrap();
            assert_eq!(c.sys_log_level, level);
        }
        assert_eq!(LogLevel::Fatal.tracing_level(), tracing::Level::ERROR);
        assert_eq!(RollMode::SizeMb(5).to_string(), "SIZE-MB-5");
        assert_eq!(RollMode::TimeDay.to_string(), "TIME-DAY");
        assert_eq!(RollMode::TimeHour.size_bytes(), None);
        assert_eq!(RollMode::SizeMb(u64::MAX).size_bytes(), Some(u64::MAX));
    }

    #[test]
    fn empty_values() {
        // Empty directories and lists mean "default"; empty numbers are errors, as in Java.
        let c = parse("sys_log_dir =\naudit_log_dir = \t\naudit_log_modules =\n").unwrap();
        assert_eq!(c, BrokerConfig::default());
        invalid("broker_ipc_port =", "broker_ipc_port");
        invalid("sys_log_level =", "sys_log_level");
    }

    #[test]
    fn malformed_values_name_key_value_and_expectation() {
        let msg = invalid("broker_ipc_port = 80o0", "broker_ipc_port");
        assert!(msg.contains("\"80o0\"") && msg.contains("port"), "{msg}");
        invalid("broker_ipc_port = 65536", "broker_ipc_port");
        invalid("broker_ipc_port = -1", "broker_ipc_port");
        for bad in ["-2", "65536", "off", ""] {
            let msg = invalid(&format!("broker_http_port = {bad}"), "broker_http_port");
            assert!(msg.contains("-1 to disable"), "{msg}");
        }
        let msg = invalid("broker_bind_address = localhost", "broker_bind_address");
        assert!(
            msg.contains("localhost") && msg.contains("IP address"),
            "{msg}"
        );
        let msg = invalid("hdfs_read_buffer_size_kb = 0", "hdfs_read_buffer_size_kb");
        assert!(msg.contains("positive"), "{msg}");
        invalid(
            "hdfs_write_buffer_size_kb = 1.5",
            "hdfs_write_buffer_size_kb",
        );
        invalid("client_expire_seconds = 0", "client_expire_seconds");
        let msg = invalid(
            "disable_broker_client_expiration_checking = yes",
            "disable_broker_client_expiration_checking",
        );
        assert!(
            msg.contains("\"yes\"") && msg.contains("true or false"),
            "{msg}"
        );
        let msg = invalid("sys_log_level = TRACE", "sys_log_level");
        assert!(msg.contains("TRACE") && msg.contains("WARNING"), "{msg}");
        for bad in ["SIZE-MB-0", "SIZE-MB-", "SIZE-MB-x", "SIZE-MB-+5", "WEEKLY"] {
            let msg = invalid(&format!("sys_log_roll_mode = {bad}"), "sys_log_roll_mode");
            assert!(msg.contains(bad) && msg.contains("TIME-DAY"), "{msg}");
        }
        invalid("audit_log_roll_mode = TIME-WEEK", "audit_log_roll_mode");
        invalid("sys_log_roll_num = 4294967296", "sys_log_roll_num");
        invalid("audit_log_roll_num = ten", "audit_log_roll_num");
        invalid(
            "kerberos_token_expire_seconds = -5",
            "kerberos_token_expire_seconds",
        );
        let msg = invalid("max_message_size_bytes = 1048575", "max_message_size_bytes");
        assert!(msg.contains("1 MiB"), "{msg}");
        invalid("max_connections = 0", "max_connections");
        invalid(
            "shutdown_timeout_seconds = soon",
            "shutdown_timeout_seconds",
        );
        // Control characters in the offending value are escaped in the message.
        let msg = invalid("broker_ipc_port = 80\\u00070", "broker_ipc_port");
        assert!(msg.contains("\"80\\u{7}0\""), "{msg}");
    }

    #[test]
    fn every_key_rejects_or_accepts_garbage_without_panicking() {
        for key in known_keys() {
            match parse(&format!("{key} = @@garbage@@")) {
                Ok(_) => assert!(
                    key.ends_with("_dir") || key.ends_with("_modules"),
                    "{key} accepted garbage"
                ),
                Err(e) => assert!(e.to_string().contains(key), "{e}"),
            }
        }
    }

    #[test]
    fn unknown_and_environment_keys_are_ignored() {
        let c = parse(
            "no_such_key = 1\n\
             broker_ipc_port_typo = x\n\
             HADOOP_USER_NAME = hdfs\n\
             JAVA_OPTS = -Xmx1g\n\
             BROKER_IPC_PORT = not-a-port\n",
        )
        .unwrap();
        assert_eq!(c, BrokerConfig::default());
        assert!(is_env_key("HADOOP_USER_NAME"));
        assert!(is_env_key("A1_B"));
        assert!(!is_env_key(""));
        assert!(!is_env_key("_A"));
        assert!(!is_env_key("1A"));
        assert!(!is_env_key("Hadoop_user"));
        assert!(!is_env_key("broker_ipc_port"));
        assert!(!is_env_key("ÄB"));
    }

    const SHIPPED: &str = include_str!("../../conf/apache_hdfs_broker.conf");

    #[test]
    fn shipped_conf_parses_to_defaults() {
        let env = |k: &str| (k == "BROKER_HOME").then(|| "/opt/broker".to_string());
        let c = BrokerConfig::parse(SHIPPED, &env).unwrap();
        let expected = BrokerConfig {
            sys_log_dir: Some(PathBuf::from("/opt/broker/log")),
            audit_log_dir: Some(PathBuf::from("/opt/broker/log")),
            broker_local_roots: vec!["/opt/broker/data".to_string()],
            ..BrokerConfig::default()
        };
        assert_eq!(c, expected);
        // Without BROKER_HOME the error points at the first key that needs it.
        assert!(matches!(
            BrokerConfig::parse(SHIPPED, &no_env),
            Err(ConfigError::UndefinedVariable { key, var }) if key == "sys_log_dir" && var == "BROKER_HOME"
        ));
    }

    #[test]
    fn shipped_conf_documents_every_key() {
        // Uncommenting each line must still parse: the commented defaults are valid.
        let uncommented: String = SHIPPED
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|l| l.contains(" ="))
                    .unwrap_or(l)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let keys: Vec<String> = parse_properties(&uncommented)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        for key in known_keys() {
            assert!(
                keys.iter().any(|k| k == key),
                "{key} missing from shipped conf"
            );
        }
        let env = |k: &str| (k == "BROKER_HOME").then(|| "/b".to_string());
        let c = BrokerConfig::parse(&uncommented, &env).unwrap();
        assert_eq!(
            c,
            BrokerConfig {
                sys_log_dir: Some(PathBuf::from("/b/log")),
                audit_log_dir: Some(PathBuf::from("/b/log")),
                broker_local_roots: vec!["/b/data".to_string()],
                ..BrokerConfig::default()
            }
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broker.conf");
        std::fs::write(&path, b"broker_ipc_port = 9001\n# \xff latin-1 junk\n").unwrap();
        assert_eq!(
            BrokerConfig::load(&path, &no_env).unwrap().broker_ipc_port,
            9001
        );

        std::fs::write(&path, "max_connections = none\n").unwrap();
        let msg = BrokerConfig::load(&path, &no_env).unwrap_err().to_string();
        assert!(
            msg.contains("broker.conf") && msg.contains("max_connections") && msg.contains("none"),
            "{msg}"
        );

        let missing = dir.path().join("missing.conf");
        let err = BrokerConfig::load(&missing, &no_env).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }));
        assert!(err.to_string().contains("missing.conf"), "{err}");
    }

    #[test]
    fn odd_input_never_panics() {
        // A tiny deterministic fuzz over the characters the parser treats specially.
        const ALPHABET: [char; 24] = [
            '\\', 'u', 'D', '8', '0', 'c', '\n', '\r', '=', ':', ' ', '\t', '#', '!', '$', '{',
            '}', 'é', '😀', '\u{feff}', 'k', ',', 'f', '\x0c',
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut text = String::new();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 24) as usize;
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
            }
            let _ = parse_properties(&text);
            let _ = BrokerConfig::parse(&text, &|_| Some("v".to_string()));
            for key in ["broker_ipc_port", "sys_log_roll_mode", "sys_log_dir"] {
                let _ = BrokerConfig::parse(&format!("{key}={text}"), &no_env);
            }
        }
    }
}
