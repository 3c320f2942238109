//! The backend-agnostic conformance suite (conformance/) against `file:`, with both
//! spellings of a local URI: `file:///abs` (`slashes::*`) and `file:/abs` (`no_slashes::*`),
//! each on its own broker and base.

use crate::common::*;
use crate::conformance::{unique, Check, Suite, Target};

/// A base below the broker's home (removed when the broker stops), with keys meant for
/// other layers, which travel with every call and must be ignored.
fn target(base: String) -> Target {
    Target::new(
        base,
        props(&[("column_separator", ","), ("max_file_size", "1GB")]),
    )
}

/// Runs `check` on `suite`, a base spelled `prefix` + the absolute path.
fn run(suite: &'static Suite, prefix: &str, check: Check) {
    suite.run(
        "local",
        BrokerProcess::start,
        |b| {
            let dir = b.home.path().join(unique("run"));
            target(format!("{prefix}{}", dir.display()))
        },
        check,
    );
}

mod slashes {
    fn run(check: super::Check) {
        static SUITE: super::Suite = super::Suite::new();
        super::run(&SUITE, "file://", check);
    }
    crate::conformance::conformance_tests!(run);
}

mod no_slashes {
    fn run(check: super::Check) {
        static SUITE: super::Suite = super::Suite::new();
        super::run(&SUITE, "file:", check);
    }
    crate::conformance::conformance_tests!(run);
}
