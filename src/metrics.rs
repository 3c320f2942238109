//! Metrics and health: a Prometheus registry that the request path updates with atomics
//! only, and a small HTTP/1.1 endpoint on `broker_http_port` serving `/metrics`
//! (Prometheus text format) and `/health` (readiness).
//!
//! Every series a call touches is created once and then kept in a fixed array indexed by
//! method, status and scheme, so recording is an atomic add with no lock and no map
//! lookup. Labels only ever hold values from fixed lists (method names, status-code names,
//! URI schemes, reader/writer): never a path, a client id or anything else a client
//! chooses, so the number of series stays bounded whatever clients send.
//!
//! Gauges that describe state (open readers and writers, client sessions, process memory
//! and fds) are read when scraped rather than kept up to date on the request path.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::sessions::{Sessions, Stream};
use crate::storage::StorageError;
use crate::wire::generated::TBrokerOperationStatusCode as Code;
use crate::wire::Method;

// ---------------------------------------------------------------------------------------
// Label values
// ---------------------------------------------------------------------------------------

/// `status` label values: the `TBrokerOperationStatusCode` names, then `OTHER` for a code
/// outside the IDL and `UNKNOWN_METHOD` for a call answered with that exception.
const STATUSES: [(i32, &str); 10] = [
    (Code::OK.0, "OK"),
    (Code::END_OF_FILE.0, "END_OF_FILE"),
    (Code::NOT_AUTHORIZED.0, "NOT_AUTHORIZED"),
    (Code::DUPLICATE_REQUEST.0, "DUPLICATE_REQUEST"),
    (Code::INVALID_INPUT_OFFSET.0, "INVALID_INPUT_OFFSET"),
    (Code::INVALID_INPUT_FILE_PATH.0, "INVALID_INPUT_FILE_PATH"),
    (Code::INVALID_ARGUMENT.0, "INVALID_ARGUMENT"),
    (Code::FILE_NOT_FOUND.0, "FILE_NOT_FOUND"),
    (
        Code::TARGET_STORAGE_SERVICE_ERROR.0,
        "TARGET_STORAGE_SERVICE_ERROR",
    ),
    (Code::OPERATION_NOT_SUPPORTED.0, "OPERATION_NOT_SUPPORTED"),
];
const STATUS_OTHER: usize = STATUSES.len();
const STATUS_UNKNOWN_METHOD: usize = STATUSES.len() + 1;
const STATUS_SLOTS: usize = STATUSES.len() + 2;

fn status_slot(code: i32) -> usize {
    STATUSES
        .iter()
        .position(|&(c, _)| c == code)
        .unwrap_or(STATUS_OTHER)
}

fn status_label(slot: usize) -> &'static str {
    match slot {
        STATUS_OTHER => "OTHER",
        STATUS_UNKNOWN_METHOD => "UNKNOWN_METHOD",
        i => STATUSES.get(i).map_or("OTHER", |&(_, name)| name),
    }
}

/// One slot per method, and a last one (`unknown`) for method names no broker serves:
/// those names come from clients and never become label values.
const METHOD_SLOTS: usize = 16;
const METHOD_UNKNOWN: usize = METHOD_SLOTS - 1;

/// Exhaustive on purpose: a new method fails to compile here until it gets its slot.
fn method_slot(method: Method) -> usize {
    use Method::*;
    match method {
        ListPath => 0,
        ListLocatedFiles => 1,
        DeletePath => 2,
        RenamePath => 3,
        CheckPathExist => 4,
        OpenReader => 5,
        Pread => 6,
        Seek => 7,
        CloseReader => 8,
        OpenWriter => 9,
        Pwrite => 10,
        CloseWriter => 11,
        Ping => 12,
        FileSize => 13,
        IsSplittable => 14,
    }
}

/// `scheme` label values: the schemes `storage::Backends` knows (served or not yet), then
/// `other` for anything else, unparsable paths included.
const SCHEMES: [&str; 17] = [
    "file", "hdfs", "viewfs", "s3a", "s3", "s3n", "oss", "cosn", "cos", "obs", "ks3", "tos", "gs",
    "abfs", "abfss", "wasb", "wasbs",
];
const SCHEME_SLOTS: usize = SCHEMES.len() + 1;

/// The scheme slot of a client path or a stream's qualified path (`hdfs://ns/p`, `file:/p`).
fn scheme_slot(path: &str) -> usize {
    let scheme = path.split_once(':').map_or("", |(s, _)| s);
    SCHEMES
        .iter()
        .position(|s| s.eq_ignore_ascii_case(scheme))
        .unwrap_or(SCHEMES.len())
}

