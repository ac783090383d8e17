//! The executor: carries out a [`Plan`] step by step and reports [`Event`]s.
//!
//! This is the only place steps are sequenced, and the order is the safety argument:
//! 1. an existing table that will be replaced is wiped first (both ends), so no table can ever
//!    point at partitions that are being rewritten;
//! 2. every new partition's range is zeroed (hole / discard) and its content written — copied
//!    block for block, or a file system made — and synced;
//! 3. only then the new GPT is written (backup, primary, protective MBR) and synced.
//!
//! An interruption (SIGINT/SIGTERM via [`CANCEL`], or a kill) before step 3 leaves a target with
//! no table, or its old table untouched; re-running the same command completes it.

pub mod encrypt;
pub mod events;

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub use events::Event;

use crate::disk::{self, copy, table};
use crate::luks;
use crate::plan::{Action, Content, Plan, PlannedPartition, TableAction};
use crate::secret::Secret;
use crate::task;

/// Set by the SIGINT/SIGTERM handler; checked between and inside steps.
pub static CANCEL: AtomicBool = AtomicBool::new(false);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verify {
    /// Hash the source while copying (catches read errors and truncation).
    #[default]
    Stream,
    /// Also read every copied partition back from the target and compare.
    Readback,
}

impl Verify {
    /// Each way with its name, as `--verify=` and the answers file spell it.
    pub const NAMES: [(&'static str, Verify); 2] = [("stream", Verify::Stream), ("readback", Verify::Readback)];
}

/// What an encrypted partition's free space holds after the install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FillFree {
    /// Nothing is written there: it reads back (decrypted) as noise, as on any dm-crypt volume
    /// whose disk was not wiped first; on a block device it is discarded where the device can.
    #[default]
    Off,
    /// Encrypted zeroes are written over all of it, so that the disk does not show which blocks
    /// are in use (slow: the whole partition is written).
    Random,
}

impl FillFree {
    /// Each way with its name, as `--fill-free=` and the answers file spell it.
    pub const NAMES: [(&'static str, FillFree); 2] = [("off", FillFree::Off), ("random", FillFree::Random)];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, f)| *f == self).map_or("off", |(n, _)| n)
    }
}

pub struct Options<'a> {
    pub verify: Verify,
    /// Encrypted partitions: fill the free space of new file systems.
    pub fill_free: FillFree,
    pub cancel: &'a AtomicBool,
    /// Passphrase and PIN for encrypted partitions.
    pub secrets: &'a encrypt::Secrets,
    /// Key derivation for passphrase keyslots (TPM2 and recovery keyslots always use systemd's
    /// minimal one: their secrets are random).
    pub pbkdf: luks::Pbkdf,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PartitionReport {
    pub number: u32,
    pub label: String,
    pub digest: Option<String>,
    pub verified: Vec<String>,
    pub bytes_written: u64,
}

/// One check the executor made after writing, and passed: each is performed, never assumed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Proof {
    /// The GPT read back from the target equals the plan's, entry by entry.
    TableMatches { partitions: usize },
    /// The source was hashed while it was copied (read errors and truncation caught).
    DataHashed { partition: u32, label: String, digest: String },
    /// The copied partition read back from the target gives the source's digest.
    DataReadBack { partition: u32, label: String },
    /// The copied data checked against the source's dm-verity hash tree.
    Verity { partition: u32, label: String, detail: String },
    /// The TPM2 token on the target was unsealed and its key opens its keyslot.
    TpmUnseals { partition: u32, label: String, keyslot: u32, pin: bool },
    /// The recovery key opens its keyslot on the target.
    RecoveryKeyOpens { partition: u32, label: String, keyslot: u32 },
    /// The passphrase opens its keyslot on the target.
    PassphraseOpens { partition: u32, label: String, keyslot: u32 },
}

impl std::fmt::Display for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proof::TableMatches { partitions } => {
                write!(f, "the partition table read back from the target matches the plan ({partitions} partitions)")
            }
            Proof::DataHashed { partition, label, digest } => {
                write!(f, "partition {partition} ({label}): source hashed while copying, sha256-blocks:{}", &digest[..digest.len().min(16)])
            }
            Proof::DataReadBack { partition, label } => {
                write!(f, "partition {partition} ({label}): read back from the target, same digest")
            }
            Proof::Verity { partition, label, detail } => write!(f, "partition {partition} ({label}): {detail}"),
            Proof::TpmUnseals { partition, label, keyslot, pin } => write!(
                f,
                "partition {partition} ({label}): the TPM2 token was unsealed{} and its key opens keyslot {keyslot}",
                if *pin { " with the PIN" } else { "" }
            ),
            Proof::RecoveryKeyOpens { partition, label, keyslot } => {
                write!(f, "partition {partition} ({label}): the recovery key opens keyslot {keyslot}")
            }
            Proof::PassphraseOpens { partition, label, keyslot } => {
                write!(f, "partition {partition} ({label}): the passphrase opens keyslot {keyslot}")
            }
        }
    }
}

