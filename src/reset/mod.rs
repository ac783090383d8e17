//! Factory reset: erase the machine's state and user data beyond recovery, keep the OS.
//!
//! Two ways in, as systemd has them (docs/reset.md):
//! - [`request`]: ask the next boot to reset, through the EFI variables systemd reads; the
//!   boot's systemd-repart does the work (`imprint reset request|cancel|status`).
//! - [`prepare`] + [`perform`]: do at once what `systemd-repart --factory-reset=yes
//!   --dry-run=no` does, on a disk that is not running (an image file, or the installed disk
//!   seen from the live system): the existing partitions bound to a definition with
//!   `FactoryReset=yes` are removed and made anew, empty or formatted, as the definitions say,
//!   at the places and with the UUIDs repart would choose (the planner does that: the same
//!   request as an install with `--empty=allow`, on the table without those partitions).
//!
//! Beyond repart, their old contents are destroyed first ([`erase`]): a LUKS volume loses its
//! headers and keyslots, anything else is discarded and zeroed and checked. The order is the
//! safety argument: (1) erase contents while the old table still points at them, (2) write the
//! table without them (what repart writes first), (3) the executor clears and fills the new
//! partitions and writes the final table last. An interruption anywhere leaves a table that
//! points at no stale secret, and running the same command again completes the reset.
//!
//! What it must not do: touch any partition that is not being reset (OS partitions, foreign
//! ones) — they stay byte for byte; reset a definitions set that would erase the OS (ESP,
//! XBOOTLDR, /usr, verity) unless forced; write a PIN or any other secret to a log or error.

pub mod cli;
pub mod efi;
pub mod erase;
pub mod esplog;
pub mod pin;
pub mod request;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use serde::Serialize;
use uuid::Uuid;

use crate::disk::{self, table};
use crate::exec::{self, Event};
use crate::plan::{self, Action, EmptyMode, EncryptionPlan, ExistingTable, Plan, PlanRequest, PlannedPartition, SourceFacts};
use crate::profile::repart::PartitionDef;
use crate::profile::types::{self, Designator};
use crate::units;

pub use erase::Erased;

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("refusing to reset: the definitions would erase the operating system:\n  {}", .0.join("\n  "))]
    OsPartitions(Vec<String>),
    #[error("{target} has no GPT partition table: there is nothing to reset")]
    NoTable { target: PathBuf },
    #[error("opening {path}: {source}")]
    Open { path: PathBuf, source: std::io::Error },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error("erasing partition {number} ({label}): {source}")]
    Erase { number: u32, label: String, source: erase::EraseError },
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
    #[error("interrupted {during}; {state}")]
    Interrupted { during: String, state: String },
}

/// What a reset is asked to do; the caller has loaded the definitions and gathered the facts
/// the planner needs for partitions it re-creates (a source for CopyBlocks=, the encryption).
#[derive(Debug, Clone)]
pub struct ResetRequest {
    pub target: PathBuf,
    pub definitions: Vec<PartitionDef>,
    /// systemd-repart's `--seed`: the re-created partitions' UUIDs derive from it.
    pub seed: Uuid,
    /// Reset even partitions that hold the OS.
    pub force: bool,
    pub source: Option<SourceFacts>,
    pub copy_file_sizes: BTreeMap<PathBuf, u64>,
    pub encryption: Option<EncryptionPlan>,
}

/// One partition a reset erases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasePart {
    pub number: u32,
    pub label: String,
    pub type_name: String,
    pub offset: u64,
    pub size: u64,
    /// The definition that says `FactoryReset=yes`.
    pub definition: PathBuf,
}

impl ErasePart {
    /// `partition 4 "root" (root-x86-64)`: what the log line and the report say.
    pub fn describe(&self) -> String {
        format!("partition {} \"{}\" ({})", self.number, self.label, self.type_name)
    }
}

