//! The accept loop and one task per connection.
//!
//! A connection reads bytes until [`FrameScanner`] has one whole message, runs it, writes
//! the reply and waits for the next; clients pool connections and send one call at a time.
//! An idle connection holds no read buffer, so thousands of pooled connections cost little.
//! Shutdown: stop accepting, let calls in flight finish (bounded), abort open writers.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

use crate::audit;
use crate::buffer::ReadBuf;
use crate::metrics;
use crate::rpc::{self, Broker};
use crate::sessions::{abort_writer, Stream};
use crate::wire::frame::FrameScanner;
use crate::wire::generated::TBrokerOperationStatusCode as Code;
use crate::wire::{self, Incoming, Reply};

/// Buffers larger than this are released after their message instead of kept for the next.
const KEEP_BUFFER: usize = 64 * 1024;

/// Serves `listener` until `shutdown` resolves, then drains and aborts open writers.
pub async fn run(listener: TcpListener, broker: Arc<Broker>, shutdown: impl Future) {
    let limit = Arc::new(Semaphore::new(broker.config.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone; recv() yields None once all have ended.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    metrics::set_serving();
    tokio::select! {
        _ = accept_loop(&listener, &broker, &limit, &stop_rx, &done_tx) => {}
        _ = shutdown => tracing::info!("shutting down: no new connections"),
    }
    metrics::set_stopping();
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
        let _ = socket.set_nodelay(true);
        let broker = broker.clone();
        let stop = stop.clone();
        let done = done.clone();
        let counted = metrics::connection_opened();
        tokio::spawn(async move {
            serve_connection(socket, peer, &broker, stop).await;
            drop(counted);
            drop(permit);
            drop(done);
        });
    }
}

/// Answers calls on one connection until the peer closes it, sends something that is not
/// our protocol, stalls mid-message, or the broker shuts down between two calls.
async fn serve_connection(
    mut socket: TcpStream,
    peer: SocketAddr,
    broker: &Broker,
    mut stop: watch::Receiver<bool>,
) {
    let max = broker.config.max_message_size_bytes;
    let mut scanner = FrameScanner::new(max);
    let mut input = BytesMut::new();
    let mut output = Vec::new();
    let mut calls = 0u64;
    // How long the connection may sit in the middle of a message. Between messages there is
    // no limit: clients keep pooled connections idle for long.
    let stall_limit = Duration::from_secs(broker.config.message_read_timeout_seconds);
    loop {
        // Run every whole message already buffered (clients may pipeline).
        loop {
            match scanner.scan(&input) {
                Ok(Some(len)) => {
                    let incoming = wire::decode(&input[..len]);
                    input.advance(len);
                    scanner.reset();
                    let incoming = match incoming {
                        Ok(incoming) => incoming,
                        Err(e) => {
                            tracing::warn!(%peer, "dropping connection: undecodable message ({e})");
                            return;
                        }
                    };
                    let data = answer(incoming, peer, broker, &mut output).await;
                    calls += 1;
                    if write_reply(&mut socket, &output, data.as_ref())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    // The pread buffer goes back to its pool only once its bytes were sent.
                    drop(data);
                    if output.capacity() > KEEP_BUFFER {
                        output = Vec::new();
                    } else {
                        output.clear();
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(%peer, "dropping connection: not a valid Thrift message ({e})");
                    return;
                }
            }
        }
        if input.is_empty() && input.capacity() > KEEP_BUFFER {
            input = BytesMut::new();
        }
        let want = scanner.wanted().unwrap_or(0).max(input.len() + 1);
        input.reserve((want - input.len()).clamp(4096, max));
        if *stop.borrow() {
            return;
        }
        // Between calls a client may stay silent as long as it likes (pooled connections);
        // in the middle of a message it must keep sending. Shutdown ends either wait: a
        // call that has not fully arrived is not in flight.
        let limit = if input.is_empty() {
            Duration::MAX
        } else {
            stall_limit
        };
        let read = tokio::select! {
            r = tokio::time::timeout(limit, socket.read_buf(&mut input)) => match r {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(%peer, "dropping connection: stalled in the middle of a message");
                    return;
                }
            },
            _ = stop.changed() => return,
        };
        match read {
            Ok(0) | Err(_) => {
                if calls == 0 && input.is_empty() {
                    // A TCP health probe: normal, and not worth more than debug.
                    tracing::debug!(%peer, "connection closed without a call");
                } else if !input.is_empty() {
                    tracing::debug!(%peer, "connection closed mid-message");
                }
                return;
            }
            Ok(_) => {}
        }
    }
}

/// Writes an encoded reply; a pread's data follows the header straight from the buffer it
/// was read into (one vectored write sequence, never copied into `head`), then its trailer.
async fn write_reply(
    socket: &mut TcpStream,
    head: &[u8],
    data: Option<&ReadBuf>,
) -> std::io::Result<()> {
    match data {
        None => socket.write_all(head).await,
        Some(data) => {
            let mut parts = Buf::chain(Buf::chain(head, data.filled()), wire::DATA_TRAILER);
            socket.write_all_buf(&mut parts).await
        }
    }
}

/// Runs one decoded message and encodes its reply into `out`. A successful pread's data
/// is returned instead of encoded: [`write_reply`] sends it after `out`.
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
            let record = broker
                .audit
                .wants(method)
                .then(|| audit::describe(&call, &broker.sessions));
            let reply = rpc::handle(broker, call).await;
            if let Some(record) = record {
                audit::emit(peer, method, record, &reply, started.elapsed());
            }
            tracing::debug!(%peer, method = method.name(), status = reply.status_code(), elapsed_us = started.elapsed().as_micros() as u64, "call");
            wire::encode_reply(out, method, seq, &reply);
            metrics::rpc(method, reply.status_code(), started.elapsed());
            match reply {
                Reply::Data(data) => Some(data),
                _ => None,
            }
        }
        Incoming::BadArgs { seq, method, error } => {
            tracing::warn!(%peer, method = method.name(), "malformed request: {error}");
            let status = rpc::status::status(
                Code::INVALID_ARGUMENT,
                format!("{} failed: malformed request: {error}", method.name()),
            );
            wire::encode_reply(out, method, seq, &Reply::failure(method, status));
            metrics::rpc(method, Code::INVALID_ARGUMENT.0, started.elapsed());
            None
        }
        Incoming::UnknownMethod { seq, name } => {
            tracing::info!(%peer, method = %name, "unknown method");
            wire::encode_exception(out, &name, seq, wire::unknown_method(&name));
            metrics::rpc_unknown_method(started.elapsed());
            None
        }
    }
}

/// Writers still open at shutdown are aborted, never committed half-written.
async fn abort_all_writers(broker: &Broker) {
    let streams = broker.sessions.take_all();
    let writers: Vec<_> = streams
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
            if let Err(e) = abort_writer(&writer).await {
                tracing::warn!(%fd, path = %writer.path, "abort at shutdown failed: {e}");
            }
        });
    }
    // Bounded: a stuck store must not keep the process alive forever.
    let all = async { while aborts.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(10), all).await;
}
