//! Hadoop `FileSystem.globStatus` on top of [`Storage`].
//!
//! Clients hand the broker the same patterns they would hand Hadoop, so this follows
//! Hadoop's `GlobExpander`, `GlobPattern` and `Globber` rule for rule:
//!
//! 1. [`expand`]: every `{...}` group holding a `/` is expanded first into separate
//!    patterns (a group without `/` stays a group and is matched per component).
//! 2. [`GlobPattern`]: each path component is translated the way Hadoop translates it
//!    into a regular expression (re2j, `DOTALL`) and matched in full against one name.
//!    The translation is reproduced exactly, quirks included (`[*]` also matches `.`,
//!    `?` inside `[...]` means `.`, `,` inside a class within `{}` becomes `|`), and the
//!    resulting expression is run by a small automaton here, so matching is linear in
//!    the name and never backtracks.
//! 3. [`glob_status`]: the components are walked from the root. Literal components are
//!    appended without I/O (the last one is stat'ed), glob components list the parent.
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
//! * Limits: [`MAX_PATTERN_LEN`], [`MAX_EXPANDED_PATTERNS`], [`MAX_NESTING`].

use std::collections::HashSet;

use super::{FileStatus, Location, Result, Storage, StorageError};

/// Longest pattern accepted, in bytes (HDFS refuses to create paths over 8000 characters).
pub const MAX_PATTERN_LEN: usize = 8192;
/// Most patterns [`expand`] may produce; `{a/,b/}` repeated doubles the count each time.
pub const MAX_EXPANDED_PATTERNS: usize = 1024;
/// Deepest `{}` nesting inside one component (keeps parsing recursion shallow).
pub const MAX_NESTING: usize = 100;
/// Bytes [`expand`] may scan in total; bounds the time spent on long chains of groups.
const MAX_EXPAND_WORK: usize = 1 << 24;

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

/// Hadoop globStatus: every existing path matching `pattern` (its path part may hold globs;
/// scheme and authority are literal). No match → Ok(empty). Errors from storage pass through,
/// except NotFound while walking (→ that branch just has no matches). A bad pattern →
/// StorageError::InvalidArgument naming the pattern and the problem.
///
/// Results come sorted the way Hadoop sorts them (by the path as `java.net.URI` compares
/// it) and de-duplicated.
pub async fn glob_status(fs: &dyn Storage, pattern: &Location) -> Result<Vec<FileStatus>> {
    let bad = |problem: String| invalid(&pattern.to_string(), problem);
    // Hadoop's `Path` resolves `.` and `..` before expanding, and again after.
    let path = format!("/{}", segments(pattern.path()).join("/"));
    let flattened = expand_path(&path).map_err(bad)?;
    // Compile everything before any I/O so a bad pattern fails fast and alone.
    let mut walks = Vec::with_capacity(flattened.len());
    let mut seen = HashSet::new();
    for flat in &flattened {
        if seen.insert(flat.as_str()) {
            walks.push(components(flat).map_err(bad)?);
        }
    }
    let root = pattern.with_path("/");
    let mut found = Vec::new();
    for walk in &walks {
        walk_one(fs, &root, walk, &mut found).await?;
    }
    found.sort_by_cached_key(|s| {
        (
            java_uri_path_key(s.location.path()),
            s.location.clone(),
            s.is_dir,
        )
    });
    // A file and a directory may share a path on object stores (key `a`, keys `a/...`):
    // both are results.
    found.dedup_by(|a, b| a.location == b.location && a.is_dir == b.is_dir);
    Ok(found)
}

fn invalid(pattern: &str, problem: impl std::fmt::Display) -> StorageError {
    const SHOWN: usize = 256;
    let shown = if pattern.len() > SHOWN {
        let mut end = SHOWN;
        while !pattern.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &pattern[..end])
    } else {
        pattern.to_string()
    };
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