/// What an install adds to the new ESP besides fixing its entries: words for every entry's
/// command line (credentials for the first boot, the initrd's keymap) and files (the answers
/// record).
#[derive(Debug, Clone)]
pub struct EspAdditions {
    pub options: Vec<String>,
    /// (path on the ESP, e.g. `::/imprint/answers.conf`, contents)
    pub files: Vec<(String, Vec<u8>)>,
    /// (name, value) credentials for the first boot of a system that boots a UKI: written
    /// encrypted to `/loader/credentials/` when the ESP has `/EFI/Linux/*.efi` (see
    /// [`crate::boot::creds`]).
    pub credentials: Vec<(String, String)>,
    pub credential_key: crate::boot::creds::CredKey,
}

impl Default for EspAdditions {
    fn default() -> Self {
        EspAdditions {
            options: Vec::new(),
            files: Vec::new(),
            credentials: Vec::new(),
            credential_key: crate::boot::creds::CredKey::Auto { device: "auto".into() },
        }
    }
}

#[derive(Debug, serde::Serialize)]
pub struct Report {
    pub target: PathBuf,
    pub partitions: Vec<PartitionReport>,
    pub seconds: f64,
    /// Every check made after writing, in order.
    pub proofs: Vec<Proof>,
    /// What was changed in the boot loader entries of a copied ESP (see [`crate::boot`]).
    pub boot_entries: Vec<String>,
    /// The recovery key, for the front-end to show or escrow; never serialized.
    #[serde(skip)]
    pub recovery_key: Option<Secret>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("opening {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("partition {number} ({label}): {source}")]
    Copy { number: u32, label: String, source: copy::CopyError },
    #[error("partition {number} ({label}): {source}")]
    Format { number: u32, label: String, source: task::TaskError },
    #[error("partition {number} ({label}): read back {got}, expected {expected}: the target does not hold what was written")]
    Mismatch { number: u32, label: String, expected: String, got: String },
    #[error("partition {number} ({label}): {source}")]
    Verity { number: u32, label: String, source: disk::verity::VerityError },
    #[error("partition {number} ({label}): {source}")]
    Encrypt { number: u32, label: String, source: encrypt::EncryptError },
    #[error("the boot loader entries on the new ESP: {0}")]
    Boot(task::TaskError),
    #[error("the partition table read back from the target differs from the plan: {0}")]
    TableMismatch(String),
    #[error("interrupted {during}; {state}")]
    Interrupted { during: String, state: String },
}

impl ExecError {
    fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExecError {
        let what = what.into();
        move |source| ExecError::Io { what, source }
    }
}

struct Steps<'e> {
    emit: &'e mut dyn FnMut(&Event),
    step: usize,
    steps: usize,
    run_done: u64,
    run_total: u64,
    started: Instant,
    last_emit: Option<Instant>,
}

impl Steps<'_> {
    fn begin(&mut self, name: &str, description: String) {
        self.step += 1;
        (self.emit)(&Event::StepStarted { step: self.step, steps: self.steps, name: name.into(), description });
    }
    fn end(&mut self, name: &str) {
        (self.emit)(&Event::StepFinished { step: self.step, name: name.into() });
    }
    fn progress(&mut self, done: u64, total: u64, base: u64, force: bool) {
        let now = Instant::now();
        if !force && self.last_emit.is_some_and(|t| now.duration_since(t).as_millis() < 200) {
            return;
        }
        self.last_emit = Some(now);
        self.run_done = base + done;
        let secs = now.duration_since(self.started).as_secs_f64().max(0.001);
        let rate = (self.run_done as f64 / secs) as u64;
        let eta = (rate > 0).then(|| (self.run_total.saturating_sub(self.run_done)) / rate);
        (self.emit)(&Event::Progress {
            step: self.step,
            bytes_done: done,
            bytes_total: total,
            run_bytes_done: self.run_done,
            run_bytes_total: self.run_total,
            rate_bytes_per_sec: rate,
            eta_seconds: eta,
        });
    }
}

