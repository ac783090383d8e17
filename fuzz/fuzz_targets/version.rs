//! Version comparison (systemd's strverscmp_improved): a total order. Input: two versions split
//! at the first newline.
#![no_main]
use imprint::update::version::{compare, is_valid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, rest) = text.split_once('\n').unwrap_or((text, ""));
    let (b, c) = rest.split_once('\n').unwrap_or((rest, ""));
    let _ = is_valid(a);
    assert_eq!(compare(a, a), std::cmp::Ordering::Equal);
    assert_eq!(compare(a, b), compare(b, a).reverse(), "{a:?} vs {b:?}");
    if compare(a, b).is_le() && compare(b, c).is_le() {
        assert!(compare(a, c).is_le(), "{a:?} <= {b:?} <= {c:?} but not {a:?} <= {c:?}");
    }
});
