//! The order Hadoop returns glob results in, reproduced as a sort key.

/// Sort key reproducing Hadoop's order: `FileStatus` compares `Path`s, which compare the
/// raw `java.net.URI` path, i.e. UTF-16 units with characters a URI may not hold
/// percent-quoted (so `a b` sorts after `a!b`, and `a-b/...` before `a/...`).
pub(super) fn java_uri_path_key(path: &str) -> Vec<u16> {
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

    #[test]
    fn sort_key_follows_java_uri_order() {
        let mut paths = vec!["/a/x", "/a-b/z", "/a b", "/a!b", "/a[1]", "/aA", "/é"];
        paths.sort_by_key(|p| java_uri_path_key(p));
        assert_eq!(
            paths,
            ["/a!b", "/a b", "/a[1]", "/a-b/z", "/a/x", "/aA", "/é"]
        );
    }
}
