//! `hdfs://` and `viewfs://` on hdfs-native.
//!
//! Configuration comes in three layers, later ones winning: `core-site.xml` and
//! `hdfs-site.xml` from `HADOOP_CONF_DIR`, the same files in the broker's `conf/`, then
//! the request's own `dfs.*`, `fs.*` and `hadoop.*` properties ([`conf`]). One client is
//! kept per (scheme, authority, user or Kerberos identity, request properties); open
//! streams ([`reader`], [`writer`]) hold their own handles to the namenode connection (and
//! to an inline keytab's file), so evicting a client never breaks a stream in flight.
//! Every hdfs-native error becomes a `StorageError` in [`error`]. Kerberos: see
//! [`super::kerberos`].

mod auth_probe;
mod cleanup;
pub(super) mod conf;
mod error;
mod io;
mod reader;
mod resume;
mod writer;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hdfs_native::{Client, ClientBuilder};

use super::cache::ClientCache;
use super::kerberos::{self, Identity, KeytabDir, PrivateKeytab};
use super::temp_name::is_unfinished_write;
use super::{
    FileStatus, Location, Properties, ReadStream, Result, Storage, StorageError, WriteStream,
};
use auth_probe::AuthProbe;
use cleanup::{CleanupWorker, Cleanups};
use conf::RequestConfig;
use error::{to_storage_error, DataTransfer};
use reader::HdfsReader;
use writer::HdfsTempFile;

pub struct HdfsBackend {
    /// Values from the Hadoop XML files, read once at start.
    defaults: HashMap<String, String>,
    clients: ClientCache<ClientKey, HdfsStorage>,
    /// Where inline keytabs live while their clients do.
    keytabs: KeytabDir,
    /// `kerberos_token_expire_seconds`: the oldest a secured client gets.
    kerberos_max_age: Duration,
    /// Temporary files of failed writes still to remove, and who retries them.
    cleanups: Cleanups,
    cleanup_worker: CleanupWorker,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    scheme: String,
    authority: String,
    props: Vec<(String, String)>,
}

impl HdfsBackend {
    /// Reads the Hadoop XML files of `HADOOP_CONF_DIR`, then of `conf_dir` (the broker's).
    pub fn new(conf_dir: Option<&Path>, idle_expiry: Duration, kerberos_max_age: Duration) -> Self {
        let (cleanups, cleanup_worker) = cleanup::cleanups();
        HdfsBackend {
            cleanups,
            cleanup_worker,
            defaults: conf::hadoop_defaults(conf_dir),
            clients: ClientCache::new(idle_expiry),
            keytabs: KeytabDir::default(),
            kerberos_max_age,
        }
    }

    /// The client for `loc` under these properties, and `loc` with its authority filled in
    /// from `fs.defaultFS` when the client left it out (`hdfs:///path`).
    pub fn resolve(
        &self,
        loc: &Location,
        props: &Properties,
    ) -> Result<(Arc<HdfsStorage>, Location)> {
        let RequestConfig {
            mut config,
            key_props,
        } = RequestConfig::new(&self.defaults, props);
        let in_loc = |e: StorageError| match e {
            StorageError::InvalidArgument(m) => {
                StorageError::InvalidArgument(format!("{loc}: {m}"))
            }
            other => other,
        };
        let identity = if kerberos::wants_kerberos(&config).map_err(in_loc)? {
            Some(Identity::from_props(props).map_err(in_loc)?)
        } else {
            None
        };
        let loc = conf::qualify(loc, &config)?;
        let authority = loc.authority().unwrap_or_default().to_string();
        conf::check_nameservice(&authority, &config)?;
        conf::name_single_namenodes(&mut config);
        conf::fill_failover_defaults(loc.scheme(), &authority, &mut config);
        // A simple client of a secured cluster learns so from the namenodes themselves.
        let transfer = DataTransfer::new(identity.is_some(), &config)
            .map_err(|m| StorageError::InvalidArgument(format!("{loc}: {m}")))?;
        let auth_probe = identity.is_none().then(|| {
            let namenodes = conf::namenode_addresses(loc.scheme(), &authority, &config);
            AuthProbe::new(namenodes)
        });
        let key = ClientKey {
            scheme: loc.scheme().to_string(),
            authority,
            props: key_props,
        };
        let max_age = identity.as_ref().map(|_| self.kerberos_max_age);
        let storage = self.clients.get_or_build_aged(&key, max_age, || {
            let mut builder = ClientBuilder::new()
                .with_url(format!("{}://{}", key.scheme, key.authority))
                .with_config(config)
                .with_io_runtime(io::handle());
            let mut keytab = None;
            if let Some(identity) = &identity {
                // The principal is the user: `username` would ask the namenode to let it
                // impersonate someone else, which the Java broker never does either.
                let credentials = identity.credentials(&self.keytabs).map_err(in_loc)?;
                builder = builder
                    .with_kerberos_principal(credentials.principal.clone())
                    .with_kerberos_keytab(credentials.keytab.to_string_lossy())
                    .with_kerberos_cache(credentials.cache.clone());
                keytab = credentials.keep_alive();
                tracing::debug!(principal = %credentials.principal, "new Kerberos HDFS client for {loc}");
            } else if let Some(user) = props.get("username").filter(|u| !u.is_empty()) {
                builder = builder.with_user(user.clone());
            }
            let client = builder.build().map_err(|e| {
                StorageError::InvalidArgument(format!("{loc}: cannot set up an HDFS client: {e}"))
            })?;
            Ok(HdfsStorage {
                client,
                keytab,
                cleanups: self.cleanups.clone(),
                auth_probe,
                transfer,
            })
        })?;
        Ok((storage, loc))
    }

