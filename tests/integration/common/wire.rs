//! Raw wire: hand-encoded requests and decoded replies over a plain `TcpStream`.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol,
    TMessageIdentifier, TMessageType, TOutputProtocol, TSerializable, TStructIdentifier, TType,
};

/// A call message `name(1: <args written by write_request>)`; `strict = false` writes
/// the old header (name length first, then the type byte).
pub fn encode_call_with(
    name: &str,
    seq: i32,
    strict: bool,
    write_request: impl FnOnce(&mut dyn TOutputProtocol) -> thrift::Result<()>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut o = TBinaryOutputProtocol::new(&mut out, strict);
        o.write_message_begin(&TMessageIdentifier::new(name, TMessageType::Call, seq))
            .unwrap();
        o.write_struct_begin(&TStructIdentifier::new("args"))
            .unwrap();
        o.write_field_begin(&TFieldIdentifier::new("request", TType::Struct, 1))
            .unwrap();
        write_request(&mut o).unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_message_end().unwrap();
        o.flush().unwrap();
    }
    out
}

/// A call message carrying a generated request struct.
pub fn encode_call<T: TSerializable>(name: &str, seq: i32, strict: bool, request: &T) -> Vec<u8> {
    encode_call_with(name, seq, strict, |o| request.write_to_out_protocol(o))
}

pub fn encode_ping(seq: i32, strict: bool, client_id: &str) -> Vec<u8> {
    encode_call(
        "ping",
        seq,
        strict,
        &TBrokerPingBrokerRequest::new(TBrokerVersion::VERSION_ONE, client_id.to_string()),
    )
}

/// One reply read off a raw stream.
#[derive(Debug)]
pub enum RawReply<T> {
    /// A `Reply` message whose `success` field (id 0) held `T`.
    Success { name: String, seq: i32, value: T },
    /// An `Exception` message (TApplicationException).
    Exception {
        name: String,
        seq: i32,
        error: thrift::ApplicationError,
    },
}

impl<T: std::fmt::Debug> RawReply<T> {
    /// The success value; panics on an exception.
    #[track_caller]
    pub fn value(self) -> T {
        match self {
            RawReply::Success { value, .. } => value,
            other => panic!("expected a reply, got {other:?}"),
        }
    }
}

/// Reads exactly one reply message (strict or old header) from `stream`.
pub fn read_reply<T: TSerializable>(stream: &mut TcpStream) -> thrift::Result<RawReply<T>> {
    let mut i = TBinaryInputProtocol::new(stream, false);
    let header = i.read_message_begin()?;
    match header.message_type {
        TMessageType::Exception => {
            let error = thrift::Error::read_application_error_from_in_protocol(&mut i)?;
            i.read_message_end()?;
            Ok(RawReply::Exception {
                name: header.name,
                seq: header.sequence_number,
                error,
            })
        }
        TMessageType::Reply => {
            i.read_struct_begin()?;
            let mut value = None;
            loop {
                let field = i.read_field_begin()?;
                if field.field_type == TType::Stop {
                    break;
                }
                if field.id == Some(0) && field.field_type == TType::Struct {
                    value = Some(T::read_from_in_protocol(&mut i)?);
                } else {
                    i.skip(field.field_type)?;
                }
                i.read_field_end()?;
            }
            i.read_struct_end()?;
            i.read_message_end()?;
            let value = value.ok_or_else(|| {
                thrift::Error::from(thrift::ProtocolError::new(
                    thrift::ProtocolErrorKind::InvalidData,
                    "reply without a success field",
                ))
            })?;
            Ok(RawReply::Success {
                name: header.name,
                seq: header.sequence_number,
                value,
            })
        }
        other => panic!("unexpected message type {other:?}"),
    }
}

/// Whether the broker closed `stream` (EOF or reset) within `timeout`, with any bytes it
/// sent before that.
pub fn closed_within(stream: &mut TcpStream, timeout: Duration) -> (bool, Vec<u8>) {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return (false, got);
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (true, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (false, got)
            }
            Err(_) => return (true, got),
        }
    }
}
