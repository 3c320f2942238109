//! The measurement groups of issue #6, each against its limit in the same run.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::TBrokerPWriteRequest;

use crate::baselines;
use crate::client::{Conn, Props, V};
use crate::process::Broker;
use crate::report::{median, quantile, Report, Target};
use crate::Settings;

pub const CHUNK: usize = 8 << 20;
/// "Large receive buffer" of group 1b.
const LARGE_BUFFER: usize = 1 << 20;

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

pub fn uri(path: &Path) -> String {
    format!("file:{}", path.display())
}

/// Reads `limit` bytes of `path` through the broker with 8 MiB preads, large-buffer client.
pub fn broker_read(addr: SocketAddr, path: &str, props: &Props, limit: u64) -> f64 {
    let mut conn = Conn::connect(addr, LARGE_BUFFER).unwrap();
    let (fd, _) = conn.open_reader(path, props).unwrap();
    let mut buf = Vec::new();
    let mut offset = 0u64;
    let started = Instant::now();
    while offset < limit {
        let n = conn
            .pread_into(&fd, offset as i64, CHUNK as i64, &mut buf)
            .unwrap();
        if n == 0 {
            break;
        }
        offset += n as u64;
    }
    let speed = mb_per_s(offset, started.elapsed());
    conn.close_reader(&fd).unwrap();
    speed
}

/// The same bytes from the plain loopback sender, read by the same client code.
fn raw_read(addr: SocketAddr, total: u64) -> f64 {
    let mut conn = Conn::connect(addr, LARGE_BUFFER).unwrap();
    let mut buf = vec![0u8; CHUNK];
    let started = Instant::now();
    let mut got = 0u64;
    while got < total {
        let n = (total - got).min(CHUNK as u64) as usize;
        conn.read_raw(&mut buf[..n]).unwrap();
        got += n as u64;
    }
    mb_per_s(got, started.elapsed())
}

