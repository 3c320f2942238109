//! Every SSH and SFTP failure → `StorageError`, one row per case: the server's status and
//! message kept (`Permission denied`, `No such file`). Authentication failures are
//! written in [`super::core`], which knows what the server refused and what it accepts.

use russh_sftp::client::error::Error as SftpError;
use russh_sftp::protocol::StatusCode;

use crate::storage::clip::clip;
use crate::storage::StorageError;

/// The most of a server message kept.
const MESSAGE_MAX: usize = 300;

/// `path` is the URI as shown (password redacted), `server` its `host:port`.
pub(super) fn to_storage_error(path: &str, server: &str, err: SftpError) -> StorageError {
    let path = path.to_string();
    match err {
        SftpError::Status(s) if s.status_code == StatusCode::NoSuchFile => {
            StorageError::NotFound { path }
        }
        SftpError::Status(s) if s.status_code == StatusCode::PermissionDenied => {
            StorageError::NotAuthorized(format!(
                "{path}: the SFTP server {server} refused: {}",
                said(&s.error_message, "Permission denied")
            ))
        }
        SftpError::Status(s) if s.status_code == StatusCode::OpUnsupported => {
            StorageError::Unsupported(format!(
                "{path}: the SFTP server {server} does not support this: {}",
                said(&s.error_message, "Operation unsupported")
            ))
        }
        SftpError::Status(s) => StorageError::Io {
            path,
            message: format!(
                "the SFTP server {server} answered {:?}: {}",
                s.status_code,
                said(&s.error_message, "failure")
            ),
        },
        SftpError::Timeout => StorageError::Io {
            path,
            message: format!("the SFTP server {server} did not answer in time"),
        },
        other => StorageError::Io {
            path,
            message: format!(
                "SFTP session with {server} failed: {}",
                clip(&other.to_string(), MESSAGE_MAX)
            ),
        },
    }
}

/// An SSH transport failure (connecting, key exchange, a dropped connection).
pub(super) fn ssh_error(path: &str, server: &str, err: russh::Error) -> StorageError {
    StorageError::Io {
        path: path.to_string(),
        message: format!(
            "SSH connection to {server} failed: {}",
            clip(&err.to_string(), MESSAGE_MAX)
        ),
    }
}

/// An I/O error of a file stream (reads and writes report the server's status this way).
pub(super) fn stream_error(
    path: &str,
    server: &str,
    doing: &str,
    err: std::io::Error,
) -> StorageError {
    let text = err.to_string();
    if text.to_ascii_lowercase().contains("permission denied") {
        return StorageError::NotAuthorized(format!(
            "{path}: the SFTP server {server} refused {doing}: {text}"
        ));
    }
    StorageError::Io {
        path: path.to_string(),
        message: format!(
            "{doing} on the SFTP server {server} failed: {}",
            clip(&text, MESSAGE_MAX)
        ),
    }
}

fn said<'a>(message: &'a str, otherwise: &'a str) -> String {
    let message = message.trim();
    clip(
        if message.is_empty() {
            otherwise
        } else {
            message
        },
        MESSAGE_MAX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status as S;
    use russh_sftp::protocol::Status;

    fn status(code: StatusCode, message: &str) -> SftpError {
        SftpError::Status(Status {
            id: 1,
            status_code: code,
            error_message: message.into(),
            language_tag: String::new(),
        })
    }

    #[test]
    fn each_status_maps_to_its_code() {
        let map = |e| to_storage_error("sftp://u@h/a", "h:22", e);
        assert_eq!(
            map(status(StatusCode::NoSuchFile, "No such file")).status(),
            S::FileNotFound
        );
        let denied = map(status(StatusCode::PermissionDenied, ""));
        assert_eq!(denied.status(), S::NotAuthorized);
        assert!(denied.to_string().contains("Permission denied"), "{denied}");
        let failed = map(status(StatusCode::Failure, "Failure"));
        assert_eq!(failed.status(), S::TargetStorageServiceError);
        assert!(failed.to_string().contains("h:22"), "{failed}");
        assert_eq!(
            map(SftpError::Timeout).status(),
            S::TargetStorageServiceError
        );
        let io = stream_error(
            "p",
            "h:22",
            "writing",
            std::io::Error::other("Permission denied"),
        );
        assert_eq!(io.status(), S::NotAuthorized);
    }
}
