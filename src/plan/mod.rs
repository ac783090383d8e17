//! Pure planning: repart.d definitions + what the target and source hold → a [`Plan`].
//!
//! This module does no I/O, reads no clock and draws no random numbers: the same request gives
//! the same plan, which is what the dry run prints, the summary page shows and the executor
//! carries out. The caller gathers the facts (the target's size and table, the source's
//! partitions, the sizes of CopyBlocks= files) and passes them in.

pub mod derive;
pub mod layout;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use uuid::Uuid;

use crate::profile::repart::{CopyBlocks, EncryptMode, PartitionDef, UuidSetting};
use crate::profile::types::{self, PartType};

/// GPT attribute bits systemd uses.
pub const FLAG_NO_AUTO: u64 = 1 << 63;
pub const FLAG_READ_ONLY: u64 = 1 << 60;
pub const FLAG_GROWFS: u64 = 1 << 59;

/// The LUKS2 header space systemd 252 adds to an encrypted partition's minimum.
pub const LUKS2_METADATA_SIZE: u64 = 16 << 20;

/// `--empty=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EmptyMode {
    /// A blank target is partitioned; one with a partition table is refused.
    #[default]
    Refuse,
    /// A blank target is partitioned; an existing GPT is kept and extended.
    Allow,
    /// The target must be blank.
    Require,
    /// Any existing table is replaced: everything on the target is lost.
    Force,
    /// The target image file must not exist yet; it is created with --target-size.
    Create,
}

/// How encrypted partitions are unlocked (`--encrypt=`, `[Encryption] Mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptionMode {
    /// Sealed to this machine's TPM; unlocks at boot without a password.
    Tpm2,
    /// Sealed to the TPM and a PIN asked at boot.
    #[serde(rename = "tpm2+pin")]
    Tpm2Pin,
    /// A passphrase asked at boot.
    Passphrase,
    Off,
}

impl EmptyMode {
    /// Each mode with its name, as `--empty=` and the answers file spell it.
    pub const NAMES: [(&'static str, EmptyMode); 5] = [
        ("refuse", EmptyMode::Refuse),
        ("allow", EmptyMode::Allow),
        ("require", EmptyMode::Require),
        ("force", EmptyMode::Force),
        ("create", EmptyMode::Create),
    ];
    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, m)| *m == self).map(|(n, _)| *n).unwrap_or("refuse")
    }
}

impl EncryptionMode {
    /// Each mode with its name, as `--encrypt=`, profiles and the answers file spell it.
    pub const NAMES: [(&'static str, EncryptionMode); 4] = [
        ("tpm2", EncryptionMode::Tpm2),
        ("tpm2+pin", EncryptionMode::Tpm2Pin),
        ("passphrase", EncryptionMode::Passphrase),
        ("off", EncryptionMode::Off),
    ];
    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, m)| *m == self).map(|(n, _)| *n).unwrap_or("off")
    }
}

/// One way to open an encrypted partition: a keyslot (and for TPM2 and the recovery key, a token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unlock {
    Tpm2,
    #[serde(rename = "tpm2+pin")]
    Tpm2Pin,
    Passphrase,
    RecoveryKey,
}

/// How the encrypted partitions of an install are unlocked; the same for all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EncryptionPlan {
    /// `--encrypt=`/`[Encryption] Mode=`; None: each partition as its `Encrypt=` says.
    pub mode: Option<EncryptionMode>,
    pub tpm2_device: String,
    pub tpm2_pcrs: Vec<u32>,
    pub pcr_bank: String,
    /// PEM public key for a signed PCR policy, and the PCRs it covers.
    pub public_key: Option<PathBuf>,
    pub public_key_pcrs: Vec<u32>,
    /// The PCR signatures (`tpm2-pcr-signature.json`, a UKI's `.pcrsig`) the proof unseals with
    /// when the policy is signed; None: systemd's usual places.
    pub pcr_signature: Option<PathBuf>,
    pub recovery_key: bool,
    /// The PEM key itself when it was read from the source's UKI (`.pcrpkey`): held in memory,
    /// never written to a file.
    #[serde(skip)]
    pub public_key_pem: Option<Vec<u8>>,
    /// The UKI's `.pcrsig` JSON, in memory, for the proof's unseal.
    #[serde(skip)]
    pub pcr_signature_json: Option<Vec<u8>>,
    /// Where an in-memory key came from, in words (e.g. `the source ESP's EFI/Linux/os.efi`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_from: Option<String>,
}

