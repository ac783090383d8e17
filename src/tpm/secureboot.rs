//! Predicting the PCR 7 value of the next boot after a Secure Boot variable update (issue 16
//! point 3): the authenticated update files (`.auth`, as distributions and fwupd ship them for
//! `db`, `dbx`, `KEK`, `PK`) read, applied to the variables' current values as EDK2 applies them
//! (an append skips entries already there), and PCR 7 replayed from the firmware's event log with
//! the changed variables' measurements substituted.
//!
//! Every refusal says why: a log that does not replay to the TPM's PCR 7, a variable that changed
//! since this boot started, a measurement in a form imprint does not recognise, an update that
//! would revoke what this boot started. Formats and sources: docs/research/pcr7-prediction.md.

use std::path::{Path, PathBuf};

use sha2::Digest;

use super::eventlog::{self, EV_EFI_BOOT_SERVICES_APPLICATION, EV_EFI_VARIABLE_AUTHORITY, EV_EFI_VARIABLE_DRIVER_CONFIG, EventLog};
use super::policy::hex;

/// EFI_GLOBAL_VARIABLE (PK, KEK, SecureBoot).
const EFI_GLOBAL: &str = "8be4df61-93ca-11d2-aa0d-00e098032b8c";
/// EFI_IMAGE_SECURITY_DATABASE_GUID (db, dbx, dbt).
const IMAGE_SECURITY: &str = "d719b2cb-3d3a-4596-a3bc-dad00e67656f";
/// EFI_CERT_TYPE_PKCS7_GUID, the certificate type of an EFI_VARIABLE_AUTHENTICATION_2.
const PKCS7: &str = "4aafd29d-68df-49ee-8aa9-347d375665a7";
/// EFI_CERT_SHA256_GUID.
const CERT_SHA256: &str = "c1c41626-504c-4092-aca9-41f936934328";
/// EFI_CERT_X509_GUID.
const CERT_X509: &str = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072";

/// The most an update file may be (Microsoft's dbx updates are tens of KiB).
const MAX_AUTH: u64 = 4 << 20;

/// A Secure Boot variable an update may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SbVar {
    Pk,
    Kek,
    Db,
    Dbx,
}

impl SbVar {
    pub const NAMES: &'static str = "PK, KEK, db, dbx";

    pub fn name(self) -> &'static str {
        match self {
            SbVar::Pk => "PK",
            SbVar::Kek => "KEK",
            SbVar::Db => "db",
            SbVar::Dbx => "dbx",
        }
    }

    fn guid(self) -> &'static str {
        match self {
            SbVar::Pk | SbVar::Kek => EFI_GLOBAL,
            SbVar::Db | SbVar::Dbx => IMAGE_SECURITY,
        }
    }

    /// The variable's file in efivarfs.
    pub fn efivarfs_name(self) -> String {
        format!("{}-{}", self.name(), self.guid())
    }

    pub fn parse(s: &str) -> Option<SbVar> {
        match s {
            "PK" | "pk" => Some(SbVar::Pk),
            "KEK" | "kek" => Some(SbVar::Kek),
            "db" | "DB" => Some(SbVar::Db),
            "dbx" | "DBX" => Some(SbVar::Dbx),
            _ => None,
        }
    }
}

fn guid_bytes(s: &str) -> [u8; 16] {
    uuid::Uuid::parse_str(s).expect("a GUID constant").to_bytes_le()
}

#[derive(Debug, thiserror::Error)]
pub enum SbError {
    #[error("{file}: {why}")]
    File { file: String, why: String },
    #[error("reading {what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error(transparent)]
    Log(#[from] eventlog::EventLogError),
    #[error("the prediction cannot be trusted: {0}")]
    Untrusted(String),
    #[error("{0}")]
    Refused(String),
}

/// One update file, read: the variable it changes, and the new content it carries (a sequence of
/// EFI_SIGNATURE_LISTs), applied as an append (db, dbx, KEK) or a replacement (PK).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    pub file: PathBuf,
    pub var: SbVar,
    pub payload: Vec<u8>,
    pub append: bool,
}