/// How many steps [`execute`] reports for `plan` (for callers that run steps of their own
/// around it, in one numbering).
pub fn planned_steps(plan: &Plan, verify: Verify) -> usize {
    let creates = plan.partitions.iter().filter(|p| p.action == Action::Create);
    let wipe = plan.table == TableAction::Create && !plan.destroys.is_empty();
    let prove = plan.partitions.iter().any(|p| p.action == Action::Create && p.luks.is_some());
    let boot = crate::boot::entries_to_fix(plan).is_some();
    usize::from(wipe) + creates.count() + usize::from(boot) + 1 + usize::from(verify == Verify::Readback) + usize::from(prove)
}

/// Carries out `plan`, opening the target by its path. The caller has checked that the target
/// may be written. Installs use [`execute_on`] with the target they hold.
pub fn execute(plan: &Plan, opts: &Options, emit: &mut dyn FnMut(&Event)) -> Result<Report, ExecError> {
    let target = open_target(plan)?;
    execute_on(plan, &target, opts, &EspAdditions::default(), emit)
}

/// The bytes the run's progress counts for `plan`: every copied partition, every formatted one
/// (its file system is written through the same copy), the LUKS2 headers, and the read-back.
pub fn planned_bytes(plan: &Plan, verify: Verify) -> u64 {
    let creates = plan.partitions.iter().filter(|p| p.action == Action::Create);
    let mut total = 0u64;
    for p in creates {
        let header = if p.luks.is_some() { crate::plan::LUKS2_METADATA_SIZE } else { 0 };
        total += match p.content {
            Content::CopyBlocks { size, .. } => size * if verify == Verify::Readback { 2 } else { 1 } + header,
            Content::Format { .. } => p.size,
            Content::None => header,
        };
    }
    total
}

