//! The first-boot wizard: key scripts through the whole flow, the request it sends, skipped
//! questions, Esc back, refusals with their reasons, the quit question; snapshots of every page
//! at 80×24 and 120×40, Unicode and ASCII, English and (at 80×24) German; and its catalog.

mod common;

use common::{VARIANTS, check_screen, render, ui};
use imprint_screens::firstboot::{
    Answered, ApplyStep, Firstboot, FirstbootFacts, FirstbootRequest, Msg, Page, Request, RootChoice, SettingView, UserRequest,
};
use imprint_screens::flow::{Flow, ctrl_c, press, type_text};
use imprint_screens::i18n::message_ids;
use imprint_screens::ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use imprint_screens::{Lang, Ui};
use zeroize::Zeroizing;

const ROOT_PW: &str = "Root-pw-2024";
const USER_PW: &str = "correct horse battery";

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn facts() -> FirstbootFacts {
    let region = |name: &str, cities: &str| (name.to_string(), cities.split_whitespace().map(|c| format!("{name}/{c}")).collect());
    FirstbootFacts {
        locales: words("C.UTF-8 de_AT.UTF-8 de_DE.UTF-8 en_GB.UTF-8 en_US.UTF-8"),
        keymaps: words(
            "azerty be-latin1 br-abnt2 cf cz de de-latin1 de-latin1-nodeadkeys de-nodeadkeys de_CH-latin1 dk dvorak es fi fr fr-latin9 \
             fr_CH it jp106 nl no pl pt-latin1 ru sv-latin1 uk us",
        ),
        timezones: vec![
            region("Africa", "Cairo Johannesburg Lagos Nairobi"),
            region("America", "Argentina/Buenos_Aires Chicago Denver Los_Angeles New_York Sao_Paulo Toronto"),
            region("Asia", "Kolkata Shanghai Singapore Tokyo"),
            region("Australia", "Perth Sydney"),
            region("Europe", "Amsterdam Berlin Brussels Dublin Lisbon London Madrid Paris Rome Stockholm Vienna Warsaw Zurich"),
            region("Etc", "UTC"),
            region("Pacific", "Auckland Honolulu"),
        ],
        suggested_hostname: "kiosk-3f9a".into(),
        homed_available: true,
        answered: Answered::default(),
    }
}

fn wizard(ui: Ui, facts: FirstbootFacts) -> (Firstboot, Vec<Request>) {
    let mut flow = Firstboot::new(ui, facts);
    let requests = flow.start();
    (flow, requests)
}

fn keys(flow: &mut Firstboot, keys: impl IntoIterator<Item = KeyEvent>) -> Vec<Request> {
    keys.into_iter().flat_map(|key| flow.key(key)).collect()
}

fn key(flow: &mut Firstboot, code: KeyCode) -> Vec<Request> {
    flow.key(press(code))
}

fn typed(flow: &mut Firstboot, text: &str) -> Vec<Request> {
    keys(flow, type_text(text))
}

fn clear_field(flow: &mut Firstboot) {
    flow.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
}

/// Fill the root page: the password twice.
fn fill_root(flow: &mut Firstboot) {
    typed(flow, ROOT_PW);
    key(flow, KeyCode::Tab);
    typed(flow, ROOT_PW);
}

/// Fill the user page: name, full name, the password twice.
fn fill_user(flow: &mut Firstboot) {
    typed(flow, "anna");
    key(flow, KeyCode::Down);
    typed(flow, "Anna Example");
    key(flow, KeyCode::Down);
    typed(flow, USER_PW);
    key(flow, KeyCode::Down);
    typed(flow, USER_PW);
}

/// Walk forward with the default answers until `page`, collecting the requests.
fn walk_to(flow: &mut Firstboot, page: Page) -> Vec<Request> {
    let mut requests = Vec::new();
    while flow.page() != page {
        let before = flow.page();
        match before {
            Page::Root => fill_root(flow),
            Page::User => fill_user(flow),
            Page::Apply => {
                for line in steps() {
                    flow.message(Msg::Step(line));
                }
                flow.message(Msg::Applied(applied()));
                continue;
            }
            _ => {}
        }
        requests.extend(key(flow, KeyCode::Enter));
        assert_ne!(flow.page(), before, "stuck on {before:?}");
    }
    requests
}

