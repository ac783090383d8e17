//! MatchPattern= parsing, matching and formatting. Input: a pattern, a newline, a name.
#![no_main]
use imprint::update::pattern::{Match, Pattern};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (pat, name) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(p) = Pattern::parse(pat) else { return };
    if let Match::Yes(m) = p.matches(name) {
        // what matched formats back into a name without panicking. (It need not match again:
        // as in systemd, a field ends at the first occurrence of the literal after it, so
        // "@v+@m0" matches "3a+650" (mode 65) but its formatted "3a+0650" does not match.)
        if let Some(again) = p.format(&m) {
            let _ = p.matches(&again);
        }
    }
    let _ = imprint::update::pattern::match_many(std::slice::from_ref(&p), name);
});
