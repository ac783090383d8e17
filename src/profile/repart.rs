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
    let mut masked: Vec<std::ffi::OsString> = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(ConfigError::new(dir, None, "definitions folder does not exist"));
        }
        for f in ini::conf_files_in(dir)? {
            let name = f.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            if masked.contains(&name) || files.iter().any(|g| g.file_name() == f.file_name()) {
                continue;
            }
            if is_masked(&f) {
                masked.push(name);
                continue;
            }
            files.push(f);
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

/// systemd's masking: a symlink to /dev/null (or an empty file) hides every file of that name.
fn is_masked(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Ok(m) => m.file_type().is_char_device() || (m.is_file() && m.len() == 0),
        Err(_) => std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null")),
    }
}

/// The largest SizeMinBytes=/PaddingMinBytes= accepted (16 PiB): 128 partitions of that much,
/// padding included, still add up inside 64 bits.
pub const MAX_MIN_BYTES: u64 = 1 << 54;

/// Reads one definition file and its drop-ins.
pub fn load_definition(path: &Path) -> Result<PartitionDef, ConfigError> {
    let doc = ini::load_with_dropins(path)?;
    definition_from_doc(path, &doc)
}

/// A definition from text already read (`path` names it in errors); drop-ins are not looked for.
pub fn parse_definition(path: &Path, text: &str) -> Result<PartitionDef, ConfigError> {
    definition_from_doc(path, &ini::parse_str(path, text)?)
}

