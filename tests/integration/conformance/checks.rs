//! The checks: each works in its own sub-directory of the base (the listing tree below
//! `list/` is written once, when the suite is made), through the broker only, with the
//! target's properties on every call.

use apache_hdfs_broker::wire::generated::*;

use super::{join, Target};
use crate::common::*;

// ---------------------------------------------------------------------------------------
// Helpers: everything through the broker, with the target's properties
// ---------------------------------------------------------------------------------------

/// Writes `data` to `rel` below the base in 64 KiB pwrites.
#[track_caller]
fn put(c: &mut Client, t: &Target, rel: &str, data: &[u8]) {
    c.write_file(&t.at(rel), &t.client_id, data, 64 << 10);
}

/// Reads a whole file (any URI) with 1 MiB preads.
#[track_caller]
fn get(c: &mut Client, t: &Target, path: &str) -> Vec<u8> {
    c.read_file(path, &t.client_id, 1 << 20)
}

#[track_caller]
fn present(c: &mut Client, t: &Target, rel: &str) -> bool {
    let r = c.exists(&t.at(rel));
    assert_ok(&r.op_status);
    r.is_path_exist
}

#[track_caller]
fn ls(
    c: &mut Client,
    t: &Target,
    rel: &str,
    recursive: bool,
    name_only: bool,
) -> Vec<TBrokerFileStatus> {
    entries(&c.list(&t.at(rel), recursive, name_only))
}

/// The entries of an OK listing, sorted by path.
#[track_caller]
fn entries(resp: &TBrokerListResponse) -> Vec<TBrokerFileStatus> {
    assert_ok(&resp.op_status);
    let mut files = resp.files.clone().expect("OK listing without `files`");
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn paths(files: &[TBrokerFileStatus]) -> Vec<String> {
    files.iter().map(|f| f.path.clone()).collect()
}

/// `t.qualified(prefix/rel)` for each rel, sorted.
fn qualified_all(t: &Target, prefix: &str, rels: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = rels.iter().map(|r| t.qualified(&join(prefix, r))).collect();
    v.sort();
    v
}

/// Compares bytes without printing megabytes on a mismatch.
#[track_caller]
fn assert_bytes(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at {:?}",
            got.len(),
            want.len(),
            first.or(Some(got.len().min(want.len())))
        );
    }
}

/// One entry is a file of `size` bytes, splitable, with a fully qualified `path`.
#[track_caller]
fn assert_file_entry(t: &Target, f: &TBrokerFileStatus, path: &str, size: usize) {
    assert_eq!(f.path, path, "entry path: {f:?}");
    assert!(!f.is_dir, "a file listed as a directory: {f:?}");
    assert!(f.is_splitable, "files are splitable: {f:?}");
    assert_eq!(f.size, size as i64, "size of {path}: {f:?}");
    assert!(
        f.path.starts_with(&format!("{}:", t.scheme())),
        "listed paths are fully qualified with the target's scheme: {f:?}"
    );
}

// ---------------------------------------------------------------------------------------
// The listing tree, written once (through the broker) and shared by the listing checks
// ---------------------------------------------------------------------------------------

/// Files below `list/` and their sizes (distinct, so a swapped entry shows).
const TREE: &[(&str, usize)] = &[
    ("top.csv", 11),
    ("a/x.csv", 13),
    ("a/y.txt", 17),
    ("b/x.csv", 19),
    ("b/z.csv", 23),
    ("c/x.csv", 29),
    ("d/deep/leaf.csv", 31),
    ("n/f1.csv", 37),
    ("n/f2.csv", 41),
    ("n/f10.csv", 43),
];

fn tree_data(rel: &str) -> Vec<u8> {
    let (_, len) = TREE
        .iter()
        .find(|(r, _)| *r == rel)
        .unwrap_or_else(|| panic!("{rel} is not in the listing tree"));
    test_data(*len, *len as u64)
}

