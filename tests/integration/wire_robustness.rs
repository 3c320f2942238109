//! The wire: header forms, unknown methods, malformed and hostile input, probes,
//! pipelining and concurrency, all against the real binary over TCP.

use crate::common::*;

use std::io::Write;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{
    TBinaryOutputProtocol, TFieldIdentifier, TMapIdentifier, TMessageIdentifier, TMessageType,
    TOutputProtocol, TStructIdentifier, TType,
};

/// Asserts that `stream` still answers a ping with `seq` (the connection stayed usable).
#[track_caller]
fn assert_ping_works(stream: &mut std::net::TcpStream, seq: i32) {
    stream
        .write_all(&encode_ping(seq, true, "be1:9060"))
        .unwrap();
    match read_reply::<TBrokerOperationStatus>(stream).expect("ping reply") {
        RawReply::Success {
            name,
            seq: got,
            value,
        } => {
            assert_eq!((name.as_str(), got), ("ping", seq));
            assert_ok(&value);
        }
        other => panic!("ping answered {other:?}"),
    }
}

#[test]
fn old_non_strict_headers_are_served() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let mut s = broker.raw();
    s.write_all(&encode_ping(41, false, "be1:9060")).unwrap();
    let reply = read_reply::<TBrokerOperationStatus>(&mut s).unwrap();
    match reply {
        RawReply::Success { name, seq, value } => {
            assert_eq!((name.as_str(), seq), ("ping", 41));
            assert_ok(&value);
        }
        other => panic!("{other:?}"),
    }
    let req = TBrokerCheckPathExistRequest::new(
        TBrokerVersion::VERSION_ONE,
        uri(dir.path()),
        Props::new(),
    );
    s.write_all(&encode_call("checkPathExist", 42, false, &req))
        .unwrap();
    let r = read_reply::<TBrokerCheckPathExistResponse>(&mut s)
        .unwrap()
        .value();
    assert_ok(&r.op_status);
    assert!(r.is_path_exist);
    // Strict and old headers may alternate on one connection.
    assert_ping_works(&mut s, 43);
}

#[test]
fn unknown_method_gets_unknown_method_exception_and_connection_stays() {
    let broker = BrokerProcess::start();
    let mut s = broker.raw();
    let msg = encode_call_with("getFileStatus", 77, true, |o| {
        o.write_struct_begin(&TStructIdentifier::new("req"))?;
        o.write_field_stop()?;
        o.write_struct_end()
    });
    s.write_all(&msg).unwrap();
    match read_reply::<TBrokerOperationStatus>(&mut s).unwrap() {
        RawReply::Exception { name, seq, error } => {
            assert_eq!(name, "getFileStatus");
            assert_eq!(seq, 77);
            assert_eq!(
                error.kind,
                thrift::ApplicationErrorKind::UnknownMethod,
                "{error:?}"
            );
        }
        other => panic!("expected an UNKNOWN_METHOD exception, got {other:?}"),
    }
    assert_ping_works(&mut s, 78);
}

/// Writes `{1: i32 version}` and `{3: empty map}`-style fields for hand-made requests.
fn write_version(o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
    o.write_field_begin(&TFieldIdentifier::new("version", TType::I32, 1))?;
    o.write_i32(1)?;
    o.write_field_end()
}

fn write_empty_map(o: &mut dyn TOutputProtocol, id: i16) -> thrift::Result<()> {
    o.write_field_begin(&TFieldIdentifier::new("properties", TType::Map, id))?;
    o.write_map_begin(&TMapIdentifier::new(TType::String, TType::String, 0))?;
    o.write_map_end()?;
    o.write_field_end()
}

fn write_string(o: &mut dyn TOutputProtocol, id: i16, v: &str) -> thrift::Result<()> {
    o.write_field_begin(&TFieldIdentifier::new("s", TType::String, id))?;
    o.write_string(v)?;
    o.write_field_end()
}

