//! A request's FTP settings, read as Hadoop's FTPFileSystem reads them: host and port
//! from the URI (`fs.ftp.host`, `fs.ftp.host.port` when it names none; port 21 by
//! default), user and password from the URI's user information, else
//! `fs.ftp.user.<host>` and `fs.ftp.password.<host>`; `fs.ftp.data.connection.mode`.

use crate::storage::login::{self, Secret};
use crate::storage::{Location, Properties, Result, StorageError};

/// How data connections are made (`fs.ftp.data.connection.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum DataMode {
    /// `ACTIVE_LOCAL_DATA_CONNECTION_MODE`, Hadoop's default and so this broker's: the
    /// server connects back to the broker (PORT).
    Active,
    /// `PASSIVE_LOCAL_DATA_CONNECTION_MODE`: the broker connects to the server (PASV),
    /// which also passes the firewalls in front of BE hosts.
    Passive,
}

/// Everything a connection is made from; the client cache's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct FtpSettings {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Secret,
    pub mode: DataMode,
}

impl FtpSettings {
    /// `host:port`, as messages name the server.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

pub(super) fn settings(loc: &Location, props: &Properties) -> Result<FtpSettings> {
    let authority = login::authority(loc)?;
    let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let invalid =
        |message: String| StorageError::InvalidArgument(format!("{}: {message}", loc.redacted()));
    let (host, port) = login::server(loc, &authority, props, "fs.ftp", 21)?;
    // Hadoop takes both from the URI when it has user information, else both from the
    // per-host keys.
    let (user, password) = match authority.user {
        Some(user) => (Some(user), authority.password),
        None => (
            get(&format!("fs.ftp.user.{host}")).map(str::to_string),
            props
                .get(&format!("fs.ftp.password.{host}"))
                .map(Secret::new),
        ),
    };
    let (Some(user), Some(password)) = (user, password) else {
        return Err(invalid(format!(
            "no user and password: give them in the URI (ftp://user:password@{host}/...) or \
             as fs.ftp.user.{host} and fs.ftp.password.{host}"
        )));
    };
    let mode = match get("fs.ftp.data.connection.mode").map(str::to_ascii_uppercase) {
        None => DataMode::Active,
        Some(m) if m == "ACTIVE_LOCAL_DATA_CONNECTION_MODE" => DataMode::Active,
        Some(m) if m == "PASSIVE_LOCAL_DATA_CONNECTION_MODE" => DataMode::Passive,
        Some(m) if m.ends_with("_REMOTE_DATA_CONNECTION_MODE") => {
            return Err(StorageError::Unsupported(format!(
                "{}: fs.ftp.data.connection.mode {m} (server-to-server transfers); use \
                 ACTIVE_LOCAL_DATA_CONNECTION_MODE or PASSIVE_LOCAL_DATA_CONNECTION_MODE",
                loc.redacted()
            )))
        }
        Some(m) => {
            return Err(invalid(format!(
                "fs.ftp.data.connection.mode '{m}' is none of \
                 ACTIVE_LOCAL_DATA_CONNECTION_MODE, PASSIVE_LOCAL_DATA_CONNECTION_MODE"
            )))
        }
    };
    Ok(FtpSettings {
        host,
        port,
        user,
        password,
        mode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::props_of;

    fn of(uri: &str, pairs: &[(&str, &str)]) -> Result<FtpSettings> {
        settings(&Location::parse(uri).unwrap(), &props_of(pairs))
    }

    #[test]
    fn the_uri_wins_then_hadoop_keys() {
        let s = of(
            "ftp://bob:pw@127.0.0.1:2121/a",
            &[("fs.ftp.user.127.0.0.1", "eve")],
        )
        .unwrap();
        assert_eq!((s.user.as_str(), s.password.expose()), ("bob", "pw"));
        // Hadoop's default: active data connections.
        assert_eq!((s.port, s.mode), (2121, DataMode::Active));
        let s = of(
            "ftp://h/a",
            &[
                ("fs.ftp.user.h", "eve"),
                ("fs.ftp.password.h", "pw2"),
                ("fs.ftp.host.port", "2200"),
                (
                    "fs.ftp.data.connection.mode",
                    "passive_local_data_connection_mode",
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            (s.user.as_str(), s.password.expose(), s.port),
            ("eve", "pw2", 2200)
        );
        assert_eq!(s.mode, DataMode::Passive);
        let s = of(
            "ftp:///a",
            &[
                ("fs.ftp.host", "h2"),
                ("fs.ftp.user.h2", "u"),
                ("fs.ftp.password.h2", ""),
            ],
        )
        .unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.password.expose()),
            ("h2", 21, "")
        );
    }

    #[test]
    fn missing_or_bad_settings_are_named() {
        let no_login = of("ftp://h/a", &[]).unwrap_err().to_string();
        assert!(no_login.contains("fs.ftp.user.h"), "{no_login}");
        let no_password = of("ftp://bob@h/a", &[]).unwrap_err();
        assert!(matches!(no_password, StorageError::InvalidArgument(_)));
        let mode = of(
            "ftp://u:secretpw@h/a",
            &[("fs.ftp.data.connection.mode", "x")],
        )
        .unwrap_err();
        assert!(
            mode.to_string().contains("fs.ftp.data.connection.mode"),
            "{mode}"
        );
        assert!(!mode.to_string().contains("secretpw"), "{mode}");
        let remote = of(
            "ftp://u:p@h/a",
            &[(
                "fs.ftp.data.connection.mode",
                "PASSIVE_REMOTE_DATA_CONNECTION_MODE",
            )],
        );
        assert!(matches!(remote, Err(StorageError::Unsupported(_))));
        assert!(!format!("{:?}", of("ftp://u:secretpw@h/a", &[]).unwrap()).contains("secretpw"));
    }
}
