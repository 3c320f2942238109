//! Thrift on the wire: where a message ends ([`frame`]), what it asks ([`decode`]) and
//! how the answer is written ([`encode_reply`]).
//!
//! The service name never travels, so StarRocks' `TFileBrokerService` and Doris'
//! `TPaloBrokerService` calls land in the same [`Call`] set.

pub mod frame;
#[allow(clippy::all, dead_code, unused_variables, deprecated)]
#[rustfmt::skip]
pub mod generated;
#[cfg(test)]
mod hostile;
mod input;
mod methods;
mod pwrite;

use thrift::protocol::{
    TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol, TMessageIdentifier, TMessageType,
    TOutputProtocol, TSerializable, TStructIdentifier, TType,
};
use thrift::{ApplicationError, ApplicationErrorKind};

use bytes::Bytes;

use crate::buffer::ReadBuf;
use generated::*;
pub use input::SliceInput;
pub use methods::{method_table, Call, Failed, Method};
pub use pwrite::PwriteRequest;

/// The response of one call; its variant fixes the result type on the wire.
#[derive(Debug)]
pub enum Reply {
    List(TBrokerListResponse),
    Status(TBrokerOperationStatus),
    CheckPathExist(TBrokerCheckPathExistResponse),
    OpenReader(TBrokerOpenReaderResponse),
    Read(TBrokerReadResponse),
    /// A successful pread: its data goes to the socket straight from the buffer it was
    /// read into, after the header [`encode_reply`] writes and before [`DATA_TRAILER`].
    Data(ReadBuf),
    OpenWriter(TBrokerOpenWriterResponse),
    FileSize(TBrokerFileSizeResponse),
    IsSplittable(TBrokerIsSplittableResponse),
}

impl Reply {
    /// The reply a method gives when it fails with `status`, every required field set.
    pub fn failure(method: Method, status: TBrokerOperationStatus) -> Reply {
        method.failure(status)
    }

    /// The status this reply carries; `None` for a pread's data (always OK).
    pub fn status(&self) -> Option<&TBrokerOperationStatus> {
        match self {
            Reply::List(r) => Some(&r.op_status),
            Reply::Status(s) => Some(s),
            Reply::CheckPathExist(r) => Some(&r.op_status),
            Reply::OpenReader(r) => Some(&r.op_status),
            Reply::Read(r) => Some(&r.op_status),
            Reply::Data(_) => None,
            Reply::OpenWriter(r) => Some(&r.op_status),
            Reply::FileSize(r) => Some(&r.op_status),
            Reply::IsSplittable(r) => r.op_status.as_ref(),
        }
    }

    /// The status code this reply carries (for logs and the audit trail).
    pub fn status_code(&self) -> i32 {
        self.status().map_or(0, |s| s.status_code.0)
    }

    fn write_value(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        match self {
            Reply::List(r) => r.write_to_out_protocol(o),
            Reply::Status(r) => r.write_to_out_protocol(o),
            Reply::CheckPathExist(r) => r.write_to_out_protocol(o),
            Reply::OpenReader(r) => r.write_to_out_protocol(o),
            Reply::Read(r) => r.write_to_out_protocol(o),
            Reply::Data(data) => write_data_head(o, data.len()),
            Reply::OpenWriter(r) => r.write_to_out_protocol(o),
            Reply::FileSize(r) => r.write_to_out_protocol(o),
            Reply::IsSplittable(r) => r.write_to_out_protocol(o),
        }
    }
}

/// What a whole message off the wire turned out to be.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed call of a method we serve.
    Call { seq: i32, call: Call },
    /// A known method whose argument could not be decoded (missing required field, wrong
    /// type): answered with that method's response and INVALID_ARGUMENT, never an
    /// exception, because the BE resends on exceptions.
    BadArgs {
        seq: i32,
        method: Method,
        error: String,
    },
    /// A method no broker serves: answered with UNKNOWN_METHOD, the connection stays.
    UnknownMethod { seq: i32, name: String },
}

/// Decodes one whole message (as found by [`frame::FrameScanner`]). An `Err` means the
/// peer does not speak our protocol: drop the connection. A pwrite's data is copied out
/// of `msg`; [`decode_shared`] avoids that.
pub fn decode(msg: &[u8]) -> thrift::Result<Incoming> {
    decode_from(SliceInput::new(msg))
}

/// [`decode`] for a message received into its own buffer: a pwrite's data is a slice of
/// `msg` (it keeps that buffer alive until the write is done), not a copy.
pub fn decode_shared(msg: &Bytes) -> thrift::Result<Incoming> {
    decode_from(SliceInput::shared(msg))
}

fn decode_from(mut input: SliceInput<'_>) -> thrift::Result<Incoming> {
    let header = input.read_message_begin()?;
    if !matches!(
        header.message_type,
        TMessageType::Call | TMessageType::OneWay
    ) {
        return Err(thrift::Error::Protocol(thrift::ProtocolError::new(
            thrift::ProtocolErrorKind::InvalidData,
            format!("unexpected message type {:?}", header.message_type),
        )));
    }
    let seq = header.sequence_number;
    let Some(method) = Method::from_name(&header.name) else {
        return Ok(Incoming::UnknownMethod {
            seq,
            name: header.name,
        });
    };
    Ok(match method.read_call(&mut input) {
        Ok(call) => Incoming::Call { seq, call },
        Err(e) => Incoming::BadArgs {
            seq,
            method,
            error: describe(&e),
        },
    })
}

