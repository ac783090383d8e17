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
use crate::exec::{self, Verify, events::Event};
use crate::install::{self, Prepared, Proof};
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
    /// The seed for partition and disk UUIDs; None (anything but the demo): a random one per
    /// install, shown on the done page and kept in the answers file.
    pub seed: Option<uuid::Uuid>,
    /// Shown on the done page (where the demo's files are).
    pub note: Option<String>,
    /// Also write the performed install's answers file here.
    pub answers_out: Option<PathBuf>,
}

pub struct InstallerBackend {
    opts: InstallerOptions,
    recovery_key: Option<Secret>,
    worker: Option<std::thread::JoinHandle<()>>,
    /// The plan the summary page shows, with the answers it was made for: the install carries
    /// out exactly this one.
    shown: Option<(InstallRequest, Prepared)>,
}

impl InstallerBackend {
    pub fn new(opts: InstallerOptions) -> Self {
        InstallerBackend { opts, recovery_key: None, worker: None, shown: None }
    }

    /// What the pages need to know before they start.
    pub fn facts(&self) -> InstallerFacts {
        let keymaps =
            crate::firstboot::rootdir::RootDir::open(Path::new("/")).map(|r| crate::firstboot::catalog::keymaps(&r)).unwrap_or_default();
        let default_keymap = std::fs::read_to_string("/etc/vconsole.conf")
            .ok()
            .and_then(|t| t.lines().find_map(|l| l.strip_prefix("KEYMAP=").map(|v| v.trim_matches('"').to_string())))
            .unwrap_or_else(|| "us".into());
        let source_facts = crate::install::source_facts(&self.opts.source).ok();
        // the image's key for a signed PCR 11 policy, offered on the encryption page (an
        // unreadable ESP or UKI offers nothing: the install reads it again and says why)
        let signed_policy = source_facts.as_ref().and_then(|s| crate::install::facts::uki_pcr_key(s).ok().flatten()).map(|key| key.from);
        let source = SourceView {
            name: crate::osrelease::OsRelease::read(Path::new("/"))
                .ok()
                .and_then(|o| o.pretty_name().map(str::to_string))
                .filter(|_| self.opts.demo_target.is_none())
                .unwrap_or_else(|| "imprint demo OS".into()),
            size_bytes: source_facts
                .as_ref()
                .and_then(|s| std::fs::File::open(&s.path).ok().and_then(|f| crate::disk::device_size(&f).ok()))
                .unwrap_or(0),
        };
        let pcrs = self.pcrs();
        let tpm = match self.opts.tpm2_device.parse::<crate::tpm::Device>() {
            Ok(dev) => {
                let mut st = crate::tpm::status(&dev, &pcrs, crate::tpm::PcrBank::Sha256);
                if st.problems.is_empty() {
                    st.check_policy(std::path::Path::new(crate::reset::efi::DEFAULT_EFIVARS), false);
                }
                TpmView {
                    usable: st.problems.is_empty(),
                    problem: (!st.problems.is_empty())
                        .then(|| st.problems.iter().map(|p| format!("{} {}", p.message, p.advice)).collect::<Vec<_>>().join(" ")),
                    warning: (!st.warnings.is_empty())
                        .then(|| st.warnings.iter().map(|p| format!("{} {}", p.message, p.advice)).collect::<Vec<_>>().join(" ")),
                }
            }
            Err(_) => TpmView { usable: false, problem: Some(format!("invalid TPM device {}", self.opts.tpm2_device)), warning: None },
        };
        InstallerFacts {
            keymaps: if keymaps.is_empty() { vec!["us".into()] } else { keymaps },
            default_keymap,
            source,
            tpm,
            pcrs,
            signed_policy,
            demo: self.opts.demo_target.is_some(),
        }
    }

    fn pcrs(&self) -> Vec<u32> {
        crate::install::definition_dirs(self.opts.profile.as_deref(), &self.opts.definitions, None)
            .ok()
            .and_then(|(_, enc)| enc.pcrs)
            .unwrap_or_else(|| vec![7])
    }