/// Writes the tree below `list/` unless it is there (the suite writes it when it is made;
/// `list.ready` is written last, beside `list/`, so it never shows in the tree's own
/// listings).
#[track_caller]
pub(super) fn list_tree(c: &mut Client, t: &Target) {
    if present(c, t, "list.ready") {
        return;
    }
    for (rel, _) in TREE {
        put(c, t, &format!("list/{rel}"), &tree_data(rel));
    }
    put(c, t, "list.ready", b"");
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

/// The base-is-fresh check runs once, when the suite is made and before any check writes
/// below the base ([`fresh_base`]); a suite that failed it fails every check. This test
/// names it.
pub fn base_is_fresh(_: &mut Client, _: &Target) {}

/// The base does not exist yet: checkPathExist false, listings OK + empty.
#[track_caller]
pub(super) fn fresh_base(c: &mut Client, t: &Target) {
    assert!(
        !present(c, t, ""),
        "the base {} must not exist before the run",
        t.base
    );
    for pattern in ["", "*"] {
        assert!(
            ls(c, t, pattern, false, false).is_empty(),
            "listPath {} on a fresh base must be empty",
            t.at(pattern)
        );
    }
}

/// openWriter creates missing parents; the file reads back and every parent exists.
pub fn write_creates_parents(c: &mut Client, t: &Target) {
    let rel = "parents/y=2024/m=01/part-0.csv";
    put(c, t, rel, b"1,2,3\n");
    for dir in ["parents", "parents/y=2024", "parents/y=2024/m=01", rel] {
        assert!(present(c, t, dir), "{dir} exists after writing {rel}");
    }
    assert_eq!(get(c, t, &t.at(rel)), b"1,2,3\n");
    let dir = ls(c, t, "parents/y=2024/m=01", false, false);
    assert_eq!(dir.len(), 1, "{dir:?}");
    assert!(dir[0].is_dir, "a created parent is a directory: {dir:?}");
}

/// A writer closed without any pwrite leaves an empty file: listed with size 0, at EOF
/// from the start.
pub fn empty_file(c: &mut Client, t: &Target) {
    let fd = c.writer_fd(&t.at("empty/zero.csv"), &t.client_id);
    assert_ok(&c.close_writer(&fd));
    assert!(present(c, t, "empty/zero.csv"), "an empty file exists");
    let files = ls(c, t, "empty/zero.csv", false, false);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_file_entry(t, &files[0], &t.qualified("empty/zero.csv"), 0);
    let r = c.file_size(&t.at("empty/zero.csv"));
    assert_ok(&r.op_status);
    assert_eq!(r.file_size, Some(0));
    let fd = c.reader_fd(&t.at("empty/zero.csv"), &t.client_id);
    assert_eq!(
        c.read_at(&fd, 0, 100),
        b"",
        "an empty file is at EOF from the start"
    );
    // The FE's BrokerUtil.readFile: one pread of the file's size, 0 here.
    assert_eq!(c.read_at(&fd, 0, 0), b"", "a pread of length 0");
    assert_ok(&c.close_reader(&fd));
}

/// An exact file path lists as one entry with every field right.
pub fn list_exact_file(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let files = ls(c, t, "list/a/x.csv", false, false);
    assert_eq!(files.len(), 1, "an exact file is one entry: {files:?}");
    assert_file_entry(t, &files[0], &t.qualified("list/a/x.csv"), 13);
}

/// An exact directory path lists as one entry for the directory itself (with or without
/// a trailing slash), not its children.
pub fn list_exact_dir(c: &mut Client, t: &Target) {
    list_tree(c, t);
    for rel in ["list/a", "list/a/"] {
        let files = ls(c, t, rel, false, false);
        assert_eq!(
            paths(&files),
            vec![t.qualified("list/a")],
            "listPath {}: a directory is one entry, not its children",
            t.at(rel)
        );
        assert!(files[0].is_dir, "{files:?}");
        assert!(
            !files[0].is_splitable,
            "a directory is not splitable: {files:?}"
        );
    }
}

/// `dir/*`: the children, files and directories, with their kinds and sizes.
pub fn list_dir_star(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let files = ls(c, t, "list/*", false, false);
    assert_eq!(
        paths(&files),
        qualified_all(t, "list", &["top.csv", "a", "b", "c", "d", "n"])
    );
    for f in &files {
        if f.path.ends_with(".csv") {
            assert_file_entry(t, f, &t.qualified("list/top.csv"), 11);
        } else {
            assert!(f.is_dir, "{f:?}");
            assert!(!f.is_splitable, "{f:?}");
        }
    }
}

/// `dir/*/x.csv`: a glob in a middle component.
pub fn list_star_then_name(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let files = ls(c, t, "list/*/x.csv", false, false);
    assert_eq!(
        paths(&files),
        qualified_all(t, "list", &["a/x.csv", "b/x.csv", "c/x.csv"])
    );
    for f in &files {
        let rel = f.path.strip_prefix(&t.qualified("list/")).unwrap();
        assert_file_entry(t, f, &f.path, tree_data(rel).len());
    }
}

/// `{a,b}/*.csv`.
pub fn list_braces(c: &mut Client, t: &Target) {
    list_tree(c, t);
    assert_eq!(
        paths(&ls(c, t, "list/{a,b}/*.csv", false, false)),
        qualified_all(t, "list", &["a/x.csv", "b/x.csv", "b/z.csv"])
    );
}

/// `[a-c]` (directories) and `[fg]`-style classes in a file name.
pub fn list_char_class(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let files = ls(c, t, "list/[a-c]", false, false);
    assert_eq!(paths(&files), qualified_all(t, "list", &["a", "b", "c"]));
    assert!(files.iter().all(|f| f.is_dir), "{files:?}");
    assert_eq!(
        paths(&ls(c, t, "list/[ab]/[xz].csv", false, false)),
        qualified_all(t, "list", &["a/x.csv", "b/x.csv", "b/z.csv"])
    );
}

/// `?` matches exactly one character.
pub fn list_question_mark(c: &mut Client, t: &Target) {
    list_tree(c, t);
    assert_eq!(
        paths(&ls(c, t, "list/n/f?.csv", false, false)),
        qualified_all(t, "list", &["n/f1.csv", "n/f2.csv"])
    );
    assert_eq!(
        paths(&ls(c, t, "list/n/f??.csv", false, false)),
        qualified_all(t, "list", &["n/f10.csv"])
    );
}

/// A glob matching nothing: OK + empty.
pub fn list_no_match(c: &mut Client, t: &Target) {
    list_tree(c, t);
    for pattern in [
        "list/*/nomatch-*.csv",
        "list/q*",
        "list/{p,q}/*",
        "list/[x-z]",
    ] {
        let files = ls(c, t, pattern, false, false);
        assert!(files.is_empty(), "{pattern} matches nothing: {files:?}");
    }
}

/// A missing path (file, directory, below a missing directory, recursive): OK + empty.
pub fn list_missing(c: &mut Client, t: &Target) {
    list_tree(c, t);
    for (rel, recursive) in [
        ("list/missing.csv", false),
        ("list/missing-dir", false),
        ("list/missing-dir/*", false),
        ("list/missing-dir/x/y.csv", false),
        ("list/missing-dir", true),
    ] {
        let files = ls(c, t, rel, recursive, false);
        assert!(
            files.is_empty(),
            "listPath {rel} (recursive {recursive}) of a missing path: {files:?}"
        );
    }
}

/// isRecursive: every file below, no directories, with their sizes.
pub fn list_recursive(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let files = ls(c, t, "list", true, false);
    let rels: Vec<&str> = TREE.iter().map(|(r, _)| *r).collect();
    assert_eq!(paths(&files), qualified_all(t, "list", &rels));
    for f in &files {
        let rel = f.path.strip_prefix(&t.qualified("list/")).unwrap();
        assert_file_entry(t, f, &f.path, tree_data(rel).len());
    }
    // A glob with isRecursive: the files below each match.
    assert_eq!(
        paths(&ls(c, t, "list/[cd]", true, false)),
        qualified_all(t, "list", &["c/x.csv", "d/deep/leaf.csv"])
    );
}

/// fileNameOnly: bare names.
pub fn list_file_name_only(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let files = ls(c, t, "list/n/*", false, true);
    assert_eq!(paths(&files), vec!["f1.csv", "f10.csv", "f2.csv"]);
    assert!(
        files.iter().all(|f| !f.is_dir && f.is_splitable),
        "{files:?}"
    );
    let dirs = ls(c, t, "list/[a-b]", false, true);
    assert_eq!(paths(&dirs), vec!["a", "b"]);
}

/// BE's file-size lookup: the exact path with fileNameOnly → exactly one entry.
pub fn list_be_size_lookup(c: &mut Client, t: &Target) {
    list_tree(c, t);
    for rel in ["a/y.txt", "d/deep/leaf.csv"] {
        let files = ls(c, t, &format!("list/{rel}"), false, true);
        assert_eq!(files.len(), 1, "BE size lookup of {rel}: {files:?}");
        let name = rel.rsplit('/').next().unwrap();
        assert_eq!(files[0].path, name, "{files:?}");
        assert!(!files[0].is_dir, "{files:?}");
        assert_eq!(files[0].size, tree_data(rel).len() as i64, "{files:?}");
    }
}

/// Every path a listing returns reopens verbatim and reads the right bytes.
pub fn listed_paths_reopen(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let mut all = ls(c, t, "list", true, false);
    all.extend(ls(c, t, "list/*/x.csv", false, false));
    all.extend(ls(c, t, "list/top.csv", false, false));
    assert!(all.len() >= TREE.len() + 4, "{all:?}");
    let root = t.qualified("list/");
    for f in &all {
        let rel = f
            .path
            .strip_prefix(&root)
            .unwrap_or_else(|| panic!("{} is not below {root}", f.path));
        let want = tree_data(rel);
        let r = c.open_reader(&f.path, &t.client_id);
        assert_ok(&r.op_status);
        if let Some(size) = r.size {
            assert_eq!(size, want.len() as i64, "openReader size of {}", f.path);
        }
        assert_ok(&c.close_reader(&r.fd.unwrap()));
        assert_bytes(&get(c, t, &f.path), &want, &format!("reopened {}", f.path));
    }
}

/// checkPathExist: file, directory, missing.
pub fn path_exist(c: &mut Client, t: &Target) {
    put(c, t, "exist/d/f.csv", b"x");
    for (rel, want) in [
        ("exist/d/f.csv", true),
        ("exist/d", true),
        ("exist", true),
        ("exist/d/missing.csv", false),
        ("exist/no/such/dir", false),
        ("exist/d/f.csv/below-a-file", false),
    ] {
        let r = c.exists(&t.at(rel));
        assert_ok(&r.op_status);
        assert_eq!(r.is_path_exist, want, "checkPathExist {}", t.at(rel));
    }
}

/// deletePath: a file; a directory, recursively; a missing path is OK. Siblings stay.
pub fn delete(c: &mut Client, t: &Target) {
    for rel in [
        "del/f.csv",
        "del/d/a.csv",
        "del/d/sub/b.csv",
        "del/keep.csv",
    ] {
        put(c, t, rel, rel.as_bytes());
    }
    assert_ok(&c.delete(&t.at("del/f.csv")));
    assert!(!present(c, t, "del/f.csv"), "a deleted file is gone");
    assert_ok(&c.delete(&t.at("del/d")));
    for rel in ["del/d", "del/d/a.csv", "del/d/sub", "del/d/sub/b.csv"] {
        assert!(!present(c, t, rel), "{rel} is gone after deleting del/d");
    }
    assert_ok(&c.delete(&t.at("del/d")));
    assert_ok(&c.delete(&t.at("del/never/was/here.csv")));
    assert_eq!(
        paths(&ls(c, t, "del/*", false, false)),
        vec![t.qualified("del/keep.csv")],
        "only the sibling is left"
    );
    assert_eq!(get(c, t, &t.at("del/keep.csv")), b"del/keep.csv");
}

/// renamePath of a file (backup: `x.part` → `x.<md5>`).
pub fn rename_file(c: &mut Client, t: &Target) {
    put(c, t, "ren_file/x.part", b"payload");
    assert_ok(&c.rename(
        &t.at("ren_file/x.part"),
        &t.at("ren_file/x.0123456789abcdef"),
    ));
    assert!(!present(c, t, "ren_file/x.part"), "the source is gone");
    assert_eq!(get(c, t, &t.at("ren_file/x.0123456789abcdef")), b"payload");
    assert_eq!(
        paths(&ls(c, t, "ren_file/*", false, false)),
        vec![t.qualified("ren_file/x.0123456789abcdef")]
    );
}

/// renamePath of a directory (EXPORT's temp directory): the whole content moves.
pub fn rename_dir(c: &mut Client, t: &Target) {
    let files = [
        ("a.csv", &b"a"[..]),
        ("s/b.csv", b"bb"),
        ("s/u/c.csv", b"ccc"),
    ];
    for (rel, data) in files {
        put(c, t, &format!("ren_dir/__tmp_export/{rel}"), data);
    }
    assert_ok(&c.rename(&t.at("ren_dir/__tmp_export"), &t.at("ren_dir/export")));
    assert!(
        !present(c, t, "ren_dir/__tmp_export"),
        "the source directory is gone"
    );
    assert!(
        ls(c, t, "ren_dir/__tmp_export", true, false).is_empty(),
        "nothing is left below the source"
    );
    let moved = ls(c, t, "ren_dir/export", true, false);
    assert_eq!(
        paths(&moved),
        qualified_all(t, "ren_dir/export", &["a.csv", "s/b.csv", "s/u/c.csv"])
    );
    for (rel, data) in files {
        assert_eq!(
            get(c, t, &t.at(&format!("ren_dir/export/{rel}"))),
            data,
            "{rel}"
        );
    }
}

/// renamePath: missing source and existing destination are 502 with the reason, and
/// change nothing.
pub fn rename_failures(c: &mut Client, t: &Target) {
    put(c, t, "ren_fail/a.csv", b"a");
    put(c, t, "ren_fail/b.csv", b"b");
    put(c, t, "ren_fail/d1/x.csv", b"1");
    put(c, t, "ren_fail/d2/y.csv", b"2");

    let s = c.rename(&t.at("ren_fail/ghost.csv"), &t.at("ren_fail/c.csv"));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&s).contains("ghost.csv"),
        "names the missing source: {s:?}"
    );
    assert!(!present(c, t, "ren_fail/c.csv"), "nothing created");

    let s = c.rename(&t.at("ren_fail/a.csv"), &t.at("ren_fail/b.csv"));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(
        message(&s).contains("b.csv"),
        "names the existing destination: {s:?}"
    );
    assert_eq!(get(c, t, &t.at("ren_fail/a.csv")), b"a", "source untouched");
    assert_eq!(
        get(c, t, &t.at("ren_fail/b.csv")),
        b"b",
        "destination not overwritten"
    );

    let s = c.rename(&t.at("ren_fail/d1"), &t.at("ren_fail/d2"));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert_eq!(
        paths(&ls(c, t, "ren_fail/d2", true, false)),
        vec![t.qualified("ren_fail/d2/y.csv")],
        "a directory is not moved into an existing one"
    );
    assert!(
        present(c, t, "ren_fail/d1/x.csv"),
        "source directory untouched"
    );
}

