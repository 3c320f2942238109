//! The accept loop and one task per connection.
//!
//! [`run`] accepts up to `max_connections` at once (more wait in the kernel's backlog)
//! and serves each on its own task: read a call from the [`Connection`], run it through
//! `rpc`, record it (metrics, audit), send the reply, repeat. Shutdown: stop accepting,
//! let calls in flight finish (bounded), abort open writers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::allowlist::Allowlist;
use crate::audit;
use crate::buffer::ReadBuf;
use crate::connection::Connection;
use crate::failure_log;
use crate::metrics;
use crate::rpc::{self, Broker, Cause, RpcError};
use crate::status;
use crate::streams::Stream;
use crate::wire::{self, Incoming, Method, Reply};

/// Serves `listener` until `shutdown` resolves, then drains and aborts open writers.
/// Peers `allow` refuses are closed before a byte is read.
pub async fn run(
    listener: TcpListener,
    broker: Arc<Broker>,
    allow: Allowlist,
    shutdown: impl Future,
) {
    let limit = Arc::new(Semaphore::new(broker.config.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone; recv() yields None once all have ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    tokio::select! {
        _ = accept_loop(&listener, &broker, &allow, &limit, &stop_rx, &done_tx) => {}
        _ = shutdown => tracing::info!("shutting down: no new connections"),
    }
    drop(listener);
    stop_tx.send_replace(true);
    drop(done_tx);

    let grace = Duration::from_secs(broker.config.shutdown_timeout_seconds);
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        tracing::warn!("calls still running after {grace:?}; stopping anyway");
    }
    abort_all_writers(&broker).await;
}

async fn accept_loop(
    listener: &TcpListener,
    broker: &Arc<Broker>,
    allow: &Allowlist,
    limit: &Arc<Semaphore>,
    stop: &watch::Receiver<bool>,
    done: &mpsc::Sender<()>,
) {
    loop {
        // Past the limit, new connections wait in the kernel's backlog.
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let (socket, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of fds or a reset during accept: back off briefly, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !allow.admit(peer) {
            continue;
        }
        let _ = socket.set_nodelay(true);
        let connection = Connection::new(
            socket,
            peer,
            broker.config.max_message_size_bytes,
            Duration::from_secs(broker.config.message_read_timeout_seconds),
        );
        let broker = broker.clone();
        let stop = stop.clone();
        let done = done.clone();
        let counted = metrics::connection_opened();
        tokio::spawn(async move {
            serve(connection, &broker, stop).await;
            drop(counted);
            drop(permit);
            drop(done);
        });
    }
}

/// Answers calls on one connection until it is over (see [`Connection::read_call`]).
async fn serve(mut connection: Connection, broker: &Broker, mut stop: watch::Receiver<bool>) {
    while let Some(incoming) = connection.read_call(&mut stop).await {
        let peer = connection.peer();
        let data = answer(incoming, peer, broker, connection.output()).await;
        if connection.send(data).await.is_err() {
            return;
        }
    }
}

/// Runs one decoded message and encodes its reply into `out`. A successful pread's data
/// is returned instead of encoded: the connection sends it after `out`.
async fn answer(
    incoming: Incoming,
    peer: SocketAddr,
    broker: &Broker,
    out: &mut Vec<u8>,
) -> Option<ReadBuf> {
    let started = Instant::now();
    match incoming {
        Incoming::Call { seq, call } => {
            let method = call.method();
            // Taken before the call runs, for the audit record and the failure line; an
            // fd's path is looked up only where a line needs it (a close removes it).
            let mut record = audit::describe(&call);
            let audited = broker.audit.wants(method);
            if audited {
                record.resolve_fd(&broker.sessions);
            }
            let reply = rpc::handle(broker, call).await;
            if reply.status_code() != 0 {
                record.resolve_fd(&broker.sessions);
                failure_log::record(peer, method, &record, &reply, started.elapsed());
            }
            if audited {
                audit::emit(peer, method, record, &reply, started.elapsed());
            }
            tracing::debug!(%peer, method = method.name(), status = reply.status_code(), elapsed_us = started.elapsed().as_micros() as u64, "call");
            finish(out, method, seq, reply, started)
        }
        Incoming::BadArgs { seq, method, error } => {
            tracing::warn!(%peer, method = method.name(), "malformed request: {error}");
            let error = RpcError::new(method.name(), Cause::Malformed(error));
            finish(
                out,
                method,
                seq,
                Reply::failure(method, error.status()),
                started,
            )
        }
        Incoming::UnknownMethod { seq, name } => {
            tracing::info!(%peer, method = %name, "unknown method");
            wire::encode_exception(out, &name, seq, wire::unknown_method(&name));
            metrics::rpc(
                Method::UNKNOWN_LABEL,
                status::UNKNOWN_METHOD,
                started.elapsed(),
            );
            None
        }
    }
}

/// Encodes `reply`, counts the call, and hands back a pread's data to send after it.
fn finish(
    out: &mut Vec<u8>,
    method: Method,
    seq: i32,
    reply: Reply,
    started: Instant,
) -> Option<ReadBuf> {
    wire::encode_reply(out, method, seq, &reply);
    let status = status::Status::label_of_code(reply.status_code());
    metrics::rpc(method.label(), status, started.elapsed());
    match reply {
        Reply::Data(data) => Some(data),
        _ => None,
    }
}

/// Writers still open at shutdown are aborted, never committed half-written.
async fn abort_all_writers(broker: &Broker) {
    let writers: Vec<_> = broker
        .sessions
        .take_all()
        .into_iter()
        .filter_map(|(fd, s)| match s {
            Stream::Writer(w) => Some((fd, w)),
            Stream::Reader(_) => None,
        })
        .collect();
    if writers.is_empty() {
        return;
    }
    tracing::warn!("aborting {} open writer(s) at shutdown", writers.len());
    let mut aborts = tokio::task::JoinSet::new();
    for (fd, writer) in writers {
        aborts.spawn(async move {
            if let Err(e) = writer.abort().await {
                tracing::warn!(%fd, path = %writer.path(), "abort at shutdown failed: {e}");
            }
        });
    }
    // Bounded: a stuck store must not keep the process alive forever.
    let all = async { while aborts.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
}
