//! Writers: `openWriter`, `pwrite`, `closeWriter`. The sequential-write rules live in
//! [`Writer`]; these handlers find it, call it and name the fd in any failure.

use super::{error, fd_id, to_thrift_fd, Broker, Cause, RpcError};
use crate::sessions::Lookup;
use crate::streams::Stream;
use crate::streams::Writer;
use crate::wire::generated::{
    TBrokerCloseWriterRequest, TBrokerOpenWriterRequest, TBrokerOpenWriterResponse,
};
use crate::wire::{Method, PwriteRequest, Reply};

/// Creates the file (and missing parents), replacing an existing one on commit.
/// `openMode` is always APPEND and means nothing.
pub async fn open_writer(
    broker: &Broker,
    req: TBrokerOpenWriterRequest,
) -> Result<Reply, RpcError> {
    broker.sessions.touch(&req.client_id);
    broker.check_room(Method::OpenWriter, &req.client_id, &req.path)?;
    let created = async {
        let (fs, loc) = broker.open_fs(&req.path, &req.properties).await?;
        fs.create(&loc).await.map(|stream| (stream, loc))
    };
    let (stream, loc) = created
        .await
        .map_err(|e| RpcError::storage("openWriter", e))?;
    let writer = Writer::new(loc.to_string(), stream, broker.config.max_writer_buffer_mb);
    match broker
        .sessions
        .insert(&req.client_id, Stream::Writer(writer.clone()))
    {
        Ok(fd) => {
            tracing::debug!(%fd, client = %req.client_id, path = %req.path, "opened writer");
            Ok(Reply::OpenWriter(TBrokerOpenWriterResponse::new(
                error::ok(),
                Some(to_thrift_fd(fd)),
            )))
        }
        // Another open of the same client won the last place meanwhile.
        Err(refused) => {
            if let Err(e) = writer.abort().await {
                tracing::warn!(path = %writer.path(), "abort of a refused writer failed: {e}");
            }
            Err(super::fd_limit(
                Method::OpenWriter,
                &req.path,
                refused.reason,
            ))
        }
    }
}

pub async fn pwrite(broker: &Broker, req: PwriteRequest) -> Result<Reply, RpcError> {
    let fd = fd_id(&req.fd);
    let writer = match broker.sessions.get(fd) {
        Lookup::Open(Stream::Writer(writer)) => writer,
        other => return Err(broker.not_open("pwrite", fd, &other)),
    };
    match writer.pwrite(req.offset, req.data).await {
        Ok(()) => Ok(Reply::Status(error::ok())),
        Err(error) => Err(write_failed("pwrite", fd, &writer, error)),
    }
}

/// Commits: the data is durable and visible when this answers OK, and any failure to get
/// there is reported. Closing again an fd its client already closed answers the same.
pub async fn close_writer(
    broker: &Broker,
    req: TBrokerCloseWriterRequest,
) -> Result<Reply, RpcError> {
    let fd = fd_id(&req.fd);
    let (writer, outcome) = match broker.sessions.remove_writer(fd) {
        Ok(taken) => taken,
        Err(lookup) => return broker.replayed_close("closeWriter", fd, lookup).await,
    };
    let result = writer.commit().await;
    outcome.finish(result.clone());
    match result {
        Ok(()) => Ok(Reply::Status(error::ok())),
        Err(error) => Err(write_failed("closeWriter", fd, &writer, error)),
    }
}

fn write_failed(
    doing: &str,
    fd: crate::sessions::FdId,
    writer: &Writer,
    error: crate::streams::WriteError,
) -> RpcError {
    let path = writer.path().to_string();
    RpcError::new(doing, Cause::Write { fd, path, error })
}
