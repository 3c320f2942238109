//! Every FTP failure → `StorageError`, one row per case. The server's own reply (code and
//! text) is kept in the message: it says why (`530 Login incorrect.`, `550 Not enough
//! privileges.`). No command is ever quoted, so a password never reaches a message.

use suppaftp::{FtpError, Status};

use crate::storage::clip::clip;
use crate::storage::StorageError;

/// What the failed command was for: a 550 reply means "no such file" to a look-up and
/// "refused" to a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Doing {
    Login,
    Lookup,
    Change,
}

/// The most of a reply kept in a message.
const REPLY_MAX: usize = 300;

/// `path` is the URI as shown (password redacted), `server` its `host:port`.
pub(super) fn to_storage_error(
    path: &str,
    server: &str,
    doing: Doing,
    err: FtpError,
) -> StorageError {
    let path = path.to_string();
    match err {
        // The login refused, or a command refused for want of one (an expired session).
        FtpError::UnexpectedResponse(r)
            if matches!(r.status, Status::NotLoggedIn | Status::StoringNeedAccount)
                || (doing == Doing::Login && r.status.code() / 100 == 5) =>
        {
            StorageError::NotAuthorized(format!(
                "{path}: the FTP server {server} refused the login: {}",
                reply(&r)
            ))
        }
        // 550 "file unavailable" to a look-up: it is not there.
        FtpError::UnexpectedResponse(r)
            if doing == Doing::Lookup && r.status == Status::FileUnavailable =>
        {
            StorageError::NotFound { path }
        }
        // A refusal that says it is about permissions.
        FtpError::UnexpectedResponse(r) if is_permission(&reply(&r)) => {
            StorageError::NotAuthorized(format!("{path}: {}", reply(&r)))
        }
        // Any other refusal: the server's reply says what it was.
        FtpError::UnexpectedResponse(r) => StorageError::Io {
            path,
            message: format!("the FTP server {server} answered {}", reply(&r)),
        },
        FtpError::ConnectionError(e) => StorageError::Io {
            path,
            message: format!("cannot talk to the FTP server {server}: {e}"),
        },
        FtpError::BadResponse => StorageError::Io {
            path,
            message: format!("the FTP server {server} sent a reply that cannot be parsed"),
        },
        other => StorageError::Io {
            path,
            message: format!("FTP server {server}: {other}"),
        },
    }
}

/// Whether a reply is about the command not being implemented (MLST, MLSD on servers
/// before RFC 3659): the caller falls back to LIST.
pub(super) fn is_not_implemented(err: &FtpError) -> bool {
    matches!(err, FtpError::UnexpectedResponse(r) if matches!(
        r.status,
        Status::CommandNotImplemented
            | Status::NotImplemented
            | Status::BadCommand
            | Status::BadArguments
    ))
}

/// Whether a reply says the file is not there (550 to a look-up).
pub(super) fn is_unavailable(err: &FtpError) -> bool {
    matches!(err, FtpError::UnexpectedResponse(r) if r.status == Status::FileUnavailable)
}

fn is_permission(reply: &str) -> bool {
    let reply = reply.to_ascii_lowercase();
    ["permission", "privilege", "denied", "not allowed"]
        .iter()
        .any(|w| reply.contains(w))
}

/// The reply as the server sent it (`550 Not enough privileges.`), on one line, bounded.
fn reply(r: &suppaftp::types::Response) -> String {
    let text = String::from_utf8_lossy(&r.body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let code = r.status.code().to_string();
    let line = if text.starts_with(&code) {
        text
    } else {
        format!("{code} {text}")
    };
    clip(&line, REPLY_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use suppaftp::types::Response;

    fn refused(status: Status, text: &str) -> FtpError {
        FtpError::UnexpectedResponse(Response::new(status, text.as_bytes().to_vec()))
    }

    #[test]
    fn each_reply_maps_to_its_status() {
        use crate::status::Status as S;
        let map = |doing, e| to_storage_error("ftp://u:***@h/a", "h:21", doing, e);
        let login = map(
            Doing::Login,
            refused(Status::NotLoggedIn, "530 Login incorrect.\r\n"),
        );
        assert_eq!(login.status(), S::NotAuthorized);
        assert!(
            login.to_string().contains("530 Login incorrect."),
            "{login}"
        );
        let missing = map(
            Doing::Lookup,
            refused(Status::FileUnavailable, "550 No such file."),
        );
        assert_eq!(missing.status(), S::FileNotFound);
        let denied = map(
            Doing::Change,
            refused(Status::FileUnavailable, "550 Not enough privileges."),
        );
        assert_eq!(denied.status(), S::NotAuthorized);
        assert!(
            denied.to_string().contains("Not enough privileges"),
            "{denied}"
        );
        let other = map(
            Doing::Change,
            refused(Status::FileUnavailable, "550 Is a directory."),
        );
        assert_eq!(other.status(), S::TargetStorageServiceError);
        let io = map(
            Doing::Lookup,
            FtpError::ConnectionError(std::io::ErrorKind::ConnectionReset.into()),
        );
        assert!(
            io.to_string()
                .contains("cannot talk to the FTP server h:21"),
            "{io}"
        );
        assert!(is_not_implemented(&refused(
            Status::CommandNotImplemented,
            "502 no"
        )));
        assert!(!is_not_implemented(&refused(
            Status::FileUnavailable,
            "550 no"
        )));
    }
}
