//! Writes the fuzz seed corpora under `fuzz/corpus/<target>/` (committed). Run from the
//! repository root after changing the protocol, the conf format or the test suites:
//!
//!     cargo run --example fuzz_seeds
//!
//! wire: one real serialized request of every method, written by the generated Thrift
//! types exactly as StarRocks/Doris clients write them (strict headers, and old
//! non-strict headers for a few), plus pipelined pairs. Each seed starts with the two
//! control bytes the wire target reads (chunk size, max-message-size choice).
//! conf: conf/apache_hdfs_broker.conf and variants. glob and uri: patterns, names and
//! URIs the test suites use (src/storage/glob/, src/storage/location.rs, tests/).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use apache_hdfs_broker::wire::generated::*;
use thrift::protocol::{
    TBinaryOutputProtocol, TFieldIdentifier, TMessageIdentifier, TMessageType, TOutputProtocol,
    TSerializable, TStructIdentifier, TType,
};

fn main() -> std::io::Result<()> {
    let root = Path::new("fuzz/corpus");
    for target in ["wire", "conf", "glob", "uri"] {
        let dir = root.join(target);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
    }
    let mut count = 0;
    for (name, message) in requests() {
        // A seed that does not decode would only teach the fuzzer the error paths.
        match apache_hdfs_broker::wire::decode(&message) {
            Ok(apache_hdfs_broker::wire::Incoming::Call { .. }) => {}
            other => panic!("seed {name} does not decode as a call: {other:?}"),
        }
        // Whole, 1 MiB limit; and fed 7 bytes at a time with a 4096-byte limit.
        write(
            root,
            "wire",
            &format!("{name}.bin"),
            &[&[0, 0], &message[..]].concat(),
        )?;
        write(
            root,
            "wire",
            &format!("{name}-chunked.bin"),
            &[&[7, 3], &message[..]].concat(),
        )?;
        count += 2;
    }
    let ping_call = message(true, "ping", 1, &ping());
    let pwrite = message(false, "pwrite", 2, &pwrite());
    write(
        root,
        "wire",
        "pipelined.bin",
        &[&[3, 0], &ping_call[..], &pwrite[..]].concat(),
    )?;
    let unknown = message(true, "getBrokerVersion", 3, &ping());
    write(
        root,
        "wire",
        "unknown-method.bin",
        &[&[0, 0], &unknown[..]].concat(),
    )?;
    count += 2;

    let conf = fs::read_to_string("conf/apache_hdfs_broker.conf")?;
    let variants = [
        ("shipped.conf", conf.clone()),
        ("minimal.conf", "broker_ipc_port = 8000\n".to_string()),
        (
            "java-syntax.conf",
            "! comment\n# comment\nbroker_ipc_port:8000\nsys_log_dir ${BROKER_HOME}/log\n\
             sys_log_level=\\u0049NFO\naudit_log_modules = list,\\\n    read\n\
             HADOOP_USER_NAME = hdfs\nkey\\ with\\ spaces = v\\tx\n"
                .to_string(),
        ),
        (
            "every-key.conf",
            "broker_ipc_port=0\nbroker_bind_address=::\nbroker_http_port=-1\n\
             hdfs_read_buffer_size_kb=8192\nhdfs_write_buffer_size_kb=1024\n\
             client_expire_seconds=300\ndisable_broker_client_expiration_checking=true\n\
             sys_log_dir=/tmp/log\nsys_log_level=DEBUG\nsys_log_roll_mode=TIME-HOUR\n\
             sys_log_roll_num=3\nsys_log_verbose_modules=wire,rpc\naudit_log_dir=${HOME}/a\n\
             audit_log_modules=list,read,write\naudit_log_roll_mode=SIZE-MB-10\n\
             audit_log_roll_num=1\nkerberos_token_expire_seconds=86000\n\
             max_message_size_bytes=1048576\nmax_connections=16\n"
                .to_string(),
        ),
        (
            "bad-values.conf",
            "broker_ipc_port = eighty\nsys_log_roll_mode = SIZE-MB-\nsys_log_dir = ${UNSET\n\
             max_message_size_bytes = 99999999999999999999\nx = \\uZZZZ\n"
                .to_string(),
        ),
    ];
    for (name, text) in variants {
        write(root, "conf", name, text.as_bytes())?;
        count += 1;
    }

    for (i, (pattern, name)) in GLOBS.iter().enumerate() {
        write(
            root,
            "glob",
            &format!("{i:02}"),
            format!("{pattern}\0{name}").as_bytes(),
        )?;
        count += 1;
    }
    for (i, uri) in URIS.iter().enumerate() {
        write(root, "uri", &format!("{i:02}"), uri.as_bytes())?;
        count += 1;
    }
    println!("wrote {count} seeds under {}", root.display());
    Ok(())
}

