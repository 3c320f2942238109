//! Writers: `openWriter`, `pwrite`, `closeWriter`.
//!
//! Writes are strictly sequential. A replay of the last write is acknowledged without
//! writing again (FE retries a pwrite after a timeout); any other offset is refused with
//! both offsets named. A failed write poisons the fd: the partial file is aborted and
//! every later call, closeWriter included, reports the failure, so nothing is lost silently.

use std::sync::Arc;

use super::{fd_id, status, to_thrift_fd, Broker};
use crate::sessions::{Lookup, Stream, WriterSlot};
use crate::wire::generated::{
    TBrokerCloseWriterRequest, TBrokerOpenWriterRequest, TBrokerOpenWriterResponse,
    TBrokerOperationStatus, TBrokerOperationStatusCode as Code, TBrokerPWriteRequest,
};
use crate::wire::{Method, Reply};

/// Creates the file (and missing parents), replacing an existing one on commit.
/// `openMode` is always APPEND and means nothing.
pub async fn open_writer(broker: &Broker, req: TBrokerOpenWriterRequest) -> Reply {
    broker.sessions.touch(&req.client_id);
    let refused = |why| broker.open_refused(Method::OpenWriter, &req.path, why);
    if let Err(why) = broker.sessions.check_room(&req.client_id) {
        return refused(why);
    }
    let created = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.create(&loc).await.map(|stream| (stream, loc))
    }
    .await;
    let (stream, loc) = match created {
        Ok(created) => created,
        Err(e) => {
            return Reply::failure(
                Method::OpenWriter,
                status::from_error("openWriter", &req.path, &e),
            )
        }
    };
    let slot = Arc::new(WriterSlot::new(loc.to_string(), stream));
    match broker
        .sessions
        .insert(&req.client_id, Stream::Writer(slot.clone()))
    {
        Ok(fd) => {
            tracing::debug!(%fd, client = %req.client_id, path = %req.path, "opened writer");
            Reply::OpenWriter(TBrokerOpenWriterResponse::new(
                status::ok(),
                Some(to_thrift_fd(fd)),
            ))
        }
        // Another open of the same client won the last place meanwhile.
        Err(refusal) => {
            if let Err(e) = crate::sessions::abort_writer(&slot).await {
                tracing::warn!(path = %slot.path, "abort of a refused writer failed: {e}");
            }
            refused(refusal.reason)
        }
    }
}

pub async fn pwrite(broker: &Broker, req: TBrokerPWriteRequest) -> Reply {
    let fd = fd_id(&req.fd);
    let writer = match broker.sessions.get(fd) {
        Lookup::Open(Stream::Writer(writer)) => writer,
        other => return Reply::Status(broker.not_open("pwrite", fd, &other)),
    };
    let fail = |code, why: String| {
        Reply::Status(status::status(
            code,
            format!("pwrite failed: fd {fd} ({}): {why}", writer.path),
        ))
    };
    // Counted before waiting for the writer's lock: pwrites racing on one fd (replays from
    // several connections) must not pile up unbounded data behind a slow store.
    let limit = broker.config.max_writer_buffer_mb.saturating_mul(1 << 20);
    let Some(_held) = writer.hold(req.data.len(), limit) else {
        let why = if req.data.len() > limit {
            format!(
                "{} bytes in one pwrite is more than max_writer_buffer_mb = {} allows; send smaller chunks",
                req.data.len(),
                broker.config.max_writer_buffer_mb
            )
        } else {
            format!(
                "other pwrites on this fd already hold {} bytes (max_writer_buffer_mb = {}); send one pwrite at a time",
                writer.buffered.load(std::sync::atomic::Ordering::Acquire),
                broker.config.max_writer_buffer_mb
            )
        };
        return fail(Code::INVALID_ARGUMENT, why);
    };
    let mut state = writer.state.lock().await;
    if let Some(failure) = &state.failure {
        return fail(Code::TARGET_STORAGE_SERVICE_ERROR, failure.clone());
    }
    let len = req.data.len() as u64;
    if req.offset < 0 || req.offset as u64 != state.written {
        let replay = len > 0
            && len == state.last_len
            && req.offset >= 0
            && req.offset as u64 + len == state.written;
        if replay {
            return Reply::Status(status::ok());
        }
        return fail(
            Code::INVALID_INPUT_OFFSET,
            format!(
                "offset {} is not the end of the data written so far ({} bytes)",
                req.offset, state.written
            ),
        );
    }
    if len == 0 {
        return Reply::Status(status::ok());
    }
    let Some(stream) = state.stream.as_mut() else {
        return fail(
            Code::TARGET_STORAGE_SERVICE_ERROR,
            "the writer is closed".into(),
        );
    };
    match stream.write(req.data).await {
        Ok(()) => {
            state.written += len;
            state.last_len = len;
            crate::metrics::written_bytes(&writer.path, len as usize);
            Reply::Status(status::ok())
        }
        Err(e) => {
            crate::metrics::storage_error(&writer.path, &e);
            let why = format!("write at offset {} failed: {e}", req.offset);
            state.failure = Some(why.clone());
            if let Some(stream) = state.stream.take() {
                if let Err(abort) = stream.abort().await {
                    crate::metrics::storage_error(&writer.path, &abort);
                    tracing::warn!(%fd, path = %writer.path, "abort after failed write: {abort}");
                }
            }
            fail(Code::TARGET_STORAGE_SERVICE_ERROR, why)
        }
    }
}

/// Commits: the data is durable and visible when this answers OK, and any failure to get
/// there is reported. Closing again an fd its client already closed answers the same.
pub async fn close_writer(broker: &Broker, req: TBrokerCloseWriterRequest) -> Reply {
    let fd = fd_id(&req.fd);
    let (writer, outcome) = match broker.sessions.remove_writer(fd) {
        Ok(taken) => taken,
        Err(lookup) => {
            return Reply::Status(broker.replayed_close("closeWriter", fd, lookup).await)
        }
    };
    let result = commit(&writer).await;
    outcome.finish(result.clone());
    Reply::Status(match result {
        Ok(()) => status::ok(),
        Err(why) => failed_close(fd, &writer.path, why),
    })
}

async fn commit(writer: &WriterSlot) -> Result<(), String> {
    let mut state = writer.state.lock().await;
    if let Some(failure) = &state.failure {
        return Err(failure.clone());
    }
    match state.stream.take() {
        Some(stream) => stream.commit().await.map_err(|e| {
            crate::metrics::storage_error(&writer.path, &e);
            e.to_string()
        }),
        None => Err("the writer was already ended".into()),
    }
}

fn failed_close(fd: crate::sessions::FdId, path: &str, why: String) -> TBrokerOperationStatus {
    status::status(
        Code::TARGET_STORAGE_SERVICE_ERROR,
        format!("closeWriter failed: fd {fd} ({path}): {why}"),
    )
}
