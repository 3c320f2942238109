//! Unit tests of conf text → `BrokerConfig`: every key, defaults, errors, the shipped conf.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<BrokerConfig, ConfigError> {
    BrokerConfig::parse(text, &no_env)
}

fn invalid(text: &str, key: &str) -> String {
    match parse(text) {
        Err(e @ ConfigError::InvalidValue { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(key), "{msg}");
            msg
        }
        other => panic!("{text:?}: expected InvalidValue for {key}, got {other:?}"),
    }
}

#[test]
fn allowed_clients_are_networks_and_a_bad_entry_stops_the_start() {
    let c = parse("broker_allowed_clients = 10.0.0.0/8, 192.168.1.7 ,fd00::/8").unwrap();
    let nets: Vec<String> = c
        .allowed_clients()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["10.0.0.0/8", "192.168.1.7/32", "fd00::/8"]);
    // The HTTP port has a list of its own (empty: anyone).
    assert!(c.http_allowed_clients().unwrap().is_empty());
    let own = parse("broker_http_allowed_clients = 10.0.0.7").unwrap();
    assert_eq!(own.http_allowed_clients().unwrap().len(), 1);
    assert!(parse("").unwrap().allowed_clients().unwrap().is_empty());
    for (text, key, entry) in [
        (
            "broker_allowed_clients = 10.0.0.0/8, 10.0.0.300",
            "broker_allowed_clients",
            "10.0.0.300",
        ),
        (
            "broker_allowed_clients = 10.0.0.0/33",
            "broker_allowed_clients",
            "10.0.0.0/33",
        ),
        (
            "broker_allowed_clients = be-host-1",
            "broker_allowed_clients",
            "be-host-1",
        ),
        (
            "broker_http_allowed_clients = *",
            "broker_http_allowed_clients",
            "*",
        ),
    ] {
        match parse(text) {
            Err(e @ ConfigError::InvalidEntry { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(key) && msg.contains(entry), "{msg}");
            }
            other => panic!("{text:?}: expected InvalidEntry, got {other:?}"),
        }
    }
}

#[test]
fn local_roots_are_absolute_directories_and_a_bad_entry_stops_the_start() {
    // No key (a Java broker's conf) and an empty value both serve no local file.
    assert!(parse("").unwrap().local_roots().unwrap().is_empty());
    assert!(parse("broker_local_roots =")
        .unwrap()
        .local_roots()
        .unwrap()
        .is_empty());
    let c = parse("broker_local_roots = /data/exports/ , /mnt//nas/./in,/").unwrap();
    assert_eq!(
        c.local_roots().unwrap(),
        [
            PathBuf::from("/data/exports"),
            PathBuf::from("/mnt/nas/in"),
            PathBuf::from("/")
        ]
    );
    let env = |k: &str| (k == "BROKER_HOME").then(|| "/opt/broker".to_string());
    let c = BrokerConfig::parse("broker_local_roots = ${BROKER_HOME}/data", &env).unwrap();
    assert_eq!(
        c.local_roots().unwrap(),
        [PathBuf::from("/opt/broker/data")]
    );
    for entry in ["data", "./data", "/data/../etc", "~/data"] {
        match parse(&format!("broker_local_roots = /ok, {entry}")) {
            Err(e @ ConfigError::InvalidEntry { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("broker_local_roots") && msg.contains(entry),
                    "{msg}"
                );
            }
            other => panic!("{entry:?}: expected InvalidEntry, got {other:?}"),
        }
    }
}

#[test]
fn malformed_escapes_are_refused_with_their_line() {
    assert!(matches!(
        parse("a = 1\n\nk = \\u12"),
        Err(ConfigError::MalformedEscape { line: 3 })
    ));
}

#[test]
fn duplicates_last_wins() {
    assert_eq!(
        parse("broker_ipc_port = nonsense\nbroker_ipc_port = 9000")
            .unwrap()
            .broker_ipc_port,
        9000
    );
}

