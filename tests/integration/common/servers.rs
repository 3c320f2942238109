//! Which storage servers can run on this machine. A test that needs one that cannot run
//! starts with `if missing(Server::Hdfs) { return; }`: it prints `skipped: <test>: <reason>`
//! and passes, so a plain `cargo test` on a fresh clone passes. With
//! `BROKER_TEST_REQUIRE_ALL=1` (scripts/test.sh and CI set it) a missing server fails the
//! test instead: the full run never passes on fewer checks than it has.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug)]
pub enum Server {
    /// Hadoop's MiniDFSCluster (tests/minicluster): Java 17 and Maven.
    Hdfs,
    /// The `secure` MiniDFSCluster with MiniKdc, and the GSSAPI library hdfs-native loads.
    Kerberos,
    /// SeaweedFS's `weed` (scripts/test.sh installs it): the S3 server most S3 tests use.
    Seaweed,
    /// moto in server mode, the second S3 implementation: `python3` and moto's packages
    /// (scripts/test.sh installs them).
    Moto,
    /// Azurite's `azurite-blob` (npm; scripts/test.sh installs it).
    Azurite,
    /// fake-gcs-server (a Go module; scripts/test.sh builds it).
    FakeGcs,
    /// The proxy that checks OSS and COS signatures with the vendors' Python SDKs in
    /// front of moto (common/signature_proxy.rs): moto, PyPI `oss2` and
    /// `cos-python-sdk-v5` (scripts/test.sh installs them).
    SignatureProxy,
    /// pyftpdlib, the FTP server: `python3` and PyPI `pyftpdlib` (scripts/test.sh installs it).
    Ftp,
    /// OpenSSH's `sshd` (Debian `openssh-server`) and `ssh-keygen`.
    Sshd,
    /// asyncssh, the password-authenticated SFTP server: `python3` and PyPI `asyncssh`
    /// (scripts/test.sh installs it).
    AsyncSsh,
}

/// Whether `server` cannot run here; when it cannot, prints why (or panics when every
/// server is required). Call it first in a test and return when it says true.
#[track_caller]
pub fn missing(server: Server) -> bool {
    let Some(reason) = why_missing(server) else {
        return false;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    if std::env::var_os("BROKER_TEST_REQUIRE_ALL").is_some_and(|v| v == "1") {
        panic!("BROKER_TEST_REQUIRE_ALL=1 and {test} cannot run: {reason}");
    }
    // Straight to stderr: the harness captures eprintln! of passing tests.
    let _ = writeln!(std::io::stderr(), "skipped: {test}: {reason}");
    true
}

/// Why `server` cannot run here, or `None` when it can (worked out once per server).
pub fn why_missing(server: Server) -> Option<&'static str> {
    static HDFS: OnceLock<Option<String>> = OnceLock::new();
    static KERBEROS: OnceLock<Option<String>> = OnceLock::new();
    static SEAWEED: OnceLock<Option<String>> = OnceLock::new();
    static MOTO: OnceLock<Option<String>> = OnceLock::new();
    static AZURITE: OnceLock<Option<String>> = OnceLock::new();
    static FAKE_GCS: OnceLock<Option<String>> = OnceLock::new();
    static SIGNATURE_PROXY: OnceLock<Option<String>> = OnceLock::new();
    static FTP: OnceLock<Option<String>> = OnceLock::new();
    static SSHD: OnceLock<Option<String>> = OnceLock::new();
    static ASYNCSSH: OnceLock<Option<String>> = OnceLock::new();
    let installed_by_test_sh = |found: bool, what: &str, var: &str| {
        (!found).then(|| format!("no {what}: set {var}, or run scripts/test.sh (installs it)"))
    };
    let cell = match server {
        Server::Hdfs => HDFS.get_or_init(hdfs),
        Server::Kerberos => KERBEROS.get_or_init(|| hdfs().or_else(gssapi)),
        Server::Seaweed => SEAWEED.get_or_init(|| {
            installed_by_test_sh(weed_binary().is_some(), "SeaweedFS `weed`", "WEED_BIN")
        }),
        Server::Moto => MOTO.get_or_init(|| match on_path("python3") {
            None => Some("no `python3` on the PATH to run moto".into()),
            Some(_) => installed_by_test_sh(moto_packages().is_some(), "moto", "MOTO_DIR"),
        }),
        Server::Azurite => AZURITE.get_or_init(|| {
            installed_by_test_sh(
                azurite_binary().is_some(),
                "Azurite `azurite-blob`",
                "AZURITE_BLOB_BIN",
            )
        }),
        Server::FakeGcs => FAKE_GCS.get_or_init(|| {
            installed_by_test_sh(
                fake_gcs_binary().is_some(),
                "`fake-gcs-server`",
                "FAKE_GCS_BIN",
            )
        }),
        Server::SignatureProxy => SIGNATURE_PROXY.get_or_init(|| {
            why_missing(Server::Moto)
                .map(str::to_string)
                .or_else(|| installed_by_test_sh(oss2_packages().is_some(), "oss2", "OSS2_DIR"))
                .or_else(|| {
                    installed_by_test_sh(
                        cos_sdk_packages().is_some(),
                        "cos-python-sdk-v5",
                        "COS_SDK_DIR",
                    )
                })
        }),
        Server::Ftp => FTP.get_or_init(|| match on_path("python3") {
            None => Some("no `python3` on the PATH to run pyftpdlib".into()),
            Some(_) => {
                installed_by_test_sh(pyftpdlib_packages().is_some(), "pyftpdlib", "PYFTPDLIB_DIR")
            }
        }),
        Server::Sshd => SSHD.get_or_init(|| {
            if sshd_binary().is_none() {
                Some("no `sshd` (Debian openssh-server; .ci/run installs it)".into())
            } else if on_path("ssh-keygen").is_none() {
                Some("no `ssh-keygen` on the PATH".into())
            } else {
                None
            }
        }),
        Server::AsyncSsh => ASYNCSSH.get_or_init(|| match on_path("python3") {
            None => Some("no `python3` on the PATH to run asyncssh".into()),
            Some(_) => {
                installed_by_test_sh(asyncssh_packages().is_some(), "asyncssh", "ASYNCSSH_DIR")
            }
        }),
    };
    cell.as_deref()
}