    /// The engine's request for these answers (`answers` None: the disk alone, for its verdict).
    pub fn request(&self, disk: &str, answers: Option<&InstallRequest>) -> install::Request {
        let (target_size, demo) = match &self.opts.demo_target {
            Some((p, size)) if p.as_path() == Path::new(disk) => (Some(*size), true),
            _ => (None, false),
        };
        let mut r = install::Request::new(disk);
        r.target_size = if demo && !Path::new(disk).exists() { target_size } else { None };
        r.source = Some(self.opts.source.clone());
        r.profile = self.opts.profile.clone();
        r.definitions = self.opts.definitions.clone();
        r.seed = self.opts.seed;
        // the person saw what is erased and typed the disk's name
        r.empty = EmptyMode::Force;
        r.verify = Verify::Readback;
        r.encryption.tpm2_device = self.opts.tpm2_device.clone();
        if let Some(a) = answers {
            r.encryption.mode = Some(match &a.encryption {
                EncryptionChoice::Tpm => EncryptionMode::Tpm2,
                EncryptionChoice::TpmPin(_) => EncryptionMode::Tpm2Pin,
                EncryptionChoice::Passphrase(_) => EncryptionMode::Passphrase,
                EncryptionChoice::None => EncryptionMode::Off,
            });
            r.encryption.recovery_key = Some(!matches!(a.encryption, EncryptionChoice::None));
            // the page offered the image's signed PCR 11 policy (or there is none to use)
            r.encryption.use_uki_key = a.signed_policy;
            r.firstboot.locale = Some(a.lang.locale().to_string());
            r.firstboot.keymap = Some(a.keymap.clone());
        }
        r
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
        let source = crate::install::source_facts(&self.opts.source).ok().map(|s| s.path);
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
        match install::plan_for(&self.request(disk, None), &install::Host::default()).map(|p| p.plan) {
            Ok(p) if p.loses_data() => Verdict::NeedsErase { what: p.destroys.clone() },
            Ok(_) => Verdict::Fits,
            Err(e) => match e.downcast_ref::<plan::PlanError>() {
                Some(plan::PlanError::TooSmall { needed, available, .. }) => Verdict::TooSmall { need: *needed, have: *available },
                _ => Verdict::NeedsErase { what: vec![format!("cannot plan: {}", crate::errtext::chain(e.as_ref()))] },
            },
        }
    }

    /// Prepares the install for the summary page's answers and keeps it.
    fn plan_view(&mut self, answers: &InstallRequest) -> Result<PlanView> {
        self.shown = None;
        let prepared = install::prepare(&self.request(&answers.disk, Some(answers)), &install::Host::default())?;
        let view = plan_view(&prepared);
        self.shown = Some((answers.clone(), prepared));
        Ok(view)
    }

    fn new_recovery_key(&mut self) -> RecoveryKeyView {
        let key = crate::luks::recovery::generate();
        let modules = crate::luks::recovery::qr_modules(&key);
        let text = zeroize::Zeroizing::new(String::from_utf8_lossy(key.expose()).into_owned());
        self.recovery_key = Some(key);
        RecoveryKeyView { text, qr: QrView { modules: modules.to_vec() } }
    }

