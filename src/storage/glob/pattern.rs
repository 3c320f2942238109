//! Hadoop's `GlobPattern`: one path component's glob -> a matcher for one whole name.
//!
//! Hadoop translates the glob into a regular expression and compiles it with re2j (RE2
//! syntax, `DOTALL`). [`translate`] reproduces that translation exactly, quirks included
//! (`[*]` also matches `.`, `?` inside `[...]` means `.`, `,` inside a class within `{}`
//! becomes `|`). The `regex` crate then runs it, linear in the name, never backtracking.
//! Its syntax is RE2's except where it matters here, and [`RegexWriter`]
//! (`regex_syntax.rs`) rewrites the RE2 expression into it (each difference has a unit
//! test below):
//! * inside `[...]` RE2 takes `[` literally and knows no set operators; `regex` opens a
//!   nested class on `[` and reads `&&`, `--` and `~~` as intersection, difference and
//!   symmetric difference. Every class member is written escaped.
//! * `\<` and `\>` are a literal `<` and `>` in RE2, word boundaries in `regex`. Every
//!   literal is written escaped the `regex` way.
//!
//! A run of `*` is written as one `.*` (same matches, a fraction of the cost), and a
//! component whose matcher would exceed [`MAX_COMPILED_BYTES`] is refused, naming it.
//!
//! Refused on purpose (Hadoop would hand them to re2j): `\` before a letter, digit or
//! non-ASCII character (`\d`, `\w`, `\Q` are regex features, not glob escapes) and POSIX
//! classes (`[][:alpha:]]`, reachable only after a leading `[]`).

use regex::{Regex, RegexBuilder};

use super::regex_syntax::RegexWriter;
use super::{check_len, invalid, missing_escaped, MAX_NESTING};
use crate::storage::Result;

/// Most bytes one component's compiled matcher may take (`regex`'s `size_limit`): about
/// a thousand wildcards (`?`, `[^a]`, `*a`) in one component, where names are at most
/// 255 characters in HDFS. Matching costs up to the matcher's size per character of a
/// name, so this bounds the time a hostile pattern takes per listed entry, and its memory.
const MAX_COMPILED_BYTES: usize = 2 << 20;
/// `regex`'s own nesting limit, above what [`MAX_NESTING`] `{}` groups need (it counts
/// concatenations and alternations too); ours is checked first with a clearer message.
const REGEX_NEST_LIMIT: u32 = 4 * MAX_NESTING as u32 + 16;

/// One compiled path-component pattern, matched against a whole name.
///
/// `/` means nothing here (Hadoop only ever matches single names; the walk splits on `/`
/// first), so `*` matches any run of characters, newlines included.
#[derive(Debug, Clone)]
pub struct GlobPattern {
    regex: Regex,
    has_wildcard: bool,
}

impl GlobPattern {
    /// Compiles one component pattern; a syntax error is `InvalidArgument`.
    pub fn compile(glob: &str) -> Result<GlobPattern> {
        Self::compile_component(glob).map_err(|problem| invalid(glob, problem))
    }

    /// [`GlobPattern::compile`] with the problem alone, for callers that name the
    /// whole pattern themselves.
    pub(super) fn compile_component(glob: &str) -> Result<GlobPattern, String> {
        check_len(glob)?;
        let (re2, has_wildcard) = translate(glob)?;
        let body = RegexWriter::rewrite(&re2)?;
        Ok(GlobPattern {
            regex: build(&body, MAX_COMPILED_BYTES)?,
            has_wildcard,
        })
    }

    /// True when the pattern holds `*`, `?`, `[` or `{`; otherwise it names one entry and
    /// Hadoop looks it up directly instead of listing the parent.
    pub fn has_wildcard(&self) -> bool {
        self.has_wildcard
    }

    /// Whether the whole of `name` matches. Linear in `name`.
    pub fn matches(&self, name: &str) -> bool {
        self.regex.is_match(name)
    }
}

