//! LUKS2 headers, keyslots and tokens through libcryptsetup, with systemd-repart's choices; and the
//! userspace AES-XTS ([`Xts`]) that encrypts the data segment while it is copied.
//!
//! Why it exists: the installed system's encrypted partitions must be what systemd would have
//! made (LUKS2, `aes-xts-plain64`, a 512-bit volume key, the derived UUID and the label, argon2id
//! for passphrases, systemd's minimal PBKDF and a `systemd-recovery` token for the recovery key),
//! and there is no device-mapper to encrypt through. So the header is formatted into a scratch
//! file the size of the partition, the executor copies bytes `[0, data_offset)` of it to the
//! partition, and writes the data segment itself through [`Xts`]. Verification loads the header
//! back (into a fresh sparse file of the partition's size) and checks passphrases with
//! [`check_passphrase`], which asks libcryptsetup to open a keyslot without activating anything.
//!
//! What it must not do: activate volumes (no device-mapper here); let libcryptsetup write to the
//! terminal (its log callback is replaced by a per-thread buffer, see [`take_log`]); print, log
//! or store a secret. This is the only module that uses `libcryptsetup-rs`.
//!
//! libcryptsetup objects are not `Send`: every function here opens, uses and frees its own
//! context on the calling thread.

pub mod probe;
pub mod recovery;
mod xts;

use std::cell::RefCell;
use std::ffi::CStr;
use std::fs::OpenOptions;
use std::io;
use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;
use std::sync::Once;

use libcryptsetup_rs::consts::flags::{CryptActivate, CryptPbkdf, CryptVolumeKey};
use libcryptsetup_rs::consts::vals::{CryptDebugLevel, CryptKdf, EncryptionFormat, LuksType};
use libcryptsetup_rs::{
    CryptDevice, CryptInit, CryptParamsLuks2, CryptParamsLuks2Ref, CryptPbkdfType, CryptSettingsHandle, CryptTokenInfo, Either,
    LibcryptErr, TokenInput,
};

pub use xts::Xts;

use crate::secret::Secret;

/// The LUKS2 volume key size systemd-repart uses since v253: 512 bits, AES-256-XTS.
pub const VOLUME_KEY_BYTES: usize = 64;
/// LUKS2 holds at most 32 tokens.
const MAX_TOKENS: u32 = 32;

/// How a keyslot's passphrase is stretched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pbkdf {
    /// libcryptsetup's LUKS2 default, benchmarked on this machine: argon2id, 2 s, up to 1 GiB and
    /// 4 threads. systemd-cryptenroll (`--password`) and systemd-repart (key-file slot) set no
    /// PBKDF, so this is what systemd uses for passphrases.
    Systemd,
    /// systemd's `cryptsetup_set_minimal_pbkdf()` (src/shared/cryptsetup-util.c): PBKDF2 with
    /// **SHA-512**, 1000 iterations, `CRYPT_PBKDF_NO_BENCHMARK`. systemd uses it for keyslots
    /// whose secret is already high-entropy: recovery keys (cryptenroll-recovery.c), TPM2,
    /// FIDO2, PKCS#11 and empty-passphrase slots.
    Minimal,
    /// For tests only: argon2id, 4 iterations, 32 KiB, 1 thread, no benchmark (libcryptsetup's
    /// minimums).
    Test,
}

impl Pbkdf {
    fn settings(self) -> Result<CryptPbkdfType, LibcryptErr> {
        Ok(match self {
            Pbkdf::Systemd => CryptSettingsHandle::get_pbkdf_default(&LuksType::Luks2)?,
            Pbkdf::Minimal => CryptPbkdfType {
                type_: CryptKdf::Pbkdf2,
                hash: Some("sha512".into()),
                time_ms: 0,
                iterations: 1000,
                max_memory_kb: 0,
                parallel_threads: 0,
                flags: CryptPbkdf::NO_BENCHMARK,
            },
            Pbkdf::Test => CryptPbkdfType {
                type_: CryptKdf::Argon2Id,
                hash: None,
                time_ms: 0,
                iterations: 4,
                max_memory_kb: 32,
                parallel_threads: 1,
                flags: CryptPbkdf::NO_BENCHMARK,
            },
        })
    }
}

/// What [`format`] writes into the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatParams {
    /// The LUKS UUID: systemd-repart derives it with [`crate::plan::derive::luks_uuid`].
    pub uuid: uuid::Uuid,
    /// The LUKS2 label: the partition label (v252–v258), `luks-<partition label>` since v259.
    pub label: String,
    /// The encryption sector size: 512 or 4096.
    pub sector_size: u32,
    /// Only used by the header's digest here; keyslots get theirs in [`add_keyslot`].
    pub pbkdf: Pbkdf,
}

