//! Every mapping from an object store's failure to a [`StorageError`], one row per case
//! with its reason, and the few questions the other roles ask of an opendal error.
//!
//! What opendal gives typed: the error's [`ErrorKind`] (each service derives it from the
//! HTTP status and from some of the store's codes: 404 is `NotFound`, 403
//! `PermissionDenied`, 429 and `SlowDown` `RateLimited`, S3's `NoSuchBucket`
//! `ConfigInvalid` ...), whether it is temporary, and its source chain (reqwest's error
//! when the exchange failed, reqsign's when signing did). What it gives only as text: the
//! HTTP status (printed into the error's context, which has no accessor) and the store's
//! error body. A service parses the body into a private struct (`S3Error`, `OssError`,
//! `CosError`, `AzblobError`, `GcsErrorResponse`) and makes its `Debug` print the error's
//! message: the store's own code and reason are read back from that print
//! ([`store_code`]). The tests below hold the rows to what opendal really produces, from
//! recorded store answers served on a loopback port, so an opendal upgrade that moves a
//! status or changes those prints fails them.

use std::fmt::Display;
use std::sync::{Arc, Mutex};

use opendal::ErrorKind;

use crate::storage::StorageError;

/// Error codes with which object stores refuse the credentials themselves (as opposed to
/// refusing an authenticated caller access, which is an ordinary storage error).
const CREDENTIALS_REFUSED: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
    "SecurityTokenExpired",
    "InvalidSecurityToken",
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    // GCS answers with HTTP status codes: 401 is an unauthenticated request.
    "401",
];

/// ADLS Gen2's DFS codes (sent in `x-ms-error-code`) for an authenticated caller refused
/// the operation by RBAC or ACLs, which the RPCs answer with NOT_AUTHORIZED as Hadoop's
/// ABFS driver throws `AccessDeniedException`. DFS only ([`ErrorMapper::dfs`]): the Blob
/// API's `AuthorizationFailure` is also how Azurite refuses a bad signature.
const DFS_PERMISSION_REFUSED: &[&str] = &[
    "AuthorizationPermissionMismatch",
    "AuthorizationFailure",
    "AuthorizationSourceIPMismatch",
    "AuthorizationProtocolMismatch",
    "AuthorizationResourceTypeMismatch",
    "InsufficientAccountPermissions",
];

/// Why a credential provider of ours last failed: reqsign's provider chain swallows
/// provider errors, and the signer then says only "failed to load signing credential".
#[derive(Clone, Default)]
pub struct CredentialFailure(Arc<Mutex<Option<(bool, String)>>>);

impl CredentialFailure {
    /// Records how a provider's attempt ended: a failure is kept with whether the
    /// credentials themselves were refused (reqsign's `CredentialInvalid`, what a
    /// provider says when the token server turned the key down) or could not be
    /// obtained (any other kind: the server did not answer, its answer was unreadable);
    /// a success forgets the last failure.
    pub fn record<T>(&self, result: &reqsign_core::Result<T>) {
        let last = result.as_ref().err().map(|e| {
            (
                e.kind() == reqsign_core::ErrorKind::CredentialInvalid,
                e.to_string(),
            )
        });
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = last;
    }

    fn last(&self) -> Option<(bool, String)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// What a failure says, read from the typed parts of the error first.
#[derive(Debug, PartialEq)]
enum Cause {
    /// The key or path is not there.
    Missing,
    /// Signing had no credential (reqsign's `CredentialInvalid` in the source chain)
    /// because our own provider failed, for the reason it recorded.
    ProviderFailed { refused: bool, why: String },
    /// The store answered with an error code of its own.
    Store { code: String, message: String },
    /// No code from the store: a failed exchange (reqwest's error in the source chain:
    /// connection refused, timeout), a body-less answer (HEAD), a body that is not the
    /// store's error document (a proxy's HTML page).
    Unexplained,
}

/// Maps one bucket's failures: the store's name for messages, and what tells the rows
/// apart beyond the error itself.
#[derive(Clone)]
pub(super) struct ErrorMapper {
    pub store: &'static str,
    /// Requests go unsigned: a refusal says so.
    pub anonymous: bool,
    pub credential_failure: CredentialFailure,
    /// The store is ADLS Gen2's DFS API: its own rows apply.
    pub dfs: bool,
}

impl ErrorMapper {
    fn cause(&self, err: &opendal::Error) -> Cause {
        // 404 (NoSuchKey, a missing object): every service's status mapping.
        if err.kind() == ErrorKind::NotFound {
            return Cause::Missing;
        }
        if signing_had_no_credential(err) {
            if let Some((refused, why)) = self.credential_failure.last() {
                return Cause::ProviderFailed { refused, why };
            }
        }
        match store_code(err.message()) {
            Some((code, message)) => Cause::Store { code, message },
            None => Cause::Unexplained,
        }
    }

