//! Kerberos identities for HDFS clients: one principal per request, never per process.
//!
//! The Java broker logs in through Hadoop's process-wide `UserGroupInformation`, so two
//! principals on one broker end up running as whichever logged in last. Here every cached
//! HDFS client carries its own credentials: hdfs-native acquires them per client with
//! `gss_acquire_cred_from` from a credential store of {ccache, client_keytab}, so nothing
//! goes through the process-default cache (`KRB5CCNAME`) that one request could overwrite
//! for another. MIT krb5 gets initial tickets from the keytab when the cache has none and
//! gets fresh ones once they are half-way to expiry, on the next connection that needs
//! them: long-lived clients stay logged in without a renewal thread.
//!
//! Each identity (principal + keytab) has its own in-memory cache (`MEMORY:`, named after a
//! digest of the identity, so no ticket is written to disk and a rebuilt client of the same
//! identity finds the tickets its predecessor got). A keytab sent inline
//! (`kerberos_keytab_content`) is written to a 0600 file with a random name in a 0700
//! directory of the broker's own, and removed once the last client or stream using it is
//! gone; the bytes are never logged.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{Properties, Result, StorageError};

pub const PRINCIPAL_KEY: &str = "kerberos_principal";
pub const KEYTAB_KEY: &str = "kerberos_keytab";
pub const KEYTAB_CONTENT_KEY: &str = "kerberos_keytab_content";
const AUTHENTICATION_KEY: &str = "hadoop.security.authentication";

/// The request keys that select a Kerberos identity (part of a client's cache key).
pub fn is_kerberos_key(key: &str) -> bool {
    matches!(key, PRINCIPAL_KEY | KEYTAB_KEY | KEYTAB_CONTENT_KEY)
}

/// Whether the merged Hadoop settings ask for Kerberos. Only `simple` (the default) and
/// `kerberos` are known; anything else is refused rather than guessed at.
pub fn wants_kerberos(config: &HashMap<String, String>) -> Result<bool> {
    match config.get(AUTHENTICATION_KEY).map(|v| v.trim()) {
        None | Some("") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("simple") => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("kerberos") => Ok(true),
        Some(v) => Err(StorageError::InvalidArgument(format!(
            "{AUTHENTICATION_KEY} = {v}: expected simple or kerberos"
        ))),
    }
}

/// Where a principal's keys come from.
enum KeytabSource<'a> {
    Path(&'a str),
    Inline(&'a str),
}

/// A request's Kerberos identity, checked but not yet logged in.
pub struct Identity<'a> {
    pub principal: String,
    keytab: KeytabSource<'a>,
}

impl<'a> Identity<'a> {
    /// Reads `kerberos_principal` (`_HOST` → this host's canonical name) and one of
    /// `kerberos_keytab` / `kerberos_keytab_content`; a missing one is named.
    pub fn from_props(props: &'a Properties) -> Result<Self> {
        let get = |k: &str| props.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let principal = get(PRINCIPAL_KEY).ok_or_else(|| {
            StorageError::InvalidArgument(format!(
                "{AUTHENTICATION_KEY} = kerberos needs {PRINCIPAL_KEY} (the principal to log in as)"
            ))
        })?;
        let principal = replace_host(principal, canonical_host_name());
        let keytab = match (get(KEYTAB_KEY), get(KEYTAB_CONTENT_KEY)) {
            (Some(path), None) => KeytabSource::Path(path),
            (None, Some(content)) => KeytabSource::Inline(content),
            (Some(_), Some(_)) => {
                return Err(StorageError::InvalidArgument(format!(
                    "give either {KEYTAB_KEY} or {KEYTAB_CONTENT_KEY}, not both"
                )))
            }
            (None, None) => {
                return Err(StorageError::InvalidArgument(format!(
                    "{AUTHENTICATION_KEY} = kerberos needs {KEYTAB_KEY} (a keytab path on the broker host) or {KEYTAB_CONTENT_KEY} (the keytab, base64) for {principal}"
                )))
            }
        };
        if let KeytabSource::Path(path) = keytab {
            // A clear answer now rather than a GSSAPI one at the first call.
            std::fs::File::open(path).map_err(|e| {
                StorageError::InvalidArgument(format!("{KEYTAB_KEY} = {path}: cannot read: {e}"))
            })?;
        }
        Ok(Identity { principal, keytab })
    }

