//! `broker_local_roots`: which local files a client may reach, enforced by the kernel.
//!
//! A `file:` path is first placed by its spelling: `.` and `..` are resolved textually (as
//! Hadoop's `Path` does) and the result must lie beneath a configured root, component by
//! component. Everything below the root is then opened relative to a handle of the root
//! with cap-std's `Dir`, which has the kernel refuse any resolution leaving it: `openat2`
//! with `RESOLVE_BENEATH` where the kernel has it, and on older kernels (CentOS 7's 3.10)
//! a resolution one component at a time through held directory handles (`O_NOFOLLOW`,
//! symlinks read and followed by hand), which a symlink swapped in mid-way cannot fool.
//! So a symlink inside a root that points out of it, an absolute symlink, or one swapped
//! in between a check and the open is refused (`NOT_AUTHORIZED`), never followed out.

use std::io;
use std::path::{Component, Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::storage::{Location, StorageError};

/// The conf key every refusal names.
pub const KEY: &str = "broker_local_roots";

/// The configured roots: absolute directories without `.` or `..` (config/values.rs
/// checks them before the broker starts).
#[derive(Debug, Clone, Default)]
pub struct LocalRoots {
    roots: Vec<PathBuf>,
}

impl LocalRoots {
    /// No roots: every `file:` path is refused, naming the key.
    pub fn none() -> Self {
        LocalRoots::default()
    }

    /// Roots as `BrokerConfig::local_roots` returns them. An entry that is not absolute
    /// or holds `..` is dropped (it could not be matched safely); the config refuses such
    /// entries before start-up, so this never drops one in the broker.
    pub fn new(roots: Vec<PathBuf>) -> Self {
        let roots = roots
            .into_iter()
            .filter(|root| root.is_absolute() && plain_components(root).is_some())
            .map(|root| root.components().collect())
            .collect();
        LocalRoots { roots }
    }

    /// Says at start which directories are served, and warns about a conf that serves
    /// none and about roots that are not (yet) directories: they are refused until they
    /// are (a NAS not mounted yet), and never created.
    pub fn log_at_start(&self) {
        if self.roots.is_empty() {
            tracing::warn!(
                "{KEY} is not set or empty: every file:// path is refused (NOT_AUTHORIZED); \
                 set it to the directories clients may read and write"
            );
            return;
        }
        let list: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
        tracing::info!(
            "{KEY}: file:// paths are served beneath {}",
            list.join(", ")
        );
        for root in &self.roots {
            match std::fs::metadata(root) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => tracing::warn!(
                    "{KEY}: {} is not a directory: paths beneath it fail until it is one",
                    root.display()
                ),
                Err(e) => tracing::warn!(
                    "{KEY}: {} cannot be used ({e}): paths beneath it fail until it exists; \
                     the broker does not create it",
                    root.display()
                ),
            }
        }
    }

    pub fn paths(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The root `loc` lies beneath, opened, and `loc`'s path relative to it. Refused
    /// (`NotAuthorized`, naming the path and the key) when it lies beneath none. Of
    /// nested roots the outermost is used, so symlinks between them stay allowed.
    pub fn confine(&self, loc: &Location) -> Result<Confined, StorageError> {
        let (root, rel) = self.locate(loc.path()).ok_or_else(|| {
            StorageError::NotAuthorized(if self.roots.is_empty() {
                format!(
                    "{loc}: no file:// path is served, as {KEY} is not set or empty (set it to \
                     the directories clients may use)"
                )
            } else {
                format!("{loc} is outside every directory of {KEY}")
            })
        })?;
        let dir =
            Dir::open_ambient_dir(root, ambient_authority()).map_err(
                |e| match StorageError::io(loc, e) {
                    StorageError::NotFound { .. } => StorageError::NotFound {
                        path: format!("{loc} ({KEY} directory {} does not exist)", root.display()),
                    },
                    StorageError::Io { path, message } => StorageError::Io {
                        path,
                        message: format!("{KEY} directory {}: {message}", root.display()),
                    },
                    other => other,
                },
            )?;
        Ok(Confined {
            root: dir,
            root_path: root.to_path_buf(),
            rel,
            loc: loc.clone(),
        })
    }

    /// The outermost root the textually resolved `path` lies beneath, and the rest of the
    /// path below it: `Normal` components only (no `.`, `..` or root), possibly none.
    pub fn locate(&self, path: &str) -> Option<(&Path, PathBuf)> {
        let resolved = resolve_dots(path);
        self.roots
            .iter()
            .filter_map(|root| {
                let inside = plain_components(root)?;
                let below = resolved.strip_prefix(inside.as_slice())?;
                Some((root.as_path(), below.iter().collect::<PathBuf>()))
            })
            .min_by_key(|(root, _)| root.components().count())
    }
}

/// A root's `Normal` components; `None` when it holds anything else past the leading `/`.
fn plain_components(root: &Path) -> Option<Vec<&str>> {
    root.components()
        .skip(1)
        .map(|c| match c {
            Component::Normal(name) => name.to_str(),
            _ => None,
        })
        .collect()
}

/// The components of an absolute path with `.` and `..` resolved textually (`/..` is `/`,
/// as the kernel has it).
fn resolve_dots(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    parts
}

/// A `file:` location placed beneath its root: a handle of the root and the relative path
/// every operation resolves from it.
pub struct Confined {
    root: Dir,
    root_path: PathBuf,
    /// `Normal` components only; empty for the root itself.
    rel: PathBuf,
    loc: Location,
}

impl Confined {
    /// The root's handle: resolve only [`Confined::rel`] (or paths below it) from it.
    pub fn dir(&self) -> &Dir {
        &self.root
    }

    /// The path below the root, `.` for the root itself (cap-std takes no empty path).
    pub fn rel(&self) -> &Path {
        if self.rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            &self.rel
        }
    }

    pub fn is_root(&self) -> bool {
        self.rel.as_os_str().is_empty()
    }

    pub fn location(&self) -> &Location {
        &self.loc
    }

    /// Maps an error of an operation on this location: a resolution that would have left
    /// the root is `NotAuthorized`, the rest as any local I/O error.
    pub fn error(&self, err: io::Error) -> StorageError {
        self.error_at(&self.loc, err)
    }

    /// [`Confined::error`] for a location below this one (a listed child).
    pub fn error_at(&self, loc: &Location, err: io::Error) -> StorageError {
        if is_escape(&err) {
            StorageError::NotAuthorized(format!(
                "{loc} leads outside its {KEY} directory {} (a symbolic link out of it, or \
                 an absolute one)",
                self.root_path.display()
            ))
        } else {
            StorageError::io(loc, err)
        }
    }

    /// Refuses an operation on the root directory itself (deleting or renaming it).
    pub fn refuse_root(&self, doing: &str) -> Result<(), StorageError> {
        if self.is_root() {
            return Err(StorageError::NotAuthorized(format!(
                "{} is a {KEY} directory itself: it cannot be {doing}",
                self.loc
            )));
        }
        Ok(())
    }

    /// Opens the file for reading, confined to the root.
    pub fn open_file(&self) -> Result<std::fs::File, StorageError> {
        self.root
            .open(self.rel())
            .map(cap_std::fs::File::into_std)
            .map_err(|e| self.error(e))
    }

    /// Opens the directory, confined to the root.
    pub fn open_dir(&self) -> Result<Dir, StorageError> {
        self.root.open_dir(self.rel()).map_err(|e| self.error(e))
    }
}

