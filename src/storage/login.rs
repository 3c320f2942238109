//! Who logs in to an `ftp://` or `sftp://` server: the URI's user information
//! (`user:password@host:port`, percent-decoded as Java's `URI.getUserInfo` does) and the
//! password as a [`Secret`] that no `Debug`, log line or error message shows.

use std::fmt;

use super::{Location, Result, StorageError};

/// A password or passphrase: compared and hashed (client cache keys), never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value itself, for the one call that sends it to the server.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The parts of a URI's authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Authority {
    pub user: Option<String>,
    /// Only with a user: `user:password@` (Java splits the user information at the first `:`).
    pub password: Option<Secret>,
    /// Empty when the URI names no host (`ftp:///path`).
    pub host: String,
    pub port: Option<u16>,
}

/// Splits `loc`'s authority into user, password, host and port.
pub(crate) fn authority(loc: &Location) -> Result<Authority> {
    let raw = loc.authority().unwrap_or_default();
    let invalid = |reason: &str| StorageError::InvalidPath {
        path: loc.redacted(),
        reason: reason.to_string(),
    };
    let (userinfo, hostport) = match raw.rsplit_once('@') {
        Some((info, rest)) => (Some(info), rest),
        None => (None, raw),
    };
    let (user, password) = match userinfo {
        None => (None, None),
        Some(info) => {
            let (user, password) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            let user = percent_decode(user).ok_or_else(|| invalid("bad %-escape in the user"))?;
            let password = password
                .map(|p| percent_decode(p).ok_or_else(|| invalid("bad %-escape in the password")))
                .transpose()?;
            (Some(user), password.map(Secret))
        }
    };
    // `[::1]:21`, `host:21`, `host`.
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            let port = p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| invalid("the port is not a number from 1 to 65535"))?;
            (h, Some(port))
        }
        _ => (hostport, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(Authority {
        user: user.filter(|u| !u.is_empty()),
        password,
        host: host.to_string(),
        port,
    })
}

/// The server's host and port: the URI's, else `<prefix>.host` and `<prefix>.host.port`
/// (Hadoop's `fs.ftp.*` and `fs.sftp.*` keys), else `default_port`.
pub(crate) fn server(
    loc: &Location,
    authority: &Authority,
    props: &super::Properties,
    prefix: &str,
    default_port: u16,
) -> Result<(String, u16)> {
    let get = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
    let invalid =
        |message: String| StorageError::InvalidArgument(format!("{}: {message}", loc.redacted()));
    let host = match authority.host.as_str() {
        "" => get(&format!("{prefix}.host"))
            .ok_or_else(|| invalid(format!("no host: name it in the URI or in {prefix}.host")))?
            .to_string(),
        host => host.to_string(),
    };
    let port = match (authority.port, get(&format!("{prefix}.host.port"))) {
        (Some(port), _) => port,
        (None, Some(p)) => p
            .parse()
            .ok()
            .filter(|&p: &u16| p > 0)
            .ok_or_else(|| invalid(format!("{prefix}.host.port '{p}' is not a port number")))?,
        (None, None) => default_port,
    };
    Ok((host, port))
}

/// `%XX` escapes decoded (UTF-8); `None` for a malformed escape.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str) -> Authority {
        authority(&Location::parse(uri).unwrap()).unwrap()
    }

    #[test]
    fn user_information_is_split_and_decoded() {
        let a = parts("ftp://bob:p%40ss:w0rd@127.0.0.1:2121/a");
        assert_eq!(a.user.as_deref(), Some("bob"));
        assert_eq!(a.password.as_ref().map(Secret::expose), Some("p@ss:w0rd"));
        assert_eq!((a.host.as_str(), a.port), ("127.0.0.1", Some(2121)));
        let a = parts("sftp://alice@[::1]/x");
        assert_eq!((a.user.as_deref(), a.password), (Some("alice"), None));
        assert_eq!((a.host.as_str(), a.port), ("::1", None));
        let a = parts("ftp://host/x");
        assert_eq!((a.user, a.host.as_str()), (None, "host"));
        assert_eq!(parts("ftp:///x").host, "");
    }

    #[test]
    fn bad_ports_and_escapes_are_refused_without_the_password() {
        for bad in [
            "ftp://u:secretpw@h:0/x",
            "ftp://u:secretpw@h:99999/x",
            "ftp://u:%zz@h/x",
        ] {
            let err = authority(&Location::parse(bad).unwrap()).unwrap_err();
            assert!(matches!(err, StorageError::InvalidPath { .. }), "{bad}");
            assert!(!err.to_string().contains("secretpw"), "{err}");
        }
        assert_eq!(format!("{:?}", Secret::new("pw")), "Secret(***)");
    }
}