/// openReader of a missing file: 501, no fd, the message names the path. A directory
/// cannot be opened either.
pub fn open_reader_missing(c: &mut Client, t: &Target) {
    put(c, t, "open_missing/present.csv", b"x");
    for rel in ["open_missing/nope.csv", "open_missing/no/such/nope.csv"] {
        let r = c.open_reader(&t.at(rel), &t.client_id);
        assert_code(&r.op_status, Code::FILE_NOT_FOUND);
        assert!(r.fd.is_none(), "no fd on failure: {r:?}");
        assert!(
            message(&r.op_status).contains("nope.csv"),
            "{:?}",
            r.op_status
        );
    }
    let r = c.open_reader(&t.at("open_missing"), &t.client_id);
    assert_ne!(
        r.op_status.status_code,
        Code::OK,
        "openReader of a directory: {r:?}"
    );
    assert!(r.fd.is_none(), "{r:?}");
}

/// pread is positional: any offset, any order, retries of the same offset; two fds on
/// one file do not share a position.
pub fn pread_positional(c: &mut Client, t: &Target) {
    let data = test_data(200_000, 3);
    put(c, t, "pread/data.bin", &data);
    let fd = c.reader_fd(&t.at("pread/data.bin"), &t.client_id);
    for (offset, len) in [
        (150_000usize, 4096usize),
        (0, 10),
        (199_000, 1000),
        (12_345, 100_000),
        (0, 10), // FE retries the same offset
        (99_999, 1),
        (7, 3),
        (150_000, 4096),
    ] {
        let got = c.read_at(&fd, offset as i64, len as i64);
        assert_bytes(
            &got,
            &data[offset..offset + len],
            &format!("pread({offset}, {len})"),
        );
    }
    let other = c.reader_fd(&t.at("pread/data.bin"), &t.client_id);
    assert_bytes(&c.read_at(&other, 100, 5), &data[100..105], "second fd");
    assert_bytes(&c.read_at(&fd, 200, 5), &data[200..205], "first fd");
    assert_ok(&c.close_reader(&other));
    assert_ok(&c.close_reader(&fd));
}