/// A request struct missing a required field gets that method's ordinary response with
/// INVALID_ARGUMENT (never an exception: BE would resend), and the connection stays.
#[test]
fn missing_required_field_is_invalid_argument_not_an_exception() {
    let broker = BrokerProcess::start();
    let mut s = broker.raw();

    // checkPathExist without `path`: isPathExist must still be there (read_reply enforces
    // required fields through the generated decoder).
    let msg = encode_call_with("checkPathExist", 1, true, |o| {
        o.write_struct_begin(&TStructIdentifier::new("TBrokerCheckPathExistRequest"))?;
        write_version(o)?;
        write_empty_map(o, 3)?;
        o.write_field_stop()?;
        o.write_struct_end()
    });
    s.write_all(&msg).unwrap();
    match read_reply::<TBrokerCheckPathExistResponse>(&mut s).expect("a decodable reply") {
        RawReply::Success { name, seq, value } => {
            assert_eq!((name.as_str(), seq), ("checkPathExist", 1));
            assert_code(&value.op_status, Code::INVALID_ARGUMENT);
            let message = value.op_status.message.as_deref().unwrap_or_default();
            assert!(
                message.contains("TBrokerCheckPathExistRequest.path"),
                "the message names the missing field: {message}"
            );
            assert!(!value.is_path_exist);
        }
        other => panic!("expected a response, got {other:?}"),
    }

    // openReader without `clientId`: 405 and no fd.
    let msg = encode_call_with("openReader", 2, true, |o| {
        o.write_struct_begin(&TStructIdentifier::new("TBrokerOpenReaderRequest"))?;
        write_version(o)?;
        write_string(o, 2, "file:/tmp/x.csv")?;
        o.write_field_begin(&TFieldIdentifier::new("startOffset", TType::I64, 3))?;
        o.write_i64(0)?;
        o.write_field_end()?;
        write_empty_map(o, 5)?;
        o.write_field_stop()?;
        o.write_struct_end()
    });
    s.write_all(&msg).unwrap();
    let r = read_reply::<TBrokerOpenReaderResponse>(&mut s)
        .unwrap()
        .value();
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(r.fd.is_none());

    // pread whose fd lacks its `low` half.
    let msg = encode_call_with("pread", 3, true, |o| {
        o.write_struct_begin(&TStructIdentifier::new("TBrokerPReadRequest"))?;
        write_version(o)?;
        o.write_field_begin(&TFieldIdentifier::new("fd", TType::Struct, 2))?;
        o.write_struct_begin(&TStructIdentifier::new("TBrokerFD"))?;
        o.write_field_begin(&TFieldIdentifier::new("high", TType::I64, 1))?;
        o.write_i64(1)?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()?;
        o.write_field_end()?;
        o.write_field_begin(&TFieldIdentifier::new("offset", TType::I64, 3))?;
        o.write_i64(0)?;
        o.write_field_end()?;
        o.write_field_begin(&TFieldIdentifier::new("length", TType::I64, 4))?;
        o.write_i64(10)?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()
    });
    s.write_all(&msg).unwrap();
    let r = read_reply::<TBrokerReadResponse>(&mut s).unwrap().value();
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);

    // listPath with no request struct at all.
    let msg = encode_call_with("listPath", 4, true, |o| {
        o.write_struct_begin(&TStructIdentifier::new("TBrokerListPathRequest"))?;
        o.write_field_stop()?;
        o.write_struct_end()
    });
    s.write_all(&msg).unwrap();
    let r = read_reply::<TBrokerListResponse>(&mut s).unwrap().value();
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);

    assert_ping_works(&mut s, 5);
}

#[test]
fn garbage_drops_that_connection_only() {
    let mut broker = BrokerProcess::start();
    let mut bystander = broker.raw();
    assert_ping_works(&mut bystander, 1);
    let bad_version = {
        let mut v = vec![0x80, 0x02, 0x00, 0x01, 0, 0, 0, 4];
        v.extend_from_slice(b"ping");
        v.extend_from_slice(&[0, 0, 0, 1, 0]);
        v
    };
    let bad_type = {
        let mut v = encode_ping(1, true, "x");
        let header_len = 4 + 4 + 4 + 4; // version, name length, "ping", seq id
        v.truncate(header_len);
        v.extend_from_slice(&[0x63, 0x00, 0x01, 0xff, 0xff]);
        v
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("http", b"GET / HTTP/1.1\r\nHost: broker\r\n\r\n".to_vec()),
        (
            "tls hello",
            vec![
                0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
            ],
        ),
        ("bad version", bad_version),
        ("bad field type", bad_type),
    ];
    for (what, bytes) in cases {
        let mut s = broker.raw();
        s.write_all(&bytes).unwrap();
        let (closed, got) = closed_within(&mut s, Duration::from_secs(5));
        assert!(closed, "{what}: connection not closed");
        assert!(got.is_empty(), "{what}: no reply expected, got {got:?}");
    }
    assert!(broker.is_running());
    assert_ping_works(&mut bystander, 2);
    assert_ping_works(&mut broker.raw(), 3);
}