    fn start(&mut self, req: InstallRequest, replies: &Replies<Msg>) {
        // confirmed = executed: the install is the plan the summary showed for these answers
        let prepared = match self.shown.take() {
            Some((shown, prepared)) if shown == req => prepared,
            _ => {
                replies.send(Msg::Failed(
                    "the answers changed after the summary was shown; nothing was written — go back to the summary to see the new plan"
                        .into(),
                ));
                return;
            }
        };
        let mut secrets = exec::encrypt::Secrets::default();
        match &req.encryption {
            EncryptionChoice::TpmPin(p) => secrets.pin = Some(Secret::new(p.as_bytes().to_vec())),
            EncryptionChoice::Passphrase(p) => secrets.passphrase = Some(Secret::new(p.as_bytes().to_vec())),
            EncryptionChoice::Tpm | EncryptionChoice::None => {}
        }
        if !matches!(req.encryption, EncryptionChoice::None) {
            secrets.recovery_key = self.recovery_key.as_ref().map(|k| Secret::new(k.expose().to_vec()));
        }
        secrets.pbkdf = Some(self.opts.pbkdf);
        let note = self.opts.note.clone();
        let answers_out = self.opts.answers_out.clone();
        let replies = replies.clone();
        self.worker = Some(std::thread::spawn(move || {
            let msg = match run_install(&prepared, &secrets, &replies, answers_out.as_deref()) {
                Ok(report) => Msg::Done(DoneView {
                    proof: proof_lines(&prepared.plan.target, report.proofs()),
                    note,
                    seed: Some(report.seed.to_string()),
                }),
                Err(e) => Msg::Failed(crate::errtext::chain(e.as_ref())),
            };
            replies.send(msg);
        }));
    }
}

