//! Group 6: 8 MiB preads of a file on a MiniDFSCluster through the broker vs hdfs-native
//! reading the same file in-process (the limit). Group 8, in the same runs: the same file
//! through the broker over `webhdfs://` (the namenode's HTTP port, data from the
//! datanodes' HTTP ports) beside `hdfs://`, to say what the REST hop costs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdfs_native::{ClientBuilder, WriteOptions};

use crate::client::Props;
use crate::groups::{broker_read, CHUNK};
use crate::process::Broker;
use crate::report::{median, Report, Target};
use crate::Settings;

/// `tests/minicluster/run.sh plain`, stopped by closing its stdin.
struct Cluster {
    child: Child,
    stdin: Option<ChildStdin>,
    _dir: tempfile::TempDir,
    uri: String,
    /// `host:port` of the namenode's HTTP server (WebHDFS).
    http: String,
}

impl Cluster {
    fn start(repo: &Path) -> Result<Cluster, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut child = Command::new(repo.join("tests/minicluster/run.sh"))
            .arg("plain")
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run tests/minicluster/run.sh: {e}"))?;
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
        std::thread::spawn(move || for _ in lines {});
        if first != "Ready!" {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("MiniDFSCluster did not start (said {first:?})"));
        }
        let facts = std::fs::read_to_string(dir.path().join("cluster.properties"))
            .map_err(|e| e.to_string())?;
        let fact = |key: &str| {
            facts
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().to_string())
                .ok_or(format!("cluster.properties has no {key}"))
        };
        Ok(Cluster {
            uri: fact("namenode.0.uri")?,
            http: fact("namenode.0.http")?,
            child,
            stdin,
            _dir: dir,
        })
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn hdfs_reads(s: &Settings, broker: &Broker, report: &mut Report) {
    eprintln!(
        "group 6: HDFS, {} MiB per run (starting a MiniDFSCluster)",
        s.hdfs_bytes >> 20
    );
    let cluster = match Cluster::start(&s.repo) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("    skipped: {e}");
            report.skip("6", e);
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = ClientBuilder::new()
        .with_url(cluster.uri.clone())
        .build()
        .unwrap();
    let path = "/bench/big.bin";
    let size = s.hdfs_bytes;
    rt.block_on(async {
        let mut w = client
            .create(path, WriteOptions::default().overwrite(true))
            .await
            .unwrap();
        let data = Bytes::from(vec![b'h'; CHUNK]);
        let mut written = 0u64;
        while written < size {
            w.write_bytes(data.clone()).await.unwrap();
            written += CHUNK as u64;
        }
        w.close().await.unwrap();
    });
    let in_process = || {
        rt.block_on(async {
            let reader = client.read(path).await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let started = Instant::now();
            let mut offset = 0usize;
            while (offset as u64) < size {
                let n = CHUNK.min(size as usize - offset);
                reader.read_range_buf(&mut buf[..n], offset).await.unwrap();
                offset += n;
            }
            offset as f64 / 1e6 / started.elapsed().as_secs_f64()
        })
    };
    let uri = format!("{}{path}", cluster.uri);
    let web_uri = format!("webhdfs://{}{path}", cluster.http);
    let (mut b, mut n, mut r) = (vec![], vec![], vec![]);
    let (mut w, mut wr) = (vec![], vec![]);
    for run in 0..s.runs {
        let (x, y) = if run % 2 == 0 {
            let x = broker_read(broker.addr, &uri, &Props::new(), size);
            (x, in_process())
        } else {
            let y = in_process();
            (broker_read(broker.addr, &uri, &Props::new(), size), y)
        };
        let web = broker_read(broker.addr, &web_uri, &Props::new(), size);
        eprintln!(
            "    run {run}: broker {x:.0} MB/s, hdfs-native in-process {y:.0} MB/s, \
             broker over webhdfs:// {web:.0} MB/s"
        );
        b.push(x);
        n.push(y);
        r.push(x / y);
        w.push(web);
        wr.push(web / x);
    }
    report.metric(
        "hdfs_read.broker",
        "6 HDFS 8 MiB preads via broker",
        median(b),
        "MB/s",
    );
    report.metric(
        "hdfs_read.native",
        "6 HDFS 8 MiB reads, hdfs-native in-process",
        median(n),
        "MB/s",
    );
    report.target(Target {
        key: "hdfs_read.ratio",
        label: "6 HDFS via broker / hdfs-native in-process",
        value: median(r),
        at_least: true,
        limit: 0.9,
        unit: "ratio",
    });
    report.metric(
        "webhdfs_read.broker",
        "8 WebHDFS 8 MiB preads via broker",
        median(w),
        "MB/s",
    );
    report.target(Target {
        key: "webhdfs_read.ratio",
        label: "8 webhdfs:// / hdfs://, both via broker",
        value: median(wr),
        at_least: true,
        limit: 0.5,
        unit: "ratio",
    });
    drop(rt);
    drop(cluster);
}