    /// The credentials a client of this identity is built with. A keytab without a key
    /// for the principal is refused here, naming the principals it has keys for (GSSAPI
    /// would only say "No credentials cache found" at the first call).
    pub fn credentials(&self, keytabs: &KeytabDir) -> Result<Credentials> {
        let (keytab_path, file) = match self.keytab {
            KeytabSource::Path(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    StorageError::InvalidArgument(format!(
                        "{KEYTAB_KEY} = {path}: cannot read: {e}"
                    ))
                })?;
                self.check_keytab(&bytes, &format!("{KEYTAB_KEY} = {path}"))?;
                (PathBuf::from(path), None)
            }
            KeytabSource::Inline(content) => {
                // `base64` wraps lines unless told -w0: whitespace is not part of it.
                let packed: Vec<u8> = content
                    .bytes()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(&packed)
                    .map_err(|e| {
                        StorageError::InvalidArgument(format!(
                            "{KEYTAB_CONTENT_KEY} (for {}) is not valid base64: {e}",
                            self.principal
                        ))
                    })?;
                self.check_keytab(&bytes, KEYTAB_CONTENT_KEY)?;
                let file = keytabs.write(&bytes)?;
                (file.path().to_path_buf(), Some(Arc::new(file)))
            }
        };
        Ok(Credentials {
            principal: self.principal.clone(),
            keytab: keytab_path,
            cache: self.cache_name(),
            _file: file,
        })
    }

    /// The keytab (`named` as the request gave it) must hold a key for the principal.
    /// Unparsable bytes pass: GSSAPI's own answer says more than a guess would.
    fn check_keytab(&self, bytes: &[u8], named: &str) -> Result<()> {
        let Some(held) = keytab_principals(bytes) else {
            return Ok(());
        };
        let wanted = &self.principal;
        // Without a realm, the principal is in krb5.conf's default realm.
        let matches = |p: &String| {
            p == wanted || (!wanted.contains('@') && p.split('@').next() == Some(wanted.as_str()))
        };
        if held.iter().any(matches) {
            return Ok(());
        }
        let listed = if held.is_empty() {
            "no keys at all".to_string()
        } else {
            format!("keys for {} only", held.join(", "))
        };
        Err(StorageError::NotAuthorized(format!(
            "the keytab of {named} has no key for {wanted} ({listed}): pair {PRINCIPAL_KEY} with that principal's own keytab"
        )))
    }

    /// `MEMORY:` cache named by a digest of principal and keytab (path or bytes): one per
    /// identity, shared by that identity's clients, never by two identities.
    fn cache_name(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.principal.as_bytes());
        match self.keytab {
            KeytabSource::Path(path) => {
                h.update(b"\0path\0");
                h.update(path.as_bytes());
            }
            KeytabSource::Inline(content) => {
                h.update(b"\0inline\0");
                h.update(content.as_bytes());
            }
        }
        let digest = h.finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("MEMORY:apache_hdfs_broker-{hex}")
    }
}

/// What an HDFS client of one identity is built with. Holding it keeps an inline keytab's
/// file alive: the client, and every stream opened through it, hold one.
pub struct Credentials {
    pub principal: String,
    pub keytab: PathBuf,
    pub cache: String,
    _file: Option<Arc<PrivateKeytab>>,
}

impl Credentials {
    /// A handle that keeps the keytab file (if the broker wrote one) on disk.
    pub fn keep_alive(&self) -> Option<Arc<PrivateKeytab>> {
        self._file.clone()
    }
}

/// An inline keytab on disk: 0600, random name, removed on drop.
pub struct PrivateKeytab(tempfile::TempPath);

impl PrivateKeytab {
    fn path(&self) -> &Path {
        &self.0
    }
}

/// The broker's private directory (0700, random name under `$TMPDIR`) for inline keytabs,
/// created on first use and removed with everything in it when the broker stops.
#[derive(Default)]
pub struct KeytabDir {
    dir: Mutex<Option<tempfile::TempDir>>,
}

impl KeytabDir {
    fn write(&self, bytes: &[u8]) -> Result<PrivateKeytab> {
        let mut guard = self.dir.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::Builder::new()
                .prefix("apache_hdfs_broker-keytabs-")
                .permissions(std::fs::Permissions::from_mode(0o700))
                .tempdir()
                .map_err(|e| StorageError::Io {
                    path: std::env::temp_dir().display().to_string(),
                    message: format!(
                        "cannot create a private directory for {KEYTAB_CONTENT_KEY}: {e}"
                    ),
                })?;
            tracing::info!(dir = %dir.path().display(), "private directory for inline keytabs");
            *guard = Some(dir);
        }
        let dir = guard
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default();
        drop(guard);
        let fail = |e: std::io::Error| StorageError::Io {
            path: dir.display().to_string(),
            message: format!("cannot write the keytab of {KEYTAB_CONTENT_KEY}: {e}"),
        };
        // tempfile creates it 0600 with a random name, O_EXCL.
        let mut file = tempfile::Builder::new()
            .prefix("keytab-")
            .tempfile_in(&dir)
            .map_err(fail)?;
        file.write_all(bytes).map_err(fail)?;
        file.as_file().sync_all().map_err(fail)?;
        Ok(PrivateKeytab(file.into_temp_path()))
    }
}

