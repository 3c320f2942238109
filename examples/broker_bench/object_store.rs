//! Group 7: an object store (SeaweedFS's S3 API, `weed mini` on loopback) through the
//! broker vs opendal doing the same transfer in-process (the limit): 8 MiB preads of a
//! 512 MiB object, and a 512 MiB write in 4 MiB pwrites (opendal's writer with the
//! broker's part size and parts in flight, as the broker's writer does).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apache_hdfs_broker::storage::object::{PARTS_IN_FLIGHT, PART_SIZE};
use apache_hdfs_broker::wire::generated::TBrokerPWriteRequest;

use crate::client::{Conn, Props, V};
use crate::groups::{broker_read, CHUNK};
use crate::process::Broker;
use crate::report::{median, Report, Target};
use crate::Settings;

const BUCKET: &str = "bench";
const ACCESS_KEY: &str = "bench-access";
const SECRET_KEY: &str = "bench-secret-0123456789";
const WRITE_CHUNK: usize = 4 << 20;

/// `weed mini` in a temporary directory, killed on drop.
struct Weed {
    child: Child,
    s3_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Weed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `$WEED_BIN`, else what scripts/bench.sh installs under target/.
fn weed_binary(repo: &Path) -> Option<PathBuf> {
    std::env::var_os("WEED_BIN")
        .map(PathBuf::from)
        .or_else(|| Some(repo.join("target/seaweedfs-4.48/bin/weed")))
        .filter(|p| p.is_file())
}

impl Weed {
    fn start(repo: &Path) -> Result<Weed, String> {
        let bin = weed_binary(repo).ok_or("no SeaweedFS (`weed`): set WEED_BIN")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let logs = dir.path().join("log");
        std::fs::create_dir_all(&data).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(&logs).map_err(|e| e.to_string())?;
        let ports: [u16; 10] = std::array::from_fn(|_| free_port());
        let names = [
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "s3.port",
            "s3.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ];
        let mut args = vec![
            format!("-logdir={}", logs.display()),
            "-logtostderr=false".into(),
            "mini".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-bucket={BUCKET}"),
            "-master.telemetry=false".into(),
            "-admin.ui=false".into(),
            "-webdav=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            // mini's 128 MB volumes (production's default: 30,000) filled up several times
            // a run, and setting up new ones slowed whichever writer it fell on by a third.
            "-master.volumeSizeLimitMB=30000".into(),
        ];
        args.extend(names.iter().zip(ports).map(|(n, p)| format!("-{n}={p}")));
        let child = Command::new(bin)
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run weed: {e}"))?;
        Ok(Weed {
            child,
            s3_port: ports[6],
            _dir: dir,
        })
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// What the broker is given: path-style, plain http, the server's keys.
    fn props(&self) -> Props {
        [
            ("fs.s3a.access.key", ACCESS_KEY),
            ("fs.s3a.secret.key", SECRET_KEY),
            ("fs.s3a.endpoint", &self.endpoint()),
            ("fs.s3a.endpoint.region", "us-east-1"),
            ("fs.s3a.path.style.access", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn operator(&self) -> opendal::Operator {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = opendal::services::S3::default()
            .bucket(BUCKET)
            .root("/")
            .endpoint(&self.endpoint())
            .region("us-east-1")
            .access_key_id(ACCESS_KEY)
            .secret_access_key(SECRET_KEY)
            .disable_config_load()
            .disable_ec2_metadata();
        // The broker's client, as its transport builds it, minus the timeouts.
        let transport =
            opendal::HttpTransporter::new(opendal_http_transport_reqwest::ReqwestTransport::new(
                reqwest::Client::builder().build().unwrap(),
            ));
        opendal::Operator::new(builder)
            .unwrap()
            .with_context(opendal::OperationContext::new().with_http_transport(transport))
    }
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Writes `size` bytes in `WRITE_CHUNK` pieces through the broker; MB/s.
fn broker_write(addr: std::net::SocketAddr, path: &str, props: &Props, size: u64) -> f64 {
    let data = vec![b'w'; WRITE_CHUNK];
    let mut conn = Conn::connect(addr, 64 << 10).unwrap();
    let started = Instant::now();
    let fd = conn.open_writer_with(path, props).unwrap();
    let mut req = TBrokerPWriteRequest::new(V, fd.clone(), 0, data);
    let mut written = 0u64;
    while written < size {
        req.offset = written as i64;
        conn.pwrite(&req).unwrap();
        written += WRITE_CHUNK as u64;
    }
    conn.close_writer(&fd).unwrap();
    mb_per_s(written, started.elapsed())
}

pub fn object_store(s: &Settings, broker: &Broker, report: &mut Report) {
    let size = s.write_bytes;
    eprintln!(
        "group 7: object store (SeaweedFS S3), {} MiB per run",
        size >> 20
    );
    let weed = match Weed::start(&s.repo) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("    skipped: {e}");
            report.skip("7", e);
            return;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let op = weed.operator();
    // Ready when a write goes through (the S3 gateway starts last).
    let deadline = Instant::now() + Duration::from_secs(60);
    while rt.block_on(op.write("ready", vec![1u8])).is_err() {
        if Instant::now() > deadline {
            eprintln!("    skipped: SeaweedFS did not come up in 60 s");
            report.skip("7", "SeaweedFS did not come up in 60 s");
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let in_process_write = |key: &str| {
        rt.block_on(async {
            let data = bytes::Bytes::from(vec![b'w'; WRITE_CHUNK]);
            let started = Instant::now();
            let mut w = op
                .writer_with(key)
                .chunk(PART_SIZE)
                .concurrent(PARTS_IN_FLIGHT)
                .await
                .unwrap();
            let mut written = 0u64;
            while written < size {
                w.write(data.clone()).await.unwrap();
                written += WRITE_CHUNK as u64;
            }
            w.close().await.unwrap();
            mb_per_s(written, started.elapsed())
        })
    };
    let in_process_read = |key: &str| {
        rt.block_on(async {
            let started = Instant::now();
            let mut offset = 0u64;
            while offset < size {
                let end = (offset + CHUNK as u64).min(size);
                let buf = op.read_with(key).range(offset..end).await.unwrap();
                offset += buf.len() as u64;
            }
            mb_per_s(offset, started.elapsed())
        })
    };
    let props = weed.props();
    in_process_write("read.bin");
    let read_uri = format!("s3a://{BUCKET}/read.bin");
    let write_uri = format!("s3a://{BUCKET}/broker-write.bin");
    let (mut rb, mut rn, mut rr) = (vec![], vec![], vec![]);
    let (mut wb, mut wn, mut wr) = (vec![], vec![], vec![]);
    for run in 0..s.runs {
        let broker_first = run % 2 == 0;
        let (x, y) = if broker_first {
            let x = broker_read(broker.addr, &read_uri, &props, size);
            (x, in_process_read("read.bin"))
        } else {
            let y = in_process_read("read.bin");
            (broker_read(broker.addr, &read_uri, &props, size), y)
        };
        let (p, q) = if broker_first {
            let p = broker_write(broker.addr, &write_uri, &props, size);
            (p, in_process_write("opendal-write.bin"))
        } else {
            let q = in_process_write("opendal-write.bin");
            (broker_write(broker.addr, &write_uri, &props, size), q)
        };
        eprintln!(
            "    run {run}: read broker {x:.0} MB/s, opendal {y:.0} MB/s; \
             write broker {p:.0} MB/s, opendal {q:.0} MB/s"
        );
        rb.push(x);
        rn.push(y);
        rr.push(x / y);
        wb.push(p);
        wn.push(q);
        wr.push(p / q);
    }
    report.metric(
        "s3_read.broker",
        "7 S3 (SeaweedFS) 8 MiB preads via broker",
        median(rb),
        "MB/s",
    );
    report.metric(
        "s3_read.opendal",
        "7 S3 8 MiB range reads, opendal in-process",
        median(rn),
        "MB/s",
    );
    report.target(Target {
        key: "s3_read.ratio",
        label: "7 S3 read via broker / opendal in-process",
        value: median(rr),
        at_least: true,
        limit: 0.9,
        unit: "ratio",
    });
    report.metric(
        "s3_write.broker",
        "7 S3 (SeaweedFS) 4 MiB pwrites via broker",
        median(wb),
        "MB/s",
    );
    report.metric(
        "s3_write.opendal",
        "7 S3 4 MiB writes, opendal writer in-process",
        median(wn),
        "MB/s",
    );
    report.target(Target {
        key: "s3_write.ratio",
        label: "7 S3 write via broker / opendal in-process",
        value: median(wr),
        at_least: true,
        limit: 0.9,
        unit: "ratio",
    });
    drop(rt);
    drop(weed);
}