fn steps() -> Vec<ApplyStep> {
    let via = |setting, file: &str, daemon: &str| ApplyStep::SetVia { setting, file: file.into(), daemon: daemon.into() };
    vec![
        via(SettingView::Locale, "/etc/locale.conf", "org.freedesktop.locale1"),
        via(SettingView::Keymap, "/etc/vconsole.conf", "org.freedesktop.locale1"),
        via(SettingView::Timezone, "/etc/localtime", "org.freedesktop.timedate1"),
        via(SettingView::Hostname, "/etc/hostname", "org.freedesktop.hostname1"),
        ApplyStep::Kept { setting: SettingView::MachineId, file: "/etc/machine-id".into() },
        ApplyStep::Written { setting: SettingView::RootAccount, file: "/etc/passwd".into() },
        ApplyStep::Written { setting: SettingView::RootPassword, file: "/etc/shadow".into() },
        ApplyStep::UserHomed { name: "anna".into(), storage: "luks".into() },
    ]
}

fn applied() -> Vec<ApplyStep> {
    steps()
}

fn at(ui: Ui, facts: FirstbootFacts, page: Page) -> Firstboot {
    let (mut flow, _) = wizard(ui, facts);
    walk_to(&mut flow, page);
    flow
}

fn screen(flow: &Firstboot) -> String {
    render(flow, 120, 40)
}

fn expected_request() -> FirstbootRequest {
    FirstbootRequest {
        lang: Lang::En,
        locale: Some("en_US.UTF-8".into()),
        keymap: Some("us".into()),
        timezone: Some("Etc/UTC".into()),
        hostname: Some("kiosk-3f9a".into()),
        root: RootChoice::Password(Zeroizing::new(ROOT_PW.into())),
        user: Some(UserRequest {
            name: "anna".into(),
            real_name: "Anna Example".into(),
            password: Zeroizing::new(USER_PW.into()),
            admin: true,
            classic: false,
        }),
    }
}

fn apply_request(requests: &[Request]) -> Option<&FirstbootRequest> {
    let applies: Vec<&FirstbootRequest> = requests.iter().filter_map(|r| if let Request::Apply(a) = r { Some(a) } else { None }).collect();
    assert!(applies.len() <= 1, "more than one Apply: {requests:?}");
    applies.first().copied()
}

// ---------------------------------------------------------------------------------------------
// Flow tests

#[test]
fn the_whole_flow_with_default_answers_sends_the_expected_request() {
    let (mut flow, start) = wizard(ui(Lang::En, false), facts());
    assert_eq!(flow.page(), Page::Language);
    assert!(start.is_empty());
    assert_eq!(
        flow.path(),
        [Page::Language, Page::Keyboard, Page::Timezone, Page::Hostname, Page::Root, Page::User, Page::Summary, Page::Apply, Page::Done]
    );
    let requests = walk_to(&mut flow, Page::Apply);
    assert_eq!(requests.first(), Some(&Request::ApplyKeymap("us".into())), "entering the keyboard page loads its keymap");
    assert_eq!(apply_request(&requests), Some(&expected_request()));
    assert_eq!(flow.page(), Page::Apply);
    for line in steps() {
        assert!(flow.message(Msg::Step(line)).is_empty());
    }
    assert!(screen(&flow).contains("created the user anna through systemd-homed (storage: luks)"));
    flow.message(Msg::Applied(applied()));
    assert_eq!(flow.page(), Page::Done);
    let done = screen(&flow);
    assert!(done.contains("set the computer's name through org.freedesktop.hostname1"), "{done}");
    assert_eq!(key(&mut flow, KeyCode::Esc), []);
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::Quit], "continue to login");
}

