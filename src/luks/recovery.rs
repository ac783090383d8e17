//! Recovery keys in systemd's format (src/shared/recovery-key.c) and their QR code.
//!
//! A recovery key is 32 random bytes written as 64 **modhex** characters (alphabet
//! `cbdefghijklnrtuv`, the nibble's value is the index, high nibble first) in 8 groups of 8
//! joined by `-`: 71 characters. It is enrolled as an ordinary LUKS2 passphrase, the formatted
//! string with its dashes, in a keyslot of its own with systemd's minimal PBKDF, and marked by a
//! `systemd-recovery` token ([`super::recovery_token`]).
//!
//! Every value here is a [`Secret`]: the front-end shows the key and its QR code, and nothing else
//! may log, print or store them.

use zeroize::{Zeroize, Zeroizing};

use crate::secret::Secret;

/// The modhex alphabet: index = nibble value.
pub const MODHEX: &[u8; 16] = b"cbdefghijklnrtuv";
/// Raw key bytes (`RECOVERY_KEY_MODHEX_RAW_LENGTH`).
const RAW_LEN: usize = 32;
/// The formatted length, dashes included, without systemd's NUL.
pub const FORMATTED_LEN: usize = RAW_LEN * 2 + RAW_LEN / 4 - 1;

/// A new recovery key: 32 bytes from the kernel's random number generator, formatted.
///
/// Panics only if the kernel's random number generator fails (`getrandom(2)` on Linux ≥ 3.17
/// does not, once seeded).
pub fn generate() -> Secret {
    let raw = Secret::random(RAW_LEN).expect("the kernel's random number generator failed");
    format_raw(raw.expose())
}

fn format_raw(raw: &[u8]) -> Secret {
    let mut out = Zeroizing::new(Vec::with_capacity(FORMATTED_LEN));
    for (i, b) in raw.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push(b'-');
        }
        out.push(MODHEX[(b >> 4) as usize]);
        out.push(MODHEX[(b & 0xf) as usize]);
    }
    Secret::new(std::mem::take(&mut *out))
}

fn modhex_value(c: u8) -> Option<u8> {
    MODHEX.iter().position(|&m| m == c.to_ascii_lowercase()).map(|p| p as u8)
}

/// The canonical form of a typed recovery key, as systemd's `normalize_recovery_key` accepts it:
/// 64 modhex characters without dashes, or 71 with a dash after every 8, in either case; the
/// result is lower case with dashes (the enrolled passphrase). Anything else (other lengths,
/// misplaced dashes, spaces, a trailing newline) is `None`, as in systemd.
pub fn normalize(input: &str) -> Option<Secret> {
    let s = input.as_bytes();
    let dashed = match s.len() {
        n if n == RAW_LEN * 2 => false,
        FORMATTED_LEN => true,
        _ => return None,
    };
    let mut raw = Zeroizing::new([0u8; RAW_LEN]);
    for (i, byte) in raw.iter_mut().enumerate() {
        let k = if dashed { i * 2 + i / 4 } else { i * 2 };
        if dashed && i > 0 && i % 4 == 0 && s[k - 1] != b'-' {
            return None;
        }
        *byte = (modhex_value(s[k])? << 4) | modhex_value(s[k + 1])?;
    }
    Some(format_raw(&raw[..]))
}

/// The other ways people type the key, which systemd-cryptsetup's boot prompt would refuse: it
/// hands the typed line to libcryptsetup unchanged (every version from 252 on; only homed folds
/// case and dashes). Without dashes, in capitals (Caps Lock), and both. Each is enrolled in a
/// keyslot of its own under the same `systemd-recovery` token, so the prompt takes the key in any
/// of the four forms. Same secret, so no guess gets easier.
pub fn typed_variants(key: &Secret) -> [Secret; 3] {
    let dashless: Zeroizing<Vec<u8>> = Zeroizing::new(key.expose().iter().copied().filter(|b| *b != b'-').collect());
    [Secret::new(dashless.to_vec()), Secret::new(key.expose().to_ascii_uppercase()), Secret::new(dashless.to_ascii_uppercase())]
}

/// Quiet zone around the Unicode code, in modules: 4 as the QR specification and systemd ask.
const QUIET_UNICODE: usize = 4;
/// Quiet zone of the ASCII code: 2, so that the code (2 columns per module) fits 80 columns.
const QUIET_ASCII: usize = 2;

/// The QR code of `key` as rows of modules (dark = `true`), without a quiet zone, for a front-end
/// that draws it itself. It encodes the key, so it is wiped when dropped.
pub fn qr_modules(key: &Secret) -> Zeroizing<Vec<Vec<bool>>> {
    let code =
        qrcode::QrCode::with_error_correction_level(key.expose(), qrcode::EcLevel::L).expect("a recovery key always fits in a QR code");
    let w = code.width();
    let mut colors = code.into_colors();
    let rows = Zeroizing::new(colors.chunks(w).map(|r| r.iter().map(|c| *c == qrcode::Color::Dark).collect()).collect());
    colors.iter_mut().for_each(|c| *c = qrcode::Color::Light);
    std::hint::black_box(&mut colors);
    rows
}

