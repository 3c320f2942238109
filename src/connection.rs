//! One client connection: reading whole messages off the socket and writing replies.
//!
//! [`Connection::read_call`] reads until [`FrameScanner`] sees one whole message and
//! decodes it; clients pool connections and send one call at a time (a pipelined one is
//! served from what is already buffered). Between calls a connection may stay silent as
//! long as it likes; in the middle of a message it must keep sending
//! (`message_read_timeout_seconds`). [`Connection::send`] writes the encoded reply, and a
//! pread's data straight after it from the buffer it was read into. An idle connection
//! holds no buffer, so thousands of pooled connections cost little.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::buffer::ReadBuf;
use crate::wire::frame::FrameScanner;
use crate::wire::{self, Incoming};

/// Buffers larger than this are released after their message instead of kept for the next.
const KEEP_BUFFER: usize = 64 * 1024;

pub struct Connection {
    socket: TcpStream,
    peer: SocketAddr,
    scanner: FrameScanner,
    max_message: usize,
    stall_limit: Duration,
    input: BytesMut,
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
                    let incoming = wire::decode(&self.input[..len]);
                    self.input.advance(len);
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
            if self.input.is_empty() && self.input.capacity() > KEEP_BUFFER {
                self.input = BytesMut::new();
            }
            let want = self.scanner.wanted().unwrap_or(0).max(self.input.len() + 1);
            self.input
                .reserve((want - self.input.len()).clamp(4096, self.max_message));
            if *stop.borrow() {
                return None;
            }
            let limit = if self.input.is_empty() {
                Duration::MAX
            } else {
                self.stall_limit
            };
            let read = tokio::select! {
                r = tokio::time::timeout(limit, self.socket.read_buf(&mut self.input)) => match r {
                    Ok(r) => r,
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
                let mut parts = Buf::chain(Buf::chain(head, data.filled()), wire::DATA_TRAILER);
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
