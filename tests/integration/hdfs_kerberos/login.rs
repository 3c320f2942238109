//! Logging in: keytabs sent inline (private, removed when unused), login problems named
//! without the secret, and sessions outliving their tickets (login again from the keytab).

use super::*;

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
