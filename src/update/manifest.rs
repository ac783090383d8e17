//! The source's manifest: `SHA256SUMS` in sha256sum format (`<hex>  <name>` or `<hex> *<name>`),
//! parsed as sysupdate's `resource_load_from_web()` does (a malformed line or a file name that is
//! not a plain file name refuses the whole manifest), and its detached OpenPGP signature
//! `SHA256SUMS.gpg`, checked in pure Rust (rpgp) against a keyring, as `gpgv` would for
//! systemd-pull.

use std::io::Cursor;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};

/// One file on offer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestEntry {
    pub name: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("SHA256SUMS line {line}: {why}")]
    BadLine { line: usize, why: String },
    #[error("SHA256SUMS expired on {date} (BEST-BEFORE line)")]
    Expired { date: String },
    #[error("SHA256SUMS.gpg: {0}")]
    BadSignature(String),
    #[error("keyring {path}: {why}")]
    Keyring { path: String, why: String },
}

/// A file name systemd's `filename_is_valid()` accepts, without control characters: no `/`,
/// not `.` or `..`, not empty, at most 255 bytes.
pub fn filename_is_valid(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && name.len() <= 255 && !name.chars().any(|c| c.is_control())
}

/// Parses SHA256SUMS. `today` (YYYY-MM-DD) is checked against a `BEST-BEFORE-YYYY-MM-DD` line.
pub fn parse(text: &str, today: &str) -> Result<Vec<ManifestEntry>, ManifestError> {
    let mut out = Vec::new();
    for (k, line) in text.split('\n').enumerate() {
        let line_no = k + 1;
        let bad = |why: &str| ManifestError::BadLine { line: line_no, why: why.to_string() };
        if line.is_empty() {
            continue;
        }
        if let Some(date) = line.strip_prefix("BEST-BEFORE-") {
            let valid =
                date.len() == 10 && date.bytes().enumerate().all(|(i, c)| if i == 4 || i == 7 { c == b'-' } else { c.is_ascii_digit() });
            if !valid {
                return Err(bad("invalid BEST-BEFORE date"));
            }
            if today > date {
                return Err(ManifestError::Expired { date: date.to_string() });
            }
            continue;
        }
        let b = line.as_bytes();
        if b.len() < 66 {
            return Err(bad("line too short"));
        }
        if !b[..64].iter().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad("invalid SHA-256 hash"));
        }
        if b[64] != b' ' || (b[65] != b' ' && b[65] != b'*') {
            return Err(bad("invalid format: expected '<hash>  <name>' or '<hash> *<name>'"));
        }
        let name = &line[66..];
        if !filename_is_valid(name) {
            return Err(bad(&format!("invalid file name {name:?}: refusing names with '/', '..' or control characters")));
        }
        if out.iter().any(|e: &ManifestEntry| e.name == name) {
            return Err(bad(&format!("file name {name:?} listed twice")));
        }
        out.push(ManifestEntry { name: name.to_string(), sha256: line[..64].to_ascii_lowercase() });
    }
    Ok(out)
}

/// Reads the public keys of a keyring: binary (`gpg --export`, the format of
/// import-pubring.gpg) or ASCII-armored.
pub fn load_keyring(bytes: &[u8], path: &str) -> Result<Vec<SignedPublicKey>, ManifestError> {
    let kerr = |why: String| ManifestError::Keyring { path: path.to_string(), why };
    let keys: Vec<SignedPublicKey> = if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
        let (iter, _) = SignedPublicKey::from_armor_many_buf(Cursor::new(bytes)).map_err(|e| kerr(e.to_string()))?;
        iter.collect::<Result<_, _>>().map_err(|e| kerr(e.to_string()))?
    } else {
        SignedPublicKey::from_bytes_many(Cursor::new(bytes))
            .map_err(|e| kerr(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| kerr(e.to_string()))?
    };
    if keys.is_empty() {
        return Err(kerr("holds no public keys".into()));
    }
    Ok(keys)
}

/// Checks that `signature` (binary or armored detached signature) is a valid signature of
/// `data` by one of `keys` (a primary key or a subkey bound to it) that may sign now: not
/// revoked, not expired, and (where its self-signature says what it is for) a signing key.
pub fn verify(data: &[u8], signature: &[u8], keys: &[SignedPublicKey]) -> Result<(), ManifestError> {
    verify_at(data, signature, keys, std::time::SystemTime::now())
}

