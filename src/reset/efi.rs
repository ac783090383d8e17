//! EFI variables as systemd reads and writes them through efivarfs (`src/basic/efivars.c`,
//! `src/shared/efivars.c`): a file `NAME-VENDORGUID` holding the attributes as a little-endian
//! u32 and then the payload. Strings are UTF-16LE with a terminating NUL character
//! (`efi_set_variable_string`); systemd writes every variable with the attributes
//! NON_VOLATILE | BOOTSERVICE_ACCESS | RUNTIME_ACCESS (0x7).
//!
//! Newer kernels mark most efivarfs files immutable (FS_IMMUTABLE_FL); like systemd, the flag is
//! dropped before a write or removal and put back afterwards. On a plain folder (tests) the flag
//! ioctls may be unsupported, which is fine.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// systemd's vendor GUID (`SD_ID128_MAKE_STR(8c,f2,64,4b,…)`).
pub const SYSTEMD_VENDOR: &str = "8cf2644b-4b0b-428f-9387-6d876050dc67";
/// EFI_VARIABLE_NON_VOLATILE | EFI_VARIABLE_BOOTSERVICE_ACCESS | EFI_VARIABLE_RUNTIME_ACCESS.
pub const ATTRIBUTES: u32 = 0x0000_0007;
/// Where the kernel shows EFI variables.
pub const DEFAULT_EFIVARS: &str = "/sys/firmware/efi/efivars";

const EFIVARFS_MAGIC: u64 = 0xde5e_81e4;
use crate::fsflags::{self, FS_IMMUTABLE_FL};

#[derive(Debug, thiserror::Error)]
pub enum EfiError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> EfiError + '_ {
    move |source| EfiError::Io { path: path.to_path_buf(), source }
}

/// The file of systemd's variable `name` in `dir`.
pub fn var_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}-{SYSTEMD_VENDOR}"))
}

/// The bytes of a string variable as systemd writes it: attributes, UTF-16LE, a NUL character.
pub fn encode_string(value: &str) -> Vec<u8> {
    let mut out = ATTRIBUTES.to_le_bytes().to_vec();
    for unit in value.encode_utf16().chain(std::iter::once(0)) {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// The attributes and the string of a variable file, as `efi_get_variable_string` reads it (up
/// to the first NUL character). None when shorter than the attributes or not UTF-16.
pub fn decode_string(bytes: &[u8]) -> Option<(u32, String)> {
    if bytes.len() < 4 {
        return None;
    }
    let attrs = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    let units: Vec<u16> = bytes[4..].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|u| *u != 0).collect();
    String::from_utf16(&units).ok().map(|s| (attrs, s))
}

/// Reads systemd's variable `name`; None when it does not exist.
pub fn read(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, EfiError> {
    let path = var_path(dir, name);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(EfiError::Io { path, source: e }),
    }
}

/// Reads a string variable; None when missing or unreadable as a string.
pub fn read_string(dir: &Path, name: &str) -> Result<Option<String>, EfiError> {
    Ok(read(dir, name)?.and_then(|b| decode_string(&b)).map(|(_, s)| s))
}

/// Writes systemd's string variable `name` exactly as `efi_set_variable_string` does; a variable
/// already holding these bytes is left alone.
pub fn write_string(dir: &Path, name: &str, value: &str) -> Result<(), EfiError> {
    let bytes = encode_string(value);
    let path = var_path(dir, name);
    if std::fs::read(&path).is_ok_and(|b| b == bytes) {
        return Ok(());
    }
    let saved = drop_immutable(&path);
    let result = write_file(dir, &path, &bytes);
    restore_immutable(&path, saved);
    result.map_err(io_err(&path))
}

fn write_file(dir: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    // efivarfs takes a variable in a single write() and replaces it whole; it cannot truncate.
    // A plain folder needs the truncation, or a shorter value would keep the old tail.
    let efivarfs = is_efivarfs(dir);
    let mut f = File::options().write(true).create(true).truncate(!efivarfs).mode(0o644).open(path)?;
    let n = f.write(bytes)?;
    if n != bytes.len() {
        return Err(io::Error::other(format!("short write: {n} of {} bytes", bytes.len())));
    }
    f.sync_all()
}

/// Removes systemd's variable `name`; true when there was one.
pub fn remove(dir: &Path, name: &str) -> Result<bool, EfiError> {
    let path = var_path(dir, name);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(false);
    }
    let saved = drop_immutable(&path);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => {
            restore_immutable(&path, saved);
            Err(EfiError::Io { path, source: e })
        }
    }
}

fn is_efivarfs(dir: &Path) -> bool {
    // the field's C type differs between architectures; the magic fits 32 bits
    nix::sys::statfs::statfs(dir).is_ok_and(|s| (s.filesystem_type().0 as u64) & 0xffff_ffff == EFIVARFS_MAGIC)
}

/// `chattr -i` on an existing file; returns the flags to put back. Files that do not exist and
/// file systems without the flag ioctls (ENOTTY and friends on a plain folder) give None.
fn drop_immutable(path: &Path) -> Option<libc::c_long> {
    let f = File::open(path).ok()?;
    let flags = fsflags::get(&f).ok()?;
    if flags & FS_IMMUTABLE_FL != 0 {
        fsflags::set(&f, flags & !FS_IMMUTABLE_FL).ok()?;
    }
    Some(flags)
}

fn restore_immutable(path: &Path, saved: Option<libc::c_long>) {
    let Some(flags) = saved.filter(|f| f & FS_IMMUTABLE_FL != 0) else { return };
    if let Ok(f) = File::open(path) {
        let _ = fsflags::set(&f, flags);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_utf16_with_a_nul_after_the_attributes() {
        assert_eq!(encode_string("yes"), [7, 0, 0, 0, b'y', 0, b'e', 0, b's', 0, 0, 0]);
        assert_eq!(decode_string(&encode_string("ü€")), Some((7, "ü€".to_string())));
        assert_eq!(decode_string(&[7, 0, 0]), None);
    }

    #[test]
    fn write_replace_read_remove_in_a_plain_folder() {
        let dir = tempfile::tempdir().unwrap();
        write_string(dir.path(), "Test", "a longer value").unwrap();
        write_string(dir.path(), "Test", "short").unwrap();
        assert_eq!(std::fs::read(var_path(dir.path(), "Test")).unwrap(), encode_string("short"));
        assert_eq!(read_string(dir.path(), "Test").unwrap().as_deref(), Some("short"));
        assert!(remove(dir.path(), "Test").unwrap());
        assert!(!remove(dir.path(), "Test").unwrap());
        assert_eq!(read(dir.path(), "Test").unwrap(), None);
    }
}
