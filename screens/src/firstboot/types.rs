//! The first-boot wizard's facts, requests and messages: everything the app and the wizard
//! exchange. Passwords are [`Zeroizing`] strings and never appear in Debug output.

use std::fmt;

use zeroize::Zeroizing;

use crate::i18n::Lang;

/// What the app knows before the wizard starts (lists from the target system, and which questions
/// credentials already answer).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FirstbootFacts {
    /// Locales available on the system (e.g. `en_US.UTF-8`, `de_DE.UTF-8`).
    pub locales: Vec<String>,
    /// Console keymaps available on the system (e.g. `us`, `de-latin1-nodeadkeys`).
    pub keymaps: Vec<String>,
    /// Time zones grouped by region: the region's name ("Europe") and its zones as full names
    /// ("Europe/Berlin").
    pub timezones: Vec<(String, Vec<String>)>,
    /// A host name suggested from the machine (shown ready to accept).
    pub suggested_hostname: String,
    /// Whether systemd-homed answers, so the first user can be created through it.
    pub homed_available: bool,
    /// Which questions credentials already answer (their pages are skipped).
    pub answered: Answered,
}

/// Which questions credentials (or flags) already answer. An answered question's page is not
/// shown, the summary says "from credentials", and its field in [`FirstbootRequest`] is `None`
/// (or [`RootChoice::Unchanged`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Answered {
    /// `firstboot.locale`.
    pub locale: bool,
    /// `firstboot.keymap`.
    pub keymap: bool,
    /// `firstboot.timezone`.
    pub timezone: bool,
    /// `system.hostname`.
    pub hostname: bool,
    /// `passwd.hashed-password.root` or `passwd.plaintext-password.root`.
    pub root_password: bool,
    /// `home.create.*`.
    pub user: bool,
}

impl Answered {
    /// Every question answered.
    pub const ALL: Answered = Answered { locale: true, keymap: true, timezone: true, hostname: true, root_password: true, user: true };
}

/// What the wizard asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Load this keymap on the console now (the person is trying keymaps).
    ApplyKeymap(String),
    /// Apply these answers; answer with [`Msg::Step`] lines and finally [`Msg::Applied`] or
    /// [`Msg::Failed`].
    Apply(FirstbootRequest),
    /// Leave the wizard (after "continue to login", or when the person quits).
    Quit,
}

/// The answers, ready for the firstboot backend. `None` means "not asked here": a credential
/// answered it (or, for [`FirstbootRequest::locale`], the system has no locale for the chosen
/// language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstbootRequest {
    /// The language the wizard spoke at the end (for the app's own messages).
    pub lang: Lang,
    /// The locale to configure (LANG), from the facts' list.
    pub locale: Option<String>,
    /// The console keymap.
    pub keymap: Option<String>,
    /// The time zone, e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
    /// The static host name.
    pub hostname: Option<String>,
    /// What to do with root's password.
    pub root: RootChoice,
    /// The first user to create; `None` when credentials create it, or when homed is missing and
    /// the person chose to create no user.
    pub user: Option<UserRequest>,
}

/// What to do with root's password.
#[derive(Clone, PartialEq, Eq)]
pub enum RootChoice {
    /// Leave it as it is (a credential sets it).
    Unchanged,
    /// Lock root: no password, nobody logs in as root with one.
    Locked,
    /// Set this password (the backend stores only a hash).
    Password(Zeroizing<String>),
}

impl fmt::Debug for RootChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RootChoice::Unchanged => f.write_str("Unchanged"),
            RootChoice::Locked => f.write_str("Locked"),
            RootChoice::Password(_) => f.write_str("Password([redacted])"),
        }
    }
}

/// The first user.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRequest {
    /// The user name (checked like systemd's `valid_user_group_name`).
    pub name: String,
    /// The full name (may be empty).
    pub real_name: String,
    /// The password (homed gets it in the record's secret section; the backend stores a hash).
    pub password: Zeroizing<String>,
    /// Member of `wheel`: may administer the system.
    pub admin: bool,
    /// Create a classic `/etc/passwd` user instead of a homed one (offered when homed is missing).
    pub classic: bool,
}

impl fmt::Debug for UserRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRequest")
            .field("name", &self.name)
            .field("real_name", &self.real_name)
            .field("password", &"[redacted]")
            .field("admin", &self.admin)
            .field("classic", &self.classic)
            .finish()
    }
}

/// A setting the answers change (the engine's `firstboot::Setting`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingView {
    /// The language (locale).
    Locale,
    /// The console keyboard layout.
    Keymap,
    /// The time zone.
    Timezone,
    /// The host name.
    Hostname,
    /// The machine ID.
    MachineId,
    /// root's account (its entry in /etc/passwd).
    RootAccount,
    /// root's password (/etc/shadow).
    RootPassword,
}

impl SettingView {
    /// Every setting.
    pub const ALL: [SettingView; 7] = [
        SettingView::Locale,
        SettingView::Keymap,
        SettingView::Timezone,
        SettingView::Hostname,
        SettingView::MachineId,
        SettingView::RootAccount,
        SettingView::RootPassword,
    ];

    /// The catalog id of its name.
    pub fn message_id(self) -> &'static str {
        match self {
            SettingView::Locale => "fb-setting-locale",
            SettingView::Keymap => "fb-setting-keymap",
            SettingView::Timezone => "fb-setting-timezone",
            SettingView::Hostname => "fb-setting-hostname",
            SettingView::MachineId => "fb-setting-machine-id",
            SettingView::RootAccount => "fb-setting-root-account",
            SettingView::RootPassword => "fb-setting-root-password",
        }
    }
}

/// One step of applying the answers, typed so that the wizard says it in its language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyStep {
    /// `file` (as inside the target, "/etc/hostname") was written with the setting.
    Written { setting: SettingView, file: String },
    /// The setting was handed to `daemon` (its bus name, "org.freedesktop.hostname1").
    SetVia { setting: SettingView, file: String, daemon: String },
    /// `file` already held the setting and was kept.
    Kept { setting: SettingView, file: String },
    /// The first user was created in /etc/passwd.
    UserClassic { name: String },
    /// The first user was created through systemd-homed with this storage ("luks", "directory").
    UserHomed { name: String, storage: String },
}

/// What the app tells the wizard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// One step done while applying.
    Step(ApplyStep),
    /// Everything was applied: one step per change.
    Applied(Vec<ApplyStep>),
    /// Applying failed, with the error in words.
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let request = FirstbootRequest {
            lang: Lang::En,
            locale: None,
            keymap: None,
            timezone: None,
            hostname: None,
            root: RootChoice::Password(Zeroizing::new("rootsecret".into())),
            user: Some(UserRequest {
                name: "anna".into(),
                real_name: "Anna".into(),
                password: Zeroizing::new("usersecret".into()),
                admin: true,
                classic: false,
            }),
        };
        let text = format!("{:?}", Request::Apply(request));
        assert!(!text.contains("rootsecret") && !text.contains("usersecret"), "{text}");
        assert!(text.contains("Password([redacted])") && text.contains("anna"), "{text}");
    }
}
