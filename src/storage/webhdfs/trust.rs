//! The CA certificates a `swebhdfs://` client trusts: Hadoop's `ssl.client.truststore.*`
//! keys (what its `ssl-client.xml` holds), read from a PEM file or a PKCS12 truststore.
//! When one is set only its certificates are trusted, as Hadoop's client trusts only its
//! truststore then; without one, the system's roots. A request's keys win over those of
//! an `ssl-client.xml` beside the Hadoop XML files the broker reads. Java's own JKS format is not read:
//! its magic number is recognised and the error says how to convert it.

use std::path::{Path, PathBuf};

use reqwest::Certificate;

use crate::storage::hdfs::conf::read_hadoop_xml;
use crate::storage::Properties;

pub(super) const LOCATION_KEY: &str = "ssl.client.truststore.location";
pub(super) const TYPE_KEY: &str = "ssl.client.truststore.type";
pub(super) const PASSWORD_KEY: &str = "ssl.client.truststore.password";

/// A truststore's password: compared and hashed (clients are cached by it), never printed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Where the trusted certificates come from (part of a client's settings).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TrustStore {
    pub location: String,
    /// `ssl.client.truststore.type` as given (`jks`, Hadoop's default, when missing).
    pub kind: String,
    pub password: Option<Password>,
}

/// The `ssl.client.truststore.*` keys of `ssl-client.xml` in `HADOOP_CONF_DIR`, then in
/// `conf_dir` (the broker's), later values winning; read once at start. An unreadable
/// file is logged (never its values: the password) and skipped.
pub(super) fn ssl_client_xml(conf_dir: Option<&Path>) -> Properties {
    let hadoop_dir = std::env::var_os("HADOOP_CONF_DIR").map(PathBuf::from);
    let mut keys = Properties::new();
    for dir in hadoop_dir.as_deref().into_iter().chain(conf_dir) {
        let path = dir.join("ssl-client.xml");
        match read_hadoop_xml(&path) {
            Ok(Some(values)) => {
                let before = keys.len();
                keys.extend(
                    values.into_iter().filter(|(k, _)| {
                        [LOCATION_KEY, TYPE_KEY, PASSWORD_KEY].contains(&k.as_str())
                    }),
                );
                tracing::info!(path = %path.display(), "loaded {} truststore settings", keys.len() - before);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), "ignoring unreadable ssl-client.xml: {e}")
            }
        }
    }
    keys
}

/// JKS and JCEKS files start with these magic numbers.
const JKS_MAGIC: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
const JCEKS_MAGIC: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

impl TrustStore {
    /// The certificates of the truststore; an error names the key and the cause.
    pub fn certificates(&self) -> Result<Vec<Certificate>, String> {
        let at = format!("{LOCATION_KEY} = {}", self.location);
        let bytes = std::fs::read(&self.location).map_err(|e| format!("{at}: cannot read: {e}"))?;
        let kind = self.kind.to_ascii_lowercase();
        let certs = if bytes.starts_with(&JKS_MAGIC) || bytes.starts_with(&JCEKS_MAGIC) {
            return Err(format!(
                "{at}: a Java JKS/JCEKS keystore, which the broker does not read; convert it to \
                 PKCS12 (keytool -importkeystore -srckeystore {} -destkeystore truststore.p12 \
                 -deststoretype PKCS12) and set {TYPE_KEY} = pkcs12, or give a PEM file",
                self.location
            ));
        } else if kind == "pem" || bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Certificate::from_pem_bundle(&bytes)
                .map_err(|e| format!("{at}: no PEM certificates: {e}"))?
        } else if matches!(kind.as_str(), "pkcs12" | "p12" | "pfx" | "jks") {
            // Java reads a PKCS12 file whichever of the two types is named.
            self.pkcs12(&bytes).map_err(|e| format!("{at}: {e}"))?
        } else {
            return Err(format!(
                "{TYPE_KEY} = {}: expected pkcs12 or pem (jks files are not read)",
                self.kind
            ));
        };
        if certs.is_empty() {
            return Err(format!("{at}: holds no certificate"));
        }
        Ok(certs)
    }

    /// Every certificate of a PKCS12 file (trusted entries and those of key entries).
    fn pkcs12(&self, bytes: &[u8]) -> Result<Vec<Certificate>, String> {
        let password = self.password.as_ref().map_or("", |p| p.0.as_str());
        let archive = p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password).map_err(|e| {
            // The MAC check is the first to fail on a wrong password.
            format!("not a PKCS12 truststore this {PASSWORD_KEY} opens ({e})")
        })?;
        archive
            .certs
            .iter()
            .map(|bag| Certificate::from_der(bag.cert.as_der()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("a certificate of the PKCS12 file is unreadable: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(location: &std::path::Path, kind: &str, password: Option<&str>) -> TrustStore {
        TrustStore {
            location: location.display().to_string(),
            kind: kind.into(),
            password: password.map(|p| Password(p.into())),
        }
    }

    #[test]
    fn unreadable_stores_name_the_key_and_the_cause() {
        let dir = tempfile::tempdir().unwrap();
        let missing = store(&dir.path().join("none.p12"), "pkcs12", None);
        let e = missing.certificates().unwrap_err();
        assert!(e.contains(LOCATION_KEY) && e.contains("cannot read"), "{e}");

        let jks = dir.path().join("t.jks");
        std::fs::write(&jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]).unwrap();
        let e = store(&jks, "jks", Some("secret-pw"))
            .certificates()
            .unwrap_err();
        assert!(
            e.contains("JKS") && e.contains("keytool -importkeystore"),
            "{e}"
        );
        assert!(!e.contains("secret-pw"), "{e}");

        let junk = dir.path().join("t.p12");
        std::fs::write(&junk, b"\x30\x03\x02\x01\x03garbage").unwrap();
        let e = store(&junk, "pkcs12", Some("secret-pw"))
            .certificates()
            .unwrap_err();
        assert!(e.contains(PASSWORD_KEY) && !e.contains("secret-pw"), "{e}");

        let e = store(&junk, "bks", None).certificates().unwrap_err();
        assert!(e.contains(TYPE_KEY), "{e}");

        let empty_pem = dir.path().join("t.pem");
        std::fs::write(&empty_pem, b"-----BEGIN NOTHING-----\n").unwrap();
        assert!(store(&empty_pem, "pem", None).certificates().is_err());
    }

    #[test]
    fn the_password_is_never_printed() {
        let s = store(std::path::Path::new("/x"), "pkcs12", Some("secret-pw"));
        assert!(!format!("{s:?}").contains("secret-pw"));
    }
}
