//! The S3 backend against a real S3 server (SeaweedFS, common/seaweed.rs), through
//! the Thrift wire: the conformance suite on `s3a://`, `s3://` and `s3n://`, listings
//! longer than one page, directory markers, a 100 MiB multipart write in bounded memory,
//! prefix renames and deletes, both addressing styles, both key spellings, refused
//! credentials, and a server that dies mid-upload or restarts under a running broker.

use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::common::object_checks::read_back;
use crate::common::seaweed::{Seaweed, ACCESS_KEY, SECRET_KEY};
use crate::common::*;
use crate::conformance::unique;
use apache_hdfs_broker::wire::generated::TBrokerListResponse;

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

/// The suite on `s3a://`, `s3://` and `s3n://` (one broker and base each), with keys
/// meant for other layers on every call (they must be ignored). The secret key never
/// reaching a log is scripts/test.sh's search of every broker log.
macro_rules! conformance_on {
    ($scheme:ident) => {
        mod $scheme {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let s3 = server();
                let props = with(
                    &s3.props(),
                    &[("column_separator", ","), ("max_file_size", "1GB")],
                );
                SUITE.run(
                    "seaweed",
                    BrokerProcess::start,
                    |_| {
                        let base = format!("{}/{}", s3.base(stringify!($scheme)), unique("conf"));
                        Target::new(base, props)
                    },
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::Seaweed);
        }
    };
}

mod conformance {
    use super::*;
    conformance_on!(s3a);
    conformance_on!(s3);
    conformance_on!(s3n);
}

/// 1100 keys: more than one page of SeaweedFS's 1000-key listings, so every listing
/// has to follow the continuation token.
#[test]
fn listings_page_through_more_than_a_thousand_keys() {
    if missing(Server::Seaweed) {
        return;
    }
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

    let all = listed(&c.with_props(&p).list(&format!("{base}/*"), false, false));
    assert_eq!(all.len(), 1101, "1100 files and one directory");
    assert_eq!(all[0], format!("{base}/k-0000.csv"));
    assert_eq!(all[1099], format!("{base}/k-1099.csv"));
    assert_eq!(all[1100], format!("{base}/sub"));
    let glob = listed(
        &c.with_props(&p)
            .list(&format!("{base}/k-10[0-9]?.csv"), false, false),
    );
    assert_eq!(glob.len(), 100, "k-1000 .. k-1099");
    let recursive = listed(&c.with_props(&p).list(&base, true, false));
    assert_eq!(recursive.len(), 1101);
    assert!(recursive.contains(&format!("{base}/sub/deep.csv")));
    let located = listed(&c.with_props(&p).list_located(&base, false, true));
    assert_eq!(located.len(), 1100, "onlyFiles drops the directory");

    // A recursive delete of all of it: more keys than one batch delete takes.
    assert_ok(&c.with_props(&p).delete(&base));
    assert!(s3.keys(&format!("{dir}/")).is_empty(), "every key deleted");
    assert!(!c.with_props(&p).exists(&base).is_path_exist);
}

/// `dir/` marker objects (what other tools leave for empty directories) are directories;
/// a key `a` beside keys under `a/` shows as both a file and a directory.
#[test]
fn directory_markers_and_a_file_beside_a_directory() {
    if missing(Server::Seaweed) {
        return;
    }
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
    assert!(c.with_props(&p).exists(&at("empty")).is_path_exist);
    let r = c.with_props(&p).list(&at("empty"), false, false);
    assert_ok(&r.op_status);
    let files = r.files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].is_dir && files[0].path == at("empty"), "{files:?}");
    assert!(c.with_props(&p).glob(&at("empty/*")).is_empty());
    // A marker never shows as a child of its own directory.
    assert_eq!(c.with_props(&p).glob(&at("d/*")), vec![at("d/f.csv")]);

    // The parent lists `both` twice: the file and the directory.
    let r = c.with_props(&p).list(&at("*"), false, false);
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
    let r = c.with_props(&p).list(&at("both"), false, false);
    let files = r.files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(!files[0].is_dir && files[0].size == 4, "{files:?}");
    assert_eq!(
        c.with_props(&p).glob(&at("both/*")),
        vec![at("both/child.csv")]
    );
    assert_eq!(
        c.with_props(&p).read_file(&at("both"), "be:1", 1024),
        b"file"
    );
    let all = listed(&c.with_props(&p).list(&base, true, false));
    assert_eq!(all, vec![at("both"), at("both/child.csv"), at("d/f.csv")]);

    // Renaming a directory moves its marker; deleting an empty one removes the marker.
    assert_ok(&c.with_props(&p).rename(&at("d"), &at("d2")));
    assert_eq!(
        s3.keys(&format!("{dir}/d")),
        vec![format!("{dir}/d2/"), format!("{dir}/d2/f.csv")]
    );
    assert_ok(&c.with_props(&p).delete(&at("empty")));
    assert!(!c.with_props(&p).exists(&at("empty")).is_path_exist);
    // Writing over a directory is refused.
    let w = c.with_props(&p).open_writer(&at("d2"), "be:1");
    assert_code(&w.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&w.op_status).contains("directory"), "{w:?}");
    assert_ok(&c.with_props(&p).delete(&base));
    assert!(s3.keys(&format!("{dir}/")).is_empty());
}