impl EncryptionPlan {
    /// The keyslots a partition whose definition says `encrypt` gets.
    pub fn unlocks(&self, encrypt: EncryptMode) -> Vec<Unlock> {
        let mut v = match (self.mode, encrypt) {
            (_, EncryptMode::Off) | (Some(EncryptionMode::Off), _) => return Vec::new(),
            (Some(EncryptionMode::Tpm2), _) => vec![Unlock::Tpm2],
            (Some(EncryptionMode::Tpm2Pin), _) => vec![Unlock::Tpm2Pin],
            (Some(EncryptionMode::Passphrase), _) => vec![Unlock::Passphrase],
            (None, EncryptMode::KeyFile) => vec![Unlock::Passphrase],
            (None, EncryptMode::Tpm2) => vec![Unlock::Tpm2],
            (None, EncryptMode::KeyFileTpm2) => vec![Unlock::Passphrase, Unlock::Tpm2],
        };
        if self.recovery_key {
            v.push(Unlock::RecoveryKey);
        }
        v
    }
}

/// A partition found in an existing GPT (on the target or the source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExistingPartition {
    /// 1-based partition number.
    pub number: u32,
    pub type_uuid: Uuid,
    pub uuid: Uuid,
    pub label: String,
    pub first_lba: u64,
    /// Inclusive.
    pub last_lba: u64,
    pub flags: u64,
}

impl ExistingPartition {
    pub fn offset(&self, sector: u64) -> u64 {
        self.first_lba * sector
    }
    pub fn size(&self, sector: u64) -> u64 {
        (self.last_lba + 1 - self.first_lba) * sector
    }
}

/// A GPT as read from a disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExistingTable {
    pub disk_guid: Uuid,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub partitions: Vec<ExistingPartition>,
}

/// What the target holds today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TargetContent {
    /// Nothing recognisable: no partition table, no file-system signature.
    Blank,
    Gpt(ExistingTable),
    /// Something else that would be destroyed (an MBR table, a file system, LUKS…).
    Other {
        what: String,
    },
    /// An image file that does not exist yet.
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetFacts {
    pub path: PathBuf,
    /// Size in bytes (for a missing image file: the size it will be created with).
    pub size: u64,
    pub sector_size: u32,
    pub is_block_device: bool,
    pub content: TargetContent,
}

/// The install source: a disk or image with a GPT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceFacts {
    pub path: PathBuf,
    pub sector_size: u32,
    pub partitions: Vec<ExistingPartition>,
    /// Partition numbers that back the running / and /usr (from `--source auto`): preferred
    /// for CopyBlocks=auto.
    pub preferred: Vec<u32>,
}

/// Everything the planner needs.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub definitions: Vec<PartitionDef>,
    pub target: TargetFacts,
    pub source: Option<SourceFacts>,
    /// Sizes of the files and devices named by CopyBlocks=/path.
    pub copy_file_sizes: BTreeMap<PathBuf, u64>,
    pub seed: Uuid,
    pub empty: EmptyMode,
    /// Set when any definition is encrypted.
    pub encryption: Option<EncryptionPlan>,
}

/// A source partition's dm-verity companions (same file as the data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VeritySource {
    pub hash_offset: u64,
    pub hash_size: u64,
    /// The `*-verity-sig` partition (offset, size), which names the root hash.
    pub signature: Option<(u64, u64)>,
    /// The root hash systemd-repart encodes in the two partition UUIDs (data ‖ hash), in hex.
    pub uuid_root_hash: String,
}

