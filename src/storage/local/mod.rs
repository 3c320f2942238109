//! `file:` URIs: the broker host's own filesystem, beneath the `broker_local_roots`
//! directories only.
//!
//! Every operation places its path beneath a root and resolves it from a handle of that
//! root, confined by the kernel (root.rs); a path leading out of every root is refused
//! `NOT_AUTHORIZED`. Blocking filesystem calls run on tokio's blocking pool so a slow disk
//! never stalls the connection tasks. Writers fill a hidden temporary file renamed over
//! the target on commit (writer.rs).

mod reader;
mod root;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use cap_std::fs::{Metadata, MetadataExt};

use super::temp_name::{is_unfinished_write, temp_name};
use super::{FileStatus, Location, ReadStream, Result, Storage, StorageError, WriteStream};
use reader::LocalReader;
pub use root::{Confined, LocalRoots, KEY as ROOTS_KEY};
use writer::LocalTempFile;

pub struct LocalStorage {
    roots: Arc<LocalRoots>,
}

impl LocalStorage {
    pub fn new(roots: LocalRoots) -> Self {
        LocalStorage {
            roots: Arc::new(roots),
        }
    }

    /// Runs `f` on the blocking pool with `loc` placed beneath its root.
    async fn confined<T: Send + 'static>(
        &self,
        loc: &Location,
        f: impl FnOnce(Confined) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let roots = self.roots.clone();
        let loc = loc.clone();
        blocking(move || f(roots.confine(&loc)?)).await
    }
}

/// Runs blocking filesystem work off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Io {
            path: String::new(),
            message: format!("local I/O task failed: {e}"),
        })?
}

fn status_of(loc: Location, meta: &Metadata) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: meta.is_dir(),
        size: if meta.is_dir() { 0 } else { meta.len() },
        modification_time: meta.mtime() * 1000 + meta.mtime_nsec() / 1_000_000,
        block_size: meta.blksize() as i64,
    }
}

