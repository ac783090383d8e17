//! The answers file: a performed [`Request`] written in systemd's INI style (like the profiles),
//! so an attended install can be replayed unattended (`imprint install --answers FILE`) to the
//! same plan. It never holds a secret: no passphrase, PIN or recovery key — only which kind of
//! encryption was chosen.
//!
//! ```ini
//! [Install]
//! Target=/dev/vda
//! Source=auto
//! Profile=live
//! Seed=0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11
//! Empty=force
//! Verify=readback
//! FillFree=off
//!
//! [Encryption]
//! Mode=tpm2
//! RecoveryKey=yes
//!
//! [FirstBoot]
//! Locale=de_DE.UTF-8
//! Keymap=de
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{FirstbootAnswers, Request};
use crate::exec::{FillFree, Verify};
use crate::plan::{EmptyMode, EncryptionMode};
use crate::profile::ini::{self, ConfigError};

/// Where an install keeps its answers on the new ESP (readable before anything is unlocked; it
/// holds no secret).
pub const ESP_PATH: &str = "::/imprint/answers.conf";

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The answers file for a performed request (with its settled seed); a comment names the disk
/// GUID the install wrote, so a reader can match the file to the disk.
pub fn to_ini(req: &Request, disk_guid: uuid::Uuid) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# imprint install answers: replay with `imprint install --answers FILE`.");
    let _ = writeln!(s, "# Holds no secret; the disk GUID this install wrote was {}.", disk_guid);
    let _ = writeln!(s, "[Install]");
    let _ = writeln!(s, "Target={}", req.target.display());
    if let Some(size) = req.target_size {
        let _ = writeln!(s, "TargetSize={size}");
    }
    if let Some(src) = &req.source {
        let _ = writeln!(s, "Source={src}");
    }
    if let Some(p) = &req.profile {
        let _ = writeln!(s, "Profile={p}");
    }
    for d in &req.definitions {
        let _ = writeln!(s, "Definitions={}", d.display());
    }
    if let Some(seed) = req.seed {
        let _ = writeln!(s, "Seed={seed}");
    }
    let _ = writeln!(s, "Empty={}", req.empty.name());
    let _ = writeln!(s, "Verify={}", if req.verify == Verify::Readback { "readback" } else { "stream" });
    let _ = writeln!(s, "FillFree={}", req.fill_free.name());
    let e = &req.encryption;
    let _ = writeln!(s, "\n[Encryption]");
    if let Some(m) = e.mode {
        let _ = writeln!(s, "Mode={}", m.name());
    }
    let _ = writeln!(s, "TPM2Device={}", e.tpm2_device);
    if let Some(pcrs) = &e.tpm2_pcrs {
        let list: Vec<String> = pcrs.iter().map(u32::to_string).collect();
        let _ = writeln!(s, "TPM2PCRs={}", list.join("+"));
    }
    if let Some(k) = &e.tpm2_public_key {
        let _ = writeln!(s, "TPM2PublicKey={}", k.display());
    }
    let _ = writeln!(s, "UseUKIKey={}", yes(e.use_uki_key));
    if let Some(r) = e.recovery_key {
        let _ = writeln!(s, "RecoveryKey={}", yes(r));
    }
    let f = &req.firstboot;
    if !f.is_empty() {
        let _ = writeln!(s, "\n[FirstBoot]");
        for (k, v) in [("Locale", &f.locale), ("Keymap", &f.keymap), ("Timezone", &f.timezone), ("Hostname", &f.hostname)] {
            if let Some(v) = v {
                let _ = writeln!(s, "{k}={v}");
            }
        }
    }
    s
}

/// Reads an answers file; every error names the file and line and what is valid.
pub fn load(path: &Path) -> Result<Request, ConfigError> {
    let text = ini::read_text(path)?;
    parse(path, &text)
}

