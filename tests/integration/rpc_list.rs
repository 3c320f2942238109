//! `listPath`: Hadoop `globStatus` semantics through the real wire, on `file:` paths.
//!
//! Glob expectations follow Hadoop's `GlobPattern` (`*`, `?`, `[abc]`, `[a-z]`, `[^a]`,
//! `[!a]`, `{a,b}`, `\` escapes) and `GlobExpander` (`{a/b,c}` spanning `/`).

use crate::common::*;

use std::path::Path;

/// The tree every listing test works on (one per test, so tests stay independent).
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    make_tree(
        dir.path(),
        &[
            ("flat/a.csv", b"aaa"),
            ("flat/b.csv", b"bb"),
            ("flat/c.csv", b"c"),
            ("flat/d.csv", b"dddd"),
            ("flat/ab.csv", b"abab"),
            ("flat/x.txt", b"x"),
            ("tree/p1/x.csv", b"p1x"),
            ("tree/p1/y.txt", b"p1y"),
            ("tree/p2/x.csv", b"p2x"),
            ("tree/p3/z.csv", b"p3z"),
            ("tree/f.csv", b"file, not a directory"),
            ("alt/a/x.csv", b"1"),
            ("alt/a/y.txt", b"2"),
            ("alt/b/x.csv", b"3"),
            ("alt/c/x.csv", b"4"),
            ("span/a/b/f.csv", b"1"),
            ("span/a/f.csv", b"2"),
            ("span/c/f.csv", b"3"),
            ("span/d/f.csv", b"4"),
            ("esc/a*b.csv", b"star"),
            ("esc/axb.csv", b"x"),
            ("esc/a?b.csv", b"question"),
            ("rec/top.csv", b"top"),
            ("rec/n1/mid.csv", b"mid"),
            ("rec/n1/n2/leaf.csv", b"leaf"),
            ("rec/empty/", b""),
            ("hidden/.h.csv", b"h"),
            ("hidden/v.csv", b"v"),
        ],
    );
    dir
}

/// A broker, a connection to it and a fresh [`fixture`] tree, as every test starts.
struct Listing {
    c: Client,
    dir: tempfile::TempDir,
    _broker: BrokerProcess,
}

