//! Hadoop's `Globber`: the walk of flattened patterns over a [`Storage`], component by
//! component from the root; results sorted in Hadoop's order (`order.rs`).

use std::collections::HashSet;

use super::expand::expand_path;
use super::invalid;
use super::order::java_uri_path_key;
use super::pattern::GlobPattern;
use crate::storage::{FileStatus, Location, Result, Storage, StorageError};

/// Hadoop globStatus: every existing path matching `pattern` (its path part may hold globs;
/// scheme and authority are literal). No match → Ok(empty). Errors from storage pass through,
/// except NotFound while walking (→ that branch just has no matches). A bad pattern →
/// StorageError::InvalidArgument naming the pattern and the problem.
///
/// Results come sorted the way Hadoop sorts them (by the path as `java.net.URI` compares
/// it) and de-duplicated.
pub async fn glob_status(fs: &dyn Storage, pattern: &Location) -> Result<Vec<FileStatus>> {
    let bad = |problem: String| invalid(&pattern.to_string(), problem);
    // Hadoop's `Path` resolves `.` and `..` before expanding, and again after.
    let path = format!("/{}", segments(pattern.path()).join("/"));
    let flattened = expand_path(&path).map_err(bad)?;
    // Compile everything before any I/O so a bad pattern fails fast and alone.
    let mut walks = Vec::with_capacity(flattened.len());
    let mut seen = HashSet::new();
    for flat in &flattened {
        if seen.insert(flat.as_str()) {
            walks.push(components(flat).map_err(bad)?);
        }
    }
    let root = pattern.with_path("/");
    let mut found = Vec::new();
    for walk in &walks {
        walk_one(fs, &root, walk, &mut found).await?;
    }
    found.sort_by_cached_key(|s| {
        (
            java_uri_path_key(s.location.path()),
            s.location.clone(),
            s.is_dir,
        )
    });
    // A file and a directory may share a path on object stores (key `a`, keys `a/...`):
    // both are results.
    found.dedup_by(|a, b| a.location == b.location && a.is_dir == b.is_dir);
    Ok(found)
}

/// One path component of a flattened pattern.
struct Component {
    /// The name to look up directly when the component has no wildcard.
    literal: Option<String>,
    pattern: GlobPattern,
}

