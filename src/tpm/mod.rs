//! TPM2 sealing for LUKS2, and the `systemd-tpm2` token format.
//!
//! This is the only module that uses tss-esapi. It seals a random 32-byte secret to a TPM2 policy
//! (PCRs, optionally a signed PCR policy and a PIN), writes the token systemd-cryptsetup and the
//! cryptsetup token plugin unlock at boot, reads tokens systemd-cryptenroll wrote, and checks a
//! TPM's readiness with advice a person can act on. It does not touch LUKS headers (that is
//! `luks/`), prints nothing, and never shows a secret (all secrets are [`Secret`]s).
//!
//! # What systemd does, and what we write (checked against the sources)
//!
//! Read with the `search` tool in `systemd/systemd`: `src/shared/tpm2-util.c` at v252 (Debian 12)
//! and at a later upstream commit (v255 era, the one stored), `src/cryptsetup/cryptsetup-tokens/
//! luks2-tpm2.c` (v253) and pull request #30971.
//!
//! * **Parent key.** v252 `tpm2_make_primary` creates a *transient* primary in the owner
//!   hierarchy (empty auth) on every seal and unseal: ECC NIST P-256 first, RSA-2048 as
//!   fallback; attributes restricted, decrypt, fixedTPM, fixedParent, sensitiveDataOrigin,
//!   userWithAuth (no noDA); symmetric AES-128-CFB; scheme and KDF NULL; empty unique. Upstream
//!   (`tpm2_seal` with `ret_srk`) seals under the persistent SRK 0x81000001 and records it in
//!   `tpm2_srk`, but `tpm2_unseal` still recreates the legacy primary from
//!   `tpm2_get_legacy_template(primary_alg)` when a token has no `tpm2_srk`. So we seal under the
//!   legacy transient primary and omit `tpm2_srk`: both 252 and upstream unseal that.
//! * **Sealed object** (v252 and upstream `tpm2_seal`): KEYEDHASH, nameAlg SHA256, attributes
//!   fixedTPM|fixedParent only (no userWithAuth: only the policy authorizes it), scheme NULL,
//!   32-byte zero unique, authPolicy = the policy digest, 32 random data bytes. The blob is
//!   TPM2B_PRIVATE ‖ TPM2B_PUBLIC (`Tss2_MU_*_Marshal`, upstream `tpm2_marshal_blob`).
//! * **Policy** (v252 `tpm2_make_policy_session`, upstream `tpm2_build_sealing_policy`), in this
//!   order: PolicyAuthorize (signed PCR policy: name of the RSA key loaded with LoadExternal in
//!   the owner hierarchy, empty policyRef), PolicyPCR (the literal PCRs), PolicyAuthValue (PIN).
//!   The external key's public area is RSA, SHA256, decrypt|sign|userWithAuth, NULL scheme and
//!   symmetric, and the exponent written literally (65537, not 0): PR #30971 restored that after
//!   a regression (commit e3acb4d) had written 0, and since then unseal retries with 0; we too.
//!   At unseal the signature is found in the `.pcrsig` JSON by bank, PCR mask, `pkfp` (SHA256 of
//!   the DER *PKCS#1 RSAPublicKey*: `pubkey_fingerprint` in openssl-util.c uses `i2d_PublicKey`,
//!   confirmed against `systemd-measure sign` 252 output) and `pol` (the session digest after
//!   PolicyPCR), checked with
//!   VerifySignature over SHA256(pol) (RSASSA-SHA256) and its ticket passed to PolicyAuthorize
//!   (`find_signature`, `tpm2_policy_authorize`).
//! * **Unseal** compares the session digest with `tpm2-policy-hash` first ("Current policy digest
//!   does not match stored policy digest") — that is our [`TpmError::PolicyMismatch`].
//! * **PIN.** v252 `hash_pin`: authValue = SHA256(PIN). v253 `acquire_luks2_key` (luks2-tpm2.c):
//!   with `tpm2_salt`, the PIN becomes base64(PBKDF2-HMAC-SHA256(PIN, salt, 10000, 32))
//!   (`tpm2_util_pbkdf2_hmac_sha256`) before hashing. Upstream `tpm2_get_pin_auth` trims trailing
//!   zero bytes of the hash (`tpm2_trim_auth_value`, TPM spec part 1 "Authorization Size
//!   Convention"; the TPM trims stored authValues itself). We seal PINs the 252 way (no salt)
//!   and trim, and read salted tokens too.
//! * **JSON** (v252 `tpm2_make_luks2_json`): `type`, `keyslots` (one decimal string),
//!   `tpm2-blob` (base64), `tpm2-pcrs` (int array), `tpm2-pcr-bank`, `tpm2-primary-alg`
//!   (`ecc`/`rsa`), `tpm2-policy-hash` (hex), `tpm2-pin` (bool, always written by 252),
//!   `tpm2_pubkey_pcrs` and `tpm2_pubkey` (base64 of the PEM file) only with a signed policy.
//!   Upstream appends `tpm2_pcrlock`, `tpm2_salt`, `tpm2_srk` (base64 of the ESYS_TR
//!   serialization: TPM2_HANDLE ‖ TPM2B_NAME ‖ UINT32 1 ‖ TPM2B_PUBLIC, see
//!   `tpm2_calculate_serialize`) and `tpm2_pcrlock_nv`; v257+ may write blob and policy hash as
//!   arrays (sharded pcrlock secrets). `tpm2_parse_luks2_json` of both ignores unknown fields.
//! * **LUKS passphrase** = standard base64 of the secret (`base64mem` in cryptenroll).
//!
//! Found while testing against systemd 252 on swtpm (see tests/tpm.rs): the digest's "pkfp is
//! the SHA256 of the DER public key" means the PKCS#1 key, not the SubjectPublicKeyInfo; 252's
//! `systemd-measure sign` needs a TPM (it computes `pol` in a trial session); 252's `tpm2_unseal`
//! never flushes its HMAC encryption session (its `finish:` flushes the primary, the policy
//! session and the sealed key), which matters only without a resource manager. The digest says
//! v261 adds noDA to PIN-less sealed objects; the upstream source stored here (v255 era) does
//! not, and either way unsealing does not depend on it, so we keep 252's attributes.
//!
//! Every transient object and session is flushed, also on error paths: explicitly, and by
//! tss-esapi's `Context` drop (it flushes the handles it created) — swtpm has no resource
//! manager. Set `TSS2_LOG=all+none` in the process environment: tpm2-tss logs expected failures
//! (a policy mismatch, a wrong PIN) to stderr.