fn definition_from_doc(path: &Path, doc: &ini::IniDoc) -> Result<PartitionDef, ConfigError> {
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
    if let (Some(a), Some(b)) = (def.size_min, def.size_max)
        && a > b
    {
        return Err(ConfigError::new(path, line(1), format!("SizeMinBytes= ({a}) is larger than SizeMaxBytes= ({b})")));
    }
    if let (Some(a), Some(b)) = (def.padding_min, def.padding_max)
        && a > b
    {
        return Err(ConfigError::new(path, line(3), format!("PaddingMinBytes= ({a}) is larger than PaddingMaxBytes= ({b})")));
    }
    if def.copy_blocks.is_some() && def.format.is_some() {
        return Err(ConfigError::new(path, None, "CopyBlocks= and Format= cannot be combined (as in systemd-repart)"));
    }
    // systemd: swap partitions default to Format=swap only with content; verity types default to
    // read-only; GrowFileSystem defaults on where the type knows it and it is not read-only.
    if (def.ptype.is_verity() || def.ptype.is_verity_sig()) && def.read_only.is_none() {
        def.read_only = Some(true);
    }
    // As systemd-repart does (252 and upstream alike): GrowFileSystem= is forced on for types
    // that know it unless the partition is read-only, even when set to "no".
    if def.ptype.knows_growfs() && def.read_only != Some(true) {
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
                    "invalid Type='{v}': unknown partition type; expected a GPT type UUID or one of esp, xbootldr, swap, home, srv, var, tmp, \
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
            let (slot, is_min) = match e.key.as_str() {
                "SizeMinBytes" => (0, true),
                "SizeMaxBytes" => (1, false),
                "PaddingMinBytes" => (2, true),
                _ => (3, false),
            };
            let parsed = ini::parse_size(v).ok_or_else(|| {
                e.error(format!("invalid {}='{v}': expected a size in bytes, optionally with K, M, G, T suffix (base 1024)", e.key))
            })?;
            // What systemd-repart's config_parse_size4096 does (252 through 261, contrary to its
            // man page): minimums round *down*, maximums *up*, to a multiple of 4096.
            let rounded = if is_min { Some(parsed / 4096 * 4096) } else { parsed.div_ceil(4096).checked_mul(4096) };
            let rounded = rounded.ok_or_else(|| e.error(format!("invalid {}='{v}': too large", e.key)))?;
            // minimums add up across partitions: none may exceed what any disk could be
            if is_min && rounded > MAX_MIN_BYTES {
                return Err(e.error(format!("invalid {}='{v}': larger than any disk imprint lays out (16 PiB)", e.key)));
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
            return Err(
                e.error(format!("{k}= is a systemd-repart key that imprint does not support; remove it or install with systemd-repart"))
            );
        }
        k => {
            return Err(e.error(format!("unknown key '{k}' in [Partition]: valid keys are {}", KEYS.join(", "))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `text` as `NAME` into a new temporary folder; returns the folder and the file.
    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn load(text: &str) -> Result<PartitionDef, ConfigError> {
        let (_dir, path) = write("50-test.conf", text);
        load_definition(&path)
    }

    /// The error for `text`, checked to start with `FILE:LINE:`.
    fn error_at(text: &str, line: usize) -> String {
        let (_dir, path) = write("50-test.conf", text);
        let err = load_definition(&path).expect_err(text);
        let msg = err.to_string();
        assert!(msg.starts_with(&format!("{}:{line}: ", path.display())), "{text:?}: {msg}");
        msg
    }

    #[test]
    fn a_bad_value_for_every_key_names_file_line_key_and_value() {
        let long_label = "x".repeat(37);
        let cases: &[(&str, &str)] = &[
            ("Type", "rooot"),
            ("Type", "root-x86_65"),
            ("Label", &long_label),
            ("UUID", "not-a-uuid"),
            ("UUID", "zero"),
            ("Priority", "high"),
            ("Priority", "2147483648"),
            ("Weight", "heavy"),
            ("Weight", "1000001"),
            ("Weight", "-1"),
            ("PaddingWeight", "-1"),
            ("PaddingWeight", "1.5"),
            ("SizeMinBytes", "lots"),
            ("SizeMinBytes", "1X"),
            ("SizeMinBytes", "-1G"),
            ("SizeMaxBytes", "10Q"),
            ("SizeMaxBytes", "1.2.3"),
            ("PaddingMinBytes", "-5"),
            ("PaddingMaxBytes", "x"),
            ("CopyBlocks", "relative/path"),
            ("CopyBlocks", "Auto"),
            ("Format", "ext3"),
            ("Format", "erofs"),
            ("FactoryReset", "sure"),
            ("Flags", "0xZZ"),
            ("Flags", "0b102"),
            ("Flags", "-1"),
            ("Flags", "18446744073709551616"),
            ("ReadOnly", "maybe"),
            ("NoAuto", "2"),
            ("GrowFileSystem", "perhaps"),
            ("Encrypt", "luks"),
            ("Encrypt", "tpm"),
        ];
        let mut covered: Vec<&str> = cases.iter().map(|(k, _)| *k).collect();
        covered.dedup();
        assert_eq!(covered, KEYS, "every [Partition] key has a case, in the order of KEYS");
        for (key, bad) in cases {
            let msg = error_at(&format!("[Partition]\nType=root\n{key}={bad}\n"), 3);
            assert!(msg.contains(&format!("'{bad}'")), "names the value: {msg}");
            if *key != "Type" {
                // see type_error_names_the_key
                assert!(msg.contains(&format!("{key}=")), "names the key: {msg}");
            }
        }
        let msg = error_at("[Partition]\nType=root\nLabel=a\u{1b}b\n", 3);
        assert!(msg.contains("Label="), "{msg}");
    }

    #[test]
    fn dev_null_symlinks_and_empty_files_mask_definitions() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/null", a.path().join("10-root.conf")).unwrap();
        std::fs::write(b.path().join("10-root.conf"), "[Partition]\nType=root\n").unwrap();
        std::fs::write(b.path().join("20-var.conf"), "[Partition]\nType=var\n").unwrap();
        std::fs::write(b.path().join("30-empty.conf"), "").unwrap();
        let defs = load_definitions(&[a.path().to_path_buf(), b.path().to_path_buf()]).unwrap();
        assert_eq!(defs.len(), 1);
        assert_eq!(defs[0].part_type.name.as_deref(), Some("var"));
    }

    #[test]
    fn type_error_names_the_key() {
        let msg = error_at("[Partition]\nType=rooot\n", 2);
        assert!(msg.contains("Type="), "{msg}");
    }

    #[test]
    fn unknown_and_unsupported_keys_and_sections() {
        let msg = error_at("[Partition]\nType=root\nSize=1G\n", 3);
        assert!(msg.ends_with(&format!("unknown key 'Size' in [Partition]: valid keys are {}", KEYS.join(", "))), "{msg}");
        let msg = error_at("[Partition]\nType=root\nformat=ext4\n", 3);
        assert!(msg.contains("unknown key 'format'"), "keys are case-sensitive: {msg}");
        for key in UNSUPPORTED {
            let msg = error_at(&format!("# c\n[Partition]\nType=root\n{key}=x\n"), 4);
            assert!(msg.contains(&format!("{key}= is a systemd-repart key that imprint does not support")), "{msg}");
        }
        let msg = error_at("[Partition]\nType=root\nCopyFiles=/etc:/etc\n", 3);
        assert!(
            msg.ends_with("CopyFiles= is a systemd-repart key that imprint does not support; remove it or install with systemd-repart")
        );
        let msg = error_at("[Partition]\nType=root\n\n[Match]\nFoo=bar\n", 4);
        assert!(msg.ends_with("unknown section [Match]: repart.d files have only [Partition]"), "{msg}");
        let err = load("[Partition]\nFormat=ext4\n").unwrap_err();
        assert_eq!(err.line, None);
        assert!(err.to_string().ends_with("Type= not defined, refusing (as systemd-repart does)"), "{err}");
    }

    #[test]
    fn minimums_above_maximums_and_conflicting_content() {
        let msg = error_at("[Partition]\nType=root\nSizeMinBytes=2G\nSizeMaxBytes=1G\n", 4);
        assert!(msg.ends_with(&format!("SizeMinBytes= ({}) is larger than SizeMaxBytes= ({})", 2u64 << 30, 1u64 << 30)), "{msg}");
        let msg = error_at("[Partition]\nType=root\nPaddingMaxBytes=1M\nPaddingMinBytes=2M\n", 3);
        assert!(msg.contains("PaddingMinBytes= (2097152) is larger than PaddingMaxBytes= (1048576)"), "{msg}");
        // equal is fine, and both round to 4096 the way systemd does before comparing
        let def = load("[Partition]\nType=root\nSizeMinBytes=1G\nSizeMaxBytes=1G\n").unwrap();
        assert_eq!((def.size_min, def.size_max), (Some(1 << 30), Some(1 << 30)));
        // as systemd-repart does (contrary to its man page): minimums round down, maximums up
        let def = load("[Partition]\nType=root\nSizeMinBytes=5000\nSizeMaxBytes=5000\n").unwrap();
        assert_eq!((def.size_min, def.size_max), (Some(4096), Some(8192)));

        let err = load("[Partition]\nType=esp\nCopyBlocks=auto\nFormat=vfat\n").unwrap_err();
        assert!(err.to_string().ends_with("CopyBlocks= and Format= cannot be combined (as in systemd-repart)"), "{err}");
        // an empty assignment takes a setting back
        let def = load("[Partition]\nType=esp\nCopyBlocks=auto\nFormat=vfat\nFormat=\n").unwrap();
        assert_eq!(def.copy_blocks, Some(CopyBlocks::Auto));
    }

    #[test]
    fn defaults_as_systemd_repart_has_them() {
        let root = load("[Partition]\nType=root\n").unwrap();
        assert_eq!(root.weight, 1000);
        assert_eq!(root.padding_weight, 0);
        assert_eq!(root.priority, 0);
        assert_eq!((root.size_min, root.size_max, root.padding_min, root.padding_max), (None, None, None, None));
        assert_eq!(root.label, None);
        assert_eq!(root.uuid, None);
        assert_eq!(root.flags, 0);
        assert!(!root.factory_reset);
        assert_eq!(root.encrypt, EncryptMode::Off);
        assert_eq!(root.growfs, Some(true), "growfs is on for root");
        assert_eq!(root.read_only, None);
        assert_eq!(root.part_type.name, Some(format!("root-{}", types::native_arch())));

        for t in ["usr", "var", "home", "srv", "tmp", "xbootldr"] {
            assert_eq!(load(&format!("[Partition]\nType={t}\n")).unwrap().growfs, Some(true), "{t}");
        }
        for t in ["esp", "swap", "linux-generic", "user-home"] {
            assert_eq!(load(&format!("[Partition]\nType={t}\n")).unwrap().growfs, None, "{t} has no growfs bit");
        }
        for t in ["root-verity", "usr-verity", "root-verity-sig", "usr-verity-sig", "usr-arm64-verity"] {
            let def = load(&format!("[Partition]\nType={t}\n")).unwrap();
            assert_eq!(def.read_only, Some(true), "{t} is read-only");
            assert_eq!(def.growfs, None, "{t}");
        }
        let def = load("[Partition]\nType=root-verity\nReadOnly=no\n").unwrap();
        assert_eq!(def.read_only, Some(false), "an explicit ReadOnly= wins");
        let def = load("[Partition]\nType=root\nReadOnly=yes\n").unwrap();
        assert_eq!((def.read_only, def.growfs), (Some(true), None), "no growfs on a read-only partition");
        // systemd-repart forces growfs on for a writable root even when told otherwise
        let def = load("[Partition]\nType=root\nGrowFileSystem=off\n").unwrap();
        assert_eq!(def.growfs, Some(true));
        let def = load("[Partition]\nType=esp\nGrowFileSystem=yes\n").unwrap();
        assert_eq!(def.growfs, Some(true), "kept, but the ESP has no growfs bit to set");
    }

    #[test]
    fn good_values_parse() {
        let def = load(concat!(
            "[Partition]\n",
            "Type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709\n",
            "Label=first\n",
            "Label=_empty\n",
            "UUID=null\n",
            "Priority=-5\n",
            "Weight=0\n",
            "PaddingWeight=1000000\n",
            "SizeMinBytes=1.5G\n",
            "SizeMaxBytes=2G\n",
            "PaddingMinBytes=0\n",
            "PaddingMaxBytes=1M\n",
            "CopyBlocks=/dev/urandom\n",
            "FactoryReset=on\n",
            "Flags=0x1000000000000000\n",
            "NoAuto=1\n",
            "Encrypt=yes\n",
        ))
        .unwrap();
        assert_eq!(def.part_type.name.as_deref(), Some("root-x86-64"));
        assert_eq!(def.label.as_deref(), Some("_empty"), "the last Label= wins");
        assert_eq!(def.uuid, Some(UuidSetting::Null));
        assert_eq!((def.priority, def.weight, def.padding_weight), (-5, 0, 1_000_000));
        assert_eq!((def.size_min, def.size_max), (Some(3 << 29), Some(2 << 30)));
        assert_eq!((def.padding_min, def.padding_max), (Some(0), Some(1 << 20)));
        assert_eq!(def.copy_blocks, Some(CopyBlocks::Path(PathBuf::from("/dev/urandom"))));
        assert!(def.factory_reset);
        assert_eq!(def.flags, 1 << 60);
        assert_eq!(def.no_auto, Some(true));
        assert_eq!(def.encrypt, EncryptMode::KeyFile);

        let uuid = "01234567-89ab-cdef-0123-456789abcdef";
        let def = load(&format!("[Partition]\nType=root\nUUID={uuid}\nEncrypt=key-file+tpm2\nFlags=0b101\nLabel=x\nLabel=\n")).unwrap();
        assert_eq!(def.uuid, Some(UuidSetting::Explicit(Uuid::parse_str(uuid).unwrap())));
        assert_eq!(def.encrypt, EncryptMode::KeyFileTpm2);
        assert_eq!(def.flags, 0b101);
        assert_eq!(def.label, None, "an empty Label= resets it");
        let def = load("[Partition]\nType=root\nEncrypt=tpm2\nFlags=42\nEncrypt=off\n").unwrap();
        assert_eq!((def.encrypt, def.flags), (EncryptMode::Off, 42));
        let label36 = "é".repeat(36);
        assert_eq!(load(&format!("[Partition]\nType=root\nLabel={label36}\n")).unwrap().label, Some(label36));
    }

    #[test]
    fn definitions_are_sorted_across_folders_and_masked_by_name() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(a.path().join("20-usr.conf"), "[Partition]\nType=usr\n").unwrap();
        std::fs::write(a.path().join("notes.txt"), "not a definition").unwrap();
        std::fs::write(b.path().join("10-esp.conf"), "[Partition]\nType=esp\n").unwrap();
        std::fs::write(b.path().join("20-usr.conf"), "[Partition]\nType=var\n").unwrap();
        std::fs::write(b.path().join("30-root.conf"), "[Partition]\nType=root\n").unwrap();
        let defs = load_definitions(&[a.path().to_path_buf(), b.path().to_path_buf()]).unwrap();
        let names: Vec<_> = defs.iter().map(|d| d.part_type.name.clone().unwrap()).collect();
        let arch = types::native_arch();
        assert_eq!(names, ["esp".to_string(), format!("usr-{arch}"), format!("root-{arch}")], "a's 20-usr.conf masks b's");
        assert_eq!(defs[1].file, a.path().join("20-usr.conf"));

        let empty = tempfile::tempdir().unwrap();
        let err = load_definitions(&[empty.path().to_path_buf()]).unwrap_err();
        assert!(err.to_string().contains("no partition definitions (*.conf)"), "{err}");
        let missing = empty.path().join("nope");
        let err = load_definitions(std::slice::from_ref(&missing)).unwrap_err();
        assert_eq!(err.to_string(), format!("{}: definitions folder does not exist", missing.display()));
    }
}
