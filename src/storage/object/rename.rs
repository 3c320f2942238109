//! Renames: copy + delete, of one key or of every key under a prefix. A prefix rename
//! copies everything first and deletes the source only when all copies succeeded; a
//! failed copy phase is rolled back, and any failure says what moved.

use opendal::{ErrorKind, Operator};

use super::error::{describe_error, is_missing};
use super::storage::{key_of, prefix_of, ObjectStorage};
use crate::storage::{Location, Result, Storage, StorageError};

/// Copies of a prefix rename in flight at once.
const COPY_CONCURRENCY: usize = 8;

/// Keys named in a message about a partial rename.
const KEYS_SHOWN: usize = 5;

impl ObjectStorage {
    /// Moves the key or the prefix `src` to `dst`, which must not exist.
    pub(super) async fn move_path(&self, src: &Location, dst: &Location) -> Result<()> {
        let what = || format!("{src} -> {dst}");
        if dst.path().starts_with(&format!("{}/", src.path())) || src.is_root() {
            return Err(StorageError::Io {
                path: what(),
                message: "cannot move a path below itself".into(),
            });
        }
        if self.stat(dst).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                path: dst.to_string(),
            });
        }
        let (src_key, dst_key) = (key_of(src), key_of(dst));
        if self.hierarchical {
            // A file or a whole directory, atomically: one rename call.
            return self
                .op
                .rename(src_key, dst_key)
                .await
                .map_err(|e| match is_missing(&e) {
                    true => StorageError::NotFound {
                        path: src.to_string(),
                    },
                    false => self.error(what(), e),
                });
        }
        if self
            .head(src_key)
            .await
            .map_err(|e| self.error(src, e))?
            .is_none()
        {
            return self.rename_prefix(src, dst).await;
        }
        self.op
            .copy(src_key, dst_key)
            .await
            .map_err(|e| self.error(what(), e))?;
        self.op.delete(src_key).await.map_err(|e| StorageError::Io {
            path: what(),
            message: format!(
                "copied to {dst}, but deleting {src} failed: {}; the object is in both places now",
                describe_error(&e)
            ),
        })
    }

    async fn copy_key(op: &Operator, from: &str, to: &str) -> opendal::Result<()> {
        if from.ends_with('/') {
            // A directory marker: an empty object opendal only writes as a directory.
            op.create_dir(to).await
        } else {
            op.copy(from, to).await.map(|_| ())
        }
    }

    /// Copies every `(from, to)` pair, [`COPY_CONCURRENCY`] at a time. Stops at the
    /// first failure; returns the destinations written and that failure.
    async fn copy_all(
        &self,
        pairs: &[(String, String)],
    ) -> (Vec<String>, Option<(String, opendal::Error)>) {
        let mut done = Vec::new();
        let mut failure = None;
        let mut tasks = tokio::task::JoinSet::new();
        let mut next = pairs.iter();
        loop {
            while failure.is_none() && tasks.len() < COPY_CONCURRENCY {
                let Some((from, to)) = next.next() else { break };
                let (op, from, to) = (self.op.clone(), from.clone(), to.clone());
                tasks.spawn(async move {
                    let result = Self::copy_key(&op, &from, &to).await;
                    (from, to, result)
                });
            }
            let Some(joined) = tasks.join_next().await else {
                break;
            };
            match joined {
                Ok((_, to, Ok(()))) => done.push(to),
                Ok((from, _, Err(e))) => {
                    failure.get_or_insert((from, e));
                }
                Err(e) => {
                    failure.get_or_insert((
                        String::new(),
                        opendal::Error::new(ErrorKind::Unexpected, format!("copy task: {e}")),
                    ));
                }
            }
        }
        (done, failure)
    }

    /// Rename of every key under `src/` to the same key under `dst/`.
    async fn rename_prefix(&self, src: &Location, dst: &Location) -> Result<()> {
        let (src_prefix, dst_prefix) = (prefix_of(src), prefix_of(dst));
        let keys = self
            .keys_under(&src_prefix)
            .await
            .map_err(|e| self.error(src, e))?;
        if keys.is_empty() {
            return Err(StorageError::NotFound {
                path: src.to_string(),
            });
        }
        let pairs: Vec<(String, String)> = keys
            .iter()
            .map(|k| (k.clone(), format!("{dst_prefix}{}", &k[src_prefix.len()..])))
            .collect();
        let what = format!("{src} -> {dst}");
        let (copied, failure) = self.copy_all(&pairs).await;
        if let Some((key, err)) = failure {
            // Nothing was deleted yet: take the copies back so the source stays whole.
            let cause = self.error(format!("copying {key}"), err);
            let rollback = self.delete_keys(&dst_prefix, &copied).await;
            let message = match rollback {
                Ok(()) => format!(
                    "{cause}; nothing was moved ({} of {} objects had been copied and were removed again)",
                    copied.len(),
                    keys.len()
                ),
                Err(e) => format!(
                    "{cause}; the source is whole, but {} copies under {dst} could not be removed again ({}): {}",
                    copied.len(),
                    describe_error(&e),
                    shown(&copied)
                ),
            };
            return Err(StorageError::Io {
                path: what,
                message,
            });
        }
        if let Err(e) = self.delete_keys(&src_prefix, &keys).await {
            return Err(StorageError::Io {
                path: what,
                message: format!(
                    "all {} objects were copied to {dst}, but deleting them from {src} failed: {}; \
                     they are in both places now (e.g. {})",
                    keys.len(),
                    describe_error(&e),
                    shown(&keys)
                ),
            });
        }
        Ok(())
    }
}

/// The first few keys of a list, for a message.
fn shown(keys: &[String]) -> String {
    let mut s = keys
        .iter()
        .take(KEYS_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > KEYS_SHOWN {
        s.push_str(&format!(" and {} more", keys.len() - KEYS_SHOWN));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_keys_are_bounded() {
        let keys: Vec<String> = (0..8).map(|i| format!("k{i}")).collect();
        assert_eq!(shown(&keys[..2]), "k0, k1");
        assert_eq!(shown(&keys), "k0, k1, k2, k3, k4 and 3 more");
    }
}
