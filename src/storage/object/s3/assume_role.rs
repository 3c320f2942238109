//! S3 requests signed with a role's temporary credentials (StarRocks' `aws.s3.iam_role_arn`,
//! `aws.s3.external_id`, `aws.s3.sts.endpoint`, `aws.s3.sts.region`): the base credentials
//! (a key pair, or the AWS default chain) call STS `AssumeRole`, and what STS issues signs
//! every S3 request. opendal's signer caches them and asks again two minutes before they
//! expire (reqsign's `Credential::is_valid`).
//!
//! Our own provider, not reqsign's `AssumeRoleCredentialProvider`: reqsign 3 sends
//! `AssumeRole` only to `https://sts[.region].amazonaws.com[.cn]` (no endpoint of one's own,
//! no port, no plain http), while `aws.s3.sts.endpoint` names any endpoint (a VPC endpoint,
//! a compatible store's STS). The request is signed by reqsign's SigV4 signer; only the
//! query and the answer's few fields are ours.

use reqsign_aws_v4::Credential;
use reqsign_core::{Context, ProvideCredential, ProvideCredentialChain, SignRequest};
use sha2::Digest;

use crate::storage::object::props::{endpoint_url, get, host_of, invalid};
use crate::storage::object::CredentialFailure;
use crate::storage::{Properties, Result};

pub(super) const ROLE_ARN: &str = "aws.s3.iam_role_arn";
const EXTERNAL_ID: &str = "aws.s3.external_id";
const STS_ENDPOINT: &str = "aws.s3.sts.endpoint";
const STS_REGION: &str = "aws.s3.sts.region";

/// What the session is called in the role's CloudTrail entries.
const SESSION_NAME: &str = "file-broker";
/// STS's own default; the signer asks again before it runs out.
const SESSION_SECONDS: u64 = 3600;

/// The role to assume and where to ask: part of the client cache key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct AssumeRole {
    pub role_arn: String,
    external_id: Option<String>,
    /// With its scheme, no trailing slash.
    pub sts_endpoint: String,
    sts_region: String,
}

impl AssumeRole {
    /// The role settings, if a role ARN is given. `s3_region` signs the STS request unless
    /// `aws.s3.sts.region` is set or the STS endpoint's AWS host name holds a region.
    /// `has_base` says whether the S3 settings carry credentials to call STS with.
    pub fn from_props(props: &Properties, s3_region: &str, has_base: bool) -> Result<Option<Self>> {
        let Some(role_arn) = get(props, ROLE_ARN) else {
            if let Some(key) = [EXTERNAL_ID, STS_ENDPOINT, STS_REGION]
                .into_iter()
                .find(|k| get(props, k).is_some())
            {
                return Err(invalid(
                    "S3",
                    format!("{key} is set but {ROLE_ARN} is missing"),
                ));
            }
            return Ok(None);
        };
        if !has_base {
            return Err(invalid(
                "S3",
                format!(
                    "{ROLE_ARN} needs base credentials to call STS with: aws.s3.access_key and \
                     aws.s3.secret_key, or aws.s3.use_instance_profile = true"
                ),
            ));
        }
        let sts_endpoint = get(props, STS_ENDPOINT)
            .map(|v| endpoint_url("S3", v, STS_ENDPOINT, true))
            .transpose()?;
        let sts_region = get(props, STS_REGION)
            .map(str::to_string)
            .or_else(|| sts_endpoint.as_deref().and_then(region_of_sts_host))
            .unwrap_or_else(|| s3_region.to_string());
        let sts_endpoint = sts_endpoint.unwrap_or_else(|| {
            let domain = if sts_region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://sts.{sts_region}.{domain}")
        });
        Ok(Some(AssumeRole {
            role_arn: role_arn.to_string(),
            external_id: get(props, EXTERNAL_ID).map(str::to_string),
            sts_endpoint,
            sts_region,
        }))
    }
}

