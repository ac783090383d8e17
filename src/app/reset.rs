//! The kiosk reset menu's backend. On the running machine, "factory reset" requests the reset
//! for the next boot (the EFI variables systemd reads) and the menu offers the reboot; for a disk
//! image (a device not running, the demo) it resets at once with `reset::perform`. Either way
//! with the same functions `imprint reset request` and `imprint reset now` use.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use imprint_screens::reset::{Msg, Request, ResetFacts, ResetMenu};

use super::term::{Backend, Control, Replies};
use crate::cli::ResetMenuArgs;
use crate::exec::{self, Event};
use crate::profile::{conf, repart};
use crate::reset::{self, ResetRequest, request};
use crate::secret::Secret;

pub struct ResetBackend {
    target: PathBuf,
    /// Reset the image at once (true), or request it for the next boot.
    now: bool,
    definitions: Vec<repart::PartitionDef>,
    spec: conf::ResetSpec,
    paths: request::Paths,
    worker: Option<std::thread::JoinHandle<()>>,
}

/// The repart.d folders systemd-repart reads at boot, in its order of precedence.
const SYSTEM_DEFINITIONS: [&str; 3] = ["/etc/repart.d", "/run/repart.d", "/usr/lib/repart.d"];

impl ResetBackend {
    pub fn new(a: &ResetMenuArgs) -> Result<ResetBackend> {
        let (dirs, spec) = match &a.profile {
            Some(p) => {
                let dir = conf::find_profile(p, &crate::cmd::profile_search_path())?;
                let spec = conf::load_profile(&dir)?;
                let mut dirs = vec![spec.definitions_dir.clone()];
                dirs.extend(a.definitions.iter().cloned());
                (dirs, spec.reset)
            }
            None if !a.definitions.is_empty() => (a.definitions.clone(), conf::ResetSpec { show_menu: true, pin: None }),
            None => (
                SYSTEM_DEFINITIONS.iter().map(PathBuf::from).filter(|d| d.is_dir()).collect(),
                conf::ResetSpec { show_menu: true, pin: None },
            ),
        };
        anyhow::ensure!(
            spec.show_menu,
            "the profile's [Reset] section does not offer the menu (ShowMenu=no); use `imprint reset request` or `imprint reset now`"
        );
        anyhow::ensure!(!dirs.is_empty(), "no repart.d definitions: give --profile or --definitions");
        let definitions = repart::load_definitions(&dirs)?;
        let (target, now) = match &a.image {
            Some(i) => (i.clone(), true),
            None => (crate::cmd::source_facts("auto").context("finding the disk this system runs from")?.path, false),
        };
        let paths = request::Paths { efivars: a.efivars.clone(), root: a.root.clone(), ..request::Paths::default() };
        Ok(ResetBackend { target, now, definitions, spec, paths, worker: None })
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
        let definitions = self.definitions.clone();
        self.worker = Some(std::thread::spawn(move || {
            let result = if now { reset_now(&target, definitions, &replies) } else { request_reset(&paths, &replies) };
            replies.send(match result {
                Ok(()) => Msg::Done,
                Err(e) => Msg::Failed(crate::errtext::chain(e.as_ref())),
            });
        }));
    }
}

fn request_reset(paths: &request::Paths, replies: &Replies<Msg>) -> Result<()> {
    let done = request::request(paths, false)?;
    replies.send(Msg::Step(format!("requested: {} = {}", request::REQUEST_VAR, done.request)));
    replies.send(Msg::Step("the next boot erases the state and user data; restart now to do it".into()));
    Ok(())
}

fn reset_now(target: &Path, definitions: Vec<repart::PartitionDef>, replies: &Replies<Msg>) -> Result<()> {
    crate::cmd::check_target(target, None)?;
    let req = ResetRequest {
        target: target.to_path_buf(),
        definitions,
        seed: uuid::Uuid::new_v4(),
        force: false,
        source: None,
        copy_file_sizes: BTreeMap::new(),
        encryption: None,
    };
    let plan = reset::prepare(&req)?;
    let secrets = exec::encrypt::Secrets::default();
    let opts = reset::PerformOptions {
        cancel: &exec::CANCEL,
        verify: exec::Verify::Stream,
        secrets: &secrets,
        pbkdf: crate::luks::Pbkdf::Systemd,
        esp_log: true,
    };
    let report = reset::perform(&plan, &opts, &mut |e: &Event| {
        if let Event::StepStarted { step, steps, description, .. } = e {
            replies.send(Msg::Step(format!("[{step}/{steps}] {description}")));
        }
    })?;
    if let Some(l) = report.log_line {
        replies.send(Msg::Step(format!("logged on the ESP: {l}")));
    }
    Ok(())
}

impl Backend<ResetMenu> for ResetBackend {
    fn handle(&mut self, request: Request, replies: &Replies<Msg>) -> Control {
        match request {
            Request::CheckPin(pin) => {
                let ok = reset::verify_pin(&self.spec, &Secret::new(pin.as_bytes().to_vec()));
                replies.send(Msg::PinResult(ok));
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
