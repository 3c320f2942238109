//! Starts the real `apache_hdfs_broker` binary on an ephemeral port and talks to it with
//! the Thrift client generated from the IDL, exactly as FE/BE do (unframed, binary).

#![allow(dead_code)]

pub mod http_listener;
pub mod minicluster;
pub mod seaweed;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{
    TBinaryInputProtocol, TBinaryOutputProtocol, TFieldIdentifier, TInputProtocol,
    TMessageIdentifier, TMessageType, TOutputProtocol, TSerializable, TStructIdentifier, TType,
};
use thrift::transport::{
    ReadHalf, TBufferedReadTransport, TBufferedWriteTransport, TIoChannel, TTcpChannel, WriteHalf,
};

pub type Client = TFileBrokerServiceSyncClient<
    TBinaryInputProtocol<TBufferedReadTransport<ReadHalf<TTcpChannel>>>,
    TBinaryOutputProtocol<TBufferedWriteTransport<WriteHalf<TTcpChannel>>>,
>;

pub use apache_hdfs_broker::wire::generated::TBrokerOperationStatusCode as Code;
pub use apache_hdfs_broker::wire::generated::TTFileBrokerServiceSyncClient;

/// The broker binary under test: this build's, or `BROKER_BIN` (a release build, or a
/// wrapper that runs the aarch64 one under QEMU: scripts/release_check.sh).
pub fn broker_bin() -> PathBuf {
    std::env::var_os("BROKER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_apache_hdfs_broker")))
}

pub struct BrokerProcess {
    child: Child,
    pub port: u16,
    pub home: tempfile::TempDir,
}

impl BrokerProcess {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the broker with `extra` conf lines on top of a loopback, ephemeral-port conf.
    pub fn start_with(extra: &[(&str, &str)]) -> Self {
        Self::start_with_hadoop_conf(extra, None)
    }

