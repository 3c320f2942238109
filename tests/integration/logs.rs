//! The audit log and log rolling, through the real binary.

use crate::common::*;

use apache_hdfs_broker::wire::generated::TBrokerFD;

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

/// The secrets tests send (tests/secrets.txt, one a line, `#` comments).
fn test_secrets() -> Vec<&'static str> {
    include_str!("../secrets.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// Lines of the system log that report a failed call.
fn failure_lines(broker: &BrokerProcess) -> Vec<String> {
    broker
        .log()
        .lines()
        .filter(|l| l.contains("call failed:"))
        .map(str::to_string)
        .collect()
}

/// Every failed call gets one WARN line in the system log naming the method, path(s),
/// clientId, peer, status name, message and time; no property value, even of keys that
/// do not look secret; successful calls stay out of it.
#[test]
fn a_failed_call_is_one_warn_line_with_its_fields_and_no_property_value() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = broker.client();
    let secrets = test_secrets();
    let mut props: Props = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("column_note_{i}"), s.to_string()))
        .collect();
    props.insert("password".into(), "hunter2-secret".into());
    props.insert(
        "fs.s3a.secret.key".into(),
        "broker-test-secret-0123456789".into(),
    );
    let missing = uri(&dir.path().join("no-such.csv"));
    let r = c.with_props(&props).open_reader(&missing, "be-7:9060");
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    let moved = uri(&dir.path().join("moved.csv"));
    assert_code(
        &c.with_props(&props).rename(&missing, &moved),
        Code::TARGET_STORAGE_SERVICE_ERROR,
    );
    let unknown = TBrokerFD::new(0x1234, 0x5678);
    assert_code(
        &c.pread(&unknown, 0, 10).op_status,
        Code::TARGET_STORAGE_SERVICE_ERROR,
    );
    // Successes: no line.
    assert_ok(&c.ping("be-7:9060"));
    c.with_props(&props)
        .write_file(&moved, "be-7:9060", b"12345", 1024);
    wait_for(
        "three failure lines",
        std::time::Duration::from_secs(10),
        || failure_lines(&broker).len() >= 3,
    );
    // A last failure as a marker: lines are written in call order, so once its line is
    // in, any stray line of the calls before it (a duplicate) is in too.
    let marker = uri(&dir.path().join("marker.csv"));
    let r = c.with_props(&props).open_reader(&marker, "be-7:9060");
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    wait_for(
        "the marker's failure line",
        std::time::Duration::from_secs(10),
        || {
            failure_lines(&broker)
                .iter()
                .any(|l| l.contains(&format!("path={marker} ")))
        },
    );
    let mut lines = failure_lines(&broker);
    let last = lines.pop().unwrap_or_default();
    assert!(last.contains(&format!("path={marker} ")), "{last}");
    assert_eq!(lines.len(), 3, "one line per failed call: {lines:#?}");
    let peer = "peer=127.0.0.1:";
    let open = &lines[0];
    for field in [
        " WARN ",
        "method=openReader ",
        &format!("path={missing} "),
        "client=be-7:9060 ",
        peer,
        "status=FILE_NOT_FOUND ",
        " ms=",
        "message=\"openReader failed: ",
    ] {
        assert!(open.contains(field), "no '{field}' in {open}");
    }
    let rename = &lines[1];
    assert!(
        rename.contains("method=renamePath ")
            && rename.contains(&format!("path={missing} -> {moved} "))
            && rename.contains("client=- ")
            && rename.contains("status=TARGET_STORAGE_SERVICE_ERROR "),
        "{rename}"
    );
    let read = &lines[2];
    assert!(
        read.contains("method=pread ")
            && read.contains("path=fd:")
            && read.contains("status=TARGET_STORAGE_SERVICE_ERROR "),
        "{read}"
    );
    let log = broker.log();
    for secret in secrets {
        assert!(!log.contains(secret), "a property value reached the log");
    }
    assert!(!log.contains("method=ping") && !log.contains("method=openWriter"));
}

/// 10,000 failures of one kind: a few lines a second, then one line saying how many were
/// left out; the lines and the counts add up to every failure.
#[test]
fn a_burst_of_failures_is_bounded_and_counted() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let mut c = broker.client();
    let missing = uri(&dir.path().join("no-such.csv"));
    const CALLS: u64 = 10_000;
    let started = std::time::Instant::now();
    for _ in 0..CALLS {
        let r = c.open_reader(&missing, "be-1");
        assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    }
    let elapsed = started.elapsed();
    // Lines logged, and the counts of the lines left out.
    let tally = || {
        let log = broker.log();
        let logged = log
            .lines()
            .filter(|l| l.contains("call failed: method=openReader "))
            .count() as u64;
        let suppressed: Vec<u64> = log
            .lines()
            .filter(|l| l.contains("method=openReader status=FILE_NOT_FOUND: suppressed "))
            .map(|l| {
                let n = l.split("suppressed ").nth(1).unwrap();
                n.split(' ').next().unwrap().parse().unwrap()
            })
            .collect();
        (logged, suppressed)
    };
    wait_for(
        "the failures to be accounted for",
        std::time::Duration::from_secs(15),
        || {
            let (logged, suppressed) = tally();
            logged + suppressed.iter().sum::<u64>() == CALLS
        },
    );
    let (logged, suppressed) = tally();
    // At most 5 lines per started second of the burst (+1 for a window straddling its end).
    let windows = elapsed.as_secs() + 2;
    assert!(
        logged <= 5 * windows,
        "{logged} lines for {CALLS} failures in {elapsed:?}"
    );
    assert!(!suppressed.is_empty() && suppressed.len() as u64 <= windows);
    let log_bytes = broker.log().len();
    assert!(
        log_bytes < 64 * 1024,
        "the system log grew to {log_bytes} bytes"
    );
}

/// Operators compare the build after an upgrade: `--version` and the first log line of a
/// start name the same version, commit and target.
#[test]
fn version_and_first_log_line_name_the_build() {
    let out = std::process::Command::new(broker_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let said = String::from_utf8(out.stdout).unwrap();
    let build = said
        .trim()
        .strip_prefix("apache_hdfs_broker ")
        .unwrap_or_else(|| panic!("{said}"));
    assert!(
        build.starts_with(&format!("{} (commit ", env!("CARGO_PKG_VERSION")))
            && build.contains(", target ")
            && build.ends_with("-linux-gnu)"),
        "{build}"
    );
    let broker = BrokerProcess::start();
    let log = broker.log();
    let first = log.lines().next().unwrap();
    assert!(
        first.contains(&format!("apache_hdfs_broker {build} starting")),
        "{first}"
    );
}
