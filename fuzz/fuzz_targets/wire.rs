//! Thrift framing and decoding of requests, as the server meets them: arbitrary bytes fed
//! to `FrameScanner` in chunks, every whole message it finds handed to
//! `wire::decode_shared` as the connection does (a pwrite's data a slice of the message).
//!
//! Input: byte 0 picks the chunk size (0 = all at once), byte 1 the max message size,
//! the rest is the byte stream (several pipelined messages, possibly). Checks: no panic;
//! chunked and whole scans agree; a message found fits the limit and the buffer; `wanted`
//! always lies beyond the bytes given and within the limit; a decoded call re-encodes to
//! a message that scans whole and decodes to the same call; and no single allocation is
//! larger than twice the input plus 4 KiB (fixed-size tables, a re-encoding growing by
//! doubling), far below the 1 MiB limit: no length or count read off the wire is ever
//! allocated before its bytes are there. A counting allocator checks that, to the byte
//! and without a sanitizer.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use apache_hdfs_broker::wire::frame::FrameScanner;
use apache_hdfs_broker::wire::{decode, decode_shared, Call, Incoming};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use thrift::protocol::{
    TBinaryOutputProtocol, TFieldIdentifier, TMessageIdentifier, TMessageType, TOutputProtocol,
    TSerializable, TStructIdentifier, TType,
};

const LIMITS: [usize; 4] = [1 << 20, 64, 300, 4096];

/// The system allocator, noting the largest single allocation asked for.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

fuzz_target!(|data: &[u8]| {
    LARGEST.store(0, Ordering::Relaxed);
    check(data);
    let largest = LARGEST.load(Ordering::Relaxed);
    let bound = 2 * data.len() + 4096;
    assert!(
        largest <= bound,
        "allocated {largest} bytes at once for {} input bytes",
        data.len()
    );
});

fn check(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let chunk = data[0] as usize % 32;
    let max = LIMITS[data[1] as usize % LIMITS.len()];
    let mut stream = &data[2..];

    // Decoding arbitrary bytes directly must be as safe as decoding scanned ones.
    let _ = decode(stream);

    // Pipelined messages, one scanner reset per message, as the server does.
    while !stream.is_empty() {
        let whole = FrameScanner::new(max).scan(stream);
        let mut scanner = FrameScanner::new(max);
        let chunked = if chunk == 0 {
            scanner.scan(stream)
        } else {
            let mut fed = 0;
            loop {
                fed = (fed + chunk).min(stream.len());
                let r = scanner.scan(&stream[..fed]);
                match r {
                    Ok(None) if fed < stream.len() => {
                        let wanted = scanner.wanted().expect("wanted after need-more");
                        assert!(wanted > fed, "wanted {wanted} within the {fed} bytes given");
                        assert!(wanted <= max, "wanted {wanted} over the limit {max}");
                    }
                    _ => break r,
                }
            }
        };
        assert_eq!(whole, chunked, "whole and chunked scans disagree");
        match chunked {
            Ok(Some(n)) => {
                assert!(
                    n > 0 && n <= stream.len() && n <= max,
                    "message of {n} bytes"
                );
                assert_eq!(scanner.scan(stream), Ok(Some(n)), "done is sticky");
                if let Ok(Incoming::Call { seq, call }) =
                    decode_shared(&Bytes::copy_from_slice(&stream[..n]))
                {
                    round_trip(seq, &call);
                }
                stream = &stream[n..];
            }
            Ok(None) => {
                if let Some(wanted) = scanner.wanted() {
                    assert!(wanted > stream.len() && wanted <= max);
                }
                break;
            }
            Err(e) => {
                assert_eq!(scanner.scan(stream), Err(e), "errors are sticky");
                break;
            }
        }
    }
}

/// Re-encodes a decoded call as a client would send it; it must scan as one whole
/// message and decode to a call that encodes to the same bytes.
fn round_trip(seq: i32, call: &Call) {
    let bytes = Bytes::from(encode_call(seq, call));
    let scanned = FrameScanner::new(bytes.len()).scan(&bytes);
    assert_eq!(
        scanned,
        Ok(Some(bytes.len())),
        "re-encoded call does not scan whole"
    );
    match decode_shared(&bytes) {
        Ok(Incoming::Call {
            seq: again,
            call: decoded,
        }) => {
            assert_eq!(again, seq);
            assert_eq!(decoded.method(), call.method());
            assert_eq!(
                encode_call(seq, &decoded),
                bytes,
                "round trip changed the call"
            );
        }
        other => panic!("re-encoded {:?} decoded as {other:?}", call.method()),
    }
}

fn encode_call(seq: i32, call: &Call) -> Vec<u8> {
    let mut out = Vec::new();
    let mut o = TBinaryOutputProtocol::new(&mut out, true);
    o.write_message_begin(&TMessageIdentifier::new(
        call.method().name(),
        TMessageType::Call,
        seq,
    ))
    .unwrap();
    o.write_struct_begin(&TStructIdentifier::new("args"))
        .unwrap();
    o.write_field_begin(&TFieldIdentifier::new("request", TType::Struct, 1))
        .unwrap();
    write_request(&mut o, call).unwrap();
    o.write_field_end().unwrap();
    o.write_field_stop().unwrap();
    o.write_struct_end().unwrap();
    o.write_message_end().unwrap();
    drop(o);
    out
}

fn write_request(o: &mut dyn TOutputProtocol, call: &Call) -> thrift::Result<()> {
    match call {
        Call::ListPath(r) | Call::ListLocatedFiles(r) => r.write_to_out_protocol(o),
        Call::DeletePath(r) => r.write_to_out_protocol(o),
        Call::RenamePath(r) => r.write_to_out_protocol(o),
        Call::CheckPathExist(r) => r.write_to_out_protocol(o),
        Call::OpenReader(r) => r.write_to_out_protocol(o),
        Call::Pread(r) => r.write_to_out_protocol(o),
        Call::Seek(r) => r.write_to_out_protocol(o),
        Call::CloseReader(r) => r.write_to_out_protocol(o),
        Call::OpenWriter(r) => r.write_to_out_protocol(o),
        Call::Pwrite(r) => r.write_to_out_protocol(o),
        Call::CloseWriter(r) => r.write_to_out_protocol(o),
        Call::Ping(r) => r.write_to_out_protocol(o),
        Call::FileSize(r) => r.write_to_out_protocol(o),
        Call::IsSplittable(r) => r.write_to_out_protocol(o),
    }
}
