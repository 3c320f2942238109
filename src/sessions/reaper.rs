//! The reaper: closes the streams of clients that went quiet for longer than the expiry.

use std::sync::Arc;
use std::time::Duration;

// tokio's clock, so expiry runs on a paused clock in tests.
use tokio::time::Instant;

use super::Sessions;
use crate::metrics;
use crate::streams::Stream;

/// Closes the streams of idle clients until the process ends. Sleeps while no fd is open,
/// so an idle broker does no work at all.
pub async fn run_reaper(sessions: Arc<Sessions>) {
    let period = reaper_period(sessions.expire_after());
    loop {
        if sessions.counts().0 == 0 {
            sessions.fd_opened().await;
        }
        tokio::time::sleep(period).await;
        for (fd, client, stream) in sessions.take_expired(Instant::now()) {
            metrics::fd_reaped(stream.is_writer());
            match stream {
                Stream::Reader(reader) => {
                    reader.close();
                    tracing::info!(%fd, %client, path = %reader.path(), "reaped reader of idle client");
                }
                Stream::Writer(writer) => {
                    tracing::warn!(%fd, %client, path = %writer.path(), "aborting writer of idle client");
                    // Each abort on its own task: one stuck store never holds up the rest.
                    tokio::spawn(async move {
                        if let Err(e) = writer.abort().await {
                            tracing::warn!(%fd, path = %writer.path(), "abort failed: {e}");
                        }
                    });
                }
            }
        }
    }
}

/// `max(1 s, min(60 s, expiry / 2))`, as SEMANTICS.md asks.
pub fn reaper_period(expire_after: Duration) -> Duration {
    (expire_after / 2).clamp(Duration::from_secs(1), Duration::from_secs(60))
}