/// `sts.eu-west-1.amazonaws.com` → `eu-west-1`.
fn region_of_sts_host(endpoint: &str) -> Option<String> {
    let host = host_of(endpoint);
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let region = rest.strip_prefix("sts.")?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

/// Assumes the role with the base credentials whenever the signer needs credentials.
pub(super) struct AssumeRoleProvider {
    pub role: AssumeRole,
    pub base: ProvideCredentialChain<Credential>,
    /// Where a refusal says why (reqsign's chain drops the error itself).
    pub failure: CredentialFailure,
}

impl std::fmt::Debug for AssumeRoleProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssumeRoleProvider")
            .field("role_arn", &self.role.role_arn)
            .field("sts_endpoint", &self.role.sts_endpoint)
            .finish_non_exhaustive()
    }
}

impl ProvideCredential for AssumeRoleProvider {
    type Credential = Credential;

    async fn provide_credential(&self, ctx: &Context) -> reqsign_core::Result<Option<Credential>> {
        let result = self.assume(ctx).await;
        self.failure.record(&result);
        result.map(Some)
    }
}

impl AssumeRoleProvider {
    /// The `AssumeRole` form.
    fn form(&self) -> String {
        let role = &self.role;
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("Action", "AssumeRole")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", &role.role_arn)
            .append_pair("RoleSessionName", SESSION_NAME)
            .append_pair("DurationSeconds", &SESSION_SECONDS.to_string());
        if let Some(id) = &role.external_id {
            query.append_pair("ExternalId", id);
        }
        query.finish()
    }

