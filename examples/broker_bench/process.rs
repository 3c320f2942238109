//! The release broker as a child process: its own conf and log dir, a known port, its RSS.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::Conn;

pub struct Broker {
    child: Child,
    pub addr: SocketAddr,
    _dir: tempfile::TempDir,
}

/// A port free right now (the broker binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Broker {
    /// Starts `binary` and returns once it answered a ping, with the time from spawn to
    /// that first answer (polling connect every millisecond).
    pub fn start(binary: &Path, extra_conf: &[(&str, &str)]) -> (Broker, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut conf = format!(
            "broker_ipc_port = {port}\nbroker_bind_address = 127.0.0.1\nbroker_http_port = 0\nsys_log_dir = {}\n",
            dir.path().join("log").display()
        );
        for (k, v) in extra_conf {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        let conf_path = dir.path().join("apache_hdfs_broker.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let started = Instant::now();
        let mut child = Command::new(binary)
            .arg("--conf")
            .arg(&conf_path)
            .env("BROKER_HOME", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let first_ping = loop {
            if let Ok(mut conn) = Conn::connect(addr, 4096) {
                if conn.ping().is_ok() {
                    break started.elapsed();
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the broker exited at start: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the broker did not answer a ping in 30 s"
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        // Drain stdout so the broker never blocks on it.
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || for _ in BufReader::new(stdout).lines() {});
        (
            Broker {
                child,
                addr,
                _dir: dir,
            },
            first_ping,
        )
    }

    /// Resident set size now, in bytes (`VmRSS`).
    pub fn rss(&self) -> u64 {
        rss_of(self.child.id())
    }

    /// CPU time the broker used so far (user + system), in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(self.child.id())
    }
}

/// CPU time process `pid` used so far (user + system), in seconds.
pub fn cpu_seconds_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

pub fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
