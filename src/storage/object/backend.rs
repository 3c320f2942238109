//! [`ObjectBackend`]: one store's client cache, and how a request's URI and properties
//! become an [`ObjectStorage`] for one bucket.

use std::sync::Arc;
use std::time::Duration;

use super::dialect::Dialect;
use super::error::{describe_error, CredentialFailure, ErrorMapper};
use super::storage::ObjectStorage;
use super::transport::http_transport;
use crate::storage::cache::ClientCache;
use crate::storage::{Location, Properties, Result, StorageError};

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

    /// Drops idle clients as they expire (a task of the composition root's).
    pub async fn run_sweeper(&self) {
        self.clients.run_sweeper().await
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
                .with_context(
                    opendal::OperationContext::new()
                        .with_http_transport(D::transport(&settings, transport)),
                )
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
            Ok(ObjectStorage::new(
                op,
                ErrorMapper {
                    store: D::STORE,
                    anonymous: D::is_anonymous(&settings),
                    credential_failure,
                    dfs: D::HIERARCHICAL,
                },
                D::batch_deletes(&settings),
                D::CONDITIONAL_WRITES,
                D::HIERARCHICAL,
            ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        let l = Location::parse("s3a://b/a/b").unwrap();
        assert!(bucket_of(&Location::parse("s3a:///k").unwrap(), false).is_err());
        assert!(bucket_of(&Location::parse("s3a://ak:sk@b/k").unwrap(), false).is_err());
        assert_eq!(bucket_of(&l, false).unwrap(), "b");
        let azure = Location::parse("wasbs://c@acct.blob.core.windows.net/k").unwrap();
        assert_eq!(
            bucket_of(&azure, true).unwrap(),
            "c@acct.blob.core.windows.net"
        );
    }
}
