//! Unit tests of `FrameScanner`: whole/chunked/pipelined messages, hostile input, and
//! random messages checked against the Thrift runtime.

use super::*;
use std::io::Cursor;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol, TListIdentifier,
    TMapIdentifier, TMessageIdentifier, TMessageType, TOutputProtocol, TSetIdentifier,
    TStructIdentifier, TType,
};

const MIB: usize = 1 << 20;
const LIMIT: usize = 16 * MIB;

type Out<'a> = TBinaryOutputProtocol<&'a mut Vec<u8>>;

/// Tiny xorshift64 PRNG so the property tests need no extra crates and are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A real serialized message: header, argument struct written by `body`, STOP.
fn message(strict: bool, name: &str, body: impl FnOnce(&mut Out)) -> Vec<u8> {
    let mut buf = Vec::new();
    {
        let mut p = TBinaryOutputProtocol::new(&mut buf, strict);
        p.write_message_begin(&TMessageIdentifier::new(name, TMessageType::Call, 7))
            .unwrap();
        p.write_struct_begin(&TStructIdentifier::new("args"))
            .unwrap();
        body(&mut p);
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
        p.write_message_end().unwrap();
        p.flush().unwrap();
    }
    buf
}

fn field(p: &mut Out, t: TType, id: i16) {
    p.write_field_begin(&TFieldIdentifier::new("f", t, id))
        .unwrap();
}

/// Nested structs, a map of lists of structs, a set, every scalar and a binary of
/// `blob` bytes.
fn rich(strict: bool, blob: usize) -> Vec<u8> {
    message(strict, "pwrite", |p| {
        field(p, TType::Struct, 1);
        p.write_struct_begin(&TStructIdentifier::new("req"))
            .unwrap();
        field(p, TType::I64, 1);
        p.write_i64(-5).unwrap();
        field(p, TType::String, 2);
        // ASCII so the Thrift runtime's skip (which reads strings as UTF-8) accepts it.
        p.write_bytes(&vec![b'b'; blob]).unwrap();
        field(p, TType::Map, 3);
        p.write_map_begin(&TMapIdentifier::new(TType::String, TType::List, 3))
            .unwrap();
        for i in 0..3 {
            p.write_string(&format!("key{i}")).unwrap();
            p.write_list_begin(&TListIdentifier::new(TType::Struct, i))
                .unwrap();
            for _ in 0..i {
                p.write_struct_begin(&TStructIdentifier::new("e")).unwrap();
                field(p, TType::Double, 1);
                p.write_double(1.5).unwrap();
                field(p, TType::Bool, 2);
                p.write_bool(true).unwrap();
                field(p, TType::I08, 3);
                p.write_i8(-1).unwrap();
                field(p, TType::I16, 4);
                p.write_i16(300).unwrap();
                p.write_field_stop().unwrap();
                p.write_struct_end().unwrap();
            }
            p.write_list_end().unwrap();
        }
        p.write_map_end().unwrap();
        field(p, TType::Set, 4);
        p.write_set_begin(&TSetIdentifier::new(TType::I32, 2))
            .unwrap();
        p.write_i32(1).unwrap();
        p.write_i32(2).unwrap();
        p.write_set_end().unwrap();
        field(p, TType::Map, 5);
        p.write_map_begin(&TMapIdentifier::new(TType::I32, TType::I32, 0))
            .unwrap();
        p.write_map_end().unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
    })
}

fn whole(buf: &[u8], max: usize) -> Result<Option<usize>, FrameError> {
    FrameScanner::new(max).scan(buf)
}

/// Feeds growing prefixes of `buf` split at the given chunk sizes; the result of the
/// first call that is not `Ok(None)`, or of the last call.
fn chunked(
    s: &mut FrameScanner,
    buf: &[u8],
    mut chunk: impl FnMut() -> usize,
) -> Result<Option<usize>, FrameError> {
    let mut end = 0;
    loop {
        end = (end + chunk().max(1)).min(buf.len());
        let r = s.scan(&buf[..end]);
        if !matches!(r, Ok(None)) || end == buf.len() {
            return r;
        }
        let w = s.wanted().expect("wanted is known after Ok(None)");
        assert!(w > end, "wanted {w} must exceed the {end} bytes given");
        assert!(w <= s.max_message_size, "wanted {w} is over the limit");
    }
}

