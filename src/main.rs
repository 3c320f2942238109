//! `apache_hdfs_broker [--conf PATH]`: reads the conf, starts logging, serves Thrift until
//! SIGTERM or SIGINT. Runs in the foreground; `bin/start_broker.sh --daemon` detaches it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use apache_hdfs_broker::config::BrokerConfig;
use apache_hdfs_broker::rpc::Broker;
use apache_hdfs_broker::{logging, metrics, server, sessions};

#[derive(Parser)]
#[command(
    version,
    about = "StarRocks/Doris file broker: Thrift in front of HDFS, object stores and local files"
)]
struct Cli {
    /// The broker conf file [default: $BROKER_HOME/conf/apache_hdfs_broker.conf].
    #[arg(long, value_name = "PATH")]
    conf: Option<PathBuf>,
}

/// `$BROKER_HOME`, else the parent of the folder holding this binary (`<home>/lib/` or
/// `<home>/bin/` in a deployment).
fn broker_home() -> PathBuf {
    if let Some(home) = std::env::var_os("BROKER_HOME") {
        return PathBuf::from(home);
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
    match runtime.block_on(serve(config, conf_path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("apache_hdfs_broker: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: BrokerConfig, conf_path: PathBuf) -> Result<(), String> {
    let addr = config.listen_addr().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let http = bind_http(&config).await?;
    let expiry_checking = !config.disable_broker_client_expiration_checking;
    let broker = Arc::new(Broker::new(config, conf_path.parent()));
    if expiry_checking {
        tokio::spawn(sessions::run_reaper(broker.sessions.clone()));
    }
    // Expired HDFS clients go even when no request comes, inline keytab files with them.
    let sweeper = broker.clone();
    tokio::spawn(async move { sweeper.backends.run_sweeper().await });
    if let Some(http) = http {
        // Logged before the thrift line, so whoever waits for that one finds this too.
        if let Ok(bound) = http.local_addr() {
            tracing::info!("http server listening on {bound} (port {})", bound.port());
        }
        // Lives until the runtime ends, answering /health with 503 while calls drain.
        tokio::spawn(metrics::serve_http(http, broker.sessions.clone()));
    }
    // The StarRocks docs check a start with `grep thrift` on this log, and
    // start_broker.sh waits for the same words on stdout: keep them.
    let ready = format!("thrift server listening on {bound} (port {})", bound.port());
    tracing::info!(conf = %conf_path.display(), "{ready}");
    println!("apache_hdfs_broker: {ready}");
    server::run(listener, broker, shutdown_signal()).await;
    tracing::info!("broker stopped");
    Ok(())
}

/// The metrics and health listener, unless `broker_http_port = -1`. It is optional: a taken
/// port costs the endpoint, with a warning, never the broker's start.
async fn bind_http(config: &BrokerConfig) -> Result<Option<tokio::net::TcpListener>, String> {
    let Some(addr) = config.http_listen_addr().map_err(|e| e.to_string())? else {
        tracing::info!("http server disabled (broker_http_port = -1)");
        return Ok(None);
    };
    match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) => {
            tracing::warn!(
                "http server not started: cannot listen on {addr}: {e}; set broker_http_port to a free port (-1 disables it)"
            );
            Ok(None)
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
