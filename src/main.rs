//! `apache_hdfs_broker [--conf PATH]`: reads the conf, starts logging, serves Thrift until
//! SIGTERM or SIGINT. Runs in the foreground; `bin/start_broker.sh --daemon` detaches it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use apache_hdfs_broker::config::BrokerConfig;
use apache_hdfs_broker::{logging, service};

/// Chosen by measurement (Debian's libraries through LD_PRELOAD, same binary): RSS 10 s
/// after 10,000 HDFS readers closed was 89 MiB with glibc (90 with MALLOC_ARENA_MAX=2),
/// 73 MiB with jemalloc, 32 MiB with mimalloc; HDFS reads cost 1.42, 2.27 and 1.27 CPU s/GB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Purges of freed memory after 1 s, and arenas committed as they are used, not ahead.
/// Measured (RSS 10 s after 10,000 HDFS readers closed; CPU per GB of HDFS reads): default
/// options 103 MiB, 1.12 s (and 22.6 MiB idle instead of 15); purge delay 0: 25 MiB,
/// 1.83 s; 100 ms: 34 MiB, 1.49 s. Since a burst's end hands memory back at once
/// (`release_freed_memory`), the delay only decides how soon a freed pwrite chunk's pages
/// are given back while the next chunks arrive: at 100 ms most were, and each new 4 MiB
/// chunk faulted its pages in again (228,000 page faults per 10 s of S3 writes, 30 % of
/// the broker's CPU); at 1 s 51,000, and HDFS reads cost 0.97 s/GB instead of 1.1-1.2.
/// BENCHMARKS.md has the runs.
///
/// Set from the ELF constructor list, before Rust's runtime makes its first allocation:
/// mimalloc creates its first arena then, and `main` would be too late for eager commit.
/// (What the `ctor` crate does, in three lines.)
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

#[cfg(target_os = "linux")]
extern "C" fn tune_allocator() {
    use libmimalloc_sys::{mi_option_set, mi_option_t};
    // mimalloc.h's `mi_option_e` (v3, which the -sys crate builds; v2 has the same ids),
    // whose values the -sys crate does not name.
    const ARENA_EAGER_COMMIT: mi_option_t = 4;
    const PURGE_DELAY: mi_option_t = 15;
    // SAFETY: plain setters of mimalloc's global options, called before any other thread
    // exists and before the first allocation.
    unsafe {
        mi_option_set(ARENA_EAGER_COMMIT, 0);
        mi_option_set(PURGE_DELAY, 1000);
    }
}

/// Hands the memory freed after a burst of streams back to the system at once, instead
/// of after the purge delay of threads that may not allocate again for a long time.
/// Measured (6b, RSS 10 s after 10,000 HDFS readers closed): BENCHMARKS.md.
fn release_freed_memory() {
    // SAFETY: mimalloc's collect, safe to call from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// What `--version` prints after the name and the first log line of a start repeats:
/// version, git commit and target (stamped by build.rs).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("BROKER_GIT_COMMIT"),
    ", target ",
    env!("BROKER_TARGET"),
    ")"
);

#[derive(Parser)]
#[command(
    version = VERSION,
    about = "StarRocks/Doris file broker: Thrift in front of HDFS, object stores and local files"
)]
struct Cli {
    /// The broker conf file [default: $BROKER_HOME/conf/apache_hdfs_broker.conf].
    #[arg(long, value_name = "PATH")]
    conf: Option<PathBuf>,
}

/// `$BROKER_HOME` (made absolute), else the parent of the folder holding this binary (`<home>/lib/` or
/// `<home>/bin/` in a deployment).
fn broker_home() -> PathBuf {
    if let Some(home) = std::env::var_os("BROKER_HOME") {
        // Absolute, so ${BROKER_HOME}/data in broker_local_roots is too.
        return std::path::absolute(&home).unwrap_or_else(|_| PathBuf::from(home));
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let home = broker_home();
    let conf_path = cli
        .conf
        .unwrap_or_else(|| home.join("conf").join("apache_hdfs_broker.conf"));
    let home_str = home.to_string_lossy().into_owned();
    let env = move |key: &str| match key {
        "BROKER_HOME" => Some(home_str.clone()),
        _ => std::env::var(key).ok(),
    };
    let config = match BrokerConfig::load(&conf_path, &env) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("apache_hdfs_broker: bad configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    // UPPER_CASE lines are environment variables (KRB5_CONFIG ...), as start_broker.sh
    // exports them: set here too, before any thread starts, for brokers started directly.
    let text = std::fs::read(&conf_path).unwrap_or_default();
    match apache_hdfs_broker::config::environment_lines(&String::from_utf8_lossy(&text), &env) {
        Ok(lines) => {
            for (key, value) in lines {
                std::env::set_var(key, value);
            }
        }
        Err(e) => {
            eprintln!("apache_hdfs_broker: bad configuration: {e}");
            return ExitCode::FAILURE;
        }
    }
    let log_dir = config
        .sys_log_dir
        .clone()
        .unwrap_or_else(|| home.join("log"));
    let audit_dir = config
        .audit_log_dir
        .clone()
        .unwrap_or_else(|| log_dir.clone());
    let _log_guards = match logging::init(&config, &log_dir, &audit_dir) {
        Ok(guards) => guards,
        Err(e) => {
            eprintln!(
                "apache_hdfs_broker: cannot write logs to {} / {}: {e}",
                log_dir.display(),
                audit_dir.display()
            );
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "apache_hdfs_broker {VERSION} starting, conf {}",
        conf_path.display()
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("broker-worker")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("apache_hdfs_broker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(service::run(
        config,
        &conf_path,
        shutdown_signal(),
        release_freed_memory,
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("apache_hdfs_broker: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
    }
}