// ---------------------------------------------------------------------------------------
// GlobExpander
// ---------------------------------------------------------------------------------------

/// Hadoop's `GlobExpander.expand`: rewrites `pattern` into patterns in which no `{...}`
/// group contains a `/`, e.g. `p{a/b,c/d}s` → `pa/bs`, `pc/ds`.
///
/// Hadoop's quirks are kept: inside an expanded group backslashes are dropped
/// (`{a,b}/{c/\d}` → `{a,b}/c/d`), and groups without `/` stay for the matcher.
pub fn expand(pattern: &str) -> Result<Vec<String>> {
    expand_path(pattern).map_err(|problem| invalid(pattern, problem))
}

fn expand_path(pattern: &str) -> Result<Vec<String>, String> {
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

fn missing_escaped(at: usize) -> String {
    format!("missing escaped character at position {at}")
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

// ---------------------------------------------------------------------------------------
// GlobPattern
// ---------------------------------------------------------------------------------------

/// One compiled path-component pattern, matched against a whole name.
///
/// `/` means nothing here (Hadoop only ever matches single names; [`glob_status`] splits
/// on `/` first), so `*` matches any run of characters, newlines included.
#[derive(Debug, Clone)]
pub struct GlobPattern {
    prog: Vec<Inst>,
    has_wildcard: bool,
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Any,
    Class(Box<CharClass>),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

#[derive(Debug, Clone)]
struct CharClass {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl CharClass {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

impl GlobPattern {
    /// Compiles one component pattern; a syntax error is `InvalidArgument`.
    pub fn compile(glob: &str) -> Result<GlobPattern> {
        Self::compile_component(glob).map_err(|problem| invalid(glob, problem))
    }

    fn compile_component(glob: &str) -> Result<GlobPattern, String> {
        check_len(glob)?;
        let (regex, has_wildcard) = translate(glob)?;
        let mut parser = RegexParser { re: &regex, pos: 0 };
        let node = parser.alternation(0)?;
        if parser.pos < regex.len() {
            // The only thing that stops the top level early is a `)` without its `(`.
            return Err("unexpected ) (a } closes a { opened inside [...])".to_string());
        }
        let mut prog = Vec::new();
        emit(&node, &mut prog);
        prog.push(Inst::Match);
        Ok(GlobPattern { prog, has_wildcard })
    }

    /// True when the pattern holds `*`, `?`, `[` or `{`; otherwise it names one entry and
    /// Hadoop looks it up directly instead of listing the parent.
    pub fn has_wildcard(&self) -> bool {
        self.has_wildcard
    }

    /// Whether the whole of `name` matches. Linear in `name` times the pattern size.
    pub fn matches(&self, name: &str) -> bool {
        let mut current = PcSet::new(self.prog.len());
        let mut next = PcSet::new(self.prog.len());
        let mut stack = Vec::new();
        self.follow(&mut current, 0, &mut stack);
        for c in name.chars() {
            if current.list.is_empty() {
                return false;
            }
            next.clear();
            for &pc in &current.list {
                let step = match &self.prog[pc] {
                    Inst::Char(want) => *want == c,
                    Inst::Any => true,
                    Inst::Class(class) => class.matches(c),
                    _ => false,
                };
                if step {
                    self.follow(&mut next, pc + 1, &mut stack);
                }
            }
            std::mem::swap(&mut current, &mut next);
        }
        current
            .list
            .iter()
            .any(|&pc| matches!(self.prog[pc], Inst::Match))
    }

    /// Adds `pc` and everything reachable from it without consuming input.
    fn follow(&self, set: &mut PcSet, pc: usize, stack: &mut Vec<usize>) {
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !set.insert(pc) {
                continue;
            }
            match self.prog[pc] {
                Inst::Split(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Inst::Jmp(a) => stack.push(a),
                _ => {}
            }
        }
    }
}

/// The automaton states alive at one position of the input.
struct PcSet {
    member: Vec<bool>,
    list: Vec<usize>,
}

impl PcSet {
    fn new(len: usize) -> Self {
        PcSet {
            member: vec![false; len],
            list: Vec::new(),
        }
    }

    fn insert(&mut self, pc: usize) -> bool {
        if self.member[pc] {
            return false;
        }
        self.member[pc] = true;
        self.list.push(pc);
        true
    }

    fn clear(&mut self) {
        for &pc in &self.list {
            self.member[pc] = false;
        }
        self.list.clear();
    }
}

/// Hadoop's glob → regex translation, character for character. Returns the regex and
/// whether the glob had a wildcard.
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

/// The parsed form of a translated expression (only what [`translate`] can produce).
enum Node {
    Char(char),
    Any,
    Class(CharClass),
    Star(Box<Node>),
    Concat(Vec<Node>),
    Alternate(Vec<Node>),
}

/// Parses translated expressions with RE2's rules (what Hadoop's re2j applies).
struct RegexParser<'a> {
    re: &'a [char],
    pos: usize,
}

impl RegexParser<'_> {
    fn peek(&self) -> Option<char> {
        self.re.get(self.pos).copied()
    }

    fn alternation(&mut self, depth: usize) -> Result<Node, String> {
        let mut branches = vec![self.concat(depth)?];
        while self.peek() == Some('|') {
            self.pos += 1;
            branches.push(self.concat(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Concat(Vec::new()))
        } else {
            Node::Alternate(branches)
        })
    }

    fn concat(&mut self, depth: usize) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            let node = match c {
                '|' | ')' => break,
                '(' => {
                    // Always the `(?:` a `{` became.
                    if self.re.get(self.pos + 1..self.pos + 3) != Some(&['?', ':'][..]) {
                        return Err("unsupported group".to_string());
                    }
                    if depth >= MAX_NESTING {
                        return Err(format!("{{}} groups nested deeper than {MAX_NESTING}"));
                    }
                    self.pos += 3;
                    let inner = self.alternation(depth + 1)?;
                    if self.peek() != Some(')') {
                        return Err("missing closing ) (a [...] swallowed a })".to_string());
                    }
                    self.pos += 1;
                    inner
                }
                '[' => Node::Class(self.class()?),
                '.' => {
                    self.pos += 1;
                    Node::Any
                }
                '*' => {
                    self.pos += 1;
                    let Some(last) = items.pop() else {
                        return Err("missing argument to repetition operator *".to_string());
                    };
                    Node::Star(Box::new(last))
                }
                '\\' => {
                    self.pos += 1;
                    Node::Char(self.escape()?)
                }
                _ => {
                    self.pos += 1;
                    Node::Char(c)
                }
            };
            items.push(node);
        }
        Ok(Node::Concat(items))
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
    fn class(&mut self) -> Result<CharClass, String> {
        const UNCLOSED: &str = "missing closing ] (a character class is never closed)";
        self.pos += 1;
        let negated = self.peek() == Some('^');
        if negated {
            self.pos += 1;
        }
        let mut ranges = Vec::new();
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
            ranges.push((lo, hi));
        }
        Ok(CharClass { negated, ranges })
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

/// Compiles a node into automaton instructions (Thompson construction).
fn emit(node: &Node, prog: &mut Vec<Inst>) {
    match node {
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Any => prog.push(Inst::Any),
        Node::Class(class) => prog.push(Inst::Class(Box::new(class.clone()))),
        Node::Concat(items) => items.iter().for_each(|n| emit(n, prog)),
        Node::Star(inner) => {
            let split = prog.len();
            prog.push(Inst::Split(split + 1, 0));
            emit(inner, prog);
            prog.push(Inst::Jmp(split));
            prog[split] = Inst::Split(split + 1, prog.len());
        }
        Node::Alternate(branches) => {
            let mut exits = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if i + 1 == branches.len() {
                    emit(branch, prog);
                    break;
                }
                let split = prog.len();
                prog.push(Inst::Split(split + 1, 0));
                emit(branch, prog);
                exits.push(prog.len());
                prog.push(Inst::Jmp(0));
                prog[split] = Inst::Split(split + 1, prog.len());
            }
            let end = prog.len();
            for exit in exits {
                prog[exit] = Inst::Jmp(end);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Globber
// ---------------------------------------------------------------------------------------

/// One path component of a flattened pattern.
struct Component {
    /// The name to look up directly when the component has no wildcard.
    literal: Option<String>,
    pattern: GlobPattern,
}

/// The non-empty segments of an absolute path with `.` and `..` resolved textually, as
/// `java.net.URI.normalize` does for Hadoop's `Path` (a `..` at the root stays).
fn segments(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        match part {
            "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts
}

/// Splits a flattened pattern into compiled components.
fn components(flat: &str) -> Result<Vec<Component>, String> {
    segments(flat)
        .into_iter()
        .map(|part| {
            // Hadoop compiles every component, literal ones too, so errors show either way.
            let pattern = GlobPattern::compile_component(part)?;
            let literal = (!pattern.has_wildcard()).then(|| unescape(part));
            Ok(Component { literal, pattern })
        })
        .collect()
}

/// `\x` → `x` for a component looked up literally. Like Hadoop's `replaceAll("\\\\(.)")`,
/// a backslash before a line break stays.
fn unescape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&next) = chars.peek() {
                if next != '\n' && next != '\r' {
                    out.push(next);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

/// A path reached so far; `status` is `None` until something has confirmed it exists.
struct Candidate {
    loc: Location,
    status: Option<FileStatus>,
}

/// Walks one flattened pattern from the root, appending what exists to `found`.
async fn walk_one(
    fs: &dyn Storage,
    root: &Location,
    components: &[Component],
    found: &mut Vec<FileStatus>,
) -> Result<()> {
    let mut candidates = vec![Candidate {
        loc: root.clone(),
        status: None,
    }];
    for (index, component) in components.iter().enumerate() {
        if candidates.is_empty() {
            break;
        }
        let last = index + 1 == components.len();
        let mut next = Vec::new();
        match &component.literal {
            // A literal in the middle is assumed to exist: a later listing or the final
            // stat finds out, which saves a round trip per level (Hadoop does the same).
            Some(name) if !last => {
                for candidate in &mut candidates {
                    candidate.loc = candidate.loc.join(name);
                    candidate.status = None;
                }
                continue;
            }
            Some(name) => {
                for candidate in &candidates {
                    let loc = candidate.loc.join(name);
                    if let Some(status) = stat_if_exists(fs, &loc).await? {
                        next.push(Candidate {
                            loc,
                            status: Some(status),
                        });
                    }
                }
            }
            None => {
                for candidate in &candidates {
                    let children = list_if_exists(fs, &candidate.loc).await?;
                    // Listing a file yields the file itself: it has no children to match.
                    if let [only] = children.as_slice() {
                        if !only.is_dir && only.location.path() == candidate.loc.path() {
                            continue;
                        }
                    }
                    for child in children {
                        // Only directories can hold the components still to come.
                        if (!last && !child.is_dir) || !component.pattern.matches(child.name()) {
                            continue;
                        }
                        next.push(Candidate {
                            loc: candidate.loc.join(child.name()),
                            status: Some(child),
                        });
                    }
                }
            }
        }
        candidates = next;
    }
    for candidate in candidates {
        // Only the root (a pattern with no components) gets here unconfirmed.
        let status = match candidate.status {
            Some(status) => Some(status),
            None => stat_if_exists(fs, &candidate.loc).await?,
        };
        found.extend(status);
    }
    Ok(())
}

async fn stat_if_exists(fs: &dyn Storage, loc: &Location) -> Result<Option<FileStatus>> {
    match fs.stat(loc).await {
        Err(StorageError::NotFound { .. }) => Ok(None),
        other => other,
    }
}

async fn list_if_exists(fs: &dyn Storage, loc: &Location) -> Result<Vec<FileStatus>> {
    match fs.list_dir(loc).await {
        Err(StorageError::NotFound { .. }) => Ok(Vec::new()),
        other => other,
    }
}

/// Sort key reproducing Hadoop's order: `FileStatus` compares `Path`s, which compare the
/// raw `java.net.URI` path, i.e. UTF-16 units with characters a URI may not hold
/// percent-quoted (so `a b` sorts after `a!b`, and `a-b/...` before `a/...`).
fn java_uri_path_key(path: &str) -> Vec<u16> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut key = Vec::with_capacity(path.len());
    let mut utf8 = [0u8; 4];
    let mut utf16 = [0u16; 2];
    for c in path.chars() {
        let quoted = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || "-_.!~*'():@&=+$,;/".contains(c))
        } else {
            // Java quotes non-ASCII only when it is a space separator or a C1 control.
            matches!(
                c,
                '\u{80}'..='\u{a0}'
                    | '\u{1680}'
                    | '\u{2000}'..='\u{200a}'
                    | '\u{2028}'
                    | '\u{2029}'
                    | '\u{202f}'
                    | '\u{205f}'
                    | '\u{3000}'
            )
        };
        if quoted {
            for &byte in c.encode_utf8(&mut utf8).as_bytes() {
                key.extend([
                    u16::from(b'%'),
                    u16::from(HEX[usize::from(byte >> 4)]),
                    u16::from(HEX[usize::from(byte & 15)]),
                ]);
            }
        } else {
            key.extend_from_slice(c.encode_utf16(&mut utf16));
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ReadStream, WriteStream};
    use async_trait::async_trait;
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

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
    fn has_glob_finds_unescaped_metacharacters() {
        for s in ["*", "a?", "/a/[bc]", "{a,b}", "/x/{a/b,c}", "\\\\*"] {
            assert!(has_glob(s), "{s}");
        }
        for s in ["", "/a/b", "a\\*", "a\\[b\\]", "a]b}", "a,b", "x\\"] {
            assert!(!has_glob(s), "{s}");
        }
    }

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

    #[test]
    fn sort_key_follows_java_uri_order() {
        let mut paths = vec!["/a/x", "/a-b/z", "/a b", "/a!b", "/a[1]", "/aA", "/é"];
        paths.sort_by_key(|p| java_uri_path_key(p));
        assert_eq!(
            paths,
            ["/a!b", "/a b", "/a[1]", "/a-b/z", "/a/x", "/aA", "/é"]
        );
    }

    /// A tiny in-memory store: paths mapped to "is a directory".
    struct Fake {
        entries: BTreeMap<String, bool>,
        failing: Option<String>,
        lists: AtomicUsize,
        stats: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(files: &[&str]) -> Fake {
            let mut entries = BTreeMap::from([("/".to_string(), true)]);
            for file in files {
                let mut dir = String::new();
                let parts: Vec<&str> = file.split('/').filter(|p| !p.is_empty()).collect();
                for (i, part) in parts.iter().enumerate() {
                    dir.push('/');
                    dir.push_str(part);
                    let is_dir = i + 1 < parts.len() || file.ends_with('/');
                    entries.insert(dir.clone(), is_dir);
                }
            }
            Fake {
                entries,
                failing: None,
                lists: AtomicUsize::new(0),
                stats: Mutex::new(Vec::new()),
            }
        }

        fn status(&self, path: &str) -> Option<FileStatus> {
            self.entries.get(path).map(|&is_dir| FileStatus {
                location: Location::parse(&format!("mem://bucket{path}")).unwrap(),
                is_dir,
                size: if is_dir { 0 } else { 7 },
                modification_time: 0,
                block_size: 0,
            })
        }
    }

    #[async_trait]
    impl Storage for Fake {
        async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
            self.stats.lock().unwrap().push(loc.path().to_string());
            Ok(self.status(loc.path()))
        }

        async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            let path = loc.path();
            if self.failing.as_deref() == Some(path) {
                return Err(StorageError::Io {
                    path: path.to_string(),
                    message: "Permission denied".to_string(),
                });
            }
            match self.entries.get(path) {
                None => Err(StorageError::NotFound {
                    path: path.to_string(),
                }),
                Some(false) => Ok(self.status(path).into_iter().collect()),
                Some(true) => {
                    let prefix = if path == "/" {
                        "/".to_string()
                    } else {
                        format!("{path}/")
                    };
                    Ok(self
                        .entries
                        .keys()
                        .filter(|k| k.len() > prefix.len() && k.starts_with(&prefix))
                        .filter(|k| !k[prefix.len()..].contains('/'))
                        .filter_map(|k| self.status(k))
                        .collect())
                }
            }
        }

        async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
            Err(StorageError::Unsupported(loc.to_string()))
        }

        async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
            Err(StorageError::Unsupported(loc.to_string()))
        }

        async fn delete(&self, loc: &Location) -> Result<()> {
            Err(StorageError::Unsupported(loc.to_string()))
        }

        async fn rename(&self, src: &Location, _dst: &Location) -> Result<()> {
            Err(StorageError::Unsupported(src.to_string()))
        }
    }

    fn tree() -> Fake {
        Fake::new(&[
            "/data/a/x.csv",
            "/data/a/y.txt",
            "/data/a-b/z.csv",
            "/data/b/x.csv",
            "/data/b/sub/x.csv",
            "/data/.hidden/x.csv",
            "/data/empty/",
            "/data/top.csv",
            "/data/dt=2024-01/p.csv",
            "/data/dt=2024-02/p.csv",
            "/data/dt=2024-04/p.csv",
            "/data/we[ird]/{x}.csv",
        ])
    }

    async fn glob(fs: &Fake, pattern: &str) -> Vec<String> {
        let loc = Location::parse(&format!("mem://bucket{pattern}")).unwrap();
        glob_status(fs, &loc)
            .await
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .into_iter()
            .map(|s| s.location.path().to_string())
            .collect()
    }

    #[tokio::test]
    async fn literal_paths_are_looked_up_not_listed() {
        let fs = tree();
        assert_eq!(glob(&fs, "/data/a/x.csv").await, ["/data/a/x.csv"]);
        assert_eq!(glob(&fs, "/data/a").await, ["/data/a"]);
        assert_eq!(glob(&fs, "/data/empty").await, ["/data/empty"]);
        assert_eq!(glob(&fs, "/").await, ["/"]);
        assert_eq!(fs.lists.load(Ordering::SeqCst), 0);
        assert_eq!(
            *fs.stats.lock().unwrap(),
            ["/data/a/x.csv", "/data/a", "/data/empty", "/"]
        );
        assert!(glob(&fs, "/data/nope.csv").await.is_empty());
        assert!(glob(&fs, "/nope/a/x.csv").await.is_empty());
        assert_eq!(glob(&fs, "/data/./a/../b/x.csv").await, ["/data/b/x.csv"]);
        assert_eq!(glob(&fs, "/data/{a,b}/../top.csv").await, ["/data/top.csv"]);
        assert_eq!(glob(&fs, "/data/{a/..,b}/x.csv").await, ["/data/b/x.csv"]);
        assert_eq!(
            glob(&fs, "/data/we\\[ird\\]/\\{x\\}.csv").await,
            ["/data/we[ird]/{x}.csv"]
        );
    }

    #[tokio::test]
    async fn globs_list_and_filter() {
        let fs = tree();
        assert_eq!(
            glob(&fs, "/data/*").await,
            [
                "/data/.hidden",
                "/data/a",
                "/data/a-b",
                "/data/b",
                "/data/dt=2024-01",
                "/data/dt=2024-02",
                "/data/dt=2024-04",
                "/data/empty",
                "/data/top.csv",
                "/data/we[ird]",
            ]
        );
        assert_eq!(
            glob(&fs, "/data/*/x.csv").await,
            ["/data/.hidden/x.csv", "/data/a/x.csv", "/data/b/x.csv"]
        );
        assert_eq!(
            glob(&fs, "/data/{a,b}/*.csv").await,
            ["/data/a/x.csv", "/data/b/x.csv"]
        );
        assert_eq!(
            glob(&fs, "/data/dt=2024-0[1-3]").await,
            ["/data/dt=2024-01", "/data/dt=2024-02"]
        );
        assert_eq!(
            glob(&fs, "/data/dt=2024-0[!1-3]/*").await,
            ["/data/dt=2024-04/p.csv"]
        );
        assert_eq!(glob(&fs, "/d?ta/b/s*/x.csv").await, ["/data/b/sub/x.csv"]);
        assert_eq!(glob(&fs, "/*.csv").await, Vec::<String>::new());
        assert_eq!(
            glob(&fs, "/data/a/*.{csv,txt}").await,
            ["/data/a/x.csv", "/data/a/y.txt"]
        );
        assert_eq!(glob(&fs, "/data/we\\[*/*").await, ["/data/we[ird]/{x}.csv"]);
    }

    #[tokio::test]
    async fn braces_spanning_slashes_and_order() {
        let fs = tree();
        assert_eq!(
            glob(&fs, "/data/{b/sub,a}/x.csv").await,
            ["/data/a/x.csv", "/data/b/sub/x.csv"]
        );
        assert_eq!(
            glob(&fs, "/data/{a/x.csv,top.csv,a/x.csv,missing/x}").await,
            ["/data/a/x.csv", "/data/top.csv"]
        );
        // Hadoop sorts by full path: `a-b/...` comes before `a/...`.
        assert_eq!(
            glob(&fs, "/data/{a,a-b}/*.csv").await,
            ["/data/a-b/z.csv", "/data/a/x.csv"]
        );
    }

    #[tokio::test]
    async fn missing_branches_are_empty() {
        let fs = tree();
        assert!(glob(&fs, "/nope/*").await.is_empty());
        assert!(glob(&fs, "/nope/x/*/y").await.is_empty());
        assert!(glob(&fs, "/data/*/nope/*").await.is_empty());
        assert!(glob(&fs, "/data/zz*").await.is_empty());
        assert!(glob(&fs, "/data/empty/*").await.is_empty());
        // A file is no directory, even when its listing names itself and matches.
        assert!(glob(&fs, "/data/top.csv/*").await.is_empty());
        assert!(glob(&fs, "/data/top*/*").await.is_empty());
    }

    #[tokio::test]
    async fn storage_errors_pass_through() {
        let mut fs = tree();
        fs.failing = Some("/data/b".to_string());
        let loc = Location::parse("mem://bucket/data/*/*.csv").unwrap();
        assert!(matches!(
            glob_status(&fs, &loc).await,
            Err(StorageError::Io { .. })
        ));
    }

    #[tokio::test]
    async fn bad_patterns_fail_before_any_io() {
        let fs = tree();
        for pattern in [
            "/data/[a/*",
            "/data/*/{a",
            "/nope/*/x/[",
            "/x/\\q",
            "/a/{b/c,[}",
        ] {
            let loc = Location::parse(&format!("mem://bucket{pattern}")).unwrap();
            match glob_status(&fs, &loc).await {
                Err(StorageError::InvalidArgument(msg)) => {
                    assert!(msg.contains(&format!("mem://bucket{pattern}")), "{msg}")
                }
                other => panic!("{pattern}: {other:?}"),
            }
        }
        assert_eq!(fs.lists.load(Ordering::SeqCst), 0);
        assert!(fs.stats.lock().unwrap().is_empty());
    }
}
