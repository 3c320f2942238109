//! Object stores on opendal: the filesystem shape the RPCs expect, given to a flat
//! namespace of keys, the same for every store. What differs per store (which properties
//! name the credentials and the endpoint, how an opendal `Operator` is built from them)
//! is a [`Dialect`], one file each: `s3.rs`; `oss.rs` and `cos.rs` on their native
//! opendal services; `obs.rs`, `ks3.rs` and `tos.rs` on those stores' S3-compatible APIs
//! (`compat.rs`); `gcs.rs` and `azure.rs`. `props.rs` reads properties for all of them.
//!
//! The mapping, as Hadoop's S3A draws it:
//!
//! * `scheme://bucket/a/b` is the key `a/b`. A key is a file.
//! * A "directory" `a` is the prefix `a/`: it exists when any key starts with it,
//!   including a zero-byte marker object `a/` (what `mkdir` leaves on S3). Nothing is
//!   written for parents: a directory appears with its first file and goes with its last.
//! * A key `a` and keys below `a/` may both exist: the file is what `stat(a)` sees, and a
//!   listing of the parent shows both, a file `a` and a directory `a`.
//! * Listings are one delimiter level (`list_dir`) and page through every continuation;
//!   globbing is the shared Hadoop walk in `storage::glob` on top of them.
//! * Deleting a path deletes the key and everything under the prefix (batch deletes).
//! * Rename is copy + delete: one key, or every key under a prefix. A prefix rename
//!   copies everything first and deletes the source only when all copies succeeded; a
//!   failed copy phase is rolled back, and any failure says what moved.
//! * Writers are multipart uploads in [`PART_SIZE`] parts, so a writer holds at most two
//!   parts in memory whatever the file size (opendal keeps the first part back until a
//!   second shows the file needs a multipart upload; a smaller file is one PUT). Commit
//!   completes the upload; abort, a failed write and a writer dropped unfinished abort
//!   it, so nothing partial becomes visible.
//! * Reads are ranged GETs, clamped at the size the object had when it was opened.

pub mod azure;
pub mod compat;
pub mod cos;
pub mod gcs;
pub mod ks3;
pub mod obs;
pub mod oss;
mod props;
pub mod s3;
pub mod tos;

use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use futures::StreamExt;
use opendal::{Buffer, EntryMode, ErrorKind, Metadata, Operator};

use super::cache::ClientCache;
use super::{
    FileStatus, Location, Properties, ReadBuf, ReadStream, Result, Storage, StorageError,
    WriteStream,
};

/// Part size of multipart uploads: what one writer buffers. S3's minimum part is 5 MiB
/// (all but the last), its maximum part count 10,000: 8 MiB parts allow 78 GiB files.
pub const PART_SIZE: usize = 8 << 20;

/// Block size reported for objects: S3A's `fs.s3a.block.size` default, what the Java
/// broker answers for them.
const BLOCK_SIZE: i64 = 32 << 20;

/// Copies of a prefix rename in flight at once.
const COPY_CONCURRENCY: usize = 8;

/// Keys named in a message about a partial rename.
const KEYS_SHOWN: usize = 5;

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

/// What one object store adds to the shared semantics.
pub trait Dialect: Send + Sync + 'static {
    /// Validated, normalized connection settings for one bucket: the client cache key.
    /// They hold secrets: never give them a `Debug` that prints them.
    type Settings: Clone + Eq + Hash + Send + Sync + 'static;

    /// The store's name in messages ("S3").
    const STORE: &'static str;

    /// Whether the URI's authority carries more than a bucket (Azure's
    /// `container@account.blob.core.windows.net`): then `@` and dots are the dialect's.
    const ACCOUNT_IN_AUTHORITY: bool = false;

    /// Reads the request's properties for the URI's scheme and authority (the bucket).
    /// Missing or contradictory keys are `InvalidArgument` naming the keys; unknown keys
    /// are ignored.
    fn settings(&self, scheme: &str, bucket: &str, props: &Properties) -> Result<Self::Settings>;

    /// A log-safe description of the settings (endpoint, region, kind of credentials;
    /// never a key).
    fn describe(settings: &Self::Settings) -> String;

    /// Whether requests go unsigned (no credentials given): refusals then say so.
    fn is_anonymous(settings: &Self::Settings) -> bool;

    /// The opendal operator for these settings, without layers (the backend adds the
    /// shared HTTP client and retries).
    fn operator(settings: &Self::Settings) -> opendal::Result<Operator>;

    /// [`Dialect::operator`], for a dialect whose own credential provider can fail for a
    /// reason worth telling (a token exchange refused): it records it in `failure`.
    fn operator_reporting(
        settings: &Self::Settings,
        failure: &CredentialFailure,
    ) -> opendal::Result<Operator> {
        let _ = failure;
        Self::operator(settings)
    }
}

