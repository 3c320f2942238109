//! `ftp://user:password@host:port/path`, Hadoop's FTPFileSystem, on suppaftp.
//!
//! Settings come from the URI and Hadoop's `fs.ftp.*` keys ([`conf`]). One client (a pool
//! of logged-in control connections, [`core`]) is kept per server, user, password and
//! data connection mode; readers and writers hold connections of their own ([`reader`]:
//! REST + RETR kept open across sequential preads; [`writer`]: STOR into a hidden
//! temporary file renamed over the target at commit). Paths are absolute on the server,
//! as Hadoop's are. Every failure becomes a `StorageError` in [`error`], with the
//! server's reply; the password is in no message (URIs are shown redacted).

mod conf;
mod core;
mod error;
mod reader;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::cache::ClientCache;
use super::temp_name::is_unfinished_write;
use super::{
    FileStatus, Location, Properties, ReadStream, Result, Storage, StorageError, WriteStream,
};
use conf::FtpSettings;
use core::{Entry, Pool};
use error::Doing;
use reader::FtpReader;
use writer::FtpTempFile;

pub struct FtpBackend {
    clients: ClientCache<FtpSettings, FtpStorage>,
}

impl FtpBackend {
    pub fn new(idle_expiry: Duration) -> Self {
        FtpBackend {
            clients: ClientCache::new(idle_expiry),
        }
    }

    pub fn resolve(&self, loc: &Location, props: &Properties) -> Result<Arc<FtpStorage>> {
        let settings = conf::settings(loc, props)?;
        self.clients.get_or_build(&settings.clone(), || {
            Ok(FtpStorage {
                pool: Arc::new(Pool::new(settings)),
            })
        })
    }

    /// Drops idle clients (and their connections) when they expire.
    pub async fn run_sweeper(&self) {
        self.clients.run_sweeper().await
    }
}

/// One FTP server as one user.
pub struct FtpStorage {
    pool: Arc<Pool>,
}

fn status_of(loc: Location, e: &Entry) -> FileStatus {
    FileStatus {
        location: loc,
        is_dir: e.is_dir,
        size: if e.is_dir { 0 } else { e.size },
        modification_time: e.modified_ms,
        block_size: 0,
    }
}

#[async_trait]
impl Storage for FtpStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        let shown = loc.redacted();
        let pool = &self.pool;
        pool.with_conn(&shown, async |conn| {
            let entry = core::stat(pool, conn, &shown, loc.path()).await?;
            Ok(entry.map(|e| status_of(loc.clone(), &e)))
        })
        .await
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let shown = loc.redacted();
        let pool = &self.pool;
        pool.with_conn(&shown, async |conn| {
            let Some(entry) = core::stat(pool, conn, &shown, loc.path()).await? else {
                return Err(StorageError::NotFound {
                    path: shown.clone(),
                });
            };
            if !entry.is_dir {
                return Ok(vec![status_of(loc.clone(), &entry)]);
            }
            let entries = core::list(pool, conn, &shown, loc.path()).await?;
            let Some(entries) = entries else {
                return Err(StorageError::NotFound {
                    path: shown.clone(),
                });
            };
            // A write in progress (or one a killed broker left) is no file to load.
            let mut out: Vec<FileStatus> = entries
                .iter()
                .filter(|e| !is_unfinished_write(&e.name))
                .map(|e| status_of(loc.join(&e.name), e))
                .collect();
            out.sort_by(|a, b| a.name().cmp(b.name()));
            Ok(out)
        })
        .await
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let shown = loc.redacted();
        let entry = self
            .pool
            .with_conn(&shown, async |conn| {
                core::stat(&self.pool, conn, &shown, loc.path()).await
            })
            .await?;
        match entry {
            Some(e) if !e.is_dir => Ok(Box::new(FtpReader::new(
                self.pool.clone(),
                loc.path().to_string(),
                shown,
                e.size,
            ))),
            Some(_) => Err(StorageError::NotFound {
                path: format!("{shown} (is a directory)"),
            }),
            None => Err(StorageError::NotFound { path: shown }),
        }
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        let writer = FtpTempFile::create(self.pool.clone(), loc.path(), loc.redacted()).await?;
        Ok(Box::new(writer))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        let shown = loc.redacted();
        let pool = &self.pool;
        pool.with_conn(&shown, async |conn| {
            match core::stat(pool, conn, &shown, loc.path()).await? {
                None => Ok(()),
                Some(e) => core::remove_tree(pool, conn, &shown, loc.path(), e.is_dir).await,
            }
        })
        .await
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        let shown = src.redacted();
        let pool = &self.pool;
        pool.with_conn(&shown, async |conn| {
            if core::stat(pool, conn, &shown, src.path()).await?.is_none() {
                return Err(StorageError::NotFound {
                    path: shown.clone(),
                });
            }
            if core::stat(pool, conn, &shown, dst.path()).await?.is_some() {
                return Err(StorageError::AlreadyExists {
                    path: dst.redacted(),
                });
            }
            let parent = core::parent_of(dst.path());
            if !core::stat(pool, conn, &shown, parent)
                .await?
                .is_some_and(|e| e.is_dir)
            {
                return Err(StorageError::Io {
                    path: dst.redacted(),
                    message: "parent directory does not exist".into(),
                });
            }
            core::bounded("RNFR/RNTO", conn.rename(src.path(), dst.path()))
                .await
                .map_err(|e| match pool.error(&shown, Doing::Change, e) {
                    StorageError::Io { message, .. } => StorageError::Io {
                        path: format!("{shown} -> {}", dst.redacted()),
                        message,
                    },
                    other => other,
                })
        })
        .await
    }
}
