//! The buffers `pread` answers are read into, reused instead of allocated per call.
//!
//! A BE reads with 8 MiB preads. A fresh 8 MiB allocation per call costs an `mmap`, 2,048
//! page faults that zero every page, and a `munmap` - more CPU than copying the data out of
//! the page cache. So large buffers come from a small process-wide pool and go back to it
//! when the reply has been written; a buffer keeps the bytes it once initialised, so reuse
//! never zeroes it again. The data goes from the store into this buffer and from it to
//! the socket (`server` writes the reply header, then these bytes): one copy in user space.
//! A store whose client already holds the data in its own buffers (an HTTP body's chunks)
//! hands those over instead ([`ReadBuf::push`]): they are sent as they are, not copied.
//! So a `ReadBuf` takes its buffer only when a store first reads into it: one filled only
//! with handed-over buffers never touches the pool.
//!
//! The pool keeps at most [`MAX_POOLED`] buffers: enough for the reads two cores run at
//! once; more concurrent preads allocate, and their buffers are freed afterwards, so a
//! burst does not pin memory. Its lock guards a `Vec` push or pop only, never I/O.

use std::io::IoSlice;
use std::sync::Mutex;

use bytes::{Buf, Bytes};

/// Reads smaller than this get an exact, unpooled allocation (cheap at that size).
pub const POOLED_MIN: usize = 256 * 1024;

/// Free buffers kept for reuse (each up to `hdfs_read_buffer_size_kb`, 8 MiB by default).
pub const MAX_POOLED: usize = 4;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Bytes read for one `pread`: `parts()` is the answer. Its buffer returns to the pool on
/// drop.
#[derive(Default)]
pub struct ReadBuf {
    /// `len()` is how far the bytes were ever initialised (kept across reuse). Empty, with
    /// no capacity, until a store first reads in place ([`unfilled`](Self::unfilled)).
    bytes: Vec<u8>,
    filled: usize,
    /// The length of the whole read: what the buffer is taken for.
    read_len: usize,
    /// Buffers a store handed over, after the filled part of `bytes` (in order).
    handed: Vec<Bytes>,
    handed_len: usize,
}

impl ReadBuf {
    /// A buffer for a read of up to `len` bytes: pooled when large, exact when small,
    /// taken when a store first reads into it (no allocation or pool access before).
    pub fn for_read(len: usize) -> ReadBuf {
        ReadBuf {
            bytes: Vec::new(),
            filled: 0,
            read_len: len,
            handed: Vec::new(),
            handed_len: 0,
        }
    }

    /// Gives `bytes` its buffer for the read, on the first read in place.
    fn take_buffer(&mut self, wanted: usize) {
        let len = self.read_len.max(wanted);
        if len >= POOLED_MIN {
            let reused = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
            if let Some(bytes) = reused {
                self.bytes = bytes;
                return;
            }
        }
        self.bytes = Vec::with_capacity(len);
    }

    /// What has been read so far, as a [`Buf`] over its parts (for a vectored write).
    pub fn parts(&self) -> Parts<'_> {
        Parts {
            first: &self.bytes[..self.filled],
            rest: &self.handed,
            offset: 0,
            remaining: self.len(),
        }
    }

    pub fn len(&self) -> usize {
        self.filled + self.handed_len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `len` bytes after the filled part, for a store to read into; then call
    /// [`advance`](Self::advance) with how many it wrote. Only bytes never initialised
    /// before are zeroed, so a reused buffer costs nothing here.
    pub fn unfilled(&mut self, len: usize) -> &mut [u8] {
        if self.bytes.capacity() == 0 {
            self.take_buffer(self.handed_len + len);
        }
        if !self.handed.is_empty() {
            // No store fills both ways today; one that did must not reorder its bytes.
            for part in std::mem::take(&mut self.handed) {
                self.extend_from_slice(&part);
            }
            self.handed_len = 0;
        }
        let end = self.filled + len;
        if self.bytes.len() < end {
            self.bytes.resize(end, 0);
        }
        &mut self.bytes[self.filled..end]
    }

    /// Marks `n` more bytes (written through [`unfilled`](Self::unfilled)) as read.
    pub fn advance(&mut self, n: usize) {
        assert!(
            self.filled + n <= self.bytes.len(),
            "advance past the unfilled part"
        );
        self.filled += n;
    }

    /// Appends a copy of `data`.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.unfilled(data.len()).copy_from_slice(data);
        self.filled += data.len();
    }

    /// Appends a buffer the store's client filled, without copying it: it is sent as is.
    pub fn push(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.handed_len += data.len();
            self.handed.push(data);
        }
    }
}

/// A [`ReadBuf`]'s bytes in order, as a [`Buf`]: the filled part, then each handed-over
/// buffer. Hand-written because `bytes` offers no `Buf` over a list of borrowed parts.
pub struct Parts<'a> {
    first: &'a [u8],
    rest: &'a [Bytes],
    /// How far into `rest[0]` has been consumed (once `first` is).
    offset: usize,
    remaining: usize,
}

