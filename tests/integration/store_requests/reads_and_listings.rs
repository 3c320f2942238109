//! Reads and listings as requests: a pread is one ranged GET, a recursive listing one
//! flat listing of pages.

use super::{localhost, object_head, obs_props, oss_props};
use crate::common::http_listener::{HttpListener, Recorded, Reply};
use crate::common::*;

/// A pread is one ranged GET of the bytes asked for, clamped at the object's size.
#[test]
fn oss_pread_is_a_ranged_get() {
    let listener = HttpListener::start(|r| match r.method.as_str() {
        "HEAD" => object_head(),
        _ => {
            let range = r.header("range").unwrap_or_default().to_string();
            let body: &[u8] = match range.as_str() {
                "bytes=1-3" => b"ell",
                "bytes=3-4" => b"lo",
                _ => b"?",
            };
            Reply::new(206)
                .header("Content-Range", &format!("{}/5", range.replace('=', " ")))
                .header("Last-Modified", "Mon, 02 Jan 2023 03:04:05 GMT")
                .body(body)
        }
    });
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = oss_props(&localhost(&listener));
    let fd = c.with_props(&p).reader_fd("oss://bkt/a.csv", "be:1");
    let r = c.pread(&fd, 1, 3);
    assert_ok(&r.op_status);
    assert_eq!(r.data.as_deref(), Some(&b"ell"[..]));
    let r = c.pread(&fd, 3, 100);
    assert_ok(&r.op_status);
    assert_eq!(r.data.as_deref(), Some(&b"lo"[..]));
    let gets: Vec<Recorded> = listener
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET")
        .collect();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    for (r, range) in gets.iter().zip(["bytes=1-3", "bytes=3-4"]) {
        assert_eq!(r.path(), "/a.csv");
        assert_eq!(r.header("range"), Some(range));
        assert!(r
            .header("authorization")
            .unwrap_or_default()
            .starts_with("OSS4-HMAC-SHA256 "));
    }
    assert_ok(&c.close_reader(&fd));
}

/// One page of an S3 ListObjectsV2 answer: `keys` with their sizes, and the token of
/// the next page if any.
fn list_page(keys: &[(&str, u64)], next: Option<&str>) -> Reply {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Name>bkt</Name><Prefix>dir/</Prefix><MaxKeys>1000</MaxKeys>",
    );
    xml.push_str(&format!("<KeyCount>{}</KeyCount>", keys.len()));
    match next {
        Some(token) => xml.push_str(&format!(
            "<IsTruncated>true</IsTruncated><NextContinuationToken>{token}</NextContinuationToken>"
        )),
        None => xml.push_str("<IsTruncated>false</IsTruncated>"),
    }
    for (key, size) in keys {
        xml.push_str(&format!(
            "<Contents><Key>{key}</Key><LastModified>2023-01-02T03:04:05.000Z</LastModified>\
             <ETag>\"e\"</ETag><Size>{size}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        ));
    }
    xml.push_str("</ListBucketResult>");
    Reply::new(200)
        .header("Content-Type", "application/xml")
        .body(xml)
}

/// A recursive listing on an object store is one listing without a delimiter, paged,
/// not one listing per directory; its files come in the walk's order (by path
/// components: `a/x.csv` before `a.txt`), markers are no entries.
#[test]
fn a_recursive_listing_is_one_flat_listing_of_pages() {
    let listener = HttpListener::start(|r| {
        if r.method != "GET" || !r.query().contains("list-type=2") {
            return Reply::new(404);
        }
        if r.query().contains("continuation-token=page2") {
            list_page(&[("dir/b/c.csv", 3), ("dir/b/c/d.csv", 4)], None)
        } else {
            list_page(
                &[("dir/a.txt", 1), ("dir/a/x.csv", 2), ("dir/b/", 0)],
                Some("page2"),
            )
        }
    });
    let broker = BrokerProcess::start();
    let mut c = broker.client();
    let p = obs_props(&localhost(&listener));
    let r = c.with_props(&p).list_located("obs://bkt/dir", true, false);
    assert_ok(&r.op_status);
    let files: Vec<(String, bool, i64)> = r
        .files
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.is_dir, f.size))
        .collect();
    let file = |path: &str, size| (format!("obs://bkt/dir/{path}"), false, size);
    assert_eq!(
        files,
        vec![
            file("a/x.csv", 2),
            file("a.txt", 1),
            file("b/c/d.csv", 4),
            file("b/c.csv", 3),
        ]
    );
    let requests = listener.requests();
    assert_eq!(requests.len(), 2, "one listing of two pages: {requests:#?}");
    for r in &requests {
        let query: Vec<&str> = r.query().split('&').collect();
        assert!(query.contains(&"prefix=dir/"), "{r:?}");
        assert!(!r.query().contains("delimiter"), "{r:?}");
    }
}
