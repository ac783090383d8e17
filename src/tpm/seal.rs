//! Talking to the TPM: open it, seal, unseal. Everything that needs a TPM lives here and in
//! [`super::status`].

use std::convert::TryFrom;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use tss_esapi::Context;
use tss_esapi::attributes::{ObjectAttributesBuilder, SessionAttributesBuilder};
use tss_esapi::constants::{CapabilityType, SessionType, Tss2ResponseCodeKind};
use tss_esapi::handles::{KeyHandle, ObjectHandle, PersistentTpmHandle, SessionHandle, TpmHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::dynamic_handles::Persistent;
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::{Hierarchy, Provision};
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Auth, CapabilityData, Digest, EccPoint, KeyedHashScheme, Nonce, PcrSelectionListBuilder, PcrSlot, Public, PublicBuilder,
    PublicEccParametersBuilder, PublicKeyRsa, PublicKeyedHashParameters, PublicRsaParametersBuilder, RsaExponent, RsaSignature,
    SensitiveData, Signature, SymmetricDefinition, SymmetricDefinitionObject,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::{Marshall, UnMarshall};

use super::policy::{self, RsaPublicKey, normalize_pcrs, object_name, pin_auth, sealing_policy};
use super::token::{PrimaryAlg, Tpm2Token, join_blob, split_blob};
use super::{Device, PcrBank, SealRequest, TpmError};
use crate::secret::Secret;

/// The persistent handle systemd (v254+) keeps its SRK at.
const SRK_HANDLE: u32 = 0x8100_0001;
/// How often to retry an unseal when the TPM reports that a PCR changed mid-session.
const PCR_CHANGED_RETRIES: u32 = 5;

/// How a seal is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealFormat {
    /// What both systemd 252 and current upstream unseal: a transient primary from the legacy
    /// template, no `tpm2_srk`; a PIN hashed without salt. [`seal`] uses this.
    Compatible,
    /// What systemd v254+ cryptenroll writes: the persistent SRK at 0x81000001 (created and
    /// persisted if missing, with the TCG template and noDA), recorded in `tpm2_srk`; a PIN salted
    /// (`tpm2_salt`). systemd 252 cannot unseal this; it exists to read and test upstream tokens.
    UpstreamSrk,
}

/// Seals 32 random bytes to `req` in the [`SealFormat::Compatible`] form. The token's `keyslot`
/// is 0: the caller sets it once the keyslot exists.
pub fn seal(dev: &Device, req: &SealRequest) -> Result<(Secret, Tpm2Token), TpmError> {
    seal_in_format(dev, req, SealFormat::Compatible)
}

/// [`seal`] with the choice of format.
pub fn seal_in_format(dev: &Device, req: &SealRequest, format: SealFormat) -> Result<(Secret, Tpm2Token), TpmError> {
    seal_recording_in(dev, req, format).map(|(secret, token, _)| (secret, token))
}

/// [`seal`], also returning the literal PCR values the key is sealed to (for
/// [`super::pcr_record`]).
pub fn seal_recording(dev: &Device, req: &SealRequest) -> Result<Sealed, TpmError> {
    seal_recording_in(dev, req, SealFormat::Compatible)
}

/// A sealed secret, its token, and the literal PCR values it is sealed to.
pub type Sealed = (Secret, Tpm2Token, Vec<(u32, Vec<u8>)>);

