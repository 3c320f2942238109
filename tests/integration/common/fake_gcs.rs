//! A real GCS server for the tests: fake-gcs-server (Go module
//! `github.com/fsouza/fake-gcs-server@v1.56.1`, built by scripts/test.sh with `go install`
//! into target/), plain HTTP on 127.0.0.1 on a free port, objects in memory. Readiness is
//! a bucket creation answered by its JSON API, never a sleep.
//!
//! fake-gcs-server checks no credentials, so the tests also run a token endpoint
//! ([`TokenServer`]) that checks each RS256 assertion a service-account key signs, and
//! hands out a token only for a valid one: the key's whole path (JWT, exchange, bearer
//! token) is exercised even though the storage server trusts anyone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use rsa::pkcs8::DecodePrivateKey;
use sha2::Digest;

use super::http_listener::{HttpListener, Recorded, Reply};
use super::server::{free_port, http, wait_ready, Guarded};
use super::servers::fake_gcs_binary;
use super::Props;

pub const CLIENT_EMAIL: &str = "broker@test.iam.gserviceaccount.com";
pub const ACCESS_TOKEN: &str = "fake-gcs-access-token-3c9d";
/// The test key (PKCS#8 PEM), made for these tests only.
pub const PRIVATE_KEY: &str = include_str!("../../data/gcs-test-key.pem");

pub struct FakeGcs {
    /// Held, not read: dropping it stops the server.
    _server: Guarded,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl FakeGcs {
    /// Starts the server with `buckets` created.
    pub fn start(buckets: &[&str]) -> FakeGcs {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let program = fake_gcs_binary().expect("no `fake-gcs-server` (see common/servers.rs)");
        let endpoint = format!("http://127.0.0.1:{port}");
        let args: Vec<String> = [
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            &port.to_string(),
            "-backend",
            "memory",
            "-external-url",
            &endpoint,
            "-public-host",
            &format!("127.0.0.1:{port}"),
            "-log-level",
            "warn",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut server = Guarded::spawn(&program, &args, &[], dir.path(), "fake-gcs.out");
        for bucket in buckets {
            let body = format!(r#"{{"name":"{bucket}"}}"#);
            wait_ready(
                &mut server,
                "fake-gcs-server",
                Duration::from_secs(60),
                || {
                    let answer = http(
                        port,
                        "POST",
                        "/storage/v1/b?project=test",
                        &[("Content-Type", "application/json")],
                        body.as_bytes(),
                    )?;
                    matches!(answer.status, 200 | 409).then_some(())
                },
            );
        }
        FakeGcs {
            _server: server,
            port,
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Properties for unsigned requests.
    pub fn unsigned_props(&self) -> Props {
        [("fs.gs.storage.root.url".to_string(), self.endpoint())]
            .into_iter()
            .collect()
    }

    /// Properties with the service-account key inline (Hadoop's keyfile key), whose
    /// `token_uri` is `tokens`.
    pub fn key_props(&self, tokens: &TokenServer) -> Props {
        let key = serde_json::json!({
            "type": "service_account",
            "client_email": CLIENT_EMAIL,
            "private_key": PRIVATE_KEY,
            "token_uri": tokens.uri(),
        });
        [
            (
                "fs.gs.auth.service.account.json.keyfile".to_string(),
                key.to_string(),
            ),
            ("fs.gs.storage.root.url".to_string(), self.endpoint()),
        ]
        .into_iter()
        .collect()
    }

    /// Every object name under `prefix` in `bucket`, sorted.
    pub fn objects(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut page = String::new();
        loop {
            let path = format!(
                "/storage/v1/b/{bucket}/o?prefix={}&pageToken={}",
                encode(prefix),
                encode(&page)
            );
            let answer = http(self.port, "GET", &path, &[], b"").expect("fake-gcs answers");
            assert_eq!(answer.status, 200, "list objects: {}", answer.text());
            let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
            for item in json["items"].as_array().into_iter().flatten() {
                names.push(item["name"].as_str().unwrap().to_string());
            }
            page = json["nextPageToken"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if page.is_empty() {
                break;
            }
        }
        names.sort();
        names
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A token endpoint (RFC 7523 JWT bearer grant) that checks every assertion: RS256 by
/// the test key, issuer [`CLIENT_EMAIL`], audience its own URI, not expired. A valid one
/// gets [`ACCESS_TOKEN`]; anything else `400 invalid_grant`, as Google answers.
pub struct TokenServer {
    listener: HttpListener,
}

impl TokenServer {
    pub fn start() -> TokenServer {
        let public = rsa::RsaPrivateKey::from_pkcs8_pem(PRIVATE_KEY)
            .unwrap()
            .to_public_key();
        let audience = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
        let aud = audience.clone();
        let listener = HttpListener::start(move |r| {
            let want = aud.get().cloned().unwrap_or_default();
            match check_assertion(r, &public, &want) {
                Ok(()) => Reply::new(200)
                    .header("Content-Type", "application/json")
                    .body(format!(
                        r#"{{"access_token":"{ACCESS_TOKEN}","expires_in":3600,"token_type":"Bearer"}}"#
                    )),
                Err(why) => Reply::new(400)
                    .header("Content-Type", "application/json")
                    .body(format!(
                        r#"{{"error":"invalid_grant","error_description":"{why}"}}"#
                    )),
            }
        });
        audience
            .set(format!("http://127.0.0.1:{}/token", listener.port()))
            .unwrap();
        TokenServer { listener }
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.listener.port())
    }

    /// How many exchanges were asked for.
    pub fn exchanges(&self) -> usize {
        self.listener.requests().len()
    }
}

fn check_assertion(r: &Recorded, key: &rsa::RsaPublicKey, audience: &str) -> Result<(), String> {
    if r.method != "POST" || r.path() != "/token" {
        return Err(format!("{} {}", r.method, r.path()));
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&r.body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or(format!("no {name}"))
    };
    if field("grant_type")? != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return Err("wrong grant_type".into());
    }
    let jwt = field("assertion")?;
    let (input, signature) = jwt.rsplit_once('.').ok_or("not a JWT")?;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signature = b64.decode(signature).map_err(|e| e.to_string())?;
    let digest = sha2::Sha256::digest(input.as_bytes());
    key.verify(
        rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
        &digest,
        &signature,
    )
    .map_err(|_| "bad signature".to_string())?;
    let (header, claims) = input.split_once('.').ok_or("not a JWT")?;
    let header: serde_json::Value =
        serde_json::from_slice(&b64.decode(header).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(claims).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if header["alg"] != "RS256" {
        return Err("alg is not RS256".into());
    }
    if claims["iss"] != CLIENT_EMAIL || claims["aud"] != audience {
        return Err(format!("wrong iss or aud: {claims}"));
    }
    if claims["exp"].as_u64().unwrap_or(0) <= now
        || claims["iat"].as_u64().unwrap_or(u64::MAX) > now + 60
    {
        return Err("expired or not yet valid".into());
    }
    Ok(())
}