#[test]
fn typed_answers_and_german_reach_the_request() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    key(&mut flow, KeyCode::Down);
    assert_eq!(flow.ui().lang, Lang::De, "the language switches at once");
    assert!(screen(&flow).contains("Welche Sprache"));
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::ApplyKeymap("de-latin1-nodeadkeys".into())]);
    // Try another keymap: each selection is loaded at once.
    assert_eq!(
        typed(&mut flow, "fr_"),
        [Request::ApplyKeymap("fi".into()), Request::ApplyKeymap("fr".into()), Request::ApplyKeymap("fr_CH".into())]
    );
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "azerty");
    assert!(screen(&flow).contains("azerty"));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Timezone);
    typed(&mut flow, "vienna");
    assert!(screen(&flow).contains("Europe / Vienna"));
    key(&mut flow, KeyCode::Enter);
    clear_field(&mut flow);
    typed(&mut flow, "info-point.example.org");
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Root);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::User, "Enter on \"lock root\" chooses it and goes on");
    fill_user(&mut flow);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Char(' '));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
    let summary = screen(&flow);
    assert!(summary.contains("niemand wird das System ändern können"), "a locked root and no administrator is warned about:\n{summary}");
    let requests = key(&mut flow, KeyCode::Enter);
    let expected = FirstbootRequest {
        lang: Lang::De,
        locale: Some("de_DE.UTF-8".into()),
        keymap: Some("fr_CH".into()),
        timezone: Some("Europe/Vienna".into()),
        hostname: Some("info-point.example.org".into()),
        root: RootChoice::Locked,
        user: Some(UserRequest { admin: false, ..expected_request().user.unwrap() }),
    };
    assert_eq!(apply_request(&requests), Some(&expected));
}

#[test]
fn questions_answered_by_credentials_are_skipped() {
    let answered = Answered { keymap: true, hostname: true, root_password: true, ..Answered::default() };
    let (mut flow, start) = wizard(ui(Lang::En, false), FirstbootFacts { answered, ..facts() });
    assert!(start.is_empty());
    assert_eq!(flow.path(), [Page::Language, Page::Timezone, Page::User, Page::Summary, Page::Apply, Page::Done]);
    let requests = walk_to(&mut flow, Page::Summary);
    assert!(requests.iter().all(|r| !matches!(r, Request::ApplyKeymap(_))), "the keymap page was never shown: {requests:?}");
    let summary = screen(&flow);
    assert_eq!(summary.matches("from credentials").count(), 4, "three rows and the note:\n{summary}");
    let requests = key(&mut flow, KeyCode::Enter);
    let expected = FirstbootRequest { keymap: None, hostname: None, root: RootChoice::Unchanged, ..expected_request() };
    assert_eq!(apply_request(&requests), Some(&expected));
}

#[test]
fn with_every_question_answered_only_the_summary_is_left() {
    let (mut flow, start) = wizard(ui(Lang::En, false), FirstbootFacts { answered: Answered::ALL, ..facts() });
    assert!(start.is_empty());
    assert_eq!(flow.page(), Page::Summary);
    assert_eq!(flow.path(), [Page::Summary, Page::Apply, Page::Done]);
    assert!(key(&mut flow, KeyCode::Esc).is_empty());
    assert!(flow.quit_open(), "Esc on the first page asks before quitting");
    key(&mut flow, KeyCode::Char('n'));
    let requests = key(&mut flow, KeyCode::Enter);
    let expected = FirstbootRequest {
        lang: Lang::En,
        locale: None,
        keymap: None,
        timezone: None,
        hostname: None,
        root: RootChoice::Unchanged,
        user: None,
    };
    assert_eq!(apply_request(&requests), Some(&expected));
}

#[test]
fn a_system_without_keymaps_or_time_zones_keeps_its_own() {
    let (mut flow, _) = wizard(ui(Lang::En, false), FirstbootFacts { keymaps: Vec::new(), timezones: Vec::new(), ..facts() });
    let mut requests = walk_to(&mut flow, Page::Summary);
    assert!(requests.is_empty(), "no keymap to load: {requests:?}");
    assert_eq!(screen(&flow).matches("unchanged (the system lists none)").count(), 2);
    requests.extend(key(&mut flow, KeyCode::Enter));
    let expected = FirstbootRequest { keymap: None, timezone: None, ..expected_request() };
    assert_eq!(apply_request(&requests), Some(&expected));
}