/// Length the Thrift runtime itself consumes for one message (header + skipped args).
fn thrift_len(buf: &[u8]) -> usize {
    let mut cur = Cursor::new(buf);
    let mut p = TBinaryInputProtocol::new(&mut cur, false);
    p.read_message_begin().unwrap();
    p.skip(TType::Struct).unwrap();
    p.read_message_end().unwrap();
    cur.position() as usize
}

#[test]
fn whole_bytewise_chunked_and_pipelined() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for strict in [true, false] {
        for blob in [0, 1, 1000] {
            let msg = rich(strict, blob);
            assert_eq!(thrift_len(&msg), msg.len());
            assert_eq!(whole(&msg, LIMIT), Ok(Some(msg.len())));
            let mut s = FrameScanner::new(LIMIT);
            assert_eq!(chunked(&mut s, &msg, || 1), Ok(Some(msg.len())));
            for _ in 0..20 {
                let mut s = FrameScanner::new(LIMIT);
                let r = chunked(&mut s, &msg, || 1 + rng.below(64));
                assert_eq!(r, Ok(Some(msg.len())));
            }
            // Followed by the next message: only the first is claimed, then the next.
            let second = rich(!strict, 3);
            let mut both = msg.clone();
            both.extend_from_slice(&second);
            let mut s = FrameScanner::new(LIMIT);
            let r = chunked(&mut s, &both, || 1 + rng.below(16));
            assert_eq!(r, Ok(Some(msg.len())));
            assert_eq!(s.scan(&both), Ok(Some(msg.len())), "done is sticky");
            s.reset();
            assert_eq!(s.scan(&both[msg.len()..]), Ok(Some(second.len())));
        }
    }
}

#[test]
fn big_binary_is_skipped_by_length() {
    let msg = rich(true, 4 * MIB);
    let mut s = FrameScanner::new(LIMIT);
    assert_eq!(chunked(&mut s, &msg, || 64 * 1024), Ok(Some(msg.len())));
    assert!(s.bytes_examined() < 1000, "{}", s.bytes_examined());

    // Once the length prefix is seen, `wanted` covers the whole payload and the two STOP
    // bytes (request struct, argument struct) that must still follow it.
    let header = rich(true, 0);
    let payload_at = header.windows(4).position(|w| w == [0, 0, 0, 0]).unwrap();
    let mut s = FrameScanner::new(LIMIT);
    let prefix = payload_at + 4 + 10;
    assert_eq!(s.scan(&msg[..prefix]), Ok(None));
    assert_eq!(s.wanted(), Some(payload_at + 4 + 4 * MIB + 2));
}

#[test]
fn a_chunk_ending_its_message_is_wanted_to_the_last_byte() {
    // A pwrite's data is the request's last field: the whole message is known from its
    // length prefix on, so the receive buffer is sized for it once.
    let msg = message(true, "pwrite", |p| {
        field(p, TType::Struct, 1);
        p.write_struct_begin(&TStructIdentifier::new("req"))
            .unwrap();
        field(p, TType::I64, 3);
        p.write_i64(0).unwrap();
        field(p, TType::String, 4);
        p.write_bytes(&vec![b'd'; MIB]).unwrap();
        p.write_field_stop().unwrap();
        p.write_struct_end().unwrap();
    });
    let mut s = FrameScanner::new(LIMIT);
    for prefix in [msg.len() - MIB + 1, msg.len() - 2, msg.len() - 1] {
        assert_eq!(s.scan(&msg[..prefix]), Ok(None));
        assert_eq!(s.wanted(), Some(msg.len()), "after {prefix} bytes");
    }
    assert_eq!(s.scan(&msg), Ok(Some(msg.len())));
}

#[test]
fn every_truncation_needs_more() {
    for strict in [true, false] {
        let msg = rich(strict, 20);
        for n in 0..msg.len() {
            let mut s = FrameScanner::new(LIMIT);
            assert_eq!(s.scan(&msg[..n]), Ok(None), "prefix {n}");
            assert!(s.wanted().unwrap() > n);
        }
    }
}