/// Carries out `plan` on `target`, the open file of the disk or image the plan was made for
/// (see [`crate::disk::hold`]); everything is written and read back through it.
pub fn execute_on(
    plan: &Plan,
    target: &File,
    opts: &Options,
    esp: &EspAdditions,
    emit: &mut dyn FnMut(&Event),
) -> Result<Report, ExecError> {
    let started = Instant::now();
    let creates: Vec<&PlannedPartition> = plan.partitions.iter().filter(|p| p.action == Action::Create).collect();
    let wipe = plan.table == TableAction::Create && !plan.destroys.is_empty();
    let steps = planned_steps(plan, opts.verify);
    let run_total = planned_bytes(plan, opts.verify);
    let mut st = Steps { emit, step: 0, steps, run_done: 0, run_total, started, last_emit: None };
    (st.emit)(&Event::Started { target: plan.target.display().to_string(), steps, bytes_total: run_total });

    let target_path = crate::disk::hold::proc_path(target);
    let mut done_desc: Vec<String> = Vec::new();
    let table_state = |done: &[String]| {
        let what = if done.is_empty() { "nothing was written".to_string() } else { format!("written: {}", done.join(", ")) };
        match plan.table {
            TableAction::Create => format!(
                "{what}; no partition table was written, so the target holds no table that points at unwritten data; re-run the same command to complete"
            ),
            TableAction::Extend => format!("{what}; the partition table was not changed; re-run the same command to complete"),
        }
    };
    let check_cancel = |during: &str, done: &[String]| -> Result<(), ExecError> {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(ExecError::Interrupted { during: during.to_string(), state: table_state(done) });
        }
        Ok(())
    };

    if wipe {
        st.begin("wipe", format!("erase the old partition table of {}", plan.target.display()));
        table::wipe_tables(target, plan.target_size, plan.sector_size).map_err(ExecError::io("erasing the old partition table"))?;
        done_desc.push("old table erased".into());
        st.end("wipe");
    }

    let recovery: Option<Secret> =
        plan.partitions.iter().any(|p| p.luks.as_ref().is_some_and(|l| l.unlock.contains(&crate::plan::Unlock::RecoveryKey))).then(|| {
            match &opts.secrets.recovery_key {
                // a key the front-end generated and has already shown
                Some(k) => Secret::new(k.expose().to_vec()),
                None => luks::recovery::generate(),
            }
        });
    let no_recovery = Secret::new(Vec::new());
    let recovery_ref = recovery.as_ref().unwrap_or(&no_recovery);
    // encrypted partitions: number, data offset in the partition, the data's cipher
    let mut encrypted: Vec<(u32, u64, luks::Xts)> = Vec::new();
    let mut reports = Vec::new();
    let mut salts: Vec<(u32, Vec<u8>, usize)> = Vec::new();
    let mut stream_proofs: Vec<Proof> = Vec::new();
    let mut base = 0u64;
    for p in &creates {
        check_cancel("before writing partition", &done_desc)?;
        let label = p.label.clone();
        let name = format!("partition-{}", p.number);
        let desc = match &p.content {
            Content::CopyBlocks { what, size, .. } => {
                format!("copy {} from {what} into partition {} ({label})", crate::units::bytes(*size), p.number)
            }
            Content::Format { fs, .. } => format!("format partition {} ({label}) as {fs}", p.number),
            Content::None => format!("clear partition {} ({label})", p.number),
        };
        st.begin(&name, desc);
        let enc_err = |source| ExecError::Encrypt { number: p.number, label: label.clone(), source };
        let prepared = match (&p.luks, &plan.encryption) {
            (Some(l), Some(enc)) => Some(encrypt::prepare(p, l, enc, opts.secrets, recovery_ref, opts.pbkdf).map_err(enc_err)?),
            _ => None,
        };
        let clearing = ExecError::io(format!("clearing partition {} ({label})", p.number));
        match &prepared {
            // the header area must read back as zeroes (its checksum covers the padding); what
            // the data area holds before it is written does not matter: it decrypts to noise
            Some(pr) => disk::zero_range(target, p.offset, pr.header.data_offset)
                .and_then(|()| disk::discard_range(target, p.offset + pr.header.data_offset, p.size - pr.header.data_offset))
                .map_err(clearing)?,
            None => disk::zero_range(target, p.offset, p.size).map_err(clearing)?,
        }
        let xts = prepared.as_ref().map(|pr| luks::Xts::new(&pr.header.volume_key, pr.header.sector_size));
        let (dst_offset, room) = match &prepared {
            Some(pr) => (p.offset + pr.header.data_offset, p.size - pr.header.data_offset),
            None => (p.offset, p.size),
        };
        // copied data: every block of the source, holes too; a new file system: what mkfs wrote
        let holes = match p.content {
            Content::Format { .. } => opts.fill_free == FillFree::Random,
            _ => true,
        };
        let enc_transform = xts.as_ref().map(|xts| encrypt::Encrypting { xts, holes });
        let transform: Option<&dyn copy::Transform> = enc_transform.as_ref().map(|t| t as &dyn copy::Transform);
        let mut report = PartitionReport { number: p.number, label: label.clone(), digest: None, verified: vec![], bytes_written: 0 };
        match &p.content {
            Content::CopyBlocks { path, offset, size, verity, .. } => {
                let src = File::open(path).map_err(|source| ExecError::Open { path: path.clone(), source })?;
                let total = *size;
                let sb = match verity {
                    Some(v) => match disk::verity::read_superblock(&src, v.hash_offset) {
                        Ok(Some(sb)) if sb.supported().is_ok() => Some(sb),
                        Ok(Some(sb)) => {
                            let why = sb.supported().err().map(|e| e.to_string()).unwrap_or_default();
                            (st.emit)(&Event::Warning {
                                message: format!("partition {} ({label}): not checked against dm-verity: {why}", p.number),
                            });
                            None
                        }
                        Ok(None) | Err(_) => {
                            (st.emit)(&Event::Warning {
                                message: format!(
                                    "partition {} ({label}): the source's verity partition has no readable superblock",
                                    p.number
                                ),
                            });
                            None
                        }
                    },
                    None => None,
                };
                let salt = sb.as_ref().map(|s| s.salt.clone()).unwrap_or_default();
                let unit = sb.as_ref().map_or(0, |s| s.data_block_size as usize);
                let hashing = copy::Hashing { salt: &salt, keep: sb.is_some(), block: unit, skip: false };
                let d = copy::copy_range(
                    copy::At { file: &src, offset: *offset },
                    *size,
                    copy::At { file: target, offset: dst_offset },
                    hashing,
                    transform,
                    opts.cancel,
                    &mut |n| st.progress(n, total, base, false),
                )
                .map_err(|e| match e {
                    copy::CopyError::Interrupted => ExecError::Interrupted {
                        during: format!("while copying partition {} ({label})", p.number),
                        state: table_state(&done_desc),
                    },
                    source => ExecError::Copy { number: p.number, label: label.clone(), source },
                })?;
                st.progress(total, total, base, true);
                base += total;
                report.digest = Some(d.hex());
                report.bytes_written = d.bytes_written;
                report.verified.push("source hashed while copying".into());
                stream_proofs.push(Proof::DataHashed { partition: p.number, label: label.clone(), digest: d.hex() });
                (st.emit)(&Event::Verified { partition: p.number, label: label.clone(), method: "stream".into(), digest: d.hex() });
                if let (Some(sb), Some(v), Some(leaves)) = (&sb, verity, &d.block_hashes) {
                    let how = check_verity(&src, sb, v, leaves).map_err(|source| ExecError::Verity {
                        number: p.number,
                        label: label.clone(),
                        source,
                    })?;
                    report.verified.push(how.clone());
                    stream_proofs.push(Proof::Verity { partition: p.number, label: label.clone(), detail: how.clone() });
                    (st.emit)(&Event::Verified { partition: p.number, label: label.clone(), method: "verity".into(), digest: how });
                }
                salts.push((p.number, salt, unit));
            }
            Content::Format { fs, uuid, label: fs_label } => {
                let total = p.size;
                let head = p.size - room;
                let written = format_into(target, dst_offset, room, fs, uuid, fs_label, transform, opts.cancel, &mut |n| {
                    st.progress(head + n, total, base, false)
                })
                .map_err(|e| match e {
                    FormatError::Task(source) => ExecError::Format { number: p.number, label: label.clone(), source },
                    FormatError::Io(source) => ExecError::Io { what: format!("partition {} ({label})", p.number), source },
                    FormatError::Copy(copy::CopyError::Interrupted) => ExecError::Interrupted {
                        during: format!("while formatting partition {} ({label})", p.number),
                        state: table_state(&done_desc),
                    },
                    FormatError::Copy(source) => ExecError::Copy { number: p.number, label: label.clone(), source },
                })?;
                report.bytes_written = written;
                st.progress(total, total, base, true);
                base += total;
            }
            Content::None => {}
        }
        if let (Some(pr), Some(x)) = (prepared, xts) {
            let header = File::open(&pr.header_file).map_err(|source| ExecError::Open { path: pr.header_file.clone(), source })?;
            copy::copy_range(
                copy::At { file: &header, offset: 0 },
                pr.header.data_offset,
                copy::At { file: target, offset: p.offset },
                copy::Hashing::none(),
                None,
                opts.cancel,
                &mut |_| {},
            )
            .map_err(|source| ExecError::Copy { number: p.number, label: label.clone(), source })?;
            report.bytes_written += pr.header.data_offset;
            if !matches!(p.content, Content::Format { .. }) {
                // a formatted partition counted its whole size, header included
                base += crate::plan::LUKS2_METADATA_SIZE;
                st.progress(0, 0, base, true);
            }
            encrypted.push((p.number, pr.header.data_offset, x));
        }
        done_desc.push(format!("partition {}", p.number));
        reports.push(report);
        st.end(&name);
    }
    target.sync_all().map_err(ExecError::io("syncing the target"))?;
    check_cancel("before writing the partition table", &done_desc)?;

    st.begin("table", format!("write the GPT partition table ({} partitions)", plan.partitions.len()));
    table::write_gpt(target, plan.sector_size, plan.disk_guid, plan.first_usable_lba, plan.last_usable_lba, &plan.partitions)
        .map_err(ExecError::io("writing the partition table"))?;
    disk::reread_partitions(target).map_err(ExecError::io("asking the kernel to re-read the partition table"))?;
    st.end("table");
    // read back after the step is over: whatever happened to the disk since the write is seen
    let mut proofs = vec![prove_table(target, plan)?];
    proofs.append(&mut stream_proofs);

    if opts.verify == Verify::Readback {
        st.begin("verify", "read every copied partition back and compare".into());
        for (p, r) in creates.iter().zip(reports.iter_mut()) {
            let Content::CopyBlocks { size, .. } = p.content else { continue };
            let total = size;
            let (salt, unit) = salts.iter().find(|(n, _, _)| *n == p.number).map(|(_, s, u)| (s.as_slice(), *u)).unwrap_or((&[], 0));
            let hashing = copy::Hashing { salt, keep: false, block: unit, skip: false };
            let enc = encrypted.iter().find(|(n, _, _)| *n == p.number);
            let at = copy::At { file: target, offset: p.offset + enc.map_or(0, |(_, off, _)| *off) };
            let dec = enc.map(|(_, _, x)| encrypt::Decrypting(x));
            let dec_ref: Option<&dyn copy::Transform> = dec.as_ref().map(|d| d as &dyn copy::Transform);
            let d = copy::digest_range(at, size, hashing, dec_ref, opts.cancel, &mut |n| st.progress(n, total, base, false))
                .map_err(|source| ExecError::Copy { number: p.number, label: p.label.clone(), source })?;
            base += size;
            st.progress(0, size, base, true);
            let expected = r.digest.clone().unwrap_or_default();
            if d.hex() != expected {
                return Err(ExecError::Mismatch { number: p.number, label: p.label.clone(), expected, got: d.hex() });
            }
            r.verified.push("read back from the target".into());
            proofs.push(Proof::DataReadBack { partition: p.number, label: p.label.clone() });
            (st.emit)(&Event::Verified { partition: p.number, label: p.label.clone(), method: "readback".into(), digest: d.hex() });
        }
        st.end("verify");
    }

    let mut boot_entries = Vec::new();
    if let Some((esp_offset, root)) = crate::boot::entries_to_fix(plan) {
        // The copied ESP still boots the source: point its entries at the new root. After the
        // read-back (which compares the ESP with its source) and before the proof; a failure
        // here leaves a disk whose table and data are complete but whose entries name the source.
        st.begin("boot", "point the boot loader entries on the new ESP at the new root".into());
        let fixed = crate::boot::fix_entries(&target_path, esp_offset, &root, &esp.options).map_err(ExecError::Boot)?;
        // UKIs carry their command line inside: the answers go next to them, as credentials
        let ukis = crate::boot::creds::ukis(&target_path, esp_offset);
        // an ESP with neither entries nor UKIs does not boot the source: its copy stays the
        // source's, block for block (nothing added to it either)
        let boots = fixed.is_some() || !ukis.is_empty();
        let files: &[(String, Vec<u8>)] = if boots { &esp.files } else { &[] };
        boot_entries = match fixed {
            Some(lines) => lines,
            None if boots => vec!["no /loader/entries on the ESP: no Type #1 entry to change".into()],
            None => vec!["no /loader/entries and no /EFI/Linux/*.efi on the ESP: nothing to change".into()],
        };
        if !ukis.is_empty() && !esp.credentials.is_empty() {
            let lines =
                crate::boot::creds::write(&target_path, esp_offset, &esp.credentials, &esp.credential_key).map_err(ExecError::Boot)?;
            boot_entries.extend(lines.into_iter().map(|l| format!("{l}, for {}", ukis.join(", "))));
        }
        for (path, bytes) in files {
            let name = path.trim_start_matches("::");
            if crate::boot::put_file(&target_path, esp_offset, path, bytes).map_err(ExecError::Boot)? {
                boot_entries.push(format!("wrote {name} on the ESP"));
            } else {
                boot_entries.push(format!("the ESP holds no FAT file system: {name} not written"));
            }
        }
        target.sync_all().map_err(ExecError::io("syncing the target"))?;
        st.end("boot");
    }

    if let Some(enc) = &plan.encryption {
        if !encrypted.is_empty() {
            st.begin("prove", "prove every encrypted partition opens: unseal the TPM2 token, check each key against its keyslot".into());
        }
        for (number, data_offset, _) in &encrypted {
            let p = plan.partitions.iter().find(|p| p.number == *number).expect("planned");
            let opened = encrypt::prove(target, p, *data_offset, enc, opts.secrets, recovery_ref).map_err(|source| ExecError::Encrypt {
                number: p.number,
                label: p.label.clone(),
                source,
            })?;
            for (how, keyslot) in opened {
                let (partition, label) = (p.number, p.label.clone());
                let proof = match how {
                    crate::plan::Unlock::Tpm2 => Proof::TpmUnseals { partition, label, keyslot, pin: false },
                    crate::plan::Unlock::Tpm2Pin => Proof::TpmUnseals { partition, label, keyslot, pin: true },
                    crate::plan::Unlock::RecoveryKey => Proof::RecoveryKeyOpens { partition, label, keyslot },
                    crate::plan::Unlock::Passphrase => Proof::PassphraseOpens { partition, label, keyslot },
                };
                (st.emit)(&Event::Verified {
                    partition: p.number,
                    label: p.label.clone(),
                    method: "unlock".into(),
                    digest: proof.to_string(),
                });
                proofs.push(proof);
            }
        }
        if !encrypted.is_empty() {
            st.end("prove");
        }
    }

    let seconds = started.elapsed().as_secs_f64();
    (st.emit)(&Event::Finished { target: plan.target.display().to_string(), seconds });
    Ok(Report { target: plan.target.clone(), partitions: reports, seconds, proofs, boot_entries, recovery_key: recovery })
}

