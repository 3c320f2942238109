//! Unit tests of the S3 settings: both spellings, defaults, refusals naming the keys,
//! credentials never printed, the default chain only when asked.

use super::*;

use crate::storage::props_of as props;
use crate::storage::StorageError;

fn settings(pairs: &[(&str, &str)]) -> Result<S3Settings> {
    S3.settings("s3a", "bkt", &props(pairs))
}

#[track_caller]
fn refused(pairs: &[(&str, &str)], names: &[&str]) {
    match settings(pairs) {
        Err(StorageError::InvalidArgument(msg)) => {
            for name in names {
                assert!(msg.contains(name), "{msg} should name {name}");
            }
            for (_, v) in pairs {
                if v.starts_with("SECRET") {
                    assert!(!msg.contains(v), "{msg} shows a secret");
                }
            }
        }
        Err(other) => panic!("{pairs:?}: {other}"),
        Ok(s) => panic!("{pairs:?} accepted: {}", S3::describe(&s)),
    }
}

#[test]
fn hadoop_and_starrocks_keys_are_the_same_settings() {
    let hadoop = settings(&[
        ("fs.s3a.access.key", "AK"),
        ("fs.s3a.secret.key", "SECRET1"),
        ("fs.s3a.endpoint", "127.0.0.1:9000"),
        ("fs.s3a.endpoint.region", "eu-west-1"),
        ("fs.s3a.path.style.access", "true"),
        ("fs.s3a.connection.ssl.enabled", "false"),
    ])
    .unwrap();
    let starrocks = settings(&[
        ("aws.s3.access_key", "AK"),
        ("aws.s3.secret_key", "SECRET1"),
        ("aws.s3.endpoint", "http://127.0.0.1:9000/"),
        ("aws.s3.region", "eu-west-1"),
        ("aws.s3.enable_path_style_access", "TRUE"),
        ("column_separator", ","),
    ])
    .unwrap();
    assert!(hadoop == starrocks, "{}", S3::describe(&hadoop));
    assert_eq!(hadoop.endpoint, "http://127.0.0.1:9000");
    assert!(!hadoop.virtual_host);
    assert!(matches!(hadoop.credentials, Credentials::Keys { .. }));
    // Without a scheme, https unless SSL is off; with one, as given.
    let s = settings(&[("fs.s3a.endpoint", "minio.example.com:9000")]).unwrap();
    assert_eq!(s.endpoint, "https://minio.example.com:9000");
    let s = settings(&[
        ("aws.s3.endpoint", "http://minio:9000"),
        ("aws.s3.enable_ssl", "true"),
    ])
    .unwrap();
    assert_eq!(s.endpoint, "http://minio:9000");
}

#[test]
fn defaults_are_aws_anonymous_virtual_host() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.endpoint, "https://s3.us-east-1.amazonaws.com");
    assert_eq!(s.region, "us-east-1");
    assert!(s.virtual_host);
    assert!(s.credentials == Credentials::Anonymous);
    let s = settings(&[("aws.s3.region", "cn-north-1")]).unwrap();
    assert_eq!(s.endpoint, "https://s3.cn-north-1.amazonaws.com.cn");
    let s = settings(&[("fs.s3a.endpoint", "s3.ap-south-1.amazonaws.com")]).unwrap();
    assert_eq!(s.region, "ap-south-1");
    let s = settings(&[("fs.s3a.endpoint", "https://s3-eu-west-2.amazonaws.com")]).unwrap();
    assert_eq!(s.region, "eu-west-2");
    let s = settings(&[("fs.s3a.endpoint", "s3.dualstack.us-west-2.amazonaws.com")]).unwrap();
    assert_eq!(s.region, "us-west-2");
    // A dotted bucket cannot be a TLS host name: path style.
    let s = S3.settings("s3", "my.bucket", &props(&[])).unwrap();
    assert!(!s.virtual_host);
}

