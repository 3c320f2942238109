//! One Thrift connection to the broker, called the way FE and BE call it, and the ways a
//! command can fail (each with its exit status).

use std::collections::BTreeMap;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use apache_hdfs_broker::status::Status;
use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{TBinaryInputProtocol, TBinaryOutputProtocol};
use thrift::transport::{
    ReadHalf, TBufferedReadTransport, TBufferedWriteTransport, TIoChannel, TTcpChannel, WriteHalf,
};

type Client = TFileBrokerServiceSyncClient<
    TBinaryInputProtocol<TBufferedReadTransport<ReadHalf<TTcpChannel>>>,
    TBinaryOutputProtocol<TBufferedWriteTransport<WriteHalf<TTcpChannel>>>,
>;

const V: TBrokerVersion = TBrokerVersion::VERSION_ONE;

/// Why a command failed; [`Failure::exit_code`] is what scripts see.
#[derive(Debug)]
pub enum Failure {
    /// The broker answered with a status other than OK.
    Status { code: i32, message: String },
    /// No broker at the address, or the connection failed or timed out mid-call.
    Connection(String),
    /// A local file could not be read or written.
    Local(String),
}

/// Exit statuses (also in `--help`).
pub const EXIT_STATUS: &str = "Exit status: 0 done; 1 the broker answered an error status \
(printed as NAME: message); 2 usage error; 3 cannot connect to the broker, or the connection \
failed or timed out; 4 FILE_NOT_FOUND (the path does not exist); 5 a local file could not be \
read or written.";

impl Failure {
    pub fn not_found(message: String) -> Failure {
        Failure::Status {
            code: TBrokerOperationStatusCode::FILE_NOT_FOUND.0,
            message,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Status { code, .. }
                if *code == TBrokerOperationStatusCode::FILE_NOT_FOUND.0 =>
            {
                4
            }
            Failure::Status { .. } => 1,
            Failure::Connection(_) => 3,
            Failure::Local(_) => 5,
        })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Status { code, message } => {
                write!(f, "{}: {message}", Status::label_of_code(*code).name)
            }
            Failure::Connection(why) | Failure::Local(why) => f.write_str(why),
        }
    }
}

fn check(status: &TBrokerOperationStatus) -> Result<(), Failure> {
    if status.status_code == TBrokerOperationStatusCode::OK {
        return Ok(());
    }
    Err(Failure::Status {
        code: status.status_code.0,
        message: status.message.clone().unwrap_or_default(),
    })
}

/// A connected client with the properties and clientId every request carries.
pub struct Broker {
    client: Client,
    addr: String,
    props: BTreeMap<String, String>,
    client_id: String,
}