fn seal_recording_in(dev: &Device, req: &SealRequest, format: SealFormat) -> Result<Sealed, TpmError> {
    let pcrs = normalize_pcrs(&req.pcrs)?;
    let key = req.public_key_pem.as_deref().map(RsaPublicKey::from_pem).transpose()?;
    let pubkey_pcrs = match &key {
        Some(_) if req.public_key_pcrs.is_empty() => vec![11],
        Some(_) => normalize_pcrs(&req.public_key_pcrs)?,
        None => Vec::new(),
    };
    let salt = match (&req.pin, format) {
        (Some(_), SealFormat::UpstreamSrk) => Some(random(32)?),
        _ => None,
    };
    let auth = req.pin.as_ref().map(|p| pin_auth(p, salt.as_ref().map(|s| s.expose())));

    let mut tpm = Tpm::open(dev)?;
    tpm.require_bank(req.bank)?;
    let mut values = tpm.read_pcrs(req.bank, &pcrs)?;
    for (pcr, value) in &req.predicted {
        let Some(i) = pcrs.iter().position(|p| p == pcr) else { continue };
        if value.len() != values[i].len() {
            return Err(TpmError::Format(format!("a predicted PCR {pcr} value of {} bytes for the {} bank", value.len(), req.bank)));
        }
        values[i].clone_from(value);
    }
    let name = key.as_ref().map(|k| object_name(&k.tpmt_public(k.e)));
    let policy = sealing_policy(name.as_deref(), req.bank, &pcrs, &values, auth.is_some());

    let (primary, alg, srk) = match format {
        SealFormat::Compatible => {
            let (h, alg) = tpm.legacy_primary(None)?;
            (h, alg, None)
        }
        SealFormat::UpstreamSrk => tpm.srk()?,
    };
    let secret = random(32)?;
    let (private, public) = tpm.create_sealed(primary, &policy, auth.as_ref(), &secret)?;
    if srk.is_none() {
        tpm.flush(primary.into());
    }
    drop(tpm);

    let token = Tpm2Token {
        keyslot: 0,
        blob: join_blob(&private, &public),
        pcrs,
        pcr_bank: Some(req.bank),
        primary_alg: Some(alg),
        policy_hash: policy.to_vec(),
        pin: req.pin.is_some(),
        pcrlock: false,
        pubkey_pcrs,
        pubkey: req.public_key_pem.clone().filter(|_| key.is_some()),
        salt: salt.map(|s| s.expose().to_vec()),
        srk,
        pcrlock_nv: None,
    };
    let sealed = token.pcrs.iter().copied().zip(values).collect();
    Ok((secret, token, sealed))
}

/// The values of `pcrs` in `bank`, as the TPM holds them now.
pub fn pcr_values(dev: &Device, bank: PcrBank, pcrs: &[u32]) -> Result<Vec<Vec<u8>>, TpmError> {
    let mut tpm = Tpm::open(dev)?;
    tpm.require_bank(bank)?;
    tpm.read_pcrs(bank, pcrs)
}

/// Whether `token`'s policy is the one the PCR values of now give — what decides whether the TPM
/// unseals it — found without unsealing (no PIN, nothing counted against dictionary attacks):
/// the policy digest is recomputed from the current PCR values and compared with the token's
/// `tpm2-policy-hash`. For a signed policy only the literal PCRs are judged this way (the
/// signed ones pass when a signature for their values exists).
pub fn token_matches_now(dev: &Device, token: &Tpm2Token) -> Result<bool, TpmError> {
    let bank = token.pcr_bank.unwrap_or(PcrBank::Sha256);
    let pcrs = normalize_pcrs(&token.pcrs)?;
    let mut tpm = Tpm::open(dev)?;
    tpm.require_bank(bank)?;
    let values = tpm.read_pcrs(bank, &pcrs)?;
    drop(tpm);
    let names: Vec<Option<Vec<u8>>> = match &token.pubkey {
        Some(pem) => {
            let k = RsaPublicKey::from_pem(pem)?;
            k.exponent_variants().into_iter().map(|e| Some(object_name(&k.tpmt_public(e)))).collect()
        }
        None => vec![None],
    };
    Ok(names.iter().any(|n| sealing_policy(n.as_deref(), bank, &pcrs, &values, token.pin).as_slice() == token.policy_hash.as_slice()))
}

/// Unseals a token's secret. `pin` is needed when `token.pin`; `pcr_signature_json` is the
/// `tpm2-pcr-signature.json` (a UKI's `.pcrsig`) for signed policies — when `None`, the places
/// systemd looks (`/etc/systemd/`, `/run/systemd/`, `/usr/local/lib/systemd/`,
/// `/usr/lib/systemd/`) are searched.
pub fn unseal(dev: &Device, token: &Tpm2Token, pin: Option<&Secret>, pcr_signature_json: Option<&Path>) -> Result<Secret, TpmError> {
    unseal_with(dev, token, pin, || load_signatures(pcr_signature_json))
}

/// [`unseal`] with the PCR signatures given as the JSON text itself (a UKI's `.pcrsig`, read
/// into memory).
pub fn unseal_with_signatures(dev: &Device, token: &Tpm2Token, pin: Option<&Secret>, json: &[u8]) -> Result<Secret, TpmError> {
    unseal_with(dev, token, pin, || parse_signatures(json, "the UKI's .pcrsig section"))
}