fn write(root: &Path, target: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    fs::write(root.join(target).join(name), bytes)
}

/// `pattern`, name pairs from the glob unit tests and the listPath integration tests.
const GLOBS: &[(&str, &str)] = &[
    ("*", ".hidden"),
    ("foo*", "foo\nbar"),
    ("f*d", "food"),
    ("*.csv", "a.b.csv"),
    ("a?c", "a.c"),
    ("^.$()|+", "^.$()|+"),
    ("part-0000", "part-0000"),
    ("[abc]", "b"),
    ("[a-c]x", "bx"),
    ("[^a]", "\n"),
    ("[!!-]", "^"),
    ("[]^-]", "-"),
    ("[a\\-c]", "-"),
    ("[é-ü]", "ö"),
    ("[*]", "."),
    ("[][]", "["),
    ("{a,b}", "a"),
    ("x{a,bc}y", "xbcy"),
    ("{a,{b,c}d}", "cd"),
    ("{a,}", ""),
    ("{*.csv,*.txt}", "b.txt"),
    ("{[,]}", "|"),
    ("\\*\\?\\[\\{\\\\", "*?[{\\"),
    ("{a\\,b,c}", "a,b"),
    ("/tmp/{a/b,c/d}/*", "x"),
    ("/user/x/dt=2024-01-0[1-9]/part-*", "part-00000.parquet"),
    ("/data/{2023,2024}/*/*.orc", "a.orc"),
    ("p{a/b,c/d}s", "pa"),
];

/// URIs from the location unit tests and the integration tests.
const URIS: &[&str] = &[
    "hdfs://ns1/a//b/",
    "hdfs://nn:8020/user/x/a.csv",
    "hdfs://nn:8020/a%20b",
    "hdfs:///tmp/x",
    "hdfs://ns1",
    "viewfs://cluster/data/x",
    "file:///tmp/x",
    "file:/tmp/x.csv",
    "file:/",
    "file:not/absolute.csv",
    "s3a://bucket/key/part-0.parquet",
    "s3://bucket",
    "s3n://bucket/a/b/",
    "1x://a/b",
    ":/x",
    "hdfs://user@nn:8020/x?y#z",
];