/// A reset, decided: nothing is written until [`perform`].
#[derive(Debug, Clone, Serialize)]
pub struct ResetPlan {
    pub target: PathBuf,
    pub target_size: u64,
    pub sector_size: u32,
    pub is_block_device: bool,
    /// The table as found.
    pub table: ExistingTable,
    pub erase: Vec<ErasePart>,
    /// The table without the erased partitions, written before anything is re-created.
    pub remaining: Vec<PlannedPartition>,
    /// The re-creation: the same plan an install with `--empty=allow` makes on `remaining`.
    pub plan: Plan,
    /// OS partitions erased because the reset was forced (each with its reason).
    pub forced: Vec<String>,
}

impl ResetPlan {
    /// Whether the re-creation writes anything (new or grown partitions).
    pub fn recreates(&self) -> bool {
        self.plan.partitions.iter().any(|p| matches!(p.action, Action::Create | Action::Grow))
    }

    /// Whether carrying it out changes the target at all.
    pub fn changes_anything(&self) -> bool {
        !self.erase.is_empty() || self.recreates()
    }
}

/// One step of a reset, with what it works on: what front-ends say in their own words (the TUI
/// translates it) instead of the English `description` of the event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum ResetStep {
    /// Destroy a partition's contents (crypto-erase or zero).
    Erase { number: u32, label: String, size: u64 },
    /// Write the table without the erased partitions; `left` partitions remain.
    TableWithout { left: usize },
    /// The executor's: erase the old table (only when the table is made anew).
    Wipe,
    /// Clear a re-created partition and leave it empty.
    Clear { number: u32, label: String, encrypted: bool },
    /// Make a file system on a re-created partition (inside LUKS2 when `encrypted`).
    Format { number: u32, label: String, fs: String, encrypted: bool },
    /// Copy `size` bytes into a re-created partition (CopyBlocks=).
    Copy { number: u32, label: String, size: u64, encrypted: bool },
    /// Write the final partition table.
    Table { partitions: usize },
    /// Read the copied partitions back.
    Verify,
    /// Point the boot entries at the new root.
    Boot,
    /// Prove every encrypted partition opens.
    Prove,
    /// Record the reset on the ESP.
    EspLog,
}

impl ResetPlan {
    /// The typed step behind an event's step `name` (`erase-4`, `table-without`, the executor's
    /// `partition-4`, `table`, …); None for a name this plan does not have.
    pub fn step(&self, name: &str) -> Option<ResetStep> {
        let number = |prefix: &str| name.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = number("erase-") {
            let e = self.erase.iter().find(|e| e.number == n)?;
            return Some(ResetStep::Erase { number: n, label: e.label.clone(), size: e.size });
        }
        if let Some(n) = number("partition-") {
            let p = self.plan.partitions.iter().find(|p| p.number == n)?;
            let (number, label, encrypted) = (p.number, p.label.clone(), p.luks.is_some());
            return Some(match &p.content {
                plan::Content::None => ResetStep::Clear { number, label, encrypted },
                plan::Content::Format { fs, .. } => ResetStep::Format { number, label, fs: fs.clone(), encrypted },
                plan::Content::CopyBlocks { size, .. } => ResetStep::Copy { number, label, size: *size, encrypted },
            });
        }
        Some(match name {
            "table-without" => ResetStep::TableWithout { left: self.remaining.len() },
            "wipe" => ResetStep::Wipe,
            "table" => ResetStep::Table { partitions: self.plan.partitions.len() },
            "verify" => ResetStep::Verify,
            "boot" => ResetStep::Boot,
            "prove" => ResetStep::Prove,
            "esp-log" => ResetStep::EspLog,
            _ => return None,
        })
    }
}

/// What the TUI's reset page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResetInfo {
    /// The OS (os-release of the root given to [`info`]).
    pub os_version: Option<String>,
    /// The disk, in words.
    pub disk: String,
    /// The last line of the reset log on the target's ESP.
    pub last_reset: Option<String>,
    /// What is erased, in words.
    pub erase: Vec<String>,
    /// What is kept, in words.
    pub keep: Vec<String>,
}

