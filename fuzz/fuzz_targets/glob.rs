//! The glob matcher: `expand` (brace groups holding `/`), `GlobPattern::compile` and
//! `matches`. Input: `pattern NUL name` (no NUL: the input is the pattern and also the
//! name). Checks: no panic, no hang (matching is linear: no backtracking blow-up); a
//! name without glob metacharacters compiles and matches itself.
#![no_main]

use apache_hdfs_broker::storage::glob::{expand, has_glob, GlobPattern};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, name) = text.split_once('\0').unwrap_or((text, text));
    if let Ok(flat) = expand(pattern) {
        // Up to 1024 patterns by design; compiling a few shows the expansion yields
        // components the matcher takes (compile itself is fuzzed below).
        for p in flat.iter().take(4) {
            for component in p.split('/') {
                let _ = GlobPattern::compile(component).map(|g| g.matches(name));
            }
        }
    }
    if let Ok(glob) = GlobPattern::compile(pattern) {
        let _ = glob.matches(name);
        if !has_glob(pattern) {
            assert!(
                !glob.has_wildcard(),
                "{pattern:?} has no glob but a wildcard"
            );
        }
    }
    if !name.contains(['*', '?', '[', ']', '{', '}', '\\', ',', '/']) {
        let literal = GlobPattern::compile(name).expect("a plain name is a valid pattern");
        assert!(literal.matches(name), "{name:?} does not match itself");
    }
});