    /// A store failure as a [`StorageError`] on `path`.
    pub fn map(&self, path: impl Display, err: &opendal::Error) -> StorageError {
        let path = path.to_string();
        let store = self.store;
        match self.cause(err) {
            // A missing key: the RPCs' "no such file", whatever the store called it.
            Cause::Missing => StorageError::NotFound { path },
            // The token server turned our key down: the credentials, not the caller's
            // permissions, are wrong.
            Cause::ProviderFailed { refused: true, why } => StorageError::NotAuthorized(format!(
                "{path}: {store} refused the credentials: {why}"
            )),
            // The token exchange failed otherwise (no answer, unreadable answer).
            Cause::ProviderFailed {
                refused: false,
                why,
            } => StorageError::Io {
                path,
                message: format!("{store} credentials could not be obtained: {why}"),
            },
            // 400/403 SignatureDoesNotMatch, InvalidAccessKeyId, GCS's 401 ...: the store
            // refused the credentials themselves.
            Cause::Store { code, message } if CREDENTIALS_REFUSED.contains(&code.as_str()) => {
                StorageError::NotAuthorized(format!(
                    "{path}: {store} refused the credentials: {code}: {message}"
                ))
            }
            // 403 AuthorizationPermissionMismatch ... (DFS): the caller's permissions, with
            // the request id Azure support asks for.
            Cause::Store { code, message }
                if self.dfs && DFS_PERMISSION_REFUSED.contains(&code.as_str()) =>
            {
                StorageError::NotAuthorized(
                    format!(
                        "{path}: {store} refused access: {code}{}{}",
                        if message.is_empty() { "" } else { ": " },
                        message
                    ) + &http_answer(err).map_or(String::new(), |a| format!(" ({a})")),
                )
            }
            // 409 PathAlreadyExists (DFS): a create or rename onto a path that is there.
            Cause::Store { code, .. } if self.dfs && code == "PathAlreadyExists" => {
                StorageError::AlreadyExists { path }
            }
            // Any other answer of the store (403 AccessDenied, 404 NoSuchBucket, 409,
            // 503 SlowDown once retries ran out ...): its code and reason, and, for an
            // unsigned request refused, that it was unsigned.
            Cause::Store { code, message } => {
                let hint = if self.anonymous && err.kind() == ErrorKind::PermissionDenied {
                    " (the request was unsigned: no credentials were given)"
                } else {
                    ""
                };
                StorageError::Io {
                    path,
                    message: format!("{store} error {code}: {message}{hint}"),
                }
            }
            // No code to show: the HTTP status and request id when the store answered
            // (a body-less answer), the kind and the causes (the transport's own words).
            Cause::Unexplained => StorageError::Io {
                path,
                message: format!(
                    "{store} request failed{}: {}",
                    http_answer(err).map_or(String::new(), |a| format!(" ({a})")),
                    describe_error(err)
                ),
            },
        }
    }

    /// A ranged read's failure: an object that shrank since it was opened no longer has
    /// the range (416, opendal's `RangeNotSatisfied`); anything else as [`Self::map`].
    pub fn map_read(
        &self,
        path: impl Display,
        err: &opendal::Error,
        end: u64,
        size_when_opened: u64,
    ) -> StorageError {
        if err.kind() == ErrorKind::RangeNotSatisfied {
            return StorageError::Io {
                path: path.to_string(),
                message: format!(
                    "the object shrank below {end} bytes since it was opened ({size_when_opened} bytes then)"
                ),
            };
        }
        self.map(path, err)
    }
}

/// Whether the key or path is not there (deleting it, or asking for it, is then no error).
pub(super) fn is_missing(err: &opendal::Error) -> bool {
    err.kind() == ErrorKind::NotFound
}

/// A 403 without a body (a refused HEAD): it has no error code, so it cannot say whether
/// the credentials or the permissions were refused.
pub(super) fn is_refusal_without_code(err: &opendal::Error) -> bool {
    err.kind() == ErrorKind::PermissionDenied && err.message().is_empty()
}

/// Whether signing failed for want of a credential: reqsign's `CredentialInvalid` in the
/// source chain (what its signer says when every provider came back empty).
fn signing_had_no_credential(err: &opendal::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(reqsign) = cause.downcast_ref::<reqsign_core::Error>() {
            return reqsign.kind() == reqsign_core::ErrorKind::CredentialInvalid;
        }
        source = cause.source();
    }
    false
}

