//! One file per method group: each turns a request into storage and fd-table calls and
//! always answers with a response carrying every required field, never an exception.

mod list;
mod meta;
mod ping;
mod read;
pub mod status;
mod write;

use std::sync::Arc;

use crate::audit::Audit;
use crate::config::BrokerConfig;
use crate::sessions::{FdId, FdLimits, Gone, Lookup, Sessions, Stream};
use crate::storage::{Backends, Location, Properties, Storage, StorageError};
use crate::wire::generated::{
    TBrokerFD, TBrokerOperationStatus, TBrokerOperationStatusCode as Code,
};
use crate::wire::{Call, Method, Reply};

/// Everything a request may touch, shared by all connections.
pub struct Broker {
    pub config: BrokerConfig,
    /// Which calls get an audit record.
    pub audit: Audit,
    pub sessions: Arc<Sessions>,
    pub backends: Backends,
}

impl Broker {
    /// `conf_dir` is where the broker's conf lives; Hadoop XML files are read from it.
    pub fn new(config: BrokerConfig, conf_dir: Option<&std::path::Path>) -> Self {
        let expiry = config.client_expire();
        let (audit, unknown) = Audit::new(&config.audit_log_modules);
        for module in unknown {
            tracing::warn!(
                "audit_log_modules: unknown module '{module}' (known: list, read, write, meta, ping, all)"
            );
        }
        Broker {
            audit,
            sessions: Arc::new(Sessions::new(expiry).with_limits(FdLimits {
                per_client: config.max_open_fds_per_client,
                total: config.max_open_fds,
            })),
            backends: Backends::new(
                conf_dir,
                expiry,
                std::time::Duration::from_secs(config.kerberos_token_expire_seconds),
            ),
            config,
        }
    }

    /// Parses a client path and finds the backend serving it.
    async fn open_fs(
        &self,
        path: &str,
        props: &Properties,
    ) -> Result<(Arc<dyn Storage>, Location), StorageError> {
        let loc = Location::parse(path)?;
        self.backends.resolve(&loc, props).await
    }

    /// Largest pread answer (`hdfs_read_buffer_size_kb`).
    fn read_cap(&self) -> usize {
        (self.config.hdfs_read_buffer_size_kb as usize).saturating_mul(1024)
    }
}

/// Runs one call to its reply.
pub async fn handle(broker: &Broker, call: Call) -> Reply {
    match call {
        Call::ListPath(r) => list::list_path(broker, r).await,
        Call::ListLocatedFiles(r) => list::list_located_files(broker, r).await,
        Call::DeletePath(r) => meta::delete_path(broker, r).await,
        Call::RenamePath(r) => meta::rename_path(broker, r).await,
        Call::CheckPathExist(r) => meta::check_path_exist(broker, r).await,
        Call::FileSize(r) => meta::file_size(broker, r).await,
        Call::IsSplittable(r) => meta::is_splittable(r),
        Call::OpenReader(r) => read::open_reader(broker, r).await,
        Call::Pread(r) => read::pread(broker, r).await,
        Call::Seek(r) => read::seek(broker, r),
        Call::CloseReader(r) => read::close_reader(broker, r).await,
        Call::OpenWriter(r) => write::open_writer(broker, r).await,
        Call::Pwrite(r) => write::pwrite(broker, r).await,
        Call::CloseWriter(r) => write::close_writer(broker, r).await,
        Call::Ping(r) => ping::ping(broker, r),
    }
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

impl Broker {
    /// The answer for a call on an fd that is not open: expired, closed, never issued, or
    /// open as the other kind of stream.
    fn not_open(&self, operation: &str, fd: FdId, lookup: &Lookup) -> TBrokerOperationStatus {
        let why = match lookup {
            Lookup::Gone(Gone::Expired { client }) => format!(
                "fd {fd} expired: client {client} was idle for more than {} s, so its streams were closed (writers aborted, nothing committed)",
                self.sessions.expire_after().as_secs(),
            ),
            Lookup::Gone(Gone::Closing(_) | Gone::Closed(_)) => {
                format!("fd {fd} is already closed")
            }
            Lookup::Open(Stream::Reader(_)) => format!("fd {fd} is a reader, not a writer"),
            Lookup::Open(Stream::Writer(_)) => format!("fd {fd} is a writer, not a reader"),
            Lookup::Unknown => format!("fd {fd} was not issued by this broker"),
        };
        status::status(
            Code::TARGET_STORAGE_SERVICE_ERROR,
            format!("{operation} failed: {why}"),
        )
    }

    /// The answer for an open refused by the fd limits (nothing was opened).
    fn open_refused(&self, method: Method, path: &str, why: String) -> Reply {
        let status = status::status(
            Code::TARGET_STORAGE_SERVICE_ERROR,
            format!("{} failed: {path}: {why}", method.name()),
        );
        Reply::failure(method, status)
    }

    /// Answers a repeated close of an fd its client already closed with the first close's
    /// outcome (the first reply may have been lost). An expired or unknown fd, or one open
    /// as the other kind of stream, is an error.
    async fn replayed_close(
        &self,
        operation: &str,
        fd: FdId,
        lookup: Lookup,
    ) -> TBrokerOperationStatus {
        let first = match lookup {
            Lookup::Gone(Gone::Closing(mut outcome)) => {
                match outcome.wait_for(|o| o.is_some()).await {
                    Ok(o) => o.clone().unwrap_or(Ok(())),
                    Err(_) => Err("the close was interrupted".to_string()),
                }
            }
            Lookup::Gone(Gone::Closed(outcome)) => outcome.map_err(|e| e.to_string()),
            other => return self.not_open(operation, fd, &other),
        };
        match first {
            Ok(()) => status::ok(),
            Err(e) => status::status(
                Code::TARGET_STORAGE_SERVICE_ERROR,
                format!("{operation} failed: fd {fd}: {e}"),
            ),
        }
    }
}
