//! `webhdfs://host:port/path` and `swebhdfs://` (HTTPS): HDFS through its REST API, on a
//! namenode's HTTP port or an HttpFS gateway (the same API), or `webhdfs://<nameservice>/`
//! failing over between the namenodes of an HA nameservice, as Hadoop's
//! WebHdfsFileSystem reaches it. The REST calls are written here on reqwest: opendal's
//! WebHDFS service has no rename, deletes only non-recursively, and sends a file in one
//! request body (or as blocks concatenated at the end), where the broker needs renames of
//! directories, recursive deletes and a streamed upload committed by rename.
//!
//! One file per role: `conf.rs` (properties → [`conf::Settings`], the cache key),
//! `core.rs` (URLs, redirects, the HTTP client), `lister.rs`, `reader.rs`, `writer.rs`
//! (atomic writes as on `hdfs://`), `error.rs` (every failure → `StorageError`).

mod conf;
mod core;
mod error;
mod lister;
mod reader;
mod trust;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;

use self::core::{boolean, Core};
use super::cache::ClientCache;
use super::{
    FileStatus, Location, Properties, ReadStream, Result, Storage, StorageError, WriteStream,
};
use conf::Settings;
use error::to_storage_error;
use reader::WebHdfsReader;
use writer::WebHdfsTempFile;

/// One client per settings (endpoints, user or token, timeouts, truststore), dropped
/// when idle.
pub struct WebHdfsBackend {
    clients: ClientCache<Settings, WebHdfsStorage>,
    /// Hadoop's `core-site.xml` and `hdfs-site.xml` keys: under every request's own.
    site: Properties,
    /// The `ssl.client.truststore.*` keys of Hadoop's `ssl-client.xml` (of
    /// `HADOOP_CONF_DIR`, then of the broker's conf, later winning): what a request that
    /// names no truststore uses.
    ssl_client: Properties,
}

impl WebHdfsBackend {
    pub fn new(conf_dir: Option<&Path>, idle_expiry: Duration) -> Self {
        WebHdfsBackend {
            clients: ClientCache::new(idle_expiry),
            site: conf::site_xml(conf_dir),
            ssl_client: trust::ssl_client_xml(conf_dir),
        }
    }

    /// The client for `loc` under these properties, and `loc` with its host filled in
    /// from `fs.defaultFS` when the client left it out (`webhdfs:///path`).
    pub fn resolve(
        &self,
        loc: &Location,
        props: &Properties,
    ) -> Result<(Arc<WebHdfsStorage>, Location)> {
        // The request's keys over ssl-client.xml's truststore (unless the request names
        // its own) over the site XML's.
        let mut merged = self.site.clone();
        if !props.contains_key(trust::LOCATION_KEY) {
            merged.extend(self.ssl_client.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        merged.extend(props.iter().map(|(k, v)| (k.clone(), v.clone())));
        let loc = conf::qualify(loc, &merged)?;
        let settings = Settings::new(&loc, &merged)?;
        let storage = self.clients.get_or_build(&settings, || {
            let core = Core::new(settings.clone())
                .map_err(|e| StorageError::InvalidArgument(format!("{loc}: {e}")))?;
            Ok::<_, StorageError>(WebHdfsStorage {
                core: Arc::new(core),
            })
        })?;
        Ok((storage, loc))
    }

    /// Drops idle clients when they expire, not at the next request.
    pub async fn run_sweeper(&self) {
        self.clients.run_sweeper().await
    }
}

/// One WebHDFS server as seen by one user.
pub struct WebHdfsStorage {
    core: Arc<Core>,
}

#[async_trait]
impl Storage for WebHdfsStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        lister::stat(&self.core, loc).await
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        lister::list_dir(&self.core, loc).await
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        Ok(Box::new(WebHdfsReader::open(self.core.clone(), loc).await?))
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        Ok(Box::new(
            WebHdfsTempFile::create(self.core.clone(), loc).await?,
        ))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        self.core.delete(loc, true).await
    }

    /// `RENAME` with `renameoptions=NONE`: the namenode's rename2, which refuses an
    /// existing destination (never moving the source into it) and names what is missing.
    /// A server answering `{"boolean": false}` did a plain rename that failed.
    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        if self.stat(dst).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                path: dst.to_string(),
            });
        }
        let params = [("destination", dst.path()), ("renameoptions", "NONE")];
        let answer = self
            .core
            .json(Method::PUT, src.path(), "RENAME", &params)
            .await;
        let in_both = |e| match to_storage_error(src, e) {
            StorageError::Io { message, .. } => StorageError::Io {
                path: format!("{src} -> {dst}"),
                message,
            },
            other => other,
        };
        match answer.map_err(in_both)? {
            v if boolean(&v) == Some(false) => match self.stat(src).await? {
                None => Err(StorageError::NotFound {
                    path: src.to_string(),
                }),
                Some(_) => Err(StorageError::Io {
                    path: format!("{src} -> {dst}"),
                    message: "the server refused the rename (is the destination's parent missing?)"
                        .into(),
                }),
            },
            _ => Ok(()),
        }
    }
}
