//! The first-boot wizard's checks, as pure functions: host names and user names as systemd checks
//! them, full names, passwords typed twice, a password strength hint, and the locale a language
//! maps to. Each problem is a value the page turns into words, naming what is wrong.

use fluent_bundle::FluentValue;

use crate::i18n::Lang;
use crate::theme::Ui;

/// The longest host name systemd accepts (`HOST_NAME_MAX`).
pub const HOST_NAME_MAX: usize = 64;

/// The longest user name accepted (systemd's strict limit for portable names).
pub const USER_NAME_MAX: usize = 31;

/// The longest full name accepted.
pub const REAL_NAME_MAX: usize = 255;

/// What is wrong with a host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostnameProblem {
    /// Nothing typed.
    Empty,
    /// A character outside `A–Z a–z 0–9 - _ .`.
    BadChar(char),
    /// Longer than [`HOST_NAME_MAX`].
    TooLong(usize),
    /// A dot first or last, or two dots in a row.
    EmptyLabel,
    /// A part (between dots) starts or ends with a hyphen.
    HyphenAtEdge(String),
}

/// Check a host name like systemd's `hostname_is_valid()`: dot-separated labels of ASCII letters,
/// digits, `-` and `_`, at most 64 characters, no empty label; and, stricter, no label starting or
/// ending with a hyphen.
pub fn check_hostname(name: &str) -> Result<(), HostnameProblem> {
    if name.is_empty() {
        return Err(HostnameProblem::Empty);
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(HostnameProblem::BadChar(c));
    }
    if name.len() > HOST_NAME_MAX {
        return Err(HostnameProblem::TooLong(name.len()));
    }
    if name.split('.').any(str::is_empty) {
        return Err(HostnameProblem::EmptyLabel);
    }
    if let Some(label) = name.split('.').find(|label| label.starts_with('-') || label.ends_with('-')) {
        return Err(HostnameProblem::HyphenAtEdge(label.to_owned()));
    }
    Ok(())
}

impl HostnameProblem {
    /// The problem in words.
    pub fn words(&self, ui: &Ui) -> String {
        match self {
            HostnameProblem::Empty => ui.t("fb-hostname-empty"),
            HostnameProblem::BadChar(c) => ui.t_args("fb-hostname-bad-char", &[("char", shown_char(ui, *c))]),
            HostnameProblem::TooLong(len) => ui.t_args("fb-hostname-too-long", &[("len", (*len).into()), ("max", HOST_NAME_MAX.into())]),
            HostnameProblem::EmptyLabel => ui.t("fb-hostname-empty-label"),
            HostnameProblem::HyphenAtEdge(label) => ui.t_args("fb-hostname-hyphen", &[("label", label.clone().into())]),
        }
    }
}

/// User names systemd and distributions reserve for the system.
pub const RESERVED_USER_NAMES: &[&str] = &[
    "root",
    "nobody",
    "nfsnobody",
    "daemon",
    "bin",
    "sys",
    "sync",
    "adm",
    "wheel",
    "users",
    "tty",
    "disk",
    "kmem",
    "utmp",
    "audio",
    "video",
    "input",
    "kvm",
    "render",
    "sgx",
    "lp",
    "mail",
    "news",
    "uucp",
    "man",
    "games",
    "proxy",
    "backup",
    "operator",
    "messagebus",
    "polkitd",
    "dbus",
    "nogroup",
];

/// What is wrong with a user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserNameProblem {
    /// Nothing typed.
    Empty,
    /// Longer than [`USER_NAME_MAX`].
    TooLong(usize),
    /// An uppercase letter (user names are lowercase).
    Uppercase(char),
    /// The first character is not a lowercase letter or `_`.
    BadFirst(char),
    /// A character outside `a–z 0–9 _ -`.
    BadChar(char),
    /// A name the system reserves.
    Reserved(String),
}

/// Check a user name like systemd's `valid_user_group_name()` in its strict form:
/// `[a-z_][a-z0-9_-]*`, at most 31 characters, and not a name the system reserves.
pub fn check_user_name(name: &str) -> Result<(), UserNameProblem> {
    let Some(first) = name.chars().next() else { return Err(UserNameProblem::Empty) };
    if let Some(c) = name.chars().find(char::is_ascii_uppercase) {
        return Err(UserNameProblem::Uppercase(c));
    }
    if !(first.is_ascii_lowercase() || first == '_') {
        return Err(UserNameProblem::BadFirst(first));
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'))) {
        return Err(UserNameProblem::BadChar(c));
    }
    if name.len() > USER_NAME_MAX {
        return Err(UserNameProblem::TooLong(name.len()));
    }
    if RESERVED_USER_NAMES.contains(&name) || name.starts_with("systemd-") {
        return Err(UserNameProblem::Reserved(name.to_owned()));
    }
    Ok(())
}