fn scheme_label(slot: usize) -> &'static str {
    SCHEMES.get(slot).copied().unwrap_or("other")
}

// ---------------------------------------------------------------------------------------
// The registry
// ---------------------------------------------------------------------------------------

/// Seconds; 5 s is the FE's heartbeat timeout, so a slow ping shows in its own bucket.
const LATENCY_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
];

struct Rpc {
    requests: IntCounter,
    duration: Histogram,
}

struct Metrics {
    registry: Registry,
    rpc_requests: IntCounterVec,
    rpc_duration: HistogramVec,
    rpc: Box<[[OnceLock<Rpc>; STATUS_SLOTS]; METHOD_SLOTS]>,
    read_bytes_vec: IntCounterVec,
    read_bytes: [OnceLock<IntCounter>; SCHEME_SLOTS],
    written_bytes_vec: IntCounterVec,
    written_bytes: [OnceLock<IntCounter>; SCHEME_SLOTS],
    storage_errors_vec: IntCounterVec,
    storage_errors: Box<[[OnceLock<IntCounter>; STATUS_SLOTS]; SCHEME_SLOTS]>,
    reaped_readers: IntCounter,
    reaped_writers: IntCounter,
    open_connections: IntGauge,
    accepted_connections: IntCounter,
    open_readers: IntGauge,
    open_writers: IntGauge,
    client_sessions: IntGauge,
    resident_memory: IntGauge,
    open_fds: IntGauge,
    tasks: IntGauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

fn slots<T, const N: usize>() -> [OnceLock<T>; N] {
    std::array::from_fn(|_| OnceLock::new())
}

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new();
        // Names and label sets are static; a clash is a bug the unit tests catch.
        let register = |c: Box<dyn prometheus::core::Collector>| {
            registry.register(c).expect("metric names are unique");
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            register(Box::new(c.clone()));
            c
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid metric");
            register(Box::new(g.clone()));
            g
        };
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            register(Box::new(c.clone()));
            c
        };

        let build = IntGaugeVec::new(
            Opts::new(
                "broker_build_info",
                "Always 1; the version label is the broker's version.",
            ),
            &["version"],
        )
        .expect("valid metric");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        register(Box::new(build));

        let rpc_duration = HistogramVec::new(
            HistogramOpts::new(
                "broker_rpc_duration_seconds",
                "Time from a whole request read to its reply encoded, by method and status.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "status"],
        )
        .expect("valid metric");
        register(Box::new(rpc_duration.clone()));

        let reaped = counter_vec(
            "broker_reaped_fds_total",
            "Streams closed because their client was idle longer than client_expire_seconds (writers aborted).",
            &["kind"],
        );
        Metrics {
            rpc_requests: counter_vec(
                "broker_rpc_requests_total",
                "Calls answered, by method and status.",
                &["method", "status"],
            ),
            rpc_duration,
            rpc: Box::new(std::array::from_fn(|_| slots())),
            read_bytes_vec: counter_vec(
                "broker_read_bytes_total",
                "Bytes returned by pread, by URI scheme.",
                &["scheme"],
            ),
            read_bytes: slots(),
            written_bytes_vec: counter_vec(
                "broker_written_bytes_total",
                "Bytes accepted by pwrite, by URI scheme.",
                &["scheme"],
            ),
            written_bytes: slots(),
            storage_errors_vec: counter_vec(
                "broker_storage_errors_total",
                "Failures reported by a storage backend, by URI scheme and the status they map to.",
                &["scheme", "status"],
            ),
            storage_errors: Box::new(std::array::from_fn(|_| slots())),
            reaped_readers: reaped.with_label_values(&["reader"]),
            reaped_writers: reaped.with_label_values(&["writer"]),
            open_connections: gauge(
                "broker_open_connections",
                "Thrift connections currently open.",
            ),
            accepted_connections: counter(
                "broker_connections_accepted_total",
                "Thrift connections accepted.",
            ),
            open_readers: gauge("broker_open_readers", "Readers currently open."),
            open_writers: gauge("broker_open_writers", "Writers currently open."),
            client_sessions: gauge(
                "broker_client_sessions",
                "Clients owning at least one open reader or writer.",
            ),
            resident_memory: gauge(
                "process_resident_memory_bytes",
                "Resident set size of the broker process.",
            ),
            open_fds: gauge(
                "process_open_fds",
                "File descriptors open in the broker process.",
            ),
            tasks: gauge(
                "broker_tasks_alive",
                "Tokio tasks alive: one per connection plus background work; a leak shows here.",
            ),
            registry,
        }
    }

    fn rpc_series(&self, method: usize, status: usize) -> &Rpc {
        self.rpc[method][status].get_or_init(|| {
            let method = METHOD_NAMES.get(method).copied().unwrap_or("unknown");
            let labels = [method, status_label(status)];
            Rpc {
                requests: self.rpc_requests.with_label_values(&labels),
                duration: self.rpc_duration.with_label_values(&labels),
            }
        })
    }
}