fn be_read(client: &Path, addr: SocketAddr, path: &str, limit: u64) -> f64 {
    let out = Command::new(client)
        .args([
            addr.ip().to_string(),
            addr.port().to_string(),
            path.to_string(),
            CHUNK.to_string(),
            limit.to_string(),
        ])
        .output()
        .expect("run the C++ BE client");
    assert!(
        out.status.success(),
        "be_client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let bytes: f64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .expect("be_client bytes");
    let secs: f64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .expect("be_client seconds");
    assert!(bytes as u64 >= limit, "be_client read only {bytes} bytes");
    bytes / 1e6 / secs
}

/// Group 1: large reads, (a) BE stack vs instant server, (b) large buffer vs raw TCP.
pub fn large_reads(s: &Settings, broker: &Broker, file: &Path, report: &mut Report) {
    let limit = s.large_bytes;
    let path = uri(file);
    if let Some(client) = &s.be_client {
        eprintln!(
            "group 1a: BE stack (C++ TBufferedTransport 512 B), {} MiB per run",
            limit >> 20
        );
        let instant = baselines::instant_server(limit, CHUNK);
        let (mut b, mut c, mut r) = (vec![], vec![], vec![]);
        for run in 0..s.runs {
            let (x, y) = if run % 2 == 0 {
                let x = be_read(client, broker.addr, &path, limit);
                (x, be_read(client, instant, "instant", limit))
            } else {
                let y = be_read(client, instant, "instant", limit);
                (be_read(client, broker.addr, &path, limit), y)
            };
            eprintln!("    run {run}: broker {x:.0} MB/s, instant server {y:.0} MB/s");
            b.push(x);
            c.push(y);
            r.push(x / y);
        }
        report.metric(
            "large_read_be.broker",
            "1a BE-stack 8 MiB preads via broker",
            median(b),
            "MB/s",
        );
        report.metric(
            "large_read_be.ceiling",
            "1a BE-stack 8 MiB preads via instant server",
            median(c),
            "MB/s",
        );
        report.target(Target {
            key: "large_read_be.ratio",
            label: "1a BE-stack reads / instant-server ceiling",
            value: median(r),
            at_least: true,
            limit: 0.9,
            unit: "ratio",
        });
    } else {
        report.skip("1a", "no C++ BE client (--be-client)");
    }

    eprintln!(
        "group 1b: large-buffer client ({} KiB), {} MiB per run",
        LARGE_BUFFER >> 10,
        limit >> 20
    );
    let raw = baselines::raw_sender(limit, CHUNK);
    let (mut b, mut c, mut r, mut cpu) = (vec![], vec![], vec![], vec![]);
    let read_via_broker = || {
        let before = broker.cpu_seconds();
        let speed = broker_read(broker.addr, &path, &Props::new(), limit);
        (
            speed,
            (broker.cpu_seconds() - before) / (limit as f64 / 1e9),
        )
    };
    for run in 0..s.runs {
        let ((x, per_gb), y) = if run % 2 == 0 {
            let x = read_via_broker();
            (x, raw_read(raw, limit))
        } else {
            let y = raw_read(raw, limit);
            (read_via_broker(), y)
        };
        eprintln!(
            "    run {run}: broker {x:.0} MB/s ({per_gb:.3} CPU s/GB), raw loopback {y:.0} MB/s"
        );
        cpu.push(per_gb);
        b.push(x);
        c.push(y);
        r.push(x / y);
    }
    report.metric(
        "large_read_tcp.broker",
        "1b large-buffer 8 MiB preads via broker",
        median(b),
        "MB/s",
    );
    report.metric(
        "large_read_tcp.raw",
        "1b same bytes from a plain loopback TCP sender",
        median(c),
        "MB/s",
    );
    report.metric(
        "large_read_tcp.broker_cpu",
        "1b broker CPU time per GB read",
        median(cpu),
        "s/GB",
    );
    // Not a limit of the target, a diagnosis: the same request/response pattern against a
    // server that does no work shows what one round trip per 8 MiB costs by itself.
    let instant = baselines::instant_server(limit, CHUNK);
    let i: Vec<f64> = (0..s.runs)
        .map(|_| broker_read(instant, "instant", &Props::new(), limit))
        .collect();
    report.metric(
        "large_read_tcp.instant",
        "1b large-buffer 8 MiB preads via instant server",
        median(i),
        "MB/s",
    );
    report.target(Target {
        key: "large_read_tcp.ratio",
        label: "1b large-buffer reads / raw loopback stream",
        value: median(r),
        at_least: true,
        limit: 0.8,
        unit: "ratio",
    });
}

/// One round of `conns` connections doing 4 KiB preads at random offsets for `secs`:
/// (calls per second, sorted latencies in µs).
fn small_round(
    addr: SocketAddr,
    path: &str,
    size: u64,
    conns: usize,
    secs: f64,
) -> (f64, Vec<u32>) {
    let stop = Arc::new(AtomicBool::new(false));
    let ready = Arc::new(std::sync::Barrier::new(conns + 1));
    let threads: Vec<_> = (0..conns)
        .map(|i| {
            let (stop, ready, path) = (stop.clone(), ready.clone(), path.to_string());
            std::thread::spawn(move || {
                let mut conn = Conn::connect(addr, 64 << 10).unwrap();
                let (fd, _) = conn.open_reader(&path, &Props::new()).unwrap();
                let mut buf = Vec::new();
                let mut lat = Vec::with_capacity(1 << 16);
                let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64 + 1);
                ready.wait();
                while !stop.load(Ordering::Relaxed) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let offset = x % (size - 4096);
                    let t = Instant::now();
                    let n = conn.pread_into(&fd, offset as i64, 4096, &mut buf).unwrap();
                    lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    assert_eq!(n, 4096);
                }
                let _ = conn.close_reader(&fd);
                lat
            })
        })
        .collect();
    ready.wait();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let elapsed = started.elapsed();
    all.sort_unstable();
    (all.len() as f64 / elapsed.as_secs_f64(), all)
}

