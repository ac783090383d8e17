//! The kiosk reset menu's backend. On the running machine, "factory reset" requests the reset
//! for the next boot (the EFI variables systemd reads) and the menu offers the reboot; for a disk
//! image (a device not running, the demo) it resets at once with `reset::perform`. Either way
//! with the same functions `imprint reset request` and `imprint reset now` use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use imprint_screens::reset::{Msg, Request, ResetFacts, ResetMenu, ResetStepView};

use super::term::{Backend, Control, Replies};
use crate::cli::ResetMenuArgs;
use crate::exec::{self, Event};
use crate::profile::{conf, repart};
use crate::reset::{self, ResetRequest, ResetStep, request};
use crate::secret::Secret;

pub struct ResetBackend {
    target: PathBuf,
    /// Reset the image at once (true), or request it for the next boot.
    now: bool,
    definitions: Vec<repart::PartitionDef>,
    spec: conf::ResetSpec,
    /// The profile's `[Encryption]`: partitions made anew are encrypted as an install would.
    encryption: conf::EncryptionSpec,
    tpm2_device: String,
    paths: request::Paths,
    /// The PIN gate (None: the menu was opened with --no-pin).
    gate: Option<reset::pin::PinGate>,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// The repart.d folders systemd-repart reads at boot, in its order of precedence.
const SYSTEM_DEFINITIONS: [&str; 3] = ["/etc/repart.d", "/run/repart.d", "/usr/lib/repart.d"];

impl ResetBackend {
    pub fn new(a: &ResetMenuArgs) -> Result<ResetBackend> {
        let no_profile = || (conf::ResetSpec { show_menu: true, pin: None }, conf::EncryptionSpec::default());
        let (dirs, (spec, encryption)) = match &a.profile {
            Some(p) => {
                let dir = conf::find_profile(p, &crate::install::profile_search_path())?;
                let spec = conf::load_profile(&dir)?;
                let mut dirs = vec![spec.definitions_dir.clone()];
                dirs.extend(a.definitions.iter().cloned());
                (dirs, (spec.reset, spec.encryption))
            }
            None if !a.definitions.is_empty() => (a.definitions.clone(), no_profile()),
            None => (SYSTEM_DEFINITIONS.iter().map(PathBuf::from).filter(|d| d.is_dir()).collect(), no_profile()),
        };
        anyhow::ensure!(
            spec.show_menu,
            "the profile's [Reset] section does not offer the menu (ShowMenu=no); use `imprint reset request` or `imprint reset now`"
        );
        anyhow::ensure!(!dirs.is_empty(), "no repart.d definitions: give --profile or --definitions");
        let gate = match (&spec.pin, a.no_pin) {
            (Some(hash), _) => Some(reset::pin::PinGate::new(hash.clone(), &a.pin_state)),
            (None, true) => None,
            (None, false) => anyhow::bail!(
                "the reset menu opens only behind a PIN: give --profile with a profile whose [Reset] section has PIN= (the \
                 yescrypt hash of `mkpasswd -m yescrypt`), or --no-pin to let anyone at this keyboard reset the machine"
            ),
        };
        let definitions = repart::load_definitions(&dirs)?;
        let (target, now) = match &a.image {
            Some(i) => (i.clone(), true),
            None => (crate::install::source_facts("auto").context("finding the disk this system runs from")?.path, false),
        };
        let paths = request::Paths { efivars: a.efivars.clone(), root: a.root.clone(), ..request::Paths::default() };
        Ok(ResetBackend { target, now, definitions, spec, encryption, tpm2_device: a.tpm2_device.clone(), paths, gate, worker: None })
    }

    pub fn facts(&self) -> ResetFacts {
        let os = request::os_release(&self.paths.root).unwrap_or_default();
        let info = reset::info_for(&self.target, self.definitions.clone(), &self.paths.root);
        let (disk, last_reset, erase, keep) = match info {
            Ok(i) => (i.disk, i.last_reset, i.erase, i.keep),
            Err(e) => (self.target.display().to_string(), None, vec![format!("cannot plan the reset: {e}")], vec![]),
        };
        ResetFacts {
            os_name: os.pretty_name().unwrap_or_default().to_string(),
            os_version: os.value("IMAGE_VERSION").or_else(|| os.value("VERSION_ID")).unwrap_or_default().to_string(),
            disk,
            last_reset,
            erase,
            keep,
            pin_required: self.spec.pin.is_some(),
        }
    }

