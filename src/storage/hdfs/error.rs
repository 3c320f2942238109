//! hdfs-native's [`HdfsError`] -> [`StorageError`]: the one place HDFS failures are
//! classified. A namenode refusal arrives as `RPCError(class, message)` (or
//! `FatalRPCError` when the namenode also closed the connection), `class` being the Java
//! exception class of its `RemoteException`; the message's first line is the reason (the
//! rest is the namenode's stack trace).

use std::collections::HashMap;

use hdfs_native::HdfsError;

use crate::storage::clip::clip;
use crate::storage::{Location, StorageError};

/// The Java exception classes the mapping tells apart, by simple name: Hadoop moved some
/// of them between packages over the years, and subclasses keep the parent's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RemoteClass {
    /// `org.apache.hadoop.security.AccessControlException` and its snapshot subclass.
    AccessControl,
    /// `java.io.FileNotFoundException`.
    FileNotFound,
    /// `org.apache.hadoop.fs.FileAlreadyExistsException`.
    FileAlreadyExists,
    /// `javax.security.sasl.SaslException`.
    Sasl,
    /// `org.apache.hadoop.hdfs.protocol.NSQuotaExceededException`: a directory's namespace
    /// quota (how many names it may hold) is used up.
    NamespaceQuota,
    /// `org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException`: no new block
    /// until the datanodes report an earlier one stored.
    NotReplicatedYet,
    Other,
}

impl RemoteClass {
    fn of(class: &str) -> Self {
        match class.rsplit('.').next().unwrap_or(class) {
            "AccessControlException" | "SnapshotAccessControlException" => Self::AccessControl,
            "FileNotFoundException" => Self::FileNotFound,
            "FileAlreadyExistsException" => Self::FileAlreadyExists,
            "SaslException" => Self::Sasl,
            "NSQuotaExceededException" => Self::NamespaceQuota,
            "NotReplicatedYetException" => Self::NotReplicatedYet,
            _ => Self::Other,
        }
    }
}

/// Keeps the namenode's reason in the message (permission denied names user and inode).
pub(super) fn to_storage_error(loc: &Location, err: HdfsError) -> StorageError {
    let path = loc.to_string();
    match err {
        // Logging in failed: the KDC's or GSSAPI's reason.
        HdfsError::GSSAPIError(_, _, msg) => {
            StorageError::NotAuthorized(format!("{path}: Kerberos login failed: {msg}"))
        }
        // The SASL exchange with the namenode failed.
        HdfsError::SASLError(msg) => {
            StorageError::NotAuthorized(format!("{path}: authentication failed: {msg}"))
        }
        // Kerberos was asked for but the GSSAPI library is missing: say which package.
        HdfsError::OperationFailed(msg) if msg.contains("libgssapi") => {
            StorageError::NotAuthorized(format!(
                "{path}: Kerberos needs MIT's GSSAPI library libgssapi_krb5.so.2 on the broker host (Debian/Ubuntu: libgssapi-krb5-2, RHEL: krb5-libs): {msg}"
            ))
        }
        // The namenode wants an authentication this client was not set up for.
        HdfsError::NoSASLMechanism => StorageError::NotAuthorized(format!(
            "{path}: the namenode offers no authentication this client can do (Kerberos settings missing or wrong?)"
        )),
        // The namenode refused how we authenticated (Kerberos against a simple cluster or
        // the other way round): credentials, not a storage failure.
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg)
            if RemoteClass::of(&class) == RemoteClass::Sasl
                || (RemoteClass::of(&class) == RemoteClass::AccessControl
                    && msg.contains("authentication is not enabled")) =>
        {
            StorageError::NotAuthorized(format!("{path}: {}", first_line(&msg)))
        }
        // hdfs-native's own "no such path" (it looked the path up and found nothing).
        HdfsError::FileNotFound(_) => StorageError::NotFound { path },
        // hdfs-native turns the namenode's FileAlreadyExistsException and
        // AlreadyBeingCreatedException into this.
        HdfsError::AlreadyExists(_) => StorageError::AlreadyExists { path },
        // The namenode's "no such path", with its own words (a parent may be what is missing).
        HdfsError::RPCError(class, msg) if RemoteClass::of(&class) == RemoteClass::FileNotFound => {
            StorageError::NotFound {
                path: format!("{path} ({})", first_line(&msg)),
            }
        }
        // The same as hdfs-native's AlreadyExists, should it ever pass the class through.
        HdfsError::RPCError(class, _)
            if RemoteClass::of(&class) == RemoteClass::FileAlreadyExists =>
        {
            StorageError::AlreadyExists { path }
        }
        // A permission refusal: the namenode's text already says "Permission denied:
        // user=..., access=..., inode=...".
        HdfsError::RPCError(class, msg) if RemoteClass::of(&class) == RemoteClass::AccessControl => {
            StorageError::NotAuthorized(format!("{path}: {}", first_line(&msg)))
        }
        // Any other refusal (StandbyException when no namenode of a nameservice is active,
        // SafeModeException, quotas ...): the class's simple name says what it was.
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg) => {
            StorageError::Io {
                path,
                message: format!(
                    "{}: {}",
                    class.rsplit('.').next().unwrap_or(&class),
                    first_line(&msg)
                ),
            }
        }
        // Connection refused or reset, datanode and checksum failures, anything else:
        // hdfs-native's own text names it.
        other => StorageError::Io {
            path,
            message: bounded(&other.to_string()),
        },
    }
}

