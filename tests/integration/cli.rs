//! `broker_cli`, the packaged client, against a running broker through the real wire:
//! every subcommand, properties from a file, exit statuses scripts rely on, the default
//! address from a package's conf, and a multi-chunk get/put round trip.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::http_listener::{HttpListener, Reply};
use crate::common::*;

const CLI: &str = env!("CARGO_BIN_EXE_broker_cli");

/// Runs `broker_cli --addr 127.0.0.1:<port> ARGS`.
fn cli(broker: &BrokerProcess, args: &[&str]) -> Output {
    cli_at(&format!("127.0.0.1:{}", broker.port), args, None)
}

fn cli_at(addr: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(CLI)
        .arg("--addr")
        .arg(addr)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[track_caller]
fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn every_subcommand_against_a_file_broker() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local.csv");
    std::fs::write(&local, b"1,2,3\n").unwrap();
    let a = uri(&dir.path().join("store/sub/a.csv"));
    let b = uri(&dir.path().join("store/sub/b.csv"));
    let s = |p: &Path| p.to_str().unwrap().to_string();

    let out = cli(&broker, &["ping"]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains(&format!("127.0.0.1:{}", broker.port)));

    // put creates the parent directories.
    assert_exit(&cli(&broker, &["put", &s(&local), &a]), 0);
    let out = cli(&broker, &["stat", &a]);
    assert_exit(&out, 0);
    let line = stdout(&out);
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[0], "-", "{line}");
    assert_eq!(fields[1], "6", "{line}");
    assert!(fields[3].ends_with("store/sub/a.csv"), "{line}");
    let out = cli(&broker, &["stat", &uri(&dir.path().join("store/sub"))]);
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("d "), "{}", stdout(&out));

    let out = cli(&broker, &["cat", &a]);
    assert_exit(&out, 0);
    assert_eq!(out.stdout, b"1,2,3\n");

    let got = dir.path().join("got.csv");
    assert_exit(&cli(&broker, &["get", &a, &s(&got)]), 0);
    assert_eq!(std::fs::read(&got).unwrap(), b"1,2,3\n");

    // put from stdin.
    let c = uri(&dir.path().join("store/c.csv"));
    let out = cli_at(
        &format!("127.0.0.1:{}", broker.port),
        &["put", "-", &c],
        Some(b"from stdin"),
    );
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read(dir.path().join("store/c.csv")).unwrap(),
        b"from stdin"
    );

    let store = uri(&dir.path().join("store"));
    let out = cli(&broker, &["ls", &store]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 1, "the directory itself");
    let out = cli(&broker, &["ls", "-r", &store]);
    assert_exit(&out, 0);
    let listing = stdout(&out);
    assert!(
        listing.contains("store/sub/a.csv") && listing.contains("store/c.csv"),
        "{listing}"
    );
    let out = cli(&broker, &["ls", &format!("{store}/*/*.csv")]);
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("store/sub/a.csv"));

    assert_exit(&cli(&broker, &["mv", &a, &b]), 0);
    assert!(!dir.path().join("store/sub/a.csv").exists());
    assert!(dir.path().join("store/sub/b.csv").exists());
    assert_exit(
        &cli(&broker, &["rm", &uri(&dir.path().join("store/sub"))]),
        0,
    );
    assert!(!dir.path().join("store/sub").exists());
}

/// FILE_NOT_FOUND is its own exit status (4), so `stat` answers "does it exist" in a
/// script; other error statuses are 1 and print the status name and message.
#[test]
fn exit_statuses_name_the_broker_status() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let missing = uri(&dir.path().join("no-such.csv"));
    for args in [vec!["stat", &missing], vec!["cat", &missing]] {
        let out = cli(&broker, &args);
        assert_exit(&out, 4);
        let err = stderr(&out);
        assert!(
            err.starts_with("broker_cli: FILE_NOT_FOUND: ") && err.contains("no-such.csv"),
            "{args:?}: {err}"
        );
    }
    let got = dir.path().join("got.csv");
    let out = cli(&broker, &["get", &missing, got.to_str().unwrap()]);
    assert_exit(&out, 4);
    assert!(!got.exists(), "no local file is left by a failed get");
    // A missing source of a rename is 502 (SEMANTICS), an error like any other.
    let out = cli(&broker, &["mv", &missing, &uri(&dir.path().join("x.csv"))]);
    assert_exit(&out, 1);
    assert!(stderr(&out).starts_with("broker_cli: TARGET_STORAGE_SERVICE_ERROR: "));
    let out = cli(&broker, &["stat", "relative/path.csv"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).starts_with("broker_cli: INVALID_INPUT_FILE_PATH: "),
        "{}",
        stderr(&out)
    );
    // A local file that cannot be read: 5, and nothing is opened on the broker.
    let out = cli(
        &broker,
        &["put", dir.path().join("absent").to_str().unwrap(), &missing],
    );
    assert_exit(&out, 5);
    assert!(!dir.path().join("no-such.csv").exists());
}

