//! Structure-aware hostile requests, built byte by byte: what the scanner and the decoder
//! make of inflated and negative lengths, depth bombs, wrong wire types for known field
//! ids, unknown field ids and messages cut short. The fuzz targets (fuzz/) cover random
//! bytes; these pin the exact outcome of each shape.

use super::frame::{FrameError, FrameScanner, MAX_DEPTH};
use super::generated::{TBrokerPingBrokerRequest, TBrokerVersion};
use super::{decode, describe, Call, Incoming, Method};

const LIMIT: usize = 1 << 20;

const T_BOOL: u8 = 2;
const T_I32: u8 = 8;
const T_I64: u8 = 10;
const T_STRING: u8 = 11;
const T_STRUCT: u8 = 12;
const T_MAP: u8 = 13;
const T_LIST: u8 = 15;

fn be32(n: i32) -> [u8; 4] {
    n.to_be_bytes()
}

/// A field header: type byte and big-endian id.
fn field(t: u8, id: i16) -> Vec<u8> {
    let [hi, lo] = id.to_be_bytes();
    vec![t, hi, lo]
}

fn string(s: &[u8]) -> Vec<u8> {
    [&be32(s.len() as i32)[..], s].concat()
}

/// A strict-header call of `name` whose argument struct holds `args` and STOP.
fn call(name: &str, args: &[u8]) -> Vec<u8> {
    [
        &[0x80, 0x01, 0x00, 0x01][..],
        &string(name.as_bytes()),
        &be32(7),
        args,
        &[0],
    ]
    .concat()
}

/// The argument struct's field 1 holding `request` (whose own STOP is included).
fn request(request: &[u8]) -> Vec<u8> {
    [&field(T_STRUCT, 1)[..], request].concat()
}

/// A ping request's fields (version, clientId) followed by `extra` fields and STOP.
fn ping_fields(client_id: &[u8], extra: &[u8]) -> Vec<u8> {
    [
        &field(T_I32, 1)[..],
        &be32(1),
        &field(T_STRING, 2),
        &string(client_id),
        extra,
        &[0],
    ]
    .concat()
}

fn ping(extra: &[u8]) -> Vec<u8> {
    call("ping", &request(&ping_fields(b"be-1", extra)))
}

fn scan(msg: &[u8]) -> Result<Option<usize>, FrameError> {
    FrameScanner::new(LIMIT).scan(msg)
}

/// The decode error of a known method's arguments, or a panic naming what came instead.
fn bad_args(msg: &[u8], method: Method) -> String {
    match decode(msg) {
        Ok(Incoming::BadArgs {
            method: m, error, ..
        }) if m == method => error,
        other => panic!("expected bad args of {method:?}, got {other:?}"),
    }
}

fn decoded_ping(msg: &[u8]) -> TBrokerPingBrokerRequest {
    match decode(msg) {
        Ok(Incoming::Call {
            seq: 7,
            call: Call::Ping(r),
        }) => r,
        other => panic!("expected a ping call, got {other:?}"),
    }
}

fn plain_ping() -> TBrokerPingBrokerRequest {
    TBrokerPingBrokerRequest::new(TBrokerVersion::VERSION_ONE, "be-1".to_string())
}

/// Offset where the ping's clientId length starts in [`ping`]'s message.
const CLIENT_ID_LEN_AT: usize = 4 + 4 + 4 + 4 + 3 + 3 + 4 + 3;

#[test]
fn a_real_ping_decodes() {
    let msg = ping(&[]);
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(decoded_ping(&msg), plain_ping());
    assert_eq!(&msg[CLIENT_ID_LEN_AT..CLIENT_ID_LEN_AT + 4], &be32(4));
}

