//! The audit log and log rolling, through the real binary.

mod common;

use common::*;

fn audit_lines(broker: &BrokerProcess) -> Vec<String> {
    let path = broker
        .home
        .path()
        .join("log")
        .join("apache_hdfs_broker.audit");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn audit_records_the_selected_modules_without_secrets() {
    let broker = BrokerProcess::start_with(&[
        ("audit_log_dir", "${BROKER_HOME}/log"),
        ("audit_log_modules", "write, meta"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = broker.client();
    let secret: Props = [("password".to_string(), "hunter2-secret".to_string())].into();
    let src = uri(&dir.path().join("a.csv"));
    let dst = uri(&dir.path().join("b.csv"));
    write_file_with(&mut c, &src, "be-7:9060", b"12345", 1024, &secret);
    assert_ok(&rename_with(&mut c, &src, &dst, &secret));
    assert_eq!(
        read_file_with(&mut c, &dst, "be-7:9060", 1024, &secret),
        b"12345"
    );
    assert_ok(&ping(&mut c, "be-7:9060"));
    let lines = wait_lines(&broker, 4);
    let find = |method: &str| {
        lines
            .iter()
            .find(|l| l.contains(&format!("method={method} ")))
            .unwrap_or_else(|| panic!("no {method} record in {lines:#?}"))
            .clone()
    };
    let open = find("openWriter");
    assert!(
        open.contains("client=be-7:9060") && open.contains(&src),
        "{open}"
    );
    assert!(find("pwrite").contains("bytes=5"));
    // fd-based calls name the path the fd streams, in the broker's qualified form.
    let close = find("closeWriter");
    assert!(
        close.contains(&file_uri(&dir.path().join("a.csv"))),
        "{close}"
    );
    let rename = find("renamePath");
    assert!(rename.contains(&format!("{src} -> {dst}")) && rename.contains("status=0"));
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("method=pread") || l.contains("method=ping")),
        "read and ping are not audited here: {lines:#?}"
    );
    assert!(!lines.iter().any(|l| l.contains("hunter2")));
    assert!(!broker.log().contains("hunter2"));
    assert!(
        !broker.log().contains("method=openWriter"),
        "audit records stay out of the system log"
    );
}

/// Waits until the audit log holds at least `n` lines (it is written in the background).
fn wait_lines(broker: &BrokerProcess, n: usize) -> Vec<String> {
    wait_for("audit records", std::time::Duration::from_secs(10), || {
        audit_lines(broker).len() >= n
    });
    // The writer may still be flushing the last records of the same burst.
    std::thread::sleep(std::time::Duration::from_millis(200));
    audit_lines(broker)
}

#[test]
fn size_rolling_keeps_roll_num_files() {
    let broker = BrokerProcess::start_with(&[
        ("audit_log_modules", "all"),
        ("audit_log_roll_mode", "SIZE-MB-1"),
        ("audit_log_roll_num", "2"),
    ]);
    let log_dir = broker.home.path().join("log");
    let mut c = broker.client();
    let client_id = "x".repeat(200);
    // Each ping record is ~300 bytes: 12,000 of them are ~3.5 MiB, three rolls.
    for _ in 0..12_000 {
        assert_ok(&ping(&mut c, &client_id));
    }
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(&log_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("apache_hdfs_broker.audit"))
            .collect();
        names.sort();
        names
    };
    wait_for(
        "two rolled audit files",
        std::time::Duration::from_secs(20),
        || names().len() == 3,
    );
    assert_eq!(
        names(),
        vec![
            "apache_hdfs_broker.audit",
            "apache_hdfs_broker.audit.1",
            "apache_hdfs_broker.audit.2"
        ]
    );
    for name in names() {
        let len = std::fs::metadata(log_dir.join(&name)).unwrap().len();
        assert!(len <= (1 << 20) + 4096, "{name} is {len} bytes");
    }
    // The system log is untouched by audit traffic and still holds the start line.
    assert!(broker.log().contains("thrift server listening"));
}
