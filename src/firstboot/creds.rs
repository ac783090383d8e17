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

fn read_secret(dir: &Path, name: &str) -> Result<Option<Secret>, FirstbootError> {
    match Secret::from_file(&dir.join(name)) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FirstbootError::Credential { name: name.to_string(), source }),
    }
}

fn read_text(dir: &Path, name: &str) -> Result<Option<String>, FirstbootError> {
    let Some(s) = read_secret(dir, name)? else { return Ok(None) };
    let text = std::str::from_utf8(s.expose()).map_err(|_| FirstbootError::CredentialNotText(name.to_string()))?;
    Ok(Some(text.to_string()))
}

/// The answers found in credentials folder `dir`. `machine_id` is false.
pub fn read(dir: &Path) -> Result<Answers, FirstbootError> {
    let root_password = match read_text(dir, HASHED_PASSWORD)? {
        Some(h) => Some(RootPassword::Hashed(h)),
        None => read_secret(dir, PLAINTEXT_PASSWORD)?.map(RootPassword::Plain),
    };
    let hostname = match read_text(dir, FIRSTBOOT_HOSTNAME)? {
        Some(h) => Some(h),
        None => read_text(dir, SYSTEM_HOSTNAME)?,
    };
    Ok(Answers {
        locale: read_text(dir, LOCALE)?,
        locale_messages: read_text(dir, LOCALE_MESSAGES)?,
        keymap: read_text(dir, KEYMAP)?,
        timezone: read_text(dir, TIMEZONE)?,
        hostname,
        root_password,
        root_shell: read_text(dir, SHELL)?,
        machine_id: false,
    })
}
