//! Why a call failed, and the one place that turns it into the status clients see.
//!
//! Handlers return an [`RpcError`]: what they were doing and a typed [`Cause`].
//! [`RpcError::status`] chooses the code and writes the message. Clients never parse
//! messages, operators read them in FE `ErrMsg` and the broker log: each one names the
//! operation, the path or fd, and the cause (`"pread at offset 8 of fd ab12.. failed: ..."`).

use std::fmt;

use crate::sessions::{FdId, Gone, Lookup};
use crate::status::Status;
use crate::storage::{redact_userinfo, StorageError};
use crate::streams::{ReadFailure, Stream, WriteError};
use crate::wire::generated::{TBrokerOperationStatus, TBrokerOperationStatusCode};

/// A failed call: what it was doing, and why it failed.
#[derive(Debug)]
pub struct RpcError {
    /// The operation, as the message starts: `openReader`, `pread at offset 5 of fd ..`.
    pub doing: String,
    /// Boxed: errors are rare, and a small `Result` keeps the success path lean.
    pub cause: Box<Cause>,
}

#[derive(Debug)]
pub enum Cause {
    /// A store said no.
    Storage(StorageError),
    /// renamePath of a source that is not there: a failed rename, not a missing file.
    RenameSourceMissing {
        path: String,
    },
    NegativeOffset {
        fd: FdId,
        offset: i64,
    },
    NegativeLength {
        fd: FdId,
        length: i64,
    },
    /// The fd is not open as the kind of stream the call needs.
    NotOpen {
        fd: FdId,
        why: NotOpen,
    },
    /// An open refused by the fd limits (nothing was opened).
    FdLimit {
        path: String,
        reason: String,
    },
    /// A writer refused a pwrite or could not commit.
    Write {
        fd: FdId,
        path: String,
        error: WriteError,
    },
    /// A repeated close answered with the first close's failure.
    EarlierClose {
        fd: FdId,
        error: WriteError,
    },
    /// The request could not be decoded.
    Malformed(String),
}

/// Why an fd is not open for a call.
#[derive(Debug)]
pub enum NotOpen {
    Expired {
        client: String,
        after_secs: u64,
    },
    Closed,
    /// Open, as the other kind of stream.
    IsReader,
    IsWriter,
    Unknown,
}

impl NotOpen {
    /// What a lookup that did not find the right kind of open stream says.
    pub fn of(lookup: &Lookup, expire_after_secs: u64) -> NotOpen {
        match lookup {
            Lookup::Gone(Gone::Expired { client }) => NotOpen::Expired {
                client: client.to_string(),
                after_secs: expire_after_secs,
            },
            Lookup::Gone(Gone::Closing(_) | Gone::Closed(_)) => NotOpen::Closed,
            Lookup::Open(Stream::Reader(_)) => NotOpen::IsReader,
            Lookup::Open(Stream::Writer(_)) => NotOpen::IsWriter,
            Lookup::Unknown => NotOpen::Unknown,
        }
    }
}

impl RpcError {
    pub fn new(doing: impl Into<String>, cause: Cause) -> Self {
        RpcError {
            doing: doing.into(),
            cause: Box::new(cause),
        }
    }

    pub fn storage(doing: impl Into<String>, error: StorageError) -> Self {
        RpcError::new(doing, Cause::Storage(error))
    }

    /// A pread that failed at `at` of `fd`.
    pub fn read(fd: FdId, failure: ReadFailure) -> Self {
        RpcError::storage(
            format!("pread at offset {} of fd {fd}", failure.at),
            failure.error,
        )
    }

