//! The composition root: builds the broker's shared state from its configuration, binds
//! the Thrift and HTTP listeners, owns every background task (the fd reaper, the client
//! cache sweeper, the HTTP endpoint) and runs the server until shutdown.
//!
//! Background tasks live in one `JoinSet` held here: when serving ends, dropping it stops
//! them all, so nothing outlives the service it belongs to.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::allowlist::Allowlist;
use crate::audit::Audit;
use crate::config::BrokerConfig;
use crate::http::{self, Health};
use crate::rpc::Broker;
use crate::server;
use crate::sessions::{self, FdLimits, Sessions};
use crate::storage::local::LocalRoots;
use crate::storage::Backends;

/// The shared state every call sees. `conf_dir` is where the broker's conf lives; Hadoop
/// XML files are read from it.
pub fn build_broker(config: BrokerConfig, conf_dir: Option<&Path>) -> Broker {
    let expiry = config.client_expire();
    let (audit, unknown) = Audit::new(&config.audit_log_modules);
    for module in unknown {
        tracing::warn!(
            "audit_log_modules: unknown module '{module}' (known: {})",
            Audit::modules().join(", ")
        );
    }
    // parse() already refused a bad entry, so none is lost here.
    let roots = LocalRoots::new(config.local_roots().unwrap_or_default());
    roots.log_at_start();
    let limits = FdLimits {
        per_client: config.max_open_fds_per_client,
        total: config.max_open_fds,
    };
    Broker {
        audit,
        sessions: Arc::new(Sessions::new(expiry).with_limits(limits)),
        backends: Backends::new(
            conf_dir,
            expiry,
            Duration::from_secs(config.kerberos_token_expire_seconds),
        )
        .with_local_roots(roots),
        config,
    }
}

/// Hands memory the process freed back to the system. The allocator is the binary's
/// choice (`main`), so it comes from there; the library knows no allocator.
pub type ReleaseMemory = fn();

/// How long after a burst of fds ended its memory is handed back: the closes' last
/// frees (streams dropped on other tasks, the connections that held them) come first.
const RELEASE_DELAY: Duration = Duration::from_secs(1);

/// Serves until `shutdown` resolves, then drains calls and stops every background task.
/// `conf_path` is named in the ready line and its folder holds the Hadoop XML files.
/// `release_memory` runs after each burst of open fds ([`sessions::BURST`]) is over.
pub async fn run(
    config: BrokerConfig,
    conf_path: &Path,
    shutdown: impl Future,
    release_memory: ReleaseMemory,
) -> Result<(), String> {
    let addr = config.listen_addr().map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let http_listener = bind_http(&config).await?;
    let allow = Allowlist::new(
        config.allowed_clients().map_err(|e| e.to_string())?,
        "thrift",
        "broker_allowed_clients",
    );
    let http_allow = Allowlist::new(
        config.http_allowed_clients().map_err(|e| e.to_string())?,
        "http",
        "broker_http_allowed_clients",
    );
    let expiry_checking = !config.disable_broker_client_expiration_checking;
    let broker = Arc::new(build_broker(config, conf_path.parent()));
    let health = Health::default();

    let mut tasks = JoinSet::new();
    if expiry_checking {
        tasks.spawn(sessions::run_reaper(broker.sessions.clone()));
    }
    tasks.spawn(release_memory_after_bursts(
        broker.sessions.clone(),
        release_memory,
    ));
    // Expired HDFS clients go even when no request comes, inline keytab files with them.
    let sweeping = broker.clone();
    tasks.spawn(async move { sweeping.backends.run_sweeper().await });
    if let Some(http_listener) = http_listener {
        // Logged before the thrift line, so whoever waits for that one finds this too.
        if let Ok(bound) = http_listener.local_addr() {
            tracing::info!("http server listening on {bound} (port {})", bound.port());
        }
        let sessions = broker.sessions.clone();
        let open: http::OpenStreamsFn = Arc::new(move || sessions.open_counts());
        // Answers /health with 503 while calls drain, until the tasks are dropped.
        tasks.spawn(http::serve(http_listener, health.clone(), open, http_allow));
    }

    health.set_serving();
    // The StarRocks docs check a start with `grep thrift` on this log, and
    // start_broker.sh waits for the same words on stdout: keep them.
    let ready = format!("thrift server listening on {bound} (port {})", bound.port());
    tracing::info!(conf = %conf_path.display(), "{ready}");
    println!("apache_hdfs_broker: {ready}");
    let stopping = async {
        shutdown.await;
        health.set_stopping();
    };
    if allow.admits_anyone() {
        tracing::info!("broker_allowed_clients is empty: any address may connect");
    }
    server::run(listener, broker, allow, stopping).await;
    drop(tasks);
    tracing::info!("broker stopped");
    Ok(())
}

/// After a burst of fds is over, gives the memory its streams held back to the system.
/// 10,000 open HDFS readers take ~80 MiB; once they close, the allocator keeps part of
/// it for reuse and returns it only when the threads that freed it allocate again, which
/// idle workers never do (BENCHMARKS.md, 6b).
async fn release_memory_after_bursts(sessions: Arc<Sessions>, release: ReleaseMemory) {
    loop {
        sessions.burst_over().await;
        tokio::time::sleep(RELEASE_DELAY).await;
        if sessions.counts().0 == 0 {
            release();
        }
    }
}

/// The metrics and health listener, unless `broker_http_port = -1`. It is optional: a taken
/// port costs the endpoint, with a warning, never the broker's start.
async fn bind_http(config: &BrokerConfig) -> Result<Option<TcpListener>, String> {
    let Some(addr) = config.http_listen_addr().map_err(|e| e.to_string())? else {
        tracing::info!("http server disabled (broker_http_port = -1)");
        return Ok(None);
    };
    match TcpListener::bind(addr).await {
        Ok(listener) => Ok(Some(listener)),
        Err(e) => {
            tracing::warn!(
                "http server not started: cannot listen on {addr}: {e}; set broker_http_port to a free port (-1 disables it)"
            );
            Ok(None)
        }
    }
}