#[test]
fn keyboard_first_when_the_locale_is_answered() {
    let answered = Answered { locale: true, ..Answered::default() };
    let (mut flow, start) = wizard(ui(Lang::De, false), FirstbootFacts { answered, ..facts() });
    assert_eq!(flow.page(), Page::Keyboard);
    assert_eq!(start, [Request::ApplyKeymap("de-latin1-nodeadkeys".into())], "the first page's keymap is loaded on start");
    let requests = walk_to(&mut flow, Page::Apply);
    let request = apply_request(&requests).expect("apply");
    assert_eq!((request.lang, request.locale.as_deref()), (Lang::De, None));
    assert_eq!(request.timezone.as_deref(), Some("Europe/Berlin"));
}

#[test]
fn esc_goes_back_without_losing_answers() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Timezone);
    typed(&mut flow, "tokyo");
    key(&mut flow, KeyCode::Enter);
    clear_field(&mut flow);
    typed(&mut flow, "desk-1");
    key(&mut flow, KeyCode::Enter);
    fill_root(&mut flow);
    key(&mut flow, KeyCode::Enter);
    fill_user(&mut flow);
    assert_eq!(flow.page(), Page::User);
    for page in [Page::Root, Page::Hostname, Page::Timezone, Page::Keyboard, Page::Language] {
        key(&mut flow, KeyCode::Esc);
        assert_eq!(flow.page(), page);
    }
    assert!(!flow.quit_open());
    key(&mut flow, KeyCode::Esc);
    assert!(flow.quit_open(), "Esc on the first page asks before quitting");
    key(&mut flow, KeyCode::Char('n'));
    for _ in 0..6 {
        key(&mut flow, KeyCode::Enter);
    }
    assert_eq!(flow.page(), Page::Summary, "every answer is still there");
    let summary = screen(&flow);
    assert!(summary.contains("Asia/Tokyo") && summary.contains("desk-1") && summary.contains("anna (Anna Example)"), "{summary}");
    key(&mut flow, KeyCode::Esc);
    assert_eq!(flow.page(), Page::User);
    key(&mut flow, KeyCode::Enter);
    let requests = key(&mut flow, KeyCode::Enter);
    let expected = FirstbootRequest { timezone: Some("Asia/Tokyo".into()), hostname: Some("desk-1".into()), ..expected_request() };
    assert_eq!(apply_request(&requests), Some(&expected));
}

#[test]
fn invalid_host_names_are_refused_with_the_reason() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Hostname);
    for (name, reason) in [
        ("", "Type a host name."),
        ("my kiosk", "\"a space\" is not allowed in a host name."),
        ("kiosk..lab", "A dot may not come first or last, nor two dots in a row."),
        ("-kiosk", "The part \"-kiosk\" starts or ends with \"-\"."),
        (&"k".repeat(65), "The host name has 65 characters; at most 64 are allowed."),
    ] {
        clear_field(&mut flow);
        typed(&mut flow, name);
        assert!(key(&mut flow, KeyCode::Enter).is_empty());
        assert_eq!(flow.page(), Page::Hostname, "{name:?} was accepted");
        let shown = screen(&flow);
        assert!(shown.contains(&format!("Error: {reason}")), "{name:?}: reason not shown:\n{shown}");
    }
    clear_field(&mut flow);
    typed(&mut flow, "kiosk.lab");
    assert!(screen(&flow).contains("This host name is valid."));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Root);
}

