//! Installer profiles: `installer-profiles/NAME/profile.conf` (+ `profile.conf.d/`) and the
//! repart.d definitions beside it.
//!
//! A profile names a partition layout (its `repart.d/`, systemd-repart's own format, read by
//! [`super::repart`]) and the machines it is meant for (`[Match]`). This module turns the text
//! into a checked [`ProfileSpec`] and checks a [`MatchSpec`] against [`MachineFacts`]. It decides
//! no layout and touches no disk; [`gather_facts`] is the one function that looks at the running
//! machine, and it only reads. The reference for the format is docs/profiles.md.

use std::fmt;
use std::path::{Path, PathBuf};

use super::ini::{self, ConfigError, Entry, IniDoc};
use super::{repart, types};

/// The main file of a profile folder.
pub const PROFILE_FILE: &str = "profile.conf";
/// The folder of systemd-repart definitions in a profile folder.
pub const DEFINITIONS_DIR: &str = "repart.d";

/// Sections `profile.conf` may have. Later features add theirs here (and to docs/profiles.md).
pub const SECTIONS: &[&str] = &["Profile", "Match", "Encryption", "Reset"];
const PROFILE_KEYS: &[&str] = &["Name", "Description"];
const ENCRYPTION_KEYS: &[&str] = &["Mode", "PCRs", "PCRBank", "PublicKey", "RecoveryKey"];
const RESET_KEYS: &[&str] = &["ShowMenu", "PIN"];
/// crypt(3) methods a reset PIN may be hashed with: yescrypt only. A PIN has few digits: a stolen
/// profile's hash must cost as much as can be to guess, and SHA-crypt ($5$, $6$) does not.
const PIN_METHODS: &[&str] = &["y"];
const MATCH_KEYS: &[&str] = &["Architecture", "Firmware", "TPM", "MinDiskSize", "Virtualization", "DMIVendor", "DMIProduct"];

/// systemd's architecture names (`src/basic/architecture.c`).
pub const ARCHITECTURES: &[&str] = &[
    "alpha",
    "arc",
    "arc-be",
    "arm",
    "arm-be",
    "arm64",
    "arm64-be",
    "cris",
    "ia64",
    "loongarch64",
    "m68k",
    "mips",
    "mips-le",
    "mips64",
    "mips64-le",
    "nios2",
    "parisc",
    "parisc64",
    "ppc",
    "ppc-le",
    "ppc64",
    "ppc64-le",
    "riscv32",
    "riscv64",
    "s390",
    "s390x",
    "sh",
    "sh64",
    "sparc",
    "sparc64",
    "tilegx",
    "x86",
    "x86-64",
];

/// What `systemd-detect-virt` prints for virtual machines (`src/basic/virt.c`); `vm` matches any.
const VM_IDS: &[&str] = &[
    "qemu",
    "kvm",
    "amazon",
    "zvm",
    "vmware",
    "microsoft",
    "oracle",
    "powervm",
    "xen",
    "bochs",
    "uml",
    "parallels",
    "bhyve",
    "qnx",
    "acrn",
    "apple",
    "sre",
    "google",
];
/// What `systemd-detect-virt` prints for containers; `container` matches any.
const CONTAINER_IDS: &[&str] = &["openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch"];

/// The firmware a machine boots with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Firmware {
    #[default]
    Uefi,
    Bios,
}

impl fmt::Display for Firmware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Firmware::Uefi => "UEFI",
            Firmware::Bios => "BIOS",
        })
    }
}

/// A checked installer profile.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProfileSpec {
    /// `Name=`: letters, digits, `_` and `-`.
    pub name: String,
    pub description: Option<String>,
    /// The profile folder, as given.
    pub dir: PathBuf,
    pub matches: MatchSpec,
    /// `dir/repart.d`; its definitions were read once to check them.
    pub definitions_dir: PathBuf,
    pub encryption: EncryptionSpec,
    pub reset: ResetSpec,
}

