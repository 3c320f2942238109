//! Readers: `openReader`, `pread`, `seek`, `closeReader`.

use super::{error, fd_id, to_thrift_fd, Broker, Cause, RpcError};
use crate::sessions::Lookup;
use crate::streams::Reader;
use crate::streams::Stream;
use crate::wire::generated::{
    TBrokerCloseReaderRequest, TBrokerOpenReaderRequest, TBrokerOpenReaderResponse,
    TBrokerPReadRequest, TBrokerSeekRequest,
};
use crate::wire::{Method, Reply};

/// A missing file (or a directory) is FILE_NOT_FOUND.
pub async fn open_reader(
    broker: &Broker,
    req: TBrokerOpenReaderRequest,
) -> Result<Reply, RpcError> {
    broker.sessions.touch(&req.client_id);
    broker.check_room(Method::OpenReader, &req.client_id, &req.path)?;
    let opened = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.open_read(&loc).await.map(|stream| (stream, loc))
    };
    let (stream, loc) = opened
        .await
        .map_err(|e| RpcError::storage("openReader", e))?;
    let reader = Reader::new(loc.to_string(), stream, req.start_offset.max(0) as u64);
    let size = reader.size() as i64;
    // Another open of the same client may have won the last place meanwhile.
    let fd = broker
        .sessions
        .insert(&req.client_id, Stream::Reader(reader))
        .map_err(|refused| super::fd_limit(Method::OpenReader, &req.path, refused.reason))?;
    tracing::debug!(%fd, client = %req.client_id, path = %req.path, "opened reader");
    Ok(Reply::OpenReader(TBrokerOpenReaderResponse::new(
        error::ok(),
        Some(to_thrift_fd(fd)),
        Some(size),
    )))
}

/// Positional: reads at `offset` whatever the stream position. Returns
/// `min(length, cap)` bytes, fewer only at end of file; at or past EOF, and for length 0,
/// OK + empty.
pub async fn pread(broker: &Broker, req: TBrokerPReadRequest) -> Result<Reply, RpcError> {
    let fd = fd_id(&req.fd);
    if req.offset < 0 {
        let cause = Cause::NegativeOffset {
            fd,
            offset: req.offset,
        };
        return Err(RpcError::new("pread", cause));
    }
    if req.length < 0 {
        let cause = Cause::NegativeLength {
            fd,
            length: req.length,
        };
        return Err(RpcError::new("pread", cause));
    }
    let reader = match broker.sessions.get(fd) {
        Lookup::Open(Stream::Reader(reader)) => reader,
        other => return Err(broker.not_open("pread", fd, &other)),
    };
    let len = (req.length as u64).min(broker.read_cap() as u64) as usize;
    let data = reader
        .pread(req.offset as u64, len)
        .await
        .map_err(|failure| RpcError::read(fd, failure))?;
    Ok(Reply::Data(data))
}

/// Clients never call it; it moves the position and answers OK.
pub async fn seek(broker: &Broker, req: TBrokerSeekRequest) -> Result<Reply, RpcError> {
    let fd = fd_id(&req.fd);
    if req.offset < 0 {
        let cause = Cause::NegativeOffset {
            fd,
            offset: req.offset,
        };
        return Err(RpcError::new("seek", cause));
    }
    match broker.sessions.get(fd) {
        Lookup::Open(Stream::Reader(reader)) => {
            reader.seek(req.offset as u64);
            Ok(Reply::Status(error::ok()))
        }
        other => Err(broker.not_open("seek", fd, &other)),
    }
}

/// OK; closing again an fd its client already closed is OK too.
pub async fn close_reader(
    broker: &Broker,
    req: TBrokerCloseReaderRequest,
) -> Result<Reply, RpcError> {
    let fd = fd_id(&req.fd);
    match broker.sessions.remove_reader(fd) {
        Ok((reader, outcome)) => {
            reader.close();
            outcome.finish(Ok(()));
            Ok(Reply::Status(error::ok()))
        }
        Err(lookup) => broker.replayed_close("closeReader", fd, lookup).await,
    }
}
