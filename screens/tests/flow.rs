//! The installer driven by key scripts, with the messages the app would send: the answers end up
//! in the expected install request; Esc goes back without losing answers; Ctrl-C asks; the gates
//! (typed disk name, recovery key group, typeable secrets, unusable disks, missing TPM) hold.

mod common;

use common::*;
use imprint_screens::flow::{Flow, ctrl_c, press};
use imprint_screens::installer::{EncryptionChoice, EncryptionKind, InstallRequest, InstallerFacts, Msg, Page, Request};
use imprint_screens::ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use imprint_screens::{DiskRow, Lang};
use zeroize::Zeroizing;

fn expected() -> InstallRequest {
    InstallRequest {
        lang: Lang::De,
        keymap: "fr-latin9".into(),
        disk: "/dev/nvme0n1".into(),
        encryption: EncryptionChoice::Passphrase(Zeroizing::new("correct horse".into())),
        signed_policy: false,
    }
}

/// The whole installer with non-default answers, up to the summary page (not yet confirmed).
/// Returns every request made on the way.
fn script_to_summary(flow: &mut imprint_screens::installer::Installer) -> Vec<Request> {
    let mut all = Vec::new();
    let mut step = |flow: &mut imprint_screens::installer::Installer, requests: Vec<Request>| {
        answer(flow, &requests);
        all.extend(requests);
    };
    // Language: Deutsch.
    let r = key(flow, KeyCode::Down);
    step(flow, r);
    assert_eq!(flow.ui().lang, Lang::De);
    let r = key(flow, KeyCode::Enter);
    step(flow, r);
    assert_eq!(flow.page(), Page::Keyboard);
    // Keyboard: search "fr-lat", take the second match.
    let r = typed(flow, "fr-lat");
    step(flow, r);
    let r = key(flow, KeyCode::Down);
    step(flow, r);
    assert_eq!(flow.keymap(), Some("fr-latin9"));
    let r = key(flow, KeyCode::Enter);
    step(flow, r);
    assert_eq!(flow.page(), Page::Disk);
    // Disk: the second one, which fits.
    let r = key(flow, KeyCode::Down);
    step(flow, r);
    let r = key(flow, KeyCode::Enter);
    step(flow, r);
    assert_eq!(flow.page(), Page::Encryption);
    // Encryption: passphrase, typed twice.
    let r = keys(flow, [press(KeyCode::Down), press(KeyCode::Down), press(KeyCode::Enter)]);
    step(flow, r);
    let r = typed(flow, "correct horse");
    step(flow, r);
    let r = key(flow, KeyCode::Tab);
    step(flow, r);
    let r = typed(flow, "correct horse");
    step(flow, r);
    let r = key(flow, KeyCode::Enter);
    step(flow, r);
    assert_eq!(flow.page(), Page::RecoveryKey);
    // Recovery key: group 3 typed back.
    let r = typed(flow, GROUP3);
    step(flow, r);
    let r = key(flow, KeyCode::Enter);
    step(flow, r);
    assert_eq!(flow.page(), Page::Summary);
    all
}

#[test]
fn a_key_script_through_the_installer_ends_in_the_expected_install_request() {
    let mut flow = installer(ui(Lang::En, false), facts());
    let requests = script_to_summary(&mut flow);
    assert!(requests.contains(&Request::ApplyKeymap("de-latin1-nodeadkeys".into())), "{requests:?}");
    assert!(requests.contains(&Request::ApplyKeymap("fr-latin9".into())));
    assert!(matches!(requests.last(), Some(Request::Plan(r)) if r.disk == "/dev/nvme0n1" && r.keymap == "fr-latin9"), "{requests:?}");
    assert!(requests.contains(&Request::ListDisks));
    assert!(requests.contains(&Request::NewRecoveryKey));
    assert!(!requests.iter().any(|r| matches!(r, Request::StartInstall(_))));
    typed(&mut flow, "nvme0n1");
    let requests = key(&mut flow, KeyCode::Enter);
    assert_eq!(requests, vec![Request::StartInstall(expected())]);
    assert_eq!(flow.page(), Page::Progress);
}

