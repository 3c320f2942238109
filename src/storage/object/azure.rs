//! `wasb://`, `wasbs://`, `abfs://`, `abfss://container@account.<host suffix>/path`:
//! Azure Blob Storage and ADLS Gen2 on opendal's Azure Blob service.
//!
//! ADLS Gen2 accounts (`account.dfs.core.windows.net`) are reached through the Blob
//! endpoint of the same account (`account.blob.core.windows.net`), which serves the
//! same data (multi-protocol access): one service, and flat-namespace semantics like
//! every other store here. `wasb://` is plain HTTP (as in Hadoop); the others HTTPS.
//!
//! Credentials, exactly one of:
//! * an account key: `fs.azure.account.key.<account host>` (Hadoop, e.g.
//!   `fs.azure.account.key.acct.blob.core.windows.net`), or StarRocks'
//!   `azure.blob.shared_key` / `azure.adls2.shared_key`;
//! * a SAS token: `fs.azure.sas.<container>.<account host>` (Hadoop), or StarRocks'
//!   `azure.blob.sas_token` / `azure.adls2.sas_token`.
//!
//! StarRocks' `azure.blob.storage_account` / `azure.adls2.storage_account` and
//! `azure.blob.container`, when given, must name the URI's account and container.
//! `azure.blob.endpoint` (this broker's, for an emulator or a private endpoint) replaces
//! `<scheme>://<account>.blob.<suffix>`.

use base64::Engine;
use opendal::Operator;
use reqsign_core::{Context, ProvideCredential, ProvideCredentialChain};

use super::props::{endpoint_url, invalid, one_of};
use super::Dialect;
use crate::storage::{Properties, Result};

pub struct Azure;

const STORE: &str = "Azure";
const SHARED_KEY: &[&str] = &["azure.blob.shared_key", "azure.adls2.shared_key"];
const SAS_TOKEN: &[&str] = &["azure.blob.sas_token", "azure.adls2.sas_token"];
const ACCOUNT: &[&str] = &["azure.blob.storage_account", "azure.adls2.storage_account"];
const CONTAINER: &[&str] = &["azure.blob.container"];
const ENDPOINT: &[&str] = &["azure.blob.endpoint"];
/// The DFS endpoint of `abfs(s)://` (`azdls.rs`), when it differs from the host's.
const DFS_ENDPOINT: &[&str] = &["azure.adls2.endpoint"];

/// Connection settings of one container. No `Debug`: it holds keys.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AzureSettings {
    pub(super) container: String,
    pub(super) account: String,
    pub(super) endpoint: String,
    pub(super) credential: Secret,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) enum Secret {
    AccountKey(String),
    Sas(String),
}

/// `container@account.blob.core.windows.net` → (container, account, host).
fn split_authority(authority: &str) -> Result<(&str, &str, &str)> {
    let bad = || {
        invalid(
            STORE,
            format!(
                "'{authority}' is not container@account.blob.core.windows.net \
                 (or account.dfs.core.windows.net)"
            ),
        )
    };
    let (container, host) = authority.split_once('@').ok_or_else(bad)?;
    let (account, suffix) = host.split_once('.').ok_or_else(bad)?;
    if container.is_empty() || account.is_empty() || suffix.is_empty() {
        return Err(bad());
    }
    Ok((container, account, host))
}

impl Dialect for Azure {
    type Settings = AzureSettings;
    const STORE: &'static str = STORE;
    const ACCOUNT_IN_AUTHORITY: bool = true;

    fn settings(&self, scheme: &str, authority: &str, props: &Properties) -> Result<AzureSettings> {
        settings(scheme, authority, props, Api::Blob)
    }

    fn describe(s: &AzureSettings) -> String {
        describe(s)
    }

    fn is_anonymous(_: &AzureSettings) -> bool {
        false
    }

    /// Not under a SAS: Azure authorizes each sub-request of a blob batch on its own, and
    /// those opendal sends under a SAS are refused (tests/integration/azure.rs, on Azurite).
    fn batch_deletes(s: &AzureSettings) -> bool {
        !matches!(s.credential, Secret::Sas(_))
    }

    fn operator(s: &AzureSettings) -> opendal::Result<Operator> {
        Operator::new(
            opendal::services::Azblob::default()
                .container(&s.container)
                .root("/")
                .endpoint(&s.endpoint)
                .account_name(&s.account)
                .credential_provider_chain(credentials(s)),
        )
    }
}

