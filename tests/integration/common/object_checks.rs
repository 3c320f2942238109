//! Checks every object-store test runs beside the conformance suite, through the Thrift
//! wire: a 64 MiB write in 1 MiB pwrites read back whole and compared by hash, and a
//! writer the reaper takes (nothing visible at its path afterwards).

use std::time::Duration;

use super::*;

const MIB: usize = 1 << 20;

/// Writes 64 MiB at `path` in 1 MiB pwrites (nothing visible before closeWriter), reads
/// it back in 8 MiB preads, compares hashes, and deletes it.
pub fn big_write_round_trip(broker: &BrokerProcess, path: &str, props: &Props) {
    write_round_trip(broker, path, props, 64 * MIB);
}

/// As [`big_write_round_trip`], `size` bytes (a multiple of 1 MiB).
pub fn write_round_trip(broker: &BrokerProcess, path: &str, props: &Props, size: usize) {
    let mut c = broker.client();
    let fd = c.with_props(props).writer_fd(path, "be:big");
    let mut sent = Fnv::new();
    let mut chunk = vec![0u8; MIB];
    let mut seed = 0xB16_u64;
    for i in 0..size / MIB {
        fill(&mut chunk, &mut seed);
        sent.update(&chunk);
        assert_ok(&c.pwrite(&fd, (i * MIB) as i64, &chunk));
    }
    assert!(
        !c.exists(path).is_path_exist,
        "{path} visible before closeWriter"
    );
    assert_ok(&c.close_writer(&fd));
    assert_eq!(
        read_back(&mut c, path, props),
        (size, sent.0),
        "size and hash read back"
    );
    assert_ok(&c.delete(path));
}

/// Reads `path` whole in 8 MiB preads (each full but the last; fileSize agreeing):
/// `(bytes, FNV hash)`. Leaves `props` set on `c`.
pub fn read_back(c: &mut Client, path: &str, props: &Props) -> (usize, u64) {
    let size = c
        .with_props(props)
        .file_size(path)
        .file_size
        .expect("fileSize");
    let fd = c.reader_fd(path, "be:read-back");
    let mut got = Fnv::new();
    let mut offset = 0usize;
    loop {
        let r = c.pread(&fd, offset as i64, 8 * MIB as i64);
        assert_ok(&r.op_status);
        let data = r.data.unwrap();
        if data.is_empty() {
            break;
        }
        assert!(data.len() == 8 * MIB || offset + data.len() == size as usize);
        got.update(&data);
        offset += data.len();
    }
    assert_ok(&c.close_reader(&fd));
    (offset, got.0)
}

/// On a broker started with `client_expire_seconds=2`: a writer whose client goes silent
/// is reaped, its later calls fail naming the expiry, and nothing is visible at `path`.
pub fn reaped_writer_leaves_nothing(broker: &BrokerProcess, path: &str, props: &Props) {
    let mut c = broker.client();
    let fd = c.with_props(props).writer_fd(path, "be:reaped");
    let chunk = test_data(MIB, 7);
    for i in 0..17 {
        assert_ok(&c.pwrite(&fd, (i * MIB) as i64, &chunk));
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
    let s = c.pwrite(&fd, 17 << 20, &chunk);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&s).contains("expired"), "{s:?}");
    assert_code(&c.close_writer(&fd), Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        !c.exists(path).is_path_exist,
        "a reaped write became visible at {path}"
    );
}

/// Under `root` (`gs://bucket`): a directory rename moves every key and leaves nothing at
/// the source, a directory delete removes every key under it, and the base goes too.
/// `keys(prefix)` lists the store's keys behind the broker's back.
pub fn directory_rename_and_delete(
    broker: &BrokerProcess,
    root: &str,
    props: &Props,
    keys: impl Fn(&str) -> Vec<String>,
) {
    let mut c = broker.client();
    c.with_props(props);
    let dir = format!("dirs-{:016x}", rand::random::<u64>());
    let base = format!("{root}/{dir}");
    for name in ["a/1.csv", "a/2.csv", "a/sub/3.csv", "b/4.csv"] {
        c.write_file(&format!("{base}/{name}"), "be:1", b"x", 1);
    }
    let (from, to) = (format!("{base}/a"), format!("{base}/moved"));
    assert_ok(&c.rename(&from, &to));
    let under = format!("{dir}/");
    let want: Vec<String> = ["b/4.csv", "moved/1.csv", "moved/2.csv", "moved/sub/3.csv"]
        .iter()
        .map(|k| format!("{dir}/{k}"))
        .collect();
    assert_eq!(
        keys(&under),
        want,
        "a directory rename leaves only the destination"
    );
    assert_ok(&c.delete(&to));
    assert_eq!(
        keys(&under),
        [format!("{dir}/b/4.csv")],
        "a directory delete removes every key under it"
    );
    assert_ok(&c.delete(&base));
    assert!(keys(&under).is_empty(), "{base} is gone");
}