/// A recursive listing (one listing without a delimiter on object stores) answers what
/// the level-by-level walk of plain listings answers: the same files, in the same order
/// (depth first, by name, a file before a directory of the same name), with the same
/// sizes and times; markers and directories are no entries.
#[test]
fn a_recursive_listing_is_the_walk_of_plain_listings() {
    if missing(Server::Seaweed) {
        return;
    }
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
        let r = c.with_props(p).list_located(path, false, false);
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
    let located = entries(&c.with_props(&p).list_located(&base, true, false));
    assert_eq!(located, walked);
    let path = entries(&c.with_props(&p).list(&base, true, false));
    assert_eq!(path, walked);
    // A glob's directories are each listed recursively, its files kept.
    // (Glob matches come in no set order.)
    let mut globbed = entries(&c.with_props(&p).list(&format!("{base}/b*"), true, false));
    globbed.sort();
    let mut expected = walked[3..7].to_vec();
    expected.sort();
    assert_eq!(globbed, expected);
    // Below a level, a file, an empty directory, nothing.
    let below = entries(&c.with_props(&p).list_located(&at("b"), true, true));
    assert_eq!(below, walked[3..5].to_vec());
    let file = entries(&c.with_props(&p).list_located(&at("top.csv"), true, false));
    assert_eq!(file, walked[7..].to_vec());
    assert!(entries(&c.with_props(&p).list_located(&at("empty"), true, false)).is_empty());
    let missing = c.with_props(&p).list_located(&at("nothing"), true, false);
    assert_code(&missing.op_status, Code::FILE_NOT_FOUND);
    assert_ok(&c.with_props(&p).delete(&base));
}

/// A prefix rename copies every key (more than the copies in flight at once) and then
/// deletes the source; a key rename is one copy and one delete.
#[test]
fn rename_of_a_key_and_of_a_prefix() {
    if missing(Server::Seaweed) {
        return;
    }
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
    assert_ok(
        &c.with_props(&p)
            .rename(&format!("{base}/tmp"), &format!("{base}/out")),
    );
    assert!(s3.keys(&format!("{dir}/tmp/")).is_empty(), "source gone");
    let moved = s3.keys(&format!("{dir}/out/"));
    assert_eq!(moved.len(), 32, "{moved:?}");
    assert!(moved.contains(&format!("{dir}/out/nested/x/")));
    assert_eq!(
        c.with_props(&p)
            .read_file(&format!("{base}/out/part-17.csv"), "be:1", 100),
        b"17"
    );
    // A key: backup's `x.part` → `x.<md5>`.
    s3.put(&format!("{dir}/meta.part"), b"meta");
    assert_ok(&c.with_props(&p).rename(
        &format!("{base}/meta.part"),
        &format!("{base}/meta.0123abcd"),
    ));
    assert_eq!(
        s3.keys(&format!("{dir}/meta")),
        vec![format!("{dir}/meta.0123abcd")]
    );
    // Never over an existing destination, never below itself.
    let s = c
        .with_props(&p)
        .rename(&format!("{base}/meta.0123abcd"), &format!("{base}/out"));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let s = c
        .with_props(&p)
        .rename(&format!("{base}/out"), &format!("{base}/out/inner"));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert_eq!(s3.keys(&format!("{dir}/out/")).len(), 32);
    assert_ok(&c.with_props(&p).delete(&base));
}

/// 100 MiB in 1 MiB pwrites (with replays, one right after each part boundary) is a
/// streaming multipart upload: the broker's peak memory grows by far less than the file.
#[test]
fn a_100_mib_multipart_write_in_bounded_memory() {
    if missing(Server::Seaweed) {
        return;
    }
    const MIB: usize = 1 << 20;
    const SIZE: usize = 100 * MIB;
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
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

/// Virtual-host style (`bucket.localhost:port`), an endpoint without a scheme, and
/// StarRocks' own key names all reach the same objects.
#[test]
fn addressing_styles_and_key_spellings() {
    if missing(Server::Seaweed) {
        return;
    }
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = unique("styles");
    let path = format!("{}/{dir}/a.csv", s3.base("s3a"));
    c.with_props(&s3.props())
        .write_file(&path, "be:1", b"styles", 1024);
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
            c.with_props(&p).read_file(&path, "be:1", 1024),
            b"styles",
            "{name}"
        );
        assert!(
            c.with_props(&p)
                .glob(&format!("{}/{dir}/*", s3.base("s3a")))
                .contains(&path),
            "{name}"
        );
        let other = format!("{}/{dir}/{}.csv", s3.base("s3a"), name.replace(' ', "_"));
        c.with_props(&p)
            .write_file(&other, "be:1", name.as_bytes(), 1024);
        assert_eq!(
            c.with_props(&s3.props()).read_file(&other, "be:1", 1024),
            name.as_bytes()
        );
    }
    assert_ok(
        &c.with_props(&s3.props())
            .delete(&format!("{}/{dir}", s3.base("s3a"))),
    );
}

