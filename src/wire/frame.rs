//! Finds where one whole Thrift binary-protocol message ends in a growing read buffer.
//!
//! The broker's transport is unframed, so nothing on the wire says how long a request is:
//! the only way to know that a message is complete (and safe to hand to the decoder) is to
//! walk its structure. [`FrameScanner`] does that walk incrementally: it keeps its position
//! and an explicit stack of open containers across calls, so feeding a message in many
//! small reads costs time linear in its size instead of re-walking it from the start on
//! every read. String/binary payloads are skipped by their length prefix, never byte by
//! byte, and every length or count read from the peer is checked against the size limit
//! before the scanner waits for the bytes it announces.

/// Deepest nesting of structs/containers accepted, the top-level argument struct included.
/// Bounds the scanner's stack (it is allocated once, at this capacity) and rejects depth
/// bombs; it matches the Thrift runtime's own skip depth.
pub const MAX_DEPTH: usize = 64;

/// Longest method name accepted in a message header. Broker method names are short; a
/// longer "name" means the peer is not speaking the binary protocol (e.g. an HTTP request).
pub const MAX_NAME_LEN: usize = 256;

const T_STOP: u8 = 0;
const T_BOOL: u8 = 2;
const T_BYTE: u8 = 3;
const T_DOUBLE: u8 = 4;
const T_I16: u8 = 6;
const T_I32: u8 = 8;
const T_I64: u8 = 10;
const T_STRING: u8 = 11;
const T_STRUCT: u8 = 12;
const T_MAP: u8 = 13;
const T_SET: u8 = 14;
const T_LIST: u8 = 15;
const T_UUID: u8 = 16;

const STRICT_VERSION_MASK: u32 = 0xffff_0000;
const STRICT_VERSION_1: u32 = 0x8001_0000;

/// Why a connection must be dropped: the bytes cannot be (or must not become) a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("message would need at least {needed} bytes, more than the {max}-byte limit")]
    TooLarge { needed: usize, max: usize },
    #[error("bad strict binary protocol version word {version:#010x}")]
    BadVersion { version: u32 },
    #[error("message name length {len} exceeds {MAX_NAME_LEN} (not a Thrift binary message?)")]
    NameTooLong { len: usize },
    #[error("negative length or count {len} at byte {at}")]
    NegativeLength { len: i32, at: usize },
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
    #[error("invalid Thrift type id {type_id} at byte {at}")]
    BadType { type_id: u8, at: usize },
}

/// Where the scanner is in the message.
#[derive(Debug, Clone)]
enum Stage {
    /// Nothing read: the first word decides strict vs old (non-strict) header.
    Start,
    /// Strict header: the name length (and name) come next.
    StrictNameLen,
    /// Non-strict header: the message type byte comes next (the name was skipped).
    MsgType,
    /// Header: the sequence id comes next; the argument struct follows it.
    SeqId,
    /// Inside the argument struct, driven by `pending` and the container stack.
    Body,
    /// A whole message ends at this offset (kept so repeated calls agree).
    Done(usize),
    /// Sticky: once the bytes are known bad, every further call says so.
    Failed(FrameError),
}

/// An open struct or container. Counts are the elements still to start, so resuming
/// needs nothing but this frame.
#[derive(Debug, Clone, Copy)]
enum Frame {
    /// Fields until STOP.
    Struct,
    /// List or set elements, all of one type.
    Seq { elem: u8, remaining: u32 },
    /// Map keys and values interleaved: `remaining` counts both (2 per pair), so an even
    /// count means a key is next.
    Map { key: u8, val: u8, remaining: u32 },
}

/// Resumable scanner for one Thrift binary-protocol message. See the module docs.
#[derive(Debug)]
pub struct FrameScanner {
    max_message_size: usize,
    stage: Stage,
    /// Offset of the next unread byte. May run past the buffer after a length-skip; it
    /// never exceeds `max_message_size` (see `reserve`).
    pos: usize,
    /// Fewest bytes, from `pos`, that any valid rest of the message still needs (STOP
    /// bytes of open structs, minimal sizes of promised elements...). Checking
    /// `pos + reserve <= max_message_size` whenever either grows rejects oversized
    /// messages as soon as a length or count announces them.
    reserve: usize,
    /// Open structs/containers, innermost last; never longer than [`MAX_DEPTH`].
    stack: Vec<Frame>,
    /// A value of this type starts at `pos` (after a field header, or as the next
    /// element of the innermost container).
    pending: Option<u8>,
    /// Total bytes needed before progress is possible, when the last scan stopped short.
    wanted: Option<usize>,
    /// Bytes examined so far for this message (payloads skipped by length not counted).
    examined: u64,
}