fn unseal_with(
    dev: &Device,
    token: &Tpm2Token,
    pin: Option<&Secret>,
    signatures: impl FnOnce() -> Result<serde_json::Value, TpmError>,
) -> Result<Secret, TpmError> {
    if token.pcrlock || token.pcrlock_nv.is_some() {
        return Err(TpmError::Format("the token uses a pcrlock policy (systemd-pcrlock); imprint cannot unseal those".into()));
    }
    if token.pin && pin.is_none() {
        return Err(TpmError::PinRequired);
    }
    let (private, public) = split_blob(&token.blob)?;
    let pcrs = normalize_pcrs(&token.pcrs)?;
    let pubkey_pcrs = normalize_pcrs(&token.pubkey_pcrs)?;
    let key = match (&token.pubkey, pubkey_pcrs.is_empty()) {
        (Some(pem), false) => Some(RsaPublicKey::from_pem(pem)?),
        _ => None,
    };
    let signatures = match &key {
        Some(_) => Some(signatures()?),
        None => None,
    };
    let auth = match (token.pin, pin) {
        (true, Some(p)) => Some(pin_auth(p, token.salt.as_deref())),
        _ => None,
    };

    let mut tpm = Tpm::open(dev)?;
    let bank = match token.pcr_bank {
        Some(b) => {
            tpm.require_bank(b)?;
            b
        }
        None => tpm.best_bank(&pcrs, &pubkey_pcrs)?,
    };

    // Which exponent the signing key's name was sealed with (see `RsaPublicKey::tpmt_public`):
    // the one whose offline policy matches the token; the literal exponent otherwise.
    let key_public = match &key {
        Some(k) => {
            let values = tpm.read_pcrs(bank, &pcrs)?;
            let variants = k.exponent_variants();
            let chosen = variants
                .iter()
                .copied()
                .find(|e| {
                    let name = object_name(&k.tpmt_public(*e));
                    sealing_policy(Some(&name), bank, &pcrs, &values, token.pin)[..] == token.policy_hash[..]
                })
                .unwrap_or(variants[0]);
            Some(k.tpmt_public(chosen))
        }
        None => None,
    };

    let (primary, temporary_primary) = match &token.srk {
        Some(serialized) => (tpm.deserialize_persistent(serialized)?, false),
        None => (tpm.legacy_primary(Some(token.primary_alg.unwrap_or(PrimaryAlg::Ecc)))?.0, true),
    };
    let sealed = tpm.load(primary, private, public)?;
    if let Some(a) = &auth {
        let auth = Auth::try_from(a.expose().to_vec()).map_err(|e| TpmError::Tss(format!("PIN auth value: {e}")))?;
        tpm.ctx.tr_set_auth(sealed.into(), auth).map_err(|e| tss("setting the PIN", e))?;
    }
    let signed = match (&key, &key_public, &signatures) {
        (Some(k), Some(tpmt), Some(json)) => {
            let public = Public::unmarshall(tpmt).map_err(|e| TpmError::Format(format!("signing key: {e}")))?;
            let handle = tpm.load_external(public)?;
            let name = tpm.ctx.tr_get_name(handle.into()).map_err(|e| tss("reading the signing key's name", e))?;
            if name.value() != object_name(tpmt) {
                return Err(TpmError::Tss("the TPM computed another name for the signing key".into()));
            }
            Some(Signed { handle, name, fingerprint: k.fingerprint(), pcrs: pubkey_pcrs.clone(), json })
        }
        _ => None,
    };

    let mut attempt = 0;
    let secret = loop {
        attempt += 1;
        match tpm.unseal_once(primary, sealed, bank, &pcrs, signed.as_ref(), token.pin, &token.policy_hash) {
            Ok(Some(s)) => break Ok(s),
            Ok(None) if attempt < PCR_CHANGED_RETRIES => continue,
            Ok(None) => break Err(TpmError::Tss("the PCRs kept changing while unsealing".into())),
            Err(e) => break Err(e),
        }
    };
    if let Some(s) = signed {
        tpm.flush(s.handle.into());
    }
    tpm.flush(sealed.into());
    if temporary_primary {
        tpm.flush(primary.into());
    }
    secret
}

fn random(n: usize) -> Result<Secret, TpmError> {
    Secret::random(n).map_err(|e| TpmError::Tss(format!("no random bytes: {e}")))
}