/// The most of a message kept: hdfs-native puts whole datanode records (kilobytes) in
/// some, which help nobody reading a status.
const MESSAGE_MAX: usize = 300;

/// The first line, without the datanode records, at most [`MESSAGE_MAX`] bytes.
fn bounded(msg: &str) -> String {
    let mut msg = first_line(msg);
    for records in [
        "[DatanodeInfoProto",
        "DatanodeInfoProto {",
        "[LocatedBlockProto",
    ] {
        if let Some(at) = msg.find(records) {
            msg = msg[..at].trim_end_matches([' ', ':']);
        }
    }
    clip(msg, MESSAGE_MAX)
}

/// What a client's data transfer settings are, for datanode failures to point at them.
#[derive(Clone, Default)]
pub(super) struct DataTransfer {
    /// Kerberos: the datanodes may require SASL on data transfer.
    pub secured: bool,
    /// `dfs.data.transfer.protection` as configured.
    pub protection: Option<String>,
}

const PROTECTION_KEY: &str = "dfs.data.transfer.protection";

impl DataTransfer {
    /// The settings of a client from its configuration. A secured client's protection must
    /// be a list of Hadoop's levels, as Hadoop's client requires: a misspelt one would
    /// otherwise only show as datanodes dropping every read and write.
    pub(super) fn new(secured: bool, config: &HashMap<String, String>) -> Result<Self, String> {
        let protection = config
            .get(PROTECTION_KEY)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        if let Some(value) = protection.as_ref().filter(|_| secured) {
            let levels = ["authentication", "integrity", "privacy"];
            if let Some(bad) = value
                .split(',')
                .map(str::trim)
                .find(|level| !levels.iter().any(|l| l.eq_ignore_ascii_case(level)))
            {
                return Err(format!(
                    "{PROTECTION_KEY} = {value}: '{bad}' is no protection level (authentication, integrity or privacy, as in the cluster's hdfs-site.xml)"
                ));
            }
        }
        Ok(DataTransfer {
            secured,
            protection,
        })
    }
}

