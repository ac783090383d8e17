//! The installer's backend: carries out the installer pages' requests with the same planner and
//! executor the unattended `imprint install` uses, and turns their results and events into the
//! pages' view types.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use imprint_screens::installer::{
    Change, DoneView, EncryptionChoice, InstallRequest, InstallerFacts, Msg, PartRow, PlanView, ProgressView, ProofKind, ProofLine,
    RecoveryKeyView, Request, SourceView, StepKind, StepState, StepView, TpmView,
};
use imprint_screens::{DiskRow, QrView, Verdict};

use super::term::{Backend, Control, Replies};
use crate::cli::{InstallArgs, ProgressMode};
use crate::exec::{self, Verify, events::Event};
use crate::plan::{self, EmptyMode, EncryptionMode, Plan, TargetContent};
use crate::secret::Secret;

/// Where the installer may write, and with what.
#[derive(Debug, Clone)]
pub struct InstallerOptions {
    /// The image to install (`auto`: the disk holding the running live system).
    pub source: String,
    pub profile: Option<String>,
    pub definitions: Vec<PathBuf>,
    /// Demo mode: the only target is this image file, made with this size.
    pub demo_target: Option<(PathBuf, u64)>,
    pub tpm2_device: String,
    pub pbkdf: crate::luks::Pbkdf,
    pub seed: Option<uuid::Uuid>,
    /// Shown on the done page (where the demo's files are).
    pub note: Option<String>,
}