/// Why a type must not be reset, for types that hold the OS (None for the others).
pub fn os_role(t: &types::PartType) -> Option<&'static str> {
    Some(match t.designator {
        Designator::Esp => "the EFI System Partition, which holds the boot loader and the kernels",
        Designator::Xbootldr => "the extended boot loader partition, which holds the kernels",
        Designator::Usr => "/usr, the operating system itself",
        Designator::UsrVerity | Designator::RootVerity => "dm-verity hash data, which proves the OS unmodified",
        Designator::UsrVeritySig | Designator::RootVeritySig => "the signature of the OS's dm-verity root hash",
        _ => return None,
    })
}

/// Where `FactoryReset=` was last set for `def` (a drop-in may set it): file and line.
fn factory_reset_setting(def: &PartitionDef) -> (PathBuf, Option<usize>) {
    crate::profile::ini::load_with_dropins(&def.file)
        .ok()
        .and_then(|doc| {
            doc.entries("Partition").filter(|e| e.key == "FactoryReset").last().map(|e| (e.file.as_ref().clone(), Some(e.line)))
        })
        .unwrap_or_else(|| (def.file.clone(), None))
}

/// Every definition with `FactoryReset=yes` on a type that holds the OS, as `file:line: why`.
pub fn os_refusals(defs: &[PartitionDef]) -> Vec<String> {
    defs.iter()
        .filter(|d| d.factory_reset)
        .filter_map(|d| {
            let role = os_role(&d.ptype)?;
            let (file, line) = factory_reset_setting(d);
            let at = match line {
                Some(l) => format!("{}:{l}", file.display()),
                None => file.display().to_string(),
            };
            let name = d.ptype.name().unwrap_or_else(|| d.ptype.uuid.to_string());
            Some(format!(
                "{at}: FactoryReset=yes on a partition of type {name}, {role}; a factory reset keeps the ESP, XBOOTLDR, \
                 /usr and the verity partitions, or the machine is left without its OS. Remove FactoryReset=yes there, \
                 or pass --force if that is really meant"
            ))
        })
        .collect()
}

/// Reads the target's table and decides the reset. Reads only.
pub fn prepare(req: &ResetRequest) -> Result<ResetPlan, ResetError> {
    let refusals = os_refusals(&req.definitions);
    if !refusals.is_empty() && !req.force {
        return Err(ResetError::OsPartitions(refusals));
    }
    let open_err = |source| ResetError::Open { path: req.target.clone(), source };
    let f = File::open(&req.target).map_err(open_err)?;
    let io = |what: &str| {
        let what = format!("{what} {}", req.target.display());
        move |source| ResetError::Io { what, source }
    };
    let block = disk::is_block_device(&f).map_err(io("reading"))?;
    let sector =
        if block { disk::logical_sector_size(&f).map_err(io("reading the sector size of"))? } else { table::probe_sector_size(&f) };
    let size = disk::device_size(&f).map_err(io("reading the size of"))?;
    let found = table::read_gpt(&f, sector)
        .map_err(io("reading the partition table of"))?
        .ok_or_else(|| ResetError::NoTable { target: req.target.clone() })?;

    let (bound, _) = plan::bind(&req.definitions, &found);
    let s = u64::from(sector);
    let mut erase = Vec::new();
    for (def, part) in req.definitions.iter().zip(&bound) {
        if let (true, Some(p)) = (def.factory_reset, part) {
            erase.push(ErasePart {
                number: p.number,
                label: p.label.clone(),
                type_name: types::from_uuid(p.type_uuid).name().unwrap_or_else(|| p.type_uuid.to_string()),
                offset: p.offset(s),
                size: p.size(s),
                definition: def.file.clone(),
            });
        }
    }
    erase.sort_by_key(|e| e.number);
    let mut reduced = found.clone();
    reduced.partitions.retain(|p| !erase.iter().any(|e| e.number == p.number));

    let target = plan::TargetFacts {
        path: req.target.clone(),
        size,
        sector_size: sector,
        is_block_device: block,
        content: plan::TargetContent::Gpt(reduced.clone()),
    };
    let preq = PlanRequest {
        definitions: req.definitions.clone(),
        target,
        source: req.source.clone(),
        copy_file_sizes: req.copy_file_sizes.clone(),
        seed: req.seed,
        empty: EmptyMode::Allow,
        encryption: req.encryption.clone(),
    };
    let mut plan = plan::plan(&preq)?;
    // What the summary lists as lost (with an existing table kept, the executor wipes nothing
    // for it: the erasing is done here, before).
    plan.destroys = erase.iter().map(|e| format!("{} ({}), erased beyond recovery", e.describe(), units::bytes(e.size))).collect();
    let remaining = reduced
        .partitions
        .iter()
        .map(|p| PlannedPartition {
            number: p.number,
            action: Action::Keep,
            definition: None,
            type_uuid: p.type_uuid,
            type_name: types::from_uuid(p.type_uuid).name(),
            label: p.label.clone(),
            uuid: p.uuid,
            offset: p.offset(s),
            size: p.size(s),
            padding: 0,
            old_size: Some(p.size(s)),
            flags: p.flags,
            content: plan::Content::None,
            factory_reset: false,
            encrypt: Default::default(),
            luks: None,
        })
        .collect();
    let forced = if req.force { refusals } else { Vec::new() };
    Ok(ResetPlan {
        target: req.target.clone(),
        target_size: size,
        sector_size: sector,
        is_block_device: block,
        table: found,
        erase,
        remaining,
        plan,
        forced,
    })
}

