//! Path-level calls (`checkPathExist`, `deletePath`, `renamePath`), Doris' `fileSize`,
//! `listLocatedFiles`, `isSplittable`, `ping`, and how paths and properties are taken.

use crate::common::*;

use std::collections::BTreeMap;

use apache_hdfs_broker::wire::generated::*;

const CLIENT: &str = "fe1:9020";

#[test]
fn ping_is_ok() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    assert_ok(&c.ping("be1:9060"));
    assert_ok(&c.ping("10.0.0.7")); // FE heartbeats use the bare host
}

#[test]
fn check_path_exist_true_false_and_required_field_on_error() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &[("d/f.csv", b"x")]);
    for (path, want) in [
        (uri(&dir.path().join("d/f.csv")), true),
        (file_uri(&dir.path().join("d/f.csv")), true),
        (uri(&dir.path().join("d")), true),
        (uri(&dir.path().join("d/missing.csv")), false),
        (uri(&dir.path().join("no/such/dir")), false),
        (uri(&dir.path().join("d/f.csv/below-a-file")), false),
    ] {
        let r = c.exists(&path);
        assert_ok(&r.op_status);
        assert_eq!(r.is_path_exist, want, "{path}");
    }
    // A failure still carries isPathExist (the generated client decoded it: it is required).
    let r = c.exists("/no/scheme");
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    assert!(!r.is_path_exist);
}

#[test]
fn delete_path_file_directory_and_missing() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &[
            ("f.csv", b"x"),
            ("d/a.csv", b"1"),
            ("d/sub/b.csv", b"2"),
            ("d/sub/empty/", b""),
            ("keep.csv", b"k"),
        ],
    );
    assert_ok(&c.delete(&uri(&dir.path().join("f.csv"))));
    assert!(!dir.path().join("f.csv").exists());
    assert_ok(&c.delete(&file_uri(&dir.path().join("d"))));
    assert!(
        !dir.path().join("d").exists(),
        "directories are deleted recursively"
    );
    assert!(
        !c.exists(&uri(&dir.path().join("d/sub/b.csv")))
            .is_path_exist
    );
    assert_ok(&c.delete(&uri(&dir.path().join("d"))));
    assert_ok(&c.delete(&uri(&dir.path().join("never/was/here"))));
    assert_eq!(
        dir_names(dir.path()),
        vec!["keep.csv"],
        "nothing else touched"
    );
}

#[test]
fn rename_path_file_and_directory() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &[
            ("snap/x.part", b"payload"),
            ("tmp_export/a.csv", b"a"),
            ("tmp_export/s/b.csv", b"b"),
        ],
    );
    // Backup: x.part -> x.<md5>.
    let src = uri(&dir.path().join("snap/x.part"));
    let dst = uri(&dir.path().join("snap/x.0123456789abcdef"));
    assert_ok(&c.rename(&src, &dst));
    assert!(!dir.path().join("snap/x.part").exists());
    assert_eq!(
        std::fs::read(dir.path().join("snap/x.0123456789abcdef")).unwrap(),
        b"payload"
    );
    // EXPORT: the temp directory becomes the final one, contents included.
    assert_ok(&c.rename(
        &file_uri(&dir.path().join("tmp_export")),
        &uri(&dir.path().join("export")),
    ));
    assert!(!dir.path().join("tmp_export").exists());
    assert_eq!(
        std::fs::read(dir.path().join("export/a.csv")).unwrap(),
        b"a"
    );
    assert_eq!(
        std::fs::read(dir.path().join("export/s/b.csv")).unwrap(),
        b"b"
    );
}

#[test]
fn rename_path_failures_are_502_with_the_reason() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &[("a.csv", b"a"), ("b.csv", b"b")]);
    let a = uri(&dir.path().join("a.csv"));
    let b = uri(&dir.path().join("b.csv"));

    let s = c.rename(
        &uri(&dir.path().join("ghost.csv")),
        &uri(&dir.path().join("c.csv")),
    );
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&s).contains("ghost.csv"),
        "names the missing source: {s:?}"
    );
    assert!(!dir.path().join("c.csv").exists());

    let s = c.rename(&a, &b);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&s).contains("b.csv"),
        "names the existing destination: {s:?}"
    );
    assert_eq!(std::fs::read(dir.path().join("a.csv")).unwrap(), b"a");
    assert_eq!(
        std::fs::read(dir.path().join("b.csv")).unwrap(),
        b"b",
        "destination not overwritten"
    );

    let s = c.rename(&a, "hdfs://nn:8020/user/x/a.csv");
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(!message(&s).is_empty(), "a reason is given");
    assert_eq!(
        std::fs::read(dir.path().join("a.csv")).unwrap(),
        b"a",
        "source untouched"
    );
}

#[test]
fn file_size_of_file_directory_and_missing() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &[("d/f.bin", &[7u8; 12345]), ("d/empty.bin", b"")],
    );
    let r = c.file_size(&uri(&dir.path().join("d/f.bin")));
    assert_ok(&r.op_status);
    assert_eq!(r.file_size, Some(12345));
    let r = c.file_size(&uri(&dir.path().join("d/empty.bin")));
    assert_ok(&r.op_status);
    assert_eq!(r.file_size, Some(0));
    let r = c.file_size(&uri(&dir.path().join("d")));
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    let r = c.file_size(&uri(&dir.path().join("d/missing.bin")));
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    assert!(
        message(&r.op_status).contains("missing.bin"),
        "{:?}",
        r.op_status
    );
    // Properties are optional in Doris' request.
    let r = c
        .rpc
        .file_size(TBrokerFileSizeRequest::new(
            TBrokerVersion::VERSION_ONE,
            uri(&dir.path().join("d/f.bin")),
            None,
        ))
        .unwrap();
    assert_eq!(r.file_size, Some(12345));
}