/// [`verify`] as of `now`.
pub fn verify_at(data: &[u8], signature: &[u8], keys: &[SignedPublicKey], now: std::time::SystemTime) -> Result<(), ManifestError> {
    let serr = |why: String| ManifestError::BadSignature(why);
    let sig = if signature.trim_ascii_start().starts_with(b"-----BEGIN") {
        DetachedSignature::from_armor_single_buf(Cursor::new(signature)).map_err(|e| serr(format!("not a signature: {e}")))?.0
    } else {
        DetachedSignature::from_bytes(Cursor::new(signature)).map_err(|e| serr(format!("not a signature: {e}")))?
    };
    let now = now.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let mut last = String::from("no key in the keyring made it");
    for key in keys {
        let primary_problem = primary_problem(key, now);
        match sig.verify(key, data) {
            Ok(()) => {
                return match primary_problem.or_else(|| key_flags_problem(&self_signatures(key), "the key")) {
                    None => Ok(()),
                    Some(why) => Err(serr(format!("made by key {}, but {why}", hexfp(key)))),
                };
            }
            Err(e) => last = e.to_string(),
        }
        for sub in &key.public_subkeys {
            // the binding is made over the primary key packet (not the whole certificate)
            if sub.verify_bindings(&key.primary_key).is_err() {
                continue;
            }
            match sig.verify(sub, data) {
                Ok(()) => {
                    let problem = primary_problem.or_else(|| subkey_problem(sub, now));
                    return match problem {
                        None => Ok(()),
                        Some(why) => Err(serr(format!("made by a subkey of key {}, but {why}", hexfp(key)))),
                    };
                }
                Err(e) => last = e.to_string(),
            }
        }
    }
    Err(serr(format!("signature does not verify with any key of the keyring ({last})")))
}

fn hexfp(key: &SignedPublicKey) -> String {
    use pgp::types::KeyDetails;
    format!("{}", key.primary_key.fingerprint())
}

/// The primary key's self-signatures (on its user IDs, and direct-key signatures), newest last.
fn self_signatures(key: &SignedPublicKey) -> Vec<&pgp::packet::Signature> {
    let mut sigs: Vec<&pgp::packet::Signature> =
        key.details.users.iter().flat_map(|u| u.signatures.iter()).chain(key.details.direct_signatures.iter()).collect();
    sigs.sort_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0));
    sigs
}

/// When a key made at `created` expires, as the newest of `sigs` that says so.
fn expired(created: u64, sigs: &[&pgp::packet::Signature], now: u64) -> Option<String> {
    let newest = sigs.iter().rev().find(|s| s.key_expiration_time().is_some())?;
    let d = u64::from(newest.key_expiration_time()?.as_secs());
    (d > 0 && now >= created.saturating_add(d)).then(|| format!("it expired {} days ago", (now - created - d) / 86400))
}

fn primary_problem(key: &SignedPublicKey, now: u64) -> Option<String> {
    use pgp::types::KeyDetails;
    if !key.details.revocation_signatures.is_empty() {
        return Some("the key is revoked".into());
    }
    let created = u64::from(key.primary_key.created_at().as_secs());
    expired(created, &self_signatures(key), now).map(|w| format!("the key is expired ({w})"))
}

/// A newest self-signature that lists what the key is for, without signing.
fn key_flags_problem(sigs: &[&pgp::packet::Signature], what: &str) -> Option<String> {
    let has_flags = |s: &&&pgp::packet::Signature| {
        s.config().is_some_and(|c| c.hashed_subpackets().any(|p| matches!(p.data, pgp::packet::SubpacketData::KeyFlags(_))))
    };
    let newest = sigs.iter().rev().find(has_flags)?;
    (!newest.key_flags().sign()).then(|| format!("{what} is not for signing (its key flags do not allow it)"))
}

fn subkey_problem(sub: &pgp::composed::SignedPublicSubKey, now: u64) -> Option<String> {
    use pgp::packet::SignatureType;
    use pgp::types::KeyDetails;
    if sub.signatures.iter().any(|s| s.typ() == Some(SignatureType::SubkeyRevocation)) {
        return Some("the subkey is revoked".into());
    }
    let mut bindings: Vec<&pgp::packet::Signature> =
        sub.signatures.iter().filter(|s| s.typ() == Some(SignatureType::SubkeyBinding)).collect();
    bindings.sort_by_key(|s| s.created().map(|t| t.as_secs()).unwrap_or(0));
    let created = u64::from(sub.key.created_at().as_secs());
    if let Some(w) = expired(created, &bindings, now) {
        return Some(format!("the subkey is expired ({w})"));
    }
    key_flags_problem(&bindings, "the subkey")
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_both_modes() {
        let text = format!("{H}  usr_1.0.raw\n{H} *usr_2.0.raw\n\n");
        let m = parse(&text, "2030-01-01").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].name, "usr_2.0.raw");
        assert_eq!(m[0].sha256, H);
    }

    #[test]
    fn refuses_bad_names_and_lines() {
        for name in ["../etc/passwd", "a/b", "..", "."] {
            let e = parse(&format!("{H}  {name}\n"), "2030-01-01").unwrap_err();
            assert!(e.to_string().contains("invalid file name"), "{name}: {e}");
        }
        assert!(parse("abc  x\n", "2030-01-01").is_err());
        assert!(parse(&format!("{H}\tx\n"), "2030-01-01").is_err());
        assert!(parse(&format!("{}  x\n", "g".repeat(64)), "2030-01-01").is_err());
    }

    #[test]
    fn best_before() {
        let text = format!("BEST-BEFORE-2025-01-02\n{H}  a_1\n");
        assert!(parse(&text, "2025-01-02").is_ok());
        assert_eq!(parse(&text, "2025-01-03").unwrap_err(), ManifestError::Expired { date: "2025-01-02".into() });
    }
}
