//! `apache_hdfs_broker [--conf PATH]`: reads the conf, starts logging, serves Thrift until
//! SIGTERM or SIGINT. Runs in the foreground; `bin/start_broker.sh --daemon` detaches it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use apache_hdfs_broker::config::BrokerConfig;
use apache_hdfs_broker::{logging, service};

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
    match runtime.block_on(service::run(config, &conf_path, shutdown_signal())) {
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
