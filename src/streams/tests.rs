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

fn reader(depth: usize) -> (Arc<Reader>, Arc<Mutex<Vec<u64>>>) {
    let reads = Arc::new(Mutex::new(Vec::new()));
    let stream = Recording {
        depth,
        reads: reads.clone(),
    };
    (Reader::new("s3a://b/f".into(), Box::new(stream), 0), reads)
}

/// The chunks (by index) read so far, once `n` reads have happened.
async fn chunks_read(reads: &Mutex<Vec<u64>>, n: usize) -> Vec<u64> {
    for _ in 0..1000 {
        if reads.lock().unwrap().len() >= n {
            break;
        }
        tokio::task::yield_now().await;
    }
    let reads = reads.lock().unwrap();
    reads.iter().map(|offset| offset / CHUNK as u64).collect()
}

/// Preads chunk `index` whole (checking its bytes are that chunk's), then checks the reads
/// the store has been asked for so far, in order: on demand and ahead.
async fn pread_then_reads(reader: &Arc<Reader>, reads: &Mutex<Vec<u64>>, index: u64, all: &[u64]) {
    let data = reader
        .pread(index * CHUNK as u64, CHUNK)
        .await
        .unwrap_or_else(|e| panic!("pread of chunk {index}: {:?}", e.error));
    assert_eq!(data.len(), CHUNK);
    let mut first = [0u8];
    bytes::Buf::copy_to_slice(&mut data.parts(), &mut first);
    assert_eq!(u64::from(first[0]), index, "the bytes of chunk {index}");
    assert_eq!(
        chunks_read(reads, all.len()).await,
        all,
        "after chunk {index}"
    );
}

#[tokio::test]
async fn depth_two_keeps_two_chunks_in_flight_and_reads_none_twice() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (reader, reads) = reader(2);
    pread_then_reads(&reader, &reads, 0, &[0, 1, 2]).await;
    // Chunk 1 comes from what was read ahead; only chunk 3 is new.
    pread_then_reads(&reader, &reads, 1, &[0, 1, 2, 3]).await;
    pread_then_reads(&reader, &reads, 2, &[0, 1, 2, 3, 4]).await;
    reader.close();
}

#[tokio::test]
async fn depth_one_reads_the_next_chunk_only() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (reader, reads) = reader(1);
    pread_then_reads(&reader, &reads, 0, &[0, 1]).await;
    pread_then_reads(&reader, &reads, 1, &[0, 1, 2]).await;
    reader.close();
}

#[tokio::test]
async fn a_pread_elsewhere_drops_what_was_read_ahead() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (reader, reads) = reader(2);
    pread_then_reads(&reader, &reads, 0, &[0, 1, 2]).await;
    // A jump: chunk 9 is read on demand, and 10 and 11 ahead of it.
    pread_then_reads(&reader, &reads, 9, &[0, 1, 2, 9, 10, 11]).await;
    // Back to chunk 1: what was read ahead before the jump is gone, so it is read again.
    pread_then_reads(&reader, &reads, 1, &[0, 1, 2, 9, 10, 11, 1, 2, 3]).await;
    reader.close();
}

#[tokio::test]
async fn nothing_is_read_ahead_past_the_end() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (reader, reads) = reader(2);
    pread_then_reads(&reader, &reads, 14, &[14, 15]).await;
    // Waiting for a third read gives a wrongly started one every chance to show up.
    pread_then_reads(&reader, &reads, 15, &[14, 15]).await;
    let all = chunks_read(&reads, 3).await;
    assert_eq!(all, [14, 15]);
    reader.close();
}
