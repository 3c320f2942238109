//! A binary-protocol reader over one whole message already in memory.
//!
//! The `thrift` crate's own `TBinaryInputProtocol` allocates whatever length a string or
//! list header claims before reading it (a `-1` becomes a 16 EiB `Vec`), and generated
//! code reads a known field id as its declared type whatever the wire type says. Reading
//! from a bounded slice and checking every length against the bytes that are really left
//! turns all of that into a plain decode error.

use std::convert::TryFrom;

use thrift::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TMessageIdentifier,
    TMessageType, TSetIdentifier, TStructIdentifier, TType,
};
use thrift::{ProtocolError, ProtocolErrorKind};

pub struct SliceInput<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn error(kind: ProtocolErrorKind, message: impl Into<String>) -> thrift::Error {
    thrift::Error::Protocol(ProtocolError::new(kind, message.into()))
}

impl<'a> SliceInput<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        SliceInput { buf, pos: 0 }
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

    /// A length or count, refused when negative or larger than what is left (each element
    /// of a container needs at least one byte).
    fn length(&mut self) -> thrift::Result<usize> {
        let n = self.read_i32()?;
        let left = self.buf.len() - self.pos;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= left)
            .ok_or_else(|| error(ProtocolErrorKind::SizeLimit, format!("bad length {n}")))
    }

    fn ttype(&mut self) -> thrift::Result<TType> {
        let b = self.read_byte()?;
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
}

impl TInputProtocol for SliceInput<'_> {
    fn read_message_begin(&mut self) -> thrift::Result<TMessageIdentifier> {
        let first = self.read_i32()?;
        let (name, kind) = if first < 0 {
            if (first as u32) & 0xffff_0000 != 0x8001_0000 {
                return Err(error(ProtocolErrorKind::BadVersion, "bad protocol version"));
            }
            (self.read_string()?, (first & 0xff) as u8)
        } else {
            // Old non-strict header: the name's length comes first, the type after it.
            self.pos -= 4;
            let name = self.read_string()?;
            (name, self.read_byte()?)
        };
        let message_type = TMessageType::try_from(kind)?;
        let seq = self.read_i32()?;
        Ok(TMessageIdentifier::new(name, message_type, seq))
    }

    fn read_message_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_struct_begin(&mut self) -> thrift::Result<Option<TStructIdentifier>> {
        Ok(None)
    }

    fn read_struct_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_field_begin(&mut self) -> thrift::Result<TFieldIdentifier> {
        let field_type = self.ttype()?;
        let id = match field_type {
            TType::Stop => None,
            _ => Some(self.read_i16()?),
        };
        Ok(TFieldIdentifier::new::<Option<String>, String, Option<i16>>(None, field_type, id))
    }

    fn read_field_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_bool(&mut self) -> thrift::Result<bool> {
        match self.read_byte()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(error(
                ProtocolErrorKind::InvalidData,
                format!("bad bool value {other}"),
            )),
        }
    }

    fn read_bytes(&mut self) -> thrift::Result<Vec<u8>> {
        let n = self.length()?;
        Ok(self.take(n)?.to_vec())
    }

    fn read_i8(&mut self) -> thrift::Result<i8> {
        Ok(self.read_byte()? as i8)
    }

    fn read_i16(&mut self) -> thrift::Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn read_i32(&mut self) -> thrift::Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn read_i64(&mut self) -> thrift::Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn read_double(&mut self) -> thrift::Result<f64> {
        Ok(f64::from_be_bytes(self.array()?))
    }

    fn read_string(&mut self) -> thrift::Result<String> {
        let n = self.length()?;
        String::from_utf8(self.take(n)?.to_vec())
            .map_err(|_| error(ProtocolErrorKind::InvalidData, "string is not UTF-8"))
    }

    fn read_list_begin(&mut self) -> thrift::Result<TListIdentifier> {
        let element_type = self.ttype()?;
        let size = self.length()? as i32;
        Ok(TListIdentifier::new(element_type, size))
    }

    fn read_list_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_set_begin(&mut self) -> thrift::Result<TSetIdentifier> {
        let element_type = self.ttype()?;
        let size = self.length()? as i32;
        Ok(TSetIdentifier::new(element_type, size))
    }

    fn read_set_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_map_begin(&mut self) -> thrift::Result<TMapIdentifier> {
        let key_type = self.ttype()?;
        let value_type = self.ttype()?;
        let size = self.length()? as i32;
        Ok(TMapIdentifier::new(key_type, value_type, size))
    }

    fn read_map_end(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn read_byte(&mut self) -> thrift::Result<u8> {
        Ok(self.take(1)?[0])
    }
}
