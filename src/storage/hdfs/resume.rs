//! Riding out `NotReplicatedYetException`: the namenode allocates no new block while the
//! one before the last is not yet reported stored by any datanode (their block reports
//! lag behind a busy namenode). Hadoop's client retries that addBlock with backoff;
//! hdfs-native 0.14 returns the error, and its writer is lost with it: it has already
//! closed the previous block and dropped what it needed to commit it. So the write is
//! taken up again from what the cluster holds: lease recovery commits and closes the
//! temporary file (every byte of the closed block is on the datanodes), an append opens
//! it again, and the bytes of the refused call past the recovered length are written
//! again. The recovered length must lie within the refused call's bytes, so nothing is
//! lost or written twice; otherwise the write fails.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use hdfs_native::file::FileWriter;
use hdfs_native::{Client, HdfsError};
use tokio::time::{sleep, Instant};

use super::error::{is_access_refusal, is_not_replicated_yet};

/// Refused blocks one write call rides out (Hadoop's
/// `dfs.client.block.write.locateFollowingBlock.retries` is 5).
const MAX_REFUSALS: u32 = 5;
/// How long each step (lease recovery, reopening) may take: recovery waits for a
/// datanode heartbeat, and for the block reports the namenode was waiting for.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The first pause between tries (Hadoop's addBlock retries start at 400 ms), doubling up
/// to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(400);
const MAX_PAUSE: Duration = Duration::from_secs(4);

/// Writes `data`, the bytes after the first `written` of the temporary file `temp`,
/// through `writer`, resuming the write when the namenode refuses a new block: `writer`
/// is then another one (or none, when the file could not be reopened).
pub(super) async fn write_resuming(
    client: &Client,
    temp: &str,
    writer: &mut Option<FileWriter>,
    written: u64,
    data: Bytes,
) -> Result<(), HdfsError> {
    let mut rest = data.clone();
    let mut refusals = 0;
    loop {
        let Some(current) = writer.as_mut() else {
            return Err(HdfsError::OperationFailed(format!("{temp} is not open")));
        };
        match current.write_bytes(rest).await {
            Ok(_) => return Ok(()),
            Err(e) if is_not_replicated_yet(&e) && refusals < MAX_REFUSALS => {
                tracing::warn!(
                    "{temp}: the namenode refused a new block ({e}); recovering the file to resume the write"
                );
            }
            Err(e) => return Err(e),
        }
        refusals += 1;
        // Dropped first: its lease renewal ends with it (the new writer's would go too).
        *writer = None;
        *writer = Some(reopen(client, temp).await?);
        let length = client.get_file_info(temp).await?.length as u64;
        let end = written + data.len() as u64;
        if length < written || length > end {
            return Err(HdfsError::OperationFailed(format!(
                "cannot resume the write of {temp}: the cluster holds {length} bytes, expected {written} to {end}"
            )));
        }
        rest = data.slice((length - written) as usize..);
    }
}

/// Recovers the lease of `temp` (which commits its last block and closes it) and opens it
/// again for appending.
async fn reopen(client: &Client, temp: &str) -> Result<FileWriter, HdfsError> {
    retry(|| async {
        match client.recover_lease(temp).await? {
            true => Ok(()),
            false => Err(HdfsError::OperationFailed(format!(
                "lease recovery of {temp} did not finish in {STEP_TIMEOUT:?}"
            ))),
        }
    })
    .await?;
    // The namenode refuses an append while the last block is short of replicas.
    retry(|| client.append(temp)).await
}

/// Runs `step` until it succeeds, pausing with backoff, for up to [`STEP_TIMEOUT`]; the
/// last error then.
async fn retry<T, F: Future<Output = Result<T, HdfsError>>>(
    mut step: impl FnMut() -> F,
) -> Result<T, HdfsError> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    let mut pause = FIRST_PAUSE;
    loop {
        match step().await {
            Ok(value) => return Ok(value),
            Err(e) if is_access_refusal(&e) || Instant::now() + pause > deadline => return Err(e),
            Err(_) => {
                sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
        }
    }
}
