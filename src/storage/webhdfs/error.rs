//! WebHDFS failures -> [`StorageError`]: the one place they are classified. The namenode,
//! the datanodes and HttpFS gateways answer a refusal with an HTTP status and a JSON
//! `RemoteException` (`exception`, `javaClassName`, `message`); authentication filters in
//! front of them answer with a bare 401 or 403. Messages never carry a request URL: the
//! URLs hold the delegation token.

use crate::storage::clip::clip;
use crate::storage::{Location, StorageError};

/// Why one WebHDFS exchange failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WebHdfsError {
    /// The server's `RemoteException`: the Java class's simple name and its message.
    Remote {
        status: u16,
        exception: String,
        message: String,
    },
    /// An error status without a `RemoteException` (an authentication filter, a proxy):
    /// the status and the start of the body.
    Status { status: u16, body: String },
    /// No answer: connection refused or reset, timeout, TLS (the cause chain, no URL).
    Transport(String),
    /// An answer that is not what WebHDFS sends (no redirect, unparsable JSON).
    Protocol(String),
}

impl WebHdfsError {
    /// A reqwest failure with its cause chain ("connection refused"), without the URL.
    pub(super) fn transport(err: reqwest::Error) -> Self {
        WebHdfsError::Transport(describe(err))
    }

    /// An error answer's body: a `RemoteException` if it holds one.
    pub(super) fn from_answer(status: u16, body: &[u8]) -> Self {
        let remote = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("RemoteException").cloned());
        if let Some(remote) = remote {
            let field = |name: &str| remote.get(name).and_then(|v| v.as_str()).unwrap_or("");
            let class = match field("exception") {
                "" => field("javaClassName"),
                name => name,
            };
            return WebHdfsError::Remote {
                status,
                exception: class.rsplit(['.', '$']).next().unwrap_or(class).to_string(),
                message: bounded(field("message")),
            };
        }
        let text = String::from_utf8_lossy(body);
        WebHdfsError::Status {
            status,
            body: bounded(html_title(&text).unwrap_or(&text)),
        }
    }
}

/// The `<title>` of an HTML error page (Jetty's: `Error 401 Authentication required`),
/// whose first line is only `<html>`.
fn html_title(text: &str) -> Option<&str> {
    let start = text.find("<title>")? + "<title>".len();
    let len = text[start..].find("</title>")?;
    Some(text[start..start + len].trim()).filter(|t| !t.is_empty())
}

/// A reqwest failure's text and its causes, after the server's host:port, without the rest
/// of the URL (it carries the token). A certificate the client does not trust says so and
/// names the key that fixes it.
pub(super) fn describe(err: reqwest::Error) -> String {
    let server = err
        .url()
        .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)));
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if text.contains("invalid peer certificate") {
        text.push_str(&format!(
            " ({UNTRUSTED}: set {} to a truststore holding its CA)",
            super::trust::LOCATION_KEY
        ));
    }
    match server {
        Some(server) => format!("{server}: {text}"),
        None => text,
    }
}

/// What `describe` says of a certificate the client does not trust.
const UNTRUSTED: &str = "the server's TLS certificate is not trusted";

/// The most of a server message kept in a status.
const MESSAGE_MAX: usize = 300;

/// The first line, at most [`MESSAGE_MAX`] bytes (servers append stack traces, and a
/// proxy's error page is HTML).
fn bounded(msg: &str) -> String {
    clip(msg.lines().next().unwrap_or("").trim(), MESSAGE_MAX)
}

