//! Hadoop `FileSystem.globStatus` on top of [`Storage`](super::Storage).
//!
//! Clients hand the broker the same patterns they would hand Hadoop, so this follows
//! Hadoop's `GlobExpander`, `GlobPattern` and `Globber` rule for rule:
//!
//! 1. [`expand`] (`expand.rs`): every `{...}` group holding a `/` is expanded first into
//!    separate patterns (a group without `/` stays a group and is matched per component).
//! 2. [`GlobPattern`] (`pattern.rs`): each path component is translated the way Hadoop
//!    translates it into a regular expression and matched in full against one name, by
//!    the `regex` crate (where its syntax differs from Hadoop's re2j, see there).
//! 3. [`glob_status`] (`walk.rs`): the components are walked from the root. Literal
//!    components are appended without I/O (the last one is stat'ed), glob components list
//!    the parent.
//!
//! Nothing is special about a leading `.`: Hadoop's `*` matches hidden names too.
//!
//! Deliberate deviations, all on inputs nobody sends on purpose:
//! * `\` followed by a letter, digit or non-ASCII character is refused. Hadoop hands
//!   such escapes to its regex engine, where `\d`, `\w`, `\s`, `\t` ... mean regex
//!   classes and most others are errors; escaping punctuation (the useful case) matches.
//! * POSIX classes (`[][:alpha:]]`, reachable only after a leading `[]`) are refused.
//! * A bad component is reported even when Hadoop would have stopped walking before it.
//! * Results are de-duplicated (Hadoop returns a path twice for `{a/b,a/b}`).
//! * Limits: [`MAX_PATTERN_LEN`], [`MAX_EXPANDED_PATTERNS`], [`MAX_NESTING`], and the
//!   size of one component's compiled matcher.

mod expand;
mod order;
mod pattern;
mod regex_syntax;
mod walk;

use super::clip::clip;
use super::StorageError;

pub use expand::expand;
pub use pattern::GlobPattern;
pub use walk::glob_status;

/// Longest pattern accepted, in bytes (HDFS refuses to create paths over 8000 characters).
pub const MAX_PATTERN_LEN: usize = 8192;
/// Most patterns [`expand`] may produce; `{a/,b/}` repeated doubles the count each time.
pub const MAX_EXPANDED_PATTERNS: usize = 1024;
/// Deepest `{}` nesting inside one component (keeps the matcher's nesting shallow).
pub const MAX_NESTING: usize = 100;

/// True when `s` holds any glob metacharacter Hadoop would interpret.
///
/// Mirrors `GlobPattern.hasWildcard`: an unescaped `*`, `?`, `[` or `{`.
pub fn has_glob(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' | '{' => return true,
            _ => {}
        }
    }
    false
}

fn invalid(pattern: &str, problem: impl std::fmt::Display) -> StorageError {
    const SHOWN: usize = 256;
    let shown = clip(pattern, SHOWN);
    StorageError::InvalidArgument(format!("illegal file pattern '{shown}': {problem}"))
}

fn check_len(pattern: &str) -> Result<(), String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!(
            "pattern is {} bytes long, the limit is {MAX_PATTERN_LEN}",
            pattern.len()
        ));
    }
    Ok(())
}

fn missing_escaped(at: usize) -> String {
    format!("missing escaped character at position {at}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_glob_finds_unescaped_metacharacters() {
        for s in ["*", "a?", "/a/[bc]", "{a,b}", "/x/{a/b,c}", "\\\\*"] {
            assert!(has_glob(s), "{s}");
        }
        for s in ["", "/a/b", "a\\*", "a\\[b\\]", "a]b}", "a,b", "x\\"] {
            assert!(!has_glob(s), "{s}");
        }
    }

    #[test]
    fn no_input_panics() {
        const ALPHABET: [&str; 20] = [
            "*", "?", "[", "]", "{", "}", ",", "\\", "!", "^", "-", "/", "a", "b", ".", "(", ")",
            "|", "é", ":",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 12) as usize;
            let glob: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let name: String = (0..(next() % 6))
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            if let Ok(p) = GlobPattern::compile(&glob) {
                p.matches(&name);
            }
            let _ = expand(&glob);
            let _ = has_glob(&glob);
        }
    }
}
