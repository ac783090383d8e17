//! The LUKS2 `systemd-tpm2` token: its fields, and the JSON systemd reads and writes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

use super::policy::{hex, unhex};
use super::{PcrBank, TpmError};

/// The algorithm of the primary key the secret is sealed under (`tpm2-primary-alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrimaryAlg {
    Ecc,
    Rsa,
}

impl PrimaryAlg {
    pub fn name(self) -> &'static str {
        match self {
            PrimaryAlg::Ecc => "ecc",
            PrimaryAlg::Rsa => "rsa",
        }
    }
}

/// A `systemd-tpm2` token, every field systemd knows (252 to 261).
///
/// [`Tpm2Token::to_json`] writes what systemd 252's `tpm2_make_luks2_json` writes, in its order;
/// the upstream-only fields (`tpm2_salt`, `tpm2_srk`, `tpm2_pcrlock`, `tpm2_pcrlock_nv`) are written
/// only when set. [`Tpm2Token::from_json`] reads tokens of any version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tpm2Token {
    /// The LUKS2 keyslot the token unlocks (`keyslots`, written as `["N"]`).
    pub keyslot: u32,
    /// TPM2B_PRIVATE ‖ TPM2B_PUBLIC of the sealed object (`tpm2-blob`, base64).
    pub blob: Vec<u8>,
    /// Literal PCR policy (`tpm2-pcrs`).
    pub pcrs: Vec<u32>,
    /// `tpm2-pcr-bank`; absent in tokens older than systemd 250 (then picked at unseal).
    pub pcr_bank: Option<PcrBank>,
    /// `tpm2-primary-alg`; absent means ECC.
    pub primary_alg: Option<PrimaryAlg>,
    /// The policy digest the object is sealed to (`tpm2-policy-hash`, hex).
    pub policy_hash: Vec<u8>,
    /// `tpm2-pin`.
    pub pin: bool,
    /// `tpm2_pcrlock` (v255+); imprint cannot unseal pcrlock policies.
    pub pcrlock: bool,
    /// Signed-policy PCRs (`tpm2_pubkey_pcrs`), normally `[11]`.
    pub pubkey_pcrs: Vec<u32>,
    /// The signing key's PEM file bytes (`tpm2_pubkey`, base64).
    pub pubkey: Option<Vec<u8>>,
    /// PIN salt (`tpm2_salt`, v253+).
    pub salt: Option<Vec<u8>>,
    /// ESYS-serialized SRK handle (`tpm2_srk`, v254+).
    pub srk: Option<Vec<u8>>,
    /// ESYS-serialized pcrlock NV index (`tpm2_pcrlock_nv`, v256+).
    pub pcrlock_nv: Option<Vec<u8>>,
}

