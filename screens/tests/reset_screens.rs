//! The kiosk reset menu: the PIN gate, the menu's entries, the typed confirmation before a factory
//! reset, progress, done and failed, the quit question; snapshots of every page at 80×24 and
//! 120×40, Unicode and ASCII, English and (at 80×24) German; and its catalog.

mod common;

use common::{VARIANTS, check_screen, render, ui};
use imprint_screens::flow::{Flow, ctrl_c, press, type_text};
use imprint_screens::i18n::message_ids;
use imprint_screens::ratatui::crossterm::event::{KeyCode, KeyEvent};
use imprint_screens::reset::{MenuEntry, Msg, Page, Request, ResetFacts, ResetMenu, ResetStepView};
use imprint_screens::{Lang, Ui};
use zeroize::Zeroizing;

const PIN: &str = "4711";

// ---------------------------------------------------------------------------------------------
// Fixtures and helpers

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn facts() -> ResetFacts {
    ResetFacts {
        os_name: "Example OS".into(),
        os_version: "42.1".into(),
        disk: "/dev/nvme0n1 (WD Black SN770 1TB)".into(),
        last_reset: Some("2025-03-14 09:26".into()),
        erase: strings(&["user data (partition \"home\", 490 GB)", "settings and logs (partition \"var\", 8 GB)", "the TPM's keys"]),
        keep: strings(&["the operating system (Example OS 42.1)", "the boot partition (ESP)", "the reset log on the ESP"]),
        pin_required: true,
    }
}

fn menu(ui: Ui, facts: ResetFacts) -> ResetMenu {
    let mut flow = ResetMenu::new(ui, facts);
    assert!(flow.start().is_empty());
    flow
}

fn keys(flow: &mut ResetMenu, keys: impl IntoIterator<Item = KeyEvent>) -> Vec<Request> {
    keys.into_iter().flat_map(|key| flow.key(key)).collect()
}

fn key(flow: &mut ResetMenu, code: KeyCode) -> Vec<Request> {
    flow.key(press(code))
}

fn typed(flow: &mut ResetMenu, text: &str) -> Vec<Request> {
    keys(flow, type_text(text))
}

/// Type the PIN and answer as the app would (right only for [`PIN`]).
fn enter_pin(flow: &mut ResetMenu, pin: &str) {
    typed(flow, pin);
    let requests = key(flow, KeyCode::Enter);
    let [Request::CheckPin(sent)] = requests.as_slice() else { panic!("expected one CheckPin, got {requests:?}") };
    assert_eq!(sent.as_str(), pin);
    flow.message(Msg::PinResult(sent.as_str() == PIN));
}

fn steps() -> Vec<ResetStepView> {
    let (home, var) = (|| "home".to_string(), || "var".to_string());
    vec![
        ResetStepView::Erase { number: 4, label: home(), size: 20_000_000_000 },
        ResetStepView::Erase { number: 5, label: var(), size: 4_000_000_000 },
        ResetStepView::TableWithout { left: 3 },
        ResetStepView::Format { number: 4, label: home(), fs: "btrfs".into(), encrypted: true },
        ResetStepView::Format { number: 5, label: var(), fs: "ext4".into(), encrypted: false },
        ResetStepView::Table { partitions: 5 },
        ResetStepView::Prove,
        ResetStepView::EspLog,
    ]
}

/// A menu on `page`, reached with keys and the messages the app would send.
fn at(ui: Ui, page: Page) -> ResetMenu {
    let mut flow = menu(ui, facts());
    if page == Page::Pin {
        return flow;
    }
    enter_pin(&mut flow, PIN);
    if page == Page::Menu {
        return flow;
    }
    key(&mut flow, KeyCode::Enter);
    if page == Page::Confirm {
        return flow;
    }
    let word = imprint_screens::reset::confirm_word(ui.lang);
    typed(&mut flow, &word);
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::FactoryReset]);
    let lines = steps();
    let shown = if page == Page::Progress { 3 } else { lines.len() };
    for line in lines.into_iter().take(shown) {
        flow.message(Msg::Step(line));
    }
    match page {
        Page::Done => {
            flow.message(Msg::Done);
        }
        Page::Failed => {
            flow.message(Msg::Failed("writing the reset log on the ESP: No space left on device".into()));
        }
        _ => {}
    }
    assert_eq!(flow.page(), page);
    flow
}

fn screen(flow: &ResetMenu) -> String {
    render(flow, 120, 40)
}

// ---------------------------------------------------------------------------------------------
// Flow tests

