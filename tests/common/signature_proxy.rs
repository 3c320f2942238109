//! The signature-checking proxy (tests/common/signature_proxy.py) between the broker and
//! moto: every OSS or COS request is signed again by the vendor's Python SDK (PyPI
//! `oss2==2.19.1`, `cos-python-sdk-v5==1.9.44`, installed by scripts/test.sh under
//! target/ with pip --target), refused when the signatures differ, else forwarded to
//! moto as S3. Listens on a free loopback port, ready once it prints so.

use std::path::Path;
use std::time::Duration;

use super::moto::Moto;
use super::server::{wait_ready, Guarded};

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

/// `$env_var`, else `target/<pinned>`, which must hold `module`.
fn sdk_dir(env_var: &str, pinned: &str, module: &str, package: &str) -> String {
    std::env::var(env_var).unwrap_or_else(|_| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(pinned);
        assert!(
            dir.join(module).is_dir(),
            "no {package}: run scripts/test.sh (it installs it as target/{pinned}) or set {env_var}"
        );
        dir.display().to_string()
    })
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
        let (store, sdk) = match signature {
            Signature::OssV1 => ("oss-v1", sdk_dir("OSS2_DIR", "oss2-2.19.1", "oss2", "oss2")),
            Signature::OssV4 => ("oss-v4", sdk_dir("OSS2_DIR", "oss2-2.19.1", "oss2", "oss2")),
            Signature::Cos => (
                "cos",
                sdk_dir(
                    "COS_SDK_DIR",
                    "cos-sdk-1.9.44",
                    "qcloud_cos",
                    "cos-python-sdk-v5",
                ),
            ),
        };
        let dir = tempfile::tempdir().unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common/signature_proxy.py");
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

    /// Requests whose signature matched the SDK's, and every mismatch line.
    pub fn tally(&self) -> (usize, Vec<String>) {
        let out = self.server.output();
        let verified = out.lines().filter(|l| l.starts_with("verified ")).count();
        let mismatches = out
            .lines()
            .filter(|l| l.starts_with("MISMATCH") || l.starts_with("Traceback"))
            .map(str::to_string)
            .collect();
        (verified, mismatches)
    }

    pub fn output(&self) -> String {
        self.server.output()
    }
}

fn server_output(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("proxy.out")).unwrap_or_default()
}
