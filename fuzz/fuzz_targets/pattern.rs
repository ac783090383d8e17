//! MatchPattern= parsing, matching and formatting. Input: a pattern, a newline, a name.
#![no_main]
use imprint::update::pattern::{Match, Pattern};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pat, name) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(p) = Pattern::parse(pat) else { return };
    if let Match::Yes(m) = p.matches(name) {
        // what matched formats back into a name the same pattern matches with the same version
        if let Some(again) = p.format(&m) {
            match p.matches(&again) {
                Match::Yes(m2) => assert_eq!(m2.version, m.version, "{pat:?} on {name:?} → {again:?}"),
                other => panic!("{pat:?}: {name:?} matched, its formatted form {again:?} gives {other:?}"),
            }
        }
    }
    let _ = imprint::update::pattern::match_many(std::slice::from_ref(&p), name);
});