#[test]
fn list_located_files_plain_recursive_and_only_files() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &[
            ("t/a.csv", b"aa"),
            ("t/s/b.csv", b"b"),
            ("t/s/u/c.csv", b"c"),
            ("t/e/", b""),
        ],
    );
    let root = dir.path();
    let t = uri(&root.join("t"));
    let names = |resp: &TBrokerListResponse| -> Vec<String> {
        listed(resp)
            .into_iter()
            .map(|p| {
                p.strip_prefix(&file_uri(&root.join("t")))
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let resp = c.list_located(&t, false, false);
    assert_eq!(names(&resp), vec!["/a.csv", "/e", "/s"]);
    for f in resp.files.as_ref().unwrap() {
        assert_eq!(f.is_dir, !f.path.ends_with(".csv"), "{f:?}");
        if f.path.ends_with("a.csv") {
            assert_eq!(f.size, 2);
        }
    }
    assert_eq!(names(&c.list_located(&t, false, true)), vec!["/a.csv"]);
    assert_eq!(
        names(&c.list_located(&t, true, true)),
        vec!["/a.csv", "/s/b.csv", "/s/u/c.csv"]
    );
    let recursive = c.list_located(&t, true, false);
    assert!(names(&recursive).contains(&"/s/u/c.csv".to_string()));
    // A file is listed as itself.
    let f = c.list_located(&uri(&root.join("t/a.csv")), false, true);
    assert_eq!(listed(&f), vec![file_uri(&root.join("t/a.csv"))]);
}

#[test]
fn is_splittable_by_compression_suffix() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for (path, want) in [
        ("hdfs://nn/x/a.csv", true),
        ("file:/x/a.txt", true),
        ("s3a://b/k/part-0.parquet", true),
        ("s3a://b/k/part-0.orc", true),
        ("hdfs://nn/x/a.csv.gz", false),
        ("hdfs://nn/x/a.csv.bz2", false),
        ("hdfs://nn/x/a.csv.zst", false),
        ("hdfs://nn/x/a.csv.lz4", false),
        ("hdfs://nn/x/a.csv.deflate", false),
        ("hdfs://nn/x/A.CSV.GZ", false),
    ] {
        let r = c.is_splittable(path);
        assert_ok(r.op_status.as_ref().expect("opStatus set"));
        assert_eq!(r.splittable, Some(want), "{path}");
    }
}

/// No scheme, unknown scheme, unparsable: 404 from every path-taking method, the message
/// naming the path.
#[test]
fn bad_paths_are_404_naming_the_path() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    for path in [
        "/tmp/no-scheme.csv",
        "relative/dir/x.csv",
        "nosuchfs://host/a/unknown-scheme.csv",
        "file:not/absolute.csv",
    ] {
        let mut statuses = vec![
            ("listPath", c.list(path, false, false).op_status),
            (
                "listLocatedFiles",
                c.list_located(path, false, false).op_status,
            ),
            ("checkPathExist", c.exists(path).op_status),
            ("deletePath", c.delete(path)),
            ("renamePath", c.rename(path, "file:/tmp/whatever")),
            ("fileSize", c.file_size(path).op_status),
        ];
        let r = c.open_reader(path, CLIENT);
        assert!(r.fd.is_none());
        statuses.push(("openReader", r.op_status));
        let w = c.open_writer(path, CLIENT);
        assert!(w.fd.is_none());
        statuses.push(("openWriter", w.op_status));
        for (method, s) in statuses {
            assert_eq!(
                s.status_code,
                Code::INVALID_INPUT_FILE_PATH,
                "{method}({path}): {s:?}"
            );
            assert!(
                message(&s).contains(path),
                "{method}({path}) message must name the path: {s:?}"
            );
        }
    }
}

/// The user's `WITH BROKER (...)` map carries keys for other layers: they are ignored.
#[test]
fn unknown_properties_are_ignored() {
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), &[("a.csv", b"1,2\n")]);
    let props: BTreeMap<String, String> = [
        ("column_separator", ","),
        ("max_file_size", "1GB"),
        ("name", "my_broker"),
        ("case_sensitive", "true"),
        ("fs.some.unknown.key", "x"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let path = uri(&dir.path().join("a.csv"));
    let resp = c
        .rpc
        .list_path(TBrokerListPathRequest::new(
            TBrokerVersion::VERSION_ONE,
            path.clone(),
            false,
            props.clone(),
            Some(false),
            None,
        ))
        .unwrap();
    assert_eq!(listed(&resp), vec![file_uri(&dir.path().join("a.csv"))]);
    let r = c
        .rpc
        .open_reader(TBrokerOpenReaderRequest::new(
            TBrokerVersion::VERSION_ONE,
            path.clone(),
            0,
            CLIENT.to_string(),
            props.clone(),
        ))
        .unwrap();
    assert_ok(&r.op_status);
    let out = uri(&dir.path().join("out.csv"));
    let w = c
        .rpc
        .open_writer(TBrokerOpenWriterRequest::new(
            TBrokerVersion::VERSION_ONE,
            out,
            TBrokerOpenMode::APPEND,
            CLIENT.to_string(),
            props.clone(),
        ))
        .unwrap();
    assert_ok(&w.op_status);
    let e = c
        .rpc
        .check_path_exist(TBrokerCheckPathExistRequest::new(
            TBrokerVersion::VERSION_ONE,
            path,
            props,
        ))
        .unwrap();
    assert_ok(&e.op_status);
    assert!(e.is_path_exist);
}
