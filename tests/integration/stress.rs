//! Concurrency stress: 64 clients read and write while the reaper expires the streams of
//! clients that went away, and one storage call hangs on a namenode that never answers.
//! No healthy client's call may wait on the stuck one (the Java broker stalled everything
//! behind one stuck close, StarRocks #16647).

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::common::*;
use apache_hdfs_broker::wire::generated::*;

/// Accepts connections and never answers on them: a storage server that hangs. Returns
/// its port and how many connections it holds.
fn black_hole() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    (port, accepted)
}

#[test]
fn sixty_four_clients_never_wait_on_a_stuck_storage_call_or_the_reaper() {
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let data = test_data(1 << 20, 9);
    std::fs::write(dir.path().join("source"), &data).unwrap();
    let source = file_uri(&dir.path().join("source"));
    let (hole, accepted) = black_hole();

    // The stuck call: an open on a namenode that accepts and then says nothing.
    let (stuck_done, stuck_rx) = mpsc::channel();
    {
        let mut c = broker.client();
        std::thread::spawn(move || {
            // Not unwrapped: the broker stops at the end of the test with this call pending.
            let r = c.rpc.open_reader(TBrokerOpenReaderRequest::new(
                TBrokerVersion::VERSION_ONE,
                format!("hdfs://127.0.0.1:{hole}/slow"),
                0,
                "stuck".into(),
                Props::new(),
            ));
            let _ = stuck_done.send((Instant::now(), r.map(|r| r.op_status)));
        });
    }
    // The healthy load starts once the stuck call has reached its server.
    wait_for(
        "the stuck call to reach its server",
        Duration::from_secs(10),
        || accepted.load(Ordering::Relaxed) > 0,
    );

    let phase = Duration::from_secs(5);
    let started = Instant::now();
    // Food for the reaper: clients that open and vanish, all through the phase.
    let reaper_food = {
        let broker_port = broker.port;
        let source = source.clone();
        std::thread::spawn(move || {
            let mut c = Client::connect(broker_port);
            let mut n = 0;
            while started.elapsed() < phase {
                let r = c.open_reader(&source, &format!("gone-{n}"));
                assert_ok(&r.op_status);
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };
    let healthy: Vec<_> = (0..64u64)
        .map(|id| {
            let port = broker.port;
            let source = source.clone();
            let data = data.clone();
            let out = dir.path().join(format!("out-{id}"));
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let me = format!("healthy-{id}");
                let mut worst = Duration::ZERO;
                let mut calls = 0u64;
                let mut timed = |f: &mut dyn FnMut()| {
                    let t = Instant::now();
                    f();
                    worst = worst.max(t.elapsed());
                    calls += 1;
                };
                let mut round = 0u64;
                while started.elapsed() < phase {
                    round += 1;
                    if id % 2 == 0 {
                        let mut fd = None;
                        timed(&mut || fd = Some(c.reader_fd(&source, &me)));
                        let fd = fd.unwrap();
                        let at = ((id * 7919 + round * 104_729) % (1 << 20)) as usize;
                        timed(&mut || {
                            let r = c.pread(&fd, at as i64, 65536);
                            assert_ok(&r.op_status);
                            let end = (at + 65536).min(data.len());
                            assert_eq!(r.data.unwrap(), &data[at..end]);
                        });
                        timed(&mut || assert_ok(&c.close_reader(&fd)));
                    } else {
                        let path = file_uri(&out.with_extension(round.to_string()));
                        let mut fd = None;
                        timed(&mut || fd = Some(c.writer_fd(&path, &me)));
                        let fd = fd.unwrap();
                        timed(&mut || assert_ok(&c.pwrite(&fd, 0, &data[..65536])));
                        timed(&mut || assert_ok(&c.close_writer(&fd)));
                    }
                }
                (worst, calls)
            })
        })
        .collect();
    let results: Vec<(Duration, u64)> = healthy.into_iter().map(|h| h.join().unwrap()).collect();
    let phase_end = Instant::now();
    let vanished = reaper_food.join().unwrap();

    // The stuck call was still stuck through the whole phase ...
    let stuck = stuck_rx.try_recv();
    assert!(
        match &stuck {
            Err(_) => true,
            Ok((at, _)) => *at >= phase_end,
        },
        "the stuck call ended before the healthy load did: {stuck:?}"
    );
    // ... and no healthy call waited on it: each stayed far below the phase's length.
    let worst = results.iter().map(|r| r.0).max().unwrap();
    let calls: u64 = results.iter().map(|r| r.1).sum();
    eprintln!("stress: {calls} healthy calls, worst {worst:?}; {vanished} vanished clients");
    assert!(calls >= 64 * 3, "every healthy client got calls through");
    assert!(
        worst < Duration::from_secs(3),
        "a healthy call took {worst:?} while one storage call was stuck"
    );
    // The reaper expired the vanished clients during the load.
    let text = broker.http_get("/metrics").1;
    assert!(metric(&text, "broker_reaped_fds_total{kind=\"reader\"}") > 0.0);
}
