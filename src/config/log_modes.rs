//! `LogLevel` and `RollMode`: the value types of the log keys, and the spellings the conf
//! may use for them (the Java broker's, case-insensitive).

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

pub(super) fn log_level(v: &str) -> Result<LogLevel, &'static str> {
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

pub(super) fn roll_mode(v: &str) -> Result<RollMode, &'static str> {
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
