//! Readers: `openReader`, `pread`, `seek`, `closeReader`.

use crate::common::*;

use std::collections::HashSet;

use apache_hdfs_broker::wire::generated::TBrokerFD;

const CLIENT: &str = "be1:9060";

/// A temp dir holding `data.bin` with `len` bytes of [`test_data`]; returns its URI too.
fn data_file(len: usize) -> (tempfile::TempDir, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let data = test_data(len, len as u64);
    std::fs::write(dir.path().join("data.bin"), &data).unwrap();
    let path = uri(&dir.path().join("data.bin"));
    (dir, path, data)
}

/// Appends `more` to the file of [`data_file`] in `dir`, and to `data`, its expected bytes.
fn append(dir: &std::path::Path, data: &mut Vec<u8>, more: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("data.bin"))
        .unwrap();
    std::io::Write::write_all(&mut f, more).unwrap();
    data.extend_from_slice(more);
}

#[test]
fn open_reader_of_a_missing_file_is_file_not_found_without_fd() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let missing = uri(&dir.path().join("nope.csv"));
    let r = c.open_reader(&missing, CLIENT);
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    assert!(r.fd.is_none(), "no fd on failure: {r:?}");
    assert!(
        message(&r.op_status).contains("nope.csv"),
        "{:?}",
        r.op_status
    );
    // In a missing directory too.
    let r = c.open_reader(&uri(&dir.path().join("no/such/x.csv")), CLIENT);
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    // A directory cannot be read.
    let r = c.open_reader(&uri(dir.path()), CLIENT);
    assert_ne!(r.op_status.status_code, Code::OK);
    assert!(r.fd.is_none());
}

#[test]
fn open_reader_reports_the_size_and_fds_are_random_and_distinct() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let (_dir, path, data) = data_file(1234);
    let mut fds = HashSet::new();
    let (mut highs, mut lows) = (HashSet::new(), HashSet::new());
    for _ in 0..32 {
        let r = c.open_reader(&path, CLIENT);
        assert_ok(&r.op_status);
        assert_eq!(r.size, Some(data.len() as i64));
        let fd = r.fd.unwrap();
        assert!(fds.insert((fd.high, fd.low)), "fd issued twice: {fd:?}");
        highs.insert(fd.high);
        lows.insert(fd.low);
    }
    // Both halves are random: no counter, no constant half.
    assert_eq!(highs.len(), 32, "high halves repeat: {highs:?}");
    assert_eq!(lows.len(), 32, "low halves repeat: {lows:?}");
    let small = fds
        .iter()
        .filter(|(h, l)| h.unsigned_abs() < 1 << 20 || l.unsigned_abs() < 1 << 20)
        .count();
    assert!(small <= 1, "fd halves look sequential: {fds:?}");
}

#[test]
fn pread_is_positional_at_any_offset_in_any_order() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let (_dir, path, data) = data_file(1 << 20);
    let fd = c.reader_fd(&path, CLIENT);
    let reads: &[(usize, usize)] = &[
        (500_000, 4096),
        (0, 10),
        (1_048_000, 576),
        (12_345, 100_000),
        (0, 10), // FE retries the same offset
        (999_999, 1),
        (7, 3),
        (500_000, 4096),
    ];
    for &(offset, len) in reads {
        let r = c.pread(&fd, offset as i64, len as i64);
        assert_ok(&r.op_status);
        assert_eq!(
            r.data.as_deref(),
            Some(&data[offset..offset + len]),
            "pread({offset}, {len})"
        );
    }
    // Two fds on the same file do not share a position.
    let other = c.reader_fd(&path, CLIENT);
    assert_eq!(c.pread(&other, 100, 5).data.unwrap(), &data[100..105]);
    assert_eq!(c.pread(&fd, 200, 5).data.unwrap(), &data[200..205]);
}

