//! The S3 backend against a real S3 server (SeaweedFS, tests/common/seaweed.rs), through
//! the Thrift wire: the conformance suite on `s3a://`, `s3://` and `s3n://`, listings
//! longer than one page, directory markers, a 100 MiB multipart write in bounded memory,
//! prefix renames and deletes, both addressing styles, both key spellings, refused
//! credentials, and a server that dies mid-upload or restarts under a running broker.

mod common;
mod conformance;

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use apache_hdfs_broker::wire::generated::TBrokerListResponse;
use common::object_checks::read_back;
use common::seaweed::{Seaweed, ACCESS_KEY, SECRET_KEY};
use common::*;
use conformance::*;

/// Buckets of their own for the tests that count the server's pending multipart uploads.
const BIG_BUCKET: &str = "big-test";
const REAP_BUCKET: &str = "reap-test";
const DROP_BUCKET: &str = "drop-test";

/// One server for every test that leaves it running; it dies with the test process.
fn server() -> &'static Seaweed {
    static SERVER: OnceLock<Seaweed> = OnceLock::new();
    SERVER.get_or_init(|| Seaweed::start(&["broker-test", BIG_BUCKET, REAP_BUCKET, DROP_BUCKET]))
}

/// A second server for the tests that stop and restart it, one such test at a time.
fn fault_server() -> MutexGuard<'static, Seaweed> {
    static SERVER: OnceLock<Mutex<Seaweed>> = OnceLock::new();
    SERVER
        .get_or_init(|| Mutex::new(Seaweed::start(&["fault-test"])))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn with(base: &Props, pairs: &[(&str, &str)]) -> Props {
    let mut p = base.clone();
    for (k, v) in pairs {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

fn without(base: &Props, keys: &[&str]) -> Props {
    let mut p = base.clone();
    for k in keys {
        p.remove(*k);
    }
    p
}

#[test]
fn conformance_on_s3a_s3_and_s3n() {
    let s3 = server();
    let broker = BrokerProcess::start();
    // Keys meant for other layers travel with every call and must be ignored.
    let props = with(
        &s3.props(),
        &[("column_separator", ","), ("max_file_size", "1GB")],
    );
    for scheme in ["s3a", "s3", "s3n"] {
        let started = Instant::now();
        let target = Target::new(
            format!("{}/{}", s3.base(scheme), unique("conf")),
            props.clone(),
        );
        run_all(&broker, &target);
        eprintln!("conformance on {scheme}:// took {:?}", started.elapsed());
    }
    assert!(
        !broker.log().contains(SECRET_KEY),
        "the secret key reached the log"
    );
}

/// 1100 keys: more than one page of SeaweedFS's 1000-key listings, so every listing
/// has to follow the continuation token.
#[test]
fn listings_page_through_more_than_a_thousand_keys() {
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let dir = unique("many");
    for i in 0..1100 {
        s3.put(&format!("{dir}/k-{i:04}.csv"), b"x");
    }
    s3.put(&format!("{dir}/sub/deep.csv"), b"yy");
    let base = format!("{}/{dir}", s3.base("s3a"));

    let all = listed(&list_with(&mut c, &format!("{base}/*"), false, false, &p));
    assert_eq!(all.len(), 1101, "1100 files and one directory");
    assert_eq!(all[0], format!("{base}/k-0000.csv"));
    assert_eq!(all[1099], format!("{base}/k-1099.csv"));
    assert_eq!(all[1100], format!("{base}/sub"));
    let glob = listed(&list_with(
        &mut c,
        &format!("{base}/k-10[0-9]?.csv"),
        false,
        false,
        &p,
    ));
    assert_eq!(glob.len(), 100, "k-1000 .. k-1099");
    let recursive = listed(&list_with(&mut c, &base, true, false, &p));
    assert_eq!(recursive.len(), 1101);
    assert!(recursive.contains(&format!("{base}/sub/deep.csv")));
    let located = listed(&list_located_with(&mut c, &base, false, true, &p));
    assert_eq!(located.len(), 1100, "onlyFiles drops the directory");

    // A recursive delete of all of it: more keys than one batch delete takes.
    assert_ok(&delete_with(&mut c, &base, &p));
    assert!(s3.keys(&format!("{dir}/")).is_empty(), "every key deleted");
    assert!(!exists_with(&mut c, &base, &p).is_path_exist);
}

/// `dir/` marker objects (what other tools leave for empty directories) are directories;
/// a key `a` beside keys under `a/` shows as both a file and a directory.
#[test]
fn directory_markers_and_a_file_beside_a_directory() {
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let dir = unique("markers");
    s3.put(&format!("{dir}/empty/"), b"");
    s3.put(&format!("{dir}/d/"), b"");
    s3.put(&format!("{dir}/d/f.csv"), b"f");
    s3.put(&format!("{dir}/both"), b"file");
    s3.put(&format!("{dir}/both/child.csv"), b"child");
    let base = format!("{}/{dir}", s3.base("s3a"));
    let at = |rel: &str| format!("{base}/{rel}");

    // An empty directory (marker only) exists, is one directory entry, has no children.
    assert!(exists_with(&mut c, &at("empty"), &p).is_path_exist);
    let r = list_with(&mut c, &at("empty"), false, false, &p);
    assert_ok(&r.op_status);
    let files = r.files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].is_dir && files[0].path == at("empty"), "{files:?}");
    assert!(glob_with(&mut c, &at("empty/*"), &p).is_empty());
    // A marker never shows as a child of its own directory.
    assert_eq!(glob_with(&mut c, &at("d/*"), &p), vec![at("d/f.csv")]);

    // The parent lists `both` twice: the file and the directory.
    let r = list_with(&mut c, &at("*"), false, false, &p);
    assert_ok(&r.op_status);
    let mut entries: Vec<(String, bool)> = r
        .files
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir))
        .collect();
    entries.sort();
    assert_eq!(
        entries,
        vec![
            (at("both"), false),
            (at("both"), true),
            (at("d"), true),
            (at("empty"), true),
        ]
    );
    // The exact path is the file (as S3A's getFileStatus sees it); below it, the children.
    let r = list_with(&mut c, &at("both"), false, false, &p);
    let files = r.files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(!files[0].is_dir && files[0].size == 4, "{files:?}");
    assert_eq!(
        glob_with(&mut c, &at("both/*"), &p),
        vec![at("both/child.csv")]
    );
    assert_eq!(
        read_file_with(&mut c, &at("both"), "be:1", 1024, &p),
        b"file"
    );
    let all = listed(&list_with(&mut c, &base, true, false, &p));
    assert_eq!(all, vec![at("both"), at("both/child.csv"), at("d/f.csv")]);

    // Renaming a directory moves its marker; deleting an empty one removes the marker.
    assert_ok(&rename_with(&mut c, &at("d"), &at("d2"), &p));
    assert_eq!(
        s3.keys(&format!("{dir}/d")),
        vec![format!("{dir}/d2/"), format!("{dir}/d2/f.csv")]
    );
    assert_ok(&delete_with(&mut c, &at("empty"), &p));
    assert!(!exists_with(&mut c, &at("empty"), &p).is_path_exist);
    // Writing over a directory is refused.
    let w = open_writer_with(&mut c, &at("d2"), "be:1", &p);
    assert_code(&w.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&w.op_status).contains("directory"), "{w:?}");
    assert_ok(&delete_with(&mut c, &base, &p));
    assert!(s3.keys(&format!("{dir}/")).is_empty());
}