fn load_signatures(path: Option<&Path>) -> Result<serde_json::Value, TpmError> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => ["/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"]
            .iter()
            .map(|d| PathBuf::from(d).join("tpm2-pcr-signature.json"))
            .find(|p| p.exists())
            .ok_or_else(|| {
                TpmError::Format(
                    "the token uses a signed PCR policy, and no PCR signature file (tpm2-pcr-signature.json, a UKI's .pcrsig) was given or found"
                        .into(),
                )
            })?,
    };
    let text = std::fs::read(&path).map_err(|e| TpmError::Format(format!("reading {}: {e}", path.display())))?;
    parse_signatures(&text, &path.display().to_string())
}

fn parse_signatures(text: &[u8], what: &str) -> Result<serde_json::Value, TpmError> {
    let end = text.iter().rposition(|b| *b != 0 && !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    serde_json::from_slice(&text[..end]).map_err(|e| TpmError::Format(format!("{what}: not JSON: {e}")))
}

/// A loaded signing key and what a signed PCR policy needs from it.
struct Signed<'a> {
    handle: KeyHandle,
    name: tss_esapi::structures::Name,
    fingerprint: [u8; 32],
    pcrs: Vec<u32>,
    json: &'a serde_json::Value,
}

/// Maps a tss-esapi error; the TPM's lockout answer becomes [`TpmError::Lockout`].
pub(crate) fn tss(what: &str, e: tss_esapi::Error) -> TpmError {
    match kind(&e) {
        Some(Tss2ResponseCodeKind::Lockout) => TpmError::Lockout,
        _ => TpmError::Tss(format!("{what}: {e}")),
    }
}

fn kind(e: &tss_esapi::Error) -> Option<Tss2ResponseCodeKind> {
    match e {
        tss_esapi::Error::Tss2Error(rc) => rc.kind(),
        _ => None,
    }
}

pub(crate) fn hash_alg(bank: PcrBank) -> HashingAlgorithm {
    match bank {
        PcrBank::Sha1 => HashingAlgorithm::Sha1,
        PcrBank::Sha256 => HashingAlgorithm::Sha256,
    }
}

fn slots(pcrs: &[u32]) -> Vec<PcrSlot> {
    pcrs.iter().filter_map(|p| PcrSlot::try_from(1u32 << p).ok()).collect()
}

/// An open TPM. Every handle it creates is recorded and flushed when it drops, so error paths
/// leave nothing loaded (tss-esapi's `Context` drop would flush them too).
pub(crate) struct Tpm {
    pub(crate) ctx: Context,
    loaded: Vec<ObjectHandle>,
}

impl Drop for Tpm {
    fn drop(&mut self) {
        while let Some(h) = self.loaded.pop() {
            let _ = self.ctx.flush_context(h);
        }
    }
}

impl Tpm {
    pub(crate) fn open(dev: &Device) -> Result<Tpm, TpmError> {
        let absent = |reason: String| TpmError::Absent { device: dev.to_string(), reason };
        if *dev == Device::Auto && !Path::new("/dev/tpmrm0").exists() {
            return Err(absent("the device node does not exist".into()));
        }
        let conf = TctiNameConf::from_str(&dev.tcti()).map_err(|e| absent(format!("invalid TCTI: {e}")))?;
        let ctx = Context::new(conf).map_err(|e| absent(format!("cannot connect: {e}")))?;
        Ok(Tpm { ctx, loaded: Vec::new() })
    }

    fn track(&mut self, h: ObjectHandle) {
        self.loaded.push(h);
    }

    pub(crate) fn flush(&mut self, h: ObjectHandle) {
        if let Some(i) = self.loaded.iter().position(|x| *x == h) {
            self.loaded.remove(i);
            let _ = self.ctx.flush_context(h);
        }
    }

    /// The PCR banks the TPM has active, with whether all 24 PCRs are allocated in each.
    pub(crate) fn banks(&mut self) -> Result<Vec<(PcrBank, bool)>, TpmError> {
        let (data, _) = self.ctx.get_capability(CapabilityType::AssignedPcr, 0, 8).map_err(|e| tss("reading the PCR banks", e))?;
        let CapabilityData::AssignedPcr(list) = data else {
            return Err(TpmError::Tss("unexpected answer to the PCR bank query".into()));
        };
        Ok(list
            .get_selections()
            .iter()
            .filter_map(|s| {
                let bank = match s.hashing_algorithm() {
                    HashingAlgorithm::Sha1 => PcrBank::Sha1,
                    HashingAlgorithm::Sha256 => PcrBank::Sha256,
                    _ => return None,
                };
                let n = s.selected().iter().filter(|p| u32::from(**p) < (1 << 24)).count();
                (n > 0).then_some((bank, n == 24))
            })
            .collect())
    }

