//! A real HDFS for the tests: Hadoop's MiniDFSCluster run by `tests/minicluster/run.sh`
//! (see its README), driven over its stdin/stdout protocol. The test process runs one
//! cluster at a time ([`shared`]); tests that need one first check
//! `missing(Server::Hdfs)` (common/servers.rs).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Condvar, Mutex};
use std::time::Duration;

pub struct MiniCluster {
    /// What it was started as: `shape` and launcher options.
    started_as: Vec<String>,
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    pub workdir: tempfile::TempDir,
}

fn launcher() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/minicluster/run.sh")
}

impl MiniCluster {
    /// Starts a cluster of `shape` (`plain`, `ha`, `federated`, `viewfs`, `secure`) with
    /// launcher `options` (`--datanodes 1`, `--ticket-lifetime 20` ...) and waits for its
    /// `Ready!` line (the launcher's own readiness check), up to three minutes (the first
    /// start may build the launcher).
    pub fn start_with(shape: &str, options: &[&str]) -> MiniCluster {
        let workdir = tempfile::tempdir().unwrap();
        let mut child = Command::new(launcher())
            .arg(shape)
            .arg(workdir.path())
            .args(options)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run tests/minicluster/run.sh (Java 17 and Maven needed)");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut cluster = MiniCluster {
            started_as: std::iter::once(shape)
                .chain(options.iter().copied())
                .map(String::from)
                .collect(),
            child,
            stdin,
            lines,
            workdir,
        };
        let first = cluster.next_line(Duration::from_secs(180));
        assert_eq!(first, "Ready!", "MiniDFSCluster ({shape}) did not start");
        cluster
    }

    fn next_line(&mut self, timeout: Duration) -> String {
        self.lines
            .recv_timeout(timeout)
            .unwrap_or_else(|e| panic!("no answer from the MiniDFSCluster launcher: {e}"))
    }

    /// Sends one control command (`stop-datanode 0`, `transition-active 1` ...).
    pub fn command(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        let reply = self.next_line(Duration::from_secs(120));
        assert_eq!(reply, "ok", "minicluster command '{cmd}' failed");
    }

    /// Which cluster this is (its work directory): a restarted shape is another one.
    pub fn id(&self) -> String {
        self.workdir.path().display().to_string()
    }

    /// The client config the launcher wrote (core-site.xml, hdfs-site.xml).
    pub fn conf_dir(&self) -> PathBuf {
        self.workdir.path().join("conf")
    }

    /// `cluster.properties`, read fresh (it is rewritten after every command).
    pub fn facts(&self) -> BTreeMap<String, String> {
        let text = std::fs::read_to_string(self.workdir.path().join("cluster.properties"))
            .expect("cluster.properties");
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect()
    }

    pub fn fact(&self, key: &str) -> String {
        self.facts()
            .remove(key)
            .unwrap_or_else(|| panic!("cluster.properties has no {key}"))
    }

    /// `hdfs://127.0.0.1:PORT` of namenode `index`.
    pub fn namenode_uri(&self, index: usize) -> String {
        self.fact(&format!("namenode.{index}.uri"))
    }

    /// `host:port` of namenode `index`'s RPC.
    pub fn namenode_rpc(&self, index: usize) -> String {
        self.fact(&format!("namenode.{index}.rpc"))
    }
}

impl Drop for MiniCluster {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "shutdown");
        let _ = self.stdin.flush();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `f` with an hdfs-native client for `nn` (`hdfs://host:port`), bypassing the
/// broker: what the namenode itself says.
pub fn direct<T>(nn: &str, f: impl AsyncFnOnce(hdfs_native::Client) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = hdfs_native::ClientBuilder::new()
            .with_url(nn)
            .build()
            .unwrap();
        f(client).await
    })
}

/// Whether `path` exists on the namenode at `nn`, asked directly.
pub fn exists_at(nn: &str, path: &str) -> bool {
    direct(nn, async |client| match client.get_file_info(path).await {
        Ok(_) => true,
        Err(hdfs_native::HdfsError::FileNotFound(_)) => false,
        Err(e) => panic!("get_file_info {nn}{path}: {e}"),
    })
}

/// The cluster of the test process, lent to one test (see [`shared`]); handed back when
/// dropped, also when the test panicked.
pub struct Cluster(Option<MiniCluster>);

impl Deref for Cluster {
    type Target = MiniCluster;
    fn deref(&self) -> &MiniCluster {
        self.0.as_ref().expect("a started cluster")
    }
}

impl DerefMut for Cluster {
    fn deref_mut(&mut self) -> &mut MiniCluster {
        self.0.as_mut().expect("a started cluster")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut slot = SLOT.lock().unwrap_or_else(|e| e.into_inner());
        slot.cluster = self.0.take();
        slot.lent = false;
        TURN.notify_all();
    }
}

/// The one cluster and who waits for it.
struct Slot {
    cluster: Option<MiniCluster>,
    lent: bool,
    /// Waiting tests by name (libtest names each test's thread after the test), then
    /// arrival.
    waiting: Vec<(String, u64)>,
    arrivals: u64,
}

static SLOT: Mutex<Slot> = Mutex::new(Slot {
    cluster: None,
    lent: false,
    waiting: Vec::new(),
    arrivals: 0,
});
static TURN: Condvar = Condvar::new();

/// The cluster of `shape` started with launcher `options`, lent to the caller alone so
/// tests that change it never overlap. One cluster runs at a time (each is a JVM of up
/// to 768 MiB and 4 to 6 nodes): a test wanting another shape stops the running one and
/// starts its own. The harness starts tests in name order, and the waiting test whose
/// name sorts first goes first, so a module's tests all run before the next module's
/// and each shape starts once per run. The last cluster stops when the test process
/// exits (stdin EOF).
pub fn shared(shape: &str, options: &[&str]) -> Cluster {
    let wanted: Vec<String> = std::iter::once(shape)
        .chain(options.iter().copied())
        .map(String::from)
        .collect();
    let mut slot = SLOT.lock().unwrap_or_else(|e| e.into_inner());
    let test = std::thread::current().name().unwrap_or("").to_string();
    let me = (test, slot.arrivals);
    slot.arrivals += 1;
    slot.waiting.push(me.clone());
    while slot.lent || slot.waiting.iter().min() != Some(&me) {
        slot = TURN.wait(slot).unwrap_or_else(|e| e.into_inner());
    }
    slot.waiting.retain(|w| *w != me);
    slot.lent = true;
    let mut lent = Cluster(slot.cluster.take());
    drop(slot);
    // Stopped and started outside the lock, so others can queue meanwhile.
    if lent.0.as_ref().is_some_and(|c| c.started_as != wanted) {
        lent.0 = None;
    }
    if lent.0.is_none() {
        lent.0 = Some(MiniCluster::start_with(shape, options));
    }
    lent
}
