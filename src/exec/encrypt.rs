//! Encrypting a new partition: a LUKS2 header made in a scratch file (libcryptsetup works on
//! whole files), keyslots and tokens for each way the plan says it unlocks, the data segment
//! written by the block copy through the XTS encryptor, and afterwards the proof: the header is
//! read back from the target, the TPM2 token unsealed once and its key checked against its
//! keyslot, and the recovery key (and passphrase) checked against theirs — all without
//! activating anything (there is no device-mapper needed, or used).

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::disk::copy;
use crate::luks::{self, FormatParams, Pbkdf};
use crate::plan::{EncryptionPlan, LuksPlan, PlannedPartition, Unlock};
use crate::secret::Secret;
use crate::tpm::{self, Device, PcrBank, SealRequest, Tpm2Token};

#[derive(Debug, thiserror::Error)]
pub enum EncryptError {
    #[error("{0}")]
    Luks(#[from] luks::LuksError),
    #[error("TPM2: {0}")]
    Tpm(#[from] tpm::TpmError),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{0}")]
    Missing(String),
    #[error("proof failed: {0}")]
    Proof(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> EncryptError {
    let what = what.into();
    move |source| EncryptError::Io { what, source }
}

/// What the person gave to unlock with.
#[derive(Default)]
pub struct Secrets {
    pub passphrase: Option<Secret>,
    pub pin: Option<Secret>,
    /// The recovery key to enroll, when the front-end made (and showed) it before the install;
    /// `None`: the executor generates one and returns it in the report.
    pub recovery_key: Option<Secret>,
    /// Key derivation for passphrase keyslots; None: systemd's ([`crate::luks::Pbkdf::Systemd`]).
    /// Not a secret, but chosen with them (tests choose a cheap one).
    pub pbkdf: Option<crate::luks::Pbkdf>,
}

/// A header made for one partition, ready to be written.
pub struct Prepared {
    pub scratch: tempfile::TempDir,
    pub header_file: PathBuf,
    pub header: luks::Header,
    pub tokens: Vec<(Unlock, u32)>,
}

fn device(enc: &EncryptionPlan) -> Result<Device, EncryptError> {
    enc.tpm2_device.parse::<Device>().map_err(|_| EncryptError::Missing(format!("invalid TPM device '{}'", enc.tpm2_device)))
}

fn bank(enc: &EncryptionPlan) -> PcrBank {
    if enc.pcr_bank == "sha1" { PcrBank::Sha1 } else { PcrBank::Sha256 }
}

/// Formats the header and adds a keyslot (and token) for every way `l` unlocks.
pub fn prepare(
    p: &PlannedPartition,
    l: &LuksPlan,
    enc: &EncryptionPlan,
    secrets: &Secrets,
    recovery: &Secret,
    pbkdf: Pbkdf,
) -> Result<Prepared, EncryptError> {
    let scratch = tempfile::Builder::new().prefix("imprint-luks").tempdir().map_err(io("making a scratch folder"))?;
    let header_file = scratch.path().join("header.img");
    let params = FormatParams { uuid: l.uuid, label: l.label.clone(), sector_size: 4096, pbkdf };
    let header = luks::format(&header_file, p.size, &params)?;
    let mut tokens = Vec::new();
    for u in &l.unlock {
        match u {
            Unlock::Passphrase => {
                let pass = secrets
                    .passphrase
                    .as_ref()
                    .ok_or_else(|| EncryptError::Missing("a passphrase is needed (--passphrase-file)".into()))?;
                let slot = luks::add_keyslot(&header_file, &header.volume_key, pass, pbkdf)?;
                tokens.push((*u, slot));
            }
            Unlock::Tpm2 | Unlock::Tpm2Pin => {
                let pin = match u {
                    Unlock::Tpm2Pin => Some(
                        secrets
                            .pin
                            .as_ref()
                            .ok_or_else(|| EncryptError::Missing("a PIN is needed for tpm2+pin (--pin-file)".into()))?
                            .duplicate(),
                    ),
                    _ => None,
                };
                let public_key_pem = match (&enc.public_key_pem, &enc.public_key) {
                    (Some(pem), _) => Some(pem.clone()),
                    (None, Some(path)) => Some(std::fs::read(path).map_err(io(format!("reading the public key {}", path.display())))?),
                    (None, None) => None,
                };
                let req = SealRequest {
                    bank: bank(enc),
                    pcrs: enc.tpm2_pcrs.clone(),
                    public_key_pem,
                    public_key_pcrs: enc.public_key_pcrs.clone(),
                    pin,
                    predicted: Vec::new(),
                };
                let (secret, mut token, sealed) = tpm::seal_recording(&device(enc)?, &req)?;
                let pass = tpm::luks_passphrase(&secret);
                let slot = luks::add_keyslot(&header_file, &header.volume_key, &pass, Pbkdf::Minimal)?;
                token.keyslot = slot;
                luks::add_token(&header_file, &token.to_json())?;
                // the values sealed to, beside it: `tpm status` says which PCRs changed
                luks::add_token(&header_file, &tpm::pcr_record(slot, req.bank, &sealed))?;
                tokens.push((*u, slot));
            }
            Unlock::RecoveryKey => {
                let slot = luks::add_keyslot(&header_file, &header.volume_key, recovery, Pbkdf::Minimal)?;
                // the boot prompt compares byte for byte: the forms people type get keyslots too
                let mut slots = vec![slot];
                for v in luks::recovery::typed_variants(recovery) {
                    slots.push(luks::add_keyslot(&header_file, &header.volume_key, &v, Pbkdf::Minimal)?);
                }
                luks::add_token(&header_file, &luks::recovery_token_for(&slots))?;
                tokens.push((*u, slot));
            }
        }
    }
    Ok(Prepared { scratch, header_file, header, tokens })
}

/// Reads the header back from the target into a sparse file the partition's size and proves
/// every way in: returns each way in with the keyslot it opened.
pub fn prove(
    target: &File,
    p: &PlannedPartition,
    data_offset: u64,
    enc: &EncryptionPlan,
    secrets: &Secrets,
    recovery: &Secret,
) -> Result<Vec<(Unlock, u32)>, EncryptError> {
    let dir = tempfile::Builder::new().prefix("imprint-proof").tempdir().map_err(io("making a scratch folder"))?;
    let copy_path = dir.path().join("readback.img");
    let f = File::create(&copy_path).map_err(io("making the read-back file"))?;
    f.set_len(p.size).map_err(io("sizing the read-back file"))?;
    let cancel = std::sync::atomic::AtomicBool::new(false);
    copy::copy_range(
        copy::At { file: target, offset: p.offset },
        data_offset,
        copy::At { file: &f, offset: 0 },
        copy::Hashing::none(),
        None,
        &cancel,
        &mut |_| {},
    )
    .map_err(|e| EncryptError::Proof(format!("reading the LUKS2 header back: {e}")))?;
    drop(f);
    let l = p.luks.as_ref().expect("encrypted partition");
    let mut lines = Vec::new();
    for u in &l.unlock {
        match u {
            Unlock::Tpm2 | Unlock::Tpm2Pin => {
                let tokens = luks::tokens(&copy_path)?;
                let json = tokens
                    .iter()
                    .map(|(_, j)| j)
                    .find(|j| j["type"] == "systemd-tpm2")
                    .ok_or_else(|| EncryptError::Proof("no systemd-tpm2 token in the header on the target".into()))?;
                let token = Tpm2Token::from_json(json)?;
                let pin = if *u == Unlock::Tpm2Pin { secrets.pin.as_ref() } else { None };
                let secret = match &enc.pcr_signature_json {
                    Some(json) => tpm::unseal_with_signatures(&device(enc)?, &token, pin, json)?,
                    None => tpm::unseal(&device(enc)?, &token, pin, enc.pcr_signature.as_deref())?,
                };
                let slot = luks::check_passphrase(&copy_path, &tpm::luks_passphrase(&secret))?;
                if slot != token.keyslot {
                    return Err(EncryptError::Proof(format!("the TPM2 key opens keyslot {slot}, its token names {}", token.keyslot)));
                }
                lines.push((*u, slot));
            }
            Unlock::RecoveryKey => {
                let slot = luks::check_passphrase(&copy_path, recovery)?;
                // and each form people type it in opens a keyslot of the recovery token
                let named: Vec<u32> = luks::tokens(&copy_path)?
                    .iter()
                    .filter(|(_, j)| j["type"] == "systemd-recovery")
                    .flat_map(|(_, j)| j["keyslots"].as_array().cloned().unwrap_or_default())
                    .filter_map(|k| k.as_str().and_then(|s| s.parse().ok()))
                    .collect();
                for v in luks::recovery::typed_variants(recovery) {
                    let s = luks::check_passphrase(&copy_path, &v)?;
                    if !named.contains(&s) {
                        return Err(EncryptError::Proof(format!(
                            "a typed form of the recovery key opens keyslot {s}, which no recovery token names"
                        )));
                    }
                }
                lines.push((Unlock::RecoveryKey, slot));
            }
            Unlock::Passphrase => {
                let pass = secrets.passphrase.as_ref().ok_or_else(|| EncryptError::Missing("a passphrase is needed".into()))?;
                let slot = luks::check_passphrase(&copy_path, pass)?;
                lines.push((Unlock::Passphrase, slot));
            }
        }
    }
    Ok(lines)
}

/// The file holding the prepared header (for the executor's header copy).
pub fn header_path(p: &Prepared) -> &Path {
    &p.header_file
}

/// The block copy's transform that encrypts the data segment.
pub struct Encrypting<'a> {
    pub xts: &'a luks::Xts,
    /// Encrypt and write the source's holes (as zeroes) too. Copied data: yes (a copied file
    /// system may rely on reading zeroes where its image has holes). A file system made in a
    /// scratch file with [`crate::task::run_without_fallocate`]: only to fill the free space
    /// (`--fill-free=random`); there a hole is a block mkfs never wrote nor zeroed.
    pub holes: bool,
}

impl copy::Transform for Encrypting<'_> {
    fn apply(&self, buf: &mut [u8], offset: u64) {
        self.xts.encrypt(buf, offset);
    }
    fn writes_holes(&self) -> bool {
        self.holes
    }
}

/// The read-back's transform that decrypts it again.
pub struct Decrypting<'a>(pub &'a luks::Xts);

impl copy::Transform for Decrypting<'_> {
    fn apply(&self, buf: &mut [u8], offset: u64) {
        self.0.decrypt(buf, offset);
    }
}
