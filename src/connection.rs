//! One client connection: reading whole messages off the socket and writing replies.
//!
//! [`Connection::read_call`] reads until [`FrameScanner`] sees one whole message and
//! decodes it; clients pool connections and send one call at a time (a pipelined one is
//! served from what is already buffered). Between calls a connection may stay silent as
//! long as it likes; in the middle of a message it must keep sending
//! (`message_read_timeout_seconds`). [`Connection::send`] writes the encoded reply, and a
//! pread's data straight after it from the buffer it was read into. An idle connection
//! holds no buffer, so thousands of pooled connections cost little.
//!
//! A message is split off the receive buffer as [`Bytes`], so a pwrite's data reaches
//! the store as a slice of the buffer it arrived in, never copied. While a client streams
//! pwrites the buffer is kept from one call to the next (once the store is done with a
//! chunk, the next one is received into the same memory); after other calls, or
//! [`KEEP_WHILE_IDLE`] without a new message, a large buffer is let go.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::buffer::ReadBuf;
use crate::wire::frame::FrameScanner;
use crate::wire::{self, Call, Incoming};

/// Buffers larger than this are released after their message instead of kept for the next
/// (unless a writer streams).
const KEEP_BUFFER: usize = 64 * 1024;

/// How long a connection that streamed pwrites keeps its large buffer without a new
/// message: a BE sends the next chunk at once, a pooled connection may idle for hours.
const KEEP_WHILE_IDLE: Duration = Duration::from_secs(1);

pub struct Connection {
    socket: TcpStream,
    peer: SocketAddr,
    scanner: FrameScanner,
    max_message: usize,
    stall_limit: Duration,
    input: BytesMut,
    /// The size of the receive buffer last read into (its own `capacity` only counts
    /// what is left after the messages split off it).
    input_size: usize,
    /// The last call was a pwrite: keep a large receive buffer for the next chunk.
    writing: bool,
    /// The reply being encoded; [`Connection::send`] writes and clears it.
    output: Vec<u8>,
    calls: u64,
}

impl Connection {
    pub fn new(
        socket: TcpStream,
        peer: SocketAddr,
        max_message: usize,
        stall_limit: Duration,
    ) -> Connection {
        Connection {
            socket,
            peer,
            scanner: FrameScanner::new(max_message),
            max_message,
            stall_limit,
            input: BytesMut::new(),
            input_size: 0,
            writing: false,
            output: Vec::new(),
            calls: 0,
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The next call, or `None` when the connection is over: the peer closed it, sent
    /// something that is not our protocol, stalled mid-message, or `stop` fired between
    /// two calls (a call that has not fully arrived is not in flight).
    pub async fn read_call(&mut self, stop: &mut watch::Receiver<bool>) -> Option<Incoming> {
        let peer = self.peer;
        loop {
            match self.scanner.scan(&self.input) {
                Ok(Some(len)) => {
                    let msg: Bytes = self.input.split_to(len).freeze();
                    let incoming = wire::decode_shared(&msg);
                    self.writing = matches!(
                        incoming,
                        Ok(Incoming::Call {
                            call: Call::Pwrite(_),
                            ..
                        })
                    );
                    self.scanner.reset();
                    self.calls += 1;
                    return match incoming {
                        Ok(incoming) => Some(incoming),
                        Err(e) => {
                            tracing::warn!(%peer, "dropping connection: undecodable message ({e})");
                            None
                        }
                    };
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(%peer, "dropping connection: not a valid Thrift message ({e})");
                    return None;
                }
            }
            if self.input.is_empty() && self.input_size > KEEP_BUFFER && !self.writing {
                self.release_input();
            }
            let want = self.scanner.wanted().unwrap_or(0).max(self.input.len() + 1);
            let needed = want - self.input.len();
            // Grown only when what the message needs does not fit: asking for more than it
            // needs near its end would double a chunk-sized buffer (and copy the chunk).
            if self.input.capacity() - self.input.len() < needed {
                // Takes back the memory of the messages split off, once nothing holds them.
                self.input.reserve(needed.clamp(4096, self.max_message));
            }
            self.input_size = self.input_size.max(self.input.capacity());
            if *stop.borrow() {
                return None;
            }
            let keeping = self.input.is_empty() && self.writing;
            let limit = if keeping {
                KEEP_WHILE_IDLE
            } else if self.input.is_empty() {
                Duration::MAX
            } else {
                self.stall_limit
            };
            let read = tokio::select! {
                r = tokio::time::timeout(limit, self.socket.read_buf(&mut self.input)) => match r {
                    Ok(r) => r,
                    Err(_) if keeping => {
                        // The writer paused: an idle connection holds no buffer.
                        self.writing = false;
                        self.release_input();
                        continue;
                    }
                    Err(_) => {
                        tracing::warn!(%peer, "dropping connection: stalled in the middle of a message");
                        return None;
                    }
                },
                _ = stop.changed() => return None,
            };
            match read {
                Ok(0) | Err(_) => {
                    if self.calls == 0 && self.input.is_empty() {
                        // A TCP health probe: normal, and not worth more than debug.
                        tracing::debug!(%peer, "connection closed without a call");
                    } else if !self.input.is_empty() {
                        tracing::debug!(%peer, "connection closed mid-message");
                    }
                    return None;
                }
                Ok(_) => {}
            }
        }
    }

    /// Lets the (empty) receive buffer go.
    fn release_input(&mut self) {
        self.input = BytesMut::new();
        self.input_size = 0;
    }

    /// Where the reply is encoded.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// Writes the encoded reply; a pread's data follows it straight from the buffer it was
    /// read into (one vectored write sequence, never copied into the reply), then its
    /// trailer. The buffer goes back to its pool once its bytes were sent.
    pub async fn send(&mut self, data: Option<ReadBuf>) -> std::io::Result<()> {
        let head = &self.output[..];
        let sent = match &data {
            None => self.socket.write_all(head).await,
            Some(data) => {
                let mut parts = Buf::chain(Buf::chain(head, data.parts()), wire::DATA_TRAILER);
                self.socket.write_all_buf(&mut parts).await
            }
        };
        drop(data);
        if self.output.capacity() > KEEP_BUFFER {
            self.output = Vec::new();
        } else {
            self.output.clear();
        }
        sent
    }
}
