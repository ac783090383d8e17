//! `imprint tpm reseal`: binds a LUKS2 volume's `systemd-tpm2` token to the PCR values of now
//! (issue 16, point 1) — after a Secure Boot or firmware change made the TPM refuse.
//!
//! Authorised by a key proof: the recovery key, the passphrase, or the existing token if it
//! still unseals. The order is the safety argument, every step on the header only:
//! 1. the proof unlocks the volume key (nothing is activated);
//! 2. a new secret is sealed to the current PCR values, with the old token's policy (its PCRs,
//!    bank, signing key; its PIN, asked once);
//! 3. a new keyslot and token are added, and proven: the new token unsealed, its key opening
//!    exactly the new keyslot;
//! 4. only then the old `systemd-tpm2` tokens and their keyslots are removed. A keyslot another
//!    token also names (the recovery key's, a FIDO2 one) is never touched.
//!
//! An interruption before 4 leaves both tokens; after it, the new one. The volume is a LUKS2
//! device or file with its header at offset 0: a partition, or (for `--image`) a scratch copy of
//! the header area that the caller writes back ([`reseal_image`]).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::luks::{self, Pbkdf};
use crate::secret::Secret;
use crate::tpm::{self, Device, PcrBank, SealRequest, Tpm2Token, TpmError};

/// What authorises the reseal.
pub enum KeyProof {
    /// systemd's recovery key, as typed (dashes, spaces and case do not matter).
    RecoveryKey(Secret),
    /// A passphrase keyslot's passphrase.
    Passphrase(Secret),
    /// The existing TPM2 token, if it still unseals (nothing changed yet, or the PCRs came back).
    Token,
}

