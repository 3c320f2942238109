//! Group 6's HDFS figures beyond throughput (issue #19), on the cluster group 6 started:
//! memory of many open HDFS readers and after they close (6b), ping latency while another
//! client streams 8 MiB preads (6c), and 1 MiB pwrites vs hdfs-native writing in-process
//! (6d).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::TBrokerPWriteRequest;
use bytes::Bytes;
use hdfs_native::{Client, WriteOptions};

use crate::client::{Conn, Props, V};
use crate::groups::CHUNK;
use crate::process::Broker;
use crate::report::{median, quantile, Report, Target};
use crate::Settings;

const MIB: f64 = (1 << 20) as f64;

fn rss_mib(broker: &Broker) -> f64 {
    broker.rss() as f64 / MIB
}

/// 6b: RSS with `s.connections` connections holding `s.readers` open HDFS readers of a
/// one-block file, the bytes each reader costs, and the RSS after they all close again
/// (polled for up to 10 s; the target is idle + 16 MiB).
pub fn reader_memory(s: &Settings, file_uri: &str, report: &mut Report) {
    eprintln!(
        "group 6b: {} HDFS readers on {} connections",
        s.readers, s.connections
    );
    let readers = s.readers.to_string();
    let (broker, _) = Broker::start(&s.broker, &[("max_open_fds_per_client", &readers)]);
    std::thread::sleep(Duration::from_millis(500));
    let idle = rss_mib(&broker);
    let mut conns: Vec<Conn> = (0..s.connections)
        .map(|_| {
            let mut c = Conn::connect(broker.addr, 4096).unwrap();
            c.ping().unwrap();
            c
        })
        .collect();
    let connected = rss_mib(&broker);
    let mut fds = Vec::with_capacity(s.readers);
    for i in 0..s.readers {
        let c = i % s.connections;
        fds.push((c, conns[c].open_reader(file_uri, &Props::new()).unwrap().0));
    }
    let loaded = rss_mib(&broker);
    for (c, fd) in &fds {
        conns[*c].close_reader(fd).unwrap();
    }
    drop(conns);
    let closed_at = Instant::now();
    let limit = idle + 16.0;
    let mut after = rss_mib(&broker);
    while after > limit && closed_at.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
        after = rss_mib(&broker);
    }
    let per_reader = (loaded - connected) * MIB / s.readers as f64;
    eprintln!(
        "    idle {idle:.1} MiB, {} connections {connected:.1} MiB, + readers {loaded:.1} MiB ({per_reader:.0} B/reader), after close {after:.1} MiB ({:.1} s)",
        s.connections,
        closed_at.elapsed().as_secs_f64()
    );
    report.metric("hdfs_readers.idle_rss_mib", "6b RSS idle", idle, "MiB");
    report.metric(
        "hdfs_readers.bytes_per_reader",
        "6b bytes per open HDFS reader (one-block file)",
        per_reader,
        "B",
    );
    report.target(Target {
        key: "hdfs_readers.loaded_rss",
        label: "6b RSS with 1,000 conns and 10,000 HDFS readers",
        value: loaded,
        at_least: false,
        limit: 96.0,
        unit: "MiB",
    });
    report.target(Target {
        key: "hdfs_readers.after_close_rss",
        label: "6b RSS within 10 s after they close (idle + 16)",
        value: after,
        at_least: false,
        limit,
        unit: "MiB",
    });
}

/// Latencies in microseconds of `n` pings on `conn`, sorted.
fn pings(conn: &mut Conn, n: usize) -> Vec<u32> {
    let mut took: Vec<u32> = (0..n)
        .map(|_| {
            let t = Instant::now();
            conn.ping().unwrap();
            t.elapsed().as_micros() as u32
        })
        .collect();
    took.sort_unstable();
    took
}

/// Streams 8 MiB preads of `uri` (from the start again at its end) until `stop`.
fn stream_preads(addr: SocketAddr, uri: String, stop: Arc<AtomicBool>) -> u64 {
    let mut conn = Conn::connect(addr, 1 << 20).unwrap();
    let (fd, size) = conn.open_reader(&uri, &Props::new()).unwrap();
    let mut buf = Vec::new();
    let (mut offset, mut total) = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        let n = conn
            .pread_into(&fd, offset as i64, CHUNK as i64, &mut buf)
            .unwrap();
        total += n as u64;
        offset += n as u64;
        if n == 0 || offset >= size as u64 {
            offset = 0;
        }
    }
    conn.close_reader(&fd).unwrap();
    total
}