#[test]
fn variable_substitution() {
    let env = |k: &str| match k {
        "BROKER_HOME" => Some("/opt/broker".to_string()),
        "SUB" => Some("x".to_string()),
        "LOOP" => Some("${LOOP}".to_string()),
        _ => None,
    };
    let c = BrokerConfig::parse(
        "sys_log_dir = ${BROKER_HOME}/log/${SUB}${SUB}\n\
         audit_log_dir = $HOME/${unterminated\n\
         audit_log_modules = ${LOOP}\n",
        &env,
    )
    .unwrap();
    assert_eq!(c.sys_log_dir, Some(PathBuf::from("/opt/broker/log/xx")));
    assert_eq!(c.audit_log_dir, Some(PathBuf::from("$HOME/${unterminated")));
    assert_eq!(c.audit_log_modules, vec!["${LOOP}".to_string()]);
}

#[test]
fn missing_variable_names_key_and_variable() {
    let err = parse("sys_log_dir = ${BROKER_HOME}/log").unwrap_err();
    assert!(matches!(
        &err,
        ConfigError::UndefinedVariable { key, var } if key == "sys_log_dir" && var == "BROKER_HOME"
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("sys_log_dir") && msg.contains("BROKER_HOME"),
        "{msg}"
    );
    // Unknown and environment keys are never expanded.
    assert!(parse("some_future_key = ${NOPE}\nJAVA_OPTS = ${NOPE}").is_ok());
}

#[test]
fn defaults() {
    let d = BrokerConfig::default();
    assert_eq!(d.broker_ipc_port, 8000);
    assert_eq!(d.broker_bind_address, "0.0.0.0");
    assert_eq!(d.broker_http_port, Some(8200));
    assert_eq!(d.hdfs_read_buffer_size_kb, 8192);
    assert_eq!(d.hdfs_write_buffer_size_kb, 1024);
    assert_eq!(d.client_expire_seconds, 300);
    assert!(!d.disable_broker_client_expiration_checking);
    assert_eq!(d.sys_log_dir, None);
    assert_eq!(d.sys_log_level, LogLevel::Info);
    assert_eq!(d.sys_log_roll_mode, RollMode::SizeMb(1024));
    assert_eq!(d.sys_log_roll_num, 30);
    assert!(d.sys_log_verbose_modules.is_empty());
    assert_eq!(d.audit_log_dir, None);
    assert!(d.audit_log_modules.is_empty());
    assert_eq!(d.audit_log_roll_mode, RollMode::TimeDay);
    assert_eq!(d.audit_log_roll_num, 10);
    assert_eq!(d.kerberos_token_expire_seconds, 86000);
    assert_eq!(d.max_message_size_bytes, 268_435_456);
    assert_eq!(d.max_connections, 4096);
    assert_eq!(d.max_open_fds_per_client, 8192);
    assert_eq!(d.max_open_fds, 65536);
    assert_eq!(d.max_writer_buffer_mb, 128);
    assert_eq!(d.message_read_timeout_seconds, 120);
    assert_eq!(d.shutdown_timeout_seconds, 30);
    assert_eq!(parse("").unwrap(), d);
    assert_eq!(parse("# nothing\n").unwrap(), d);
    assert_eq!(d.read_buffer_bytes(), 8 * 1024 * 1024);
    assert_eq!(d.write_buffer_bytes(), 1024 * 1024);
    assert_eq!(d.client_expire(), Duration::from_secs(300));
    assert_eq!(d.shutdown_timeout(), Duration::from_secs(30));
    assert_eq!(
        d.listen_addr().unwrap(),
        "0.0.0.0:8000".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(
        d.http_listen_addr().unwrap(),
        Some("0.0.0.0:8200".parse::<SocketAddr>().unwrap())
    );
}

#[test]
fn every_key_parses() {
    let c = parse(
        "broker_ipc_port = 0\n\
         broker_bind_address = [::1]\n\
         broker_http_port = 0\n\
         hdfs_read_buffer_size_kb = 16\n\
         hdfs_write_buffer_size_kb = 32\n\
         client_expire_seconds = 5\n\
         disable_broker_client_expiration_checking = TRUE\n\
         sys_log_dir = /var/log/broker  \n\
         sys_log_level = warning\n\
         sys_log_roll_mode = TIME-HOUR\n\
         sys_log_roll_num = 7\n\
         sys_log_verbose_modules = a.b , ,c ,\n\
         audit_log_dir = /audit\n\
         audit_log_modules = slow_query, query\n\
         audit_log_roll_mode = size-mb-10\n\
         audit_log_roll_num = 0\n\
         kerberos_token_expire_seconds = 0\n\
         max_message_size_bytes = 1048576\n\
         max_connections = 1\n\
         shutdown_timeout_seconds = 0\n",
    )
    .unwrap();
    assert_eq!(c.broker_ipc_port, 0);
    assert_eq!(c.broker_bind_address, "::1");
    assert_eq!(c.listen_addr().unwrap(), "[::1]:0".parse().unwrap());
    assert_eq!(c.broker_http_port, Some(0));
    assert_eq!(
        c.http_listen_addr().unwrap(),
        Some("[::1]:0".parse().unwrap())
    );
    let off = parse("broker_http_port = -1").unwrap();
    assert_eq!(off.broker_http_port, None);
    assert_eq!(off.http_listen_addr().unwrap(), None);
    assert_eq!(c.hdfs_read_buffer_size_kb, 16);
    assert_eq!(c.hdfs_write_buffer_size_kb, 32);
    assert_eq!(c.client_expire_seconds, 5);
    assert!(c.disable_broker_client_expiration_checking);
    assert_eq!(c.sys_log_dir, Some(PathBuf::from("/var/log/broker")));
    assert_eq!(c.sys_log_level, LogLevel::Warning);
    assert_eq!(c.sys_log_roll_mode, RollMode::TimeHour);
    assert_eq!(c.sys_log_roll_num, 7);
    assert_eq!(c.sys_log_verbose_modules, vec!["a.b", "c"]);
    assert_eq!(c.audit_log_dir, Some(PathBuf::from("/audit")));
    assert_eq!(c.audit_log_modules, vec!["slow_query", "query"]);
    assert_eq!(c.audit_log_roll_mode, RollMode::SizeMb(10));
    assert_eq!(c.audit_log_roll_mode.size_bytes(), Some(10 << 20));
    assert_eq!(c.audit_log_roll_num, 0);
    assert_eq!(c.kerberos_token_expire_seconds, 0);
    assert_eq!(c.max_message_size_bytes, 1 << 20);
    assert_eq!(c.max_connections, 1);
    assert_eq!(c.shutdown_timeout_seconds, 0);
}

#[test]
fn enum_spellings() {
    for (text, level) in [
        ("DEBUG", LogLevel::Debug),
        ("info", LogLevel::Info),
        ("WARN", LogLevel::Warning),
        ("Error", LogLevel::Error),
        ("FATAL", LogLevel::Fatal),
    ] {
        let c = parse(&format!("sys_log_level = {text}")).unwrap();
        assert_eq!(c.sys_log_level, level);
    }
    assert_eq!(LogLevel::Fatal.tracing_level(), tracing::Level::ERROR);
    assert_eq!(RollMode::SizeMb(5).to_string(), "SIZE-MB-5");
    assert_eq!(RollMode::TimeDay.to_string(), "TIME-DAY");
    assert_eq!(RollMode::TimeHour.size_bytes(), None);
    assert_eq!(RollMode::SizeMb(u64::MAX).size_bytes(), Some(u64::MAX));
}

#[test]
fn empty_values() {
    // Empty directories and lists mean "default"; empty numbers are errors, as in Java.
    let c = parse("sys_log_dir =\naudit_log_dir = \t\naudit_log_modules =\n").unwrap();
    assert_eq!(c, BrokerConfig::default());
    invalid("broker_ipc_port =", "broker_ipc_port");
    invalid("sys_log_level =", "sys_log_level");
}

#[test]
fn malformed_values_name_key_value_and_expectation() {
    let msg = invalid("broker_ipc_port = 80o0", "broker_ipc_port");
    assert!(msg.contains("\"80o0\"") && msg.contains("port"), "{msg}");
    invalid("broker_ipc_port = 65536", "broker_ipc_port");
    invalid("broker_ipc_port = -1", "broker_ipc_port");
    for bad in ["-2", "65536", "off", ""] {
        let msg = invalid(&format!("broker_http_port = {bad}"), "broker_http_port");
        assert!(msg.contains("-1 to disable"), "{msg}");
    }
    let msg = invalid("broker_bind_address = localhost", "broker_bind_address");
    assert!(
        msg.contains("localhost") && msg.contains("IP address"),
        "{msg}"
    );
    let msg = invalid("hdfs_read_buffer_size_kb = 0", "hdfs_read_buffer_size_kb");
    assert!(msg.contains("positive"), "{msg}");
    invalid(
        "hdfs_write_buffer_size_kb = 1.5",
        "hdfs_write_buffer_size_kb",
    );
    invalid("client_expire_seconds = 0", "client_expire_seconds");
    let msg = invalid(
        "disable_broker_client_expiration_checking = yes",
        "disable_broker_client_expiration_checking",
    );
    assert!(
        msg.contains("\"yes\"") && msg.contains("true or false"),
        "{msg}"
    );
    let msg = invalid("sys_log_level = TRACE", "sys_log_level");
    assert!(msg.contains("TRACE") && msg.contains("WARNING"), "{msg}");
    for bad in ["SIZE-MB-0", "SIZE-MB-", "SIZE-MB-x", "SIZE-MB-+5", "WEEKLY"] {
        let msg = invalid(&format!("sys_log_roll_mode = {bad}"), "sys_log_roll_mode");
        assert!(msg.contains(bad) && msg.contains("TIME-DAY"), "{msg}");
    }
    invalid("audit_log_roll_mode = TIME-WEEK", "audit_log_roll_mode");
    invalid("sys_log_roll_num = 4294967296", "sys_log_roll_num");
    invalid("audit_log_roll_num = ten", "audit_log_roll_num");
    invalid(
        "kerberos_token_expire_seconds = -5",
        "kerberos_token_expire_seconds",
    );
    let msg = invalid("max_message_size_bytes = 1048575", "max_message_size_bytes");
    assert!(msg.contains("1 MiB"), "{msg}");
    invalid("max_connections = 0", "max_connections");
    invalid(
        "shutdown_timeout_seconds = soon",
        "shutdown_timeout_seconds",
    );
    // Control characters in the offending value are escaped in the message.
    let msg = invalid("broker_ipc_port = 80\\u00070", "broker_ipc_port");
    assert!(msg.contains("\"80\\u{7}0\""), "{msg}");
}

#[test]
fn every_key_rejects_or_accepts_garbage_without_panicking() {
    for key in known_keys() {
        match parse(&format!("{key} = @@garbage@@")) {
            Ok(_) => assert!(
                key.ends_with("_dir") || key.ends_with("_modules"),
                "{key} accepted garbage"
            ),
            Err(e) => assert!(e.to_string().contains(key), "{e}"),
        }
    }
}

#[test]
fn unknown_and_environment_keys_are_ignored() {
    let c = parse(
        "no_such_key = 1\n\
         broker_ipc_port_typo = x\n\
         HADOOP_USER_NAME = hdfs\n\
         JAVA_OPTS = -Xmx1g\n\
         BROKER_IPC_PORT = not-a-port\n",
    )
    .unwrap();
    assert_eq!(c, BrokerConfig::default());
    assert!(is_env_key("HADOOP_USER_NAME"));
    assert!(is_env_key("A1_B"));
    assert!(!is_env_key(""));
    assert!(!is_env_key("_A"));
    assert!(!is_env_key("1A"));
    assert!(!is_env_key("Hadoop_user"));
    assert!(!is_env_key("broker_ipc_port"));
    assert!(!is_env_key("ÄB"));
}

const SHIPPED: &str = include_str!("../../conf/apache_hdfs_broker.conf");

#[test]
fn shipped_conf_parses_to_defaults() {
    let env = |k: &str| (k == "BROKER_HOME").then(|| "/opt/broker".to_string());
    let c = BrokerConfig::parse(SHIPPED, &env).unwrap();
    let expected = BrokerConfig {
        sys_log_dir: Some(PathBuf::from("/opt/broker/log")),
        audit_log_dir: Some(PathBuf::from("/opt/broker/log")),
        broker_local_roots: vec!["/opt/broker/data".to_string()],
        ..BrokerConfig::default()
    };
    assert_eq!(c, expected);
    // Without BROKER_HOME the error points at the first key that needs it.
    assert!(matches!(
        BrokerConfig::parse(SHIPPED, &no_env),
        Err(ConfigError::UndefinedVariable { key, var }) if key == "sys_log_dir" && var == "BROKER_HOME"
    ));
}

#[test]
fn shipped_conf_documents_every_key() {
    // Uncommenting each line must still parse: the commented defaults are valid.
    let uncommented: String = SHIPPED
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|l| l.contains(" ="))
                .unwrap_or(l)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let keys: Vec<String> = parse_properties(&uncommented)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    for key in known_keys() {
        assert!(
            keys.iter().any(|k| k == key),
            "{key} missing from shipped conf"
        );
    }
    let env = |k: &str| (k == "BROKER_HOME").then(|| "/b".to_string());
    let c = BrokerConfig::parse(&uncommented, &env).unwrap();
    assert_eq!(
        c,
        BrokerConfig {
            sys_log_dir: Some(PathBuf::from("/b/log")),
            audit_log_dir: Some(PathBuf::from("/b/log")),
            broker_local_roots: vec!["/b/data".to_string()],
            ..BrokerConfig::default()
        }
    );
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broker.conf");
    std::fs::write(&path, b"broker_ipc_port = 9001\n# \xff latin-1 junk\n").unwrap();
    assert_eq!(
        BrokerConfig::load(&path, &no_env).unwrap().broker_ipc_port,
        9001
    );

    std::fs::write(&path, "max_connections = none\n").unwrap();
    let msg = BrokerConfig::load(&path, &no_env).unwrap_err().to_string();
    assert!(
        msg.contains("broker.conf") && msg.contains("max_connections") && msg.contains("none"),
        "{msg}"
    );

    let missing = dir.path().join("missing.conf");
    let err = BrokerConfig::load(&missing, &no_env).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
    assert!(err.to_string().contains("missing.conf"), "{err}");
}

#[test]
fn odd_input_never_panics() {
    // A tiny deterministic fuzz over the characters the parser treats specially.
    const ALPHABET: [char; 24] = [
        '\\', 'u', 'D', '8', '0', 'c', '\n', '\r', '=', ':', ' ', '\t', '#', '!', '$', '{', '}',
        'é', '😀', '\u{feff}', 'k', ',', 'f', '\x0c',
    ];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        let mut text = String::new();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = (state % 24) as usize;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push(ALPHABET[(state % ALPHABET.len() as u64) as usize]);
        }
        let _ = parse_properties(&text);
        let _ = BrokerConfig::parse(&text, &|_| Some("v".to_string()));
        for key in ["broker_ipc_port", "sys_log_roll_mode", "sys_log_dir"] {
            let _ = BrokerConfig::parse(&format!("{key}={text}"), &no_env);
        }
    }
}