/// A recursive listing (one listing without a delimiter on object stores) answers what
/// the level-by-level walk of plain listings answers: the same files, in the same order
/// (depth first, by name, a file before a directory of the same name), with the same
/// sizes and times; markers and directories are no entries.
#[test]
fn a_recursive_listing_is_the_walk_of_plain_listings() {
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let dir = unique("tree");
    for (key, data) in [
        ("top.csv", &b"t"[..]),
        ("a.txt", b"at"),
        ("a/x.csv", b"x"),
        ("a/y/z.csv", b"zz"),
        ("b/", b""),
        ("b/c.csv", b"c"),
        ("b/c/d/e.csv", b"eee"),
        ("both", b"file"),
        ("both/child.csv", b"child"),
        ("empty/", b""),
    ] {
        s3.put(&format!("{dir}/{key}"), data);
    }
    let base = format!("{}/{dir}", s3.base("s3a"));
    type Entry = (String, bool, i64, Option<i64>);
    let entries = |r: &TBrokerListResponse| -> Vec<Entry> {
        assert_ok(&r.op_status);
        let files = r.files.as_ref().expect("OK listing without files");
        files
            .iter()
            .map(|f| (f.path.clone(), f.is_dir, f.size, f.modification_time))
            .collect()
    };
    // The walk, with plain listings through the wire: what recursion was built of.
    fn walk(c: &mut Client, p: &Props, path: &str, out: &mut Vec<Entry>) {
        let r = list_located_with(c, path, false, false, p);
        assert_ok(&r.op_status);
        for f in r.files.unwrap() {
            if f.is_dir {
                walk(c, p, &f.path, out);
            } else {
                out.push((f.path, f.is_dir, f.size, f.modification_time));
            }
        }
    }
    let mut walked = Vec::new();
    walk(&mut c, &p, &base, &mut walked);
    let at = |rel: &str| format!("{base}/{rel}");
    let paths: Vec<String> = walked.iter().map(|e| e.0.clone()).collect();
    assert_eq!(
        paths,
        [
            "a/x.csv",
            "a/y/z.csv",
            "a.txt",
            "b/c/d/e.csv",
            "b/c.csv",
            "both",
            "both/child.csv",
            "top.csv"
        ]
        .map(at)
    );
    let located = entries(&list_located_with(&mut c, &base, true, false, &p));
    assert_eq!(located, walked);
    let path = entries(&list_with(&mut c, &base, true, false, &p));
    assert_eq!(path, walked);
    // A glob's directories are each listed recursively, its files kept.
    // (Glob matches come in no set order.)
    let mut globbed = entries(&list_with(&mut c, &format!("{base}/b*"), true, false, &p));
    globbed.sort();
    let mut expected = walked[3..7].to_vec();
    expected.sort();
    assert_eq!(globbed, expected);
    // Below a level, a file, an empty directory, nothing.
    let below = entries(&list_located_with(&mut c, &at("b"), true, true, &p));
    assert_eq!(below, walked[3..5].to_vec());
    let file = entries(&list_located_with(&mut c, &at("top.csv"), true, false, &p));
    assert_eq!(file, walked[7..].to_vec());
    assert!(entries(&list_located_with(&mut c, &at("empty"), true, false, &p)).is_empty());
    let missing = list_located_with(&mut c, &at("nothing"), true, false, &p);
    assert_code(&missing.op_status, Code::FILE_NOT_FOUND);
    assert_ok(&delete_with(&mut c, &base, &p));
}