/// Compiles a rewritten expression to match whole names, `.` matching newlines too (the
/// `DOTALL` Hadoop compiles with).
fn build(body: &str, size_limit: usize) -> Result<Regex, String> {
    RegexBuilder::new(&format!(r"\A(?:{body})\z"))
        .dot_matches_new_line(true)
        .size_limit(size_limit)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("too complex: its matcher would take more than {limit} bytes")
            }
            // Not expected after the checks above; the last line says what is wrong.
            other => {
                let text = other.to_string();
                let reason = text.lines().rev().find(|l| !l.trim().is_empty());
                format!("cannot compile: {}", reason.unwrap_or(&text).trim())
            }
        })
}

/// Hadoop's `GlobPattern.set`: glob -> RE2 expression, character for character (quirks
/// included). Returns the expression and whether the glob had a wildcard.
fn translate(glob: &str) -> Result<(Vec<char>, bool), String> {
    let chars: Vec<char> = glob.chars().collect();
    let mut re = Vec::with_capacity(chars.len() + 8);
    let (mut set_open, mut curly_open, mut wildcard) = (false, 0usize, false);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                i += 1;
                let Some(&escaped) = chars.get(i) else {
                    return Err(missing_escaped(i));
                };
                re.extend(['\\', escaped]);
            }
            '.' | '$' | '(' | ')' | '|' | '+' => re.extend(['\\', c]),
            '*' => {
                re.extend(['.', '*']);
                wildcard = true;
            }
            '?' => {
                re.push('.');
                wildcard = true;
            }
            '{' => {
                re.extend(['(', '?', ':']);
                curly_open += 1;
                wildcard = true;
            }
            ',' => re.push(if curly_open > 0 { '|' } else { ',' }),
            '}' if curly_open > 0 => {
                curly_open -= 1;
                re.push(')');
            }
            '[' => {
                if set_open {
                    return Err(format!("unclosed character class at position {i}"));
                }
                set_open = true;
                wildcard = true;
                re.push('[');
            }
            '^' => {
                if !set_open {
                    re.push('\\');
                }
                re.push('^');
            }
            // `[!` is the shell's spelling of `[^`; Hadoop looks at the raw previous char.
            '!' => re.push(if set_open && i > 0 && chars[i - 1] == '[' {
                '^'
            } else {
                '!'
            }),
            ']' => {
                set_open = false;
                re.push(']');
            }
            _ => re.push(c),
        }
        i += 1;
    }
    if set_open {
        return Err(format!(
            "unclosed character class at position {}",
            chars.len()
        ));
    }
    if curly_open > 0 {
        return Err(format!("unclosed group at position {}", chars.len()));
    }
    Ok((re, wildcard))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::glob::MAX_PATTERN_LEN;
    use crate::storage::StorageError;

    fn matches(glob: &str, name: &str) -> bool {
        GlobPattern::compile(glob)
            .unwrap_or_else(|e| panic!("{glob}: {e}"))
            .matches(name)
    }

    fn assert_matches(glob: &str, yes: &[&str], no: &[&str]) {
        for name in yes {
            assert!(matches(glob, name), "{glob:?} should match {name:?}");
        }
        for name in no {
            assert!(!matches(glob, name), "{glob:?} should not match {name:?}");
        }
    }

    fn assert_invalid(glob: &str) {
        match GlobPattern::compile(glob) {
            Err(StorageError::InvalidArgument(msg)) => {
                assert!(msg.contains("illegal file pattern"), "{msg}")
            }
            other => panic!("{glob:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn star_and_question_mark() {
        assert_matches("*", &["", "foo", ".hidden", "\n", "^$"], &[]);
        assert_matches("foo*", &["foo", "food", "foo\nbar"], &["fo", "xfoo"]);
        assert_matches("f*d", &["fd", "fud", "food", "foo\nd"], &["foo", "fdx"]);
        assert_matches("*.csv", &[".csv", "a.csv", "a.b.csv"], &["a.csvx", "acsv"]);
        assert_matches(
            "?",
            &["?", "^", "[", "]", "$", "é", "\u{1F600}"],
            &["", "ab"],
        );
        assert_matches("a?c", &["abc", "a.c"], &["ac", "abbc"]);
        // A leading dot is not special (unlike a POSIX shell).
        assert_matches(".*", &[".x", ".", ".hidden"], &["x"]);
    }

    #[test]
    fn literals_and_regex_specials_are_literal() {
        assert_matches("^.$()|+", &["^.$()|+"], &["x.$()|+"]);
        assert_matches("a.b", &["a.b"], &["axb"]);
        assert_matches("}", &["}"], &[]);
        assert_matches("]", &["]"], &[]);
        assert_matches("a,b", &["a,b"], &["a", "b"]);
        assert_matches("part-0000", &["part-0000"], &["part-00000", "Part-0000"]);
        assert!(!GlobPattern::compile("a.b}]").unwrap().has_wildcard());
    }

    #[test]
    fn character_classes() {
        assert_matches("[abc]", &["a", "b", "c"], &["d", "", "ab"]);
        assert_matches("[a-c]x", &["ax", "bx", "cx"], &["dx", "-x"]);
        assert_matches("[^a]", &["b", "^", "\n"], &["a"]);
        assert_matches("[!a]", &["b", "!"], &["a"]);
        assert_matches("[!!-]", &["^", "?"], &["!", "-"]);
        assert_matches("[^^]", &[".", "$", "[", "]"], &["^"]);
        assert_matches("[]^-]", &["]", "-", "^"], &["a"]);
        assert_matches("[]]", &["]"], &["a"]);
        assert_matches("[a-]", &["a", "-"], &["b"]);
        assert_matches("[-a]", &["a", "-"], &["b"]);
        assert_matches("[a-c-e]", &["a", "b", "-", "e"], &["d"]);
        assert_matches("[a^]", &["a", "^"], &["b"]);
        assert_matches("[\\]]", &["]"], &["\\"]);
        assert_matches("[a\\-c]", &["a", "-", "c"], &["b"]);
        assert_matches("[é-ü]", &["é", "ö"], &["e"]);
        assert_matches(
            "dt=2024-0[1-3]",
            &["dt=2024-01", "dt=2024-03"],
            &["dt=2024-04"],
        );
        // Hadoop's translation quirks, reproduced: `*` inside [] becomes `.*`,
        // `?` becomes `.`, and `[!` only negates right after the `[`.
        assert_matches("[*]", &["*", "."], &["a"]);
        assert_matches("[?]", &["."], &["?", "a"]);
        assert_matches("[a!]", &["a", "!"], &["b"]);
        assert_matches("[][]", &["[", "]"], &["a"]);
        assert!(GlobPattern::compile("[a]").unwrap().has_wildcard());
    }

    #[test]
    fn braces() {
        assert_matches("{a,b}", &["a", "b"], &["", "ab", "{a,b}"]);
        assert_matches("x{a,bc}y", &["xay", "xbcy"], &["xy", "xby"]);
        assert_matches("{a,{b,c}d}", &["a", "bd", "cd"], &["b", "ad"]);
        assert_matches("{a,}", &["a", ""], &["b"]);
        assert_matches("{}", &[""], &["a"]);
        assert_matches("{a}", &["a"], &[""]);
        assert_matches(
            "{[12]*,[45]*,[78]*}",
            &["1", "2!", "4", "42", "7", "7$"],
            &["3", "6", "9ß"],
        );
        assert_matches("{*.csv,*.txt}", &["a.csv", "b.txt"], &["c.orc"]);
        // A class inside a group sees `,` as `|` (Hadoop rewrites it before the class).
        assert_matches("{[,]}", &["|"], &[","]);
        assert!(GlobPattern::compile("{a}").unwrap().has_wildcard());
    }

    #[test]
    fn escapes() {
        assert_matches("\\*\\?\\[\\{\\\\", &["*?[{\\"], &["a?[{\\"]);
        assert_matches("a\\*", &["a*"], &["ab"]);
        assert_matches("\\{a,b\\}", &["{a,b}"], &["a"]);
        assert_matches("a\\,b", &["a,b"], &[]);
        assert_matches("{a\\,b,c}", &["a,b", "c"], &["a"]);
        assert_matches("\\!", &["!"], &[]);
        assert!(!GlobPattern::compile("a\\*b").unwrap().has_wildcard());
        assert!(GlobPattern::compile("a\\*b*").unwrap().has_wildcard());
        // Escaped letters would be regex classes in Hadoop (\d); refused here.
        assert_invalid("\\d*");
        assert_invalid("[\\w]");
        assert_invalid("\\é");
    }

    #[test]
    fn bad_patterns_are_refused() {
        for glob in [
            "[",
            "[[]]",
            "{",
            "\\",
            "a\\",
            "[a",
            "{a,b",
            "{{a}",
            "[]",
            "[^]",
            "[!]",
            "[z-a]",
            "[a-",
            "[{]}",
            "{[}]",
            "[\\",
            "[][:alpha:]]",
        ] {
            assert_invalid(glob);
        }
        let msg = GlobPattern::compile("ab[cd").unwrap_err().to_string();
        assert!(
            msg.contains("ab[cd") && msg.contains("unclosed character class"),
            "{msg}"
        );
    }

    #[test]
    fn pathological_patterns_stay_linear() {
        let name = format!("{}b", "a".repeat(5000));
        assert!(!matches(&"{a,a}".repeat(200), &name));
        assert!(!matches(&format!("{}c", "*a".repeat(1000)), &name));
        assert!(matches(&format!("{}b", "*a".repeat(1000)), &name));
        let hadoop_regression = "job_1429571161900_4222-1430338332599-tda%2D%2D+******************************+++...%270%27%28Stage-1430338580443-39-2000-SUCCEEDED-production%2Dhigh-1430338340360.jhist";
        assert!(matches(hadoop_regression, hadoop_regression));
        let deep = format!("{}a{}", "{".repeat(MAX_NESTING), "}".repeat(MAX_NESTING));
        assert!(matches(&deep, "a"));
        let too_deep = format!("{}a{}", "{".repeat(5000), "}".repeat(5000));
        assert_invalid(&too_deep);
    }

    /// Whether the `regex` crate, given Hadoop's RE2 expression unchanged, would match.
    fn regex_as_is(re2: &str, name: &str) -> Option<bool> {
        Regex::new(&format!(r"\A(?s:{re2})\z"))
            .ok()
            .map(|r| r.is_match(name))
    }

    #[test]
    fn re2_and_regex_syntax_differences() {
        // `[` inside a class: a member in RE2, a nested class in `regex` (an error here).
        assert_matches("[][]", &["[", "]"], &["a"]);
        assert_eq!(regex_as_is("[][]", "["), None);
        // `&&`, `~~` and `--` inside a class: members in RE2, set operations in `regex`.
        assert_matches("[a&&b]", &["a", "&", "b"], &["c"]);
        assert_eq!(regex_as_is("[a&&b]", "&"), Some(false));
        assert_matches("[a~~b]", &["a", "~", "b"], &["c"]);
        assert_ne!(regex_as_is("[a~~b]", "~"), Some(true));
        assert_matches("[!--]", &["a", "!"], &["-"]);
        // `\<` and `\>`: literal in RE2, word boundaries in `regex`.
        assert_matches("a\\<b\\>", &["a<b>"], &["ab", "a\\<b\\>"]);
        assert_ne!(regex_as_is(r"a\<b\>", "a<b>"), Some(true));
    }

    #[test]
    fn runs_of_stars_are_one_star() {
        let (re2, _) = translate("a**?*b*").unwrap();
        assert_eq!(RegexWriter::rewrite(&re2).unwrap(), "a.*..*b.*");
        assert_matches("a**?*b*", &["axb", "axxbyy"], &["ab", "xab"]);
        assert_matches("\\.\\**", &[".*", ".*x"], &[".", "x*"]);
        // A long run of stars costs what one does.
        assert!(matches(&"*".repeat(MAX_PATTERN_LEN), &"x".repeat(4000)));
    }

    #[test]
    fn oversized_matchers_are_refused_by_name() {
        // Names are at most 255 characters in HDFS: as many `?` compile.
        assert!(matches(&"?".repeat(255), &"x".repeat(255)));
        for glob in [
            "?".repeat(MAX_PATTERN_LEN),
            "*a".repeat(MAX_PATTERN_LEN / 2),
        ] {
            let msg = GlobPattern::compile(&glob).unwrap_err().to_string();
            assert!(
                msg.contains(&format!("illegal file pattern '{}", &glob[..64])),
                "{msg}"
            );
            assert!(msg.contains("too complex"), "{msg}");
        }
        let err = build("a.*b", 10).unwrap_err();
        assert!(err.contains("more than 10 bytes"), "{err}");
    }
}