#[test]
fn linear_work_for_tiny_fields_fed_byte_by_byte() {
    let fields = MIB / 4;
    let msg = message(true, "m", |p| {
        for i in 0..fields {
            field(p, TType::I08, i as i16);
            p.write_i8(1).unwrap();
        }
    });
    assert!(msg.len() > MIB);
    let mut s = FrameScanner::new(LIMIT);
    assert_eq!(chunked(&mut s, &msg, || 1), Ok(Some(msg.len())));
    // One call per byte; a re-scan from the start would examine ~len^2/2 bytes.
    assert!(
        s.bytes_examined() <= 2 * msg.len() as u64,
        "examined {} for {} bytes",
        s.bytes_examined(),
        msg.len()
    );
    let mut s = FrameScanner::new(LIMIT);
    assert_eq!(s.scan(&msg), Ok(Some(msg.len())));
    // Every byte once, except the 1-byte method name, which is skipped by length.
    assert_eq!(s.bytes_examined(), msg.len() as u64 - 1);
}

/// A strict header for method "m" followed by `body` (raw argument-struct bytes).
fn raw(body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x80, 0x01, 0x00, 0x01, 0, 0, 0, 1, b'm', 0, 0, 0, 9];
    v.extend_from_slice(body);
    v
}

#[test]
fn garbage_is_rejected_promptly() {
    assert!(matches!(
        whole(b"GET / HTTP/1.1\r\n", LIMIT),
        Err(FrameError::NameTooLong { .. })
    ));
    assert!(matches!(
        whole(&[0x80, 0x02, 0, 1], LIMIT),
        Err(FrameError::BadVersion {
            version: 0x8002_0001
        })
    ));
    assert!(matches!(
        whole(&[0xff; 4], LIMIT),
        Err(FrameError::BadVersion { .. })
    ));
    // Strict name length too long / negative, decided from 8 bytes.
    assert!(matches!(
        whole(&[0x80, 1, 0, 1, 0, 0, 1, 1], LIMIT),
        Err(FrameError::NameTooLong { len: 257 })
    ));
    assert!(matches!(
        whole(&[0x80, 1, 0, 1, 0xff, 0xff, 0xff, 0xff], LIMIT),
        Err(FrameError::NegativeLength { len: -1, at: 4 })
    ));
    // Errors are sticky until reset.
    let mut s = FrameScanner::new(LIMIT);
    let bad = [0x80, 0x02, 0, 1];
    let e = s.scan(&bad).unwrap_err();
    assert_eq!(s.scan(&bad), Err(e));
    assert_eq!(s.wanted(), None);
    s.reset();
    let ok = raw(&[0]);
    assert_eq!(s.scan(&ok), Ok(Some(ok.len())));
}

#[test]
fn negative_lengths_and_counts() {
    // string field, length -1
    let m = raw(&[11, 0, 1, 0xff, 0xff, 0xff, 0xff]);
    assert!(matches!(
        whole(&m, LIMIT),
        Err(FrameError::NegativeLength { len: -1, .. })
    ));
    // list<i32> with count -2
    let m = raw(&[15, 0, 1, 8, 0xff, 0xff, 0xff, 0xfe]);
    assert!(matches!(
        whole(&m, LIMIT),
        Err(FrameError::NegativeLength { len: -2, .. })
    ));
    // map<i32,i32> with count i32::MIN
    let m = raw(&[13, 0, 1, 8, 8, 0x80, 0, 0, 0]);
    assert!(matches!(
        whole(&m, LIMIT),
        Err(FrameError::NegativeLength { .. })
    ));
}

