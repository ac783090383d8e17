//! The first-boot wizard's backend: facts from the target (its locales, keymaps, zones), the
//! questions credentials and flags already answer, and applying the answers with the same
//! functions `imprint firstboot` and `imprint user create` use.

use std::path::{Path, PathBuf};

use imprint_screens::firstboot::{
    Answered, ApplyStep, Firstboot, FirstbootFacts, FirstbootRequest, Msg, Request, RootChoice, SettingView, UserRequest,
};

use super::term::{Backend, Control, Replies};
use crate::firstboot::rootdir::RootDir;
use crate::firstboot::{Action, Answers, Change, FirstbootError, RootPassword, Setting, catalog};
use crate::homed::{self, NewUser, Storage};
use crate::secret::Secret;

pub struct FirstbootBackend {
    root: PathBuf,
    /// The same root, opened once: what the wizard reads from it is resolved inside it.
    dir: RootDir,
    /// Answers from flags and credentials; the wizard asks only what these leave open.
    given: Option<Answers>,
    /// `home.create.*` credentials create the first user (imprint-firstboot-user.service).
    creds_user: bool,
    scope: crate::firstboot::cli::Scope,
    force: bool,
    bus: bool,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl FirstbootBackend {
    pub fn new(
        root: &Path,
        given: Answers,
        scope: crate::firstboot::cli::Scope,
        creds_user: bool,
        force: bool,
        bus: bool,
    ) -> Result<Self, FirstbootError> {
        let dir =
            RootDir::open(root).map_err(|source| FirstbootError::Io { what: "opening the root", path: root.to_path_buf(), source })?;
        Ok(FirstbootBackend { root: root.to_path_buf(), dir, given: Some(given), creds_user, scope, force, bus, worker: None })
    }

    pub fn facts(&self) -> FirstbootFacts {
        use crate::firstboot::cli::Scope;
        let mut facts = self.facts_all();
        match self.scope {
            Scope::All => {}
            Scope::NoUser => facts.answered.user = true,
            Scope::UserOnly => facts.answered = Answered { user: false, ..Answered::ALL },
        }
        facts
    }

    fn facts_all(&self) -> FirstbootFacts {
        let g = self.given.as_ref();
        // As systemd-firstboot --prompt: a setting the system has is not asked for (unless --force).
        let has = |path: &str| !self.force && self.dir.symlink_metadata(path).is_ok();
        let read = |path: &str| self.dir.read_to_string(path).ok();
        let root_set =
            !self.force && crate::firstboot::passwd::root_configured(read("etc/passwd").as_deref(), read("etc/shadow").as_deref());
        FirstbootFacts {
            locales: catalog::locales(&self.dir),
            keymaps: catalog::keymaps(&self.dir),
            timezones: catalog::timezones(&self.dir).into_iter().map(|r| (r.region, r.zones)).collect(),
            suggested_hostname: suggested_hostname(&self.dir),
            homed_available: self.root == Path::new("/") && homed::homed_available(None),
            answered: Answered {
                locale: g.is_some_and(|a| a.locale.is_some() || a.locale_messages.is_some()) || has("etc/locale.conf"),
                keymap: g.is_some_and(|a| a.keymap.is_some()) || has("etc/vconsole.conf"),
                timezone: g.is_some_and(|a| a.timezone.is_some()) || has("etc/localtime"),
                hostname: g.is_some_and(|a| a.hostname.is_some()) || has("etc/hostname"),
                root_password: g.is_some_and(|a| a.root_password.is_some()) || root_set,
                user: self.creds_user,
            },
        }
    }

    fn start(&mut self, req: FirstbootRequest, replies: &Replies<Msg>) {
        let given = self.given.take().unwrap_or_default();
        let answers = Answers {
            locale: req.locale.clone(),
            locale_messages: None,
            keymap: req.keymap.clone(),
            timezone: req.timezone.clone(),
            hostname: req.hostname.clone(),
            root_password: match &req.root {
                RootChoice::Unchanged => None,
                // locked: no password hash matches "!*", as `passwd -l` leaves it
                RootChoice::Locked => Some(RootPassword::Hashed("!*".into())),
                RootChoice::Password(p) => Some(RootPassword::Plain(Secret::new(p.as_bytes().to_vec()))),
            },
            root_shell: None,
            machine_id: true,
        }
        .or(given);
        let (root, force, bus) = (self.root.clone(), self.force, self.bus);
        let user = req.user.clone();
        let replies = replies.clone();
        self.worker = Some(std::thread::spawn(move || {
            let msg = match apply(&root, &answers, force, bus, user.as_ref(), &replies) {
                Ok(lines) => Msg::Applied(lines),
                Err(e) => Msg::Failed(crate::errtext::chain(e.as_ref())),
            };
            replies.send(msg);
        }));
    }
}

fn apply(
    root: &Path,
    answers: &Answers,
    force: bool,
    bus: bool,
    user: Option<&UserRequest>,
    replies: &Replies<Msg>,
) -> anyhow::Result<Vec<ApplyStep>> {
    let daemons = if bus { crate::firstboot::bus::Daemons::connect(None).ok() } else { None };
    let via = daemons.as_ref().map(|d| crate::firstboot::Bus { daemons: d, required: false });
    let changes = crate::firstboot::apply_via(root, answers, force, via)?;
    let mut steps = Vec::new();
    for c in &changes {
        let step = step_of(c);
        replies.send(Msg::Step(step.clone()));
        steps.push(step);
    }
    if let Some(u) = user {
        let password = Secret::new(u.password.as_bytes().to_vec());
        let step = if u.classic {
            crate::homed::cli::classic_user(root, &u.name, Some(&u.real_name), u.admin, Some(&password))?;
            ApplyStep::UserClassic { name: u.name.clone() }
        } else {
            let nu = NewUser {
                name: u.name.clone(),
                real_name: Some(u.real_name.clone()).filter(|r| !r.is_empty()),
                password: Some(password),
                storage: Storage::default_for_system(),
                admin: u.admin,
            };
            homed::create_home(None, &nu)?;
            ApplyStep::UserHomed { name: nu.name.clone(), storage: nu.storage.as_str().to_string() }
        };
        replies.send(Msg::Step(step.clone()));
        steps.push(step);
    }
    Ok(steps)
}

/// The engine's change as the wizard's typed step (the wizard says it in its language).
fn step_of(c: &Change) -> ApplyStep {
    let setting = match c.setting {
        Setting::Locale => SettingView::Locale,
        Setting::Keymap => SettingView::Keymap,
        Setting::Timezone => SettingView::Timezone,
        Setting::Hostname => SettingView::Hostname,
        Setting::MachineId => SettingView::MachineId,
        Setting::RootAccount => SettingView::RootAccount,
        Setting::RootPassword => SettingView::RootPassword,
    };
    let file = c.path.to_string();
    match (c.action, c.via) {
        (Action::Written, None) => ApplyStep::Written { setting, file },
        (Action::Written, Some(d)) => ApplyStep::SetVia { setting, file, daemon: d.to_string() },
        (Action::Kept, _) => ApplyStep::Kept { setting, file },
    }
}

/// A host name to offer: the machine's model from DMI ("thinkpad-t14") with a short suffix of
/// the machine ID, else "linux" with the suffix.
fn suggested_hostname(root: &RootDir) -> String {
    let model = std::fs::read_to_string("/sys/class/dmi/id/product_name").unwrap_or_default();
    let mut base: String =
        model.trim().to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>();
    base = base.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    base.truncate(40);
    if base.is_empty() || !catalog::hostname_ok(&base) {
        base = "linux".into();
    }
    let id = root.read_to_string("etc/machine-id").unwrap_or_default();
    let suffix: String = id.trim().chars().take(4).collect();
    let name = if suffix.len() == 4 { format!("{}-{suffix}", base.trim_end_matches('-')) } else { base };
    if catalog::hostname_ok(&name) { name } else { "linux".into() }
}

impl Backend<Firstboot> for FirstbootBackend {
    fn handle(&mut self, request: Request, replies: &Replies<Msg>) -> Control {
        match request {
            Request::ApplyKeymap(k) => {
                if self.root == Path::new("/") && super::installer::on_linux_vt() {
                    let _ = std::process::Command::new("loadkeys").arg("-q").arg(&k).status();
                }
            }
            Request::Apply(req) => self.start(req, replies),
            Request::Quit => {
                if let Some(w) = self.worker.take() {
                    let _ = w.join();
                }
                return Control::Quit;
            }
        }
        Control::Continue
    }
}