/// The QR code of `key` (byte mode, error correction level L, as systemd's `print_qrcode`) as
/// lines of terminal text, each ending in `\n`.
///
/// Polarity follows systemd: light modules are drawn, dark modules are blank, so the text must be
/// shown **light on a dark background** (systemd forces white on black; a front-end should too).
/// - `ascii == false`: Unicode half blocks (`█▀▄` and space), two module rows per line, a quiet
///   zone of 4 modules: for the 71-character key (version 4, 33×33) that is 21 lines of 41
///   columns, exactly what systemd-cryptenroll prints.
/// - `ascii == true`: for the Linux VT and serial consoles, `##` for a light module and two spaces
///   for a dark one (two columns per module keep modules square), one module row per line, a
///   quiet zone of 2 modules: 37 lines of 74 columns for the key.
pub fn qr_text(key: &Secret, ascii: bool) -> Secret {
    // The key is 71 bytes; level L holds up to 2953, so this only fails for absurd input.
    let code =
        qrcode::QrCode::with_error_correction_level(key.expose(), qrcode::EcLevel::L).expect("a recovery key always fits in a QR code");
    let w = code.width();
    let mut colors = code.into_colors();
    let mut dark: Zeroizing<Vec<bool>> = Zeroizing::new(colors.iter().map(|c| *c == qrcode::Color::Dark).collect());
    colors.iter_mut().for_each(|c| *c = qrcode::Color::Light);
    std::hint::black_box(&mut colors);
    drop(colors);

    let q = if ascii { QUIET_ASCII } else { QUIET_UNICODE };
    let n = w + 2 * q;
    // Dark at (x, y) of the code with its quiet zone.
    let at = |x: usize, y: usize| x >= q && y >= q && x < q + w && y < q + w && dark[(y - q) * w + (x - q)];
    let mut out = Zeroizing::new(String::with_capacity(if ascii { n * (2 * n + 1) } else { n.div_ceil(2) * (3 * n + 1) }));
    if ascii {
        for y in 0..n {
            for x in 0..n {
                out.push_str(if at(x, y) { "  " } else { "##" });
            }
            out.push('\n');
        }
    } else {
        for y in (0..n).step_by(2) {
            for x in 0..n {
                // Past the last row is more quiet zone (light).
                let (top, bottom) = (at(x, y), y + 1 < n && at(x, y + 1));
                out.push(match (top, bottom) {
                    (true, true) => ' ',
                    (true, false) => '▄',
                    (false, true) => '▀',
                    (false, false) => '█',
                });
            }
            out.push('\n');
        }
    }
    dark.zeroize();
    Secret::new(std::mem::take(&mut *out).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_modules_match_the_text_rendering() {
        let key = generate();
        let rows = qr_modules(&key);
        assert_eq!(rows.len(), 33);
        assert!(rows.iter().all(|r| r.len() == 33));
        // the ASCII rendering: quiet zone of 2, "  " for dark
        let text = qr_text(&key, true);
        let lines: Vec<&str> = std::str::from_utf8(text.expose()).unwrap().lines().collect();
        for (y, row) in rows.iter().enumerate() {
            for (x, dark) in row.iter().enumerate() {
                assert_eq!(&lines[y + 2][(x + 2) * 2..(x + 3) * 2] == "  ", *dark, "module {x},{y}");
            }
        }
    }

    #[test]
    fn formatting_follows_systemd() {
        let k = format_raw(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef].repeat(4));
        let s = std::str::from_utf8(k.expose()).unwrap();
        assert_eq!(s, ["cbdefghi-jklnrtuv"; 4].join("-"));
        assert_eq!(s.len(), FORMATTED_LEN);
        assert_eq!(FORMATTED_LEN, 71);
    }

    #[test]
    fn normalize_accepts_what_systemd_accepts() {
        let k = generate();
        let s = std::str::from_utf8(k.expose()).unwrap().to_string();
        assert!(normalize(&s).unwrap() == k);
        assert!(normalize(&s.to_uppercase()).unwrap() == k);
        assert!(normalize(&s.replace('-', "")).unwrap() == k);
        assert!(normalize(&s.replace('-', "").to_uppercase()).unwrap() == k);
        assert!(normalize(&format!("{s}\n")).is_none());
        assert!(normalize(&s[1..]).is_none());
        assert!(normalize(&s.replacen('-', "x", 1)).is_none());
        let mut bad = s.clone().into_bytes();
        bad[0] = b'a';
        assert!(normalize(std::str::from_utf8(&bad).unwrap()).is_none());
        // Dashes moved: right length, wrong places.
        let moved = format!("{}-{}", &s.replace('-', "")[..7], &s.replace('-', "")[7..]);
        assert!(normalize(&moved).is_none());
        // Multi-byte input of the right byte length must not panic.
        assert!(normalize(&"é".repeat(32)).is_none());
    }

    #[test]
    fn qr_sizes() {
        let k = generate();
        let u = String::from_utf8(qr_text(&k, false).expose().to_vec()).unwrap();
        let lines: Vec<&str> = u.lines().collect();
        assert_eq!(lines.len(), 21);
        assert!(lines.iter().all(|l| l.chars().count() == 41));
        let a = String::from_utf8(qr_text(&k, true).expose().to_vec()).unwrap();
        let lines: Vec<&str> = a.lines().collect();
        assert_eq!(lines.len(), 37);
        assert!(lines.iter().all(|l| l.len() == 74 && l.bytes().all(|b| b == b'#' || b == b' ')));
    }
}