#[test]
fn every_length_inflated_to_i32_max() {
    let max = be32(i32::MAX);
    // The method name's length.
    let mut msg = ping(&[]);
    msg[4..8].copy_from_slice(&max);
    assert_eq!(scan(&msg), Err(FrameError::NameTooLong { len: 2147483647 }));
    assert_eq!(
        describe(&decode(&msg).unwrap_err()),
        "message too long, bad length 2147483647"
    );
    // A string field (clientId).
    let mut msg = ping(&[]);
    msg[CLIENT_ID_LEN_AT..CLIENT_ID_LEN_AT + 4].copy_from_slice(&max);
    assert!(matches!(
        scan(&msg),
        Err(FrameError::TooLarge { max: LIMIT, .. })
    ));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "message too long, bad length 2147483647"
    );
    // A binary, a map count and a list count in fields the request does not know (the
    // decoder skips them by length), and the same map count in a known map field.
    for (t, body) in [
        (T_STRING, max.to_vec()),
        (T_MAP, [&[T_STRING, T_STRING][..], &max].concat()),
        (T_LIST, [&[T_I64][..], &max].concat()),
    ] {
        let msg = ping(&[&field(t, 9)[..], &body].concat());
        assert!(
            matches!(scan(&msg), Err(FrameError::TooLarge { .. })),
            "{t}"
        );
        assert_eq!(
            bad_args(&msg, Method::Ping),
            "message too long, bad length 2147483647"
        );
    }
    // pwrite's data: a known binary field, read (not skipped) by the decoder.
    let fd = [
        &field(T_I64, 1)[..],
        &[0; 8],
        &field(T_I64, 2),
        &[0; 8],
        &[0],
    ]
    .concat();
    let pwrite = call(
        "pwrite",
        &request(
            &[
                &field(T_I32, 1)[..],
                &be32(1),
                &field(T_STRUCT, 2),
                &fd,
                &field(T_I64, 3),
                &[0; 8],
                &field(T_STRING, 4),
                &max,
                &[0],
            ]
            .concat(),
        ),
    );
    assert!(matches!(scan(&pwrite), Err(FrameError::TooLarge { .. })));
    assert_eq!(
        bad_args(&pwrite, Method::Pwrite),
        "message too long, bad length 2147483647"
    );
    let open_writer = call(
        "openWriter",
        &request(&[&field(T_MAP, 5)[..], &[T_STRING, T_STRING], &max, &[0]].concat()),
    );
    assert!(matches!(
        scan(&open_writer),
        Err(FrameError::TooLarge { .. })
    ));
    assert_eq!(
        bad_args(&open_writer, Method::OpenWriter),
        "message too long, bad length 2147483647"
    );
}

#[test]
fn a_length_one_past_the_bytes_present_is_refused_not_allocated() {
    // clientId claims 5 bytes where 4 (and the STOPs) follow: the decoder refuses to
    // read past the message, whatever the scanner would wait for.
    let mut msg = ping(&[]);
    let left = msg.len() - CLIENT_ID_LEN_AT - 4;
    msg[CLIENT_ID_LEN_AT..CLIENT_ID_LEN_AT + 4].copy_from_slice(&be32(left as i32 + 1));
    assert_eq!(scan(&msg), Ok(None));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        format!("message too long, bad length {}", left + 1)
    );
}

#[test]
fn negative_lengths() {
    let mut msg = ping(&[]);
    msg[4..8].copy_from_slice(&be32(-1));
    assert_eq!(
        scan(&msg),
        Err(FrameError::NegativeLength { len: -1, at: 4 })
    );
    assert_eq!(
        describe(&decode(&msg).unwrap_err()),
        "message too long, bad length -1"
    );
    let mut msg = ping(&[]);
    msg[CLIENT_ID_LEN_AT..CLIENT_ID_LEN_AT + 4].copy_from_slice(&be32(-1));
    assert_eq!(
        scan(&msg),
        Err(FrameError::NegativeLength {
            len: -1,
            at: CLIENT_ID_LEN_AT
        })
    );
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "message too long, bad length -1"
    );
    let msg = ping(&[&field(T_LIST, 9)[..], &[T_I32], &be32(i32::MIN)].concat());
    assert!(matches!(
        scan(&msg),
        Err(FrameError::NegativeLength { len: i32::MIN, .. })
    ));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "message too long, bad length -2147483648"
    );
}

/// An unknown struct field holding `levels` structs nested in each other.
fn nested_structs(levels: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..levels {
        v.extend(field(T_STRUCT, 99));
    }
    v.resize(v.len() + levels, 0);
    v
}

#[test]
fn depth_is_bounded_alike_in_scanner_and_decoder() {
    // The argument struct and the ping request are two levels; MAX_DEPTH counts both.
    let fits = MAX_DEPTH - 2;
    let msg = ping(&nested_structs(fits));
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(decoded_ping(&msg), plain_ping());

    let msg = ping(&nested_structs(fits + 1));
    assert_eq!(scan(&msg), Err(FrameError::TooDeep));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "maximum skip depth reached, nesting deeper than 64"
    );

    // A depth bomb far past the limit, of structs and of lists of lists: refused, and
    // no recursion deeper than the limit (this test would overflow the stack otherwise).
    let msg = ping(&nested_structs(100_000));
    assert_eq!(scan(&msg), Err(FrameError::TooDeep));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "maximum skip depth reached, nesting deeper than 64"
    );
    let mut lists = field(T_LIST, 99);
    for _ in 0..100_000 {
        lists.push(T_LIST);
        lists.extend(be32(1));
    }
    let msg = ping(&lists);
    assert_eq!(scan(&msg), Err(FrameError::TooDeep));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "maximum skip depth reached, nesting deeper than 64"
    );
}