/// A freshly formatted header.
#[derive(Debug)]
pub struct Header {
    /// Where the data segment starts, in bytes from the start of the partition (16 MiB).
    pub data_offset: u64,
    pub sector_size: u32,
    /// 64 random bytes from the kernel: the AES-256-XTS key of the data segment.
    pub volume_key: Secret,
}

#[derive(Debug, thiserror::Error)]
pub enum LuksError {
    /// No keyslot opens with the passphrase given.
    #[error("no keyslot opens with this passphrase")]
    WrongPassphrase,
    /// libcryptsetup refused or failed; `what` names the operation and the file.
    #[error("{what}")]
    Crypt { what: String, source: io::Error },
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn crypt_err(what: impl Into<String>) -> impl FnOnce(LibcryptErr) -> LuksError {
    let what = what.into();
    move |e| LuksError::Crypt {
        what,
        source: match e {
            LibcryptErr::IOError(e) => e,
            other => io::Error::other(other.to_string()),
        },
    }
}

fn invalid(what: String, why: &str) -> LuksError {
    LuksError::Crypt { what, source: io::Error::new(io::ErrorKind::InvalidInput, why.to_string()) }
}

// ---------------------------------------------------------------------------------------------
// libcryptsetup's log

/// libcryptsetup's message levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Normal,
    Error,
    Verbose,
    Debug,
}

/// One message libcryptsetup logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogMessage {
    pub level: LogLevel,
    pub text: String,
}

/// Messages kept per thread; older ones are dropped beyond this.
const LOG_CAP: usize = 256;

thread_local! {
    static LOG: RefCell<Vec<LogMessage>> = const { RefCell::new(Vec::new()) };
}

/// The libcryptsetup messages logged on this thread since the last call, oldest first.
///
/// libcryptsetup never writes to the terminal once any function of this module has run: its
/// global log callback is replaced by one that appends here. It calls back on the thread that
/// called it, so a caller reads the messages of its own calls. libcryptsetup does not put
/// passphrases or keys into messages; tests/luks.rs checks that for ours.
pub fn take_log() -> Vec<LogMessage> {
    LOG.with(|l| l.try_borrow_mut().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default())
}

unsafe extern "C" fn log_to_buffer(level: c_int, msg: *const c_char, _usrptr: *mut c_void) {
    if msg.is_null() {
        return;
    }
    // SAFETY: libcryptsetup passes a NUL-terminated string valid for the call.
    let text = unsafe { CStr::from_ptr(msg) }.to_string_lossy().trim_end().to_string();
    let level = match level {
        1 => LogLevel::Error,
        2 => LogLevel::Verbose,
        0 => LogLevel::Normal,
        _ => LogLevel::Debug,
    };
    // Never panic across the FFI boundary: a busy buffer (impossible in practice) loses the line.
    let _ = LOG.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            if l.len() >= LOG_CAP {
                l.remove(0);
            }
            l.push(LogMessage { level, text });
        }
    });
}

/// Routes libcryptsetup's log into [`take_log`]'s buffer, once per process, before any other call.
fn quiet_libcryptsetup() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        libcryptsetup_rs::set_log_callback::<()>(Some(log_to_buffer), None);
        libcryptsetup_rs::set_debug_level(CryptDebugLevel::None);
    });
}

// ---------------------------------------------------------------------------------------------
// Header, keyslots, tokens

fn open(dev: &Path) -> Result<CryptDevice, LuksError> {
    quiet_libcryptsetup();
    let mut cd = CryptInit::init(dev).map_err(crypt_err(format!("opening {}", dev.display())))?;
    cd.context_handle()
        .load::<()>(Some(EncryptionFormat::Luks2), None)
        .map_err(crypt_err(format!("loading the LUKS2 header of {}", dev.display())))?;
    Ok(cd)
}