#[test]
fn invalid_user_names_and_mismatched_passwords_are_refused_with_the_reason() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::User);
    for (name, reason) in [
        ("", "Type a user name."),
        ("Anna", "User names are lowercase: \"A\" is not allowed."),
        ("1anna", "A user name must start with a letter a-z or \"_\", not \"1\"."),
        ("anna.b", "\".\" is not allowed in a user name"),
        ("root", "\"root\" is reserved for the system."),
        (&"a".repeat(32), "The user name has 32 characters; at most 31 are allowed."),
    ] {
        clear_field(&mut flow);
        typed(&mut flow, name);
        key(&mut flow, KeyCode::Enter);
        assert_eq!(flow.page(), Page::User, "{name:?} was accepted");
        let shown = screen(&flow);
        assert!(shown.contains(&format!("Error: {reason}")), "{name:?}: reason not shown:\n{shown}");
    }
    // A good name; then the passwords.
    clear_field(&mut flow);
    typed(&mut flow, "anna");
    key(&mut flow, KeyCode::Enter);
    assert!(screen(&flow).contains("Error: Type a password."));
    typed(&mut flow, "one password");
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "another password");
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::User);
    assert!(screen(&flow).contains("Error: The two passwords differ."));
    clear_field(&mut flow);
    typed(&mut flow, "one password");
    assert!(screen(&flow).contains("The two passwords match."));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
}

#[test]
fn root_passwords_must_match() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Root);
    key(&mut flow, KeyCode::Enter);
    assert!(screen(&flow).contains("Error: Type a password."));
    typed(&mut flow, "abc");
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "abd");
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Root);
    assert!(screen(&flow).contains("Error: The two passwords differ."));
}

#[test]
fn without_homed_a_classic_user_or_none_is_offered() {
    let (mut flow, _) = wizard(ui(Lang::En, false), FirstbootFacts { homed_available: false, ..facts() });
    walk_to(&mut flow, Page::User);
    assert!(screen(&flow).contains("systemd-homed is not running"));
    fill_user(&mut flow);
    key(&mut flow, KeyCode::Enter);
    assert!(screen(&flow).contains("classic user in /etc/passwd"));
    let requests = key(&mut flow, KeyCode::Enter);
    let user = apply_request(&requests).and_then(|r| r.user.clone()).expect("a user");
    assert!(user.classic && user.admin && user.name == "anna");
}

#[test]
fn a_locked_root_without_any_user_is_refused() {
    let (mut flow, _) = wizard(ui(Lang::En, false), FirstbootFacts { homed_available: false, ..facts() });
    walk_to(&mut flow, Page::Root);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Enter);
    for _ in 0..5 {
        key(&mut flow, KeyCode::Up);
    }
    key(&mut flow, KeyCode::Char(' '));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
    let summary = screen(&flow);
    assert!(summary.contains("Error: Root is locked and no user is created"), "{summary}");
    assert!(key(&mut flow, KeyCode::Enter).is_empty(), "nothing is applied");
    assert_eq!(flow.page(), Page::Summary);
    key(&mut flow, KeyCode::Esc);
    key(&mut flow, KeyCode::Char(' '));
    key(&mut flow, KeyCode::Down);
    fill_user(&mut flow);
    key(&mut flow, KeyCode::Enter);
    let requests = key(&mut flow, KeyCode::Enter);
    let request = apply_request(&requests).expect("apply");
    assert_eq!(request.root, RootChoice::Locked);
    assert!(request.user.as_ref().is_some_and(|u| u.classic));
}

#[test]
fn a_failure_goes_back_to_the_summary_and_may_be_retried() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Summary);
    key(&mut flow, KeyCode::Enter);
    flow.message(Msg::Step(ApplyStep::Written { setting: SettingView::Hostname, file: "/etc/hostname".into() }));
    flow.message(Msg::Failed("org.freedesktop.hostname1: access denied".into()));
    assert_eq!(flow.page(), Page::Failed);
    assert!(screen(&flow).contains("Error: org.freedesktop.hostname1: access denied"));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
    let requests = key(&mut flow, KeyCode::Enter);
    assert_eq!(apply_request(&requests), Some(&expected_request()));
    assert!(!screen(&flow).contains("saved the computer's name in /etc/hostname"), "a new attempt starts with no old lines");
}