impl Listing {
    fn start() -> Self {
        let broker = BrokerProcess::start();
        Listing {
            c: broker.client(),
            dir: fixture(),
            _broker: broker,
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `file:///<root>/<rel>` (`rel` may hold glob characters).
    fn at(&self, rel: &str) -> String {
        uri(&self.root().join(rel))
    }

    /// `file:/<root>/<rel>` for each relative path, sorted like [`listed`].
    fn expect(&self, rels: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = rels
            .iter()
            .map(|r| file_uri(&self.root().join(r)))
            .collect();
        v.sort();
        v
    }

    /// What a plain listing of `<root>/<rel>` lists.
    fn glob(&mut self, rel: &str) -> Vec<String> {
        let pattern = self.at(rel);
        self.c.glob(&pattern)
    }
}

#[test]
fn exact_file_is_listed_as_itself_with_all_fields() {
    let mut t = Listing::start();
    let resp = t.c.list(&t.at("flat/a.csv"), false, false);
    assert_ok(&resp.op_status);
    let files = resp.files.unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    assert_eq!(f.path, file_uri(&t.root().join("flat/a.csv")));
    assert!(!f.is_dir);
    assert_eq!(f.size, 3);
    assert!(f.is_splitable, "files are splitable");
}

#[test]
fn exact_directory_is_one_entry_for_the_directory_itself() {
    let mut t = Listing::start();
    let resp = t.c.list(&t.at("tree"), false, false);
    assert_ok(&resp.op_status);
    let files = resp.files.unwrap();
    assert_eq!(
        files.len(),
        1,
        "a directory is one entry, not its children: {files:?}"
    );
    assert_eq!(files[0].path, file_uri(&t.root().join("tree")));
    assert!(files[0].is_dir);
    assert!(!files[0].is_splitable, "a directory is not splitable");
    // Trailing slash: still the directory itself.
    let slash = format!("{}/", t.at("tree"));
    assert_eq!(t.c.glob(&slash), vec![file_uri(&t.root().join("tree"))]);
}

#[test]
fn glob_dir_star_lists_children_with_their_kinds() {
    let mut t = Listing::start();
    let resp = t.c.list(&t.at("tree/*"), false, false);
    assert_eq!(
        listed(&resp),
        t.expect(&["tree/p1", "tree/p2", "tree/p3", "tree/f.csv"])
    );
    for f in resp.files.unwrap() {
        let is_dir = !f.path.ends_with(".csv");
        assert_eq!(f.is_dir, is_dir, "{f:?}");
        assert_eq!(f.is_splitable, !is_dir, "{f:?}");
        if !is_dir {
            assert_eq!(f.size, "file, not a directory".len() as i64);
        }
    }
    assert_eq!(
        t.glob("flat/*"),
        t.expect(&[
            "flat/a.csv",
            "flat/b.csv",
            "flat/c.csv",
            "flat/d.csv",
            "flat/ab.csv",
            "flat/x.txt"
        ])
    );
    assert_eq!(
        t.glob("flat/*.csv"),
        t.expect(&[
            "flat/a.csv",
            "flat/b.csv",
            "flat/c.csv",
            "flat/d.csv",
            "flat/ab.csv"
        ])
    );
}

#[test]
fn glob_star_in_a_middle_component() {
    let mut t = Listing::start();
    assert_eq!(
        t.glob("tree/*/x.csv"),
        t.expect(&["tree/p1/x.csv", "tree/p2/x.csv"])
    );
    assert_eq!(
        t.glob("tree/p*/*.csv"),
        t.expect(&["tree/p1/x.csv", "tree/p2/x.csv", "tree/p3/z.csv"])
    );
}

#[test]
fn glob_braces_pick_alternatives() {
    let mut t = Listing::start();
    assert_eq!(
        t.glob("alt/{a,b}/*.csv"),
        t.expect(&["alt/a/x.csv", "alt/b/x.csv"])
    );
    assert_eq!(
        t.glob("flat/{a,d}.csv"),
        t.expect(&["flat/a.csv", "flat/d.csv"])
    );
    assert_eq!(
        t.glob("alt/{a,{b,c}}/x.csv"),
        t.expect(&["alt/a/x.csv", "alt/b/x.csv", "alt/c/x.csv"]),
        "nested groups"
    );
}

#[test]
fn glob_character_classes_and_question_mark() {
    let mut t = Listing::start();
    let cases: &[(&str, &[&str])] = &[
        ("[abc].csv", &["flat/a.csv", "flat/b.csv", "flat/c.csv"]),
        ("[a-c].csv", &["flat/a.csv", "flat/b.csv", "flat/c.csv"]),
        ("[^a].csv", &["flat/b.csv", "flat/c.csv", "flat/d.csv"]),
        ("[!a].csv", &["flat/b.csv", "flat/c.csv", "flat/d.csv"]),
        (
            "?.csv",
            &["flat/a.csv", "flat/b.csv", "flat/c.csv", "flat/d.csv"],
        ),
        ("??.csv", &["flat/ab.csv"]),
        ("[ab]?.csv", &["flat/ab.csv"]),
    ];
    let mut failures = Vec::new();
    for (pattern, want) in cases {
        let got = t.glob(&format!("flat/{pattern}"));
        if got != t.expect(want) {
            failures.push(format!("{pattern}: got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn glob_backslash_escapes_a_glob_character() {
    let mut t = Listing::start();
    // No wildcard left: the literal name.
    assert_eq!(t.glob(r"esc/a\*b.csv"), t.expect(&["esc/a*b.csv"]));
    assert_eq!(t.glob(r"esc/a\?b.csv"), t.expect(&["esc/a?b.csv"]));
    // An escaped star next to a real one: only names with a literal '*'.
    assert_eq!(t.glob(r"esc/a\**"), t.expect(&["esc/a*b.csv"]));
    // Unescaped, the same characters are wildcards.
    assert_eq!(
        t.glob("esc/a?b.csv"),
        t.expect(&["esc/a*b.csv", "esc/a?b.csv", "esc/axb.csv"])
    );
}

#[test]
fn glob_brace_alternatives_may_span_slashes() {
    let mut t = Listing::start();
    assert_eq!(
        t.glob("span/{a/b,c}/f.csv"),
        t.expect(&["span/a/b/f.csv", "span/c/f.csv"])
    );
}

#[test]
fn no_match_and_missing_paths_are_ok_with_an_empty_list() {
    let mut t = Listing::start();
    for path in [
        t.at("flat/*.parquet"),
        t.at("no_such_dir/*.csv"),
        t.at("flat/nope.csv"),
        t.at("no/such/dir"),
    ] {
        let resp = t.c.list(&path, false, false);
        assert_ok(&resp.op_status);
        assert_eq!(
            resp.files,
            Some(Vec::new()),
            "{path}: files must be set and empty"
        );
        let resp = t.c.list(&path, true, true);
        assert_ok(&resp.op_status);
        assert_eq!(resp.files, Some(Vec::new()), "{path} (recursive, names)");
    }
}

#[test]
fn recursive_lists_every_file_below() {
    let mut t = Listing::start();
    let want = t.expect(&["rec/top.csv", "rec/n1/mid.csv", "rec/n1/n2/leaf.csv"]);
    let resp = t.c.list(&t.at("rec"), true, false);
    assert_eq!(listed(&resp), want);
    for f in resp.files.unwrap() {
        assert!(!f.is_dir && f.is_splitable, "{f:?}");
        assert!(f.size > 0, "{f:?}");
    }
    // A file listed recursively is just itself; an empty directory gives nothing.
    assert_eq!(
        listed(&t.c.list(&t.at("rec/top.csv"), true, false)),
        t.expect(&["rec/top.csv"])
    );
    assert_eq!(
        listed(&t.c.list(&t.at("rec/empty"), true, false)),
        Vec::<String>::new()
    );
}

#[test]
fn glob_recursive_expands_matched_directories() {
    let mut t = Listing::start();
    assert_eq!(
        listed(&t.c.list(&t.at("rec/*"), true, false)),
        t.expect(&["rec/top.csv", "rec/n1/mid.csv", "rec/n1/n2/leaf.csv"])
    );
    assert_eq!(
        listed(&t.c.list(&t.at("tree/p[12]"), true, false)),
        t.expect(&["tree/p1/x.csv", "tree/p1/y.txt", "tree/p2/x.csv"])
    );
}

#[test]
fn file_name_only_gives_last_names() {
    let mut t = Listing::start();
    let resp = t.c.list(&t.at("rec"), true, true);
    assert_eq!(listed(&resp), vec!["leaf.csv", "mid.csv", "top.csv"]);
    let resp = t.c.list(&t.at("tree/p1"), false, true);
    assert_eq!(listed(&resp), vec!["p1"]);
}

#[test]
fn glob_file_name_only_gives_last_names() {
    let mut t = Listing::start();
    let resp = t.c.list(&t.at("tree/*"), false, true);
    assert_eq!(listed(&resp), vec!["f.csv", "p1", "p2", "p3"]);
}

/// BE asks for a file's size by listing its exact path with `fileNameOnly`.
#[test]
fn be_style_size_lookup_returns_exactly_one_entry() {
    let mut t = Listing::start();
    for form in [t.at("flat/d.csv"), file_uri(&t.root().join("flat/d.csv"))] {
        let resp = t.c.list(&form, false, true);
        assert_ok(&resp.op_status);
        let files = resp.files.unwrap();
        assert_eq!(files.len(), 1, "{form}: {files:?}");
        assert_eq!(files[0].path, "d.csv");
        assert_eq!(files[0].size, 4);
        assert!(!files[0].is_dir);
    }
}

/// FE copies listed paths into scan ranges and BE opens them verbatim.
#[test]
fn listed_paths_are_fully_qualified_and_reopen_verbatim() {
    let mut t = Listing::start();
    let resp = t.c.list(&t.at("rec"), true, false);
    let files = resp.files.unwrap();
    assert_eq!(files.len(), 3);
    for f in files {
        assert!(f.path.starts_with("file:/"), "{}", f.path);
        let local = f.path.strip_prefix("file:").unwrap();
        assert!(Path::new(local).is_absolute(), "{}", f.path);
        let content = t.c.read_file(&f.path, "be1:9060", 1 << 20);
        assert_eq!(content, std::fs::read(local).unwrap(), "{}", f.path);
    }
    // A listed directory reopens as a list root.
    let d = listed(&t.c.list(&t.at("tree/p1"), false, false));
    assert_eq!(t.c.glob(&d[0]), d);
}

#[test]
fn both_file_uri_forms_are_accepted() {
    let mut t = Listing::start();
    let want = t.expect(&["flat/a.csv"]);
    let short = file_uri(&t.root().join("flat/a.csv"));
    let long = t.at("flat/a.csv");
    assert!(short.starts_with("file:/") && !short.starts_with("file://"));
    assert!(long.starts_with("file:///"));
    assert_eq!(t.c.glob(&short), want);
    assert_eq!(t.c.glob(&long), want);
}

#[test]
fn glob_in_both_file_uri_forms() {
    let mut t = Listing::start();
    let want = t.expect(&["flat/a.csv"]);
    let short = file_uri(&t.root().join("flat/[a].csv"));
    assert_eq!(t.c.glob(&short), want);
    assert_eq!(t.glob("flat/[a].csv"), want);
}

/// Hadoop's `*` has no special case for a leading dot.
#[test]
fn glob_star_matches_hidden_names_like_hadoop() {
    let mut t = Listing::start();
    assert_eq!(
        t.glob("hidden/*"),
        t.expect(&["hidden/.h.csv", "hidden/v.csv"])
    );
}
