//! systemd-repart definitions (`repart.d/*.conf`), read as systemd-repart reads them.
//!
//! Files are used unchanged: only a `[Partition]` section, files sorted by file name, drop-ins
//! in `NAME.conf.d/`. Keys imprint does not implement (CopyFiles=, Verity=, …) are refused by
//! name rather than silently ignored, so a layout never differs from what repart would build.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::ini::{self, ConfigError, Entry};
use super::types::{self, PartType};

/// `Encrypt=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncryptMode {
    #[default]
    Off,
    KeyFile,
    Tpm2,
    KeyFileTpm2,
}

/// `CopyBlocks=`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyBlocks {
    /// The source's partition of the same type.
    Auto,
    Path(PathBuf),
}

/// `UUID=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UuidSetting {
    Explicit(Uuid),
    /// `UUID=null`: all zeroes.
    Null,
}

/// One `[Partition]` definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartitionDef {
    /// The definition's file (for messages).
    pub file: PathBuf,
    pub part_type: PartTypeView,
    #[serde(skip)]
    pub ptype: PartType,
    pub label: Option<String>,
    pub uuid: Option<UuidSetting>,
    pub priority: i32,
    pub weight: u32,
    pub padding_weight: u32,
    pub size_min: Option<u64>,
    pub size_max: Option<u64>,
    pub padding_min: Option<u64>,
    pub padding_max: Option<u64>,
    pub copy_blocks: Option<CopyBlocks>,
    pub format: Option<String>,
    pub factory_reset: bool,
    pub flags: u64,
    pub read_only: Option<bool>,
    pub no_auto: Option<bool>,
    pub growfs: Option<bool>,
    pub encrypt: EncryptMode,
}

/// The serializable face of a [`PartType`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartTypeView {
    pub uuid: Uuid,
    pub name: Option<String>,
}

/// File systems `Format=` accepts (those with an mkfs this project drives).
pub const FORMATS: &[&str] = &["vfat", "ext4", "btrfs", "xfs", "swap"];

/// Keys systemd-repart knows but imprint does not implement: refused by name.
const UNSUPPORTED: &[&str] = &[
    "CopyFiles",
    "ExcludeFiles",
    "ExcludeFilesTarget",
    "MakeDirectories",
    "MakeSymlinks",
    "Subvolumes",
    "DefaultSubvolume",
    "Verity",
    "VerityMatchKey",
    "VerityDataBlockSizeBytes",
    "VerityHashBlockSizeBytes",
    "SplitName",
    "Minimize",
    "MountPoint",
    "EncryptedVolume",
    "Compression",
    "CompressionLevel",
    "SupplementFor",
    "AddValidateFS",
    "FileSystemSectorSize",
    "TPM2PCRs",
    "KeyFile",
    "Integrity",
    "IntegrityAlgorithm",
    "BlockDeviceReplace",
    "VolumeName",
    "VolumeLabel",
    "Discard",
    "EncryptKDF",
];

const KEYS: &[&str] = &[
    "Type",
    "Label",
    "UUID",
    "Priority",
    "Weight",
    "PaddingWeight",
    "SizeMinBytes",
    "SizeMaxBytes",
    "PaddingMinBytes",
    "PaddingMaxBytes",
    "CopyBlocks",
    "Format",
    "FactoryReset",
    "Flags",
    "ReadOnly",
    "NoAuto",
    "GrowFileSystem",
    "Encrypt",
];

/// Reads every `*.conf` in the given folders, sorted by file name across all of them (as
/// systemd's `conf_files_list_strv` does; a later folder's file of the same name is masked by
/// an earlier one's).
pub fn load_definitions(dirs: &[PathBuf]) -> Result<Vec<PartitionDef>, ConfigError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(ConfigError::new(dir, None, "definitions folder does not exist"));
        }
        for f in ini::conf_files_in(dir)? {
            if !files.iter().any(|g| g.file_name() == f.file_name()) {
                files.push(f);
            }
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        return Err(ConfigError::new(
            dirs.first().map(PathBuf::as_path).unwrap_or(Path::new(".")),
            None,
            format!("no partition definitions (*.conf) in {}", shown.join(", ")),
        ));
    }
    files.iter().map(|f| load_definition(f)).collect()
}

