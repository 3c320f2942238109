//! Request properties -> the settings of one WebHDFS client: the HTTP(S) endpoint of the
//! namenode or HttpFS gateway (those of every namenode of an HA nameservice), who the calls
//! are made as (`username`, as for `hdfs://`, or a delegation token), and Hadoop's
//! `dfs.webhdfs.*` client keys that apply; the authority of `webhdfs:///path` from
//! `fs.defaultFS`. Hadoop's `core-site.xml` and `hdfs-site.xml` give the defaults under a
//! request's own keys.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::trust::{self, Password, TrustStore};
use crate::storage::hdfs::conf::{nameservice_addresses, read_hadoop_xml};
use crate::storage::{Location, Properties, Result, StorageError};

/// Hadoop's default namenode HTTP and HTTPS ports (`dfs.namenode.http-address`,
/// `dfs.namenode.https-address`), which `webhdfs://host/` and `swebhdfs://host/` mean.
const HTTP_PORT: u16 = 9870;
const HTTPS_PORT: u16 = 9871;

pub(super) const USER_KEY: &str = "username";
/// The delegation token (Hadoop's URL-safe string form), sent as WebHDFS's `delegation`
/// parameter instead of `user.name`.
pub(super) const TOKEN_KEY: &str = "delegation_token";
const CONNECT_TIMEOUT_KEY: &str = "dfs.webhdfs.socket.connect-timeout";
const READ_TIMEOUT_KEY: &str = "dfs.webhdfs.socket.read-timeout";
const CSRF_HEADER_KEY: &str = "dfs.webhdfs.rest-csrf.custom-header";
/// Hadoop's defaults for the two timeouts and the anti-CSRF header.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_CSRF_HEADER: &str = "X-XSRF-HEADER";

/// A delegation token: compared and hashed (clients are cached by it), never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Who the calls are made as.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Auth {
    /// Simple authentication: the `user.name` parameter.
    User(String),
    /// The `delegation` parameter (the token names its owner).
    Delegation(Token),
}

/// Everything one client is built from; clients are cached by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Settings {
    /// `http://host:port` or `https://host:port`: one server, or the namenodes of an HA
    /// nameservice in `dfs.ha.namenodes.<ns>` order (calls fail over between them).
    pub endpoints: Vec<String>,
    pub auth: Auth,
    /// Sent with every PUT, POST and DELETE, for servers with
    /// `dfs.webhdfs.rest-csrf.enabled` (harmless for the others).
    pub csrf_header: String,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// The CAs an HTTPS server's certificate must chain to (`ssl.client.truststore.*`);
    /// `None`: the system's roots.
    pub trust: Option<TrustStore>,
}

impl Settings {
    /// The settings for `loc` (qualified: it has an authority) under `props`.
    pub fn new(loc: &Location, props: &Properties) -> Result<Settings> {
        let endpoints = endpoints(loc, props)?;
        let non_empty = |key: &str| props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let auth = match (non_empty(TOKEN_KEY), non_empty(USER_KEY)) {
            (Some(token), _) => Auth::Delegation(Token(token.to_string())),
            (None, Some(user)) => Auth::User(user.to_string()),
            (None, None) => Auth::User(default_user()),
        };
        Ok(Settings {
            endpoints,
            auth,
            csrf_header: non_empty(CSRF_HEADER_KEY)
                .unwrap_or(DEFAULT_CSRF_HEADER)
                .to_string(),
            connect_timeout: duration(props, CONNECT_TIMEOUT_KEY)?,
            read_timeout: duration(props, READ_TIMEOUT_KEY)?,
            trust: non_empty(trust::LOCATION_KEY).map(|location| TrustStore {
                location: location.to_string(),
                kind: non_empty(trust::TYPE_KEY).unwrap_or("jks").to_string(),
                // Not trimmed: a password may end in a space.
                password: props
                    .get(trust::PASSWORD_KEY)
                    .filter(|p| !p.is_empty())
                    .map(|p| Password(p.clone())),
            }),
        })
    }
}