/// One row per case; `loc` is the path the call was about.
pub(super) fn to_storage_error(loc: &Location, err: WebHdfsError) -> StorageError {
    let path = loc.to_string();
    match err {
        // No such path (the message says which part is missing).
        WebHdfsError::Remote {
            exception, message, ..
        } if exception == "FileNotFoundException" => StorageError::NotFound {
            path: format!("{path} ({message})"),
        },
        WebHdfsError::Remote { exception, .. } if exception == "FileAlreadyExistsException" => {
            StorageError::AlreadyExists { path }
        }
        // A permission refusal ("Permission denied: user=bob, access=WRITE, inode=..."),
        // a delegation token the namenode does not know or that expired, a user the
        // gateway may not proxy: the credentials, with the server's words.
        WebHdfsError::Remote {
            exception, message, ..
        } if matches!(
            exception.as_str(),
            "AccessControlException"
                | "SnapshotAccessControlException"
                | "AuthorizationException"
                | "InvalidToken"
                | "SecurityException"
                | "AuthenticationException"
        ) =>
        {
            StorageError::NotAuthorized(format!("{path}: {exception}: {message}"))
        }
        // An authentication filter's refusal (Kerberos/SPNEGO required, a bad signature
        // cookie): no RemoteException, the status says it.
        WebHdfsError::Status { status, body } if status == 401 || status == 403 => {
            StorageError::NotAuthorized(format!(
                "{path}: the WebHDFS server refused the credentials (HTTP {status}): {body} \
                 (a server requiring Kerberos/SPNEGO takes a delegation_token instead)"
            ))
        }
        // Any other refusal (StandbyException, SafeModeException, quotas, a bad
        // argument): the class's simple name says what it was.
        WebHdfsError::Remote {
            exception, message, ..
        } => StorageError::Io {
            path,
            message: format!("{exception}: {message}"),
        },
        WebHdfsError::Status { status, body } => StorageError::Io {
            path,
            message: format!("HTTP {status}: {body}"),
        },
        // The server answered, but with a certificate the broker does not trust (see
        // `describe`): no "unreachable" then.
        WebHdfsError::Transport(text) if text.contains(UNTRUSTED) => StorageError::Io {
            path,
            message: format!("TLS handshake refused: {text}"),
        },
        WebHdfsError::Transport(text) => StorageError::Io {
            path,
            message: format!("WebHDFS server unreachable: {text}"),
        },
        WebHdfsError::Protocol(text) => StorageError::Io {
            path,
            message: format!("unexpected WebHDFS answer: {text}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    fn loc() -> Location {
        Location::parse("webhdfs://127.0.0.1:9870/tmp/a.csv").unwrap()
    }

    /// Bodies as the namenode (Jersey) and the datanodes (Netty) write them.
    fn remote(status: u16, class: &str, message: &str) -> WebHdfsError {
        let body = serde_json::json!({"RemoteException": {
            "exception": class.rsplit('.').next().unwrap(),
            "javaClassName": class,
            "message": message,
        }});
        WebHdfsError::from_answer(status, body.to_string().as_bytes())
    }

    #[test]
    fn each_row_has_its_status() {
        let rows = [
            (
                remote(404, "java.io.FileNotFoundException", "File does not exist: /tmp/a.csv"),
                Status::FileNotFound,
            ),
            (
                remote(
                    403,
                    "org.apache.hadoop.security.AccessControlException",
                    "Permission denied: user=bob, access=WRITE, inode=\"/tmp/a\":alice:supergroup:drwxr-xr-x",
                ),
                Status::NotAuthorized,
            ),
            (
                remote(
                    403,
                    "org.apache.hadoop.security.token.SecretManager$InvalidToken",
                    "token (HDFS_DELEGATION_TOKEN token 7 for alice) can't be found in cache",
                ),
                Status::NotAuthorized,
            ),
            (
                WebHdfsError::from_answer(401, b"<html>Authentication required</html>"),
                Status::NotAuthorized,
            ),
            (
                WebHdfsError::from_answer(
                    401,
                    b"<html>\n<head>\n<title>Error 401 Authentication required</title>\n</head>",
                ),
                Status::NotAuthorized,
            ),
            (
                remote(403, "org.apache.hadoop.ipc.StandbyException", "Operation category READ is not supported in state standby"),
                Status::TargetStorageServiceError,
            ),
            (
                remote(409, "org.apache.hadoop.fs.FileAlreadyExistsException", "/tmp/a.csv already exists"),
                Status::TargetStorageServiceError,
            ),
            (
                WebHdfsError::Transport("error sending request: connection refused".into()),
                Status::TargetStorageServiceError,
            ),
        ];
        for (err, want) in rows {
            let e = to_storage_error(&loc(), err.clone());
            assert_eq!(e.status(), want, "{err:?} -> {e}");
            assert!(e.to_string().contains("/tmp/a.csv"), "{e}");
        }
    }

    #[test]
    fn the_servers_reason_is_kept_and_bounded() {
        let e = to_storage_error(
            &loc(),
            remote(
                403,
                "org.apache.hadoop.security.AccessControlException",
                "Permission denied: user=bob\n\tat org.apache...",
            ),
        );
        assert_eq!(
            e.to_string(),
            "not authorized: webhdfs://127.0.0.1:9870/tmp/a.csv: AccessControlException: Permission denied: user=bob"
        );
        // Jetty's error page: its title, not its first line.
        let page = b"<html>\n<head>\n<meta http-equiv=\"Content-Type\"/>\n<title>Error 401 Authentication required</title>\n</head>";
        let e = to_storage_error(&loc(), WebHdfsError::from_answer(401, page));
        assert!(
            e.to_string()
                .contains("(HTTP 401): Error 401 Authentication required"),
            "{e}"
        );
        let untrusted = WebHdfsError::Transport(format!(
            "127.0.0.1:9871: error sending request: invalid peer certificate: UnknownIssuer ({UNTRUSTED}: ...)"
        ));
        let e = to_storage_error(&loc(), untrusted).to_string();
        assert!(
            e.contains("TLS handshake refused") && !e.contains("unreachable"),
            "{e}"
        );
        let long = WebHdfsError::from_answer(500, "x".repeat(5000).as_bytes());
        let e = to_storage_error(&loc(), long);
        assert!(e.to_string().len() < 400, "{e}");
    }
}
