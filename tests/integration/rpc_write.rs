//! Writers: `openWriter`, `pwrite`, `closeWriter`.

use crate::common::*;

use apache_hdfs_broker::wire::generated::TBrokerFD;

const CLIENT: &str = "10.0.0.1:9020";

#[test]
fn open_writer_creates_missing_parents() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export/2024/01/part-0.csv");
    c.write_file(&uri(&target), CLIENT, b"1,2,3\n", 1024);
    assert_eq!(std::fs::read(&target).unwrap(), b"1,2,3\n");
}

#[test]
fn open_writer_overwrites_an_existing_file() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.csv");
    std::fs::write(&target, b"old content that is longer than the new one").unwrap();
    c.write_file(&uri(&target), CLIENT, b"new", 1024);
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    // And through the broker, with the file:/ form.
    assert_eq!(c.read_file(&file_uri(&target), CLIENT, 1 << 20), b"new");
    // An empty write replaces it with an empty file.
    c.write_file(&uri(&target), CLIENT, b"", 1024);
    assert_eq!(std::fs::read(&target).unwrap(), b"");
}

#[test]
fn sequential_pwrites_and_replays_of_the_last_one() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("seq.txt");
    let fd = c.writer_fd(&uri(&target), CLIENT);
    assert_ok(&c.pwrite(&fd, 0, b"hello "));
    assert_ok(&c.pwrite(&fd, 0, b"hello ")); // replay: FE retried after a timeout
    assert_ok(&c.pwrite(&fd, 6, b"world"));
    assert_ok(&c.pwrite(&fd, 6, b"world"));
    assert_ok(&c.pwrite(&fd, 6, b"world"));
    assert_ok(&c.pwrite(&fd, 11, b"!"));
    assert_ok(&c.close_writer(&fd));
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"hello world!",
        "replays are not written twice"
    );
}

#[test]
fn gaps_and_rewinds_are_403_naming_both_offsets() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("strict.bin");
    let data = test_data(2000, 7);
    let fd = c.writer_fd(&uri(&target), CLIENT);
    assert_ok(&c.pwrite(&fd, 0, &data[..1000]));
    assert_ok(&c.pwrite(&fd, 1000, &data[1000..]));
    let cases: &[(i64, usize)] = &[
        (2345, 10),  // gap
        (2001, 10),  // gap of one byte
        (500, 700),  // rewind, not a replay
        (0, 1000),   // replay of an earlier write, not the last one
        (1001, 999), // ends at the current position but is not the last write
        (-1, 10),
    ];
    for &(offset, len) in cases {
        let s = c.pwrite(&fd, offset, &test_data(len, 99));
        assert_code(&s, Code::INVALID_INPUT_OFFSET);
        let msg = message(&s);
        assert!(
            msg.contains(&offset.to_string()) && msg.contains("2000"),
            "pwrite at {offset} with 2000 written: message must name both offsets: {msg}"
        );
    }
    // The refusals changed nothing: the next in-order write and the close work.
    assert_ok(&c.pwrite(&fd, 2000, b"tail"));
    assert_ok(&c.close_writer(&fd));
    let mut want = data.clone();
    want.extend_from_slice(b"tail");
    assert_eq!(std::fs::read(&target).unwrap(), want);
}

#[test]
fn close_writer_makes_data_visible_and_is_idempotent() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("visible.csv");
    let fd = c.writer_fd(&uri(&target), CLIENT);
    assert_ok(&c.pwrite(&fd, 0, b"a,b\n"));
    assert_ok(&c.close_writer(&fd));
    assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n");
    let e = c.exists(&uri(&target));
    assert_ok(&e.op_status);
    assert!(e.is_path_exist);
    assert_ok(&c.close_writer(&fd)); // the first reply may have been lost
    let s = c.pwrite(&fd, 4, b"more");
    assert_ne!(s.status_code, Code::OK, "pwrite after close: {s:?}");
    let s = c.pwrite(&fd, 0, b"a,b\n");
    assert_ne!(
        s.status_code,
        Code::OK,
        "pwrite (replay) after close: {s:?}"
    );
    assert_ok(&c.close_writer(&fd));
    assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n");
    // No leftovers beside the target.
    assert_eq!(dir_names(dir.path()), vec!["visible.csv"]);
}

#[test]
fn pwrite_on_an_unknown_fd_is_502() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let s = c.pwrite(&TBrokerFD::new(42, 43), 0, b"x");
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
}

#[test]
fn one_kib_chunks_round_trip_byte_identical() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let path = uri(&dir.path().join("meta/backup.meta"));
    let data = test_data(300 * 1024 + 17, 1);
    c.write_file(&path, CLIENT, &data, 1024);
    let back = c.read_file(&path, CLIENT, 64 * 1024);
    assert!(
        back == data,
        "read back {} bytes, wrote {}",
        back.len(),
        data.len()
    );
}

#[test]
fn four_mib_chunks_round_trip_byte_identical() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let path = uri(&dir.path().join("snapshot/tablet.dat"));
    let data = test_data(3 * (4 << 20) + 12345, 2);
    c.write_file(&path, CLIENT, &data, 4 << 20);
    let back = c.read_file(&path, CLIENT, 8 << 20);
    assert!(
        back == data,
        "read back {} bytes, wrote {}",
        back.len(),
        data.len()
    );
    // A replay of a 4 MiB chunk is acknowledged without writing it again.
    let path2 = uri(&dir.path().join("snapshot/replayed.dat"));
    let fd = c.writer_fd(&path2, CLIENT);
    let chunk = &data[..4 << 20];
    assert_ok(&c.pwrite(&fd, 0, chunk));
    assert_ok(&c.pwrite(&fd, 0, chunk));
    assert_ok(&c.close_writer(&fd));
    assert!(std::fs::read(dir.path().join("snapshot/replayed.dat")).unwrap() == chunk);
}

/// closeWriter reports a failure to make the data durable and visible instead of OK.
#[test]
fn close_writer_reports_a_failed_commit() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("vanishing");
    let fd = c.writer_fd(&uri(&sub.join("out.csv")), CLIENT);
    assert_ok(&c.pwrite(&fd, 0, b"data"));
    std::fs::remove_dir_all(&sub).unwrap(); // the target directory disappears mid-write
    let s = c.close_writer(&fd);
    assert_ne!(s.status_code, Code::OK, "the file was not committed: {s:?}");
    assert!(message(&s).contains("out.csv"), "names the path: {s:?}");
    assert!(!sub.join("out.csv").exists());
}
