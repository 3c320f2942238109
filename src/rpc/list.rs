//! `listPath` (Hadoop globStatus) and Doris' `listLocatedFiles` (plain directory listing).

use super::{error, Broker, RpcError};
use crate::storage::{glob, FileStatus, Storage, StorageError};
use crate::wire::generated::{TBrokerFileStatus, TBrokerListPathRequest, TBrokerListResponse};
use crate::wire::Reply;

/// A path with no glob returns the path itself (a directory is one entry); callers list
/// contents with `dir/*`. With `isRecursive`, matched directories give every file below.
pub async fn list_path(broker: &Broker, req: TBrokerListPathRequest) -> Result<Reply, RpcError> {
    let name_only = req.file_name_only.unwrap_or(false);
    let result = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        let matches = glob::glob_status(fs.as_ref(), &loc).await?;
        if req.is_recursive {
            files_below(fs.as_ref(), matches).await
        } else {
            Ok(matches)
        }
    }
    .await;
    reply(result, name_only, "listPath")
}

/// Doris: the files (and, unless `onlyFiles`, directories) in a directory, or the file
/// itself; all files below it when `isRecursive`. No glob expansion, like Hadoop's
/// `listFiles` that the Doris broker calls.
pub async fn list_located_files(
    broker: &Broker,
    req: TBrokerListPathRequest,
) -> Result<Reply, RpcError> {
    let name_only = req.file_name_only.unwrap_or(false);
    let only_files = req.only_files.unwrap_or(false);
    let result = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        let mut out = if req.is_recursive {
            fs.list_recursive(&loc).await?
        } else {
            fs.list_dir(&loc).await?
        };
        if only_files {
            out.retain(|s| !s.is_dir);
        }
        Ok(out)
    }
    .await;
    reply(result, name_only, "listLocatedFiles")
}

/// Replaces every directory in `entries` by all the files below it (the storage's
/// recursive listing), keeping files as they are.
async fn files_below(
    fs: &dyn Storage,
    entries: Vec<FileStatus>,
) -> Result<Vec<FileStatus>, StorageError> {
    let mut out = Vec::new();
    for entry in entries {
        if !entry.is_dir {
            out.push(entry);
            continue;
        }
        match fs.list_recursive(&entry.location).await {
            Ok(files) => out.extend(files),
            // Deleted since it matched: nothing below it any more.
            Err(StorageError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn reply(
    result: Result<Vec<FileStatus>, StorageError>,
    name_only: bool,
    operation: &str,
) -> Result<Reply, RpcError> {
    let entries = result.map_err(|e| RpcError::storage(operation, e))?;
    Ok(Reply::List(TBrokerListResponse::new(
        error::ok(),
        Some(entries.iter().map(|s| to_thrift(s, name_only)).collect()),
    )))
}

fn to_thrift(s: &FileStatus, name_only: bool) -> TBrokerFileStatus {
    let path = if name_only {
        s.name().to_string()
    } else {
        s.location.to_string()
    };
    TBrokerFileStatus {
        path,
        is_dir: s.is_dir,
        size: s.size as i64,
        is_splitable: !s.is_dir,
        block_size: Some(s.block_size),
        modification_time: Some(s.modification_time),
    }
}