/// The store's own error code and reason, read back from the `Debug` print of the error
/// body opendal parsed (`S3Error { code: "NoSuchBucket", message: "...", ... }`, the same
/// shape for OSS, COS and Azure; GCS's `GcsError { code: 401, message: "..." }` carries
/// the HTTP status as a number). Text, because that print is all opendal keeps of the
/// parsed body (the structs are private to each service); a body that was not the
/// store's error document is kept verbatim and has no code.
fn store_code(text: &str) -> Option<(String, String)> {
    let code = debug_field(text, "code")?;
    if code.is_empty() {
        return None;
    }
    let message = debug_field(text, "message").unwrap_or_default();
    Some((code, message))
}

/// The value of `field: "..."` (or of `field: 401`, a number) in a `Debug`-printed
/// struct, unescaped. Only a whole field name counts (`code`, not `status_code`).
fn debug_field(text: &str, field: &str) -> Option<String> {
    let marker = format!("{field}: ");
    let start = text.match_indices(&marker).find_map(|(at, _)| {
        let before = text[..at].chars().next_back();
        (!before.is_some_and(|c| c.is_alphanumeric() || c == '_')).then_some(at + marker.len())
    })?;
    let rest = &text[start..];
    let Some(quoted) = rest.strip_prefix('"') else {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return (!digits.is_empty()).then_some(digits);
    };
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Response headers in which the stores name a request (what their support asks for).
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-amz-request-id",
    "x-ms-request-id",
    "x-oss-request-id",
    "x-cos-request-id",
    "x-obs-request-id",
    "x-tos-request-id",
    "x-kss-request-id",
    "x-guploader-uploadid",
];

/// `HTTP 503, request id ...` of a store's answer, read from the context opendal adds to
/// an error it made from a response (`response: Parts { status: 503, ..., headers: {...}
/// }` in its `Display`, the only place it keeps them); `None` when no answer came.
fn http_answer(err: &opendal::Error) -> Option<String> {
    let text = err.to_string();
    let parts = &text[text.find("response: Parts { status: ")? + 26..];
    let status: String = parts.chars().take_while(char::is_ascii_digit).collect();
    if status.is_empty() {
        return None;
    }
    let request_id = REQUEST_ID_HEADERS.iter().find_map(|name| {
        let marker = format!("\"{name}\": \"");
        let value = &parts[parts.find(&marker)? + marker.len()..];
        value.split('"').next().map(str::to_string)
    });
    Some(match request_id {
        Some(id) => format!("HTTP {status}, request id {id}"),
        None => format!("HTTP {status}"),
    })
}