    pub(crate) fn require_bank(&mut self, bank: PcrBank) -> Result<(), TpmError> {
        match self.banks()?.iter().any(|(b, full)| *b == bank && *full) {
            true => Ok(()),
            false => Err(TpmError::NoBank(bank)),
        }
    }

    /// systemd's `tpm2_get_best_pcr_bank` for tokens without `tpm2-pcr-bank`: SHA-256 if its
    /// PCRs hold measurements, else SHA-1 if its do, else SHA-256, else SHA-1.
    fn best_bank(&mut self, pcrs: &[u32], pubkey_pcrs: &[u32]) -> Result<PcrBank, TpmError> {
        let mut all: Vec<u32> = pcrs.iter().chain(pubkey_pcrs).copied().collect();
        all.sort_unstable();
        all.dedup();
        let banks: Vec<PcrBank> = self.banks()?.into_iter().filter(|(_, full)| *full).map(|(b, _)| b).collect();
        if all.is_empty() {
            return Ok(PcrBank::Sha256);
        }
        for b in [PcrBank::Sha256, PcrBank::Sha1] {
            if banks.contains(&b) && self.read_pcrs(b, &all)?.iter().any(|v| is_measured(v)) {
                return Ok(b);
            }
        }
        banks.iter().copied().find(|b| *b == PcrBank::Sha256).or(banks.first().copied()).ok_or(TpmError::NoBank(PcrBank::Sha256))
    }

    /// The values of `pcrs` (sorted) in `bank`.
    pub(crate) fn read_pcrs(&mut self, bank: PcrBank, pcrs: &[u32]) -> Result<Vec<Vec<u8>>, TpmError> {
        let mut out = Vec::with_capacity(pcrs.len());
        for slot in slots(pcrs) {
            let sel = PcrSelectionListBuilder::new()
                .with_selection(hash_alg(bank), &[slot])
                .build()
                .map_err(|e| tss("building a PCR selection", e))?;
            let (_, _, digests) = self.ctx.pcr_read(sel).map_err(|e| tss("reading PCRs", e))?;
            match digests.value().first() {
                Some(d) if d.len() == bank.digest_len() => out.push(d.value().to_vec()),
                _ => return Err(TpmError::NoBank(bank)),
            }
        }
        Ok(out)
    }

    /// A transient primary from systemd's legacy template (`tpm2_make_primary` in v252):
    /// ECC P-256, or RSA-2048 when `alg` says so or the TPM cannot do ECC.
    fn legacy_primary(&mut self, alg: Option<PrimaryAlg>) -> Result<(KeyHandle, PrimaryAlg), TpmError> {
        let try_ecc = alg != Some(PrimaryAlg::Rsa);
        if try_ecc {
            match self.create_primary(primary_template(PrimaryAlg::Ecc, false)?) {
                Ok(h) => return Ok((h, PrimaryAlg::Ecc)),
                Err(e) if alg == Some(PrimaryAlg::Ecc) => return Err(e),
                Err(_) => {}
            }
        }
        Ok((self.create_primary(primary_template(PrimaryAlg::Rsa, false)?)?, PrimaryAlg::Rsa))
    }

    fn create_primary(&mut self, public: Public) -> Result<KeyHandle, TpmError> {
        let r = self
            .ctx
            .execute_with_nullauth_session(|c| c.create_primary(Hierarchy::Owner, public, None, None, None, None))
            .map_err(|e| tss("creating the primary key", e))?;
        self.track(r.key_handle.into());
        Ok(r.key_handle)
    }

