//! First-boot settings applied to a root directory, with the files, formats, modes and symlink
//! targets upstream systemd-firstboot writes: /etc/locale.conf, /etc/vconsole.conf, /etc/localtime,
//! /etc/hostname, /etc/machine-id and root's lines in /etc/passwd and /etc/shadow.
//!
//! Every answer is checked against the target (its locales, keymaps, zoneinfo, shells) before
//! anything is written, so a bad value leaves the root as it was. Existing settings are kept unless
//! `force`. Files are replaced atomically (temporary file in the same folder, then rename). Every
//! path under the root, read or written, is resolved inside it ([`rootdir`]), so links in the
//! target cannot lead out of it. A
//! plaintext root password exists only as a [`Secret`] and leaves this module only as a crypt hash.
//! On a running system, [`apply_via`] hands locale, keymap, time zone and host name to
//! systemd-localed, -timedated and -hostnamed instead ([`bus`]). This module does not prompt.

pub mod bus;
pub mod catalog;
pub mod cli;
pub mod creds;
pub mod crypt;
pub mod passwd;
pub mod rootdir;

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::secret::Secret;
use rootdir::RootDir;

#[derive(Debug, thiserror::Error)]
pub enum FirstbootError {
    #[error("locale {0:?} is not a valid locale name")]
    LocaleSyntax(String),
    #[error("locale {0:?} is not available in the target (neither in its locale archive, usr/lib/locale nor usr/share/i18n/SUPPORTED)")]
    LocaleUnavailable(String),
    #[error("keymap {0:?} is not a valid keymap name")]
    KeymapSyntax(String),
    #[error("keymap {0:?} is not among the target's kbd keymaps")]
    KeymapUnknown(String),
    #[error("time zone {0:?} is not in the target's usr/share/zoneinfo")]
    TimezoneUnknown(String),
    #[error("host name {0:?} is not valid (letters, digits, '-' and '_' in dot-separated labels, at most 64 characters)")]
    HostnameInvalid(String),
    #[error("root shell {0:?} is not an absolute path to an executable in the target")]
    ShellInvalid(String),
    #[error("the hashed root password is not a crypt(3) hash (empty, or contains ':' or a newline)")]
    HashInvalid,
    #[error("reading credential {name}")]
    Credential {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("credential {0} is not UTF-8 text")]
    CredentialNotText(String),
    #[error("reading root password file {}", path.display())]
    PasswordFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("hashing the root password: {0}")]
    Crypt(String),
    #[error(transparent)]
    Bus(#[from] bus::BusError),
    #[error("{what} {path} in {}", root.display())]
    InRoot {
        what: &'static str,
        /// The path as inside the root, without its leading '/'.
        path: String,
        root: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials folder {}: {why}", path.display())]
    CredentialsFolder { path: PathBuf, why: String },
    #[error("{what} {}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The root password as given.
#[derive(Debug)]
pub enum RootPassword {
    /// A crypt(3) hash, written as is.
    Hashed(String),
    /// A plaintext password, hashed (yescrypt or SHA-512-crypt) before it is written.
    Plain(Secret),
}

/// The answers for a first boot; `None` leaves that setting alone.
#[derive(Debug, Default)]
pub struct Answers {
    pub locale: Option<String>,
    pub locale_messages: Option<String>,
    pub keymap: Option<String>,
    pub timezone: Option<String>,
    pub hostname: Option<String>,
    pub root_password: Option<RootPassword>,
    pub root_shell: Option<String>,
    /// Write a random /etc/machine-id when the target has none.
    pub machine_id: bool,
}

impl Answers {
    /// These answers, with gaps filled from `other` (credentials), as systemd-firstboot does: the
    /// locale pair comes from `other` only when neither locale was given here.
    pub fn or(self, other: Answers) -> Answers {
        let (locale, locale_messages) = if self.locale.is_some() || self.locale_messages.is_some() {
            (self.locale, self.locale_messages)
        } else {
            (other.locale, other.locale_messages)
        };
        Answers {
            locale,
            locale_messages,
            keymap: self.keymap.or(other.keymap),
            timezone: self.timezone.or(other.timezone),
            hostname: self.hostname.or(other.hostname),
            root_password: self.root_password.or(other.root_password),
            root_shell: self.root_shell.or(other.root_shell),
            machine_id: self.machine_id || other.machine_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Written,
    /// It existed and `force` was not given.
    Kept,
}

/// What a first-boot step sets: front-ends say it in their own words (the TUI translates it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Setting {
    Locale,
    Keymap,
    Timezone,
    Hostname,
    MachineId,
    /// root's entry in /etc/passwd (its shell).
    RootAccount,
    /// root's password hash in /etc/shadow.
    RootPassword,
}

impl Setting {
    /// The file that holds it, as inside the target.
    pub fn path(self) -> &'static str {
        match self {
            Setting::Locale => "/etc/locale.conf",
            Setting::Keymap => "/etc/vconsole.conf",
            Setting::Timezone => "/etc/localtime",
            Setting::Hostname => "/etc/hostname",
            Setting::MachineId => "/etc/machine-id",
            Setting::RootAccount => "/etc/passwd",
            Setting::RootPassword => "/etc/shadow",
        }
    }
}

/// What happened to one setting, and its file named as inside the target ("/etc/hostname").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub setting: Setting,
    pub path: &'static str,
    pub action: Action,
    /// The daemon that made the change (its bus name); `None`: imprint wrote the file itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<&'static str>,
}

impl Change {
    fn file(setting: Setting, action: Action) -> Change {
        Change { setting, path: setting.path(), action, via: None }
    }
}

/// Settings go through systemd's daemons on the bus.
pub struct Bus<'a> {
    pub daemons: &'a bus::Daemons,
    /// A daemon that does not answer is an error; otherwise its settings are written as files.
    pub required: bool,
}

