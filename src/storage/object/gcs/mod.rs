//! `gs://bucket/key`: Google Cloud Storage on opendal's GCS service (JSON API,
//! `Authorization: Bearer <token>`).
//!
//! Credentials, one of:
//! * a service-account key: the JSON key file's path in
//!   `fs.gs.auth.service.account.json.keyfile` (Hadoop's GCS connector), or the JSON
//!   itself in the same key (a value starting with `{`); or its parts, StarRocks'
//!   `gcp.gcs.service_account_email` + `gcp.gcs.service_account_private_key` (+
//!   `gcp.gcs.service_account_private_key_id`), also spelled
//!   `fs.gs.auth.service.account.email` / `.private.key` / `.private.key.id`;
//! * `gcp.gcs.use_compute_engine_service_account` = true: Google's default chain
//!   (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's file, the VM metadata server);
//! * nothing: unsigned requests (public buckets). Nothing is probed unless asked for.
//!
//! A service-account key is exchanged for an access token by our own provider
//! ([`ServiceAccountToken`]), not reqsign's: that one always posts to Google's token URI,
//! while the key file names its own (`token_uri`) and Hadoop lets `fs.gs.token.server.url`
//! override it. `fs.gs.storage.root.url` overrides the API endpoint.

mod token;

use opendal::Operator;
use reqsign_core::ProvideCredentialChain;
use rsa::pkcs8::DecodePrivateKey;

use self::token::{ServiceAccountToken, SCOPE};
use super::props::{endpoint_url, get, invalid, one_of, parse_bool};
use super::{CredentialFailure, Dialect};
use crate::storage::{Properties, Result};

pub struct Gcs;

const STORE: &str = "GCS";
const KEYFILE: &str = "fs.gs.auth.service.account.json.keyfile";
const EMAIL: &[&str] = &[
    "gcp.gcs.service_account_email",
    "fs.gs.auth.service.account.email",
];
const PRIVATE_KEY: &[&str] = &[
    "gcp.gcs.service_account_private_key",
    "fs.gs.auth.service.account.private.key",
];
const PRIVATE_KEY_ID: &[&str] = &[
    "gcp.gcs.service_account_private_key_id",
    "fs.gs.auth.service.account.private.key.id",
];
const COMPUTE_ENGINE: &str = "gcp.gcs.use_compute_engine_service_account";
const ENDPOINT: &[&str] = &["fs.gs.storage.root.url"];
const TOKEN_URL: &[&str] = &["fs.gs.token.server.url"];

const DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// Connection settings of one bucket. No `Debug`: it holds a private key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GcsSettings {
    bucket: String,
    endpoint: String,
    auth: Auth,
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Auth {
    Anonymous,
    ServiceAccount {
        email: String,
        /// PKCS#8 PEM, checked to parse.
        private_key: String,
        token_uri: String,
    },
    DefaultChain,
}

/// The service-account fields of a JSON key.
fn parse_key_json(text: &str, source: &str) -> Result<(String, String, Option<String>)> {
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        invalid(
            STORE,
            format!("{source} is not a service-account JSON key: {e}"),
        )
    })?;
    let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_string);
    if let Some(kind) = field("type") {
        if kind != "service_account" {
            return Err(invalid(
                STORE,
                format!("{source} holds a '{kind}' credential, not a service-account key"),
            ));
        }
    }
    let missing = |name: &str| invalid(STORE, format!("{source} has no '{name}'"));
    Ok((
        field("client_email").ok_or_else(|| missing("client_email"))?,
        field("private_key").ok_or_else(|| missing("private_key"))?,
        field("token_uri"),
    ))
}

fn check_private_key(pem: &str, key: &str) -> Result<()> {
    rsa::RsaPrivateKey::from_pkcs8_pem(pem)
        .map(|_| ())
        .map_err(|e| {
            invalid(
                STORE,
                format!("{key}: not an RSA private key in PKCS#8 PEM: {e}"),
            )
        })
}

impl Dialect for Gcs {
    type Settings = GcsSettings;
    const STORE: &'static str = STORE;
    /// opendal writes a file of more than one part through GCS's XML multipart API
    /// (which fake-gcs-server lacks), a conditional write through the JSON API's
    /// resumable upload (which every GCS speaks, in bounded chunks too).
    const CONDITIONAL_WRITES: bool = true;

