//! What the client reads from this machine: properties files, the broker's own conf for
//! the default address, and progress on a terminal.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use apache_hdfs_broker::config::parse_properties;

use crate::conn::Failure;

/// The port the Java broker and ours listen on unless the conf says otherwise.
const DEFAULT_PORT: u16 = 8000;

/// `key=value` lines read the way the broker reads its conf (`java.util.Properties`:
/// `#`/`!` comments, blank lines, `key = value` or `key: value`), so secrets can live in a
/// file of mode 0600 instead of the shell history.
pub fn read_properties_file(path: &Path) -> Result<BTreeMap<String, String>, Failure> {
    let text = std::fs::read(path).map_err(|e| {
        Failure::Local(format!(
            "cannot read properties file {}: {e}",
            path.display()
        ))
    })?;
    Ok(parse_properties(&String::from_utf8_lossy(&text))
        .into_iter()
        .collect())
}

/// `key=value` from `-p`.
pub fn parse_key_value(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err("expected key=value".into()),
    }
}

/// `127.0.0.1:<broker_ipc_port>` from the conf of the package this binary sits in
/// (`<home>/bin/broker_cli`, `<home>/conf/apache_hdfs_broker.conf`), else port 8000. A
/// broker bound to one address (`broker_bind_address`) is called there.
pub fn default_addr() -> String {
    let conf = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.join("conf/apache_hdfs_broker.conf")));
    addr_from_conf(conf.as_deref())
}

fn addr_from_conf(conf: Option<&Path>) -> String {
    let entries = conf
        .and_then(|path| std::fs::read(path).ok())
        .map(|text| parse_properties(&String::from_utf8_lossy(&text)))
        .unwrap_or_default();
    // The last occurrence wins, as in the broker.
    let last = |key: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
    };
    let port = last("broker_ipc_port")
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|&p| p != 0)
        .unwrap_or(DEFAULT_PORT);
    let host = match last("broker_bind_address").as_deref() {
        None | Some("" | "0.0.0.0" | "::" | "[::]") => "127.0.0.1".to_string(),
        Some(ip) if ip.contains(':') && !ip.starts_with('[') => format!("[{ip}]"),
        Some(ip) => ip.to_string(),
    };
    format!("{host}:{port}")
}

/// A `n / total MiB` line on stderr, redrawn a few times a second, only when stderr is a
/// terminal and the transfer is large enough to wait for.
pub struct Progress {
    total: u64,
    done: u64,
    shown: Option<Instant>,
}

/// Transfers smaller than this finish before progress would help.
const SHOW_FROM: u64 = 16 << 20;
const REDRAW: Duration = Duration::from_millis(200);

impl Progress {
    pub fn new(total: Option<u64>) -> Progress {
        let total = total.unwrap_or(0);
        let show = total >= SHOW_FROM && std::io::stderr().is_terminal();
        Progress {
            total,
            done: 0,
            // `None` means silent; otherwise when the line was last drawn.
            shown: show.then(|| Instant::now() - REDRAW),
        }
    }

    pub fn advance(&mut self, bytes: usize) {
        self.done += bytes as u64;
        if let Some(last) = self.shown {
            if last.elapsed() >= REDRAW || self.done >= self.total {
                self.draw();
                self.shown = Some(Instant::now());
            }
        }
    }

    fn draw(&self) {
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let pct = self.done as f64 * 100.0 / self.total.max(1) as f64;
        let _ = write!(
            std::io::stderr(),
            "\r{:.1} / {:.1} MiB ({pct:.0}%)",
            mib(self.done),
            mib(self.total)
        );
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.shown.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// The local side of `get` and `put`: `-` is stdin or stdout.
pub fn is_std(path: &Path) -> bool {
    path == Path::new("-")
}

pub fn local_error(path: &Path, what: &str, e: std::io::Error) -> Failure {
    Failure::Local(format!("cannot {what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_address_follows_the_conf() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("apache_hdfs_broker.conf");
        assert_eq!(addr_from_conf(Some(&conf)), "127.0.0.1:8000", "no conf");
        std::fs::write(
            &conf,
            "# c\nbroker_ipc_port = 8111\nbroker_ipc_port: 8123\n",
        )
        .unwrap();
        assert_eq!(addr_from_conf(Some(&conf)), "127.0.0.1:8123");
        std::fs::write(&conf, "broker_ipc_port=x\nbroker_bind_address = 10.0.0.5\n").unwrap();
        assert_eq!(addr_from_conf(Some(&conf)), "10.0.0.5:8000");
        std::fs::write(&conf, "broker_bind_address = ::1\nbroker_ipc_port = 9\n").unwrap();
        assert_eq!(addr_from_conf(Some(&conf)), "[::1]:9");
    }

    #[test]
    fn key_values_need_a_key() {
        assert_eq!(
            parse_key_value("a.b = c=d").unwrap(),
            ("a.b".into(), " c=d".into())
        );
        assert!(parse_key_value("novalue").is_err() && parse_key_value("=x").is_err());
    }
}