pub mod eventlog;
pub mod notice;
mod policy;
pub mod reseal;
mod seal;
pub mod secureboot;
pub mod status;
mod token;
mod uki;

use std::fmt;
use std::str::FromStr;

pub use seal::{SealFormat, pcr_values, seal, seal_in_format, seal_recording, token_matches_now, unseal, unseal_with_signatures};
pub use status::{Problem, ProblemKind, TpmStatus, status};
pub use token::{PrimaryAlg, Tpm2Token};
pub use uki::{pcrpkey_from_uki, section_in, uki_section};

use crate::secret::Secret;

/// The TPM to talk to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Device {
    /// The kernel's resource manager, `/dev/tpmrm0` (as systemd's `tpm2-device=auto`).
    Auto,
    /// A tpm2-tss TCTI string, e.g. `swtpm:host=127.0.0.1,port=2321` or `device:/dev/tpmrm1`.
    Tcti(String),
}

impl Device {
    /// The TCTI string for tpm2-tss.
    pub fn tcti(&self) -> String {
        match self {
            Device::Auto => "device:/dev/tpmrm0".to_string(),
            Device::Tcti(s) => s.clone(),
        }
    }
}

impl FromStr for Device {
    type Err = std::convert::Infallible;

    /// `auto` (any case) or a TCTI string.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(if s.eq_ignore_ascii_case("auto") { Device::Auto } else { Device::Tcti(s.to_string()) })
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Auto => f.write_str("/dev/tpmrm0"),
            Device::Tcti(s) => f.write_str(s),
        }
    }
}

