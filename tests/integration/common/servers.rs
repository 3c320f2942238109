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
    /// SeaweedFS's `weed` (scripts/test.sh installs it).
    S3,
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
    static S3: OnceLock<Option<String>> = OnceLock::new();
    let cell = match server {
        Server::Hdfs => HDFS.get_or_init(hdfs),
        Server::Kerberos => KERBEROS.get_or_init(|| hdfs().or_else(gssapi)),
        Server::S3 => S3.get_or_init(|| match weed_binary() {
            Some(_) => None,
            None => Some(
                "no SeaweedFS `weed`: set WEED_BIN, or run scripts/test.sh (installs it)".into(),
            ),
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
    if let Some(bin) = std::env::var_os("WEED_BIN") {
        return Some(PathBuf::from(bin)).filter(|p| p.is_file());
    }
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/seaweedfs-4.48/bin/weed");
    if pinned.is_file() {
        return Some(pinned);
    }
    on_path("weed")
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