/// Answers checked against the target; the root password already hashed.
struct Checked<'a> {
    locale: Option<&'a str>,
    locale_messages: Option<&'a str>,
    keymap: Option<&'a str>,
    timezone: Option<&'a str>,
    hostname: Option<&'a str>,
    root_hash: Option<String>,
    root_shell: Option<&'a str>,
}

fn check<'a>(root: &RootDir, a: &'a Answers) -> Result<Checked<'a>, FirstbootError> {
    for l in [&a.locale, &a.locale_messages].into_iter().flatten() {
        if !catalog::locale_syntax_ok(l) {
            return Err(FirstbootError::LocaleSyntax(l.clone()));
        }
        if !catalog::locale_available(root, l) {
            return Err(FirstbootError::LocaleUnavailable(l.clone()));
        }
    }
    if let Some(k) = &a.keymap {
        if !catalog::keymap_syntax_ok(k) {
            return Err(FirstbootError::KeymapSyntax(k.clone()));
        }
        if !catalog::keymaps(root).contains(k) {
            return Err(FirstbootError::KeymapUnknown(k.clone()));
        }
    }
    if let Some(t) = &a.timezone
        && !catalog::timezone_available(root, t)
    {
        return Err(FirstbootError::TimezoneUnknown(t.clone()));
    }
    if let Some(h) = &a.hostname
        && !catalog::hostname_ok(h)
    {
        return Err(FirstbootError::HostnameInvalid(h.clone()));
    }
    if let Some(s) = &a.root_shell
        && !catalog::shell_ok(root, s)
    {
        return Err(FirstbootError::ShellInvalid(s.clone()));
    }
    let root_hash = match &a.root_password {
        None => None,
        Some(RootPassword::Hashed(h)) => {
            if h.is_empty() || h.contains([':', '\n']) || h.chars().any(char::is_control) {
                return Err(FirstbootError::HashInvalid);
            }
            Some(h.clone())
        }
        Some(RootPassword::Plain(p)) => Some(crypt::hash_password(p)?),
    };
    Ok(Checked {
        locale: a.locale.as_deref(),
        locale_messages: a.locale_messages.as_deref(),
        keymap: a.keymap.as_deref(),
        timezone: a.timezone.as_deref(),
        hostname: a.hostname.as_deref(),
        root_hash,
        root_shell: a.root_shell.as_deref(),
    })
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FirstbootError {
    let path = path.to_path_buf();
    move |source| FirstbootError::Io { what, path, source }
}

/// An error about `rel` under `root`, named as "etc/shadow in /path/root".
fn at(root: &RootDir, what: &'static str, rel: &str) -> impl FnOnce(std::io::Error) -> FirstbootError {
    let (path, root) = (rel.to_string(), root.path().to_path_buf());
    move |source| FirstbootError::InRoot { what, path, root, source }
}

