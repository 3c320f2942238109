//! A real Azure Blob server for the tests: Azurite (npm `azurite@3.37.0`, installed by
//! scripts/test.sh under target/), `azurite-blob --loose --skipApiVersionCheck` on
//! 127.0.0.1 on a free port, data in a temporary directory. Readiness is a signed
//! container creation answered by the server, never a sleep.
//!
//! Azurite serves the emulator's well-known account (`devstoreaccount1`) path-style:
//! `http://127.0.0.1:PORT/devstoreaccount1/<container>/<blob>`. The helpers here make
//! the three kinds of credentials a user has (the account key, a container SAS, an
//! account SAS) and list blobs behind the broker's back.

use std::time::Duration;

use super::server::{free_port, http, wait_ready, Guarded};
use super::servers::azurite_binary;
use super::Props;

pub const ACCOUNT: &str = "devstoreaccount1";
/// The emulator's published development key (not a secret: every Azurite has it).
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The SAS version the tests sign with.
const SAS_VERSION: &str = "2021-08-06";

pub struct Azurite {
    /// Held, not read: dropping it stops the server.
    _server: Guarded,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
pub enum Credential {
    AccountKey,
    ContainerSas,
    AccountSas,
}

impl Azurite {
    /// Starts Azurite with `containers` created, waiting (up to a minute) until a signed
    /// request creates them.
    pub fn start(containers: &[&str]) -> Azurite {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let program = azurite_binary().expect("no `azurite-blob` (see common/servers.rs)");
        let args: Vec<String> = [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
            &dir.path().join("data").display().to_string(),
            "--loose",
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        let mut server = Guarded::spawn(&program, &args, &[], dir.path(), "azurite.out");
        let azurite_sas = account_sas("rwdlac", "sco");
        for container in containers {
            let path = format!("/{ACCOUNT}/{container}?restype=container&{azurite_sas}");
            wait_ready(&mut server, "Azurite", Duration::from_secs(60), || {
                let answer = http(port, "PUT", &path, &[("x-ms-version", SAS_VERSION)], b"")?;
                match answer.status {
                    201 | 409 => Some(()),
                    _ => None,
                }
            });
        }
        Azurite {
            _server: server,
            port,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1`: what `azure.blob.endpoint` names.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// `scheme://container@devstoreaccount1.blob.core.windows.net`.
    pub fn base(&self, scheme: &str, container: &str) -> String {
        format!("{scheme}://{container}@{ACCOUNT}.blob.core.windows.net")
    }

    /// The properties that reach `container` with `credential`, Hadoop's key names.
    pub fn props(&self, container: &str, credential: Credential) -> Props {
        let host = format!("{ACCOUNT}.blob.core.windows.net");
        let (key, value) = match credential {
            Credential::AccountKey => (
                format!("fs.azure.account.key.{host}"),
                ACCOUNT_KEY.to_string(),
            ),
            Credential::ContainerSas => (
                format!("fs.azure.sas.{container}.{host}"),
                container_sas(container, "racwdl"),
            ),
            Credential::AccountSas => (
                format!("fs.azure.sas.{container}.{host}"),
                account_sas("racwdl", "co"),
            ),
        };
        [
            (key, value),
            ("azure.blob.endpoint".to_string(), self.endpoint()),
        ]
        .into_iter()
        .collect()
    }

    /// Every blob name under `prefix` in `container` (flat listing), sorted.
    pub fn blobs(&self, container: &str, prefix: &str) -> Vec<String> {
        let sas = account_sas("rl", "co");
        let mut names = Vec::new();
        let mut marker = String::new();
        loop {
            let path = format!(
                "/{ACCOUNT}/{container}?restype=container&comp=list&prefix={}&marker={}&{sas}",
                encode(prefix),
                encode(&marker)
            );
            let answer = http(
                self.port,
                "GET",
                &path,
                &[("x-ms-version", SAS_VERSION)],
                b"",
            )
            .expect("Azurite answers");
            let text = answer.text();
            assert_eq!(answer.status, 200, "list blobs: {text}");
            names.extend(elements(&text, "Name"));
            marker = elements(&text, "NextMarker").pop().unwrap_or_default();
            if marker.is_empty() {
                break;
            }
        }
        names.sort();
        names
    }
}

/// The text of every `<tag>...</tag>` in `xml` (no nesting, no attributes).
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|s| s.split_once(&close).map(|(v, _)| v.to_string()))
        .collect()
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn sign(string_to_sign: &str) -> String {
    let key = reqsign_core::hash::base64_decode(ACCOUNT_KEY).unwrap();
    reqsign_core::hash::base64_hmac_sha256(&key, string_to_sign.as_bytes())
}

/// A day from now, in the SAS time format.
fn expiry() -> String {
    let t = std::time::SystemTime::now() + Duration::from_secs(86_400);
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's
/// algorithm; the tests have no date crate).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// An account SAS for the Blob service (`ss=b`) on resource types `srt`.
pub fn account_sas(permissions: &str, resource_types: &str) -> String {
    let se = expiry();
    let to_sign =
        format!("{ACCOUNT}\n{permissions}\nb\n{resource_types}\n\n{se}\n\n\n{SAS_VERSION}\n\n");
    format!(
        "sv={SAS_VERSION}&ss=b&srt={resource_types}&sp={permissions}&se={}&sig={}",
        encode(&se),
        encode(&sign(&to_sign))
    )
}

/// A service SAS on one container (`sr=c`).
pub fn container_sas(container: &str, permissions: &str) -> String {
    let se = expiry();
    let to_sign = format!(
        "{permissions}\n\n{se}\n/blob/{ACCOUNT}/{container}\n\n\n\n{SAS_VERSION}\nc\n\n\n\n\n\n\n"
    );
    format!(
        "sv={SAS_VERSION}&sr=c&sp={permissions}&se={}&sig={}",
        encode(&se),
        encode(&sign(&to_sign))
    )
}