/// An opendal error without its context dump: kind, message and the causes below it
/// ("Unexpected: send http request: error sending request ...: Connection refused").
pub(super) fn describe_error(err: &opendal::Error) -> String {
    let mut text = format!("{}", err.kind());
    if !err.message().is_empty() {
        text.push_str(": ");
        text.push_str(err.message());
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    //! Each row against errors as opendal makes them: a recorded store answer is served
    //! on a loopback port and read through the store's own opendal service.

    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    use super::*;
    use crate::storage::object::storage::ObjectStorage;
    use crate::storage::object::{azure::Azure, gcs::Gcs, oss::Oss, s3::S3};
    use crate::storage::object::{Dialect, ObjectBackend};
    use crate::storage::{props_of, Location};

    /// A store on 127.0.0.1 that answers every request with one recorded response
    /// (served until the test process ends).
    fn recorded_store(status: u16, headers: &[(&str, &str)], body: &str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut reply = format!(
            "HTTP/1.1 {status} Recorded\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            reply.push_str(&format!("{name}: {value}\r\n"));
        }
        reply.push_str("\r\n");
        reply.push_str(body);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                // The request's head; none of these requests has a body.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && matches!(stream.read(&mut byte), Ok(1)) {
                    head.push(byte[0]);
                }
                let _ = stream.write_all(reply.as_bytes());
            }
        });
        port
    }

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    fn storage<D: Dialect>(dialect: D, uri: &str, props: &[(&str, &str)]) -> Arc<ObjectStorage> {
        ObjectBackend::new(dialect, Duration::from_secs(60))
            .resolve(&Location::parse(uri).unwrap(), &props_of(props))
            .unwrap()
    }

    /// An Azure container with an account key, served on `port`.
    fn azure_at(port: u16) -> Arc<ObjectStorage> {
        let endpoint = format!("http://acct.blob.localhost:{port}");
        storage(
            Azure,
            "wasbs://cont@acct.blob.core.windows.net/k.csv",
            &[
                ("azure.blob.endpoint", &endpoint),
                (
                    "fs.azure.account.key.acct.blob.core.windows.net",
                    "c2VjcmV0LWFjY291bnQta2V5",
                ),
            ],
        )
    }

    /// The opendal error of reading `key` from that storage, and our mapping of it.
    async fn read_failure(storage: &ObjectStorage, key: &str) -> (opendal::Error, StorageError) {
        let err = storage.op.read(key).await.unwrap_err();
        let mapped = storage.errors().map("s3a://bkt/k.csv", &err);
        (err, mapped)
    }

    fn s3_at(port: u16, signed: bool) -> Arc<ObjectStorage> {
        let endpoint = format!("http://127.0.0.1:{port}");
        let mut props = vec![
            ("fs.s3a.endpoint", endpoint.as_str()),
            ("fs.s3a.path.style.access", "true"),
        ];
        if signed {
            props.extend([("fs.s3a.access.key", "AK"), ("fs.s3a.secret.key", "SK")]);
        }
        storage(S3, "s3a://bkt/k.csv", &props)
    }

    fn s3_error_body(code: &str, message: &str) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><Resource>/bkt/k.csv</Resource>\
             <RequestId>4442587FB7D0A2F9</RequestId></Error>"
        )
    }

    /// The S3 error `code` answered with `status`: opendal's kind, and our mapping.
    async fn s3_answer(status: u16, code: &str, message: &str) -> (ErrorKind, StorageError) {
        let body = s3_error_body(code, message);
        let port = recorded_store(status, &[("content-type", "application/xml")], &body);
        let (err, mapped) = read_failure(&s3_at(port, true), "k.csv").await;
        (err.kind(), mapped)
    }

    #[track_caller]
    fn assert_io_with(mapped: &StorageError, parts: &[&str]) {
        let StorageError::Io { message, .. } = mapped else {
            panic!("not Io: {mapped:?}");
        };
        for part in parts {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
    }

    #[track_caller]
    fn assert_refused_with(mapped: &StorageError, parts: &[&str]) {
        let StorageError::NotAuthorized(message) = mapped else {
            panic!("not NotAuthorized: {mapped:?}");
        };
        for part in parts {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
    }

    #[tokio::test]
    async fn s3_answers_of_missing_objects_and_buckets() {
        let (kind, mapped) = s3_answer(404, "NoSuchKey", "The specified key does not exist.").await;
        assert_eq!(kind, ErrorKind::NotFound);
        assert!(
            matches!(mapped, StorageError::NotFound { .. }),
            "{mapped:?}"
        );
        // opendal calls a missing bucket a configuration error: it is no missing file.
        let reason = "The specified bucket does not exist";
        let (kind, mapped) = s3_answer(404, "NoSuchBucket", reason).await;
        assert_eq!(kind, ErrorKind::ConfigInvalid);
        assert_io_with(&mapped, &["S3 error NoSuchBucket", reason]);
    }

    #[tokio::test]
    async fn s3_refused_credentials_are_not_authorized() {
        let reason = "The AWS Access Key Id you provided does not exist in our records.";
        let (_, mapped) = s3_answer(403, "InvalidAccessKeyId", reason).await;
        assert_refused_with(
            &mapped,
            &["S3 refused the credentials", "InvalidAccessKeyId", reason],
        );
        let (_, mapped) = s3_answer(400, "InvalidAccessKeyId", reason).await;
        assert_refused_with(&mapped, &["InvalidAccessKeyId", reason]);
        let reason =
            "The request signature we calculated does not match the signature you provided.";
        let (kind, mapped) = s3_answer(403, "SignatureDoesNotMatch", reason).await;
        assert_eq!(kind, ErrorKind::PermissionDenied);
        assert_refused_with(&mapped, &["SignatureDoesNotMatch", reason]);
    }

    #[tokio::test]
    async fn other_s3_answers_keep_the_stores_code_and_reason() {
        let (kind, mapped) = s3_answer(403, "AccessDenied", "Access Denied").await;
        assert_eq!(kind, ErrorKind::PermissionDenied);
        assert_io_with(&mapped, &["S3 error AccessDenied: Access Denied"]);
        assert!(!mapped.to_string().contains("unsigned"), "{mapped}");
        let reason = "The request is not valid with the current state of the bucket.";
        let (_, mapped) = s3_answer(409, "InvalidBucketState", reason).await;
        assert_io_with(&mapped, &["S3 error InvalidBucketState", reason]);
        // Retried (opendal marks it temporary), then reported.
        let (kind, mapped) = s3_answer(503, "SlowDown", "Please reduce your request rate.").await;
        assert_eq!(kind, ErrorKind::RateLimited);
        assert_io_with(
            &mapped,
            &["S3 error SlowDown: Please reduce your request rate."],
        );
    }

    #[tokio::test]
    async fn an_unsigned_request_refused_says_so() {
        let body = s3_error_body("AccessDenied", "Access Denied");
        let port = recorded_store(403, &[], &body);
        let (_, mapped) = read_failure(&s3_at(port, false), "k.csv").await;
        assert_io_with(&mapped, &["AccessDenied", "the request was unsigned"]);
    }

    /// A body-less error answer keeps its HTTP status and the store's request id.
    #[tokio::test]
    async fn a_body_less_answer_keeps_its_status_and_request_id() {
        let port = recorded_store(503, &[("x-amz-request-id", "4442587FB7D0A2F9")], "");
        let (_, mapped) = read_failure(&s3_at(port, true), "k.csv").await;
        assert_io_with(
            &mapped,
            &["S3 request failed (HTTP 503, request id 4442587FB7D0A2F9): Unexpected"],
        );
        let port = recorded_store(500, &[("x-ms-request-id", "0f1e-azure")], "");
        let (_, mapped) = read_failure(&azure_at(port), "k.csv").await;
        assert_io_with(
            &mapped,
            &["Azure request failed (HTTP 500, request id 0f1e-azure): Unexpected"],
        );
    }

    #[tokio::test]
    async fn answers_without_a_code() {
        // A refused HEAD has no body: no code, and the caller asks a listing instead.
        let storage = s3_at(recorded_store(403, &[], ""), true);
        let err = storage.op.stat("k.csv").await.unwrap_err();
        assert!(is_refusal_without_code(&err), "{err}");
        assert_io_with(
            &storage.errors().map("p", &err),
            &["S3 request failed (HTTP 403): PermissionDenied"],
        );
        // A proxy's text instead of the store's error document: kept verbatim. (An
        // XML-shaped page, HTML included, reads as an S3Error without a code: opendal's
        // parser defaults every field.)
        let text = "upstream connect error or disconnect/reset before headers";
        let storage = s3_at(
            recorded_store(502, &[("content-type", "text/plain")], text),
            true,
        );
        let (err, mapped) = read_failure(&storage, "k.csv").await;
        assert!(!is_refusal_without_code(&err));
        assert_io_with(
            &mapped,
            &["S3 request failed (HTTP 502): Unexpected: ", text],
        );
    }

    #[tokio::test]
    async fn a_store_that_is_not_there() {
        let (err, mapped) = read_failure(&s3_at(closed_port(), true), "k.csv").await;
        assert!(!is_missing(&err));
        assert_io_with(
            &mapped,
            &[
                "S3 request failed",
                "send http request",
                "Connection refused",
            ],
        );
    }

    /// GCS's JSON error with HTTP `status`, read from a bucket of unsigned requests.
    async fn gcs_answer(status: u16, body: &str) -> StorageError {
        let port = recorded_store(status, &[("content-type", "application/json")], body);
        let endpoint = format!("http://127.0.0.1:{port}");
        let gcs = storage(
            Gcs,
            "gs://bkt/k.csv",
            &[("fs.gs.storage.root.url", &endpoint)],
        );
        read_failure(&gcs, "k.csv").await.1
    }

    #[tokio::test]
    async fn gcs_json_errors_carry_the_status_as_code() {
        let body = r#"{"error":{"code":401,"message":"Invalid Credentials","errors":[{"message":"Invalid Credentials","domain":"global","reason":"authError","locationType":"header","location":"Authorization"}]}}"#;
        assert_refused_with(
            &gcs_answer(401, body).await,
            &["GCS refused the credentials: 401: Invalid Credentials"],
        );
        let body = r#"{"error":{"code":403,"message":"broker@p.iam.gserviceaccount.com does not have storage.objects.get access","errors":[]}}"#;
        assert_io_with(
            &gcs_answer(403, body).await,
            &["GCS error 403", "does not have storage.objects.get access"],
        );
    }

    #[tokio::test]
    async fn oss_and_azure_codes() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>\
                    <Message>The OSS Access Key Id you provided does not exist in our records.</Message>\
                    <RequestId>5C3D9175B6FC201293AD4890</RequestId><HostId>bkt.localhost</HostId></Error>";
        let port = recorded_store(403, &[("content-type", "application/xml")], body);
        let endpoint = format!("http://localhost:{port}");
        let oss = storage(
            Oss,
            "oss://bkt/k.csv",
            &[
                ("fs.oss.endpoint", &endpoint),
                ("fs.oss.region", "cn-hangzhou"),
                ("fs.oss.accessKeyId", "AK"),
                ("fs.oss.accessKeySecret", "SK"),
            ],
        );
        let (_, mapped) = read_failure(&oss, "k.csv").await;
        assert_refused_with(
            &mapped,
            &["OSS refused the credentials: InvalidAccessKeyId: The OSS Access Key Id"],
        );
        let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>\
                    <Message>Server failed to authenticate the request.</Message>\
                    <AuthenticationErrorDetail>The MAC signature found in the HTTP request is not the same as any computed signature.</AuthenticationErrorDetail></Error>";
        let port = recorded_store(
            403,
            &[
                ("content-type", "application/xml"),
                ("x-ms-error-code", "AuthenticationFailed"),
            ],
            body,
        );
        let (_, mapped) = read_failure(&azure_at(port), "k.csv").await;
        assert_refused_with(
            &mapped,
            &["refused the credentials: AuthenticationFailed: Server failed to authenticate"],
        );
    }

    /// Signing with no credential, as opendal reports it (its request-sign error around
    /// reqsign's), after our provider recorded why.
    #[test]
    fn a_failed_token_exchange_says_why() {
        let signing_failed = || {
            opendal::Error::new(ErrorKind::Unexpected, "signing http request")
                .with_operation("reqsign::Sign")
                .set_source(reqsign_core::Error::credential_invalid(
                    "failed to load signing credential",
                ))
        };
        let mapper = ErrorMapper {
            store: "GCS",
            anonymous: false,
            credential_failure: CredentialFailure::default(),
            dfs: false,
        };
        // Nothing recorded: the signer's own words.
        assert_io_with(
            &mapper.map("p", &signing_failed()),
            &["GCS request failed", "failed to load signing credential"],
        );
        mapper.credential_failure.record::<()>(&Err(reqsign_core::Error::credential_invalid(
            "the token server http://127.0.0.1:9/token refused the service account b@p: 400 Bad Request: invalid_grant",
        )));
        assert_refused_with(
            &mapper.map("p", &signing_failed()),
            &["GCS refused the credentials", "invalid_grant"],
        );
        mapper
            .credential_failure
            .record::<()>(&Err(reqsign_core::Error::unexpected(
                "the token server http://127.0.0.1:9/token did not answer",
            )));
        assert_io_with(
            &mapper.map("p", &signing_failed()),
            &["GCS credentials could not be obtained", "did not answer"],
        );
        // A later success forgets it.
        mapper.credential_failure.record(&Ok(()));
        assert!(mapper.credential_failure.last().is_none());
    }

    #[test]
    fn store_codes_are_read_from_the_parsed_body() {
        let text = r#"S3Error { code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the \"signature\" you provided.", resource: "/b/k", request_id: "1" }"#;
        let (code, message) = store_code(text).unwrap();
        assert_eq!(code, "SignatureDoesNotMatch");
        assert_eq!(
            message,
            "The request signature we calculated does not match the \"signature\" you provided."
        );
        assert!(store_code("").is_none());
        assert!(store_code("<html>bad gateway</html>").is_none());
        assert!(store_code(r#"S3Error { code: "", message: "x" }"#).is_none());
        // A longer field name that ends in `code` is not the code.
        let tricky = r#"E { status_code: 500, code: "SlowDown", message: "m" }"#;
        assert_eq!(store_code(tricky).unwrap().0, "SlowDown");
    }
}