fn describe_existing(p: &plan::ExistingPartition, sector: u64) -> String {
    let name = types::from_uuid(p.type_uuid).name().unwrap_or_else(|| p.type_uuid.to_string());
    format!("partition {} \"{}\" ({name}, {})", p.number, p.label, units::bytes(p.size(sector)))
}

/// The ESP's byte offset in the table as found (the first partition of the ESP type).
fn esp_offset(t: &ExistingTable, sector: u64) -> Option<u64> {
    let esp = types::parse_type("esp").expect("known type").uuid;
    t.partitions.iter().find(|p| p.type_uuid == esp).map(|p| p.offset(sector))
}

/// What the TUI shows before a reset: the OS (os-release under `os_root`), the disk, the last
/// reset recorded on its ESP, and what is erased and kept.
pub fn info(plan: &ResetPlan, os_root: &Path) -> ResetInfo {
    let os = request::os_release(os_root).unwrap_or_default();
    let os_version = os.pretty_name().map(|name| match (os.value("IMAGE_ID"), os.value("IMAGE_VERSION")) {
        (Some(id), Some(v)) => format!("{name} ({id} {v})"),
        (None, Some(v)) => format!("{name} ({v})"),
        _ => name.to_string(),
    });
    let s = u64::from(plan.sector_size);
    let model = if plan.is_block_device {
        let canon = std::fs::canonicalize(&plan.target).unwrap_or_else(|_| plan.target.clone());
        disk::sysfs::list_disks(&disk::sysfs::SysPaths::default(), None)
            .unwrap_or_default()
            .into_iter()
            .find(|d| d.path == canon)
            .and_then(|d| d.model)
    } else {
        Some("image file".to_string())
    };
    let disk = match model {
        Some(m) => format!("{} ({}, {m})", plan.target.display(), units::bytes(plan.target_size)),
        None => format!("{} ({})", plan.target.display(), units::bytes(plan.target_size)),
    };
    let erased: Vec<u32> = plan.erase.iter().map(|e| e.number).collect();
    ResetInfo {
        os_version,
        disk,
        last_reset: esp_offset(&plan.table, s).and_then(|o| esplog::last_line(&plan.target, o)),
        erase: plan.table.partitions.iter().filter(|p| erased.contains(&p.number)).map(|p| describe_existing(p, s)).collect(),
        keep: plan.table.partitions.iter().filter(|p| !erased.contains(&p.number)).map(|p| describe_existing(p, s)).collect(),
    }
}

