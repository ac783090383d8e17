//! SHA256SUMS manifests as a mirror serves them (before and after the signature is checked).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(entries) = imprint::update::manifest::parse(text, "2026-12-06") {
            for e in entries {
                assert!(imprint::update::manifest::filename_is_valid(&e.name), "accepted name {:?}", e.name);
            }
        }
    }
});
