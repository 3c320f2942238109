//! Readers: `openReader`, `pread`, `seek`, `closeReader`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{fd_id, status, to_thrift_fd, Broker};
use crate::buffer::ReadBuf;
use crate::read_ahead::ReadAhead;
use crate::sessions::{Lookup, ReaderSlot, Stream};
use crate::storage::read_full;
use crate::wire::generated::{
    TBrokerCloseReaderRequest, TBrokerOpenReaderRequest, TBrokerOpenReaderResponse,
    TBrokerOperationStatusCode as Code, TBrokerPReadRequest, TBrokerSeekRequest,
};
use crate::wire::{Method, Reply};

/// A missing file (or a directory) is FILE_NOT_FOUND.
pub async fn open_reader(broker: &Broker, req: TBrokerOpenReaderRequest) -> Reply {
    broker.sessions.touch(&req.client_id);
    let refused = |why| broker.open_refused(Method::OpenReader, &req.path, why);
    if let Err(why) = broker.sessions.check_room(&req.client_id) {
        return refused(why);
    }
    let opened = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.open_read(&loc).await.map(|stream| (stream, loc))
    }
    .await;
    let (stream, loc) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            return Reply::failure(
                Method::OpenReader,
                status::from_error("openReader", &req.path, &e),
            )
        }
    };
    let size = stream.size() as i64;
    let slot = ReaderSlot {
        path: loc.to_string(),
        stream,
        position: AtomicU64::new(req.start_offset.max(0) as u64),
        ahead: Default::default(),
    };
    match broker
        .sessions
        .insert(&req.client_id, Stream::Reader(Arc::new(slot)))
    {
        Ok(fd) => {
            tracing::debug!(%fd, client = %req.client_id, path = %req.path, "opened reader");
            Reply::OpenReader(TBrokerOpenReaderResponse::new(
                status::ok(),
                Some(to_thrift_fd(fd)),
                Some(size),
            ))
        }
        // Another open of the same client won the last place meanwhile.
        Err(refusal) => refused(refusal.reason),
    }
}

/// Positional: reads at `offset` whatever the stream position. Returns
/// `min(length, cap)` bytes, fewer only at end of file; at or past EOF, OK + empty.
pub async fn pread(broker: &Broker, req: TBrokerPReadRequest) -> Reply {
    let fd = fd_id(&req.fd);
    let fail = |code, msg: String| Reply::failure(Method::Pread, status::status(code, msg));
    if req.offset < 0 {
        return fail(
            Code::INVALID_INPUT_OFFSET,
            format!("pread failed: fd {fd}: negative offset {}", req.offset),
        );
    }
    if req.length <= 0 {
        return fail(
            Code::INVALID_ARGUMENT,
            format!(
                "pread failed: fd {fd}: length {} must be positive",
                req.length
            ),
        );
    }
    let reader = match broker.sessions.get(fd) {
        Lookup::Open(Stream::Reader(reader)) => reader,
        other => return Reply::failure(Method::Pread, broker.not_open("pread", fd, &other)),
    };
    let offset = req.offset as u64;
    let want = (req.length as u64).min(broker.read_cap() as u64) as usize;
    // Read ahead by the last pread of a sequential reader, or pooled for large reads: no
    // 8 MiB allocation per call; the reply is written from it.
    let mut data = match reader.ahead.take(offset, want).await {
        Some(ready) => ready,
        None => ReadBuf::for_read(want),
    };
    if let Err((at, e)) = read_full(&*reader.stream, offset, want, &mut data).await {
        let operation = format!("pread at offset {at} of fd {fd}");
        return Reply::failure(
            Method::Pread,
            status::from_error(&operation, &reader.path, &e),
        );
    }
    reader
        .position
        .store(offset + data.len() as u64, Ordering::Relaxed);
    if data.len() == want {
        ReadAhead::start(&reader, offset + want as u64, want);
    }
    crate::metrics::read_bytes(&reader.path, data.len());
    Reply::Data(data)
}

/// Clients never call it; it moves the position and answers OK.
pub fn seek(broker: &Broker, req: TBrokerSeekRequest) -> Reply {
    let fd = fd_id(&req.fd);
    if req.offset < 0 {
        return Reply::Status(status::status(
            Code::INVALID_INPUT_OFFSET,
            format!("seek failed: fd {fd}: negative offset {}", req.offset),
        ));
    }
    match broker.sessions.get(fd) {
        Lookup::Open(Stream::Reader(reader)) => {
            reader.position.store(req.offset as u64, Ordering::Relaxed);
            Reply::Status(status::ok())
        }
        other => Reply::Status(broker.not_open("seek", fd, &other)),
    }
}

/// OK; closing again an fd its client already closed is OK too.
pub async fn close_reader(broker: &Broker, req: TBrokerCloseReaderRequest) -> Reply {
    let fd = fd_id(&req.fd);
    Reply::Status(match broker.sessions.remove_reader(fd) {
        Ok((reader, outcome)) => {
            reader.ahead.cancel();
            outcome.finish(Ok(()));
            status::ok()
        }
        Err(lookup) => broker.replayed_close("closeReader", fd, lookup).await,
    })
}