/// [`ResetInfo`] straight from a target and its definitions (the TUI's reset page; a refused
/// definitions set is the error it shows).
pub fn info_for(target: &Path, definitions: Vec<PartitionDef>, os_root: &Path) -> Result<ResetInfo, ResetError> {
    let req = ResetRequest {
        target: target.to_path_buf(),
        definitions,
        seed: Uuid::nil(),
        force: false,
        source: None,
        copy_file_sizes: BTreeMap::new(),
        encryption: None,
    };
    Ok(info(&prepare_layout_only(&req)?, os_root))
}

/// [`prepare`] for showing only: partitions the re-creation could not place (a CopyBlocks=
/// source that is not given, say) do not keep the page from showing what is erased and kept.
fn prepare_layout_only(req: &ResetRequest) -> Result<ResetPlan, ResetError> {
    match prepare(req) {
        Err(ResetError::Plan(_)) => {
            let mut r = req.clone();
            r.definitions.iter_mut().for_each(|d| d.copy_blocks = None);
            prepare(&r)
        }
        other => other,
    }
}

/// How [`perform`] runs.
pub struct PerformOptions<'a> {
    pub cancel: &'a AtomicBool,
    pub verify: exec::Verify,
    /// Encrypted re-created file systems: fill their free space (as `install --fill-free`).
    pub fill_free: exec::FillFree,
    pub secrets: &'a exec::encrypt::Secrets,
    pub pbkdf: crate::luks::Pbkdf,
    /// Append a line to `/loader/imprint-reset.log` on the ESP.
    pub esp_log: bool,
}

/// One erased partition in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ErasedReport {
    pub number: u32,
    pub label: String,
    pub type_name: String,
    pub erased: Erased,
}

