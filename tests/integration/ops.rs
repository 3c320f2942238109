//! Operations, through the real binary: the FE's heartbeat is answered promptly while
//! readers saturate the broker, and a graceful stop never commits a half-written file.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::*;
use apache_hdfs_broker::wire::generated::*;

const MIB: usize = 1 << 20;

/// 16 clients pull 8 MiB preads flat out (looping over a 256 MiB file) for 15 s while a
/// separate client pings every second with the FE's 5 s timeout on its socket: no ping
/// may fail or come close to that timeout.
#[test]
fn heartbeat_is_answered_under_read_load() {
    const READERS: usize = 16;
    const FILE_MIB: usize = 256;
    const LOAD: Duration = Duration::from_secs(15);
    const FE_TIMEOUT: Duration = Duration::from_secs(5);

    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.bin");
    {
        let block = test_data(MIB, 7);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        for i in 0..FILE_MIB {
            // Each MiB starts with its index, so a wrong offset would show.
            out.write_all(&(i as u64).to_le_bytes()).unwrap();
            out.write_all(&block[8..]).unwrap();
        }
        out.flush().unwrap();
    }
    let path = uri(&file);
    let size = (FILE_MIB * MIB) as i64;

    let stop = Arc::new(AtomicBool::new(false));
    let bytes = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..READERS)
        .map(|i| {
            let (stop, bytes, path) = (stop.clone(), bytes.clone(), path.clone());
            let mut c = broker.client();
            std::thread::spawn(move || {
                let client_id = format!("be-{i}:9060");
                let fd = c.reader_fd(&path, &client_id);
                let mut offset = (i * 16 * MIB) as i64 % size;
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let r = c.pread(&fd, offset, (8 * MIB) as i64);
                    assert_ok(&r.op_status);
                    let data = r.data.unwrap();
                    if offset % MIB as i64 == 0 && !data.is_empty() {
                        let index = u64::from_le_bytes(data[..8].try_into().unwrap());
                        assert_eq!(index, (offset as usize / MIB) as u64);
                    }
                    offset = if data.is_empty() {
                        0
                    } else {
                        offset + data.len() as i64
                    };
                    bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                    calls += 1;
                }
                assert_ok(&c.close_reader(&fd));
                calls
            })
        })
        .collect();

    let mut fe = Client::connect_with_timeout(broker.port, FE_TIMEOUT);
    let started = Instant::now();
    let mut latencies = Vec::new();
    let mut next = started + Duration::from_secs(1);
    while started.elapsed() < LOAD {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += Duration::from_secs(1);
        let t = Instant::now();
        let status = fe
            .rpc
            .ping(TBrokerPingBrokerRequest::new(
                TBrokerVersion::VERSION_ONE,
                "fe-heartbeat".into(),
            ))
            .unwrap_or_else(|e| panic!("ping {} failed: {e}", latencies.len() + 1));
        latencies.push(t.elapsed());
        assert_ok(&status);
    }
    let loaded = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let calls: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();

    let max = latencies.iter().max().copied().unwrap();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    let total = bytes.load(Ordering::Relaxed);
    println!(
        "{} pings under load: max {max:?}, mean {mean:?}; {READERS} readers did {} preads, \
         {:.0} MiB/s",
        latencies.len(),
        calls.iter().sum::<u64>(),
        total as f64 / MIB as f64 / loaded.as_secs_f64()
    );
    assert!(latencies.len() >= 14, "{latencies:?}");
    assert!(
        calls.iter().all(|&n| n > 0),
        "every reader made progress: {calls:?}"
    );
    assert!(max < FE_TIMEOUT, "slowest ping {max:?}: {latencies:?}");
}

/// SIGTERM while a client has a writer open with data written (and another has half a
/// pwrite on the wire): the broker exits 0, the client's next call fails, and neither
/// the target nor the hidden temp file is left.
#[test]
fn graceful_stop_aborts_open_writers() {
    let mut broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export.csv");
    let mut c = broker.client();
    let fd = c.writer_fd(&uri(&target), "be-1:9060");
    assert_ok(&c.pwrite(&fd, 0, &test_data(MIB, 1)));

    let other = dir.path().join("other.csv");
    let fd2 = broker.client().writer_fd(&uri(&other), "be-2:9060");
    let mut half = broker.raw();
    let call = encode_call(
        "pwrite",
        1,
        true,
        &TBrokerPWriteRequest::new(TBrokerVersion::VERSION_ONE, fd2, 0, test_data(MIB, 2)),
    );
    half.write_all(&call[..call.len() / 2]).unwrap();

    // Both writers are hidden temp files until committed.
    let names = dir_names(dir.path());
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with('.')), "{names:?}");

    let status = broker.terminate();
    assert!(status.success(), "exit status {status}");

    let next = c.rpc.close_writer(TBrokerCloseWriterRequest::new(
        TBrokerVersion::VERSION_ONE,
        fd.clone(),
    ));
    match next {
        Err(_) => {}
        Ok(s) => assert_ne!(
            s.status_code,
            Code::OK,
            "closeWriter committed after SIGTERM"
        ),
    }
    assert!(!target.exists() && !other.exists());
    assert_eq!(dir_names(dir.path()), Vec::<String>::new());
    let (closed, _) = closed_within(&mut half, Duration::from_secs(1));
    assert!(closed, "the half-sent call's connection is closed");
    let log = broker.log();
    assert!(
        log.contains("aborting 2 open writer(s) at shutdown"),
        "{log}"
    );
}
