//! A lean Thrift client for the bench: the crate's generated structs on the wire, and
//! pread payloads read straight into a buffer the caller reuses, so the client side costs
//! as little as it can and the numbers are about the server.

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol,
    TMessageIdentifier, TMessageType, TOutputProtocol, TSerializable, TStructIdentifier, TType,
};

pub const V: TBrokerVersion = TBrokerVersion::VERSION_ONE;

pub type Result<T> = std::result::Result<T, String>;

/// One connection; calls are synchronous, one at a time, as BE and FE make them.
pub struct Conn {
    input: TBinaryInputProtocol<BufReader<TcpStream>>,
    writer: TcpStream,
    out: Vec<u8>,
    seq: i32,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// OK, or the status code and message as an error.
pub fn check(status: &TBrokerOperationStatus) -> Result<()> {
    if status.status_code == TBrokerOperationStatusCode::OK {
        Ok(())
    } else {
        Err(format!(
            "status {}: {}",
            status.status_code.0,
            status.message.clone().unwrap_or_default()
        ))
    }
}

impl Conn {
    /// `read_buffer`: the client's receive buffer (BufReader capacity).
    pub fn connect(addr: SocketAddr, read_buffer: usize) -> Result<Conn> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(err)?;
        let writer = stream.try_clone().map_err(err)?;
        Ok(Conn {
            input: TBinaryInputProtocol::new(BufReader::with_capacity(read_buffer, stream), true),
            writer,
            out: Vec::with_capacity(4096),
            seq: 0,
        })
    }

