//! Parsing and printing of the URIs clients send (`hdfs://ns/a`, `s3a://bucket/k`,
//! `file:/abs`, `file:///abs`).
//!
//! Paths are kept as the client wrote them apart from collapsing repeated and trailing
//! slashes: no percent-decoding, because Hadoop's `Path` does none either and clients
//! reopen the paths we list verbatim.

use std::fmt;

use super::StorageError;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    scheme: String,
    /// `None` for `file:/abs` and `file:///abs`; the host, nameservice or bucket otherwise.
    authority: Option<String>,
    /// Absolute, `/`-separated, no trailing slash except for the root itself.
    path: String,
}

impl Location {
    /// Parses a client URI. Errors name the URI and why it was refused.
    pub fn parse(uri: &str) -> Result<Location, StorageError> {
        let invalid = |reason: &str| StorageError::InvalidPath {
            path: uri.to_string(),
            reason: reason.to_string(),
        };
        if uri.is_empty() {
            return Err(invalid("empty path"));
        }
        let colon = uri
            .find(':')
            .ok_or_else(|| invalid("no scheme (expected e.g. hdfs://, s3a://, file:/)"))?;
        let scheme = &uri[..colon];
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err(invalid("no scheme (expected e.g. hdfs://, s3a://, file:/)"));
        }
        let rest = &uri[colon + 1..];
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
            None => ("", rest),
        };
        if !path.is_empty() && !path.starts_with('/') {
            return Err(invalid("path is not absolute"));
        }
        if authority.contains(['?', '#']) || path.contains('\0') {
            return Err(invalid("unparsable URI"));
        }
        Ok(Location {
            scheme: scheme.to_ascii_lowercase(),
            authority: (!authority.is_empty()).then(|| authority.to_string()),
            path: normalize(path),
        })
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn authority(&self) -> Option<&str> {
        self.authority.as_deref()
    }

    /// The absolute path inside the filesystem or bucket (`/` for the root).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The last path component (empty for the root).
    pub fn name(&self) -> &str {
        &self.path[self.path.rfind('/').map_or(0, |i| i + 1)..]
    }

    pub fn is_root(&self) -> bool {
        self.path == "/"
    }

    /// The same scheme and authority with another absolute path.
    pub fn with_path(&self, path: &str) -> Location {
        Location {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            path: normalize(path),
        }
    }

    /// The child `name` of this directory.
    pub fn join(&self, name: &str) -> Location {
        let mut path = self.path.clone();
        if !path.ends_with('/') {
            path.push('/');
        }
        path.push_str(name);
        self.with_path(&path)
    }

    /// The parent directory, `None` for the root.
    pub fn parent(&self) -> Option<Location> {
        if self.is_root() {
            return None;
        }
        let cut = self.path.rfind('/').unwrap_or(0);
        Some(self.with_path(&self.path[..cut.max(1)]))
    }
}

impl Location {
    /// The URI with the password of its user information (`ftp://user:password@host`)
    /// shown as `***`: for error messages and log lines.
    pub fn redacted(&self) -> String {
        redact_userinfo(&self.to_string()).into_owned()
    }
}

/// `text` with the password of every `scheme://user:password@host` in it shown as `***`
/// (Hadoop's FTP and SFTP file systems take credentials in the URI, and paths are logged).
pub fn redact_userinfo(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the path, or at whatever ends a URI inside a log line.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || "\"'`,;()[]{}<>".contains(c))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@').and_then(|a| {
            let colon = authority[..a].find(':')?;
            Some((colon, a))
        }) {
            Some((colon, a)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[a..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out.into()
}

/// Prints the fully qualified form Hadoop prints: `scheme://authority/path`, or
/// `scheme:/path` when there is no authority (`file:/tmp/x`).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.authority {
            Some(authority) => write!(f, "{}://{}{}", self.scheme, authority, self.path),
            None => write!(f, "{}:{}", self.scheme, self.path),
        }
    }
}

fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    for part in path.split('/').filter(|p| !p.is_empty()) {
        out.push('/');
        out.push_str(part);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_clients_send() {
        let l = Location::parse("hdfs://ns1/a//b/").unwrap();
        assert_eq!(
            (l.scheme(), l.authority(), l.path()),
            ("hdfs", Some("ns1"), "/a/b")
        );
        assert_eq!(l.to_string(), "hdfs://ns1/a/b");
        assert_eq!(
            Location::parse("file:///tmp/x").unwrap().to_string(),
            "file:/tmp/x"
        );
        assert_eq!(
            Location::parse("file:/tmp/x").unwrap().to_string(),
            "file:/tmp/x"
        );
        assert_eq!(Location::parse("s3a://bucket").unwrap().path(), "/");
        assert_eq!(
            Location::parse("hdfs://nn:8020/a%20b").unwrap().name(),
            "a%20b"
        );
    }

    #[test]
    fn refuses_what_is_not_a_uri() {
        for bad in ["", "/tmp/x", "tmp/x", "1x://a/b", "file:tmp", ":/x"] {
            assert!(
                matches!(Location::parse(bad), Err(StorageError::InvalidPath { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn passwords_in_user_information_are_redacted() {
        let l = Location::parse("ftp://bob:s3cr%40t@127.0.0.1:21/a/b.csv").unwrap();
        assert_eq!(l.redacted(), "ftp://bob:***@127.0.0.1:21/a/b.csv");
        assert_eq!(
            redact_userinfo("path=sftp://u:p@h/x -> sftp://u:q:r@h:22/y message=\"a\""),
            "path=sftp://u:***@h/x -> sftp://u:***@h:22/y message=\"a\""
        );
        for kept in [
            "hdfs://nn:8020/a",
            "ftp://anonymous@h/x",
            "no uri",
            "s3a://b/k?x=y",
        ] {
            assert_eq!(redact_userinfo(kept), kept);
        }
    }

    #[test]
    fn walks_up_and_down() {
        let l = Location::parse("file:/a/b").unwrap();
        assert_eq!(l.parent().unwrap().to_string(), "file:/a");
        assert_eq!(l.parent().unwrap().parent().unwrap().to_string(), "file:/");
        assert!(l.parent().unwrap().parent().unwrap().parent().is_none());
        assert_eq!(l.join("c").to_string(), "file:/a/b/c");
        assert_eq!(l.with_path("/").join("c").to_string(), "file:/c");
    }
}