/// Where a partition's content comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Content {
    /// Left as it is (existing partitions) or empty (new partitions without content).
    None,
    /// Copy `size` bytes from `path` at `offset` (CopyBlocks=); `verity` is the source's
    /// dm-verity partition for this data, when it has one, to check the copy against.
    CopyBlocks { path: PathBuf, offset: u64, size: u64, what: String, verity: Option<VeritySource> },
    /// Make a file system with `mkfs.FS`.
    Format { fs: String, uuid: Uuid, label: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Existing partition, unchanged.
    Keep,
    /// Existing partition, grown into free space after it.
    Grow,
    /// New partition.
    Create,
    /// Existing partition without a definition: never touched.
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedPartition {
    /// 1-based partition number.
    pub number: u32,
    pub action: Action,
    pub definition: Option<PathBuf>,
    pub type_uuid: Uuid,
    pub type_name: Option<String>,
    pub label: String,
    pub uuid: Uuid,
    pub offset: u64,
    pub size: u64,
    pub padding: u64,
    pub old_size: Option<u64>,
    pub flags: u64,
    pub content: Content,
    pub factory_reset: bool,
    pub encrypt: EncryptMode,
    /// For an encrypted new partition: its LUKS2 UUID and label, and how it is unlocked.
    pub luks: Option<LuksPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LuksPlan {
    pub uuid: Uuid,
    /// `luks-<partition label>`, as systemd-repart names it since v259.
    pub label: String,
    pub unlock: Vec<Unlock>,
}

impl PlannedPartition {
    pub fn first_lba(&self, sector: u64) -> u64 {
        self.offset / sector
    }
    pub fn last_lba(&self, sector: u64) -> u64 {
        (self.offset + self.size) / sector - 1
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TableAction {
    /// Write a new GPT (a blank target, or `--empty=force`).
    Create,
    /// Keep the existing GPT and add to it.
    Extend,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DroppedDefinition {
    pub definition: PathBuf,
    pub priority: i32,
}

/// The whole install, decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub version: u32,
    pub target: PathBuf,
    pub target_size: u64,
    /// Create the target image file (sparse) with this size first.
    pub create_image: bool,
    pub is_block_device: bool,
    pub sector_size: u32,
    pub grain: u64,
    pub table: TableAction,
    pub disk_guid: Uuid,
    pub first_usable_lba: u64,
    pub last_usable_lba: u64,
    pub partitions: Vec<PlannedPartition>,
    pub dropped: Vec<DroppedDefinition>,
    /// What is on the target now and will be lost.
    pub destroys: Vec<String>,
    pub seed: Uuid,
    pub source: Option<PathBuf>,
    pub encryption: Option<EncryptionPlan>,
}

impl Plan {
    /// Bytes the executor copies (before skipping holes).
    pub fn bytes_to_copy(&self) -> u64 {
        self.partitions
            .iter()
            .map(|p| match &p.content {
                Content::CopyBlocks { size, .. } => *size,
                _ => 0,
            })
            .sum()
    }

    /// Whether carrying out this plan can lose data already on the target.
    pub fn loses_data(&self) -> bool {
        !self.destroys.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{target} is too small: the partitions need at least {} ({needed} bytes), the disk has {} ({available} bytes)", crate::units::bytes(*needed), crate::units::bytes(*available))]
    TooSmall { target: PathBuf, needed: u64, available: u64 },
    #[error(
        "{target} already has a partition table ({what}); pass --empty=allow to keep it and add partitions, or --empty=force to erase it"
    )]
    HasTable { target: PathBuf, what: String },
    #[error("{target} is not blank ({what}); pass --empty=force to erase it")]
    NotBlank { target: PathBuf, what: String },
    #[error("{target} already exists; --empty=create makes a new image file only")]
    Exists { target: PathBuf },
    #[error("{target} does not exist; to create an image file give its size with --target-size")]
    MissingNoSize { target: PathBuf },
    #[error("{definition}: CopyBlocks=auto needs an install source (--source)")]
    NoSource { definition: PathBuf },
    #[error("{definition}: CopyBlocks=auto: the source {source_path} has no partition of type {type_desc}")]
    NoSourcePartition { definition: PathBuf, source_path: PathBuf, type_desc: String },
    #[error(
        "{definition}: CopyBlocks=auto: the source {source_path} has several partitions of type {type_desc} ({candidates}); say which with CopyBlocks=/path"
    )]
    AmbiguousSource { definition: PathBuf, source_path: PathBuf, type_desc: String, candidates: String },
    #[error("{definition}: CopyBlocks={path}: size unknown (could not be read)")]
    CopySizeUnknown { definition: PathBuf, path: PathBuf },
    #[error("{definition}: CopyBlocks={path}: size {size} is not a non-zero multiple of 512")]
    CopySizeInvalid { definition: PathBuf, path: PathBuf, size: u64 },
    #[error("{definition}: SizeMaxBytes={max} is smaller than the {size} bytes CopyBlocks= copies")]
    CopyTooLarge { definition: PathBuf, max: u64, size: u64 },
    #[error("unsupported sector size {0}: imprint handles 512 and 4096")]
    SectorSize(u32),
}

/// The partition-table geometry libfdisk gives a new GPT: first usable LBA on the 1 MiB
/// boundary, last usable LBA just before the backup entries (128 entries of 128 bytes).
pub fn new_table_geometry(size: u64, sector: u64) -> (u64, u64) {
    let entries = (128 * 128u64).div_ceil(sector);
    let nsectors = size / sector;
    let first = (1u64 << 20) / sector;
    let last = nsectors.saturating_sub(1 + entries + 1);
    (first, last)
}

fn merge_flags(def: &PartitionDef) -> u64 {
    let t = &def.ptype;
    let mut f = def.flags;
    let mut set = |bit: u64, on: Option<bool>, knows: bool| {
        if let (Some(on), true) = (on, knows) {
            if on { f |= bit } else { f &= !bit }
        }
    };
    set(FLAG_NO_AUTO, def.no_auto, t.knows_no_auto());
    set(FLAG_READ_ONLY, def.read_only, t.knows_read_only());
    set(FLAG_GROWFS, def.growfs, t.knows_growfs());
    f
}

/// The smallest size mkfs accepts for a file system (systemd's `minimal_size_by_fs_name`).
fn minimal_fs_size(fs: &str) -> Option<u64> {
    match fs {
        "ext4" | "vfat" => Some(1 << 20),
        "btrfs" => Some(114 << 20),
        "xfs" => Some(16 << 20),
        "swap" => Some(40 << 10),
        _ => None,
    }
}

fn type_desc(t: &PartType) -> String {
    t.name().unwrap_or_else(|| t.uuid.to_string())
}

/// Where a CopyBlocks= partition's bytes come from: path, offset, size, description, verity.
type CopyInfo = (PathBuf, u64, u64, String, Option<VeritySource>);

/// Turns a request into a plan.
pub fn plan(req: &PlanRequest) -> Result<Plan, PlanError> {
    let t = &req.target;
    let sector = u64::from(t.sector_size);
    if sector != 512 && sector != 4096 {
        return Err(PlanError::SectorSize(t.sector_size));
    }
    let grain = sector.max(4096);

    // What happens to what is there now.
    let (existing, table_action, mut destroys) = match (&t.content, req.empty) {
        (TargetContent::Missing, EmptyMode::Create) | (TargetContent::Missing, _) => (None, TableAction::Create, vec![]),
        (_, EmptyMode::Create) => return Err(PlanError::Exists { target: t.path.clone() }),
        (TargetContent::Blank, _) => (None, TableAction::Create, vec![]),
        (TargetContent::Gpt(g), EmptyMode::Allow) => (Some(g.clone()), TableAction::Extend, vec![]),
        (TargetContent::Gpt(g), EmptyMode::Force) => {
            let d = g
                .partitions
                .iter()
                .map(|p| {
                    let name = types::from_uuid(p.type_uuid).name().unwrap_or_else(|| p.type_uuid.to_string());
                    format!("partition {} \"{}\" ({}, {})", p.number, p.label, name, crate::units::bytes(p.size(sector)))
                })
                .collect::<Vec<_>>();
            let d = if d.is_empty() { vec!["an empty GPT partition table".to_string()] } else { d };
            (None, TableAction::Create, d)
        }
        (TargetContent::Gpt(g), EmptyMode::Refuse) if is_own_table(req, g) => {
            // The very table this request lays out, from an earlier (perhaps interrupted) run of
            // the same command: laid out again. What it holds still counts as lost, so only --yes
            // or a typed confirmation goes ahead.
            let d = g
                .partitions
                .iter()
                .map(|p| format!("partition {} \"{}\" (written by an earlier run of this install)", p.number, p.label))
                .collect();
            (None, TableAction::Create, d)
        }
        (TargetContent::Gpt(g), _) => {
            return Err(PlanError::HasTable { target: t.path.clone(), what: format!("GPT with {} partitions", g.partitions.len()) });
        }
        (TargetContent::Other { what }, EmptyMode::Force) => (None, TableAction::Create, vec![what.clone()]),
        (TargetContent::Other { what }, _) => return Err(PlanError::NotBlank { target: t.path.clone(), what: what.clone() }),
    };
    if matches!(t.content, TargetContent::Missing) && t.size == 0 {
        return Err(PlanError::MissingNoSize { target: t.path.clone() });
    }

    let (first_lba, last_lba, disk_guid) = match &existing {
        Some(g) => (g.first_usable_lba, g.last_usable_lba, g.disk_guid),
        None => {
            let (f, l) = new_table_geometry(t.size, sector);
            (f, l, derive::disk_uuid(req.seed))
        }
    };
    // Bind existing partitions to definitions by type, in order (repart's matching).
    let defs = &req.definitions;
    let (bound, foreign) = match &existing {
        Some(g) => bind(defs, g),
        None => (vec![None; defs.len()], Vec::new()),
    };

    // Resolve CopyBlocks sources.
    let mut copy: Vec<Option<CopyInfo>> = vec![None; defs.len()];
    let mut used_source: Vec<u32> = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        if bound[i].is_some() {
            continue;
        }
        match &def.copy_blocks {
            None => {}
            Some(CopyBlocks::Path(path)) => {
                let size = *req
                    .copy_file_sizes
                    .get(path)
                    .ok_or_else(|| PlanError::CopySizeUnknown { definition: def.file.clone(), path: path.clone() })?;
                if size == 0 || size % 512 != 0 {
                    return Err(PlanError::CopySizeInvalid { definition: def.file.clone(), path: path.clone(), size });
                }
                copy[i] = Some((path.clone(), 0, size, path.display().to_string(), None));
            }
            Some(CopyBlocks::Auto) => {
                let src = req.source.as_ref().ok_or_else(|| PlanError::NoSource { definition: def.file.clone() })?;
                let ssec = u64::from(src.sector_size);
                let cands: Vec<&ExistingPartition> = src
                    .partitions
                    .iter()
                    .filter(|p| p.type_uuid == def.ptype.uuid && p.label != "_empty" && !used_source.contains(&p.number))
                    .collect();
                let preferred: Vec<&&ExistingPartition> = cands.iter().filter(|p| src.preferred.contains(&p.number)).collect();
                let chosen = match (preferred.len(), cands.len()) {
                    (1, _) => *preferred[0],
                    (_, 0) => {
                        return Err(PlanError::NoSourcePartition {
                            definition: def.file.clone(),
                            source_path: src.path.clone(),
                            type_desc: type_desc(&def.ptype),
                        });
                    }
                    (_, 1) => cands[0],
                    _ => {
                        let more_defs = defs[i + 1..]
                            .iter()
                            .filter(|d| d.ptype.uuid == def.ptype.uuid && d.copy_blocks == Some(CopyBlocks::Auto))
                            .count();
                        if more_defs + 1 >= cands.len() {
                            cands[0]
                        } else {
                            return Err(PlanError::AmbiguousSource {
                                definition: def.file.clone(),
                                source_path: src.path.clone(),
                                type_desc: type_desc(&def.ptype),
                                candidates: cands.iter().map(|p| format!("#{} \"{}\"", p.number, p.label)).collect::<Vec<_>>().join(", "),
                            });
                        }
                    }
                };
                used_source.push(chosen.number);
                let what = format!("{} partition {} \"{}\"", src.path.display(), chosen.number, chosen.label);
                let verity = verity_of(src, chosen);
                copy[i] = Some((src.path.clone(), chosen.offset(ssec), chosen.size(ssec), what, verity));
            }
        }
        if let (Some((_, _, size, _, _)), Some(max)) = (&copy[i], def.size_max)
            && *size > max
        {
            return Err(PlanError::CopyTooLarge { definition: def.file.clone(), max, size: *size });
        }
    }

    // Layout input.
    let round_up = |v: u64| v.div_ceil(grain) * grain;
    let mut lparts: Vec<layout::Part> = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let current = bound[i].map(|p| current_of(p, &existing, sector, grain));
        let mut content_min = 0;
        if current.is_none() {
            if def.encrypt != EncryptMode::Off {
                content_min += round_up(LUKS2_METADATA_SIZE);
            }
            if let Some((_, _, size, _, _)) = &copy[i] {
                content_min += round_up(*size);
            } else if def.format.is_some() || def.encrypt != EncryptMode::Off {
                content_min += def.format.as_deref().and_then(minimal_fs_size).map_or(grain, round_up);
            }
        }
        lparts.push(layout::Part {
            current,
            foreign: false,
            priority: def.priority,
            weight: u64::from(def.weight),
            padding_weight: u64::from(def.padding_weight),
            size_min: def.size_min,
            size_max: def.size_max,
            padding_min: def.padding_min,
            padding_max: def.padding_max,
            content_min,
            ..Default::default()
        });
    }
    for p in &foreign {
        lparts.push(layout::Part { current: Some(current_of(p, &existing, sector, grain)), foreign: true, ..Default::default() });
    }
    let mut lay = layout::Layout::new(grain, sector, first_lba, last_lba, lparts);
    if let Err(e) = lay.run() {
        // The smallest disk that would do: what the partitions need, plus what the table and
        // alignment cost on this target.
        let overhead = t.size.saturating_sub(lay.end.saturating_sub(lay.start));
        let needed = if existing.is_some() { e.needed_disk_size.max(t.size + 1) } else { e.needed_disk_size.max(overhead) };
        return Err(PlanError::TooSmall { target: t.path.clone(), needed, available: t.size });
    }

    // UUIDs and labels, in list order (partition_acquire_uuid / partition_acquire_label).
    let n = defs.len() + foreign.len();
    let mut uuids: Vec<Uuid> = vec![Uuid::nil(); n];
    let mut labels: Vec<String> = vec![String::new(); n];
    let type_of = |i: usize| if i < defs.len() { defs[i].ptype.uuid } else { foreign[i - defs.len()].type_uuid };
    let existing_of = |i: usize| if i < defs.len() { bound[i] } else { Some(foreign[i - defs.len()]) };
    for i in 0..n {
        if lay.parts[i].dropped {
            continue;
        }
        let cur = existing_of(i);
        uuids[i] = match (cur, i < defs.len()) {
            (Some(p), _) if !p.uuid.is_nil() || i >= defs.len() => p.uuid,
            _ => match defs[i].uuid {
                Some(UuidSetting::Explicit(u)) => u,
                Some(UuidSetting::Null) => Uuid::nil(),
                None => {
                    let k = (0..i).filter(|&j| type_of(j) == type_of(i)).count() as u64;
                    let u = derive::partition_uuid(req.seed, type_of(i), k);
                    let clash = (0..n).any(|j| j != i && (uuids[j] == u || existing_of(j).is_some_and(|p| p.uuid == u)));
                    // systemd falls back to a random UUID here; a plan must be reproducible, so
                    // derive another one deterministically instead.
                    if clash { derive::partition_uuid(req.seed, type_of(i), k + 0x1_0000_0000) } else { u }
                }
            },
        };
        labels[i] = match cur {
            Some(p) if !p.label.is_empty() || i >= defs.len() => p.label.clone(),
            _ => match &defs[i].label {
                Some(l) => l.clone(),
                None => {
                    let prefix = defs[i].ptype.name().unwrap_or_else(|| "linux".to_string());
                    let mut k = 1;
                    let mut label = prefix.clone();
                    while (0..i).any(|j| labels[j] == label || existing_of(j).is_some_and(|p| p.label == label)) {
                        k += 1;
                        label = format!("{prefix}-{k}");
                    }
                    label
                }
            },
        };
    }

    let mut partitions = Vec::new();
    let mut dropped = Vec::new();
    for i in 0..n {
        let lp = &lay.parts[i];
        if lp.dropped {
            dropped.push(DroppedDefinition { definition: defs[i].file.clone(), priority: defs[i].priority });
            continue;
        }
        let cur = existing_of(i);
        let is_def = i < defs.len();
        let action = match (cur, is_def) {
            (Some(_), false) => Action::Foreign,
            (Some(p), true) if lp.new_size > p.size(sector) => Action::Grow,
            (Some(_), true) => Action::Keep,
            (None, _) => Action::Create,
        };
        let content = match (action, is_def) {
            (Action::Create, true) => match (&copy[i], &defs[i].format) {
                (Some((path, offset, size, what, verity)), _) => {
                    Content::CopyBlocks { path: path.clone(), offset: *offset, size: *size, what: what.clone(), verity: verity.clone() }
                }
                (None, Some(fs)) => Content::Format { fs: fs.clone(), uuid: derive::fs_uuid(uuids[i]), label: labels[i].clone() },
                (None, None) => Content::None,
            },
            _ => Content::None,
        };
        let flags = match cur {
            Some(p) => p.flags,
            None => merge_flags(&defs[i]),
        };
        let ptype = types::from_uuid(type_of(i));
        partitions.push(PlannedPartition {
            number: lp.partno + 1,
            action,
            definition: is_def.then(|| defs[i].file.clone()),
            type_uuid: ptype.uuid,
            type_name: ptype.name(),
            label: labels[i].clone(),
            uuid: uuids[i],
            offset: lp.offset,
            size: lp.new_size,
            padding: lp.new_padding,
            old_size: cur.map(|p| p.size(sector)),
            flags,
            content,
            factory_reset: is_def && defs[i].factory_reset,
            encrypt: if is_def { defs[i].encrypt } else { EncryptMode::Off },
            luks: match (&req.encryption, is_def && action == Action::Create) {
                (Some(enc), true) if !enc.unlocks(defs[i].encrypt).is_empty() => Some(LuksPlan {
                    uuid: derive::luks_uuid(uuids[i]),
                    label: format!("luks-{}", labels[i]),
                    unlock: enc.unlocks(defs[i].encrypt),
                }),
                _ => None,
            },
        });
    }
    partitions.sort_by_key(|p| p.number);
    destroys.sort();

    Ok(Plan {
        version: 1,
        target: t.path.clone(),
        target_size: t.size,
        create_image: matches!(t.content, TargetContent::Missing),
        is_block_device: t.is_block_device,
        sector_size: t.sector_size,
        grain,
        table: table_action,
        disk_guid,
        first_usable_lba: first_lba,
        last_usable_lba: last_lba,
        partitions,
        dropped,
        destroys,
        seed: req.seed,
        source: req.source.as_ref().map(|s| s.path.clone()),
        encryption: req.encryption.clone(),
    })
}