/// One EFI_SIGNATURE_LIST.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Esl {
    kind: [u8; 16],
    header: Vec<u8>,
    size: usize,
    /// Each EFI_SIGNATURE_DATA (owner GUID, then the data), `size` bytes.
    sigs: Vec<Vec<u8>>,
}

impl Esl {
    fn encode(&self, out: &mut Vec<u8>) {
        let total = 28 + self.header.len() + self.sigs.len() * self.size;
        out.extend_from_slice(&self.kind);
        out.extend_from_slice(&(total as u32).to_le_bytes());
        out.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.size as u32).to_le_bytes());
        out.extend_from_slice(&self.header);
        for s in &self.sigs {
            out.extend_from_slice(s);
        }
    }
}

/// Splits a variable's content into its signature lists, checking every size.
fn parse_esls(data: &[u8]) -> Result<Vec<Esl>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < data.len() {
        let rest = &data[at..];
        if rest.len() < 28 {
            return Err(format!("a signature list at byte {at} is cut short ({} bytes, its header alone is 28)", rest.len()));
        }
        let u32_at = |o: usize| u32::from_le_bytes([rest[o], rest[o + 1], rest[o + 2], rest[o + 3]]) as usize;
        let (list, hdr, size) = (u32_at(16), u32_at(20), u32_at(24));
        let body = list.checked_sub(28).and_then(|b| b.checked_sub(hdr));
        let Some(body) = body.filter(|_| list <= rest.len()) else {
            return Err(format!("the signature list at byte {at} says it is {list} bytes (header {hdr}); {} are left", rest.len()));
        };
        if size < 16 || body % size != 0 {
            return Err(format!("the signature list at byte {at} holds {body} bytes of signatures of {size} bytes each"));
        }
        let mut kind = [0u8; 16];
        kind.copy_from_slice(&rest[..16]);
        let sigs = rest[28 + hdr..list].chunks(size).map(<[u8]>::to_vec).collect();
        out.push(Esl { kind, header: rest[28..28 + hdr].to_vec(), size, sigs });
        at += list;
    }
    Ok(out)
}

/// Reads an update file: `EFI_VARIABLE_AUTHENTICATION_2` (a timestamp and a PKCS#7 signature,
/// which the firmware checks when the update is written) followed by the new content. `var`
/// names the variable; without it, the file's name (`dbx…`, `db…`, `KEK…`, `PK…`) or, failing
/// that, its content (hashes only: dbx) says.
pub fn read_update(file: &Path, var: Option<SbVar>) -> Result<Update, SbError> {
    let name = file.display().to_string();
    let bad = |why: String| SbError::File { file: name.clone(), why };
    let f = std::fs::File::open(file).map_err(|e| SbError::Io { what: name.clone(), source: e })?;
    let len = f.metadata().map_err(|e| SbError::Io { what: name.clone(), source: e })?.len();
    if len > MAX_AUTH {
        return Err(bad(format!("{len} bytes, more than any Secure Boot update ({MAX_AUTH})")));
    }
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_AUTH), &mut data)
        .map_err(|e| SbError::Io { what: name.clone(), source: e })?;
    parse_update(&data, file, var)
}

/// [`read_update`] on the file's bytes.
pub fn parse_update(data: &[u8], file: &Path, var: Option<SbVar>) -> Result<Update, SbError> {
    let name = file.display().to_string();
    let bad = |why: String| SbError::File { file: name.clone(), why };
    if data.len() < 40 {
        return Err(bad("too short for an authenticated variable update (EFI_VARIABLE_AUTHENTICATION_2 is at least 40 bytes)".into()));
    }
    // EFI_TIME: Pad1, Nanosecond, TimeZone, Daylight and Pad2 are zero in a time-based update
    if data[7] != 0 || data[8..16].iter().any(|b| *b != 0) {
        return Err(bad("not an authenticated variable update: its timestamp's padding, nanoseconds and time zone are not zero".into()));
    }
    let dw_length = u32::from_le_bytes([data[16], data[17], data[18], data[19]]) as usize;
    let revision = u16::from_le_bytes([data[20], data[21]]);
    let cert_type = u16::from_le_bytes([data[22], data[23]]);
    if revision != 0x0200 || cert_type != 0x0EF1 || data[24..40] != guid_bytes(PKCS7) {
        return Err(bad(
            "not an authenticated variable update (no WIN_CERTIFICATE_UEFI_GUID with a PKCS#7 signature after the timestamp)".into()
        ));
    }
    let end = dw_length
        .checked_add(16)
        .filter(|e| dw_length >= 24 && *e <= data.len())
        .ok_or_else(|| bad(format!("its signature says it is {dw_length} bytes, the file has {} after the timestamp", data.len() - 16)))?;
    let payload = data[end..].to_vec();
    let esls = parse_esls(&payload).map_err(|why| bad(format!("the new content: {why}")))?;
    let var = match var {
        Some(v) => v,
        None => guess(file, &esls).ok_or_else(|| {
            bad(format!("which variable it updates is not in the file: say it, e.g. dbx={} (one of {})", file.display(), SbVar::NAMES))
        })?,
    };
    Ok(Update { file: file.to_path_buf(), var, payload, append: var != SbVar::Pk })
}

