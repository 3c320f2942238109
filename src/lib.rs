//! The StarRocks/Doris file broker: a Thrift server in front of HDFS, object stores and
//! local files. `main.rs` is a thin CLI; everything else lives here so integration tests,
//! benchmarks and fuzz targets can reach it.

pub mod allowlist;
pub mod audit;
pub mod buffer;
pub mod config;
pub mod connection;
pub mod failure_log;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod rpc;
pub mod server;
pub mod service;
pub mod sessions;
pub mod status;
pub mod storage;
pub mod streams;
pub mod wire;
