//! The WebHDFS REST calls (`/webhdfs/v1/<path>?op=...`), shared by every role: URLs with
//! the user or delegation token, the two-step calls whose data goes to a datanode (the
//! namenode answers 307 with the datanode's URL; an HttpFS gateway redirects to itself),
//! and error answers turned into [`WebHdfsError`]. Redirects are followed by hand, never by
//! the HTTP client: a streamed body cannot be sent twice, and the Location (which carries
//! the token) must never end up in an error message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use super::conf::{Auth, Settings};
use super::error::{describe, to_storage_error, WebHdfsError};
use crate::storage::{Location, Result, StorageError};

pub(super) type CallResult<T> = std::result::Result<T, WebHdfsError>;

/// Everything but RFC 3986's unreserved characters is escaped in a path segment or a
/// query value (Hadoop's `Path` allows `%`, spaces, `+`, `?` ... in names).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The most of an error answer's body read: a RemoteException is a few hundred bytes.
const ERROR_BODY_MAX: usize = 64 << 10;

/// An HA nameservice's namenodes are tried in turn while they answer StandbyException or
/// refuse the connection: sweeps over all of them, this long apart, for about 30 s (a
/// failover takes seconds), then the call fails with the last namenode's answer.
const FAILOVER_SWEEPS: usize = 60;
const FAILOVER_PAUSE: Duration = Duration::from_millis(500);

pub(super) struct Core {
    http: reqwest::Client,
    settings: Settings,
    /// The namenode that answered last (an index into `settings.endpoints`): calls go
    /// there first.
    active: AtomicUsize,
}