impl Tpm2Token {
    /// The token JSON, in systemd's field order and encodings.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), "systemd-tpm2".into());
        m.insert("keyslots".into(), Value::Array(vec![Value::String(self.keyslot.to_string())]));
        m.insert("tpm2-blob".into(), STANDARD.encode(&self.blob).into());
        m.insert("tpm2-pcrs".into(), pcr_array(&self.pcrs));
        if let Some(b) = self.pcr_bank {
            m.insert("tpm2-pcr-bank".into(), b.name().into());
        }
        if let Some(a) = self.primary_alg {
            m.insert("tpm2-primary-alg".into(), a.name().into());
        }
        m.insert("tpm2-policy-hash".into(), hex(&self.policy_hash).into());
        m.insert("tpm2-pin".into(), self.pin.into());
        if self.pcrlock {
            m.insert("tpm2_pcrlock".into(), true.into());
        }
        // as systemd's tpm2_make_luks2_json: each written when set, independently
        if !self.pubkey_pcrs.is_empty() {
            m.insert("tpm2_pubkey_pcrs".into(), pcr_array(&self.pubkey_pcrs));
        }
        if let Some(k) = &self.pubkey {
            m.insert("tpm2_pubkey".into(), STANDARD.encode(k).into());
        }
        if let Some(s) = &self.salt {
            m.insert("tpm2_salt".into(), STANDARD.encode(s).into());
        }
        if let Some(s) = &self.srk {
            m.insert("tpm2_srk".into(), STANDARD.encode(s).into());
        }
        if let Some(s) = &self.pcrlock_nv {
            m.insert("tpm2_pcrlock_nv".into(), STANDARD.encode(s).into());
        }
        Value::Object(m)
    }

    /// Reads a token as systemd's `tpm2_parse_luks2_json` does (unknown fields are ignored).
    /// `tpm2-blob` and `tpm2-policy-hash` may be strings or (v257+) arrays; arrays with more
    /// than one element (a secret sharded across a signed and a pcrlock policy) are refused.
    pub fn from_json(v: &Value) -> Result<Tpm2Token, TpmError> {
        let bad = |s: String| TpmError::Format(s);
        let o = v.as_object().ok_or_else(|| bad("token is not a JSON object".into()))?;
        match o.get("type").and_then(Value::as_str) {
            Some("systemd-tpm2") => {}
            other => return Err(bad(format!("token type is {other:?}, not \"systemd-tpm2\""))),
        }
        let keyslots = o.get("keyslots").and_then(Value::as_array).ok_or_else(|| bad("no 'keyslots' array".into()))?;
        let keyslot = match keyslots.as_slice() {
            [Value::String(s)] => s.parse::<u32>().map_err(|_| bad(format!("keyslot '{s}' is not a number")))?,
            _ => return Err(bad("'keyslots' must hold exactly one keyslot number as a string".into())),
        };
        let pcrs = parse_pcrs(o.get("tpm2-pcrs").ok_or_else(|| bad("no 'tpm2-pcrs'".into()))?, "tpm2-pcrs")?;
        let pcr_bank = match o.get("tpm2-pcr-bank") {
            None => None,
            Some(Value::String(s)) => {
                Some(PcrBank::from_name(s).ok_or_else(|| bad(format!("PCR bank '{s}' is not supported (sha1, sha256)")))?)
            }
            Some(_) => return Err(bad("'tpm2-pcr-bank' is not a string".into())),
        };
        let primary_alg = match o.get("tpm2-primary-alg") {
            None => None,
            Some(Value::String(s)) => Some(match s.to_ascii_lowercase().as_str() {
                "ecc" => PrimaryAlg::Ecc,
                "rsa" => PrimaryAlg::Rsa,
                _ => return Err(bad(format!("primary key algorithm '{s}' is not supported"))),
            }),
            Some(_) => return Err(bad("'tpm2-primary-alg' is not a string".into())),
        };
        let blob = single(o.get("tpm2-blob"), "tpm2-blob")?;
        let blob = STANDARD.decode(blob).map_err(|e| bad(format!("'tpm2-blob' is not base64: {e}")))?;
        let policy = single(o.get("tpm2-policy-hash"), "tpm2-policy-hash")?;
        let policy_hash = unhex(policy).ok_or_else(|| bad("'tpm2-policy-hash' is not hex".into()))?;
        let flag = |key: &str| match o.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(format!("'{key}' is not a boolean"))),
        };
        let pin = flag("tpm2-pin")?;
        let pcrlock = flag("tpm2_pcrlock")?;
        let b64 = |key: &str| -> Result<Option<Vec<u8>>, TpmError> {
            match o.get(key) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(STANDARD.decode(s).map_err(|e| bad(format!("'{key}' is not base64: {e}")))?)),
                Some(_) => Err(bad(format!("'{key}' is not a string"))),
            }
        };
        let pubkey_pcrs = match o.get("tpm2_pubkey_pcrs") {
            None => Vec::new(),
            Some(p) => parse_pcrs(p, "tpm2_pubkey_pcrs")?,
        };
        let pubkey = b64("tpm2_pubkey")?;
        if !pubkey_pcrs.is_empty() && pubkey.is_none() {
            return Err(bad("'tpm2_pubkey_pcrs' set but no 'tpm2_pubkey'".into()));
        }
        Ok(Tpm2Token {
            keyslot,
            blob,
            pcrs,
            pcr_bank,
            primary_alg,
            policy_hash,
            pin,
            pcrlock,
            pubkey_pcrs,
            pubkey,
            salt: b64("tpm2_salt")?,
            srk: b64("tpm2_srk")?,
            pcrlock_nv: b64("tpm2_pcrlock_nv")?,
        })
    }
}

