//! Kerberos against a real KDC: Hadoop's MiniKdc and a secure MiniDFSCluster (Kerberos
//! RPC, block access tokens, SASL data-transfer protection), started by the launcher's
//! `secure` shape with two users: alice (owns /alice, 0700) and bob (owns /bob, 0700).
//!
//! By topic: two principals at once (principals.rs), keytabs, login errors and ticket
//! expiry (login.rs), data-transfer protection, a second cluster and viewfs
//! (cluster_setups.rs).

mod cluster_setups;
mod login;
mod principals;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::minicluster::{shared, Cluster, MiniCluster};
use crate::common::*;

/// The KDC issues tickets that live this long, so tests outlive them.
const TICKET_LIFETIME_SECONDS: u64 = 20;

/// The secure cluster, locked for the calling test.
fn cluster() -> Cluster {
    let lifetime = TICKET_LIFETIME_SECONDS.to_string();
    let c = shared(
        "secure",
        &["--datanodes", "1", "--ticket-lifetime", &lifetime],
    );
    // For the direct (in-process) clients of these tests; the broker gets its own
    // through its conf.
    std::env::set_var("KRB5_CONFIG", c.fact("kerberos.krb5_conf"));
    c
}

/// A name no other test (or earlier run on this cluster) uses.
fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// What the tests need to know of the running secure cluster, locked for the test.
struct Secure {
    cluster: Cluster,
    nn: String,
    krb5_conf: String,
    service: User,
}

#[derive(Clone)]
struct User {
    principal: String,
    keytab: String,
}

impl User {
    /// The keytab's bytes, base64: what `kerberos_keytab_content` carries.
    fn keytab_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(std::fs::read(&self.keytab).unwrap())
    }
}

fn secure() -> Secure {
    let c = cluster();
    Secure {
        nn: c.namenode_uri(0),
        krb5_conf: c.fact("kerberos.krb5_conf"),
        service: User {
            principal: c.fact("kerberos.namenode_principal"),
            keytab: c.fact("kerberos.service_keytab"),
        },
        cluster: c,
    }
}

impl Secure {
    fn user(&self, name: &str) -> User {
        User {
            principal: self
                .cluster
                .fact(&format!("kerberos.user.{name}.principal")),
            keytab: self.cluster.fact(&format!("kerberos.user.{name}.keytab")),
        }
    }
}

/// Request properties of a Kerberos client of the secure cluster, without the keytab.
fn kerberos_props(principal: &str) -> Props {
    [
        ("hadoop.security.authentication", "kerberos"),
        ("kerberos_principal", principal),
        ("dfs.data.transfer.protection", "authentication"),
        ("dfs.namenode.kerberos.principal", "hdfs/_HOST@EXAMPLE.COM"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Logged in from a keytab file on the broker host.
fn with_keytab_path(u: &User) -> Props {
    let mut p = kerberos_props(&u.principal);
    p.insert("kerberos_keytab".into(), u.keytab.clone());
    p
}

/// Logged in from the keytab sent inline.
fn with_keytab_content(u: &User) -> Props {
    let mut p = kerberos_props(&u.principal);
    p.insert("kerberos_keytab_content".into(), u.keytab_base64());
    p
}

/// A broker pointed at the cluster's krb5.conf by an UPPER_CASE conf line, with its
/// temporary files (inline keytabs) in a folder of the test's own.
struct KerberosBroker {
    broker: BrokerProcess,
    tmp: tempfile::TempDir,
}

impl KerberosBroker {
    fn start(s: &Secure, extra: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let tmp_path = tmp.path().display().to_string();
        let mut conf = vec![
            ("KRB5_CONFIG", s.krb5_conf.as_str()),
            ("TMPDIR", tmp_path.as_str()),
        ];
        conf.extend_from_slice(extra);
        KerberosBroker {
            broker: BrokerProcess::start_with(&conf),
            tmp,
        }
    }

    /// The inline keytab files the broker has on disk now.
    fn keytab_files(&self) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for dir in std::fs::read_dir(self.tmp.path()).unwrap() {
            let dir = dir.unwrap().path();
            if dir.is_dir() {
                for f in std::fs::read_dir(&dir).unwrap() {
                    out.push(f.unwrap().path());
                }
            }
        }
        out
    }

    /// Neither the log nor the broker's stdout/stderr carries `secret`.
    fn assert_never_logged(&self, secret: &str) {
        let out = std::fs::read_to_string(self.broker.home.path().join("broker.out")).unwrap();
        assert!(
            !self.broker.log().contains(secret),
            "secret in the broker log"
        );
        assert!(!out.contains(secret), "secret in broker.out");
    }
}

/// The secure cluster, a broker of it (`extra` conf lines) and a connection to that;
/// `None` (the test skips) where the cluster cannot run.
fn on_secure(extra: &[(&str, &str)]) -> Option<(Secure, KerberosBroker, Client)> {
    if missing(Server::Kerberos) {
        return None;
    }
    let s = secure();
    let kb = KerberosBroker::start(&s, extra);
    let c = kb.broker.client();
    Some((s, kb, c))
}

/// A listing of `pattern` without Kerberos on a cluster that requires it: NOT_AUTHORIZED
/// saying so, in the cluster's own words, within a second. The message, for the caller's
/// own checks.
fn listing_refused_without_kerberos(c: &mut Client, props: &Props, pattern: &str) -> String {
    let started = std::time::Instant::now();
    let r = c.with_props(props).list(pattern, false, false);
    let took = started.elapsed();
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&r.op_status);
    assert!(msg.contains("requires Kerberos"), "{msg}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    msg.to_string()
}

/// An hdfs-native client logged in as `u`, bypassing the broker.
fn direct_client(nn: &str, u: &User) -> hdfs_native::Client {
    hdfs_native::ClientBuilder::new()
        .with_url(nn)
        .with_config([
            ("hadoop.security.authentication", "kerberos"),
            ("dfs.data.transfer.protection", "authentication"),
        ])
        .with_kerberos_principal(&u.principal)
        .with_kerberos_keytab(&u.keytab)
        .build()
        .unwrap()
}

/// Owner of `path`, as the superuser (the service principal) sees it.
fn owner(s: &Secure, path: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let root = direct_client(&s.nn, &s.service);
        root.get_file_info(path)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .owner
    })
}
