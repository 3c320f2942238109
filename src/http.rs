//! The HTTP endpoint on `broker_http_port`: `/metrics` (Prometheus text format) and
//! `/health` (200 while serving, 503 while starting or shutting down), GET or HEAD.
//!
//! HTTP/1.1 is hyper's (already in the tree under the object stores' client); this file
//! only routes. One request per connection, a bounded number at once, each exchange
//! bounded in time, so a stuck scraper never holds anything.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::allowlist::Allowlist;
use crate::metrics::{self, OpenStreams};

/// A whole exchange (read the request, answer) must finish within this.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Exchanges served at once; more wait in the listen backlog.
const MAX_EXCHANGES: usize = 16;

const STARTING: u8 = 0;
const SERVING: u8 = 1;
const STOPPING: u8 = 2;

/// Where the broker is in its life, as `/health` tells it. Shared by the composition root
/// (which moves it on) and the endpoint (which reads it).
#[derive(Clone, Default)]
pub struct Health(Arc<AtomicU8>);

impl Health {
    /// The Thrift listener is bound and calls are served.
    pub fn set_serving(&self) {
        // Never back from STOPPING.
        let _ = self
            .0
            .compare_exchange(STARTING, SERVING, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// Shutdown began: `/health` answers 503 from now on.
    pub fn set_stopping(&self) {
        self.0.store(STOPPING, Ordering::SeqCst);
    }

    fn answer(&self) -> (StatusCode, &'static str) {
        match self.0.load(Ordering::SeqCst) {
            SERVING => (StatusCode::OK, "ok\n"),
            STOPPING => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
        }
    }
}

/// What the endpoint reads at each scrape: the fd table's counts.
pub type OpenStreamsFn = Arc<dyn Fn() -> OpenStreams + Send + Sync>;

/// Serves `listener` until the task is dropped; peers `allow` refuses are closed unread.
pub async fn serve(listener: TcpListener, health: Health, open: OpenStreamsFn, allow: Allowlist) {
    let limit = Arc::new(Semaphore::new(MAX_EXCHANGES));
    loop {
        let Ok(permit) = limit.clone().acquire_owned().await else {
            return;
        };
        let socket = match listener.accept().await {
            Ok((socket, peer)) if allow.admit(peer) => socket,
            Ok(_) => continue,
            Err(e) => {
                tracing::warn!("http accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let health = health.clone();
        let open = open.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let reply = route(&req, &health, &open);
                async move { Ok::<_, Infallible>(reply) }
            });
            let conn = http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(socket), service);
            let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, conn).await;
            drop(permit);
        });
    }
}

fn route(req: &Request<Incoming>, health: &Health, open: &OpenStreamsFn) -> Response<Full<Bytes>> {
    let head_only = match *req.method() {
        Method::GET => false,
        Method::HEAD => true,
        _ => {
            let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n", false);
            resp.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return resp;
        }
    };
    match req.uri().path() {
        "/metrics" => {
            let body = metrics::render(open());
            let mut resp = text(StatusCode::OK, body, head_only);
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            resp
        }
        "/health" => {
            let (code, body) = health.answer();
            text(code, body, head_only)
        }
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /health\n",
            head_only,
        ),
    }
}

fn text(code: StatusCode, body: impl Into<Bytes>, head_only: bool) -> Response<Full<Bytes>> {
    let body: Bytes = body.into();
    let len = body.len();
    let mut resp = Response::new(Full::new(if head_only { Bytes::new() } else { body }));
    *resp.status_mut() = code;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain"),
    );
    headers.insert(header::CONTENT_LENGTH, len.into());
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request).await.unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn routes_and_refuses() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let health = Health::default();
        let open: OpenStreamsFn = Arc::new(OpenStreams::default);
        let anyone = Allowlist::new(Vec::new(), "http", "broker_http_allowed_clients");
        tokio::spawn(serve(listener, health.clone(), open, anyone));

        let got = exchange(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 503"), "{got}");
        assert!(got.ends_with("starting\n"), "{got}");
        health.set_serving();
        let got = exchange(addr, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").await;
        assert!(
            got.starts_with("HTTP/1.0 200") || got.starts_with("HTTP/1.1 200"),
            "{got}"
        );
        assert!(got.contains("broker_build_info"), "{got}");
        let got = exchange(addr, b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            got.starts_with("HTTP/1.1 200") && got.ends_with("\r\n\r\n"),
            "{got}"
        );
        let got = exchange(addr, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 404"), "{got}");
        let got = exchange(addr, b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            got.starts_with("HTTP/1.1 405") && got.contains("allow: GET, HEAD"),
            "{got}"
        );
        let got = exchange(addr, b"\xff\xfe garbage\r\n\r\n").await;
        assert!(got.starts_with("HTTP/1.1 400") || got.is_empty(), "{got}");
        health.set_stopping();
        health.set_serving();
        let got = exchange(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            got.starts_with("HTTP/1.1 503") && got.ends_with("shutting down\n"),
            "{got}"
        );
    }
}