/// A prefix rename copies every key (more than the copies in flight at once) and then
/// deletes the source; a key rename is one copy and one delete.
#[test]
fn rename_of_a_key_and_of_a_prefix() {
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let dir = unique("rename");
    let base = format!("{}/{dir}", s3.base("s3a"));
    for i in 0..30 {
        s3.put(
            &format!("{dir}/tmp/part-{i:02}.csv"),
            format!("{i}").as_bytes(),
        );
    }
    s3.put(&format!("{dir}/tmp/nested/x/"), b"");
    s3.put(&format!("{dir}/tmp/nested/y.csv"), b"y");
    assert_ok(&rename_with(
        &mut c,
        &format!("{base}/tmp"),
        &format!("{base}/out"),
        &p,
    ));
    assert!(s3.keys(&format!("{dir}/tmp/")).is_empty(), "source gone");
    let moved = s3.keys(&format!("{dir}/out/"));
    assert_eq!(moved.len(), 32, "{moved:?}");
    assert!(moved.contains(&format!("{dir}/out/nested/x/")));
    assert_eq!(
        read_file_with(&mut c, &format!("{base}/out/part-17.csv"), "be:1", 100, &p),
        b"17"
    );
    // A key: backup's `x.part` → `x.<md5>`.
    s3.put(&format!("{dir}/meta.part"), b"meta");
    assert_ok(&rename_with(
        &mut c,
        &format!("{base}/meta.part"),
        &format!("{base}/meta.0123abcd"),
        &p,
    ));
    assert_eq!(
        s3.keys(&format!("{dir}/meta")),
        vec![format!("{dir}/meta.0123abcd")]
    );
    // Never over an existing destination, never below itself.
    let s = rename_with(
        &mut c,
        &format!("{base}/meta.0123abcd"),
        &format!("{base}/out"),
        &p,
    );
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let s = rename_with(
        &mut c,
        &format!("{base}/out"),
        &format!("{base}/out/inner"),
        &p,
    );
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert_eq!(s3.keys(&format!("{dir}/out/")).len(), 32);
    assert_ok(&delete_with(&mut c, &base, &p));
}