#[test]
fn esc_from_every_page_goes_back_and_the_answers_stay() {
    let mut flow = installer(ui(Lang::En, false), facts());
    script_to_summary(&mut flow);
    typed(&mut flow, "nvme");
    let back = [Page::RecoveryKey, Page::Encryption, Page::Disk, Page::Keyboard, Page::Language];
    for page in back {
        let requests = key(&mut flow, KeyCode::Esc);
        answer(&mut flow, &requests);
        assert_eq!(flow.page(), page);
        assert_eq!(flow.install_request(), Some(expected()), "answers lost on the way back to {page:?}");
    }
    // Esc on the first page asks to quit; n stays.
    key(&mut flow, KeyCode::Esc);
    assert!(flow.quit_open());
    assert!(key(&mut flow, KeyCode::Char('n')).is_empty());
    assert_eq!(flow.page(), Page::Language);
    assert_eq!(flow.ui().lang, Lang::De);
    // Forward again with Enter alone: every answer is still there.
    for page in [Page::Keyboard, Page::Disk, Page::Encryption, Page::RecoveryKey, Page::Summary] {
        let requests = key(&mut flow, KeyCode::Enter);
        assert!(!requests.contains(&Request::NewRecoveryKey), "the key was made again");
        answer(&mut flow, &requests);
        assert_eq!(flow.page(), page);
    }
    typed(&mut flow, "0n1");
    assert_eq!(key(&mut flow, KeyCode::Enter), vec![Request::StartInstall(expected())]);
}

#[test]
fn no_encryption_skips_the_recovery_key_page() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Encryption);
    key(&mut flow, KeyCode::End);
    let requests = key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
    assert!(
        matches!(requests.as_slice(), [Request::Plan(r)] if r.disk == "/dev/sda" && r.encryption == EncryptionChoice::None),
        "{requests:?}"
    );
    key(&mut flow, KeyCode::Esc);
    assert_eq!(flow.page(), Page::Encryption);
    assert_eq!(flow.encryption_kind(), EncryptionKind::None);
}

#[test]
fn tpm_and_pin_make_a_tpm_pin_request() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Encryption);
    keys(&mut flow, [press(KeyCode::Down), press(KeyCode::Enter)]);
    typed(&mut flow, "4711");
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "4711");
    let requests = key(&mut flow, KeyCode::Enter);
    answer(&mut flow, &requests);
    assert_eq!(flow.page(), Page::RecoveryKey);
    assert_eq!(flow.install_request().map(|r| r.encryption), Some(EncryptionChoice::TpmPin(Zeroizing::new("4711".into()))));
}

#[test]
fn ctrl_c_asks_n_continues_and_y_quits() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Disk);
    assert!(flow.key(ctrl_c()).is_empty());
    assert!(flow.quit_open());
    key(&mut flow, KeyCode::Down);
    key(&mut flow, KeyCode::Enter);
    assert!(!flow.quit_open(), "Enter answers no");
    assert_eq!(flow.page(), Page::Disk);
    assert_eq!(flow.disk(), Some("/dev/sda"), "keys while asking must not reach the page");
    flow.key(ctrl_c());
    assert!(key(&mut flow, KeyCode::Char('n')).is_empty());
    assert!(!flow.quit_open());
    flow.key(ctrl_c());
    assert_eq!(key(&mut flow, KeyCode::Char('y')), vec![Request::Quit]);
}

#[test]
fn on_the_progress_page_esc_does_nothing_and_ctrl_c_still_asks() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Progress);
    assert!(key(&mut flow, KeyCode::Esc).is_empty());
    assert_eq!(flow.page(), Page::Progress);
    assert!(!flow.quit_open());
    flow.key(ctrl_c());
    assert!(flow.quit_open());
    assert_eq!(key(&mut flow, KeyCode::Char('y')), vec![Request::Quit]);
}

#[test]
fn the_install_starts_only_after_the_disk_name_is_typed_exactly() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::RecoveryKey);
    typed(&mut flow, GROUP3);
    let plan_request = key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
    // Before the plan arrives, even the right name does nothing.
    typed(&mut flow, "sda");
    assert!(key(&mut flow, KeyCode::Enter).is_empty());
    answer(&mut flow, &plan_request);
    // A plan for another disk is ignored.
    flow.message(Msg::Plan(plan("/dev/sdb")));
    for wrong in ["", "/dev/sda", "SDA", "sd", "sdaa"] {
        keys(&mut flow, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
        typed(&mut flow, wrong);
        assert!(key(&mut flow, KeyCode::Enter).is_empty(), "{wrong:?} started the install");
        assert_eq!(flow.page(), Page::Summary);
    }
    keys(&mut flow, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut flow, "sda");
    let requests = key(&mut flow, KeyCode::Enter);
    assert!(matches!(requests.as_slice(), [Request::StartInstall(r)] if r.disk == "/dev/sda"), "{requests:?}");
}

