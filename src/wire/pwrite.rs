//! The `pwrite` argument with its data as [`Bytes`]: a slice of the buffer the message
//! was received into, so a chunk of 1-4 MiB is never copied between the socket and the
//! store. The generated `TBrokerPWriteRequest` reads its data into a fresh `Vec<u8>`
//! (one more copy and allocation per call); this type reads the same fields, with the
//! same required-field errors, and writes the same bytes.

use bytes::Bytes;
use thrift::protocol::{
    field_id, TFieldIdentifier, TInputProtocol, TOutputProtocol, TSerializable, TStructIdentifier,
    TType,
};
use thrift::{ProtocolError, ProtocolErrorKind};

use super::generated::{TBrokerFD, TBrokerVersion};
use super::SliceInput;

/// A decoded `TBrokerPWriteRequest`.
#[derive(Clone, PartialEq, Eq)]
pub struct PwriteRequest {
    pub version: TBrokerVersion,
    pub fd: TBrokerFD,
    pub offset: i64,
    pub data: Bytes,
}

impl std::fmt::Debug for PwriteRequest {
    /// The data's length, not its megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PwriteRequest")
            .field("version", &self.version)
            .field("fd", &self.fd)
            .field("offset", &self.offset)
            .field("data_len", &self.data.len())
            .finish()
    }
}

impl PwriteRequest {
    /// Reads the struct as `TBrokerPWriteRequest::read_from_in_protocol` does, the data
    /// field shared with the message (see [`SliceInput::read_shared_bytes`]).
    pub(super) fn read(input: &mut SliceInput<'_>) -> thrift::Result<PwriteRequest> {
        input.read_struct_begin()?;
        let (mut version, mut fd, mut offset, mut data) = (None, None, None, None);
        loop {
            let field = input.read_field_begin()?;
            if field.field_type == TType::Stop {
                break;
            }
            match field_id(&field)? {
                1 => version = Some(TBrokerVersion::read_from_in_protocol(input)?),
                2 => fd = Some(TBrokerFD::read_from_in_protocol(input)?),
                3 => offset = Some(input.read_i64()?),
                4 => data = Some(input.read_shared_bytes()?),
                _ => input.skip(field.field_type)?,
            }
            input.read_field_end()?;
        }
        input.read_struct_end()?;
        Ok(PwriteRequest {
            version: required("version", version)?,
            fd: required("fd", fd)?,
            offset: required("offset", offset)?,
            data: required("data", data)?,
        })
    }

    /// Writes the same bytes as `TBrokerPWriteRequest::write_to_out_protocol`.
    pub fn write_to_out_protocol(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        o.write_struct_begin(&TStructIdentifier::new("TBrokerPWriteRequest"))?;
        o.write_field_begin(&TFieldIdentifier::new("version", TType::I32, 1))?;
        self.version.write_to_out_protocol(o)?;
        o.write_field_end()?;
        o.write_field_begin(&TFieldIdentifier::new("fd", TType::Struct, 2))?;
        self.fd.write_to_out_protocol(o)?;
        o.write_field_end()?;
        o.write_field_begin(&TFieldIdentifier::new("offset", TType::I64, 3))?;
        o.write_i64(self.offset)?;
        o.write_field_end()?;
        o.write_field_begin(&TFieldIdentifier::new("data", TType::String, 4))?;
        o.write_bytes(&self.data)?;
        o.write_field_end()?;
        o.write_field_stop()?;
        o.write_struct_end()
    }
}

/// The field's value, or the error the generated code gives for a missing one.
fn required<T>(field: &str, value: Option<T>) -> thrift::Result<T> {
    value.ok_or_else(|| {
        thrift::Error::Protocol(ProtocolError::new(
            ProtocolErrorKind::Unknown,
            format!("missing required field TBrokerPWriteRequest.{field}"),
        ))
    })
}

#[cfg(test)]
mod tests {
    use thrift::protocol::{TBinaryOutputProtocol, TMessageIdentifier, TMessageType};

    use super::super::generated::{TBrokerPWriteRequest, TBrokerVersion};
    use super::super::{decode, decode_shared, Call, Incoming};
    use super::*;

    fn pwrite_message(req: &TBrokerPWriteRequest) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut o = TBinaryOutputProtocol::new(&mut out, true);
            o.write_message_begin(&TMessageIdentifier::new("pwrite", TMessageType::Call, 7))
                .unwrap();
            o.write_struct_begin(&TStructIdentifier::new("args"))
                .unwrap();
            o.write_field_begin(&TFieldIdentifier::new("request", TType::Struct, 1))
                .unwrap();
            req.write_to_out_protocol(&mut o).unwrap();
            o.write_field_end().unwrap();
            o.write_field_stop().unwrap();
            o.write_struct_end().unwrap();
        }
        out
    }

    fn decoded(incoming: thrift::Result<Incoming>) -> PwriteRequest {
        match incoming {
            Ok(Incoming::Call {
                seq: 7,
                call: Call::Pwrite(req),
            }) => req,
            other => panic!("not the pwrite: {other:?}"),
        }
    }

    /// The shared decode gives the generated struct's fields, its data a slice of the
    /// message (no copy), and writes back the generated encoding byte for byte.
    #[test]
    fn shared_data_is_a_slice_of_the_message_and_encodes_the_same() {
        let fd = TBrokerFD::new(1, 2);
        let sent = TBrokerPWriteRequest::new(TBrokerVersion::VERSION_ONE, fd, 42, vec![5; 3000]);
        let msg = Bytes::from(pwrite_message(&sent));
        let req = decoded(decode_shared(&msg));
        assert_eq!(
            (req.version, &req.fd, req.offset, &req.data[..]),
            (sent.version, &sent.fd, sent.offset, &sent.data[..])
        );
        let inside = msg.as_ptr_range();
        assert!(inside.contains(&req.data.as_ptr()), "data was copied");
        assert_eq!(decoded(decode(&msg)), req, "the copying decode agrees");

        let (mut ours, mut generated) = (Vec::new(), Vec::new());
        req.write_to_out_protocol(&mut TBinaryOutputProtocol::new(&mut ours, true))
            .unwrap();
        sent.write_to_out_protocol(&mut TBinaryOutputProtocol::new(&mut generated, true))
            .unwrap();
        assert_eq!(ours, generated);
    }
}
