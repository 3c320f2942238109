//! The signature-checking proxy (signature_proxy.py beside this file) between the broker
//! and moto: every OSS or COS request is signed again by the vendor's Python SDK (PyPI
//! `oss2==2.19.1`, `cos-python-sdk-v5==1.9.44`, installed by scripts/test.sh under
//! target/ with pip --target; see servers.rs), refused when the signatures differ, else
//! forwarded to moto as S3. Listens on a free loopback port, ready once it prints so.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::moto::Moto;
use super::server::{wait_ready, Guarded};
use super::servers::{cos_sdk_packages, oss2_packages};

/// Which signature the proxy checks.
#[derive(Clone, Copy, Debug)]
pub enum Signature {
    OssV1,
    OssV4,
    Cos,
}

pub struct SignatureProxy {
    server: Guarded,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl SignatureProxy {
    /// A proxy in front of `moto` checking `signature` for these keys (`region` is the
    /// one OSS V4 scopes must name; COS ignores it).
    pub fn start(
        moto: &Moto,
        signature: Signature,
        keys: (&str, &str, Option<&str>),
        region: &str,
    ) -> SignatureProxy {
        let (store, sdk): (_, Option<PathBuf>) = match signature {
            Signature::OssV1 => ("oss-v1", oss2_packages()),
            Signature::OssV4 => ("oss-v4", oss2_packages()),
            Signature::Cos => ("cos", cos_sdk_packages()),
        };
        let sdk = sdk
            .expect("no vendor SDK (see common/servers.rs)")
            .display()
            .to_string();
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/integration/common/signature_proxy.py");
        let mut args = vec![
            script.display().to_string(),
            store.to_string(),
            moto.port.to_string(),
            keys.0.to_string(),
            keys.1.to_string(),
            region.to_string(),
        ];
        args.extend(keys.2.map(str::to_string));
        let mut server = Guarded::spawn(
            Path::new("python3"),
            &args,
            &[("PYTHONPATH", &sdk)],
            dir.path(),
            "proxy.out",
        );
        let port = wait_ready(
            &mut server,
            "signature proxy",
            Duration::from_secs(30),
            || {
                let out = server_output(&dir);
                out.lines()
                    .find_map(|l| l.strip_prefix("listening on "))
                    .and_then(|p| p.trim().parse::<u16>().ok())
            },
        );
        SignatureProxy {
            server,
            port,
            _dir: dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// The `verified METHOD PATH -> STATUS` lines (requests whose signature matched the
    /// SDK's) whose path contains `part`.
    pub fn verified(&self, part: &str) -> Vec<String> {
        self.output()
            .lines()
            .filter(|l| l.starts_with("verified ") && l.contains(part))
            .map(str::to_string)
            .collect()
    }

    /// Every refused request, and any error the proxy printed.
    pub fn mismatches(&self) -> Vec<String> {
        self.output()
            .lines()
            .filter(|l| l.starts_with("MISMATCH") || l.starts_with("Traceback"))
            .map(str::to_string)
            .collect()
    }

    pub fn output(&self) -> String {
        self.server.output()
    }
}

fn server_output(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("proxy.out")).unwrap_or_default()
}
