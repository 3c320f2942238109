//! The Azure Blob backend against a real Blob server (Azurite, common/azurite.rs),
//! through the Thrift wire: the conformance suite on `wasb://` and `wasbs://` with an
//! account key, a container SAS and an account SAS; a 64 MiB write read back whole; the
//! reaper; directory deletes and renames under a SAS (multi-key deletes); refused
//! credentials. The account key never reaching a log is scripts/test.sh's search of
//! every broker log (tests/secrets.txt).

use std::sync::OnceLock;

use crate::common::azurite::{Azurite, Credential, ACCOUNT_KEY};
use crate::common::object_checks::{
    big_write_round_trip, directory_rename_and_delete, reaped_writer_leaves_nothing,
};
use crate::common::*;
use crate::conformance::unique;

const CONTAINER: &str = "broker-test";

fn server() -> &'static Azurite {
    static SERVER: OnceLock<Azurite> = OnceLock::new();
    SERVER.get_or_init(|| Azurite::start(&[CONTAINER]))
}

/// The suite on `wasb://` and `wasbs://` with each kind of credential, one broker and
/// base each: `azure::conformance::wasbs_container_sas::rename_dir` ...
macro_rules! conformance_on {
    ($name:ident, $scheme:literal, $credential:expr) => {
        mod $name {
            use super::*;
            use crate::conformance::{Check, Suite, Target};

            fn run(check: Check) {
                static SUITE: Suite = Suite::new();
                let azure = server();
                SUITE.run(
                    "azurite",
                    BrokerProcess::start,
                    |_| {
                        Target::new(
                            format!("{}/{}", azure.base($scheme, CONTAINER), unique("conf")),
                            azure.props(CONTAINER, $credential),
                        )
                    },
                    check,
                );
            }

            crate::conformance::conformance_tests!(run, needs Server::Azurite);
        }
    };
}

mod conformance {
    use super::*;
    conformance_on!(wasb_account_key, "wasb", Credential::AccountKey);
    conformance_on!(wasbs_account_key, "wasbs", Credential::AccountKey);
    conformance_on!(wasb_container_sas, "wasb", Credential::ContainerSas);
    conformance_on!(wasbs_container_sas, "wasbs", Credential::ContainerSas);
    conformance_on!(wasb_account_sas, "wasb", Credential::AccountSas);
    conformance_on!(wasbs_account_sas, "wasbs", Credential::AccountSas);
}

#[test]
fn a_64_mib_write_reads_back_whole() {
    if missing(Server::Azurite) {
        return;
    }
    let azure = server();
    let broker = BrokerProcess::start();
    for credential in [Credential::AccountKey, Credential::ContainerSas] {
        let path = format!(
            "{}/{}/big.bin",
            azure.base("wasbs", CONTAINER),
            unique("big")
        );
        big_write_round_trip(&broker, &path, &azure.props(CONTAINER, credential));
    }
}

#[test]
fn a_reaped_writer_leaves_nothing() {
    if missing(Server::Azurite) {
        return;
    }
    let azure = server();
    let broker = BrokerProcess::start_with(&[("client_expire_seconds", "2")]);
    let dir = unique("reap");
    let path = format!("{}/{dir}/reaped.bin", azure.base("wasbs", CONTAINER));
    reaped_writer_leaves_nothing(
        &broker,
        &path,
        &azure.props(CONTAINER, Credential::AccountKey),
    );
    assert_eq!(
        azure.blobs(CONTAINER, &format!("{dir}/")),
        Vec::<String>::new()
    );
}

/// Deleting a directory and renaming one delete many keys at once: under a SAS each of
/// those deletes must be authorized (Azure checks every sub-request of a batch on its
/// own), so nothing is left behind at the source.
#[test]
fn directory_deletes_and_renames_under_a_sas_leave_nothing_behind() {
    if missing(Server::Azurite) {
        return;
    }
    let azure = server();
    let broker = BrokerProcess::start();
    for credential in [Credential::ContainerSas, Credential::AccountSas] {
        directory_rename_and_delete(
            &broker,
            &azure.base("wasbs", CONTAINER),
            &azure.props(CONTAINER, credential),
            |prefix| azure.blobs(CONTAINER, prefix),
        );
    }
}

/// A wrong key and a SAS for another container are refused with the store's reason.
/// Azurite answers both with 403 `AuthorizationFailure` where Azure says
/// `AuthenticationFailed` (NOT_AUTHORIZED, held by src/storage/object/error.rs's tests on
/// a recorded Azure answer); `AuthorizationFailure` is Azure's word for an authenticated
/// caller refused access, an ordinary storage error.
#[test]
fn refused_credentials_and_a_missing_key() {
    if missing(Server::Azurite) {
        return;
    }
    let azure = server();
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let path = format!(
        "{}/{}/x.csv",
        azure.base("wasbs", CONTAINER),
        unique("refused")
    );
    let mut wrong_key = azure.props(CONTAINER, Credential::AccountKey);
    for v in wrong_key.values_mut() {
        if v == ACCOUNT_KEY {
            *v = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk=".into();
        }
    }
    let mut other_container = azure.props(CONTAINER, Credential::AccountKey);
    other_container.retain(|k, _| !k.starts_with("fs.azure.account.key."));
    other_container.insert(
        format!("fs.azure.sas.{CONTAINER}.devstoreaccount1.blob.core.windows.net"),
        crate::common::azurite::container_sas("another-container", "racwdl"),
    );
    for p in [wrong_key, other_container] {
        let r = c.with_props(&p).exists(&path);
        assert_code(&r.op_status, Code::TARGET_STORAGE_SERVICE_ERROR);
        assert!(
            message(&r.op_status).contains("Azure error AuthorizationFailure"),
            "{:?}",
            r.op_status
        );
    }
    // A missing key names the key.
    let mut none = azure.props(CONTAINER, Credential::AccountKey);
    none.retain(|k, _| !k.starts_with("fs.azure.account.key."));
    let r = c.with_props(&none).exists(&path);
    assert_code(&r.op_status, Code::INVALID_ARGUMENT);
    assert!(
        message(&r.op_status)
            .contains("fs.azure.account.key.devstoreaccount1.blob.core.windows.net"),
        "{:?}",
        r.op_status
    );
}