/// Group 2: 4 KiB preads at random offsets with 1 / 16 / 64 connections.
pub fn small_reads(s: &Settings, broker: &Broker, file: &Path, size: u64, report: &mut Report) {
    eprintln!("group 2: 4 KiB random preads, {} s per round", s.small_secs);
    let path = uri(file);
    let mut per_conns = Vec::new();
    for &conns in &[1usize, 16, 64] {
        let (mut rate, mut p50, mut p99) = (vec![], vec![], vec![]);
        for run in 0..s.runs {
            let (r, lat) = small_round(broker.addr, &path, size, conns, s.small_secs);
            eprintln!(
                "    {conns} conns run {run}: {r:.0} calls/s, p50 {} µs, p99 {} µs",
                quantile(&lat, 0.5),
                quantile(&lat, 0.99)
            );
            rate.push(r);
            p50.push(quantile(&lat, 0.5));
            p99.push(quantile(&lat, 0.99));
        }
        report.metric(
            format!("small_read.c{conns}.calls_per_s"),
            format!("2 4 KiB preads, {conns} conns: calls/s"),
            median(rate.clone()),
            "calls/s",
        );
        report.metric(
            format!("small_read.c{conns}.p50_us"),
            format!("2 4 KiB preads, {conns} conns: p50 latency"),
            median(p50),
            "µs",
        );
        report.metric(
            format!("small_read.c{conns}.p99_us"),
            format!("2 4 KiB preads, {conns} conns: p99 latency"),
            median(p99),
            "µs",
        );
        per_conns.push(rate);
    }
    // Ratio per run (1 and 16 connections of the same run index).
    let ratios: Vec<f64> = per_conns[1]
        .iter()
        .zip(&per_conns[0])
        .map(|(m, o)| m / o)
        .collect();
    report.target(Target {
        key: "small_read.scaling_16_vs_1",
        label: "2 small reads: 16 conns calls/s / 1 conn calls/s",
        value: median(ratios),
        at_least: true,
        limit: 1.7,
        unit: "ratio",
    });
}

fn local_write(dir: &Path, data: &[u8], total: u64) -> f64 {
    let temp = dir.join(".local-write.tmp");
    let target = dir.join("local-write.bin");
    let started = Instant::now();
    let mut f = std::fs::File::create(&temp).unwrap();
    let mut written = 0u64;
    while written < total {
        f.write_all(data).unwrap();
        written += data.len() as u64;
    }
    f.sync_all().unwrap();
    drop(f);
    std::fs::rename(&temp, &target).unwrap();
    let speed = mb_per_s(written, started.elapsed());
    std::fs::remove_file(&target).unwrap();
    speed
}

fn broker_write(addr: SocketAddr, dir: &Path, data: &[u8], total: u64) -> f64 {
    let target = dir.join("broker-write.bin");
    let mut conn = Conn::connect(addr, 64 << 10).unwrap();
    let started = Instant::now();
    let fd = conn.open_writer(&uri(&target)).unwrap();
    let mut req = TBrokerPWriteRequest::new(V, fd.clone(), 0, data.to_vec());
    let mut written = 0u64;
    while written < total {
        req.offset = written as i64;
        conn.pwrite(&req).unwrap();
        written += data.len() as u64;
    }
    conn.close_writer(&fd).unwrap();
    let speed = mb_per_s(written, started.elapsed());
    std::fs::remove_file(&target).unwrap();
    speed
}

/// Group 3: pwrite throughput (open, chunks, close with fsync) vs the same bytes written
/// locally (create, write, fsync, rename: what the broker's local writer does).
pub fn writes(s: &Settings, broker: &Broker, dir: &Path, report: &mut Report) {
    eprintln!("group 3: writes, {} MiB per run", s.write_bytes >> 20);
    for &chunk in &[1usize << 20, 4 << 20] {
        let data: Vec<u8> = (0..chunk).map(|i| (i * 31 % 251) as u8).collect();
        let (mut b, mut l, mut r) = (vec![], vec![], vec![]);
        for run in 0..s.runs {
            let x = broker_write(broker.addr, dir, &data, s.write_bytes);
            let y = local_write(dir, &data, s.write_bytes);
            eprintln!(
                "    {} MiB chunks run {run}: broker {x:.0} MB/s, local {y:.0} MB/s",
                chunk >> 20
            );
            b.push(x);
            l.push(y);
            r.push(x / y);
        }
        let mib = chunk >> 20;
        report.metric(
            format!("write.{mib}m.broker"),
            format!("3 pwrite {mib} MiB chunks via broker"),
            median(b),
            "MB/s",
        );
        report.metric(
            format!("write.{mib}m.local"),
            format!("3 {mib} MiB chunks: same bytes written locally"),
            median(l),
            "MB/s",
        );
        report.metric(
            format!("write.{mib}m.ratio"),
            format!("3 pwrite {mib} MiB: broker / local"),
            median(r),
            "ratio",
        );
    }
}

/// A directory of `n` empty files, created once and kept under the data dir.
fn flat_dir(data: &Path, n: usize) -> PathBuf {
    let dir = data.join(format!("list-{n}"));
    let marker = data.join(format!(".list-{n}-complete"));
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..n {
            std::fs::File::create(dir.join(format!("f{i:07}"))).unwrap();
        }
        std::fs::File::create(&marker).unwrap();
    }
    dir
}

