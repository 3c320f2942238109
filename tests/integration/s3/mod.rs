//! The S3 backend against a real S3 server (SeaweedFS, common/seaweed.rs), through
//! the Thrift wire: the conformance suite on `s3a://`, `s3://` and `s3n://` (here), and
//! one module per topic: listings, markers and renames (namespace.rs), multipart uploads
//! and their aborts (uploads.rs), addressing styles, key spellings, credentials and the
//! client cache (settings.rs), and a server that dies mid-upload or restarts under a
//! running broker (server_faults.rs). `s3::` selects them all.

mod namespace;
mod server_faults;
mod settings;
mod uploads;

use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::common::seaweed::Seaweed;
use crate::common::*;
use crate::conformance::unique;

/// Buckets of their own for the tests that count the server's pending multipart uploads.
const BIG_BUCKET: &str = "big-test";
const REAP_BUCKET: &str = "reap-test";
const DROP_BUCKET: &str = "drop-test";

/// One server for every test that leaves it running; it dies with the test process.
fn server() -> &'static Seaweed {
    static SERVER: OnceLock<Seaweed> = OnceLock::new();
    SERVER.get_or_init(|| Seaweed::start(&["broker-test", BIG_BUCKET, REAP_BUCKET, DROP_BUCKET]))
}

/// A second server for the tests that stop and restart it, one such test at a time.
fn fault_server() -> MutexGuard<'static, Seaweed> {
    static SERVER: OnceLock<Mutex<Seaweed>> = OnceLock::new();
    SERVER
        .get_or_init(|| Mutex::new(Seaweed::start(&["fault-test"])))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// The shared server, a broker started with `conf` lines and a connection to it; `None`
/// (the test skips) where SeaweedFS cannot run.
fn on_server(conf: &[(&str, &str)]) -> Option<(&'static Seaweed, BrokerProcess, Client)> {
    if missing(Server::Seaweed) {
        return None;
    }
    let s3 = server();
    let broker = BrokerProcess::start_with(conf);
    let c = broker.client();
    Some((s3, broker, c))
}

/// As [`on_server`], on the server the tests stop and restart (held for the whole test).
fn on_fault_server() -> Option<(MutexGuard<'static, Seaweed>, BrokerProcess, Client)> {
    if missing(Server::Seaweed) {
        return None;
    }
    let s3 = fault_server();
    let broker = BrokerProcess::start();
    let c = broker.client();
    Some((s3, broker, c))
}

fn with(base: &Props, pairs: &[(&str, &str)]) -> Props {
    let mut p = base.clone();
    for (k, v) in pairs {
        p.insert(k.to_string(), v.to_string());
    }
    p
}

fn without(base: &Props, keys: &[&str]) -> Props {
    let mut p = base.clone();
    for k in keys {
        p.remove(*k);
    }
    p
}

/// The suite on `s3a://`, `s3://` and `s3n://` (one broker and base each), with keys
/// meant for other layers on every call (they must be ignored). The secret key never
/// reaching a log is scripts/test.sh's search of every broker log.
macro_rules! conformance_on {
    ($scheme:ident) => {
        mod $scheme {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let s3 = server();
                let props = with(
                    &s3.props(),
                    &[("column_separator", ","), ("max_file_size", "1GB")],
                );
                SUITE.run(
                    "seaweed",
                    BrokerProcess::start,
                    |_| {
                        let base = format!("{}/{}", s3.base(stringify!($scheme)), unique("conf"));
                        Target::new(base, props)
                    },
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::Seaweed);
        }
    };
}

mod conformance {
    use super::*;
    conformance_on!(s3a);
    conformance_on!(s3);
    conformance_on!(s3n);
}