    fn settings(&self, _scheme: &str, bucket: &str, props: &Properties) -> Result<GcsSettings> {
        let keyfile = get(props, KEYFILE);
        let email = one_of(STORE, props, EMAIL, false)?;
        let private_key = one_of(STORE, props, PRIVATE_KEY, true)?;
        let _key_id = one_of(STORE, props, PRIVATE_KEY_ID, false)?;
        let compute_engine = get(props, COMPUTE_ENGINE)
            .map(|v| parse_bool(STORE, v, COMPUTE_ENGINE))
            .transpose()?
            .unwrap_or(false);
        let parts = match (email, private_key) {
            (Some((e, _)), Some((k, key))) => Some((e.to_string(), k.replace("\\n", "\n"), key)),
            (Some((_, given)), None) => {
                return Err(invalid(
                    STORE,
                    format!("{given} is set but {} is missing", PRIVATE_KEY[0]),
                ))
            }
            (None, Some((_, given))) => {
                return Err(invalid(
                    STORE,
                    format!("{given} is set but {} is missing", EMAIL[0]),
                ))
            }
            (None, None) => None,
        };
        let given: Vec<&str> = [
            keyfile.map(|_| KEYFILE),
            parts.as_ref().map(|(_, _, k)| *k),
            compute_engine.then_some(COMPUTE_ENGINE),
        ]
        .into_iter()
        .flatten()
        .collect();
        if given.len() > 1 {
            return Err(invalid(
                STORE,
                format!("{} are alternatives: give one", given.join(" and ")),
            ));
        }
        let token_override = one_of(STORE, props, TOKEN_URL, false)?
            .map(|(v, k)| endpoint_url(STORE, v, k, true))
            .transpose()?;
        let service_account = |email: String, private_key: String, uri: Option<String>, key| {
            check_private_key(&private_key, key)?;
            Ok::<_, crate::storage::StorageError>(Auth::ServiceAccount {
                email,
                private_key,
                token_uri: token_override
                    .clone()
                    .or(uri)
                    .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
            })
        };
        let auth = if let Some(value) = keyfile {
            let text = if value.starts_with('{') {
                value.to_string()
            } else {
                std::fs::read_to_string(value).map_err(|e| {
                    invalid(STORE, format!("{KEYFILE} = {value}: cannot read it: {e}"))
                })?
            };
            let (email, key, uri) = parse_key_json(&text, KEYFILE)?;
            service_account(email, key, uri, KEYFILE)?
        } else if let Some((email, key, name)) = parts {
            service_account(email, key, None, name)?
        } else if compute_engine {
            Auth::DefaultChain
        } else {
            Auth::Anonymous
        };
        let endpoint = match one_of(STORE, props, ENDPOINT, false)? {
            Some((v, k)) => endpoint_url(STORE, v, k, true)?,
            None => DEFAULT_ENDPOINT.to_string(),
        };
        Ok(GcsSettings {
            bucket: bucket.to_string(),
            endpoint,
            auth,
        })
    }

    fn describe(s: &GcsSettings) -> String {
        let credentials = match &s.auth {
            Auth::Anonymous => "none (unsigned requests)".to_string(),
            Auth::ServiceAccount {
                email, token_uri, ..
            } => format!("service account {email} (tokens from {token_uri})"),
            Auth::DefaultChain => "Google default chain".to_string(),
        };
        format!("endpoint {}, credentials: {credentials}", s.endpoint)
    }

    fn is_anonymous(s: &GcsSettings) -> bool {
        s.auth == Auth::Anonymous
    }

    /// Per-key deletes: fake-gcs-server refuses opendal's batch requests ("unable to
    /// process request": each sub-request's header block lacks its closing blank line),
    /// and nothing here proves that real GCS accepts them.
    fn batch_deletes(_: &GcsSettings) -> bool {
        false
    }

    fn operator(s: &GcsSettings) -> opendal::Result<Operator> {
        Self::operator_reporting(s, &CredentialFailure::default())
    }

