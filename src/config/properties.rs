//! The `java.util.Properties.load` reader (escapes, continuation lines, comments, the
//! separators), `${VAR}` expansion as StarRocks' `ConfigBase` does it, and the UPPER_CASE
//! lines the start script exports as environment. Nothing here knows a config key.

use super::ConfigError;

/// `String.trim()`: strips every char <= U+0020, which is what `ConfigBase` applies.
pub(super) fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Keys the start script exports as environment variables (`^[A-Z][A-Z0-9_]*$`, the
/// script's own pattern), e.g. `HADOOP_USER_NAME`. They are not config keys.
pub fn is_env_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_uppercase())
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The UPPER_CASE `KEY = value` lines of conf text (`${VAR}` expanded, trimmed, later
/// duplicates winning), which the broker sets as its own environment at start, as
/// `start_broker.sh` exports them: `KRB5_CONFIG`, `HADOOP_USER_NAME`, `TMPDIR` ...
pub fn environment_lines(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for entry in parse_entries(text).iter().filter(|e| is_env_key(&e.key)) {
        let value = java_trim(&expand_vars(&entry.key, &entry.value, env)?).to_string();
        out.retain(|(k, _)| k != &entry.key);
        out.push((entry.key.clone(), value));
    }
    Ok(out)
}

/// Replaces `${NAME}` (NAME = anything up to the next `}`, as in `ConfigBase`'s regex).
/// A `${` without a closing brace is kept literally; the replacement is not re-expanded.
pub(super) fn expand_vars(
    key: &str,
    value: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some((before, after)) = rest.split_once("${") {
        let Some((name, tail)) = after.split_once('}') else {
            break;
        };
        let replacement = env(name).ok_or_else(|| ConfigError::UndefinedVariable {
            key: key.to_string(),
            var: name.to_string(),
        })?;
        out.push_str(before);
        out.push_str(&replacement);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// The raw `java.util.Properties.load` parse, in file order (duplicates kept; the last
/// one is what Java would keep). A malformed `\uXXXX` is kept literally here; the typed
/// [`BrokerConfig::parse`] rejects it like Java does.
pub fn parse_properties(text: &str) -> Vec<(String, String)> {
    parse_entries(text)
        .into_iter()
        .map(|e| (e.key, e.value))
        .collect()
}

pub(super) struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line where the logical line starts.
    pub line: usize,
    pub malformed: bool,
}

pub(super) fn parse_entries(text: &str) -> Vec<Entry> {
    logical_lines(text)
        .into_iter()
        .map(|(line, chars)| {
            let (key, value) = split_key_value(&chars);
            let (key, bad_key) = unescape(key);
            let (value, bad_value) = unescape(value);
            Entry {
                key,
                value,
                line,
                malformed: bad_key || bad_value,
            }
        })
        .collect()
}

fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Java's `LineReader`: splits into logical lines (continuations joined, leading
/// whitespace of each natural line dropped), skipping blank and comment lines. Escapes
/// are left in place; only the continuation backslash is removed.
fn logical_lines(text: &str) -> Vec<(usize, Vec<char>)> {
    // A BOM would otherwise become part of the first key and silently hide it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut chars = text.chars().peekable();
    let mut line_no = 1usize;
    let mut out = Vec::new();
    loop {
        // Skip whitespace and blank lines before a logical line.
        loop {
            match chars.peek() {
                Some(&c) if is_blank(c) => {
                    chars.next();
                }
                Some('\n') => {
                    chars.next();
                    line_no += 1;
                }
                Some('\r') => {
                    chars.next();
                    if chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line_no += 1;
                }
                _ => break,
            }
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        let start_line = line_no;
        if first == '#' || first == '!' {
            // Comments end at the line break: a trailing backslash does not continue them.
            while chars.peek().is_some_and(|&c| c != '\n' && c != '\r') {
                chars.next();
            }
            continue;
        }
        let mut buf = Vec::new();
        let mut preceding_backslash = false;
        loop {
            match chars.next() {
                None => {
                    // JDK 9+ drops a dangling continuation backslash at end of input.
                    if preceding_backslash {
                        buf.pop();
                    }
                    break;
                }
                Some(c @ ('\n' | '\r')) => {
                    if c == '\r' && chars.peek() == Some(&'\n') {
                        chars.next();
                    }
                    line_no += 1;
                    if !preceding_backslash {
                        break;
                    }
                    buf.pop();
                    preceding_backslash = false;
                    while chars.peek().is_some_and(|&c| is_blank(c)) {
                        chars.next();
                    }
                }
                Some(c) => {
                    preceding_backslash = c == '\\' && !preceding_backslash;
                    buf.push(c);
                }
            }
        }
        // A lone `\` continued onto an empty line leaves nothing; Java skips it too.
        if !buf.is_empty() {
            out.push((start_line, buf));
        }
    }
    out
}

/// Java's `load0`: the key ends at the first unescaped `=`, `:` or blank; then blanks
/// and at most one `=`/`:` are skipped. The value keeps trailing whitespace.
fn split_key_value(line: &[char]) -> (&[char], &[char]) {
    let mut key_len = 0;
    let mut value_start = line.len();
    let mut has_sep = false;
    let mut preceding_backslash = false;
    for (i, &c) in line.iter().enumerate() {
        if !preceding_backslash {
            if c == '=' || c == ':' {
                value_start = i + 1;
                has_sep = true;
                break;
            }
            if is_blank(c) {
                value_start = i + 1;
                break;
            }
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len = i + 1;
    }
    let rest = line.get(value_start..).unwrap_or(&[]);
    let mut skip = 0;
    for &c in rest {
        if !is_blank(c) {
            if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
            } else {
                break;
            }
        }
        skip += 1;
    }
    (
        line.get(..key_len).unwrap_or(&[]),
        rest.get(skip..).unwrap_or(&[]),
    )
}

/// Java's `loadConvert`: `\t \n \r \f`, `\uXXXX` (UTF-16, so surrogate pairs combine),
/// and `\x` -> `x` for anything else. Returns whether a `\u` was malformed; it is then
/// kept literally. Unpaired surrogates, legal in Java strings, become U+FFFD.
fn unescape(chars: &[char]) -> (String, bool) {
    let mut out = String::with_capacity(chars.len());
    let mut malformed = false;
    let mut pending_high: Option<u32> = None;
    let mut it = chars.iter().copied().peekable();
    while let Some(c) = it.next() {
        let unit = if c != '\\' {
            None
        } else {
            match it.next() {
                None => continue,
                Some('u') => {
                    let mut lookahead = it.clone();
                    let mut value = 0u32;
                    let mut ok = true;
                    for _ in 0..4 {
                        match lookahead.next().and_then(|d| d.to_digit(16)) {
                            Some(d) => value = (value << 4) | d,
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                    if ok {
                        it = lookahead;
                        Some(value)
                    } else {
                        malformed = true;
                        flush_surrogate(&mut out, &mut pending_high);
                        out.push_str("\\u");
                        continue;
                    }
                }
                Some(e) => {
                    flush_surrogate(&mut out, &mut pending_high);
                    out.push(match e {
                        't' => '\t',
                        'n' => '\n',
                        'r' => '\r',
                        'f' => '\x0c',
                        other => other,
                    });
                    continue;
                }
            }
        };
        match unit {
            None => {
                flush_surrogate(&mut out, &mut pending_high);
                out.push(c);
            }
            Some(u) => push_utf16_unit(&mut out, &mut pending_high, u),
        }
    }
    flush_surrogate(&mut out, &mut pending_high);
    (out, malformed)
}

fn push_utf16_unit(out: &mut String, pending_high: &mut Option<u32>, unit: u32) {
    if let Some(high) = pending_high.take() {
        if (0xDC00..=0xDFFF).contains(&unit) {
            let code = 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00);
            out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            return;
        }
        out.push(char::REPLACEMENT_CHARACTER);
    }
    if (0xD800..=0xDBFF).contains(&unit) {
        *pending_high = Some(unit);
    } else {
        out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
    }
}

fn flush_surrogate(out: &mut String, pending_high: &mut Option<u32>) {
    if pending_high.take().is_some() {
        out.push(char::REPLACEMENT_CHARACTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str) -> Vec<(String, String)> {
        parse_properties(text)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn separator_forms() {
        assert_eq!(
            props("a=1\nb = 2\nc:3\nd : 4\ne 5\nf\t\t6\ng\x0c7\nh=\ni\n"),
            pairs(&[
                ("a", "1"),
                ("b", "2"),
                ("c", "3"),
                ("d", "4"),
                ("e", "5"),
                ("f", "6"),
                ("g", "7"),
                ("h", ""),
                ("i", ""),
            ])
        );
    }

    #[test]
    fn separator_edge_cases() {
        // One separator is consumed after blanks; a second one is part of the value.
        assert_eq!(props("a == b"), pairs(&[("a", "= b")]));
        assert_eq!(props("a==b"), pairs(&[("a", "=b")]));
        assert_eq!(props("a : = b"), pairs(&[("a", "= b")]));
        assert_eq!(props("a b=c"), pairs(&[("a", "b=c")]));
        // Escaped separators belong to the key.
        assert_eq!(props("a\\=b\\:c\\ d = e"), pairs(&[("a=b:c d", "e")]));
        // Leading whitespace is dropped, trailing whitespace of a value is kept.
        assert_eq!(props("   \t k = v  \t"), pairs(&[("k", "v  \t")]));
        assert_eq!(props("=v"), pairs(&[("", "v")]));
    }

    #[test]
    fn line_endings_blank_lines_and_bom() {
        assert_eq!(
            props("\u{feff}a=1\r\n\r\n   \r\nb=2\rc=3\n\n"),
            pairs(&[("a", "1"), ("b", "2"), ("c", "3")])
        );
        assert!(props("").is_empty());
        assert!(props(" \t\n\r\n").is_empty());
    }

    #[test]
    fn comments() {
        assert_eq!(
            props("# c1\n! c2\n   # indented\n\t!x=y\nk=v # not a comment\n"),
            pairs(&[("k", "v # not a comment")])
        );
        // A comment ending in a backslash does not swallow the next line.
        assert_eq!(props("# comment \\\nk=v"), pairs(&[("k", "v")]));
    }

    #[test]
    fn continuation() {
        assert_eq!(props("k = a,\\\n    b,\\\n\tc"), pairs(&[("k", "a,b,c")]));
        assert_eq!(props("k = a\\\r\n  b"), pairs(&[("k", "ab")]));
        assert_eq!(props("k = a\\\r  b"), pairs(&[("k", "ab")]));
        // An even number of backslashes is an escaped backslash, not a continuation.
        assert_eq!(
            props("k = a\\\\\nb = c"),
            pairs(&[("k", "a\\"), ("b", "c")])
        );
        // Continuation lines are never comments.
        assert_eq!(props("k = a\\\n#b"), pairs(&[("k", "a#b")]));
        // Continuing onto an empty line ends the logical line.
        assert_eq!(props("k = a\\\n\nb = c"), pairs(&[("k", "a"), ("b", "c")]));
        // A dangling backslash at the end of input is dropped.
        assert_eq!(props("k = a\\"), pairs(&[("k", "a")]));
        // The key itself may be continued.
        assert_eq!(props("ke\\\n  y = v"), pairs(&[("key", "v")]));
        // Nothing but a continued backslash yields nothing.
        assert!(props("\\\n\n").is_empty());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            props("k = a\\tb\\nc\\rd\\fe\\\\f\\qg\\=h\\ i"),
            pairs(&[("k", "a\tb\nc\rd\x0ce\\fqg=h i")])
        );
        assert_eq!(props("k\\u0041 = \\u00e9\\u4E2D"), pairs(&[("kA", "é中")]));
        assert_eq!(props("k = \\uD83D\\uDE00"), pairs(&[("k", "😀")]));
        // Unpaired surrogates cannot be Rust chars.
        assert_eq!(
            props("k = \\uD83Dx\\uDE00"),
            pairs(&[("k", "\u{fffd}x\u{fffd}")])
        );
        assert_eq!(props("k = \\uD83D"), pairs(&[("k", "\u{fffd}")]));
        // Malformed \u: kept literally by the raw parser (the typed one rejects it).
        assert_eq!(props("k = \\u12g4"), pairs(&[("k", "\\u12g4")]));
        assert_eq!(props("k = \\u12"), pairs(&[("k", "\\u12")]));
        // Non-ASCII text passes through untouched.
        assert_eq!(props("ключ = 値 ✓"), pairs(&[("ключ", "値 ✓")]));
    }

    #[test]
    fn duplicates_are_all_kept_in_order() {
        assert_eq!(props("a=1\na=2"), pairs(&[("a", "1"), ("a", "2")]));
    }

    #[test]
    fn variables_expand_from_the_environment() {
        let env = |k: &str| match k {
            "A" => Some("x".to_string()),
            "LOOP" => Some("${LOOP}".to_string()),
            _ => None,
        };
        assert_eq!(expand_vars("k", "${A}/${A}y", &env).unwrap(), "x/xy");
        // Not re-expanded; an unterminated reference stays literal.
        assert_eq!(expand_vars("k", "${LOOP}", &env).unwrap(), "${LOOP}");
        assert_eq!(expand_vars("k", "$A/${A", &env).unwrap(), "$A/${A");
        assert!(matches!(
            expand_vars("k", "${NOPE}", &env),
            Err(ConfigError::UndefinedVariable { key, var }) if key == "k" && var == "NOPE"
        ));
    }

    #[test]
    fn upper_case_lines_are_environment() {
        let env = |k: &str| (k == "HOME_X").then(|| "/h".to_string());
        let lines = environment_lines(
            "KRB5_CONFIG = ${HOME_X}/krb5.conf\nbroker_ipc_port = 1\nTMPDIR=/a\nTMPDIR = /b \n",
            &env,
        )
        .unwrap();
        assert_eq!(
            lines,
            vec![
                ("KRB5_CONFIG".to_string(), "/h/krb5.conf".to_string()),
                ("TMPDIR".to_string(), "/b".to_string())
            ]
        );
    }
}