fn guess(file: &Path, esls: &[Esl]) -> Option<SbVar> {
    let stem = file.file_name()?.to_string_lossy().to_ascii_lowercase();
    for (key, var) in [("dbx", SbVar::Dbx), ("kek", SbVar::Kek), ("db", SbVar::Db)] {
        if stem.contains(key) {
            return Some(var);
        }
    }
    if stem.starts_with("pk") {
        return Some(SbVar::Pk);
    }
    (!esls.is_empty() && esls.iter().all(|l| l.kind == guid_bytes(CERT_SHA256))).then_some(SbVar::Dbx)
}

/// The content after appending `payload` to `orig`, as EDK2 does it: entries already in `orig`
/// (the whole EFI_SIGNATURE_DATA, owner included; or, with `ignore_owner`, the data alone, as
/// some Dell firmware compares) are dropped from the new lists, and what is left is added after.
pub fn append(orig: &[u8], payload: &[u8], ignore_owner: bool) -> Result<Vec<u8>, String> {
    let old = parse_esls(orig).map_err(|e| format!("the current value: {e}"))?;
    let new = parse_esls(payload)?;
    let mut out = orig.to_vec();
    for l in new {
        let kept: Vec<Vec<u8>> = l
            .sigs
            .iter()
            .filter(|s| {
                !old.iter().any(|o| {
                    o.kind == l.kind && o.size == l.size && o.sigs.iter().any(|t| if ignore_owner { t[16..] == s[16..] } else { t == *s })
                })
            })
            .cloned()
            .collect();
        if !kept.is_empty() {
            Esl { sigs: kept, ..l }.encode(&mut out);
        }
    }
    Ok(out)
}