/// Why a credential provider of ours last failed: reqsign's provider chain swallows
/// provider errors, and the signer then says only "failed to load signing credential".
#[derive(Clone, Default)]
pub struct CredentialFailure(Arc<Mutex<Option<(bool, String)>>>);

impl CredentialFailure {
    /// `refused`: the credentials themselves were refused (else the exchange failed).
    pub fn record(&self, refused: bool, message: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((refused, message));
    }

    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn last(&self) -> Option<(bool, String)> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// One object store's client cache, like `hdfs::HdfsBackend`: one operator per settings,
/// bounded, dropped when idle. Open streams hold their own operator handle.
pub struct ObjectBackend<D: Dialect> {
    dialect: D,
    clients: ClientCache<D::Settings, ObjectStorage>,
}

impl<D: Dialect> ObjectBackend<D> {
    pub fn new(dialect: D, idle_expiry: Duration) -> Self {
        ObjectBackend {
            dialect,
            clients: ClientCache::new(idle_expiry),
        }
    }

    /// The storage for `loc`'s bucket under these properties.
    pub fn resolve(&self, loc: &Location, props: &Properties) -> Result<Arc<ObjectStorage>> {
        let bucket = bucket_of(loc, D::ACCOUNT_IN_AUTHORITY)?;
        let settings = self.dialect.settings(loc.scheme(), bucket, props)?;
        let storage = self.clients.get_or_build(&settings, || {
            let transport = http_transport().map_err(|e| StorageError::Io {
                path: loc.to_string(),
                message: e,
            })?;
            let credential_failure = CredentialFailure::default();
            let op = D::operator_reporting(&settings, &credential_failure)
                .map_err(|e| {
                    StorageError::InvalidArgument(format!(
                        "{loc}: cannot set up an {} client: {}",
                        D::STORE,
                        describe_error(&e)
                    ))
                })?
                .with_context(opendal::OperationContext::new().with_http_transport(transport))
                .layer(
                    opendal::layers::RetryLayer::new()
                        .with_max_times(3)
                        .with_min_delay(Duration::from_millis(100))
                        .with_max_delay(Duration::from_secs(2))
                        .with_jitter(),
                );
            tracing::info!(
                "new {} client for bucket {bucket}: {}",
                D::STORE,
                D::describe(&settings)
            );
            Ok(ObjectStorage {
                op,
                store: D::STORE,
                anonymous: D::is_anonymous(&settings),
                credential_failure,
            })
        })?;
        Ok(storage)
    }
}

/// The bucket of `scheme://bucket/key` (the whole authority when `account` says it
/// holds an account too).
fn bucket_of(loc: &Location, account: bool) -> Result<&str> {
    let invalid = |reason: &str| StorageError::InvalidPath {
        path: loc.to_string(),
        reason: reason.to_string(),
    };
    let bucket = loc
        .authority()
        .ok_or_else(|| invalid("no bucket (expected scheme://bucket/key)"))?;
    if bucket.contains('@') && !account {
        return Err(invalid(
            "credentials in the URI are not supported: pass them as properties",
        ));
    }
    if bucket.contains(':') {
        return Err(invalid("a bucket name has no port"));
    }
    Ok(bucket)
}

/// One HTTP client (connection pool) for every object store: bounded connect and read
/// times, so a store that stops answering fails calls instead of hanging them.
fn http_transport() -> std::result::Result<opendal::HttpTransporter, String> {
    static TRANSPORT: OnceLock<std::result::Result<opendal::HttpTransporter, String>> =
        OnceLock::new();
    TRANSPORT
        .get_or_init(|| {
            // rustls without aws-lc: ring is the provider (see Cargo.toml). Installing
            // fails only when one is already installed, which is as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(120))
                .pool_idle_timeout(Duration::from_secs(30))
                .tcp_keepalive(Duration::from_secs(30))
                .dns_resolver(Arc::new(LocalhostResolver))
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
            Ok(opendal::HttpTransporter::new(
                opendal_http_transport_reqwest::ReqwestTransport::new(client),
            ))
        })
        .clone()
}

/// The system resolver, except that `localhost` and every `*.localhost` name are the
/// loopback address without asking anyone (RFC 6761 §6.3), as browsers and curl do:
/// virtual-host-style endpoints (`bucket.localhost:9000`) then work on a development
/// machine whose resolver does not know the subdomains.
struct LocalhostResolver;

impl reqwest::dns::Resolve for LocalhostResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                return Ok(Box::new(std::iter::once(loopback)) as reqwest::dns::Addrs);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// One bucket of one store, as a [`Storage`]. Cheap to clone (streams hold a clone).
#[derive(Clone)]
pub struct ObjectStorage {
    op: Operator,
    store: &'static str,
    anonymous: bool,
    credential_failure: CredentialFailure,
}

/// The key of a path: `/a/b` → `a/b`; the root is the empty key.
fn key_of(loc: &Location) -> &str {
    loc.path().trim_start_matches('/')
}

/// The prefix of a directory, as opendal lists it: `a/b/`, or `/` for the bucket root.
fn prefix_of(loc: &Location) -> String {
    let key = key_of(loc);
    if key.is_empty() {
        "/".to_string()
    } else {
        format!("{key}/")
    }
}

fn millis(meta: &Metadata) -> i64 {
    meta.last_modified()
        .and_then(|t| {
            std::time::SystemTime::from(t)
                .duration_since(UNIX_EPOCH)
                .ok()
        })
        .map_or(0, |d| d.as_millis() as i64)
}

fn file_status(loc: Location, meta: &Metadata) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: false,
        size: meta.content_length(),
        modification_time: millis(meta),
        block_size: BLOCK_SIZE,
    }
}