impl UserNameProblem {
    /// The problem in words.
    pub fn words(&self, ui: &Ui) -> String {
        match self {
            UserNameProblem::Empty => ui.t("fb-user-name-empty"),
            UserNameProblem::TooLong(len) => ui.t_args("fb-user-name-too-long", &[("len", (*len).into()), ("max", USER_NAME_MAX.into())]),
            UserNameProblem::Uppercase(c) => ui.t_args("fb-user-name-uppercase", &[("char", shown_char(ui, *c))]),
            UserNameProblem::BadFirst(c) => ui.t_args("fb-user-name-bad-first", &[("char", shown_char(ui, *c))]),
            UserNameProblem::BadChar(c) => ui.t_args("fb-user-name-bad-char", &[("char", shown_char(ui, *c))]),
            UserNameProblem::Reserved(name) => ui.t_args("fb-user-name-reserved", &[("name", name.clone().into())]),
        }
    }
}

/// What is wrong with a full name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RealNameProblem {
    /// A `:` (it separates the fields of /etc/passwd).
    Colon,
    /// Longer than [`REAL_NAME_MAX`].
    TooLong(usize),
}

/// Check a full name: any text without `:` or control characters, at most 255 characters; empty
/// is fine.
pub fn check_real_name(name: &str) -> Result<(), RealNameProblem> {
    if name.contains(':') {
        return Err(RealNameProblem::Colon);
    }
    let len = name.chars().count();
    if len > REAL_NAME_MAX {
        return Err(RealNameProblem::TooLong(len));
    }
    Ok(())
}

impl RealNameProblem {
    /// The problem in words.
    pub fn words(&self, ui: &Ui) -> String {
        match self {
            RealNameProblem::Colon => ui.t("fb-real-name-colon"),
            RealNameProblem::TooLong(len) => ui.t_args("fb-real-name-too-long", &[("len", (*len).into()), ("max", REAL_NAME_MAX.into())]),
        }
    }
}

/// What is wrong with a password typed twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Nothing typed.
    Empty,
    /// The second entry differs from the first.
    Mismatch,
}

/// Check a password and its repetition.
pub fn check_passwords(password: &str, repeat: &str) -> Result<(), PasswordProblem> {
    if password.is_empty() {
        Err(PasswordProblem::Empty)
    } else if password != repeat {
        Err(PasswordProblem::Mismatch)
    } else {
        Ok(())
    }
}

impl PasswordProblem {
    /// The problem in words.
    pub fn words(self, ui: &Ui) -> String {
        match self {
            PasswordProblem::Empty => ui.t("fb-password-empty"),
            PasswordProblem::Mismatch => ui.t("fb-password-mismatch"),
        }
    }
}

/// A password's strength in four words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Easy to guess.
    Weak,
    /// Better, still short or plain.
    Fair,
    /// Long or varied.
    Good,
    /// Long and varied.
    Strong,
}

impl Strength {
    /// The catalog id of the word.
    pub fn message_id(self) -> &'static str {
        match self {
            Strength::Weak => "fb-strength-weak",
            Strength::Fair => "fb-strength-fair",
            Strength::Good => "fb-strength-good",
            Strength::Strong => "fb-strength-strong",
        }
    }

    /// How many of four bar cells are filled (1 to 4).
    pub fn cells(self) -> usize {
        self as usize + 1
    }
}

/// A simple strength score: points for length (8, 12, 16 characters) and for each kind of
/// character beyond the first (lowercase, uppercase, digits, others). It is a hint, not a policy.
pub fn strength(password: &str) -> (Strength, usize, usize) {
    let len = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ]
    .iter()
    .filter(|&&present| present)
    .count();
    let length_points = match len {
        0..8 => 0,
        8..12 => 1,
        12..16 => 2,
        _ => 3,
    };
    let score = length_points + classes.saturating_sub(1);
    let strength = match score {
        _ if len < 8 => Strength::Weak,
        0..=1 => Strength::Weak,
        2..=3 => Strength::Fair,
        4 => Strength::Good,
        _ => Strength::Strong,
    };
    (strength, len, classes)
}

/// The locale to configure for `lang`, from the system's `locales`: the language's usual locale
/// (`en_US.UTF-8`, `de_DE.UTF-8`, also spelled `…utf8`), else the first UTF-8 locale of the language,
/// else any locale of the language; `None` when the system has none.
pub fn locale_for(lang: Lang, locales: &[String]) -> Option<String> {
    let normalize = |locale: &str| locale.to_ascii_lowercase().replace('-', "");
    let preferred = normalize(lang.locale());
    if let Some(exact) = locales.iter().find(|l| normalize(l) == preferred) {
        return Some(exact.clone());
    }
    let prefix = format!("{}_", lang.code());
    let of_language: Vec<&String> = locales.iter().filter(|l| l.starts_with(&prefix)).collect();
    of_language.iter().find(|l| normalize(l).ends_with(".utf8")).or(of_language.first()).map(|l| (*l).clone())
}