/// 100 MiB in 1 MiB pwrites (with replays, one right after each part boundary) is a
/// streaming multipart upload: the broker's peak memory grows by far less than the file.
#[test]
fn a_100_mib_multipart_write_in_bounded_memory() {
    const MIB: usize = 1 << 20;
    const SIZE: usize = 100 * MIB;
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let path = format!("s3a://{BIG_BUCKET}/{}/big.bin", unique("big"));
    // Baseline with the S3 client set up (TLS, HTTP pool, operator).
    assert!(!exists_with(&mut c, &path, &p).is_path_exist);
    let baseline = proc_kib(broker.pid(), "VmHWM");

    let started = Instant::now();
    let fd = writer_fd_with(&mut c, &path, "be:1", &p);
    let mut sent = Fnv::new();
    let mut chunk = vec![0u8; MIB];
    let mut seed = 0x5EED_u64;
    for i in 0..SIZE / MIB {
        fill(&mut chunk, &mut seed);
        sent.update(&chunk);
        assert_ok(&pwrite(&mut c, &fd, (i * MIB) as i64, &chunk));
        if i % 8 == 0 {
            // FE retry after a timeout: acknowledged, not written twice.
            assert_ok(&pwrite(&mut c, &fd, (i * MIB) as i64, &chunk));
        }
    }
    assert!(
        !exists_with(&mut c, &path, &p).is_path_exist,
        "nothing visible before closeWriter"
    );
    assert_ok(&close_writer(&mut c, &fd));
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
    assert_ok(&delete_with(&mut c, &path, &p));
}