#[test]
fn wrong_wire_types_for_known_field_ids_are_refused() {
    // clientId (a string) sent as an i32 whose bytes would read as a 0-length string
    // followed by more fields: refused rather than misread.
    let msg = call(
        "ping",
        &request(
            &[
                &field(T_I32, 1)[..],
                &be32(1),
                &field(T_I32, 2),
                &be32(0),
                &[0],
            ]
            .concat(),
        ),
    );
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "bad data, wire type I32 where String was expected"
    );
    // version (an i32 enum) sent as a string.
    let msg = call(
        "ping",
        &request(&[&field(T_STRING, 1)[..], &string(b"abcd"), &[0]].concat()),
    );
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "bad data, wire type String where I32 was expected"
    );
    // properties (map<string,string>) sent as list<string>, and as map<i32,string>.
    let list = [
        &field(T_LIST, 5)[..],
        &[T_STRING],
        &be32(1),
        &string(b"k"),
        &[0],
    ]
    .concat();
    assert_eq!(
        bad_args(&call("openWriter", &request(&list)), Method::OpenWriter),
        "bad data, wire type List where Map was expected"
    );
    let map = [
        &field(T_MAP, 5)[..],
        &[T_I32, T_STRING],
        &be32(1),
        &be32(3),
        &string(b"v"),
        &[0],
    ]
    .concat();
    assert_eq!(
        bad_args(&call("openWriter", &request(&map)), Method::OpenWriter),
        "bad data, wire type I32 where String was expected"
    );
    // The argument struct's field 1 not a struct: skipped as Thrift requires, so the
    // request is missing.
    let msg = call("ping", &[&field(T_STRING, 1)[..], &string(b"x")].concat());
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "bad data, required field 'request' is unset"
    );
}

#[test]
fn unknown_field_ids_are_skipped() {
    let extra = [
        &field(T_I64, 99)[..],
        &[1, 2, 3, 4, 5, 6, 7, 8],
        // Binary that is not UTF-8: skipping must not look inside.
        &field(T_STRING, 100),
        &string(&[0xff, 0xfe, 0x00]),
        &field(T_STRUCT, 101),
        &field(T_LIST, 1),
        &[T_BOOL],
        &be32(2),
        &[1, 0],
        &[0],
        &field(T_MAP, 102),
        &[T_I32, T_LIST],
        &be32(1),
        &be32(5),
        &[T_STRING],
        &be32(0),
        &field(T_BOOL, -1),
        &[1],
    ]
    .concat();
    let msg = ping(&extra);
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(decoded_ping(&msg), plain_ping());
    // Unknown fields around the request in the argument struct, too.
    let args = [
        &field(T_STRING, 0)[..],
        &string(&[0x80]),
        &request(&ping_fields(b"be-1", &extra)),
        &field(T_I32, 2),
        &be32(-1),
    ]
    .concat();
    let msg = call("ping", &args);
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(decoded_ping(&msg), plain_ping());
}

#[test]
fn a_message_cut_anywhere_needs_more_and_never_panics() {
    let msg = ping(
        &[
            &field(T_MAP, 9)[..],
            &[T_STRING, T_I64],
            &be32(1),
            &string(b"k"),
            &[0; 8],
        ]
        .concat(),
    );
    let header = 4 + 4 + 4 + 4;
    for n in 0..msg.len() {
        let cut = &msg[..n];
        let mut scanner = FrameScanner::new(LIMIT);
        assert_eq!(scanner.scan(cut), Ok(None), "cut at {n}");
        assert!(scanner.wanted().is_some_and(|w| w > n), "cut at {n}");
        // What the decoder makes of it (it is never handed one by the server).
        match decode(cut) {
            Err(_) => assert!(n < header, "cut at {n}: header error"),
            Ok(Incoming::BadArgs {
                method: Method::Ping,
                error,
                ..
            }) => {
                assert!(n >= header, "cut at {n}");
                assert!(
                    error == "bad data, message ends mid-value"
                        || error.starts_with("message too long, bad length "),
                    "cut at {n}: {error}"
                );
            }
            other => panic!("cut at {n}: {other:?}"),
        }
    }
}

#[test]
fn a_missing_required_field_is_named() {
    let msg = call(
        "ping",
        &request(&[&field(T_I32, 1)[..], &be32(1), &[0]].concat()),
    );
    assert_eq!(scan(&msg), Ok(Some(msg.len())));
    assert_eq!(
        bad_args(&msg, Method::Ping),
        "protocol error, missing required field TBrokerPingBrokerRequest.client_id"
    );
}