/// cap-std's refusal of a path leading out of its directory: PermissionDenied without an
/// OS error (a real EACCES carries errno 13). `openat2`'s EXDEV is turned into it too.
fn is_escape(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied && err.raw_os_error().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(paths: &[&str]) -> LocalRoots {
        LocalRoots::new(paths.iter().map(PathBuf::from).collect())
    }

    #[test]
    fn a_path_is_placed_by_its_resolved_spelling() {
        let r = roots(&["/data/exports", "/mnt/nas"]);
        let at = |p: &str| {
            r.locate(p)
                .map(|(root, rel)| (root.to_str().unwrap().to_string(), rel))
        };
        for (path, root, rel) in [
            ("/data/exports/a/b.csv", "/data/exports", "a/b.csv"),
            ("//data/./exports//a/../b.csv", "/data/exports", "b.csv"),
            ("/data/exports", "/data/exports", ""),
            ("/mnt/x/../nas/f", "/mnt/nas", "f"),
            ("/../data/exports/f", "/data/exports", "f"),
        ] {
            assert_eq!(at(path), Some((root.into(), PathBuf::from(rel))), "{path}");
        }
        for outside in [
            "/data/exports/../secret",
            "/data/exports/a/../../secret",
            "/data/exportsx/f",
            "/data/export",
            "/data",
            "/",
            "/etc/passwd",
            "/data/exports%2F..%2Fsecret",
            "/data/%65xports/f",
        ] {
            assert_eq!(at(outside), None, "{outside}");
        }
    }

    #[test]
    fn nested_roots_use_the_outermost_and_bad_roots_never_match() {
        let r = roots(&["/data/a/b", "/data", "relative", "/x/../y"]);
        assert_eq!(
            r.paths(),
            [PathBuf::from("/data/a/b"), PathBuf::from("/data")]
        );
        let (root, rel) = r.locate("/data/a/b/c").unwrap();
        assert_eq!(
            (root, rel.as_path()),
            (Path::new("/data"), Path::new("a/b/c"))
        );
        assert!(r.locate("/y/f").is_none() && r.locate("/x/f").is_none());
        // `/` as a root serves everything, as the Java broker did.
        let all = roots(&["/"]);
        assert_eq!(
            all.locate("/etc/passwd").unwrap().1,
            PathBuf::from("etc/passwd")
        );
        assert!(roots(&[]).locate("/tmp/x").is_none());
    }

    #[test]
    fn refusals_name_the_path_and_the_key() {
        let loc = Location::parse("file:/etc/passwd").unwrap();
        for (r, words) in [
            (roots(&[]), "not set or empty"),
            (roots(&["/data"]), "outside every directory"),
        ] {
            let Err(e) = r.confine(&loc) else {
                panic!("served {loc}")
            };
            let msg = e.to_string();
            assert!(matches!(e, StorageError::NotAuthorized(_)), "{msg}");
            for word in ["file:/etc/passwd", KEY, words] {
                assert!(msg.contains(word), "{msg}");
            }
        }
    }
}
