//! The broker's benchmark harness (issue #6). Run it through `scripts/bench.sh`, which
//! builds the release broker and the C++ BE-stack client first:
//!
//! ```text
//! broker_bench --broker target/release/apache_hdfs_broker [--be-client PATH] [--quick]
//!              [--no-hdfs] [--only 1,2,6c,..] [--runs N] [--hdfs-mib N]
//!              [--hdfs-uri hdfs://127.0.0.1:PORT]
//!              [--out target/bench/results.json]
//!              [--data target/bench/data]
//! ```
//!
//! Every group measures the broker and its limit in the same run, alternating which goes
//! first, and reports medians of the runs; ratios are taken per run, then their median.

mod baselines;
mod client;
mod groups;
mod hdfs;
mod hdfs_load;
mod object_store;
mod process;
mod report;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use process::Broker;
use report::{quote, Report};

/// Sizes and repetitions of one run (`--quick` shrinks them to a one-minute smoke).
pub struct Settings {
    pub broker: PathBuf,
    pub be_client: Option<PathBuf>,
    pub repo: PathBuf,
    pub runs: usize,
    pub large_bytes: u64,
    pub small_secs: f64,
    pub write_bytes: u64,
    pub list_entries: usize,
    pub partitions: usize,
    pub connections: usize,
    pub readers: usize,
    pub hdfs: bool,
    pub hdfs_bytes: u64,
    /// Where the local files live: the brokers' `broker_local_roots`.
    pub data: PathBuf,
    /// A running cluster's namenode URI to use instead of starting a MiniDFSCluster.
    pub hdfs_uri: Option<String>,
    /// `--only`: comma-separated groups (6 runs every HDFS group, 6a-6d one of them).
    pub only: Option<String>,
}

impl Settings {
    pub fn wanted(&self, group: &str) -> bool {
        self.only.as_deref().is_none_or(|o| {
            // "6" selects 6a-6d; "6c" selects 6c (and the group 6 setup it runs in).
            o.split(',')
                .any(|x| group.starts_with(x) || x.starts_with(group))
        })
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut s = Settings {
        broker: repo.join("target/release/apache_hdfs_broker"),
        be_client: None,
        repo: repo.clone(),
        runs: 5,
        large_bytes: 1 << 30,
        small_secs: 3.0,
        write_bytes: 512 << 20,
        list_entries: 100_000,
        partitions: 1_000,
        connections: 1_000,
        readers: 10_000,
        hdfs: true,
        hdfs_bytes: 512 << 20,
        data: PathBuf::new(),
        hdfs_uri: None,
        only: None,
    };
    let mut out = repo.join("target/bench/results.json");
    let mut data = repo.join("target/bench/data");
    let mut quick = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--broker" => s.broker = args.next().expect("--broker PATH").into(),
            "--be-client" => s.be_client = Some(args.next().expect("--be-client PATH").into()),
            "--out" => out = args.next().expect("--out PATH").into(),
            "--data" => data = args.next().expect("--data DIR").into(),
            "--no-hdfs" => s.hdfs = false,
            "--quick" => quick = true,
            "--only" => s.only = Some(args.next().expect("--only GROUPS")),
            "--runs" => s.runs = args.next().expect("--runs N").parse().expect("--runs N"),
            "--hdfs-mib" => {
                s.hdfs_bytes = args
                    .next()
                    .expect("--hdfs-mib N")
                    .parse::<u64>()
                    .expect("--hdfs-mib N")
                    << 20
            }
            "--hdfs-uri" => s.hdfs_uri = Some(args.next().expect("--hdfs-uri hdfs://HOST:PORT")),
            other => {
                eprintln!("broker_bench: unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    if quick {
        s.runs = 2;
        s.large_bytes = 256 << 20;
        s.small_secs = 1.0;
        s.write_bytes = 64 << 20;
        s.list_entries = 10_000;
        s.partitions = 100;
        s.hdfs = false;
    }
    std::fs::create_dir_all(&data).unwrap();
    let data = std::fs::canonicalize(&data).unwrap();
    s.data = data.clone();
    let big = ensure_file(&data.join("big.bin"), 1 << 30);
    let small = ensure_file(&data.join("small.bin"), 4096);

    let wanted = |g: &str| s.wanted(g);
    let mut report = Report::default();
    if wanted("5") {
        groups::footprint(&s, &small, &mut report);
    }
    let (broker, _) = Broker::start(
        &s.broker,
        &[("broker_local_roots", s.data.to_str().unwrap())],
    );
    if wanted("1") {
        groups::large_reads(&s, &broker, &big, &mut report);
    }
    if wanted("2") {
        groups::small_reads(&s, &broker, &big, 1 << 30, &mut report);
    }
    if wanted("3") {
        groups::writes(&s, &broker, &data, &mut report);
    }
    if wanted("4") {
        groups::listing(&s, &broker, &data, &mut report);
    }
    if wanted("7") {
        object_store::object_store(&s, &broker, &mut report);
    }
    if !(wanted("6") || wanted("8")) {
    } else if s.hdfs {
        hdfs::hdfs_reads(&s, &broker, &mut report);
    } else {
        report.skip("6,8", "HDFS groups off (--quick or --no-hdfs)");
    }
    drop(broker);

    let table = report.table();
    println!("\n{table}");
    let header = [
        (
            "date",
            quote(&command_line("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])),
        ),
        ("quick", quick.to_string()),
        ("runs", s.runs.to_string()),
        (
            "nproc",
            std::thread::available_parallelism()
                .map_or(0, |n| n.get())
                .to_string(),
        ),
        ("cpu", quote(&proc_field("/proc/cpuinfo", "model name"))),
        ("mem_total", quote(&proc_field("/proc/meminfo", "MemTotal"))),
        (
            "git",
            quote(&command_line(
                "git",
                &[
                    "-C",
                    &repo.to_string_lossy(),
                    "rev-parse",
                    "--short",
                    "HEAD",
                ],
            )),
        ),
    ];
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(&out, report.json(&header)).unwrap();
    println!("results: {}", out.display());
    ExitCode::SUCCESS
}

/// A file of exactly `size` bytes (kept between runs), read once so it is page-cached.
fn ensure_file(path: &Path, size: u64) -> PathBuf {
    if std::fs::metadata(path).map(|m| m.len()).ok() != Some(size) {
        let mut f = std::fs::File::create(path).unwrap();
        let block: Vec<u8> = (0..1usize << 20).map(|i| (i * 7 % 253) as u8).collect();
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            f.write_all(&block[..n]).unwrap();
            left -= n as u64;
        }
    }
    let mut f = std::fs::File::open(path).unwrap();
    std::io::copy(&mut f, &mut std::io::sink()).unwrap();
    path.to_path_buf()
}

fn proc_field(file: &str, key: &str) -> String {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

fn command_line(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}