fn exists(root: &RootDir, rel: &str) -> Result<bool, FirstbootError> {
    root.exists(rel).map_err(at(root, "looking up", rel))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's text, mode and (uid, gid).
type Existing = (String, u32, (u32, u32));

/// A file under the root (resolved inside it), if there is one.
fn read_optional(root: &RootDir, rel: &str) -> Result<Option<Existing>, FirstbootError> {
    match root.read(rel) {
        Ok((bytes, meta)) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| at(root, "reading", rel)(std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")))?;
            Ok(Some((text, meta.mode() & 0o7777, (meta.uid(), meta.gid()))))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(at(root, "reading", rel)(e)),
    }
}

/// The target's `etc`, opened inside the root once it is needed (and made, 0755, if missing).
struct Etc<'a> {
    root: &'a RootDir,
    dir: Option<rootdir::Folder>,
}

impl<'a> Etc<'a> {
    fn new(root: &'a RootDir) -> Self {
        Etc { root, dir: None }
    }

    fn get(&mut self) -> Result<&rootdir::Folder, FirstbootError> {
        if self.dir.is_none() {
            self.dir = Some(open_etc(self.root)?);
        }
        Ok(self.dir.as_ref().expect("just set"))
    }
}

fn open_etc(root: &RootDir) -> Result<rootdir::Folder, FirstbootError> {
    match root.folder("etc") {
        Ok(d) => return Ok(d),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(at(root, "opening the folder", "etc")(e)),
        Err(_) => {}
    }
    // Missing: made, unless a link stands there that leads nowhere inside the root.
    if let Ok(target) = root.read_link("etc") {
        return Err(at(root, "opening the folder", "etc")(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("it is a symbolic link to {}, which leads to no folder inside the root", target.display()),
        )));
    }
    root.create_folder("etc", 0o755).map_err(at(root, "creating the folder", "etc"))?;
    root.folder("etc").map_err(at(root, "opening the folder", "etc"))
}

/// Replaces `etc/<name>` atomically with `bytes`, mode `mode`, owner `owner` (uid, gid) when given.
fn write_atomic(
    root: &RootDir,
    etc: &rootdir::Folder,
    name: &str,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
) -> Result<(), FirstbootError> {
    etc.replace_file(name, bytes, mode, owner).map_err(at(root, "replacing", &format!("etc/{name}")))
}

/// Takes etc/.pwd.lock (mode 0600) in the target, as shadow-utils and systemd do; held while the
/// returned file is open.
fn lock_passwd(root: &RootDir, etc: &rootdir::Folder) -> Result<File, FirstbootError> {
    etc.lock(".pwd.lock").map_err(at(root, "locking", "etc/.pwd.lock"))
}

fn days_since_epoch() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86400).unwrap_or(0)
}

/// Applies `answers` to the system under `root`. Checks everything first; writes nothing if any
/// answer is bad. Existing files are kept unless `force` (the machine-id is never replaced).
pub fn apply(root: &Path, answers: &Answers, force: bool) -> Result<Vec<Change>, FirstbootError> {
    apply_via(root, answers, force, None)
}