impl Broker {
    /// Connects within `timeout`; every reply must then come within `timeout` too.
    pub fn connect(
        addr: &str,
        timeout: Duration,
        props: BTreeMap<String, String>,
    ) -> Result<Broker, Failure> {
        let cannot = |why: String| Failure::Connection(format!("cannot connect to {addr}: {why}"));
        let targets = addr.to_socket_addrs().map_err(|e| cannot(e.to_string()))?;
        let mut last = String::from("no address");
        let mut stream = None;
        for target in targets {
            match TcpStream::connect_timeout(&target, timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e.to_string(),
            }
        }
        let stream = stream.ok_or_else(|| cannot(last))?;
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(timeout))
            .and_then(|()| stream.set_write_timeout(Some(timeout)))
            .map_err(|e| cannot(e.to_string()))?;
        let (r, w) = TTcpChannel::with_stream(stream)
            .split()
            .map_err(|e| cannot(e.to_string()))?;
        Ok(Broker {
            client: TFileBrokerServiceSyncClient::new(
                TBinaryInputProtocol::new(TBufferedReadTransport::new(r), true),
                TBinaryOutputProtocol::new(TBufferedWriteTransport::new(w), true),
            ),
            addr: addr.to_string(),
            // One id per run: its streams are its own, and the broker's reaper closes
            // them if the run dies midway.
            client_id: format!("broker_cli:{}", std::process::id()),
            props,
        })
    }

    fn lost(&self, e: thrift::Error) -> Failure {
        Failure::Connection(format!("broker at {}: {e}", self.addr))
    }

    pub fn ping(&mut self) -> Result<(), Failure> {
        let req = TBrokerPingBrokerRequest::new(V, self.client_id.clone());
        let status = self.client.ping(req).map_err(|e| self.lost(e))?;
        check(&status)
    }

    pub fn list(&mut self, path: &str, recursive: bool) -> Result<Vec<TBrokerFileStatus>, Failure> {
        let req =
            TBrokerListPathRequest::new(V, path.into(), recursive, self.props.clone(), false, None);
        let resp = self.client.list_path(req).map_err(|e| self.lost(e))?;
        check(&resp.op_status)?;
        Ok(resp.files.unwrap_or_default())
    }

    /// Opens a reader: its fd and the file's size (when the broker says).
    pub fn open_reader(&mut self, path: &str) -> Result<(TBrokerFD, Option<i64>), Failure> {
        let req = TBrokerOpenReaderRequest::new(
            V,
            path.into(),
            0,
            self.client_id.clone(),
            self.props.clone(),
        );
        let resp = self.client.open_reader(req).map_err(|e| self.lost(e))?;
        check(&resp.op_status)?;
        let fd = resp
            .fd
            .ok_or_else(|| Failure::Connection("openReader answered OK without an fd".into()))?;
        Ok((fd, resp.size))
    }

    /// Up to `length` bytes at `offset`; empty at end of file.
    pub fn pread(&mut self, fd: &TBrokerFD, offset: i64, length: i64) -> Result<Vec<u8>, Failure> {
        let req = TBrokerPReadRequest::new(V, fd.clone(), offset, length);
        let resp = self.client.pread(req).map_err(|e| self.lost(e))?;
        check(&resp.op_status)?;
        Ok(resp.data.unwrap_or_default())
    }

    pub fn close_reader(&mut self, fd: TBrokerFD) -> Result<(), Failure> {
        let req = TBrokerCloseReaderRequest::new(V, fd);
        let status = self.client.close_reader(req).map_err(|e| self.lost(e))?;
        check(&status)
    }

    pub fn open_writer(&mut self, path: &str) -> Result<TBrokerFD, Failure> {
        let req = TBrokerOpenWriterRequest::new(
            V,
            path.into(),
            TBrokerOpenMode::APPEND,
            self.client_id.clone(),
            self.props.clone(),
        );
        let resp = self.client.open_writer(req).map_err(|e| self.lost(e))?;
        check(&resp.op_status)?;
        resp.fd
            .ok_or_else(|| Failure::Connection("openWriter answered OK without an fd".into()))
    }

    pub fn pwrite(&mut self, fd: &TBrokerFD, offset: i64, data: Vec<u8>) -> Result<(), Failure> {
        let req = TBrokerPWriteRequest::new(V, fd.clone(), offset, data);
        let status = self.client.pwrite(req).map_err(|e| self.lost(e))?;
        check(&status)
    }

    /// Commits what was written (made durable by the store).
    pub fn close_writer(&mut self, fd: TBrokerFD) -> Result<(), Failure> {
        let req = TBrokerCloseWriterRequest::new(V, fd);
        let status = self.client.close_writer(req).map_err(|e| self.lost(e))?;
        check(&status)
    }

    pub fn delete(&mut self, path: &str) -> Result<(), Failure> {
        let req = TBrokerDeletePathRequest::new(V, path.into(), self.props.clone());
        let status = self.client.delete_path(req).map_err(|e| self.lost(e))?;
        check(&status)
    }

    pub fn rename(&mut self, src: &str, dst: &str) -> Result<(), Failure> {
        let req = TBrokerRenamePathRequest::new(V, src.into(), dst.into(), self.props.clone());
        let status = self.client.rename_path(req).map_err(|e| self.lost(e))?;
        check(&status)
    }
}