/// A failure of a read or write on the datanodes: on a secured cluster, datanodes on
/// unprivileged ports drop a client whose `dfs.data.transfer.protection` is missing or
/// differs from theirs, which hdfs-native reports only as a reset connection or as every
/// datanode failing; the status says which property to check.
pub(super) fn datanode_error(
    loc: &Location,
    err: HdfsError,
    transfer: &DataTransfer,
) -> StorageError {
    let suspicious = transfer.secured
        && matches!(
            err,
            HdfsError::DataTransferError(_) | HdfsError::IOError(_) | HdfsError::SASLError(_)
        );
    let hint = match &transfer.protection {
        _ if !suspicious => None,
        None => Some(format!(
            "on a secured cluster this usually means {PROTECTION_KEY} is not set: set it as in the cluster's hdfs-site.xml (authentication, integrity or privacy)"
        )),
        Some(value) => Some(format!(
            "if every datanode fails this way, check that {PROTECTION_KEY} = {value} is what the cluster's datanodes use (authentication, integrity or privacy)"
        )),
    };
    match (to_storage_error(loc, err), hint) {
        (StorageError::Io { path, message }, Some(hint)) => StorageError::Io {
            path,
            message: format!("{message}; {hint}"),
        },
        (StorageError::NotAuthorized(message), Some(hint)) => {
            StorageError::NotAuthorized(format!("{message}; {hint}"))
        }
        (other, _) => other,
    }
}

/// Java exception messages carry a stack trace after the first line.
fn first_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or(msg).trim()
}

/// Whether the namenode refused the call with an exception of this class.
fn is_remote(err: &HdfsError, wanted: RemoteClass) -> bool {
    matches!(err, HdfsError::RPCError(class, _) | HdfsError::FatalRPCError(class, _)
        if RemoteClass::of(class) == wanted)
}

/// A refusal of the namenode (permissions, snapshots): retrying changes nothing.
pub(super) fn is_access_refusal(err: &HdfsError) -> bool {
    is_remote(err, RemoteClass::AccessControl)
}

/// A read failure on the datanode side: a dead or restarted datanode, a broken stream,
/// a bad checksum. Fresh block locations may well fix it.
pub(super) fn is_datanode_failure(err: &HdfsError) -> bool {
    matches!(
        err,
        HdfsError::DataTransferError(_) | HdfsError::IOError(_) | HdfsError::ChecksumError
    )
}

/// The directory's namespace quota has no room for one more name.
pub(super) fn is_namespace_quota(err: &HdfsError) -> bool {
    is_remote(err, RemoteClass::NamespaceQuota)
}

/// The namenode refused a new block until the datanodes report an earlier one (Hadoop's
/// client retries such an addBlock; hdfs-native does not).
pub(super) fn is_not_replicated_yet(err: &HdfsError) -> bool {
    is_remote(err, RemoteClass::NotReplicatedYet)
}

