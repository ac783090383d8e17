//! The update page: checking, the version list (running, installed, newest), downloading, done,
//! failed, the quit question; snapshots at 80×24 and 120×40, Unicode and ASCII, English and
//! German; key scripts ending in the requests the app receives; the catalog.

mod common;

use common::{VARIANTS, check_screen, render, ui};
use imprint_screens::flow::{Flow, ctrl_c, press};
use imprint_screens::i18n::message_ids;
use imprint_screens::ratatui::crossterm::event::KeyCode;
use imprint_screens::update::{Msg, Page, Request, Updater, VersionView};
use imprint_screens::{Lang, Ui};

/// Oldest first, as the engine lists them.
fn versions() -> Vec<VersionView> {
    vec![
        VersionView { version: "41.2".into(), available: false, installed: true, current: true, candidate: false, older: false },
        VersionView { version: "42.0".into(), available: true, installed: false, current: false, candidate: false, older: false },
        VersionView { version: "42.1".into(), available: true, installed: false, current: false, candidate: true, older: false },
    ]
}

fn at(ui: Ui, page: Page) -> Updater {
    let mut flow = Updater::new(ui);
    assert_eq!(flow.start(), [Request::Check]);
    if page == Page::Checking {
        return flow;
    }
    flow.message(Msg::Versions(versions()));
    match page {
        Page::Downloading | Page::Done => {
            assert_eq!(flow.key(press(KeyCode::Enter)), [Request::Apply("42.1".into())]);
            flow.message(Msg::Progress { bytes_done: 300 << 20, bytes_total: 1 << 30, rate_bytes_per_sec: Some(110 << 20) });
            if page == Page::Done {
                flow.message(Msg::Done("42.1".into()));
            }
        }
        Page::Failed => {
            flow.message(Msg::Failed("usr_42.1.raw: SHA256 mismatch; the slot was not labeled".into()));
        }
        _ => {}
    }
    assert_eq!(flow.page(), page);
    flow
}

#[test]
fn the_newest_is_chosen_first_and_installed_ones_cannot_be() {
    let mut flow = at(ui(Lang::En, false), Page::List);
    let screen = render(&flow, 100, 30);
    assert!(screen.contains("running now") && screen.contains("newest"), "{screen}");
    // the cursor starts on the newest; down to the running one: Enter does nothing
    flow.key(press(KeyCode::Down));
    flow.key(press(KeyCode::Down));
    assert!(flow.key(press(KeyCode::Enter)).is_empty());
    // an older one on offer can be chosen by name
    flow.key(press(KeyCode::Up));
    assert_eq!(flow.key(press(KeyCode::Enter)), [Request::Apply("42.0".into())]);
    assert_eq!(flow.page(), Page::Downloading);
    assert!(flow.key(press(KeyCode::Esc)).is_empty(), "Esc does not leave a download");
}

#[test]
fn done_offers_the_restart_and_failure_goes_back_to_the_list() {
    let mut flow = at(ui(Lang::En, false), Page::Done);
    assert_eq!(flow.key(press(KeyCode::Enter)), [Request::Reboot]);
    assert_eq!(flow.key(press(KeyCode::Char('q'))), [Request::Quit]);
    let mut flow = at(ui(Lang::En, false), Page::Failed);
    assert!(render(&flow, 100, 30).contains("Nothing was changed on the running system"));
    flow.key(press(KeyCode::Enter));
    assert_eq!(flow.page(), Page::List);
    assert_eq!(flow.key(press(KeyCode::Char('r'))), [Request::Check]);
}

#[test]
fn ctrl_c_asks_before_quitting() {
    let mut flow = at(ui(Lang::En, false), Page::List);
    assert!(flow.key(ctrl_c()).is_empty());
    assert!(flow.key(press(KeyCode::Char('n'))).is_empty());
    assert_eq!(flow.page(), Page::List);
    flow.key(ctrl_c());
    assert_eq!(flow.key(press(KeyCode::Char('y'))), [Request::Quit]);
}

#[test]
fn the_update_catalogs_have_the_same_ids() {
    let en = message_ids(include_str!("../i18n/update.en.ftl"));
    let de = message_ids(include_str!("../i18n/update.de.ftl"));
    assert_eq!(en, de);
    let code = include_str!("../src/update/mod.rs");
    for id in &en {
        assert!(code.contains(&format!("\"{id}\"")), "unused message {id}");
    }
}

#[test]
fn every_update_page_in_every_variant() {
    for (state, page) in [
        ("checking", Page::Checking),
        ("list", Page::List),
        ("downloading", Page::Downloading),
        ("done", Page::Done),
        ("failed", Page::Failed),
    ] {
        for (variant, lang, ascii, width, height) in VARIANTS {
            let flow = at(ui(lang, ascii), page);
            let screen = render(&flow, width, height);
            check_screen(state, variant, ascii, &screen);
            insta::assert_snapshot!(format!("update-{state}-{variant}"), screen);
        }
    }
}

/// Issue 14 point 11: a version older than what the system has is installed only after the
/// person says so in a dialog; one Enter is not enough.
#[test]
fn an_older_version_asks_before_it_is_installed() {
    let mut flow = Updater::new(ui(Lang::En, false));
    flow.start();
    flow.message(Msg::Versions(vec![
        VersionView { version: "40.9".into(), available: true, installed: false, current: false, candidate: false, older: true },
        VersionView { version: "41.2".into(), available: false, installed: true, current: true, candidate: false, older: false },
    ]));
    // newest first: 41.2 (running), then 40.9
    flow.key(press(KeyCode::Down));
    let screen = render(&flow, 100, 30);
    assert!(screen.contains("older, available"), "{screen}");
    assert!(flow.key(press(KeyCode::Enter)).is_empty(), "one Enter installed a downgrade");
    let screen = render(&flow, 100, 30);
    assert!(screen.contains("Install an older version?") && screen.contains("Version 40.9 is older"), "{screen}");
    // any key but y goes back, and nothing is installed
    assert!(flow.key(press(KeyCode::Enter)).is_empty());
    assert_eq!(flow.page(), Page::List);
    assert!(!render(&flow, 100, 30).contains("Install an older version?"));
    flow.key(press(KeyCode::Enter));
    assert_eq!(flow.key(press(KeyCode::Char('y'))), [Request::Apply("40.9".into())]);
    assert_eq!(flow.page(), Page::Downloading);
}