pub fn parse(path: &Path, text: &str) -> Result<Request, ConfigError> {
    let doc = ini::parse_str(path, text)?;
    let mut req = Request::new(PathBuf::new());
    let mut target = None;
    let mut fb = FirstbootAnswers::default();
    for section in &doc.sections {
        match section.name.as_str() {
            "Install" | "Encryption" | "FirstBoot" => {}
            other => return Err(section.error(format!("unknown section [{other}]; expected [Install], [Encryption] or [FirstBoot]"))),
        }
        for e in &section.entries {
            let v = e.value.trim();
            let some = |v: &str| Some(v.to_string()).filter(|v| !v.is_empty());
            let boolean = || ini::parse_bool(v).ok_or_else(|| e.error(format!("{}={v}: expected yes or no", e.key)));
            match (section.name.as_str(), e.key.as_str()) {
                ("Install", "Target") => target = some(v).map(PathBuf::from),
                ("Install", "TargetSize") => {
                    req.target_size = Some(
                        ini::parse_size(v)
                            .filter(|s| *s > 0)
                            .ok_or_else(|| e.error(format!("TargetSize={v}: expected bytes, or a number with K, M, G or T (base 1024)")))?,
                    )
                }
                ("Install", "Source") => req.source = some(v),
                ("Install", "Profile") => req.profile = some(v),
                ("Install", "Definitions") => req.definitions.push(PathBuf::from(v)),
                ("Install", "Seed") => {
                    req.seed = Some(v.parse().map_err(|_| e.error(format!("Seed={v}: expected a UUID")))?);
                }
                ("Install", "Empty") => {
                    req.empty = EmptyMode::NAMES
                        .iter()
                        .find_map(|(n, m)| (*n == v).then_some(*m))
                        .ok_or_else(|| e.error(format!("Empty={v}: expected refuse, allow, require, force or create")))?;
                }
                ("Install", "Verify") => {
                    req.verify = match v {
                        "stream" => Verify::Stream,
                        "readback" => Verify::Readback,
                        _ => return Err(e.error(format!("Verify={v}: expected stream or readback"))),
                    }
                }
                ("Install", "FillFree") => {
                    req.fill_free = FillFree::NAMES
                        .iter()
                        .find_map(|(n, f)| (*n == v).then_some(*f))
                        .ok_or_else(|| e.error(format!("FillFree={v}: expected off or random")))?;
                }
                ("Encryption", "Mode") => {
                    req.encryption.mode = Some(
                        EncryptionMode::NAMES
                            .iter()
                            .find_map(|(n, m)| (*n == v).then_some(*m))
                            .ok_or_else(|| e.error(format!("Mode={v}: expected tpm2, tpm2+pin, passphrase or off")))?,
                    );
                }
                ("Encryption", "TPM2Device") => req.encryption.tpm2_device = v.to_string(),
                ("Encryption", "TPM2PCRs") => {
                    req.encryption.tpm2_pcrs =
                        Some(crate::profile::conf::parse_pcrs(v).map_err(|why| e.error(format!("TPM2PCRs={v}: {why}")))?);
                }
                ("Encryption", "TPM2PublicKey") => req.encryption.tpm2_public_key = some(v).map(PathBuf::from),
                ("Encryption", "UseUKIKey") => req.encryption.use_uki_key = boolean()?,
                ("Encryption", "RecoveryKey") => req.encryption.recovery_key = Some(boolean()?),
                ("Encryption", "Passphrase" | "PIN" | "RecoveryKeyText") => {
                    return Err(e.error(format!("{}= is a secret and never belongs in an answers file", e.key)));
                }
                ("FirstBoot", "Locale") => fb.locale = some(v),
                ("FirstBoot", "Keymap") => fb.keymap = some(v),
                ("FirstBoot", "Timezone") => fb.timezone = some(v),
                ("FirstBoot", "Hostname") => fb.hostname = some(v),
                (s, k) => {
                    let valid = match s {
                        "Install" => "Target, TargetSize, Source, Profile, Definitions, Seed, Empty, Verify",
                        "Encryption" => "Mode, TPM2Device, TPM2PCRs, TPM2PublicKey, UseUKIKey, RecoveryKey",
                        _ => "Locale, Keymap, Timezone, Hostname",
                    };
                    return Err(e.error(format!("unknown key {k}= in [{s}]; valid: {valid}")));
                }
            }
        }
    }
    req.target = target.ok_or_else(|| ConfigError::new(path, None, "no Target= in [Install]: an answers file names its target"))?;
    req.firstboot = fb;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_through_its_answers_file() {
        let mut r = Request::new("/dev/vdb");
        r.source = Some("auto".into());
        r.profile = Some("live".into());
        r.definitions = vec!["/etc/extra.repart.d".into()];
        r.seed = Some(uuid::uuid!("0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11"));
        r.empty = EmptyMode::Force;
        r.verify = Verify::Readback;
        r.target_size = Some(8 << 30);
        r.encryption.mode = Some(EncryptionMode::Tpm2Pin);
        r.encryption.tpm2_pcrs = Some(vec![7, 11]);
        r.encryption.recovery_key = Some(true);
        r.encryption.use_uki_key = false;
        r.firstboot = FirstbootAnswers { locale: Some("de_DE.UTF-8".into()), keymap: Some("de".into()), timezone: None, hostname: None };
        let text = to_ini(&r, uuid::Uuid::nil());
        assert_eq!(parse(Path::new("a.conf"), &text).unwrap(), r, "{text}");
        assert!(!text.to_lowercase().contains("passphrase="), "{text}");
    }

    #[test]
    fn bad_answers_name_the_file_line_and_what_is_valid() {
        let e = parse(Path::new("a.conf"), "[Install]\nTarget=/dev/x\nEmpty=maybe\n").unwrap_err().to_string();
        assert_eq!(e, "a.conf:3: Empty=maybe: expected refuse, allow, require, force or create");
        let e = parse(Path::new("a.conf"), "[Encryption]\nPassphrase=hunter2\n").unwrap_err().to_string();
        assert!(e.starts_with("a.conf:2: Passphrase= is a secret"), "{e}");
        assert!(!e.contains("hunter2"));
        let e = parse(Path::new("a.conf"), "[Install]\nSource=auto\n").unwrap_err().to_string();
        assert!(e.contains("no Target="), "{e}");
        let e = parse(Path::new("a.conf"), "[Install]\nTarget=/x\nColour=red\n").unwrap_err().to_string();
        assert!(e.starts_with("a.conf:3: unknown key Colour= in [Install]; valid: Target,"), "{e}");
    }
}
