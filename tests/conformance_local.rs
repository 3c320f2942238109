//! The backend-agnostic conformance suite (tests/conformance/mod.rs) against `file:`,
//! with both spellings of a local URI, on one broker.

mod common;
mod conformance;

use common::*;
use conformance::{run_all, unique, Target};

#[test]
fn local_filesystem_conforms() {
    let broker = BrokerProcess::start();
    let dir = tempfile::tempdir().unwrap();
    // Keys meant for other layers travel with every call and must be ignored.
    let props: Props = [("column_separator", ","), ("max_file_size", "1GB")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for base in [
        format!("file://{}", dir.path().join(unique("run")).display()),
        format!("file:{}", dir.path().join(unique("run")).display()),
    ] {
        let target = Target::new(base, props.clone());
        run_all(&broker, &target);
    }
    assert!(
        dir_names(dir.path()).is_empty(),
        "every run deleted its base: {:?}",
        dir_names(dir.path())
    );
}
