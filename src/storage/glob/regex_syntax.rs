//! Hadoop's glob becomes an RE2 expression (`pattern.rs`); the `regex` crate reads a few
//! things in it differently (a `[` or `&&` inside a class, `\<`), so the expression is
//! rewritten into `regex` syntax here, and checked the way RE2 would check it.

use super::MAX_NESTING;

/// Rewrites an expression `translate` (`pattern.rs`) produced from RE2 syntax into `regex`
/// syntax, checking it the way RE2 would: groups balanced (a `}` inside `[...]` is a class
/// member, so `{[}]` leaves a group open), classes closed and their ranges in order,
/// escapes on punctuation only. Only what `translate` emits needs handling: `(?:`, `)`,
/// `|`, `.`, `*`, `[...]`, `\x` and literal characters.
pub(super) struct RegexWriter<'a> {
    re: &'a [char],
    pos: usize,
    out: String,
}

impl RegexWriter<'_> {
    pub(super) fn rewrite(re: &[char]) -> Result<String, String> {
        let mut w = RegexWriter {
            re,
            pos: 0,
            out: String::with_capacity(re.len() * 2),
        };
        let mut depth = 0usize;
        // Where the last `.*` written ends: one right after it needs no second.
        let mut dot_star_end = usize::MAX;
        while let Some(c) = w.peek() {
            match c {
                '(' => {
                    // Always the `(?:` a `{` became.
                    if w.re.get(w.pos + 1..w.pos + 3) != Some(&['?', ':'][..]) {
                        return Err("unsupported group".to_string());
                    }
                    if depth >= MAX_NESTING {
                        return Err(format!("{{}} groups nested deeper than {MAX_NESTING}"));
                    }
                    depth += 1;
                    w.pos += 3;
                    w.out.push_str("(?:");
                }
                ')' => {
                    let Some(outer) = depth.checked_sub(1) else {
                        return Err("unexpected ) (a } closes a { opened inside [...])".into());
                    };
                    depth = outer;
                    w.pos += 1;
                    w.out.push(')');
                }
                // `.*.*` matches what `.*` does, at a fraction of the cost per character.
                '.' if w.re.get(w.pos + 1) == Some(&'*') => {
                    w.pos += 2;
                    if w.out.len() != dot_star_end {
                        w.out.push_str(".*");
                        dot_star_end = w.out.len();
                    }
                }
                '|' | '.' | '*' => {
                    w.pos += 1;
                    w.out.push(c);
                }
                '[' => w.class()?,
                '\\' => {
                    w.pos += 1;
                    let escaped = w.escape()?;
                    w.literal(escaped);
                }
                _ => {
                    w.pos += 1;
                    w.literal(c);
                }
            }
        }
        if depth > 0 {
            return Err("missing closing ) (a [...] swallowed a })".to_string());
        }
        Ok(w.out)
    }

    fn peek(&self) -> Option<char> {
        self.re.get(self.pos).copied()
    }

    /// `c` matched as itself, in or out of a class.
    fn literal(&mut self, c: char) {
        self.out
            .push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
    }

    /// The character after a `\`. RE2 takes ASCII punctuation literally; letters and digits
    /// name regex features Hadoop never meant to offer, and anything else is an error.
    fn escape(&mut self) -> Result<char, String> {
        let Some(c) = self.peek() else {
            return Err("trailing backslash".to_string());
        };
        self.pos += 1;
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            Ok(c)
        } else {
            Err(format!(
                "unsupported escape \\{c} (only punctuation may be escaped)"
            ))
        }
    }

    /// A `[...]` class: `^` first negates, `]` first is literal, `-` is a range only
    /// between two characters and literal anywhere else.
    fn class(&mut self) -> Result<(), String> {
        const UNCLOSED: &str = "missing closing ] (a character class is never closed)";
        self.pos += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        self.out.push_str(if negated { "[^" } else { "[" });
        let mut first = true;
        loop {
            match self.peek() {
                None => return Err(UNCLOSED.to_string()),
                Some(']') if !first => {
                    self.pos += 1;
                    break;
                }
                _ => {}
            }
            first = false;
            let rest = &self.re[self.pos..];
            if rest.starts_with(&['[', ':']) && rest.windows(2).any(|w| w == [':', ']']) {
                return Err("POSIX character classes like [:alpha:] are not supported".into());
            }
            let lo = self.class_char(UNCLOSED)?;
            let mut hi = lo;
            if self.peek() == Some('-') && self.re.get(self.pos + 1) != Some(&']') {
                self.pos += 1;
                hi = self.class_char(UNCLOSED)?;
                if hi < lo {
                    return Err(format!("invalid character class range {lo}-{hi}"));
                }
            }
            self.literal(lo);
            if hi != lo {
                self.out.push('-');
                self.literal(hi);
            }
        }
        self.out.push(']');
        Ok(())
    }

    fn class_char(&mut self, unclosed: &str) -> Result<char, String> {
        match self.peek() {
            None => Err(unclosed.to_string()),
            Some('\\') => {
                self.pos += 1;
                self.escape()
            }
            Some(c) => {
                self.pos += 1;
                Ok(c)
            }
        }
    }
}
