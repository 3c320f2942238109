//! Metrics: a Prometheus registry that the request path updates with atomics only.
//!
//! A leaf: callers hand in plain labels ([`Label`]: a value and its place in the caller's
//! own fixed list of values: method names, status names, URI schemes). The place picks a
//! cached series, so recording is an atomic add with no lock and no map lookup. Label
//! values only ever come from those fixed lists, never a path, a client id or anything
//! else a client chooses, so the number of series stays bounded whatever clients send.
//!
//! Gauges that describe state (open readers and writers, client sessions, process memory
//! and fds) are read when scraped ([`render`]) rather than kept up to date on the request
//! path. `http` serves the rendering on `broker_http_port`.

use std::sync::{LazyLock, OnceLock};
use std::time::Duration;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// A label value and its place in the caller's fixed list of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label {
    pub slot: usize,
    pub name: &'static str,
}

/// Series cached per place; a place past these still records, through the registry's own
/// (slower) lookup.
const METHOD_SLOTS: usize = 32;
const STATUS_SLOTS: usize = 16;
const SCHEME_SLOTS: usize = 32;

/// Seconds; 5 s is the FE's heartbeat timeout, so a slow ping shows in its own bucket.
const LATENCY_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
];

/// The kinds of stream the reaper closes.
const STREAM_KINDS: [&str; 2] = ["reader", "writer"];

#[derive(Clone)]
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
    reaped: IntCounterVec,
    open_connections: IntGauge,
    accepted_connections: IntCounter,
    refused_connections: IntCounterVec,
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

/// The series at `slot` of a one-label family, created on first use.
fn by_slot<'a, const N: usize>(
    cache: &'a [OnceLock<IntCounter>; N],
    vec: &IntCounterVec,
    label: Label,
) -> std::borrow::Cow<'a, IntCounter> {
    match cache.get(label.slot) {
        Some(cell) => {
            std::borrow::Cow::Borrowed(cell.get_or_init(|| vec.with_label_values(&[label.name])))
        }
        None => std::borrow::Cow::Owned(vec.with_label_values(&[label.name])),
    }
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
        // Shown from the start, so a scraper sees 0 rather than nothing.
        for kind in STREAM_KINDS {
            reaped.with_label_values(&[kind]);
        }
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
            reaped,
            open_connections: gauge(
                "broker_open_connections",
                "Thrift connections currently open.",
            ),
            accepted_connections: counter(
                "broker_connections_accepted_total",
                "Thrift connections accepted.",
            ),
            refused_connections: counter_vec(
                "broker_connections_refused_total",
                "Connections closed unread because the peer is not in the allowed clients, by port (thrift, http).",
                &["port"],
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

    fn rpc_series(&self, method: Label, status: Label) -> std::borrow::Cow<'_, Rpc> {
        let make = || {
            let labels = [method.name, status.name];
            Rpc {
                requests: self.rpc_requests.with_label_values(&labels),
                duration: self.rpc_duration.with_label_values(&labels),
            }
        };
        match self
            .rpc
            .get(method.slot)
            .and_then(|by_status| by_status.get(status.slot))
        {
            Some(cell) => std::borrow::Cow::Borrowed(cell.get_or_init(make)),
            None => std::borrow::Cow::Owned(make()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Hooks: each is a few atomic operations
// ---------------------------------------------------------------------------------------

/// One answered call.
pub fn rpc(method: Label, status: Label, elapsed: Duration) {
    let series = METRICS.rpc_series(method, status);
    series.requests.inc();
    series.duration.observe(elapsed.as_secs_f64());
}

/// Bytes a pread returned, by the scheme of the stream's path.
pub fn read_bytes(scheme: Label, bytes: usize) {
    let m = &*METRICS;
    by_slot(&m.read_bytes, &m.read_bytes_vec, scheme).inc_by(bytes as u64);
}

/// Bytes a pwrite accepted.
pub fn written_bytes(scheme: Label, bytes: usize) {
    let m = &*METRICS;
    by_slot(&m.written_bytes, &m.written_bytes_vec, scheme).inc_by(bytes as u64);
}

/// A failure a backend reported, by scheme and the status it maps to.
pub fn storage_error(scheme: Label, status: Label) {
    let m = &*METRICS;
    let cached = m
        .storage_errors
        .get(scheme.slot)
        .and_then(|by_status| by_status.get(status.slot));
    let make = || {
        m.storage_errors_vec
            .with_label_values(&[scheme.name, status.name])
    };
    match cached {
        Some(cell) => cell.get_or_init(make).inc(),
        None => make().inc(),
    }
}

/// A stream the reaper closed: `writer` tells which kind.
pub fn fd_reaped(writer: bool) {
    let kind = STREAM_KINDS[usize::from(writer)];
    METRICS.reaped.with_label_values(&[kind]).inc();
}

/// Counts an accepted Thrift connection as open until the returned guard is dropped.
pub fn connection_opened() -> ConnectionGuard {
    METRICS.accepted_connections.inc();
    METRICS.open_connections.inc();
    ConnectionGuard(())
}

/// A connection closed unread: its peer is not allowed (`port`: thrift or http).
pub fn connection_refused(port: &'static str) {
    METRICS.refused_connections.with_label_values(&[port]).inc();
}

pub struct ConnectionGuard(());

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        METRICS.open_connections.dec();
    }
}

/// The fd table's state at scrape time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenStreams {
    pub readers: usize,
    pub writers: usize,
    pub clients: usize,
}

/// Everything in Prometheus text format, with the scrape-time gauges read now.
pub fn render(open: OpenStreams) -> String {
    let m = &*METRICS;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, series: &str) -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |v| v.parse().unwrap())
    }

    const PING: Label = Label {
        slot: 12,
        name: "ping",
    };
    const OK: Label = Label {
        slot: 0,
        name: "OK",
    };

    #[test]
    fn hooks_show_up_in_the_rendering() {
        let open = OpenStreams::default();
        let before = render(open);
        let not_found = Label {
            slot: 7,
            name: "FILE_NOT_FOUND",
        };
        let file = Label {
            slot: 0,
            name: "file",
        };
        rpc(PING, OK, Duration::from_micros(300));
        rpc(
            Label {
                slot: 6,
                name: "pread",
            },
            not_found,
            Duration::from_millis(3),
        );
        // A place past the cache still records.
        rpc(
            Label {
                slot: 1000,
                name: "unknown",
            },
            Label {
                slot: 1000,
                name: "UNKNOWN_METHOD",
            },
            Duration::from_micros(10),
        );
        read_bytes(file, 1000);
        written_bytes(
            Label {
                slot: 1,
                name: "hdfs",
            },
            7,
        );
        storage_error(
            Label {
                slot: 6,
                name: "oss",
            },
            not_found,
        );
        {
            let _conn = connection_opened();
            let during = render(open);
            assert!(sample(&during, "broker_open_connections") >= 1.0);
        }
        let after = render(OpenStreams {
            readers: 2,
            writers: 1,
            clients: 1,
        });
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
        assert_eq!(sample(&after, "broker_open_readers"), 2.0);
    }
}
