//! First-boot answers for an installed system that boots a unified kernel image (UKI, Boot Loader
//! Specification Type #2, `/EFI/Linux/*.efi`): its command line is inside the signed image, so
//! the answers cannot ride on it as they do on Type #1 entries. They go where systemd-stub picks
//! them up instead: `/loader/credentials/<name>.cred` on the ESP, which the stub hands to the
//! initrd (`/.extra/global_credentials/`) and systemd puts in `/run/credentials/@encrypted/` —
//! encrypted credentials, which systemd only accepts in systemd-creds' format.
//!
//! They are made by systemd-creds itself (`systemd-creds encrypt --name=<name>`), so the format is
//! systemd's by construction: sealed to this machine's TPM2 (`--with-key=tpm2`, the install's PCRs
//! or PCR 7) when there is one, else with the key systemd uses when no TPM2 is present
//! (`tpm2-absent`, which systemd refuses to decrypt on a machine that has a TPM2). Never with the
//! host key: that key belongs to the live system, not the installed one.

use crate::task::TaskError;
use crate::tpm::Device;

/// Where systemd-stub looks for credentials for every UKI on the ESP.
pub const DIR: &str = "::/loader/credentials";

/// The folder of unified kernel images systemd-boot lists (Type #2 entries).
const UKI_DIR: &str = "::/EFI/Linux";

/// What a credential is sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredKey {
    /// This TPM2, under a policy of these PCRs (SHA-256 bank).
    Tpm2 { device: String, pcrs: Vec<u32> },
    /// The TPM2 on `device` with PCR 7 when one answers there, else [`CredKey::Tpm2Absent`];
    /// decided when the credentials are written.
    Auto { device: String },
    /// systemd's fixed key for machines without a TPM2.
    Tpm2Absent,
}

impl CredKey {
    /// The key as it will be used: [`CredKey::Auto`] asks the TPM.
    pub fn resolve(&self) -> CredKey {
        match self {
            CredKey::Auto { device } => {
                let dev: Device = device.parse().unwrap_or(Device::Auto);
                if crate::tpm::status(&dev, &[7], crate::tpm::PcrBank::Sha256).present {
                    CredKey::Tpm2 { device: device.clone(), pcrs: vec![7] }
                } else {
                    CredKey::Tpm2Absent
                }
            }
            k => k.clone(),
        }
    }

    /// In words, for the install's record: "sealed to the TPM2 (PCR 7)".
    pub fn describe(&self) -> String {
        match self {
            CredKey::Tpm2 { pcrs, .. } if pcrs.is_empty() => "sealed to the TPM2 (no PCRs)".into(),
            CredKey::Tpm2 { pcrs, .. } => {
                let list: Vec<String> = pcrs.iter().map(u32::to_string).collect();
                format!("sealed to the TPM2 (PCR {})", list.join("+"))
            }
            CredKey::Auto { .. } => "sealed to the TPM2 if there is one".into(),
            CredKey::Tpm2Absent => "with systemd's key for machines without a TPM2".into(),
        }
    }
}

/// The unified kernel images (`/EFI/Linux/*.efi`) in the FAT file system at `offset` of `target`,
/// by name; empty when there is no such folder.
pub fn ukis(target: &std::path::Path, offset: u64) -> Vec<String> {
    let img = format!("{}@@{offset}", target.display());
    let Ok(listing) = crate::task::run("mdir", ["-b", "-i", img.as_str(), UKI_DIR]) else {
        return Vec::new();
    };
    listing
        .lines()
        .map(str::trim)
        .filter(|l| l.to_ascii_lowercase().ends_with(".efi"))
        .map(|l| l.rsplit('/').next().unwrap_or(l).to_string())
        .collect()
}

/// `value` encrypted as credential `name` by systemd-creds (its base64 text, as
/// `LoadCredentialEncrypted=` and systemd-stub read it). `key` must be resolved.
pub fn encrypt(name: &str, value: &str, key: &CredKey) -> Result<Vec<u8>, TaskError> {
    let mut args = vec!["encrypt".to_string(), format!("--name={name}")];
    match key {
        CredKey::Tpm2 { device, pcrs } => {
            args.push("--with-key=tpm2".into());
            args.push(format!("--tpm2-device={device}"));
            let list: Vec<String> = pcrs.iter().map(u32::to_string).collect();
            args.push(format!("--tpm2-pcrs={}", list.join("+")));
        }
        CredKey::Tpm2Absent => args.push("--with-key=tpm2-absent".into()),
        CredKey::Auto { .. } => unreachable!("resolve() the key first"),
    }
    args.extend(["-".to_string(), "-".to_string()]);
    let out = crate::task::run_with_input("systemd-creds", &args, value.as_bytes())?;
    if out.is_empty() {
        return Err(TaskError { cmdline: format!("systemd-creds {}", args.join(" ")), detail: "no output".into() });
    }
    Ok(out)
}

/// Writes each (name, value) as `/loader/credentials/<name>.cred` on the FAT file system at
/// `offset` of `target`, encrypted with `key`; one line per file for the install's record.
pub fn write(target: &std::path::Path, offset: u64, creds: &[(String, String)], key: &CredKey) -> Result<Vec<String>, TaskError> {
    let key = key.resolve();
    let mut done = Vec::new();
    for (name, value) in creds {
        let bytes = encrypt(name, value, &key)?;
        let path = format!("{DIR}/{name}.cred");
        if !super::put_file(target, offset, &path, &bytes)? {
            done.push(format!("the ESP holds no FAT file system: {} not written", path.trim_start_matches("::")));
            continue;
        }
        done.push(format!("wrote {} ({})", path.trim_start_matches("::"), key.describe()));
    }
    Ok(done)
}
