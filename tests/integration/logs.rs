//! The audit log and log rolling, through the real binary.

use crate::common::*;

fn audit_lines(broker: &BrokerProcess) -> Vec<String> {
    let path = broker
        .home
        .path()
        .join("log")
        .join("apache_hdfs_broker.audit");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Whole lines only: the writer may be half-way through the last one.
    let whole = text.rfind('\n').map_or("", |end| &text[..end]);
    whole.lines().map(str::to_string).collect()
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
    c.with_props(&secret)
        .write_file(&src, "be-7:9060", b"12345", 1024);
    assert_ok(&c.with_props(&secret).rename(&src, &dst));
    assert_eq!(
        c.with_props(&secret).read_file(&dst, "be-7:9060", 1024),
        b"12345"
    );
    assert_ok(&c.ping("be-7:9060"));
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
        assert_ok(&c.ping(&client_id));
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

/// TIME-HOUR and TIME-DAY: a log file from an earlier period is rolled on the first
/// write of a new one, under a name that carries the period (`.YYYYMMDDHH`,
/// `.YYYYMMDD`); the active file keeps its plain name.
#[test]
fn time_rolling_names_files_by_period() {
    for (mode, age_hours, digits) in [("TIME-HOUR", 3, 10), ("TIME-DAY", 50, 8)] {
        let dir = tempfile::tempdir().unwrap();
        let audit = dir.path().join("apache_hdfs_broker.audit");
        std::fs::write(&audit, "a record from an earlier period\n").unwrap();
        let then = std::time::SystemTime::now() - std::time::Duration::from_secs(age_hours * 3600);
        std::fs::File::options()
            .append(true)
            .open(&audit)
            .unwrap()
            .set_modified(then)
            .unwrap();
        let audit_dir = dir.path().display().to_string();
        let broker = BrokerProcess::start_with(&[
            ("audit_log_dir", audit_dir.as_str()),
            ("audit_log_modules", "ping"),
            ("audit_log_roll_mode", mode),
        ]);
        assert_ok(&broker.client().ping("fe-1"));
        let rolled = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with("apache_hdfs_broker.audit."))
                .collect::<Vec<_>>()
        };
        wait_for(
            &format!("{mode} to roll the old file"),
            std::time::Duration::from_secs(10),
            || rolled().len() == 1,
        );
        let name = rolled().remove(0);
        let suffix = &name["apache_hdfs_broker.audit.".len()..];
        assert!(
            suffix.len() == digits && suffix.bytes().all(|b| b.is_ascii_digit()),
            "{mode}: rolled file {name}"
        );
        let old = std::fs::read_to_string(dir.path().join(&name)).unwrap();
        assert!(old.contains("earlier period"), "{mode}: {old}");
        wait_for(
            "the ping record",
            std::time::Duration::from_secs(10),
            || {
                std::fs::read_to_string(&audit)
                    .unwrap_or_default()
                    .contains("method=ping")
            },
        );
        assert!(!std::fs::read_to_string(&audit)
            .unwrap()
            .contains("earlier period"));
    }
}