fn dir_status(loc: Location) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: true,
        size: 0,
        modification_time: 0,
        block_size: 0,
    }
}

impl ObjectStorage {
    /// A store failure as a [`StorageError`] on `path`: a missing key is `NotFound`,
    /// refused credentials `NotAuthorized` with the store's code and message, anything
    /// else `Io` with the store's code and message (or the transport's error).
    fn error(&self, path: impl std::fmt::Display, err: opendal::Error) -> StorageError {
        let path = path.to_string();
        if err.kind() == ErrorKind::NotFound {
            return StorageError::NotFound { path };
        }
        if describe_error(&err).contains("failed to load signing credential") {
            match self.credential_failure.last() {
                Some((true, why)) => {
                    return StorageError::NotAuthorized(format!(
                        "{path}: {} refused the credentials: {why}",
                        self.store
                    ))
                }
                Some((false, why)) => {
                    return StorageError::Io {
                        path,
                        message: format!("{} credentials could not be obtained: {why}", self.store),
                    }
                }
                None => {}
            }
        }
        match store_code(err.message()) {
            Some((code, message)) if CREDENTIALS_REFUSED.contains(&code.as_str()) => {
                StorageError::NotAuthorized(format!(
                    "{path}: {} refused the credentials: {code}: {message}",
                    self.store
                ))
            }
            Some((code, message)) => {
                let hint = if self.anonymous && err.kind() == ErrorKind::PermissionDenied {
                    " (the request was unsigned: no credentials were given)"
                } else {
                    ""
                };
                StorageError::Io {
                    path,
                    message: format!("{} error {code}: {message}{hint}", self.store),
                }
            }
            None => StorageError::Io {
                path,
                message: format!("{} request failed: {}", self.store, describe_error(&err)),
            },
        }
    }