    /// The persistent SRK at 0x81000001, created (TCG template with noDA) and persisted if
    /// missing; also its ESYS serialization for `tpm2_srk`.
    fn srk(&mut self) -> Result<(KeyHandle, PrimaryAlg, Option<Vec<u8>>), TpmError> {
        let (data, _) = self.ctx.get_capability(CapabilityType::Handles, SRK_HANDLE, 1).map_err(|e| tss("listing handles", e))?;
        let present = matches!(&data, CapabilityData::Handles(l) if l.iter().any(|h| u32::from(*h) == SRK_HANDLE));
        let handle = if !present {
            let transient = match self.create_primary(primary_template(PrimaryAlg::Ecc, true)?) {
                Ok(h) => h,
                Err(_) => self.create_primary(primary_template(PrimaryAlg::Rsa, true)?)?,
            };
            let persistent = PersistentTpmHandle::new(SRK_HANDLE).map_err(|e| tss("SRK handle", e))?;
            let r = self
                .ctx
                .execute_with_nullauth_session(|c| c.evict_control(Provision::Owner, transient.into(), Persistent::Persistent(persistent)));
            self.flush(transient.into());
            KeyHandle::from(r.map_err(|e| tss("persisting the SRK", e))?)
        } else {
            self.persistent(SRK_HANDLE)?
        };
        let (public, name, _) = self.ctx.read_public(handle).map_err(|e| tss("reading the SRK", e))?;
        let alg = match public {
            Public::Rsa { .. } => PrimaryAlg::Rsa,
            _ => PrimaryAlg::Ecc,
        };
        let tpmt = public.marshall().map_err(|e| tss("marshalling the SRK", e))?;
        // Esys_TR_Serialize's format (systemd's `tpm2_calculate_serialize`):
        // TPM2_HANDLE ‖ TPM2B_NAME ‖ UINT32 IESYSC_KEY_RSRC (1) ‖ TPM2B_PUBLIC.
        let mut ser = SRK_HANDLE.to_be_bytes().to_vec();
        ser.extend_from_slice(&(name.value().len() as u16).to_be_bytes());
        ser.extend_from_slice(name.value());
        ser.extend_from_slice(&1u32.to_be_bytes());
        ser.extend_from_slice(&(tpmt.len() as u16).to_be_bytes());
        ser.extend_from_slice(&tpmt);
        Ok((handle, alg, Some(ser)))
    }

    fn persistent(&mut self, handle: u32) -> Result<KeyHandle, TpmError> {
        let h = PersistentTpmHandle::new(handle).map_err(|e| tss("persistent handle", e))?;
        let obj = self.ctx.tr_from_tpm_public(TpmHandle::Persistent(h)).map_err(|e| tss(&format!("opening handle {handle:#x}"), e))?;
        Ok(obj.into())
    }

    /// The parent a `tpm2_srk` token names: its handle, checked against the name recorded.
    fn deserialize_persistent(&mut self, serialized: &[u8]) -> Result<KeyHandle, TpmError> {
        let bad = || TpmError::Format("'tpm2_srk' is not a serialized ESYS handle".into());
        let handle = u32::from_be_bytes(serialized.get(..4).ok_or_else(bad)?.try_into().map_err(|_| bad())?);
        let name_len = usize::from(u16::from_be_bytes(serialized.get(4..6).ok_or_else(bad)?.try_into().map_err(|_| bad())?));
        let recorded = serialized.get(6..6 + name_len).ok_or_else(bad)?;
        if handle >> 24 != 0x81 {
            return Err(TpmError::Format(format!("'tpm2_srk' names handle {handle:#x}, not a persistent key")));
        }
        let key = self.persistent(handle)?;
        let name = self.ctx.tr_get_name(key.into()).map_err(|e| tss("reading the SRK's name", e))?;
        if name.value() != recorded {
            return Err(TpmError::Tss(format!("the key at {handle:#x} is not the one the secret was sealed under (the TPM was cleared?)")));
        }
        Ok(key)
    }

    fn salted_session(&mut self, primary: KeyHandle, kind: SessionType, decrypt: bool) -> Result<AuthSession, TpmError> {
        let s = self
            .ctx
            .start_auth_session(Some(primary), None, None, kind, SymmetricDefinition::AES_128_CFB, HashingAlgorithm::Sha256)
            .map_err(|e| tss("starting a session", e))?
            .ok_or_else(|| TpmError::Tss("the TPM returned no session".into()))?;
        self.track(SessionHandle::from(s).into());
        let (attrs, mask) = SessionAttributesBuilder::new().with_decrypt(decrypt).with_encrypt(true).with_continue_session(true).build();
        self.ctx.tr_sess_set_attributes(s, attrs, mask).map_err(|e| tss("configuring a session", e))?;
        Ok(s)
    }

