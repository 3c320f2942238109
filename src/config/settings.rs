//! The typed settings: [`BrokerConfig`] with its defaults, and the values derived from
//! it (listen addresses, allowed networks, local roots, byte sizes, durations).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::log_modes::{LogLevel, RollMode};
use super::values::{directories, ip_address, networks};
use super::ConfigError;

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

impl BrokerConfig {
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
