//! Asking the next boot to reset, the way systemd does: `imprint reset request|cancel|status`.
//!
//! systemd 252 honours the EFI variable `FactoryReset` (a UTF-16 boolean string) in the initrd,
//! where systemd-repart erases the partitions whose definitions say `FactoryReset=yes` and then
//! removes the variable. systemd 258 and later use `FactoryResetRequest`, a JSON object naming
//! the OS (`osReleaseId`, `osReleaseImageId`, …) and the boot that asked (`bootId`): the reset
//! happens on a later boot of the same OS, never in the boot that asked ("pending"). A request
//! writes both, so either generation performs it. The state is resolved as
//! `src/shared/factory-reset.c` does (see [`mode`]).
//!
//! Every path the logic reads (efivarfs, the root with os-release, /run, /proc/cmdline, the boot
//! ID, the TPM's PPI folder) is a field of [`Paths`], so tests run against plain folders.

use std::path::{Path, PathBuf};

use super::efi::{self, EfiError};
use crate::osrelease::OsRelease;

/// The legacy variable systemd 245–261 repart reads in the initrd.
pub const LEGACY_VAR: &str = "FactoryReset";
/// The request variable of systemd 258+.
pub const REQUEST_VAR: &str = "FactoryResetRequest";
/// PPI operation 5: "Clear" (TCG PC Client Platform Physical Presence Interface).
pub const PPI_CLEAR: &str = "5";
/// PPI operation 0: no operation; withdraws a pending request.
pub const PPI_NONE: &str = "0";

/// Where the state lives; the defaults are the running system's.
#[derive(Debug, Clone)]
pub struct Paths {
    pub efivars: PathBuf,
    /// The root whose os-release names the OS (`/etc/os-release`, else `/usr/lib/os-release`).
    pub root: PathBuf,
    /// `/run`: `systemd/factory-reset-complete` under it marks a completed reset.
    pub run: PathBuf,
    pub cmdline: PathBuf,
    pub boot_id: PathBuf,
    /// The TPM's PPI folder (`request` in it).
    pub ppi: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            efivars: PathBuf::from(efi::DEFAULT_EFIVARS),
            root: PathBuf::from("/"),
            run: PathBuf::from("/run"),
            cmdline: PathBuf::from("/proc/cmdline"),
            boot_id: PathBuf::from("/proc/sys/kernel/random/boot_id"),
            ppi: PathBuf::from("/sys/class/tpm/tpm0/ppi"),
        }
    }
}

/// systemd's `FactoryResetMode`, and the exit status `systemd-factory-reset status` gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `$SYSTEMD_FACTORY_RESET_SUPPORTED` says no.
    Unsupported,
    /// Nothing asks for a reset.
    Unspecified,
    /// The kernel command line says `systemd.factory_reset=0`.
    Off,
    /// This boot is the one that resets.
    On,
    /// This boot has reset (`/run/systemd/factory-reset-complete`).
    Complete,
    /// Asked for in this boot; the next boot resets.
    Pending,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Unsupported => "unsupported",
            Mode::Unspecified => "unspecified",
            Mode::Off => "off",
            Mode::On => "on",
            Mode::Complete => "complete",
            Mode::Pending => "pending",
        }
    }

    /// `systemd-factory-reset status`'s exit status: 10 for on, 11 for pending, else 0.
    pub fn exit_code(self) -> i32 {
        match self {
            Mode::On => 10,
            Mode::Pending => 11,
            _ => 0,
        }
    }
}

/// The state and what decided it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Status {
    pub mode: Mode,
    /// In words: which source decided (for people; not stable).
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Efi(#[from] EfiError),
    #[error("{path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Refused(String),
}

fn read_text(path: &Path) -> Result<Option<String>, RequestError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RequestError::Read { path: path.to_path_buf(), source: e }),
    }
}

