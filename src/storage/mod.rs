//! Storage backends behind one interface.
//!
//! RPC handlers only see [`Storage`], [`ReadStream`] and [`WriteStream`]; which store
//! answers is decided by the URI scheme in [`Backends::resolve`]. The trait is shaped
//! for the slowest backend we serve (object stores): everything is async, reads are
//! positional, and a writer must be either committed or aborted, never just dropped.

mod atomic_write;
mod cache;
mod clip;
mod fill;
pub mod ftp;
pub mod glob;
pub mod hdfs;
mod kerberos;
pub mod local;
mod location;
mod login;
mod metered;
pub mod object;
pub mod sftp;
mod temp_name;
pub mod webhdfs;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

pub use crate::buffer::ReadBuf;
use crate::metrics::Label;
use crate::status::Status;
pub use location::{redact_userinfo, Location};

/// The user's `WITH BROKER (...)` map, verbatim. Unknown keys are ignored by every backend.
pub type Properties = BTreeMap<String, String>;

/// Request properties from literal pairs (unit tests of every backend).
#[cfg(test)]
pub fn props_of(pairs: &[(&str, &str)]) -> Properties {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// Why a storage call failed. Each variant has one status ([`StorageError::status`]); the
/// text names the path and the cause, the RPC layer adds the operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// No scheme, unparsable URI or a scheme nothing serves.
    #[error("invalid path '{path}': {reason}")]
    InvalidPath { path: String, reason: String },
    /// A bad property value or argument.
    #[error("{0}")]
    InvalidArgument(String),
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: already exists")]
    AlreadyExists { path: String },
    /// Credentials refused by the store.
    #[error("not authorized: {0}")]
    NotAuthorized(String),
    #[error("operation not supported: {0}")]
    Unsupported(String),
    /// The store said no for any other reason (I/O, permission, rename failed ...).
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl StorageError {
    /// The status clients get for this failure (SEMANTICS.md "Status codes"); `rpc::error`
    /// answers every storage failure with it, and the metering layer counts by it.
    pub fn status(&self) -> Status {
        match self {
            StorageError::InvalidPath { .. } => Status::InvalidInputFilePath,
            StorageError::InvalidArgument(_) => Status::InvalidArgument,
            StorageError::NotFound { .. } => Status::FileNotFound,
            StorageError::NotAuthorized(_) => Status::NotAuthorized,
            StorageError::Unsupported(_) => Status::OperationNotSupported,
            StorageError::AlreadyExists { .. } | StorageError::Io { .. } => {
                Status::TargetStorageServiceError
            }
        }
    }

    /// Wraps an OS error, keeping its text ("Permission denied (os error 13)").
    /// A path through a regular file (`a.csv/x`) does not exist either.
    pub fn io(path: impl std::fmt::Display, err: std::io::Error) -> Self {
        use std::io::ErrorKind;
        if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) {
            return StorageError::NotFound {
                path: path.to_string(),
            };
        }
        StorageError::Io {
            path: path.to_string(),
            message: err.to_string(),
        }
    }
}

/// One entry of a listing or a stat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileStatus {
    /// Fully qualified location; its `Display` is what clients reopen verbatim.
    pub location: Location,
    pub is_dir: bool,
    /// Bytes for a file; 0 for a directory.
    pub size: u64,
    /// Milliseconds since the epoch, 0 when the store does not say.
    pub modification_time: i64,
    /// The store's block size, 0 when it has none.
    pub block_size: i64,
}

impl FileStatus {
    pub fn name(&self) -> &str {
        self.location.name()
    }
}