    fn start(&mut self, replies: &Replies<Msg>) {
        let replies = replies.clone();
        let (target, now, paths) = (self.target.clone(), self.now, self.paths.clone());
        let (definitions, encryption, tpm2_device) = (self.definitions.clone(), self.encryption.clone(), self.tpm2_device.clone());
        self.worker = Some(std::thread::spawn(move || {
            let result =
                if now { reset_now(&target, definitions, &encryption, &tpm2_device, &replies) } else { request_reset(&paths, &replies) };
            replies.send(match result {
                Ok(()) => Msg::Done,
                Err(e) => Msg::Failed(crate::errtext::chain(e.as_ref())),
            });
        }));
    }
}

fn request_reset(paths: &request::Paths, replies: &Replies<Msg>) -> Result<()> {
    let done = request::request(paths, false)?;
    replies.send(Msg::Step(ResetStepView::Requested { variable: request::REQUEST_VAR.to_string(), value: done.request.clone() }));
    replies.send(Msg::Step(ResetStepView::RestartToReset));
    Ok(())
}

fn reset_now(
    target: &Path,
    mut definitions: Vec<repart::PartitionDef>,
    encryption: &conf::EncryptionSpec,
    tpm2_device: &str,
    replies: &Replies<Msg>,
) -> Result<()> {
    crate::install::check_target(target, None)?;
    // Encrypted as the definitions (Encrypt=) and the profile ([Encryption]) say, with the same
    // decision an install and `imprint reset now` make.
    let request = crate::install::EncryptionRequest { tpm2_device: tpm2_device.to_string(), ..Default::default() };
    let encryption = crate::install::encryption_plan(&request, encryption, &mut definitions);
    let req = ResetRequest {
        target: target.to_path_buf(),
        definitions,
        seed: uuid::Uuid::new_v4(),
        force: false,
        source: None,
        copy_file_sizes: BTreeMap::new(),
        encryption,
    };
    let plan = reset::prepare(&req)?;
    // Refusals before anything is erased.
    menu_can_unlock(&plan.plan)?;
    // (the kiosk re-creates what its profile decided at install; a weak policy was said then)
    crate::install::facts::check_encryption_ready(&plan.plan, Path::new(crate::reset::efi::DEFAULT_EFIVARS))?;
    let secrets = exec::encrypt::Secrets::default();
    let opts = reset::PerformOptions {
        cancel: &exec::CANCEL,
        verify: exec::Verify::Stream,
        fill_free: exec::FillFree::Off,
        secrets: &secrets,
        pbkdf: crate::luks::Pbkdf::Systemd,
        esp_log: true,
    };
    let report = reset::perform(&plan, &opts, &mut |e: &Event| {
        if let Event::StepStarted { name, description, .. } = e {
            match plan.step(name) {
                Some(step) => {
                    replies.send(Msg::Step(step_view(step)));
                }
                // a step this version does not know: not shown rather than shown in English
                None => eprintln!("reset step {name} has no typed form: {description}"),
            }
        }
    })?;
    if let Some(line) = report.log_line {
        replies.send(Msg::Step(ResetStepView::Logged { line }));
    }
    Ok(())
}

/// The menu asks nobody for a passphrase or PIN and has no page to hand a recovery key over, so a
/// re-created partition that needs one is refused (before anything is erased) with what to do.
fn menu_can_unlock(plan: &crate::plan::Plan) -> Result<()> {
    use crate::plan::Unlock;
    for p in &plan.partitions {
        let Some(luks) = &p.luks else { continue };
        for u in &luks.unlock {
            let (what, fix) = match u {
                Unlock::Tpm2 => continue,
                Unlock::Passphrase => ("a passphrase", "Encrypt=tpm2 in its definition, or [Encryption] Mode=tpm2 in the profile"),
                Unlock::Tpm2Pin => ("a PIN", "[Encryption] Mode=tpm2 in the profile"),
                Unlock::RecoveryKey => ("a recovery key", "RecoveryKey=no in the profile's [Encryption] section"),
            };
            anyhow::bail!(
                "partition {} ({}) would be encrypted with {what}, which the reset menu cannot ask for or show; set {fix}, \
                 or reset with `imprint reset now` and its encryption options. Nothing was erased",
                p.number,
                p.label
            );
        }
    }
    Ok(())
}

/// The engine's step as the menu's typed step (the menu says it in its language).
pub(crate) fn step_view(step: ResetStep) -> ResetStepView {
    match step {
        ResetStep::Erase { number, label, size } => ResetStepView::Erase { number, label, size },
        ResetStep::TableWithout { left } => ResetStepView::TableWithout { left },
        ResetStep::Wipe => ResetStepView::Wipe,
        ResetStep::Clear { number, label, encrypted } => ResetStepView::Clear { number, label, encrypted },
        ResetStep::Format { number, label, fs, encrypted } => ResetStepView::Format { number, label, fs, encrypted },
        ResetStep::Copy { number, label, size, encrypted } => ResetStepView::Copy { number, label, size, encrypted },
        ResetStep::Table { partitions } => ResetStepView::Table { partitions },
        ResetStep::Verify => ResetStepView::Verify,
        ResetStep::Boot => ResetStepView::Boot,
        ResetStep::Prove => ResetStepView::Prove,
        ResetStep::EspLog => ResetStepView::EspLog,
    }
}

impl Backend<ResetMenu> for ResetBackend {
    fn handle(&mut self, request: Request, replies: &Replies<Msg>) -> Control {
        match request {
            Request::CheckPin(pin) => {
                use reset::pin::PinVerdict;
                let verdict = match &self.gate {
                    Some(g) => g.check(&Secret::new(pin.as_bytes().to_vec()), std::time::SystemTime::now()),
                    None => Ok(PinVerdict::Right),
                };
                match verdict {
                    Ok(PinVerdict::Right) => {
                        replies.send(Msg::PinResult(true));
                    }
                    Ok(PinVerdict::Wrong { wait_secs, .. }) => {
                        replies.send(Msg::PinResult(false));
                        if wait_secs > 0 {
                            replies.send(Msg::PinWait(wait_secs));
                        }
                    }
                    Ok(PinVerdict::Wait { secs }) => {
                        replies.send(Msg::PinWait(secs));
                    }
                    // the count cannot be kept: no PIN is checked at all
                    Err(e) => {
                        replies.send(Msg::Failed(format!("the wrong-PIN count cannot be kept ({e}); the menu stays locked")));
                    }
                }
            }
            Request::FactoryReset => self.start(replies),
            Request::Reboot | Request::PowerOff if !self.now => {
                let verb = if matches!(request, Request::Reboot) { "reboot" } else { "poweroff" };
                let _ = std::process::Command::new("systemctl").arg(verb).status();
                return Control::Quit;
            }
            Request::Reboot | Request::PowerOff | Request::Quit => {
                if let Some(w) = self.worker.take() {
                    let _ = w.join();
                }
                return Control::Quit;
            }
        }
        Control::Continue
    }
}
