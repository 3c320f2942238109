//! The writer's hidden temporary file: what a killed broker leaves, and the target
//! directory's quotas applying to it.

use std::time::Duration;

use super::{on_cluster, MIB};
use crate::common::minicluster::names_at;
use crate::common::*;
use crate::conformance::unique;
use apache_hdfs_broker::wire::generated::TBrokerOperationStatus;

/// A broker killed (SIGKILL) in the middle of a write leaves the target as it was and one
/// hidden temporary file beside it, `.<name>.broker-<16 hex>.tmp`, which no listing of
/// the broker shows; `hdfs dfs -ls` shows it, and deleting it is safe once no broker
/// writes it (the namenode recovers its lease within the hour).
#[test]
fn a_killed_broker_leaves_only_a_hidden_temporary_file() {
    let Some((_cluster, nn, mut broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("/tmp/{}", unique("killed"));
    let path = format!("{nn}{dir}/part-0.csv");
    let old = test_data(MIB + 5, 41);
    c.write_file(&path, "be:1", &old, MIB);
    let fd = c.writer_fd(&path, "be:1");
    assert_ok(&c.pwrite(&fd, 0, &test_data(2 * MIB, 42)));
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &broker.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = broker.terminate();

    let names = names_at(&nn, &dir);
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[1], "part-0.csv");
    assert!(
        names[0].starts_with(".part-0.csv.broker-") && names[0].ends_with(".tmp"),
        "{names:?}"
    );
    let after = BrokerProcess::start();
    let mut c = after.client();
    assert_eq!(c.glob(&format!("{nn}{dir}/*")), vec![path.clone()]);
    let listed = listed(&c.list(&format!("{nn}{dir}"), true, false));
    assert_eq!(listed, vec![path.clone()]);
    assert!(c.read_file(&path, "be:1", 4 << 20) == old);
    assert_ok(&c.delete(&format!("{nn}{dir}")));
}

/// Writes `data` to `path` in 1 MiB pwrites and closes: the first failing status, or OK.
fn write_until_failure(c: &mut Client, path: &str, data: &[u8]) -> TBrokerOperationStatus {
    let opened = c.open_writer(path, "be:1");
    let Some(fd) = opened.fd else {
        return opened.op_status;
    };
    for (i, piece) in data.chunks(MIB).enumerate() {
        let s = c.pwrite(&fd, (i * MIB) as i64, piece);
        if s.status_code != Code::OK {
            c.close_writer(&fd);
            return s;
        }
    }
    c.close_writer(&fd)
}

/// The hidden temporary file lives in the target's directory, so that directory's quotas
/// apply to the write. A write the quota refuses names the quota (the namenode's message)
/// and the path, leaves the previous file as it was and no temporary name behind.
/// Replacing a file needs one spare name in a namespace quota while it runs (as Hadoop's
/// `hdfs dfs -put -f` does, for its `._COPYING_` file), and the message says so; a new
/// file needs only its own name, as without the temporary file.
#[test]
fn quotas_of_the_target_directory_apply() {
    let Some((mut cluster, nn, _broker, mut c)) = on_cluster() else {
        return;
    };
    let dir = format!("/tmp/{}", unique("quota"));
    let url = |name: &str| format!("{nn}{dir}/{name}");
    let old = test_data(1000, 51);
    c.write_file(&url("a.csv"), "be:1", &old, MIB);
    let names = || names_at(&nn, &dir);

    // The directory and a.csv: a namespace quota of 2 is exactly full.
    cluster.command(&format!("set-quota 0 {dir} 2 -1"));
    let s = write_until_failure(&mut c, &url("a.csv"), &test_data(2000, 52));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&s);
    assert!(msg.contains(&url("a.csv")), "{msg}");
    assert!(
        msg.contains("NSQuotaExceededException") && msg.contains("quota=2"),
        "{msg}"
    );
    assert!(msg.contains("one more name"), "{msg}");
    assert!(msg.len() < 1000, "{msg}");
    assert_eq!(names(), vec!["a.csv"]);
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == old);

    // One spare name: the replacement succeeds and leaves the count as it was.
    cluster.command(&format!("set-quota 0 {dir} 3 -1"));
    let new = test_data(2000, 53);
    assert_ok(&write_until_failure(&mut c, &url("a.csv"), &new));
    assert_eq!(names(), vec!["a.csv"]);
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == new);
    // A new file takes the last name left, as it would without the temporary file ...
    assert_ok(&write_until_failure(&mut c, &url("b.csv"), &old));
    assert_eq!(names(), vec!["a.csv", "b.csv"]);
    // ... and the next one finds none: the namenode's message, without the hint about
    // replacing.
    let s = write_until_failure(&mut c, &url("c.csv"), &old);
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&s);
    assert!(
        msg.contains(&url("c.csv")) && msg.contains("NSQuotaExceededException"),
        "{msg}"
    );
    assert!(!msg.contains("one more name"), "{msg}");
    assert_eq!(names(), vec!["a.csv", "b.csv"]);

    // A space quota of 5 MiB: each block allocated reserves a full block on each of the 3
    // replicas (3 MiB), so the second block of a 3 MiB replacement is refused mid-write.
    cluster.command(&format!("set-quota 0 {dir} -1 {}", 5 * MIB));
    let s = write_until_failure(&mut c, &url("a.csv"), &test_data(3 * MIB, 54));
    assert_code(&s, Code::TARGET_STORAGE_SERVICE_ERROR);
    let msg = message(&s);
    assert!(msg.contains(&url("a.csv")), "{msg}");
    assert!(
        msg.contains("DSQuotaExceededException") && msg.contains("quota"),
        "{msg}"
    );
    assert!(msg.len() < 1000, "{msg}");
    wait_for(
        "the temporary file of the refused write to go",
        Duration::from_secs(30),
        || names() == ["a.csv", "b.csv"],
    );
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == new);
    // Within the quota, a replacement works.
    let fits = test_data(MIB / 2, 55);
    assert_ok(&write_until_failure(&mut c, &url("a.csv"), &fits));
    assert!(c.read_file(&url("a.csv"), "be:1", MIB as i64) == fits);
    assert_eq!(names(), vec!["a.csv", "b.csv"]);
    assert_ok(&c.delete(&format!("{nn}{dir}")));
}
