//! A tiny client for poking a running broker by hand, the way FE/BE call it.
//!
//! ```text
//! cargo run --example broker_cli -- [--addr 127.0.0.1:8000] ping
//! cargo run --example broker_cli -- list 'file:/var/log/*.log'
//! cargo run --example broker_cli -- cat file:/etc/hostname
//! echo hi | cargo run --example broker_cli -- put file:/tmp/broker-demo/hi.txt
//! cargo run --example broker_cli -- exists|rm PATH
//! cargo run --example broker_cli -- mv SRC DST
//! ```
//! Properties (credentials, HA settings) are given as `-p key=value`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::ExitCode;

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{TBinaryInputProtocol, TBinaryOutputProtocol};
use thrift::transport::{TBufferedReadTransport, TBufferedWriteTransport, TIoChannel, TTcpChannel};

const V: TBrokerVersion = TBrokerVersion::VERSION_ONE;
const CLIENT_ID: &str = "broker_cli";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("broker_cli: {e}");
            ExitCode::FAILURE
        }
    }
}

fn check(status: &TBrokerOperationStatus) -> Result<(), String> {
    if status.status_code == TBrokerOperationStatusCode::OK {
        Ok(())
    } else {
        Err(format!(
            "status {}: {}",
            status.status_code.0,
            status.message.clone().unwrap_or_default()
        ))
    }
}

fn run() -> Result<(), String> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut addr = "127.0.0.1:8000".to_string();
    let mut props = BTreeMap::new();
    let mut recursive = false;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--addr" if i + 1 < args.len() => {
                addr = args.remove(i + 1);
                args.remove(i);
            }
            "-p" if i + 1 < args.len() => {
                let kv = args.remove(i + 1);
                args.remove(i);
                let (k, v) = kv.split_once('=').ok_or("-p takes key=value")?;
                props.insert(k.to_string(), v.to_string());
            }
            "-r" => {
                recursive = true;
                args.remove(i);
            }
            _ => i += 1,
        }
    }
    let mut channel = TTcpChannel::new();
    channel
        .open(&addr)
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let (r, w) = channel.split().map_err(|e| e.to_string())?;
    let mut c = TFileBrokerServiceSyncClient::new(
        TBinaryInputProtocol::new(TBufferedReadTransport::new(r), true),
        TBinaryOutputProtocol::new(TBufferedWriteTransport::new(w), true),
    );
    let e = |e: thrift::Error| e.to_string();
    let path = |n: usize| args.get(n).cloned().ok_or("missing path argument");
    match args.first().map(String::as_str) {
        Some("ping") => check(&c.ping(TBrokerPingBrokerRequest::new(V, CLIENT_ID.into())).map_err(e)?),
        Some("list") => {
            let req = TBrokerListPathRequest::new(V, path(1)?, recursive, props, Some(false), None);
            let resp = c.list_path(req).map_err(e)?;
            check(&resp.op_status)?;
            for f in resp.files.unwrap_or_default() {
                let kind = if f.is_dir { "d" } else { "-" };
                println!("{kind} {:>12} {}", f.size, f.path);
            }
            Ok(())
        }
        Some("exists") => {
            let resp = c
                .check_path_exist(TBrokerCheckPathExistRequest::new(V, path(1)?, props))
                .map_err(e)?;
            check(&resp.op_status)?;
            println!("{}", resp.is_path_exist);
            Ok(())
        }
        Some("rm") => check(&c.delete_path(TBrokerDeletePathRequest::new(V, path(1)?, props)).map_err(e)?),
        Some("mv") => check(
            &c.rename_path(TBrokerRenamePathRequest::new(V, path(1)?, path(2)?, props))
                .map_err(e)?,
        ),
        Some("cat") => {
            let resp = c
                .open_reader(TBrokerOpenReaderRequest::new(V, path(1)?, 0, CLIENT_ID.into(), props))
                .map_err(e)?;
            check(&resp.op_status)?;
            let fd = resp.fd.ok_or("no fd in the reply")?;
            let mut offset = 0i64;
            let mut out = std::io::stdout().lock();
            loop {
                let r = c
                    .pread(TBrokerPReadRequest::new(V, fd.clone(), offset, 8 << 20))
                    .map_err(e)?;
                check(&r.op_status)?;
                let data = r.data.unwrap_or_default();
                if data.is_empty() {
                    break;
                }
                offset += data.len() as i64;
                out.write_all(&data).map_err(|e| e.to_string())?;
            }
            check(&c.close_reader(TBrokerCloseReaderRequest::new(V, fd)).map_err(e)?)
        }
        Some("put") => {
            let resp = c
                .open_writer(TBrokerOpenWriterRequest::new(
                    V,
                    path(1)?,
                    TBrokerOpenMode::APPEND,
                    CLIENT_ID.into(),
                    props,
                ))
                .map_err(e)?;
            check(&resp.op_status)?;
            let fd = resp.fd.ok_or("no fd in the reply")?;
            let mut offset = 0i64;
            let mut buf = vec![0u8; 1 << 20];
            let mut stdin = std::io::stdin().lock();
            loop {
                let n = stdin.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                let req = TBrokerPWriteRequest::new(V, fd.clone(), offset, buf[..n].to_vec());
                check(&c.pwrite(req).map_err(e)?)?;
                offset += n as i64;
            }
            check(&c.close_writer(TBrokerCloseWriterRequest::new(V, fd)).map_err(e)?)
        }
        _ => Err("usage: broker_cli [--addr HOST:PORT] [-p key=value]... ping | list [-r] PATH | exists PATH | rm PATH | mv SRC DST | cat PATH | put PATH".into()),
    }
}