#[test]
fn the_pin_gate_opens_only_on_the_right_pin() {
    let mut flow = menu(ui(Lang::En, false), facts());
    assert_eq!(flow.page(), Page::Pin);
    assert!(key(&mut flow, KeyCode::Enter).is_empty(), "an empty PIN is not sent");
    typed(&mut flow, "1234");
    assert!(!screen(&flow).contains("1234"), "the PIN is masked");
    assert!(screen(&flow).contains("[****"));
    let requests = key(&mut flow, KeyCode::Enter);
    assert_eq!(requests, [Request::CheckPin(Zeroizing::new("1234".into()))]);
    assert_eq!(format!("{requests:?}"), "[CheckPin([redacted])]");
    // While the app checks, keys do nothing.
    assert!(typed(&mut flow, "99").is_empty());
    assert!(key(&mut flow, KeyCode::Enter).is_empty());
    assert!(screen(&flow).contains("Checking the PIN"));
    flow.message(Msg::PinResult(false));
    assert_eq!(flow.page(), Page::Pin);
    assert_eq!(flow.wrong_pins(), 1);
    assert!(screen(&flow).contains("Wrong PIN (1 wrong attempt)"));
    enter_pin(&mut flow, "0000");
    enter_pin(&mut flow, "1111");
    assert_eq!(flow.wrong_pins(), 3);
    let shown = screen(&flow);
    assert!(shown.contains("Wrong PIN (3 wrong attempts)") && shown.contains("ask the person who looks after this device"), "{shown}");
    // A stray answer on another page changes nothing; the right PIN opens the menu.
    enter_pin(&mut flow, PIN);
    assert_eq!(flow.page(), Page::Menu);
    assert_eq!(flow.wrong_pins(), 0);
    flow.message(Msg::PinResult(false));
    assert_eq!(flow.page(), Page::Menu);
}

#[test]
fn a_wait_after_too_many_wrong_pins_is_said() {
    let mut flow = menu(ui(Lang::En, false), facts());
    typed(&mut flow, "0000");
    assert_eq!(key(&mut flow, KeyCode::Enter).len(), 1);
    flow.message(Msg::PinWait(40));
    assert_eq!(flow.page(), Page::Pin);
    let shown = screen(&flow);
    assert!(shown.contains("Too many wrong PINs. The next try is taken in 40 seconds."), "{shown}");
    // a new try can be typed and sent; the app decides
    typed(&mut flow, "1234");
    assert_eq!(key(&mut flow, KeyCode::Enter).len(), 1);
    flow.message(Msg::PinResult(true));
    assert_eq!(flow.page(), Page::Menu);
    let mut de = menu(ui(Lang::De, false), facts());
    typed(&mut de, "0000");
    key(&mut de, KeyCode::Enter);
    de.message(Msg::PinWait(1));
    assert!(screen(&de).contains("in 1 Sekunde angenommen"), "{}", screen(&de));
}

#[test]
fn without_a_pin_the_menu_comes_first() {
    let flow = menu(ui(Lang::En, false), ResetFacts { pin_required: false, ..facts() });
    assert_eq!(flow.page(), Page::Menu);
    let shown = screen(&flow);
    for text in ["Example OS 42.1", "/dev/nvme0n1", "2025-03-14 09:26", "Factory reset...", "Restart", "Power off", "Quit"] {
        assert!(shown.contains(text), "{text} missing:\n{shown}");
    }
    let never = menu(ui(Lang::En, false), ResetFacts { pin_required: false, last_reset: None, ..facts() });
    assert!(screen(&never).contains("Last reset  never"));
}

#[test]
fn the_menu_entries_send_their_requests() {
    let mut flow = at(ui(Lang::En, false), Page::Menu);
    assert_eq!(flow.selected(), MenuEntry::FactoryReset);
    key(&mut flow, KeyCode::Down);
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::Reboot]);
    key(&mut flow, KeyCode::Down);
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::PowerOff]);
    key(&mut flow, KeyCode::Down);
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::Quit]);
    key(&mut flow, KeyCode::Home);
    assert!(key(&mut flow, KeyCode::Enter).is_empty(), "factory reset only opens its page");
    assert_eq!(flow.page(), Page::Confirm);
}