impl Buf for Parts<'_> {
    fn remaining(&self) -> usize {
        self.remaining
    }

    fn chunk(&self) -> &[u8] {
        if !self.first.is_empty() {
            return self.first;
        }
        self.rest.first().map_or(&[], |b| &b[self.offset..])
    }

    fn advance(&mut self, mut cnt: usize) {
        assert!(cnt <= self.remaining, "advance past the end of a ReadBuf");
        self.remaining -= cnt;
        let from_first = cnt.min(self.first.len());
        self.first = &self.first[from_first..];
        cnt -= from_first;
        while cnt > 0 {
            let left = self.rest[0].len() - self.offset;
            if cnt < left {
                self.offset += cnt;
                return;
            }
            cnt -= left;
            self.rest = &self.rest[1..];
            self.offset = 0;
        }
    }

    fn chunks_vectored<'b>(&'b self, dst: &mut [IoSlice<'b>]) -> usize {
        let mut n = 0;
        if !self.first.is_empty() && n < dst.len() {
            dst[n] = IoSlice::new(self.first);
            n += 1;
        }
        for (i, part) in self.rest.iter().enumerate() {
            if n == dst.len() {
                break;
            }
            let from = if i == 0 { self.offset } else { 0 };
            if from < part.len() {
                dst[n] = IoSlice::new(&part[from..]);
                n += 1;
            }
        }
        n
    }
}

impl std::fmt::Debug for ReadBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReadBuf({} bytes)", self.len())
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        if self.bytes.capacity() < POOLED_MIN {
            return;
        }
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < MAX_POOLED {
            pool.push(std::mem::take(&mut self.bytes));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(buf: &ReadBuf) -> Vec<u8> {
        buf.parts().copy_to_bytes(buf.len()).to_vec()
    }

    #[test]
    fn reads_append_and_reused_buffers_start_empty() {
        let mut buf = ReadBuf::for_read(POOLED_MIN);
        buf.unfilled(3).copy_from_slice(b"abc");
        buf.advance(3);
        buf.extend_from_slice(b"de");
        assert_eq!(contents(&buf), b"abcde");
        drop(buf);
        // Whatever buffer comes back (this one or another test's), it holds no answer yet.
        let mut again = ReadBuf::for_read(POOLED_MIN);
        assert!(again.is_empty());
        assert_eq!(again.unfilled(4).len(), 4);
        assert_eq!(contents(&again), b"");
    }

    #[test]
    fn handed_over_buffers_follow_the_filled_part_uncopied() {
        let mut buf = ReadBuf::for_read(16);
        buf.extend_from_slice(b"ab");
        let handed = Bytes::from_static(b"cdef");
        buf.push(handed.clone());
        buf.push(Bytes::new());
        buf.push(Bytes::from_static(b"gh"));
        assert_eq!(buf.len(), 8);
        let mut slices = [IoSlice::new(&[]); 4];
        let whole = buf.parts();
        assert_eq!(whole.chunks_vectored(&mut slices), 3);
        assert_eq!(
            slices[1].as_ptr(),
            handed.as_ptr(),
            "sent from the store's buffer"
        );
        let mut parts = buf.parts();
        // Consumed piece by piece across the parts' edges, as a partial write does.
        let mut seen = Vec::new();
        for step in [1, 2, 4, 1] {
            seen.extend_from_slice(&parts.chunk()[..step.min(parts.chunk().len())]);
            let n = step.min(parts.chunk().len());
            parts.advance(n);
        }
        while parts.has_remaining() {
            let n = parts.chunk().len();
            seen.extend_from_slice(parts.chunk());
            parts.advance(n);
        }
        assert_eq!(seen, b"abcdefgh");
        let mut none = [IoSlice::new(&[]); 4];
        assert_eq!(parts.chunks_vectored(&mut none), 0);
    }

    #[test]
    fn a_buffer_is_taken_only_when_a_store_reads_in_place() {
        let mut handed_only = ReadBuf::for_read(POOLED_MIN);
        handed_only.push(Bytes::from_static(b"abc"));
        assert_eq!(
            handed_only.bytes.capacity(),
            0,
            "no buffer taken for a hand-over"
        );
        assert_eq!(contents(&handed_only), b"abc");
        // The first read in place takes a buffer for the whole read, however little it
        // reads (pooled buffers are all at least POOLED_MIN).
        let mut in_place = ReadBuf::for_read(POOLED_MIN);
        assert_eq!(in_place.bytes.capacity(), 0);
        in_place.extend_from_slice(b"de");
        assert!(in_place.bytes.capacity() >= POOLED_MIN);
        let mut small = ReadBuf::for_read(16);
        small.extend_from_slice(b"fg");
        assert!((16..POOLED_MIN).contains(&small.bytes.capacity()));
        assert_eq!(contents(&small), b"fg");
    }

    #[test]
    fn reading_in_place_after_a_hand_over_keeps_the_order() {
        let mut buf = ReadBuf::for_read(16);
        buf.push(Bytes::from_static(b"abc"));
        buf.unfilled(2).copy_from_slice(b"de");
        buf.advance(2);
        assert_eq!(contents(&buf), b"abcde");
    }

    #[test]
    #[should_panic(expected = "advance past")]
    fn advancing_past_what_was_offered_panics() {
        let mut buf = ReadBuf::for_read(16);
        buf.unfilled(2);
        buf.advance(3);
    }
}
