//! The StarRocks "deploy and manage Broker nodes" procedure, word for word, on the
//! package layout (`scripts/package.sh`, which `build.sh` uses): start with
//! `--daemon`, check with `grep thrift`, ping, refuse a second start, stop; upgrade and
//! downgrade by replacing `bin` and `lib`; a failed start says why and leaves no pid file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn package(dest: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new(root.join("scripts/package.sh"))
        .arg(env!("CARGO_BIN_EXE_apache_hdfs_broker"))
        .arg(dest)
        .arg(env!("CARGO_BIN_EXE_broker_cli"))
        .status()
        .unwrap();
    assert!(status.success());
    dest.join("apache_hdfs_broker")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(home: &Path, script: &str) -> Output {
    Command::new(home.join("bin").join(script))
        .arg("--daemon")
        .env_remove("BROKER_HOME")
        .output()
        .unwrap()
}

fn set_port(home: &Path, port: u16) {
    let conf = home.join("conf/apache_hdfs_broker.conf");
    let text = std::fs::read_to_string(&conf).unwrap().replace(
        "broker_ipc_port = 8000",
        &format!("broker_ipc_port = {port}"),
    );
    // An ephemeral metrics port: tests must not grab the default 8200.
    std::fs::write(
        &conf,
        text + "broker_bind_address = 127.0.0.1\nbroker_http_port = 0\n",
    )
    .unwrap();
}

fn ping_ok(port: u16) -> bool {
    use apache_hdfs_broker::wire::generated::*;
    let Ok(mut c) = Client::try_connect(port) else {
        return false;
    };
    // Not `c.ping`, which panics on a transport error: a broker going away answers false.
    c.rpc
        .ping(TBrokerPingBrokerRequest::new(
            TBrokerVersion::VERSION_ONE,
            "fe".into(),
        ))
        .is_ok_and(|s| s.status_code == Code::OK)
}

fn pid_of(home: &Path) -> u32 {
    std::fs::read_to_string(home.join("bin/apache_hdfs_broker.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// Starts, checks the way the docs do, and returns the pid.
fn start_and_check(home: &Path, port: u16) -> u32 {
    let out = run(home, "start_broker.sh");
    assert!(out.status.success(), "start failed: {out:?}");
    let log = std::fs::read_to_string(home.join("log/apache_hdfs_broker.log")).unwrap();
    assert!(log
        .lines()
        .any(|l| l.contains("thrift") && l.contains(&port.to_string())));
    assert!(ping_ok(port), "broker does not answer ping");
    // The packaged client finds the port in the package's conf by itself.
    let cli = Command::new(home.join("bin/broker_cli"))
        .arg("ping")
        .output()
        .unwrap();
    assert!(cli.status.success(), "bin/broker_cli ping: {cli:?}");
    let said = String::from_utf8_lossy(&cli.stdout);
    assert!(said.contains(&format!("127.0.0.1:{port}")), "{said}");
    // The health endpoint a load balancer or orchestrator probes (its port is logged).
    let http = log
        .lines()
        .rev()
        .find_map(|l| l.split("http server listening on ").nth(1))
        .and_then(|rest| rest.split("(port ").nth(1)?.split(')').next()?.parse().ok())
        .expect("the http port is logged");
    assert_eq!(
        http_request(http, "GET", "/health"),
        (200, "ok\n".to_string())
    );
    let pid = pid_of(home);
    let ps = Command::new("ps").args(["aux"]).output().unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        ps.lines()
            .any(|l| l.contains("broker") && l.contains(&pid.to_string())),
        "ps aux | grep broker does not find pid {pid}"
    );
    pid
}

fn stop_and_check(home: &Path, pid: u32) {
    let out = run(home, "stop_broker.sh");
    assert!(out.status.success(), "stop failed: {out:?}");
    assert!(!home.join("bin/apache_hdfs_broker.pid").exists());
    wait_for(
        "the broker to exit",
        std::time::Duration::from_secs(5),
        || !alive(pid),
    );
}

#[test]
fn seed_procedure_upgrade_and_downgrade() {
    let dir = tempfile::tempdir().unwrap();
    let home = package(&dir.path().join("current"));
    let port = free_port();
    set_port(&home, port);

    let pid = start_and_check(&home, port);
    let again = run(&home, "start_broker.sh");
    assert!(!again.status.success(), "a second start must be refused");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("running as process") && err.contains(&pid.to_string()),
        "{err}"
    );
    assert!(
        alive(pid) && ping_ok(port),
        "the refused start must not disturb the first"
    );
    stop_and_check(&home, pid);
    let nothing = run(&home, "stop_broker.sh");
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("no broker is running"));

    // Upgrade: stop, move bin and lib aside, copy in the new build's bin and lib, start.
    // (The "new build" is a second package of this build: the procedure is the point.)
    let new_build = package(&dir.path().join("new"));
    for (old, new) in [("bin", "bin.old"), ("lib", "lib.old")] {
        std::fs::rename(home.join(old), home.join(new)).unwrap();
        copy_dir(&new_build.join(old), &home.join(old));
    }
    let pid = start_and_check(&home, port);
    stop_and_check(&home, pid);
    // Downgrade: the same with the old bin and lib.
    for part in ["bin", "lib"] {
        std::fs::remove_dir_all(home.join(part)).unwrap();
        std::fs::rename(home.join(format!("{part}.old")), home.join(part)).unwrap();
    }
    let pid = start_and_check(&home, port);
    stop_and_check(&home, pid);

    // conf and log survived every swap: three starts are in one log and one .out.
    let conf = std::fs::read_to_string(home.join("conf/apache_hdfs_broker.conf")).unwrap();
    assert!(conf.contains(&format!("broker_ipc_port = {port}")));
    let log = std::fs::read_to_string(home.join("log/apache_hdfs_broker.log")).unwrap();
    assert_eq!(log.matches("thrift server listening").count(), 3, "{log}");
    let out = std::fs::read_to_string(home.join("log/apache_hdfs_broker.out")).unwrap();
    assert_eq!(
        out.matches("starting apache_hdfs_broker").count(),
        3,
        "{out}"
    );
}

#[test]
fn a_failed_start_says_why_and_leaves_no_pid_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = package(dir.path());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    set_port(&home, taken.local_addr().unwrap().port());
    let out = run(&home, "start_broker.sh");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen"),
        "the terminal is told why: {err}"
    );
    assert!(!home.join("bin/apache_hdfs_broker.pid").exists());
    let log = std::fs::read_to_string(home.join("log/apache_hdfs_broker.log")).unwrap();
    assert!(log.contains("cannot listen"), "the log is told why: {log}");
}

/// UPPER_CASE conf lines reach the broker's environment.
#[test]
fn upper_case_conf_lines_are_exported() {
    let dir = tempfile::tempdir().unwrap();
    let home = package(dir.path());
    let port = free_port();
    set_port(&home, port);
    let conf = home.join("conf/apache_hdfs_broker.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text + "HADOOP_USER_NAME = etl_user\n").unwrap();
    let pid = start_and_check(&home, port);
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    assert!(environ
        .split('\0')
        .any(|kv| kv == "HADOOP_USER_NAME=etl_user"));
    stop_and_check(&home, pid);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        place_executable(&entry.path(), &to.join(entry.file_name()));
    }
}