/// Method names by slot, for labels.
const METHOD_NAMES: [&str; METHOD_SLOTS - 1] = [
    "listPath",
    "listLocatedFiles",
    "deletePath",
    "renamePath",
    "checkPathExist",
    "openReader",
    "pread",
    "seek",
    "closeReader",
    "openWriter",
    "pwrite",
    "closeWriter",
    "ping",
    "fileSize",
    "isSplittable",
];

fn by_scheme<'a>(
    slots: &'a [OnceLock<IntCounter>; SCHEME_SLOTS],
    vec: &IntCounterVec,
    path: &str,
) -> &'a IntCounter {
    let slot = scheme_slot(path);
    slots[slot].get_or_init(|| vec.with_label_values(&[scheme_label(slot)]))
}

// ---------------------------------------------------------------------------------------
// Hooks: each is a few atomic operations
// ---------------------------------------------------------------------------------------

/// One answered call: `status` is the reply's status code.
pub fn rpc(method: Method, status: i32, elapsed: Duration) {
    record_rpc(method_slot(method), status_slot(status), elapsed);
}

/// A call of a method no broker serves (answered with a `TApplicationException`).
pub fn rpc_unknown_method(elapsed: Duration) {
    record_rpc(METHOD_UNKNOWN, STATUS_UNKNOWN_METHOD, elapsed);
}

fn record_rpc(method: usize, status: usize, elapsed: Duration) {
    let series = METRICS.rpc_series(method, status);
    series.requests.inc();
    series.duration.observe(elapsed.as_secs_f64());
}

/// `path`: the stream's path (only its scheme is used).
pub fn read_bytes(path: &str, bytes: usize) {
    let m = &*METRICS;
    by_scheme(&m.read_bytes, &m.read_bytes_vec, path).inc_by(bytes as u64);
}

pub fn written_bytes(path: &str, bytes: usize) {
    let m = &*METRICS;
    by_scheme(&m.written_bytes, &m.written_bytes_vec, path).inc_by(bytes as u64);
}

/// A failure a backend reported for `path` (a client path or a stream's path).
pub fn storage_error(path: &str, err: &StorageError) {
    let scheme = scheme_slot(path);
    let status = status_slot(crate::rpc::status::code_of(err).0);
    METRICS.storage_errors[scheme][status]
        .get_or_init(|| {
            METRICS
                .storage_errors_vec
                .with_label_values(&[scheme_label(scheme), status_label(status)])
        })
        .inc();
}

/// A stream the reaper closed.
pub fn fd_reaped(stream: &Stream) {
    match stream {
        Stream::Reader(_) => METRICS.reaped_readers.inc(),
        Stream::Writer(_) => METRICS.reaped_writers.inc(),
    }
}

/// Counts an accepted Thrift connection as open until the returned guard is dropped.
pub fn connection_opened() -> ConnectionGuard {
    METRICS.accepted_connections.inc();
    METRICS.open_connections.inc();
    ConnectionGuard(())
}

pub struct ConnectionGuard(());

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        METRICS.open_connections.dec();
    }
}

/// Everything in Prometheus text format, with the scrape-time gauges read now.
pub fn render(sessions: &Sessions) -> String {
    let m = &*METRICS;
    let open = sessions.open_counts();
    m.open_readers.set(open.readers as i64);
    m.open_writers.set(open.writers as i64);
    m.client_sessions.set(open.clients as i64);
    if let Some(rss) = resident_memory_bytes() {
        m.resident_memory.set(rss as i64);
    }
    if let Some(fds) = open_fds() {
        m.open_fds.set(fds as i64);
    }
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        m.tasks.set(runtime.metrics().num_alive_tasks() as i64);
    }
    let mut out = String::new();
    if let Err(e) = TextEncoder::new().encode_utf8(&m.registry.gather(), &mut out) {
        tracing::warn!("cannot encode metrics: {e}");
    }
    out
}

/// `VmRSS` of `/proc/self/status`: in bytes already, so no page size to guess (statm
/// counts pages, and arm64 kernels use 4, 16 or 64 KiB ones).
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<usize> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count())
}