#[test]
fn ctrl_c_asks_first_n_continues_y_quits() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Hostname);
    assert!(flow.key(ctrl_c()).is_empty());
    assert!(flow.quit_open());
    assert!(screen(&flow).contains("Quit the setup?"));
    assert!(typed(&mut flow, "x").is_empty(), "other keys are swallowed while asking");
    assert!(key(&mut flow, KeyCode::Char('n')).is_empty());
    assert!(!flow.quit_open());
    assert_eq!(flow.page(), Page::Hostname);
    typed(&mut flow, "z");
    assert!(screen(&flow).contains("kiosk-3f9az"), "the page works on after n");
    flow.key(ctrl_c());
    assert_eq!(key(&mut flow, KeyCode::Char('y')), [Request::Quit]);
}

#[test]
fn ctrl_c_while_applying_warns() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Apply);
    assert!(key(&mut flow, KeyCode::Esc).is_empty());
    assert_eq!(flow.page(), Page::Apply, "no way back while applying");
    flow.key(ctrl_c());
    assert!(screen(&flow).contains("being applied right now"));
}

#[test]
fn secrets_are_masked_on_every_page_and_in_debug() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    let mut requests = walk_to(&mut flow, Page::Summary);
    let summary = screen(&flow);
    assert!(summary.contains("set (hidden)"));
    requests.extend(key(&mut flow, KeyCode::Enter));
    for text in [summary, format!("{requests:?}"), format!("{flow:?}")] {
        assert!(!text.contains(ROOT_PW) && !text.contains(USER_PW), "a secret leaked:\n{text}");
    }
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::User);
    fill_user(&mut flow);
    let shown = screen(&flow);
    assert!(!shown.contains(USER_PW) && shown.contains(&"*".repeat(USER_PW.len())), "{shown}");
    assert!(shown.contains("Strength: [███░] good (21 characters, 2 kinds of characters)"), "{shown}");
}

#[test]
fn key_releases_are_ignored() {
    let (mut flow, _) = wizard(ui(Lang::En, false), facts());
    let mut release = press(KeyCode::Enter);
    release.kind = imprint_screens::ratatui::crossterm::event::KeyEventKind::Release;
    assert!(flow.key(release).is_empty());
    assert_eq!(flow.page(), Page::Language);
}

// ---------------------------------------------------------------------------------------------
// Catalog

#[test]
fn the_first_boot_catalogs_have_the_same_ids_and_every_id_used_exists() {
    let en = message_ids(include_str!("../i18n/firstboot.en.ftl"));
    let mut de = message_ids(include_str!("../i18n/firstboot.de.ftl"));
    let mut en_sorted = en.clone();
    en_sorted.sort();
    de.sort();
    assert_eq!(en_sorted, de, "firstboot.en.ftl and firstboot.de.ftl differ");
    let used = used_ids(&[
        include_str!("../src/firstboot/mod.rs"),
        include_str!("../src/firstboot/apply.rs"),
        include_str!("../src/firstboot/check.rs"),
        include_str!("../src/firstboot/form.rs"),
        include_str!("../src/firstboot/hostname.rs"),
        include_str!("../src/firstboot/keyboard.rs"),
        include_str!("../src/firstboot/language.rs"),
        include_str!("../src/firstboot/root.rs"),
        include_str!("../src/firstboot/timezone.rs"),
        include_str!("../src/firstboot/user.rs"),
        include_str!("../src/firstboot/types.rs"),
    ]);
    for id in &used {
        assert!(en.contains(id), "{id} is used but not in firstboot.en.ftl");
        for lang in Lang::ALL {
            assert!(lang.tr().has(id), "{lang:?} cannot format {id}");
        }
    }
    let unused: Vec<&String> = en.iter().filter(|id| !used.contains(id)).collect();
    assert!(unused.is_empty(), "messages no code uses: {unused:?}");
}