/// The principals (`name/instance@REALM`) a keytab holds keys for, each once, in file
/// order; `None` when the bytes are no MIT keytab (format versions 0x0501 and 0x0502).
/// Hand-written: no maintained crate reads keytabs, and the part needed is this small.
fn keytab_principals(bytes: &[u8]) -> Option<Vec<String>> {
    let version = match bytes {
        [5, v @ (1 | 2), ..] => *v,
        _ => return None,
    };
    let mut principals: Vec<String> = Vec::new();
    let mut rest = &bytes[2..];
    while rest.len() >= 4 {
        let size = i32::from_be_bytes(rest[..4].try_into().ok()?);
        rest = &rest[4..];
        let len = size.unsigned_abs() as usize;
        let entry = rest.get(..len)?;
        rest = &rest[len..];
        if size <= 0 {
            continue; // a hole left by a removed entry
        }
        let mut e = entry;
        let mut take = |n: usize| -> Option<&[u8]> {
            let (head, tail) = (e.get(..n)?, e.get(n..)?);
            e = tail;
            Some(head)
        };
        let mut count = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
        if version == 1 {
            count = count.checked_sub(1)?; // version 1 counted the realm too
        }
        let mut string = || -> Option<String> {
            let n = u16::from_be_bytes(take(2)?.try_into().ok()?) as usize;
            Some(String::from_utf8_lossy(take(n)?).into_owned())
        };
        let realm = string()?;
        let components: Option<Vec<String>> = (0..count).map(|_| string()).collect();
        let principal = format!("{}@{realm}", components?.join("/"));
        if !principals.contains(&principal) {
            principals.push(principal);
        }
    }
    Some(principals)
}

/// Hadoop's `SecurityUtil.getServerPrincipal`: `_HOST` in the host part becomes the host
/// name, lower case.
fn replace_host(principal: &str, host: &str) -> String {
    let (name, realm) = match principal.split_once('@') {
        Some((name, realm)) => (name, Some(realm)),
        None => (principal, None),
    };
    let name = match name.split_once('/') {
        Some((service, "_HOST")) => format!("{service}/{}", host.to_ascii_lowercase()),
        _ => name.to_string(),
    };
    match realm {
        Some(realm) => format!("{name}@{realm}"),
        None => name,
    }
}

/// This host's canonical (DNS) name, as Java's `getCanonicalHostName`; the plain host name
/// when it does not resolve.
fn canonical_host_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let host = dns_lookup::get_hostname().unwrap_or_else(|_| "localhost".into());
        let hints = dns_lookup::AddrInfoHints {
            flags: AI_CANONNAME,
            ..Default::default()
        };
        dns_lookup::getaddrinfo(Some(&host), None, Some(hints))
            .ok()
            .and_then(|mut infos| infos.find_map(|i| i.ok()?.canonname))
            .unwrap_or(host)
    })
}

/// `AI_CANONNAME` (the same value on Linux, the BSDs and macOS).
const AI_CANONNAME: i32 = 0x0002;

#[cfg(test)]
mod tests {
    use super::*;

    use crate::storage::props_of as props;

    #[test]
    fn host_placeholder_becomes_the_host_name() {
        assert_eq!(
            replace_host("hdfs/_HOST@EXAMPLE.COM", "Broker1.Example.com"),
            "hdfs/broker1.example.com@EXAMPLE.COM"
        );
        assert_eq!(replace_host("alice@EXAMPLE.COM", "h"), "alice@EXAMPLE.COM");
        assert_eq!(replace_host("etl/_HOST", "h"), "etl/h");
        assert!(!canonical_host_name().is_empty());
    }

    #[test]
    fn missing_pieces_are_named() {
        let err = Identity::from_props(&props(&[])).err().unwrap().to_string();
        assert!(err.contains(PRINCIPAL_KEY), "{err}");
        let err = Identity::from_props(&props(&[(PRINCIPAL_KEY, "a@R")]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(KEYTAB_KEY) && err.contains(KEYTAB_CONTENT_KEY),
            "{err}"
        );
        let err = Identity::from_props(&props(&[
            (PRINCIPAL_KEY, "a@R"),
            (KEYTAB_KEY, "/nonexistent/a.keytab"),
        ]))
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("/nonexistent/a.keytab"), "{err}");
        let mut c = HashMap::new();
        c.insert(AUTHENTICATION_KEY.to_string(), "token".to_string());
        assert!(wants_kerberos(&c).is_err());
        c.insert(AUTHENTICATION_KEY.to_string(), "Kerberos".to_string());
        assert!(wants_kerberos(&c).unwrap());
    }

