//! Group 6: 8 MiB preads of a file on a MiniDFSCluster through the broker vs hdfs-native
//! reading the same file in-process (the limit), with the CPU each spends per GB; then the
//! other HDFS figures on the same cluster (`hdfs_load`). Group 8, in the same runs as 6a:
//! the same file through the broker over `webhdfs://` (the namenode's HTTP port, data
//! from the datanodes' HTTP ports) beside `hdfs://`, to say what the REST hop costs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdfs_native::{ClientBuilder, WriteOptions};

use crate::client::Props;
use crate::groups::{broker_read, CHUNK};
use crate::hdfs_load;
use crate::process::{cpu_seconds_of, Broker};
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
    eprintln!("group 6: HDFS, {} MiB per run", s.hdfs_bytes >> 20);
    let (cluster, namenode) = match &s.hdfs_uri {
        Some(uri) => (None, uri.clone()),
        None => match Cluster::start(&s.repo) {
            Ok(c) => {
                let uri = c.uri.clone();
                (Some(c), uri)
            }
            Err(e) => {
                eprintln!("    skipped: {e}");
                report.skip("6", e);
                return;
            }
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = ClientBuilder::new()
        .with_url(namenode.clone())
        .build()
        .unwrap();
    let path = "/bench/big.bin";
    let size = s.hdfs_bytes;
    rt.block_on(ensure_file(&client, path, size, b'h'));
    let uri = format!("{namenode}{path}");
    let in_process = || {
        rt.block_on(async {
            let reader = client.read(path).await.unwrap();
            let mut buf = vec![0u8; CHUNK];
            let cpu = cpu_seconds_of(std::process::id());
            let started = Instant::now();
            let mut offset = 0usize;
            while (offset as u64) < size {
                let n = CHUNK.min(size as usize - offset);
                reader.read_range_buf(&mut buf[..n], offset).await.unwrap();
                offset += n;
            }
            let speed = offset as f64 / 1e6 / started.elapsed().as_secs_f64();
            (
                speed,
                (cpu_seconds_of(std::process::id()) - cpu) / (offset as f64 / 1e9),
            )
        })
    };
    let via_broker = || {
        let cpu = broker.cpu_seconds();
        let speed = broker_read(broker.addr, &uri, &Props::new(), size);
        (speed, (broker.cpu_seconds() - cpu) / (size as f64 / 1e9))
    };
    // Group 8 needs the cluster's HTTP address: not known for a cluster given by --hdfs-uri.
    let web_uri = cluster
        .as_ref()
        .map(|c| format!("webhdfs://{}{path}", c.http));
    let via_webhdfs = |uri: &str| broker_read(broker.addr, uri, &Props::new(), size);
    let web = web_uri
        .as_deref()
        .filter(|_| s.wanted("8"))
        .map(|uri| move || via_webhdfs(uri));
    if s.wanted("6a") || web.is_some() {
        reads(
            s,
            &via_broker,
            &in_process,
            web.as_ref().map(|f| f as &dyn Fn() -> f64),
            report,
        );
    }
    if web_uri.is_none() && s.wanted("8") {
        report.skip("8", "no WebHDFS address for a cluster given by --hdfs-uri");
    }
    if s.wanted("6b") {
        // A one-block file for the readers.
        let small = "/bench/small.bin";
        rt.block_on(ensure_file(&client, small, 4096, b's'));
        hdfs_load::reader_memory(s, &format!("{namenode}{small}"), report);
    }
    if s.wanted("6c") {
        hdfs_load::ping_under_load(s, broker, &uri, report);
    }
    if s.wanted("6d") {
        hdfs_load::writes(s, broker, &rt, &client, &namenode, report);
    }
    drop(rt);
    drop(cluster);
}

/// `path` of `size` bytes of `byte`, kept from an earlier run if it is there. A loaded
/// MiniDFSCluster may refuse a block for a while (NotReplicatedYetException): try again.
async fn ensure_file(client: &hdfs_native::Client, path: &str, size: u64, byte: u8) {
    if client
        .get_file_info(path)
        .await
        .is_ok_and(|f| f.length as u64 == size)
    {
        return;
    }
    let data = Bytes::from(vec![byte; CHUNK.min(size as usize)]);
    for attempt in 1.. {
        let written = async {
            let options = WriteOptions::default().overwrite(true);
            let mut w = client.create(path, options).await?;
            let mut written = 0u64;
            while written < size {
                w.write_bytes(data.clone()).await?;
                written += data.len() as u64;
            }
            w.close().await
        };
        match written.await {
            Ok(()) => return,
            Err(e) if attempt < 5 => eprintln!("    writing {path} failed, again: {e}"),
            Err(e) => panic!("cannot write {path}: {e}"),
        }
    }
}

/// 6a: speed and CPU per GB, through the broker and in-process, alternating which goes first.
fn reads(
    s: &Settings,
    via_broker: &dyn Fn() -> (f64, f64),
    in_process: &dyn Fn() -> (f64, f64),
    via_webhdfs: Option<&dyn Fn() -> f64>,
    report: &mut Report,
) {
    let (mut b, mut n, mut r) = (vec![], vec![], vec![]);
    let (mut b_cpu, mut n_cpu) = (vec![], vec![]);
    let (mut w, mut wr) = (vec![], vec![]);
    for run in 0..s.runs {
        let ((x, x_cpu), (y, y_cpu)) = if run % 2 == 0 {
            let x = via_broker();
            (x, in_process())
        } else {
            let y = in_process();
            (via_broker(), y)
        };
        let web = via_webhdfs.map(|f| f());
        let web_note = web.map_or(String::new(), |w| {
            format!(", broker over webhdfs:// {w:.0} MB/s")
        });
        eprintln!("    run {run}: broker {x:.0} MB/s ({x_cpu:.2} CPU s/GB), hdfs-native in-process {y:.0} MB/s ({y_cpu:.2} CPU s/GB){web_note}");
        b.push(x);
        n.push(y);
        r.push(x / y);
        b_cpu.push(x_cpu);
        n_cpu.push(y_cpu);
        if let Some(web) = web {
            w.push(web);
            wr.push(web / x);
        }
    }
    report.metric(
        "hdfs_read.broker",
        "6a HDFS 8 MiB preads via broker",
        median(b),
        "MB/s",
    );
    report.metric(
        "hdfs_read.native",
        "6a HDFS 8 MiB reads, hdfs-native in-process",
        median(n),
        "MB/s",
    );
    report.metric(
        "hdfs_read.native_cpu_per_gb",
        "6a hdfs-native in-process CPU per GB read",
        median(n_cpu),
        "s",
    );
    report.target(Target {
        key: "hdfs_read.ratio",
        label: "6a HDFS via broker / hdfs-native in-process",
        value: median(r),
        at_least: true,
        limit: 0.9,
        unit: "ratio",
    });
    report.target(Target {
        key: "hdfs_read.broker_cpu_per_gb",
        label: "6a broker CPU per GB read from HDFS",
        value: median(b_cpu),
        at_least: false,
        limit: 0.5,
        unit: "s",
    });
    if w.is_empty() {
        return;
    }
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
}
