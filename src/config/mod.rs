//! The broker's configuration: `conf/apache_hdfs_broker.conf`.
//!
//! Operators already have this file from the Java broker, so [`properties`] reads it
//! exactly the way `java.util.Properties.load` reads it and expands `${VAR}` references
//! from the environment like StarRocks' `ConfigBase` does; [`keys`] then trims each
//! known key's value (as `ConfigBase` does) and checks it, so a typo fails start-up with a
//! message naming the key instead of surfacing later as a confusing runtime error.
//!
//! Every known key lives in `keys::KEYS`; adding a key is one entry there plus a field of
//! [`BrokerConfig`] (`settings.rs`) with its default.

mod keys;
mod log_modes;
mod properties;
mod settings;
#[cfg(test)]
mod tests;
mod values;

use std::path::PathBuf;

pub use keys::known_keys;
pub use log_modes::{LogLevel, RollMode};
pub use properties::{environment_lines, is_env_key, parse_properties};
pub use settings::{BrokerConfig, DEFAULT_HTTP_PORT};

/// Why the configuration could not be loaded. Every message names the file, line or key
/// so an operator can fix it without reading code.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// One of the errors below, found in `path`.
    #[error("config file {}: {error}", path.display())]
    InFile {
        path: PathBuf,
        error: Box<ConfigError>,
    },
    /// A `\u` escape not followed by four hex digits; Java refuses such a file too.
    #[error("line {line}: malformed \\uxxxx escape")]
    MalformedEscape { line: usize },
    /// A `${VAR}` in a known key's value names an unset environment variable.
    #[error("config key '{key}': environment variable '{var}' is not set")]
    UndefinedVariable { key: String, var: String },
    /// One entry of a list-valued key does not parse.
    #[error("config key '{key}': invalid entry {entry:?}, expected {expected}")]
    InvalidEntry {
        key: String,
        entry: String,
        expected: &'static str,
    },
    /// A known key's value does not parse or is out of range.
    #[error("config key '{key}': invalid value {value:?}, expected {expected}")]
    InvalidValue {
        key: String,
        value: String,
        expected: &'static str,
    },
}
