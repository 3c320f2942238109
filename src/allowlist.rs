//! Which peers may connect (`broker_allowed_clients`, `broker_http_allowed_clients`).
//!
//! The Thrift protocol FE and BE speak has no authentication, so the address a
//! connection comes from is all the broker can check. A refused connection is closed
//! before a byte is read from it; the refusal is counted in `/metrics` and logged at
//! WARN at most once a minute per peer address, so a scanner cannot flood the log.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use ipnet::IpNet;
use tokio::time::Instant;

use crate::metrics;

/// How often one peer's refusals are logged.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Peers remembered for that; past this the memory starts over.
const REMEMBERED_PEERS: usize = 4096;

pub struct Allowlist {
    networks: Vec<IpNet>,
    /// The listener it guards, as the metric label and the log says it.
    port: &'static str,
    /// The conf key an operator changes to let a peer in.
    key: &'static str,
    last_logged: Mutex<HashMap<IpAddr, Instant>>,
}

impl Allowlist {
    /// Empty `networks` admits everyone.
    pub fn new(networks: Vec<IpNet>, port: &'static str, key: &'static str) -> Allowlist {
        Allowlist {
            networks,
            port,
            key,
            last_logged: Mutex::new(HashMap::new()),
        }
    }

    pub fn admits_anyone(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `peer` may connect; a refusal is counted and (rate-limited) logged.
    pub fn admit(&self, peer: SocketAddr) -> bool {
        // An IPv4 client of a dual-stack listener shows up as ::ffff:a.b.c.d.
        let ip = peer.ip().to_canonical();
        if self.networks.is_empty() || self.networks.iter().any(|net| net.contains(&ip)) {
            return true;
        }
        metrics::connection_refused(self.port);
        if self.first_in_a_while(ip, Instant::now()) {
            tracing::warn!(
                "refused a {} connection from {ip}: not in {} (further refusals of this address are logged once a minute)",
                self.port,
                self.key
            );
        }
        false
    }

    fn first_in_a_while(&self, ip: IpAddr, now: Instant) -> bool {
        let mut seen = self.last_logged.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= REMEMBERED_PEERS {
            seen.clear();
        }
        match seen.get(&ip) {
            Some(&at) if now.saturating_duration_since(at) < LOG_EVERY => false,
            _ => {
                seen.insert(ip, now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> Allowlist {
        let nets = entries.iter().map(|e| e.parse().unwrap()).collect();
        Allowlist::new(nets, "thrift", "broker_allowed_clients")
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    #[test]
    fn networks_admit_their_addresses_only() {
        let allow = list(&["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
        assert!(allow.admit(peer("10.1.2.3")));
        assert!(allow.admit(peer("192.168.1.7")));
        assert!(allow.admit(peer("fd12::1")));
        assert!(allow.admit(peer("::ffff:10.9.9.9")), "IPv4-mapped IPv6");
        assert!(!allow.admit(peer("192.168.1.8")));
        assert!(!allow.admit(peer("127.0.0.1")));
        assert!(!allow.admit(peer("fe80::1")));
        assert!(list(&[]).admit(peer("203.0.113.9")), "empty admits anyone");
    }

    #[tokio::test(start_paused = true)]
    async fn one_peer_is_logged_once_a_minute() {
        let allow = list(&["10.0.0.0/8"]);
        let ip: IpAddr = "127.0.0.2".parse().unwrap();
        let now = Instant::now();
        assert!(allow.first_in_a_while(ip, now));
        assert!(!allow.first_in_a_while(ip, now + Duration::from_secs(59)));
        assert!(allow.first_in_a_while("127.0.0.3".parse().unwrap(), now));
        assert!(allow.first_in_a_while(ip, now + Duration::from_secs(61)));
    }
}