/// Virtual-host style (`bucket.localhost:port`), an endpoint without a scheme, and
/// StarRocks' own key names all reach the same objects.
#[test]
fn addressing_styles_and_key_spellings() {
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = unique("styles");
    let path = format!("{}/{dir}/a.csv", s3.base("s3a"));
    write_file_with(&mut c, &path, "be:1", b"styles", 1024, &s3.props());
    let host_port = format!("localhost:{}", s3.s3_port);
    let variants: Vec<(&str, Props)> = vec![
        (
            "virtual-host style",
            with(
                &without(&s3.props(), &["fs.s3a.path.style.access"]),
                &[("fs.s3a.endpoint", &format!("http://{host_port}"))],
            ),
        ),
        (
            "endpoint without scheme, SSL off",
            with(
                &s3.props(),
                &[
                    ("fs.s3a.endpoint", &format!("127.0.0.1:{}", s3.s3_port)),
                    ("fs.s3a.connection.ssl.enabled", "false"),
                ],
            ),
        ),
        (
            "StarRocks keys",
            [
                ("aws.s3.access_key", ACCESS_KEY),
                ("aws.s3.secret_key", SECRET_KEY),
                ("aws.s3.endpoint", host_port.as_str()),
                ("aws.s3.enable_ssl", "false"),
                ("aws.s3.enable_path_style_access", "true"),
                ("aws.s3.region", "us-east-1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ),
    ];
    for (name, p) in variants {
        assert_eq!(
            read_file_with(&mut c, &path, "be:1", 1024, &p),
            b"styles",
            "{name}"
        );
        assert!(
            glob_with(&mut c, &format!("{}/{dir}/*", s3.base("s3a")), &p).contains(&path),
            "{name}"
        );
        let other = format!("{}/{dir}/{}.csv", s3.base("s3a"), name.replace(' ', "_"));
        write_file_with(&mut c, &other, "be:1", name.as_bytes(), 1024, &p);
        assert_eq!(
            read_file_with(&mut c, &other, "be:1", 1024, &s3.props()),
            name.as_bytes()
        );
    }
    assert_ok(&delete_with(
        &mut c,
        &format!("{}/{dir}", s3.base("s3a")),
        &s3.props(),
    ));
}

/// A wrong secret or an unknown key is NOT_AUTHORIZED with the store's code; no
/// credentials at all is the store's refusal (502) saying the request was unsigned; bad
/// properties are INVALID_ARGUMENT naming the key. No secret reaches the log.
#[test]
fn refused_credentials_and_bad_properties() {
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = unique("auth");
    let path = format!("{}/{dir}/a.csv", s3.base("s3a"));
    write_file_with(&mut c, &path, "be:1", b"a", 1024, &s3.props());

    let wrong_secret = with(
        &s3.props(),
        &[("fs.s3a.secret.key", "wrong-secret-value-42")],
    );
    let unknown_key = with(&s3.props(), &[("fs.s3a.access.key", "no-such-access-key")]);
    for (p, code) in [
        (&wrong_secret, "SignatureDoesNotMatch"),
        (&unknown_key, "InvalidAccessKeyId"),
    ] {
        let r = exists_with(&mut c, &path, p);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        assert!(message(&r.op_status).contains(code), "{r:?}");
        let r = list_with(
            &mut c,
            &format!("{}/{dir}/*", s3.base("s3a")),
            false,
            false,
            p,
        );
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        let r = open_reader_with(&mut c, &path, "be:1", p);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        assert!(message(&r.op_status).contains(code), "{r:?}");
        let s = delete_with(&mut c, &path, p);
        assert_code(&s, Code::NOT_AUTHORIZED);
        let w = open_writer_with(&mut c, &format!("{path}.new"), "be:1", p);
        assert_code(&w.op_status, Code::NOT_AUTHORIZED);
    }
    let anonymous = without(&s3.props(), &["fs.s3a.access.key", "fs.s3a.secret.key"]);
    let r = open_reader_with(&mut c, &path, "be:1", &anonymous);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&r.op_status).contains("AccessDenied")
            && message(&r.op_status).contains("no credentials"),
        "{r:?}"
    );

    for (p, key) in [
        (
            without(&s3.props(), &["fs.s3a.secret.key"]),
            "fs.s3a.secret.key",
        ),
        (
            with(&s3.props(), &[("aws.s3.endpoint", "http://127.0.0.1:1")]),
            "aws.s3.endpoint",
        ),
        (
            with(&s3.props(), &[("fs.s3a.path.style.access", "maybe")]),
            "fs.s3a.path.style.access",
        ),
        (
            with(&s3.props(), &[("aws.s3.use_instance_profile", "true")]),
            "aws.s3.use_instance_profile",
        ),
    ] {
        let r = exists_with(&mut c, &path, &p);
        assert_code(&r.op_status, Code::INVALID_ARGUMENT);
        assert!(message(&r.op_status).contains(key), "{key}: {r:?}");
    }
    // S3 keys say nothing to another store: its own missing key is named.
    let r = exists_with(&mut c, "oss://bucket/x", &s3.props());
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(message(&r.op_status).contains("fs.oss.endpoint"), "{r:?}");
    let r = exists_with(&mut c, "s3a:///no-bucket", &s3.props());
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    let r = exists_with(&mut c, "s3a://no-such-bucket-here/x", &s3.props());
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r.op_status).contains("NoSuchBucket"), "{r:?}");

    let log = broker.log();
    for secret in [SECRET_KEY, "wrong-secret-value-42"] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert_ok(&delete_with(
        &mut c,
        &format!("{}/{dir}", s3.base("s3a")),
        &s3.props(),
    ));
}

/// Even a DEBUG log (the storage libraries log what they sign and which credential
/// provider they try) holds no key.
#[test]
fn secrets_stay_out_of_a_debug_log() {
    let s3 = server();
    let broker = BrokerProcess::start_with(&[("sys_log_level", "DEBUG")]);
    let mut c = broker.client();
    let token = "session-token-value-77";
    let p = with(&s3.props(), &[("fs.s3a.session.token", token)]);
    let path = format!("{}/{}/a.csv", s3.base("s3a"), unique("debuglog"));
    // SeaweedFS refuses the made-up token; the signing happened all the same.
    let r = exists_with(&mut c, &path, &p);
    assert_ne!(r.op_status.status_code, Code::OK, "{r:?}");
    write_file_with(&mut c, &path, "be:1", b"x", 1024, &s3.props());
    assert_eq!(
        read_file_with(&mut c, &path, "be:1", 1024, &s3.props()),
        b"x"
    );
    assert_ok(&delete_with(&mut c, &path, &s3.props()));
    // Give the log writer a moment to flush.
    std::thread::sleep(Duration::from_millis(300));
    let log = broker.log();
    assert!(
        log.contains("calculated string to sign"),
        "the signer's own DEBUG lines are in the log (else this test proves nothing)"
    );
    assert!(
        !log.contains("Trying credential provider"),
        "reqsign's provider lines (which print stock providers' keys) are held at INFO"
    );
    for secret in [SECRET_KEY, token] {
        assert!(!log.contains(secret), "a secret reached the DEBUG log");
    }
}

