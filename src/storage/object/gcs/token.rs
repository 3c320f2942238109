//! The service-account key exchanged for an access token (RFC 7523 JWT bearer grant) by
//! our own provider: reqsign's always posts to Google's token URI, while the key file
//! names its own (`token_uri`) and `fs.gs.token.server.url` may override it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use reqsign_core::{Context, ProvideCredential};
use sha2::Digest;

use crate::storage::object::CredentialFailure;

/// The access the tokens are asked for (the operator asks opendal for the same).
pub(super) const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";
/// Lifetime asked for a token-request JWT (Google's maximum).
const JWT_LIFETIME: Duration = Duration::from_secs(3600);

/// Exchanges a service-account key for an access token (RFC 7523 JWT bearer grant) at
/// the key's own token URI. The signer caches the token until shortly before it expires.
pub(super) struct ServiceAccountToken {
    pub(super) email: String,
    pub(super) key: rsa::RsaPrivateKey,
    pub(super) token_uri: String,
    /// Where a failed exchange says why (reqsign's chain drops the error itself).
    pub(super) failure: CredentialFailure,
}

impl std::fmt::Debug for ServiceAccountToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountToken")
            .field("email", &self.email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl ServiceAccountToken {
    /// The signed request JWT.
    fn assertion(&self, now: u64) -> reqsign_core::Result<String> {
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        let claims = serde_json::json!({
            "iss": self.email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + JWT_LIFETIME.as_secs(),
        });
        let input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let digest = sha2::Sha256::digest(input.as_bytes());
        let signature = self
            .key
            .sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &digest)
            .map_err(|e| {
                reqsign_core::Error::unexpected(format!("signing the token request: {e}"))
            })?;
        Ok(format!("{input}.{}", b64url(&signature)))
    }
}

impl ProvideCredential for ServiceAccountToken {
    type Credential = reqsign_google::Credential;

    async fn provide_credential(
        &self,
        ctx: &Context,
    ) -> reqsign_core::Result<Option<Self::Credential>> {
        let result = self.exchange(ctx).await;
        self.failure.record(&result);
        result.map(Some)
    }
}

impl ServiceAccountToken {
    /// One JWT-bearer exchange: the token, or why there is none.
    async fn exchange(&self, ctx: &Context) -> reqsign_core::Result<reqsign_google::Credential> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &self.assertion(now)?)
            .finish();
        let request = http::Request::post(&self.token_uri)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(bytes::Bytes::from(body))
            .map_err(|e| {
                reqsign_core::Error::config_invalid(format!("token URI {}: {e}", self.token_uri))
            })?;
        let response = ctx.http_send(request).await.map_err(|e| {
            reqsign_core::Error::unexpected(format!(
                "the token server {} did not answer: {e}",
                self.token_uri
            ))
        })?;
        let status = response.status();
        let text = String::from_utf8_lossy(response.body()).to_string();
        if !status.is_success() {
            return Err(reqsign_core::Error::credential_invalid(format!(
                "the token server {} refused the service account {}: {status}: {}",
                self.token_uri,
                self.email,
                text.chars().take(300).collect::<String>()
            )));
        }
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            reqsign_core::Error::unexpected(format!("token response from {}: {e}", self.token_uri))
        })?;
        let access_token = json
            .get("access_token")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                reqsign_core::Error::unexpected(format!(
                    "token response from {} has no access_token",
                    self.token_uri
                ))
            })?;
        let expires_in = json
            .get("expires_in")
            .and_then(|v| v.as_u64())
            .unwrap_or(3600);
        Ok(reqsign_google::Credential::with_token(
            reqsign_google::Token {
                access_token: access_token.to_string(),
                expires_at: Some(
                    reqsign_core::time::Timestamp::now() + Duration::from_secs(expires_in),
                ),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use rsa::pkcs8::DecodePrivateKey;

    use super::*;

    /// A throwaway 1024-bit test key (generated for these tests, used nowhere else).
    const TEST_KEY: &str = include_str!("../../../../tests/data/gcs-test-key.pem");

    #[test]
    fn the_token_request_is_a_signed_jwt_for_the_token_uri() {
        let provider = ServiceAccountToken {
            email: "a@b".into(),
            key: rsa::RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap(),
            token_uri: "http://127.0.0.1:9/token".into(),
            failure: CredentialFailure::default(),
        };
        let jwt = provider.assertion(1_000).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["aud"], "http://127.0.0.1:9/token");
        assert_eq!(claims["iss"], "a@b");
        assert_eq!(claims["exp"], 4_600);
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        let digest = sha2::Sha256::digest(format!("{}.{}", parts[0], parts[1]).as_bytes());
        rsa::RsaPublicKey::from(&provider.key)
            .verify(
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                &digest,
                &signature,
            )
            .expect("a valid RS256 signature");
        assert!(!format!("{provider:?}").contains("PRIVATE"));
    }
}
