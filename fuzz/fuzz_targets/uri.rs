//! URI parsing (`Location::parse`) and the path walks built on it. Checks: no panic;
//! a parsed location prints as a URI that parses back to the same location (listings
//! hand clients printed paths that they send back verbatim); parent, join and name keep
//! the location absolute and normalised.
#![no_main]

use apache_hdfs_broker::storage::Location;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(uri) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(location) = Location::parse(uri) else {
        return;
    };
    let printed = location.to_string();
    let again = Location::parse(&printed).expect("a printed location parses");
    assert_eq!(again, location, "{uri:?} printed as {printed:?}");
    assert!(location.path().starts_with('/'));
    assert!(location.is_root() || !location.path().ends_with('/'));
    assert!(!location.path().contains("//"));
    let name = location.name().to_string();
    if let Some(parent) = location.parent() {
        assert!(parent.path().len() < location.path().len());
        assert_eq!(parent.join(&name), location, "parent/name of {printed:?}");
    } else {
        assert!(location.is_root());
    }
});
