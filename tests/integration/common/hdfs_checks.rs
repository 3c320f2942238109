//! Checks every module serving HDFS runs beside the conformance suite, whatever the
//! scheme reaching it (`hdfs://` in hdfs_plain.rs, `webhdfs://` in webhdfs.rs): the reaper
//! and permission refusals, with the namenode asked directly for what is really there.

use std::time::Duration;

use super::minicluster::names_at;
use super::*;
use crate::conformance::unique;

/// The reaper aborts an idle client's writer of `root/...` (`root` the scheme and
/// authority the broker is asked through; `nn` the namenode's `hdfs://` URI): the partial
/// (temporary) file is deleted, never completed, and later calls on the fd say it expired.
pub fn reaped_writer_leaves_no_file(nn: &str, root: &str) {
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let mut c = broker.client();
    let dir = format!("/tmp/{}", unique("reaped"));
    let path = format!("{root}{dir}/partial.csv");
    let fd = c.writer_fd(&path, "idle-be:9060");
    assert_ok(&c.pwrite(&fd, 0, &[7u8; 300_000]));
    // The bytes go to a hidden temporary file beside the target, which no listing shows.
    assert!(
        !c.exists(&path).is_path_exist,
        "the target is visible mid-write"
    );
    let names = names_at(nn, &dir);
    assert!(
        names.len() == 1
            && names[0].starts_with(".partial.csv.broker-")
            && names[0].ends_with(".tmp"),
        "{names:?}"
    );
    assert!(c.glob(&format!("{root}{dir}/*")).is_empty());
    // Nothing names the client now; within 2 × expiry + 2 s the temporary file must be gone.
    wait_for(
        "the reaped writer's temporary file to be deleted",
        Duration::from_secs(6),
        || names_at(nn, &dir).is_empty(),
    );
    let status = c.close_writer(&fd);
    assert_code(&status, Code::TARGET_STORAGE_SERVICE_ERROR);
    assert!(message(&status).contains("expired"), "{status:?}");
    assert!(!c.exists(&path).is_path_exist);
}

/// alice writes `file` (below `root/tmp/...`, in a directory of her own: 0755, the file
/// 0644); bob may read it but neither write beside it nor delete it: NOT_AUTHORIZED with
/// the namenode's own words. `bob` is bob's properties (a password, say).
pub fn permission_refusals(c: &mut Client, file: &str, bob: &Props) {
    let alice = props(&[("username", "alice")]);
    c.with_props(&alice)
        .write_file(file, "be:1", b"alice's", 1024);
    assert_eq!(c.with_props(bob).read_file(file, "be:1", 1024), b"alice's");
    let beside = format!("{}/bob.csv", file.rsplit_once('/').unwrap().0);
    let w = c.with_props(bob).open_writer(&beside, "be:1");
    // A permission refusal is NOT_AUTHORIZED with the namenode's own words.
    assert_code(&w.op_status, Code::NOT_AUTHORIZED);
    let msg = message(&w.op_status);
    assert!(
        msg.contains("Permission denied") && msg.contains("bob"),
        "{msg}"
    );
    assert_code(&c.with_props(bob).delete(file), Code::NOT_AUTHORIZED);
    assert!(c.with_props(&alice).exists(file).is_path_exist);
}
