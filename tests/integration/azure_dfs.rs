//! `abfs(s)://` through ADLS Gen2's DFS API. No server that runs here speaks it (Azurite
//! serves the Blob API only), so a recording listener on 127.0.0.1
//! (common/http_listener.rs) answers with the responses Azure documents for each call
//! (Path - List's JSON page and `x-ms-continuation`, Path - Create / Update / Lease /
//! Delete status codes, `x-ms-error-code` and `x-ms-request-id` headers), and each test
//! checks, through the Thrift wire, the requests the broker sends and how it reads the
//! answers. This proves the request shapes and the answer handling; it does not prove a
//! live service accepts them.

use crate::common::http_listener::{HttpListener, Recorded, Reply};
use crate::common::*;

/// The account key of these tests (base64 of a made-up key).
const KEY: &str = "YXp1cmUtZGZzLWFjY291bnQta2V5LTdlMmE=";
const ROOT: &str = "abfss://cont@acct.dfs.core.windows.net";
const LAST_MODIFIED: &str = "Mon, 02 Jan 2023 03:04:05 GMT";
/// The continuation token of the listing's second page (opaque, with characters that
/// need encoding in a query).
const TOKEN: &str = "VBbzu86Hx5/yKeYBGAEYuAIvYWNjdC9jb250L2Rpci9i";