/// [`apply`], with locale, keymap, time zone and host name handed to systemd's daemons when `bus`
/// is given (the root must then be the running system's). A setting counts as existing when the
/// daemon reports one (the time zone: when /etc/localtime exists, as timedated reports a default).
/// Root's account and the machine-id are always files: no daemon owns them. Every path under
/// `root` is resolved inside it ([`rootdir`]): links in the target never lead a read or a write
/// out of it.
pub fn apply_via(root: &Path, answers: &Answers, force: bool, bus: Option<Bus<'_>>) -> Result<Vec<Change>, FirstbootError> {
    let root = RootDir::open(root).map_err(io("opening the root", root))?;
    let root = &root;
    let c = check(root, answers)?;
    let mut etc = Etc::new(root);
    let mut changes = Vec::new();
    // Which daemons take their settings; the others' settings become files.
    let daemon = |d: bus::Daemon| -> Result<Option<&bus::Daemons>, FirstbootError> {
        let Some(b) = &bus else { return Ok(None) };
        match b.daemons.ping(d) {
            Ok(()) => Ok(Some(b.daemons)),
            Err(e) if b.required => Err(e.into()),
            Err(_) => Ok(None),
        }
    };

    // Upstream's order (252): locale, keymap, timezone, hostname, machine-id, root.
    type Write<'w> = dyn FnMut(&rootdir::Folder, &str) -> Result<(), FirstbootError> + 'w;
    let mut step = |setting: Setting, write: &mut Write<'_>| -> Result<(), FirstbootError> {
        let rel = &setting.path()[1..];
        if exists(root, rel)? && !force {
            changes.push(Change::file(setting, Action::Kept));
            return Ok(());
        }
        let name = rel.strip_prefix("etc/").expect("a file in /etc");
        write(etc.get()?, name)?;
        changes.push(Change::file(setting, Action::Written));
        Ok(())
    };
    let mut bus_changes = Vec::new();
    let mut through = |d: bus::Daemon, setting: Setting, existing: bool, set: &dyn Fn() -> Result<(), bus::BusError>| {
        let action = if existing && !force { Action::Kept } else { Action::Written };
        if action == Action::Written {
            set()?;
        }
        bus_changes.push(Change { setting, path: setting.path(), action, via: Some(d.name()) });
        Ok::<(), FirstbootError>(())
    };

    let messages = c.locale_messages.filter(|m| Some(*m) != c.locale);
    let locale_lines: Vec<String> =
        c.locale.map(|l| format!("LANG={l}")).into_iter().chain(messages.map(|m| format!("LC_MESSAGES={m}"))).collect();
    let locale_bus = if locale_lines.is_empty() && c.keymap.is_none() { None } else { daemon(bus::Daemon::Locale)? };
    if !locale_lines.is_empty() {
        if let Some(d) = locale_bus {
            let existing = !d.locale()?.is_empty();
            through(bus::Daemon::Locale, Setting::Locale, existing, &|| d.set_locale(&locale_lines))?;
        } else {
            let text: String = locale_lines.iter().map(|l| format!("{l}\n")).collect();
            step(Setting::Locale, &mut |dir, name| write_atomic(root, dir, name, text.as_bytes(), 0o644, None))?;
        }
    }
    if let Some(k) = c.keymap {
        if let Some(d) = locale_bus {
            let existing = !d.keymap()?.is_empty();
            through(bus::Daemon::Locale, Setting::Keymap, existing, &|| d.set_keymap(k))?;
        } else {
            step(Setting::Keymap, &mut |dir, name| write_atomic(root, dir, name, format!("KEYMAP={k}\n").as_bytes(), 0o644, None))?;
        }
    }
    if let Some(t) = c.timezone {
        if let Some(d) = daemon(bus::Daemon::Time)? {
            through(bus::Daemon::Time, Setting::Timezone, exists(root, "etc/localtime")?, &|| d.set_timezone(t))?;
        } else {
            step(Setting::Timezone, &mut |dir, name| {
                dir.replace_symlink(&format!("../usr/share/zoneinfo/{t}"), name).map_err(at(root, "replacing", "etc/localtime"))
            })?;
        }
    }
    if let Some(h) = c.hostname {
        if let Some(d) = daemon(bus::Daemon::Host)? {
            let existing = !d.static_hostname()?.is_empty();
            through(bus::Daemon::Host, Setting::Hostname, existing, &|| d.set_static_hostname(h))?;
        } else {
            step(Setting::Hostname, &mut |dir, name| write_atomic(root, dir, name, format!("{h}\n").as_bytes(), 0o644, None))?;
        }
    }
    changes.extend(bus_changes);
    if answers.machine_id {
        if exists(root, "etc/machine-id")? {
            changes.push(Change::file(Setting::MachineId, Action::Kept));
        } else {
            let id = Secret::random(16).map_err(at(root, "reading random bytes for", "etc/machine-id"))?;
            let text = format!("{}\n", hex(id.expose()));
            write_atomic(root, etc.get()?, "machine-id", text.as_bytes(), 0o644, None)?;
            changes.push(Change::file(Setting::MachineId, Action::Written));
        }
    }
    if c.root_hash.is_some() || c.root_shell.is_some() {
        changes.extend(apply_root(root, &c, force, &mut etc)?);
    }
    Ok(changes)
}

fn apply_root(root: &RootDir, c: &Checked<'_>, force: bool, etc: &mut Etc<'_>) -> Result<Vec<Change>, FirstbootError> {
    let passwd = read_optional(root, "etc/passwd")?;
    let shadow = read_optional(root, "etc/shadow")?;
    let configured = passwd::root_configured(passwd.as_ref().map(|p| p.0.as_str()), shadow.as_ref().map(|s| s.0.as_str()));
    if configured && !force {
        let mut kept = vec![Change::file(Setting::RootAccount, Action::Kept)];
        if c.root_hash.is_some() {
            kept.push(Change::file(Setting::RootPassword, Action::Kept));
        }
        return Ok(kept);
    }
    let dir = etc.get()?;
    let _lock = lock_passwd(root, dir)?;
    // Read again under the lock.
    let passwd = read_optional(root, "etc/passwd")?;
    let shadow = read_optional(root, "etc/shadow")?;
    let default_shell = if catalog::shell_ok(root, "/bin/bash") { "/bin/bash" } else { "/bin/sh" };
    let mut changes = Vec::new();
    if let Some(hash) = &c.root_hash {
        let (text, mode, owner) = shadow.map(|(t, m, o)| (t, m, Some(o))).unwrap_or((String::new(), 0o000, None));
        write_atomic(root, dir, "shadow", passwd::edit_shadow(&text, hash, days_since_epoch()).as_bytes(), mode, owner)?;
        changes.push(Change::file(Setting::RootPassword, Action::Written));
    }
    let (text, mode, owner) = passwd.map(|(t, m, o)| (t, m, Some(o))).unwrap_or((String::new(), 0o644, None));
    write_atomic(root, dir, "passwd", passwd::edit_passwd(&text, c.root_shell, default_shell).as_bytes(), mode, owner)?;
    changes.insert(0, Change::file(Setting::RootAccount, Action::Written));
    Ok(changes)
}
