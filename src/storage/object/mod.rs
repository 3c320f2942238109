//! Object stores on opendal: the filesystem shape the RPCs expect, given to a flat
//! namespace of keys, the same for every store. What differs per store (which properties
//! name the credentials and the endpoint, how an opendal `Operator` is built from them)
//! is a [`Dialect`], a file or folder each: `s3/` (settings, credentials, and
//! `assume_role.rs`, its STS provider); `oss.rs` and `cos.rs` on their native opendal
//! services; `obs.rs`, `ks3.rs` and `tos.rs` on those stores' S3-compatible APIs
//! (`compat.rs`); `gcs/`, `azure.rs` (Blob API) and `azdls.rs` (ADLS Gen2's DFS API, with
//! real directories: [`Dialect::HIERARCHICAL`]). `props.rs` reads properties for all of them.
//!
//! The shared part, one file per role: `backend.rs` (client cache, URI → bucket),
//! `transport.rs` (the HTTP client), `storage.rs` (one bucket as a `Storage`),
//! `lister.rs`, `reader.rs`, `writer.rs`, `delete.rs`, `rename.rs`, and `error/`,
//! where every store failure becomes a `StorageError`.
//!
//! The mapping, as Hadoop's S3A draws it:
//!
//! * `scheme://bucket/a/b` is the key `a/b`. A key is a file.
//! * A "directory" `a` is the prefix `a/`: it exists when any key starts with it,
//!   including a zero-byte marker object `a/` (what `mkdir` leaves on S3). Nothing is
//!   written for parents: a directory appears with its first file and goes with its last.
//! * A key `a` and keys below `a/` may both exist: the file is what `stat(a)` sees, and a
//!   listing of the parent shows both, a file `a` and a directory `a`.
//! * Listings page through every continuation: one delimiter level for `list_dir`
//!   (globbing is the shared Hadoop walk in `storage::glob` on top of it), one listing
//!   without a delimiter for `list_recursive`.
//! * Deleting a path deletes the key and everything under the prefix (batch deletes).
//! * Rename is copy + delete: one key, or every key under a prefix. A prefix rename
//!   copies everything first and deletes the source only when all copies succeeded; a
//!   failed copy phase is rolled back, and any failure says what moved.
//! * Writers are multipart uploads in [`PART_SIZE`] parts, two uploaded at once, so a
//!   writer holds at most three parts in memory whatever the file size (a smaller file is
//!   one PUT). Commit completes the upload; abort, a failed write and a writer dropped
//!   unfinished abort it, so nothing partial becomes visible.
//! * Reads are ranged GETs, clamped at the size the object had when it was opened.

pub mod azdls;
pub mod azure;
mod backend;
pub mod compat;
pub mod cos;
mod delete;
mod dialect;
mod error;
pub mod gcs;
pub mod ks3;
mod lister;
pub mod obs;
pub mod oss;
mod props;
mod reader;
mod rename;
pub mod s3;
mod signing;
mod storage;
pub mod tos;
mod transport;
mod writer;

pub use backend::ObjectBackend;
pub use dialect::Dialect;
pub use error::CredentialFailure;
pub use storage::ObjectStorage;
pub use writer::{PARTS_IN_FLIGHT, PART_SIZE};
