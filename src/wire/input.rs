//! A binary-protocol reader over one whole message already in memory.
//!
//! The `thrift` crate's own `TBinaryInputProtocol` allocates whatever length a string or
//! list header claims before reading it (a `-1` becomes a 16 EiB `Vec`), and generated
//! code reads a known field id as its declared type whatever the wire type says. Reading
//! from a bounded slice and checking every length against the bytes that are really left
//! turns all of that into a plain decode error.
//!
//! Wire types are checked too: the reader remembers the type the wire announced for the
//! next value (from a field header or a container header), and a read of any other type
//! is an error naming both, instead of a misparse of the bytes (an `i64` field read as a
//! string would take its first four bytes as a length). The Java runtime skips such a
//! field instead; no real client sends one, and refusing it loudly is the safer answer.

use std::convert::TryFrom;

use bytes::Bytes;
use thrift::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TMessageIdentifier,
    TMessageType, TSetIdentifier, TStructIdentifier, TType,
};
use thrift::{ProtocolError, ProtocolErrorKind};

use super::frame::MAX_DEPTH;

pub struct SliceInput<'a> {
    buf: &'a [u8],
    /// The buffer `buf` is, when the message arrived in one: binary fields read with
    /// [`SliceInput::read_shared_bytes`] are then slices of it, not copies.
    owner: Option<&'a Bytes>,
    pos: usize,
    /// Wire type of the next value, when a field header just announced it.
    next: Option<TType>,
    /// Open structs and containers, innermost last; inside a container the wire type of
    /// each element comes from its header. Never deeper than [`MAX_DEPTH`].
    open: Vec<Open>,
}

/// An open struct or container, for the wire types of the values read inside it.
#[derive(Debug, Clone, Copy)]
enum Open {
    Struct,
    Seq(TType),
    /// Key and value types; `key_next` flips on every element read.
    Map {
        key: TType,
        val: TType,
        key_next: bool,
    },
}

fn error(kind: ProtocolErrorKind, message: impl Into<String>) -> thrift::Error {
    thrift::Error::Protocol(ProtocolError::new(kind, message.into()))
}

