//! Open streams: each type owns one stream's whole life.
//!
//! A [`Reader`] holds its store stream, its position and its read-ahead, and answers
//! `pread(offset, len)`. A [`Writer`] holds the sequential-write rules (offsets, replays,
//! the failure that poisons it, the buffer limit) and ends in `commit` or `abort`. The fd
//! table (`sessions`) only keeps them by id; RPC handlers validate, call them, and map
//! their typed errors to a status.

mod reader;
#[cfg(test)]
mod tests;
mod writer;

use std::sync::Arc;

pub use reader::{ReadFailure, Reader};
pub use writer::{WriteError, Writer};

/// What an fd names.
#[derive(Clone)]
pub enum Stream {
    Reader(Arc<Reader>),
    Writer(Arc<Writer>),
}

impl Stream {
    /// The stream's fully qualified path.
    pub fn path(&self) -> &str {
        match self {
            Stream::Reader(r) => r.path(),
            Stream::Writer(w) => w.path(),
        }
    }

    pub fn is_writer(&self) -> bool {
        matches!(self, Stream::Writer(_))
    }
}
