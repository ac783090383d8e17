//! Pure computations: policy digests, PIN authValues, the RSA key's TPM2 public area and name,
//! and the signature lookup in a `.pcrsig` JSON. No TPM, no I/O.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{PcrBank, TpmError};
use crate::plan::derive::hmac_sha256;
use crate::secret::Secret;

const CC_POLICY_AUTHORIZE: u32 = 0x0000_016A;
const CC_POLICY_AUTH_VALUE: u32 = 0x0000_016B;
const CC_POLICY_PCR: u32 = 0x0000_017F;
const ALG_SHA256: u16 = 0x000B;

/// PBKDF2 iterations systemd uses to salt PINs (`PBKDF2_HMAC_SHA256_ITERATIONS`).
pub(crate) const PIN_PBKDF2_ITERATIONS: u32 = 10_000;

pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(&h.finalize());
    out
}

/// PCR indexes, sorted and deduplicated; an error for indexes ≥ 24.
pub(crate) fn normalize_pcrs(pcrs: &[u32]) -> Result<Vec<u32>, TpmError> {
    let mut v = pcrs.to_vec();
    v.sort_unstable();
    v.dedup();
    if let Some(bad) = v.iter().find(|p| **p >= 24) {
        return Err(TpmError::Format(format!("PCR {bad} out of range 0…23")));
    }
    Ok(v)
}

pub(crate) fn pcr_mask(pcrs: &[u32]) -> u32 {
    pcrs.iter().fold(0, |m, p| m | (1u32 << p))
}

/// A marshalled TPML_PCR_SELECTION with one bank and a 3-byte bitmap (as systemd builds it).
pub(crate) fn pcr_selection_bytes(bank: PcrBank, pcrs: &[u32]) -> Vec<u8> {
    let mask = pcr_mask(pcrs);
    let mut v = Vec::with_capacity(10);
    v.extend_from_slice(&1u32.to_be_bytes());
    v.extend_from_slice(&bank.alg_id().to_be_bytes());
    v.push(3);
    v.extend_from_slice(&[(mask & 0xff) as u8, ((mask >> 8) & 0xff) as u8, ((mask >> 16) & 0xff) as u8]);
    v
}

