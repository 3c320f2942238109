//! Path-level calls: `deletePath`, `renamePath`, `checkPathExist`, and Doris' `fileSize`
//! and `isSplittable`.

use super::{status, Broker};
use crate::storage::StorageError;
use crate::wire::generated::{
    TBrokerCheckPathExistRequest, TBrokerCheckPathExistResponse, TBrokerDeletePathRequest,
    TBrokerFileSizeRequest, TBrokerFileSizeResponse, TBrokerIsSplittableRequest,
    TBrokerIsSplittableResponse, TBrokerOperationStatusCode as Code, TBrokerRenamePathRequest,
};
use crate::wire::Reply;

/// Recursive for directories; a missing path is OK.
pub async fn delete_path(broker: &Broker, req: TBrokerDeletePathRequest) -> Reply {
    let result = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.delete(&loc).await
    }
    .await;
    Reply::Status(match result {
        Ok(()) => status::ok(),
        Err(e) => status::from_error("deletePath", &req.path, &e),
    })
}

/// Missing source, existing destination or different filesystems: 502 with the reason.
pub async fn rename_path(broker: &Broker, req: TBrokerRenamePathRequest) -> Reply {
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
    Reply::Status(match result {
        Ok(()) => status::ok(),
        // A missing source is a failed rename (502), not a missing-file answer.
        Err(ref e @ StorageError::NotFound { ref path }) => {
            crate::metrics::storage_error(&req.src_path, e);
            status::status(
                Code::TARGET_STORAGE_SERVICE_ERROR,
                format!("renamePath failed: source {path} does not exist"),
            )
        }
        Err(e) => status::from_error("renamePath", &req.src_path, &e),
    })
}

/// OK + true/false; a missing path is OK + false.
pub async fn check_path_exist(broker: &Broker, req: TBrokerCheckPathExistRequest) -> Reply {
    let result = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.stat(&loc).await
    }
    .await;
    Reply::CheckPathExist(match result {
        Ok(found) => TBrokerCheckPathExistResponse::new(status::ok(), found.is_some()),
        Err(e) => TBrokerCheckPathExistResponse::new(
            status::from_error("checkPathExist", &req.path, &e),
            false,
        ),
    })
}

/// Doris: the size of a file; a directory is 404, a missing path 501.
pub async fn file_size(broker: &Broker, req: TBrokerFileSizeRequest) -> Reply {
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
    Reply::FileSize(match result {
        Ok(size) => TBrokerFileSizeResponse::new(status::ok(), Some(size as i64)),
        Err(e) => TBrokerFileSizeResponse::new(status::from_error("fileSize", &req.path, &e), None),
    })
}

/// Whole-file compressed formats cannot be split; text and columnar files can.
const UNSPLITTABLE: &[&str] = &[".gz", ".bz2", ".zst", ".lz4", ".deflate", ".lzo", ".snappy"];

/// Doris: whether a file can be read in ranges. Decided by the compression suffix of the
/// path (or the input format's name), without touching storage.
pub fn is_splittable(req: TBrokerIsSplittableRequest) -> Reply {
    let path = req.path.unwrap_or_default().to_ascii_lowercase();
    let format = req.input_format.unwrap_or_default().to_ascii_lowercase();
    let compressed = UNSPLITTABLE.iter().any(|ext| path.ends_with(ext))
        || ["gz", "bz2", "zstd", "lz4", "deflate"]
            .iter()
            .any(|name| format.contains(name));
    Reply::IsSplittable(TBrokerIsSplittableResponse::new(
        Some(status::ok()),
        Some(!compressed),
    ))
}