#[test]
fn inflated_lengths_are_too_large_before_the_bytes_arrive() {
    // A 2 GiB string announced in a 20-byte buffer.
    let m = raw(&[11, 0, 1, 0x7f, 0xff, 0xff, 0xff]);
    assert!(matches!(whole(&m, LIMIT), Err(FrameError::TooLarge { .. })));
    // A list of 1M i64 needs 8 MiB, over a 4 MiB limit.
    let m = raw(&[15, 0, 1, 10, 0x00, 0x10, 0x00, 0x00]);
    assert!(matches!(
        whole(&m, 4 * MIB),
        Err(FrameError::TooLarge { .. })
    ));
    // A map of i32::MAX pairs of structs (at least 2 bytes each).
    let m = raw(&[13, 0, 1, 12, 12, 0x7f, 0xff, 0xff, 0xff]);
    assert!(matches!(whole(&m, LIMIT), Err(FrameError::TooLarge { .. })));
    // A field type byte right at the limit: only STOP could still fit, so an i32
    // field is refused without waiting for its id.
    assert!(matches!(
        whole(&raw(&[8]), 14),
        Err(FrameError::TooLarge { needed: 21, .. })
    ));
    assert_eq!(whole(&raw(&[0]), 14), Ok(Some(14)));
    // Non-strict name longer than a tiny limit.
    assert!(matches!(
        whole(&[0, 0, 0, 100], 50),
        Err(FrameError::TooLarge { .. })
    ));
    // Exactly at the limit is fine; one byte under is not, whatever the feeding.
    for strict in [true, false] {
        let msg = rich(strict, 100);
        assert_eq!(whole(&msg, msg.len()), Ok(Some(msg.len())));
        let mut rng = Rng(42);
        for _ in 0..10 {
            let mut s = FrameScanner::new(msg.len() - 1);
            let r = chunked(&mut s, &msg, || 1 + rng.below(8));
            assert!(matches!(r, Err(FrameError::TooLarge { .. })), "{r:?}");
        }
    }
}

