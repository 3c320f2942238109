//! The limits the broker is measured against, run in the same process and the same run:
//! an instant Thrift server (answers every pread at once with pre-built bytes) and a plain
//! loopback TCP sender (the same bytes, no protocol, no storage).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use apache_hdfs_broker::wire::frame::FrameScanner;
use apache_hdfs_broker::wire::generated::*;
use apache_hdfs_broker::wire::{decode, encode_reply, Call, Incoming, Method, Reply};

fn ok() -> TBrokerOperationStatus {
    TBrokerOperationStatus::new(TBrokerOperationStatusCode::OK, None)
}

fn encoded(method: Method, seq: i32, reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    encode_reply(&mut out, method, seq, reply);
    out
}

/// Serves `openReader` / `pread` / `closeReader` / `ping` for a virtual file of `size`
/// bytes; every pread below `size` is answered with the same pre-built `chunk`-byte reply.
pub fn instant_server(size: u64, chunk: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the instant server");
    let addr = listener.local_addr().unwrap();
    let data = vec![b'x'; chunk];
    let full = Arc::new(encoded(
        Method::Pread,
        0,
        &Reply::Read(TBrokerReadResponse::new(ok(), Some(data))),
    ));
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let full = full.clone();
            std::thread::spawn(move || serve_instant(socket, size, &full));
        }
    });
    addr
}

fn serve_instant(mut socket: TcpStream, size: u64, full: &[u8]) {
    let _ = socket.set_nodelay(true);
    let mut reply_full = full.to_vec();
    // Strict header: version word, name length, "pread", then the sequence number.
    let seq_at = 8 + "pread".len();
    let mut scanner = FrameScanner::new(1 << 20);
    let mut input = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let len = match scanner.scan(&input) {
            Ok(Some(len)) => len,
            Ok(None) => match socket.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    input.extend_from_slice(&chunk[..n]);
                    continue;
                }
            },
            Err(_) => return,
        };
        let incoming = decode(&input[..len]);
        input.drain(..len);
        scanner.reset();
        let Ok(Incoming::Call { seq, call }) = incoming else {
            return;
        };
        let sent = match call {
            Call::Pread(r) if (r.offset as u64) < size => {
                reply_full[seq_at..seq_at + 4].copy_from_slice(&seq.to_be_bytes());
                socket.write_all(&reply_full)
            }
            Call::Pread(_) => socket.write_all(&encoded(
                Method::Pread,
                seq,
                &Reply::Read(TBrokerReadResponse::new(ok(), Some(Vec::new()))),
            )),
            Call::OpenReader(_) => socket.write_all(&encoded(
                Method::OpenReader,
                seq,
                &Reply::OpenReader(TBrokerOpenReaderResponse::new(
                    ok(),
                    Some(TBrokerFD::new(1, 1)),
                    Some(size as i64),
                )),
            )),
            Call::CloseReader(_) => {
                socket.write_all(&encoded(Method::CloseReader, seq, &Reply::Status(ok())))
            }
            Call::Ping(_) => socket.write_all(&encoded(Method::Ping, seq, &Reply::Status(ok()))),
            _ => return,
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Each connection gets `total` bytes written from one reused `chunk`-byte buffer, then EOF.
pub fn raw_sender(total: u64, chunk: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the raw sender");
    let addr = listener.local_addr().unwrap();
    let data = Arc::new(vec![b'x'; chunk]);
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            let data = data.clone();
            std::thread::spawn(move || {
                let mut left = total;
                while left > 0 {
                    let n = left.min(data.len() as u64) as usize;
                    if socket.write_all(&data[..n]).is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    addr
}