#[test]
fn missing_and_contradictory_keys_are_named() {
    refused(&[("fs.s3a.access.key", "AK")], &["fs.s3a.secret.key"]);
    refused(&[("aws.s3.secret_key", "SECRET1")], &["aws.s3.access_key"]);
    refused(
        &[
            ("fs.s3a.access.key", "AK"),
            ("fs.s3a.secret.key", "SECRET1"),
            ("aws.s3.secret_key", "SECRET2"),
        ],
        &["fs.s3a.secret.key", "aws.s3.secret_key"],
    );
    refused(
        &[("fs.s3a.endpoint", "a:1"), ("aws.s3.endpoint", "b:2")],
        &["fs.s3a.endpoint", "aws.s3.endpoint"],
    );
    refused(
        &[
            ("fs.s3a.path.style.access", "true"),
            ("aws.s3.enable_path_style_access", "false"),
        ],
        &[
            "fs.s3a.path.style.access",
            "aws.s3.enable_path_style_access",
        ],
    );
    refused(&[("aws.s3.enable_ssl", "yes")], &["aws.s3.enable_ssl"]);
    refused(
        &[("fs.s3a.session.token", "SECRET3")],
        &["fs.s3a.session.token"],
    );
    refused(
        &[
            ("aws.s3.use_instance_profile", "true"),
            ("aws.s3.access_key", "AK"),
            ("aws.s3.secret_key", "SECRET1"),
        ],
        &["aws.s3.use_instance_profile", "access"],
    );
    refused(
        &[("fs.s3a.aws.credentials.provider", "com.example.MyProvider")],
        &["fs.s3a.aws.credentials.provider", "com.example.MyProvider"],
    );
    refused(
        &[(
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
        )],
        &["fs.s3a.access.key"],
    );
    refused(
        &[
            (
                "fs.s3a.aws.credentials.provider",
                "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
            ),
            ("fs.s3a.access.key", "AK"),
            ("fs.s3a.secret.key", "SECRET1"),
        ],
        &["anonymous"],
    );
    refused(&[("fs.s3a.endpoint", "ftp://x")], &["fs.s3a.endpoint"]);
}

#[test]
fn a_key_pair_prints_no_key() {
    let pair = KeyPair(reqsign_aws_v4::Credential {
        access_key_id: "AKIAEXAMPLEKEY".into(),
        secret_access_key: "SECRET-VALUE".into(),
        session_token: Some("SESSION-VALUE".into()),
        expires_in: None,
    });
    let printed = format!("{pair:?}");
    for secret in ["AKIAEXAMPLEKEY", "SECRET-VALUE", "SESSION-VALUE"] {
        assert!(!printed.contains(secret), "{printed}");
    }
}

#[test]
fn the_default_chain_only_when_asked() {
    for pairs in [
        &[("aws.s3.use_instance_profile", "true")][..],
        &[("aws.s3.use_aws_sdk_default_behavior", "true")][..],
        &[(
            "fs.s3a.aws.credentials.provider",
            "com.amazonaws.auth.InstanceProfileCredentialsProvider",
        )][..],
        &[(
            "fs.s3a.aws.credentials.provider",
            "software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider",
        )][..],
    ] {
        assert!(
            settings(pairs).unwrap().credentials == Credentials::DefaultChain,
            "{pairs:?}"
        );
    }
    for pairs in [
        &[][..],
        &[("aws.s3.use_instance_profile", "false")][..],
        &[(
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.AnonymousAWSCredentialsProvider",
        )][..],
    ] {
        assert!(
            settings(pairs).unwrap().credentials == Credentials::Anonymous,
            "{pairs:?}"
        );
    }
    let s = settings(&[
        (
            "fs.s3a.aws.credentials.provider",
            "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider",
        ),
        ("fs.s3a.access.key", "AK"),
        ("fs.s3a.secret.key", "SECRET1"),
        ("fs.s3a.session.token", "SECRET3"),
    ])
    .unwrap();
    assert!(matches!(
        s.credentials,
        Credentials::Keys {
            session_token: Some(_),
            then_chain: false,
            ..
        }
    ));
}