pub struct ResealRequest<'a> {
    pub tpm: &'a Device,
    pub proof: KeyProof,
    /// The PIN, when the old token has `tpm2-pin` (kept for the new one).
    pub pin: Option<Secret>,
    /// Bind to these PCRs instead of the old token's.
    pub pcrs: Option<Vec<u32>>,
    /// For a signed PCR policy: the signature JSON (systemd's `tpm2-pcr-signature.json`) the
    /// proof unseals with.
    pub pcr_signature: Option<PathBuf>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ResealReport {
    /// The keyslot the key proof opened.
    pub proof_keyslot: u32,
    pub new_keyslot: u32,
    pub new_token: u32,
    /// The keyslots of the removed tokens.
    pub removed_keyslots: Vec<u32>,
    pub pcrs: Vec<u32>,
    pub bank: PcrBank,
    pub pin: bool,
    pub signed_policy: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ResealError {
    #[error(
        "{0} has no systemd-tpm2 token: there is nothing to reseal (imprint install --encrypt=tpm2, or systemd-cryptenroll --tpm2-device=auto, enrolls one)"
    )]
    NoToken(String),
    #[error("{0}: a TPM2 key can only be resealed on a LUKS2 volume")]
    NotLuks2(String),
    #[error("the recovery key is not valid: {0}")]
    BadRecoveryKey(String),
    #[error("the {0} opens no keyslot of this volume")]
    WrongKey(&'static str),
    #[error("the TPM no longer unseals the old token ({0}): give the recovery key (--recovery-key-file, or type it) or the passphrase")]
    TokenRefused(TpmError),
    #[error("the old token needs a PIN (--pin-file, or type it)")]
    PinRequired,
    #[error("{0}")]
    Luks(#[from] luks::LuksError),
    #[error("TPM2: {0}")]
    Tpm(#[from] TpmError),
    #[error("the new token did not prove itself, and the old one was kept: {0}")]
    Proof(String),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// The `systemd-tpm2` tokens of `vol`: (token number, token). A `vol` without a LUKS2 header
/// is said so by name (libcryptsetup would only say "invalid argument").
fn tpm2_tokens(vol: &Path) -> Result<Vec<(u32, Tpm2Token)>, ResealError> {
    let io = |source| ResealError::Io { what: format!("reading {}", vol.display()), source };
    let f = File::open(vol).map_err(io)?;
    let size = crate::disk::device_size(&f).map_err(io)?;
    match luks::probe::find_header(&f, 0, size).map_err(io)? {
        Some(h) if h.version == 2 => {}
        Some(h) => return Err(ResealError::NotLuks2(format!("{} holds LUKS{}, not LUKS2", vol.display(), h.version))),
        None => return Err(ResealError::NotLuks2(format!("{} holds no LUKS2 header", vol.display()))),
    }
    let mut out = Vec::new();
    for (n, json) in luks::tokens(vol)? {
        if json["type"] == "systemd-tpm2" {
            out.push((n, Tpm2Token::from_json(&json)?));
        }
    }
    Ok(out)
}

/// Keyslots named by tokens other than `systemd-tpm2` ones (never removed).
fn other_tokens_keyslots(vol: &Path) -> Result<Vec<u32>, ResealError> {
    let mut out = Vec::new();
    for (_, json) in luks::tokens(vol)? {
        if json["type"] != "systemd-tpm2" {
            for k in json["keyslots"].as_array().into_iter().flatten() {
                if let Some(k) = k.as_str().and_then(|s| s.parse().ok()) {
                    out.push(k);
                }
            }
        }
    }
    Ok(out)
}

/// Reseals the volume whose LUKS2 header is at the start of `vol` (a device or a file).
pub fn reseal(vol: &Path, req: &ResealRequest) -> Result<ResealReport, ResealError> {
    let added = add_token(vol, req, &[])?;
    // 4. the old ones go
    let keep = other_tokens_keyslots(vol)?;
    let mut removed_keyslots = Vec::new();
    for (n, t) in &added.old {
        luks::remove_token(vol, *n)?;
        if !keep.contains(&t.keyslot) && t.keyslot != added.new_keyslot {
            luks::destroy_keyslot(vol, t.keyslot)?;
            removed_keyslots.push(t.keyslot);
        }
    }
    forget_records(vol, &added.old.iter().map(|(_, t)| t.keyslot).filter(|k| *k != added.new_keyslot).collect::<Vec<_>>())?;
    Ok(ResealReport {
        proof_keyslot: added.proof_keyslot,
        new_keyslot: added.new_keyslot,
        new_token: added.new_token,
        removed_keyslots,
        pcrs: added.pcrs,
        bank: added.bank,
        pin: added.template.pin,
        signed_policy: added.template.pubkey.is_some(),
    })
}

/// A token added by [`add_token`], and the TPM2 tokens that were there before it.
struct Added {
    proof_keyslot: u32,
    new_keyslot: u32,
    new_token: u32,
    token: Tpm2Token,
    pcrs: Vec<u32>,
    bank: PcrBank,
    template: Tpm2Token,
    old: Vec<(u32, Tpm2Token)>,
}

/// The key proof, then a new `systemd-tpm2` token and keyslot with the old token's policy
/// (PCRs, bank, signing key, PIN), sealed to this boot's PCR values — or, for the PCRs in
/// `predicted`, to those values — and proven before anything else changes: unsealed now and
/// opening exactly the new keyslot; a token sealed to predicted values cannot unseal before
/// they come, so its key is proven to open exactly the new keyslot.
fn add_token(vol: &Path, req: &ResealRequest, predicted: &[(u32, Vec<u8>)]) -> Result<Added, ResealError> {
    let old = tpm2_tokens(vol)?;
    let Some((_, template)) = old.first() else {
        return Err(ResealError::NoToken(vol.display().to_string()));
    };
    let template = template.clone();
    if template.pin && req.pin.is_none() {
        return Err(ResealError::PinRequired);
    }
    // 1. the key proof
    let (proof_keyslot, volume_key) = match &req.proof {
        KeyProof::RecoveryKey(typed) => {
            let key = recovery_key(typed)?;
            luks::volume_key(vol, &key).map_err(|e| match e {
                luks::LuksError::WrongPassphrase => ResealError::WrongKey("recovery key"),
                e => e.into(),
            })?
        }
        KeyProof::Passphrase(p) => luks::volume_key(vol, p).map_err(|e| match e {
            luks::LuksError::WrongPassphrase => ResealError::WrongKey("passphrase"),
            e => e.into(),
        })?,
        KeyProof::Token => {
            let mut last = None;
            let mut got = None;
            for (_, t) in &old {
                match unseal(req, t) {
                    Ok(secret) => {
                        got = Some(luks::volume_key(vol, &tpm::luks_passphrase(&secret))?);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            match (got, last) {
                (Some(g), _) => g,
                (None, Some(TpmError::BadPin)) => return Err(TpmError::BadPin.into()),
                (None, Some(e)) => return Err(ResealError::TokenRefused(e)),
                (None, None) => return Err(ResealError::NoToken(vol.display().to_string())),
            }
        }
    };
    // 2. seal with the old policy
    let bank = template.pcr_bank.unwrap_or(PcrBank::Sha256);
    let pcrs = req.pcrs.clone().unwrap_or_else(|| template.pcrs.clone());
    let seal_req = SealRequest {
        bank,
        pcrs: pcrs.clone(),
        public_key_pem: template.pubkey.clone(),
        public_key_pcrs: template.pubkey_pcrs.clone(),
        pin: req.pin.as_ref().map(Secret::duplicate),
        predicted: predicted.to_vec(),
    };
    let (secret, mut token, sealed) = tpm::seal_recording(req.tpm, &seal_req)?;
    // 3. add and prove
    let new_keyslot = luks::add_keyslot(vol, &volume_key, &tpm::luks_passphrase(&secret), Pbkdf::Minimal)?;
    token.keyslot = new_keyslot;
    let new_token = luks::add_token(vol, &token.to_json())?;
    if let Err(e) = luks::add_token(vol, &tpm::pcr_record(new_keyslot, bank, &sealed)) {
        undo(vol, new_token, new_keyslot);
        return Err(e.into());
    }
    let unsealed = if predicted.is_empty() {
        unseal(req, &token).map_err(|e| ResealError::Proof(format!("unsealing the new token: {e}")))
    } else {
        Ok(secret)
    };
    let proven =
        unsealed.and_then(|s| luks::check_passphrase(vol, &tpm::luks_passphrase(&s)).map_err(|e| ResealError::Proof(e.to_string())));
    match proven {
        Ok(slot) if slot == new_keyslot => {}
        Ok(slot) => {
            undo(vol, new_token, new_keyslot);
            return Err(ResealError::Proof(format!("the new key opens keyslot {slot}, not the new keyslot {new_keyslot}")));
        }
        Err(e) => {
            undo(vol, new_token, new_keyslot);
            return Err(e);
        }
    }
    Ok(Added { proof_keyslot, new_keyslot, new_token, token, pcrs, bank, template, old })
}

/// The type of the LUKS2 token that marks a prepared TPM2 key (no keyslots; systemd ignores
/// token types it does not know): `imprint tpm cleanup` looks for it.
pub const PREPARED_TOKEN: &str = "imprint-tpm2-prepared";

#[derive(Debug, Clone, serde::Serialize)]
pub struct PrepareReport {
    pub proof_keyslot: u32,
    pub new_keyslot: u32,
    pub new_token: u32,
    /// The keyslots of the TPM2 tokens kept until the new one unlocks a boot.
    pub kept_keyslots: Vec<u32>,
    pub pcrs: Vec<u32>,
    pub bank: PcrBank,
    /// The PCR values the new token is sealed to (hex), per PCR given.
    pub predicted: Vec<(u32, String)>,
}

/// `imprint tpm prepare`: a second `systemd-tpm2` token, with the old token's policy, sealed to
/// `predicted` PCR values (the next boot's, after a Secure Boot update), the old tokens kept, and
/// a mark in the header naming the new token's policy for [`cleanup`].
pub fn prepare(vol: &Path, req: &ResealRequest, predicted: &[(u32, Vec<u8>)]) -> Result<PrepareReport, ResealError> {
    let added = add_token(vol, req, predicted)?;
    let mark = serde_json::json!({
        "type": PREPARED_TOKEN,
        "keyslots": [],
        "tpm2-policy-hash": tpm::policy::hex(&added.token.policy_hash),
    });
    if let Err(e) = luks::add_token(vol, &mark) {
        undo(vol, added.new_token, added.new_keyslot);
        return Err(e.into());
    }
    Ok(PrepareReport {
        proof_keyslot: added.proof_keyslot,
        new_keyslot: added.new_keyslot,
        new_token: added.new_token,
        kept_keyslots: added.old.iter().map(|(_, t)| t.keyslot).collect(),
        pcrs: added.pcrs,
        bank: added.bank,
        predicted: predicted.iter().map(|(p, v)| (*p, tpm::policy::hex(v))).collect(),
    })
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CleanupReport {
    /// A prepared token was found.
    pub prepared: bool,
    /// It matches this boot: the update came, the old tokens that no longer match went.
    pub applied: bool,
    pub removed_keyslots: Vec<u32>,
}

/// `imprint tpm cleanup`, at boot: once a prepared token matches this boot's PCR values (the
/// Secure Boot update came and the TPM unlocked with it), the TPM2 tokens that no longer match
/// are removed with their keyslots, and the mark with them. Before that, nothing changes; a mark
/// whose token is gone (resealed since) is removed.
pub fn cleanup(vol: &Path, dev: &Device) -> Result<CleanupReport, ResealError> {
    let marks: Vec<(u32, String)> = luks::tokens(vol)?
        .into_iter()
        .filter(|(_, j)| j["type"] == PREPARED_TOKEN)
        .map(|(n, j)| (n, j["tpm2-policy-hash"].as_str().unwrap_or_default().to_string()))
        .collect();
    if marks.is_empty() {
        return Ok(CleanupReport::default());
    }
    let hex = |t: &Tpm2Token| tpm::policy::hex(&t.policy_hash);
    let tokens = tpm2_tokens(vol)?;
    let prepared: Vec<&(u32, Tpm2Token)> = tokens.iter().filter(|(_, t)| marks.iter().any(|(_, h)| *h == hex(t))).collect();
    let mut report = CleanupReport { prepared: !prepared.is_empty(), ..CleanupReport::default() };
    let applied = prepared.iter().any(|(_, t)| tpm::token_matches_now(dev, t).unwrap_or(false));
    if applied {
        let keep = other_tokens_keyslots(vol)?;
        let mut kept_slots = Vec::new();
        let mut gone = Vec::new();
        for (n, t) in &tokens {
            if tpm::token_matches_now(dev, t)? {
                kept_slots.push(t.keyslot);
            } else {
                gone.push((*n, t.keyslot));
            }
        }
        for (n, slot) in &gone {
            luks::remove_token(vol, *n)?;
            if !keep.contains(slot) && !kept_slots.contains(slot) {
                luks::destroy_keyslot(vol, *slot)?;
                report.removed_keyslots.push(*slot);
            }
        }
        forget_records(vol, &gone.iter().map(|(_, s)| *s).filter(|s| !kept_slots.contains(s)).collect::<Vec<_>>())?;
        report.applied = true;
    }
    if applied || prepared.is_empty() {
        for (n, _) in marks {
            luks::remove_token(vol, n)?;
        }
    }
    Ok(report)
}

/// The enrolled form of a typed recovery key: spaces and line breaks dropped, then as systemd's
/// `normalize_recovery_key` (64 modhex characters, or 71 with a dash after every 8, either case).
fn recovery_key(typed: &Secret) -> Result<Secret, ResealError> {
    let bad = || {
        ResealError::BadRecoveryKey(
            "expected 64 characters from cbdefghijklnrtuv, in 8 groups of 8 joined by '-' (as it was shown), in either case".into(),
        )
    };
    let text = std::str::from_utf8(typed.expose()).map_err(|_| bad())?;
    let compact: zeroize::Zeroizing<String> = zeroize::Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    crate::luks::recovery::normalize(&compact).ok_or_else(bad)
}

/// Takes back a new token and keyslot that did not prove themselves (best effort: they open
/// nothing the old ones did not).
fn undo(vol: &Path, token: u32, keyslot: u32) {
    let _ = luks::remove_token(vol, token);
    let _ = forget_records(vol, &[keyslot]);
    let _ = luks::destroy_keyslot(vol, keyslot);
}

/// Removes the PCR record tokens of `keyslots` (their keys are gone).
fn forget_records(vol: &Path, keyslots: &[u32]) -> Result<(), ResealError> {
    for (n, json) in luks::tokens(vol)? {
        if tpm::parse_pcr_record(&json).is_some_and(|(k, ..)| keyslots.contains(&k))
            || (json["type"] == tpm::PCR_RECORD_TOKEN && tpm::parse_pcr_record(&json).is_none())
        {
            luks::remove_token(vol, n)?;
        }
    }
    Ok(())
}

/// The PCR records of a volume's TPM2 keys: (keyslot, bank, values sealed to).
pub fn records(vol: &Path) -> Result<Vec<tpm::PcrRecord>, ResealError> {
    Ok(luks::tokens(vol)?.iter().filter_map(|(_, j)| tpm::parse_pcr_record(j)).collect())
}

/// [`records`] of partition `[offset, offset+size)` of an image file.
pub fn image_records(image: &Path, offset: u64, size: u64) -> Result<Vec<tpm::PcrRecord>, ResealError> {
    let (_dir, scratch, _) = header_copy(image, offset, size)?;
    records(&scratch)
}

fn unseal(req: &ResealRequest, t: &Tpm2Token) -> Result<Secret, TpmError> {
    tpm::unseal(req.tpm, t, if t.pin { req.pin.as_ref() } else { None }, req.pcr_signature.as_deref())
}

/// The `systemd-tpm2` tokens of the LUKS2 volume of partition `[offset, offset+size)` of an
/// image file (read from a scratch copy of its header area).
pub fn image_tokens(image: &Path, offset: u64, size: u64) -> Result<Vec<Tpm2Token>, ResealError> {
    let (_dir, scratch, _) = header_copy(image, offset, size)?;
    Ok(tpm2_tokens(&scratch)?.into_iter().map(|(_, t)| t).collect())
}

/// The `systemd-tpm2` tokens of a LUKS2 device or file.
pub fn device_tokens(vol: &Path) -> Result<Vec<Tpm2Token>, ResealError> {
    Ok(tpm2_tokens(vol)?.into_iter().map(|(_, t)| t).collect())
}

/// A scratch file the partition's size holding a copy of its LUKS2 header area: (its folder,
/// its path, the header area's length).
fn header_copy(image: &Path, offset: u64, size: u64) -> Result<(tempfile::TempDir, PathBuf, u64), ResealError> {
    let io = |what: &str| {
        let what = format!("{what} ({})", image.display());
        move |source| ResealError::Io { what, source }
    };
    let f = File::open(image).map_err(io("opening the image"))?;
    let extent = luks::probe::find_header(&f, offset, size)
        .map_err(io("reading the partition's first bytes"))?
        .ok_or_else(|| ResealError::NotLuks2(format!("{} holds no LUKS2 header at offset {offset}", image.display())))?;
    if extent.version != 2 {
        return Err(ResealError::NotLuks2(format!("{} holds LUKS{} at offset {offset}, not LUKS2", image.display(), extent.version)));
    }
    let meta = extent.metadata_end.min(size);
    let dir = tempfile::Builder::new().prefix("imprint-reseal").tempdir().map_err(io("making a scratch folder"))?;
    let scratch = dir.path().join("header.img");
    let s = File::create(&scratch).map_err(io("making the scratch file"))?;
    s.set_len(size).map_err(io("sizing the scratch file"))?;
    let len = usize::try_from(meta).map_err(|_| io("the header area")(std::io::Error::other("too large")))?;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; len]);
    f.read_exact_at(&mut buf, offset).map_err(io("reading the header area"))?;
    s.write_all_at(&buf, 0).map_err(io("copying the header area"))?;
    Ok((dir, scratch, meta))
}

/// Reseals the LUKS2 volume of partition `[offset, offset+size)` of an image file, offline: its
/// header area is copied into a scratch file the partition's size, resealed there, and written
/// back — keyslot areas first, then the secondary header, the primary last, so that an
/// interruption leaves a header libcryptsetup can read (each copy has its checksum and sequence
/// number). The data is not touched.
pub fn reseal_image(image: &Path, offset: u64, size: u64, req: &ResealRequest) -> Result<ResealReport, ResealError> {
    on_image(image, offset, size, |scratch| reseal(scratch, req))
}

/// `op` on the LUKS2 header of partition `[offset, offset+size)` of an image file, offline: the
/// header area is copied into a scratch file the partition's size, changed there, and written
/// back as [`reseal_image`] says.
pub fn on_image<T>(image: &Path, offset: u64, size: u64, op: impl FnOnce(&Path) -> Result<T, ResealError>) -> Result<T, ResealError> {
    let io = |what: &str| {
        let what = format!("{what} ({})", image.display());
        move |source| ResealError::Io { what, source }
    };
    let f = File::options().read(true).write(true).open(image).map_err(io("opening the image"))?;
    let (_dir, scratch, meta) = header_copy(image, offset, size)?;
    let report = op(&scratch)?;
    // write back: keyslot areas, secondary header, primary header
    let s = File::open(&scratch).map_err(io("reopening the scratch file"))?;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; meta as usize]);
    s.read_exact_at(&mut buf, 0).map_err(io("reading the resealed header"))?;
    let hdr = u64::from_be_bytes(buf[8..16].try_into().expect("8 bytes")).min(meta / 2);
    for (from, to) in [(2 * hdr, meta), (hdr, 2 * hdr), (0, hdr)] {
        if from < to {
            f.write_all_at(&buf[from as usize..to as usize], offset + from).map_err(io("writing the header back"))?;
            f.sync_data().map_err(io("syncing the image"))?;
        }
    }
    Ok(report)
}