#[test]
fn the_recovery_key_page_wants_the_third_group() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::RecoveryKey);
    assert!(key(&mut flow, KeyCode::Enter).is_empty());
    assert_eq!(flow.page(), Page::RecoveryKey);
    typed(&mut flow, "hblgehtj");
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::RecoveryKey, "group 2 was accepted");
    keys(&mut flow, [KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)]);
    typed(&mut flow, &format!(" {} ", GROUP3.to_uppercase()));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Summary);
}

#[test]
fn a_secret_must_be_typeable_with_the_chosen_keymap() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Encryption);
    assert_eq!(flow.keymap(), Some("us"));
    keys(&mut flow, [press(KeyCode::Down), press(KeyCode::Down), press(KeyCode::Enter)]);
    typed(&mut flow, "grüne wiese");
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "grüne wiese");
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Encryption);
    assert!(render(&flow, 80, 24).contains("\"ü\" can't be typed"), "{}", render(&flow, 80, 24));
    // Too short, and different twice, are refused too.
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Encryption);
    keys(&mut flow, [press(KeyCode::Down), press(KeyCode::Down), press(KeyCode::Enter)]);
    typed(&mut flow, "short");
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "short");
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Encryption);
    assert_eq!(flow.install_request().map(|r| r.encryption), None);
}

#[test]
fn umlauts_are_fine_with_a_german_keymap() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Keyboard);
    typed(&mut flow, "de-latin1");
    walk_to(&mut flow, Page::Encryption);
    assert_eq!(flow.keymap(), Some("de-latin1"));
    keys(&mut flow, [press(KeyCode::Down), press(KeyCode::Down), press(KeyCode::Enter)]);
    typed(&mut flow, "grüne wiese");
    key(&mut flow, KeyCode::Enter);
    typed(&mut flow, "grüne wiese");
    let requests = key(&mut flow, KeyCode::Enter);
    assert_eq!(requests, vec![Request::NewRecoveryKey]);
}

#[test]
fn disks_that_cannot_be_used_cannot_be_chosen() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Disk);
    // sdb is too small, sdc has reasons.
    for index in [2, 3] {
        key(&mut flow, KeyCode::Home);
        for _ in 0..index {
            key(&mut flow, KeyCode::Down);
        }
        assert!(key(&mut flow, KeyCode::Enter).is_empty());
        assert_eq!(flow.page(), Page::Disk);
    }
    // A usable disk without a verdict cannot be chosen either.
    let unplanned = DiskRow { path: "/dev/sdd".into(), size_bytes: 64_000_000_000, model: "x".into(), ..DiskRow::default() };
    flow.message(Msg::Disks(vec![unplanned]));
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Disk);
    // r asks again.
    assert_eq!(key(&mut flow, KeyCode::Char('r')), vec![Request::ListDisks]);
}

#[test]
fn the_selected_disk_survives_a_refresh() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Disk);
    key(&mut flow, KeyCode::Down);
    assert_eq!(flow.disk(), Some("/dev/nvme0n1"));
    let mut rows = disks();
    rows.reverse();
    flow.message(Msg::Disks(rows));
    assert_eq!(flow.disk(), Some("/dev/nvme0n1"));
}

#[test]
fn the_signed_pcr_11_policy_is_offered_only_when_the_image_has_a_key_and_left_right_choose_it() {
    // without a key: no policy row, and the request never asks for a signed policy
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Encryption);
    let screen = render(&flow, 120, 40);
    assert!(!screen.contains("signed PCR 11"), "{screen}");
    key(&mut flow, KeyCode::Right);
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.install_request().map(|r| r.signed_policy), Some(false));

    // with a key: offered, chosen by default, explained, and the PCR 7 warning is not shown
    let mut flow = installer(ui(Lang::En, false), facts_with_signed_policy());
    walk_to(&mut flow, Page::Encryption);
    let screen = render(&flow, 120, 40);
    for want in [
        "Policy:",
        "PCR 7 + signed PCR 11",
        "PCR 7 only",
        "signed with the image's key",
        "sha256 4f2a",
        "starting a system image that was not signed with the image's key",
    ] {
        assert!(screen.contains(want), "{want:?} missing:\n{screen}");
    }
    assert!(!screen.contains("Secure Boot is off"), "the PCR 7 warning does not apply to a signed policy:\n{screen}");
    // Right: PCR 7 only, with its own explanation and the engine's warning
    key(&mut flow, KeyCode::Right);
    let screen = render(&flow, 120, 40);
    assert!(screen.contains("any system started the same way can unlock the"), "{screen}");
    assert!(screen.contains("Secure Boot is off"), "{screen}");
    assert!(!screen.contains("starting a system image that was not signed"), "{screen}");
    let requests = key(&mut flow, KeyCode::Enter);
    answer(&mut flow, &requests);
    assert_eq!(flow.page(), Page::RecoveryKey);
    assert_eq!(flow.install_request().map(|r| r.signed_policy), Some(false));
    // back, Left: signed again; the summary says which policy
    key(&mut flow, KeyCode::Esc);
    assert_eq!(flow.page(), Page::Encryption);
    key(&mut flow, KeyCode::Left);
    let requests = key(&mut flow, KeyCode::Enter);
    answer(&mut flow, &requests);
    assert_eq!(flow.install_request().map(|r| r.signed_policy), Some(true));

    // TPM and PIN carry the policy too; a passphrase never does
    key(&mut flow, KeyCode::Esc);
    key(&mut flow, KeyCode::Down);
    assert!(render(&flow, 120, 40).contains("PCR 7 + signed PCR 11"));
    key(&mut flow, KeyCode::Down);
    let screen = render(&flow, 120, 40);
    assert!(!screen.contains("Policy:"), "a passphrase has no TPM policy:\n{screen}");
    key(&mut flow, KeyCode::Right);
    key(&mut flow, KeyCode::End);
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.install_request().map(|r| r.signed_policy), Some(false), "no encryption, no policy");
}

