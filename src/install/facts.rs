//! The facts an install is planned from — profile, definitions, source, target, the TPM — and
//! the refusals made on them. Reads; never writes.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use super::{EncryptionRequest, Host, Request};
use crate::disk::{self, sysfs, table};
use crate::plan::{self, EncryptionMode, PlanRequest, SourceFacts, TargetContent, TargetFacts};
use crate::profile::{conf, repart};

/// Where profile names are looked up, in order: only folders root owns, the administrator's
/// first. Never the current folder or a variable from the environment: `imprint reset
/// --profile kiosk` run from a folder someone else can write must not load their profile (no
/// PIN, their definitions). A profile anywhere else is given by its path.
pub fn profile_search_path() -> Vec<PathBuf> {
    PROFILE_DIRS.iter().map(PathBuf::from).collect()
}

/// The folders of [`profile_search_path`].
pub const PROFILE_DIRS: &[&str] = &["/etc/imprint/profiles", "/run/imprint/profiles", "/usr/share/imprint/profiles"];

/// The repart.d folders an install reads: the profile's, then any `definitions`.
///
/// A profile applies only where its [Match] section matches this machine and `disk_size` (the
/// target's size, when known).
pub fn definition_dirs(
    profile: Option<&str>,
    definitions: &[PathBuf],
    disk_size: Option<u64>,
) -> Result<(Vec<PathBuf>, conf::EncryptionSpec)> {
    definition_dirs_in(&profile_search_path(), profile, definitions, disk_size)
}

fn definition_dirs_in(
    search: &[PathBuf],
    profile: Option<&str>,
    definitions: &[PathBuf],
    disk_size: Option<u64>,
) -> Result<(Vec<PathBuf>, conf::EncryptionSpec)> {
    let mut dirs = Vec::new();
    let mut encryption = conf::EncryptionSpec::default();
    if let Some(p) = profile {
        let dir = conf::find_profile(p, search)?;
        let spec = conf::load_profile(&dir)?;
        let mut facts = conf::gather_facts();
        facts.disk_size = disk_size;
        let why = spec.matches.mismatches(&facts);
        if !why.is_empty() {
            bail!("profile '{}' does not apply to this machine: {}", spec.name, why.join("; "));
        }
        encryption = spec.encryption.clone();
        dirs.push(spec.definitions_dir);
    }
    dirs.extend(definitions.iter().cloned());
    if dirs.is_empty() {
        bail!(
            "no partition definitions: give --profile NAME (available: {}) or --definitions DIR",
            conf::available_profiles(search).join(", ")
        );
    }
    Ok((dirs, encryption))
}

/// Reads the facts of the install source.
pub fn source_facts(source: &str) -> Result<SourceFacts> {
    let (path, preferred) = if source == "auto" {
        let auto = sysfs::resolve_source_auto(&sysfs::SysPaths::default()).map_err(|e| anyhow!("--source auto: {e}"))?;
        let preferred = [auto.root_partno, auto.usr_partno].into_iter().flatten().collect();
        (auto.disk, preferred)
    } else {
        (PathBuf::from(source), Vec::new())
    };
    let f = File::open(&path).with_context(|| format!("opening the source {}", path.display()))?;
    let sector = if disk::is_block_device(&f)? { disk::logical_sector_size(&f)? } else { table::probe_sector_size(&f) };
    let t = table::read_gpt(&f, sector)
        .with_context(|| format!("reading the partition table of the source {}", path.display()))?
        .ok_or_else(|| anyhow!("the source {} has no GPT partition table", path.display()))?;
    Ok(SourceFacts { path, sector_size: sector, partitions: t.partitions, preferred })
}

/// Reads the facts of the target (which may not exist yet).
pub fn target_facts(path: &Path, target_size: Option<u64>) -> Result<TargetFacts> {
    match File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let size = target_size.unwrap_or(0).div_ceil(4096) * 4096;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                && !parent.is_dir()
            {
                bail!("cannot create {}: folder {} does not exist", path.display(), parent.display());
            }
            Ok(TargetFacts { path: path.to_path_buf(), size, sector_size: 512, is_block_device: false, content: TargetContent::Missing })
        }
        Err(e) => Err(e).with_context(|| format!("opening the target {}", path.display())),
        Ok(f) => {
            let block = disk::is_block_device(&f)?;
            if !block && !f.metadata()?.is_file() {
                bail!("{} is neither a block device nor a regular image file", path.display());
            }
            let sector = if block { disk::logical_sector_size(&f)? } else { table::probe_sector_size(&f) };
            let mut size = disk::device_size(&f)?;
            if let Some(want) = target_size {
                if block && want != size {
                    bail!("--target-size is for image files; {} is a block device of {}", path.display(), crate::units::bytes(size));
                }
                if want < size {
                    bail!(
                        "--target-size {} is smaller than the existing image file {} ({}); images are never shrunk",
                        crate::units::bytes(want),
                        path.display(),
                        crate::units::bytes(size)
                    );
                }
                size = want.div_ceil(4096) * 4096;
            }
            let content = table::probe_content(&f, sector).with_context(|| format!("reading what {} holds", path.display()))?;
            Ok(TargetFacts { path: path.to_path_buf(), size, sector_size: sector, is_block_device: block, content })
        }
    }
}

