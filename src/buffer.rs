//! The buffers `pread` answers are read into, reused instead of allocated per call.
//!
//! A BE reads with 8 MiB preads. A fresh 8 MiB allocation per call costs an `mmap`, 2,048
//! page faults that zero every page, and a `munmap` - more CPU than copying the data out of
//! the page cache. So large buffers come from a small process-wide pool and go back to it
//! when the reply has been written; a buffer keeps the bytes it once initialised, so reuse
//! never zeroes it again. The data goes from the store into this buffer and from it to
//! the socket (`server` writes the reply header, then these bytes): one copy in user space.
//!
//! The pool keeps at most [`MAX_POOLED`] buffers: enough for the reads two cores run at
//! once; more concurrent preads allocate, and their buffers are freed afterwards, so a
//! burst does not pin memory. Its lock guards a `Vec` push or pop only, never I/O.

use std::sync::Mutex;

/// Reads smaller than this get an exact, unpooled allocation (cheap at that size).
pub const POOLED_MIN: usize = 256 * 1024;

/// Free buffers kept for reuse (each up to `hdfs_read_buffer_size_kb`, 8 MiB by default).
pub const MAX_POOLED: usize = 4;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// Bytes read for one `pread`: `filled()` is the answer. Returns to the pool on drop.
#[derive(Default)]
pub struct ReadBuf {
    /// `len()` is how far the bytes were ever initialised (kept across reuse).
    bytes: Vec<u8>,
    filled: usize,
}

impl ReadBuf {
    /// A buffer for a read of up to `len` bytes: pooled when large, exact when small.
    pub fn for_read(len: usize) -> ReadBuf {
        if len >= POOLED_MIN {
            let reused = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
            if let Some(bytes) = reused {
                return ReadBuf { bytes, filled: 0 };
            }
        }
        ReadBuf {
            bytes: Vec::with_capacity(len),
            filled: 0,
        }
    }

    /// What has been read so far.
    pub fn filled(&self) -> &[u8] {
        &self.bytes[..self.filled]
    }

    pub fn len(&self) -> usize {
        self.filled
    }

    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// The `len` bytes after the filled part, for a store to read into; then call
    /// [`advance`](Self::advance) with how many it wrote. Only bytes never initialised
    /// before are zeroed, so a reused buffer costs nothing here.
    pub fn unfilled(&mut self, len: usize) -> &mut [u8] {
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

    /// Appends bytes a store handed over in its own buffers.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.unfilled(data.len()).copy_from_slice(data);
        self.filled += data.len();
    }
}

impl std::fmt::Debug for ReadBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReadBuf({} bytes)", self.filled)
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

    #[test]
    fn reads_append_and_reused_buffers_start_empty() {
        let mut buf = ReadBuf::for_read(POOLED_MIN);
        buf.unfilled(3).copy_from_slice(b"abc");
        buf.advance(3);
        buf.extend_from_slice(b"de");
        assert_eq!(buf.filled(), b"abcde");
        drop(buf);
        // Whatever buffer comes back (this one or another test's), it holds no answer yet.
        let mut again = ReadBuf::for_read(POOLED_MIN);
        assert!(again.is_empty());
        assert_eq!(again.unfilled(4).len(), 4);
        assert_eq!(again.filled(), b"");
    }

    #[test]
    #[should_panic(expected = "advance past")]
    fn advancing_past_what_was_offered_panics() {
        let mut buf = ReadBuf::for_read(16);
        buf.unfilled(2);
        buf.advance(3);
    }
}
