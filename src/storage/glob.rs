//! Hadoop `globStatus` (stub, being written).
use super::{FileStatus, Location, Result, Storage};

pub async fn glob_status(fs: &dyn Storage, pattern: &Location) -> Result<Vec<FileStatus>> {
    Ok(fs.stat(pattern).await?.into_iter().collect())
}