#[test]
fn the_summary_names_the_policy_chosen() {
    for (keys_on_page, want) in [(vec![], "PCR 7 + signed PCR 11"), (vec![KeyCode::Right], "PCR 7 only")] {
        let mut flow = installer(ui(Lang::En, false), facts_with_signed_policy());
        walk_to(&mut flow, Page::Encryption);
        for k in keys_on_page {
            key(&mut flow, k);
        }
        walk_to(&mut flow, Page::Summary);
        let screen = render(&flow, 120, 40);
        assert!(screen.contains(&format!("Encryption: TPM (unlocks by itself), {want}.")), "{screen}");
    }
}

#[test]
fn tpm_options_are_disabled_when_the_tpm_is_unusable() {
    let mut flow = installer(ui(Lang::En, false), facts_without_tpm());
    walk_to(&mut flow, Page::Disk);
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Encryption);
    assert_eq!(flow.encryption_kind(), EncryptionKind::Passphrase, "the default must be usable");
    for ups in [2, 1] {
        for _ in 0..ups {
            key(&mut flow, KeyCode::Up);
        }
        assert!(flow.encryption_kind().needs_tpm());
        assert!(key(&mut flow, KeyCode::Enter).is_empty());
        assert_eq!(flow.page(), Page::Encryption);
        assert_eq!(flow.install_request(), None);
        let screen = render(&flow, 120, 40);
        assert!(screen.contains("No TPM 2.0 device was found."), "the engine's advice is shown verbatim:\n{screen}");
        key(&mut flow, KeyCode::End);
        key(&mut flow, KeyCode::Up);
    }
}

#[test]
fn the_keyboard_page_applies_keymaps_live_and_has_a_field_to_try() {
    let mut flow = installer(ui(Lang::En, false), facts());
    let requests = key(&mut flow, KeyCode::Enter);
    assert_eq!(requests, vec![Request::ApplyKeymap("us".into())]);
    assert_eq!(key(&mut flow, KeyCode::Up), vec![Request::ApplyKeymap("uk".into())]);
    assert_eq!(key(&mut flow, KeyCode::PageUp), vec![Request::ApplyKeymap("jp106".into())]);
    assert_eq!(key(&mut flow, KeyCode::Home), vec![Request::ApplyKeymap("azerty".into())]);
    key(&mut flow, KeyCode::Tab);
    assert!(typed(&mut flow, "dvorak").is_empty(), "typing into the try field must not search");
    assert_eq!(flow.keymap(), Some("azerty"));
    assert!(render(&flow, 80, 24).contains("[dvorak"));
    key(&mut flow, KeyCode::Tab);
    let requests = typed(&mut flow, "dvorak");
    assert_eq!(requests.last(), Some(&Request::ApplyKeymap("dvorak".into())));
    // No match: Enter does nothing.
    typed(&mut flow, "zzz");
    assert_eq!(flow.keymap(), None);
    assert!(key(&mut flow, KeyCode::Enter).is_empty());
    assert_eq!(flow.page(), Page::Keyboard);
}

#[test]
fn the_done_page_offers_reboot_power_off_and_quit() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Progress);
    flow.message(Msg::Done(done(None)));
    assert_eq!(flow.page(), Page::Done);
    assert!(key(&mut flow, KeyCode::Esc).is_empty());
    assert_eq!(key(&mut flow, KeyCode::Enter), vec![Request::Reboot]);
    key(&mut flow, KeyCode::Right);
    assert_eq!(key(&mut flow, KeyCode::Enter), vec![Request::PowerOff]);
    assert_eq!(key(&mut flow, KeyCode::Char('q')), vec![Request::Quit]);
    assert_eq!(key(&mut flow, KeyCode::Char('r')), vec![Request::Reboot]);
}