pub struct InstallerBackend {
    opts: InstallerOptions,
    recovery_key: Option<Secret>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl InstallerBackend {
    pub fn new(opts: InstallerOptions) -> Self {
        InstallerBackend { opts, recovery_key: None, worker: None }
    }

    /// What the pages need to know before they start.
    pub fn facts(&self) -> InstallerFacts {
        let keymaps = crate::firstboot::catalog::keymaps(Path::new("/"));
        let default_keymap = std::fs::read_to_string("/etc/vconsole.conf")
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("KEYMAP=").map(|v| v.trim_matches('"').to_string())))
            .unwrap_or_else(|| "us".into());
        let source = SourceView {
            name: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|t| t.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())))
                .filter(|_| self.opts.demo_target.is_none())
                .unwrap_or_else(|| "imprint demo OS".into()),
            size_bytes: crate::cmd::source_facts(&self.opts.source)
                .ok()
                .and_then(|s| std::fs::File::open(&s.path).ok().and_then(|f| crate::disk::device_size(&f).ok()))
                .unwrap_or(0),
        };
        let pcrs = self.pcrs();
        let tpm = match self.opts.tpm2_device.parse::<crate::tpm::Device>() {
            Ok(dev) => {
                let st = crate::tpm::status(&dev, &pcrs, crate::tpm::PcrBank::Sha256);
                TpmView {
                    usable: st.problems.is_empty(),
                    problem: (!st.problems.is_empty())
                        .then(|| st.problems.iter().map(|p| format!("{} {}", p.message, p.advice)).collect::<Vec<_>>().join(" ")),
                }
            }
            Err(_) => TpmView { usable: false, problem: Some(format!("invalid TPM device {}", self.opts.tpm2_device)) },
        };
        InstallerFacts {
            keymaps: if keymaps.is_empty() { vec!["us".into()] } else { keymaps },
            default_keymap,
            source,
            tpm,
            pcrs,
            demo: self.opts.demo_target.is_some(),
        }
    }

    fn pcrs(&self) -> Vec<u32> {
        crate::cmd::definition_dirs(self.opts.profile.as_deref(), &self.opts.definitions, None)
            .ok()
            .and_then(|(_, enc)| enc.pcrs)
            .unwrap_or_else(|| vec![7])
    }

    /// The arguments an unattended run with the same answers would have.
    fn args(&self, disk: &str, encryption: Option<&EncryptionChoice>) -> InstallArgs {
        let (target_size, demo) = match &self.opts.demo_target {
            Some((p, size)) if p.as_path() == Path::new(disk) => (Some(*size), true),
            _ => (None, false),
        };
        InstallArgs {
            source: Some(self.opts.source.clone()),
            target: PathBuf::from(disk),
            target_size: if demo && !Path::new(disk).exists() { target_size } else { None },
            profile: self.opts.profile.clone(),
            definitions: self.opts.definitions.clone(),
            seed: self.opts.seed,
            // the person saw what is erased and typed the disk's name
            empty: EmptyMode::Force,
            yes: true,
            progress: ProgressMode::Json,
            verify: Verify::Readback,
            encrypt: encryption.map(|e| match e {
                EncryptionChoice::Tpm => EncryptionMode::Tpm2,
                EncryptionChoice::TpmPin(_) => EncryptionMode::Tpm2Pin,
                EncryptionChoice::Passphrase(_) => EncryptionMode::Passphrase,
                EncryptionChoice::None => EncryptionMode::Off,
            }),
            recovery_key: encryption.map(|e| !matches!(e, EncryptionChoice::None)),
            tpm2_device: self.opts.tpm2_device.clone(),
            ..InstallArgs::unencrypted()
        }
    }

    fn disks(&self) -> Vec<DiskRow> {
        let mut rows = Vec::new();
        if let Some((path, size)) = &self.opts.demo_target {
            let mut row = DiskRow {
                path: path.display().to_string(),
                size_bytes: *size,
                model: "demo image file".into(),
                reasons: vec![],
                verdict: None,
            };
            row.verdict = Some(self.verdict(&row.path));
            rows.push(row);
        }
        let source = crate::cmd::source_facts(&self.opts.source).ok().map(|s| s.path);
        let real = crate::disk::sysfs::list_disks(&crate::disk::sysfs::SysPaths::default(), source.as_deref()).unwrap_or_default();
        for d in real {
            let mut reasons = d.reasons.clone();
            if self.opts.demo_target.is_some() {
                reasons.push("a real disk: the demo never touches one".into());
            }
            let mut row = DiskRow {
                path: d.path.display().to_string(),
                size_bytes: d.size_bytes,
                model: d.model.clone().unwrap_or_default(),
                reasons,
                verdict: None,
            };
            if row.selectable() {
                row.verdict = Some(self.verdict(&row.path));
            }
            rows.push(row);
        }
        rows
    }

    fn verdict(&self, disk: &str) -> Verdict {
        match crate::cmd::make_plan(&self.args(disk, None), self.seed()) {
            Ok(p) if p.loses_data() => Verdict::NeedsErase { what: p.destroys.clone() },
            Ok(_) => Verdict::Fits,
            Err(e) => match e.downcast_ref::<plan::PlanError>() {
                Some(plan::PlanError::TooSmall { needed, available, .. }) => Verdict::TooSmall { need: *needed, have: *available },
                _ => Verdict::NeedsErase { what: vec![format!("cannot plan: {e:#}")] },
            },
        }
    }

    fn seed(&self) -> uuid::Uuid {
        self.opts.seed.unwrap_or(crate::demo::DEMO_SEED)
    }

    fn plan_view(&self, disk: &str) -> Result<PlanView> {
        let args = self.args(disk, None);
        let target = crate::cmd::target_facts(&args.target, args.target_size)?;
        let plan = crate::cmd::make_plan(&args, self.seed())?;
        let sector = u64::from(target.sector_size);
        let before = match &target.content {
            TargetContent::Gpt(t) => t
                .partitions
                .iter()
                .map(|p| PartRow {
                    number: p.number,
                    label: p.label.clone(),
                    kind: type_name(p.type_uuid),
                    size_bytes: (p.last_lba + 1 - p.first_lba) * sector,
                    change: Change::Erase,
                })
                .collect(),
            _ => Vec::new(),
        };
        let after = plan
            .partitions
            .iter()
            .map(|p| PartRow {
                number: p.number,
                label: p.label.clone(),
                kind: p.type_name.clone().unwrap_or_else(|| type_name(p.type_uuid)),
                size_bytes: p.size,
                change: if p.action == plan::Action::Create { Change::Create } else { Change::Keep },
            })
            .collect();
        Ok(PlanView { disk: disk.to_string(), before, after })
    }

    fn new_recovery_key(&mut self) -> RecoveryKeyView {
        let key = crate::luks::recovery::generate();
        let modules = crate::luks::recovery::qr_modules(&key);
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(key.expose()).into_owned());
        self.recovery_key = Some(key);
        RecoveryKeyView { text, qr: QrView { modules: modules.to_vec() } }
    }

    fn start(&mut self, req: InstallRequest, replies: &Replies<Msg>) {
        let args = self.args(&req.disk, Some(&req.encryption));
        let mut secrets = exec::encrypt::Secrets::default();
        match &req.encryption {
            EncryptionChoice::TpmPin(p) => secrets.pin = Some(Secret::new(p.as_bytes().to_vec())),
            EncryptionChoice::Passphrase(p) => secrets.passphrase = Some(Secret::new(p.as_bytes().to_vec())),
            EncryptionChoice::Tpm | EncryptionChoice::None => {}
        }
        if !matches!(req.encryption, EncryptionChoice::None) {
            secrets.recovery_key = self.recovery_key.as_ref().map(|k| Secret::new(k.expose().to_vec()));
        }
        let seed = self.seed();
        let pbkdf = self.opts.pbkdf;
        let note = self.opts.note.clone();
        let replies = replies.clone();
        self.worker = Some(std::thread::spawn(move || {
            let msg = match install(&args, seed, &secrets, pbkdf, &replies) {
                Ok(proofs) => Msg::Done(DoneView { proof: proofs, note }),
                Err(e) => Msg::Failed(format!("{e:#}")),
            };
            replies.send(msg);
        }));
    }
}