/// A read larger than the file returns exactly the file; short only at EOF; at or past
/// EOF: OK + empty.
pub fn pread_at_and_past_eof(c: &mut Client, t: &Target) {
    let data = test_data(1000, 4);
    put(c, t, "eof/small.bin", &data);
    let fd = c.reader_fd(&t.at("eof/small.bin"), &t.client_id);
    assert_bytes(
        &c.read_at(&fd, 0, 1 << 20),
        &data,
        "pread(0, 1 MiB) of 1000 bytes",
    );
    assert_bytes(&c.read_at(&fd, 990, 100), &data[990..], "short at EOF");
    for offset in [1000, 1001, 1_000_000, i64::MAX - 10, i64::MAX] {
        let got = c.read_at(&fd, offset, 100);
        assert!(
            got.is_empty(),
            "pread at/past EOF ({offset}): OK + empty, got {} bytes",
            got.len()
        );
    }
    assert_bytes(
        &c.read_at(&fd, 0, 1000),
        &data,
        "the fd still reads after EOF",
    );
    assert_ok(&c.close_reader(&fd));
}

/// Negative offset → 403; negative length → 405; length 0 → OK + empty anywhere on an
/// open reader (the FE reads an empty file with one pread of length 0); unknown fd → 502
/// whatever the length; the fd survives.
pub fn pread_argument_errors(c: &mut Client, t: &Target) {
    let data = test_data(100, 5);
    put(c, t, "pread_args/data.bin", &data);
    let fd = c.reader_fd(&t.at("pread_args/data.bin"), &t.client_id);
    for offset in [-1, i64::MIN] {
        assert_code(
            &c.pread(&fd, offset, 10).op_status,
            Code::INVALID_INPUT_OFFSET,
        );
    }
    for len in [-1, -5, i64::MIN] {
        assert_code(&c.pread(&fd, 0, len).op_status, Code::INVALID_ARGUMENT);
    }
    for offset in [0, 50, 100, 1000] {
        assert_eq!(
            c.read_at(&fd, offset, 0),
            b"",
            "length 0 at offset {offset}"
        );
    }
    let unknown = TBrokerFD::new(0x1234_5678, 0x0bad_f00d);
    for len in [10, 0] {
        assert_code(
            &c.pread(&unknown, 0, len).op_status,
            Code::TARGET_STORAGE_SERVICE_ERROR,
        );
    }
    assert_bytes(
        &c.read_at(&fd, 0, 1000),
        &data,
        "the fd still works after refusals",
    );
    assert_ok(&c.close_reader(&fd));
}

