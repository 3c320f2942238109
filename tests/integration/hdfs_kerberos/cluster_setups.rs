//! The secure cluster in other settings: SASL data-transfer protection missing or wrong,
//! a simple-auth cluster served by the same broker, and a viewfs mount table over it.

use super::*;

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

    let msg = listing_refused_without_kerberos(&mut c, &simple, "viewfs://sec/a/*");
    assert!(msg.contains("viewfs://sec/a"), "{msg}");

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