/// One install with the answers, reporting through `replies`; the proof lines at the end.
fn install(
    args: &InstallArgs,
    seed: uuid::Uuid,
    secrets: &exec::encrypt::Secrets,
    pbkdf: crate::luks::Pbkdf,
    replies: &Replies<Msg>,
) -> Result<Vec<ProofLine>> {
    let plan = crate::cmd::make_plan(args, seed)?;
    crate::cmd::check_encryption_ready(args, &plan)?;
    let mut view = ProgressView { steps: steps_of(&plan, args.verify), ..ProgressView::default() };
    replies.send(Msg::Progress(view.clone()));
    let mut sink = |e: &Event| {
        if let Some(line) = log_line(e) {
            replies.send(Msg::Log(line));
        }
        if update(&mut view, e) {
            replies.send(Msg::Progress(view.clone()));
        }
    };
    let opts = exec::Options { verify: args.verify, cancel: &exec::CANCEL, secrets, pbkdf };
    let report = exec::execute(&plan, &opts, &mut sink).with_context(|| format!("installing onto {}", plan.target.display()))?;
    let mut proof = vec![ProofLine { kind: ProofKind::TableReadBack, ok: true, detail: plan.target.display().to_string() }];
    for p in &report.partitions {
        if !p.verified.is_empty() {
            proof.push(ProofLine { kind: ProofKind::DataVerified, ok: true, detail: format!("{}: {}", p.label, p.verified.join(", ")) });
        }
    }
    for line in &report.proofs {
        let kind = if line.contains("recovery key") {
            ProofKind::RecoveryKeyOpens
        } else if line.contains("passphrase") {
            ProofKind::PassphraseOpens
        } else {
            ProofKind::TpmUnseals
        };
        proof.push(ProofLine { kind, ok: true, detail: line.clone() });
    }
    Ok(proof)
}

/// The steps the executor will run for `plan`, in its order.
fn steps_of(plan: &Plan, verify: Verify) -> Vec<StepView> {
    let step = |kind, label: &str| StepView { kind, label: label.to_string(), state: StepState::Waiting };
    let mut steps = Vec::new();
    if plan.table == plan::TableAction::Create && plan.loses_data() {
        steps.push(step(StepKind::Wipe, ""));
    }
    for p in plan.partitions.iter().filter(|p| p.action == plan::Action::Create) {
        let kind = match (&p.content, &p.luks) {
            (_, Some(_)) => StepKind::Encrypt,
            (plan::Content::CopyBlocks { .. }, None) => StepKind::Copy,
            _ => StepKind::Format,
        };
        steps.push(step(kind, &p.label));
    }
    steps.push(step(StepKind::Table, ""));
    if verify == Verify::Readback {
        steps.push(step(StepKind::Verify, ""));
    }
    if plan.partitions.iter().any(|p| p.luks.is_some()) {
        steps.push(step(StepKind::Proof, ""));
    }
    steps
}

