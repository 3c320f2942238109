//! Clipping a server's (or a user's) text to a bound for a status message, on a UTF-8
//! character boundary, marked with `...` where something was cut.

/// `text` if it has at most `max` bytes, else its longest prefix of at most `max` bytes
/// that ends on a character boundary, followed by `...`.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn short_text_is_kept_and_long_text_cut_on_a_character() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc...");
        // 'é' is 2 bytes: a cut inside it backs off to before it.
        assert_eq!(clip("aébc", 2), "a...");
        assert_eq!(clip("", 0), "");
    }
}