/// A wrong secret or an unknown key is NOT_AUTHORIZED with the store's code; no
/// credentials at all is the store's refusal (502) saying the request was unsigned; bad
/// properties are INVALID_ARGUMENT naming the key. No secret reaches the log.
#[test]
fn refused_credentials_and_bad_properties() {
    if missing(Server::Seaweed) {
        return;
    }
    let s3 = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = unique("auth");
    let path = format!("{}/{dir}/a.csv", s3.base("s3a"));
    c.with_props(&s3.props())
        .write_file(&path, "be:1", b"a", 1024);

    let wrong_secret = with(
        &s3.props(),
        &[("fs.s3a.secret.key", "wrong-secret-value-42")],
    );
    let unknown_key = with(&s3.props(), &[("fs.s3a.access.key", "no-such-access-key")]);
    for (p, code) in [
        (&wrong_secret, "SignatureDoesNotMatch"),
        (&unknown_key, "InvalidAccessKeyId"),
    ] {
        let r = c.with_props(p).exists(&path);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        assert!(message(&r.op_status).contains(code), "{r:?}");
        let r = c
            .with_props(p)
            .list(&format!("{}/{dir}/*", s3.base("s3a")), false, false);
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        let r = c.with_props(p).open_reader(&path, "be:1");
        assert_code(&r.op_status, Code::NOT_AUTHORIZED);
        assert!(message(&r.op_status).contains(code), "{r:?}");
        let s = c.with_props(p).delete(&path);
        assert_code(&s, Code::NOT_AUTHORIZED);
        let w = c.with_props(p).open_writer(&format!("{path}.new"), "be:1");
        assert_code(&w.op_status, Code::NOT_AUTHORIZED);
    }
    let anonymous = without(&s3.props(), &["fs.s3a.access.key", "fs.s3a.secret.key"]);
    let r = c.with_props(&anonymous).open_reader(&path, "be:1");
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
        let r = c.with_props(&p).exists(&path);
        assert_code(&r.op_status, Code::INVALID_ARGUMENT);
        assert!(message(&r.op_status).contains(key), "{key}: {r:?}");
    }
    // S3 keys say nothing to another store: its own missing key is named.
    let r = c.with_props(&s3.props()).exists("oss://bucket/x");
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(message(&r.op_status).contains("fs.oss.endpoint"), "{r:?}");
    let r = c.with_props(&s3.props()).exists("s3a:///no-bucket");
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    let r = c
        .with_props(&s3.props())
        .exists("s3a://no-such-bucket-here/x");
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&r.op_status).contains("NoSuchBucket"), "{r:?}");

    let log = broker.log();
    for secret in [SECRET_KEY, "wrong-secret-value-42"] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
    assert_ok(
        &c.with_props(&s3.props())
            .delete(&format!("{}/{dir}", s3.base("s3a"))),
    );
}