/// 6c: p99 of 2,000 pings on one connection, idle and while another client streams
/// 8 MiB preads of the HDFS file `uri`.
pub fn ping_under_load(s: &Settings, broker: &Broker, uri: &str, report: &mut Report) {
    eprintln!("group 6c: ping while 8 MiB HDFS preads stream");
    let (mut idle, mut loaded) = (vec![], vec![]);
    for run in 0..s.runs {
        let mut conn = Conn::connect(broker.addr, 4096).unwrap();
        pings(&mut conn, 200);
        let quiet = quantile(&pings(&mut conn, 2000), 0.99);
        let stop = Arc::new(AtomicBool::new(false));
        let streamer = {
            let (addr, uri, stop) = (broker.addr, uri.to_string(), stop.clone());
            std::thread::spawn(move || stream_preads(addr, uri, stop))
        };
        // The stream is running at full speed before the pings start.
        std::thread::sleep(Duration::from_millis(500));
        let started = Instant::now();
        let busy = quantile(&pings(&mut conn, 2000), 0.99);
        let secs = started.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let streamed = streamer.join().unwrap();
        eprintln!(
            "    run {run}: ping p99 idle {quiet:.0} µs, under load {busy:.0} µs ({:.0} MB streamed meanwhile, {:.0} MB/s)",
            streamed as f64 / 1e6,
            streamed as f64 / 1e6 / (secs + 0.5)
        );
        idle.push(quiet / 1000.0);
        loaded.push(busy / 1000.0);
    }
    report.metric(
        "hdfs_ping.idle_p99_ms",
        "6c ping p99, idle",
        median(idle),
        "ms",
    );
    report.target(Target {
        key: "hdfs_ping.loaded_p99",
        label: "6c ping p99 while 8 MiB HDFS preads stream",
        value: median(loaded),
        at_least: false,
        limit: 1.0,
        unit: "ms",
    });
}

/// `total` bytes in pwrites of `data` through the broker to `uri` (open ... close). A
/// loaded MiniDFSCluster may refuse a block (NotReplicatedYetException, which hdfs-native
/// does not retry): that run is reported and left out.
fn broker_write(addr: SocketAddr, uri: &str, data: &[u8], total: u64) -> Result<f64, String> {
    let mut conn = Conn::connect(addr, 64 << 10)?;
    let started = Instant::now();
    let fd = conn.open_writer(uri)?;
    let mut req = TBrokerPWriteRequest::new(V, fd.clone(), 0, data.to_vec());
    let mut written = 0u64;
    while written < total {
        req.offset = written as i64;
        conn.pwrite(&req)?;
        written += data.len() as u64;
    }
    conn.close_writer(&fd)?;
    Ok(written as f64 / 1e6 / started.elapsed().as_secs_f64())
}

/// The same bytes written by hdfs-native in-process (create, 1 MiB writes, close).
fn native_write(
    rt: &tokio::runtime::Runtime,
    client: &Client,
    path: &str,
    data: &Bytes,
    total: u64,
) -> Result<f64, String> {
    rt.block_on(async {
        let started = Instant::now();
        let mut w = client
            .create(path, WriteOptions::default().overwrite(true))
            .await
            .map_err(|e| e.to_string())?;
        let mut written = 0u64;
        while written < total {
            w.write_bytes(data.clone())
                .await
                .map_err(|e| e.to_string())?;
            written += data.len() as u64;
        }
        w.close().await.map_err(|e| e.to_string())?;
        Ok(written as f64 / 1e6 / started.elapsed().as_secs_f64())
    })
}

/// 6d: `s.hdfs_bytes` written in 1 MiB pwrites through the broker vs hdfs-native in-process.
pub fn writes(
    s: &Settings,
    broker: &Broker,
    rt: &tokio::runtime::Runtime,
    client: &Client,
    namenode: &str,
    report: &mut Report,
) {
    eprintln!(
        "group 6d: HDFS writes, {} MiB in 1 MiB pwrites",
        s.hdfs_bytes >> 20
    );
    let data: Vec<u8> = (0..1usize << 20).map(|i| (i * 31 % 251) as u8).collect();
    let bytes = Bytes::from(data.clone());
    let uri = format!("{namenode}/bench/broker-write.bin");
    let (mut b, mut n, mut r) = (vec![], vec![], vec![]);
    for run in 0..s.runs {
        let native = || native_write(rt, client, "/bench/native-write.bin", &bytes, s.hdfs_bytes);
        let (x, y) = if run % 2 == 0 {
            let x = broker_write(broker.addr, &uri, &data, s.hdfs_bytes);
            (x, native())
        } else {
            let y = native();
            (broker_write(broker.addr, &uri, &data, s.hdfs_bytes), y)
        };
        let (x, y) = match (x, y) {
            (Ok(x), Ok(y)) => (x, y),
            (x, y) => {
                eprintln!("    run {run} left out: broker {x:?}, hdfs-native {y:?}");
                continue;
            }
        };
        eprintln!("    run {run}: broker {x:.0} MB/s, hdfs-native in-process {y:.0} MB/s");
        b.push(x);
        n.push(y);
        r.push(x / y);
    }
    report.metric(
        "hdfs_write.broker",
        "6d HDFS 1 MiB pwrites via broker",
        median(b),
        "MB/s",
    );
    report.metric(
        "hdfs_write.native",
        "6d HDFS 1 MiB writes, hdfs-native in-process",
        median(n),
        "MB/s",
    );
    report.target(Target {
        key: "hdfs_write.ratio",
        label: "6d HDFS writes via broker / hdfs-native in-process",
        value: median(r),
        at_least: true,
        limit: 0.9,
        unit: "ratio",
    });
}