fn pcr_array(pcrs: &[u32]) -> Value {
    Value::Array(pcrs.iter().map(|p| Value::from(*p)).collect())
}

fn parse_pcrs(v: &Value, key: &str) -> Result<Vec<u32>, TpmError> {
    let a = v.as_array().ok_or_else(|| TpmError::Format(format!("'{key}' is not an array")))?;
    let mut out = Vec::new();
    for x in a {
        match x.as_u64() {
            Some(n) if n < 24 => out.push(n as u32),
            _ => return Err(TpmError::Format(format!("'{key}' holds {x}, not a PCR number 0…23"))),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn single<'a>(v: Option<&'a Value>, key: &str) -> Result<&'a str, TpmError> {
    match v {
        Some(Value::String(s)) => Ok(s),
        Some(Value::Array(a)) => match a.as_slice() {
            [Value::String(s)] => Ok(s),
            [] => Err(TpmError::Format(format!("'{key}' is an empty array"))),
            [_] => Err(TpmError::Format(format!("'{key}' is not a string"))),
            _ => Err(TpmError::Format(format!(
                "'{key}' holds {} shards (a pcrlock + signed-policy enrollment, systemd 257+); imprint cannot unseal those",
                a.len()
            ))),
        },
        Some(_) => Err(TpmError::Format(format!("'{key}' is not a string"))),
        None => Err(TpmError::Format(format!("no '{key}'"))),
    }
}

/// Splits a blob into the TPM2B_PRIVATE contents and the TPMT_PUBLIC inside the TPM2B_PUBLIC.
/// Trailing bytes (a TPM2B_ENCRYPTED_SECRET of an offline seal) are refused.
pub(crate) fn split_blob(blob: &[u8]) -> Result<(&[u8], &[u8]), TpmError> {
    fn take(b: &[u8]) -> Option<(&[u8], &[u8])> {
        let n = usize::from(u16::from_be_bytes([*b.first()?, *b.get(1)?]));
        let rest = &b[2..];
        (rest.len() >= n).then(|| rest.split_at(n))
    }
    let bad = || TpmError::Format("'tpm2-blob' is not TPM2B_PRIVATE ‖ TPM2B_PUBLIC".into());
    let (private, rest) = take(blob).ok_or_else(bad)?;
    let (public, rest) = take(rest).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(TpmError::Format(
            "'tpm2-blob' carries an encrypted seed (an offline seal with --tpm2-device-key); imprint cannot import those".into(),
        ));
    }
    Ok((private, public))
}