/// Applies one event to the view; true when it changed.
fn update(view: &mut ProgressView, e: &Event) -> bool {
    match e {
        Event::StepStarted { step, .. } => {
            for (i, s) in view.steps.iter_mut().enumerate() {
                if i + 1 < *step && s.state != StepState::Failed {
                    s.state = StepState::Done;
                } else if i + 1 == *step {
                    s.state = StepState::Running;
                }
            }
            true
        }
        Event::StepFinished { .. } => {
            if let Some(s) = view.steps.iter_mut().find(|s| s.state == StepState::Running) {
                s.state = StepState::Done;
            }
            true
        }
        Event::Progress { run_bytes_done, run_bytes_total, rate_bytes_per_sec, eta_seconds, .. } => {
            view.bytes_done = *run_bytes_done;
            view.bytes_total = *run_bytes_total;
            view.rate_bytes_per_sec = Some(*rate_bytes_per_sec).filter(|r| *r > 0);
            view.eta_secs = *eta_seconds;
            true
        }
        Event::Failed { .. } => {
            if let Some(s) = view.steps.iter_mut().find(|s| s.state == StepState::Running) {
                s.state = StepState::Failed;
            }
            true
        }
        Event::Finished { .. } => {
            view.steps.iter_mut().for_each(|s| s.state = StepState::Done);
            view.bytes_done = view.bytes_total;
            view.eta_secs = Some(0);
            true
        }
        _ => false,
    }
}

/// The log view's line for an event (progress ticks have none).
fn log_line(e: &Event) -> Option<String> {
    match e {
        Event::Started { target, steps, .. } => Some(format!("installing onto {target}: {steps} steps")),
        Event::StepStarted { step, steps, description, .. } => Some(format!("[{step}/{steps}] {description}")),
        Event::Warning { message } => Some(format!("warning: {message}")),
        Event::Verified { partition, label, method, .. } => Some(format!("partition {partition} ({label}) verified: {method}")),
        Event::Finished { seconds, .. } => Some(format!("finished in {seconds:.1}s")),
        Event::Failed { error, .. } => Some(format!("failed: {error}")),
        Event::Progress { .. } | Event::StepFinished { .. } => None,
    }
}

fn type_name(uuid: uuid::Uuid) -> String {
    crate::profile::types::from_uuid(uuid).name().unwrap_or_else(|| uuid.to_string())
}

/// Whether the console is a Linux virtual terminal (where `loadkeys` changes the keymap).
pub(crate) fn on_linux_vt() -> bool {
    const KDGKBTYPE: libc::c_ulong = 0x4B33;
    let mut kb: libc::c_char = 0;
    // SAFETY: KDGKBTYPE writes one byte to `kb`; fails harmlessly on anything that is not a VT.
    unsafe { libc::ioctl(0, KDGKBTYPE, &mut kb) == 0 }
}

impl Backend<imprint_screens::installer::Installer> for InstallerBackend {
    fn handle(&mut self, request: Request, replies: &Replies<Msg>) -> Control {
        match request {
            Request::ListDisks => {
                replies.send(Msg::Disks(self.disks()));
            }
            Request::ApplyKeymap(k) => {
                if on_linux_vt() && self.opts.demo_target.is_none() {
                    let _ = std::process::Command::new("loadkeys").arg("-q").arg(&k).status();
                }
            }
            Request::Plan { disk } => match self.plan_view(&disk) {
                Ok(v) => {
                    replies.send(Msg::Plan(v));
                }
                Err(e) => {
                    replies.send(Msg::Failed(format!("{e:#}")));
                }
            },
            Request::NewRecoveryKey => {
                let v = self.new_recovery_key();
                replies.send(Msg::RecoveryKey(v));
            }
            Request::StartInstall(req) => self.start(req, replies),
            Request::Reboot | Request::PowerOff if self.opts.demo_target.is_none() => {
                let verb = if matches!(request, Request::Reboot) { "reboot" } else { "poweroff" };
                let _ = std::process::Command::new("systemctl").arg(verb).status();
                return Control::Quit;
            }
            Request::Reboot | Request::PowerOff | Request::Quit => {
                if self.worker.as_ref().is_some_and(|w| !w.is_finished()) {
                    exec::CANCEL.store(true, Ordering::SeqCst);
                    if let Some(w) = self.worker.take() {
                        let _ = w.join();
                    }
                }
                return Control::Quit;
            }
        }
        Control::Continue
    }
}