    /// The status code and message clients get: the one place codes are chosen.
    pub fn status(&self) -> TBrokerOperationStatus {
        let (status, detail) = match &*self.cause {
            Cause::Storage(e) => (e.status(), e.to_string()),
            Cause::RenameSourceMissing { path } => (
                Status::TargetStorageServiceError,
                format!("source {path} does not exist"),
            ),
            Cause::NegativeOffset { fd, offset } => (
                Status::InvalidInputOffset,
                format!("fd {fd}: negative offset {offset}"),
            ),
            Cause::NegativeLength { fd, length } => (
                Status::InvalidArgument,
                format!("fd {fd}: negative length {length}"),
            ),
            Cause::NotOpen { fd, why } => {
                (Status::TargetStorageServiceError, format!("fd {fd} {why}"))
            }
            Cause::FdLimit { path, reason } => (
                Status::TargetStorageServiceError,
                format!("{path}: {reason}"),
            ),
            Cause::Write { fd, path, error } => {
                (write_status(error), format!("fd {fd} ({path}): {error}"))
            }
            Cause::EarlierClose { fd, error } => (write_status(error), format!("fd {fd}: {error}")),
            Cause::Malformed(why) => (Status::InvalidArgument, format!("malformed request: {why}")),
        };
        // Paths clients sent (ftp://user:password@host/...) are in messages: never their
        // passwords.
        let message = format!("{} failed: {detail}", self.doing);
        failure(status, redact_userinfo(&message).into_owned())
    }
}

/// The status of a writer's refusal: the store's own for its failures.
fn write_status(error: &WriteError) -> Status {
    match error {
        WriteError::TooLarge { .. } | WriteError::Busy { .. } => Status::InvalidArgument,
        WriteError::Offset { .. } => Status::InvalidInputOffset,
        WriteError::Failed { error, .. } | WriteError::Commit(error) => error.status(),
        WriteError::Ended | WriteError::Interrupted => Status::TargetStorageServiceError,
    }
}

impl fmt::Display for NotOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotOpen::Expired { client, after_secs } => write!(
                f,
                "expired: client {client} was idle for more than {after_secs} s, so its streams were closed (writers aborted, nothing committed)"
            ),
            NotOpen::Closed => f.write_str("is already closed"),
            NotOpen::IsReader => f.write_str("is a reader, not a writer"),
            NotOpen::IsWriter => f.write_str("is a writer, not a reader"),
            NotOpen::Unknown => f.write_str("was not issued by this broker"),
        }
    }
}

pub fn ok() -> TBrokerOperationStatus {
    TBrokerOperationStatus::new(TBrokerOperationStatusCode::OK, None)
}

fn failure(status: Status, message: String) -> TBrokerOperationStatus {
    TBrokerOperationStatus::new(TBrokerOperationStatusCode(status.code()), Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_match_the_idl() {
        for status in Status::ALL {
            let code = TBrokerOperationStatusCode::from(status.code());
            assert!(
                TBrokerOperationStatusCode::ENUM_VALUES.contains(&code),
                "{status:?}"
            );
        }
        assert_eq!(
            Status::ALL.len(),
            TBrokerOperationStatusCode::ENUM_VALUES.len()
        );
        assert_eq!(
            Status::FileNotFound.code(),
            TBrokerOperationStatusCode::FILE_NOT_FOUND.0
        );
    }

    #[test]
    fn messages_name_the_operation_and_codes_follow_the_cause() {
        let fd = FdId { high: 1, low: 2 };
        let e = RpcError::storage(
            "openReader",
            StorageError::NotFound {
                path: "file:/x".into(),
            },
        );
        let s = e.status();
        assert_eq!(s.status_code, TBrokerOperationStatusCode::FILE_NOT_FOUND);
        assert_eq!(
            s.message.as_deref(),
            Some("openReader failed: file:/x: no such file or directory")
        );
        let e = RpcError::new(
            "closeWriter",
            Cause::Write {
                fd,
                path: "s3a://b/k".into(),
                error: WriteError::Commit(StorageError::NotAuthorized("denied".into())),
            },
        );
        assert_eq!(
            e.status().status_code,
            TBrokerOperationStatusCode::NOT_AUTHORIZED
        );
        let e = RpcError::new(
            "pwrite",
            Cause::Write {
                fd,
                path: "file:/w".into(),
                error: WriteError::Offset {
                    offset: 9,
                    written: 3,
                },
            },
        );
        assert_eq!(
            e.status().status_code,
            TBrokerOperationStatusCode::INVALID_INPUT_OFFSET
        );
        let e = RpcError::new(
            "pread",
            Cause::NotOpen {
                fd,
                why: NotOpen::Unknown,
            },
        );
        let s = e.status();
        assert_eq!(
            s.status_code,
            TBrokerOperationStatusCode::TARGET_STORAGE_SERVICE_ERROR
        );
        assert_eq!(
            s.message.as_deref(),
            Some("pread failed: fd 00000000000000010000000000000002 was not issued by this broker")
        );
    }
}