    /// As [`start_with`], with the `*-site.xml` files of `hadoop_conf` copied beside the
    /// broker's conf (where operators put them). `HADOOP_CONF_DIR` is never inherited.
    pub fn start_with_hadoop_conf(extra: &[(&str, &str)], hadoop_conf: Option<&Path>) -> Self {
        let home = tempfile::tempdir().unwrap();
        if let Some(dir) = hadoop_conf {
            for name in ["core-site.xml", "hdfs-site.xml"] {
                let from = dir.join(name);
                if from.exists() {
                    std::fs::copy(&from, home.path().join(name)).unwrap();
                }
            }
        }
        let log_dir = home.path().join("log");
        let mut conf = format!(
            "broker_ipc_port = 0\nbroker_http_port = 0\nbroker_bind_address = 127.0.0.1\nsys_log_dir = {}\nsys_log_level = INFO\n",
            log_dir.display()
        );
        for (k, v) in extra {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        let conf_path = home.path().join("apache_hdfs_broker.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let out = std::fs::File::create(home.path().join("broker.out")).unwrap();
        let child = Command::new(broker_bin())
            .arg("--conf")
            .arg(&conf_path)
            .env("BROKER_HOME", home.path())
            .env_remove("HADOOP_CONF_DIR")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut broker = BrokerProcess {
            child,
            port: 0,
            home,
        };
        broker.port = broker.wait_for_port();
        broker
    }

    pub fn log_path(&self) -> PathBuf {
        self.home.path().join("log").join("apache_hdfs_broker.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Readiness: the broker logs `thrift` and its bound address once it listens.
    fn wait_for_port(&mut self) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let log = self.log();
            if let Some(line) = log
                .lines()
                .find(|l| l.contains("thrift server listening on"))
            {
                let port = line.split("(port ").nth(1).unwrap();
                return port.split(')').next().unwrap().parse().unwrap();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let out = std::fs::read_to_string(self.home.path().join("broker.out"));
                panic!("broker exited early ({status}): {out:?}");
            }
            assert!(Instant::now() < deadline, "broker did not start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The port of the metrics and health endpoint, from the line the broker logs before
    /// its thrift line; `None` when it runs none (`broker_http_port = -1`).
    pub fn http_port(&self) -> Option<u16> {
        let log = self.log();
        let line = log
            .lines()
            .find(|l| l.contains("http server listening on"))?;
        let port = line.split("(port ").nth(1)?;
        port.split(')').next()?.parse().ok()
    }

    /// One HTTP/1.1 request to the endpoint: `(status, body)`. Panics when it is not there.
    pub fn http_get(&self, path: &str) -> (u16, String) {
        let port = self
            .http_port()
            .expect("the broker serves no http endpoint");
        http_request(port, "GET", path)
    }

    pub fn client(&self) -> Client {
        client_on(self.port)
    }

    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (bounded) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        self.send_term();
        self.wait_exit(Duration::from_secs(30))
    }

    /// Sends SIGTERM and returns at once (the broker drains, then exits).
    pub fn send_term(&self) {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "broker did not exit in {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.archive_logs();
    }
}

impl BrokerProcess {
    /// With `BROKER_TEST_LOG_ARCHIVE` set (scripts/test.sh sets it), keeps this broker's
    /// logs and `.out` there, so the whole run's logs can be searched for secrets.
    fn archive_logs(&self) {
        let Some(root) = std::env::var_os("BROKER_TEST_LOG_ARCHIVE") else {
            return;
        };
        let dest = PathBuf::from(root).join(format!("broker-{:016x}", rand::random::<u64>()));
        let _ = std::fs::create_dir_all(&dest);
        let _ = std::fs::copy(self.home.path().join("broker.out"), dest.join("broker.out"));
        if let Ok(entries) = std::fs::read_dir(self.home.path().join("log")) {
            for entry in entries.flatten() {
                let _ = std::fs::copy(entry.path(), dest.join(entry.file_name()));
            }
        }
    }
}

/// A `WITH BROKER (...)` property map.
pub type Props = BTreeMap<String, String>;

/// No properties: what the `file:` tests send. Every path-taking helper below has a
/// `_with` variant taking the map instead, for stores that need credentials or HA keys.
/// A Thrift client on a new connection to the broker on 127.0.0.1:`port` (for threads
/// that cannot borrow the [`BrokerProcess`]).
pub fn client_on(port: u16) -> Client {
    let mut channel = TTcpChannel::new();
    channel.open(format!("127.0.0.1:{port}")).unwrap();
    let (r, w) = channel.split().unwrap();
    TFileBrokerServiceSyncClient::new(
        TBinaryInputProtocol::new(TBufferedReadTransport::new(r), true),
        TBinaryOutputProtocol::new(TBufferedWriteTransport::new(w), true),
    )
}

pub fn props() -> Props {
    BTreeMap::new()
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

pub fn list_req(path: &str, recursive: bool, name_only: bool) -> TBrokerListPathRequest {
    list_req_with(path, recursive, name_only, &props())
}

pub fn list_req_with(
    path: &str,
    recursive: bool,
    name_only: bool,
    props: &Props,
) -> TBrokerListPathRequest {
    TBrokerListPathRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        recursive,
        props.clone(),
        Some(name_only),
        None,
    )
}

pub fn open_reader(c: &mut Client, path: &str, client_id: &str) -> TBrokerOpenReaderResponse {
    open_reader_with(c, path, client_id, &props())
}

pub fn open_reader_with(
    c: &mut Client,
    path: &str,
    client_id: &str,
    props: &Props,
) -> TBrokerOpenReaderResponse {
    c.open_reader(TBrokerOpenReaderRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        0,
        client_id.to_string(),
        props.clone(),
    ))
    .unwrap()
}

pub fn pread(c: &mut Client, fd: &TBrokerFD, offset: i64, length: i64) -> TBrokerReadResponse {
    c.pread(TBrokerPReadRequest::new(
        TBrokerVersion::VERSION_ONE,
        fd.clone(),
        offset,
        length,
    ))
    .unwrap()
}

pub fn open_writer(c: &mut Client, path: &str, client_id: &str) -> TBrokerOpenWriterResponse {
    open_writer_with(c, path, client_id, &props())
}

pub fn open_writer_with(
    c: &mut Client,
    path: &str,
    client_id: &str,
    props: &Props,
) -> TBrokerOpenWriterResponse {
    c.open_writer(TBrokerOpenWriterRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        TBrokerOpenMode::APPEND,
        client_id.to_string(),
        props.clone(),
    ))
    .unwrap()
}

pub fn pwrite(c: &mut Client, fd: &TBrokerFD, offset: i64, data: &[u8]) -> TBrokerOperationStatus {
    c.pwrite(TBrokerPWriteRequest::new(
        TBrokerVersion::VERSION_ONE,
        fd.clone(),
        offset,
        data.to_vec(),
    ))
    .unwrap()
}

pub fn close_writer(c: &mut Client, fd: &TBrokerFD) -> TBrokerOperationStatus {
    c.close_writer(TBrokerCloseWriterRequest::new(
        TBrokerVersion::VERSION_ONE,
        fd.clone(),
    ))
    .unwrap()
}

pub fn close_reader(c: &mut Client, fd: &TBrokerFD) -> TBrokerOperationStatus {
    c.close_reader(TBrokerCloseReaderRequest::new(
        TBrokerVersion::VERSION_ONE,
        fd.clone(),
    ))
    .unwrap()
}

pub fn ping(c: &mut Client, client_id: &str) -> TBrokerOperationStatus {
    c.ping(TBrokerPingBrokerRequest::new(
        TBrokerVersion::VERSION_ONE,
        client_id.to_string(),
    ))
    .unwrap()
}

pub fn exists(c: &mut Client, path: &str) -> TBrokerCheckPathExistResponse {
    exists_with(c, path, &props())
}

pub fn exists_with(c: &mut Client, path: &str, props: &Props) -> TBrokerCheckPathExistResponse {
    c.check_path_exist(TBrokerCheckPathExistRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        props.clone(),
    ))
    .unwrap()
}

/// Writes raw bytes and reads whatever comes back until the peer closes or 2 s pass.
pub fn raw_exchange(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
    stream.write_all(bytes).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Assertions on statuses
// ---------------------------------------------------------------------------------------

/// Asserts a status code, showing the broker's message when it differs.
#[track_caller]
pub fn assert_code(status: &TBrokerOperationStatus, code: Code) {
    assert_eq!(
        status.status_code, code,
        "expected {code:?}, got {:?}: {:?}",
        status.status_code, status.message
    );
}

#[track_caller]
pub fn assert_ok(status: &TBrokerOperationStatus) {
    assert_code(status, Code::OK);
}

/// The status message (empty when none was sent).
pub fn message(status: &TBrokerOperationStatus) -> &str {
    status.message.as_deref().unwrap_or("")
}

// ---------------------------------------------------------------------------------------
// Local fixtures
// ---------------------------------------------------------------------------------------

/// The fully qualified form the broker prints for a local path: `file:/abs`.
pub fn file_uri(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// Creates every `(relative path, content)` below `root`, parents included. A path ending
/// in `/` creates an (empty) directory.
pub fn make_tree(root: &Path, entries: &[(&str, &[u8])]) {
    for (rel, content) in entries {
        let path = root.join(rel);
        if rel.ends_with('/') {
            std::fs::create_dir_all(&path).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, content).unwrap();
        }
    }
}

/// Deterministic pseudo-random bytes (distinct per seed, no repeating pattern a wrong
/// offset could hide behind).
pub fn test_data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Names of the entries of a local directory (hidden temp files included), sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|it| {
            it.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

// ---------------------------------------------------------------------------------------
// Calls not covered above
// ---------------------------------------------------------------------------------------

pub fn list(c: &mut Client, path: &str, recursive: bool, name_only: bool) -> TBrokerListResponse {
    list_with(c, path, recursive, name_only, &props())
}

pub fn list_with(
    c: &mut Client,
    path: &str,
    recursive: bool,
    name_only: bool,
    props: &Props,
) -> TBrokerListResponse {
    c.list_path(list_req_with(path, recursive, name_only, props))
        .unwrap()
}

/// The `path` of every entry of an OK listing, sorted (glob results come in no set order).
#[track_caller]
pub fn listed(resp: &TBrokerListResponse) -> Vec<String> {
    assert_ok(&resp.op_status);
    let mut paths: Vec<String> = resp
        .files
        .as_ref()
        .expect("OK listing without `files`")
        .iter()
        .map(|f| f.path.clone())
        .collect();
    paths.sort();
    paths
}

/// `listPath` of `pattern` (non-recursive, full paths), as sorted paths.
#[track_caller]
pub fn glob(c: &mut Client, pattern: &str) -> Vec<String> {
    glob_with(c, pattern, &props())
}

#[track_caller]
pub fn glob_with(c: &mut Client, pattern: &str, props: &Props) -> Vec<String> {
    listed(&list_with(c, pattern, false, false, props))
}

pub fn list_located(
    c: &mut Client,
    path: &str,
    recursive: bool,
    only_files: bool,
) -> TBrokerListResponse {
    list_located_with(c, path, recursive, only_files, &props())
}

pub fn list_located_with(
    c: &mut Client,
    path: &str,
    recursive: bool,
    only_files: bool,
    props: &Props,
) -> TBrokerListResponse {
    c.list_located_files(TBrokerListPathRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        recursive,
        props.clone(),
        Some(false),
        Some(only_files),
    ))
    .unwrap()
}

pub fn delete(c: &mut Client, path: &str) -> TBrokerOperationStatus {
    delete_with(c, path, &props())
}

pub fn delete_with(c: &mut Client, path: &str, props: &Props) -> TBrokerOperationStatus {
    c.delete_path(TBrokerDeletePathRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        props.clone(),
    ))
    .unwrap()
}

pub fn rename(c: &mut Client, src: &str, dst: &str) -> TBrokerOperationStatus {
    rename_with(c, src, dst, &props())
}

pub fn rename_with(c: &mut Client, src: &str, dst: &str, props: &Props) -> TBrokerOperationStatus {
    c.rename_path(TBrokerRenamePathRequest::new(
        TBrokerVersion::VERSION_ONE,
        src.to_string(),
        dst.to_string(),
        props.clone(),
    ))
    .unwrap()
}

pub fn seek(c: &mut Client, fd: &TBrokerFD, offset: i64) -> TBrokerOperationStatus {
    c.seek(TBrokerSeekRequest::new(
        TBrokerVersion::VERSION_ONE,
        fd.clone(),
        offset,
    ))
    .unwrap()
}

pub fn file_size(c: &mut Client, path: &str) -> TBrokerFileSizeResponse {
    file_size_with(c, path, &props())
}

pub fn file_size_with(c: &mut Client, path: &str, props: &Props) -> TBrokerFileSizeResponse {
    c.file_size(TBrokerFileSizeRequest::new(
        TBrokerVersion::VERSION_ONE,
        path.to_string(),
        Some(props.clone()),
    ))
    .unwrap()
}

pub fn is_splittable(c: &mut Client, path: &str) -> TBrokerIsSplittableResponse {
    is_splittable_with(c, path, &props())
}

pub fn is_splittable_with(
    c: &mut Client,
    path: &str,
    props: &Props,
) -> TBrokerIsSplittableResponse {
    c.is_splittable(TBrokerIsSplittableRequest::new(
        Some(TBrokerVersion::VERSION_ONE),
        Some(path.to_string()),
        None::<String>,
        Some(props.clone()),
    ))
    .unwrap()
}

/// Opens a reader that must succeed and returns its fd.
#[track_caller]
pub fn reader_fd(c: &mut Client, path: &str, client_id: &str) -> TBrokerFD {
    reader_fd_with(c, path, client_id, &props())
}

#[track_caller]
pub fn reader_fd_with(c: &mut Client, path: &str, client_id: &str, props: &Props) -> TBrokerFD {
    let r = open_reader_with(c, path, client_id, props);
    assert_ok(&r.op_status);
    r.fd.expect("OK openReader without fd")
}

/// Opens a writer that must succeed and returns its fd.
#[track_caller]
pub fn writer_fd(c: &mut Client, path: &str, client_id: &str) -> TBrokerFD {
    writer_fd_with(c, path, client_id, &props())
}

#[track_caller]
pub fn writer_fd_with(c: &mut Client, path: &str, client_id: &str, props: &Props) -> TBrokerFD {
    let w = open_writer_with(c, path, client_id, props);
    assert_ok(&w.op_status);
    w.fd.expect("OK openWriter without fd")
}

/// openWriter, pwrite in `chunk`-sized pieces, closeWriter; every step must be OK.
#[track_caller]
pub fn write_file(c: &mut Client, path: &str, client_id: &str, data: &[u8], chunk: usize) {
    write_file_with(c, path, client_id, data, chunk, &props())
}

#[track_caller]
pub fn write_file_with(
    c: &mut Client,
    path: &str,
    client_id: &str,
    data: &[u8],
    chunk: usize,
    props: &Props,
) {
    let fd = writer_fd_with(c, path, client_id, props);
    let mut offset = 0;
    for piece in data.chunks(chunk) {
        assert_ok(&pwrite(c, &fd, offset as i64, piece));
        offset += piece.len();
    }
    assert_ok(&close_writer(c, &fd));
}

/// openReader, pread in `chunk`-sized requests until an empty answer, closeReader.
#[track_caller]
pub fn read_file(c: &mut Client, path: &str, client_id: &str, chunk: i64) -> Vec<u8> {
    read_file_with(c, path, client_id, chunk, &props())
}

#[track_caller]
pub fn read_file_with(
    c: &mut Client,
    path: &str,
    client_id: &str,
    chunk: i64,
    props: &Props,
) -> Vec<u8> {
    let fd = reader_fd_with(c, path, client_id, props);
    let mut out = Vec::new();
    loop {
        let r = pread(c, &fd, out.len() as i64, chunk);
        assert_ok(&r.op_status);
        let data = r.data.expect("OK pread without data");
        if data.is_empty() {
            break;
        }
        out.extend_from_slice(&data);
    }
    assert_ok(&close_reader(c, &fd));
    out
}

// ---------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------

/// Polls `cond` every 50 ms until it holds; panics naming `what` after `timeout`.
/// Returns how long it took.
#[track_caller]
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    loop {
        if cond() {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------
// Raw wire: hand-encoded requests and decoded replies over a plain TcpStream
// ---------------------------------------------------------------------------------------

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

/// Sends `METHOD path` to 127.0.0.1:`port` and reads the whole answer (the endpoint closes
/// after each): `(status, body)`.
pub fn http_request(port: u16, method: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The value of one series in a Prometheus text rendering (`name{labels}` exactly as
/// written by the broker), 0 when absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// A `/proc/<pid>/status` memory figure in KiB (`VmRSS`, `VmPeak`, ...; Linux only).
pub fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"))
}

// ---------------------------------------------------------------------------------------
// Large data without keeping it: a generator and a checksum
// ---------------------------------------------------------------------------------------

/// FNV-1a over a stream of bytes: enough to tell two multi-GiB streams apart.
pub struct Fnv(pub u64);

impl Fnv {
    pub fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub fn update(&mut self, data: &[u8]) {
        for b in data {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
}

/// Fills `buf` from a xorshift generator (fast, seeded, not compressible).
pub fn fill(buf: &mut [u8], seed: &mut u64) {
    for word in buf.chunks_mut(8) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        word.copy_from_slice(&seed.to_le_bytes()[..word.len()]);
    }
}