    /// Creates the sealed object under `primary`; returns TPM2B_PRIVATE's contents and the
    /// marshalled TPMT_PUBLIC.
    fn create_sealed(
        &mut self,
        primary: KeyHandle,
        policy: &[u8; 32],
        auth: Option<&Secret>,
        secret: &Secret,
    ) -> Result<(Vec<u8>, Vec<u8>), TpmError> {
        let attrs = ObjectAttributesBuilder::new()
            .with_fixed_tpm(true)
            .with_fixed_parent(true)
            .build()
            .map_err(|e| tss("sealed object attributes", e))?;
        let public = PublicBuilder::new()
            .with_public_algorithm(PublicAlgorithm::KeyedHash)
            .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
            .with_object_attributes(attrs)
            .with_auth_policy(Digest::try_from(policy.to_vec()).map_err(|e| tss("policy digest", e))?)
            .with_keyed_hash_parameters(PublicKeyedHashParameters::new(KeyedHashScheme::Null))
            .with_keyed_hash_unique_identifier(Digest::try_from(vec![0u8; 32]).map_err(|e| tss("unique", e))?)
            .build()
            .map_err(|e| tss("sealed object template", e))?;
        let data = SensitiveData::try_from(secret.expose().to_vec()).map_err(|e| tss("sealed data", e))?;
        let auth = auth.map(|a| Auth::try_from(a.expose().to_vec())).transpose().map_err(|e| tss("PIN auth value", e))?;
        let session = self.salted_session(primary, SessionType::Hmac, true)?;
        let r = self.ctx.execute_with_session(Some(session), |c| c.create(primary, public, auth, Some(data), None, None));
        self.flush(SessionHandle::from(session).into());
        let r = r.map_err(|e| tss("sealing", e))?;
        let public = r.out_public.marshall().map_err(|e| tss("marshalling the sealed object", e))?;
        Ok((r.out_private.value().to_vec(), public))
    }

    fn load(&mut self, parent: KeyHandle, private: &[u8], tpmt_public: &[u8]) -> Result<KeyHandle, TpmError> {
        let private = tss_esapi::structures::Private::try_from(private.to_vec())
            .map_err(|e| TpmError::Format(format!("sealed private part: {e}")))?;
        let public = Public::unmarshall(tpmt_public).map_err(|e| TpmError::Format(format!("sealed public part: {e}")))?;
        let h = self.ctx.execute_with_nullauth_session(|c| c.load(parent, private, public)).map_err(|e| match kind(&e) {
            Some(Tss2ResponseCodeKind::Lockout) => TpmError::Lockout,
            Some(Tss2ResponseCodeKind::Integrity) | Some(Tss2ResponseCodeKind::Value) => {
                TpmError::Tss(format!("the sealed key does not belong to this TPM (another machine, or the TPM was cleared): {e}"))
            }
            _ => tss("loading the sealed key", e),
        })?;
        self.track(h.into());
        Ok(h)
    }

    fn load_external(&mut self, public: Public) -> Result<KeyHandle, TpmError> {
        let h = self.ctx.load_external_public(public, Hierarchy::Owner).map_err(|e| tss("loading the signing key", e))?;
        self.track(h.into());
        Ok(h)
    }