    /// HEAD of a key: its metadata, `None` when there is no such key.
    async fn head(&self, key: &str) -> opendal::Result<Option<Metadata>> {
        if key.is_empty() {
            return Ok(None);
        }
        match self.op.stat(key).await {
            Ok(meta) if meta.mode() == EntryMode::DIR => Ok(None),
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            // A refused HEAD has no body, hence no error code: a listing of the same
            // key says whether the credentials or the permissions were refused.
            Err(e) if e.kind() == ErrorKind::PermissionDenied && e.message().is_empty() => {
                match self.op.lister_with(key).limit(1).await {
                    Err(listed) => Err(listed),
                    Ok(mut lister) => match lister.next().await {
                        Some(Err(listed)) => Err(listed),
                        _ => Err(e),
                    },
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Whether any key starts with `prefix` (`a/`), a marker `a/` included. Asked without
    /// a delimiter: stores on a real filesystem (SeaweedFS) keep an emptied directory as a
    /// common prefix for a while, but never as a key.
    async fn has_children(&self, prefix: &str) -> opendal::Result<bool> {
        let mut lister = self.op.lister_with(prefix).recursive(true).limit(1).await?;
        match lister.next().await {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }

    /// Every key under `prefix`, markers included, in key order.
    async fn keys_under(&self, prefix: &str) -> opendal::Result<Vec<String>> {
        let mut lister = self.op.lister_with(prefix).recursive(true).await?;
        let mut keys = Vec::new();
        while let Some(entry) = lister.next().await {
            keys.push(entry?.path().to_string());
        }
        keys.sort();
        Ok(keys)
    }

    async fn copy_key(op: &Operator, from: &str, to: &str) -> opendal::Result<()> {
        if from.ends_with('/') {
            // A directory marker: an empty object opendal only writes as a directory.
            op.create_dir(to).await
        } else {
            op.copy(from, to).await.map(|_| ())
        }
    }

    /// Copies every `(from, to)` pair, [`COPY_CONCURRENCY`] at a time. Stops at the
    /// first failure; returns the destinations written and that failure.
    async fn copy_all(
        &self,
        pairs: &[(String, String)],
    ) -> (Vec<String>, Option<(String, opendal::Error)>) {
        let mut done = Vec::new();
        let mut failure = None;
        let mut tasks = tokio::task::JoinSet::new();
        let mut next = pairs.iter();
        loop {
            while failure.is_none() && tasks.len() < COPY_CONCURRENCY {
                let Some((from, to)) = next.next() else { break };
                let (op, from, to) = (self.op.clone(), from.clone(), to.clone());
                tasks.spawn(async move {
                    let result = Self::copy_key(&op, &from, &to).await;
                    (from, to, result)
                });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            match joined {
                Ok((_, to, Ok(()))) => done.push(to),
                Ok((from, _, Err(e))) => {
                    failure.get_or_insert((from, e));
                }
                Err(e) => {
                    failure.get_or_insert((
                        String::new(),
                        opendal::Error::new(ErrorKind::Unexpected, format!("copy task: {e}")),
                    ));
                }
            }
        }
        (done, failure)
    }

    /// Rename of every key under `src/` to the same key under `dst/`.
    async fn rename_prefix(&self, src: &Location, dst: &Location) -> Result<()> {
        let (src_prefix, dst_prefix) = (prefix_of(src), prefix_of(dst));
        let keys = self
            .keys_under(&src_prefix)
            .await
            .map_err(|e| self.error(src, e))?;
        if keys.is_empty() {
            return Err(StorageError::NotFound {
                path: src.to_string(),
            });
        }
        let pairs: Vec<(String, String)> = keys
            .iter()
            .map(|k| (k.clone(), format!("{dst_prefix}{}", &k[src_prefix.len()..])))
            .collect();
        let what = format!("{src} -> {dst}");
        let (copied, failure) = self.copy_all(&pairs).await;
        if let Some((key, err)) = failure {
            // Nothing was deleted yet: take the copies back so the source stays whole.
            let cause = self.error(format!("copying {key}"), err);
            let rollback = PrefixDeleter::delete_all(&self.op, &dst_prefix, &copied).await;
            let message = match rollback {
                Ok(()) => format!(
                    "{cause}; nothing was moved ({} of {} objects had been copied and were removed again)",
                    copied.len(),
                    keys.len()
                ),
                Err(e) => format!(
                    "{cause}; the source is whole, but {} copies under {dst} could not be removed again ({}): {}",
                    copied.len(),
                    describe_error(&e),
                    shown(&copied)
                ),
            };
            return Err(StorageError::Io {
                path: what,
                message,
            });
        }
        if let Err(e) = PrefixDeleter::delete_all(&self.op, &src_prefix, &keys).await {
            return Err(StorageError::Io {
                path: what,
                message: format!(
                    "all {} objects were copied to {dst}, but deleting them from {src} failed: {}; \
                     they are in both places now (e.g. {})",
                    keys.len(),
                    describe_error(&e),
                    shown(&keys)
                ),
            });
        }
        Ok(())
    }
}

/// Batch deletes of keys under one prefix, and then of the directory keys they imply
/// (`p/`, `p/sub/` ...), deepest level first, one level per batch (a batch is unordered).
/// On S3 those are markers or nothing (deleting a missing key is a no-op); stores on a
/// real filesystem (SeaweedFS) drop the emptied directories with them instead of listing
/// them as common prefixes for minutes.
struct PrefixDeleter {
    op: Operator,
    deleter: opendal::Deleter,
    prefix: String,
    dirs: std::collections::BTreeSet<String>,
}

impl PrefixDeleter {
    async fn new(op: &Operator, prefix: &str) -> opendal::Result<Self> {
        Ok(PrefixDeleter {
            op: op.clone(),
            deleter: op.deleter().await?,
            prefix: prefix.to_string(),
            dirs: Default::default(),
        })
    }

    async fn delete(&mut self, key: &str) -> opendal::Result<()> {
        if let Some(rest) = key.strip_prefix(self.prefix.as_str()) {
            self.dirs.insert(self.prefix.clone());
            for (i, _) in rest.match_indices('/') {
                self.dirs
                    .insert(key[..self.prefix.len() + i + 1].to_string());
            }
        }
        if key.ends_with('/') {
            // A marker: deleted with the directories, after their children.
            return Ok(());
        }
        self.deleter.delete(key).await
    }

    async fn finish(mut self) -> opendal::Result<()> {
        self.deleter.close().await?;
        let mut levels: std::collections::BTreeMap<usize, Vec<String>> = Default::default();
        for dir in std::mem::take(&mut self.dirs) {
            levels
                .entry(dir.matches('/').count())
                .or_default()
                .push(dir);
        }
        for (_, dirs) in levels.into_iter().rev() {
            let mut deleter = self.op.deleter().await?;
            for dir in dirs {
                deleter.delete(dir).await?;
            }
            deleter.close().await?;
        }
        Ok(())
    }

    async fn delete_all(op: &Operator, prefix: &str, keys: &[String]) -> opendal::Result<()> {
        let mut deleter = PrefixDeleter::new(op, prefix).await?;
        for key in keys {
            deleter.delete(key).await?;
        }
        deleter.finish().await
    }
}

/// The first few keys of a list, for a message.
fn shown(keys: &[String]) -> String {
    let mut s = keys
        .iter()
        .take(KEYS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > KEYS_SHOWN {
        s.push_str(&format!(" and {} more", keys.len() - KEYS_SHOWN));
    }
    s
}

/// The store's own error code and message, from the error body opendal parsed
/// (`S3Error { code: "NoSuchBucket", message: "...", ... }`, the same shape for the
/// other stores' XML errors).
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

/// An opendal error without its context dump: kind, message and the causes below it
/// ("Unexpected: send http request: error sending request ...: Connection refused").
fn describe_error(err: &opendal::Error) -> String {
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

#[async_trait]
impl Storage for ObjectStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        if loc.is_root() {
            // The bucket: a listing says whether it is there and reachable.
            self.has_children("/")
                .await
                .map_err(|e| self.error(loc, e))?;
            return Ok(Some(dir_status(loc.clone())));
        }
        if let Some(meta) = self
            .head(key_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?
        {
            return Ok(Some(file_status(loc.clone(), &meta)));
        }
        let is_dir = self
            .has_children(&prefix_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?;
        Ok(is_dir.then(|| dir_status(loc.clone())))
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let prefix = prefix_of(loc);
        let strip = if loc.is_root() { "" } else { prefix.as_str() };
        let mut lister = self
            .op
            .lister(&prefix)
            .await
            .map_err(|e| self.error(loc, e))?;
        let mut out = Vec::new();
        let mut marker = false;
        while let Some(entry) = lister.next().await {
            let entry = entry.map_err(|e| self.error(loc, e))?;
            let Some(rest) = entry.path().strip_prefix(strip) else {
                continue;
            };
            let (name, is_dir) = match rest.strip_suffix('/') {
                Some(name) => (name, true),
                None => (rest, false),
            };
            if name.is_empty() {
                // The directory's own marker object `a/`.
                marker = true;
                continue;
            }
            if name.contains('/') {
                continue;
            }
            let child = loc.join(name);
            out.push(if is_dir {
                dir_status(child)
            } else {
                file_status(child, entry.metadata())
            });
        }
        if out.is_empty() && !marker && !loc.is_root() {
            // Not a directory: a file lists as itself, anything else is missing.
            return match self
                .head(key_of(loc))
                .await
                .map_err(|e| self.error(loc, e))?
            {
                Some(meta) => Ok(vec![file_status(loc.clone(), &meta)]),
                None => Err(StorageError::NotFound {
                    path: loc.to_string(),
                }),
            };
        }
        out.sort_by(|a, b| (a.name(), a.is_dir).cmp(&(b.name(), b.is_dir)));
        Ok(out)
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let key = key_of(loc);
        match self.head(key).await.map_err(|e| self.error(loc, e))? {
            Some(meta) => Ok(Box::new(ObjectReader {
                storage: self.clone(),
                key: key.to_string(),
                size: meta.content_length(),
                loc: loc.clone(),
            })),
            None => Err(StorageError::NotFound {
                path: loc.to_string(),
            }),
        }
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        if loc.is_root() {
            return Err(StorageError::Io {
                path: loc.to_string(),
                message: "cannot write to the root of a bucket".into(),
            });
        }
        if self
            .has_children(&prefix_of(loc))
            .await
            .map_err(|e| self.error(loc, e))?
        {
            return Err(StorageError::Io {
                path: loc.to_string(),
                message: "is a directory".into(),
            });
        }
        let writer = self
            .op
            .writer_with(key_of(loc))
            .chunk(PART_SIZE)
            .concurrent(1)
            .await
            .map_err(|e| self.error(loc, e))?;
        Ok(Box::new(ObjectWriter {
            writer: Some(writer),
            loc: loc.clone(),
            storage: self.clone(),
        }))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        if loc.is_root() {
            return Err(StorageError::Io {
                path: loc.to_string(),
                message: "refusing to delete everything in the bucket".into(),
            });
        }
        match self.op.delete(key_of(loc)).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(self.error(loc, e)),
        }
        let prefix = prefix_of(loc);
        let deleted = async {
            let mut lister = self.op.lister_with(&prefix).recursive(true).await?;
            let mut deleter = PrefixDeleter::new(&self.op, &prefix).await?;
            while let Some(entry) = lister.next().await {
                deleter.delete(entry?.path()).await?;
            }
            deleter.finish().await
        }
        .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.error(loc, e)),
        }
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        let what = || format!("{src} -> {dst}");
        if dst.path().starts_with(&format!("{}/", src.path())) || src.is_root() {
            return Err(StorageError::Io {
                path: what(),
                message: "cannot move a path below itself".into(),
            });
        }
        if self.stat(dst).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                path: dst.to_string(),
            });
        }
        let (src_key, dst_key) = (key_of(src), key_of(dst));
        if self
            .head(src_key)
            .await
            .map_err(|e| self.error(src, e))?
            .is_none()
        {
            return self.rename_prefix(src, dst).await;
        }
        self.op
            .copy(src_key, dst_key)
            .await
            .map_err(|e| self.error(what(), e))?;
        self.op.delete(src_key).await.map_err(|e| StorageError::Io {
            path: what(),
            message: format!(
                "copied to {dst}, but deleting {src} failed: {}; the object is in both places now",
                describe_error(&e)
            ),
        })
    }
}

struct ObjectReader {
    storage: ObjectStorage,
    key: String,
    /// The size when opened: reads are clamped to it.
    size: u64,
    loc: Location,
}

#[async_trait]
impl ReadStream for ObjectReader {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        if offset >= self.size || len == 0 {
            return Ok(0);
        }
        let end = self.size.min(offset.saturating_add(len as u64));
        let data: Buffer = self
            .storage
            .op
            .read_with(&self.key)
            .range(offset..end)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::RangeNotSatisfied => StorageError::Io {
                    path: self.loc.to_string(),
                    message: format!(
                        "the object shrank below {end} bytes since it was opened ({} bytes then)",
                        self.size
                    ),
                },
                _ => self.storage.error(&self.loc, e),
            })?;
        let before = buf.len();
        for chunk in data {
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.len() - before)
    }
}

