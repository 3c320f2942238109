//! `sftp://user:password@host:port/path`, Hadoop's SFTPFileSystem, on russh + russh-sftp
//! (pure Rust: password and key authentication; opendal's SFTP service drives the system
//! `ssh` binary, which cannot take a password).
//!
//! Settings come from the URI and Hadoop's `fs.sftp.*` keys ([`conf`]). One client (an
//! SSH connection, reopened when it drops, and more while over 64 files are open at once,
//! [`core`]) is kept per server, user, password and key file; readers ([`reader`]) and writers ([`writer`]: a hidden temporary file
//! renamed over the target at commit) hold the session they were opened on. Paths are
//! absolute on the server, as Hadoop's are. Failures become `StorageError`s in [`error`];
//! the password is in no message (URIs are shown redacted).

mod conf;
mod core;
mod error;
mod reader;
mod writer;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use russh_sftp::client::fs::Metadata;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::cache::ClientCache;
use super::temp_name::{is_unfinished_write, temp_name};
use super::{
    FileStatus, Location, Properties, ReadStream, Result, Storage, StorageError, WriteStream,
};
use conf::SftpSettings;
use core::Session;
use error::to_storage_error;
use reader::SftpReader;
use writer::SftpTempFile;

pub struct SftpBackend {
    clients: ClientCache<SftpSettings, SftpStorage>,
}

impl SftpBackend {
    pub fn new(idle_expiry: Duration) -> Self {
        SftpBackend {
            clients: ClientCache::new(idle_expiry),
        }
    }

    pub fn resolve(&self, loc: &Location, props: &Properties) -> Result<Arc<SftpStorage>> {
        let settings = conf::settings(loc, props)?;
        self.clients.get_or_build(&settings.clone(), || {
            Ok(SftpStorage {
                server: settings.server(),
                settings,
                sessions: tokio::sync::Mutex::new(Vec::new()),
            })
        })
    }

    /// Drops idle clients (and their connections) when they expire.
    pub async fn run_sweeper(&self) {
        self.clients.run_sweeper().await
    }
}

/// Files open at once on one SSH session. russh-sftp keeps SFTP handles as UTF-8 text,
/// and OpenSSH's are the index of a free slot as 4 raw bytes: from the 128th handle open
/// at once on one session they stop being UTF-8 and break. More open files get another
/// session (listings open directory handles too: room is left for them).
const FILES_PER_SESSION: usize = 64;

/// One SFTP server as one user.
pub struct SftpStorage {
    settings: SftpSettings,
    server: String,
    /// Live sessions, each with its room for open files; the first serves metadata calls.
    sessions: tokio::sync::Mutex<Vec<Live>>,
}

struct Live {
    session: Arc<Session>,
    files: Arc<Semaphore>,
}

fn status_of(loc: Location, m: &Metadata) -> FileStatus {
    let modified = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok());
    FileStatus {
        location: loc,
        is_dir: m.is_dir(),
        size: if m.is_dir() { 0 } else { m.len() },
        modification_time: modified.map_or(0, |d| d.as_millis() as i64),
        block_size: 0,
    }
}

impl SftpStorage {
    /// A live session with room for one more open file (connecting when none has), and
    /// that room, held while the file is open.
    async fn session_with_room(&self, shown: &str) -> Result<(Arc<Session>, OwnedSemaphorePermit)> {
        let mut live = self.sessions.lock().await;
        live.retain(|l| !l.session.is_closed());
        // Sessions beyond the first go once no file is open on them.
        let mut i = 1;
        while i < live.len() {
            if live[i].files.available_permits() == FILES_PER_SESSION {
                live.remove(i);
            } else {
                i += 1;
            }
        }
        for l in live.iter() {
            if let Ok(room) = l.files.clone().try_acquire_owned() {
                return Ok((l.session.clone(), room));
            }
        }
        let session = Arc::new(core::connect(&self.settings, shown).await?);
        let files = Arc::new(Semaphore::new(FILES_PER_SESSION));
        let room = files
            .clone()
            .try_acquire_owned()
            .expect("a new session has room");
        live.push(Live {
            session: session.clone(),
            files,
        });
        Ok((session, room))
    }

    /// A live session for a metadata call.
    async fn session(&self, shown: &str) -> Result<Arc<Session>> {
        Ok(self.session_with_room(shown).await?.0)
    }

    fn error(&self, shown: &str, e: russh_sftp::client::error::Error) -> StorageError {
        to_storage_error(shown, &self.server, e)
    }

