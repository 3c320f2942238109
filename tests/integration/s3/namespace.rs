//! How keys and prefixes look through the broker: listings longer than one page,
//! directory markers, a recursive listing against the walk, renames of keys and prefixes.

use super::on_server;
use crate::common::*;
use crate::conformance::unique;
use apache_hdfs_broker::wire::generated::TBrokerListResponse;

/// 1100 keys: more than one page of SeaweedFS's 1000-key listings, so every listing
/// has to follow the continuation token.
#[test]
fn listings_page_through_more_than_a_thousand_keys() {
    let Some((s3, _broker, mut c)) = on_server(&[]) else {
        return;
    };
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
    let Some((s3, _broker, mut c)) = on_server(&[]) else {
        return;
    };
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
    let Some((s3, _broker, mut c)) = on_server(&[]) else {
        return;
    };
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
    let Some((s3, _broker, mut c)) = on_server(&[]) else {
        return;
    };
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