/// UEFI_VARIABLE_DATA: what the firmware measures for a variable.
pub fn variable_data(var: SbVar, data: &[u8]) -> Vec<u8> {
    let name: Vec<u16> = var.name().encode_utf16().collect();
    let mut out = guid_bytes(var.guid()).to_vec();
    out.extend_from_slice(&(name.len() as u64).to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    for c in name {
        out.extend_from_slice(&c.to_le_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// A UEFI_VARIABLE_DATA read back: (vendor GUID, name, data).
fn parse_variable_data(d: &[u8]) -> Option<([u8; 16], String, &[u8])> {
    if d.len() < 32 {
        return None;
    }
    let mut guid = [0u8; 16];
    guid.copy_from_slice(&d[..16]);
    let chars = usize::try_from(u64::from_le_bytes(d[16..24].try_into().ok()?)).ok()?;
    let len = usize::try_from(u64::from_le_bytes(d[24..32].try_into().ok()?)).ok()?;
    let name_end = chars.checked_mul(2)?.checked_add(32)?;
    let end = name_end.checked_add(len)?;
    if end > d.len() {
        return None;
    }
    let name: Vec<u16> = d[32..name_end].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some((guid, String::from_utf16(&name).ok()?, &d[name_end..end]))
}

/// A variable's value from efivarfs (the 4 attribute bytes dropped); missing: empty, as the
/// firmware measures a missing db, dbx, KEK or PK.
pub fn efivar(efivars: &Path, var: SbVar) -> Result<Vec<u8>, SbError> {
    let path = efivars.join(var.efivarfs_name());
    match std::fs::read(&path) {
        Ok(d) if d.len() >= 4 => Ok(d[4..].to_vec()),
        Ok(_) => Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(SbError::Io { what: path.display().to_string(), source: e }),
    }
}

/// What the prediction found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Prediction {
    /// PCR 7 (SHA-256 bank) as the next boot will measure it.
    pub pcr7: String,
    /// PCR 7 now (the log replays to it).
    pub pcr7_now: String,
    /// Per variable changed: (name, bytes now, bytes after).
    pub changes: Vec<(String, usize, usize)>,
    /// `pcr7` as bytes.
    #[serde(skip)]
    pub pcr7_value: Vec<u8>,
}

/// Predicts PCR 7 (SHA-256 bank) after `updates` are written, in order: `log` must replay to
/// `pcr7_now` (the TPM's value), each updated variable must have been measured once at this
/// boot and still hold what was measured (efivarfs in `efivars`).
pub fn predict_pcr7(log: &EventLog, efivars: &Path, updates: &[Update], pcr7_now: &[u8]) -> Result<Prediction, SbError> {
    let replayed = log.replay_sha256(7).ok_or_else(|| SbError::Untrusted("a PCR 7 event of the log has no SHA-256 digest".into()))?;
    if replayed != pcr7_now {
        return Err(SbError::Untrusted(format!(
            "the event log replays PCR 7 to {}, the TPM holds {}: something was measured that the log does not show",
            hex(&replayed),
            hex(pcr7_now)
        )));
    }
    // the measurements of the variables: index in the log, and whether the firmware hashed the
    // whole UEFI_VARIABLE_DATA (EDK2) or the variable's data alone (some firmware)
    let mut measured: Vec<(SbVar, usize, bool, Vec<u8>)> = Vec::new();
    for (i, e) in log.events.iter().enumerate() {
        if e.pcr != 7 || e.kind != EV_EFI_VARIABLE_DRIVER_CONFIG {
            continue;
        }
        let Some((guid, name, data)) = parse_variable_data(&e.data) else { continue };
        let Some(var) = SbVar::parse(&name).filter(|v| guid_bytes(v.guid()) == guid && v.name() == name) else { continue };
        if measured.iter().any(|(v, ..)| *v == var) {
            return Err(SbError::Untrusted(format!("{name} was measured twice at this boot (changed while it ran): restart first")));
        }
        let logged = e.digest(eventlog::ALG_SHA256).unwrap_or_default();
        let whole = if sha2::Sha256::digest(&e.data).as_slice() == logged {
            true
        } else if sha2::Sha256::digest(data).as_slice() == logged {
            false
        } else {
            return Err(SbError::Untrusted(format!(
                "the firmware's measurement of {name} is neither the hash of the event nor of the variable"
            )));
        };
        measured.push((var, i, whole, data.to_vec()));
    }
    // the new values, update by update, each against the result of the ones before
    let mut values: Vec<(SbVar, Vec<u8>, Vec<u8>)> = Vec::new(); // (var, now, new)
    for u in updates {
        let Some((_, _, _, logged)) = measured.iter().find(|(v, ..)| *v == u.var) else {
            return Err(SbError::Untrusted(format!("{} is not measured into PCR 7 in this boot's event log", u.var.name())));
        };
        let current = match values.iter().find(|(v, ..)| *v == u.var) {
            Some((_, _, new)) => new.clone(),
            None => {
                let now = efivar(efivars, u.var)?;
                if &now != logged {
                    return Err(SbError::Untrusted(format!(
                        "{} changed since this boot started ({} bytes measured, {} now): restart, then prepare again",
                        u.var.name(),
                        logged.len(),
                        now.len()
                    )));
                }
                values.push((u.var, now.clone(), now.clone()));
                now
            }
        };
        let new = if u.append {
            let strict = append(&current, &u.payload, false).map_err(|why| SbError::File { file: u.file.display().to_string(), why })?;
            let loose = append(&current, &u.payload, true).map_err(|why| SbError::File { file: u.file.display().to_string(), why })?;
            if strict != loose {
                return Err(SbError::Refused(format!(
                    "{}: entries of it are already in {} with another owner, and firmware differs in whether it adds them again: the next PCR 7 cannot be known",
                    u.file.display(),
                    u.var.name()
                )));
            }
            strict
        } else {
            u.payload.clone()
        };
        values.iter_mut().find(|(v, ..)| *v == u.var).expect("pushed above").2 = new;
    }
    check_authorities(log, &values)?;
    let subst: Vec<(usize, Vec<u8>)> = values
        .iter()
        .map(|(var, _, new)| {
            let (_, i, whole, _) = measured.iter().find(|(v, ..)| v == var).expect("checked above");
            let digest = if *whole { sha2::Sha256::digest(variable_data(*var, new)) } else { sha2::Sha256::digest(new) };
            (*i, digest.to_vec())
        })
        .collect();
    let pcr7 = log
        .replay_sha256_with(7, |i, e| match subst.iter().find(|(j, _)| *j == i) {
            Some((_, d)) => Some(d.clone()),
            None => e.digest(eventlog::ALG_SHA256).map(<[u8]>::to_vec),
        })
        .expect("replayed above");
    Ok(Prediction {
        pcr7: hex(&pcr7),
        pcr7_now: hex(pcr7_now),
        changes: values.iter().map(|(v, now, new)| (v.name().to_string(), now.len(), new.len())).collect(),
        pcr7_value: pcr7,
    })
}

/// Refuses an update that would stop this boot's chain from verifying: a db entry that verified
/// an image gone from the new db, or revoked by the new dbx; an image this boot started whose
/// hash the new dbx lists.
fn check_authorities(log: &EventLog, values: &[(SbVar, Vec<u8>, Vec<u8>)]) -> Result<(), SbError> {
    let new_of = |var: SbVar| values.iter().find(|(v, ..)| *v == var).map(|(_, _, n)| n.as_slice());
    let lists = |d: &[u8]| parse_esls(d).unwrap_or_default();
    for e in log.events.iter().filter(|e| e.pcr == 7 && e.kind == EV_EFI_VARIABLE_AUTHORITY) {
        let Some((guid, name, data)) = parse_variable_data(&e.data) else { continue };
        if name != "db" || guid != guid_bytes(IMAGE_SECURITY) {
            continue;
        }
        if let Some(db) = new_of(SbVar::Db)
            && !lists(db).iter().any(|l| l.sigs.iter().any(|s| s == data))
        {
            return Err(SbError::Refused(
                "the new db no longer holds the entry that verified this boot's loader: the next boot would not start".into(),
            ));
        }
        if let Some(dbx) = new_of(SbVar::Dbx)
            && lists(dbx).iter().any(|l| l.kind == guid_bytes(CERT_X509) && l.sigs.iter().any(|s| s[16..] == data[16.min(data.len())..]))
        {
            return Err(SbError::Refused(
                "the new dbx revokes the certificate that verified this boot's loader: the next boot would not start".into(),
            ));
        }
    }
    if let Some(dbx) = new_of(SbVar::Dbx) {
        let parsed = lists(dbx);
        let revoked: Vec<&[u8]> =
            parsed.iter().filter(|l| l.kind == guid_bytes(CERT_SHA256)).flat_map(|l| l.sigs.iter().map(|s| &s[16..])).collect();
        for e in log.events.iter().filter(|e| e.kind == EV_EFI_BOOT_SERVICES_APPLICATION) {
            if let Some(d) = e.digest(eventlog::ALG_SHA256)
                && revoked.contains(&d)
            {
                return Err(SbError::Refused(format!(
                    "the new dbx revokes an image this boot started (Authenticode SHA-256 {}): the next boot would not start; update the boot loader first",
                    hex(d)
                )));
            }
        }
    }
    Ok(())
}

/// An EFI_SIGNATURE_LIST of SHA-256 hashes, each with `owner` (tests, and the VM test's dbx).
pub fn sha256_list(owner: &str, hashes: &[[u8; 32]]) -> Vec<u8> {
    let mut out = Vec::new();
    Esl {
        kind: guid_bytes(CERT_SHA256),
        header: Vec::new(),
        size: 48,
        sigs: hashes
            .iter()
            .map(|h| {
                let mut s = guid_bytes(owner).to_vec();
                s.extend_from_slice(h);
                s
            })
            .collect(),
    }
    .encode(&mut out);
    out
}

/// An update file as a signer would make it, with `signature` in place of a real PKCS#7 (the
/// firmware checks it when the update is written; imprint does not).
pub fn auth_file(payload: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&2026u16.to_le_bytes());
    out.extend_from_slice(&[12, 6, 0, 0, 0, 0]);
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&((24 + signature.len()) as u32).to_le_bytes());
    out.extend_from_slice(&0x0200u16.to_le_bytes());
    out.extend_from_slice(&0x0EF1u16.to_le_bytes());
    out.extend_from_slice(&guid_bytes(PKCS7));
    out.extend_from_slice(signature);
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tpm::eventlog::{EV_SEPARATOR, build_sha256, parse};

    const MS: &str = "77fa9abd-0359-4d32-bd60-28f4e78f784b";

    #[test]
    fn the_empty_dbx_measures_as_the_research_vector() {
        // docs/research/pcr7-prediction.md §2: the empty dbx's UEFI_VARIABLE_DATA and its digest
        let d = variable_data(SbVar::Dbx, &[]);
        assert_eq!(hex(&d), "cbb219d73a3d9645a3bcdad00e67656f03000000000000000000000000000000640062007800");
        assert_eq!(hex(&sha2::Sha256::digest(&d)), "9f75b6823bff6af1024a4e2036719cdd548d3cbc2bf1de8e7ef4d0ed01f94bf9");
        assert_eq!(
            hex(&sha2::Sha256::digest(variable_data(SbVar::Db, &[]))),
            "baf89a3ccace52750c5f0128351e0422a41597a1adfd50822aa363b9d124ea7c"
        );
    }

    #[test]
    fn an_append_skips_entries_already_there_as_edk2_does() {
        let a = sha256_list(MS, &[[1; 32], [2; 32]]);
        let b = sha256_list(MS, &[[2; 32], [3; 32]]);
        let merged = append(&a, &b, false).unwrap();
        let mut want = a.clone();
        want.extend_from_slice(&sha256_list(MS, &[[3; 32]]));
        assert_eq!(merged, want);
        // nothing new: nothing added
        assert_eq!(append(&a, &sha256_list(MS, &[[1; 32]]), false).unwrap(), a);
        // the same hash from another owner: added by EDK2, not by firmware that ignores owners
        let other = sha256_list("00000000-0000-0000-0000-000000000001", &[[1; 32]]);
        assert_ne!(append(&a, &other, false).unwrap(), append(&a, &other, true).unwrap());
        // damaged lists are refused, not panicked on
        for cut in 0..b.len() {
            let _ = append(&a, &b[..cut], false);
        }
        assert!(append(&a, &b[..40], false).is_err());
    }

    fn setup(dbx_now: &[u8]) -> (tempfile::TempDir, EventLog, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let efivars = dir.path();
        let mut f = vec![7u8, 0, 0, 0];
        f.extend_from_slice(dbx_now);
        std::fs::write(efivars.join(SbVar::Dbx.efivarfs_name()), f).unwrap();
        let events = vec![
            (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Db, &[])),
            (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Dbx, dbx_now)),
            (7, EV_SEPARATOR, vec![0; 4]),
        ];
        let log = parse(&build_sha256(&events)).unwrap();
        let now = log.replay_sha256(7).unwrap();
        (dir, log, now)
    }

    #[test]
    fn pcr7_after_a_dbx_update_is_the_replay_with_the_new_dbx() {
        let dbx_now = sha256_list(MS, &[[1; 32]]);
        let (dir, log, now) = setup(&dbx_now);
        let file = dir.path().join("DBXUpdate.bin");
        std::fs::write(&file, auth_file(&sha256_list(MS, &[[1; 32], [9; 32]]), b"a PKCS#7 signature")).unwrap();
        let u = read_update(&file, None).unwrap();
        assert_eq!((u.var, u.append), (SbVar::Dbx, true));
        let p = predict_pcr7(&log, dir.path(), &[u], &now).unwrap();
        // what the firmware will measure: dbx now ‖ the one new hash
        let mut dbx_next = dbx_now.clone();
        dbx_next.extend_from_slice(&sha256_list(MS, &[[9; 32]]));
        let next = build_sha256(&[
            (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Db, &[])),
            (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Dbx, &dbx_next)),
            (7, EV_SEPARATOR, vec![0; 4]),
        ]);
        assert_eq!(p.pcr7, hex(&parse(&next).unwrap().replay_sha256(7).unwrap()));
        assert_eq!(p.changes, vec![("dbx".to_string(), dbx_now.len(), dbx_next.len())]);
    }

    #[test]
    fn untrustworthy_states_are_refused_with_the_reason() {
        let dbx_now = sha256_list(MS, &[[1; 32]]);
        let (dir, log, now) = setup(&dbx_now);
        let file = dir.path().join("update.auth");
        std::fs::write(&file, auth_file(&sha256_list(MS, &[[9; 32]]), b"sig")).unwrap();
        let u = read_update(&file, Some(SbVar::Dbx)).unwrap();
        // the TPM holds something else than the log replays to
        let e = predict_pcr7(&log, dir.path(), std::slice::from_ref(&u), &[0; 32]).unwrap_err().to_string();
        assert!(e.contains("replays PCR 7"), "{e}");
        // dbx changed since the boot (efivarfs differs from what was measured)
        let mut f = vec![7u8, 0, 0, 0];
        f.extend_from_slice(&sha256_list(MS, &[[1; 32], [5; 32]]));
        std::fs::write(dir.path().join(SbVar::Dbx.efivarfs_name()), f).unwrap();
        let e = predict_pcr7(&log, dir.path(), std::slice::from_ref(&u), &now).unwrap_err().to_string();
        assert!(e.contains("dbx changed since this boot started"), "{e}");
        // KEK not measured in this log
        let k = Update { var: SbVar::Kek, ..u.clone() };
        let e = predict_pcr7(&log, dir.path(), &[k], &now).unwrap_err().to_string();
        assert!(e.contains("KEK is not measured"), "{e}");
    }

    #[test]
    fn a_dbx_revoking_the_booted_loader_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let loader = [7u8; 32];
        // a log whose PCR 4 shows the loader by its Authenticode hash (the digest itself)
        let mut log = parse(&build_sha256(&[
            (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Dbx, &[])),
            (7, EV_SEPARATOR, vec![0; 4]),
            (4, EV_EFI_BOOT_SERVICES_APPLICATION, b"loader".to_vec()),
        ]))
        .unwrap();
        log.events[2].digests[0].1 = loader.to_vec();
        let now = log.replay_sha256(7).unwrap();
        let file = dir.path().join("dbx.auth");
        std::fs::write(&file, auth_file(&sha256_list(MS, &[loader]), b"sig")).unwrap();
        let u = read_update(&file, None).unwrap();
        let e = predict_pcr7(&log, dir.path(), &[u], &now).unwrap_err().to_string();
        assert!(e.contains("revokes an image this boot started"), "{e}");
    }

    #[test]
    fn update_files_that_are_not_auth_updates_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("short.auth", vec![0; 10], "too short"),
            ("plain.esl", sha256_list(MS, &[[1; 32]]), "not an authenticated"),
            ("cut.auth", auth_file(&sha256_list(MS, &[[1; 32]]), b"sig")[..60].to_vec(), "signature list"),
            ("what.auth", auth_file(&sha256_list(MS, &[[1; 32]])[..0], b"sig"), "which variable"),
        ];
        for (name, data, want) in cases {
            let f = dir.path().join(name);
            std::fs::write(&f, data).unwrap();
            let e = read_update(&f, None).unwrap_err().to_string();
            assert!(e.contains(name) && e.contains(want), "{name}: {e}");
        }
        // a signature length past the end
        let mut bad = auth_file(&[], b"sig");
        bad[16..20].copy_from_slice(&9999u32.to_le_bytes());
        let f = dir.path().join("long.auth");
        std::fs::write(&f, bad).unwrap();
        assert!(read_update(&f, Some(SbVar::Db)).unwrap_err().to_string().contains("9999"));
    }
}