/// A PCR bank, as named in the token (`tpm2-pcr-bank`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PcrBank {
    Sha1,
    Sha256,
}

impl PcrBank {
    pub fn name(self) -> &'static str {
        match self {
            PcrBank::Sha1 => "sha1",
            PcrBank::Sha256 => "sha256",
        }
    }

    /// TPM_ALG_ID of the hash.
    pub(crate) fn alg_id(self) -> u16 {
        match self {
            PcrBank::Sha1 => 0x0004,
            PcrBank::Sha256 => 0x000B,
        }
    }

    pub(crate) fn digest_len(self) -> usize {
        match self {
            PcrBank::Sha1 => 20,
            PcrBank::Sha256 => 32,
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<PcrBank> {
        match s.to_ascii_lowercase().as_str() {
            "sha1" => Some(PcrBank::Sha1),
            "sha256" => Some(PcrBank::Sha256),
            _ => None,
        }
    }
}

impl fmt::Display for PcrBank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PcrBank::Sha1 => "SHA-1",
            PcrBank::Sha256 => "SHA-256",
        })
    }
}

/// What to seal to.
pub struct SealRequest {
    /// The PCR bank for both the literal and the signed PCR policy.
    pub bank: PcrBank,
    /// Literal PCR policy (systemd-cryptenroll's `--tpm2-pcrs`, default `[7]`); may be empty.
    pub pcrs: Vec<u32>,
    /// A PEM RSA public key (a UKI's `.pcrpkey`): adds a signed PCR policy (PolicyAuthorize).
    pub public_key_pem: Option<Vec<u8>>,
    /// The PCRs the signatures cover (`--tpm2-public-key-pcrs`); empty means `[11]`.
    pub public_key_pcrs: Vec<u32>,
    /// A PIN (PolicyAuthValue); turns on the TPM's dictionary-attack protection.
    pub pin: Option<Secret>,
    /// PCR values to seal to instead of the TPM's for these PCRs (`imprint tpm prepare`: the
    /// next boot's, predicted); empty: the values of now.
    pub predicted: Vec<(u32, Vec<u8>)>,
}

impl Default for SealRequest {
    /// systemd 252's defaults: SHA-256, PCR 7, no key, no PIN.
    fn default() -> Self {
        SealRequest {
            bank: PcrBank::Sha256,
            pcrs: vec![7],
            public_key_pem: None,
            public_key_pcrs: vec![11],
            pin: None,
            predicted: Vec::new(),
        }
    }
}

/// What can go wrong; the variants are the cases a caller acts on differently.
#[derive(Debug, thiserror::Error)]
pub enum TpmError {
    #[error("no usable TPM 2.0 at {device}: {reason}")]
    Absent { device: String, reason: String },
    #[error("the TPM is in dictionary-attack lockout after too many wrong PINs, and refuses PIN checks until the lockout period ends")]
    Lockout,
    #[error("the TPM has no active {0} PCR bank")]
    NoBank(PcrBank),
    #[error("the PCR values differ from those at enrollment — e.g. a firmware update or a Secure Boot change; use the recovery key")]
    PolicyMismatch,
    #[error("this TPM enrollment needs a PIN")]
    PinRequired,
    #[error("wrong PIN")]
    BadPin,
    #[error("bad systemd-tpm2 token or key: {0}")]
    Format(String),
    #[error("TPM operation failed: {0}")]
    Tss(String),
}

/// The type of the LUKS2 token imprint adds beside each `systemd-tpm2` token it seals: the PCR
/// values the key was sealed to (systemd's token keeps only the policy digest), so that `tpm
/// status` can say which PCRs changed. No keyslots; systemd ignores token types it does not know.
pub const PCR_RECORD_TOKEN: &str = "imprint-tpm2-pcr-values";

