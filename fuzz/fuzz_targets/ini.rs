//! The INI reader and what is built on it: installer profiles and repart.d definitions.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = imprint::profile::ini::parse_str(Path::new("fuzz.conf"), text);
    let _ = imprint::profile::conf::check_profile_text(Path::new("profile.conf"), text);
    let _ = imprint::profile::repart::parse_definition(Path::new("10-root.conf"), text);
});
