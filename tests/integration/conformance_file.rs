//! The backend-agnostic conformance suite (conformance/) against `file:`, with both
//! spellings of a local URI: `file:///abs` (`slashes::*`) and `file:/abs` (`no_slashes::*`),
//! each on its own broker and base.

use crate::common::*;
use crate::conformance::{unique, Suite, Target};

/// A base below the broker's home (removed when the broker stops), with keys meant for
/// other layers, which travel with every call and must be ignored.
fn target(base: String) -> Target {
    Target::new(
        base,
        props(&[("column_separator", ","), ("max_file_size", "1GB")]),
    )
}

mod slashes {
    use super::*;

    fn run(check: crate::conformance::Check) {
        static SUITE: Suite = Suite::new();
        SUITE.run(
            "local",
            BrokerProcess::start,
            |b| {
                target(format!(
                    "file://{}",
                    b.home.path().join(unique("run")).display()
                ))
            },
            check,
        );
    }

    crate::conformance::conformance_tests!(run);
}

mod no_slashes {
    use super::*;

    fn run(check: crate::conformance::Check) {
        static SUITE: Suite = Suite::new();
        SUITE.run(
            "local",
            BrokerProcess::start,
            |b| {
                target(format!(
                    "file:{}",
                    b.home.path().join(unique("run")).display()
                ))
            },
            check,
        );
    }

    crate::conformance::conformance_tests!(run);
}
