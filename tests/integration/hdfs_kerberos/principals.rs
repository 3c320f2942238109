//! Two principals in one process: kept apart by the library itself, and through one
//! broker from many connections at once.

use super::*;

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
    let msg = listing_refused_without_kerberos(&mut c, &Props::new(), &format!("{}/alice/*", s.nn));
    assert!(
        msg.contains("SIMPLE authentication is not enabled"),
        "{msg}"
    );
    kb.assert_never_logged(&bob.keytab_base64());
    // Nor, even at DEBUG, the SASL exchange or the block access tokens.
    let log = kb.broker.log();
    assert!(log.contains("DEBUG"), "the broker logs at DEBUG");
    for token in ["RpcSaslProto", "block_token", "password: ["] {
        assert!(!log.contains(token), "'{token}' in the broker log");
    }
}
