//! One file per method group. A handler validates its request, calls the fd table, a
//! stream or a backend, and returns its reply or an [`RpcError`]; [`handle`] turns every
//! error into the method's failure reply through [`RpcError::status`], so every answer
//! carries every required field and is never an exception.

mod error;
mod list;
mod meta;
mod ping;
mod read;
mod write;

use std::sync::Arc;

pub use error::{Cause, NotOpen, RpcError};

use crate::audit::Audit;
use crate::config::BrokerConfig;
use crate::sessions::{FdId, Lookup, Sessions};
use crate::storage::{Backends, Location, Properties, Storage};
use crate::wire::generated::*;
use crate::wire::{Call, Method, Reply};

/// Everything a request may touch, shared by all connections.
pub struct Broker {
    pub config: BrokerConfig,
    /// Which calls get an audit record.
    pub audit: Audit,
    pub sessions: Arc<Sessions>,
    pub backends: Backends,
}

macro_rules! dispatch {
    ($($variant:ident $name:literal ($arg:ty) $reply:ident($response:ty) $group:ident $handler:path;)*) => {
        /// Runs one call to its reply.
        pub async fn handle(broker: &Broker, call: Call) -> Reply {
            let method = call.method();
            let result = match call {
                $(Call::$variant(request) => $handler(broker, request).await,)*
            };
            result.unwrap_or_else(|e| Reply::failure(method, e.status()))
        }
    };
}

crate::wire::method_table!(dispatch);

impl Broker {
    /// Parses a client path and finds the backend serving it.
    async fn open_fs(
        &self,
        path: &str,
        props: &Properties,
    ) -> Result<(Arc<dyn Storage>, Location), crate::storage::StorageError> {
        let loc = Location::parse(path)?;
        self.backends.resolve(&loc, props).await
    }

    /// Largest pread answer (`hdfs_read_buffer_size_kb`).
    fn read_cap(&self) -> usize {
        (self.config.hdfs_read_buffer_size_kb as usize).saturating_mul(1024)
    }

    /// The error for a call on an fd that is not open as the stream it needs.
    fn not_open(&self, doing: &str, fd: FdId, lookup: &Lookup) -> RpcError {
        let why = NotOpen::of(lookup, self.sessions.expire_after().as_secs());
        RpcError::new(doing, Cause::NotOpen { fd, why })
    }

    /// Refuses an open when the client or the broker holds as many fds as allowed.
    fn check_room(&self, method: Method, client: &str, path: &str) -> Result<(), RpcError> {
        self.sessions
            .check_room(client)
            .map_err(|reason| fd_limit(method, path, reason))
    }

    /// Answers a repeated close of an fd its client already closed with the first close's
    /// outcome (the first reply may have been lost). An expired or unknown fd, or one open
    /// as the other kind of stream, is an error.
    async fn replayed_close(
        &self,
        doing: &str,
        fd: FdId,
        lookup: Lookup,
    ) -> Result<Reply, RpcError> {
        let first = match lookup {
            Lookup::Gone(crate::sessions::Gone::Closing(mut outcome)) => {
                match outcome.wait_for(|o| o.is_some()).await {
                    Ok(o) => o.clone().unwrap_or(Ok(())),
                    Err(_) => Err(crate::streams::WriteError::Interrupted),
                }
            }
            Lookup::Gone(crate::sessions::Gone::Closed(outcome)) => {
                outcome.map_err(|e| (*e).clone())
            }
            other => return Err(self.not_open(doing, fd, &other)),
        };
        match first {
            Ok(()) => Ok(Reply::Status(error::ok())),
            Err(error) => Err(RpcError::new(doing, Cause::EarlierClose { fd, error })),
        }
    }
}

fn fd_limit(method: Method, path: &str, reason: String) -> RpcError {
    RpcError::new(
        method.name(),
        Cause::FdLimit {
            path: path.to_string(),
            reason,
        },
    )
}

fn fd_id(fd: &TBrokerFD) -> FdId {
    FdId {
        high: fd.high,
        low: fd.low,
    }
}

fn to_thrift_fd(fd: FdId) -> TBrokerFD {
    TBrokerFD::new(fd.high, fd.low)
}
