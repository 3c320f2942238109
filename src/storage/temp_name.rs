//! Names of the temporary files writers fill beside their target before renaming them over
//! it: `.<name>.broker-<16 hex>.tmp`. The leading dot hides them from Hadoop's
//! FileInputFormat, the broker's own listings skip them, and the random part keeps
//! concurrent writers of one target apart.

const TEMP_MARK: &str = ".broker-";
const TEMP_SUFFIX: &str = ".tmp";

/// The most of the target's name kept in the temporary name: with the 29 bytes added, a
/// temporary name stays within the 255 bytes a path component may have (HDFS's
/// `dfs.namenode.fs-limits.max-component-length`, most local filesystems).
const NAME_KEPT: usize = 200;

/// A fresh temporary name for a writer of the file named `name`.
pub(crate) fn temp_name(name: &str) -> String {
    let mut end = name.len().min(NAME_KEPT);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        ".{}{TEMP_MARK}{:016x}{TEMP_SUFFIX}",
        &name[..end],
        rand::random::<u64>()
    )
}

/// Whether `name` is a temporary name of [`temp_name`]: a write still in progress (or one
/// a killed broker left), which no listing shows.
pub(crate) fn is_unfinished_write(name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
    else {
        return false;
    };
    rest.rsplit_once(TEMP_MARK)
        .is_some_and(|(_, id)| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_temp_files_are_hidden() {
        assert!(is_unfinished_write(".a.csv.broker-0123456789abcdef.tmp"));
        assert!(!is_unfinished_write(".a.csv.broker-xyz.tmp"));
        assert!(!is_unfinished_write(".hidden"));
        assert!(!is_unfinished_write("a.csv.broker-0123456789abcdef.tmp"));
        let name = temp_name("a.csv");
        assert!(name.starts_with(".a.csv.broker-"), "{name}");
        assert!(is_unfinished_write(&name));
        assert_ne!(temp_name("a.csv"), name);
    }

    #[test]
    fn long_names_stay_within_a_path_component() {
        let long = "é".repeat(200);
        let name = temp_name(&long);
        assert!(name.len() <= 255, "{}", name.len());
        assert!(is_unfinished_write(&name));
    }
}
