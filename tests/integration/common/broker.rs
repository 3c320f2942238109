//! The real `apache_hdfs_broker` binary, started on an ephemeral loopback port.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::{http_request, Client};

/// The broker binary under test: this build's, or `BROKER_BIN` (a release build, or a
/// wrapper that runs the aarch64 one under QEMU: scripts/release_check.sh).
pub fn broker_bin() -> PathBuf {
    std::env::var_os("BROKER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_apache_hdfs_broker")))
}

pub struct BrokerProcess {
    child: Child,
    pub port: u16,
    pub home: tempfile::TempDir,
}

impl BrokerProcess {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the broker with `extra` conf lines on top of a loopback, ephemeral-port conf
    /// serving `file://` beneath the temporary directory (a later line of a key wins).
    pub fn start_with(extra: &[(&str, &str)]) -> Self {
        Self::start_with_hadoop_conf(extra, None)
    }

    /// As [`start_with`], with the `*-site.xml` and `ssl-client.xml` files of `hadoop_conf` copied beside the
    /// broker's conf (where operators put them). `HADOOP_CONF_DIR` is never inherited.
    pub fn start_with_hadoop_conf(extra: &[(&str, &str)], hadoop_conf: Option<&Path>) -> Self {
        Self::start_adjusted(extra, hadoop_conf, |_| {})
    }

    /// As [`start_with_hadoop_conf`], with `adjust` applied to the command before it runs
    /// (local_roots.rs starts a broker whose kernel seems to lack `openat2`).
    pub fn start_adjusted(
        extra: &[(&str, &str)],
        hadoop_conf: Option<&Path>,
        adjust: impl FnOnce(&mut Command),
    ) -> Self {
        let home = tempfile::tempdir().unwrap();
        if let Some(dir) = hadoop_conf {
            for name in ["core-site.xml", "hdfs-site.xml", "ssl-client.xml"] {
                let from = dir.join(name);
                if from.exists() {
                    std::fs::copy(&from, home.path().join(name)).unwrap();
                }
            }
        }
        let log_dir = home.path().join("log");
        // file:// beneath the temporary directory, where every test keeps its files
        // (tempfile's, and the broker's own home); `extra` may set other roots.
        let mut conf = format!(
            "broker_ipc_port = 0\nbroker_http_port = 0\nbroker_bind_address = 127.0.0.1\nsys_log_dir = {}\nsys_log_level = INFO\nbroker_local_roots = {}\n",
            log_dir.display(),
            std::env::temp_dir().display()
        );
        for (k, v) in extra {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        let conf_path = home.path().join("apache_hdfs_broker.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let out = std::fs::File::create(home.path().join("broker.out")).unwrap();
        let mut command = Command::new(broker_bin());
        command
            .arg("--conf")
            .arg(&conf_path)
            .env("BROKER_HOME", home.path())
            .env_remove("HADOOP_CONF_DIR")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        adjust(&mut command);
        let child = command.spawn().unwrap();
        let mut broker = BrokerProcess {
            child,
            port: 0,
            home,
        };
        broker.port = broker.wait_for_port();
        broker
    }

    pub fn log_path(&self) -> PathBuf {
        self.home.path().join("log").join("apache_hdfs_broker.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Readiness: the broker logs `thrift` and its bound address once it listens.
    fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            if let Some(line) = log
                .lines()
                .find(|l| l.contains("thrift server listening on"))
            {
                let port = line.split("(port ").nth(1).unwrap();
                return port.split(')').next().unwrap().parse().unwrap();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let out = std::fs::read_to_string(self.home.path().join("broker.out"));
                panic!("broker exited early ({status}): {out:?}");
            }
            assert!(Instant::now() < deadline, "broker did not start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port of the metrics and health endpoint, from the line the broker logs before
    /// its thrift line; `None` when it runs none (`broker_http_port = -1`).
    pub fn http_port(&self) -> Option<u16> {
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains("http server listening on"))?;
        let port = line.split("(port ").nth(1)?;
        port.split(')').next()?.parse().ok()
    }

    /// One HTTP/1.1 request to the endpoint: `(status, body)`. Panics when it is not there.
    pub fn http_get(&self, path: &str) -> (u16, String) {
        let port = self
            .http_port()
            .expect("the broker serves no http endpoint");
        http_request(port, "GET", path)
    }

    /// One series of `/metrics` (`name{labels}` exactly as the broker writes it), 0 when
    /// absent.
    pub fn metric(&self, series: &str) -> f64 {
        super::metric(&self.http_get("/metrics").1, series)
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port)
    }

    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.send_term();
        self.wait_exit(Duration::from_secs(30))
    }

    /// Sends SIGTERM and returns at once (the broker drains, then exits).
    pub fn send_term(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "broker did not exit in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.archive_logs();
    }
}

impl BrokerProcess {
    /// With `BROKER_TEST_LOG_ARCHIVE` set (scripts/test.sh sets it), keeps this broker's
    /// logs and `.out` there, so the whole run's logs can be searched for secrets.
    fn archive_logs(&self) {
        let Some(root) = std::env::var_os("BROKER_TEST_LOG_ARCHIVE") else {
            return;
        };
        let dest = PathBuf::from(root).join(format!("broker-{:016x}", rand::random::<u64>()));
        let _ = std::fs::create_dir_all(&dest);
        let _ = std::fs::copy(self.home.path().join("broker.out"), dest.join("broker.out"));
        if let Ok(entries) = std::fs::read_dir(self.home.path().join("log")) {
            for entry in entries.flatten() {
                let _ = std::fs::copy(entry.path(), dest.join(entry.file_name()));
            }
        }
    }
}
