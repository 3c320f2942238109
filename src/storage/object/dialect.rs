//! The [`Dialect`] trait: what one object store adds to the shared semantics.

use std::hash::Hash;

use opendal::Operator;

use super::error::CredentialFailure;
use crate::storage::{Properties, Result};

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

    /// Whether every write carries a precondition (replace the generation there at
    /// openWriter, or create): for a store whose conditional writes take a better path
    /// than its plain ones.
    const CONDITIONAL_WRITES: bool = false;

    /// Whether the store has real directories with atomic directory renames and
    /// recursive deletes of its own (ADLS Gen2's DFS API): then a rename and a delete are
    /// one call, and writers fill a temporary file renamed over the target at commit.
    const HIERARCHICAL: bool = false;

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

    /// The HTTP transport this store's requests go through: `shared` (the one client of
    /// every store), or a wrapper around it for a dialect that signs or rewrites requests
    /// itself (`signing.rs`).
    fn transport(
        settings: &Self::Settings,
        shared: opendal::HttpTransporter,
    ) -> opendal::HttpTransporter {
        let _ = settings;
        shared
    }

    /// Whether deletes of many keys go in the store's batch requests with these settings
    /// (else one delete per key, several at once): a store whose batch the credentials
    /// cannot authorize says no.
    fn batch_deletes(settings: &Self::Settings) -> bool {
        let _ = settings;
        true
    }

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