/// The MiniDFSCluster launcher needs `java`, and `mvn` unless it was built already.
fn hdfs() -> Option<String> {
    let java = match std::env::var_os("JAVA_HOME") {
        Some(home) => Path::new(&home).join("bin/java").is_file(),
        None => on_path("java").is_some(),
    };
    if !java {
        return Some("no `java` (JAVA_HOME or PATH): Java 17 runs the MiniDFSCluster".into());
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/minicluster/target/classpath.txt")
        .is_file();
    let mvn = std::env::var_os("MVN").is_some() || on_path("mvn").is_some();
    if !built && !mvn {
        return Some("no `mvn` on the PATH to build the MiniDFSCluster launcher".into());
    }
    None
}

/// hdfs-native loads the MIT GSSAPI library at run time for Kerberos.
fn gssapi() -> Option<String> {
    // SAFETY: the library's initialisers are those every Kerberos client runs; hdfs-native
    // opens the same name the same way.
    match unsafe { libloading::Library::new("libgssapi_krb5.so.2") } {
        Ok(_) => None,
        Err(e) => Some(format!("no libgssapi_krb5.so.2 (libgssapi-krb5-2): {e}")),
    }
}

/// The `weed` binary: `$WEED_BIN`, else the one scripts/test.sh installs under
/// `target/seaweedfs-4.48`, else `weed` on the PATH.
pub fn weed_binary() -> Option<PathBuf> {
    installed("WEED_BIN", "seaweedfs-4.48/bin/weed", "weed")
}

/// Azurite's blob server: `$AZURITE_BLOB_BIN`, else scripts/test.sh's npm install under
/// `target/azurite-3.37.0`, else `azurite-blob` on the PATH.
pub fn azurite_binary() -> Option<PathBuf> {
    installed(
        "AZURITE_BLOB_BIN",
        "azurite-3.37.0/node_modules/.bin/azurite-blob",
        "azurite-blob",
    )
}

/// `$FAKE_GCS_BIN`, else scripts/test.sh's build under `target/fake-gcs-server-1.56.1`,
/// else `fake-gcs-server` on the PATH.
pub fn fake_gcs_binary() -> Option<PathBuf> {
    installed(
        "FAKE_GCS_BIN",
        "fake-gcs-server-1.56.1/bin/fake-gcs-server",
        "fake-gcs-server",
    )
}

/// The directory holding moto's Python packages (for PYTHONPATH): `$MOTO_DIR`, else
/// scripts/test.sh's `pip install --target target/moto-5.2.5`.
pub fn moto_packages() -> Option<PathBuf> {
    pip_target("MOTO_DIR", "moto-5.2.5", "moto")
}

/// PyPI `oss2` (for PYTHONPATH): `$OSS2_DIR`, else scripts/test.sh's
/// `target/oss2-2.19.1`.
pub fn oss2_packages() -> Option<PathBuf> {
    pip_target("OSS2_DIR", "oss2-2.19.1", "oss2")
}

/// PyPI `cos-python-sdk-v5` (for PYTHONPATH): `$COS_SDK_DIR`, else scripts/test.sh's
/// `target/cos-sdk-1.9.44`.
pub fn cos_sdk_packages() -> Option<PathBuf> {
    pip_target("COS_SDK_DIR", "cos-sdk-1.9.44", "qcloud_cos")
}

/// PyPI `pyftpdlib` (for PYTHONPATH): `$PYFTPDLIB_DIR`, else scripts/test.sh's
/// `target/pyftpdlib-2.2.0`.
pub fn pyftpdlib_packages() -> Option<PathBuf> {
    pip_target("PYFTPDLIB_DIR", "pyftpdlib-2.2.0", "pyftpdlib")
}

/// PyPI `asyncssh` (for PYTHONPATH): `$ASYNCSSH_DIR`, else scripts/test.sh's
/// `target/asyncssh-2.24.1`.
pub fn asyncssh_packages() -> Option<PathBuf> {
    pip_target("ASYNCSSH_DIR", "asyncssh-2.24.1", "asyncssh")
}

/// OpenSSH's server: `/usr/sbin/sshd` (where Debian puts it), else `sshd` on the PATH.
pub fn sshd_binary() -> Option<PathBuf> {
    Some(PathBuf::from("/usr/sbin/sshd"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("sshd"))
}

/// A `pip install --target` directory: `$env_var`, else `target/<pinned>`, when it holds
/// the package `module`.
fn pip_target(env_var: &str, pinned: &str, module: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os(env_var) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join(pinned),
    };
    dir.join(module).is_dir().then_some(dir)
}

/// A server program: `$env_var` (when it names a file), else `target/<pinned>` (where
/// scripts/test.sh installs it), else `name` on the PATH.
fn installed(env_var: &str, pinned: &str, name: &str) -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os(env_var) {
        return Some(PathBuf::from(bin)).filter(|p| p.is_file());
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(pinned);
    if pinned.is_file() {
        return Some(pinned);
    }
    on_path(name)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
