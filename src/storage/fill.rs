//! The read loop of the stream backends (FTP, SFTP) that move a pread's bytes over a
//! byte stream: read until the buffer is full or the stream ends, each read optionally
//! bounded so that a stream which stops sending fails the pread instead of hanging it.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};

/// A fill that failed: how many bytes arrived before the failure, and the failure (a
/// stalled read is a `TimedOut` error saying for how long nothing came).
pub(crate) struct ShortFill {
    pub got: usize,
    pub error: std::io::Error,
}

/// Reads from `from` into `into` until it is full or `from` ends: the number of bytes
/// read. With `stall`, a single read that returns nothing for that long fails the fill.
pub(crate) async fn fill<R: AsyncRead + Unpin + ?Sized>(
    from: &mut R,
    into: &mut [u8],
    stall: Option<Duration>,
) -> Result<usize, ShortFill> {
    let mut got = 0;
    while got < into.len() {
        let read = from.read(&mut into[got..]);
        let read = match stall {
            Some(stall) => tokio::time::timeout(stall, read).await.unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no data for {stall:?}"),
                ))
            }),
            None => read.await,
        };
        match read {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(error) => return Err(ShortFill { got, error }),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fills_until_full_or_the_end() {
        let mut into = [0u8; 4];
        let mut from: &[u8] = b"abcdef";
        assert_eq!(fill(&mut from, &mut into, None).await.ok(), Some(4));
        assert_eq!(&into, b"abcd");
        let mut from: &[u8] = b"xy";
        assert_eq!(fill(&mut from, &mut into, None).await.ok(), Some(2));
        assert_eq!(&into[..2], b"xy");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_stream_fails_with_what_came() {
        let (mut tx, mut rx) = tokio::io::duplex(16);
        tokio::io::AsyncWriteExt::write_all(&mut tx, b"ab")
            .await
            .unwrap();
        let mut into = [0u8; 4];
        let Err(short) = fill(&mut rx, &mut into, Some(Duration::from_secs(5))).await else {
            panic!("a stalled stream filled the buffer");
        };
        assert_eq!(short.got, 2);
        assert_eq!(short.error.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(short.error.to_string(), "no data for 5s");
        drop(tx);
    }
}