/// systemd-repart's matching: the i-th existing partition of a type (in slot order) is bound to
/// the i-th definition of that type. Returns, per definition, the partition bound to it, and the
/// partitions no definition claims (foreign: never touched).
pub fn bind<'a>(defs: &[PartitionDef], table: &'a ExistingTable) -> (Vec<Option<&'a ExistingPartition>>, Vec<&'a ExistingPartition>) {
    let mut bound: Vec<Option<&ExistingPartition>> = vec![None; defs.len()];
    let mut foreign: Vec<&ExistingPartition> = Vec::new();
    let mut parts: Vec<&ExistingPartition> = table.partitions.iter().collect();
    parts.sort_by_key(|p| p.number);
    for p in parts {
        match (0..defs.len()).find(|&i| bound[i].is_none() && defs[i].ptype.uuid == p.type_uuid) {
            Some(i) => bound[i] = Some(p),
            None => foreign.push(p),
        }
    }
    (bound, foreign)
}

/// The source's dm-verity hash (and signature) partition for a root or /usr data partition: of
/// the matching verity type and architecture, with the same label, or the only one there is.
fn verity_of(src: &SourceFacts, data: &ExistingPartition) -> Option<VeritySource> {
    use crate::profile::types::Designator as D;
    let t = types::from_uuid(data.type_uuid);
    let (hash_kind, sig_kind) = match t.designator {
        D::Usr => (D::UsrVerity, D::UsrVeritySig),
        D::Root => (D::RootVerity, D::RootVeritySig),
        _ => return None,
    };
    let pick = |kind: D| -> Option<&ExistingPartition> {
        let cands: Vec<&ExistingPartition> = src
            .partitions
            .iter()
            .filter(|p| {
                let pt = types::from_uuid(p.type_uuid);
                pt.designator == kind && pt.arch == t.arch
            })
            .collect();
        cands.iter().find(|p| p.label == data.label).copied().or(if cands.len() == 1 { Some(cands[0]) } else { None })
    };
    let s = u64::from(src.sector_size);
    let hash = pick(hash_kind)?;
    let hex = |u: &Uuid| u.as_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>();
    Some(VeritySource {
        hash_offset: hash.offset(s),
        hash_size: hash.size(s),
        signature: pick(sig_kind).map(|p| (p.offset(s), p.size(s))),
        uuid_root_hash: format!("{}{}", hex(&data.uuid), hex(&hash.uuid)),
    })
}