/// Creates (or empties) the sparse file `scratch` of `size` bytes, the size of the partition, and
/// formats a LUKS2 header into it: `aes`/`xts-plain64`, a new random 512-bit volume key, the UUID,
/// label and sector size of `p`, libcryptsetup's default 16 MiB header area. No keyslot yet.
///
/// `size` must be a multiple of the sector size and leave room for data after the header.
pub fn format(scratch: &Path, size: u64, p: &FormatParams) -> Result<Header, LuksError> {
    let what = format!("formatting LUKS2 on {}", scratch.display());
    if p.sector_size != 512 && p.sector_size != 4096 {
        return Err(invalid(what, "the LUKS2 sector size must be 512 or 4096"));
    }
    if !size.is_multiple_of(u64::from(p.sector_size)) {
        return Err(invalid(what, "the partition size is not a multiple of the sector size"));
    }
    if p.label.contains('\0') {
        return Err(invalid(what, "the label contains a NUL byte"));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(scratch)
        .and_then(|f| f.set_len(size).map(|()| f))
        .map_err(|e| io::Error::new(e.kind(), format!("creating the scratch file {}: {e}", scratch.display())))?;
    drop(file);

    quiet_libcryptsetup();
    let volume_key = Secret::random(VOLUME_KEY_BYTES)?;
    let mut cd = CryptInit::init(scratch).map_err(crypt_err(format!("opening {}", scratch.display())))?;
    let pbkdf = p.pbkdf.settings().map_err(crypt_err(what.clone()))?;
    let params = CryptParamsLuks2 {
        pbkdf: Some(pbkdf),
        integrity: None,
        integrity_params: None,
        data_alignment: 0,
        data_device: None,
        sector_size: p.sector_size,
        label: Some(p.label.clone()),
        subsystem: None,
    };
    let mut params_ref: CryptParamsLuks2Ref = (&params).try_into().map_err(crypt_err(what.clone()))?;
    cd.context_handle()
        .format(EncryptionFormat::Luks2, ("aes", "xts-plain64"), Some(p.uuid), Either::Left(volume_key.expose()), Some(&mut params_ref))
        .map_err(crypt_err(what.clone()))?;
    let data_offset = cd.status_handle().get_data_offset() * 512;
    if data_offset == 0 || data_offset >= size {
        return Err(invalid(what, "the partition is too small for a LUKS2 header and data"));
    }
    Ok(Header { data_offset, sector_size: p.sector_size, volume_key })
}

/// Adds a keyslot that opens with `passphrase`, stretched with `pbkdf`. Returns its number.
pub fn add_keyslot(dev: &Path, volume_key: &Secret, passphrase: &Secret, pbkdf: Pbkdf) -> Result<u32, LuksError> {
    let what = format!("adding a keyslot to {}", dev.display());
    let mut cd = open(dev)?;
    let settings = pbkdf.settings().map_err(crypt_err(what.clone()))?;
    cd.settings_handle().set_pbkdf_type(&settings).map_err(crypt_err(what.clone()))?;
    cd.keyslot_handle()
        .add_by_key(None, Some(Either::Left(volume_key.expose())), passphrase.expose(), CryptVolumeKey::empty())
        .map_err(crypt_err(what))
}

/// Adds a LUKS2 token (a JSON object with `type` and `keyslots`, the keyslots as strings:
/// `["1"]`). Returns its number.
pub fn add_token(dev: &Path, json: &serde_json::Value) -> Result<u32, LuksError> {
    let what = format!("adding a token to {}", dev.display());
    let keyslots_are_strings = json.get("keyslots").and_then(|k| k.as_array()).is_some_and(|a| a.iter().all(|s| s.is_string()));
    if json.get("type").and_then(|t| t.as_str()).is_none() || !keyslots_are_strings {
        return Err(invalid(what, "a LUKS2 token needs a string \"type\" and \"keyslots\" as an array of strings"));
    }
    let mut cd = open(dev)?;
    cd.token_handle().json_set(TokenInput::AddToken(json)).map_err(crypt_err(what))
}

/// Every token in the header, by number.
pub fn tokens(dev: &Path) -> Result<Vec<(u32, serde_json::Value)>, LuksError> {
    let what = format!("reading the tokens of {}", dev.display());
    let mut cd = open(dev)?;
    let mut out = Vec::new();
    for t in 0..MAX_TOKENS {
        match cd.token_handle().status(t) {
            Ok(CryptTokenInfo::Inactive) => continue,
            Ok(CryptTokenInfo::Invalid) => break,
            Ok(_) => out.push((t, cd.token_handle().json_get(t).map_err(crypt_err(what.clone()))?)),
            Err(e) => return Err(crypt_err(what)(e)),
        }
    }
    Ok(out)
}

/// The keyslot that `passphrase` opens. Nothing is activated: libcryptsetup only unlocks the
/// volume key (an activation without a name). A passphrase that opens nothing is
/// [`LuksError::WrongPassphrase`].
pub fn check_passphrase(dev: &Path, passphrase: &Secret) -> Result<u32, LuksError> {
    let what = format!("checking a passphrase on {}", dev.display());
    let mut cd = open(dev)?;
    match cd.activate_handle().activate_by_passphrase(None, None, passphrase.expose(), CryptActivate::empty()) {
        Ok(slot) => Ok(slot),
        Err(LibcryptErr::IOError(e)) if e.raw_os_error() == Some(libc::EPERM) => Err(LuksError::WrongPassphrase),
        Err(e) => Err(crypt_err(what)(e)),
    }
}

/// The volume key that `passphrase` unlocks, and the keyslot it opened. Nothing is activated.
pub fn volume_key(dev: &Path, passphrase: &Secret) -> Result<(u32, Secret), LuksError> {
    let what = format!("unlocking the volume key of {}", dev.display());
    let mut cd = open(dev)?;
    let mut buf = zeroize::Zeroizing::new(vec![0u8; VOLUME_KEY_BYTES]);
    let got = cd.volume_key_handle().get(None, &mut buf, Some(passphrase.expose()));
    match got {
        Ok((slot, len)) => {
            let key = Secret::new(buf[..len.min(buf.len())].to_vec());
            Ok((u32::try_from(slot).map_err(|_| invalid(what, "libcryptsetup returned no keyslot"))?, key))
        }
        Err(LibcryptErr::IOError(e)) if e.raw_os_error() == Some(libc::EPERM) => Err(LuksError::WrongPassphrase),
        Err(e) => Err(crypt_err(what)(e)),
    }
}

/// Removes token `token` from the header.
pub fn remove_token(dev: &Path, token: u32) -> Result<(), LuksError> {
    let what = format!("removing token {token} from {}", dev.display());
    let mut cd = open(dev)?;
    cd.token_handle().json_set(TokenInput::RemoveToken(token)).map(|_| ()).map_err(crypt_err(what))
}

/// Destroys keyslot `slot`: libcryptsetup wipes its key material.
pub fn destroy_keyslot(dev: &Path, slot: u32) -> Result<(), LuksError> {
    let what = format!("removing keyslot {slot} from {}", dev.display());
    let mut cd = open(dev)?;
    cd.keyslot_handle().destroy(slot).map_err(crypt_err(what))
}

/// The token systemd-cryptenroll writes next to a recovery keyslot.
pub fn recovery_token(keyslot: u32) -> serde_json::Value {
    recovery_token_for(&[keyslot])
}

/// A `systemd-recovery` token naming several keyslots (the recovery key as shown, and the forms
/// people type it in: [`recovery::typed_variants`]).
pub fn recovery_token_for(keyslots: &[u32]) -> serde_json::Value {
    let slots: Vec<String> = keyslots.iter().map(u32::to_string).collect();
    serde_json::json!({ "type": "systemd-recovery", "keyslots": slots })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_token_is_systemds() {
        assert_eq!(recovery_token(1).to_string(), r#"{"type":"systemd-recovery","keyslots":["1"]}"#);
    }

    #[test]
    fn format_refuses_bad_parameters_before_touching_anything() {
        let dir = tempfile::tempdir().unwrap();
        let p = FormatParams { uuid: uuid::Uuid::nil(), label: "x".into(), sector_size: 1024, pbkdf: Pbkdf::Test };
        assert!(matches!(format(&dir.path().join("s"), 64 << 20, &p), Err(LuksError::Crypt { .. })));
        let p = FormatParams { sector_size: 4096, ..p };
        assert!(matches!(format(&dir.path().join("s"), (64 << 20) + 512, &p), Err(LuksError::Crypt { .. })));
        assert!(!dir.path().join("s").exists());
    }

    #[test]
    fn a_small_header_round_trips_and_logs_nothing_secret() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("scratch");
        let p = FormatParams { uuid: uuid::Uuid::new_v4(), label: "root-x86-64".into(), sector_size: 512, pbkdf: Pbkdf::Test };
        let h = format(&f, 20 << 20, &p).unwrap();
        assert_eq!((h.data_offset, h.sector_size, h.volume_key.len()), (16 << 20, 512, 64));
        let pass = Secret::from_text("unit-test-passphrase");
        let slot = add_keyslot(&f, &h.volume_key, &pass, Pbkdf::Test).unwrap();
        assert_eq!(check_passphrase(&f, &pass).unwrap(), slot);
        assert!(matches!(check_passphrase(&f, &Secret::from_text("nope")), Err(LuksError::WrongPassphrase)));
        let t = add_token(&f, &recovery_token(slot)).unwrap();
        assert_eq!(tokens(&f).unwrap(), vec![(t, recovery_token(slot))]);
        assert!(add_token(&f, &serde_json::json!({"type": "x", "keyslots": [0]})).is_err());
        assert!(take_log().iter().all(|m| !m.text.contains("unit-test-passphrase")));
    }
}