fn props(extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut p: BTreeMap<String, String> = [
        ("username", "starrocks"),
        ("password", "not-a-secret"),
        ("hadoop.security.authentication", "simple"),
        ("dfs.nameservices", "ns1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    p.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    p
}

const V1: TBrokerVersion = TBrokerVersion::VERSION_ONE;
const PATH: &str = "hdfs://ns1/user/starrocks/data/dt=2024-01-01/part-00000.parquet";

fn fd() -> TBrokerFD {
    TBrokerFD::new(0x1234_5678_9abc_def0, -42)
}

fn ping() -> Vec<u8> {
    bytes(&TBrokerPingBrokerRequest::new(V1, "10.0.0.7:9060".into()))
}

fn pwrite() -> Vec<u8> {
    bytes(&TBrokerPWriteRequest::new(
        V1,
        fd(),
        4096,
        b"a,b,c\n1,2,3\n".to_vec(),
    ))
}

/// One real request of every method, by name.
fn requests() -> Vec<(String, Vec<u8>)> {
    let s3 = props(&[
        ("fs.s3a.endpoint", "http://127.0.0.1:8333"),
        ("fs.s3a.path.style.access", "true"),
    ]);
    let list = bytes(&TBrokerListPathRequest::new(
        V1,
        "hdfs://ns1/user/starrocks/data/dt=2024-01-0[1-9]/*".into(),
        false,
        props(&[]),
        true,
        false,
    ));
    let calls: Vec<(&str, Vec<u8>)> = vec![
        ("listPath", list.clone()),
        ("listLocatedFiles", list),
        (
            "deletePath",
            bytes(&TBrokerDeletePathRequest::new(V1, PATH.into(), props(&[]))),
        ),
        (
            "renamePath",
            bytes(&TBrokerRenamePathRequest::new(
                V1,
                "s3a://bucket/tmp/_staging/part-0".into(),
                "s3a://bucket/data/part-0".into(),
                s3.clone(),
            )),
        ),
        (
            "checkPathExist",
            bytes(&TBrokerCheckPathExistRequest::new(
                V1,
                PATH.into(),
                props(&[]),
            )),
        ),
        (
            "openReader",
            bytes(&TBrokerOpenReaderRequest::new(
                V1,
                PATH.into(),
                0,
                "10.0.0.7:9060".into(),
                props(&[]),
            )),
        ),
        (
            "pread",
            bytes(&TBrokerPReadRequest::new(V1, fd(), 0, 8 << 20)),
        ),
        ("seek", bytes(&TBrokerSeekRequest::new(V1, fd(), 1 << 30))),
        (
            "closeReader",
            bytes(&TBrokerCloseReaderRequest::new(V1, fd())),
        ),
        (
            "openWriter",
            bytes(&TBrokerOpenWriterRequest::new(
                V1,
                "file:/tmp/export/data_0.csv".into(),
                TBrokerOpenMode::APPEND,
                "10.0.0.7:9060".into(),
                s3,
            )),
        ),
        ("pwrite", pwrite()),
        (
            "closeWriter",
            bytes(&TBrokerCloseWriterRequest::new(V1, fd())),
        ),
        ("ping", ping()),
        (
            "fileSize",
            bytes(&TBrokerFileSizeRequest::new(V1, PATH.into(), props(&[]))),
        ),
        (
            "isSplittable",
            bytes(&TBrokerIsSplittableRequest::new(
                V1,
                "hdfs://ns1/x/a.csv.gz".to_string(),
                "csv".to_string(),
                props(&[]),
            )),
        ),
    ];
    let mut out = Vec::new();
    for (i, (name, request)) in calls.into_iter().enumerate() {
        out.push((name.to_string(), message(true, name, i as i32, &request)));
        if i % 4 == 0 {
            out.push((
                format!("{name}-old-header"),
                message(false, name, i as i32, &request),
            ));
        }
    }
    out
}

/// A request struct's own encoding.
fn bytes<T: TSerializable>(request: &T) -> Vec<u8> {
    let mut out = Vec::new();
    request
        .write_to_out_protocol(&mut TBinaryOutputProtocol::new(&mut out, true))
        .unwrap();
    out
}

/// A call message `name(1: request)` around an already encoded request struct.
fn message(strict: bool, name: &str, seq: i32, request: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut o = TBinaryOutputProtocol::new(&mut out, strict);
        o.write_message_begin(&TMessageIdentifier::new(name, TMessageType::Call, seq))
            .unwrap();
        o.write_struct_begin(&TStructIdentifier::new("args"))
            .unwrap();
        o.write_field_begin(&TFieldIdentifier::new("request", TType::Struct, 1))
            .unwrap();
    }
    out.extend_from_slice(request);
    // field end is empty; STOP of the args struct.
    out.push(0);
    out
}