#[derive(Debug, Serialize)]
pub struct ResetReport {
    pub target: PathBuf,
    pub erased: Vec<ErasedReport>,
    /// The executor's report for the re-created partitions (None when nothing was re-created).
    pub recreated: Option<exec::Report>,
    /// The line appended to the ESP's reset log.
    pub log_line: Option<String>,
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// Carries out a reset: erase, write the reduced table, re-create (the executor), log. Progress
/// goes to `emit` as one event stream (the executor's steps follow the erase steps).
pub fn perform(plan: &ResetPlan, opts: &PerformOptions, emit: &mut dyn FnMut(&Event)) -> Result<ResetReport, ResetError> {
    let started = Instant::now();
    let recreate = plan.recreates();
    let exec_steps = if recreate { exec::planned_steps(&plan.plan, opts.verify) } else { 0 };
    let reduce = !plan.erase.is_empty();
    let offset = plan.erase.len() + usize::from(reduce);
    let steps = offset + exec_steps + usize::from(opts.esp_log);
    emit(&Event::Started { target: plan.target.display().to_string(), steps, bytes_total: plan.plan.bytes_to_copy() });
    let target = File::options()
        .read(true)
        .write(true)
        .open(&plan.target)
        .map_err(|source| ResetError::Open { path: plan.target.clone(), source })?;

    let mut done: Vec<String> = Vec::new();
    let state = |done: &[String]| {
        if done.is_empty() {
            "nothing was written".to_string()
        } else {
            format!("erased: {}; the table still lists them; run the same command again to complete", done.join(", "))
        }
    };
    let mut erased = Vec::new();
    for (i, e) in plan.erase.iter().enumerate() {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(ResetError::Interrupted { during: format!("before erasing partition {}", e.number), state: state(&done) });
        }
        let name = format!("erase-{}", e.number);
        emit(&Event::StepStarted {
            step: i + 1,
            steps,
            name: name.clone(),
            description: format!("erase partition {} \"{}\" ({}, {})", e.number, e.label, e.type_name, units::bytes(e.size)),
        });
        let how = erase::erase(&target, e.offset, e.size).map_err(|source| ResetError::Erase {
            number: e.number,
            label: e.label.clone(),
            source,
        })?;
        emit(&Event::Verified { partition: e.number, label: e.label.clone(), method: "erased".into(), digest: how.describe() });
        emit(&Event::StepFinished { step: i + 1, name });
        done.push(format!("partition {}", e.number));
        erased.push(ErasedReport { number: e.number, label: e.label.clone(), type_name: e.type_name.clone(), erased: how });
    }
    if reduce {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(ResetError::Interrupted {
                during: "before removing the erased partitions from the table".into(),
                state: state(&done),
            });
        }
        let step = plan.erase.len() + 1;
        emit(&Event::StepStarted {
            step,
            steps,
            name: "table-without".into(),
            description: format!("write the partition table without the erased partitions ({} left)", plan.remaining.len()),
        });
        let t = &plan.table;
        table::write_gpt(&target, plan.sector_size, t.disk_guid, t.first_usable_lba, t.last_usable_lba, &plan.remaining)
            .map_err(|source| ResetError::Io { what: "writing the partition table without the erased partitions".into(), source })?;
        disk::reread_partitions(&target)
            .map_err(|source| ResetError::Io { what: "asking the kernel to re-read the table".into(), source })?;
        emit(&Event::StepFinished { step, name: "table-without".into() });
    }
    drop(target);

    let recreated = if recreate {
        let exec_opts =
            exec::Options { verify: opts.verify, fill_free: opts.fill_free, cancel: opts.cancel, secrets: opts.secrets, pbkdf: opts.pbkdf };
        let mut forward = |e: &Event| match e {
            Event::Started { .. } | Event::Finished { .. } => {}
            Event::StepStarted { step, name, description, .. } => {
                emit(&Event::StepStarted { step: step + offset, steps, name: name.clone(), description: description.clone() })
            }
            Event::StepFinished { step, name } => emit(&Event::StepFinished { step: step + offset, name: name.clone() }),
            Event::Progress { step, bytes_done, bytes_total, run_bytes_done, run_bytes_total, rate_bytes_per_sec, eta_seconds } => {
                emit(&Event::Progress {
                    step: step + offset,
                    bytes_done: *bytes_done,
                    bytes_total: *bytes_total,
                    run_bytes_done: *run_bytes_done,
                    run_bytes_total: *run_bytes_total,
                    rate_bytes_per_sec: *rate_bytes_per_sec,
                    eta_seconds: *eta_seconds,
                })
            }
            other => emit(other),
        };
        Some(exec::execute(&plan.plan, &exec_opts, &mut forward)?)
    } else {
        None
    };

    let mut warnings = plan.forced.iter().map(|f| format!("forced: {f}")).collect::<Vec<_>>();
    let mut log_line = None;
    if opts.esp_log {
        let step = offset + exec_steps + 1;
        emit(&Event::StepStarted { step, steps, name: "esp-log".into(), description: format!("record the reset in {}", esplog::LOG_PATH) });
        let line = esplog::line(SystemTime::now(), &plan.erase.iter().map(ErasePart::describe).collect::<Vec<_>>());
        let esp = plan.plan.partitions.iter().find(|p| types::from_uuid(p.type_uuid).designator == Designator::Esp);
        match esp {
            None => warnings.push("no ESP on the target: the reset was not logged".into()),
            Some(p) => match esplog::append(&plan.target, p.offset, &line) {
                Ok(()) => log_line = Some(line),
                Err(e) => warnings.push(format!("the reset was not logged on the ESP: {e}")),
            },
        }
        for w in warnings.iter().filter(|w| !w.starts_with("forced: ")) {
            emit(&Event::Warning { message: w.clone() });
        }
        emit(&Event::StepFinished { step, name: "esp-log".into() });
    }
    let seconds = started.elapsed().as_secs_f64();
    emit(&Event::Finished { target: plan.target.display().to_string(), seconds });
    Ok(ResetReport { target: plan.target.clone(), erased, recreated, log_line, warnings, seconds })
}