#[test]
fn oversized_frames_are_dropped_promptly_without_allocating() {
    let broker = BrokerProcess::start_with(&[("max_message_size_bytes", "1048576")]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = broker.client();
    assert_ok(&c.ping("be1:9060"));
    let peak_before = proc_kib(broker.pid(), "VmPeak");

    // A pwrite whose data claims `claim` bytes; only the header and the length are sent.
    let header_claiming = |claim: i32| {
        let mut out = Vec::new();
        {
            let mut o = TBinaryOutputProtocol::new(&mut out, true);
            o.write_message_begin(&TMessageIdentifier::new("pwrite", TMessageType::Call, 1))
                .unwrap();
            o.write_field_begin(&TFieldIdentifier::new("request", TType::Struct, 1))
                .unwrap();
            o.write_field_begin(&TFieldIdentifier::new("data", TType::String, 4))
                .unwrap();
            o.write_i32(claim).unwrap();
        }
        out.extend_from_slice(&[0u8; 64]); // a few payload bytes
        out
    };
    for claim in [0x7fff_fff0, 2 << 20, (1 << 20) + 1] {
        let mut s = broker.raw();
        let started = Instant::now();
        s.write_all(&header_claiming(claim)).unwrap();
        let (closed, got) = closed_within(&mut s, Duration::from_secs(5));
        assert!(
            closed,
            "a frame claiming {claim} bytes must drop the connection"
        );
        assert!(got.is_empty());
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "dropped promptly: {:?}",
            started.elapsed()
        );
    }
    let peak_after = proc_kib(broker.pid(), "VmPeak");
    assert!(
        peak_after < peak_before + 512 * 1024,
        "broker reserved memory for a claimed length: VmPeak {peak_before} -> {peak_after} KiB"
    );
    // Under the limit, a big pwrite is served.
    let target = dir.path().join("big.bin");
    let data = test_data(900 * 1024, 3);
    c.write_file(&uri(&target), "be1:9060", &data, data.len());
    assert!(std::fs::read(&target).unwrap() == data);
}

#[test]
fn truncated_message_then_close_leaves_the_broker_fine() {
    let mut broker = BrokerProcess::start();
    let full = encode_ping(1, true, "be1:9060");
    for cut in [1, 4, 9, full.len() - 1] {
        let mut s = broker.raw();
        s.write_all(&full[..cut]).unwrap();
        s.shutdown(Shutdown::Both).unwrap();
    }
    assert!(broker.is_running());
    assert_ping_works(&mut broker.raw(), 2);
}

/// Kubernetes-style probes: connect and close with no bytes. Served silently (debug at most).
#[test]
fn tcp_probes_cost_nothing_and_log_at_most_debug() {
    let mut broker = BrokerProcess::start_with(&[("sys_log_level", "DEBUG")]);
    let mut peers = Vec::new();
    for _ in 0..5 {
        let s = broker.raw();
        peers.push(s.local_addr().unwrap().to_string());
        drop(s);
    }
    // Wait until the broker has seen every probe end (it logs that at debug).
    let timeout = Duration::from_secs(10);
    wait_for("the probes to be logged at debug", timeout, || {
        let log = broker.log();
        peers
            .iter()
            .all(|p| log.lines().any(|l| l.contains(p.as_str())))
    });
    let log = broker.log();
    for peer in &peers {
        for line in log.lines().filter(|l| l.contains(peer.as_str())) {
            assert!(
                line.contains(" DEBUG ") || line.contains(" TRACE "),
                "a probe logged above debug: {line}"
            );
        }
    }
    assert!(broker.is_running());
    assert_ping_works(&mut broker.raw(), 1);
}

#[test]
fn pipelined_calls_get_replies_in_order() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let mut s = broker.raw();
    let mut batch = encode_ping(10, true, "be1:9060");
    let req = TBrokerCheckPathExistRequest::new(
        TBrokerVersion::VERSION_ONE,
        uri(dir.path()),
        Props::new(),
    );
    batch.extend(encode_call("checkPathExist", 11, true, &req));
    batch.extend(encode_ping(12, false, "be1:9060"));
    s.write_all(&batch).unwrap();
    match read_reply::<TBrokerOperationStatus>(&mut s).unwrap() {
        RawReply::Success { name, seq, value } => {
            assert_eq!((name.as_str(), seq), ("ping", 10));
            assert_ok(&value);
        }
        other => panic!("{other:?}"),
    }
    match read_reply::<TBrokerCheckPathExistResponse>(&mut s).unwrap() {
        RawReply::Success { name, seq, value } => {
            assert_eq!((name.as_str(), seq), ("checkPathExist", 11));
            assert!(value.is_path_exist);
        }
        other => panic!("{other:?}"),
    }
    match read_reply::<TBrokerOperationStatus>(&mut s).unwrap() {
        RawReply::Success { name, seq, .. } => assert_eq!((name.as_str(), seq), ("ping", 12)),
        other => panic!("{other:?}"),
    }
}

/// Pooled connections sit idle between calls and must not be closed early.
#[test]
fn idle_pooled_connections_stay_open() {
    let broker = BrokerProcess::start();
    let mut s = broker.raw();
    assert_ping_works(&mut s, 1);
    std::thread::sleep(Duration::from_millis(2500)); // idleness is the point here
    assert_ping_works(&mut s, 2);
}

#[test]
fn thirty_two_concurrent_clients_write_and_read_their_own_files() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..32u64)
            .map(|i| {
                let broker = &broker;
                let dir = dir.path();
                scope.spawn(move || {
                    let mut c = broker.client();
                    let client_id = format!("be{i}:9060");
                    let path = uri(&dir.join(format!("c{i}/part-{i}.bin")));
                    let data = test_data(64 * 1024 + i as usize * 777, i + 100);
                    c.write_file(&path, &client_id, &data, 8 * 1024);
                    let back = c.read_file(&path, &client_id, 16 * 1024);
                    assert!(back == data, "client {i}: content differs");
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}
