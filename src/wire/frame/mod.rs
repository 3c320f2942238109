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

mod type_sizes;

use type_sizes::{fixed_size, min_size};
use type_sizes::{T_LIST, T_MAP, T_SET, T_STOP, T_STRING, T_STRUCT};

/// Deepest nesting of structs/containers accepted, the top-level argument struct included.
/// Bounds the scanner's stack (it is allocated once, at this capacity) and rejects depth
/// bombs; it matches the Thrift runtime's own skip depth.
pub const MAX_DEPTH: usize = 64;

/// Longest method name accepted in a message header. Broker method names are short; a
/// longer "name" means the peer is not speaking the binary protocol (e.g. an HTTP request).
pub const MAX_NAME_LEN: usize = 256;

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
    /// whole payload and the least that must follow it (the STOP bytes of the open
    /// structs), so a pwrite's chunk is received into one buffer of its message's size:
    /// one byte short, the receive buffer grows once more for the last STOP byte, and
    /// growing a buffer that large copies all of it.
    pub fn wanted(&self) -> Option<usize> {
        let least = self.pos.saturating_add(self.reserve);
        self.wanted.map(|wanted| wanted.max(least))
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
mod tests;
