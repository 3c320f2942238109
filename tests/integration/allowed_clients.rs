//! `broker_allowed_clients` / `broker_http_allowed_clients` through the real wire: a
//! connection from an address not in the list is closed before the broker reads anything,
//! counted in /metrics and logged once a minute per address; a malformed entry stops the
//! start. A client bound to another 127.x address stands in for another host.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// A connection to `port` on 127.0.0.1 coming from `from` (another loopback address).
fn connect_from(from: &str, port: u16) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    let remote: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    socket.connect(&remote.into()).unwrap();
    socket.into()
}

/// Sends a ping from `from` and says whether the broker closed the connection unanswered.
fn refused(from: &str, port: u16) -> bool {
    let mut s = connect_from(from, port);
    // The write may already meet the closed socket; either way nothing comes back.
    let _ = s.write_all(&encode_ping(1, true, "intruder"));
    let (closed, answer) = closed_within(&mut s, Duration::from_secs(10));
    closed && answer.is_empty()
}

fn refusal_lines(broker: &BrokerProcess, ip: &str) -> usize {
    let needle = format!("refused a thrift connection from {ip}:");
    broker.log().lines().filter(|l| l.contains(&needle)).count()
}

#[test]
fn peers_outside_the_list_are_closed_unread_counted_and_logged_once() {
    let broker = BrokerProcess::start_with(&[
        ("broker_allowed_clients", "127.0.0.1, 10.0.0.0/8, fd00::/8"),
        // The HTTP port has a list of its own: empty, anyone may scrape.
        ("broker_http_allowed_clients", ""),
    ]);
    let mut c = broker.client();
    assert_ok(&c.ping("fe-1"));

    assert!(refused("127.0.0.2", broker.port), "127.0.0.2 was answered");
    assert!(refused("127.0.0.2", broker.port));
    assert_eq!(
        broker.metric(r#"broker_connections_refused_total{port="thrift"}"#),
        2.0
    );
    // A third address's line comes after any second line for the first (one log queue).
    assert!(refused("127.0.0.3", broker.port));
    wait_for(
        "the refusal of 127.0.0.3 in the log",
        Duration::from_secs(10),
        || refusal_lines(&broker, "127.0.0.3") == 1,
    );
    assert_eq!(refusal_lines(&broker, "127.0.0.2"), 1, "{}", broker.log());
    assert!(broker.log().contains("not in broker_allowed_clients"));
    // Allowed clients were never held up.
    assert_ok(&c.ping("fe-1"));
    assert_ok(&broker.client().ping("fe-2"));
}

#[test]
fn the_http_port_follows_the_list_unless_it_has_its_own() {
    let broker = BrokerProcess::start_with(&[("broker_allowed_clients", "127.0.0.2")]);
    let http = broker.http_port().unwrap();
    // 127.0.0.1 is not allowed on either port.
    let mut thrift = TcpStream::connect(("127.0.0.1", broker.port)).unwrap();
    let _ = thrift.write_all(&encode_ping(1, true, "x"));
    assert!(closed_within(&mut thrift, Duration::from_secs(10)).0);
    let mut s = TcpStream::connect(("127.0.0.1", http)).unwrap();
    let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    let (closed, answer) = closed_within(&mut s, Duration::from_secs(10));
    assert!(closed && answer.is_empty(), "{answer:?}");
    // 127.0.0.2 is, and its scrape shows both refusals.
    let mut s = connect_from("127.0.0.2", http);
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert_eq!(
        metric(&text, r#"broker_connections_refused_total{port="thrift"}"#),
        1.0
    );
    assert_eq!(
        metric(&text, r#"broker_connections_refused_total{port="http"}"#),
        1.0
    );
}

#[test]
fn a_malformed_entry_stops_the_start_naming_key_and_entry() {
    for (key, value, entry) in [
        (
            "broker_allowed_clients",
            "10.0.0.0/8, 10.1.2.300",
            "10.1.2.300",
        ),
        ("broker_allowed_clients", "be-host-1", "be-host-1"),
        ("broker_http_allowed_clients", "0.0.0.0/40", "0.0.0.0/40"),
    ] {
        let home = tempfile::tempdir().unwrap();
        let conf = home.path().join("apache_hdfs_broker.conf");
        std::fs::write(
            &conf,
            format!(
                "broker_ipc_port = 0\nbroker_http_port = -1\nsys_log_dir = {}\n{key} = {value}\n",
                home.path().join("log").display()
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_apache_hdfs_broker"))
            .arg("--conf")
            .arg(&conf)
            .env("BROKER_HOME", home.path())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{key} = {value} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key) && err.contains(entry), "{err}");
    }
}