// ---------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------

const STARTING: u8 = 0;
const SERVING: u8 = 1;
const STOPPING: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(STARTING);

/// The Thrift listener is bound and calls are served.
pub fn set_serving() {
    // Never back from STOPPING.
    let _ = STATE.compare_exchange(STARTING, SERVING, Ordering::SeqCst, Ordering::SeqCst);
}

/// Shutdown began: `/health` answers 503 from now on.
pub fn set_stopping() {
    STATE.store(STOPPING, Ordering::SeqCst);
}

fn health() -> (u16, &'static str) {
    match STATE.load(Ordering::SeqCst) {
        SERVING => (200, "ok\n"),
        STOPPING => (503, "shutting down\n"),
        _ => (503, "starting\n"),
    }
}

// ---------------------------------------------------------------------------------------
// The HTTP endpoint
// ---------------------------------------------------------------------------------------

/// Longest request head read; a scraper sends a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// A whole exchange (read the request, answer) must finish within this.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Exchanges served at once; more wait in the listen backlog.
const MAX_EXCHANGES: usize = 16;

/// Serves `/metrics` and `/health` on `listener` until the runtime ends. One request per
/// connection (`Connection: close`), GET or HEAD only; it never panics on what it reads.
pub async fn serve_http(listener: TcpListener, sessions: Arc<Sessions>) {
    let limit = Arc::new(Semaphore::new(MAX_EXCHANGES));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let socket = match listener.accept().await {
            Ok((socket, _)) => socket,
            Err(e) => {
                tracing::warn!("http accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let sessions = sessions.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange(socket, &sessions)).await;
            drop(permit);
        });
    }
}

async fn exchange(mut socket: TcpStream, sessions: &Sessions) -> std::io::Result<()> {
    let mut head = vec![0u8; MAX_HEAD];
    let mut len = 0;
    let end = loop {
        if let Some(end) = head_end(&head[..len]) {
            break end;
        }
        if len == head.len() {
            let resp = response(431, "text/plain", b"request head too large\n", false);
            return finish(&mut socket, &resp).await;
        }
        let n = socket.read(&mut head[len..]).await?;
        if n == 0 {
            return Ok(());
        }
        len += n;
    };
    let resp = answer(&head[..end], sessions);
    finish(&mut socket, &resp).await
}

/// Where the request head ends (the blank line), accepting bare `\n` line ends too.
fn head_end(buf: &[u8]) -> Option<usize> {
    let at = buf.windows(2).position(|w| w == b"\n\n");
    let at_crlf = buf.windows(3).position(|w| w == b"\n\r\n");
    match (at, at_crlf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The response to a request head: only its request line matters.
fn answer(head: &[u8], sessions: &Sessions) -> Vec<u8> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = std::str::from_utf8(line)
        .unwrap_or("")
        .trim_end_matches('\r');
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return response(400, "text/plain", b"bad request\n", false);
    };
    if !version.starts_with("HTTP/1.") {
        return response(400, "text/plain", b"bad request\n", false);
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return response(405, "text/plain", b"only GET and HEAD\n", false),
    };
    let path = target.split('?').next().unwrap_or("");
    match path {
        "/metrics" => {
            let body = render(sessions);
            response(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                body.as_bytes(),
                head_only,
            )
        }
        "/health" => {
            let (code, body) = health();
            response(code, "text/plain", body.as_bytes(), head_only)
        }
        _ => response(
            404,
            "text/plain",
            b"not found: try /metrics or /health\n",
            head_only,
        ),
    }
}