/// Every `"fb-…"` string literal in the sources.
fn used_ids(sources: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for source in sources {
        for piece in source.split('"').skip(1).step_by(2) {
            if piece.starts_with("fb-") && piece.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                ids.push(piece.to_owned());
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

// ---------------------------------------------------------------------------------------------
// Snapshots

fn check_and_snapshot(state: &str, build: impl Fn(Ui) -> Firstboot) {
    for (variant, lang, ascii, width, height) in VARIANTS {
        let flow = build(ui(lang, ascii));
        let screen = render(&flow, width, height);
        check_screen(state, variant, ascii, &screen);
        assert!(!screen.contains(ROOT_PW) && !screen.contains(USER_PW), "{state} {variant}: a secret is on screen");
        insta::assert_snapshot!(format!("{state}-{variant}"), screen);
    }
}

macro_rules! snapshot {
    ($test:ident, $state:literal, $build:expr) => {
        #[test]
        fn $test() {
            check_and_snapshot($state, $build);
        }
    };
}

snapshot!(snap_language, "1-language", |ui| at(ui, facts(), Page::Language));

snapshot!(snap_language_without_locale, "1-language-no-locale", |ui| {
    let facts = FirstbootFacts { locales: strings(&["C.UTF-8", "en_US.UTF-8"]), ..facts() };
    let mut flow = at(ui, facts, Page::Language);
    if ui.lang == Lang::En {
        key(&mut flow, KeyCode::Down);
    }
    flow
});

snapshot!(snap_keyboard, "2-keyboard", |ui| at(ui, facts(), Page::Keyboard));

snapshot!(snap_keyboard_try, "2-keyboard-try", |ui| {
    let mut flow = at(ui, facts(), Page::Keyboard);
    typed(&mut flow, "de");
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "zy@ öß");
    flow
});

snapshot!(snap_timezone, "3-timezone", |ui| at(ui, facts(), Page::Timezone));

snapshot!(snap_timezone_regions, "3-timezone-regions", |ui| {
    let mut flow = at(ui, facts(), Page::Timezone);
    key(&mut flow, KeyCode::Left);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Up);
    flow
});

snapshot!(snap_timezone_search, "3-timezone-search", |ui| {
    let mut flow = at(ui, facts(), Page::Timezone);
    typed(&mut flow, "an");
    key(&mut flow, KeyCode::Down);
    flow
});

snapshot!(snap_keyboard_none, "2-keyboard-none", |ui| at(ui, FirstbootFacts { keymaps: Vec::new(), ..facts() }, Page::Keyboard));

snapshot!(snap_timezone_none, "3-timezone-none", |ui| at(ui, FirstbootFacts { timezones: Vec::new(), ..facts() }, Page::Timezone));

snapshot!(snap_timezone_no_match, "3-timezone-no-match", |ui| {
    let mut flow = at(ui, facts(), Page::Timezone);
    typed(&mut flow, "atlantis");
    flow
});

snapshot!(snap_hostname, "4-hostname", |ui| at(ui, facts(), Page::Hostname));

snapshot!(snap_hostname_invalid, "4-hostname-invalid", |ui| {
    let mut flow = at(ui, facts(), Page::Hostname);
    typed(&mut flow, ".lab-");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(snap_root, "5-root", |ui| {
    let mut flow = at(ui, facts(), Page::Root);
    typed(&mut flow, ROOT_PW);
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "Root-pw");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(snap_root_empty, "5-root-empty", |ui| at(ui, facts(), Page::Root));

snapshot!(snap_root_locked, "5-root-locked", |ui| {
    let mut flow = at(ui, facts(), Page::Root);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Char(' '));
    flow
});

snapshot!(snap_user, "6-user", |ui| {
    let mut flow = at(ui, facts(), Page::User);
    fill_user(&mut flow);
    key(&mut flow, KeyCode::Down);
    flow
});

snapshot!(snap_user_invalid, "6-user-invalid", |ui| {
    let mut flow = at(ui, facts(), Page::User);
    typed(&mut flow, "Anna");
    key(&mut flow, KeyCode::Down);
    typed(&mut flow, "Anna Example");
    key(&mut flow, KeyCode::Down);
    typed(&mut flow, "abc");
    flow
});

snapshot!(snap_user_no_homed, "6-user-no-homed", |ui| {
    let mut flow = at(ui, FirstbootFacts { homed_available: false, ..facts() }, Page::User);
    typed(&mut flow, "kiosk");
    flow
});

snapshot!(snap_user_no_homed_none, "6-user-no-homed-none", |ui| {
    let mut flow = at(ui, FirstbootFacts { homed_available: false, ..facts() }, Page::User);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Char(' '));
    flow
});

snapshot!(snap_summary, "7-summary", |ui| at(ui, facts(), Page::Summary));

snapshot!(snap_summary_credentials, "7-summary-credentials", |ui| {
    let answered = Answered { locale: true, keymap: true, root_password: true, user: true, ..Answered::default() };
    at(ui, FirstbootFacts { answered, ..facts() }, Page::Summary)
});

snapshot!(snap_summary_lockout, "7-summary-lockout", |ui| {
    let mut flow = at(ui, FirstbootFacts { homed_available: false, ..facts() }, Page::Root);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Enter);
    key(&mut flow, KeyCode::Up);
    key(&mut flow, KeyCode::Char(' '));
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(snap_apply, "8-apply", |ui| {
    let mut flow = at(ui, facts(), Page::Apply);
    for line in steps().into_iter().take(4) {
        flow.message(Msg::Step(line));
    }
    flow
});

snapshot!(snap_done, "9-done", |ui| at(ui, facts(), Page::Done));

snapshot!(snap_failed, "10-failed", |ui| {
    let mut flow = at(ui, facts(), Page::Apply);
    for line in steps() {
        flow.message(Msg::Step(line));
    }
    flow.message(Msg::Failed("creating user anna: org.freedesktop.home1.UserNameExists: a user \"anna\" exists already".into()));
    flow
});

snapshot!(snap_quit, "11-quit", |ui| {
    let mut flow = at(ui, facts(), Page::Timezone);
    flow.key(ctrl_c());
    flow
});

snapshot!(snap_quit_applying, "11-quit-applying", |ui| {
    let mut flow = at(ui, facts(), Page::Apply);
    flow.message(Msg::Step(ApplyStep::Written { setting: SettingView::Locale, file: "/etc/locale.conf".into() }));
    flow.key(ctrl_c());
    flow
});

/// The steps of applying are typed and said in the page's language: the German pages show no
/// English step (point 8 of issue 13: "wrote /etc/hostname" used to stand there as it came).
#[test]
fn applying_steps_are_translated() {
    for ascii in [false, true] {
        let mut flow = at(ui(Lang::De, ascii), facts(), Page::Apply);
        for step in steps() {
            flow.message(Msg::Step(step));
        }
        let shown = render(&flow, 80, 24);
        let fold = |s: &str| if ascii { s.replace('ü', "ue") } else { s.to_string() };
        for want in [
            "Rechnername über org.freedesktop.hostname1 gesetzt",
            "Maschinen-ID beibehalten (/etc/machine-id war schon gesetzt)",
            "Passwort von root in /etc/shadow gespeichert",
            "Benutzer anna über systemd-homed angelegt (Speicher: luks)",
        ] {
            assert!(shown.contains(&fold(want)), "{want:?} missing:\n{shown}");
        }
        for english in ["saved ", "through", "kept ", "created the user", "wrote "] {
            assert!(!shown.contains(english), "English {english:?} on the German page:\n{shown}");
        }
        flow.message(Msg::Applied(applied()));
        let done = render(&flow, 80, 24);
        assert!(done.contains(&fold("Zeitzone über org.freedesktop.timedate1 gesetzt")), "{done}");
    }
}

#[test]
fn every_setting_has_a_name_in_both_languages() {
    for lang in Lang::ALL {
        for setting in SettingView::ALL {
            assert!(lang.tr().has(setting.message_id()), "{lang:?} lacks {}", setting.message_id());
        }
    }
}