impl<'a> SliceInput<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        SliceInput {
            buf,
            owner: None,
            pos: 0,
            next: None,
            open: Vec::new(),
        }
    }

    /// A reader over `msg` whose binary fields can be taken without copying them.
    pub fn shared(msg: &'a Bytes) -> Self {
        SliceInput {
            owner: Some(msg),
            ..SliceInput::new(msg)
        }
    }

    /// A binary value as a slice of the message's own buffer (a copy only when the
    /// message was not given as [`Bytes`]): a pwrite's megabytes are not copied again.
    pub fn read_shared_bytes(&mut self) -> thrift::Result<Bytes> {
        self.expect(TType::String)?;
        let bytes = self.raw_bytes()?;
        Ok(match self.owner {
            Some(owner) => owner.slice_ref(bytes),
            None => Bytes::copy_from_slice(bytes),
        })
    }

    fn take(&mut self, n: usize) -> thrift::Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| error(ProtocolErrorKind::InvalidData, "message ends mid-value"))?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> thrift::Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn raw_byte(&mut self) -> thrift::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn raw_i32(&mut self) -> thrift::Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// A length or count, refused when negative or larger than what is left (each element
    /// of a container needs at least one byte), so no allocation sized from it can exceed
    /// the message itself.
    fn length(&mut self) -> thrift::Result<usize> {
        let n = self.raw_i32()?;
        let left = self.buf.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| error(ProtocolErrorKind::SizeLimit, format!("bad length {n}")))
    }

    fn raw_bytes(&mut self) -> thrift::Result<&'a [u8]> {
        let n = self.length()?;
        self.take(n)
    }

    fn ttype(&mut self) -> thrift::Result<TType> {
        let b = self.raw_byte()?;
        let t = match b {
            0 => TType::Stop,
            2 => TType::Bool,
            3 => TType::I08,
            4 => TType::Double,
            6 => TType::I16,
            8 => TType::I32,
            10 => TType::I64,
            11 => TType::String,
            12 => TType::Struct,
            13 => TType::Map,
            14 => TType::Set,
            15 => TType::List,
            other => {
                return Err(error(
                    ProtocolErrorKind::InvalidData,
                    format!("unknown field type {other}"),
                ))
            }
        };
        Ok(t)
    }

    /// The wire type announced for the value about to be read (`None` where nothing
    /// announced one: the message's argument struct), consuming the announcement.
    fn announced(&mut self) -> Option<TType> {
        if let Some(t) = self.next.take() {
            return Some(t);
        }
        match self.open.last_mut()? {
            Open::Struct => None,
            Open::Seq(t) => Some(*t),
            Open::Map { key, val, key_next } => {
                let t = if *key_next { *key } else { *val };
                *key_next = !*key_next;
                Some(t)
            }
        }
    }

    /// Refuses to read a value of type `want` where the wire announced another type.
    fn expect(&mut self, want: TType) -> thrift::Result<()> {
        match self.announced() {
            Some(got) if got != want => Err(error(
                ProtocolErrorKind::InvalidData,
                format!("wire type {got:?} where {want:?} was expected"),
            )),
            _ => Ok(()),
        }
    }

    fn open(&mut self, o: Open) -> thrift::Result<()> {
        if self.open.len() >= MAX_DEPTH {
            return Err(error(
                ProtocolErrorKind::DepthLimit,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
        }
        self.open.push(o);
        Ok(())
    }

    fn close(&mut self) -> thrift::Result<()> {
        self.open.pop();
        Ok(())
    }

    /// Skips one value of wire type `t` by the bytes alone (strings are not checked for
    /// UTF-8, as Thrift's skip reads them as binary), at most `depth` levels deep.
    fn skip_value(&mut self, t: TType, depth: usize) -> thrift::Result<()> {
        if depth == 0 {
            return Err(error(
                ProtocolErrorKind::DepthLimit,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
        }
        match t {
            TType::Bool | TType::I08 => self.take(1).map(drop),
            TType::I16 => self.take(2).map(drop),
            TType::I32 => self.take(4).map(drop),
            TType::I64 | TType::Double => self.take(8).map(drop),
            TType::String => self.raw_bytes().map(drop),
            TType::Struct => loop {
                let field = self.ttype()?;
                if field == TType::Stop {
                    return Ok(());
                }
                self.take(2)?;
                self.skip_value(field, depth - 1)?;
            },
            TType::List | TType::Set => {
                let elem = self.ttype()?;
                for _ in 0..self.length()? {
                    self.skip_value(elem, depth - 1)?;
                }
                Ok(())
            }
            TType::Map => {
                let (key, val) = (self.ttype()?, self.ttype()?);
                for _ in 0..self.length()? {
                    self.skip_value(key, depth - 1)?;
                    self.skip_value(val, depth - 1)?;
                }
                Ok(())
            }
            other => Err(error(
                ProtocolErrorKind::InvalidData,
                format!("cannot skip a value of type {other:?}"),
            )),
        }
    }
}

impl TInputProtocol for SliceInput<'_> {
    fn read_message_begin(&mut self) -> thrift::Result<TMessageIdentifier> {
        let first = self.raw_i32()?;
        let (name, kind) = if first < 0 {
            if (first as u32) & 0xffff_0000 != 0x8001_0000 {
                return Err(error(ProtocolErrorKind::BadVersion, "bad protocol version"));
            }
            (self.read_string()?, (first & 0xff) as u8)
        } else {
            // Old non-strict header: the name's length comes first, the type after it.
            self.pos -= 4;
            let name = self.read_string()?;
            (name, self.raw_byte()?)
        };
        let message_type = TMessageType::try_from(kind)?;
        let seq = self.raw_i32()?;
        Ok(TMessageIdentifier::new(name, message_type, seq))
    }

    fn read_message_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_struct_begin(&mut self) -> thrift::Result<Option<TStructIdentifier>> {
        self.expect(TType::Struct)?;
        self.open(Open::Struct)?;
        Ok(None)
    }

    fn read_struct_end(&mut self) -> thrift::Result<()> {
        self.close()
    }

    fn read_field_begin(&mut self) -> thrift::Result<TFieldIdentifier> {
        let field_type = self.ttype()?;
        let id = match field_type {
            TType::Stop => None,
            _ => Some(i16::from_be_bytes(self.array()?)),
        };
        // STOP announces nothing: the struct closes and its container's rules apply again.
        self.next = (field_type != TType::Stop).then_some(field_type);
        Ok(TFieldIdentifier::new::<Option<String>, String, Option<i16>>(None, field_type, id))
    }

    fn read_field_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_bool(&mut self) -> thrift::Result<bool> {
        self.expect(TType::Bool)?;
        match self.raw_byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(error(
                ProtocolErrorKind::InvalidData,
                format!("bad bool value {other}"),
            )),
        }
    }

    fn read_bytes(&mut self) -> thrift::Result<Vec<u8>> {
        self.expect(TType::String)?;
        Ok(self.raw_bytes()?.to_vec())
    }

    fn read_i8(&mut self) -> thrift::Result<i8> {
        self.expect(TType::I08)?;
        Ok(self.raw_byte()? as i8)
    }

    fn read_i16(&mut self) -> thrift::Result<i16> {
        self.expect(TType::I16)?;
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn read_i32(&mut self) -> thrift::Result<i32> {
        self.expect(TType::I32)?;
        self.raw_i32()
    }

    fn read_i64(&mut self) -> thrift::Result<i64> {
        self.expect(TType::I64)?;
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn read_double(&mut self) -> thrift::Result<f64> {
        self.expect(TType::Double)?;
        Ok(f64::from_be_bytes(self.array()?))
    }

    fn read_string(&mut self) -> thrift::Result<String> {
        self.expect(TType::String)?;
        String::from_utf8(self.raw_bytes()?.to_vec())
            .map_err(|_| error(ProtocolErrorKind::InvalidData, "string is not UTF-8"))
    }

    fn read_list_begin(&mut self) -> thrift::Result<TListIdentifier> {
        self.expect(TType::List)?;
        let element_type = self.ttype()?;
        let size = self.length()? as i32;
        self.open(Open::Seq(element_type))?;
        Ok(TListIdentifier::new(element_type, size))
    }

    fn read_list_end(&mut self) -> thrift::Result<()> {
        self.close()
    }

    fn read_set_begin(&mut self) -> thrift::Result<TSetIdentifier> {
        self.expect(TType::Set)?;
        let element_type = self.ttype()?;
        let size = self.length()? as i32;
        self.open(Open::Seq(element_type))?;
        Ok(TSetIdentifier::new(element_type, size))
    }

    fn read_set_end(&mut self) -> thrift::Result<()> {
        self.close()
    }

    fn read_map_begin(&mut self) -> thrift::Result<TMapIdentifier> {
        self.expect(TType::Map)?;
        let key_type = self.ttype()?;
        let value_type = self.ttype()?;
        let size = self.length()? as i32;
        self.open(Open::Map {
            key: key_type,
            val: value_type,
            key_next: true,
        })?;
        Ok(TMapIdentifier::new(key_type, value_type, size))
    }

    fn read_map_end(&mut self) -> thrift::Result<()> {
        self.close()
    }

    fn read_byte(&mut self) -> thrift::Result<u8> {
        self.raw_byte()
    }

    /// Skips by the bytes alone: the announced type is the one being skipped.
    fn skip_till_depth(&mut self, field_type: TType, _depth: i8) -> thrift::Result<()> {
        self.announced();
        self.skip_value(field_type, MAX_DEPTH - self.open.len())
    }
}
