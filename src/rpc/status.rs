//! The one place that turns a failure into a `TBrokerOperationStatus`.
//!
//! Clients never parse messages, operators read them in FE `ErrMsg`: each one names the
//! operation, the path and the cause.

use crate::storage::StorageError;
use crate::wire::generated::{TBrokerOperationStatus, TBrokerOperationStatusCode as Code};

pub fn ok() -> TBrokerOperationStatus {
    TBrokerOperationStatus::new(Code::OK, None)
}

pub fn status(code: Code, message: impl Into<String>) -> TBrokerOperationStatus {
    TBrokerOperationStatus::new(code, Some(message.into()))
}

/// The code a storage failure maps to (SEMANTICS.md "Status codes").
pub fn code_of(err: &StorageError) -> Code {
    match err {
        StorageError::InvalidPath { .. } => Code::INVALID_INPUT_FILE_PATH,
        StorageError::InvalidArgument(_) => Code::INVALID_ARGUMENT,
        StorageError::NotFound { .. } => Code::FILE_NOT_FOUND,
        StorageError::NotAuthorized(_) => Code::NOT_AUTHORIZED,
        StorageError::Unsupported(_) => Code::OPERATION_NOT_SUPPORTED,
        StorageError::AlreadyExists { .. } | StorageError::Io { .. } => {
            Code::TARGET_STORAGE_SERVICE_ERROR
        }
    }
}

/// `"<operation> failed: <cause naming the path>"` with the matching code. Every storage
/// failure answered this way is also counted, by the scheme of `path` (the client's path
/// or the stream's); only the scheme reaches the metrics.
pub fn from_error(operation: &str, path: &str, err: &StorageError) -> TBrokerOperationStatus {
    crate::metrics::storage_error(path, err);
    status(code_of(err), format!("{operation} failed: {err}"))
}