/// Which of an account's endpoints the settings are for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    /// `account.blob.<suffix>` (`wasb(s)://`).
    Blob,
    /// `account.dfs.<suffix>`, ADLS Gen2's hierarchical API (`abfs(s)://`, `azdls.rs`).
    Dfs,
}

/// The settings of `container@account.<host suffix>` for one of the account's APIs.
pub(super) fn settings(
    scheme: &str,
    authority: &str,
    props: &Properties,
    api: Api,
) -> Result<AzureSettings> {
    let (container, account, host) = split_authority(authority)?;
    let host = host.to_ascii_lowercase();
    for (keys, want) in [(ACCOUNT, account), (CONTAINER, container)] {
        if let Some((given, key)) = one_of(STORE, props, keys, false)? {
            if given != want {
                return Err(invalid(
                    STORE,
                    format!("{key} = {given} but the path names {want}"),
                ));
            }
        }
    }
    let hadoop_key = format!("fs.azure.account.key.{host}");
    let hadoop_sas = format!("fs.azure.sas.{container}.{host}");
    // The Hadoop key names are made from the path, so they are looked up beside the
    // StarRocks ones rather than through `one_of`'s static list.
    let account_key = first_secret(props, &hadoop_key, SHARED_KEY)?;
    let sas = first_secret(props, &hadoop_sas, SAS_TOKEN)?;
    let credential = match (account_key, sas) {
        (Some((_, a)), Some((_, b))) => {
            return Err(invalid(
                STORE,
                format!("{a} and {b} are alternatives: give one"),
            ));
        }
        (Some((key, name)), None) => {
            base64::engine::general_purpose::STANDARD
                .decode(key)
                .map_err(|_| invalid(STORE, format!("{name} is not a base64 account key")))?;
            Secret::AccountKey(key.to_string())
        }
        (None, Some((token, _))) => Secret::Sas(token.trim_start_matches('?').to_string()),
        (None, None) => {
            return Err(invalid(
                STORE,
                format!(
                    "no credentials for {authority}: set {hadoop_key} or {} (account key), \
                         or {hadoop_sas} or {} (SAS token)",
                    SHARED_KEY[0], SAS_TOKEN[0]
                ),
            ))
        }
    };
    let (endpoint_keys, from, to) = match api {
        Api::Blob => (ENDPOINT, "dfs.", "blob."),
        Api::Dfs => (DFS_ENDPOINT, "blob.", "dfs."),
    };
    let endpoint = match one_of(STORE, props, endpoint_keys, false)? {
        Some((v, k)) => endpoint_url(STORE, v, k, true)?,
        None => {
            let suffix = &host[account.len() + 1..];
            let suffix = suffix
                .strip_prefix(from)
                .map_or(suffix.to_string(), |rest| format!("{to}{rest}"));
            let tls = scheme != "wasb";
            format!(
                "{}://{account}.{suffix}",
                if tls { "https" } else { "http" }
            )
        }
    };
    Ok(AzureSettings {
        container: container.to_string(),
        account: account.to_string(),
        endpoint,
        credential,
    })
}

/// A log-safe description of the settings: no key.
pub(super) fn describe(s: &AzureSettings) -> String {
    let credentials = match s.credential {
        Secret::AccountKey(_) => "account key",
        Secret::Sas(_) => "SAS token",
    };
    format!(
        "endpoint {}, account {}, credentials: {credentials}",
        s.endpoint, s.account
    )
}

/// The settings' credential as a provider chain whose `Debug` prints no key.
pub(super) fn credentials(
    s: &AzureSettings,
) -> ProvideCredentialChain<reqsign_azure_storage::Credential> {
    let credential = match &s.credential {
        Secret::AccountKey(key) => reqsign_azure_storage::Credential::SharedKey {
            account_name: s.account.clone(),
            account_key: key.clone(),
        },
        Secret::Sas(token) => reqsign_azure_storage::Credential::SasToken {
            token: token.clone(),
            expires_at: None,
        },
    };
    ProvideCredentialChain::new().push(Fixed(credential))
}

/// A property under a Hadoop key made from the path, or under the StarRocks keys.
fn first_secret<'a>(
    props: &'a Properties,
    hadoop: &str,
    starrocks: &[&'static str],
) -> Result<Option<(&'a str, String)>> {
    let from_hadoop = super::props::get(props, hadoop).map(|v| (v, hadoop.to_string()));
    let from_starrocks = one_of(STORE, props, starrocks, true)?.map(|(v, k)| (v, k.to_string()));
    match (from_hadoop, from_starrocks) {
        (Some((a, ka)), Some((b, kb))) if a != b => Err(invalid(
            STORE,
            format!("{ka} and {kb} are both set and differ"),
        )),
        (Some(found), _) | (None, Some(found)) => Ok(Some(found)),
        (None, None) => Ok(None),
    }
}