#[test]
fn a_factory_reset_is_requested_only_after_the_word_is_typed() {
    let mut flow = at(ui(Lang::En, false), Page::Confirm);
    let shown = screen(&flow);
    for text in [
        "Will be erased",
        "user data (partition \"home\", 490 GB)",
        "Stays",
        "the operating system (Example OS 42.1)",
        "To reset, type ERASE:",
    ] {
        assert!(shown.contains(text), "{text} missing:\n{shown}");
    }
    let mut requests = key(&mut flow, KeyCode::Enter);
    for attempt in ["erase", "ERASED", "LÖSCHEN", "yes"] {
        typed(&mut flow, attempt);
        requests.extend(key(&mut flow, KeyCode::Enter));
        assert_eq!(flow.page(), Page::Confirm);
        assert!(screen(&flow).contains("That is not ERASE."), "{attempt}");
        for _ in 0..attempt.chars().count() {
            key(&mut flow, KeyCode::Backspace);
        }
    }
    assert!(requests.is_empty(), "nothing before the word: {requests:?}");
    // Esc goes back, and the word must be typed anew.
    typed(&mut flow, "ERA");
    key(&mut flow, KeyCode::Esc);
    assert_eq!(flow.page(), Page::Menu);
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Confirm);
    typed(&mut flow, "SE");
    assert!(key(&mut flow, KeyCode::Enter).is_empty());
    key(&mut flow, KeyCode::Backspace);
    key(&mut flow, KeyCode::Backspace);
    typed(&mut flow, "ERASE");
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::FactoryReset]);
    assert_eq!(flow.page(), Page::Progress);
    assert!(keys(&mut flow, [press(KeyCode::Enter), press(KeyCode::Esc)]).is_empty(), "no key starts a second reset");
}

#[test]
fn the_german_word_may_be_typed_with_or_without_umlaut() {
    for word in ["LÖSCHEN", "LOESCHEN"] {
        let mut flow = at(ui(Lang::De, false), Page::Confirm);
        assert!(screen(&flow).contains("Zum Zurücksetzen LÖSCHEN tippen:"));
        typed(&mut flow, word);
        assert_eq!(key(&mut flow, KeyCode::Enter), [Request::FactoryReset], "{word}");
    }
    let flow = at(ui(Lang::De, true), Page::Confirm);
    assert!(screen(&flow).contains("Zum Zuruecksetzen LOESCHEN tippen:"), "ASCII shows the folded word");
}

#[test]
fn progress_then_done_offers_restart_and_power_off() {
    let mut flow = at(ui(Lang::En, false), Page::Progress);
    assert!(screen(&flow).contains("writing the partition table without the erased partitions (3 left)"), "{}", screen(&flow));
    for line in steps().into_iter().skip(3) {
        flow.message(Msg::Step(line));
    }
    flow.message(Msg::Done);
    assert_eq!(flow.page(), Page::Done);
    assert!(screen(&flow).contains("The factory reset is complete."));
    assert!(key(&mut flow, KeyCode::Esc).is_empty());
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::Reboot]);
    key(&mut flow, KeyCode::Down);
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::PowerOff]);
}

#[test]
fn a_failure_is_shown_and_leads_back_to_the_menu() {
    let mut flow = at(ui(Lang::En, false), Page::Failed);
    assert!(screen(&flow).contains("Error: writing the reset log on the ESP: No space left on device"));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Menu);
}

#[test]
fn ctrl_c_asks_first_n_continues_y_quits() {
    let mut flow = at(ui(Lang::En, false), Page::Confirm);
    typed(&mut flow, "ER");
    assert!(flow.key(ctrl_c()).is_empty());
    assert!(flow.quit_open());
    assert!(typed(&mut flow, "ASE").is_empty(), "keys are swallowed while asking");
    assert!(key(&mut flow, KeyCode::Char('n')).is_empty());
    assert_eq!(flow.page(), Page::Confirm);
    typed(&mut flow, "ASE");
    assert_eq!(key(&mut flow, KeyCode::Enter), [Request::FactoryReset], "the page works on after n");
    flow.key(ctrl_c());
    assert!(screen(&flow).contains("The factory reset is running."));
    assert_eq!(key(&mut flow, KeyCode::Char('y')), [Request::Quit]);
    // Esc on the PIN page and the menu asks too.
    let mut flow = menu(ui(Lang::En, false), facts());
    key(&mut flow, KeyCode::Esc);
    assert!(flow.quit_open());
    key(&mut flow, KeyCode::Esc);
    enter_pin(&mut flow, PIN);
    key(&mut flow, KeyCode::Esc);
    assert!(flow.quit_open());
    assert_eq!(key(&mut flow, KeyCode::Char('j')), [Request::Quit]);
}

// ---------------------------------------------------------------------------------------------
// Catalog

#[test]
fn the_reset_catalogs_have_the_same_ids_and_every_id_used_exists() {
    let en = message_ids(include_str!("../i18n/reset.en.ftl"));
    let mut de = message_ids(include_str!("../i18n/reset.de.ftl"));
    let mut en_sorted = en.clone();
    en_sorted.sort();
    de.sort();
    assert_eq!(en_sorted, de, "reset.en.ftl and reset.de.ftl differ");
    let sources = [
        include_str!("../src/reset/mod.rs"),
        include_str!("../src/reset/erase.rs"),
        include_str!("../src/reset/menu.rs"),
        include_str!("../src/reset/pin.rs"),
    ];
    let mut used = Vec::new();
    for source in sources {
        for piece in source.split('"').skip(1).step_by(2) {
            if piece.starts_with("reset-") && piece.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                used.push(piece.to_owned());
            }
        }
    }
    used.sort();
    used.dedup();
    for id in &used {
        assert!(en.contains(id), "{id} is used but not in reset.en.ftl");
        for lang in Lang::ALL {
            assert!(lang.tr().has(id), "{lang:?} cannot format {id}");
        }
    }
    let unused: Vec<&String> = en.iter().filter(|id| !used.contains(id)).collect();
    assert!(unused.is_empty(), "messages no code uses: {unused:?}");
}

