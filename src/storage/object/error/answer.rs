//! What opendal keeps of a store's answer only as text: the store's own error code and
//! reason (the `Debug` print of the body it parsed), the HTTP status and request id (the
//! error's context), and the error without that context, for messages.

/// The store's own error code and reason, read back from the `Debug` print of the error
/// body opendal parsed (`S3Error { code: "NoSuchBucket", message: "...", ... }`, the same
/// shape for OSS, COS and Azure; GCS's `GcsError { code: 401, message: "..." }` carries
/// the HTTP status as a number). Text, because that print is all opendal keeps of the
/// parsed body (the structs are private to each service); a body that was not the
/// store's error document is kept verbatim and has no code.
pub(super) fn store_code(text: &str) -> Option<(String, String)> {
    let code = debug_field(text, "code")?;
    if code.is_empty() {
        return None;
    }
    let message = debug_field(text, "message").unwrap_or_default();
    Some((code, message))
}

/// The value of `field: "..."` (or of `field: 401`, a number) in a `Debug`-printed
/// struct, unescaped. Only a whole field name counts (`code`, not `status_code`).
fn debug_field(text: &str, field: &str) -> Option<String> {
    let marker = format!("{field}: ");
    let start = text.match_indices(&marker).find_map(|(at, _)| {
        let before = text[..at].chars().next_back();
        (!before.is_some_and(|c| c.is_alphanumeric() || c == '_')).then_some(at + marker.len())
    })?;
    let rest = &text[start..];
    let Some(quoted) = rest.strip_prefix('"') else {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        return (!digits.is_empty()).then_some(digits);
    };
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// Response headers in which the stores name a request (what their support asks for).
const REQUEST_ID_HEADERS: &[&str] = &[
    "x-amz-request-id",
    "x-ms-request-id",
    "x-oss-request-id",
    "x-cos-request-id",
    "x-obs-request-id",
    "x-tos-request-id",
    "x-kss-request-id",
    "x-guploader-uploadid",
];

/// `HTTP 503, request id ...` of a store's answer, read from the context opendal adds to
/// an error it made from a response (`response: Parts { status: 503, ..., headers: {...}
/// }` in its `Display`, the only place it keeps them); `None` when no answer came.
pub(super) fn http_answer(err: &opendal::Error) -> Option<String> {
    let text = err.to_string();
    let parts = &text[text.find("response: Parts { status: ")? + 26..];
    let status: String = parts.chars().take_while(char::is_ascii_digit).collect();
    if status.is_empty() {
        return None;
    }
    let request_id = REQUEST_ID_HEADERS.iter().find_map(|name| {
        let marker = format!("\"{name}\": \"");
        let value = &parts[parts.find(&marker)? + marker.len()..];
        value.split('"').next().map(str::to_string)
    });
    Some(match request_id {
        Some(id) => format!("HTTP {status}, request id {id}"),
        None => format!("HTTP {status}"),
    })
}

/// An opendal error without its context dump: kind, message and the causes below it
/// ("Unexpected: send http request: error sending request ...: Connection refused").
pub(in crate::storage::object) fn describe_error(err: &opendal::Error) -> String {
    let mut text = format!("{}", err.kind());
    if !err.message().is_empty() {
        text.push_str(": ");
        text.push_str(err.message());
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_codes_are_read_from_the_parsed_body() {
        let text = r#"S3Error { code: "SignatureDoesNotMatch", message: "The request signature we calculated does not match the \"signature\" you provided.", resource: "/b/k", request_id: "1" }"#;
        let (code, message) = store_code(text).unwrap();
        assert_eq!(code, "SignatureDoesNotMatch");
        assert_eq!(
            message,
            "The request signature we calculated does not match the \"signature\" you provided."
        );
        assert!(store_code("").is_none());
        assert!(store_code("<html>bad gateway</html>").is_none());
        assert!(store_code(r#"S3Error { code: "", message: "x" }"#).is_none());
        // A longer field name that ends in `code` is not the code.
        let tricky = r#"E { status_code: 500, code: "SlowDown", message: "m" }"#;
        assert_eq!(store_code(tricky).unwrap().0, "SlowDown");
    }
}