/// The non-empty segments of an absolute path with `.` and `..` resolved textually, as
/// `java.net.URI.normalize` does for Hadoop's `Path` (a `..` at the root stays).
fn segments(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        match part {
            "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts
}

/// Splits a flattened pattern into compiled components.
fn components(flat: &str) -> Result<Vec<Component>, String> {
    segments(flat)
        .into_iter()
        .map(|part| {
            // Hadoop compiles every component, literal ones too, so errors show either way.
            let pattern = GlobPattern::compile_component(part)?;
            let literal = (!pattern.has_wildcard()).then(|| unescape(part));
            Ok(Component { literal, pattern })
        })
        .collect()
}

/// `\x` → `x` for a component looked up literally. Like Hadoop's `replaceAll("\\\\(.)")`,
/// a backslash before a line break stays.
fn unescape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next != '\n' && next != '\r' {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// A path reached so far; `status` is `None` until something has confirmed it exists.
struct Candidate {
    loc: Location,
    status: Option<FileStatus>,
}

/// Walks one flattened pattern from the root, appending what exists to `found`.
async fn walk_one(
    fs: &dyn Storage,
    root: &Location,
    components: &[Component],
    found: &mut Vec<FileStatus>,
) -> Result<()> {
    let mut candidates = vec![Candidate {
        loc: root.clone(),
        status: None,
    }];
    for (index, component) in components.iter().enumerate() {
        if candidates.is_empty() {
            break;
        }
        let last = index + 1 == components.len();
        let mut next = Vec::new();
        match &component.literal {
            // A literal in the middle is assumed to exist: a later listing or the final
            // stat finds out, which saves a round trip per level (Hadoop does the same).
            Some(name) if !last => {
                for candidate in &mut candidates {
                    candidate.loc = candidate.loc.join(name);
                    candidate.status = None;
                }
                continue;
            }
            Some(name) => {
                for candidate in &candidates {
                    let loc = candidate.loc.join(name);
                    if let Some(status) = stat_if_exists(fs, &loc).await? {
                        next.push(Candidate {
                            loc,
                            status: Some(status),
                        });
                    }
                }
            }
            None => {
                for candidate in &candidates {
                    let children = list_if_exists(fs, &candidate.loc).await?;
                    // Listing a file yields the file itself: it has no children to match.
                    if let [only] = children.as_slice() {
                        if !only.is_dir && only.location.path() == candidate.loc.path() {
                            continue;
                        }
                    }
                    for child in children {
                        // Only directories can hold the components still to come.
                        if (!last && !child.is_dir) || !component.pattern.matches(child.name()) {
                            continue;
                        }
                        next.push(Candidate {
                            loc: candidate.loc.join(child.name()),
                            status: Some(child),
                        });
                    }
                }
            }
        }
        candidates = next;
    }
    for candidate in candidates {
        // Only the root (a pattern with no components) gets here unconfirmed.
        let status = match candidate.status {
            Some(status) => Some(status),
            None => stat_if_exists(fs, &candidate.loc).await?,
        };
        found.extend(status);
    }
    Ok(())
}

async fn stat_if_exists(fs: &dyn Storage, loc: &Location) -> Result<Option<FileStatus>> {
    match fs.stat(loc).await {
        Err(StorageError::NotFound { .. }) => Ok(None),
        other => other,
    }
}

async fn list_if_exists(fs: &dyn Storage, loc: &Location) -> Result<Vec<FileStatus>> {
    match fs.list_dir(loc).await {
        Err(StorageError::NotFound { .. }) => Ok(Vec::new()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ReadStream, WriteStream};
    use async_trait::async_trait;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// A tiny in-memory store: paths mapped to "is a directory".
    struct Fake {
        entries: BTreeMap<String, bool>,
        failing: Option<String>,
        lists: AtomicUsize,
        stats: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(files: &[&str]) -> Fake {
            let mut entries = BTreeMap::from([("/".to_string(), true)]);
            for file in files {
                let mut dir = String::new();
                let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
                for (i, part) in parts.iter().enumerate() {
                    dir.push('/');
                    dir.push_str(part);
                    let is_dir = i + 1 < parts.len() || file.ends_with('/');
                    entries.insert(dir.clone(), is_dir);
                }
            }
            Fake {
                entries,
                failing: None,
                lists: AtomicUsize::new(0),
                stats: Mutex::new(Vec::new()),
            }
        }

        fn status(&self, path: &str) -> Option<FileStatus> {
            self.entries.get(path).map(|&is_dir| FileStatus {
                location: Location::parse(&format!("mem://bucket{path}")).unwrap(),
                is_dir,
                size: if is_dir { 0 } else { 7 },
                modification_time: 0,
                block_size: 0,
            })
        }
    }

    #[async_trait]
    impl Storage for Fake {
        async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
            self.stats.lock().unwrap().push(loc.path().to_string());
            Ok(self.status(loc.path()))
        }

        async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            let path = loc.path();
            if self.failing.as_deref() == Some(path) {
                return Err(StorageError::Io {
                    path: path.to_string(),
                    message: "Permission denied".to_string(),
                });
            }
            match self.entries.get(path) {
                None => Err(StorageError::NotFound {
                    path: path.to_string(),
                }),
                Some(false) => Ok(self.status(path).into_iter().collect()),
                Some(true) => {
                    let prefix = if path == "/" {
                        "/".to_string()
                    } else {
                        format!("{path}/")
                    };
                    Ok(self
                        .entries
                        .keys()
                        .filter(|k| k.len() > prefix.len() && k.starts_with(&prefix))
                        .filter(|k| !k[prefix.len()..].contains('/'))
                        .filter_map(|k| self.status(k))
                        .collect())
                }
            }
        }

        async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
            Err(StorageError::Unsupported(loc.to_string()))
        }

        async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
            Err(StorageError::Unsupported(loc.to_string()))
        }

        async fn delete(&self, loc: &Location) -> Result<()> {
            Err(StorageError::Unsupported(loc.to_string()))
        }

        async fn rename(&self, src: &Location, _dst: &Location) -> Result<()> {
            Err(StorageError::Unsupported(src.to_string()))
        }
    }

    fn tree() -> Fake {
        Fake::new(&[
            "/data/a/x.csv",
            "/data/a/y.txt",
            "/data/a-b/z.csv",
            "/data/b/x.csv",
            "/data/b/sub/x.csv",
            "/data/.hidden/x.csv",
            "/data/empty/",
            "/data/top.csv",
            "/data/dt=2024-01/p.csv",
            "/data/dt=2024-02/p.csv",
            "/data/dt=2024-04/p.csv",
            "/data/we[ird]/{x}.csv",
        ])
    }

    async fn glob(fs: &Fake, pattern: &str) -> Vec<String> {
        let loc = Location::parse(&format!("mem://bucket{pattern}")).unwrap();
        glob_status(fs, &loc)
            .await
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .into_iter()
            .map(|s| s.location.path().to_string())
            .collect()
    }

    #[tokio::test]
    async fn literal_paths_are_looked_up_not_listed() {
        let fs = tree();
        assert_eq!(glob(&fs, "/data/a/x.csv").await, ["/data/a/x.csv"]);
        assert_eq!(glob(&fs, "/data/a").await, ["/data/a"]);
        assert_eq!(glob(&fs, "/data/empty").await, ["/data/empty"]);
        assert_eq!(glob(&fs, "/").await, ["/"]);
        assert_eq!(fs.lists.load(Ordering::SeqCst), 0);
        assert_eq!(
            *fs.stats.lock().unwrap(),
            ["/data/a/x.csv", "/data/a", "/data/empty", "/"]
        );
        assert!(glob(&fs, "/data/nope.csv").await.is_empty());
        assert!(glob(&fs, "/nope/a/x.csv").await.is_empty());
        assert_eq!(glob(&fs, "/data/./a/../b/x.csv").await, ["/data/b/x.csv"]);
        assert_eq!(glob(&fs, "/data/{a,b}/../top.csv").await, ["/data/top.csv"]);
        assert_eq!(glob(&fs, "/data/{a/..,b}/x.csv").await, ["/data/b/x.csv"]);
        assert_eq!(
            glob(&fs, "/data/we\\[ird\\]/\\{x\\}.csv").await,
            ["/data/we[ird]/{x}.csv"]
        );
    }

    #[tokio::test]
    async fn globs_list_and_filter() {
        let fs = tree();
        assert_eq!(
            glob(&fs, "/data/*").await,
            [
                "/data/.hidden",
                "/data/a",
                "/data/a-b",
                "/data/b",
                "/data/dt=2024-01",
                "/data/dt=2024-02",
                "/data/dt=2024-04",
                "/data/empty",
                "/data/top.csv",
                "/data/we[ird]",
            ]
        );
        assert_eq!(
            glob(&fs, "/data/*/x.csv").await,
            ["/data/.hidden/x.csv", "/data/a/x.csv", "/data/b/x.csv"]
        );
        assert_eq!(
            glob(&fs, "/data/{a,b}/*.csv").await,
            ["/data/a/x.csv", "/data/b/x.csv"]
        );
        assert_eq!(
            glob(&fs, "/data/dt=2024-0[1-3]").await,
            ["/data/dt=2024-01", "/data/dt=2024-02"]
        );
        assert_eq!(
            glob(&fs, "/data/dt=2024-0[!1-3]/*").await,
            ["/data/dt=2024-04/p.csv"]
        );
        assert_eq!(glob(&fs, "/d?ta/b/s*/x.csv").await, ["/data/b/sub/x.csv"]);
        assert_eq!(glob(&fs, "/*.csv").await, Vec::<String>::new());
        assert_eq!(
            glob(&fs, "/data/a/*.{csv,txt}").await,
            ["/data/a/x.csv", "/data/a/y.txt"]
        );
        assert_eq!(glob(&fs, "/data/we\\[*/*").await, ["/data/we[ird]/{x}.csv"]);
    }

    #[tokio::test]
    async fn braces_spanning_slashes_and_order() {
        let fs = tree();
        assert_eq!(
            glob(&fs, "/data/{b/sub,a}/x.csv").await,
            ["/data/a/x.csv", "/data/b/sub/x.csv"]
        );
        assert_eq!(
            glob(&fs, "/data/{a/x.csv,top.csv,a/x.csv,missing/x}").await,
            ["/data/a/x.csv", "/data/top.csv"]
        );
        // Hadoop sorts by full path: `a-b/...` comes before `a/...`.
        assert_eq!(
            glob(&fs, "/data/{a,a-b}/*.csv").await,
            ["/data/a-b/z.csv", "/data/a/x.csv"]
        );
    }

    #[tokio::test]
    async fn missing_branches_are_empty() {
        let fs = tree();
        assert!(glob(&fs, "/nope/*").await.is_empty());
        assert!(glob(&fs, "/nope/x/*/y").await.is_empty());
        assert!(glob(&fs, "/data/*/nope/*").await.is_empty());
        assert!(glob(&fs, "/data/zz*").await.is_empty());
        assert!(glob(&fs, "/data/empty/*").await.is_empty());
        // A file is no directory, even when its listing names itself and matches.
        assert!(glob(&fs, "/data/top.csv/*").await.is_empty());
        assert!(glob(&fs, "/data/top*/*").await.is_empty());
    }

    #[tokio::test]
    async fn storage_errors_pass_through() {
        let mut fs = tree();
        fs.failing = Some("/data/b".to_string());
        let loc = Location::parse("mem://bucket/data/*/*.csv").unwrap();
        assert!(matches!(
            glob_status(&fs, &loc).await,
            Err(StorageError::Io { .. })
        ));
    }

    #[tokio::test]
    async fn bad_patterns_fail_before_any_io() {
        let fs = tree();
        for pattern in [
            "/data/[a/*",
            "/data/*/{a",
            "/nope/*/x/[",
            "/x/\\q",
            "/a/{b/c,[}",
        ] {
            let loc = Location::parse(&format!("mem://bucket{pattern}")).unwrap();
            match glob_status(&fs, &loc).await {
                Err(StorageError::InvalidArgument(msg)) => {
                    assert!(msg.contains(&format!("mem://bucket{pattern}")), "{msg}")
                }
                other => panic!("{pattern}: {other:?}"),
            }
        }
        assert_eq!(fs.lists.load(Ordering::SeqCst), 0);
        assert!(fs.stats.lock().unwrap().is_empty());
    }
}