    #[test]
    fn inline_keytabs_are_private_and_go_away() {
        let dir = KeytabDir::default();
        let p = props(&[(PRINCIPAL_KEY, "a@R"), (KEYTAB_CONTENT_KEY, "AQIDBA==")]);
        let id = Identity::from_props(&p).unwrap();
        let creds = id.credentials(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&creds.keytab)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let parent = creds.keytab.parent().unwrap().to_path_buf();
        let dir_mode = std::fs::metadata(&parent).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        assert_eq!(std::fs::read(&creds.keytab).unwrap(), [1, 2, 3, 4]);
        let wrapped = props(&[(PRINCIPAL_KEY, "a@R"), (KEYTAB_CONTENT_KEY, "AQID\nBA==\n")]);
        let id2 = Identity::from_props(&wrapped).unwrap();
        let creds2 = id2.credentials(&dir).unwrap();
        assert_eq!(std::fs::read(&creds2.keytab).unwrap(), [1, 2, 3, 4]);
        drop(creds2);
        let stream_handle = creds.keep_alive();
        let path = creds.keytab.clone();
        drop(creds);
        assert!(path.exists(), "a stream still holds it");
        drop(stream_handle);
        assert!(!path.exists());
        drop(dir);
        assert!(!parent.exists());

        let bad = props(&[(PRINCIPAL_KEY, "a@R"), (KEYTAB_CONTENT_KEY, "not base64!")]);
        let err = Identity::from_props(&bad)
            .unwrap()
            .credentials(&KeytabDir::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(KEYTAB_CONTENT_KEY) && !err.contains("not base64!"),
            "{err}"
        );
    }

    /// A version 0x0502 keytab entry: principal, name type, timestamp, kvno, key.
    fn keytab_entry(components: &[&str], realm: &str) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend((components.len() as u16).to_be_bytes());
        for s in std::iter::once(&realm).chain(components) {
            e.extend((s.len() as u16).to_be_bytes());
            e.extend(s.as_bytes());
        }
        e.extend(1u32.to_be_bytes()); // KRB5_NT_PRINCIPAL
        e.extend(0u32.to_be_bytes());
        e.push(1);
        e.extend(17u16.to_be_bytes());
        e.extend(16u16.to_be_bytes());
        e.extend([7u8; 16]);
        let mut out = (e.len() as i32).to_be_bytes().to_vec();
        out.extend(e);
        out
    }

    #[test]
    fn a_keytab_without_the_principal_is_refused_naming_what_it_holds() {
        let mut keytab = vec![5u8, 2];
        keytab.extend(keytab_entry(&["bob"], "EXAMPLE.COM"));
        keytab.extend((-12i32).to_be_bytes());
        keytab.extend([0u8; 12]);
        keytab.extend(keytab_entry(&["hdfs", "localhost"], "EXAMPLE.COM"));
        keytab.extend(keytab_entry(&["bob"], "EXAMPLE.COM"));
        assert_eq!(
            keytab_principals(&keytab).unwrap(),
            ["bob@EXAMPLE.COM", "hdfs/localhost@EXAMPLE.COM"]
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bob.keytab");
        std::fs::write(&path, &keytab).unwrap();
        let path = path.to_str().unwrap();
        let creds = |principal: &str| {
            let p = props(&[(PRINCIPAL_KEY, principal), (KEYTAB_KEY, path)]);
            Identity::from_props(&p)
                .unwrap()
                .credentials(&KeytabDir::default())
                .map(|_| ())
        };
        let err = creds("alice@EXAMPLE.COM").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err:?}");
        assert!(
            msg.contains("alice@EXAMPLE.COM")
                && msg.contains("bob@EXAMPLE.COM, hdfs/localhost@EXAMPLE.COM")
                && msg.contains(path),
            "{msg}"
        );
        creds("bob@EXAMPLE.COM").unwrap();
        creds("bob").unwrap();
        creds("hdfs/localhost@EXAMPLE.COM").unwrap();
        // Not a keytab: left to GSSAPI.
        assert!(keytab_principals(b"\x01\x02\x03").is_none());
    }

    #[test]
    fn identities_get_their_own_caches() {
        let a = props(&[(PRINCIPAL_KEY, "a@R"), (KEYTAB_CONTENT_KEY, "AQID")]);
        let b = props(&[(PRINCIPAL_KEY, "b@R"), (KEYTAB_CONTENT_KEY, "AQID")]);
        let a2 = props(&[(PRINCIPAL_KEY, "a@R"), (KEYTAB_CONTENT_KEY, "AQIE")]);
        let name = |p: &Properties| Identity::from_props(p).unwrap().cache_name();
        assert_eq!(name(&a), name(&a.clone()));
        assert_ne!(name(&a), name(&b));
        assert_ne!(name(&a), name(&a2));
        assert!(name(&a).starts_with("MEMORY:"));
    }
}