fn response(code: u16, content_type: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    };
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if code == 405 {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("Cache-Control: no-store\r\nConnection: close\r\n\r\n");
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

/// Writes the response and closes politely: send FIN, then read what the client still
/// sends until it closes (bounded), so unread request bytes never turn the close into a
/// reset that could destroy the response in flight.
async fn finish(socket: &mut TcpStream, resp: &[u8]) -> std::io::Result<()> {
    socket.write_all(resp).await?;
    socket.shutdown().await?;
    let mut sink = [0u8; 4096];
    let mut drained = 0;
    let drain = async {
        while drained < 64 * 1024 {
            match socket.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_fixed_lists() {
        assert_eq!(scheme_label(scheme_slot("hdfs://ns1/a")), "hdfs");
        assert_eq!(scheme_label(scheme_slot("file:/tmp/x")), "file");
        assert_eq!(scheme_label(scheme_slot("S3A://bucket/k")), "s3a");
        assert_eq!(scheme_label(scheme_slot("/no/scheme")), "other");
        assert_eq!(scheme_label(scheme_slot("evil{label=\"x\"}:/p")), "other");
        assert_eq!(scheme_label(scheme_slot("")), "other");
        assert_eq!(status_label(status_slot(0)), "OK");
        assert_eq!(
            status_label(status_slot(502)),
            "TARGET_STORAGE_SERVICE_ERROR"
        );
        assert_eq!(status_label(status_slot(12345)), "OTHER");
        for (i, name) in METHOD_NAMES.iter().enumerate() {
            let method = Method::from_name(name).unwrap();
            assert_eq!(method_slot(method), i);
            assert_eq!(method.name(), *name);
        }
    }

    fn sample(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.parse().unwrap())
    }

    #[test]
    fn hooks_show_up_in_the_rendering() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let before = render(&sessions);
        rpc(Method::Ping, 0, Duration::from_micros(300));
        rpc(Method::Pread, 501, Duration::from_millis(3));
        rpc_unknown_method(Duration::from_micros(10));
        read_bytes("file:/x", 1000);
        written_bytes("hdfs://nn/x", 7);
        storage_error(
            "oss://b/k",
            &StorageError::NotFound {
                path: "oss://b/k".into(),
            },
        );
        {
            let _conn = connection_opened();
            let during = render(&sessions);
            assert!(sample(&during, "broker_open_connections") >= 1.0);
        }
        let after = render(&sessions);
        let delta = |series: &str| sample(&after, series) - sample(&before, series);
        assert!(delta(r#"broker_rpc_requests_total{method="ping",status="OK"}"#) >= 1.0);
        assert!(
            delta(r#"broker_rpc_duration_seconds_bucket{method="ping",status="OK",le="0.0005"}"#)
                >= 1.0
        );
        assert!(
            delta(r#"broker_rpc_requests_total{method="pread",status="FILE_NOT_FOUND"}"#) >= 1.0
        );
        assert!(
            delta(r#"broker_rpc_requests_total{method="unknown",status="UNKNOWN_METHOD"}"#) >= 1.0
        );
        assert!(delta(r#"broker_read_bytes_total{scheme="file"}"#) >= 1000.0);
        assert!(delta(r#"broker_written_bytes_total{scheme="hdfs"}"#) >= 7.0);
        assert!(
            delta(r#"broker_storage_errors_total{scheme="oss",status="FILE_NOT_FOUND"}"#) >= 1.0
        );
        assert!(after.contains("broker_build_info{version="));
        assert!(after.contains("broker_reaped_fds_total{kind=\"writer\"} "));
        assert!(sample(&after, "process_resident_memory_bytes") > 1_000_000.0);
        assert!(sample(&after, "process_open_fds") >= 3.0);
        assert_eq!(sample(&after, "broker_open_readers"), 0.0);
    }

    #[test]
    fn requests_are_parsed_defensively() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let status_of = |head: &[u8]| {
            let resp = answer(head, &sessions);
            String::from_utf8_lossy(&resp[..12]).into_owned()
        };
        assert_eq!(
            status_of(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"),
            "HTTP/1.1 200"
        );
        assert_eq!(status_of(b"GET /metrics?x=1 HTTP/1.0\n"), "HTTP/1.1 200");
        assert_eq!(status_of(b"GET /nope HTTP/1.1\r\n"), "HTTP/1.1 404");
        assert_eq!(status_of(b"POST /metrics HTTP/1.1\r\n"), "HTTP/1.1 405");
        assert_eq!(status_of(b"GET /metrics\r\n"), "HTTP/1.1 400");
        assert_eq!(status_of(b"GET /metrics SPDY/3\r\n"), "HTTP/1.1 400");
        assert_eq!(status_of(b"GET  /metrics HTTP/1.1\r\n"), "HTTP/1.1 400");
        assert_eq!(status_of(b"\xff\xfe\r\n"), "HTTP/1.1 400");
        assert_eq!(status_of(b""), "HTTP/1.1 400");
        let head = answer(b"HEAD /health HTTP/1.1\r\n", &sessions);
        assert!(head.ends_with(b"\r\n\r\n"), "HEAD has no body");
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(21));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nA: b\r\n"), None);
    }

    #[test]
    fn health_follows_the_lifecycle() {
        // The only test touching the global state: STARTING → SERVING → STOPPING.
        assert_eq!(health().0, 503);
        set_serving();
        assert_eq!(health(), (200, "ok\n"));
        set_stopping();
        set_serving();
        assert_eq!(health(), (503, "shutting down\n"));
    }
}