/// `n` partition directories `p=NNNN/part-0.csv`, created once.
fn partitions(data: &Path, n: usize) -> PathBuf {
    let dir = data.join(format!("parts-{n}"));
    let marker = data.join(format!(".parts-{n}-complete"));
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        for i in 0..n {
            let p = dir.join(format!("p={i:04}"));
            std::fs::create_dir_all(&p).unwrap();
            std::fs::File::create(p.join("part-0.csv")).unwrap();
        }
        std::fs::File::create(&marker).unwrap();
    }
    dir
}

/// Group 4: listPath of a big directory and a glob over partition directories.
pub fn listing(s: &Settings, broker: &Broker, data: &Path, report: &mut Report) {
    eprintln!(
        "group 4: listing {} entries, glob over {} partitions",
        s.list_entries, s.partitions
    );
    let flat = flat_dir(data, s.list_entries);
    let parts = partitions(data, s.partitions);
    let mut conn = Conn::connect(broker.addr, 1 << 20).unwrap();
    let (mut a, mut g) = (vec![], vec![]);
    for _ in 0..s.runs {
        let t = Instant::now();
        let n = conn.list(&format!("{}/*", uri(&flat))).unwrap();
        a.push(t.elapsed().as_secs_f64());
        assert_eq!(n, s.list_entries);
        let t = Instant::now();
        let n = conn.list(&format!("{}/p=*/*.csv", uri(&parts))).unwrap();
        g.push(t.elapsed().as_secs_f64());
        assert_eq!(n, s.partitions);
    }
    report.metric(
        "list.flat_s",
        format!("4 listPath of {} entries", s.list_entries),
        median(a),
        "s",
    );
    report.metric(
        "list.glob_s",
        format!("4 glob p=*/*.csv over {} partitions", s.partitions),
        median(g),
        "s",
    );
}

/// Group 5: RSS idle, RSS under 1,000 connections and 10,000 readers, start to first ping.
pub fn footprint(s: &Settings, small_file: &Path, report: &mut Report) {
    eprintln!("group 5: footprint");
    let mut starts = vec![];
    let mut idle = vec![];
    for _ in 0..s.runs.max(3) {
        let (broker, first_ping) = Broker::start(
            &s.broker,
            &[("broker_local_roots", s.data.to_str().unwrap())],
        );
        starts.push(first_ping.as_secs_f64() * 1000.0);
        // Settle: the start's transient allocations are freed, the runtime is parked.
        std::thread::sleep(Duration::from_millis(500));
        idle.push(broker.rss() as f64 / (1 << 20) as f64);
    }
    // The bench opens every reader as one client: past the default 8,192 a client may hold.
    let readers = s.readers.to_string();
    let (broker, _) = Broker::start(
        &s.broker,
        &[
            ("max_open_fds_per_client", &readers),
            ("broker_local_roots", s.data.to_str().unwrap()),
        ],
    );
    let path = uri(small_file);
    let conns: Vec<Conn> = (0..s.connections)
        .map(|_| {
            let mut c = Conn::connect(broker.addr, 4096).unwrap();
            c.ping().unwrap();
            c
        })
        .collect();
    let mut conns = conns;
    for i in 0..s.readers {
        let c = &mut conns[i % s.connections];
        c.open_reader(&path, &Props::new()).unwrap();
    }
    let loaded = broker.rss() as f64 / (1 << 20) as f64;
    drop(conns);
    report.metric(
        "footprint.idle_rss_mib",
        "5 RSS idle after start",
        median(idle.clone()),
        "MiB",
    );
    report.metric(
        "footprint.loaded_rss_mib",
        format!(
            "5 RSS with {} connections, {} open readers",
            s.connections, s.readers
        ),
        loaded,
        "MiB",
    );
    report.metric(
        "footprint.first_ping_ms",
        "5 process start to first ping answered",
        median(starts.clone()),
        "ms",
    );
    report.target(Target {
        key: "footprint.idle_rss",
        label: "5 RSS idle after start",
        value: median(idle),
        at_least: false,
        limit: 15.0,
        unit: "MiB",
    });
    report.target(Target {
        key: "footprint.loaded_rss",
        label: "5 RSS with 1,000 conns and 10,000 readers",
        value: loaded,
        at_least: false,
        limit: 128.0,
        unit: "MiB",
    });
    report.target(Target {
        key: "footprint.first_ping",
        label: "5 start to first ping",
        value: median(starts),
        at_least: false,
        limit: 100.0,
        unit: "ms",
    });
}