/// `[Reset]`: the factory-reset menu a kiosk offers (see docs/reset.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResetSpec {
    /// `ShowMenu=`: offer "factory reset" in the TUI. Default no.
    pub show_menu: bool,
    /// `PIN=`: the crypt(3) hash of the PIN that unlocks the menu; None: no PIN asked.
    pub pin: Option<PinHash>,
}

/// A crypt(3) hash of the reset PIN. Never shown: `Debug` and serialization print `[hash]`.
#[derive(Clone, PartialEq, Eq)]
pub struct PinHash(String);

impl PinHash {
    /// The hash, for checking a PIN against it (`crate::reset::pin::PinGate`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinHash([hash])")
    }
}

impl serde::Serialize for PinHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[hash]")
    }
}

/// `PIN=`: a crypt(3) hash of a method in [`PIN_METHODS`] that libcrypt can check against. The
/// message never repeats the value: a plaintext PIN written here by mistake stays out of logs.
pub fn parse_pin_hash(v: &str) -> Result<Option<PinHash>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    let how = "write the yescrypt hash of the PIN, never the PIN itself: the output of `mkpasswd -m yescrypt` \
               (the value is not repeated here)";
    let method = v.strip_prefix('$').and_then(|r| r.split_once('$')).map(|(m, _)| m);
    match method {
        None => Err(format!("not a crypt(3) hash: it looks like a plaintext PIN; {how}")),
        Some(m) if !PIN_METHODS.contains(&m) => Err(format!(
            "a crypt(3) hash of method ${m}$, which is not accepted: a PIN has few digits, so only yescrypt ($y$), made to be \
             slow to guess, is; {how}"
        )),
        Some(_) if !crate::firstboot::crypt::cost_ok(v) => {
            Err(format!("a yescrypt hash whose cost is more than a PIN check may take (at most N = 2^15 and r = 32, 128 MiB); {how}"))
        }
        Some(_) if !crate::firstboot::crypt::is_valid_hash(v) => {
            Err(format!("a malformed crypt(3) hash (libcrypt does not accept it); {how}"))
        }
        Some(_) => Ok(Some(PinHash(v.to_string()))),
    }
}

/// `[Encryption]`: how the partitions that are encrypted are unlocked. Unset fields fall back to
/// the command line, then to systemd's defaults (TPM2 bound to PCR 7 in the SHA-256 bank, with a
/// recovery key).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EncryptionSpec {
    pub mode: Option<crate::plan::EncryptionMode>,
    pub pcrs: Option<Vec<u32>>,
    /// `sha256` or `sha1`.
    pub pcr_bank: Option<String>,
    /// A PEM public key for a signed PCR 11 policy; relative paths are relative to the profile.
    pub public_key: Option<PathBuf>,
    pub recovery_key: Option<bool>,
}