/// What a path names, following symlinks (as Hadoop's RawLocalFileSystem does) but never
/// out of its root: `None` when nothing is there.
fn stat_confined(c: &Confined) -> Result<Option<Metadata>> {
    match c.dir().metadata(c.rel()).map_err(|e| c.error(e)) {
        Ok(meta) => Ok(Some(meta)),
        Err(StorageError::NotFound { .. }) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Refuses a path that is a symlink leading out of its root, for the calls that act on the
/// link itself (delete, rename): every method refuses such a path alike.
fn refuse_escaping_link(c: &Confined) -> Result<()> {
    stat_confined(c).map(drop)
}

#[async_trait]
impl Storage for LocalStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        let found = self.confined(loc, |c| {
            Ok(stat_confined(&c)?.map(|meta| status_of(c.location().clone(), &meta)))
        });
        match found.await {
            // Beneath a root that does not exist (yet): nothing is there.
            Err(StorageError::NotFound { .. }) => Ok(None),
            other => other,
        }
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        self.confined(loc, |c| {
            let loc = c.location();
            let meta = c.dir().metadata(c.rel()).map_err(|e| c.error(e))?;
            if !meta.is_dir() {
                return Ok(vec![status_of(loc.clone(), &meta)]);
            }
            let dir = c.open_dir()?;
            let mut out = Vec::new();
            for entry in dir.entries().map_err(|e| c.error(e))? {
                let entry = entry.map_err(|e| c.error(e))?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue; // not valid UTF-8: no client could name it anyway
                };
                if is_unfinished_write(&name) {
                    continue; // a load must never pick up a file still being written
                }
                let child = loc.join(&name);
                // A symlink is followed from the root (it may lead to another directory
                // of it); one that dangles or leads out of the root is left out, so no
                // listing or glob ever names a path that would leave it.
                let meta = match entry.file_type() {
                    Ok(kind) if !kind.is_symlink() => entry.metadata(),
                    _ => c.dir().metadata(c.rel().join(&name)),
                };
                match meta.map_err(|e| c.error_at(&child, e)) {
                    Ok(meta) => out.push(status_of(child, &meta)),
                    Err(StorageError::NotFound { .. } | StorageError::NotAuthorized(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            out.sort_by(|a, b| a.name().cmp(b.name()));
            Ok(out)
        })
        .await
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        self.confined(loc, |c| {
            let loc = c.location().clone();
            let file = c.open_file()?;
            let meta = file.metadata().map_err(|e| StorageError::io(&loc, e))?;
            if meta.is_dir() {
                return Err(StorageError::NotFound {
                    path: format!("{loc} (is a directory)"),
                });
            }
            Ok(Box::new(LocalReader::new(file, meta.len(), loc)) as Box<dyn ReadStream>)
        })
        .await
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        self.confined(loc, |c| {
            let loc = c.location().clone();
            let is_dir = |loc: &Location| StorageError::Io {
                path: loc.to_string(),
                message: "is a directory".into(),
            };
            if c.is_root() {
                return Err(is_dir(&loc));
            }
            let rel = c.rel();
            let parent_rel = rel.parent().filter(|p| !p.as_os_str().is_empty());
            let parent_rel = parent_rel.unwrap_or(Path::new("."));
            let made = c.dir().create_dir_all(parent_rel);
            // Opened whether or not that worked (another writer may have made it): a
            // parent leading out of the root is refused as such, not as "file exists".
            let parent = match (c.dir().open_dir(parent_rel), made) {
                (Ok(parent), _) => parent,
                (Err(e), made) => {
                    return Err(match (c.error(e), made) {
                        (refused @ StorageError::NotAuthorized(_), _) => refused,
                        (_, Err(e)) => c.error(e),
                        (other, Ok(())) => other,
                    })
                }
            };
            if stat_confined(&c)?.is_some_and(|meta| meta.is_dir()) {
                return Err(is_dir(&loc));
            }
            // `rel` holds Normal components only, so it has a last one.
            let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let temp = temp_name(name);
            let file = parent
                .open_with(
                    &temp,
                    cap_std::fs::OpenOptions::new().write(true).create_new(true),
                )
                .map_err(|e| c.error(e))?
                .into_std();
            Ok(Box::new(LocalTempFile::writer(
                file,
                parent,
                temp,
                name.to_string(),
                loc,
            )) as Box<dyn WriteStream>)
        })
        .await
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        let deleted = self.confined(loc, |c| {
            c.refuse_root("deleted")?;
            let result = match c.dir().symlink_metadata(c.rel()) {
                Ok(meta) if meta.is_dir() => c.dir().remove_dir_all(c.rel()),
                Ok(meta) => {
                    if meta.is_symlink() {
                        refuse_escaping_link(&c)?;
                    }
                    c.dir().remove_file(c.rel())
                }
                Err(e) => Err(e),
            };
            result.map_err(|e| c.error(e))
        });
        match deleted.await {
            // A missing path (or root) is fine: there is nothing to delete.
            Ok(()) | Err(StorageError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        let roots = self.roots.clone();
        let (src, dst) = (src.clone(), dst.clone());
        blocking(move || {
            let (from, to) = (roots.confine(&src)?, roots.confine(&dst)?);
            from.refuse_root("renamed")?;
            to.refuse_root("replaced")?;
            match from.dir().symlink_metadata(from.rel()) {
                Ok(meta) if meta.is_symlink() => refuse_escaping_link(&from)?,
                Ok(_) => {}
                Err(e) => {
                    return Err(match from.error(e) {
                        StorageError::NotFound { .. } => StorageError::NotFound {
                            path: src.to_string(),
                        },
                        other => other,
                    })
                }
            }
            if let Err(refused @ StorageError::NotAuthorized(_)) = stat_confined(&to) {
                return Err(refused);
            }
            match to.dir().symlink_metadata(to.rel()).map_err(|e| to.error(e)) {
                Ok(_) => {
                    return Err(StorageError::AlreadyExists {
                        path: dst.to_string(),
                    })
                }
                Err(refused @ StorageError::NotAuthorized(_)) => return Err(refused),
                Err(_) => {}
            }
            let parent = to.rel().parent().filter(|p| !p.as_os_str().is_empty());
            let parent_is_dir = match to.dir().metadata(parent.unwrap_or(Path::new("."))) {
                Ok(meta) => meta.is_dir(),
                Err(e) => match to.error(e) {
                    refused @ StorageError::NotAuthorized(_) => return Err(refused),
                    _ => false,
                },
            };
            if !parent_is_dir {
                return Err(StorageError::Io {
                    path: dst.to_string(),
                    message: "parent directory does not exist".into(),
                });
            }
            from.dir()
                .rename(from.rel(), to.dir(), to.rel())
                .map_err(|e| {
                    let message = e.to_string();
                    match from.error(e) {
                        refused @ StorageError::NotAuthorized(_) => refused,
                        _ => StorageError::Io {
                            path: format!("{src} -> {dst}"),
                            message,
                        },
                    }
                })
        })
        .await
    }
}