/// PolicyPCR: `H(digest ‖ TPM_CC_PolicyPCR ‖ selection ‖ H(values in PCR order))`.
pub(crate) fn policy_pcr(digest: &[u8; 32], bank: PcrBank, pcrs: &[u32], values: &[Vec<u8>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for v in values {
        h.update(v);
    }
    let values_digest = h.finalize();
    sha256(&[digest, &CC_POLICY_PCR.to_be_bytes(), &pcr_selection_bytes(bank, pcrs), &values_digest])
}

/// PolicyAuthorize with an empty policyRef: the digest is reset, then
/// `H(H(0 ‖ TPM_CC_PolicyAuthorize ‖ keyName) ‖ "")`.
pub(crate) fn policy_authorize(key_name: &[u8]) -> [u8; 32] {
    let first = sha256(&[&[0u8; 32], &CC_POLICY_AUTHORIZE.to_be_bytes(), key_name]);
    sha256(&[&first])
}

/// PolicyAuthValue: `H(digest ‖ TPM_CC_PolicyAuthValue)`.
pub(crate) fn policy_auth_value(digest: &[u8; 32]) -> [u8; 32] {
    sha256(&[digest, &CC_POLICY_AUTH_VALUE.to_be_bytes()])
}

/// The whole sealing policy, computed offline exactly as the TPM computes it in a session.
pub(crate) fn sealing_policy(key_name: Option<&[u8]>, bank: PcrBank, pcrs: &[u32], pcr_values: &[Vec<u8>], pin: bool) -> [u8; 32] {
    let mut d = [0u8; 32];
    if let Some(name) = key_name {
        d = policy_authorize(name);
    }
    if !pcrs.is_empty() {
        d = policy_pcr(&d, bank, pcrs, pcr_values);
    }
    if pin {
        d = policy_auth_value(&d);
    }
    d
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output (one block), as `tpm2_util_pbkdf2_hmac_sha256`.
pub(crate) fn pbkdf2_hmac_sha256(pass: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut msg = Zeroizing::new(salt.to_vec());
    msg.extend_from_slice(&1u32.to_be_bytes());
    let mut u = Zeroizing::new(hmac_sha256(pass, &msg));
    let mut dk = Zeroizing::new(*u);
    for _ in 1..iterations {
        *u = hmac_sha256(pass, &*u);
        for (d, x) in dk.iter_mut().zip(u.iter()) {
            *d ^= x;
        }
    }
    dk
}

/// The TPM authValue for a PIN: SHA256 of the PIN — or, with a `tpm2_salt`, of
/// base64(PBKDF2(PIN, salt)) — with trailing zero bytes removed.
pub(crate) fn pin_auth(pin: &Secret, salt: Option<&[u8]>) -> Secret {
    let hashed = Zeroizing::new(match salt {
        Some(salt) => {
            let dk = pbkdf2_hmac_sha256(pin.expose(), salt, PIN_PBKDF2_ITERATIONS);
            let b64 = Zeroizing::new(STANDARD.encode(*dk));
            sha256(&[b64.as_bytes()])
        }
        None => sha256(&[pin.expose()]),
    });
    let len = hashed.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    Secret::new(hashed[..len].to_vec())
}

/// An RSA public key from a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RsaPublicKey {
    pub n: Vec<u8>,
    pub e: u32,
    /// The DER PKCS#1 RSAPublicKey (OpenSSL's `i2d_PublicKey`): its SHA256 is the `pkfp` of a
    /// `.pcrsig` entry (systemd's `pubkey_fingerprint`).
    pub pkcs1_der: Vec<u8>,
}

impl RsaPublicKey {
    pub fn from_pem(pem: &[u8]) -> Result<RsaPublicKey, TpmError> {
        let text = std::str::from_utf8(pem).map_err(|_| TpmError::Format("public key is not a PEM text file".into()))?;
        let begin = "-----BEGIN PUBLIC KEY-----";
        let end = "-----END PUBLIC KEY-----";
        let start = text
            .find(begin)
            .ok_or_else(|| TpmError::Format("public key: no '-----BEGIN PUBLIC KEY-----' block (need a PEM RSA public key)".into()))?
            + begin.len();
        let stop = text[start..].find(end).ok_or_else(|| TpmError::Format("public key: PEM block not terminated".into()))? + start;
        let b64: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD.decode(b64).map_err(|e| TpmError::Format(format!("public key: bad base64: {e}")))?;
        Self::from_spki_der(der)
    }

    fn from_spki_der(der: Vec<u8>) -> Result<RsaPublicKey, TpmError> {
        const RSA_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
        let bad = |what: &str| TpmError::Format(format!("public key: {what}"));
        let (spki, rest) = der_take(&der, 0x30).ok_or_else(|| bad("not a DER SubjectPublicKeyInfo"))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes after SubjectPublicKeyInfo"));
        }
        let (alg, rest) = der_take(spki, 0x30).ok_or_else(|| bad("no algorithm identifier"))?;
        let (oid, _) = der_take(alg, 0x06).ok_or_else(|| bad("no algorithm OID"))?;
        if oid != RSA_OID {
            return Err(bad("not an RSA key (systemd signs PCR policies with RSA only)"));
        }
        let (bits, _) = der_take(rest, 0x03).ok_or_else(|| bad("no key bit string"))?;
        let (&unused, rsa) = bits.split_first().ok_or_else(|| bad("empty key bit string"))?;
        if unused != 0 {
            return Err(bad("odd key bit string"));
        }
        let (seq, _) = der_take(rsa, 0x30).ok_or_else(|| bad("no RSAPublicKey"))?;
        let (n, rest) = der_take(seq, 0x02).ok_or_else(|| bad("no modulus"))?;
        let (e, _) = der_take(rest, 0x02).ok_or_else(|| bad("no exponent"))?;
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        if n.is_empty() || n.len() > 512 {
            return Err(bad("modulus size not supported"));
        }
        if e.is_empty() || e.len() > 4 {
            return Err(bad("exponent does not fit 32 bits"));
        }
        let e = e.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
        Ok(RsaPublicKey { n: n.to_vec(), e, pkcs1_der: rsa.to_vec() })
    }

    /// `pkfp` in `.pcrsig`: SHA256 of the DER RSAPublicKey.
    pub fn fingerprint(&self) -> [u8; 32] {
        sha256(&[&self.pkcs1_der])
    }

    /// The marshalled TPMT_PUBLIC systemd loads with LoadExternal (`openssl_pubkey_to_tpm2_pubkey`
    /// in v252). `exponent` is the literal value for the exponent field: the key's own `e` (what
    /// 252 and current upstream write), or 0 (what upstream wrote between commit e3acb4d and PR
    /// #30971 for e = 65537).
    pub fn tpmt_public(&self, exponent: u32) -> Vec<u8> {
        const ALG_RSA: u16 = 0x0001;
        const ALG_NULL: u16 = 0x0010;
        // decrypt | sign_encrypt | userWithAuth
        const ATTRS: u32 = 0x0002_0000 | 0x0004_0000 | 0x0000_0040;
        let mut v = Vec::with_capacity(20 + self.n.len());
        v.extend_from_slice(&ALG_RSA.to_be_bytes());
        v.extend_from_slice(&ALG_SHA256.to_be_bytes());
        v.extend_from_slice(&ATTRS.to_be_bytes());
        v.extend_from_slice(&0u16.to_be_bytes()); // authPolicy: empty
        v.extend_from_slice(&ALG_NULL.to_be_bytes()); // symmetric
        v.extend_from_slice(&ALG_NULL.to_be_bytes()); // scheme
        v.extend_from_slice(&((self.n.len() * 8) as u16).to_be_bytes());
        v.extend_from_slice(&exponent.to_be_bytes());
        v.extend_from_slice(&(self.n.len() as u16).to_be_bytes());
        v.extend_from_slice(&self.n);
        v
    }

    /// The exponent field values to try: the literal one, then 0 when e is the default 65537.
    pub fn exponent_variants(&self) -> Vec<u32> {
        if self.e == 65537 { vec![65537, 0] } else { vec![self.e] }
    }
}