/// A writer whose client goes silent is reaped: its multipart upload is aborted, so
/// nothing becomes visible and no parts are left behind.
#[test]
fn a_reaped_writer_aborts_its_upload() {
    let s3 = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let mut c = broker.client();
    let p = s3.props();
    let path = format!("s3a://{REAP_BUCKET}/{}/reaped.bin", unique("reap"));
    let fd = writer_fd_with(&mut c, &path, "be:reaped", &p);
    let chunk = test_data(1 << 20, 7);
    // Past two parts: the upload is started (opendal holds the first part back until a
    // second one shows the file needs a multipart upload).
    for i in 0..17 {
        assert_ok(&pwrite(&mut c, &fd, (i << 20) as i64, &chunk));
    }
    assert_eq!(s3.pending_uploads(REAP_BUCKET), 1, "the upload was started");
    // Silent for longer than client_expire_seconds plus a reaper round.
    std::thread::sleep(Duration::from_secs(5));
    let s = pwrite(&mut c, &fd, 17 << 20, &chunk);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&s).contains("expired"), "{s:?}");
    let s = close_writer(&mut c, &fd);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(!exists_with(&mut c, &path, &p).is_path_exist);
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
            writer.write(vec![7u8; 1 << 20]).await.unwrap();
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

/// The server dies in the middle of an upload: the broker answers with a clear error
/// (not a hang), and after the server is back nothing partial is visible.
#[test]
fn server_stopped_mid_upload() {
    let mut s3 = fault_server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let path = format!("{}/{}/cut.bin", s3.base("s3a"), unique("cut"));
    let fd = writer_fd_with(&mut c, &path, "be:1", &p);
    let chunk = test_data(1 << 20, 9);
    for i in 0..9 {
        assert_ok(&pwrite(&mut c, &fd, (i << 20) as i64, &chunk));
    }
    s3.stop();
    let started = Instant::now();
    let mut failure = None;
    for i in 9..40 {
        let s = pwrite(&mut c, &fd, (i << 20) as i64, &chunk);
        if s.status_code != Code::OK {
            failure = Some(s);
            break;
        }
    }
    let s = match failure {
        Some(s) => s,
        None => close_writer(&mut c, &fd),
    };
    let took = started.elapsed();
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    eprintln!("failure after {took:?}: {}", message(&s));
    assert!(
        message(&s).contains("Connect") || message(&s).contains("connect"),
        "the message says the store was unreachable: {s:?}"
    );
    assert!(took < Duration::from_secs(30), "failed only after {took:?}");
    // The fd is poisoned: closeWriter reports the failure too.
    assert_code(
        &close_writer(&mut c, &fd),
        Code::TARGET_STORAGE_SERVICE_ERROR,
    );
    s3.restart();
    assert!(
        !exists_with(&mut c, &path, &p).is_path_exist,
        "nothing partial became visible"
    );
}

/// A prefix rename whose copies are cut by the server dying: the answer says so, and the
/// source is whole (nothing is deleted before every copy succeeded).
#[test]
fn a_prefix_rename_cut_short_leaves_the_source_whole() {
    const KEYS: usize = 1500;
    let mut s3 = fault_server();
    let broker = BrokerProcess::start();
    let p = s3.props();
    let dir = unique("cutrename");
    for i in 0..KEYS {
        s3.put(&format!("{dir}/src/k-{i:04}.csv"), b"x");
    }
    let base = format!("{}/{dir}", s3.base("s3a"));
    let mut c = broker.client();
    let (src, dst, props) = (format!("{base}/src"), format!("{base}/dst"), p.clone());
    let rename = std::thread::spawn(move || rename_with(&mut c, &src, &dst, &props));
    let deadline = Instant::now() + Duration::from_secs(30);
    while s3.keys(&format!("{dir}/dst/")).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the rename never started copying"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    s3.stop();
    let s = rename.join().unwrap();
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&s).contains("the source is whole"),
        "the message says what moved: {s:?}"
    );
    s3.restart();
    assert_eq!(
        s3.keys(&format!("{dir}/src/")).len(),
        KEYS,
        "the source is whole"
    );
    let mut c = broker.client();
    assert_ok(&delete_with(&mut c, &base, &p));
}

