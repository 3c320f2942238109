//! SSH sessions: connecting, authenticating (key file, then password, as JSch under
//! Hadoop's SFTPFileSystem does), the SFTP subsystem, and a second SFTP channel for
//! `posix-rename@openssh.com` (SFTP v3's RENAME refuses an existing target; commits need
//! an atomic replace). One session serves every call of a client at once: SFTP requests
//! carry ids, so they are multiplexed over one connection.
//!
//! Host keys are accepted unchecked, as Hadoop's SFTPFileSystem does
//! (`StrictHostKeyChecking=no`).

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, AuthResult, Handle};
use russh::keys::{load_secret_key, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh_sftp::client::{RawSftpSession, SftpSession};
use russh_sftp::protocol::{Packet, StatusCode};

use super::conf::SftpSettings;
use super::error::{ssh_error, to_storage_error};
use crate::storage::{Result, StorageError};

/// How long connecting and authenticating may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one SFTP request may wait for its answer.
const REQUEST_TIMEOUT_SECS: u64 = 120;
const POSIX_RENAME: &str = "posix-rename@openssh.com";

struct AcceptHostKey;

impl client::Handler for AcceptHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> std::result::Result<bool, Self::Error> {
        Ok(true)
    }
}

pub(super) struct Session {
    ssh: Handle<AcceptHostKey>,
    pub sftp: SftpSession,
    /// The channel for `posix-rename@openssh.com`, when the server offers it.
    renames: Option<RawSftpSession>,
}

impl Session {
    pub fn is_closed(&self) -> bool {
        self.ssh.is_closed()
    }

    /// Renames `from` over `to`, replacing a file there in one step where the server can;
    /// elsewhere the file at `to` is removed first.
    pub async fn rename_over(
        &self,
        from: &str,
        to: &str,
    ) -> std::result::Result<(), russh_sftp::client::error::Error> {
        if let Some(raw) = &self.renames {
            let mut data = Vec::with_capacity(from.len() + to.len() + 8);
            for path in [from, to] {
                data.extend_from_slice(&(path.len() as u32).to_be_bytes());
                data.extend_from_slice(path.as_bytes());
            }
            return match raw.extended(POSIX_RENAME, data).await? {
                Packet::Status(s) if s.status_code == StatusCode::Ok => Ok(()),
                Packet::Status(s) => Err(s.into()),
                _ => Err(russh_sftp::client::error::Error::UnexpectedPacket),
            };
        }
        if self.sftp.rename(from, to).await.is_ok() {
            return Ok(());
        }
        self.sftp.remove_file(to).await?;
        self.sftp.rename(from, to).await
    }
}

/// Connects and authenticates as `settings` say; `shown` is what failures name.
pub(super) async fn connect(settings: &SftpSettings, shown: &str) -> Result<Session> {
    let server = settings.server();
    let connecting = async {
        let config = Arc::new(client::Config {
            keepalive_interval: Some(Duration::from_secs(30)),
            ..Default::default()
        });
        let mut ssh = client::connect(
            config,
            (settings.host.as_str(), settings.port),
            AcceptHostKey,
        )
        .await
        .map_err(|e| ssh_error(shown, &server, e))?;
        authenticate(&mut ssh, settings, shown).await?;
        let sftp = SftpSession::new(subsystem(&ssh, shown, &server).await?)
            .await
            .map_err(|e| to_storage_error(shown, &server, e))?;
        sftp.set_timeout(REQUEST_TIMEOUT_SECS);
        let raw = RawSftpSession::new(subsystem(&ssh, shown, &server).await?);
        raw.set_timeout(REQUEST_TIMEOUT_SECS);
        let version = raw
            .init()
            .await
            .map_err(|e| to_storage_error(shown, &server, e))?;
        let renames = version.extensions.contains_key(POSIX_RENAME).then_some(raw);
        Ok(Session { ssh, sftp, renames })
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .unwrap_or_else(|_| {
            Err(StorageError::Io {
                path: shown.to_string(),
                message: format!(
                    "the SSH server {server} did not let us in within {CONNECT_TIMEOUT:?}"
                ),
            })
        })
}

/// An SFTP subsystem channel.
async fn subsystem(
    ssh: &Handle<AcceptHostKey>,
    shown: &str,
    server: &str,
) -> Result<russh::ChannelStream<client::Msg>> {
    let channel = ssh
        .channel_open_session()
        .await
        .map_err(|e| ssh_error(shown, server, e))?;
    channel
        .request_subsystem(true, "sftp")
        .await
        .map_err(|e| ssh_error(shown, server, e))?;
    Ok(channel.into_stream())
}

/// The key file first, then the password. A refusal names what was tried and what the
/// server accepts (SSH servers give no other reason).
async fn authenticate(
    ssh: &mut Handle<AcceptHostKey>,
    settings: &SftpSettings,
    shown: &str,
) -> Result<()> {
    let server = settings.server();
    let user = settings.user.as_str();
    let mut tried = Vec::new();
    let mut accepts = String::new();
    let mut note = |result: AuthResult, what: &str| match result {
        AuthResult::Success => true,
        AuthResult::Failure {
            remaining_methods, ..
        } => {
            tried.push(what.to_string());
            let names: Vec<&str> = remaining_methods.iter().map(<&str>::from).collect();
            accepts = names.join(", ");
            false
        }
    };
    if let Some(keyfile) = &settings.keyfile {
        let key = load_secret_key(keyfile, None).map_err(|e| {
            StorageError::InvalidArgument(format!(
                "{shown}: cannot use the private key in fs.sftp.keyfile ({}): {e}",
                keyfile.display()
            ))
        })?;
        let hash = ssh
            .best_supported_rsa_hash()
            .await
            .map_err(|e| ssh_error(shown, &server, e))?
            .flatten();
        let result = ssh
            .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
            .await
            .map_err(|e| ssh_error(shown, &server, e))?;
        if note(result, "the key in fs.sftp.keyfile") {
            return Ok(());
        }
    }
    if let Some(password) = &settings.password {
        let result = ssh
            .authenticate_password(user, password.expose())
            .await
            .map_err(|e| ssh_error(shown, &server, e))?;
        if note(result, "the password") {
            return Ok(());
        }
    }
    Err(StorageError::NotAuthorized(format!(
        "{shown}: the SSH server {server} refused user '{user}' with {} (it accepts: {})",
        tried.join(" and "),
        if accepts.is_empty() {
            "nothing more"
        } else {
            &accepts
        }
    )))
}
