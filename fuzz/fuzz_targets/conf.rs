//! The conf parser (`java.util.Properties` syntax, `${VAR}` expansion, typed keys) on
//! arbitrary file contents, read the way `BrokerConfig::load` reads a file (undecodable
//! bytes replaced). Checks: no panic, no hang; a conf that parses answers every derived
//! setting without panicking.
#![no_main]

use apache_hdfs_broker::config::{parse_properties, BrokerConfig};
use libfuzzer_sys::fuzz_target;

fn env(name: &str) -> Option<String> {
    match name {
        "BROKER_HOME" => Some("/opt/broker".to_string()),
        "HOME" => Some("/root".to_string()),
        // A variable whose value looks like another reference: expanded once, not again.
        "LOOP" => Some("${LOOP}".to_string()),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_properties(&text);
    if let Ok(config) = BrokerConfig::parse(&text, &env) {
        let _ = config.listen_addr();
        let _ = config.http_listen_addr();
        let _ = config.read_buffer_bytes();
        let _ = config.write_buffer_bytes();
        let _ = config.client_expire();
        let _ = config.shutdown_timeout();
    }
});
