//! Checks every object-store test runs beside the conformance suite, through the Thrift
//! wire: a 64 MiB write in 1 MiB pwrites read back whole and compared by hash, and a
//! writer the reaper takes (nothing visible at its path afterwards).

use std::time::Duration;

use super::*;

const MIB: usize = 1 << 20;

/// Writes 64 MiB at `path` in 1 MiB pwrites (nothing visible before closeWriter), reads
/// it back in 8 MiB preads, compares hashes, and deletes it.
pub fn big_write_round_trip(broker: &BrokerProcess, path: &str, props: &Props) {
    const SIZE: usize = 64 * MIB;
    let mut c = broker.client();
    let fd = writer_fd_with(&mut c, path, "be:big", props);
    let mut sent = Fnv::new();
    let mut chunk = vec![0u8; MIB];
    let mut seed = 0xB16_u64;
    for i in 0..SIZE / MIB {
        fill(&mut chunk, &mut seed);
        sent.update(&chunk);
        assert_ok(&pwrite(&mut c, &fd, (i * MIB) as i64, &chunk));
    }
    assert!(
        !exists_with(&mut c, path, props).is_path_exist,
        "{path} visible before closeWriter"
    );
    assert_ok(&close_writer(&mut c, &fd));
    let r = file_size_with(&mut c, path, props);
    assert_eq!(r.file_size, Some(SIZE as i64), "{r:?}");
    let fd = reader_fd_with(&mut c, path, "be:big", props);
    let mut got = Fnv::new();
    let mut offset = 0usize;
    loop {
        let r = pread(&mut c, &fd, offset as i64, 8 * MIB as i64);
        assert_ok(&r.op_status);
        let data = r.data.unwrap();
        if data.is_empty() {
            break;
        }
        got.update(&data);
        offset += data.len();
    }
    assert_eq!(offset, SIZE, "bytes read back from {path}");
    assert_eq!(got.0, sent.0, "hash of the bytes read back from {path}");
    assert_ok(&close_reader(&mut c, &fd));
    assert_ok(&delete_with(&mut c, path, props));
}

/// On a broker started with `client_expire_seconds=2`: a writer whose client goes silent
/// is reaped, its later calls fail naming the expiry, and nothing is visible at `path`.
pub fn reaped_writer_leaves_nothing(broker: &BrokerProcess, path: &str, props: &Props) {
    let mut c = broker.client();
    let fd = writer_fd_with(&mut c, path, "be:reaped", props);
    let chunk = test_data(MIB, 7);
    for i in 0..17 {
        assert_ok(&pwrite(&mut c, &fd, (i * MIB) as i64, &chunk));
    }
    // Silent until the broker logs the abort (a call would keep the session alive).
    wait_for(
        "the reaper to take the writer",
        Duration::from_secs(20),
        || {
            broker
                .log()
                .lines()
                .any(|l| l.contains("be:reaped") && l.contains("idle client"))
        },
    );
    let s = pwrite(&mut c, &fd, 17 << 20, &chunk);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&s).contains("expired"), "{s:?}");
    assert_code(
        &close_writer(&mut c, &fd),
        Code::TARGET_STORAGE_SERVICE_ERROR,
    );
    assert!(
        !exists_with(&mut c, path, props).is_path_exist,
        "a reaped write became visible at {path}"
    );
}