/// PCR lists as systemd writes them: `7`, `7+11`, `7,11`; indexes 0 to 23. No PCRs at all is
/// said with `none`: an empty value is refused, so sealing to nothing is never an accident.
pub fn parse_pcrs(v: &str) -> Result<Vec<u32>, String> {
    if v.trim().is_empty() {
        return Err("an empty PCR list would seal the key to this TPM alone, so anything booted on this machine could unseal it; \
                    list PCRs (e.g. 7 or 7+11), or write 'none' if that is what you want"
            .into());
    }
    if v.trim() == "none" {
        return Ok(Vec::new());
    }
    let mut out: Vec<u32> = Vec::new();
    for w in v.split(['+', ',', ' ']).filter(|w| !w.is_empty()) {
        match w.parse::<u32>() {
            Ok(n) if n < 24 => {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            _ => return Err(format!("invalid PCR '{w}': expected PCR indexes from 0 to 23 joined with '+', e.g. 7+11")),
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// `[Match]`: the machines a profile applies to. An empty list or `None` is no condition; within
/// a list any entry may match; all conditions must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MatchSpec {
    /// systemd architecture names (`x86-64`, `arm64`); aliases (`x86_64`, `aarch64`) are
    /// resolved on input.
    pub architecture: Vec<String>,
    pub firmware: Option<Firmware>,
    /// Some(true): a TPM must be present; Some(false): none may be.
    pub tpm: Option<bool>,
    /// Bytes; checked against [`MachineFacts::disk_size`] once a disk is known.
    pub min_disk_size: Option<u64>,
    /// `systemd-detect-virt` names, `none` (bare metal), `vm` or `container`.
    pub virtualization: Vec<String>,
    /// Exact names or `*`/`?` patterns, compared with `/sys/class/dmi/id/sys_vendor`.
    pub dmi_vendor: Vec<String>,
    /// Exact names or `*`/`?` patterns, compared with `/sys/class/dmi/id/product_name`.
    pub dmi_product: Vec<String>,
}

/// Facts about this machine the Match section is checked against (gathered by
/// [`gather_facts`], or made by hand in tests).
#[derive(Debug, Clone, Default)]
pub struct MachineFacts {
    /// systemd's name (`x86-64`); aliases are resolved when comparing.
    pub architecture: String,
    pub firmware: Firmware,
    pub tpm_present: bool,
    /// The target disk's size; None while no disk is chosen (then `MinDiskSize=` is not checked).
    pub disk_size: Option<u64>,
    /// What `systemd-detect-virt` printed: `none`, `kvm`, `docker`, …; empty if it could not run.
    pub virtualization: String,
    pub dmi_vendor: Option<String>,
    pub dmi_product: Option<String>,
}

impl MatchSpec {
    /// Every reason, in words, why this machine does not match; empty when it matches.
    pub fn mismatches(&self, facts: &MachineFacts) -> Vec<String> {
        let mut why = Vec::new();
        if !self.architecture.is_empty() {
            let arch = canonical_arch(&facts.architecture).unwrap_or(&facts.architecture);
            if !self.architecture.iter().any(|a| a == arch) {
                let arch = if arch.is_empty() { "unknown" } else { arch };
                why.push(format!("architecture is {arch}, but the profile is for {}", or_list(&self.architecture, false)));
            }
        }
        if let Some(fw) = self.firmware
            && fw != facts.firmware
        {
            why.push(format!("firmware is {}, but the profile is for {fw}", facts.firmware));
        }
        match (self.tpm, facts.tpm_present) {
            (Some(true), false) => why.push("no TPM is present, but the profile needs one".to_string()),
            (Some(false), true) => why.push("a TPM is present, but the profile is for machines without one".to_string()),
            _ => {}
        }
        if let (Some(min), Some(size)) = (self.min_disk_size, facts.disk_size)
            && size < min
        {
            why.push(format!("the disk holds {}, but the profile needs at least {}", crate::units::bytes(size), crate::units::bytes(min)));
        }
        if !self.virtualization.is_empty() && !self.virtualization.iter().any(|v| virt_matches(v, &facts.virtualization)) {
            let actual = match facts.virtualization.as_str() {
                "" => "unknown (systemd-detect-virt did not run)".to_string(),
                "none" => "none (bare metal)".to_string(),
                v => v.to_string(),
            };
            why.push(format!("virtualization is {actual}, but the profile is for {}", or_list(&self.virtualization, false)));
        }
        for (what, patterns, actual) in
            [("DMI vendor", &self.dmi_vendor, &facts.dmi_vendor), ("DMI product", &self.dmi_product, &facts.dmi_product)]
        {
            if patterns.is_empty() {
                continue;
            }
            match actual {
                Some(a) if patterns.iter().any(|p| glob_match(p, a)) => {}
                Some(a) => why.push(format!("{what} is '{a}', but the profile is for {}", or_list(patterns, true))),
                None => why.push(format!("{what} is unknown (no DMI data), but the profile is for {}", or_list(patterns, true))),
            }
        }
        why
    }

    /// Whether this machine matches (no [`MatchSpec::mismatches`]).
    pub fn matches(&self, facts: &MachineFacts) -> bool {
        self.mismatches(facts).is_empty()
    }
}

/// Reads a profile folder: `profile.conf`, its drop-ins in `profile.conf.d/*.conf` (by file
/// name), and checks that `repart.d/` holds valid definitions.
pub fn load_profile(dir: &Path) -> Result<ProfileSpec, ConfigError> {
    if !dir.is_dir() {
        return Err(ConfigError::new(dir, None, "installer profile folder does not exist"));
    }
    let main = dir.join(PROFILE_FILE);
    if !main.is_file() {
        return Err(ConfigError::new(dir, None, format!("not an installer profile: no {PROFILE_FILE} in this folder")));
    }
    let doc = ini::load_with_dropins(&main)?;
    let (name, description, matches, mut encryption, reset) = parse_profile(&main, &doc)?;
    if let Some(k) = encryption.public_key.as_mut()
        && k.is_relative()
    {
        *k = dir.join(&*k);
    }
    let definitions_dir = dir.join(DEFINITIONS_DIR);
    if !definitions_dir.is_dir() {
        return Err(ConfigError::new(
            &definitions_dir,
            None,
            "missing: a profile keeps its partition definitions (systemd-repart *.conf files) in repart.d/",
        ));
    }
    repart::load_definitions(std::slice::from_ref(&definitions_dir))?;
    Ok(ProfileSpec { name, description, dir: dir.to_path_buf(), matches, definitions_dir, encryption, reset })
}

/// Checks the text of a `profile.conf` (`main` names it in errors) without reading its folder:
/// what `load_profile` checks of the file itself.
pub fn check_profile_text(main: &Path, text: &str) -> Result<(), ConfigError> {
    parse_profile(main, &ini::parse_str(main, text)?).map(|_| ())
}

/// Resolves what the user typed: a folder if it contains `/`, else the first
/// `SEARCH_DIR/NAME/profile.conf` in the order of `search`.
pub fn find_profile(name_or_dir: &str, search: &[PathBuf]) -> Result<PathBuf, ConfigError> {
    if name_or_dir.contains('/') {
        let dir = PathBuf::from(name_or_dir);
        if dir.join(PROFILE_FILE).is_file() {
            return Ok(dir);
        }
        let msg = if dir.is_dir() {
            format!("not an installer profile: no {PROFILE_FILE} in this folder")
        } else {
            "installer profile folder does not exist".to_string()
        };
        return Err(ConfigError::new(&dir, None, msg));
    }
    if !valid_name(name_or_dir) {
        return Err(ConfigError::new(
            Path::new(name_or_dir),
            None,
            "not a profile name: names are letters, digits, '_' and '-' (a folder is given as a path containing '/')",
        ));
    }
    for dir in search {
        let candidate = dir.join(name_or_dir);
        if candidate.join(PROFILE_FILE).is_file() {
            return Ok(candidate);
        }
    }
    let names = available_profiles(search);
    let names = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    let looked: Vec<String> = search.iter().map(|d| d.display().to_string()).collect();
    let looked = if looked.is_empty() { "no folders (none to search)".to_string() } else { looked.join(", ") };
    Err(ConfigError::new(Path::new(name_or_dir), None, format!("no installer profile of this name in {looked}; available: {names}")))
}

/// The names of the profiles in the search folders (sub-folders with a `profile.conf`), sorted,
/// each once.
pub fn available_profiles(search: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = search
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .filter_map(Result::ok)
        .filter(|ent| ent.path().join(PROFILE_FILE).is_file())
        .filter_map(|ent| ent.file_name().into_string().ok())
        .filter(|n| valid_name(n))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The facts of the running machine. Reads sysfs and runs `systemd-detect-virt`; never fails
/// (what cannot be read stays unknown). `disk_size` stays None: the caller sets it once a target
/// disk is chosen.
pub fn gather_facts() -> MachineFacts {
    let read_dmi = |field: &str| {
        std::fs::read_to_string(Path::new("/sys/class/dmi/id").join(field)).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    };
    MachineFacts {
        architecture: types::native_arch().to_string(),
        firmware: if Path::new("/sys/firmware/efi").exists() { Firmware::Uefi } else { Firmware::Bios },
        tpm_present: Path::new("/dev/tpmrm0").exists() || Path::new("/sys/class/tpm/tpm0").exists(),
        disk_size: None,
        virtualization: detect_virt(),
        dmi_vendor: read_dmi("sys_vendor"),
        dmi_product: read_dmi("product_name"),
    }
}

/// `systemd-detect-virt`'s answer: its output, `none` when it exits non-zero (as it does on bare
/// metal), empty when it cannot run.
fn detect_virt() -> String {
    let out =
        std::process::Command::new("systemd-detect-virt").stdin(std::process::Stdio::null()).stderr(std::process::Stdio::null()).output();
    match out {
        Ok(o) if o.status.success() => {
            let v = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if v.is_empty() { "none".to_string() } else { v }
        }
        Ok(_) => "none".to_string(),
        Err(_) => String::new(),
    }
}

type Parsed = (String, Option<String>, MatchSpec, EncryptionSpec, ResetSpec);

fn parse_profile(main: &Path, doc: &IniDoc) -> Result<Parsed, ConfigError> {
    let mut name: Option<String> = None;
    let mut description: Option<String> = None;
    let mut matches = MatchSpec::default();
    let mut encryption = EncryptionSpec::default();
    let mut reset = ResetSpec::default();
    let mut last_profile_header = None;
    for section in &doc.sections {
        match section.name.as_str() {
            "Profile" => {
                last_profile_header = Some(section);
                for e in &section.entries {
                    apply_profile_key(&mut name, &mut description, e)?;
                }
            }
            "Match" => {
                for e in &section.entries {
                    apply_match_key(&mut matches, e)?;
                }
            }
            "Encryption" => {
                for e in &section.entries {
                    apply_encryption_key(&mut encryption, e)?;
                }
            }
            "Reset" => {
                for e in &section.entries {
                    apply_reset_key(&mut reset, e)?;
                }
            }
            other => {
                let valid: Vec<String> = SECTIONS.iter().map(|s| format!("[{s}]")).collect();
                return Err(section.error(format!("unknown section [{other}]: valid sections are {}", valid.join(", "))));
            }
        }
    }
    let Some(name) = name else {
        let msg = "Name= is not set: every profile needs [Profile] Name= (letters, digits, '_' and '-')";
        return Err(match last_profile_header {
            Some(s) => s.error(msg),
            None => ConfigError::new(main, None, msg),
        });
    };
    Ok((name, description, matches, encryption, reset))
}

fn apply_reset_key(reset: &mut ResetSpec, e: &Entry) -> Result<(), ConfigError> {
    let v = e.value.as_str();
    match e.key.as_str() {
        "ShowMenu" => {
            reset.show_menu = if v.is_empty() {
                false
            } else {
                ini::parse_bool(v)
                    .ok_or_else(|| e.error(format!("invalid ShowMenu='{v}': expected a boolean (yes/no, true/false, 1/0, on/off)")))?
            }
        }
        "PIN" => reset.pin = parse_pin_hash(v).map_err(|m| e.error(format!("invalid PIN=: {m}")))?,
        k => return Err(unknown_key(e, k, "Reset", RESET_KEYS)),
    }
    Ok(())
}

fn apply_encryption_key(enc: &mut EncryptionSpec, e: &Entry) -> Result<(), ConfigError> {
    let v = e.value.as_str();
    match e.key.as_str() {
        "Mode" => {
            enc.mode = match v {
                "" => None,
                "tpm2" => Some(crate::plan::EncryptionMode::Tpm2),
                "tpm2+pin" => Some(crate::plan::EncryptionMode::Tpm2Pin),
                "passphrase" => Some(crate::plan::EncryptionMode::Passphrase),
                "off" => Some(crate::plan::EncryptionMode::Off),
                _ => return Err(e.error(format!("invalid Mode='{v}': expected tpm2, tpm2+pin, passphrase or off"))),
            }
        }
        "PCRs" => enc.pcrs = Some(parse_pcrs(v).map_err(|m| e.error(format!("invalid PCRs='{v}': {m}")))?),
        "PCRBank" => {
            enc.pcr_bank = match v {
                "" => None,
                "sha256" | "sha1" => Some(v.to_string()),
                _ => return Err(e.error(format!("invalid PCRBank='{v}': expected sha256 or sha1"))),
            }
        }
        "PublicKey" => enc.public_key = Some(PathBuf::from(v)).filter(|p| !p.as_os_str().is_empty()),
        "RecoveryKey" => {
            enc.recovery_key =
                Some(ini::parse_bool(v).ok_or_else(|| e.error(format!("invalid RecoveryKey='{v}': expected a boolean (yes/no)")))?)
        }
        k => return Err(unknown_key(e, k, "Encryption", ENCRYPTION_KEYS)),
    }
    Ok(())
}

fn apply_profile_key(name: &mut Option<String>, description: &mut Option<String>, e: &Entry) -> Result<(), ConfigError> {
    let v = e.value.as_str();
    match e.key.as_str() {
        "Name" => {
            if !v.is_empty() && !valid_name(v) {
                return Err(e.error(format!("invalid Name='{v}': expected letters, digits, '_' and '-' only, e.g. Name=desktop")));
            }
            *name = Some(v.to_string()).filter(|v| !v.is_empty());
        }
        "Description" => {
            if v.chars().any(char::is_control) {
                return Err(e.error("Description= contains control characters"));
            }
            *description = Some(v.to_string()).filter(|v| !v.is_empty());
        }
        k => return Err(unknown_key(e, k, "Profile", PROFILE_KEYS)),
    }
    Ok(())
}

fn apply_match_key(m: &mut MatchSpec, e: &Entry) -> Result<(), ConfigError> {
    let v = e.value.as_str();
    match e.key.as_str() {
        "Architecture" => list_key(&mut m.architecture, e, |w| {
            canonical_arch(w).map(str::to_string).ok_or_else(|| {
                format!(
                    "unknown architecture '{w}': expected systemd's names ({}), or an alias such as x86_64, amd64, aarch64",
                    ARCHITECTURES.join(", ")
                )
            })
        })?,
        "Firmware" => {
            m.firmware = match v.to_ascii_lowercase().as_str() {
                "" => None,
                "uefi" => Some(Firmware::Uefi),
                "bios" => Some(Firmware::Bios),
                _ => return Err(e.error(format!("invalid Firmware='{v}': expected uefi or bios"))),
            };
        }
        "TPM" => {
            m.tpm = if v.is_empty() {
                None
            } else {
                Some(
                    ini::parse_bool(v)
                        .ok_or_else(|| e.error(format!("invalid TPM='{v}': expected a boolean (yes/no, true/false, 1/0, on/off)")))?,
                )
            };
        }
        "MinDiskSize" => {
            m.min_disk_size = if v.is_empty() {
                None
            } else {
                Some(ini::parse_size(v).ok_or_else(|| {
                    e.error(format!(
                        "invalid MinDiskSize='{v}': expected a size in bytes, optionally with a K, M, G, T, P or E suffix \
                         (base 1024), e.g. 32G"
                    ))
                })?)
            };
        }
        "Virtualization" => list_key(&mut m.virtualization, e, |w| {
            let expected = "expected names systemd-detect-virt prints (none, kvm, qemu, vmware, microsoft, oracle, xen, \
                            docker, podman, systemd-nspawn, …) or vm or container";
            if ini::parse_bool(w).is_some() {
                Err(format!("'{w}' is not a virtualization name: {expected}; 'none' means bare metal"))
            } else if !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
                Ok(w.to_string())
            } else {
                Err(format!("'{w}' is not a virtualization name: {expected}"))
            }
        })?,
        "DMIVendor" | "DMIProduct" => {
            let list = if e.key == "DMIVendor" { &mut m.dmi_vendor } else { &mut m.dmi_product };
            list_key(list, e, |w| {
                if w.is_empty() {
                    Err("empty name: expected an exact name or a pattern with * and ?".to_string())
                } else if w.chars().any(char::is_control) {
                    Err("contains control characters".to_string())
                } else {
                    Ok(w.to_string())
                }
            })?
        }
        k => return Err(unknown_key(e, k, "Match", MATCH_KEYS)),
    }
    Ok(())
}

fn unknown_key(e: &Entry, key: &str, section: &str, valid: &[&str]) -> ConfigError {
    e.error(format!("unknown key '{key}' in [{section}]: valid keys are {}", valid.join(", ")))
}

/// A list key: an empty value resets the list, otherwise each word is checked and appended
/// (once).
fn list_key(list: &mut Vec<String>, e: &Entry, check: impl Fn(&str) -> Result<String, String>) -> Result<(), ConfigError> {
    let words = split_words(&e.value).map_err(|m| e.error(format!("invalid {}='{}': {m}", e.key, e.value)))?;
    if words.is_empty() {
        list.clear();
        return Ok(());
    }
    for w in words {
        let w = check(&w).map_err(|m| e.error(format!("invalid {}='{}': {m}", e.key, e.value)))?;
        if !list.contains(&w) {
            list.push(w);
        }
    }
    Ok(())
}

/// Splits a value into words at white space, as systemd's `extract_first_word` with quoting
/// does: `"…"` and `'…'` group words with spaces, a backslash takes the next character as it is.
fn split_words(value: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => word.push(chars.next().ok_or("ends in a lone backslash")?),
                (_, c) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err("a quote is not closed".to_string());
        }
        words.push(word);
    }
}

/// `*` matches any run of characters, `?` one character; everything else itself (case matters).
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut back: Option<(usize, usize)> = None; // after the last '*': pattern index, text index
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            pi += 1;
            back = Some((pi, ti));
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((bp, bt)) = back {
            pi = bp;
            ti = bt + 1;
            back = Some((bp, bt + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn virt_matches(wanted: &str, actual: &str) -> bool {
    match wanted {
        "vm" => VM_IDS.contains(&actual),
        "container" => CONTAINER_IDS.contains(&actual),
        w => w == actual,
    }
}

/// Profile names: `[a-zA-Z0-9_-]+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// systemd's architecture name for `a`, resolving the aliases uname and distributions use.
pub fn canonical_arch(a: &str) -> Option<&'static str> {
    let canon = match a {
        "x86_64" | "amd64" => "x86-64",
        "i386" | "i486" | "i586" | "i686" => "x86",
        "aarch64" => "arm64",
        "aarch64_be" => "arm64-be",
        "armv5tel" | "armv6l" | "armv7l" | "armv7hl" | "armhfp" => "arm",
        "loong64" => "loongarch64",
        "mipsel" => "mips-le",
        "mips64el" => "mips64-le",
        "hppa" => "parisc",
        "hppa64" => "parisc64",
        "powerpc" => "ppc",
        "ppcle" => "ppc-le",
        "powerpc64" => "ppc64",
        "ppc64le" | "ppc64el" | "powerpc64le" => "ppc64-le",
        other => other,
    };
    ARCHITECTURES.iter().find(|n| **n == canon).copied()
}

/// "a", "a or b", "a, b or c" (quoted when `quote`).
fn or_list(items: &[String], quote: bool) -> String {
    let items: Vec<String> = items.iter().map(|i| if quote { format!("'{i}'") } else { i.clone() }).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_systemd() {
        assert_eq!(split_words("  a b\t c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(split_words(r#""Dell Inc." LENOVO 'a b'c"#).unwrap(), ["Dell Inc.", "LENOVO", "a bc"]);
        assert_eq!(split_words(r"a\ b").unwrap(), ["a b"]);
        assert!(split_words("").unwrap().is_empty());
        assert!(split_words("\"open").is_err());
        assert!(split_words("a\\").is_err());
    }

    #[test]
    fn globs() {
        assert!(glob_match("Dell*", "Dell Inc."));
        assert!(glob_match("*Pad*", "ThinkPad X1"));
        assert!(glob_match("X?", "X1"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYbc"));
        assert!(!glob_match("Dell", "Dell Inc."));
        assert!(!glob_match("dell*", "Dell Inc."));
        assert!(!glob_match("X?", "X"));
        assert!(!glob_match("a*b", "aXXbY"));
    }

    #[test]
    fn architecture_aliases() {
        assert_eq!(canonical_arch("x86_64"), Some("x86-64"));
        assert_eq!(canonical_arch("aarch64"), Some("arm64"));
        assert_eq!(canonical_arch("riscv64"), Some("riscv64"));
        assert_eq!(canonical_arch("x86_65"), None);
        assert_eq!(canonical_arch(types::native_arch()), Some(types::native_arch()));
    }

    fn parse(text: &str) -> Result<Parsed, ConfigError> {
        let path = Path::new("/p/profile.conf");
        parse_profile(path, &ini::parse_str(path, text).unwrap())
    }

    #[test]
    fn an_empty_pcr_list_is_refused_and_none_must_be_said() {
        let err = parse("[Profile]\nName=k\n[Encryption]\nPCRs=\n").unwrap_err().to_string();
        assert!(err.starts_with("/p/profile.conf:4: invalid PCRs='': an empty PCR list would seal the key to this TPM alone"), "{err}");
        assert!(err.contains("write 'none'"), "{err}");
        let (_, _, _, enc, _) = parse("[Profile]\nName=k\n[Encryption]\nPCRs=none\n").unwrap();
        assert_eq!(enc.pcrs, Some(vec![]));
        assert_eq!(parse_pcrs("7+11"), Ok(vec![7, 11]));
    }

    #[test]
    fn reset_section_takes_a_hash_and_never_repeats_a_plaintext_pin() {
        let hash = crate::firstboot::crypt::hash_password(&crate::secret::Secret::from_text("4711")).unwrap();
        let (.., reset) = parse(&format!("[Profile]\nName=k\n[Reset]\nShowMenu=yes\nPIN={hash}\n")).unwrap();
        assert!(reset.show_menu);
        assert_eq!(reset.pin.as_ref().map(PinHash::as_str), Some(hash.as_str()));
        assert_eq!(format!("{reset:?}"), "ResetSpec { show_menu: true, pin: Some(PinHash([hash])) }");
        assert_eq!(serde_json::to_string(&reset).unwrap(), r#"{"show_menu":true,"pin":"[hash]"}"#);
        let (.., reset) = parse("[Profile]\nName=k\n").unwrap();
        assert_eq!(reset, ResetSpec::default());

        for (value, why) in [
            ("4711", "it looks like a plaintext PIN"),
            ("secret-pin-4711", "it looks like a plaintext PIN"),
            ("$1$abcdefgh$4711abcdefghijklmnopqr", "method $1$, which is not accepted"),
            ("$6$saltsalt$4711", "method $6$, which is not accepted"),
            ("$y$j9T$4711", "a malformed crypt(3) hash"),
            ("$y$jL1T$4711", "whose cost is more than a PIN check may take"),
        ] {
            let err = parse(&format!("[Profile]\nName=k\n[Reset]\nPIN={value}\n")).unwrap_err().to_string();
            assert!(err.starts_with("/p/profile.conf:4: invalid PIN=: "), "{err}");
            assert!(err.contains(why), "{err}");
            assert!(!err.contains("4711"), "the value must not be repeated: {err}");
        }
        let err = parse("[Profile]\nName=k\n[Reset]\nShowMenu=sometimes\n").unwrap_err().to_string();
        assert_eq!(err, "/p/profile.conf:4: invalid ShowMenu='sometimes': expected a boolean (yes/no, true/false, 1/0, on/off)");
        let err = parse("[Profile]\nName=k\n[Reset]\nPin=x\n").unwrap_err().to_string();
        assert_eq!(err, "/p/profile.conf:4: unknown key 'Pin' in [Reset]: valid keys are ShowMenu, PIN");
    }

    #[test]
    fn or_lists() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(or_list(&l(&["a"]), false), "a");
        assert_eq!(or_list(&l(&["a", "b", "c"]), true), "'a', 'b' or 'c'");
    }
}
