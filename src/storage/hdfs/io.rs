//! The threads HDFS data moves on, apart from the threads that answer calls.
//!
//! Reading a datanode stream is CPU work: every 64 KiB packet is received, zero-filled
//! first, checksummed (hdfs-native's table-driven CRC32C, about 0.6 ns a byte) and copied
//! into the pread's buffer. On the broker's runtime that work kept both workers busy while
//! one client streamed 8 MiB preads, and a ping queued behind it (p99 8-9 ms). Here it runs
//! on a runtime of its own, so the kernel shares the cores between both sets of threads as
//! it does between the Java broker's threads, and a small call finds a worker that is free.
//! hdfs-native spawns its packet readers and writers on this runtime
//! (`ClientBuilder::with_io_runtime`); [`run`] moves a whole fetch (the copies into the
//! pread's buffer) onto it too.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// Two threads: the two halves of a split fetch run at once (see `reader::fetch`).
const IO_THREADS: usize = 2;

static IO: OnceLock<Option<Runtime>> = OnceLock::new();

/// The HDFS runtime; if its threads cannot be started, the runtime this runs on.
pub(super) fn handle() -> Handle {
    let io = IO.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(IO_THREADS)
            .thread_name("hdfs-io")
            .enable_all()
            .build()
            .inspect_err(|e| tracing::warn!("HDFS I/O runs on the main runtime: {e}"))
            .ok()
    });
    match io {
        Some(runtime) => runtime.handle().clone(),
        None => Handle::current(),
    }
}

/// Runs `work` on the HDFS runtime and waits for it; `None` if it panicked. Dropping the
/// returned future (the pread's connection went away, its read-ahead was dropped) stops
/// the work.
pub(super) async fn run<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let mut task = AbortOnDrop(handle().spawn(work));
    (&mut task.0).await.ok()
}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