// ---------------------------------------------------------------------------------------------
// Snapshots

fn check_and_snapshot(state: &str, build: impl Fn(Ui) -> ResetMenu) {
    for (variant, lang, ascii, width, height) in VARIANTS {
        let flow = build(ui(lang, ascii));
        let screen = render(&flow, width, height);
        check_screen(state, variant, ascii, &screen);
        assert!(!screen.contains(PIN), "{state} {variant}: the PIN is on screen");
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

snapshot!(snap_pin, "1-pin", |ui| {
    let mut flow = at(ui, Page::Pin);
    typed(&mut flow, "47");
    flow
});

snapshot!(snap_pin_wrong, "1-pin-wrong", |ui| {
    let mut flow = at(ui, Page::Pin);
    for pin in ["1234", "0000", "1111"] {
        enter_pin(&mut flow, pin);
    }
    flow
});

snapshot!(snap_pin_checking, "1-pin-checking", |ui| {
    let mut flow = at(ui, Page::Pin);
    typed(&mut flow, PIN);
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(snap_menu, "2-menu", |ui| at(ui, Page::Menu));

snapshot!(snap_menu_power_off, "2-menu-power-off", |ui| {
    let mut flow = at(ui, Page::Menu);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Down);
    flow
});

snapshot!(snap_confirm, "3-confirm", |ui| {
    let mut flow = at(ui, Page::Confirm);
    typed(&mut flow, "ER");
    flow
});

snapshot!(snap_confirm_wrong, "3-confirm-wrong", |ui| {
    let mut flow = at(ui, Page::Confirm);
    typed(&mut flow, "erase");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(snap_progress, "4-progress", |ui| at(ui, Page::Progress));

snapshot!(snap_done, "5-done", |ui| at(ui, Page::Done));

snapshot!(snap_failed, "6-failed", |ui| at(ui, Page::Failed));

snapshot!(snap_quit, "7-quit", |ui| {
    let mut flow = at(ui, Page::Menu);
    flow.key(ctrl_c());
    flow
});

snapshot!(snap_quit_running, "7-quit-running", |ui| {
    let mut flow = at(ui, Page::Progress);
    flow.key(ctrl_c());
    flow
});

/// The steps are typed and said in the menu's language: the German progress and done pages show
/// no English step (point 8 of issue 13: the engine's "[1/3] erase partition …" stood there).
#[test]
fn reset_steps_are_translated() {
    for ascii in [false, true] {
        let mut flow = at(ui(Lang::De, ascii), Page::Progress);
        for step in steps().into_iter().skip(3) {
            flow.message(Msg::Step(step));
        }
        let fold = |s: &str| if ascii { imprint_screens::i18n::ascii_fold(s) } else { s.to_string() };
        let progress = screen(&flow);
        for want in [
            "Partition 4 „home“ (20,0 GB) unwiederbringlich löschen",
            "Partitionstabelle ohne die gelöschten Partitionen schreiben (3 bleiben)",
            "Partition 4 „home“ verschlüsseln und als btrfs formatieren",
            "Partition 5 „var“ als ext4 formatieren",
            "Zurücksetzen auf der EFI-Systempartition vermerken",
        ] {
            assert!(progress.contains(&fold(want)), "{want:?} missing:\n{progress}");
        }
        for english in ["erasing", "writing", "formatting", "partition table", "recording"] {
            assert!(!progress.contains(english), "English {english:?} on the German page:\n{progress}");
        }
        flow.message(Msg::Step(ResetStepView::Logged { line: "2026-12-06T04:00:00Z reset: partition 4".into() }));
        flow.message(Msg::Done);
        let done = screen(&flow);
        assert!(done.contains(&fold("auf der EFI-Systempartition vermerkt: 2026-12-06T04:00:00Z")), "{done}");
    }
    let mut flow = at(ui(Lang::De, false), Page::Progress);
    flow.message(Msg::Step(ResetStepView::Requested { variable: "FactoryResetRequest".into(), value: "1".into() }));
    flow.message(Msg::Step(ResetStepView::RestartToReset));
    let shown = screen(&flow);
    assert!(shown.contains("angefordert: FactoryResetRequest = 1"), "{shown}");
    assert!(shown.contains("der nächste Start löscht Zustand und Benutzerdaten"), "{shown}");
}