/// closeReader twice is OK (also from another connection); pread after close fails;
/// closing a never-issued fd is 502.
pub fn close_reader(c: &mut Client, t: &Target) {
    put(c, t, "close_reader/data.bin", b"0123456789");
    let fd = c.reader_fd(&t.at("close_reader/data.bin"), &t.client_id);
    assert_eq!(c.read_at(&fd, 2, 3), b"234");
    assert_ok(&c.close_reader(&fd));
    assert_ok(&c.close_reader(&fd));
    let r = c.pread(&fd, 0, 10);
    assert_ne!(
        r.op_status.status_code,
        Code::OK,
        "pread after close: {r:?}"
    );
    let never = TBrokerFD::new(0x0bad_cafe, 0x0dd_f00d);
    assert_code(&c.close_reader(&never), Code::TARGET_STORAGE_SERVICE_ERROR);
    assert_code(&c.close_writer(&never), Code::TARGET_STORAGE_SERVICE_ERROR);
}

/// openWriter over an existing file replaces it once closed.
pub fn open_writer_replaces(c: &mut Client, t: &Target) {
    put(
        c,
        t,
        "replace/out.csv",
        b"old content, longer than the new one",
    );
    put(c, t, "replace/out.csv", b"new");
    assert_eq!(get(c, t, &t.at("replace/out.csv")), b"new");
    let files = ls(c, t, "replace/*", false, false);
    assert_eq!(files.len(), 1, "one file, no leftovers: {files:?}");
    assert_file_entry(t, &files[0], &t.qualified("replace/out.csv"), 3);
    let r = c.file_size(&t.at("replace/out.csv"));
    assert_eq!(r.file_size, Some(3), "{r:?}");
}

