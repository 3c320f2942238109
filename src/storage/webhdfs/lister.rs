//! Statuses and listings: `GETFILESTATUS`, and `LISTSTATUS_BATCH` paged with `startafter`
//! (lower case: the namenode ignores the documented `startAfter`) until `remainingEntries`
//! is 0 (the namenode answers `dfs.ls.limit` entries a page), or
//! one `LISTSTATUS` where a gateway does not know the batched call.

use reqwest::Method;
use serde_json::Value;

use super::core::Core;
use super::error::{to_storage_error, WebHdfsError};
use crate::storage::temp_name::is_unfinished_write;
use crate::storage::{FileStatus, Location, Result, StorageError};

/// The status of exactly `loc`; `None` when nothing is there.
pub(super) async fn stat(core: &Core, loc: &Location) -> Result<Option<FileStatus>> {
    match core
        .json(Method::GET, loc.path(), "GETFILESTATUS", &[])
        .await
    {
        Ok(v) => {
            let status = v.get("FileStatus").ok_or_else(|| not_a_status(loc))?;
            entry(loc, status)
                .map(Some)
                .ok_or_else(|| not_a_status(loc))
        }
        Err(e) => match to_storage_error(loc, e) {
            StorageError::NotFound { .. } => Ok(None),
            other => Err(other),
        },
    }
}

fn not_a_status(loc: &Location) -> StorageError {
    to_storage_error(
        loc,
        WebHdfsError::Protocol("GETFILESTATUS without a FileStatus".into()),
    )
}

/// One `FileStatus` object as an entry below `dir` (`pathSuffix` empty: `dir` itself).
fn entry(dir: &Location, s: &Value) -> Option<FileStatus> {
    let number = |key: &str| s.get(key).and_then(Value::as_i64).unwrap_or(0);
    let is_dir = s.get("type")?.as_str()? == "DIRECTORY";
    let suffix = s.get("pathSuffix").and_then(Value::as_str).unwrap_or("");
    Some(FileStatus {
        location: if suffix.is_empty() {
            dir.clone()
        } else {
            dir.join(suffix)
        },
        is_dir,
        size: if is_dir {
            0
        } else {
            number("length").max(0) as u64
        },
        modification_time: number("modificationTime"),
        block_size: number("blockSize"),
    })
}

/// The children of `dir`, sorted by name, writers' temporary files left out; a file is
/// listed as itself.
pub(super) async fn list_dir(core: &Core, dir: &Location) -> Result<Vec<FileStatus>> {
    let fail = |e| to_storage_error(dir, e);
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let params: Vec<(&str, &str)> = if after.is_empty() {
            Vec::new()
        } else {
            vec![("startafter", after.as_str())]
        };
        let page = match core
            .json(Method::GET, dir.path(), "LISTSTATUS_BATCH", &params)
            .await
        {
            Ok(page) => page,
            Err(e) if after.is_empty() && is_unknown_op(&e) => {
                let all = core
                    .json(Method::GET, dir.path(), "LISTSTATUS", &[])
                    .await
                    .map_err(fail)?;
                let list = all.pointer("/FileStatuses/FileStatus");
                collect(dir, list, &mut out)?;
                break;
            }
            Err(e) => return Err(fail(e)),
        };
        let listing = page.get("DirectoryListing");
        let list = listing.and_then(|l| l.pointer("/partialListing/FileStatuses/FileStatus"));
        let last = collect(dir, list, &mut out)?;
        let remaining = listing
            .and_then(|l| l.get("remainingEntries"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        match last {
            // A server that ignored where to start would answer the same page forever.
            Some(name) if remaining > 0 && name == after => {
                return Err(fail(WebHdfsError::Protocol(format!(
                    "LISTSTATUS_BATCH after '{after}' answered the same page again"
                ))))
            }
            Some(name) if remaining > 0 => after = name,
            _ => break,
        }
    }
    out.retain(|s| !is_unfinished_write(s.name()));
    out.sort_by(|a, b| a.name().cmp(b.name()));
    Ok(out)
}

/// Adds a page's entries to `out`; the name of its last entry, where the next page starts.
fn collect(
    dir: &Location,
    list: Option<&Value>,
    out: &mut Vec<FileStatus>,
) -> Result<Option<String>> {
    let list = list.and_then(Value::as_array).ok_or_else(|| {
        to_storage_error(
            dir,
            WebHdfsError::Protocol("a listing without FileStatuses".into()),
        )
    })?;
    let mut last = None;
    for s in list {
        let e = entry(dir, s).ok_or_else(|| {
            to_storage_error(
                dir,
                WebHdfsError::Protocol("a listing entry without a type".into()),
            )
        })?;
        last = s
            .get("pathSuffix")
            .and_then(Value::as_str)
            .map(str::to_string);
        out.push(e);
    }
    Ok(last)
}

/// A server that does not know `LISTSTATUS_BATCH` (HttpFS before Hadoop 3) names the op in
/// its refusal of the parameter.
fn is_unknown_op(e: &WebHdfsError) -> bool {
    matches!(e, WebHdfsError::Remote { status: 400, message, .. } if message.contains("LISTSTATUS_BATCH"))
}