/// Plans `req` on the inspected `target`, with `seed`. Also returns the source's facts.
pub(super) fn make_plan(req: &Request, host: &Host, target: &TargetFacts, seed: uuid::Uuid) -> Result<(plan::Plan, Option<SourceFacts>)> {
    let (dirs, profile_enc) =
        definition_dirs_in(&host.profile_search_path, req.profile.as_deref(), &req.definitions, Some(target.size).filter(|s| *s > 0))?;
    let mut definitions = repart::load_definitions(&dirs)?;
    let mut encryption = encryption_plan(&req.encryption, &profile_enc, &mut definitions);
    let needs_source = definitions.iter().any(|d| d.copy_blocks == Some(repart::CopyBlocks::Auto));
    let source = match (&req.source, needs_source) {
        (Some(s), _) => Some(source_facts(s)?),
        (None, true) => Some(source_facts("auto")?),
        (None, false) => None,
    };
    check_target(&req.target, source.as_ref().map(|s| s.path.as_path()))?;
    if let (Some(enc), Some(src)) = (encryption.as_mut(), source.as_ref())
        && enc.public_key.is_none()
        && req.encryption.use_uki_key
        && enc.mode != Some(EncryptionMode::Passphrase)
        && let Some(key) = uki_pcr_key(src)?
    {
        enc.public_key_pem = Some(key.pem);
        enc.pcr_signature_json = key.signature;
        enc.public_key_from = Some(key.from);
        enc.public_key_pcrs = vec![11];
    }
    let mut copy_file_sizes = BTreeMap::new();
    for d in &definitions {
        if let Some(repart::CopyBlocks::Path(p)) = &d.copy_blocks {
            let f = File::open(p).with_context(|| format!("{}: CopyBlocks={}", d.file.display(), p.display()))?;
            copy_file_sizes.insert(p.clone(), disk::device_size(&f)?);
        }
    }
    if req.empty == plan::EmptyMode::Create && req.target_size.is_none() {
        bail!("--empty=create needs --target-size");
    }
    if matches!(target.content, TargetContent::Missing) && target.size == 0 {
        bail!("{} does not exist; to create an image file there, give its size with --target-size", req.target.display());
    }
    let preq =
        PlanRequest { definitions, target: target.clone(), source: source.clone(), copy_file_sizes, seed, empty: req.empty, encryption };
    Ok((plan::plan(&preq)?, source))
}

/// Settles encryption: the mode from the request or the profile overrides the definitions'
/// `Encrypt=`; with a mode and no definition saying `Encrypt=`, the partitions that hold state
/// (root, /var, /home, /srv) are encrypted. Changes the definitions' `encrypt` to match, so the
/// planner sizes the LUKS header in.
pub fn encryption_plan(
    req: &EncryptionRequest,
    profile: &conf::EncryptionSpec,
    defs: &mut [repart::PartitionDef],
) -> Option<plan::EncryptionPlan> {
    use crate::profile::repart::EncryptMode;
    use crate::profile::types::Designator;
    let mode = req.mode.or(profile.mode);
    match mode {
        Some(EncryptionMode::Off) => defs.iter_mut().for_each(|d| d.encrypt = EncryptMode::Off),
        Some(_) if defs.iter().all(|d| d.encrypt == EncryptMode::Off) => {
            for d in defs.iter_mut() {
                if matches!(d.ptype.designator, Designator::Root | Designator::Var | Designator::Home | Designator::Srv) {
                    d.encrypt = EncryptMode::Tpm2;
                }
            }
        }
        _ => {}
    }
    let encrypted: Vec<EncryptMode> = defs.iter().map(|d| d.encrypt).filter(|e| *e != EncryptMode::Off).collect();
    if encrypted.is_empty() {
        return None;
    }
    let passphrase_only = match mode {
        Some(m) => m == EncryptionMode::Passphrase,
        None => encrypted.iter().all(|e| *e == EncryptMode::KeyFile),
    };
    let public_key = req.tpm2_public_key.clone().or_else(|| profile.public_key.clone());
    Some(plan::EncryptionPlan {
        mode,
        tpm2_device: req.tpm2_device.clone(),
        tpm2_pcrs: req.tpm2_pcrs.clone().or_else(|| profile.pcrs.clone()).unwrap_or_else(|| vec![7]),
        pcr_bank: profile.pcr_bank.clone().unwrap_or_else(|| "sha256".into()),
        public_key_pcrs: if public_key.is_some() { vec![11] } else { Vec::new() },
        public_key,
        pcr_signature: None,
        recovery_key: req.recovery_key.or(profile.recovery_key).unwrap_or(!passphrase_only),
        public_key_pem: None,
        pcr_signature_json: None,
        public_key_from: None,
    })
}