    /// One policy session: build the policy, compare it with the token's, unseal. `None` when a
    /// PCR changed during the session (try again, as systemd does).
    #[allow(clippy::too_many_arguments)]
    fn unseal_once(
        &mut self,
        primary: KeyHandle,
        sealed: KeyHandle,
        bank: PcrBank,
        pcrs: &[u32],
        signed: Option<&Signed>,
        pin: bool,
        expected: &[u8],
    ) -> Result<Option<Secret>, TpmError> {
        let session = self.salted_session(primary, SessionType::Policy, false)?;
        let r = self.policy_and_unseal(session, sealed, bank, pcrs, signed, pin, expected);
        self.flush(SessionHandle::from(session).into());
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn policy_and_unseal(
        &mut self,
        session: AuthSession,
        sealed: KeyHandle,
        bank: PcrBank,
        pcrs: &[u32],
        signed: Option<&Signed>,
        pin: bool,
        expected: &[u8],
    ) -> Result<Option<Secret>, TpmError> {
        let ps = PolicySession::try_from(session).map_err(|e| tss("policy session", e))?;
        let selection = |p: &[u32]| {
            PcrSelectionListBuilder::new().with_selection(hash_alg(bank), &slots(p)).build().map_err(|e| tss("PCR selection", e))
        };
        if let Some(s) = signed {
            let sel = selection(&s.pcrs)?;
            let approved = self.ctx.execute_without_session(|c| {
                c.policy_pcr(ps, Digest::default(), sel)?;
                c.policy_get_digest(ps)
            });
            let approved = approved.map_err(|e| tss("signed PCR policy", e))?;
            let Some(sig) = policy::find_signature(s.json, bank, &s.pcrs, &s.fingerprint, approved.value())? else {
                // No signature approves the current PCR 11 value: the boot is not one the key signed.
                return Err(TpmError::PolicyMismatch);
            };
            let digest = Digest::try_from(policy::sha256(&[approved.value()]).to_vec()).map_err(|e| tss("digest", e))?;
            let signature = PublicKeyRsa::try_from(sig)
                .and_then(|s| RsaSignature::create(HashingAlgorithm::Sha256, s))
                .map(Signature::RsaSsa)
                .map_err(|e| TpmError::Format(format!("PCR signature: {e}")))?;
            let ticket = self
                .ctx
                .execute_without_session(|c| c.verify_signature(s.handle, digest, signature))
                .map_err(|e| tss("checking the PCR signature", e))?;
            let name = s.name.clone();
            self.ctx
                .execute_without_session(|c| c.policy_authorize(ps, approved, Nonce::default(), &name, ticket))
                .map_err(|e| tss("PolicyAuthorize", e))?;
        }
        if !pcrs.is_empty() {
            let sel = selection(pcrs)?;
            self.ctx.execute_without_session(|c| c.policy_pcr(ps, Digest::default(), sel)).map_err(|e| tss("PolicyPCR", e))?;
        }
        if pin {
            self.ctx.execute_without_session(|c| c.policy_auth_value(ps)).map_err(|e| tss("PolicyAuthValue", e))?;
        }
        let digest = self.ctx.execute_without_session(|c| c.policy_get_digest(ps)).map_err(|e| tss("reading the policy", e))?;
        if digest.value() != expected {
            return Err(TpmError::PolicyMismatch);
        }
        match self.ctx.execute_with_session(Some(session), |c| c.unseal(sealed.into())) {
            Ok(data) => Ok(Some(Secret::new(data.value().to_vec()))),
            Err(e) => match kind(&e) {
                Some(Tss2ResponseCodeKind::PcrChanged) => Ok(None),
                Some(Tss2ResponseCodeKind::PolicyFail) => Err(TpmError::PolicyMismatch),
                Some(Tss2ResponseCodeKind::AuthFail) | Some(Tss2ResponseCodeKind::BadAuth) if pin => Err(TpmError::BadPin),
                Some(Tss2ResponseCodeKind::Lockout) => Err(TpmError::Lockout),
                _ => Err(tss("unsealing", e)),
            },
        }
    }
}

/// A PCR value that holds a measurement (neither all zeros nor all ones, systemd's
/// `tpm2_pcr_mask_good`).
pub(crate) fn is_measured(v: &[u8]) -> bool {
    !v.iter().all(|b| *b == 0) && !v.iter().all(|b| *b == 0xff)
}

/// systemd's primary key templates (`tpm2_get_primary_template`): the legacy one (v252's
/// `tpm2_make_primary`) and, with `srk`, the TCG provisioning template with noDA.
fn primary_template(alg: PrimaryAlg, srk: bool) -> Result<Public, TpmError> {
    let attrs = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_restricted(true)
        .with_decrypt(true)
        .with_no_da(srk)
        .build()
        .map_err(|e| tss("primary attributes", e))?;
    let b = PublicBuilder::new().with_name_hashing_algorithm(HashingAlgorithm::Sha256).with_object_attributes(attrs);
    let b = match alg {
        PrimaryAlg::Ecc => b
            .with_public_algorithm(PublicAlgorithm::Ecc)
            .with_ecc_parameters(
                PublicEccParametersBuilder::new_restricted_decryption_key(SymmetricDefinitionObject::AES_128_CFB, EccCurve::NistP256)
                    .build()
                    .map_err(|e| tss("ECC parameters", e))?,
            )
            .with_ecc_unique_identifier(EccPoint::default()),
        PrimaryAlg::Rsa => b
            .with_public_algorithm(PublicAlgorithm::Rsa)
            .with_rsa_parameters(
                PublicRsaParametersBuilder::new_restricted_decryption_key(
                    SymmetricDefinitionObject::AES_128_CFB,
                    RsaKeyBits::Rsa2048,
                    RsaExponent::ZERO_EXPONENT,
                )
                .build()
                .map_err(|e| tss("RSA parameters", e))?,
            )
            .with_rsa_unique_identifier(PublicKeyRsa::default()),
    };
    b.build().map_err(|e| tss("primary template", e))
}