/// Checks the copied data's leaf hashes against the source's hash tree and the root hash against
/// the signature partition, or else the partition UUIDs; says how it was verified.
fn check_verity(
    src: &File,
    sb: &disk::verity::Superblock,
    v: &crate::plan::VeritySource,
    leaves: &[[u8; 32]],
) -> Result<String, disk::verity::VerityError> {
    use disk::verity::{VerityError, check_tree, root_hash_from_signature};
    let root = copy::hex(&check_tree(sb, leaves, src, v.hash_offset)?);
    if let Some((off, size)) = v.signature
        && let Some(want) = root_hash_from_signature(src, off, size)?
    {
        if want != root {
            return Err(VerityError::RootHash { got: root, want, from: "the verity signature partition".into() });
        }
        return Ok(format!("dm-verity root hash {root} matches the signature partition"));
    }
    if v.uuid_root_hash == root {
        return Ok(format!("dm-verity root hash {root} matches the partition UUIDs"));
    }
    Ok(format!("dm-verity hash tree consistent, root hash {root} (not confirmed by a signature)"))
}

/// Reads the GPT back from the target and compares it, entry by entry, with the plan.
fn prove_table(target: &File, plan: &Plan) -> Result<Proof, ExecError> {
    let got = table::read_gpt(target, plan.sector_size)
        .map_err(ExecError::io("reading the partition table back"))?
        .ok_or_else(|| ExecError::TableMismatch("no GPT on the target".into()))?;
    let why = table_differences(&got, plan);
    if !why.is_empty() {
        return Err(ExecError::TableMismatch(why.join("; ")));
    }
    Ok(Proof::TableMatches { partitions: plan.partitions.len() })
}