/// The summary page's before/after rows for a prepared install.
pub fn plan_view(prepared: &Prepared) -> PlanView {
    let plan = &prepared.plan;
    let sector = u64::from(plan.sector_size);
    let before = match &prepared.target_content {
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
    PlanView { disk: plan.target.display().to_string(), before, after }
}

/// The done page's lines for the engine's proofs: the kind says what was checked (translated
/// by the page); the detail only names where — the disk, or the partition's label — so no
/// English reaches a German page. One data line per partition, however many ways it was checked.
pub fn proof_lines(target: &Path, proofs: &[Proof]) -> Vec<ProofLine> {
    let mut lines: Vec<ProofLine> = Vec::new();
    for p in proofs {
        let (kind, detail) = match p {
            Proof::TableMatches { .. } => (ProofKind::TableReadBack, target.display().to_string()),
            Proof::DataHashed { label, .. } | Proof::DataReadBack { label, .. } | Proof::Verity { label, .. } => {
                (ProofKind::DataVerified, label.clone())
            }
            Proof::TpmUnseals { label, .. } => (ProofKind::TpmUnseals, label.clone()),
            Proof::RecoveryKeyOpens { label, .. } => (ProofKind::RecoveryKeyOpens, label.clone()),
            Proof::PassphraseOpens { label, .. } => (ProofKind::PassphraseOpens, label.clone()),
        };
        if !lines.iter().any(|l| l.kind == kind && l.detail == detail) {
            lines.push(ProofLine { kind, ok: true, detail });
        }
    }
    lines
}

/// One install of a prepared plan, reporting through `replies`.
fn run_install(
    prepared: &Prepared,
    secrets: &exec::encrypt::Secrets,
    replies: &Replies<Msg>,
    answers_out: Option<&Path>,
) -> Result<install::Report> {
    let plan = &prepared.plan;
    let mut view = ProgressView { steps: steps_of(plan, prepared.request.verify), ..ProgressView::default() };
    replies.send(Msg::Progress(view.clone()));
    let mut sink = |e: &Event| {
        if let Some(line) = log_line(e) {
            replies.send(Msg::Log(line));
        }
        if update(&mut view, e) {
            replies.send(Msg::Progress(view.clone()));
        }
    };
    let report = install::perform(prepared, secrets, &exec::CANCEL, &mut sink)?;
    if let Some(path) = answers_out {
        std::fs::write(path, install::answers::to_ini(&prepared.request, plan.disk_guid))
            .with_context(|| format!("writing the answers to {}", path.display()))?;
    }
    Ok(report)
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
    if crate::boot::entries_to_fix(plan).is_some() {
        steps.push(step(StepKind::Boot, ""));
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
            Request::Plan(answers) => match self.plan_view(&answers) {
                Ok(v) => {
                    replies.send(Msg::Plan(v));
                }
                Err(e) => {
                    replies.send(Msg::Failed(crate::errtext::chain(e.as_ref())));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::term::{Backend, Input, channel_pair};
    use imprint_screens::Lang;

    fn wait(rx: &std::sync::mpsc::Receiver<Input<Msg>>) -> Msg {
        loop {
            match rx.recv_timeout(std::time::Duration::from_secs(120)).expect("an answer from the backend") {
                Input::Msg(Msg::Progress(_) | Msg::Log(_)) | Input::Key(_) | Input::Resize => {}
                Input::Lost(why) => panic!("lost: {why}"),
                Input::Msg(m) => return m,
            }
        }
    }

    /// Confirmed = executed: the rows the summary page showed are the partitions on the disk
    /// afterwards, and an install whose answers differ from the summary's is refused.
    #[test]
    fn the_install_performs_the_plan_the_summary_showed() {
        let dir = tempfile::tempdir().unwrap();
        let src = crate::demo::build_source_image(dir.path()).unwrap();
        let defs = dir.path().join("defs");
        std::fs::create_dir(&defs).unwrap();
        std::fs::write(defs.join("10-esp.conf"), "[Partition]\nType=esp\nCopyBlocks=auto\n").unwrap();
        std::fs::write(defs.join("20-usr.conf"), "[Partition]\nType=usr\nCopyBlocks=auto\n").unwrap();
        std::fs::write(defs.join("50-root.conf"), "[Partition]\nType=root\nFormat=ext4\nSizeMinBytes=64M\n").unwrap();
        let target = dir.path().join("t.img");
        let answers_out = dir.path().join("answers.conf");
        let mut backend = InstallerBackend::new(InstallerOptions {
            source: src.display().to_string(),
            profile: None,
            definitions: vec![defs],
            demo_target: Some((target.clone(), 1 << 30)),
            tpm2_device: "auto".into(),
            pbkdf: crate::luks::Pbkdf::Test,
            seed: None,
            note: None,
            answers_out: Some(answers_out.clone()),
        });
        let (replies, _tx, rx) = channel_pair();
        let answers = InstallRequest {
            lang: Lang::De,
            keymap: "de".into(),
            disk: target.display().to_string(),
            encryption: EncryptionChoice::None,
            signed_policy: false,
        };
        backend.handle(Request::Plan(answers.clone()), &replies);
        let Msg::Plan(shown) = wait(&rx) else { panic!("no plan") };

        // other answers than the summary's: refused, nothing written
        let other = InstallRequest { keymap: "us".into(), ..answers.clone() };
        backend.handle(Request::StartInstall(other), &replies);
        let Msg::Failed(why) = wait(&rx) else { panic!("an install with other answers ran") };
        assert!(why.contains("answers changed after the summary"), "{why}");
        assert!(!target.exists());

        backend.handle(Request::Plan(answers.clone()), &replies);
        let Msg::Plan(again) = wait(&rx) else { panic!("no plan") };
        assert_eq!(again, shown, "the same answers give the same rows");
        backend.handle(Request::StartInstall(answers), &replies);
        let Msg::Done(done) = wait(&rx) else { panic!("the install failed") };
        let table = crate::install::source_facts(&target.display().to_string()).unwrap();
        let on_disk: Vec<(u32, u64)> = table.partitions.iter().map(|p| (p.number, p.size(512))).collect();
        let summary: Vec<(u32, u64)> = again.after.iter().map(|r| (r.number, r.size_bytes)).collect();
        assert_eq!(on_disk, summary);
        assert!(done.proof.iter().any(|p| p.kind == ProofKind::TableReadBack));
        let seed = done.seed.as_deref().expect("the seed on the done page");
        assert_ne!(seed, crate::demo::DEMO_SEED.to_string());
        let saved = std::fs::read_to_string(&answers_out).unwrap();
        assert!(saved.contains(&format!("Seed={seed}")) && saved.contains("Locale=de_DE.UTF-8") && saved.contains("Keymap=de"), "{saved}");
        backend.handle(Request::Quit, &replies);
    }
}