    fn send<T: TSerializable>(&mut self, method: &str, request: &T) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        self.out.clear();
        let mut o = TBinaryOutputProtocol::new(&mut self.out, true);
        (|| -> thrift::Result<()> {
            o.write_message_begin(&TMessageIdentifier::new(
                method,
                TMessageType::Call,
                self.seq,
            ))?;
            o.write_struct_begin(&TStructIdentifier::new("args"))?;
            o.write_field_begin(&TFieldIdentifier::new("request", TType::Struct, 1))?;
            request.write_to_out_protocol(&mut o)?;
            o.write_field_end()?;
            o.write_field_stop()?;
            o.write_struct_end()?;
            o.write_message_end()
        })()
        .map_err(err)?;
        self.writer.write_all(&self.out).map_err(err)
    }

    /// Reads the reply header up to the start of the result's `success` value.
    fn begin_reply(&mut self, method: &str) -> Result<()> {
        let header = self.input.read_message_begin().map_err(err)?;
        if header.message_type != TMessageType::Reply || header.sequence_number != self.seq {
            return Err(format!(
                "{method}: unexpected reply {:?} seq {} (sent {})",
                header.message_type, header.sequence_number, self.seq
            ));
        }
        self.input.read_struct_begin().map_err(err)?;
        let field = self.input.read_field_begin().map_err(err)?;
        if field.id != Some(0) || field.field_type != TType::Struct {
            return Err(format!("{method}: reply without a success value"));
        }
        Ok(())
    }

    fn end_reply(&mut self) -> Result<()> {
        self.input.read_field_end().map_err(err)?;
        loop {
            let field = self.input.read_field_begin().map_err(err)?;
            if field.field_type == TType::Stop {
                break;
            }
            self.input.skip(field.field_type).map_err(err)?;
        }
        self.input.read_struct_end().map_err(err)?;
        self.input.read_message_end().map_err(err)
    }

    pub fn call<T: TSerializable, R: TSerializable>(&mut self, method: &str, req: &T) -> Result<R> {
        self.send(method, req)?;
        self.begin_reply(method)?;
        let reply = R::read_from_in_protocol(&mut self.input).map_err(err)?;
        self.end_reply()?;
        Ok(reply)
    }

    pub fn ping(&mut self) -> Result<()> {
        let status: TBrokerOperationStatus = self.call(
            "ping",
            &TBrokerPingBrokerRequest::new(V, "broker_bench".to_string()),
        )?;
        check(&status)
    }

    pub fn open_reader(&mut self, path: &str, props: &Props) -> Result<(TBrokerFD, i64)> {
        let req = TBrokerOpenReaderRequest::new(
            V,
            path.to_string(),
            0,
            "broker_bench".to_string(),
            props.clone(),
        );
        let resp: TBrokerOpenReaderResponse = self.call("openReader", &req)?;
        check(&resp.op_status)?;
        Ok((resp.fd.ok_or("openReader: no fd")?, resp.size.unwrap_or(0)))
    }

    pub fn close_reader(&mut self, fd: &TBrokerFD) -> Result<()> {
        let status: TBrokerOperationStatus = self.call(
            "closeReader",
            &TBrokerCloseReaderRequest::new(V, fd.clone()),
        )?;
        check(&status)
    }

    /// One pread whose data lands in `buf` (grown once, then reused); returns its length.
    pub fn pread_into(
        &mut self,
        fd: &TBrokerFD,
        offset: i64,
        length: i64,
        buf: &mut Vec<u8>,
    ) -> Result<usize> {
        self.send(
            "pread",
            &TBrokerPReadRequest::new(V, fd.clone(), offset, length),
        )?;
        self.begin_reply("pread")?;
        self.input.read_struct_begin().map_err(err)?;
        let mut status = None;
        let mut n = 0;
        loop {
            let field = self.input.read_field_begin().map_err(err)?;
            match (field.field_type, field.id) {
                (TType::Stop, _) => break,
                (TType::Struct, Some(1)) => {
                    status = Some(
                        TBrokerOperationStatus::read_from_in_protocol(&mut self.input)
                            .map_err(err)?,
                    )
                }
                (TType::String, Some(2)) => {
                    n = self.input.read_i32().map_err(err)? as usize;
                    if buf.len() < n {
                        buf.resize(n, 0);
                    }
                    self.input
                        .transport
                        .read_exact(&mut buf[..n])
                        .map_err(err)?;
                }
                (other, _) => self.input.skip(other).map_err(err)?,
            }
            self.input.read_field_end().map_err(err)?;
        }
        self.input.read_struct_end().map_err(err)?;
        self.end_reply()?;
        check(&status.ok_or("pread: reply without a status")?)?;
        Ok(n)
    }

    pub fn list(&mut self, pattern: &str) -> Result<usize> {
        let req = TBrokerListPathRequest::new(
            V,
            pattern.to_string(),
            false,
            Props::new(),
            Some(false),
            None,
        );
        let resp: TBrokerListResponse = self.call("listPath", &req)?;
        check(&resp.op_status)?;
        Ok(resp.files.map_or(0, |f| f.len()))
    }

    pub fn open_writer(&mut self, path: &str) -> Result<TBrokerFD> {
        self.open_writer_with(path, &Props::new())
    }

    pub fn open_writer_with(&mut self, path: &str, props: &Props) -> Result<TBrokerFD> {
        let req = TBrokerOpenWriterRequest::new(
            V,
            path.to_string(),
            TBrokerOpenMode::APPEND,
            "broker_bench".to_string(),
            props.clone(),
        );
        let resp: TBrokerOpenWriterResponse = self.call("openWriter", &req)?;
        check(&resp.op_status)?;
        resp.fd.ok_or_else(|| "openWriter: no fd".to_string())
    }

    /// `req` is reused across calls so the client never copies the chunk.
    pub fn pwrite(&mut self, req: &TBrokerPWriteRequest) -> Result<()> {
        let status: TBrokerOperationStatus = self.call("pwrite", req)?;
        check(&status)
    }

    pub fn close_writer(&mut self, fd: &TBrokerFD) -> Result<()> {
        let status: TBrokerOperationStatus = self.call(
            "closeWriter",
            &TBrokerCloseWriterRequest::new(V, fd.clone()),
        )?;
        check(&status)
    }

    /// The raw stream, for the plain-TCP baseline (no Thrift).
    pub fn read_raw(&mut self, buf: &mut [u8]) -> Result<()> {
        self.input.transport.read_exact(buf).map_err(err)
    }
}

pub type Props = std::collections::BTreeMap<String, String>;
