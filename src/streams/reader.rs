//! An open reader: its store stream, its position and the chunks it reads ahead.
//!
//! Read-ahead: a BE reads a file with back-to-back 8 MiB preads and asks for the next
//! chunk only once the last byte of the previous answer has arrived. Without read-ahead
//! the socket sits idle while each chunk is read from the store (about a millisecond from
//! the page cache, far more from HDFS or S3). So after a full-length large pread, the
//! reader starts reading the chunk that follows on its own task; the next pread at
//! exactly that offset and length takes it instead of reading. A store reached by one
//! HTTP request per range (object stores, WebHDFS) keeps two chunks in flight
//! ([`ReadStream::read_ahead_depth`]): one request's latency then overlaps the other's
//! transfer, where one chunk ahead would leave the store idle between them.
//!
//! Bounded: at most [`MAX_AHEAD`] chunks are read ahead in the whole process (a reader
//! that finds none free just reads on demand), and only after a large pread that was not
//! short. Only a full-length chunk is ever used: a short one (end of file at the time it
//! was read) is read again on demand, so a file that grew meanwhile is answered as it is
//! now. A failed read-ahead is dropped and the pread reads (and reports) on its own.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::JoinHandle;

use crate::buffer::{ReadBuf, POOLED_MIN};
use crate::metrics::{self, Label};
use crate::storage::{self, ReadStream, StorageError};

/// Chunks read ahead at once in the process (each up to `hdfs_read_buffer_size_kb`).
pub const MAX_AHEAD: usize = 8;

static AHEAD: AtomicUsize = AtomicUsize::new(0);

/// An open reader. Reads are positional and shared, so no lock is held while one runs.
pub struct Reader {
    path: String,
    scheme: Label,
    stream: Box<dyn ReadStream>,
    /// Only `seek` moves it; clients send the offset with every pread.
    position: AtomicU64,
    /// The chunks read ahead, in file order, each following the one before.
    ahead: Mutex<VecDeque<Pending>>,
}

/// A pread that failed, at the offset the store refused.
#[derive(Debug)]
pub struct ReadFailure {
    pub at: u64,
    pub error: StorageError,
}

impl Reader {
    /// `path` is the stream's fully qualified path (messages, the metrics' scheme).
    pub fn new(path: String, stream: Box<dyn ReadStream>, start_offset: u64) -> Arc<Reader> {
        Arc::new(Reader {
            scheme: storage::scheme_label(&path),
            path,
            stream,
            position: AtomicU64::new(start_offset),
            ahead: Mutex::new(VecDeque::new()),
        })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The file's length when it was opened.
    pub fn size(&self) -> u64 {
        self.stream.size()
    }

    /// `len` bytes at `offset`, fewer only at the end of the file; at or past it, none.
    /// Large answers come from the pool (or the chunk read ahead): no allocation per call.
    pub async fn pread(self: &Arc<Self>, offset: u64, len: usize) -> Result<ReadBuf, ReadFailure> {
        let mut data = match self.take_ahead(offset, len).await {
            Some(ready) => ready,
            None => ReadBuf::for_read(len),
        };
        storage::read_full(&*self.stream, offset, len, &mut data)
            .await
            .map_err(|(at, error)| ReadFailure { at, error })?;
        self.position
            .store(offset + data.len() as u64, Ordering::Relaxed);
        if data.len() == len && self.read_ahead(offset + len as u64, len) {
            // tokio runs a task spawned from a worker next on that same worker (its LIFO
            // slot, which no other worker steals), so the read ahead would start only once
            // this task stops to wait: after most of the reply (8 MiB) is written, in series
            // with every pread (measured: 1.5-2 ms of each 12 ms S3 pread). One yield lets
            // it send its request first; the reply then goes out while the store works.
            tokio::task::yield_now().await;
        }
        metrics::read_bytes(self.scheme, data.len());
        Ok(data)
    }

    /// Moves the position (clients never need it: every pread names its offset).
    pub fn seek(&self, offset: u64) {
        self.position.store(offset, Ordering::Relaxed);
    }

    /// Stops any read ahead: the reader was closed or reaped.
    pub fn close(&self) {
        for pending in self.lock_ahead().drain(..) {
            pending.task.abort();
        }
    }

    fn lock_ahead(&self) -> MutexGuard<'_, VecDeque<Pending>> {
        self.ahead.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The chunk read ahead at `offset`, if it is exactly the `len` bytes asked for and
    /// was read whole. A pread anywhere else drops everything read ahead.
    async fn take_ahead(&self, offset: u64, len: usize) -> Option<ReadBuf> {
        let pending = {
            let mut ahead = self.lock_ahead();
            let first = ahead.front()?;
            if first.offset != offset || first.len != len {
                for pending in ahead.drain(..) {
                    pending.task.abort();
                }
                return None;
            }
            ahead.pop_front()?
        };
        let data = pending.task.await.ok()?;
        (data.len() == len).then_some(data)
    }

    /// Starts reading the `len`-byte chunks from `next` on, each on a task of its own, until
    /// the store's depth is read ahead, unless a large read is not worth it or every
    /// read-ahead place is taken; whether one started.
    fn read_ahead(self: &Arc<Self>, next: u64, len: usize) -> bool {
        if len < POOLED_MIN {
            return false;
        }
        let depth = self.stream.read_ahead_depth();
        let mut ahead = self.lock_ahead();
        // What is still pending follows `next`, chunk by chunk: continue after it.
        let mut offset = ahead
            .back()
            .map_or(next, |last| last.offset + last.len as u64);
        let mut started = false;
        // Past the size seen at open is most likely the end: read that on demand.
        while ahead.len() < depth && offset < self.size() {
            let Some(slot) = AheadSlot::acquire() else {
                break;
            };
            let reader = self.clone();
            let task = tokio::spawn(async move {
                let mut data = ReadBuf::for_read(len);
                // A failure leaves the chunk short: the pread reads it again and reports it.
                let _ = storage::read_full(&*reader.stream, offset, len, &mut data).await;
                data
            });
            ahead.push_back(Pending {
                offset,
                len,
                task,
                _slot: slot,
            });
            offset += len as u64;
            started = true;
        }
        started
    }
}

struct Pending {
    offset: u64,
    len: usize,
    task: JoinHandle<ReadBuf>,
    _slot: AheadSlot,
}

/// One of the [`MAX_AHEAD`] places, given back when the chunk is taken or dropped.
struct AheadSlot;

impl AheadSlot {
    fn acquire() -> Option<AheadSlot> {
        AHEAD
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < MAX_AHEAD).then_some(n + 1)
            })
            .ok()
            .map(|_| AheadSlot)
    }
}

impl Drop for AheadSlot {
    fn drop(&mut self) {
        AHEAD.fetch_sub(1, Ordering::AcqRel);
    }
}