#[test]
fn pread_length_is_capped_by_hdfs_read_buffer_size_kb() {
    let broker = BrokerProcess::start_with(&[("hdfs_read_buffer_size_kb", "4")]);
    let mut c = broker.client();
    let (_dir, path, data) = data_file(10_000);
    let fd = c.reader_fd(&path, CLIENT);
    let r = c.pread(&fd, 0, 1 << 20);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap(), &data[..4096], "capped at 4 KiB, not short");
    let r = c.pread(&fd, 1000, 1 << 20);
    assert_eq!(r.data.unwrap(), &data[1000..5096]);
    let r = c.pread(&fd, 5000, 100);
    assert_eq!(
        r.data.unwrap(),
        &data[5000..5100],
        "below the cap: what was asked"
    );
    // Short only at the end of the file.
    let r = c.pread(&fd, 8192, 4096);
    assert_eq!(r.data.unwrap(), &data[8192..]);
    // BE-style loop with big requests reads the whole file.
    assert_eq!(c.read_file(&path, CLIENT, 1 << 20), data);
}

#[test]
fn pread_is_short_only_at_end_of_file_and_empty_at_or_past_it() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let len = 5 << 20;
    let (_dir, path, data) = data_file(len);
    let fd = c.reader_fd(&path, CLIENT);
    for (offset, want) in [(0usize, 3 << 20), (1, 3 << 20), (len - (3 << 20), 3 << 20)] {
        let r = c.pread(&fd, offset as i64, want as i64);
        assert_ok(&r.op_status);
        let got = r.data.unwrap();
        assert_eq!(
            got.len(),
            want,
            "pread({offset}, {want}) before EOF must be full"
        );
        assert!(got == data[offset..offset + want]);
    }
    let r = c.pread(&fd, (len - 10) as i64, 100);
    assert_eq!(r.data.unwrap(), &data[len - 10..], "short at EOF");
    for offset in [
        len,
        len + 1,
        len + 1_000_000,
        i64::MAX as usize - 10,
        i64::MAX as usize,
    ] {
        let r = c.pread(&fd, offset as i64, 100);
        assert_ok(&r.op_status);
        assert_eq!(
            r.data,
            Some(Vec::new()),
            "at/past EOF ({offset}): OK + empty data"
        );
    }
    // An empty file is at EOF from the start.
    let (_empty_dir, empty, _) = data_file(0);
    let fd = c.reader_fd(&empty, CLIENT);
    let r = c.pread(&fd, 0, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data, Some(Vec::new()));
}

#[test]
fn pread_argument_errors() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let (_dir, path, data) = data_file(100);
    let fd = c.reader_fd(&path, CLIENT);
    assert_code(&c.pread(&fd, -1, 10).op_status, Code::INVALID_INPUT_OFFSET);
    assert_code(
        &c.pread(&fd, i64::MIN, 10).op_status,
        Code::INVALID_INPUT_OFFSET,
    );
    assert_code(
        &c.pread(&fd, i64::MIN, 10).op_status,
        Code::INVALID_INPUT_OFFSET,
    );
    // Length 0 (the FE reading an empty file) is OK with empty data.
    let empty = c.pread(&fd, 0, 0);
    assert_ok(&empty.op_status);
    assert_eq!(empty.data.unwrap_or_default(), Vec::<u8>::new());
    assert_code(&c.pread(&fd, 0, -5).op_status, Code::INVALID_ARGUMENT);
    let unknown = TBrokerFD::new(0x1234, 0x5678);
    let r = c.pread(&unknown, 0, 10);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    // The fd still works after all those refusals.
    assert_eq!(c.pread(&fd, 0, 1000).data.unwrap(), data);
}

#[test]
fn seek_answers_ok_and_pread_stays_positional() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let (_dir, path, data) = data_file(1000);
    let fd = c.reader_fd(&path, CLIENT);
    assert_ok(&c.seek(&fd, 500));
    assert_eq!(c.pread(&fd, 10, 5).data.unwrap(), &data[10..15]);
    assert_ok(&c.seek(&fd, 0));
    assert_eq!(c.pread(&fd, 990, 100).data.unwrap(), &data[990..]);
    let unknown = TBrokerFD::new(-1, -2);
    assert_ne!(c.seek(&unknown, 0).status_code, Code::OK);
}

