//! A second S3 implementation beside SeaweedFS: moto in server mode (PyPI
//! `moto[server]==5.2.5`, installed by scripts/test.sh under target/ with pip --target),
//! on 127.0.0.1 on a free port, in memory. Readiness is a bucket creation answered by its
//! S3 API, never a sleep. moto checks no signatures: what it proves is the requests'
//! shape and the answers' handling, not the credentials.

use std::path::Path;
use std::time::Duration;

use super::server::{free_port, http, wait_ready, Guarded};
use super::servers::moto_packages;
use super::{s3_path_style_props, Props};

pub const ACCESS_KEY: &str = "moto-test-access";
pub const SECRET_KEY: &str = "moto-test-secret-0123456789";

/// One request as moto's recorder saw it.
#[derive(Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub url: String,
    pub authorization: String,
    pub security_token: String,
    /// Small bodies only matter here (an STS form); binary ones come out lossy.
    pub body: String,
}

pub struct Moto {
    server: Guarded,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto with `buckets` created.
    pub fn start(buckets: &[&str]) -> Moto {
        Moto::start_with(buckets, &[])
    }

    /// Starts moto recording every request it serves, headers included (its own
    /// recorder, `MOTO_ENABLE_RECORDING`): see [`Moto::recorded`].
    pub fn start_recording(buckets: &[&str]) -> Moto {
        Moto::start_with(buckets, &[("MOTO_ENABLE_RECORDING", "true")])
    }

    /// Starts moto checking every request's signature and the caller's IAM identity
    /// after the first one (the readiness bucket creation): keys IAM does not know are
    /// refused (`INITIAL_NO_AUTH_ACTION_COUNT=1`).
    pub fn start_checking_identities(bucket: &str) -> Moto {
        Moto::start_with(&[bucket], &[("INITIAL_NO_AUTH_ACTION_COUNT", "1")])
    }

    fn start_with(buckets: &[&str], extra_env: &[(&str, &str)]) -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let args: Vec<String> = [
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let packages = moto_packages()
            .expect("no moto (see common/servers.rs)")
            .display()
            .to_string();
        let recording = dir.path().join("recording.jsonl").display().to_string();
        let mut env = vec![
            ("PYTHONPATH", packages.as_str()),
            ("MOTO_CALL_RESET_API", "false"),
            ("MOTO_RECORDER_FILEPATH", recording.as_str()),
        ];
        env.extend_from_slice(extra_env);
        let mut server = Guarded::spawn(Path::new("python3"), &args, &env, dir.path(), "moto.out");
        for bucket in buckets {
            wait_ready(&mut server, "moto", Duration::from_secs(60), || {
                let answer = http(port, "PUT", &format!("/{bucket}"), &[], b"")?;
                (answer.status == 200).then_some(())
            });
        }
        Moto {
            server,
            port,
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Hadoop's keys for this server, path-style.
    pub fn props(&self) -> Props {
        s3_path_style_props(ACCESS_KEY, SECRET_KEY, &self.endpoint())
    }

    /// Every key under `prefix` in `bucket` (one page is enough for the tests), sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let path = format!(
            "/{bucket}?list-type=2&prefix={}",
            form_urlencoded::byte_serialize(prefix.as_bytes()).collect::<String>()
        );
        let answer = http(self.port, "GET", &path, &[], b"").expect("moto answers");
        let text = answer.text();
        assert_eq!(answer.status, 200, "list: {text}");
        let mut keys: Vec<String> = text
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect();
        keys.sort();
        keys
    }

    /// The requests recorded so far (a server from [`Moto::start_recording`]), in order.
    pub fn recorded(&self) -> Vec<RecordedRequest> {
        let text =
            std::fs::read_to_string(self._dir.path().join("recording.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .map(|entry| {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
                let body = text(&entry["body"]);
                let body = if entry["body_encoded"].as_bool() == Some(true) {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(body.as_bytes())
                        .map(|b| String::from_utf8_lossy(&b).to_string())
                        .unwrap_or_default()
                } else {
                    body
                };
                let header = |name: &str| {
                    entry["headers"]
                        .as_object()
                        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                        .map(|(_, v)| text(v))
                        .unwrap_or_default()
                };
                RecordedRequest {
                    method: text(&entry["method"]),
                    url: text(&entry["url"]),
                    authorization: header("authorization"),
                    security_token: header("x-amz-security-token"),
                    body,
                }
            })
            .collect()
    }

    pub fn output(&self) -> String {
        self.server.output()
    }
}