    /// One `AssumeRole` call: the role's credentials, or why there are none.
    async fn assume(&self, ctx: &Context) -> reqsign_core::Result<Credential> {
        let role = &self.role;
        let base = self.base.provide_credential(ctx).await?.ok_or_else(|| {
            reqsign_core::Error::credential_invalid(format!(
                "no base credentials to assume the role {} with",
                role.role_arn
            ))
        })?;
        let body = bytes::Bytes::from(self.form());
        let request = http::Request::post(format!("{}/", role.sts_endpoint))
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header("x-amz-content-sha256", hex(&sha2::Sha256::digest(&body)))
            .body(body)
            .map_err(|e| {
                reqsign_core::Error::config_invalid(format!(
                    "STS endpoint {}: {e}",
                    role.sts_endpoint
                ))
            })?;
        let (mut parts, body) = request.into_parts();
        reqsign_aws_v4::RequestSigner::new("sts", &role.sts_region)
            .sign_request(ctx, &mut parts, Some(&base), None)
            .await?;
        let response = ctx
            .http_send(http::Request::from_parts(parts, body))
            .await
            .map_err(|e| {
                reqsign_core::Error::unexpected(format!(
                    "STS at {} did not answer: {e}",
                    role.sts_endpoint
                ))
            })?;
        let status = response.status();
        let text = String::from_utf8_lossy(response.body());
        if !status.is_success() {
            let (code, message) = sts_error(&text);
            let why = format!(
                "STS at {} refused to assume the role {}: {status}: {code}: {message}",
                role.sts_endpoint, role.role_arn
            );
            return Err(if status.is_client_error() {
                reqsign_core::Error::credential_invalid(why)
            } else {
                reqsign_core::Error::unexpected(why)
            });
        }
        parse_credentials(&text).ok_or_else(|| {
            reqsign_core::Error::unexpected(format!(
                "the AssumeRole answer of STS at {} holds no credentials",
                role.sts_endpoint
            ))
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The text of the first element named `name`.
fn text_of<'a>(doc: &'a roxmltree::Document, name: &str) -> Option<&'a str> {
    doc.descendants()
        .find(|n| n.tag_name().name() == name)
        .and_then(|n| n.text())
        .map(str::trim)
}

/// `<ErrorResponse><Error><Code>..</Code><Message>..</Message>`, or what there is.
fn sts_error(text: &str) -> (String, String) {
    let Ok(doc) = roxmltree::Document::parse(text) else {
        let body: String = text.chars().take(300).collect();
        return ("(no error code)".into(), body);
    };
    let field = |name| text_of(&doc, name).unwrap_or("").to_string();
    (field("Code"), field("Message"))
}

/// `AssumeRoleResult/Credentials`: key id, secret, session token, expiration.
fn parse_credentials(text: &str) -> Option<Credential> {
    let doc = roxmltree::Document::parse(text).ok()?;
    let expiration: reqsign_core::time::Timestamp = text_of(&doc, "Expiration")?.parse().ok()?;
    Some(Credential {
        access_key_id: text_of(&doc, "AccessKeyId")?.to_string(),
        secret_access_key: text_of(&doc, "SecretAccessKey")?.to_string(),
        session_token: Some(text_of(&doc, "SessionToken")?.to_string()),
        expires_in: Some(expiration),
    })
    .filter(|c| !c.access_key_id.is_empty() && !c.secret_access_key.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::props_of as props;
    use crate::storage::StorageError;

    #[test]
    fn the_role_and_where_to_ask() {
        let p = props(&[
            (ROLE_ARN, "arn:aws:iam::123456789012:role/reader"),
            (EXTERNAL_ID, "ext-1"),
        ]);
        let r = AssumeRole::from_props(&p, "eu-west-1", true)
            .unwrap()
            .unwrap();
        assert_eq!(r.sts_endpoint, "https://sts.eu-west-1.amazonaws.com");
        assert_eq!(r.sts_region, "eu-west-1");
        assert_eq!(r.external_id.as_deref(), Some("ext-1"));
        let p = props(&[
            (ROLE_ARN, "arn:aws:iam::123456789012:role/reader"),
            (STS_ENDPOINT, "sts.ap-south-1.amazonaws.com"),
        ]);
        let r = AssumeRole::from_props(&p, "us-east-1", true)
            .unwrap()
            .unwrap();
        assert_eq!(r.sts_endpoint, "https://sts.ap-south-1.amazonaws.com");
        assert_eq!(r.sts_region, "ap-south-1");
        let p = props(&[
            (ROLE_ARN, "arn:aws:iam::123456789012:role/reader"),
            (STS_ENDPOINT, "http://127.0.0.1:5000"),
            (STS_REGION, "cn-north-1"),
        ]);
        let r = AssumeRole::from_props(&p, "us-east-1", true)
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.sts_endpoint.as_str(), r.sts_region.as_str()),
            ("http://127.0.0.1:5000", "cn-north-1")
        );
        assert!(AssumeRole::from_props(&props(&[]), "us-east-1", false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_role_needs_base_credentials_and_its_settings_need_a_role() {
        let no_base = props(&[(ROLE_ARN, "arn:aws:iam::1:role/r")]);
        let only_id = props(&[(EXTERNAL_ID, "x")]);
        for (p, names) in [
            (no_base, [ROLE_ARN, "aws.s3.access_key"]),
            (only_id, [EXTERNAL_ID, ROLE_ARN]),
        ] {
            match AssumeRole::from_props(&p, "us-east-1", false) {
                Err(StorageError::InvalidArgument(msg)) => {
                    for name in names {
                        assert!(msg.contains(name), "{msg}");
                    }
                }
                other => panic!("{:?}", other.map(|r| r.is_some())),
            }
        }
    }

    #[test]
    fn sts_answers_are_read() {
        let ok = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
            <AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE123456789</AccessKeyId>\
            <SecretAccessKey>secret</SecretAccessKey><SessionToken>token</SessionToken>\
            <Expiration>2099-01-01T00:00:00.123Z</Expiration></Credentials>\
            <AssumedRoleUser><Arn>arn</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>";
        let c = parse_credentials(ok).unwrap();
        assert_eq!(c.access_key_id, "ASIAEXAMPLE123456789");
        assert_eq!(c.session_token.as_deref(), Some("token"));
        assert!(c.expires_in.is_some());
        let refused = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
            <Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>";
        assert_eq!(
            sts_error(refused),
            (
                "AccessDenied".to_string(),
                "not authorized to perform sts:AssumeRole".to_string()
            )
        );
        let provider = AssumeRoleProvider {
            role: AssumeRole::from_props(
                &props(&[(ROLE_ARN, "arn:aws:iam::1:role/r")]),
                "us-east-1",
                true,
            )
            .unwrap()
            .unwrap(),
            base: ProvideCredentialChain::new(),
            failure: CredentialFailure::default(),
        };
        assert!(format!("{provider:?}").contains("arn:aws:iam::1:role/r"));
    }
}
