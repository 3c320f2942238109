//! `abfs://`, `abfss://container@account.dfs.core.windows.net/path`: ADLS Gen2 through its
//! DFS API (opendal's `azdls` service), as Hadoop's ABFS driver reaches it: real
//! directories, a directory rename in one rename call, a directory delete in one
//! recursive delete, listings paged through `x-ms-continuation`. `wasb(s)://` stays on
//! the Blob API (`azure.rs`).
//!
//! The properties are `azure.rs`'s (account key or SAS token under the Hadoop and
//! StarRocks names), read by the same code; the endpoint is the account's DFS one
//! (`account.dfs.<suffix>`), or `azure.adls2.endpoint` (an emulator, a private
//! endpoint).

use opendal::Operator;

use super::azure::{self, Api, AzureSettings};
use super::Dialect;
use crate::storage::{Properties, Result};

pub struct AzureDfs;

impl Dialect for AzureDfs {
    type Settings = AzureSettings;
    const STORE: &'static str = "Azure DFS";
    const ACCOUNT_IN_AUTHORITY: bool = true;
    const HIERARCHICAL: bool = true;

    fn settings(&self, scheme: &str, authority: &str, props: &Properties) -> Result<AzureSettings> {
        azure::settings(scheme, authority, props, Api::Dfs)
    }

    fn describe(s: &AzureSettings) -> String {
        azure::describe(s)
    }

    fn is_anonymous(_: &AzureSettings) -> bool {
        false
    }

    fn operator(s: &AzureSettings) -> opendal::Result<Operator> {
        Operator::new(
            opendal::services::Azdls::default()
                .filesystem(&s.container)
                .root("/")
                .endpoint(&s.endpoint)
                .account_name(&s.account)
                .credential_provider_chain(azure::credentials(s)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::props_of as props;

    const KEY: &str = "c2VjcmV0LWFjY291bnQta2V5";

    #[test]
    fn the_dfs_endpoint_of_the_account() {
        let s = AzureDfs
            .settings(
                "abfss",
                "cont@acct.dfs.core.windows.net",
                &props(&[("azure.adls2.shared_key", KEY)]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "https://acct.dfs.core.windows.net");
        assert!(AzureDfs::operator(&s).is_ok());
        assert!(!AzureDfs::describe(&s).contains(KEY));
        // A blob host names the same account: its DFS endpoint.
        let s = AzureDfs
            .settings(
                "abfs",
                "cont@acct.blob.core.windows.net",
                &props(&[("fs.azure.account.key.acct.blob.core.windows.net", KEY)]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "https://acct.dfs.core.windows.net");
        // The Blob endpoint override is not the DFS one.
        let s = AzureDfs
            .settings(
                "abfss",
                "cont@acct.dfs.core.windows.net",
                &props(&[
                    ("azure.adls2.sas_token", "sv=1&sig=x"),
                    ("azure.blob.endpoint", "http://127.0.0.1:10000/acct"),
                    ("azure.adls2.endpoint", "http://127.0.0.1:10001/acct"),
                ]),
            )
            .unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:10001/acct");
    }
}
