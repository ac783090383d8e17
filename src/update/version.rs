//! Version strings as systemd orders and accepts them: `strverscmp_improved()` from
//! `src/fundamental/string-util-fundamental.c` (the UAPI.10 version format) and sysupdate's
//! `version_is_valid()`.

use std::cmp::Ordering;

fn is_valid_version_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'~' | b'-' | b'^' | b'.')
}

/// Compares two versions as systemd's `strverscmp_improved()` does: characters outside
/// `[A-Za-z0-9~^.-]` separate segments and are otherwise ignored; `~` sorts before everything
/// (even the end of the string), then the end, then `-`, then `^`, then `.`; numeric segments
/// compare by value and are newer than alphabetic ones; alphabetic ones compare bytewise.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied().unwrap_or(0);
    loop {
        while i < a.len() && !is_valid_version_char(a[i]) {
            i += 1;
        }
        while j < b.len() && !is_valid_version_char(b[j]) {
            j += 1;
        }
        // '~' (pre-releases) is older than anything, the end of the string included
        if at(a, i) == b'~' || at(b, j) == b'~' {
            let r = (at(a, i) != b'~').cmp(&(at(b, j) != b'~'));
            if r != Ordering::Equal {
                return r;
            }
            i += 1;
            j += 1;
        }
        // a string with more segments is newer
        if at(a, i) == 0 || at(b, j) == 0 {
            return at(a, i).cmp(&at(b, j));
        }
        for sep in [b'-', b'^', b'.'] {
            if at(a, i) == sep || at(b, j) == sep {
                let r = (at(a, i) != sep).cmp(&(at(b, j) != sep));
                if r != Ordering::Equal {
                    return r;
                }
                i += 1;
                j += 1;
            }
        }
        if at(a, i).is_ascii_digit() || at(b, j).is_ascii_digit() {
            let ae = i + a[i.min(a.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
            let be = j + b[j.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
            // a number is newer than no number
            let r = (i != ae).cmp(&(j != be));
            if r != Ordering::Equal {
                return r;
            }
            while at(a, i) == b'0' && i < ae {
                i += 1;
            }
            while at(b, j) == b'0' && j < be {
                j += 1;
            }
            let r = (ae - i).cmp(&(be - j)).then_with(|| a[i..ae].cmp(&b[j..be]));
            if r != Ordering::Equal {
                return r;
            }
            i = ae;
            j = be;
        } else {
            let ae = i + a[i.min(a.len())..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
            let be = j + b[j.min(b.len())..].iter().take_while(|c| c.is_ascii_alphabetic()).count();
            let n = (ae - i).min(be - j);
            let r = a[i..i + n].cmp(&b[j..j + n]).then_with(|| (ae - i).cmp(&(be - j)));
            if r != Ordering::Equal {
                return r;
            }
            i = ae;
            j = be;
        }
    }
}

/// sysupdate's `version_is_valid()`: not empty, usable as a file name, and only
/// `[A-Za-z0-9.,_+-]`.
pub fn is_valid(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && s.len() <= 255 && s.bytes().all(|c| c.is_ascii_alphanumeric() || b".,_-+".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ordered list from systemd's `test-string-util.c` (each is older than every later one).
    const ORDERED: &[&str] = &[
        "~1",
        "",
        "ab",
        "abb",
        "abc",
        "0001",
        "002",
        "12",
        "122",
        "122.9",
        "123~rc1",
        "123",
        "123-a",
        "123-a.1",
        "123-a1",
        "123-a1.1",
        "123-3",
        "123-3.1",
        "123^patch1",
        "123^1",
        "123.a-1",
        "123.1-1",
        "123a-1",
        "124",
    ];

    /// (older, newer) pairs from the same test, and the UAPI.10 example order.
    const NEWER: &[(&str, &str)] = &[
        ("123.45-67.88", "123.45-67.89"),
        ("123.45-67.89", "123.45-67.89a"),
        ("123.45-67.ab", "123.45-67.89"),
        ("123.45-67.9", "123.45-67.89"),
        ("123.45-67", "123.45-67.89"),
        ("123.45-66.89", "123.45-67.89"),
        ("123.45-9.99", "123.45-67.89"),
        ("123.42-99.99", "123.45-67.89"),
        ("123-99.99", "123.45-67.89"),
        ("123~rc1-99.99", "123.45-67.89"),
        ("123~rc1-99.99", "123-45.67.89"),
        ("123~rc1-99.99", "123~rc2-67.89"),
        ("123~rc1-99.99", "123^aa2-67.89"),
        ("123~rc1-99.99", "123aa2-67.89"),
        ("123-99.99", "123^aa2-67.89"),
        ("123-99.99", "123aa2-67.89"),
        ("123^45-67.89", "123.45-67.89"),
        ("123^aa1-99.99", "123^aa2-67.89"),
        ("123^aa2-67.89", "123aa2-67.89"),
        ("123.aa2-67.89", "123aa2-67.89"),
        ("123.aa2-67.89", "123.ab2-67.89"),
        // UAPI.10 example list
        ("122.1", "123~rc1-1"),
        ("123~rc1-1", "123"),
        ("123", "123-a"),
        ("123-a", "123-a.1"),
        ("123-a.1", "123-1"),
        ("123-1", "123-1.1"),
        ("123-1.1", "123^post1"),
        ("123^post1", "123.a-1"),
        ("123.a-1", "123.1-1"),
        ("123.1-1", "123a-1"),
        ("123a-1", "124-1"),
    ];

    /// (a, b, expected sign) from the same test's corner cases and its rpm table.
    const CASES: &[(&str, &str, i8)] = &[
        ("123_aa2-67.89", "123aa+2-67.89", 0),
        ("123.", "123", 1),
        ("12_3", "123", -1),
        ("12_3", "12", 1),
        ("12_3", "12.3", 1),
        ("123.0", "123", 1),
        ("123_0", "123", 1),
        ("123..0", "123.0", -1),
        ("0_", "0", 0),
        ("_0_", "0", 0),
        ("_0", "0", 0),
        ("0", "0___", 0),
        ("", "_", 0),
        ("_", "", 0),
        ("", "~", 1),
        ("~", "", -1),
        ("~", "~", 0),
        ("1.0", "2.0", -1),
        ("2.0.1", "2.0", 1),
        ("2.0.1a", "2.0.1", 1),
        ("5.5p1", "5.5p10", -1),
        ("10xyz", "10.1xyz", 1),
        ("xyz10", "xyz10.1", -1),
        ("xyz.4", "8", -1),
        ("2", "xyz.4", 1),
        ("5.5p2", "5.6p1", -1),
        ("6.0.rc1", "6.0", 1),
        ("10b2", "10a1", 1),
        ("1.0a", "1.0aa", -1),
        ("10.0001", "10.1", 0),
        ("10.0001", "10.0039", -1),
        ("4.999.9", "5.0", -1),
        ("20101121", "20101122", -1),
        ("2.0", "2_0", -1),
        ("a+", "a_", 0),
        ("+_", "_+", 0),
        ("1.0~rc1", "1.0", -1),
        ("1.0~rc1~git123", "1.0~rc1", -1),
        ("1.0^", "1.0", 1),
        ("1.0^git1", "1.01", -1),
        ("1.0^20160101", "1.0.1", -1),
        ("1.0^20160102", "1.0^20160101^git1", 1),
        ("1.0~rc1^git1", "1.0~rc1", 1),
        ("1.0^git1~pre", "1.0^git1", -1),
        ("1b.fc17", "1.fc17", 1),
        ("1.1.α", "1.1.β", 0),
        ("1.1.αα", "1.1.α", 0),
    ];

    #[test]
    fn systemd_ordered_list() {
        for (k, older) in ORDERED.iter().enumerate() {
            assert_eq!(compare(older, older), Ordering::Equal, "{older}");
            for newer in &ORDERED[k + 1..] {
                assert_eq!(compare(older, newer), Ordering::Less, "{older} < {newer}");
                assert_eq!(compare(newer, older), Ordering::Greater, "{newer} > {older}");
            }
        }
    }

    #[test]
    fn systemd_pairs() {
        for (older, newer) in NEWER {
            assert_eq!(compare(older, newer), Ordering::Less, "{older} < {newer}");
            assert_eq!(compare(newer, older), Ordering::Greater, "{newer} > {older}");
        }
        for (a, b, sign) in CASES {
            assert_eq!(compare(a, b) as i8, *sign, "{a} vs {b}");
        }
    }

    #[test]
    fn valid_versions() {
        for v in ["1.0", "2024.10.1_rc+3", "v1,2"] {
            assert!(is_valid(v), "{v}");
        }
        for v in ["", "..", "1/2", "1 2", "1~rc1", "1^p", "ä"] {
            assert!(!is_valid(v), "{v}");
        }
    }
}
