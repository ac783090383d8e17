//! Snapshots of every installer page, at 80×24 and 120×40, in Unicode and ASCII, in English and
//! (at 80×24) German. Each state is reached by driving the installer with keys and the messages the
//! app would send. Every rendering is also checked for missing catalog messages, and in ASCII mode
//! for any non-ASCII cell.

mod common;

use common::*;
use imprint_screens::Ui;
use imprint_screens::flow::{Flow, ctrl_c};
use imprint_screens::installer::{Installer, InstallerFacts, Msg, Page};
use imprint_screens::ratatui::crossterm::event::KeyCode;

fn check_and_snapshot(state: &str, build: impl Fn(Ui) -> Installer) {
    for (variant, lang, ascii, width, height) in VARIANTS {
        let flow = build(ui(lang, ascii));
        let screen = render(&flow, width, height);
        check_screen(state, variant, ascii, &screen);
        insta::assert_snapshot!(format!("{state}-{variant}"), screen);
    }
}

fn at(ui: Ui, facts: InstallerFacts, page: Page) -> Installer {
    let mut flow = installer(ui, facts);
    walk_to(&mut flow, page);
    flow
}

macro_rules! snapshot {
    ($test:ident, $state:literal, $build:expr) => {
        #[test]
        fn $test() {
            check_and_snapshot($state, $build);
        }
    };
}

snapshot!(language, "1-language", |ui| at(ui, facts(), Page::Language));

snapshot!(keyboard_search, "2-keyboard-search", |ui| {
    let mut flow = at(ui, facts(), Page::Keyboard);
    typed(&mut flow, "de");
    key(&mut flow, KeyCode::Down);
    flow
});

snapshot!(keyboard_try, "2-keyboard-try", |ui| {
    let mut flow = at(ui, facts(), Page::Keyboard);
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "zy@ [x]");
    flow
});

snapshot!(keyboard_no_match, "2-keyboard-no-match", |ui| {
    let mut flow = at(ui, facts(), Page::Keyboard);
    typed(&mut flow, "klingon");
    flow
});

snapshot!(disk, "3-disk", |ui| at(ui, facts(), Page::Disk));

snapshot!(disk_fits, "3-disk-fits", |ui| {
    let mut flow = at(ui, facts(), Page::Disk);
    key(&mut flow, KeyCode::Down);
    flow
});

snapshot!(disk_too_small, "3-disk-too-small", |ui| {
    let mut flow = at(ui, facts(), Page::Disk);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(disk_unusable, "3-disk-unusable", |ui| {
    let mut flow = at(ui, facts(), Page::Disk);
    key(&mut flow, KeyCode::End);
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(disk_loading, "3-disk-loading", |ui| {
    let mut flow = at(ui, facts(), Page::Keyboard);
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(encryption_tpm, "4-encryption-tpm", |ui| at(ui, facts(), Page::Encryption));

snapshot!(encryption_passphrase, "4-encryption-passphrase-short", |ui| {
    let mut flow = at(ui, facts(), Page::Encryption);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "geheim");
    key(&mut flow, KeyCode::Tab);
    typed(&mut flow, "geheim");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(encryption_pin_mismatch, "4-encryption-pin-mismatch", |ui| {
    let mut flow = at(ui, facts(), Page::Encryption);
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "4711");
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "4712");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(encryption_none, "4-encryption-none", |ui| {
    let mut flow = at(ui, facts(), Page::Encryption);
    key(&mut flow, KeyCode::End);
    flow
});

snapshot!(encryption_no_tpm, "4-encryption-no-tpm", |ui| {
    let mut flow = at(ui, facts_without_tpm(), Page::Encryption);
    key(&mut flow, KeyCode::Home);
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(encryption_signed_policy, "4-encryption-signed-policy", |ui| at(ui, facts_with_signed_policy(), Page::Encryption));

snapshot!(encryption_pcrs_only, "4-encryption-pcrs-only", |ui| {
    let mut flow = at(ui, facts_with_signed_policy(), Page::Encryption);
    key(&mut flow, KeyCode::Right);
    flow
});

snapshot!(recovery, "5-recovery", |ui| at(ui, facts(), Page::RecoveryKey));

snapshot!(recovery_wrong, "5-recovery-wrong", |ui| {
    let mut flow = at(ui, facts(), Page::RecoveryKey);
    typed(&mut flow, "hblgehtj");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(summary, "6-summary", |ui| at(ui, facts(), Page::Summary));

snapshot!(summary_mismatch, "6-summary-mismatch", |ui| {
    let mut flow = at(ui, facts(), Page::Summary);
    typed(&mut flow, "/dev/sda");
    key(&mut flow, KeyCode::Enter);
    flow
});

snapshot!(progress, "7-progress", |ui| at(ui, facts(), Page::Progress));

snapshot!(progress_log, "7-progress-log", |ui| {
    let mut flow = at(ui, facts(), Page::Progress);
    key(&mut flow, KeyCode::Char('l'));
    flow
});

snapshot!(done_page, "8-done", |ui| {
    let mut flow = at(ui, facts(), Page::Progress);
    flow.message(Msg::Done(done(None)));
    flow
});

snapshot!(done_demo, "8-done-demo", |ui| {
    let mut flow = at(ui, InstallerFacts { demo: true, ..facts() }, Page::Progress);
    flow.message(Msg::Done(done(Some("The demo files are in /tmp/imprint-demo-4f2a: source.img and target.img."))));
    flow
});

snapshot!(failed, "9-failed", |ui| {
    let mut flow = at(ui, facts(), Page::Progress);
    flow.message(Msg::Log("copying root-x86-64: 1.1 GB of 2.4 GB".into()));
    flow.message(Msg::Failed("writing to /dev/sda at offset 1130000000: Input/output error (os error 5)".into()));
    flow
});

snapshot!(quit_dialog, "quit-dialog", |ui| {
    let mut flow = at(ui, facts(), Page::Disk);
    flow.key(ctrl_c());
    flow
});

snapshot!(quit_dialog_installing, "quit-dialog-installing", |ui| {
    let mut flow = at(ui, facts(), Page::Progress);
    flow.key(ctrl_c());
    flow
});

/// Each proof line says its state once: the mark (✓ or `[ok]`), not the mark and the word "ok"
/// ("✓ ok:", "[ok] ok:"); a failed check keeps its word after the mark.
#[test]
fn proof_lines_say_ok_once() {
    use imprint_screens::installer::{ProofKind, ProofLine};
    for (variant, lang, ascii, width, height) in VARIANTS {
        let ui = ui(lang, ascii);
        let mut flow = at(ui, facts(), Page::Progress);
        let mut view = done(None);
        view.proof.push(ProofLine { kind: ProofKind::PassphraseOpens, ok: false, detail: "keyslot 2".into() });
        flow.message(Msg::Done(view));
        let screen = render(&flow, width, height);
        let mark = ui.sym().ok;
        let lines: Vec<&str> = screen.lines().filter(|l| l.contains(&format!("{mark} "))).collect();
        assert!(lines.len() >= 4, "{variant}: no proof lines:\n{screen}");
        for line in &lines {
            let after = line.split_once(mark).map(|(_, rest)| rest.trim_start()).unwrap_or("");
            assert!(!after.to_lowercase().starts_with("ok"), "{variant}: ok said twice: {line}");
        }
        let failed = ui.t("done-check-failed");
        assert!(screen.lines().any(|l| l.contains(ui.sym().failed) && l.contains(&failed)), "{variant}: the failed check:\n{screen}");
    }
}