/// Every difference between a table read from a disk and the plan's, in words.
pub fn table_differences(got: &crate::plan::ExistingTable, plan: &Plan) -> Vec<String> {
    let sector = u64::from(plan.sector_size);
    let mut why = Vec::new();
    if got.disk_guid != plan.disk_guid {
        why.push(format!("disk GUID {} (planned {})", got.disk_guid, plan.disk_guid));
    }
    for p in &plan.partitions {
        let Some(e) = got.partitions.iter().find(|e| e.number == p.number) else {
            why.push(format!("partition {} is missing", p.number));
            continue;
        };
        let mut d = Vec::new();
        if e.type_uuid != p.type_uuid {
            d.push(format!("type {} (planned {})", e.type_uuid, p.type_uuid));
        }
        if e.uuid != p.uuid {
            d.push(format!("UUID {} (planned {})", e.uuid, p.uuid));
        }
        if e.label != p.label {
            d.push(format!("label '{}' (planned '{}')", e.label, p.label));
        }
        let (first, last) = (p.offset / sector, (p.offset + p.size) / sector - 1);
        if (e.first_lba, e.last_lba) != (first, last) {
            d.push(format!("sectors {}-{} (planned {first}-{last})", e.first_lba, e.last_lba));
        }
        if e.flags != p.flags {
            d.push(format!("attributes {:#x} (planned {:#x})", e.flags, p.flags));
        }
        if !d.is_empty() {
            why.push(format!("partition {}: {}", p.number, d.join(", ")));
        }
    }
    for e in &got.partitions {
        if !plan.partitions.iter().any(|p| p.number == e.number) {
            why.push(format!("partition {} is not in the plan", e.number));
        }
    }
    why
}

