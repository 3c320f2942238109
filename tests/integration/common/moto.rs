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

pub struct Moto {
    server: Guarded,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto with `buckets` created.
    pub fn start(buckets: &[&str]) -> Moto {
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
        let mut server = Guarded::spawn(
            Path::new("python3"),
            &args,
            &[("PYTHONPATH", &packages), ("MOTO_CALL_RESET_API", "false")],
            dir.path(),
            "moto.out",
        );
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

    pub fn output(&self) -> String {
        self.server.output()
    }
}