/// The server of `loc`, or, for a nameservice listed in `dfs.nameservices`, its namenodes'
/// `dfs.namenode.http-address.<ns>.<nn>` (`https-address` for swebhdfs://), as Hadoop's
/// WebHdfsFileSystem resolves a logical name.
fn endpoints(loc: &Location, props: &Properties) -> Result<Vec<String>> {
    let authority = loc.authority().unwrap_or_default();
    let kind = match loc.scheme() {
        "swebhdfs" => "https-address",
        _ => "http-address",
    };
    let get = |key: &str| props.get(key).map(String::as_str);
    let Some(addresses) = nameservice_addresses(authority, kind, get)
        .map_err(|e| StorageError::InvalidArgument(format!("{loc}: {e}")))?
    else {
        let endpoint =
            endpoint(loc.scheme(), authority).ok_or_else(|| StorageError::InvalidPath {
                path: loc.to_string(),
                reason: format!("'{authority}' is no host[:port] of a WebHDFS server"),
            })?;
        return Ok(vec![endpoint]);
    };
    let endpoints = addresses
        .iter()
        .map(|address| {
            endpoint(loc.scheme(), address).ok_or_else(|| {
                StorageError::InvalidArgument(format!(
                    "{loc}: the {kind} '{address}' of a namenode of nameservice {authority} \
                     is no host:port"
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if endpoints.is_empty() {
        return Err(StorageError::InvalidArgument(format!(
            "{loc}: dfs.ha.namenodes.{authority} names no namenode"
        )));
    }
    Ok(endpoints)
}

/// What Hadoop's client sends without a user set: `HADOOP_USER_NAME`, else the OS user
/// (the HDFS backend's default too).
fn default_user() -> String {
    std::env::var("HADOOP_USER_NAME")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| whoami::username().ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// `webhdfs` → `http://authority`, `swebhdfs` → `https://authority`, with the default
/// port when the authority has none; `None` for an authority that is no host[:port].
pub(super) fn endpoint(scheme: &str, authority: &str) -> Option<String> {
    let (http, default_port) = match scheme {
        "swebhdfs" => ("https", HTTPS_PORT),
        _ => ("http", HTTP_PORT),
    };
    let port_of = |p: &str| p.parse::<u16>().ok().filter(|p| *p != 0);
    // An IPv6 literal keeps its brackets; its port follows `]:`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (inside, after) = rest.split_once(']')?;
            let port = match after {
                "" => default_port,
                p => port_of(p.strip_prefix(':')?)?,
            };
            let valid =
                !inside.is_empty() && inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':');
            (valid.then(|| format!("[{inside}]"))?, port)
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((host, port)) => (host, port_of(port)?),
                None => (authority, default_port),
            };
            let valid = !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            (valid.then(|| host.to_string())?, port)
        }
    };
    Some(format!("{http}://{host}:{port}"))
}

/// Fills in the authority of `webhdfs:///path` from `fs.defaultFS` (of the same scheme).
pub(super) fn qualify(loc: &Location, props: &Properties) -> Result<Location> {
    if loc.authority().is_some() {
        return Ok(loc.clone());
    }
    let default_fs = props
        .get("fs.defaultFS")
        .ok_or_else(|| StorageError::InvalidPath {
            path: loc.to_string(),
            reason: "no WebHDFS host in the path and no fs.defaultFS set".into(),
        })?;
    match Location::parse(default_fs) {
        Ok(base) if base.scheme() == loc.scheme() && base.authority().is_some() => {
            Ok(base.with_path(loc.path()))
        }
        _ => Err(StorageError::InvalidPath {
            path: loc.to_string(),
            reason: format!(
                "no WebHDFS host in the path, and fs.defaultFS = {default_fs} is no {}:// URI with a host",
                loc.scheme()
            ),
        }),
    }
}

/// The keys of `core-site.xml` and `hdfs-site.xml` in `HADOOP_CONF_DIR`, then in
/// `conf_dir` (the broker's), later values winning; read once at start. Hadoop's
/// WebHdfsFileSystem reads the same files, so a nameservice (`dfs.nameservices`,
/// `dfs.namenode.http(s)-address.<ns>.<nn>`), `fs.defaultFS` and `dfs.webhdfs.*` set
/// there apply to requests that do not set them. An unreadable file is logged and skipped.
pub(super) fn site_xml(conf_dir: Option<&Path>) -> Properties {
    let hadoop_dir = std::env::var_os("HADOOP_CONF_DIR").map(PathBuf::from);
    let mut keys = Properties::new();
    for dir in hadoop_dir.as_deref().into_iter().chain(conf_dir) {
        for file in ["core-site.xml", "hdfs-site.xml"] {
            let path = dir.join(file);
            match read_hadoop_xml(&path) {
                Ok(Some(values)) => keys.extend(values),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unreadable Hadoop config: {e}")
                }
            }
        }
    }
    keys
}

/// A Hadoop time duration (`getTimeDuration`): a number of milliseconds, or with a unit
/// (`ns`, `us`, `ms`, `s`, `m`, `h`, `d`). Missing: Hadoop's default.
fn duration(props: &Properties, key: &str) -> Result<Duration> {
    let Some(raw) = props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value = number.parse::<u64>().ok();
    let millis_per = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" => Some(1.0),
        "ns" => Some(1e-6),
        "us" => Some(1e-3),
        "s" => Some(1e3),
        "m" => Some(60e3),
        "h" => Some(3600e3),
        "d" => Some(86400e3),
        _ => None,
    };
    match (value, millis_per) {
        (Some(v), Some(per)) if v > 0 => Ok(Duration::from_secs_f64(v as f64 * per / 1e3)),
        _ => Err(StorageError::InvalidArgument(format!(
            "{key} = {raw}: expected a positive duration (milliseconds, or with a unit: 30s, 2m)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::props_of;

    #[test]
    fn site_xml_reads_core_and_hdfs_site_later_files_winning() {
        let dir = tempfile::tempdir().unwrap();
        let xml = |pairs: &[(&str, &str)]| {
            let body: String = pairs
                .iter()
                .map(|(k, v)| format!("<property><name>{k}</name><value>{v}</value></property>"))
                .collect();
            format!("<?xml version=\"1.0\"?><configuration>{body}</configuration>")
        };
        let core = xml(&[
            ("fs.defaultFS", "swebhdfs://ns1"),
            ("dfs.nameservices", "old"),
        ]);
        std::fs::write(dir.path().join("core-site.xml"), core).unwrap();
        let hdfs = xml(&[("dfs.nameservices", "ns1")]);
        std::fs::write(dir.path().join("hdfs-site.xml"), hdfs).unwrap();
        let keys = site_xml(Some(dir.path()));
        assert_eq!(
            keys.get("fs.defaultFS").map(String::as_str),
            Some("swebhdfs://ns1")
        );
        assert_eq!(
            keys.get("dfs.nameservices").map(String::as_str),
            Some("ns1")
        );
    }

    #[test]
    fn schemes_map_to_http_and_https_with_hadoops_default_ports() {
        assert_eq!(
            endpoint("webhdfs", "nn1:50070").as_deref(),
            Some("http://nn1:50070")
        );
        assert_eq!(
            endpoint("webhdfs", "nn1").as_deref(),
            Some("http://nn1:9870")
        );
        assert_eq!(
            endpoint("swebhdfs", "nn1:8443").as_deref(),
            Some("https://nn1:8443")
        );
        assert_eq!(
            endpoint("swebhdfs", "nn1").as_deref(),
            Some("https://nn1:9871")
        );
        assert_eq!(
            endpoint("webhdfs", "[::1]:9870").as_deref(),
            Some("http://[::1]:9870")
        );
        assert_eq!(
            endpoint("webhdfs", "[::1]").as_deref(),
            Some("http://[::1]:9870")
        );
        for bad in ["", "nn:0", "nn:x", "u@nn:1", "nn/x:1"] {
            assert_eq!(endpoint("webhdfs", bad), None, "{bad}");
        }
    }

    #[test]
    fn user_token_and_timeouts_come_from_the_properties() {
        let loc = Location::parse("swebhdfs://gw:14000/a").unwrap();
        let s = Settings::new(&loc, &props_of(&[("username", "etl")])).unwrap();
        assert_eq!(s.endpoints, ["https://gw:14000"]);
        assert_eq!(s.auth, Auth::User("etl".into()));
        assert_eq!(s.connect_timeout, DEFAULT_TIMEOUT);
        let p = props_of(&[
            ("username", "etl"),
            ("delegation_token", "SECRET-TOKEN"),
            (READ_TIMEOUT_KEY, "2m"),
            (CONNECT_TIMEOUT_KEY, "1500"),
        ]);
        let s = Settings::new(&loc, &p).unwrap();
        assert_eq!(s.auth, Auth::Delegation(Token("SECRET-TOKEN".into())));
        assert!(!format!("{s:?}").contains("SECRET"), "{s:?}");
        assert_eq!(s.trust, None);
        let p = props_of(&[
            (trust::LOCATION_KEY, " /etc/ca.p12 "),
            (trust::TYPE_KEY, "PKCS12"),
            (trust::PASSWORD_KEY, "STORE-PW"),
        ]);
        let trust = Settings::new(&loc, &p).unwrap().trust.unwrap();
        assert_eq!(
            (trust.location.as_str(), trust.kind.as_str()),
            ("/etc/ca.p12", "PKCS12")
        );
        assert!(!format!("{trust:?}").contains("STORE-PW"), "{trust:?}");
        assert_eq!(s.read_timeout, Duration::from_secs(120));
        assert_eq!(s.connect_timeout, Duration::from_millis(1500));
        let bad = Settings::new(&loc, &props_of(&[(READ_TIMEOUT_KEY, "soon")])).unwrap_err();
        assert!(bad.to_string().contains(READ_TIMEOUT_KEY), "{bad}");
    }

    #[test]
    fn a_nameservice_resolves_to_its_namenodes_http_addresses() {
        let ha = [
            ("dfs.nameservices", "ns0, ns1"),
            ("dfs.ha.namenodes.ns1", "nn1, nn2"),
            ("dfs.namenode.http-address.ns1.nn1", "127.0.0.1:50070"),
            ("dfs.namenode.http-address.ns1.nn2", "127.0.0.2:50070"),
            ("dfs.namenode.https-address.ns1.nn1", "127.0.0.1:50470"),
            ("dfs.namenode.https-address.ns1.nn2", "127.0.0.2:50470"),
            ("dfs.namenode.http-address.ns0", "127.0.0.3:9870"),
        ];
        let at = |uri: &str, props: &[(&str, &str)]| {
            Settings::new(&Location::parse(uri).unwrap(), &props_of(props)).map(|s| s.endpoints)
        };
        assert_eq!(
            at("webhdfs://ns1/a", &ha).unwrap(),
            ["http://127.0.0.1:50070", "http://127.0.0.2:50070"]
        );
        assert_eq!(
            at("swebhdfs://ns1/a", &ha).unwrap(),
            ["https://127.0.0.1:50470", "https://127.0.0.2:50470"]
        );
        // Federation without HA: the nameservice's one address.
        assert_eq!(
            at("webhdfs://ns0/a", &ha).unwrap(),
            ["http://127.0.0.3:9870"]
        );
        // Not listed: a host name.
        assert_eq!(at("webhdfs://ns2/a", &ha).unwrap(), ["http://ns2:9870"]);
        let missing = at("webhdfs://ns1/a", &ha[..3]).unwrap_err().to_string();
        assert!(
            missing.contains("dfs.namenode.http-address.ns1.nn2"),
            "{missing}"
        );
        let bad = at("webhdfs://ns1/a", &[("dfs.nameservices", "ns1")]).unwrap_err();
        assert!(bad.to_string().contains("dfs.ha.namenodes.ns1"), "{bad}");
    }

    #[test]
    fn a_path_without_host_takes_fs_default_fs_of_its_scheme() {
        let loc = Location::parse("webhdfs:///data/x").unwrap();
        let p = props_of(&[("fs.defaultFS", "webhdfs://nn1:9870")]);
        assert_eq!(
            qualify(&loc, &p).unwrap().to_string(),
            "webhdfs://nn1:9870/data/x"
        );
        let p = props_of(&[("fs.defaultFS", "hdfs://nn1:8020")]);
        assert!(qualify(&loc, &p)
            .unwrap_err()
            .to_string()
            .contains("fs.defaultFS"));
        assert!(qualify(&loc, &Properties::new()).is_err());
    }
}