/// Fewest bytes a value of type `t` occupies, or `None` if `t` is not a value type.
/// Every value type takes at least one byte, which keeps the work per element bounded
/// by bytes and lets counts be checked against the size limit up front.
fn min_size(t: u8) -> Option<usize> {
    Some(match t {
        T_BOOL | T_BYTE => 1,
        T_I16 => 2,
        T_I32 => 4,
        T_DOUBLE | T_I64 => 8,
        T_UUID => 16,
        T_STRING => 4,
        T_STRUCT => 1,
        T_MAP => 6,
        T_SET | T_LIST => 5,
        _ => return None,
    })
}

/// Fixed encoded size of a scalar type, `None` for strings, structs and containers.
fn fixed_size(t: u8) -> Option<usize> {
    match t {
        T_BOOL | T_BYTE => Some(1),
        T_I16 => Some(2),
        T_I32 => Some(4),
        T_DOUBLE | T_I64 => Some(8),
        T_UUID => Some(16),
        _ => None,
    }
}

impl FrameScanner {
    /// A scanner that rejects any message longer than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        FrameScanner {
            max_message_size,
            stage: Stage::Start,
            pos: 0,
            reserve: 0,
            stack: Vec::with_capacity(MAX_DEPTH),
            pending: None,
            wanted: None,
            examined: 0,
        }
    }

    /// `buf` always starts at the first byte of the current message and only grows between
    /// calls (same prefix). `Ok(Some(n))`: a whole message is `buf[..n]`. `Ok(None)`: need
    /// more bytes (see [`wanted`](Self::wanted)). `Err`: the connection must be dropped;
    /// the error repeats on later calls until [`reset`](Self::reset).
    ///
    /// Work per call is proportional to the new bytes it walks, never to bytes walked by
    /// earlier calls.
    pub fn scan(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        match &self.stage {
            Stage::Done(n) => return Ok(Some(*n)),
            Stage::Failed(e) => return Err(e.clone()),
            _ => {}
        }
        self.wanted = None;
        match self.run(buf) {
            Ok(Some(n)) => {
                self.stage = Stage::Done(n);
                Ok(Some(n))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.wanted = None;
                self.stage = Stage::Failed(e.clone());
                Err(e)
            }
        }
    }

    /// Forget all state, ready for the next message (call after consuming one).
    pub fn reset(&mut self) {
        self.stage = Stage::Start;
        self.pos = 0;
        self.reserve = 0;
        self.stack.clear();
        self.pending = None;
        self.wanted = None;
        self.examined = 0;
    }

    /// Bytes the scanner knows it needs in total before progress is possible (a hint so
    /// the caller can reserve/read enough), if known. After a length prefix this covers the
    /// whole payload, so a big binary can be read in one go.
    pub fn wanted(&self) -> Option<usize> {
        self.wanted
    }

    /// Bytes examined for the current message, summed over all calls. Diagnostic: it shows
    /// that resuming never re-walks bytes (it stays within a few bytes per call of the
    /// message size, and payloads skipped by length are not counted).
    pub fn bytes_examined(&self) -> u64 {
        self.examined
    }

    /// `N` bytes at `pos` without consuming them, or `None` (recording what is wanted).
    fn peek<const N: usize>(&mut self, buf: &[u8]) -> Option<[u8; N]> {
        let end = self.pos.saturating_add(N);
        match buf
            .get(self.pos..end)
            .and_then(|s| <[u8; N]>::try_from(s).ok())
        {
            Some(bytes) => {
                self.examined += N as u64;
                Some(bytes)
            }
            None => {
                self.wanted = Some(end);
                None
            }
        }
    }

    /// Whether `n` bytes at `pos` are in `buf` (recording what is wanted if not).
    fn have(&mut self, buf: &[u8], n: usize) -> bool {
        let end = self.pos.saturating_add(n);
        if buf.len() >= end {
            self.examined += n as u64;
            true
        } else {
            self.wanted = Some(end);
            false
        }
    }

    /// Enforces the size limit: `pos + reserve` is the least the message can now be.
    fn check_size(&self) -> Result<(), FrameError> {
        match self.pos.checked_add(self.reserve) {
            Some(needed) if needed <= self.max_message_size => Ok(()),
            needed => Err(FrameError::TooLarge {
                needed: needed.unwrap_or(usize::MAX),
                max: self.max_message_size,
            }),
        }
    }

    /// Consumes `n` bytes that `reserve` already accounted for.
    fn consume_reserved(&mut self, n: usize) {
        debug_assert!(self.reserve >= n, "reserve accounting");
        self.pos += n;
        self.reserve = self.reserve.saturating_sub(n);
    }

    /// Adds `count` promised elements of minimal size `each` to `reserve`, checked.
    fn promise(&mut self, count: usize, each: usize) -> Result<(), FrameError> {
        let extra = count.checked_mul(each);
        match extra.and_then(|e| self.reserve.checked_add(e)) {
            Some(r) => {
                self.reserve = r;
                self.check_size()
            }
            None => Err(FrameError::TooLarge {
                needed: usize::MAX,
                max: self.max_message_size,
            }),
        }
    }

    fn push(&mut self, frame: Frame) -> Result<(), FrameError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(FrameError::TooDeep);
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Validates a container's element type: any value type, or, for an empty
    /// container, also STOP (some writers emit 0 types for empty maps; nothing is read).
    fn elem_min_size(t: u8, count: i32, at: usize) -> Result<usize, FrameError> {
        match min_size(t) {
            Some(n) => Ok(n),
            None if t == T_STOP && count == 0 => Ok(0),
            None => Err(FrameError::BadType { type_id: t, at }),
        }
    }

    /// Rejects negative lengths/counts, which no valid writer produces.
    fn non_negative(len: i32, at: usize) -> Result<usize, FrameError> {
        usize::try_from(len).map_err(|_| FrameError::NegativeLength { len, at })
    }

    /// Walks as far as `buf` allows; `Ok(Some(end))` once the argument struct closes.
    fn run(&mut self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        loop {
            match self.stage {
                Stage::Start => {
                    let Some(word) = self.peek::<4>(buf) else {
                        return Ok(None);
                    };
                    let word = i32::from_be_bytes(word);
                    if word < 0 {
                        let version = word as u32;
                        if version & STRICT_VERSION_MASK != STRICT_VERSION_1 {
                            return Err(FrameError::BadVersion { version });
                        }
                        self.pos = 4;
                        // name length, seqid, STOP
                        self.reserve = 4 + 4 + 1;
                        self.stage = Stage::StrictNameLen;
                    } else {
                        // Old header: the first word is the name length.
                        let len = Self::non_negative(word, 0)?;
                        if len > MAX_NAME_LEN {
                            return Err(FrameError::NameTooLong { len });
                        }
                        self.pos = 4 + len;
                        // message type, seqid, STOP
                        self.reserve = 1 + 4 + 1;
                        self.stage = Stage::MsgType;
                    }
                    self.check_size()?;
                }
                Stage::StrictNameLen => {
                    let Some(word) = self.peek::<4>(buf) else {
                        return Ok(None);
                    };
                    let len = Self::non_negative(i32::from_be_bytes(word), self.pos)?;
                    if len > MAX_NAME_LEN {
                        return Err(FrameError::NameTooLong { len });
                    }
                    self.consume_reserved(4);
                    self.pos += len;
                    self.check_size()?;
                    self.stage = Stage::SeqId;
                }
                Stage::MsgType => {
                    // Any type byte is structurally fine; the server judges it.
                    if !self.have(buf, 1) {
                        return Ok(None);
                    }
                    self.consume_reserved(1);
                    self.stage = Stage::SeqId;
                }
                Stage::SeqId => {
                    if !self.have(buf, 4) {
                        return Ok(None);
                    }
                    self.consume_reserved(4);
                    self.push(Frame::Struct)?;
                    self.stage = Stage::Body;
                }
                Stage::Body => {
                    if !self.step(buf)? {
                        if self.stack.is_empty() && self.pending.is_none() {
                            return Ok(Some(self.pos));
                        }
                        return Ok(None);
                    }
                }
                Stage::Done(n) => return Ok(Some(n)),
                Stage::Failed(ref e) => return Err(e.clone()),
            }
        }
    }

    /// One step inside the argument struct. `Ok(false)`: no progress possible (more
    /// bytes needed, or the message is complete).
    fn step(&mut self, buf: &[u8]) -> Result<bool, FrameError> {
        if let Some(t) = self.pending {
            return self.value(buf, t);
        }
        match self.stack.last_mut() {
            None => Ok(false),
            Some(Frame::Seq { elem, remaining }) => {
                if *remaining == 0 {
                    self.stack.pop();
                } else {
                    *remaining -= 1;
                    self.pending = Some(*elem);
                }
                Ok(true)
            }
            Some(Frame::Map {
                key,
                val,
                remaining,
            }) => {
                if *remaining == 0 {
                    self.stack.pop();
                } else {
                    let t = if *remaining % 2 == 0 { *key } else { *val };
                    *remaining -= 1;
                    self.pending = Some(t);
                }
                Ok(true)
            }
            Some(Frame::Struct) => {
                // Look at the type byte alone first, so STOP and bad types are handled
                // without waiting for a field id that may never come.
                let Some([t]) = self.peek::<1>(buf) else {
                    return Ok(false);
                };
                if t == T_STOP {
                    self.consume_reserved(1);
                    self.stack.pop();
                    return Ok(true);
                }
                let Some(min) = min_size(t) else {
                    return Err(FrameError::BadType {
                        type_id: t,
                        at: self.pos,
                    });
                };
                // Type byte + i16 field id, then at least `min` bytes of value: check the
                // limit before waiting for the id, so `wanted` never points past it.
                let needed = self
                    .pos
                    .saturating_add(3 + min)
                    .saturating_add(self.reserve);
                if needed > self.max_message_size {
                    return Err(FrameError::TooLarge {
                        needed,
                        max: self.max_message_size,
                    });
                }
                if buf.len() < self.pos + 3 {
                    self.wanted = Some(self.pos + 3);
                    return Ok(false);
                }
                // The type byte was already counted.
                self.examined += 2;
                self.pos += 3;
                self.reserve += min;
                self.pending = Some(t);
                Ok(true)
            }
        }
    }

    /// Consumes (or starts) one value of type `t` at `pos`; its minimal size is already in
    /// `reserve`. `Ok(false)`: more bytes needed.
    fn value(&mut self, buf: &[u8], t: u8) -> Result<bool, FrameError> {
        if let Some(n) = fixed_size(t) {
            if !self.have(buf, n) {
                return Ok(false);
            }
            self.consume_reserved(n);
        } else {
            match t {
                T_STRING => {
                    let Some(word) = self.peek::<4>(buf) else {
                        return Ok(false);
                    };
                    let len = Self::non_negative(i32::from_be_bytes(word), self.pos)?;
                    self.consume_reserved(4);
                    // Skip the payload by length; it may end beyond `buf`.
                    match self.pos.checked_add(len) {
                        Some(end) => self.pos = end,
                        None => {
                            return Err(FrameError::TooLarge {
                                needed: usize::MAX,
                                max: self.max_message_size,
                            })
                        }
                    }
                    self.check_size()?;
                }
                T_STRUCT => {
                    // Its minimal size is the STOP byte, consumed when the struct closes.
                    self.push(Frame::Struct)?;
                }
                T_LIST | T_SET => {
                    let Some([elem, c0, c1, c2, c3]) = self.peek::<5>(buf) else {
                        return Ok(false);
                    };
                    let raw = i32::from_be_bytes([c0, c1, c2, c3]);
                    let count = Self::non_negative(raw, self.pos + 1)?;
                    let each = Self::elem_min_size(elem, raw, self.pos)?;
                    self.consume_reserved(5);
                    self.promise(count, each)?;
                    if count > 0 {
                        // count <= i32::MAX, so it fits.
                        let remaining = u32::try_from(count).unwrap_or(u32::MAX);
                        self.push(Frame::Seq { elem, remaining })?;
                    }
                }
                T_MAP => {
                    let Some([key, val, c0, c1, c2, c3]) = self.peek::<6>(buf) else {
                        return Ok(false);
                    };
                    let raw = i32::from_be_bytes([c0, c1, c2, c3]);
                    let count = Self::non_negative(raw, self.pos + 2)?;
                    let each = Self::elem_min_size(key, raw, self.pos)?
                        + Self::elem_min_size(val, raw, self.pos + 1)?;
                    self.consume_reserved(6);
                    self.promise(count, each)?;
                    if count > 0 {
                        // 2 * count <= 2 * i32::MAX < u32::MAX.
                        let remaining = u32::try_from(count * 2).unwrap_or(u32::MAX);
                        self.push(Frame::Map {
                            key,
                            val,
                            remaining,
                        })?;
                    }
                }
                _ => {
                    // Unreachable: types are validated before becoming pending.
                    return Err(FrameError::BadType {
                        type_id: t,
                        at: self.pos,
                    });
                }
            }
        }
        self.pending = None;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;
    use thrift::protocol::{
        TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol,
        TListIdentifier, TMapIdentifier, TMessageIdentifier, TMessageType, TOutputProtocol,
        TSetIdentifier, TStructIdentifier, TType,
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

        // Once the length prefix is seen, `wanted` covers the whole payload.
        let header = rich(true, 0);
        let payload_at = header.windows(4).position(|w| w == [0, 0, 0, 0]).unwrap();
        let mut s = FrameScanner::new(LIMIT);
        let prefix = payload_at + 4 + 10;
        assert_eq!(s.scan(&msg[..prefix]), Ok(None));
        assert_eq!(s.wanted(), Some(payload_at + 4 + 4 * MIB + 1));
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
                    .map(|_| {
                        [0u8, 2, 3, 8, 11, 12, 13, 15][rng.below(8)] ^ (rng.below(50) == 0) as u8
                    })
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
}