#[test]
fn close_reader_is_idempotent_and_the_fd_is_dead_afterwards() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let (_dir, path, _) = data_file(100);
    let fd = c.reader_fd(&path, CLIENT);
    assert_ok(&c.close_reader(&fd));
    assert_ok(&c.close_reader(&fd)); // the first reply may have been lost
    let r = c.pread(&fd, 0, 10);
    assert_ne!(
        r.op_status.status_code,
        Code::OK,
        "pread after close: {r:?}"
    );
    assert_ne!(c.seek(&fd, 0).status_code, Code::OK);
    // Still OK a third time, from another connection.
    let mut c2 = broker.client();
    assert_ok(&c2.close_reader(&fd));
}

#[test]
fn close_of_a_never_issued_fd_is_502() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let never = TBrokerFD::new(0x0bad_cafe, 0x0dd_f00d);
    let s = c.close_reader(&never);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let s = c.close_writer(&never);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
}

/// Large preads take another path than small ones (a pooled buffer filled on the blocking
/// pool; small ones are read on the worker when page-cached): both answer the file as it
/// is now, short only at its end and empty at or past it.
#[test]
fn large_preads_follow_the_file_as_it_is_now() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let (dir, path, mut data) = data_file(1 << 20);
    let fd = c.reader_fd(&path, CLIENT);
    for want in [4096usize, 3 << 20] {
        let r = c.pread(&fd, (data.len() - 5) as i64, want as i64);
        assert_eq!(
            r.data.unwrap(),
            &data[data.len() - 5..],
            "short at EOF ({want})"
        );
        let r = c.pread(&fd, data.len() as i64, want as i64);
        assert_ok(&r.op_status);
        assert_eq!(r.data, Some(Vec::new()), "empty at EOF ({want})");
    }
    // Bytes appended after openReader are read, as from any open file.
    append(dir.path(), &mut data, &test_data(1 << 20, 99));
    for want in [4096usize, 3 << 20] {
        let at = (1 << 20) - 100;
        let r = c.pread(&fd, at as i64, want as i64);
        assert!(
            r.data.unwrap() == data[at..(at + want).min(data.len())],
            "appended bytes ({want})"
        );
    }
}

/// Concurrent large preads on many connections each get their own bytes (no buffer is
/// shared between replies in flight).
#[test]
fn concurrent_large_preads_each_get_their_own_bytes() {
    let broker = BrokerProcess::start();
    let (_dir, path, data) = data_file(16 << 20);
    let data = std::sync::Arc::new(data);
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let (mut c, path, data) = (broker.client(), path.clone(), data.clone());
            std::thread::spawn(move || {
                let fd = c.reader_fd(&path, CLIENT);
                for round in 0..8usize {
                    let offset = (i * 1_234_567 + round * 777_777) % (12 << 20);
                    let r = c.pread(&fd, offset as i64, 3 << 20);
                    assert_ok(&r.op_status);
                    assert!(
                        r.data.unwrap() == data[offset..offset + (3 << 20)],
                        "conn {i} round {round}"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

/// A sequential reader's next chunk is read ahead while the last one is sent; a chunk
/// read ahead short (the end of the file then) is read again, so a file that grew in the
/// meantime is answered as it is now.
#[test]
fn read_ahead_serves_sequential_chunks_and_never_a_stale_end() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let mib = 1 << 20;
    let (dir, path, mut data) = data_file(mib + mib / 2);
    let fd = c.reader_fd(&path, CLIENT);
    let first = c.pread(&fd, 0, mib as i64);
    assert_eq!(first.data.unwrap(), &data[..mib]);
    // The next chunk was read ahead as half a MiB; the file then grows by a MiB.
    append(dir.path(), &mut data, &test_data(mib, 7));
    let second = c.pread(&fd, mib as i64, mib as i64);
    assert_eq!(
        second.data.unwrap(),
        &data[mib..2 * mib],
        "the chunk as it is now"
    );
    let third = c.pread(&fd, 2 * mib as i64, mib as i64);
    assert_eq!(
        third.data.unwrap(),
        &data[2 * mib..],
        "short only at the end"
    );
    // Out of order after a read-ahead: still positional.
    let back = c.pread(&fd, 0, mib as i64);
    assert_eq!(back.data.unwrap(), &data[..mib]);
    assert_ok(&c.close_reader(&fd));
}
