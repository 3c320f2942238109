//! Requests signed in the transport, after opendal built them, for what opendal 0.59's
//! services cannot sign themselves: OSS signature V4 (its OSS service signs V1 only;
//! reqsign, which it uses, has V4) and COS copies, whose source must be in the host form
//! Tencent documents before they are signed (the service sends `/bucket/key`).
//! Hand-written glue only: the signatures are reqsign's.

use http::request::Parts;
use http::{Request, Response};
use opendal::{Buffer, HttpBody, HttpTransport, HttpTransporter};
use reqsign_core::{Context, Signer, SigningCredential};

/// Changes a request before it is signed; says whether it must be signed (again).
type Prepare = Box<dyn Fn(&mut Parts) -> bool + Send + Sync>;

/// A transport that prepares and signs requests, then sends them through `inner`.
pub(super) struct SigningTransport<K: SigningCredential> {
    inner: HttpTransporter,
    signer: Signer<K>,
    prepare: Prepare,
}

impl<K: SigningCredential> HttpTransport for SigningTransport<K> {
    async fn fetch(&self, req: Request<Buffer>) -> opendal::Result<Response<HttpBody>> {
        let (mut parts, body) = req.into_parts();
        if (self.prepare)(&mut parts) {
            parts.headers.remove(http::header::AUTHORIZATION);
            self.signer.sign(&mut parts, None).await.map_err(|e| {
                opendal::Error::new(opendal::ErrorKind::Unexpected, "cannot sign the request")
                    .set_source(e)
            })?;
        }
        self.inner.fetch(Request::from_parts(parts, body)).await
    }
}

/// OSS requests (sent unsigned by opendal) signed with signature V4 for `region`.
pub(super) fn oss_v4(
    inner: HttpTransporter,
    bucket: &str,
    region: &str,
    keys: (&str, &str, Option<&str>),
) -> HttpTransporter {
    let (access, secret, token) = keys;
    let mut provider = reqsign_aliyun_oss::StaticCredentialProvider::new(access, secret);
    if let Some(token) = token {
        provider = provider.with_security_token(token);
    }
    let signer = reqsign_aliyun_oss::RequestSigner::new(bucket)
        .with_region(region)
        .with_signing_version(reqsign_aliyun_oss::SigningVersion::V4);
    HttpTransporter::new(SigningTransport {
        inner,
        signer: Signer::new(Context::new(), provider, signer),
        prepare: Box::new(|_| true),
    })
}

/// COS requests as opendal signs them, except: copies, whose `x-cos-copy-source` becomes
/// `<bucket>.<endpoint host>/<key>`, and, with a session token, every request, signed again
/// with `x-cos-security-token` among the signed headers as Tencent's SDKs sign it
/// (reqsign adds it after signing, outside the signature).
pub(super) fn cos(
    inner: HttpTransporter,
    bucket: &str,
    keys: (&str, &str, Option<&str>),
) -> HttpTransporter {
    let (id, key, token) = keys;
    let provider = reqsign_tencent_cos::StaticCredentialProvider::new(id, key);
    let path_form = format!("/{bucket}/");
    let token = token.and_then(|t| {
        let mut value = http::HeaderValue::try_from(t).ok()?;
        value.set_sensitive(true);
        Some(value)
    });
    HttpTransporter::new(SigningTransport {
        inner,
        signer: Signer::new(
            Context::new(),
            provider,
            reqsign_tencent_cos::RequestSigner::new(),
        ),
        prepare: Box::new(move |parts| {
            let rewritten = copy_source_in_host_form(parts, &path_form);
            match &token {
                Some(token) => {
                    parts.headers.remove(http::header::DATE);
                    parts.headers.insert(COS_SECURITY_TOKEN, token.clone());
                    true
                }
                None => rewritten,
            }
        }),
    })
}

const COS_COPY_SOURCE: &str = "x-cos-copy-source";
const COS_SECURITY_TOKEN: &str = "x-cos-security-token";

/// `/<bucket>/<key>` → `<request's host>/<key>` (the request goes to the bucket's own
/// host, and a rename copies within one bucket). `true` when it changed the header; then
/// the date the first signature added goes too, so the second signs what the first did.
fn copy_source_in_host_form(parts: &mut Parts, path_form: &str) -> bool {
    let Some(key) = parts
        .headers
        .get(COS_COPY_SOURCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(path_form))
    else {
        return false;
    };
    let Some(host) = parts.uri.authority() else {
        return false;
    };
    match http::HeaderValue::try_from(format!("{host}/{key}")) {
        Ok(value) => {
            parts.headers.insert(COS_COPY_SOURCE, value);
            parts.headers.remove(http::header::DATE);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cos_copy_source_takes_the_bucket_host() {
        let (mut parts, ()) =
            Request::put("http://bkt-1250000000.cos.ap-guangzhou.myqcloud.com/d/b%20c")
                .header(COS_COPY_SOURCE, "/bkt-1250000000/d/a%20c")
                .body(())
                .unwrap()
                .into_parts();
        assert!(copy_source_in_host_form(&mut parts, "/bkt-1250000000/"));
        assert_eq!(
            parts.headers[COS_COPY_SOURCE],
            "bkt-1250000000.cos.ap-guangzhou.myqcloud.com/d/a%20c"
        );
        // Already in host form (or not a copy): left alone, not signed again.
        assert!(!copy_source_in_host_form(&mut parts, "/bkt-1250000000/"));
    }
}