/// A key's recorded PCR values: (keyslot, bank, (PCR, value) sealed to).
pub type PcrRecord = (u32, PcrBank, Vec<(u32, Vec<u8>)>);

/// The record token for the TPM2 key in `keyslot`, sealed to `values` of `bank`.
pub fn pcr_record(keyslot: u32, bank: PcrBank, values: &[(u32, Vec<u8>)]) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> =
        values.iter().map(|(p, v)| (p.to_string(), serde_json::Value::String(policy::hex(v)))).collect();
    serde_json::json!({
        "type": PCR_RECORD_TOKEN,
        "keyslots": [],
        "imprint-keyslot": keyslot.to_string(),
        "tpm2-pcr-bank": match bank {
            PcrBank::Sha256 => "sha256",
            PcrBank::Sha1 => "sha1",
        },
        "tpm2-pcr-values": map,
    })
}

/// A record token read back: (keyslot, bank, PCR values). None for anything else, or a record
/// that does not parse.
pub fn parse_pcr_record(json: &serde_json::Value) -> Option<PcrRecord> {
    if json["type"] != PCR_RECORD_TOKEN {
        return None;
    }
    let keyslot = json["imprint-keyslot"].as_str()?.parse().ok()?;
    let bank = match json["tpm2-pcr-bank"].as_str()? {
        "sha256" => PcrBank::Sha256,
        "sha1" => PcrBank::Sha1,
        _ => return None,
    };
    let mut values = Vec::new();
    for (p, v) in json["tpm2-pcr-values"].as_object()? {
        let v = v.as_str().filter(|v| v.len() <= 128)?;
        values.push((p.parse().ok().filter(|p: &u32| *p < 24)?, policy::unhex(v)?));
    }
    values.sort();
    Some((keyslot, bank, values))
}

/// The LUKS passphrase for a sealed secret: standard base64 with padding, as systemd-cryptenroll
/// enrolls it (44 characters for 32 bytes).
pub fn luks_passphrase(secret: &Secret) -> Secret {
    use base64::Engine;
    Secret::new(base64::engine::general_purpose::STANDARD.encode(secret.expose()).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pcr_record_reads_back_and_a_damaged_one_is_none() {
        let values = vec![(7, vec![0xab; 32]), (11, vec![0x01; 32])];
        let json = pcr_record(5, PcrBank::Sha256, &values);
        assert_eq!(json["keyslots"], serde_json::json!([]));
        assert_eq!(parse_pcr_record(&json), Some((5, PcrBank::Sha256, values)));
        for (field, bad) in [
            ("imprint-keyslot", serde_json::json!("x")),
            ("tpm2-pcr-bank", serde_json::json!("sha384")),
            ("tpm2-pcr-values", serde_json::json!({"7": "abc"})),
            ("tpm2-pcr-values", serde_json::json!({"24": "ab"})),
            ("tpm2-pcr-values", serde_json::json!({"7": "zz"})),
            ("type", serde_json::json!("systemd-tpm2")),
        ] {
            let mut j = json.clone();
            j[field] = bad;
            assert_eq!(parse_pcr_record(&j), None, "{field}: {j}");
        }
    }

    #[test]
    fn device_parses_and_passphrase_is_base64() {
        assert_eq!("auto".parse::<Device>().unwrap(), Device::Auto);
        assert_eq!("AUTO".parse::<Device>().unwrap().tcti(), "device:/dev/tpmrm0");
        let d: Device = "swtpm:host=127.0.0.1,port=2321".parse().unwrap();
        assert_eq!(d, Device::Tcti("swtpm:host=127.0.0.1,port=2321".into()));
        let p = luks_passphrase(&Secret::new((0u8..32).collect()));
        assert_eq!(p.expose(), b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
        assert_eq!(format!("{p:?}"), "[redacted]");
        assert_eq!(serde_json::to_value(PcrBank::Sha256).unwrap(), "sha256");
        assert_eq!(PcrBank::from_name("SHA1"), Some(PcrBank::Sha1));
    }
}
