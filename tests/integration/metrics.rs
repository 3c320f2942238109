//! The metrics and health endpoint (`broker_http_port`), through the real binary: counters
//! move with the calls made, `/health` answers 200 while serving and 503 while draining,
//! and `-1` leaves nothing listening but Thrift.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use crate::common::*;
use apache_hdfs_broker::wire::generated::*;

/// TCP ports a process listens on, from `/proc` (its socket inodes matched against the
/// LISTEN entries of the kernel's tables).
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(
                link.strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_string(),
            )
        })
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

#[test]
fn counters_move_with_the_calls_made() {
    let broker = BrokerProcess::start();
    let http = broker.http_port().expect("http endpoint");
    assert_eq!(
        listening_ports(broker.pid()),
        BTreeSet::from([broker.port, http])
    );
    assert_eq!(broker.http_get("/health"), (200, "ok\n".to_string()));
    let (code, before) = broker.http_get("/metrics");
    assert_eq!(code, 200);

    let dir = tempfile::tempdir().unwrap();
    let path = uri(&dir.path().join("a.csv"));
    let data = test_data(300_000, 1);
    let mut c = broker.client();
    for _ in 0..5 {
        assert_ok(&c.ping("fe-1"));
    }
    c.write_file(&path, "be-1:9060", &data, 100_000);
    let fd = c.reader_fd(&path, "be-1:9060");
    let r = c.pread(&fd, 0, 1 << 20);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap().len(), data.len());
    let missing = uri(&dir.path().join("missing.csv"));
    assert_code(
        &c.open_reader(&missing, "be-1:9060").op_status,
        Code::FILE_NOT_FOUND,
    );
    // A method nobody serves: its name is the client's, so it is counted as `unknown`.
    let mut raw = broker.raw();
    raw.write_all(&encode_call(
        "dropEverything",
        1,
        true,
        &TBrokerPingBrokerRequest::new(TBrokerVersion::VERSION_ONE, "x".into()),
    ))
    .unwrap();
    assert!(matches!(
        read_reply::<TBrokerOperationStatus>(&mut raw).unwrap(),
        RawReply::Exception { .. }
    ));

    let (code, after) = broker.http_get("/metrics");
    assert_eq!(code, 200);
    let delta = |series: &str| metric(&after, series) - metric(&before, series);
    assert_eq!(
        delta(r#"broker_rpc_requests_total{method="ping",status="OK"}"#),
        5.0
    );
    assert_eq!(
        delta(r#"broker_rpc_duration_seconds_count{method="ping",status="OK"}"#),
        5.0
    );
    assert_eq!(
        delta(r#"broker_rpc_requests_total{method="pwrite",status="OK"}"#),
        3.0
    );
    assert_eq!(
        delta(r#"broker_rpc_requests_total{method="openReader",status="FILE_NOT_FOUND"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"broker_rpc_requests_total{method="unknown",status="UNKNOWN_METHOD"}"#),
        1.0
    );
    assert_eq!(
        delta(r#"broker_read_bytes_total{scheme="file"}"#),
        data.len() as f64
    );
    assert_eq!(
        delta(r#"broker_written_bytes_total{scheme="file"}"#),
        data.len() as f64
    );
    assert_eq!(
        delta(r#"broker_storage_errors_total{scheme="file",status="FILE_NOT_FOUND"}"#),
        1.0
    );
    // Scrape-time state: one reader still open, owned by one client; two connections.
    assert_eq!(metric(&after, "broker_open_readers"), 1.0);
    assert_eq!(metric(&after, "broker_open_writers"), 0.0);
    assert_eq!(metric(&after, "broker_client_sessions"), 1.0);
    assert_eq!(metric(&after, "broker_open_connections"), 2.0);
    assert!(metric(&after, "process_resident_memory_bytes") > 1e6);
    assert!(metric(&after, "process_open_fds") >= 5.0);
    // Never a path or a client id in a label.
    assert!(!after.contains("a.csv") && !after.contains("be-1") && !after.contains("dropEv"));

    drop(raw);
    assert_ok(&c.close_reader(&fd));
    drop(c);
    wait_for("connections to be closed", Duration::from_secs(5), || {
        let text = broker.http_get("/metrics").1;
        metric(&text, "broker_open_connections") == 0.0
            && metric(&text, "broker_open_readers") == 0.0
            && metric(&text, "broker_client_sessions") == 0.0
    });

    assert_eq!(broker.http_get("/nope").0, 404);
    assert_eq!(http_request(http, "POST", "/metrics").0, 405);
    assert_eq!(http_request(http, "HEAD", "/health"), (200, String::new()));
}

#[test]
fn minus_one_leaves_only_thrift_listening() {
    let broker = BrokerProcess::start_with(&[("broker_http_port", "-1")]);
    assert_eq!(broker.http_port(), None);
    assert!(broker.log().contains("http server disabled"));
    assert_eq!(listening_ports(broker.pid()), BTreeSet::from([broker.port]));
    assert_ok(&broker.client().ping("fe-1"));
}

#[test]
fn a_taken_port_costs_the_endpoint_not_the_broker() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let broker = BrokerProcess::start_with(&[("broker_http_port", &port)]);
    assert_eq!(broker.http_port(), None);
    assert!(
        broker.log().contains("http server not started"),
        "{}",
        broker.log()
    );
    assert_ok(&broker.client().ping("fe-1"));
}

/// `/health` turns 503 as soon as SIGTERM arrives and stays reachable while a call in
/// flight drains; that call still gets its answer and the broker exits 0.
#[test]
fn health_is_503_while_shutting_down() {
    let mut broker = BrokerProcess::start_with(&[("shutdown_timeout_seconds", "30")]);
    let http = broker.http_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Opening a FIFO for reading blocks until a writer opens it: a call that stays in
    // flight until the test lets it finish.
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut c = broker.client();
    let fifo_uri = uri(&fifo);
    let call = std::thread::spawn(move || c.open_reader(&fifo_uri, "be-1:9060"));
    wait_for(
        "the broker to block opening the FIFO",
        Duration::from_secs(10),
        || waits_for_a_fifo_writer(broker.pid()),
    );
    assert_eq!(http_request(http, "GET", "/health").0, 200);

    broker.send_term();
    wait_for("/health to answer 503", Duration::from_secs(5), || {
        http_request(http, "GET", "/health") == (503, "shutting down\n".to_string())
    });
    assert!(
        broker.is_running(),
        "the broker waits for the call in flight"
    );
    assert_eq!(http_request(http, "GET", "/metrics").0, 200);

    // Let the call finish: it is answered, then the broker exits.
    drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
    let reply = call.join().unwrap();
    assert_ok(&reply.op_status);
    assert!(broker.wait_exit(Duration::from_secs(20)).success());
}

#[test]
fn reaped_fds_are_counted() {
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = broker.client();
    let path = uri(&dir.path().join("a.csv"));
    c.write_file(&path, "be-1:9060", b"abc", 1024);
    c.reader_fd(&path, "be-idle:9060");
    c.writer_fd(&uri(&dir.path().join("b.csv")), "be-idle:9060");
    let reaped = |kind: &str| {
        let text = broker.http_get("/metrics").1;
        metric(
            &text,
            &format!("broker_reaped_fds_total{{kind=\"{kind}\"}}"),
        )
    };
    wait_for(
        "the idle client's fds to be reaped",
        Duration::from_secs(10),
        || reaped("reader") == 1.0 && reaped("writer") == 1.0,
    );
    let text = broker.http_get("/metrics").1;
    assert_eq!(metric(&text, "broker_open_readers"), 0.0);
    assert_eq!(metric(&text, "broker_open_writers"), 0.0);
    assert_eq!(metric(&text, "broker_client_sessions"), 0.0);
}

/// Whether a thread of process `pid` is blocked opening a FIFO for reading (the kernel's
/// `wait_for_partner`, shown in `/proc/<pid>/task/<tid>/wchan`): the call is in flight.
fn waits_for_a_fifo_writer(pid: u32) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|task| {
            std::fs::read_to_string(task.path().join("wchan"))
                .is_ok_and(|w| w == "wait_for_partner")
        })
}
