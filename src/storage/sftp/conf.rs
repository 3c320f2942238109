//! A request's SFTP settings, read as Hadoop's SFTPFileSystem reads them: host and port
//! from the URI, else `fs.sftp.host` and `fs.sftp.host.port` (22 by default); the user
//! from the URI, else `fs.sftp.user.<host>`; the password from the URI, else
//! `fs.sftp.password.<host>.<user>`; a private key file in `fs.sftp.keyfile` (on the
//! broker host). With both a key and a password, the key is tried first, as JSch does.

use std::path::PathBuf;

use crate::storage::login::{self, Secret};
use crate::storage::{Location, Properties, Result, StorageError};

/// Everything a connection is made from; the client cache's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct SftpSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub keyfile: Option<PathBuf>,
}

impl SftpSettings {
    /// `host:port`, as messages name the server.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

pub(super) fn settings(loc: &Location, props: &Properties) -> Result<SftpSettings> {
    let authority = login::authority(loc)?;
    let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let invalid =
        |message: String| StorageError::InvalidArgument(format!("{}: {message}", loc.redacted()));
    let (host, port) = login::server(loc, &authority, props, "fs.sftp", 22)?;
    let Some(user) = authority
        .user
        .clone()
        .or_else(|| get(&format!("fs.sftp.user.{host}")).map(str::to_string))
    else {
        return Err(invalid(format!(
            "no user: give it in the URI (sftp://user@{host}/...) or as fs.sftp.user.{host}"
        )));
    };
    let password = authority.password.or_else(|| {
        props
            .get(&format!("fs.sftp.password.{host}.{user}"))
            .map(Secret::new)
    });
    let keyfile = get("fs.sftp.keyfile").map(PathBuf::from);
    if password.is_none() && keyfile.is_none() {
        return Err(invalid(format!(
            "no password and no key: give the password in the URI or as \
             fs.sftp.password.{host}.{user}, or a private key file as fs.sftp.keyfile"
        )));
    }
    Ok(SftpSettings {
        host,
        port,
        user,
        password,
        keyfile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::props_of;

    fn of(uri: &str, pairs: &[(&str, &str)]) -> Result<SftpSettings> {
        settings(&Location::parse(uri).unwrap(), &props_of(pairs))
    }

    #[test]
    fn the_uri_wins_then_hadoop_keys() {
        let s = of(
            "sftp://bob:pw@h:2222/a",
            &[("fs.sftp.password.h.bob", "other")],
        )
        .unwrap();
        assert_eq!((s.user.as_str(), s.port), ("bob", 2222));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("pw"));
        let s = of(
            "sftp://h/a",
            &[
                ("fs.sftp.user.h", "eve"),
                ("fs.sftp.password.h.eve", "pw2"),
                ("fs.sftp.host.port", "2200"),
                ("fs.sftp.keyfile", "/keys/id"),
            ],
        )
        .unwrap();
        assert_eq!((s.user.as_str(), s.port), ("eve", 2200));
        assert_eq!(s.password.as_ref().map(Secret::expose), Some("pw2"));
        assert_eq!(s.keyfile, Some(PathBuf::from("/keys/id")));
        let s = of("sftp://alice@h/a", &[("fs.sftp.keyfile", "/k")]).unwrap();
        assert_eq!((s.port, s.password), (22, None));
        let s = of(
            "sftp:///a",
            &[
                ("fs.sftp.host", "h2"),
                ("fs.sftp.user.h2", "u"),
                ("fs.sftp.keyfile", "/k"),
            ],
        )
        .unwrap();
        assert_eq!(s.host, "h2");
    }

    #[test]
    fn missing_settings_are_named_without_secrets() {
        let no_user = of("sftp://h/a", &[]).unwrap_err().to_string();
        assert!(no_user.contains("fs.sftp.user.h"), "{no_user}");
        let no_auth = of("sftp://bob@h/a", &[]).unwrap_err().to_string();
        assert!(no_auth.contains("fs.sftp.keyfile"), "{no_auth}");
        let debug = format!("{:?}", of("sftp://u:secretpw@h/a", &[]).unwrap());
        assert!(!debug.contains("secretpw"), "{debug}");
    }
}