#[test]
fn bad_type_ids() {
    for t in [1u8, 5, 7, 9, 17, 18, 0x80, 0xff] {
        // As a field type: rejected from the type byte alone.
        let m = raw(&[t]);
        assert_eq!(
            whole(&m, LIMIT),
            Err(FrameError::BadType { type_id: t, at: 13 })
        );
        // As a list element type.
        let m = raw(&[15, 0, 1, t, 0, 0, 0, 1]);
        assert!(matches!(whole(&m, LIMIT), Err(FrameError::BadType { .. })));
        // As a map value type, even when empty.
        let m = raw(&[13, 0, 1, 8, t, 0, 0, 0, 0]);
        assert!(matches!(whole(&m, LIMIT), Err(FrameError::BadType { .. })));
    }
    // STOP as element type is tolerated only for empty containers.
    let m = raw(&[13, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(whole(&m, LIMIT), Ok(Some(m.len())));
    let m = raw(&[15, 0, 1, 0, 0, 0, 0, 1, 0]);
    assert!(matches!(whole(&m, LIMIT), Err(FrameError::BadType { .. })));
    // UUID is 16 bytes.
    let mut body = vec![16, 0, 1];
    body.extend_from_slice(&[0x55; 16]);
    body.push(0);
    let m = raw(&body);
    assert_eq!(whole(&m, LIMIT), Ok(Some(m.len())));
}

#[test]
fn depth_bombs() {
    // Structs nested `n` deep inside the argument struct (which is depth 1).
    let nested = |n: usize| {
        let mut body = Vec::new();
        for _ in 0..n {
            body.extend_from_slice(&[12, 0, 1]);
        }
        body.resize(body.len() + n + 1, 0);
        raw(&body)
    };
    let ok = nested(MAX_DEPTH - 1);
    assert_eq!(whole(&ok, LIMIT), Ok(Some(ok.len())));
    assert_eq!(whole(&nested(MAX_DEPTH), LIMIT), Err(FrameError::TooDeep));
    // Detected from the opening bytes alone.
    let bomb = nested(100_000);
    assert_eq!(whole(&bomb[..13 + 3 * 70], LIMIT), Err(FrameError::TooDeep));
    // list<list<list<...>>> of one element each.
    let mut body = vec![15, 0, 1];
    for _ in 0..100 {
        body.extend_from_slice(&[15, 0, 0, 0, 1]);
    }
    assert_eq!(whole(&raw(&body), LIMIT), Err(FrameError::TooDeep));
}

/// Writes a random value of type `t`, nesting at most `depth` more levels.
fn random_value(p: &mut Out, rng: &mut Rng, t: TType, depth: usize) {
    match t {
        TType::Bool => p.write_bool(rng.below(2) == 0).unwrap(),
        TType::I08 => p.write_i8(rng.next() as i8).unwrap(),
        TType::I16 => p.write_i16(rng.next() as i16).unwrap(),
        TType::I32 => p.write_i32(rng.next() as i32).unwrap(),
        TType::I64 => p.write_i64(rng.next() as i64).unwrap(),
        TType::Double => p.write_double(rng.next() as f64).unwrap(),
        TType::String => {
            let n = rng.below(40);
            p.write_bytes(&vec![b'x'; n]).unwrap();
        }
        TType::Struct => {
            p.write_struct_begin(&TStructIdentifier::new("s")).unwrap();
            for id in 0..rng.below(5) {
                let ft = random_type(rng, depth);
                field(p, ft, id as i16);
                random_value(p, rng, ft, depth.saturating_sub(1));
            }
            p.write_field_stop().unwrap();
            p.write_struct_end().unwrap();
        }
        TType::List | TType::Set => {
            let et = random_type(rng, depth);
            let n = rng.below(4);
            p.write_list_begin(&TListIdentifier::new(et, n as i32))
                .unwrap();
            for _ in 0..n {
                random_value(p, rng, et, depth.saturating_sub(1));
            }
            p.write_list_end().unwrap();
        }
        TType::Map => {
            let (kt, vt) = (random_type(rng, depth), random_type(rng, depth));
            let n = rng.below(4);
            p.write_map_begin(&TMapIdentifier::new(kt, vt, n as i32))
                .unwrap();
            for _ in 0..n {
                random_value(p, rng, kt, depth.saturating_sub(1));
                random_value(p, rng, vt, depth.saturating_sub(1));
            }
            p.write_map_end().unwrap();
        }
        other => unreachable!("{other:?}"),
    }
}

fn random_type(rng: &mut Rng, depth: usize) -> TType {
    const SCALARS: [TType; 7] = [
        TType::Bool,
        TType::I08,
        TType::I16,
        TType::I32,
        TType::I64,
        TType::Double,
        TType::String,
    ];
    const NESTED: [TType; 4] = [TType::Struct, TType::List, TType::Set, TType::Map];
    if depth > 0 && rng.below(3) == 0 {
        NESTED[rng.below(NESTED.len())]
    } else {
        SCALARS[rng.below(SCALARS.len())]
    }
}

fn random_message(rng: &mut Rng) -> Vec<u8> {
    let strict = rng.below(2) == 0;
    let mut seed = Rng(rng.next() | 1);
    message(strict, "call", |p| {
        for id in 0..rng.below(6) {
            let t = random_type(&mut seed, 4);
            field(p, t, id as i16);
            random_value(p, &mut seed, t, 4);
        }
    })
}

#[test]
fn random_valid_messages_match_the_thrift_runtime() {
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for _ in 0..500 {
        let msg = random_message(&mut rng);
        assert_eq!(thrift_len(&msg), msg.len());
        assert_eq!(whole(&msg, LIMIT), Ok(Some(msg.len())));
        let mut s = FrameScanner::new(LIMIT);
        let r = chunked(&mut s, &msg, || 1 + rng.below(10));
        assert_eq!(r, Ok(Some(msg.len())));
    }
}

/// Random and mutated input: never a panic, and chunked feeding agrees with whole.
#[test]
fn random_bytes_whole_and_chunked_agree() {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for i in 0..5000 {
        let mut buf = match i % 3 {
            0 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
            1 => raw(&(0..rng.below(100))
                .map(|_| [0u8, 2, 3, 8, 11, 12, 13, 15][rng.below(8)] ^ (rng.below(50) == 0) as u8)
                .collect::<Vec<_>>()),
            _ => {
                let mut m = random_message(&mut rng);
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(m.len());
                    m[at] = rng.next() as u8;
                }
                m.truncate(rng.below(m.len() + 1));
                m
            }
        };
        if rng.below(4) == 0 {
            buf.extend((0..rng.below(20)).map(|_| rng.next() as u8));
        }
        let max = if rng.below(2) == 0 { 64 } else { LIMIT };
        let w = whole(&buf, max);
        let mut s = FrameScanner::new(max);
        let c = chunked(&mut s, &buf, || 1 + rng.below(7));
        assert_eq!(w, c, "input {buf:?}");
        if let Ok(Some(n)) = w {
            assert!(n <= buf.len() && n <= max);
        }
        if let Ok(None) = w {
            let mut s = FrameScanner::new(max);
            s.scan(&buf).unwrap();
            assert!(s.wanted().unwrap() > buf.len());
            assert!(s.wanted().unwrap() <= max);
        }
    }
}