/// A replay of the last pwrite (FE retry after a timeout) is OK and not written twice.
pub fn pwrite_replay(c: &mut Client, t: &Target) {
    let fd = c.writer_fd(&t.at("replay/seq.txt"), &t.client_id);
    assert_ok(&c.pwrite(&fd, 0, b"hello "));
    assert_ok(&c.pwrite(&fd, 0, b"hello "));
    assert_ok(&c.pwrite(&fd, 6, b"world"));
    assert_ok(&c.pwrite(&fd, 6, b"world"));
    assert_ok(&c.pwrite(&fd, 6, b"world"));
    assert_ok(&c.pwrite(&fd, 11, b"!"));
    assert_ok(&c.close_writer(&fd));
    assert_eq!(
        get(c, t, &t.at("replay/seq.txt")),
        b"hello world!",
        "replays are not written twice"
    );
}

/// A gap or a rewind is 403 naming both offsets, and changes nothing.
pub fn pwrite_gap(c: &mut Client, t: &Target) {
    let data = test_data(2000, 6);
    let fd = c.writer_fd(&t.at("gap/strict.bin"), &t.client_id);
    assert_ok(&c.pwrite(&fd, 0, &data[..1000]));
    assert_ok(&c.pwrite(&fd, 1000, &data[1000..]));
    for (offset, len) in [(2345i64, 10usize), (2001, 10), (500, 700), (0, 1000)] {
        let s = c.pwrite(&fd, offset, &test_data(len, 99));
        assert_code(&s, Code::INVALID_INPUT_OFFSET);
        let msg = message(&s);
        assert!(
            msg.contains(&offset.to_string()) && msg.contains("2000"),
            "pwrite at {offset} with 2000 written must name both offsets: {msg}"
        );
    }
    assert_ok(&c.pwrite(&fd, 2000, b"tail"));
    assert_ok(&c.close_writer(&fd));
    let mut want = data;
    want.extend_from_slice(b"tail");
    assert_bytes(
        &get(c, t, &t.at("gap/strict.bin")),
        &want,
        "after refused pwrites",
    );
}

