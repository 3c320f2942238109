//! Kerberos against a real KDC: Hadoop's MiniKdc and a secure MiniDFSCluster (Kerberos
//! RPC, block access tokens, SASL data-transfer protection), started by the launcher's
//! `secure` shape with two users: alice (owns /alice, 0700) and bob (owns /bob, 0700).

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

/// The mechanism the broker builds on: two principals in one process, concurrently, each
/// client with its own credentials (hdfs-native's per-client credential store), each
/// seeing only its own permissions.
#[test]
fn library_clients_keep_principals_apart() {
    if missing(Server::Kerberos) {
        return;
    }
    let s = secure();
    let (alice, bob) = (s.user("alice"), s.user("bob"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (me, mine, theirs) = if i % 2 == 0 {
                (&alice, "/alice", "/bob")
            } else {
                (&bob, "/bob", "/alice")
            };
            let client = direct_client(&s.nn, me);
            let (mine, theirs) = (mine.to_string(), theirs.to_string());
            tasks.push(tokio::spawn(async move {
                let path = format!("{mine}/lib-{i}.txt");
                let mut w = client
                    .create(&path, hdfs_native::WriteOptions::default().overwrite(true))
                    .await
                    .unwrap_or_else(|e| panic!("create {path}: {e}"));
                let data = format!("from {i}");
                w.write_bytes(bytes::Bytes::from(data.clone())).await.unwrap();
                w.close().await.unwrap();
                let r = client.read(&path).await.unwrap();
                let back = r.read_range(0, r.file_length()).await.unwrap();
                assert_eq!(back, data.as_bytes());
                let denied = client.list_status(&theirs, false).await;
                assert!(
                    matches!(&denied, Err(hdfs_native::HdfsError::RPCError(class, _)) if class.ends_with("AccessControlException")),
                    "{path}: listing {theirs} must be refused: {denied:?}"
                );
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    for i in 0..8 {
        let (who, dir) = if i % 2 == 0 {
            ("alice", "/alice")
        } else {
            ("bob", "/bob")
        };
        assert_eq!(owner(&s, &format!("{dir}/lib-{i}.txt")), who);
    }
}

/// Through the Thrift wire: alice (keytab path) and bob (keytab sent inline) from many
/// connections at once, each doing exactly what its permissions allow.
#[test]
fn two_principals_concurrently_through_one_broker() {
    if missing(Server::Kerberos) {
        return;
    }
    let s = secure();
    let (alice, bob) = (s.user("alice"), s.user("bob"));
    // At DEBUG, so that what the HDFS client logs is checked for secrets too.
    let kb = KerberosBroker::start(&s, &[("sys_log_level", "DEBUG")]);
    let run = unique("conc");
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let (props, me, mine, theirs) = if i % 2 == 0 {
                (with_keytab_path(&alice), "alice", "/alice", "/bob")
            } else {
                (with_keytab_content(&bob), "bob", "/bob", "/alice")
            };
            let nn = s.nn.clone();
            let run = run.clone();
            let mut c = kb.broker.client();
            std::thread::spawn(move || {
                let path = format!("{nn}{mine}/{run}/{i}.bin");
                let data = test_data(300_000 + i * 1000, i as u64);
                c.with_props(&props)
                    .write_file(&path, &format!("be:{i}"), &data, 64 * 1024);
                let back = c
                    .with_props(&props)
                    .read_file(&path, &format!("be:{i}"), 100_000);
                assert!(back == data, "{path}: read back differs");
                let mine_listed = listed(&c.with_props(&props).list(
                    &format!("{nn}{mine}/{run}/*"),
                    false,
                    false,
                ));
                assert!(mine_listed.contains(&path), "{mine_listed:?}");
                // The other user's directory is closed to this one: the namenode says who.
                let denied = c
                    .with_props(&props)
                    .list(&format!("{nn}{theirs}/*"), false, false);
                assert_code(&denied.op_status, Code::NOT_AUTHORIZED);
                let msg = message(&denied.op_status);
                assert!(
                    msg.contains("Permission denied") && msg.contains(&format!("user={me}")),
                    "{msg}"
                );
                let w = c
                    .with_props(&props)
                    .open_writer(&format!("{nn}{theirs}/{run}-{i}.bin"), "be:x");
                assert_code(&w.op_status, Code::NOT_AUTHORIZED);
                path
            })
        })
        .collect();
    let written: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for (i, path) in written.iter().enumerate() {
        let p = path.strip_prefix(&s.nn).unwrap();
        assert_eq!(
            owner(&s, p),
            if i % 2 == 0 { "alice" } else { "bob" },
            "{p}"
        );
    }
    // Without Kerberos the secure namenode turns the request away: NOT_AUTHORIZED saying
    // the cluster requires Kerberos, in its own words, within a second.
    let mut c = kb.broker.client();
    let started = std::time::Instant::now();
    let simple = c
        .with_props(&Props::new())
        .list(&format!("{}/alice/*", s.nn), false, false);
    let took = started.elapsed();
    assert_code(&simple.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&simple.op_status);
    assert!(
        msg.contains("requires Kerberos") && msg.contains("SIMPLE authentication is not enabled"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
    kb.assert_never_logged(&bob.keytab_base64());
    // Nor, even at DEBUG, the SASL exchange or the block access tokens.
    let log = kb.broker.log();
    assert!(log.contains("DEBUG"), "the broker logs at DEBUG");
    for token in ["RpcSaslProto", "block_token", "password: ["] {
        assert!(!log.contains(token), "'{token}' in the broker log");
    }
}

/// A keytab sent inline lives in a private file only while a client or stream needs it.
#[test]
fn inline_keytab_is_private_and_removed() {
    // Long enough for the first write to finish before its client ages, on a loaded
    // machine too (the sweep removes an aged client's file once no stream needs it).
    const AGE_SECONDS: u64 = 4;
    let age = AGE_SECONDS.to_string();
    let Some((s, mut kb, mut c)) = on_secure(&[("kerberos_token_expire_seconds", &age)]) else {
        return;
    };
    let bob = s.user("bob");
    assert!(
        kb.keytab_files().is_empty(),
        "nothing written before a request"
    );
    let props = with_keytab_content(&bob);
    let path = format!("{}/bob/{}.txt", s.nn, unique("inline"));
    c.with_props(&props)
        .write_file(&path, "be:1", b"inline", 1024);
    let files = kb.keytab_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    assert_eq!(
        std::fs::read(file).unwrap(),
        std::fs::read(&bob.keytab).unwrap()
    );
    // A reader opened now keeps the file while its client is replaced.
    let fd = c.with_props(&props).reader_fd(&path, "be:1");
    let expired_at = std::time::Instant::now() + Duration::from_secs(AGE_SECONDS);
    wait_for(
        "the secured client to age out",
        Duration::from_secs(10),
        || std::time::Instant::now() > expired_at,
    );
    assert_eq!(
        c.with_props(&props).read_file(&path, "be:2", 1024),
        b"inline"
    );
    let now = kb.keytab_files();
    assert_eq!(now.len(), 2, "the reader's and the new client's: {now:?}");
    let r = c.pread(&fd, 0, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap(), b"inline");
    assert_ok(&c.close_reader(&fd));
    // The old client is dropped on the next look-up once aged; its file with it.
    wait_for("the old keytab file to go", Duration::from_secs(10), || {
        let _ = c.with_props(&props).exists(&path);
        !kb.keytab_files().contains(file)
    });
    // With no request at all, the remaining client ages out and its file goes too.
    wait_for(
        "the last keytab file to go",
        Duration::from_secs(15),
        || kb.keytab_files().is_empty(),
    );
    // A new client writes a new file, which shutdown removes.
    assert!(c.with_props(&props).exists(&path).is_path_exist);
    assert_eq!(kb.keytab_files().len(), 1);
    kb.assert_never_logged(&bob.keytab_base64());
    assert!(kb.broker.terminate().success());
    assert!(kb.keytab_files().is_empty(), "removed at shutdown");
    let left: Vec<_> = std::fs::read_dir(kb.tmp.path()).unwrap().collect();
    assert!(
        left.is_empty(),
        "private directory removed at shutdown: {left:?}"
    );
}

/// Bad Kerberos settings: the key or the KDC's reason is named, never the keytab.
#[test]
fn login_problems_are_named() {
    let Some((s, kb, mut c)) = on_secure(&[]) else {
        return;
    };
    let (alice, bob) = (s.user("alice"), s.user("bob"));
    let (ghost, stale) = (s.user("ghost"), s.user("stale"));
    let path = format!("{}/alice", s.nn);
    let code_and_message = |c: &mut Client, p: &Props| {
        let r = c.with_props(p).exists(&path);
        (r.op_status.status_code, message(&r.op_status).to_string())
    };

    let mut p = with_keytab_path(&alice);
    p.remove("kerberos_principal");
    let (code, msg) = code_and_message(&mut c, &p);
    assert_eq!(code, Code::INVALID_ARGUMENT, "{msg}");
    assert!(msg.contains("kerberos_principal"), "{msg}");

    let mut p = with_keytab_path(&alice);
    p.remove("kerberos_keytab");
    let (code, msg) = code_and_message(&mut c, &p);
    assert_eq!(code, Code::INVALID_ARGUMENT, "{msg}");
    assert!(
        msg.contains("kerberos_keytab") && msg.contains("kerberos_keytab_content"),
        "{msg}"
    );

    let mut p = with_keytab_path(&alice);
    p.insert("kerberos_keytab".into(), "/nonexistent/alice.keytab".into());
    let (code, msg) = code_and_message(&mut c, &p);
    assert_eq!(code, Code::INVALID_ARGUMENT, "{msg}");
    assert!(msg.contains("/nonexistent/alice.keytab"), "{msg}");

    let mut p = kerberos_props(&alice.principal);
    p.insert("kerberos_keytab_content".into(), NOT_BASE64.into());
    let (code, msg) = code_and_message(&mut c, &p);
    assert_eq!(code, Code::INVALID_ARGUMENT, "{msg}");
    assert!(
        msg.contains("kerberos_keytab_content") && !msg.contains(NOT_BASE64),
        "{msg}"
    );

    // Logging in fails: NOT_AUTHORIZED with the reason.
    let cases = [
        (
            "keytab of another principal",
            with_keytab_path_of(&alice, &bob),
            "has no key for alice@example.com (keys for bob@example.com only)",
        ),
        (
            "principal unknown to the KDC",
            with_keytab_path(&ghost),
            "not found",
        ),
        (
            "keys the KDC replaced",
            with_keytab_path(&stale),
            "kerberos login failed",
        ),
        (
            "keytab bytes that are no keytab",
            garbage_keytab(&alice),
            "alice",
        ),
    ];
    for (what, p, expect) in cases {
        let (code, msg) = code_and_message(&mut c, &p);
        assert_eq!(code, Code::NOT_AUTHORIZED, "{what}: {msg}");
        assert!(msg.to_lowercase().contains(expect), "{what}: {msg}");
    }
    for secret in [NOT_BASE64, GARBAGE_KEYTAB_BASE64] {
        kb.assert_never_logged(secret);
    }
}

/// Datanodes on unprivileged ports require SASL on data transfer: a client without
/// `dfs.data.transfer.protection` gets past the namenode but not the datanodes, and the
/// status names the property (short: no datanode records in it); so does a value that is
/// no protection level.
#[test]
fn missing_or_wrong_data_transfer_protection_is_named() {
    let Some((s, _kb, mut c)) = on_secure(&[]) else {
        return;
    };
    let alice = s.user("alice");
    let dir = format!("{}/alice/{}", s.nn, unique("dtp"));
    let good = with_keytab_path(&alice);
    let path = format!("{dir}/in.bin");
    c.with_props(&good)
        .write_file(&path, "be:1", &test_data(100_000, 3), 64 << 10);
    let mut bare = good.clone();
    bare.remove("dfs.data.transfer.protection");

    let fd = c.with_props(&bare).reader_fd(&path, "be:2");
    let r = c.pread(&fd, 0, 1000);
    assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&r.op_status);
    assert!(msg.contains("dfs.data.transfer.protection"), "{msg}");
    assert!(msg.len() < 1000, "{} bytes: {msg}", msg.len());
    c.close_reader(&fd);

    let out = format!("{dir}/out.bin");
    let fd = c.with_props(&bare).writer_fd(&out, "be:2");
    let w = c.pwrite(&fd, 0, &test_data(200_000, 4));
    let status = if w.status_code == Code::OK {
        c.close_writer(&fd)
    } else {
        w
    };
    assert_code(&status, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&status);
    assert!(msg.contains("dfs.data.transfer.protection"), "{msg}");
    assert!(msg.len() < 1000, "{} bytes: {msg}", msg.len());
    // Nothing half-written is visible under the target.
    assert!(!c.with_props(&good).exists(&out).is_path_exist);

    // A value that is no protection level: INVALID_ARGUMENT naming the property, at once.
    let mut misspelt = good.clone();
    misspelt.insert("dfs.data.transfer.protection".into(), "privcy".into());
    let r = c.with_props(&misspelt).open_reader(&path, "be:2");
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    let msg = message(&r.op_status);
    assert!(
        msg.contains("dfs.data.transfer.protection") && msg.contains("privcy"),
        "{msg}"
    );

    // Another level than the datanodes' (privacy; they use authentication): the SASL
    // handshake takes the level the datanode offers, so reads and writes work (hdfs-native
    // does not refuse a weaker level than configured, as Hadoop's Java client does).
    let mut other = good.clone();
    other.insert("dfs.data.transfer.protection".into(), "privacy".into());
    let data = test_data(200_000, 5);
    c.with_props(&other)
        .write_file(&out, "be:2", &data, 64 << 10);
    assert!(c.with_props(&other).read_file(&out, "be:2", 64 << 10) == data);
    assert_ok(&c.with_props(&good).delete(&dir));
}

/// Listed in tests/secrets.txt: never in a log.
const NOT_BASE64: &str = "kerberos-keytab-secret-not-base64!";
/// base64 of "broker-test-keytab-garbage-bytes", also listed in tests/secrets.txt.
const GARBAGE_KEYTAB_BASE64: &str = "YnJva2VyLXRlc3Qta2V5dGFiLWdhcmJhZ2UtYnl0ZXM=";

fn with_keytab_path_of(principal: &User, keytab: &User) -> Props {
    let mut p = kerberos_props(&principal.principal);
    p.insert("kerberos_keytab".into(), keytab.keytab.clone());
    p
}

fn garbage_keytab(u: &User) -> Props {
    let mut p = kerberos_props(&u.principal);
    p.insert(
        "kerberos_keytab_content".into(),
        GARBAGE_KEYTAB_BASE64.into(),
    );
    p
}

/// The KDC's tickets live TICKET_LIFETIME_SECONDS: a writer and a reader opened before
/// expiry go on after it, and new requests (new clients: kerberos_token_expire_seconds is
/// short) log in again from the keytab.
#[test]
fn sessions_outlive_ticket_expiry() {
    let Some((s, _kb, mut c)) = on_secure(&[("kerberos_token_expire_seconds", "5")]) else {
        return;
    };
    let alice = s.user("alice");
    let bob = s.user("bob");
    let (pa, pb) = (with_keytab_path(&alice), with_keytab_content(&bob));
    let dir = unique("renew");
    let long = format!("{}/alice/{dir}/long.bin", s.nn);
    let data = test_data(200_000, 7);
    let wfd = c.with_props(&pa).writer_fd(&long, "be:w");
    assert_ok(&c.pwrite(&wfd, 0, &data[..100_000]));
    let src = format!("{}/bob/{dir}.bin", s.nn);
    c.with_props(&pb).write_file(&src, "be:r", &data, 50_000);
    let rfd = c.with_props(&pb).reader_fd(&src, "be:r");
    let first = c.pread(&rfd, 0, 1000);
    assert_ok(&first.op_status);

    // Well past the tickets' end (the streams' clients keep pinging so they stay open).
    let deadline = std::time::Instant::now() + Duration::from_secs(TICKET_LIFETIME_SECONDS + 6);
    wait_for(
        "the first tickets to expire",
        Duration::from_secs(60),
        || {
            assert_ok(&c.ping("be:w"));
            assert_ok(&c.ping("be:r"));
            std::thread::sleep(Duration::from_millis(500));
            std::time::Instant::now() > deadline
        },
    );

    assert_ok(&c.pwrite(&wfd, 100_000, &data[100_000..]));
    assert_ok(&c.close_writer(&wfd));
    let r = c.pread(&rfd, 100_000, 1000);
    assert_ok(&r.op_status);
    assert_eq!(r.data.unwrap(), &data[100_000..101_000]);
    assert_ok(&c.close_reader(&rfd));
    // New clients, new connections, new tickets.
    assert_eq!(c.with_props(&pa).read_file(&long, "be:n", 64_000), data);
    assert_eq!(c.with_props(&pb).read_file(&src, "be:n", 64_000), data);
    c.with_props(&pb).write_file(
        &format!("{}/bob/{dir}-after.bin", s.nn),
        "be:n",
        b"after",
        64,
    );
    assert_eq!(owner(&s, &format!("/alice/{dir}/long.bin")), "alice");
    assert_eq!(owner(&s, &format!("/bob/{dir}-after.bin")), "bob");
}

/// One broker process serves a simple-auth cluster and the secure one at once.
#[test]
fn simple_and_secure_clusters_in_one_broker() {
    if missing(Server::Kerberos) {
        return;
    }
    let s = secure();
    let alice = s.user("alice");
    let plain = MiniCluster::start_with("plain", &["--datanodes", "1"]);
    let plain_nn = plain.namenode_uri(0);
    let kb = KerberosBroker::start(&s, &[]);
    let dir = unique("mixed");
    let threads: Vec<_> = (0..6)
        .map(|i| {
            let mut c = kb.broker.client();
            let (path, props) = if i % 2 == 0 {
                (
                    format!("{}/alice/{dir}-{i}.bin", s.nn),
                    with_keytab_path(&alice),
                )
            } else {
                let p: Props = [("username".to_string(), "carol".to_string())].into();
                (format!("{plain_nn}/tmp/{dir}-{i}.bin"), p)
            };
            std::thread::spawn(move || {
                let data = test_data(150_000, i as u64);
                c.with_props(&props)
                    .write_file(&path, "be:m", &data, 40_000);
                assert!(
                    c.with_props(&props).read_file(&path, "be:m", 60_000) == data,
                    "{path}"
                );
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for i in (0..6).step_by(2) {
        assert_eq!(owner(&s, &format!("/alice/{dir}-{i}.bin")), "alice");
    }
    let owners = crate::common::minicluster::direct(&plain_nn, async |client| {
        let mut owners = Vec::new();
        for i in (1..6).step_by(2) {
            owners.push(
                client
                    .get_file_info(&format!("/tmp/{dir}-{i}.bin"))
                    .await
                    .unwrap()
                    .owner,
            );
        }
        owners
    });
    assert_eq!(owners, ["carol", "carol", "carol"]);
}

/// The secure namenode behind a viewfs mount table (given in the request, `/a` linked to
/// alice's home, everything else through the fallback): the errors are those of
/// `hdfs://`. Without Kerberos, NOT_AUTHORIZED saying the cluster requires Kerberos within
/// a second; bob's home, NOT_AUTHORIZED with the namenode's Permission denied; a missing
/// file, FILE_NOT_FOUND; alice's own files work.
#[test]
fn viewfs_over_the_secure_cluster_maps_errors_as_hdfs() {
    let Some((s, _kb, mut c)) = on_secure(&[]) else {
        return;
    };
    let alice = s.user("alice");
    let mounted = |mut p: Props| {
        p.insert(
            "fs.viewfs.mounttable.sec.link./a".into(),
            format!("{}/alice", s.nn),
        );
        p.insert(
            "fs.viewfs.mounttable.sec.linkFallback".into(),
            format!("{}/", s.nn),
        );
        p
    };
    let (simple, kerberos) = (mounted(Props::new()), mounted(with_keytab_path(&alice)));
    let dir = unique("vsec");

    let started = std::time::Instant::now();
    let r = c.with_props(&simple).list("viewfs://sec/a/*", false, false);
    let took = started.elapsed();
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&r.op_status);
    assert!(
        msg.contains("viewfs://sec/a") && msg.contains("requires Kerberos"),
        "{msg}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");

    let mine = format!("viewfs://sec/a/{dir}/f.bin");
    let data = test_data(300_000, 6);
    c.with_props(&kerberos)
        .write_file(&mine, "be:1", &data, 64 << 10);
    assert!(c.with_props(&kerberos).read_file(&mine, "be:1", 64 << 10) == data);
    assert_eq!(owner(&s, &format!("/alice/{dir}/f.bin")), "alice");

    let theirs = "viewfs://sec/bob/x.bin";
    let w = c.with_props(&kerberos).open_writer(theirs, "be:1");
    assert_code(&w.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&w.op_status);
    assert!(
        msg.contains(theirs) && msg.contains("Permission denied: user=alice"),
        "{msg}"
    );
    let missing_file = format!("viewfs://sec/a/{dir}/nope.bin");
    let r = c.with_props(&kerberos).open_reader(&missing_file, "be:1");
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    assert!(message(&r.op_status).contains(&missing_file), "{r:?}");
    assert_ok(
        &c.with_props(&kerberos)
            .delete(&format!("viewfs://sec/a/{dir}")),
    );
}