#[test]
fn in_demo_mode_the_done_page_only_quits() {
    let mut flow = installer(ui(Lang::En, false), InstallerFacts { demo: true, ..facts() });
    assert!(flow.ui().demo);
    walk_to(&mut flow, Page::Progress);
    flow.message(Msg::Done(done(Some("The demo files are in /tmp/d."))));
    assert!(key(&mut flow, KeyCode::Char('r')).is_empty());
    assert!(key(&mut flow, KeyCode::Char('p')).is_empty());
    key(&mut flow, KeyCode::Right);
    assert_eq!(key(&mut flow, KeyCode::Enter), vec![Request::Quit]);
    let screen = render(&flow, 80, 24);
    assert!(screen.contains("DEMO") && screen.contains("/tmp/d."), "{screen}");
}

#[test]
fn a_failure_shows_the_error_and_quits() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Progress);
    flow.message(Msg::Failed("disk vanished".into()));
    assert_eq!(flow.page(), Page::Failed);
    assert!(render(&flow, 80, 24).contains("Error: disk vanished"));
    assert_eq!(key(&mut flow, KeyCode::Enter), vec![Request::Quit]);
}

#[test]
fn the_log_view_toggles_and_keeps_lines() {
    let mut flow = installer(ui(Lang::En, false), facts());
    walk_to(&mut flow, Page::Progress);
    flow.message(Msg::Log("hello from the engine".into()));
    assert!(!render(&flow, 80, 24).contains("hello from the engine"));
    key(&mut flow, KeyCode::Char('l'));
    assert!(render(&flow, 80, 24).contains("hello from the engine"));
    key(&mut flow, KeyCode::Char('l'));
    assert!(!render(&flow, 80, 24).contains("hello from the engine"));
}

#[test]
fn key_releases_are_ignored() {
    let mut flow = installer(ui(Lang::En, false), facts());
    let mut release = press(KeyCode::Enter);
    release.kind = KeyEventKind::Release;
    assert!(flow.key(release).is_empty());
    assert_eq!(flow.page(), Page::Language);
}

#[test]
fn secrets_stay_out_of_debug_output_and_off_the_screen() {
    let mut flow = installer(ui(Lang::En, false), facts());
    script_to_summary(&mut flow);
    let debug = format!("{flow:?}");
    assert!(!debug.contains("correct horse"), "{debug}");
    assert!(!debug.contains(GROUP3), "{debug}");
    let request = format!("{:?}", flow.install_request());
    assert!(!request.contains("correct horse"));
    key(&mut flow, KeyCode::Esc);
    key(&mut flow, KeyCode::Esc);
    let screen = render(&flow, 120, 40);
    assert!(!screen.contains("correct horse"), "{screen}");
}

#[test]
fn every_page_draws_at_tiny_sizes_without_panicking() {
    let mut flow = installer(ui(Lang::De, true), facts());
    for page in [Page::Language, Page::Keyboard, Page::Disk, Page::Encryption, Page::RecoveryKey, Page::Summary, Page::Progress] {
        walk_to(&mut flow, page);
        for (w, h) in [(1, 1), (10, 5), (40, 12), (80, 24), (200, 60)] {
            render(&flow, w, h);
        }
    }
}

/// Issue 14 point 7: a usable TPM whose PCR 7 policy protects little (Secure Boot off) is still
/// offered, and the engine's warning is shown under the TPM options before anyone chooses.
#[test]
fn a_weak_tpm_policy_is_said_on_the_encryption_page() {
    let mut facts = facts();
    facts.tpm.warning = Some("Secure Boot is off: PCR 7 then records only that. Turn on Secure Boot in the firmware setup.".into());
    let mut flow = installer(ui(Lang::En, false), facts);
    walk_to(&mut flow, Page::Disk);
    key(&mut flow, KeyCode::Enter);
    assert_eq!(flow.page(), Page::Encryption);
    assert!(flow.encryption_kind().needs_tpm(), "the TPM is still the default");
    let screen = render(&flow, 120, 40);
    assert!(screen.contains("Secure Boot is off: PCR 7 then records only that."), "{screen}");
    // not under the options that do not use the TPM
    key(&mut flow, KeyCode::End);
    key(&mut flow, KeyCode::Up);
    assert!(!flow.encryption_kind().needs_tpm());
    assert!(!render(&flow, 120, 40).contains("Secure Boot is off"));
}