/// Reads one definition file and its drop-ins.
pub fn load_definition(path: &Path) -> Result<PartitionDef, ConfigError> {
    let doc = ini::load_with_dropins(path)?;
    let mut def = PartitionDef {
        file: path.to_path_buf(),
        part_type: PartTypeView { uuid: Uuid::nil(), name: None },
        ptype: types::from_uuid(Uuid::nil()),
        label: None,
        uuid: None,
        priority: 0,
        weight: 1000,
        padding_weight: 0,
        size_min: None,
        size_max: None,
        padding_min: None,
        padding_max: None,
        copy_blocks: None,
        format: None,
        factory_reset: false,
        flags: 0,
        read_only: None,
        no_auto: None,
        growfs: None,
        encrypt: EncryptMode::Off,
    };
    let mut have_type = false;
    let mut size_lines: [Option<usize>; 4] = [None; 4];
    for section in &doc.sections {
        if section.name != "Partition" {
            return Err(section.error(format!("unknown section [{}]: repart.d files have only [Partition]", section.name)));
        }
        for e in &section.entries {
            apply(&mut def, e, &mut have_type, &mut size_lines)?;
        }
    }
    if !have_type {
        return Err(ConfigError::new(path, None, "Type= not defined, refusing (as systemd-repart does)"));
    }
    let line = |i: usize| size_lines[i];
    if let (Some(a), Some(b)) = (def.size_min, def.size_max) {
        if a > b {
            return Err(ConfigError::new(path, line(1), format!("SizeMinBytes= ({a}) is larger than SizeMaxBytes= ({b})")));
        }
    }
    if let (Some(a), Some(b)) = (def.padding_min, def.padding_max) {
        if a > b {
            return Err(ConfigError::new(path, line(3), format!("PaddingMinBytes= ({a}) is larger than PaddingMaxBytes= ({b})")));
        }
    }
    if def.copy_blocks.is_some() && def.format.is_some() {
        return Err(ConfigError::new(path, None, "CopyBlocks= and Format= cannot be combined (as in systemd-repart)"));
    }
    // systemd: swap partitions default to Format=swap only with content; verity types default to
    // read-only; GrowFileSystem defaults on where the type knows it and it is not read-only.
    if (def.ptype.is_verity() || def.ptype.is_verity_sig()) && def.read_only.is_none() {
        def.read_only = Some(true);
    }
    if def.ptype.knows_growfs() && def.growfs.is_none() && def.read_only != Some(true) {
        def.growfs = Some(true);
    }
    Ok(def)
}