    /// What is at `path` (symbolic links followed), `None` when nothing is.
    async fn metadata(
        &self,
        session: &Session,
        shown: &str,
        path: &str,
    ) -> Result<Option<Metadata>> {
        match session.sftp.metadata(path).await {
            Ok(m) => Ok(Some(m)),
            Err(e) => match self.error(shown, e) {
                StorageError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    /// Creates directory `path` and its missing parents.
    async fn mkdirs(&self, session: &Session, shown: &str, loc: &Location) -> Result<()> {
        let mut missing = Vec::new();
        let mut at = Some(loc.clone());
        while let Some(dir) = at.filter(|d| !d.is_root()) {
            match self.metadata(session, shown, dir.path()).await? {
                Some(m) if m.is_dir() => break,
                Some(_) => {
                    return Err(StorageError::Io {
                        path: shown.to_string(),
                        message: format!("{} is a file, not a directory", dir.path()),
                    })
                }
                None => {
                    at = dir.parent();
                    missing.push(dir);
                }
            }
        }
        for dir in missing.into_iter().rev() {
            if let Err(e) = session.sftp.create_dir(dir.path()).await {
                // Made meanwhile by another writer: fine.
                if !self
                    .metadata(session, shown, dir.path())
                    .await?
                    .is_some_and(|m| m.is_dir())
                {
                    return Err(self.error(shown, e));
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Storage for SftpStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        let shown = loc.redacted();
        let session = self.session(&shown).await?;
        let meta = self.metadata(&session, &shown, loc.path()).await?;
        Ok(meta.map(|m| status_of(loc.clone(), &m)))
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let shown = loc.redacted();
        let session = self.session(&shown).await?;
        let Some(meta) = self.metadata(&session, &shown, loc.path()).await? else {
            return Err(StorageError::NotFound { path: shown });
        };
        if !meta.is_dir() {
            return Ok(vec![status_of(loc.clone(), &meta)]);
        }
        let entries = session
            .sftp
            .read_dir(loc.path())
            .await
            .map_err(|e| self.error(&shown, e))?;
        let mut out = Vec::new();
        for entry in entries {
            let name = entry.file_name();
            // A write in progress (or one a killed broker left) is no file to load.
            if name == "." || name == ".." || is_unfinished_write(&name) {
                continue;
            }
            let child = loc.join(&name);
            let mut meta = entry.metadata();
            if meta.is_symlink() {
                // Followed, as Hadoop's SFTPFileSystem does; a dangling one is skipped.
                match self.metadata(&session, &shown, child.path()).await? {
                    Some(target) => meta = target,
                    None => continue,
                }
            }
            out.push(status_of(child, &meta));
        }
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let shown = loc.redacted();
        let (session, room) = self.session_with_room(&shown).await?;
        match self.metadata(&session, &shown, loc.path()).await? {
            None => Err(StorageError::NotFound { path: shown }),
            Some(m) if m.is_dir() => Err(StorageError::NotFound {
                path: format!("{shown} (is a directory)"),
            }),
            Some(m) => {
                let file = session
                    .sftp
                    .open(loc.path())
                    .await
                    .map_err(|e| self.error(&shown, e))?;
                let server = self.server.clone();
                Ok(Box::new(SftpReader::new(
                    session,
                    room,
                    file,
                    m.len(),
                    shown,
                    server,
                )))
            }
        }
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        let shown = loc.redacted();
        let parent = loc.parent().ok_or_else(|| StorageError::Io {
            path: shown.clone(),
            message: "cannot write to the root directory".into(),
        })?;
        let (session, room) = self.session_with_room(&shown).await?;
        self.mkdirs(&session, &shown, &parent).await?;
        // The rename at commit would refuse a directory; say so before any byte is sent.
        if self
            .metadata(&session, &shown, loc.path())
            .await?
            .is_some_and(|m| m.is_dir())
        {
            return Err(StorageError::AlreadyExists {
                path: format!("{shown} (a directory)"),
            });
        }
        let temp = parent.join(&temp_name(loc.name()));
        let file = session
            .sftp
            .create(temp.path())
            .await
            .map_err(|e| self.error(&shown, e))?;
        Ok(Box::new(SftpTempFile::writer(
            session,
            room,
            file,
            loc.path().to_string(),
            temp.path().to_string(),
            shown,
            self.server.clone(),
        )))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        let shown = loc.redacted();
        let session = self.session(&shown).await?;
        let first = match session.sftp.symlink_metadata(loc.path()).await {
            Ok(m) => m.is_dir(),
            Err(e) => {
                return match self.error(&shown, e) {
                    StorageError::NotFound { .. } => Ok(()),
                    other => Err(other),
                }
            }
        };
        // Depth first: (path, is a directory, children removed already).
        let mut stack = vec![(loc.path().to_string(), first, false)];
        while let Some((path, is_dir, emptied)) = stack.pop() {
            let removed = match (is_dir, emptied) {
                (false, _) => session.sftp.remove_file(path.as_str()).await,
                (true, true) => session.sftp.remove_dir(path.as_str()).await,
                (true, false) => {
                    let entries = session
                        .sftp
                        .read_dir(path.as_str())
                        .await
                        .map_err(|e| self.error(&shown, e))?;
                    stack.push((path.clone(), true, true));
                    for entry in entries {
                        let name = entry.file_name();
                        if name != "." && name != ".." {
                            let child = format!("{}/{name}", path.trim_end_matches('/'));
                            stack.push((child, entry.metadata().is_dir(), false));
                        }
                    }
                    continue;
                }
            };
            if let Err(e) = removed {
                match self.error(&shown, e) {
                    StorageError::NotFound { .. } => {}
                    other => return Err(other),
                }
            }
        }
        Ok(())
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        let shown = src.redacted();
        let session = self.session(&shown).await?;
        if self.metadata(&session, &shown, src.path()).await?.is_none() {
            return Err(StorageError::NotFound { path: shown });
        }
        if self.metadata(&session, &shown, dst.path()).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                path: dst.redacted(),
            });
        }
        let parent = dst
            .parent()
            .map(|p| p.path().to_string())
            .unwrap_or_else(|| "/".into());
        if !self
            .metadata(&session, &shown, &parent)
            .await?
            .is_some_and(|m| m.is_dir())
        {
            return Err(StorageError::Io {
                path: dst.redacted(),
                message: "parent directory does not exist".into(),
            });
        }
        session
            .sftp
            .rename(src.path(), dst.path())
            .await
            .map_err(|e| match self.error(&shown, e) {
                StorageError::Io { message, .. } => StorageError::Io {
                    path: format!("{shown} -> {}", dst.redacted()),
                    message,
                },
                other => other,
            })
    }
}