/// A character quoted for an error message: a space is named, others shown as they are (folded in
/// ASCII mode).
fn shown_char(ui: &Ui, c: char) -> FluentValue<'static> {
    if c == ' ' { ui.t("fb-char-space").into() } else { ui.text(&c.to_string()).into_owned().into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_like_systemd() {
        for good in ["kiosk", "kiosk-42", "a.b.c", "my_host", "A1", &"a".repeat(64), "x-y.example.org"] {
            assert_eq!(check_hostname(good), Ok(()), "{good}");
        }
        assert_eq!(check_hostname(""), Err(HostnameProblem::Empty));
        assert_eq!(check_hostname("my host"), Err(HostnameProblem::BadChar(' ')));
        assert_eq!(check_hostname("größe"), Err(HostnameProblem::BadChar('ö')));
        assert_eq!(check_hostname(&"a".repeat(65)), Err(HostnameProblem::TooLong(65)));
        assert_eq!(check_hostname(".kiosk"), Err(HostnameProblem::EmptyLabel));
        assert_eq!(check_hostname("kiosk."), Err(HostnameProblem::EmptyLabel));
        assert_eq!(check_hostname("a..b"), Err(HostnameProblem::EmptyLabel));
        assert_eq!(check_hostname("-kiosk"), Err(HostnameProblem::HyphenAtEdge("-kiosk".into())));
        assert_eq!(check_hostname("a.b-.c"), Err(HostnameProblem::HyphenAtEdge("b-".into())));
    }

    #[test]
    fn user_names_like_systemd_strict() {
        for good in ["anna", "_svc", "a1", "anna-maria", "x_y", &"a".repeat(31)] {
            assert_eq!(check_user_name(good), Ok(()), "{good}");
        }
        assert_eq!(check_user_name(""), Err(UserNameProblem::Empty));
        assert_eq!(check_user_name("Anna"), Err(UserNameProblem::Uppercase('A')));
        assert_eq!(check_user_name("1anna"), Err(UserNameProblem::BadFirst('1')));
        assert_eq!(check_user_name("-anna"), Err(UserNameProblem::BadFirst('-')));
        assert_eq!(check_user_name("an na"), Err(UserNameProblem::BadChar(' ')));
        assert_eq!(check_user_name("anna.b"), Err(UserNameProblem::BadChar('.')));
        assert_eq!(check_user_name("jörg"), Err(UserNameProblem::BadChar('ö')));
        assert_eq!(check_user_name(&"a".repeat(32)), Err(UserNameProblem::TooLong(32)));
        assert_eq!(check_user_name("root"), Err(UserNameProblem::Reserved("root".into())));
        assert_eq!(check_user_name("systemd-network"), Err(UserNameProblem::Reserved("systemd-network".into())));
    }

    #[test]
    fn full_names_and_passwords() {
        assert_eq!(check_real_name(""), Ok(()));
        assert_eq!(check_real_name("Anna Müller"), Ok(()));
        assert_eq!(check_real_name("a:b"), Err(RealNameProblem::Colon));
        assert_eq!(check_real_name(&"x".repeat(256)), Err(RealNameProblem::TooLong(256)));
        assert_eq!(check_passwords("", ""), Err(PasswordProblem::Empty));
        assert_eq!(check_passwords("abc", "abd"), Err(PasswordProblem::Mismatch));
        assert_eq!(check_passwords("abc", "abc"), Ok(()));
    }

    #[test]
    fn strength_grows_with_length_and_variety() {
        assert_eq!(strength("").0, Strength::Weak);
        assert_eq!(strength("Ab1!").0, Strength::Weak);
        assert_eq!(strength("password").0, Strength::Weak);
        assert_eq!(strength("Password1"), (Strength::Fair, 9, 3));
        assert_eq!(strength("correct horse battery").0, Strength::Good);
        assert_eq!(strength("xK9!mQ2#vL7$pR4").0, Strength::Strong);
        assert_eq!(Strength::Weak.cells(), 1);
        assert_eq!(Strength::Strong.cells(), 4);
    }

    #[test]
    fn languages_map_to_available_locales() {
        let locales: Vec<String> = ["C.UTF-8", "de_AT.UTF-8", "de_DE.utf8", "en_GB.UTF-8", "en_US.UTF-8"].map(String::from).to_vec();
        assert_eq!(locale_for(Lang::De, &locales).as_deref(), Some("de_DE.utf8"));
        assert_eq!(locale_for(Lang::En, &locales).as_deref(), Some("en_US.UTF-8"));
        let few: Vec<String> = ["de_CH.ISO-8859-1", "de_CH.UTF-8", "en_GB"].map(String::from).to_vec();
        assert_eq!(locale_for(Lang::De, &few).as_deref(), Some("de_CH.UTF-8"));
        assert_eq!(locale_for(Lang::En, &few).as_deref(), Some("en_GB"));
        assert_eq!(locale_for(Lang::De, &["C.UTF-8".to_string()]), None);
    }
}
