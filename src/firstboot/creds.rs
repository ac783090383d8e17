//! The credentials systemd-firstboot reads, from a credentials folder ($CREDENTIALS_DIRECTORY or
//! one given). A missing credential is no answer; one that exists but cannot be read is an error
//! that names it. One trailing newline is dropped from each value.

use std::path::Path;

use super::{Answers, FirstbootError, RootPassword};
use crate::secret::Secret;

pub const LOCALE: &str = "firstboot.locale";
pub const LOCALE_MESSAGES: &str = "firstboot.locale-messages";
pub const KEYMAP: &str = "firstboot.keymap";
pub const TIMEZONE: &str = "firstboot.timezone";
/// Read by systemd-firstboot since v261; checked before [`SYSTEM_HOSTNAME`].
pub const FIRSTBOOT_HOSTNAME: &str = "firstboot.hostname";
/// PID 1's host name credential, also honoured here.
pub const SYSTEM_HOSTNAME: &str = "system.hostname";
pub const HASHED_PASSWORD: &str = "passwd.hashed-password.root";
pub const PLAINTEXT_PASSWORD: &str = "passwd.plaintext-password.root";
pub const SHELL: &str = "passwd.shell.root";

/// Refuses a credentials folder someone else could have filled: it must be a folder (not a
/// symbolic link to one), owned by root or by this process's effective user, and writable by
/// neither its group nor others. systemd's own (`/run/credentials/<unit>`, `@system`,
/// `@encrypted`) are root's, 0500 or 0700. A folder that does not exist is an error too: it was
/// named, so something is wrong.
pub fn check_folder(dir: &Path) -> Result<(), FirstbootError> {
    use std::os::unix::fs::MetadataExt;
    let refuse = |why: String| FirstbootError::CredentialsFolder { path: dir.to_path_buf(), why };
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(refuse("it does not exist".into())),
        Err(e) => return Err(refuse(format!("cannot look at it: {e}"))),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse("it is a symbolic link; name the folder itself".into()));
    }
    if !meta.is_dir() {
        return Err(refuse("it is not a folder".into()));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != 0 && meta.uid() != euid {
        return Err(refuse(format!("it is owned by uid {}, neither root nor this user (uid {euid})", meta.uid())));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(refuse(format!("its mode {mode:04o} lets others than its owner write to it (chmod go-w)")));
    }
    Ok(())
}

fn read_secret(dir: &Path, name: &str) -> Result<Option<Secret>, FirstbootError> {
    match Secret::from_file(&dir.join(name)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FirstbootError::Credential { name: name.to_string(), source }),
    }
}

/// Reads one credential by name: None when there is none.
type Reader<'a> = dyn Fn(&str) -> Result<Option<Secret>, FirstbootError> + 'a;

fn text_of(get: &Reader, name: &str) -> Result<Option<String>, FirstbootError> {
    let Some(s) = get(name)? else { return Ok(None) };
    let text = std::str::from_utf8(s.expose()).map_err(|_| FirstbootError::CredentialNotText(name.to_string()))?;
    Ok(Some(text.to_string()))
}

/// The answers found in credentials folder `dir`. `machine_id` is false.
pub fn read(dir: &Path) -> Result<Answers, FirstbootError> {
    read_with(&|name: &str| read_secret(dir, name))
}

/// The answers found as encrypted credentials in `dir` (systemd 252 puts those systemd-stub
/// passes, from the ESP's `/loader/credentials/`, in `/run/credentials/@encrypted`), each
/// decrypted by `systemd-creds decrypt --name=<name>` into memory: systemd's own check of the
/// name, the TPM2 policy and the authentication tag. `tpm2_device`: systemd-creds'
/// `--tpm2-device=` (`auto`, or a TCTI in tests).
pub fn read_encrypted(dir: &Path, tpm2_device: &str) -> Result<Answers, FirstbootError> {
    read_with(&|name: &str| decrypt(dir, name, tpm2_device))
}

/// The largest encrypted credential systemd accepts (1 MiB of data, base64, and its header) with
/// room to spare; anything larger is refused before it is read.
const ENCRYPTED_MAX: u64 = 2 << 20;

fn decrypt(dir: &Path, name: &str, tpm2_device: &str) -> Result<Option<Secret>, FirstbootError> {
    let path = dir.join(name);
    let bad = |msg: String| FirstbootError::Credential { name: name.to_string(), source: std::io::Error::other(msg) };
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(FirstbootError::Credential { name: name.to_string(), source }),
    };
    if !meta.is_file() {
        return Err(bad(format!("{} is not a regular file", path.display())));
    }
    if meta.len() > ENCRYPTED_MAX {
        return Err(bad(format!("{} is {} bytes; an encrypted credential is at most {ENCRYPTED_MAX}", path.display(), meta.len())));
    }
    let args = ["decrypt".into(), format!("--name={name}"), format!("--tpm2-device={tpm2_device}"), path.display().to_string(), "-".into()];
    let mut bytes = crate::task::run_with_input("systemd-creds", &args, b"").map_err(|e| bad(e.to_string()))?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop(); // one trailing newline, as for a credential file
    }
    let value = Secret::new(bytes);
    Ok(Some(value))
}

fn read_with(get: &Reader) -> Result<Answers, FirstbootError> {
    let root_password = match text_of(get, HASHED_PASSWORD)? {
        Some(h) => Some(RootPassword::Hashed(h)),
        None => get(PLAINTEXT_PASSWORD)?.map(RootPassword::Plain),
    };
    let hostname = match text_of(get, FIRSTBOOT_HOSTNAME)? {
        Some(h) => Some(h),
        None => text_of(get, SYSTEM_HOSTNAME)?,
    };
    Ok(Answers {
        locale: text_of(get, LOCALE)?,
        locale_messages: text_of(get, LOCALE_MESSAGES)?,
        keymap: text_of(get, KEYMAP)?,
        timezone: text_of(get, TIMEZONE)?,
        hostname,
        root_password,
        root_shell: text_of(get, SHELL)?,
        machine_id: false,
    })
}