fn open_target(plan: &Plan) -> Result<File, ExecError> {
    let open = |create: bool| File::options().read(true).write(true).create(create).truncate(false).open(&plan.target);
    let f = open(plan.create_image).map_err(|source| ExecError::Open { path: plan.target.clone(), source })?;
    if plan.create_image {
        let len = f.metadata().map_err(ExecError::io("reading the target's size"))?.len();
        if len < plan.target_size {
            f.set_len(plan.target_size).map_err(ExecError::io("sizing the new image file"))?;
        }
    }
    Ok(f)
}

enum FormatError {
    Task(task::TaskError),
    Io(std::io::Error),
    Copy(copy::CopyError),
}

/// Makes the file system in a sparse scratch file of the partition's size, then copies it into
/// place (holes stay holes): the same steps for image files and block devices, and nothing is
/// ever mounted.
///
/// Encrypted (`transform` given), only what mkfs wrote is encrypted and written; the rest of the
/// partition is left alone and reads back, decrypted, as noise (as a dm-crypt volume made by
/// systemd-repart on a disk that was not wiped). That is only right if "what mkfs wrote" is
/// everything it relies on, so mkfs runs without `fallocate(2)` ([`task::run_without_fallocate`]):
/// whatever it zeroes it has to write as zeroes, which then are data in the scratch file and are
/// encrypted like the rest; and it is told not to discard (it would assume discarded blocks read
/// as zeroes). ext4 also gets `lazy_journal_init=1`: the journal is not zeroed, only its
/// superblock written (a clean journal is never read past it; what lies beyond cannot pass
/// for a journal block, whose magic number, sequence and checksum would all have to match).
/// docs/ARCHITECTURE.md ("Encrypted installs write what the file system uses") has the
/// argument for each file system.
#[allow(clippy::too_many_arguments)]
fn format_into(
    target: &File,
    offset: u64,
    size: u64,
    fs: &str,
    uuid: &uuid::Uuid,
    label: &str,
    transform: Option<&dyn copy::Transform>,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, FormatError> {
    let dir = tempfile::Builder::new().prefix("imprint-mkfs").tempdir().map_err(FormatError::Io)?;
    let scratch = dir.path().join("fs.img");
    let f = File::create(&scratch).map_err(FormatError::Io)?;
    f.set_len(size).map_err(FormatError::Io)?;
    drop(f);
    let s = scratch.to_string_lossy().into_owned();
    let u = uuid.to_string();
    let encrypted = transform.is_some();
    let run = |program: &str, args: &[&str]| {
        if encrypted { task::run_without_fallocate(program, args) } else { task::run(program, args) }
    };
    let ext4_opts = if encrypted { "lazy_itable_init=1,lazy_journal_init=1,nodiscard" } else { "lazy_itable_init=1,nodiscard" };
    match fs {
        "ext4" => run("mkfs.ext4", &["-q", "-F", "-L", label, "-U", &u, "-I", "256", "-m", "0", "-E", ext4_opts, "-T", "default", &s]),
        "vfat" => {
            let b = uuid.as_bytes();
            let volid = format!("{:02x}{:02x}{:02x}{:02x}", b[0], b[1], b[2], b[3]);
            let mangled: String = label.chars().take(11).collect::<String>().to_ascii_uppercase();
            run("mkfs.vfat", &["-i", &volid, "-n", &mangled, "-F", "32", &s])
        }
        "btrfs" => run("mkfs.btrfs", &["-q", "-f", "-K", "-L", label, "-U", &u, &s]),
        "xfs" => {
            let l: String = label.chars().take(12).collect();
            run("mkfs.xfs", &["-q", "-f", "-K", "-L", &l, "-m", &format!("uuid={u}"), &s])
        }
        "swap" => run("mkswap", &["-L", label, "-U", &u, &s]),
        other => return Err(FormatError::Io(std::io::Error::other(format!("unsupported file system {other}")))),
    }
    .map_err(FormatError::Task)?;
    let src = File::open(&scratch).map_err(FormatError::Io)?;
    let d = copy::copy_range(
        copy::At { file: &src, offset: 0 },
        size,
        copy::At { file: target, offset },
        copy::Hashing::none(),
        transform,
        cancel,
        progress,
    )
    .map_err(FormatError::Copy)?;
    Ok(d.bytes_written)
}
