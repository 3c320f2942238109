//! Read-ahead for sequential readers: while one pread's answer goes out, the next chunk is
//! already being read.
//!
//! A BE reads a file with back-to-back 8 MiB preads and asks for the next chunk only once
//! the last byte of the previous answer has arrived. Without read-ahead the socket sits
//! idle while each chunk is read from the store (about a millisecond from the page cache,
//! far more from HDFS or S3). So after a full-length large pread, the reader starts reading
//! the chunk that follows on its own task; the next pread at exactly that offset and length
//! takes it instead of reading.
//!
//! Bounded: at most [`MAX_AHEAD`] chunks are read ahead in the whole process (a reader that
//! finds none free just reads on demand), and only after a large pread that was not short.
//! Only a full-length chunk is ever used: a short one (end of file at the time it was
//! read) is read again on demand, so a file that grew meanwhile is answered as it is now.
//! A failed read-ahead is dropped and the pread reads (and reports) on its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

use crate::buffer::{ReadBuf, POOLED_MIN};
use crate::sessions::ReaderSlot;
use crate::storage::read_full;

/// Chunks read ahead at once in the process (each up to `hdfs_read_buffer_size_kb`).
pub const MAX_AHEAD: usize = 4;

static AHEAD: AtomicUsize = AtomicUsize::new(0);

/// The chunk one reader is reading ahead, if any.
#[derive(Default)]
pub struct ReadAhead {
    pending: Mutex<Option<Pending>>,
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

impl ReadAhead {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The chunk read ahead at `offset`, if it is exactly the `len` bytes asked for and
    /// was read whole. Anything else read ahead is dropped.
    pub async fn take(&self, offset: u64, len: usize) -> Option<ReadBuf> {
        let pending = self.lock().take()?;
        if pending.offset != offset || pending.len != len {
            pending.task.abort();
            return None;
        }
        let data = pending.task.await.ok()?;
        (data.len() == len).then_some(data)
    }

    /// Starts reading `len` bytes at `offset` of `reader` on a task of its own, unless a
    /// large read is not worth it or every read-ahead place is taken.
    pub fn start(reader: &Arc<ReaderSlot>, offset: u64, len: usize) {
        // Past the size seen at open is most likely the end: read that on demand.
        if len < POOLED_MIN || offset >= reader.stream.size() {
            return;
        }
        let Some(slot) = AheadSlot::acquire() else {
            return;
        };
        let task_reader = reader.clone();
        let task = tokio::spawn(async move {
            let mut data = ReadBuf::for_read(len);
            // A failure leaves the chunk short: the pread reads it again and reports it.
            let _ = read_full(&*task_reader.stream, offset, len, &mut data).await;
            data
        });
        let previous = reader.ahead.lock().replace(Pending {
            offset,
            len,
            task,
            _slot: slot,
        });
        if let Some(previous) = previous {
            previous.task.abort();
        }
    }

    /// Stops any read ahead (the reader is closed or reaped).
    pub fn cancel(&self) {
        if let Some(pending) = self.lock().take() {
            pending.task.abort();
        }
    }
}