impl Core {
    pub fn new(settings: Settings) -> std::result::Result<Core, String> {
        // rustls without aws-lc: ring is the provider (see Cargo.toml). Installing fails
        // only when one is already installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder();
        if let Some(store) = &settings.trust {
            // Only the truststore's CAs, as Hadoop's client trusts only its truststore.
            builder = builder.tls_certs_only(store.certificates()?);
        }
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_keepalive(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", describe(e)))?;
        Ok(Core {
            http,
            settings,
            active: AtomicUsize::new(0),
        })
    }

    /// The URL of `op` on `path` (absolute, as the client wrote it) with `params`, on
    /// `endpoint`.
    fn url(&self, endpoint: &str, path: &str, op: &str, params: &[(&str, &str)]) -> String {
        let mut url = format!("{endpoint}/webhdfs/v1");
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            url.push('/');
            url.extend(utf8_percent_encode(segment, ESCAPED));
        }
        if path.trim_matches('/').is_empty() {
            url.push('/');
        }
        url.push_str("?op=");
        url.push_str(op);
        let auth = match &self.settings.auth {
            Auth::User(user) => ("user.name", user.as_str()),
            Auth::Delegation(token) => ("delegation", token.0.as_str()),
        };
        for (key, value) in params.iter().chain(std::iter::once(&auth)) {
            url.push('&');
            url.push_str(key);
            url.push('=');
            url.extend(utf8_percent_encode(value, ESCAPED));
        }
        url
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method.clone(), url);
        if method != Method::GET {
            req = req.header(self.settings.csrf_header.as_str(), "true");
        }
        req
    }

    /// Sends `req`; an error status becomes the server's error.
    async fn send(req: reqwest::RequestBuilder) -> CallResult<Response> {
        let resp = req.send().await.map_err(WebHdfsError::transport)?;
        if resp.status().is_success() || resp.status().is_redirection() {
            return Ok(resp);
        }
        Err(error_of(resp).await)
    }

    /// The first step of every call, to the namenode (or gateway); an error status becomes
    /// the server's error. With an HA nameservice, the call goes to the namenode that
    /// answered last and moves on to the next one on StandbyException or a refused
    /// connection (as Hadoop's WebHdfsFileSystem fails over), for at most
    /// [`FAILOVER_SWEEPS`] sweeps. Only failures that prove the call was not carried out
    /// move it: a timeout or a reset might follow a rename done.
    async fn to_namenode(
        &self,
        method: &Method,
        path: &str,
        op: &str,
        params: &[(&str, &str)],
    ) -> CallResult<Response> {
        let endpoints = &self.settings.endpoints;
        let tries = if endpoints.len() > 1 {
            endpoints.len() * FAILOVER_SWEEPS
        } else {
            1
        };
        let first = self.active.load(Ordering::Relaxed);
        let mut last = None;
        for attempt in 0..tries {
            if attempt > 0 && attempt % endpoints.len() == 0 {
                tokio::time::sleep(FAILOVER_PAUSE).await;
            }
            let at = (first + attempt) % endpoints.len();
            let url = self.url(&endpoints[at], path, op, params);
            let failed = match self.request(method.clone(), &url).send().await {
                Ok(resp) if resp.status().is_success() || resp.status().is_redirection() => {
                    self.active.store(at, Ordering::Relaxed);
                    return Ok(resp);
                }
                Ok(resp) => error_of(resp).await,
                Err(e) if e.is_connect() => WebHdfsError::transport(e),
                Err(e) => return Err(WebHdfsError::transport(e)),
            };
            let standby = matches!(&failed, WebHdfsError::Remote { exception, .. }
                if exception == "StandbyException");
            if !standby && !matches!(failed, WebHdfsError::Transport(_)) {
                return Err(failed);
            }
            last = Some(failed);
        }
        Err(last.expect("at least one try"))
    }

    /// A namenode call answered with JSON (`GETFILESTATUS`, `MKDIRS`, `RENAME` ...); an
    /// empty body is `Value::Null`.
    pub async fn json(
        &self,
        method: Method,
        path: &str,
        op: &str,
        params: &[(&str, &str)],
    ) -> CallResult<Value> {
        let resp = self.to_namenode(&method, path, op, params).await?;
        let body = resp.bytes().await.map_err(WebHdfsError::transport)?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&body)
            .map_err(|e| WebHdfsError::Protocol(format!("{op} answered no JSON: {e}")))
    }

    /// A call whose data comes from or goes to a datanode: the namenode's 307 is followed
    /// to the datanode with `body` (when there is one); an answer without a redirect (an
    /// HttpFS `OPEN`) is the data itself.
    pub async fn data(
        &self,
        method: Method,
        path: &str,
        op: &str,
        params: &[(&str, &str)],
        body: Option<reqwest::Body>,
    ) -> CallResult<Response> {
        let first = self.to_namenode(&method, path, op, params).await?;
        if !first.status().is_redirection() {
            return Ok(first);
        }
        let location = first
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| {
                WebHdfsError::Protocol(format!("{op}: a redirect without a Location"))
            })?;
        let mut req = self.request(method, &location);
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body);
        }
        let resp = Self::send(req).await?;
        if resp.status().is_redirection() {
            return Err(WebHdfsError::Protocol(format!("{op}: redirected twice")));
        }
        Ok(resp)
    }

    /// `DELETE` of `loc` (a whole tree with `recursive`); nothing there is no failure.
    pub async fn delete(&self, loc: &Location, recursive: bool) -> Result<()> {
        let params = [("recursive", if recursive { "true" } else { "false" })];
        match self
            .json(Method::DELETE, loc.path(), "DELETE", &params)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match to_storage_error(loc, e) {
                StorageError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    /// `CREATE` of an empty file (complete once this returns); `CREATED` is the answer.
    pub async fn create_empty(&self, path: &str, permission: &str) -> CallResult<()> {
        let params = [("overwrite", "false"), ("permission", permission)];
        let resp = self
            .data(
                Method::PUT,
                path,
                "CREATE",
                &params,
                Some(reqwest::Body::from(Bytes::new())),
            )
            .await?;
        expect_status(resp, StatusCode::CREATED, "CREATE").await
    }
}

/// Checks a data call's final status (the datanode's `201 Created` or `200 OK`).
pub(super) async fn expect_status(resp: Response, want: StatusCode, op: &str) -> CallResult<()> {
    if resp.status() == want || resp.status() == StatusCode::OK {
        return Ok(());
    }
    Err(WebHdfsError::Protocol(format!(
        "{op} answered HTTP {}",
        resp.status()
    )))
}

/// The error an error answer carries (its body read up to [`ERROR_BODY_MAX`]).
pub(super) async fn error_of(mut resp: Response) -> WebHdfsError {
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_MAX {
        match resp.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    WebHdfsError::from_answer(status, &body)
}

/// A JSON answer's `{"boolean": b}` (`MKDIRS`, `DELETE`, a plain `RENAME`).
pub(super) fn boolean(v: &Value) -> Option<bool> {
    v.get("boolean").and_then(Value::as_bool)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::webhdfs::conf::Token;

    const E: &str = "http://127.0.0.1:9870";

    fn core(auth: Auth) -> Core {
        Core::new(Settings {
            endpoints: vec!["http://127.0.0.1:9870".into()],
            auth,
            csrf_header: "X-XSRF-HEADER".into(),
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            trust: None,
        })
        .unwrap()
    }

    #[test]
    fn urls_escape_names_and_carry_the_user_or_the_token() {
        let c = core(Auth::User("etl user".into()));
        assert_eq!(
            c.url(E, "/tmp/a b/50%+x?.csv", "OPEN", &[("offset", "10")]),
            "http://127.0.0.1:9870/webhdfs/v1/tmp/a%20b/50%25%2Bx%3F.csv?op=OPEN&offset=10&user.name=etl%20user"
        );
        assert_eq!(
            c.url(E, "/", "GETFILESTATUS", &[]),
            "http://127.0.0.1:9870/webhdfs/v1/?op=GETFILESTATUS&user.name=etl%20user"
        );
        let c = core(Auth::Delegation(Token("tok=en".into())));
        assert!(c
            .url(E, "/a", "DELETE", &[])
            .ends_with("?op=DELETE&delegation=tok%3Den"));
    }
}