/// TPM2B_PRIVATE ‖ TPM2B_PUBLIC.
pub(crate) fn join_blob(private: &[u8], tpmt_public: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + private.len() + tpmt_public.len());
    v.extend_from_slice(&(private.len() as u16).to_be_bytes());
    v.extend_from_slice(private);
    v.extend_from_slice(&(tpmt_public.len() as u16).to_be_bytes());
    v.extend_from_slice(tpmt_public);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A token systemd-cryptenroll 252 wrote (swtpm, `--tpm2-pcrs=7`).
    fn systemd_252() -> Value {
        serde_json::json!({
            "type": "systemd-tpm2",
            "keyslots": ["1"],
            "tpm2-blob": "AJ4AIDuzcefNWDmmnrjk7EjBLfYXp7xYrs9jhC7vyn7jHJL1ABCOu/hmxNuHTfrMyvxX47a63rjS2HtHfiqO4QkKhVjNGUpcfp9JTJJv1bk2Zg4AKX6PcBS0f+p9n5Vp9bt1nLbgnF84C3AazqYojjT8If2Sd29sR/zhlMSFoRtFyL/+bCjP3DylvUyVcQpeFKmdKTTQcboAWbM7TKXeVABOAAgACwAAABIAIEm+S4sYNrd21A+eNQdJgLDXlwXAPAK+bzSqZKoV2wi+ABAAIONMn2Pv3T7lHoqnQcP11tl7PlLvX13acq8k2ywbbVXJ",
            "tpm2-pcrs": [7],
            "tpm2-pcr-bank": "sha256",
            "tpm2-primary-alg": "ecc",
            "tpm2-policy-hash": "49be4b8b1836b776d40f9e35074980b0d79705c03c02be6f34aa64aa15db08be",
            "tpm2-pin": false
        })
    }

    /// Found by fuzzing (fuzz/artifacts tpm2_token): a token with `tpm2_pubkey` but no
    /// `tpm2_pubkey_pcrs` lost its key when written back.
    #[test]
    fn a_public_key_without_its_pcrs_survives_a_rewrite() {
        let mut v = systemd_252();
        v["tpm2_pubkey"] = "LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0K".into();
        let t = Tpm2Token::from_json(&v).unwrap();
        assert!(t.pubkey.is_some() && t.pubkey_pcrs.is_empty());
        assert_eq!(Tpm2Token::from_json(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn systemd_252_token_round_trips_byte_for_byte() {
        let v = systemd_252();
        let t = Tpm2Token::from_json(&v).unwrap();
        assert_eq!(t.keyslot, 1);
        assert_eq!(t.pcrs, vec![7]);
        assert_eq!(t.pcr_bank, Some(PcrBank::Sha256));
        assert_eq!(t.primary_alg, Some(PrimaryAlg::Ecc));
        assert!(!t.pin && t.salt.is_none() && t.srk.is_none());
        let (private, public) = split_blob(&t.blob).unwrap();
        assert_eq!(private.len(), 158);
        assert_eq!(public.len(), 78);
        assert_eq!(join_blob(private, public), t.blob);
        // Same keys, same order, same text.
        assert_eq!(serde_json::to_string(&t.to_json()).unwrap(), serde_json::to_string(&v).unwrap());
    }

    #[test]
    fn upstream_forms_are_read() {
        let mut v = systemd_252();
        let o = v.as_object_mut().unwrap();
        let blob = o["tpm2-blob"].clone();
        let pol = o["tpm2-policy-hash"].clone();
        o.insert("tpm2-blob".into(), Value::Array(vec![blob]));
        o.insert("tpm2-policy-hash".into(), Value::Array(vec![pol]));
        o.remove("tpm2-pin");
        o.remove("tpm2-pcr-bank");
        o.remove("tpm2-primary-alg");
        o.insert("tpm2_salt".into(), STANDARD.encode([1u8; 32]).into());
        o.insert("tpm2_srk".into(), STANDARD.encode([2u8; 8]).into());
        o.insert("some_future_field".into(), 1.into());
        let t = Tpm2Token::from_json(&v).unwrap();
        assert!(!t.pin);
        assert_eq!(t.pcr_bank, None);
        assert_eq!(t.primary_alg, None);
        assert_eq!(t.salt, Some(vec![1; 32]));
        assert_eq!(t.srk, Some(vec![2; 8]));
        let keys: Vec<String> = t.to_json().as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["type", "keyslots", "tpm2-blob", "tpm2-pcrs", "tpm2-policy-hash", "tpm2-pin", "tpm2_salt", "tpm2_srk"]);

        let o = v.as_object_mut().unwrap();
        o.insert("tpm2-blob".into(), serde_json::json!(["AA==", "AA=="]));
        assert!(matches!(Tpm2Token::from_json(&v), Err(TpmError::Format(m)) if m.contains("shards")));
        let o = v.as_object_mut().unwrap();
        o.insert("tpm2-blob".into(), "AA==".into());
        o.insert("keyslots".into(), serde_json::json!([1]));
        assert!(Tpm2Token::from_json(&v).is_err());
    }

    #[test]
    fn signed_policy_fields_follow_the_pin_flag() {
        let mut t = Tpm2Token::from_json(&systemd_252()).unwrap();
        t.pubkey_pcrs = vec![11];
        t.pubkey = Some(b"-----BEGIN PUBLIC KEY-----\n".to_vec());
        t.pin = true;
        let j = t.to_json();
        let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "type",
                "keyslots",
                "tpm2-blob",
                "tpm2-pcrs",
                "tpm2-pcr-bank",
                "tpm2-primary-alg",
                "tpm2-policy-hash",
                "tpm2-pin",
                "tpm2_pubkey_pcrs",
                "tpm2_pubkey"
            ]
        );
        assert_eq!(Tpm2Token::from_json(&j).unwrap(), t);
    }
}
