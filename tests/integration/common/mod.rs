//! What every test module shares: the broker process ([`BrokerProcess`]), the one
//! client ([`Client`]), raw-wire helpers, the storage servers (MiniDFSCluster,
//! SeaweedFS, moto, Azurite, fake-gcs-server, a recording HTTP listener, the signature
//! proxy), which of them can run here ([`missing`]), and the checks every object store
//! runs (object_checks.rs) and every HDFS module (hdfs_checks.rs).

pub mod asyncssh;
pub mod at_exit;
pub mod azurite;
mod broker;
mod client;
pub mod fake_gcs;
pub mod hdfs_checks;
pub mod http_listener;
pub mod minicluster;
pub mod moto;
pub mod object_checks;
pub mod pyftpdlib;
pub mod seaweed;
pub mod server;
pub mod servers;
pub mod signature_proxy;
pub mod sshd;
mod wire;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

pub use apache_hdfs_broker::wire::generated::TBrokerOperationStatusCode as Code;
use apache_hdfs_broker::wire::generated::*;
pub use broker::{broker_bin, BrokerProcess};
pub use client::Client;
pub use servers::{missing, Server};
pub use wire::*;

/// A `WITH BROKER (...)` property map.
pub type Props = BTreeMap<String, String>;

/// A property map from pairs: `props(&[("fs.defaultFS", nn)])`.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Hadoop's keys reaching a local S3 server at `endpoint` (`http://127.0.0.1:PORT`),
/// path-style.
pub fn s3_path_style_props(access_key: &str, secret_key: &str, endpoint: &str) -> Props {
    props(&[
        ("fs.s3a.access.key", access_key),
        ("fs.s3a.secret.key", secret_key),
        ("fs.s3a.endpoint", endpoint),
        ("fs.s3a.path.style.access", "true"),
    ])
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
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

/// Puts the executable `from` at `to`, to be run from there: a hard link where both are on
/// one filesystem, else a copy. A copy is written through a file descriptor of this
/// process, and a child another test thread forks meanwhile holds that descriptor until
/// it execs: running `to` then fails with "Text file busy" (ETXTBSY). A link writes
/// nothing.
pub fn place_executable(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
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
