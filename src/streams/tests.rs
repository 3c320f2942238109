//! Unit tests of a reader's read-ahead: how many chunks are in flight, and what a pread
//! elsewhere does to them.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use super::Reader;
use crate::buffer::POOLED_MIN;
use crate::storage::{ReadBuf, ReadStream, Result};

const CHUNK: usize = POOLED_MIN;

/// The read-ahead places are the process's: these tests take turns, so one never finds
/// them taken by another running at the same time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A file of 16 chunks that records the offset of every read it is asked for.
struct Recording {
    depth: usize,
    reads: Arc<Mutex<Vec<u64>>>,
}

#[async_trait]
impl ReadStream for Recording {
    fn size(&self) -> u64 {
        16 * CHUNK as u64
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        self.reads.lock().unwrap().push(offset);
        let len = len.min((self.size() - offset) as usize);
        buf.push(Bytes::from(vec![(offset / CHUNK as u64) as u8; len]));
        Ok(len)
    }

    fn read_ahead_depth(&self) -> usize {
        self.depth
    }
}

/// One test's reader of a [`Recording`] file, holding the turn for as long as it lives.
struct Fixture {
    reader: Arc<Reader>,
    reads: Arc<Mutex<Vec<u64>>>,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Fixture {
    async fn start(depth: usize) -> Fixture {
        let turn = ONE_AT_A_TIME.lock().await;
        let reads = Arc::new(Mutex::new(Vec::new()));
        let stream = Recording {
            depth,
            reads: reads.clone(),
        };
        Fixture {
            reader: Reader::new("s3a://b/f".into(), Box::new(stream), 0),
            reads,
            _turn: turn,
        }
    }

    /// The chunks (by index) read so far, once `n` reads have happened.
    async fn chunks_read(&self, n: usize) -> Vec<u64> {
        for _ in 0..1000 {
            if self.reads.lock().unwrap().len() >= n {
                break;
            }
            tokio::task::yield_now().await;
        }
        let reads = self.reads.lock().unwrap();
        reads.iter().map(|offset| offset / CHUNK as u64).collect()
    }

    /// Preads chunk `index` whole (checking its bytes are that chunk's), then checks the
    /// reads the store has been asked for so far, in order: on demand and ahead.
    async fn pread_then_reads(&self, index: u64, all: &[u64]) {
        let data = self
            .reader
            .pread(index * CHUNK as u64, CHUNK)
            .await
            .unwrap_or_else(|e| panic!("pread of chunk {index}: {:?}", e.error));
        assert_eq!(data.len(), CHUNK);
        let mut first = [0u8];
        bytes::Buf::copy_to_slice(&mut data.parts(), &mut first);
        assert_eq!(u64::from(first[0]), index, "the bytes of chunk {index}");
        assert_eq!(
            self.chunks_read(all.len()).await,
            all,
            "after chunk {index}"
        );
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.reader.close();
    }
}

#[tokio::test]
async fn depth_two_keeps_two_chunks_in_flight_and_reads_none_twice() {
    let file = Fixture::start(2).await;
    file.pread_then_reads(0, &[0, 1, 2]).await;
    // Chunk 1 comes from what was read ahead; only chunk 3 is new.
    file.pread_then_reads(1, &[0, 1, 2, 3]).await;
    file.pread_then_reads(2, &[0, 1, 2, 3, 4]).await;
}

#[tokio::test]
async fn depth_one_reads_the_next_chunk_only() {
    let file = Fixture::start(1).await;
    file.pread_then_reads(0, &[0, 1]).await;
    file.pread_then_reads(1, &[0, 1, 2]).await;
}

#[tokio::test]
async fn a_pread_elsewhere_drops_what_was_read_ahead() {
    let file = Fixture::start(2).await;
    file.pread_then_reads(0, &[0, 1, 2]).await;
    // A jump: chunk 9 is read on demand, and 10 and 11 ahead of it.
    file.pread_then_reads(9, &[0, 1, 2, 9, 10, 11]).await;
    // Back to chunk 1: what was read ahead before the jump is gone, so it is read again.
    file.pread_then_reads(1, &[0, 1, 2, 9, 10, 11, 1, 2, 3])
        .await;
}

#[tokio::test]
async fn nothing_is_read_ahead_past_the_end() {
    let file = Fixture::start(2).await;
    file.pread_then_reads(14, &[14, 15]).await;
    file.pread_then_reads(15, &[14, 15]).await;
    // Waiting for a third read gives a wrongly started one every chance to show up.
    assert_eq!(file.chunks_read(3).await, [14, 15]);
}