/// Stop the server under a running broker, then start it again: calls fail fast while
/// it is down and work again afterwards, with the same broker and the same connection.
#[test]
fn the_broker_recovers_when_the_server_comes_back() {
    let mut s3 = fault_server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let dir = format!("{}/{}", s3.base("s3a"), unique("recover"));
    write_file_with(&mut c, &format!("{dir}/a.csv"), "be:1", b"before", 1024, &p);
    let fd = reader_fd_with(&mut c, &format!("{dir}/a.csv"), "be:1", &p);
    s3.stop();
    let started = Instant::now();
    let r = exists_with(&mut c, &format!("{dir}/a.csv"), &p);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    let r = pread(&mut c, &fd, 0, 100);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "failing took {:?}",
        started.elapsed()
    );
    assert_ok(&ping(&mut c, "be:1"));
    s3.restart();
    let r = exists_with(&mut c, &format!("{dir}/a.csv"), &p);
    assert_ok(&r.op_status);
    assert!(r.is_path_exist);
    let r = pread(&mut c, &fd, 0, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap(), b"before", "the open reader works again");
    assert_ok(&close_reader(&mut c, &fd));
    write_file_with(&mut c, &format!("{dir}/b.csv"), "be:1", b"after", 1024, &p);
    assert_eq!(
        read_file_with(&mut c, &format!("{dir}/b.csv"), "be:1", 1024, &p),
        b"after"
    );
    assert_ok(&delete_with(&mut c, &dir, &p));
}

/// How many S3 clients the broker has built so far (one log line each).
fn clients_built(broker: &BrokerProcess) -> usize {
    broker.log().matches("new S3 client for bucket").count()
}

/// One client per connection settings: the same settings (under either key spelling)
/// share it, other credentials get their own, at most 256 are kept (the least recently
/// used goes), and one idle longer than `client_expire_seconds` is dropped and rebuilt.
#[test]
fn clients_are_shared_per_settings_bounded_and_dropped_when_idle() {
    let s3 = server();
    let path = format!("{}/{}/a.csv", s3.base("s3a"), unique("cache"));
    let built = |broker: &BrokerProcess, n: usize| {
        wait_for(
            &format!("{n} clients built"),
            Duration::from_secs(5),
            || clients_built(broker) >= n,
        );
    };

    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let mut c = broker.client();
    let hadoop = s3.props();
    let starrocks: Props = [
        ("aws.s3.access_key", ACCESS_KEY),
        ("aws.s3.secret_key", SECRET_KEY),
        ("aws.s3.endpoint", &s3.endpoint()),
        ("aws.s3.enable_path_style_access", "true"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for p in [&hadoop, &hadoop, &starrocks] {
        assert_ok(&exists_with(&mut c, &path, p).op_status);
    }
    built(&broker, 1);
    let other = with(&hadoop, &[("fs.s3a.secret.key", "wrong-secret-value-42")]);
    assert_code(
        &exists_with(&mut c, &path, &other).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 2);
    assert_ok(&exists_with(&mut c, &path, &hadoop).op_status);
    // Idle past the expiry: the next call builds the client anew.
    std::thread::sleep(Duration::from_millis(2500));
    assert_ok(&exists_with(&mut c, &path, &hadoop).op_status);
    built(&broker, 3);
    assert_eq!(clients_built(&broker), 3, "no other client was built");

    // 257 distinct credentials, then the first again: it was evicted.
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for i in 0..=256 {
        let p = with(
            &hadoop,
            &[("fs.s3a.access.key", &format!("no-such-key-{i}"))],
        );
        assert_code(
            &exists_with(&mut c, &path, &p).op_status,
            Code::NOT_AUTHORIZED,
        );
    }
    built(&broker, 257);
    let first = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-0")]);
    assert_code(
        &exists_with(&mut c, &path, &first).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 258);
    let last = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-256")]);
    assert_code(
        &exists_with(&mut c, &path, &last).op_status,
        Code::NOT_AUTHORIZED,
    );
    let marker = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-marker")]);
    assert_code(
        &exists_with(&mut c, &path, &marker).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 259);
    assert_eq!(
        clients_built(&broker),
        259,
        "the most recent client was kept"
    );
}