/// Whether `g` is exactly the table `req` would write on a blank target.
fn is_own_table(req: &PlanRequest, g: &ExistingTable) -> bool {
    let mut blank = req.clone();
    blank.target.content = TargetContent::Blank;
    let Ok(plan) = plan(&blank) else { return false };
    let s = u64::from(req.target.sector_size);
    plan.disk_guid == g.disk_guid
        && plan.partitions.len() == g.partitions.len()
        && plan.partitions.iter().zip(&g.partitions).all(|(a, b)| {
            a.number == b.number
                && a.type_uuid == b.type_uuid
                && a.uuid == b.uuid
                && a.label == b.label
                && a.flags == b.flags
                && a.first_lba(s) == b.first_lba
                && a.last_lba(s) == b.last_lba
        })
}

fn current_of(p: &ExistingPartition, table: &Option<ExistingTable>, sector: u64, grain: u64) -> layout::Current {
    let offset = p.offset(sector);
    let end = (p.last_lba + 1) * sector;
    let g = table.as_ref().expect("existing partitions come from a table");
    let next = g.partitions.iter().map(|q| q.offset(sector)).filter(|&s| s >= end).min().unwrap_or((g.last_usable_lba + 1) * sector);
    let padding = (next / grain * grain).saturating_sub(end.div_ceil(grain) * grain);
    layout::Current { offset, size: p.size(sector), partno: p.number - 1, padding }
}

