//! Kerberos against a real KDC: Hadoop's MiniKdc and a secure MiniDFSCluster (Kerberos
//! RPC, block access tokens, SASL data-transfer protection), started by the launcher's
//! `secure` shape with two users: alice (owns /alice, 0700) and bob (owns /bob, 0700).

mod common;

use std::sync::MutexGuard;

use common::minicluster::{MiniCluster, Shared};

/// The KDC issues tickets that live this long, so tests outlive them.
const TICKET_LIFETIME_SECONDS: u64 = 20;

fn cluster() -> MutexGuard<'static, MiniCluster> {
    static CLUSTER: Shared = Shared::new();
    CLUSTER
        .get_or_init(|| {
            let lifetime = TICKET_LIFETIME_SECONDS.to_string();
            let c = MiniCluster::start_with(
                "secure",
                &["--datanodes", "1", "--ticket-lifetime", &lifetime],
            );
            // For the direct (in-process) clients of these tests; the broker gets its own
            // through its conf.
            std::env::set_var("KRB5_CONFIG", c.fact("kerberos.krb5_conf"));
            std::sync::Mutex::new(c)
        })
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

struct User {
    principal: String,
    keytab: String,
}

fn user(c: &MiniCluster, name: &str) -> User {
    User {
        principal: c.fact(&format!("kerberos.user.{name}.principal")),
        keytab: c.fact(&format!("kerberos.user.{name}.keytab")),
    }
}

/// An hdfs-native client logged in as `principal` from `keytab`, bypassing the broker.
fn direct_client(nn: &str, principal: &str, keytab: &str) -> hdfs_native::Client {
    hdfs_native::ClientBuilder::new()
        .with_url(nn)
        .with_config([
            ("hadoop.security.authentication", "kerberos"),
            ("dfs.data.transfer.protection", "authentication"),
        ])
        .with_kerberos_principal(principal)
        .with_kerberos_keytab(keytab)
        .build()
        .unwrap()
}

/// The mechanism the broker builds on: two principals in one process, concurrently, each
/// client with its own credentials (hdfs-native's per-client credential store), each
/// seeing only its own permissions.
#[test]
fn library_clients_keep_principals_apart() {
    let (nn, alice, bob, service) = {
        let c = cluster();
        (
            c.namenode_uri(0),
            user(&c, "alice"),
            user(&c, "bob"),
            User {
                principal: c.fact("kerberos.namenode_principal"),
                keytab: c.fact("kerberos.service_keytab"),
            },
        )
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let (me, mine, theirs) = if i % 2 == 0 {
                (&alice, "/alice", "/bob")
            } else {
                (&bob, "/bob", "/alice")
            };
            let client = direct_client(&nn, &me.principal, &me.keytab);
            let (mine, theirs) = (mine.to_string(), theirs.to_string());
            tasks.push(tokio::spawn(async move {
                let path = format!("{mine}/lib-{i}.txt");
                let mut w = client
                    .create(&path, hdfs_native::WriteOptions::default().overwrite(true))
                    .await
                    .unwrap_or_else(|e| panic!("create {path}: {e}"));
                w.write_bytes(bytes::Bytes::from(format!("from {i}"))).await.unwrap();
                w.close().await.unwrap();
                let r = client.read(&path).await.unwrap();
                assert_eq!(r.read_range(0, r.file_length()).await.unwrap(), format!("from {i}").as_bytes());
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
        let root = direct_client(&nn, &service.principal, &service.keytab);
        for i in 0..8 {
            let (owner, dir) = if i % 2 == 0 { ("alice", "/alice") } else { ("bob", "/bob") };
            let st = root.get_file_info(&format!("{dir}/lib-{i}.txt")).await.unwrap();
            assert_eq!(st.owner, owner);
        }
    });
}
