//! The HTTP client every object store's operator sends through: one connection pool,
//! bounded connect and read times, and `*.localhost` names resolved to loopback.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// One HTTP client (connection pool) for every object store: bounded connect and read
/// times, so a store that stops answering fails calls instead of hanging them.
pub(super) fn http_transport() -> std::result::Result<opendal::HttpTransporter, String> {
    static TRANSPORT: OnceLock<std::result::Result<opendal::HttpTransporter, String>> =
        OnceLock::new();
    TRANSPORT
        .get_or_init(|| {
            // rustls without aws-lc: ring is the provider (see Cargo.toml). Installing
            // fails only when one is already installed, which is as good.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(120))
                .pool_idle_timeout(Duration::from_secs(30))
                .tcp_keepalive(Duration::from_secs(30))
                .dns_resolver(Arc::new(LocalhostResolver))
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
            Ok(opendal::HttpTransporter::new(
                opendal_http_transport_reqwest::ReqwestTransport::new(client),
            ))
        })
        .clone()
}

/// The system resolver, except that `localhost` and every `*.localhost` name are the
/// loopback address without asking anyone (RFC 6761 §6.3), as browsers and curl do:
/// virtual-host-style endpoints (`bucket.localhost:9000`) then work on a development
/// machine whose resolver does not know the subdomains.
struct LocalhostResolver;

impl reqwest::dns::Resolve for LocalhostResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        Box::pin(async move {
            if host == "localhost" || host.ends_with(".localhost") {
                let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
                return Ok(Box::new(std::iter::once(loopback)) as reqwest::dns::Addrs);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
