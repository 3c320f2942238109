//! Writers as multipart uploads: a 100 MiB write in bounded memory, and the upload
//! aborted (never completed) when the writer is reaped or dropped.

use std::time::{Duration, Instant};

use super::{on_server, server, BIG_BUCKET, DROP_BUCKET, REAP_BUCKET};
use crate::common::object_checks::read_back;
use crate::common::*;
use crate::conformance::unique;

/// 100 MiB in 1 MiB pwrites (with replays, one right after each part boundary) is a
/// streaming multipart upload: the broker's peak memory grows by far less than the file.
#[test]
fn a_100_mib_multipart_write_in_bounded_memory() {
    const MIB: usize = 1 << 20;
    const SIZE: usize = 100 * MIB;
    let Some((s3, broker, mut c)) = on_server(&[]) else {
        return;
    };
    let p = s3.props();
    let path = format!("s3a://{BIG_BUCKET}/{}/big.bin", unique("big"));
    // Baseline with the S3 client set up (TLS, HTTP pool, operator).
    assert!(!c.with_props(&p).exists(&path).is_path_exist);
    let baseline = proc_kib(broker.pid(), "VmHWM");

    let started = Instant::now();
    let fd = c.with_props(&p).writer_fd(&path, "be:1");
    let mut sent = Fnv::new();
    let mut chunk = vec![0u8; MIB];
    let mut seed = 0x5EED_u64;
    for i in 0..SIZE / MIB {
        fill(&mut chunk, &mut seed);
        sent.update(&chunk);
        assert_ok(&c.pwrite(&fd, (i * MIB) as i64, &chunk));
        if i % 8 == 0 {
            // FE retry after a timeout: acknowledged, not written twice.
            assert_ok(&c.pwrite(&fd, (i * MIB) as i64, &chunk));
        }
    }
    assert!(
        !c.with_props(&p).exists(&path).is_path_exist,
        "nothing visible before closeWriter"
    );
    assert_ok(&c.close_writer(&fd));
    let write_time = started.elapsed();
    let peak = proc_kib(broker.pid(), "VmHWM");
    let grown_mib = (peak.saturating_sub(baseline)) / 1024;
    eprintln!(
        "100 MiB written in {write_time:?}; broker VmHWM {baseline} KiB -> {peak} KiB (+{grown_mib} MiB)"
    );
    assert!(
        grown_mib < 64,
        "the broker's peak memory grew by {grown_mib} MiB while uploading 100 MiB"
    );
    assert_eq!(
        s3.pending_uploads(BIG_BUCKET),
        0,
        "the multipart upload was completed"
    );

    assert_eq!(
        read_back(&mut c, &path, &p),
        (SIZE, sent.0),
        "size and hash read back"
    );
    assert_ok(&c.delete(&path));
}

/// A writer whose client goes silent is reaped: its multipart upload is aborted, so
/// nothing becomes visible and no parts are left behind.
#[test]
fn a_reaped_writer_aborts_its_upload() {
    let Some((s3, broker, mut c)) = on_server(&[("client_expire_seconds", "2")]) else {
        return;
    };
    let p = s3.props();
    let path = format!("s3a://{REAP_BUCKET}/{}/reaped.bin", unique("reap"));
    let fd = c.with_props(&p).writer_fd(&path, "be:reaped");
    let chunk = test_data(1 << 20, 7);
    // Past two parts: the upload is started (opendal holds the first part back until a
    // second one shows the file needs a multipart upload).
    for i in 0..17 {
        assert_ok(&c.pwrite(&fd, (i << 20) as i64, &chunk));
    }
    assert_eq!(s3.pending_uploads(REAP_BUCKET), 1, "the upload was started");
    // Silent until the reaper takes the writer (past client_expire_seconds).
    wait_for(
        "the idle writer to be reaped",
        Duration::from_secs(20),
        || broker.metric("broker_reaped_fds_total{kind=\"writer\"}") >= 1.0,
    );
    let s = c.pwrite(&fd, 17 << 20, &chunk);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&s).contains("expired"), "{s:?}");
    let s = c.close_writer(&fd);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(!c.with_props(&p).exists(&path).is_path_exist);
    let deadline = Instant::now() + Duration::from_secs(10);
    while s3.pending_uploads(REAP_BUCKET) > 0 {
        assert!(
            Instant::now() < deadline,
            "the multipart upload was not aborted"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A writer dropped without commit or abort (its task cancelled) aborts its upload in
/// the background: it never completes it.
#[test]
fn a_dropped_writer_is_aborted_not_completed() {
    if missing(Server::Seaweed) {
        return;
    }
    use apache_hdfs_broker::storage::{Backends, Location};
    let s3 = server();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let key = format!("{}/dropped.bin", unique("drop"));
    runtime.block_on(async {
        let backends = Backends::new(None, Duration::from_secs(60), Duration::from_secs(60));
        let loc = Location::parse(&format!("s3a://{DROP_BUCKET}/{key}")).unwrap();
        let (fs, loc) = backends.resolve(&loc, &s3.props()).await.unwrap();
        let mut writer = fs.create(&loc).await.unwrap();
        for _ in 0..17 {
            writer.write(vec![7u8; 1 << 20].into()).await.unwrap();
        }
        assert_eq!(s3.pending_uploads(DROP_BUCKET), 1, "the upload was started");
        drop(writer);
        let deadline = Instant::now() + Duration::from_secs(10);
        while s3.pending_uploads(DROP_BUCKET) > 0 {
            assert!(
                Instant::now() < deadline,
                "the dropped upload was not aborted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            fs.stat(&loc).await.unwrap().is_none(),
            "nothing became visible"
        );
    });
}
