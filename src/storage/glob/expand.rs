//! Hadoop's `GlobExpander`: `{...}` groups that hold a `/` become separate patterns
//! before any matching, since a component matcher never sees a `/`.

use super::{check_len, invalid, missing_escaped, MAX_EXPANDED_PATTERNS};
use crate::storage::Result;

/// Bytes [`expand`] may scan in total; bounds the time spent on long chains of groups.
const MAX_EXPAND_WORK: usize = 1 << 24;

/// Hadoop's `GlobExpander.expand`: rewrites `pattern` into patterns in which no `{...}`
/// group contains a `/`, e.g. `p{a/b,c/d}s` → `pa/bs`, `pc/ds`.
///
/// Hadoop's quirks are kept: inside an expanded group backslashes are dropped
/// (`{a,b}/{c/\d}` → `{a,b}/c/d`), and groups without `/` stay for the matcher.
pub fn expand(pattern: &str) -> Result<Vec<String>> {
    expand_path(pattern).map_err(|problem| invalid(pattern, problem))
}

pub(super) fn expand_path(pattern: &str) -> Result<Vec<String>, String> {
    check_len(pattern)?;
    let mut done = Vec::new();
    // Hadoop keeps a work list and puts expansions at its front: a stack fed in reverse.
    let mut todo = vec![(pattern.to_string(), 0usize)];
    let mut work = 0usize;
    while let Some((p, offset)) = todo.pop() {
        work += p.len() + 1;
        if work > MAX_EXPAND_WORK {
            return Err("too many nested or repeated {} groups".to_string());
        }
        match expand_leftmost(&p, offset)? {
            None => done.push(p),
            Some((alternatives, next_offset)) => {
                // Every pattern still to do yields at least one result, so this bounds
                // the final count without ever building more than the cap.
                if done.len() + todo.len() + alternatives.len() > MAX_EXPANDED_PATTERNS {
                    return Err(format!(
                        "{{}} groups expand to more than {MAX_EXPANDED_PATTERNS} patterns"
                    ));
                }
                todo.extend(alternatives.into_iter().rev().map(|a| (a, next_offset)));
            }
        }
    }
    Ok(done)
}

/// Byte index of the `{` opening the leftmost outermost group (at or after `offset`)
/// that contains an unescaped `/`.
fn leftmost_group_with_slash(p: &str, offset: usize) -> Result<Option<usize>, String> {
    let b = p.as_bytes();
    let (mut depth, mut start, mut slash) = (0usize, 0usize, false);
    let mut i = offset;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                i += 1;
                if i >= b.len() {
                    return Err(missing_escaped(i));
                }
            }
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 && slash {
                    return Ok(Some(start));
                }
            }
            b'/' if depth > 0 => slash = true,
            _ => {}
        }
        i += 1;
    }
    Ok(None)
}

/// Expands the leftmost group holding a `/` into one pattern per alternative; also returns
/// where the next search starts (Hadoop does not rescan the unchanged prefix).
fn expand_leftmost(p: &str, offset: usize) -> Result<Option<(Vec<String>, usize)>, String> {
    let Some(start) = leftmost_group_with_slash(p, offset)? else {
        return Ok(None);
    };
    let (prefix, rest) = p.split_at(start);
    let mut alternatives = Vec::new();
    let mut alt = String::new();
    let mut depth = 0usize;
    let mut suffix = "";
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => alt.push(escaped),
                None => return Err(missing_escaped(start + i + 1)),
            },
            '{' => {
                if depth > 0 {
                    alt.push(c);
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    alternatives.push(std::mem::take(&mut alt));
                    suffix = &rest[i + 1..];
                    break;
                }
                alt.push(c);
            }
            ',' if depth == 1 => alternatives.push(std::mem::take(&mut alt)),
            _ => alt.push(c),
        }
    }
    let expanded = alternatives
        .into_iter()
        .map(|a| format!("{prefix}{a}{suffix}"))
        .collect();
    Ok(Some((expanded, prefix.len())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::glob::{GlobPattern, MAX_PATTERN_LEN};
    use crate::storage::StorageError;

    fn expanded(p: &str) -> Vec<String> {
        expand(p).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    #[test]
    fn expander_follows_hadoop() {
        for same in [
            "",
            "/}",
            "/}{a,b}",
            "{/",
            "{a}",
            "{a,b}/{b,c}",
            "p\\{a/b,c/d\\}s",
        ] {
            assert_eq!(expanded(same), [same]);
        }
        assert_eq!(expanded("p{a\\/b,c\\/d}s"), ["p{a\\/b,c\\/d}s"]);
        assert_eq!(expanded("{a/b}"), ["a/b"]);
        assert_eq!(expanded("/}{a/b}"), ["/}a/b"]);
        assert_eq!(expanded("p{a/b,c/d}s"), ["pa/bs", "pc/ds"]);
        assert_eq!(expanded("{a/b,c/d,{e,f}}"), ["a/b", "c/d", "{e,f}"]);
        assert_eq!(expanded("{a/b,c/d}{e,f}"), ["a/b{e,f}", "c/d{e,f}"]);
        assert_eq!(
            expanded("{a,b}/{b,{c/d,e/f}}"),
            ["{a,b}/b", "{a,b}/c/d", "{a,b}/e/f"]
        );
        assert_eq!(expanded("{a,b}/{c/\\d}"), ["{a,b}/c/d"]);
        assert_eq!(
            expanded("/{x/,y/}{1/,2/}z"),
            ["/x/1/z", "/x/2/z", "/y/1/z", "/y/2/z"]
        );
        assert_eq!(expanded("/é{ü/a,ß}"), ["/éü/a", "/éß"]);
    }

    #[test]
    fn expander_limits() {
        assert!(matches!(
            expand("/a\\"),
            Err(StorageError::InvalidArgument(_))
        ));
        assert!(matches!(
            expand("/{a/b\\"),
            Err(StorageError::InvalidArgument(_))
        ));
        assert_eq!(expanded(&"{a/,b/}".repeat(10)).len(), 1024);
        let msg = expand(&"{a/,b/}".repeat(11)).unwrap_err().to_string();
        assert!(msg.contains("more than 1024"), "{msg}");
        // Long chains of single-alternative groups: bounded work, not a hang.
        let chain = format!("{}{}", "{a/,b/}".repeat(9), "{c/}".repeat(1500));
        assert!(expand(&chain).is_err());
        assert!(expand(&"x".repeat(MAX_PATTERN_LEN + 1)).is_err());
        assert!(GlobPattern::compile(&"x".repeat(MAX_PATTERN_LEN + 1)).is_err());
    }
}