    /// Drops clients that are idle or too old now (with them, inline keytabs no stream
    /// still holds), also when no request comes to do it, and retries removals of
    /// temporary files the cluster could not take when a write failed. Runs until the
    /// process ends and sleeps while no client is cached and nothing is to remove: an idle
    /// broker does no work.
    pub async fn run_sweeper(&self) {
        tokio::join!(self.clients.run_sweeper(), self.cleanup_worker.run());
    }
}

/// One namenode, nameservice or viewfs mount table.
pub struct HdfsStorage {
    client: Client,
    /// An inline keytab's file: kept while this client or any stream of it lives, since
    /// every new namenode connection reads it again.
    keytab: Option<Arc<PrivateKeytab>>,
    cleanups: Cleanups,
    /// For simple authentication: whether the namenodes would rather see Kerberos.
    auth_probe: Option<AuthProbe>,
    /// For streams' datanode failures to point at the data transfer settings.
    transfer: DataTransfer,
}

impl HdfsStorage {
    /// Runs a namenode call, answered at once (rather than after the client's retries)
    /// when the cluster turns simple authentication away.
    async fn call<T>(
        &self,
        loc: &Location,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match &self.auth_probe {
            Some(probe) => probe.guard(loc, call).await,
            None => call.await,
        }
    }
}

fn status_of(base: &Location, s: hdfs_native::client::FileStatus) -> FileStatus {
    FileStatus {
        location: base.with_path(&s.path),
        is_dir: s.isdir,
        size: if s.isdir { 0 } else { s.length as u64 },
        modification_time: s.modification_time as i64,
        block_size: s.blocksize.unwrap_or(0) as i64,
    }
}

#[async_trait]
impl Storage for HdfsStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        self.call(loc, async {
            match self.client.get_file_info(loc.path()).await {
                Ok(s) => Ok(Some(status_of(loc, s))),
                Err(e) => match to_storage_error(loc, e) {
                    StorageError::NotFound { .. } => Ok(None),
                    other => Err(other),
                },
            }
        })
        .await
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let listing = self
            .call(loc, async {
                (self.client.list_status(loc.path(), false).await)
                    .map_err(|e| to_storage_error(loc, e))
            })
            .await?;
        // A write in progress (or one a killed broker left) is no file to load.
        let mut out: Vec<FileStatus> = listing
            .into_iter()
            .map(|s| status_of(loc, s))
            .filter(|s| !is_unfinished_write(s.name()))
            .collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let keytab = self.keytab.clone();
        let opening = HdfsReader::open(&self.client, keytab, self.transfer.clone(), loc);
        let reader = self.call(loc, opening).await?;
        Ok(Box::new(reader))
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        let keytab = self.keytab.clone();
        let (cleanups, transfer) = (self.cleanups.clone(), self.transfer.clone());
        let creating = HdfsTempFile::create(&self.client, keytab, cleanups, transfer, loc);
        let writer = self.call(loc, creating).await?;
        Ok(Box::new(writer))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        self.call(loc, async {
            match self.client.delete(loc.path(), true).await {
                Ok(_) => Ok(()),
                Err(e) => match to_storage_error(loc, e) {
                    StorageError::NotFound { .. } => Ok(()),
                    other => Err(other),
                },
            }
        })
        .await
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        if self.stat(dst).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                path: dst.to_string(),
            });
        }
        let renaming = self.client.rename(src.path(), dst.path(), false);
        self.call(src, async {
            renaming.await.map_err(|e| match to_storage_error(src, e) {
                StorageError::Io { message, .. } => StorageError::Io {
                    path: format!("{src} -> {dst}"),
                    message,
                },
                other => other,
            })
        })
        .await
    }
}
