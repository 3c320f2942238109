//! Listings of a flat key space as directories. opendal pages through every
//! continuation token, so each listing here is whole however many keys it covers.
//!
//! * One level (`list_dir`) is a delimiter listing: keys are files, common prefixes
//!   directories, the directory's own marker `a/` no child.
//! * All levels (`list_recursive`) is one listing without a delimiter: every key under
//!   the prefix at once instead of one listing per directory, with the answer the
//!   level-by-level walk gives (files only, depth first in name order).
//! * A prefix with nothing under it is no directory: the path is then a file (HEAD) or
//!   missing.

use futures::StreamExt;

use super::storage::{dir_status, file_status, prefix_of, ObjectStorage};
use crate::storage::temp_name::is_unfinished_write;
use crate::storage::{FileStatus, Location, Result};

impl ObjectStorage {
    /// Whether a listing leaves out `name`: a writer's temporary file, on a store where
    /// writers fill one (`writer.rs`).
    fn hides(&self, name: &str) -> bool {
        self.hierarchical && is_unfinished_write(name)
    }

    /// Whether any key starts with `prefix` (`a/`), a marker `a/` included. Asked without
    /// a delimiter: stores on a real filesystem (SeaweedFS) keep an emptied directory as a
    /// common prefix for a while, but never as a key.
    pub(super) async fn has_children(&self, prefix: &str) -> opendal::Result<bool> {
        let mut lister = self.op.lister_with(prefix).recursive(true).limit(1).await?;
        match lister.next().await {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }

    /// Every key under `prefix`, markers included, in key order.
    pub(super) async fn keys_under(&self, prefix: &str) -> opendal::Result<Vec<String>> {
        let mut lister = self.op.lister_with(prefix).recursive(true).await?;
        let mut keys = Vec::new();
        while let Some(entry) = lister.next().await {
            keys.push(entry?.path().to_string());
        }
        keys.sort();
        Ok(keys)
    }

    /// Direct children of the directory `loc`, sorted by name (a file before a directory
    /// of the same name); a file lists as itself.
    pub(super) async fn list_level(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let prefix = prefix_of(loc);
        let strip = if loc.is_root() { "" } else { prefix.as_str() };
        let mut lister = self
            .op
            .lister(&prefix)
            .await
            .map_err(|e| self.error(loc, e))?;
        let mut out = Vec::new();
        let mut marker = false;
        while let Some(entry) = lister.next().await {
            let entry = entry.map_err(|e| self.error(loc, e))?;
            let Some(rest) = entry.path().strip_prefix(strip) else {
                continue;
            };
            let (name, is_dir) = match rest.strip_suffix('/') {
                Some(name) => (name, true),
                None => (rest, false),
            };
            if name.is_empty() {
                // The directory's own marker object `a/`.
                marker = true;
                continue;
            }
            if name.contains('/') || self.hides(name) {
                continue;
            }
            let child = loc.join(name);
            out.push(if is_dir {
                dir_status(child)
            } else {
                file_status(child, entry.metadata())
            });
        }
        if out.is_empty() && !marker && !loc.is_root() {
            // Not a directory: a file lists as itself, anything else is missing.
            return self.file_or_missing(loc).await;
        }
        out.sort_by(|a, b| (a.name(), a.is_dir).cmp(&(b.name(), b.is_dir)));
        Ok(out)
    }

    /// Every file below the directory `loc`, all depths, from one listing without a
    /// delimiter; a file lists as itself. The order is the level-by-level walk's: by
    /// path components (`a/x` before `a.txt`, a file `a` before the files under `a/`).
    /// Markers are directories, so no entries; a key with an empty component (`a//b`)
    /// is skipped, as no level of the walk would name it.
    pub(super) async fn list_flat(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let prefix = prefix_of(loc);
        let strip = if loc.is_root() { "" } else { prefix.as_str() };
        let mut lister = self
            .op
            .lister_with(&prefix)
            .recursive(true)
            .await
            .map_err(|e| self.error(loc, e))?;
        let mut files: Vec<(Vec<String>, FileStatus)> = Vec::new();
        let mut anything = false;
        while let Some(entry) = lister.next().await {
            let entry = entry.map_err(|e| self.error(loc, e))?;
            let Some(rest) = entry.path().strip_prefix(strip) else {
                continue;
            };
            anything = true;
            if rest.is_empty() || rest.ends_with('/') {
                // A marker: `loc`'s own, or a directory below it.
                continue;
            }
            let parts: Vec<String> = rest.split('/').map(str::to_string).collect();
            if parts.iter().any(String::is_empty) || parts.last().is_some_and(|n| self.hides(n)) {
                continue;
            }
            files.push((parts, file_status(loc.join(rest), entry.metadata())));
        }
        if !anything && !loc.is_root() {
            return self.file_or_missing(loc).await;
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files.into_iter().map(|(_, status)| status).collect())
    }
}
