//! The one test client: a Thrift connection to the broker (unframed, binary, exactly as
//! FE/BE talk to it) with a method per RPC, and the `WITH BROKER (...)` properties it
//! sends with every path-taking call.

use std::net::TcpStream;
use std::time::Duration;

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{TBinaryInputProtocol, TBinaryOutputProtocol};
use thrift::transport::{
    ReadHalf, TBufferedReadTransport, TBufferedWriteTransport, TIoChannel, TTcpChannel, WriteHalf,
};

use super::{assert_ok, listed, Props};

/// The client the Thrift compiler generated, for tests that send hand-made requests.
pub type Rpc = TFileBrokerServiceSyncClient<
    TBinaryInputProtocol<TBufferedReadTransport<ReadHalf<TTcpChannel>>>,
    TBinaryOutputProtocol<TBufferedWriteTransport<WriteHalf<TTcpChannel>>>,
>;

const V1: TBrokerVersion = TBrokerVersion::VERSION_ONE;

pub struct Client {
    /// The generated client on this connection: `c.rpc.ping(request)`.
    pub rpc: Rpc,
    /// Sent with every path-taking call; empty (what the `file:` tests send) unless set.
    pub props: Props,
}

impl Client {
    /// A new connection to the broker on 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Client {
        Self::try_connect(port).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
    }

    /// As [`connect`](Self::connect), an error when nothing listens.
    pub fn try_connect(port: u16) -> std::io::Result<Client> {
        Ok(Self::on(TcpStream::connect(("127.0.0.1", port))?))
    }

    /// A connection whose socket gives up after `timeout` (like the FE's heartbeat client).
    pub fn connect_with_timeout(port: u16, timeout: Duration) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(timeout)).unwrap();
        stream.set_write_timeout(Some(timeout)).unwrap();
        Self::on(stream)
    }

    fn on(stream: TcpStream) -> Client {
        let (r, w) = TTcpChannel::with_stream(stream).split().unwrap();
        Client {
            rpc: TFileBrokerServiceSyncClient::new(
                TBinaryInputProtocol::new(TBufferedReadTransport::new(r), true),
                TBinaryOutputProtocol::new(TBufferedWriteTransport::new(w), true),
            ),
            props: Props::new(),
        }
    }

    /// Sets the properties sent with this and every later path-taking call.
    pub fn with_props(&mut self, props: &Props) -> &mut Client {
        self.props = props.clone();
        self
    }

    // -----------------------------------------------------------------------------------
    // One method per RPC: the broker's answer, whatever its status
    // -----------------------------------------------------------------------------------

    pub fn list(&mut self, path: &str, recursive: bool, name_only: bool) -> TBrokerListResponse {
        let req = TBrokerListPathRequest::new(
            V1,
            path.to_string(),
            recursive,
            self.props.clone(),
            Some(name_only),
            None,
        );
        self.rpc.list_path(req).unwrap()
    }

    /// Doris' listLocatedFiles (full paths).
    pub fn list_located(
        &mut self,
        path: &str,
        recursive: bool,
        only_files: bool,
    ) -> TBrokerListResponse {
        let req = TBrokerListPathRequest::new(
            V1,
            path.to_string(),
            recursive,
            self.props.clone(),
            Some(false),
            Some(only_files),
        );
        self.rpc.list_located_files(req).unwrap()
    }

    pub fn delete(&mut self, path: &str) -> TBrokerOperationStatus {
        let req = TBrokerDeletePathRequest::new(V1, path.to_string(), self.props.clone());
        self.rpc.delete_path(req).unwrap()
    }

    pub fn rename(&mut self, src: &str, dst: &str) -> TBrokerOperationStatus {
        let req =
            TBrokerRenamePathRequest::new(V1, src.to_string(), dst.to_string(), self.props.clone());
        self.rpc.rename_path(req).unwrap()
    }

    pub fn exists(&mut self, path: &str) -> TBrokerCheckPathExistResponse {
        let req = TBrokerCheckPathExistRequest::new(V1, path.to_string(), self.props.clone());
        self.rpc.check_path_exist(req).unwrap()
    }

    /// Doris' fileSize.
    pub fn file_size(&mut self, path: &str) -> TBrokerFileSizeResponse {
        let req = TBrokerFileSizeRequest::new(V1, path.to_string(), Some(self.props.clone()));
        self.rpc.file_size(req).unwrap()
    }

    /// Doris' isSplittable.
    pub fn is_splittable(&mut self, path: &str) -> TBrokerIsSplittableResponse {
        let req = TBrokerIsSplittableRequest::new(
            Some(V1),
            Some(path.to_string()),
            None::<String>,
            Some(self.props.clone()),
        );
        self.rpc.is_splittable(req).unwrap()
    }

    pub fn open_reader(&mut self, path: &str, client_id: &str) -> TBrokerOpenReaderResponse {
        let req = TBrokerOpenReaderRequest::new(
            V1,
            path.to_string(),
            0,
            client_id.to_string(),
            self.props.clone(),
        );
        self.rpc.open_reader(req).unwrap()
    }

    pub fn pread(&mut self, fd: &TBrokerFD, offset: i64, length: i64) -> TBrokerReadResponse {
        let req = TBrokerPReadRequest::new(V1, fd.clone(), offset, length);
        self.rpc.pread(req).unwrap()
    }

    pub fn seek(&mut self, fd: &TBrokerFD, offset: i64) -> TBrokerOperationStatus {
        let req = TBrokerSeekRequest::new(V1, fd.clone(), offset);
        self.rpc.seek(req).unwrap()
    }

    pub fn close_reader(&mut self, fd: &TBrokerFD) -> TBrokerOperationStatus {
        let req = TBrokerCloseReaderRequest::new(V1, fd.clone());
        self.rpc.close_reader(req).unwrap()
    }

    /// openWriter in APPEND mode (the only one FE/BE send).
    pub fn open_writer(&mut self, path: &str, client_id: &str) -> TBrokerOpenWriterResponse {
        let req = TBrokerOpenWriterRequest::new(
            V1,
            path.to_string(),
            TBrokerOpenMode::APPEND,
            client_id.to_string(),
            self.props.clone(),
        );
        self.rpc.open_writer(req).unwrap()
    }

    pub fn pwrite(&mut self, fd: &TBrokerFD, offset: i64, data: &[u8]) -> TBrokerOperationStatus {
        let req = TBrokerPWriteRequest::new(V1, fd.clone(), offset, data.to_vec());
        self.rpc.pwrite(req).unwrap()
    }

    pub fn close_writer(&mut self, fd: &TBrokerFD) -> TBrokerOperationStatus {
        let req = TBrokerCloseWriterRequest::new(V1, fd.clone());
        self.rpc.close_writer(req).unwrap()
    }

    pub fn ping(&mut self, client_id: &str) -> TBrokerOperationStatus {
        let req = TBrokerPingBrokerRequest::new(V1, client_id.to_string());
        self.rpc.ping(req).unwrap()
    }

    // -----------------------------------------------------------------------------------
    // Steps that must succeed (they assert OK)
    // -----------------------------------------------------------------------------------

    /// Opens a reader that must succeed and returns its fd.
    #[track_caller]
    pub fn reader_fd(&mut self, path: &str, client_id: &str) -> TBrokerFD {
        let r = self.open_reader(path, client_id);
        assert_ok(&r.op_status);
        r.fd.expect("OK openReader without fd")
    }

    /// Opens a writer that must succeed and returns its fd.
    #[track_caller]
    pub fn writer_fd(&mut self, path: &str, client_id: &str) -> TBrokerFD {
        let w = self.open_writer(path, client_id);
        assert_ok(&w.op_status);
        w.fd.expect("OK openWriter without fd")
    }

    /// A pread that must be OK: its data (short only at the end of the file).
    #[track_caller]
    pub fn read_at(&mut self, fd: &TBrokerFD, offset: i64, length: i64) -> Vec<u8> {
        let r = self.pread(fd, offset, length);
        assert_ok(&r.op_status);
        r.data
            .unwrap_or_else(|| panic!("OK pread({offset}, {length}) without data"))
    }

    /// A pread that must be OK and complete.
    #[track_caller]
    pub fn read_exact_at(&mut self, fd: &TBrokerFD, offset: usize, length: usize) -> Vec<u8> {
        let data = self.read_at(fd, offset as i64, length as i64);
        assert_eq!(data.len(), length, "pread at {offset} answered short");
        data
    }

    /// openWriter, pwrite in `chunk`-sized pieces, closeWriter.
    #[track_caller]
    pub fn write_file(&mut self, path: &str, client_id: &str, data: &[u8], chunk: usize) {
        let fd = self.writer_fd(path, client_id);
        let mut offset = 0;
        for piece in data.chunks(chunk) {
            assert_ok(&self.pwrite(&fd, offset as i64, piece));
            offset += piece.len();
        }
        assert_ok(&self.close_writer(&fd));
    }

    /// openReader, pread in `chunk`-sized requests until an empty answer, closeReader.
    #[track_caller]
    pub fn read_file(&mut self, path: &str, client_id: &str, chunk: i64) -> Vec<u8> {
        let fd = self.reader_fd(path, client_id);
        let mut out = Vec::new();
        loop {
            let r = self.pread(&fd, out.len() as i64, chunk);
            assert_ok(&r.op_status);
            let data = r.data.expect("OK pread without data");
            if data.is_empty() {
                break;
            }
            out.extend_from_slice(&data);
        }
        assert_ok(&self.close_reader(&fd));
        out
    }

    /// listPath of `pattern` (non-recursive, full paths), as sorted paths.
    #[track_caller]
    pub fn glob(&mut self, pattern: &str) -> Vec<String> {
        listed(&self.list(pattern, false, false))
    }
}