/// closeWriter makes the data visible; twice is OK; pwrite after close fails.
pub fn close_writer(c: &mut Client, t: &Target) {
    let fd = c.writer_fd(&t.at("close_writer/v.csv"), &t.client_id);
    assert_ok(&c.pwrite(&fd, 0, b"a,b\n"));
    assert_ok(&c.close_writer(&fd));
    assert!(
        present(c, t, "close_writer/v.csv"),
        "visible after closeWriter"
    );
    assert_ok(&c.close_writer(&fd));
    let s = c.pwrite(&fd, 4, b"more");
    assert_ne!(s.status_code, Code::OK, "pwrite after close: {s:?}");
    assert_ok(&c.close_writer(&fd));
    assert_eq!(get(c, t, &t.at("close_writer/v.csv")), b"a,b\n");
    assert_eq!(
        paths(&ls(c, t, "close_writer/*", false, false)),
        vec![t.qualified("close_writer/v.csv")],
        "no leftovers beside the file"
    );
}

/// 6 × 1 MiB + a tail (past S3's 5 MiB minimum multipart part, so a buffering writer
/// uploads more than one part), written in 1 MiB pwrites with one 1 MiB replay, reads back
/// byte-identical with preads of various sizes, across chunk boundaries.
pub fn multi_chunk_round_trip(c: &mut Client, t: &Target) {
    const MIB: usize = 1 << 20;
    let len = 6 * MIB + 12_345;
    let data = test_data(len, 0x5eed);
    let path = t.at("big/blob.bin");
    let fd = c.writer_fd(&path, &t.client_id);
    for (i, chunk) in data.chunks(MIB).enumerate() {
        assert_ok(&c.pwrite(&fd, (i * MIB) as i64, chunk));
        if i == 2 {
            assert_ok(&c.pwrite(&fd, (i * MIB) as i64, chunk)); // FE retry
        }
    }
    assert_ok(&c.close_writer(&fd));
    let files = ls(c, t, "big/blob.bin", false, false);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_file_entry(t, &files[0], &t.qualified("big/blob.bin"), len);
    let r = c.file_size(&path);
    assert_eq!(r.file_size, Some(len as i64), "{r:?}");
    assert_bytes(&get(c, t, &path), &data, "1 MiB preads");
    assert_bytes(
        &c.read_file(&path, &t.client_id, 777_777),
        &data,
        "777777-byte preads",
    );
    let fd = c.reader_fd(&path, &t.client_id);
    for (offset, want) in [
        (0, 1),
        (MIB - 7, 14),
        (2 * MIB + 3, MIB),
        (len - 100, 100),
        (17, 3 * MIB),
        (5 * MIB - 1, 2),
        (6 * MIB - 1, 12_346),
        (1, 4096),
        (0, 4 * MIB),
        (len - 4 * MIB, 4 * MIB),
    ] {
        let got = c.read_at(&fd, offset as i64, want as i64);
        assert_bytes(
            &got,
            &data[offset..offset + want],
            &format!("pread({offset}, {want})"),
        );
    }
    assert_bytes(
        &c.read_at(&fd, (6 * MIB) as i64, MIB as i64),
        &data[6 * MIB..],
        "tail, short at EOF",
    );
    assert_ok(&c.close_reader(&fd));
}