/// A filesystem or object store, as the RPCs need it.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Status of exactly this path; `Ok(None)` when nothing is there.
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>>;

    /// Direct children of a directory, sorted by name. A missing directory is `NotFound`;
    /// a file is listed as itself.
    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>>;

    /// Every file below a directory, all depths, depth first in name order (a file
    /// before a directory of the same name); directories are no entries. A missing
    /// directory is `NotFound`; a file is listed as itself. By default a walk of
    /// [`Storage::list_dir`]: one listing per directory.
    async fn list_recursive(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let children = self.list_dir(loc).await?;
        files_below(self, children).await
    }

    /// Opens a file for positional reads. A missing path or a directory is `NotFound`.
    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>>;

    /// Creates (or replaces) a file for sequential writes, creating missing parents.
    /// Nothing is visible under `loc` as complete until [`WriteStream::commit`].
    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>>;

    /// Deletes a file or a whole directory tree. A missing path is OK.
    async fn delete(&self, loc: &Location) -> Result<()>;

    /// Renames a file or directory. A missing source or an existing destination is an error.
    async fn rename(&self, src: &Location, dst: &Location) -> Result<()>;
}

/// Replaces every directory in `entries` by all the files below it, depth first in name
/// order, keeping files as they are.
async fn files_below<S: Storage + ?Sized>(
    fs: &S,
    entries: Vec<FileStatus>,
) -> Result<Vec<FileStatus>> {
    let mut out = Vec::new();
    // Work stack in reverse so the output keeps listing order.
    let mut stack: Vec<FileStatus> = entries.into_iter().rev().collect();
    while let Some(entry) = stack.pop() {
        if entry.is_dir {
            match fs.list_dir(&entry.location).await {
                Ok(children) => stack.extend(children.into_iter().rev()),
                // Deleted while we walked: nothing below it any more.
                Err(StorageError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        } else {
            out.push(entry);
        }
    }
    Ok(out)
}

/// An open file for positional reads. Shared (`&self`) so reads of one fd never wait on a lock.
#[async_trait]
pub trait ReadStream: Send + Sync {
    /// File length when it was opened.
    fn size(&self) -> u64;

    /// Appends up to `len` bytes read at `offset` to `buf` and returns how many it appended.
    /// May return fewer than asked (callers loop); returns 0 only at or past end of file.
    /// Read into [`ReadBuf::unfilled`] where the store allows: that is the reply's buffer.
    /// A store whose client holds the bytes in buffers of its own hands those over
    /// ([`ReadBuf::push`]) instead; no store does both.
    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize>;

    /// How many chunks a sequential reader keeps read ahead (see `streams::reader`).
    fn read_ahead_depth(&self) -> usize {
        1
    }
}

/// Reads until `buf` holds `len` bytes from `offset`, or the file ends: stores may return
/// short reads, and only the end of the file may end an answer early (BE takes a short
/// answer for EOF, and FE loops on an empty one). An error comes with the offset it hit.
pub async fn read_full(
    stream: &dyn ReadStream,
    offset: u64,
    len: usize,
    buf: &mut ReadBuf,
) -> std::result::Result<(), (u64, StorageError)> {
    while buf.len() < len {
        let at = offset + buf.len() as u64;
        match stream.read_at(at, len - buf.len(), buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err((at, e)),
        }
    }
    Ok(())
}

/// A file being written sequentially. Dropping it without `commit` or `abort` leaks
/// nothing visible, but callers always end it explicitly so failures are reported.
#[async_trait]
pub trait WriteStream: Send {
    /// Appends `data`: a slice of the buffer the pwrite was received into, so a store
    /// that can take `Bytes` (or `&[u8]`) needs no copy of its own.
    async fn write(&mut self, data: Bytes) -> Result<()>;

    /// Makes everything written durable and visible under the target path.
    async fn commit(self: Box<Self>) -> Result<()>;

    /// Throws the partial file away: nothing becomes visible.
    async fn abort(self: Box<Self>) -> Result<()>;
}

/// The backends, one per store family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Local,
    Hdfs,
    S3,
    Oss,
    Cos,
    Obs,
    Ks3,
    Tos,
    Gcs,
    Azure,
    Ftp,
    Sftp,
    WebHdfs,
    /// ADLS Gen2 through its DFS API (`object::azdls`).
    AzureDfs,
}

/// Every URI scheme served and the backend serving it: the one list that resolving, the
/// metrics' `scheme` label and the "unsupported scheme" answer read.
const SCHEMES: [(&str, Backend); 21] = [
    ("file", Backend::Local),
    ("hdfs", Backend::Hdfs),
    ("viewfs", Backend::Hdfs),
    ("s3a", Backend::S3),
    ("s3", Backend::S3),
    ("s3n", Backend::S3),
    ("oss", Backend::Oss),
    ("cosn", Backend::Cos),
    ("cos", Backend::Cos),
    ("obs", Backend::Obs),
    ("ks3", Backend::Ks3),
    ("tos", Backend::Tos),
    ("gs", Backend::Gcs),
    ("abfs", Backend::AzureDfs),
    ("abfss", Backend::AzureDfs),
    ("wasb", Backend::Azure),
    ("wasbs", Backend::Azure),
    ("ftp", Backend::Ftp),
    ("sftp", Backend::Sftp),
    ("webhdfs", Backend::WebHdfs),
    ("swebhdfs", Backend::WebHdfs),
];

/// The metrics' `scheme` label of a client path or a stream's qualified path: a served
/// scheme, or `other` (unparsable paths included), so clients never choose label values.
pub fn scheme_label(path: &str) -> Label {
    label_of_scheme(path.split_once(':').map_or("", |(s, _)| s))
}

fn label_of_scheme(scheme: &str) -> Label {
    match SCHEMES
        .iter()
        .position(|(s, _)| s.eq_ignore_ascii_case(scheme))
    {
        Some(slot) => Label {
            slot,
            name: SCHEMES[slot].0,
        },
        None => Label {
            slot: SCHEMES.len(),
            name: "other",
        },
    }
}

#[cfg(test)]
#[test]
fn scheme_labels_come_from_the_scheme_table() {
    assert_eq!(scheme_label("hdfs://ns1/a").name, "hdfs");
    assert_eq!(scheme_label("file:/tmp/x").name, "file");
    assert_eq!(scheme_label("S3A://bucket/k").name, "s3a");
    assert_eq!(scheme_label("/no/scheme").name, "other");
    assert_eq!(scheme_label("evil{label=\"x\"}:/p").name, "other");
    assert_eq!(scheme_label("").name, "other");
    assert_eq!(label_of_scheme("gs"), scheme_label("gs://b/k"));
}

/// Picks the backend for a URI and keeps each backend's client cache.
pub struct Backends {
    local: Arc<local::LocalStorage>,
    hdfs: hdfs::HdfsBackend,
    s3: object::ObjectBackend<object::s3::S3>,
    oss: object::ObjectBackend<object::oss::Oss>,
    cos: object::ObjectBackend<object::cos::Cos>,
    obs: object::ObjectBackend<object::obs::Obs>,
    ks3: object::ObjectBackend<object::ks3::Ks3>,
    tos: object::ObjectBackend<object::tos::Tos>,
    gcs: object::ObjectBackend<object::gcs::Gcs>,
    azure: object::ObjectBackend<object::azure::Azure>,
    ftp: ftp::FtpBackend,
    sftp: sftp::SftpBackend,
    webhdfs: webhdfs::WebHdfsBackend,
    azure_dfs: object::ObjectBackend<object::azdls::AzureDfs>,
}

impl Backends {
    /// `conf_dir` is the broker's `conf/` folder (Hadoop XML files are read from it);
    /// cached clients idle longer than `idle_expiry` are dropped, Kerberos-secured ones
    /// also once they are `kerberos_max_age` old.
    pub fn new(
        conf_dir: Option<&std::path::Path>,
        idle_expiry: std::time::Duration,
        kerberos_max_age: std::time::Duration,
    ) -> Self {
        Backends {
            local: Arc::new(local::LocalStorage::new(local::LocalRoots::none())),
            hdfs: hdfs::HdfsBackend::new(conf_dir, idle_expiry, kerberos_max_age),
            s3: object::ObjectBackend::new(object::s3::S3, idle_expiry),
            oss: object::ObjectBackend::new(object::oss::Oss, idle_expiry),
            cos: object::ObjectBackend::new(object::cos::Cos, idle_expiry),
            obs: object::ObjectBackend::new(Default::default(), idle_expiry),
            ks3: object::ObjectBackend::new(Default::default(), idle_expiry),
            tos: object::ObjectBackend::new(Default::default(), idle_expiry),
            gcs: object::ObjectBackend::new(object::gcs::Gcs, idle_expiry),
            azure: object::ObjectBackend::new(object::azure::Azure, idle_expiry),
            ftp: ftp::FtpBackend::new(idle_expiry),
            sftp: sftp::SftpBackend::new(idle_expiry),
            webhdfs: webhdfs::WebHdfsBackend::new(conf_dir, idle_expiry),
            azure_dfs: object::ObjectBackend::new(object::azdls::AzureDfs, idle_expiry),
        }
    }

    /// Serves `file:` paths beneath `roots` only (none until this is called).
    pub fn with_local_roots(mut self, roots: local::LocalRoots) -> Self {
        self.local = Arc::new(local::LocalStorage::new(roots));
        self
    }

    /// Drops every backend's expired clients when they expire, not at the next request:
    /// an idle bucket's client goes, and an inline keytab's file with its HDFS client.
    pub async fn run_sweeper(&self) {
        tokio::join!(
            self.hdfs.run_sweeper(),
            self.s3.run_sweeper(),
            self.oss.run_sweeper(),
            self.cos.run_sweeper(),
            self.obs.run_sweeper(),
            self.ks3.run_sweeper(),
            self.tos.run_sweeper(),
            self.gcs.run_sweeper(),
            self.azure.run_sweeper(),
            self.ftp.run_sweeper(),
            self.sftp.run_sweeper(),
            self.webhdfs.run_sweeper(),
            self.azure_dfs.run_sweeper(),
        );
    }

    /// The backend serving `loc`, and `loc` fully qualified as that backend prints it
    /// (an HDFS path without authority gets the one of `fs.defaultFS`). The backend comes
    /// wrapped in the metering layer: every failure it reports is counted once, there.
    pub async fn resolve(
        &self,
        loc: &Location,
        props: &Properties,
    ) -> Result<(Arc<dyn Storage>, Location)> {
        let scheme = label_of_scheme(loc.scheme());
        match self.backend_for(loc, props) {
            Ok((fs, loc)) => Ok((metered::Metered::wrap(fs, scheme), loc)),
            Err(e) => Err(metered::count(scheme, e)),
        }
    }

    fn backend_for(
        &self,
        loc: &Location,
        props: &Properties,
    ) -> Result<(Arc<dyn Storage>, Location)> {
        let served = SCHEMES
            .iter()
            .find(|(s, _)| *s == loc.scheme())
            .map(|&(_, backend)| backend);
        let fs: Arc<dyn Storage> = match served {
            Some(Backend::Local) => self.local.clone(),
            Some(Backend::Hdfs) => {
                let (fs, loc) = self.hdfs.resolve(loc, props)?;
                return Ok((fs, loc));
            }
            Some(Backend::S3) => self.s3.resolve(loc, props)?,
            Some(Backend::Oss) => self.oss.resolve(loc, props)?,
            Some(Backend::Cos) => self.cos.resolve(loc, props)?,
            Some(Backend::Obs) => self.obs.resolve(loc, props)?,
            Some(Backend::Ks3) => self.ks3.resolve(loc, props)?,
            Some(Backend::Tos) => self.tos.resolve(loc, props)?,
            Some(Backend::Gcs) => self.gcs.resolve(loc, props)?,
            Some(Backend::Azure) => self.azure.resolve(loc, props)?,
            Some(Backend::Ftp) => self.ftp.resolve(loc, props)?,
            Some(Backend::Sftp) => self.sftp.resolve(loc, props)?,
            Some(Backend::WebHdfs) => {
                let (fs, loc) = self.webhdfs.resolve(loc, props)?;
                return Ok((fs, loc));
            }
            Some(Backend::AzureDfs) => self.azure_dfs.resolve(loc, props)?,
            None => {
                let served: Vec<&str> = SCHEMES.iter().map(|(s, _)| *s).collect();
                return Err(StorageError::InvalidPath {
                    path: loc.to_string(),
                    reason: format!(
                        "unsupported scheme '{}' (served: {})",
                        loc.scheme(),
                        served.join(", ")
                    ),
                });
            }
        };
        Ok((fs, loc.clone()))
    }
}