fn apply(def: &mut PartitionDef, e: &Entry, have_type: &mut bool, size_lines: &mut [Option<usize>; 4]) -> Result<(), ConfigError> {
    let v = e.value.as_str();
    let bool_of = |what: &str| {
        ini::parse_bool(v).ok_or_else(|| e.error(format!("invalid {what}='{v}': expected a boolean (yes/no, true/false, 1/0, on/off)")))
    };
    match e.key.as_str() {
        "Type" => {
            let t = types::parse_type(v).ok_or_else(|| {
                e.error(format!(
                    "unknown partition type '{v}': expected a GPT type UUID or one of esp, xbootldr, swap, home, srv, var, tmp, \
                     user-home, linux-generic, root, usr, root-verity, usr-verity, root-verity-sig, usr-verity-sig, \
                     or those with an architecture (root-x86-64, usr-arm64-verity, …)"
                ))
            })?;
            def.part_type = PartTypeView { uuid: t.uuid, name: t.name() };
            def.ptype = t;
            *have_type = true;
        }
        "Label" => {
            if v.is_empty() {
                def.label = None;
            } else {
                if v.encode_utf16().count() > 36 {
                    return Err(e.error(format!("Label='{v}' is longer than the 36 UTF-16 characters a GPT label holds")));
                }
                if v.chars().any(|c| c.is_control()) {
                    return Err(e.error("Label= contains control characters"));
                }
                def.label = Some(v.to_string());
            }
        }
        "UUID" => {
            def.uuid = if v == "null" {
                Some(UuidSetting::Null)
            } else if v.is_empty() {
                None
            } else {
                Some(UuidSetting::Explicit(
                    Uuid::parse_str(v).map_err(|_| e.error(format!("invalid UUID='{v}': expected a UUID or 'null'")))?,
                ))
            };
        }
        "Priority" => {
            def.priority = v.parse().map_err(|_| e.error(format!("invalid Priority='{v}': expected a signed 32-bit integer")))?;
        }
        "Weight" | "PaddingWeight" => {
            let n: u32 = v
                .parse()
                .ok()
                .filter(|n| *n <= 1_000_000)
                .ok_or_else(|| e.error(format!("invalid {}='{v}': expected an integer from 0 to 1000000", e.key)))?;
            if e.key == "Weight" { def.weight = n } else { def.padding_weight = n }
        }
        "SizeMinBytes" | "SizeMaxBytes" | "PaddingMinBytes" | "PaddingMaxBytes" => {
            let (slot, up) = match e.key.as_str() {
                "SizeMinBytes" => (0, true),
                "SizeMaxBytes" => (1, false),
                "PaddingMinBytes" => (2, true),
                _ => (3, false),
            };
            let parsed = ini::parse_size(v).ok_or_else(|| {
                e.error(format!("invalid {}='{v}': expected a size in bytes, optionally with K, M, G, T suffix (base 1024)", e.key))
            })?;
            // systemd 252 (config_parse_size4096): minimums round up, maximums down, to 4096
            let rounded = if up { parsed.div_ceil(4096) * 4096 } else { parsed / 4096 * 4096 };
            if slot == 0 || slot == 1 {
                if rounded == 0 {
                    return Err(e.error(format!("{}='{v}' is too small: at least 4096 bytes", e.key)));
                }
            }
            let field = match slot {
                0 => &mut def.size_min,
                1 => &mut def.size_max,
                2 => &mut def.padding_min,
                _ => &mut def.padding_max,
            };
            *field = Some(rounded);
            size_lines[slot] = Some(e.line);
        }
        "CopyBlocks" => {
            def.copy_blocks = match v {
                "" => None,
                "auto" => Some(CopyBlocks::Auto),
                p if p.starts_with('/') => Some(CopyBlocks::Path(PathBuf::from(p))),
                _ => return Err(e.error(format!("invalid CopyBlocks='{v}': expected an absolute path or 'auto'"))),
            };
        }
        "Format" => {
            def.format = match v {
                "" => None,
                f if FORMATS.contains(&f) => Some(f.to_string()),
                _ => return Err(e.error(format!("unsupported Format='{v}': imprint formats {}", FORMATS.join(", ")))),
            };
        }
        "FactoryReset" => def.factory_reset = bool_of("FactoryReset")?,
        "Flags" => {
            let parsed = if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                u64::from_str_radix(h, 16).ok()
            } else if let Some(b) = v.strip_prefix("0b").or_else(|| v.strip_prefix("0B")) {
                u64::from_str_radix(b, 2).ok()
            } else {
                v.parse().ok()
            };
            def.flags = parsed.ok_or_else(|| e.error(format!("invalid Flags='{v}': expected a 64-bit number (decimal, 0x… or 0b…)")))?;
        }
        "ReadOnly" => def.read_only = Some(bool_of("ReadOnly")?),
        "NoAuto" => def.no_auto = Some(bool_of("NoAuto")?),
        "GrowFileSystem" => def.growfs = Some(bool_of("GrowFileSystem")?),
        "Encrypt" => {
            def.encrypt = match v {
                "off" => EncryptMode::Off,
                "key-file" => EncryptMode::KeyFile,
                "tpm2" => EncryptMode::Tpm2,
                "key-file+tpm2" => EncryptMode::KeyFileTpm2,
                other => match ini::parse_bool(other) {
                    Some(true) => EncryptMode::KeyFile,
                    Some(false) => EncryptMode::Off,
                    None => return Err(e.error(format!("invalid Encrypt='{v}': expected off, key-file, tpm2 or key-file+tpm2"))),
                },
            };
        }
        k if UNSUPPORTED.contains(&k) => {
            return Err(e.error(format!("{k}= is a systemd-repart key that imprint does not support; remove it or install with systemd-repart")));
        }
        k => {
            return Err(e.error(format!("unknown key '{k}' in [Partition]: valid keys are {}", KEYS.join(", "))));
        }
    }
    Ok(())
}
