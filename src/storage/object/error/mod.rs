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
//! ([`store_code`], in `answer.rs`). The tests (`tests.rs`) hold the rows to what opendal
//! really produces, from recorded store answers served on a loopback port, so an opendal
//! upgrade that moves a status or changes those prints fails them.

mod answer;
#[cfg(test)]
mod tests;

use std::fmt::Display;
use std::sync::{Arc, Mutex};

use opendal::ErrorKind;

use self::answer::{http_answer, store_code};
use crate::storage::StorageError;

// The other roles describe opendal errors in their messages the same way.
pub(super) use self::answer::describe_error;

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