/// A fixed credential whose `Debug` shows only its kind (the stock static provider
/// prints the key when the signer debug-logs the providers it tries).
struct Fixed(reqsign_azure_storage::Credential);

impl std::fmt::Debug for Fixed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.0 {
            reqsign_azure_storage::Credential::SharedKey { .. } => "account key",
            reqsign_azure_storage::Credential::SasToken { .. } => "SAS token",
            _ => "other",
        };
        write!(f, "Fixed({kind})")
    }
}

impl ProvideCredential for Fixed {
    type Credential = reqsign_azure_storage::Credential;

    async fn provide_credential(
        &self,
        _: &Context,
    ) -> reqsign_core::Result<Option<Self::Credential>> {
        Ok(Some(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::StorageError;

    use crate::storage::props_of as props;

    const KEY: &str = "c2VjcmV0LWFjY291bnQta2V5"; // base64 of "secret-account-key"

    #[test]
    fn hadoop_and_starrocks_keys_build_the_settings() {
        let s = Azure
            .settings(
                "wasbs",
                "cont@acct.blob.core.windows.net",
                &props(&[("fs.azure.account.key.acct.blob.core.windows.net", KEY)]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "https://acct.blob.core.windows.net");
        assert_eq!((s.container.as_str(), s.account.as_str()), ("cont", "acct"));
        assert!(s.credential == Secret::AccountKey(KEY.into()));
        assert!(Azure::operator(&s).is_ok());
        assert!(!Azure::describe(&s).contains(KEY));
        // ADLS Gen2 through the account's Blob endpoint; wasb is plain HTTP.
        let s = Azure
            .settings(
                "abfss",
                "cont@acct.dfs.core.windows.net",
                &props(&[
                    ("azure.adls2.storage_account", "acct"),
                    ("azure.adls2.shared_key", KEY),
                ]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "https://acct.blob.core.windows.net");
        let s = Azure
            .settings(
                "wasb",
                "cont@acct.blob.core.chinacloudapi.cn",
                &props(&[(
                    "fs.azure.sas.cont.acct.blob.core.chinacloudapi.cn",
                    "?sv=1&sig=x",
                )]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "http://acct.blob.core.chinacloudapi.cn");
        assert!(s.credential == Secret::Sas("sv=1&sig=x".into()));
        let s = Azure
            .settings(
                "wasbs",
                "cont@acct.blob.core.windows.net",
                &props(&[
                    ("azure.blob.sas_token", "sv=1&sig=x"),
                    ("azure.blob.endpoint", "http://127.0.0.1:10000/acct"),
                ]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:10000/acct");
    }

    #[test]
    fn missing_and_contradictory_keys_are_named() {
        let authority = "cont@acct.blob.core.windows.net";
        for (pairs, named) in [
            (vec![], "fs.azure.account.key.acct.blob.core.windows.net"),
            (
                vec![
                    ("azure.blob.shared_key", KEY),
                    ("azure.blob.sas_token", "sig=x"),
                ],
                "azure.blob.sas_token",
            ),
            (
                vec![
                    ("azure.blob.shared_key", KEY),
                    ("azure.blob.storage_account", "other"),
                ],
                "azure.blob.storage_account",
            ),
            (
                vec![("azure.blob.shared_key", "not base64!")],
                "azure.blob.shared_key",
            ),
            (
                vec![
                    ("azure.blob.shared_key", KEY),
                    (
                        "fs.azure.account.key.acct.blob.core.windows.net",
                        "b3RoZXI=",
                    ),
                ],
                "fs.azure.account.key.acct.blob.core.windows.net",
            ),
        ] {
            match Azure.settings("wasbs", authority, &props(&pairs)) {
                Err(StorageError::InvalidArgument(m)) => {
                    assert!(m.contains(named), "{m}");
                    assert!(!m.contains(KEY), "{m}");
                }
                Err(e) => panic!("{pairs:?}: {e}"),
                Ok(_) => panic!("{pairs:?} accepted"),
            }
        }
        assert!(Azure.settings("wasbs", "no-account", &props(&[])).is_err());
    }

    #[test]
    fn the_credential_prints_no_key() {
        let fixed = Fixed(reqsign_azure_storage::Credential::SharedKey {
            account_name: "acct".into(),
            account_key: KEY.into(),
        });
        assert!(!format!("{fixed:?}").contains(KEY));
    }
}