/// hsync is refused for erasure-coded files (close still waits for every block).
pub(super) fn is_hsync_unsupported(err: &HdfsError) -> bool {
    matches!(
        err,
        HdfsError::UnsupportedFeature(_) | HdfsError::UnsupportedErasureCodingPolicy(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCESS_CONTROL: &str = "org.apache.hadoop.security.AccessControlException";

    fn loc() -> Location {
        Location::parse("hdfs://nn:8020/a").unwrap()
    }

    fn rpc(class: &str, msg: &str) -> HdfsError {
        HdfsError::RPCError(class.into(), msg.into())
    }

    fn io_message(err: StorageError) -> String {
        match err {
            StorageError::Io { path, message } => {
                assert_eq!(path, "hdfs://nn:8020/a");
                message
            }
            other => panic!("expected Io, got {other:?}"),
        }
    }

    #[test]
    fn authentication_failures_are_not_authorized() {
        let missing_lib = HdfsError::OperationFailed("Failed to load libgssapi_krb".into());
        let err = to_storage_error(&loc(), missing_lib);
        assert!(
            matches!(&err, StorageError::NotAuthorized(m) if m.contains("libgssapi-krb5-2")),
            "{err}"
        );
        let err = to_storage_error(&loc(), HdfsError::SASLError("boom".into()));
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err}");
        let err = to_storage_error(&loc(), HdfsError::NoSASLMechanism);
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err}");
        let simple_refused = HdfsError::FatalRPCError(
            ACCESS_CONTROL.into(),
            "SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]".into(),
        );
        let err = to_storage_error(&loc(), simple_refused);
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err}");
        let sasl = rpc(
            "javax.security.sasl.SaslException",
            "GSS initiate failed\n\tat x",
        );
        let err = to_storage_error(&loc(), sasl);
        assert!(
            matches!(&err, StorageError::NotAuthorized(m) if m.ends_with("GSS initiate failed")),
            "{err}"
        );
    }

    fn not_authorized(err: StorageError) -> String {
        match err {
            StorageError::NotAuthorized(m) => m,
            other => panic!("expected NotAuthorized, got {other:?}"),
        }
    }

    #[test]
    fn permission_refusals_are_not_authorized() {
        let denied = rpc(
            ACCESS_CONTROL,
            "Permission denied: user=alice, access=READ_EXECUTE, inode=\"/bob\"\n\tat org.apache...",
        );
        assert!(is_access_refusal(&denied));
        assert_eq!(
            not_authorized(to_storage_error(&loc(), denied)),
            "hdfs://nn:8020/a: Permission denied: user=alice, access=READ_EXECUTE, inode=\"/bob\""
        );
        let snapshot = rpc(
            "org.apache.hadoop.hdfs.protocol.SnapshotAccessControlException",
            "Modification on a read-only snapshot is disallowed",
        );
        assert_eq!(
            not_authorized(to_storage_error(&loc(), snapshot)),
            "hdfs://nn:8020/a: Modification on a read-only snapshot is disallowed"
        );
        assert!(!is_access_refusal(&HdfsError::ChecksumError));
    }

    #[test]
    fn missing_and_existing_paths() {
        let err = to_storage_error(&loc(), HdfsError::FileNotFound("/a".into()));
        assert!(matches!(&err, StorageError::NotFound { path } if path == "hdfs://nn:8020/a"));
        let remote = rpc(
            "java.io.FileNotFoundException",
            "File does not exist: /a\n\tat x",
        );
        let err = to_storage_error(&loc(), remote);
        assert!(
            matches!(&err, StorageError::NotFound { path } if path == "hdfs://nn:8020/a (File does not exist: /a)"),
            "{err}"
        );
        let err = to_storage_error(&loc(), HdfsError::AlreadyExists("/a".into()));
        assert!(matches!(err, StorageError::AlreadyExists { .. }), "{err}");
        let remote = rpc(
            "org.apache.hadoop.fs.FileAlreadyExistsException",
            "/a exists",
        );
        let err = to_storage_error(&loc(), remote);
        assert!(matches!(err, StorageError::AlreadyExists { .. }), "{err}");
    }

    #[test]
    fn other_refusals_name_the_exception() {
        let standby = rpc(
            "org.apache.hadoop.ipc.StandbyException",
            "Operation category READ is not supported in state standby\n\tat x",
        );
        assert_eq!(
            io_message(to_storage_error(&loc(), standby)),
            "StandbyException: Operation category READ is not supported in state standby"
        );
        let safe_mode = HdfsError::FatalRPCError(
            "org.apache.hadoop.hdfs.server.namenode.SafeModeException".into(),
            "Cannot create file /a. Name node is in safe mode.".into(),
        );
        assert_eq!(
            io_message(to_storage_error(&loc(), safe_mode)),
            "SafeModeException: Cannot create file /a. Name node is in safe mode."
        );
        let names = rpc(
            "org.apache.hadoop.hdfs.protocol.NSQuotaExceededException",
            "The NameSpace quota (directories and files) of directory /q is exceeded: quota=2 file count=3\n\tat x",
        );
        assert!(is_namespace_quota(&names));
        assert_eq!(
            io_message(to_storage_error(&loc(), names)),
            "NSQuotaExceededException: The NameSpace quota (directories and files) of directory /q is exceeded: quota=2 file count=3"
        );
        let space = rpc(
            "org.apache.hadoop.hdfs.protocol.DSQuotaExceededException",
            "The DiskSpace quota of /q is exceeded: quota = 4194304 B = 4 MB but diskspace consumed = 6291456 B = 6 MB",
        );
        assert!(!is_namespace_quota(&space));
        assert!(!is_not_replicated_yet(&space));
        assert!(is_not_replicated_yet(&rpc(
            "org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException",
            "Not replicated yet: /q/.a.broker-0123456789abcdef.tmp"
        )));
        assert!(io_message(to_storage_error(&loc(), space))
            .starts_with("DSQuotaExceededException: The DiskSpace quota of /q is exceeded"));
    }

    #[test]
    fn messages_are_bounded() {
        let records = format!(
            "All DataNodes failed: [DatanodeInfoProto {{ id: {} }}]",
            "x".repeat(3000)
        );
        let msg = io_message(to_storage_error(
            &loc(),
            HdfsError::DataTransferError(records),
        ));
        assert_eq!(msg, "data transfer error: All DataNodes failed");
        let long = HdfsError::DataTransferError("é".repeat(1000));
        let msg = io_message(to_storage_error(&loc(), long));
        assert!(
            msg.len() <= MESSAGE_MAX + 3 && msg.ends_with("..."),
            "{msg}"
        );
    }

    #[test]
    fn datanode_failures_of_a_secured_client_name_the_protection_key() {
        let reset = || HdfsError::IOError(std::io::ErrorKind::ConnectionReset.into());
        let unset = DataTransfer {
            secured: true,
            protection: None,
        };
        let msg = io_message(datanode_error(&loc(), reset(), &unset));
        assert!(
            msg.contains(PROTECTION_KEY) && msg.contains("not set"),
            "{msg}"
        );
        let set = DataTransfer {
            secured: true,
            protection: Some("privacy".into()),
        };
        let msg = io_message(datanode_error(&loc(), reset(), &set));
        assert!(
            msg.contains("dfs.data.transfer.protection = privacy"),
            "{msg}"
        );
        let msg = io_message(datanode_error(&loc(), reset(), &DataTransfer::default()));
        assert!(!msg.contains(PROTECTION_KEY), "{msg}");
        // A namenode refusal is no datanode failure.
        let denied = rpc(ACCESS_CONTROL, "Permission denied");
        let err = datanode_error(&loc(), denied, &unset);
        assert!(!err.to_string().contains(PROTECTION_KEY), "{err}");
    }

    #[test]
    fn protection_levels_are_checked_for_secured_clients() {
        let config = |v: &str| HashMap::from([(PROTECTION_KEY.to_string(), v.to_string())]);
        let ok = DataTransfer::new(true, &config(" Privacy, authentication ")).unwrap();
        assert_eq!(ok.protection.as_deref(), Some("Privacy, authentication"));
        assert!(DataTransfer::new(true, &config(""))
            .unwrap()
            .protection
            .is_none());
        let err = DataTransfer::new(true, &config("authentication,privcy"))
            .err()
            .unwrap();
        assert!(
            err.contains(PROTECTION_KEY) && err.contains("'privcy'"),
            "{err}"
        );
        // hdfs-native ignores the key without Kerberos; so does the check.
        assert!(DataTransfer::new(false, &config("privcy")).is_ok());
    }

    #[test]
    fn connection_and_datanode_failures_keep_their_text() {
        let refused = HdfsError::IOError(std::io::ErrorKind::ConnectionRefused.into());
        assert!(is_datanode_failure(&refused));
        let message = io_message(to_storage_error(&loc(), refused));
        assert!(
            message.to_lowercase().contains("connection refused"),
            "{message}"
        );
        assert!(is_datanode_failure(&HdfsError::ChecksumError));
        let transfer = HdfsError::DataTransferError("no datanode left".into());
        assert!(is_datanode_failure(&transfer));
        assert!(io_message(to_storage_error(&loc(), transfer)).contains("no datanode left"));
        assert!(!is_datanode_failure(&rpc(ACCESS_CONTROL, "denied")));
        assert!(is_hsync_unsupported(&HdfsError::UnsupportedFeature(
            "hsync".into()
        )));
        assert!(!is_hsync_unsupported(&HdfsError::ChecksumError));
    }
}