/// The error with its cause: the thrift crate's `Display` of a protocol error prints only
/// the kind ("bad data"), dropping the message that says which field and why.
fn describe(e: &thrift::Error) -> String {
    match e {
        thrift::Error::Protocol(p) if !p.message.is_empty() => format!("{p}, {}", p.message),
        other => other.to_string(),
    }
}

/// A method's argument as the decoder reads it: the generated struct, or a type of our own
/// where the generated one would copy ([`PwriteRequest`]).
trait Argument: Sized {
    fn read(input: &mut SliceInput<'_>) -> thrift::Result<Self>;
}

impl<T: TSerializable> Argument for T {
    fn read(input: &mut SliceInput<'_>) -> thrift::Result<T> {
        T::read_from_in_protocol(input)
    }
}

impl Argument for PwriteRequest {
    fn read(input: &mut SliceInput<'_>) -> thrift::Result<PwriteRequest> {
        PwriteRequest::read(input)
    }
}

/// Reads the args struct `{1: request}`, skipping unknown fields as Thrift requires.
fn read_args<T: Argument>(input: &mut SliceInput<'_>) -> thrift::Result<T> {
    input.read_struct_begin()?;
    let mut request = None;
    loop {
        let field = input.read_field_begin()?;
        if field.field_type == TType::Stop {
            break;
        }
        if field.id == Some(1) && field.field_type == TType::Struct {
            request = Some(T::read(input)?);
        } else {
            input.skip(field.field_type)?;
        }
        input.read_field_end()?;
    }
    input.read_struct_end()?;
    request.ok_or_else(|| {
        thrift::Error::Protocol(thrift::ProtocolError::new(
            thrift::ProtocolErrorKind::InvalidData,
            "required field 'request' is unset",
        ))
    })
}

/// What follows a [`Reply::Data`]'s bytes on the wire: the stop field of the
/// `TBrokerReadResponse`, then that of the result struct (binary protocol).
pub const DATA_TRAILER: &[u8] = &[0, 0];

/// A `TBrokerReadResponse {1: OK, 2: data}` up to and including the data's length prefix;
/// the data and [`DATA_TRAILER`] are written after it by the caller. The data field comes
/// last so that its bytes never pass through the encoder.
fn write_data_head(o: &mut dyn TOutputProtocol, len: usize) -> thrift::Result<()> {
    let ok = TBrokerOperationStatus::new(TBrokerOperationStatusCode::OK, None);
    o.write_struct_begin(&TStructIdentifier::new("TBrokerReadResponse"))?;
    o.write_field_begin(&TFieldIdentifier::new("opStatus", TType::Struct, 1))?;
    ok.write_to_out_protocol(o)?;
    o.write_field_end()?;
    o.write_field_begin(&TFieldIdentifier::new("data", TType::String, 2))?;
    // The read cap (hdfs_read_buffer_size_kb) keeps data far below 2 GiB.
    o.write_i32(i32::try_from(len).unwrap_or(i32::MAX))
}

/// Appends the reply message `{0: success}` to `out`. For [`Reply::Data`] it stops at the
/// data's length prefix: the data, then [`DATA_TRAILER`], complete the message.
pub fn encode_reply(out: &mut Vec<u8>, method: Method, seq: i32, reply: &Reply) {
    let mut o = TBinaryOutputProtocol::new(out, true);
    // Writing into a Vec cannot fail.
    let _ = (|| -> thrift::Result<()> {
        o.write_message_begin(&TMessageIdentifier::new(
            method.name(),
            TMessageType::Reply,
            seq,
        ))?;
        o.write_struct_begin(&TStructIdentifier::new("result"))?;
        o.write_field_begin(&TFieldIdentifier::new("success", TType::Struct, 0))?;
        reply.write_value(&mut o)?;
        if matches!(reply, Reply::Data(_)) {
            return Ok(());
        }
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()?;
        o.write_message_end()
    })();
}

/// Appends a `TApplicationException` reply (used only for unknown methods).
pub fn encode_exception(out: &mut Vec<u8>, name: &str, seq: i32, error: ApplicationError) {
    let mut o = TBinaryOutputProtocol::new(out, true);
    let _ = (|| -> thrift::Result<()> {
        o.write_message_begin(&TMessageIdentifier::new(name, TMessageType::Exception, seq))?;
        thrift::Error::write_application_error_to_out_protocol(&error, &mut o)?;
        o.write_message_end()
    })();
}

/// The exception for a method name we do not serve.
pub fn unknown_method(name: &str) -> ApplicationError {
    ApplicationError::new(
        ApplicationErrorKind::UnknownMethod,
        format!("unknown method {name}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pread reply written in three parts is byte for byte what the generated encoder
    /// writes for the same response, whatever the data's length.
    #[test]
    fn data_reply_parts_match_the_generated_encoding() {
        for data in [Vec::new(), b"hello".to_vec(), vec![7u8; 300_000]] {
            let mut generic = Vec::new();
            let response = TBrokerReadResponse::new(
                TBrokerOperationStatus::new(TBrokerOperationStatusCode::OK, None),
                Some(data.clone()),
            );
            encode_reply(&mut generic, Method::Pread, 42, &Reply::Read(response));

            let mut buf = ReadBuf::for_read(data.len());
            buf.extend_from_slice(&data);
            let mut parts = Vec::new();
            encode_reply(&mut parts, Method::Pread, 42, &Reply::Data(buf));
            parts.extend_from_slice(&data);
            parts.extend_from_slice(DATA_TRAILER);
            assert_eq!(parts, generic, "{} bytes of data", data.len());
        }
    }
}