/// Doris fileSize: a file's size; a directory → 404; missing → 501 naming the path.
pub fn doris_file_size(c: &mut Client, t: &Target) {
    put(c, t, "size/d/f.bin", &test_data(12_345, 8));
    let r = c.file_size(&t.at("size/d/f.bin"));
    assert_ok(&r.op_status);
    assert_eq!(r.file_size, Some(12_345));
    let r = c.file_size(&t.at("size/d"));
    assert_code(&r.op_status, Code::INVALID_INPUT_FILE_PATH);
    let r = c.file_size(&t.at("size/d/missing.bin"));
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    assert!(
        message(&r.op_status).contains("missing.bin"),
        "{:?}",
        r.op_status
    );
}

/// Doris listLocatedFiles on the tree: recursive + onlyFiles gives every file; plain
/// gives the children; onlyFiles drops directories.
pub fn doris_list_located_files(c: &mut Client, t: &Target) {
    list_tree(c, t);
    let located = |c: &mut Client, recursive, only_files| {
        entries(&c.list_located(&t.at("list"), recursive, only_files))
    };
    let files = located(c, true, true);
    let rels: Vec<&str> = TREE.iter().map(|(r, _)| *r).collect();
    assert_eq!(paths(&files), qualified_all(t, "list", &rels));
    for f in &files {
        let rel = f.path.strip_prefix(&t.qualified("list/")).unwrap();
        assert!(!f.is_dir, "{f:?}");
        assert_eq!(f.size, tree_data(rel).len() as i64, "{f:?}");
    }
    let plain = located(c, false, false);
    assert_eq!(
        paths(&plain),
        qualified_all(t, "list", &["top.csv", "a", "b", "c", "d", "n"])
    );
    for f in &plain {
        assert_eq!(f.is_dir, !f.path.ends_with(".csv"), "{f:?}");
    }
    assert_eq!(
        paths(&located(c, false, true)),
        vec![t.qualified("list/top.csv")]
    );
}

/// Doris isSplittable: plain and columnar files yes, whole-file compressed no.
pub fn doris_is_splittable(c: &mut Client, t: &Target) {
    for (rel, want) in [
        ("split/a.csv", true),
        ("split/part-0.parquet", true),
        ("split/a.csv.gz", false),
        ("split/a.csv.bz2", false),
    ] {
        put(c, t, rel, b"x");
        let r = c.is_splittable(&t.at(rel));
        assert_ok(r.op_status.as_ref().expect("isSplittable without opStatus"));
        assert_eq!(r.splittable, Some(want), "isSplittable {}", t.at(rel));
    }
}

/// A whole base, on one of its own beside the suite's (whose other checks may be writing
/// meanwhile): a recursive listPath and a recursive, files-only listLocatedFiles both give
/// exactly its files (no directories, the listing tree included). Then deleting the base
/// removes all of it.
pub fn delete_base(c: &mut Client, suite: &Target) {
    let t = &Target {
        base: format!("{}-whole", suite.base),
        ..suite.clone()
    };
    list_tree(c, t);
    put(c, t, "last/one.csv", b"1");
    let all = ls(c, t, "", true, false);
    for f in &all {
        assert!(!f.is_dir, "a recursive listing holds no directories: {f:?}");
    }
    let files = paths(&all);
    let mut want: Vec<String> = TREE
        .iter()
        .map(|(r, _)| t.qualified(&format!("list/{r}")))
        .chain([t.qualified("list.ready"), t.qualified("last/one.csv")])
        .collect();
    want.sort();
    assert_eq!(files, want, "recursive listing of the base {}", t.base);
    let located = entries(&c.list_located(&t.base, true, true));
    assert_eq!(
        paths(&located),
        files,
        "listLocatedFiles (recursive, onlyFiles) and listPath (recursive) of the base differ"
    );
    assert_ok(&c.delete(&t.base));
    assert!(!present(c, t, ""), "the base is gone");
    assert!(
        !present(c, t, "last/one.csv"),
        "files below the base are gone"
    );
    assert!(
        ls(c, t, "", true, false).is_empty(),
        "nothing listed below the base"
    );
}