    fn operator_reporting(
        s: &GcsSettings,
        failure: &CredentialFailure,
    ) -> opendal::Result<Operator> {
        let b = opendal::services::Gcs::default()
            .bucket(&s.bucket)
            .root("/")
            .endpoint(&s.endpoint)
            .scope(SCOPE);
        let b = match &s.auth {
            Auth::Anonymous => b
                .skip_signature()
                .disable_config_load()
                .disable_vm_metadata(),
            Auth::ServiceAccount {
                email,
                private_key,
                token_uri,
            } => {
                let key = rsa::RsaPrivateKey::from_pkcs8_pem(private_key).map_err(|e| {
                    opendal::Error::new(
                        opendal::ErrorKind::ConfigInvalid,
                        format!("service-account private key: {e}"),
                    )
                })?;
                b.credential_provider_chain(ProvideCredentialChain::new().push(
                    ServiceAccountToken {
                        email: email.clone(),
                        key,
                        token_uri: token_uri.clone(),
                        failure: failure.clone(),
                    },
                ))
                .disable_config_load()
                .disable_vm_metadata()
            }
            Auth::DefaultChain => b,
        };
        Operator::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    /// A throwaway 1024-bit test key (generated for these tests, used nowhere else).
    pub const TEST_KEY: &str = include_str!("../../../../tests/data/gcs-test-key.pem");

    use crate::storage::props_of as props;

    fn key_json(token_uri: Option<&str>) -> String {
        let mut json = serde_json::json!({
            "type": "service_account",
            "client_email": "broker@test.iam.gserviceaccount.com",
            "private_key": TEST_KEY,
        });
        if let Some(uri) = token_uri {
            json["token_uri"] = uri.into();
        }
        json.to_string()
    }

    #[test]
    fn a_key_file_or_its_parts_make_a_service_account() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::fs::write(&path, key_json(Some("http://127.0.0.1:9/token"))).unwrap();
        let s = Gcs
            .settings("gs", "bkt", &props(&[(KEYFILE, path.to_str().unwrap())]))
            .unwrap();
        assert_eq!(s.bucket, "bkt");
        assert_eq!(s.endpoint, DEFAULT_ENDPOINT);
        match &s.auth {
            Auth::ServiceAccount {
                email, token_uri, ..
            } => {
                assert_eq!(email, "broker@test.iam.gserviceaccount.com");
                assert_eq!(token_uri, "http://127.0.0.1:9/token");
            }
            _ => panic!("{}", Gcs::describe(&s)),
        }
        assert!(Gcs::operator(&s).is_ok());
        // JSON content in the same key, Hadoop's overrides, and the StarRocks parts.
        let s = Gcs
            .settings(
                "gs",
                "bkt",
                &props(&[
                    (KEYFILE, &key_json(None)),
                    ("fs.gs.storage.root.url", "http://localhost:9"),
                    ("fs.gs.token.server.url", "http://localhost:9/t"),
                ]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "http://localhost:9");
        assert!(
            matches!(&s.auth, Auth::ServiceAccount { token_uri, .. } if token_uri == "http://localhost:9/t")
        );
        let s = Gcs
            .settings(
                "gs",
                "bkt",
                &props(&[
                    (
                        "gcp.gcs.service_account_email",
                        "a@b.iam.gserviceaccount.com",
                    ),
                    (
                        "gcp.gcs.service_account_private_key",
                        &TEST_KEY.replace('\n', "\\n"),
                    ),
                    ("gcp.gcs.service_account_private_key_id", "kid"),
                ]),
            )
            .unwrap();
        assert!(
            matches!(&s.auth, Auth::ServiceAccount { token_uri, .. } if token_uri == DEFAULT_TOKEN_URI)
        );
        assert!(!Gcs::describe(&s).contains("PRIVATE"));
        assert!(Gcs::is_anonymous(
            &Gcs.settings("gs", "b", &props(&[])).unwrap()
        ));
        let s = Gcs
            .settings("gs", "b", &props(&[(COMPUTE_ENGINE, "true")]))
            .unwrap();
        assert!(s.auth == Auth::DefaultChain);
    }

    #[test]
    fn missing_and_contradictory_keys_are_named() {
        for (pairs, named) in [
            (
                vec![("gcp.gcs.service_account_email", "a@b")],
                "gcp.gcs.service_account_private_key",
            ),
            (vec![(KEYFILE, "/nonexistent/key.json")], KEYFILE),
            (vec![(KEYFILE, "{\"type\":\"authorized_user\"}")], KEYFILE),
            (
                vec![
                    (
                        "fs.gs.auth.service.account.private.key",
                        "-----BEGIN nonsense",
                    ),
                    ("fs.gs.auth.service.account.email", "a@b"),
                ],
                "fs.gs.auth.service.account.private.key",
            ),
            (
                vec![(KEYFILE, "{}"), (COMPUTE_ENGINE, "true")],
                COMPUTE_ENGINE,
            ),
            (vec![(COMPUTE_ENGINE, "yes")], COMPUTE_ENGINE),
        ] {
            match Gcs.settings("gs", "b", &props(&pairs)) {
                Err(StorageError::InvalidArgument(m)) => assert!(m.contains(named), "{m}"),
                Err(e) => panic!("{pairs:?}: {e}"),
                Ok(_) => panic!("{pairs:?} accepted"),
            }
        }
    }
}