/// systemd's `parse_boolean`.
pub fn parse_boolean(v: &str) -> Option<bool> {
    match v {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// The value of `key` on a kernel command line, as `proc_cmdline_get_bool` reads it: the last
/// occurrence wins, a bare key means true, `-` and `_` are the same in keys. Outer quotes are
/// removed. Some(Err(value)) for a value that is not a boolean.
pub fn cmdline_bool(cmdline: &str, key: &str) -> Option<Result<bool, String>> {
    let norm = |s: &str| s.replace('-', "_");
    let want = norm(key);
    let mut found = None;
    for word in split_cmdline(cmdline) {
        let (k, v) = match word.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (word.as_str(), None),
        };
        if norm(k) == want {
            found = Some(match v {
                None => Ok(true),
                Some(v) => parse_boolean(v).ok_or_else(|| v.to_string()),
            });
        }
    }
    found
}

fn split_cmdline(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// The os-release of `root` (`/etc/os-release`, else `/usr/lib/os-release`).
pub fn os_release(root: &Path) -> Result<OsRelease, RequestError> {
    OsRelease::read(root).map_err(|e| RequestError::Read { path: e.path, source: e.source })
}

/// This boot's ID as 32 hex digits (systemd's `SD_ID128_TO_STRING` form).
pub fn boot_id(paths: &Paths) -> Result<String, RequestError> {
    let text =
        read_text(&paths.boot_id)?.ok_or_else(|| RequestError::Refused(format!("{}: no boot ID to read", paths.boot_id.display())))?;
    let id = uuid::Uuid::parse_str(text.trim())
        .map_err(|_| RequestError::Refused(format!("{}: not a boot ID: expected a UUID", paths.boot_id.display())))?;
    Ok(id.simple().to_string())
}

/// The JSON `systemd-factory-reset request` puts into `FactoryResetRequest`: compact, in this key
/// order, the version fields only when set.
pub fn request_json(os: &OsRelease, boot_id: &str) -> Result<String, RequestError> {
    let id = os.value("ID").ok_or_else(|| RequestError::Refused("os-release data lacks ID= field, refusing (as systemd does)".into()))?;
    let mut m = serde_json::Map::new();
    m.insert("osReleaseId".into(), id.into());
    for (key, name) in [("VERSION_ID", "osReleaseVersionId"), ("IMAGE_ID", "osReleaseImageId"), ("IMAGE_VERSION", "osReleaseImageVersion")]
    {
        if let Some(v) = os.value(key) {
            m.insert(name.into(), v.into());
        }
    }
    m.insert("bootId".into(), boot_id.into());
    Ok(serde_json::Value::Object(m).to_string())
}

fn supported() -> bool {
    std::env::var("SYSTEMD_FACTORY_RESET_SUPPORTED").ok().and_then(|v| parse_boolean(&v)).unwrap_or(true)
}

/// The state, resolved as systemd's `factory_reset_mode()`: unsupported (environment), then
/// complete (the marker under /run), then the kernel command line's `systemd.factory_reset=`,
/// then `FactoryResetRequest` (only for this OS: same ID and IMAGE_ID; pending when asked for
/// in this boot, on otherwise). Then, where systemd 258+ stops, the legacy `FactoryReset`
/// variable systemd 252 acts on: set to yes it means the next boot resets (pending), no means
/// off. Without EFI variables (no efivars folder) only the first three sources count.
pub fn mode(paths: &Paths) -> Result<Status, RequestError> {
    let st = |mode: Mode, reason: String| Ok(Status { mode, reason });
    if !supported() {
        return st(Mode::Unsupported, "$SYSTEMD_FACTORY_RESET_SUPPORTED is false".into());
    }
    let marker = paths.run.join("systemd/factory-reset-complete");
    if marker.exists() {
        return st(Mode::Complete, format!("{} exists: this boot has reset", marker.display()));
    }
    if let Some(text) = read_text(&paths.cmdline)?
        && let Some(v) = cmdline_bool(&text, "systemd.factory_reset")
    {
        return match v {
            Ok(true) => st(Mode::On, "the kernel command line says systemd.factory_reset=1".into()),
            Ok(false) => st(Mode::Off, "the kernel command line says systemd.factory_reset=0".into()),
            Err(v) => Err(RequestError::Refused(format!(
                "{}: systemd.factory_reset='{v}' is not a boolean (yes/no, 1/0, on/off)",
                paths.cmdline.display()
            ))),
        };
    }
    if !paths.efivars.is_dir() {
        return st(Mode::Unspecified, format!("no EFI variables ({} does not exist)", paths.efivars.display()));
    }
    if let Some(json) = efi::read_string(&paths.efivars, REQUEST_VAR)?
        && let Some(s) = request_mode(&json, paths)?
    {
        return Ok(s);
    }
    match efi::read_string(&paths.efivars, LEGACY_VAR)?.as_deref().map(parse_boolean) {
        Some(Some(true)) => st(Mode::Pending, "the EFI variable FactoryReset says yes: the next boot's systemd-repart resets".into()),
        Some(Some(false)) => st(Mode::Off, "the EFI variable FactoryReset says no".into()),
        Some(None) => st(Mode::Unspecified, "the EFI variable FactoryReset holds no boolean; ignored".into()),
        None => st(Mode::Unspecified, "no factory reset requested".into()),
    }
}

/// `factory_reset_mode_efi_variable()`: None when the request is invalid or for another OS.
fn request_mode(json: &str, paths: &Paths) -> Result<Option<Status>, RequestError> {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else { return Ok(None) };
    let (Some(id), Some(boot)) = (v["osReleaseId"].as_str(), v["bootId"].as_str()) else { return Ok(None) };
    let Ok(boot) = uuid::Uuid::parse_str(boot) else { return Ok(None) };
    let image_id = match &v["osReleaseImageId"] {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.as_str()),
        _ => return Ok(None),
    };
    let os = os_release(&paths.root)?;
    if os.value("ID") != Some(id) || os.value("IMAGE_ID") != image_id {
        return Ok(None);
    }
    let now = boot_id(paths)?;
    Ok(Some(if boot.simple().to_string() == now {
        Status { mode: Mode::Pending, reason: "FactoryResetRequest was set in this boot: the next boot resets".into() }
    } else {
        Status { mode: Mode::On, reason: "FactoryResetRequest was set in an earlier boot: this boot resets".into() }
    }))
}

/// What `request` wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Requested {
    /// The JSON in `FactoryResetRequest`.
    pub request: String,
    pub tpm_clear: TpmClear,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TpmClear {
    NotAsked,
    Requested,
    /// `systemd.tpm2_allow_clear=0` or `$SYSTEMD_TPM2_ALLOW_CLEAR=0`.
    Disabled,
    Withdrawn,
}

/// `systemd-factory-reset request` (plus the legacy variable), and with `tpm_clear` what
/// `systemd-tpm2-clear` does. Refused while this boot is resetting (on), as systemd refuses.
pub fn request(paths: &Paths, tpm_clear: bool) -> Result<Requested, RequestError> {
    let now = mode(paths)?;
    if now.mode == Mode::On {
        return Err(RequestError::Refused(format!(
            "the system is in factory-reset mode now ({}); refusing to request another reset",
            now.reason
        )));
    }
    if now.mode == Mode::Unsupported {
        return Err(RequestError::Refused("factory reset is not supported here ($SYSTEMD_FACTORY_RESET_SUPPORTED is false)".into()));
    }
    if !paths.efivars.is_dir() {
        return Err(RequestError::Refused(format!(
            "{} does not exist: not booted with UEFI, so a reset cannot be requested through EFI variables; \
             boot with systemd.factory_reset=1 on the kernel command line, or use `imprint reset now` from a live system",
            paths.efivars.display()
        )));
    }
    let json = request_json(&os_release(&paths.root)?, &boot_id(paths)?)?;
    efi::write_string(&paths.efivars, REQUEST_VAR, &json)?;
    efi::write_string(&paths.efivars, LEGACY_VAR, "yes")?;
    let tpm = if tpm_clear { write_ppi(paths, PPI_CLEAR)? } else { TpmClear::NotAsked };
    Ok(Requested { request: json, tpm_clear: tpm })
}

/// Withdraws a request: removes both variables (and with `tpm_clear` a pending TPM clear).
/// Refused while this boot is resetting, as systemd refuses. Returns whether a variable was
/// there.
pub fn cancel(paths: &Paths, tpm_clear: bool) -> Result<(bool, TpmClear), RequestError> {
    let now = mode(paths)?;
    if now.mode == Mode::On {
        return Err(RequestError::Refused(format!("the system is executing a factory reset now ({}); cannot cancel", now.reason)));
    }
    let mut removed = false;
    if paths.efivars.is_dir() {
        removed |= efi::remove(&paths.efivars, REQUEST_VAR)?;
        removed |= efi::remove(&paths.efivars, LEGACY_VAR)?;
    }
    let tpm = if tpm_clear { write_ppi(paths, PPI_NONE)? } else { TpmClear::NotAsked };
    Ok((removed, tpm))
}

/// Writes a PPI operation as `systemd-tpm2-clear` writes it (`write_string_file`: the number and
/// a newline), unless TPM clearing is disabled on the kernel command line or in the environment.
fn write_ppi(paths: &Paths, op: &str) -> Result<TpmClear, RequestError> {
    if op == PPI_CLEAR {
        let env = std::env::var("SYSTEMD_TPM2_ALLOW_CLEAR").ok().and_then(|v| parse_boolean(&v));
        let cmdline = read_text(&paths.cmdline)?.and_then(|t| cmdline_bool(&t, "systemd.tpm2_allow_clear")).and_then(Result::ok);
        if env.or(cmdline) == Some(false) {
            return Ok(TpmClear::Disabled);
        }
    }
    let path = paths.ppi.join("request");
    if !paths.ppi.is_dir() {
        return Err(RequestError::Refused(format!(
            "{} does not exist: no TPM with a physical presence interface to ask for a clear",
            paths.ppi.display()
        )));
    }
    std::fs::write(&path, format!("{op}\n")).map_err(|source| RequestError::Read { path, source })?;
    Ok(if op == PPI_CLEAR { TpmClear::Requested } else { TpmClear::Withdrawn })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_read_like_systemd() {
        assert_eq!(cmdline_bool("quiet systemd.factory_reset", "systemd.factory_reset"), Some(Ok(true)));
        assert_eq!(cmdline_bool("systemd.factory_reset=1 systemd.factory-reset=off", "systemd.factory_reset"), Some(Ok(false)));
        assert_eq!(cmdline_bool("a=\"b c\" systemd.factory_reset=\"yes\"", "systemd.factory_reset"), Some(Ok(true)));
        assert_eq!(cmdline_bool("systemd.factory_reset=maybe", "systemd.factory_reset"), Some(Err("maybe".into())));
        assert_eq!(cmdline_bool("rd.systemd.factory_reset=1", "systemd.factory_reset"), None);
    }

    #[test]
    fn os_release_and_the_request_json() {
        let os = OsRelease::parse("# c\nID=debian\nVERSION_ID=\"12\"\nIMAGE_ID='kiosk'\nIMAGE_VERSION=\"1.\\\"2\"\nPRETTY_NAME=\"D\"\n");
        let json = request_json(&os, "0123456789abcdef0123456789abcdef").unwrap();
        assert_eq!(
            json,
            r#"{"osReleaseId":"debian","osReleaseVersionId":"12","osReleaseImageId":"kiosk","osReleaseImageVersion":"1.\"2","bootId":"0123456789abcdef0123456789abcdef"}"#
        );
        let json = request_json(&OsRelease::parse("ID=fedora\nVERSION_ID=\n"), "00").unwrap();
        assert_eq!(json, r#"{"osReleaseId":"fedora","bootId":"00"}"#);
        assert!(request_json(&OsRelease::parse("NAME=x\n"), "00").is_err());
    }
}