struct ObjectWriter {
    /// `None` once committed or aborted.
    writer: Option<opendal::Writer>,
    loc: Location,
    storage: ObjectStorage,
}

impl ObjectWriter {
    fn ended(&self) -> StorageError {
        StorageError::Io {
            path: self.loc.to_string(),
            message: "the upload was already ended".into(),
        }
    }
}

#[async_trait]
impl WriteStream for ObjectWriter {
    async fn write(&mut self, data: Vec<u8>) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Err(self.ended());
        };
        writer
            .write(Buffer::from(data))
            .await
            .map_err(|e| self.storage.error(&self.loc, e))
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Err(self.ended());
        };
        match writer.close().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = self.storage.error(&self.loc, e);
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(path = %self.loc, "aborting the failed upload failed too: {}", describe_error(&abort));
                }
                Err(err)
            }
        }
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        writer
            .abort()
            .await
            .map_err(|e| self.storage.error(&self.loc, e))
    }
}

impl Drop for ObjectWriter {
    /// A writer dropped unfinished (a cancelled task) is aborted, never completed: its
    /// parts are thrown away in the background.
    fn drop(&mut self) {
        let Some(mut writer) = self.writer.take() else {
            return;
        };
        let path = self.loc.to_string();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = writer.abort().await {
                    tracing::warn!(%path, "aborting a dropped upload failed: {}", describe_error(&e));
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        // GCS's JSON errors carry the HTTP status as a number; a longer field name that
        // ends in `code` is not the code.
        let gcs = r#"GcsErrorResponse { error: GcsError { code: 401, message: "Invalid Credentials", errors: [] } }"#;
        assert_eq!(
            store_code(gcs).unwrap(),
            ("401".to_string(), "Invalid Credentials".to_string())
        );
        let tricky = r#"E { status_code: 500, code: "SlowDown", message: "m" }"#;
        assert_eq!(store_code(tricky).unwrap().0, "SlowDown");
    }

    #[test]
    fn keys_and_prefixes() {
        let l = Location::parse("s3a://b/a/b").unwrap();
        assert_eq!(key_of(&l), "a/b");
        assert_eq!(prefix_of(&l), "a/b/");
        let root = Location::parse("s3a://b/").unwrap();
        assert_eq!(key_of(&root), "");
        assert_eq!(prefix_of(&root), "/");
        assert!(bucket_of(&Location::parse("s3a:///k").unwrap(), false).is_err());
        assert!(bucket_of(&Location::parse("s3a://ak:sk@b/k").unwrap(), false).is_err());
        assert_eq!(bucket_of(&l, false).unwrap(), "b");
        let azure = Location::parse("wasbs://c@acct.blob.core.windows.net/k").unwrap();
        assert_eq!(
            bucket_of(&azure, true).unwrap(),
            "c@acct.blob.core.windows.net"
        );
    }

    #[test]
    fn shown_keys_are_bounded() {
        let keys: Vec<String> = (0..8).map(|i| format!("k{i}")).collect();
        assert_eq!(shown(&keys[..2]), "k0, k1");
        assert_eq!(shown(&keys), "k0, k1, k2, k3, k4 and 3 more");
    }
}