#[test]
fn exit_statuses_of_usage_errors_and_an_unreachable_broker() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = cli_at(&format!("127.0.0.1:{port}"), &["ping"], None);
    assert_exit(&out, 3);
    assert!(
        stderr(&out).contains(&format!("cannot connect to 127.0.0.1:{port}")),
        "{}",
        stderr(&out)
    );
    for args in [
        vec![],
        vec!["frobnicate"],
        vec!["stat"],
        vec!["-p", "novalue", "ping"],
    ] {
        assert_exit(&cli_at("127.0.0.1:1", &args, None), 2);
    }
    let out = cli_at("127.0.0.1:1", &["-P", "/nonexistent/creds", "ping"], None);
    assert_exit(&out, 5);
    assert!(stderr(&out).contains("/nonexistent/creds"));
}

/// `-P FILE` (Java-properties lines) reaches the store as the request's properties, with
/// `-p` winning over it; the secret stays out of the broker's log. The store is a local
/// listener standing in for S3 that refuses every request: its requests show the key.
#[test]
fn properties_come_from_a_file_and_the_command_line() {
    let listener = HttpListener::start(|_| {
        Reply::new(403)
            .header("Content-Type", "application/xml")
            .body(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                 <Message>denied</Message><RequestId>r1</RequestId></Error>",
            )
    });
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("creds.properties");
    std::fs::write(
        &creds,
        format!(
            "# credentials of the test store\n\n\
             fs.s3a.endpoint = http://127.0.0.1:{}\n\
             fs.s3a.access.key = AKIDFROMFILE\n\
             fs.s3a.secret.key = broker-test-secret-0123456789\n\
             fs.s3a.path.style.access: true\n",
            listener.port()
        ),
    )
    .unwrap();
    let creds = creds.to_str().unwrap();
    let out = cli(&broker, &["-P", creds, "stat", "s3a://bkt/a.csv"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.starts_with("broker_cli: NOT_AUTHORIZED: ")
            || err.starts_with("broker_cli: TARGET_STORAGE_SERVICE_ERROR: "),
        "{err}"
    );
    let signed_by = |key: &str| {
        listener.requests().iter().any(|r| {
            r.header("authorization")
                .is_some_and(|a| a.contains(&format!("Credential={key}/")))
        })
    };
    assert!(signed_by("AKIDFROMFILE"), "{:#?}", listener.requests());
    let out = cli(
        &broker,
        &[
            "-P",
            creds,
            "-p",
            "fs.s3a.access.key=AKIDFROMFLAG",
            "stat",
            "s3a://bkt/b.csv",
        ],
    );
    assert_exit(&out, 1);
    assert!(signed_by("AKIDFROMFLAG"), "{:#?}", listener.requests());
    assert!(!broker.log().contains("broker-test-secret-0123456789"));
}

/// Without `--addr`, the client calls 127.0.0.1 on the `broker_ipc_port` of the package
/// it sits in (`bin/broker_cli`, `conf/apache_hdfs_broker.conf`).
#[test]
fn the_default_address_comes_from_the_package_conf() {
    let broker = BrokerProcess::start();
    let pkg = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(pkg.path().join("bin")).unwrap();
    std::fs::create_dir_all(pkg.path().join("conf")).unwrap();
    let bin = pkg.path().join("bin/broker_cli");
    place_executable(Path::new(CLI), &bin);
    std::fs::write(
        pkg.path().join("conf/apache_hdfs_broker.conf"),
        format!(
            "# as shipped, with the port changed\nbroker_ipc_port = 8000\n\
             broker_ipc_port = {}\nsys_log_level = INFO\n",
            broker.port
        ),
    )
    .unwrap();
    let out = Command::new(&bin).arg("ping").output().unwrap();
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains(&format!("127.0.0.1:{}", broker.port)),
        "{}",
        stdout(&out)
    );
    // --addr still wins.
    let out = Command::new(&bin)
        .args(["--addr", "127.0.0.1:1", "ping"])
        .output()
        .unwrap();
    assert_exit(&out, 3);
}

/// A file of several write and read chunks (1 MiB pwrites, preads capped at the broker's
/// 1 MiB buffer here) comes back byte for byte.
#[test]
fn get_and_put_round_trip_a_multi_chunk_file() {
    let broker = BrokerProcess::start_with(&[("hdfs_read_buffer_size_kb", "1024")]);
    let dir = tempfile::tempdir().unwrap();
    let data = test_data((5 << 20) + 12_345, 7);
    let local = dir.path().join("big.bin");
    std::fs::write(&local, &data).unwrap();
    let remote = uri(&dir.path().join("store/big.bin"));
    let writes_before = pwrites(&broker);
    assert_exit(&cli(&broker, &["put", local.to_str().unwrap(), &remote]), 0);
    assert_eq!(pwrites(&broker) - writes_before, 6.0, "1 MiB pwrites");
    assert!(std::fs::read(dir.path().join("store/big.bin")).unwrap() == data);
    let back = dir.path().join("back.bin");
    assert_exit(&cli(&broker, &["get", &remote, back.to_str().unwrap()]), 0);
    let got = std::fs::read(&back).unwrap();
    assert_eq!(got.len(), data.len());
    assert!(got == data, "the round trip changed bytes");
    let out = cli(&broker, &["cat", &remote]);
    assert_exit(&out, 0);
    assert!(out.stdout == data);
}

fn pwrites(broker: &BrokerProcess) -> f64 {
    let (_, text) = broker.http_get("/metrics");
    metric(
        &text,
        r#"broker_rpc_requests_total{method="pwrite",status="OK"}"#,
    )
}