/// Even a DEBUG log (the storage libraries log what they sign and which credential
/// provider they try) holds no key.
#[test]
fn secrets_stay_out_of_a_debug_log() {
    if missing(Server::Seaweed) {
        return;
    }
    let s3 = server();
    let broker = BrokerProcess::start_with(&[("sys_log_level", "DEBUG")]);
    let mut c = broker.client();
    let token = "session-token-value-77";
    let p = with(&s3.props(), &[("fs.s3a.session.token", token)]);
    let path = format!("{}/{}/a.csv", s3.base("s3a"), unique("debuglog"));
    // SeaweedFS refuses the made-up token; the signing happened all the same.
    let r = c.with_props(&p).exists(&path);
    assert_ne!(r.op_status.status_code, Code::OK, "{r:?}");
    c.with_props(&s3.props())
        .write_file(&path, "be:1", b"x", 1024);
    assert_eq!(
        c.with_props(&s3.props()).read_file(&path, "be:1", 1024),
        b"x"
    );
    assert_ok(&c.with_props(&s3.props()).delete(&path));
    // The log is written in the background: wait for the signer's own DEBUG lines
    // (without them this test proves nothing).
    wait_for(
        "the signer's DEBUG lines in the log",
        Duration::from_secs(10),
        || broker.log().contains("calculated string to sign"),
    );
    let log = broker.log();
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
    if missing(Server::Seaweed) {
        return;
    }
    let s3 = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let mut c = broker.client();
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

/// The server dies in the middle of an upload: the broker answers with a clear error
/// (not a hang), and after the server is back nothing partial is visible.
#[test]
fn server_stopped_mid_upload() {
    if missing(Server::Seaweed) {
        return;
    }
    let mut s3 = fault_server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let path = format!("{}/{}/cut.bin", s3.base("s3a"), unique("cut"));
    let fd = c.with_props(&p).writer_fd(&path, "be:1");
    let chunk = test_data(1 << 20, 9);
    for i in 0..9 {
        assert_ok(&c.pwrite(&fd, (i << 20) as i64, &chunk));
    }
    s3.stop();
    let started = Instant::now();
    let mut failure = None;
    for i in 9..40 {
        let s = c.pwrite(&fd, (i << 20) as i64, &chunk);
        if s.status_code != Code::OK {
            failure = Some(s);
            break;
        }
    }
    let s = match failure {
        Some(s) => s,
        None => c.close_writer(&fd),
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
    assert_code(&c.close_writer(&fd), Code::TARGET_STORAGE_SERVICE_ERROR);
    s3.restart();
    assert!(
        !c.with_props(&p).exists(&path).is_path_exist,
        "nothing partial became visible"
    );
}

/// A prefix rename whose copies are cut by the server dying: the answer says so, and the
/// source is whole (nothing is deleted before every copy succeeded).
#[test]
fn a_prefix_rename_cut_short_leaves_the_source_whole() {
    if missing(Server::Seaweed) {
        return;
    }
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
    let rename = std::thread::spawn(move || c.with_props(&props).rename(&src, &dst));
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
    assert_ok(&c.with_props(&p).delete(&base));
}

/// Stop the server under a running broker, then start it again: calls fail fast while
/// it is down and work again afterwards, with the same broker and the same connection.
#[test]
fn the_broker_recovers_when_the_server_comes_back() {
    if missing(Server::Seaweed) {
        return;
    }
    let mut s3 = fault_server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = s3.props();
    let dir = format!("{}/{}", s3.base("s3a"), unique("recover"));
    c.with_props(&p)
        .write_file(&format!("{dir}/a.csv"), "be:1", b"before", 1024);
    let fd = c.with_props(&p).reader_fd(&format!("{dir}/a.csv"), "be:1");
    s3.stop();
    let started = Instant::now();
    let r = c.with_props(&p).exists(&format!("{dir}/a.csv"));
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    let r = c.pread(&fd, 0, 100);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "failing took {:?}",
        started.elapsed()
    );
    assert_ok(&c.ping("be:1"));
    s3.restart();
    let r = c.with_props(&p).exists(&format!("{dir}/a.csv"));
    assert_ok(&r.op_status);
    assert!(r.is_path_exist);
    let r = c.pread(&fd, 0, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap(), b"before", "the open reader works again");
    assert_ok(&c.close_reader(&fd));
    c.with_props(&p)
        .write_file(&format!("{dir}/b.csv"), "be:1", b"after", 1024);
    assert_eq!(
        c.with_props(&p)
            .read_file(&format!("{dir}/b.csv"), "be:1", 1024),
        b"after"
    );
    assert_ok(&c.with_props(&p).delete(&dir));
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
    if missing(Server::Seaweed) {
        return;
    }
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
        assert_ok(&c.with_props(p).exists(&path).op_status);
    }
    built(&broker, 1);
    let other = with(&hadoop, &[("fs.s3a.secret.key", "wrong-secret-value-42")]);
    assert_code(
        &c.with_props(&other).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 2);
    assert_ok(&c.with_props(&hadoop).exists(&path).op_status);
    // Idle past the expiry: the next call builds the client anew.
    std::thread::sleep(Duration::from_millis(2500));
    assert_ok(&c.with_props(&hadoop).exists(&path).op_status);
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
            &c.with_props(&p).exists(&path).op_status,
            Code::NOT_AUTHORIZED,
        );
    }
    built(&broker, 257);
    let first = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-0")]);
    assert_code(
        &c.with_props(&first).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 258);
    let last = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-256")]);
    assert_code(
        &c.with_props(&last).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    let marker = with(&hadoop, &[("fs.s3a.access.key", "no-such-key-marker")]);
    assert_code(
        &c.with_props(&marker).exists(&path).op_status,
        Code::NOT_AUTHORIZED,
    );
    built(&broker, 259);
    assert_eq!(
        clients_built(&broker),
        259,
        "the most recent client was kept"
    );
}