fn props(listener: &HttpListener) -> Props {
    [
        ("fs.azure.account.key.acct.dfs.core.windows.net", KEY),
        (
            "azure.adls2.endpoint",
            &format!("http://127.0.0.1:{}", listener.port()),
        ),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The query's value of `name`, percent-decoded.
fn param(r: &Recorded, name: &str) -> Option<String> {
    form_urlencoded::parse(r.query().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn request_id(r: &Recorded) -> String {
    format!("rid-{}-{}", r.method.to_lowercase(), r.path().len())
}

/// An answer with the headers every DFS answer carries.
fn answer(r: &Recorded, status: u16) -> Reply {
    Reply::new(status)
        .header("x-ms-request-id", &request_id(r))
        .header("x-ms-version", "2021-06-08")
}

/// A documented DFS error: the code in `x-ms-error-code` and, but for HEAD, the JSON body.
fn error(r: &Recorded, status: u16, code: &str, message: &str) -> Reply {
    let reply = answer(r, status).header("x-ms-error-code", code);
    if r.method == "HEAD" {
        return reply;
    }
    reply
        .header("Content-Type", "application/json;charset=utf-8")
        .body(
            serde_json::json!({"error": {"code": code, "message": format!(
                "{message}\nRequestId:{}\nTime:2023-01-02T03:04:05.0000000Z", request_id(r)
            )}})
            .to_string(),
        )
}

fn entry(name: &str, dir: bool, length: u64) -> serde_json::Value {
    let mut e = serde_json::json!({
        "name": name,
        "contentLength": length.to_string(),
        "lastModified": LAST_MODIFIED,
        "etag": "0x8DACF9B0061305F",
        "owner": "$superuser",
        "group": "$superuser",
        "permissions": "rw-r-----",
    });
    if dir {
        e["isDirectory"] = "true".into();
    }
    e
}

/// The account as Azure answers it: a directory `dir` listed in two pages (a file, a
/// directory; then a file and a writer's temporary file), an empty directory `empty`,
/// both answering Get Properties as directories, anything named `denied`
/// refused by RBAC, a flush of anything named `broken` refused, everything else missing
/// (HEAD, listings) or accepted (create, append, flush, rename, delete).
fn dfs(r: &Recorded) -> Reply {
    let path = r.path();
    if path.contains("denied") {
        return error(
            r,
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        );
    }
    let not_found = |r| error(r, 404, "PathNotFound", "The specified path does not exist.");
    match r.method.as_str() {
        "GET" if param(r, "resource").as_deref() == Some("filesystem") => {
            match param(r, "directory").as_deref() {
                Some("dir") => {}
                Some("empty") => {
                    return answer(r, 200)
                        .header("Content-Type", "application/json;charset=utf-8")
                        .body(r#"{"paths":[]}"#)
                }
                _ => return not_found(r),
            }
            let (paths, next) = match param(r, "continuation") {
                None => (
                    vec![entry("dir/a.csv", false, 5), entry("dir/sub", true, 0)],
                    Some(TOKEN),
                ),
                Some(_) => (
                    vec![
                        entry("dir/b.csv", false, 7),
                        entry("dir/.b.csv.broker-0123456789abcdef.tmp", false, 3),
                    ],
                    None,
                ),
            };
            let mut reply = answer(r, 200)
                .header("Content-Type", "application/json;charset=utf-8")
                .body(serde_json::json!({ "paths": paths }).to_string());
            if let Some(token) = next {
                reply = reply.header("x-ms-continuation", token);
            }
            reply
        }
        // Path - Get Properties of the directory.
        "HEAD" if path == "/cont/dir" || path == "/cont/empty" => answer(r, 200)
            .header("x-ms-resource-type", "directory")
            .header("Content-Length", "0")
            .header("Last-Modified", LAST_MODIFIED),
        "HEAD" | "GET" => not_found(r),
        "PUT" => answer(r, 201)
            .header("ETag", "\"0x8DACF9B0061305F\"")
            .header("Last-Modified", LAST_MODIFIED),
        "PATCH" if param(r, "action").as_deref() == Some("append") => answer(r, 202),
        "PATCH" if path.contains("broken") => error(
            r,
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        ),
        "PATCH" => answer(r, 200)
            .header("ETag", "\"0x8DACF9B0061306A\"")
            .header("Last-Modified", LAST_MODIFIED),
        "DELETE" => answer(r, 200),
        _ => answer(r, 400),
    }
}

fn signed(r: &Recorded) {
    let auth = r.header("authorization").unwrap_or_default();
    assert!(auth.starts_with("SharedKey acct:"), "{r:?}");
    assert!(!auth.contains(KEY));
}

#[test]
fn a_listing_pages_through_the_continuation() {
    let listener = HttpListener::start(dfs);
    let broker = BrokerProcess::start();
    let r =
        broker
            .client()
            .with_props(&props(&listener))
            .list(&format!("{ROOT}/dir/*"), false, false);
    assert_eq!(
        listed(&r),
        ["a.csv", "b.csv", "sub"].map(|n| format!("{ROOT}/dir/{n}")),
        "the temporary file of a write in progress is not listed"
    );
    let files = r.files.unwrap();
    let sub = files.iter().find(|f| f.path.ends_with("/sub")).unwrap();
    assert!(sub.is_dir);
    let b = files.iter().find(|f| f.path.ends_with("/b.csv")).unwrap();
    assert_eq!((b.is_dir, b.size), (false, 7));
    let pages: Vec<Recorded> = listener
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && param(r, "directory").as_deref() == Some("dir"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:#?}");
    for page in &pages {
        assert_eq!(page.path(), "/cont");
        assert_eq!(param(page, "recursive").as_deref(), Some("false"));
        signed(page);
    }
    assert_eq!(param(&pages[0], "continuation"), None);
    assert_eq!(param(&pages[1], "continuation").as_deref(), Some(TOKEN));

    // A directory with nothing in it is still there (a flat store would say missing).
    let r = broker
        .client()
        .with_props(&props(&listener))
        .exists(&format!("{ROOT}/empty"));
    assert_ok(&r.op_status);
    assert!(r.is_path_exist, "{r:?}");
}

#[test]
fn a_write_is_created_appended_flushed_and_renamed_over_its_target() {
    let listener = HttpListener::start(dfs);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&props(&listener));
    // More than one part: two appends, the second at the first's end.
    let part = 8 << 20;
    let data: Vec<u8> = (0..part + (1 << 20)).map(|i| (i % 251) as u8).collect();
    c.write_file(&format!("{ROOT}/dir/x.csv"), "dfs-writer", &data, 1 << 20);

    let requests = listener.requests();
    let writes: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "PUT" || r.method == "PATCH")
        .collect();
    let temp = writes[0].path().to_string();
    assert!(
        temp.starts_with("/cont/dir/.x.csv.broker-") && temp.ends_with(".tmp"),
        "written beside the target under a hidden name: {writes:#?}"
    );
    let shape: Vec<(String, String, Option<String>, Option<String>)> = writes
        .iter()
        .map(|r| {
            let what = param(r, "resource").or_else(|| param(r, "action"));
            (
                r.method.clone(),
                r.path().to_string(),
                what,
                param(r, "position"),
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        shape,
        [
            ("PUT".into(), temp.clone(), s("file"), None),
            ("PATCH".into(), temp.clone(), s("append"), s("0")),
            (
                "PATCH".into(),
                temp.clone(),
                s("append"),
                s(&part.to_string())
            ),
            (
                "PATCH".into(),
                temp.clone(),
                s("flush"),
                s(&data.len().to_string())
            ),
            ("PUT".into(), "/cont/dir".into(), s("directory"), None),
            ("PUT".into(), "/cont/dir/x.csv".into(), None, None),
        ]
    );
    // The appends carry the data, in parts (never the whole file at once).
    assert_eq!(writes[1].body.len(), part);
    assert_eq!([&writes[1].body[..], &writes[2].body[..]].concat(), data);
    assert!(writes[3].body.is_empty());
    // The target appears in one rename of the flushed file.
    assert_eq!(writes[5].header("x-ms-rename-source"), Some(temp.as_str()));
    for r in &writes {
        signed(r);
    }
}

#[test]
fn a_failed_commit_leaves_nothing_at_the_target() {
    let listener = HttpListener::start(dfs);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&props(&listener));
    let fd = c.writer_fd(&format!("{ROOT}/dir/broken.csv"), "dfs-writer");
    assert_ok(&c.pwrite(&fd, 0, b"partial"));
    let closed = c.close_writer(&fd);
    assert_code(&closed, Code::NOT_AUTHORIZED);
    assert!(
        message(&closed).contains("AuthorizationPermissionMismatch"),
        "{closed:?}"
    );
    let requests = listener.requests();
    let temp = requests
        .iter()
        .find(|r| param(r, "resource").as_deref() == Some("file"))
        .expect("a create")
        .path()
        .to_string();
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-ms-rename-source").is_none() && r.path() != "/cont/dir/broken.csv"),
        "nothing reached the target: {requests:#?}"
    );
    wait_for(
        "the temporary file deleted",
        std::time::Duration::from_secs(10),
        || {
            listener
                .requests()
                .iter()
                .any(|r| r.method == "DELETE" && r.path() == temp)
        },
    );
}

/// A write aborted (the broker stopping while it is open) deletes its temporary file and
/// never touches the target.
#[test]
fn an_aborted_write_deletes_its_temporary_file() {
    let listener = HttpListener::start(dfs);
    let mut broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&props(&listener));
    let fd = c.writer_fd(&format!("{ROOT}/dir/unfinished.csv"), "dfs-writer");
    assert_ok(&c.pwrite(&fd, 0, b"partial"));
    let status = broker.terminate();
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    let requests = listener.requests();
    let deleted: Vec<&str> = requests
        .iter()
        .filter(|r| r.method == "DELETE")
        .map(|r| r.path())
        .collect();
    assert!(
        matches!(&deleted[..], [temp] if temp.starts_with("/cont/dir/.unfinished.csv.broker-") && temp.ends_with(".tmp")),
        "the temporary file deleted, nothing else: {requests:#?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| r.header("x-ms-rename-source").is_none()
                && r.path() != "/cont/dir/unfinished.csv"),
        "nothing reached the target: {requests:#?}"
    );
}

#[test]
fn a_directory_rename_and_delete_are_one_call_each() {
    let listener = HttpListener::start(dfs);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&props(&listener));

    assert_ok(&c.rename(&format!("{ROOT}/dir"), &format!("{ROOT}/moved")));
    let renames: Vec<Recorded> = listener
        .requests()
        .into_iter()
        .filter(|r| r.header("x-ms-rename-source").is_some())
        .collect();
    assert_eq!(renames.len(), 1, "{renames:#?}");
    assert_eq!(renames[0].method, "PUT");
    assert_eq!(renames[0].path(), "/cont/moved");
    assert_eq!(renames[0].header("x-ms-rename-source"), Some("/cont/dir"));
    signed(&renames[0]);
    let before = listener.requests().len();

    assert_ok(&c.delete(&format!("{ROOT}/dir")));
    let deletes: Vec<Recorded> = listener.requests()[before..]
        .iter()
        .filter(|r| r.method == "DELETE")
        .cloned()
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:#?}");
    assert_eq!(deletes[0].path(), "/cont/dir");
    assert_eq!(param(&deletes[0], "recursive").as_deref(), Some("true"));
    signed(&deletes[0]);
}

#[test]
fn missing_is_file_not_found_and_refused_is_not_authorized_with_the_request_id() {
    let listener = HttpListener::start(dfs);
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    c.with_props(&props(&listener));

    let r = c.open_reader(&format!("{ROOT}/dir/missing.csv"), "dfs-reader");
    assert_code(&r.op_status, Code::FILE_NOT_FOUND);
    assert!(message(&r.op_status).contains("missing.csv"), "{r:?}");

    let r = c.exists(&format!("{ROOT}/denied/a.csv"));
    assert_code(&r.op_status, Code::NOT_AUTHORIZED);
    let m = message(&r.op_status);
    assert!(m.contains("AuthorizationPermissionMismatch"), "{m}");
    let head = listener
        .requests()
        .into_iter()
        .find(|r| r.path() == "/cont/denied/a.csv")
        .unwrap();
    assert!(
        m.contains(&request_id(&head)),
        "the request id is kept: {m}"
    );
}
