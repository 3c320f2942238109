//! Path-level calls: `deletePath`, `renamePath`, `checkPathExist`, and Doris' `fileSize`
//! and `isSplittable`.

use super::{error, Broker, Cause, RpcError};
use crate::storage::StorageError;
use crate::wire::generated::{
    TBrokerCheckPathExistRequest, TBrokerCheckPathExistResponse, TBrokerDeletePathRequest,
    TBrokerFileSizeRequest, TBrokerFileSizeResponse, TBrokerIsSplittableRequest,
    TBrokerIsSplittableResponse, TBrokerRenamePathRequest,
};
use crate::wire::Reply;

/// Recursive for directories; a missing path is OK.
pub async fn delete_path(
    broker: &Broker,
    req: TBrokerDeletePathRequest,
) -> Result<Reply, RpcError> {
    let deleted = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.delete(&loc).await
    };
    deleted
        .await
        .map_err(|e| RpcError::storage("deletePath", e))?;
    Ok(Reply::Status(error::ok()))
}

/// Missing source, existing destination or different filesystems: 502 with the reason.
pub async fn rename_path(
    broker: &Broker,
    req: TBrokerRenamePathRequest,
) -> Result<Reply, RpcError> {
    let result = async {
        let (fs, src) = broker.open_fs(&req.src_path, &req.properties).await?;
        let (_, dst) = broker.open_fs(&req.dest_path, &req.properties).await?;
        if (src.scheme(), src.authority()) != (dst.scheme(), dst.authority()) {
            return Err(StorageError::Io {
                path: format!("{src} -> {dst}"),
                message: "source and destination are on different filesystems".into(),
            });
        }
        fs.rename(&src, &dst).await
    }
    .await;
    match result {
        Ok(()) => Ok(Reply::Status(error::ok())),
        // A missing source is a failed rename (502), not a missing-file answer.
        Err(StorageError::NotFound { path }) => Err(RpcError::new(
            "renamePath",
            Cause::RenameSourceMissing { path },
        )),
        Err(e) => Err(RpcError::storage("renamePath", e)),
    }
}

/// OK + true/false; a missing path is OK + false.
pub async fn check_path_exist(
    broker: &Broker,
    req: TBrokerCheckPathExistRequest,
) -> Result<Reply, RpcError> {
    let found = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.stat(&loc).await
    };
    let found = found
        .await
        .map_err(|e| RpcError::storage("checkPathExist", e))?;
    Ok(Reply::CheckPathExist(TBrokerCheckPathExistResponse::new(
        error::ok(),
        found.is_some(),
    )))
}

/// Doris: the size of a file; a directory is 404, a missing path 501.
pub async fn file_size(broker: &Broker, req: TBrokerFileSizeRequest) -> Result<Reply, RpcError> {
    let props = req.properties.unwrap_or_default();
    let result = async {
        let (fs, loc) = broker.open_fs(&req.path, &props).await?;
        match fs.stat(&loc).await? {
            None => Err(StorageError::NotFound {
                path: loc.to_string(),
            }),
            Some(s) if s.is_dir => Err(StorageError::InvalidPath {
                path: loc.to_string(),
                reason: "is a directory".into(),
            }),
            Some(s) => Ok(s.size),
        }
    }
    .await;
    let size = result.map_err(|e| RpcError::storage("fileSize", e))?;
    Ok(Reply::FileSize(TBrokerFileSizeResponse::new(
        error::ok(),
        Some(size as i64),
    )))
}

/// Whole-file compressed formats cannot be split; text and columnar files can.
const UNSPLITTABLE: &[&str] = &[".gz", ".bz2", ".zst", ".lz4", ".deflate", ".lzo", ".snappy"];

/// Doris: whether a file can be read in ranges. Decided by the compression suffix of the
/// path (or the input format's name), without touching storage.
pub async fn is_splittable(
    _broker: &Broker,
    req: TBrokerIsSplittableRequest,
) -> Result<Reply, RpcError> {
    let path = req.path.unwrap_or_default().to_ascii_lowercase();
    let format = req.input_format.unwrap_or_default().to_ascii_lowercase();
    let compressed = UNSPLITTABLE.iter().any(|ext| path.ends_with(ext))
        || ["gz", "bz2", "zstd", "lz4", "deflate"]
            .iter()
            .any(|name| format.contains(name));
    Ok(Reply::IsSplittable(TBrokerIsSplittableResponse::new(
        Some(error::ok()),
        Some(!compressed),
    )))
}