/// The PCR-signing key of a UKI, read into memory.
pub struct UkiKey {
    pub pem: Vec<u8>,
    pub signature: Option<Vec<u8>>,
    /// Which UKI, in words.
    pub from: String,
}

/// A UKI larger than this is not read (a kernel, initrd and stub are far smaller).
const UKI_MAX: u64 = 512 << 20;

/// The PCR-signing public key of the newest UKI in the source ESP's `EFI/Linux/` (its
/// `.pcrpkey` section), with its `.pcrsig` when it carries one, read into memory. The UKI is
/// fetched with mtools (the ESP is never mounted) into a private temporary folder that is
/// removed at once.
pub fn uki_pcr_key(src: &SourceFacts) -> Result<Option<UkiKey>> {
    let esp_type = crate::profile::types::parse_type("esp").expect("known type").uuid;
    let Some(esp) = src.partitions.iter().find(|p| p.type_uuid == esp_type) else { return Ok(None) };
    let image = format!("{}@@{}", src.path.display(), esp.offset(u64::from(src.sector_size)));
    let listing = match crate::task::run("mdir", ["-i", image.as_str(), "-b", "::/EFI/Linux"]) {
        Ok(l) => l,
        Err(_) => return Ok(None), // no EFI/Linux folder (or not FAT): no UKI
    };
    let mut ukis: Vec<&str> = listing.lines().map(str::trim).filter(|l| l.to_ascii_lowercase().ends_with(".efi")).collect();
    ukis.sort();
    let Some(uki) = ukis.last() else { return Ok(None) };
    let dir = tempfile::Builder::new().prefix("imprint-uki.").tempdir()?;
    let local = dir.path().join("uki.efi");
    crate::task::run("mcopy", ["-n", "-o", "-i", image.as_str(), uki, &local.display().to_string()])?;
    let len = std::fs::metadata(&local)?.len();
    if len > UKI_MAX {
        bail!(
            "{uki} on the source ESP is {} — larger than any UKI imprint reads ({})",
            crate::units::bytes(len),
            crate::units::bytes(UKI_MAX)
        );
    }
    let data = std::fs::read(&local)?;
    drop(dir);
    let what = format!("the source ESP's {}", uki.trim_start_matches("::/"));
    let Some(pem) = crate::tpm::section_in(&data, ".pcrpkey", &what)? else { return Ok(None) };
    let signature = crate::tpm::section_in(&data, ".pcrsig", &what)?;
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(&pem).iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(UkiKey { pem, signature, from: format!("{what} (.pcrpkey, sha256 {digest})") }))
}

/// Refuses targets that must not be written, with every reason.
pub fn check_target(target: &Path, source: Option<&Path>) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let reasons = sysfs::target_refusals(target, source, &sysfs::SysPaths::default())
        .with_context(|| format!("checking whether {} may be written", target.display()))?;
    if !reasons.is_empty() {
        bail!("refusing to write to {}: {}", target.display(), reasons.join("; "));
    }
    Ok(())
}

/// The TPM readiness check for a plan with TPM keyslots: refuses with the reason and what to do.
/// Returns the warnings about a weak policy (no PCRs; PCR 7 alone while Secure Boot, as the
/// EFI variables in `efivars` say, is not on), each with what to do, for the front-end to show.
pub fn check_encryption_ready(plan: &plan::Plan, efivars: &Path) -> Result<Vec<String>> {
    use crate::plan::Unlock;
    let Some(enc) = &plan.encryption else { return Ok(Vec::new()) };
    let tpm_used = plan
        .partitions
        .iter()
        .any(|p| p.luks.as_ref().is_some_and(|l| l.unlock.iter().any(|u| matches!(u, Unlock::Tpm2 | Unlock::Tpm2Pin))));
    if !tpm_used {
        return Ok(Vec::new());
    }
    let dev: crate::tpm::Device = enc.tpm2_device.parse().map_err(|_| anyhow!("invalid TPM device '{}'", enc.tpm2_device))?;
    let bank = if enc.pcr_bank == "sha1" { crate::tpm::PcrBank::Sha1 } else { crate::tpm::PcrBank::Sha256 };
    let mut status = crate::tpm::status(&dev, &enc.tpm2_pcrs, bank);
    if !status.problems.is_empty() {
        let lines: Vec<String> = status.problems.iter().map(|p| format!("{} ({})", p.message, p.advice)).collect();
        bail!(
            "the TPM cannot protect this disk: {}. To continue with a passphrase instead, pass --encrypt=passphrase --passphrase-file FILE",
            lines.join("; ")
        );
    }
    let signed = enc.public_key.is_some() || enc.public_key_pem.is_some();
    status.check_policy(efivars, signed);
    Ok(status.warnings.iter().map(|w| format!("{} {}", w.message, w.advice)).collect())
}