/// The TPM name of a public area with nameAlg SHA256: `0x000B ‖ SHA256(TPMT_PUBLIC)`.
pub(crate) fn object_name(tpmt_public: &[u8]) -> Vec<u8> {
    let mut v = ALG_SHA256.to_be_bytes().to_vec();
    v.extend_from_slice(&sha256(&[tpmt_public]));
    v
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|x| *x != 0).unwrap_or(b.len());
    &b[i..]
}

/// One DER element with the given tag: its contents and what follows it.
fn der_take(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = b.split_first()?;
    if t != tag {
        return None;
    }
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)), &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// The signature for `policy` in a `.pcrsig` / `tpm2-pcr-signature.json` object: the entry in the
/// bank's array whose `pcrs` equal `pcrs`, whose `pkfp` is the key's fingerprint and whose `pol`
/// is the policy (systemd's `find_signature`).
pub(crate) fn find_signature(
    json: &serde_json::Value,
    bank: PcrBank,
    pcrs: &[u32],
    fingerprint: &[u8],
    policy: &[u8],
) -> Result<Option<Vec<u8>>, TpmError> {
    let obj = json.as_object().ok_or_else(|| TpmError::Format("PCR signature file is not a JSON object".into()))?;
    let Some(entries) = obj.get(bank.name()) else { return Ok(None) };
    let entries = entries.as_array().ok_or_else(|| TpmError::Format("PCR signature bank entry is not an array".into()))?;
    let want_mask = pcr_mask(pcrs);
    for e in entries {
        let Some(e) = e.as_object() else { continue };
        let Some(p) = e.get("pcrs").and_then(|p| p.as_array()) else { continue };
        let mask = p.iter().filter_map(|x| x.as_u64()).filter(|x| *x < 24).fold(0u32, |m, x| m | (1 << x));
        if mask != want_mask {
            continue;
        }
        let hex_eq = |key: &str, want: &[u8]| e.get(key).and_then(|v| v.as_str()).and_then(unhex).is_some_and(|v| v == want);
        if !hex_eq("pkfp", fingerprint) || !hex_eq("pol", policy) {
            continue;
        }
        let Some(sig) = e.get("sig").and_then(|s| s.as_str()) else { continue };
        let sig = STANDARD.decode(sig).map_err(|e| TpmError::Format(format!("PCR signature: bad base64: {e}")))?;
        return Ok(Some(sig));
    }
    Ok(None)
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pbkdf2_matches_published_vectors() {
        // RFC 7914 §11 (first 32 bytes) and the widely published 4096-iteration vector.
        assert_eq!(hex(&*pbkdf2_hmac_sha256(b"passwd", b"salt", 1)), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
        assert_eq!(
            hex(&*pbkdf2_hmac_sha256(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
    }

    #[test]
    fn pin_auth_hashes_and_trims() {
        let pin = Secret::from_text("1234");
        assert_eq!(hex(pin_auth(&pin, None).expose()), hex(&sha256(&[b"1234"])));
        // Salted: SHA256(base64(PBKDF2(pin, salt, 10000))).
        let salt = [7u8; 32];
        let dk = pbkdf2_hmac_sha256(b"1234", &salt, 10_000);
        let want = sha256(&[STANDARD.encode(*dk).as_bytes()]);
        let got = pin_auth(&pin, Some(&salt));
        assert!(want.starts_with(got.expose()) && want[got.len()..].iter().all(|b| *b == 0));
        // A PIN whose hash ends in a zero byte loses it.
        let mut i = 0u32;
        loop {
            let p = format!("{i}");
            if sha256(&[p.as_bytes()])[31] == 0 {
                assert_eq!(pin_auth(&Secret::from_text(&p), None).len(), 31);
                break;
            }
            i += 1;
        }
    }

    #[test]
    fn policy_digests_match_known_values() {
        // PCR 7 = 0 in SHA-256: the digest tpm2-tools and systemd compute for a fresh swtpm.
        let d = sealing_policy(None, PcrBank::Sha256, &[7], &[vec![0; 32]], false);
        let sel = pcr_selection_bytes(PcrBank::Sha256, &[7]);
        assert_eq!(hex(&sel), "00000001000b03800000");
        let want = sha256(&[&[0u8; 32], &0x17Fu32.to_be_bytes(), &sel, &sha256(&[&[0u8; 32]])]);
        assert_eq!(d, want);
        // PolicyAuthValue appends the command code only.
        assert_eq!(sealing_policy(None, PcrBank::Sha256, &[], &[], true), sha256(&[&[0u8; 32], &0x16Bu32.to_be_bytes()]));
        assert_eq!(normalize_pcrs(&[11, 7, 7]).unwrap(), vec![7, 11]);
        assert!(normalize_pcrs(&[24]).is_err());
    }

    const PEM: &str = "-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2ifgMzRquFf96Q2cyYXo
XBuDDab3uGZgJwr83vb/Z9ffbAKzVVz8Q36bEBlkeTugy5FBKRnAfl1nB5a5Ss6v
z0Qb/bwQs6GxS2hJN2RjopsDJz8QCkillfMyFX85SjkOivEsG018/aFqM4rN1tyJ
TjsXkkyd90sC0nyTCl+/mo8J4WMxeYWOqfgDnlvOk5s8b/4wwgPvtfMKA/wa+NMw
NdVZB6jT7pQ3UuSO0ILS9l0Tdxqh9UZobKHov97abux8sJW0pISy5x7xqT8PGgEq
sJa8gM0Ise1kpgIGMzTKiDYTF+n3ecKUnvZWwsHU1YK9a5clhRGBkrDuhLJKVJS8
SwIDAQAB
-----END PUBLIC KEY-----
";

    #[test]
    fn pem_key_parses_to_the_public_area_systemd_loads() {
        let k = RsaPublicKey::from_pem(PEM.as_bytes()).unwrap();
        assert_eq!(k.n.len(), 256);
        assert_eq!(k.e, 65537);
        assert_eq!(k.exponent_variants(), vec![65537, 0]);
        let t = k.tpmt_public(65537);
        assert_eq!(hex(&t[..22]), "0001000b000600400000001000100800000100010100");
        assert_eq!(t.len(), 22 + 256);
        assert_eq!(object_name(&t)[..2], [0, 0x0b]);
        // The `pkfp` systemd-measure 252 wrote for this key (= `openssl rsa -pubin -RSAPublicKey_out
        // -outform DER | sha256sum`; not the SubjectPublicKeyInfo's hash).
        assert_eq!(hex(&k.fingerprint()), "b4bb890abfd959f431aff31fb43de09ff0de21118122869fb571a1e811b5d6b6");
        assert!(RsaPublicKey::from_pem(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err());
    }

    #[test]
    fn signatures_are_found_by_bank_pcrs_key_and_policy() {
        let j = serde_json::json!({"sha256": [
            {"pcrs": [11], "pkfp": "aa", "pol": "01", "sig": "AAE="},
            {"pcrs": [11], "pkfp": "bb", "pol": "02", "sig": "AAI="},
        ]});
        assert_eq!(find_signature(&j, PcrBank::Sha256, &[11], &[0xbb], &[2]).unwrap(), Some(vec![0, 2]));
        assert_eq!(find_signature(&j, PcrBank::Sha256, &[11], &[0xbb], &[1]).unwrap(), None);
        assert_eq!(find_signature(&j, PcrBank::Sha1, &[11], &[0xaa], &[1]).unwrap(), None);
        assert_eq!(find_signature(&j, PcrBank::Sha256, &[7, 11], &[0xaa], &[1]).unwrap(), None);
        assert_eq!(unhex("0aff"), Some(vec![10, 255]));
        assert_eq!(unhex("0g"), None);
    }
}