/// The plan as a table for people (`--dry-run`).
pub fn render(plan: &Plan) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Target: {} ({}, {}-byte sectors){}",
        plan.target.display(),
        crate::units::bytes(plan.target_size),
        plan.sector_size,
        if plan.create_image { ", new sparse image file" } else { "" }
    );
    let _ = writeln!(
        s,
        "Table:  {} GPT, disk GUID {}",
        match plan.table {
            TableAction::Create => "new",
            TableAction::Extend => "existing",
        },
        plan.disk_guid
    );
    if let Some(src) = &plan.source {
        let _ = writeln!(s, "Source: {}", src.display());
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "{:>2}  {:<7} {:<18} {:<16} {:>10} {:>10}  CONTENT", "#", "ACTION", "TYPE", "LABEL", "START", "SIZE");
    for p in &plan.partitions {
        let size = match (p.action, p.old_size) {
            (Action::Grow, Some(old)) => format!("{}→{}", crate::units::bytes(old), crate::units::bytes(p.size)),
            _ => crate::units::bytes(p.size),
        };
        let content = match &p.content {
            Content::None if p.action == Action::Create => "empty".to_string(),
            Content::None => "unchanged".to_string(),
            Content::CopyBlocks { what, size, .. } => format!("copy {} from {what}", crate::units::bytes(*size)),
            Content::Format { fs, .. } => format!("new {fs} file system"),
        };
        let mut extra = Vec::new();
        if p.factory_reset {
            extra.push("factory-reset");
        }
        let unlock;
        if let Some(l) = &p.luks {
            let names: Vec<&str> = l
                .unlock
                .iter()
                .map(|u| match u {
                    Unlock::Tpm2 => "TPM2",
                    Unlock::Tpm2Pin => "TPM2+PIN",
                    Unlock::Passphrase => "passphrase",
                    Unlock::RecoveryKey => "recovery key",
                })
                .collect();
            unlock = format!("encrypted: {}", names.join(" or "));
            extra.push(&unlock);
        }
        if p.flags & FLAG_READ_ONLY != 0 {
            extra.push("read-only");
        }
        if p.flags & FLAG_NO_AUTO != 0 {
            extra.push("no-auto");
        }
        if p.flags & FLAG_GROWFS != 0 {
            extra.push("growfs");
        }
        let extra = if extra.is_empty() { String::new() } else { format!(" [{}]", extra.join(", ")) };
        let action = match p.action {
            Action::Keep => "keep",
            Action::Grow => "grow",
            Action::Create => "create",
            Action::Foreign => "foreign",
        };
        let _ = writeln!(
            s,
            "{:>2}  {:<7} {:<18} {:<16} {:>10} {:>10}  {}{}",
            p.number,
            action,
            p.type_name.clone().unwrap_or_else(|| p.type_uuid.to_string()),
            p.label,
            crate::units::bytes(p.offset),
            size,
            content,
            extra
        );
    }
    for d in &plan.dropped {
        let _ = writeln!(s, "    dropped (does not fit, priority {}): {}", d.priority, d.definition.display());
    }
    let _ = writeln!(s);
    if plan.destroys.is_empty() {
        let _ = writeln!(s, "Nothing on the target is lost.");
    } else {
        let _ = writeln!(s, "Lost for good:");
        for d in &plan.destroys {
            let _ = writeln!(s, "  - {d}");
        }
    }
    let _ = writeln!(s, "To copy: {}", crate::units::bytes(plan.bytes_to_copy()));
    s
}
