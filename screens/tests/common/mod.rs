//! Fixtures and helpers shared by the screens tests: the facts and messages the app would send,
//! a driver that walks the installer to any page with keys, and rendering to text.

#![allow(dead_code)]

use imprint_screens::flow::{Flow, press, type_text};
use imprint_screens::installer::{
    Change, DoneView, Installer, InstallerFacts, Msg, Page, PartRow, PlanView, ProgressView, ProofKind, ProofLine, RecoveryKeyView,
    Request, SourceView, StepKind, StepState, StepView, TpmView,
};
use imprint_screens::ratatui::Terminal;
use imprint_screens::ratatui::backend::TestBackend;
use imprint_screens::ratatui::crossterm::event::{KeyCode, KeyEvent};
use imprint_screens::{DiskRow, Lang, QrView, Ui, Verdict};
use zeroize::Zeroizing;

pub const KEY: &str = "fkrubnvc-hblgehtj-cdvcikfi-jelhvecb-bntvnbjd-jjvhvcrj-rfcikftr-dgdibglu";
pub const GROUP3: &str = "cdvcikfi";

pub fn keymaps() -> Vec<String> {
    [
        "azerty",
        "be-latin1",
        "br-abnt2",
        "by",
        "cf",
        "cz",
        "de",
        "de-latin1",
        "de-latin1-nodeadkeys",
        "de-nodeadkeys",
        "de_CH-latin1",
        "dk",
        "dvorak",
        "es",
        "fi",
        "fr",
        "fr-latin1",
        "fr-latin9",
        "fr_CH",
        "gr",
        "hu",
        "it",
        "jp106",
        "nl",
        "no",
        "pl",
        "pt-latin1",
        "ru",
        "se-lat6",
        "sv-latin1",
        "trq",
        "ua",
        "uk",
        "us",
        "us-acentos",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub fn facts() -> InstallerFacts {
    InstallerFacts {
        keymaps: keymaps(),
        default_keymap: "us".into(),
        source: SourceView { name: "Example OS 42".into(), size_bytes: 2_400_000_000 },
        tpm: TpmView { usable: true, problem: None, warning: None },
        pcrs: vec![7],
        signed_policy: None,
        demo: false,
    }
}

/// The image carries a key for a signed PCR 11 policy (a UKI's `.pcrpkey`); Secure Boot is off,
/// so the PCR 7 policy alone is warned about.
pub fn facts_with_signed_policy() -> InstallerFacts {
    InstallerFacts {
        signed_policy: Some("the source ESP's EFI/Linux/example.efi (.pcrpkey, sha256 4f2a…c9)".into()),
        tpm: TpmView {
            usable: true,
            problem: None,
            warning: Some("Secure Boot is off: PCR 7 then records only that, and any OS started the same way unseals the key.".into()),
        },
        ..facts()
    }
}

pub fn facts_without_tpm() -> InstallerFacts {
    InstallerFacts {
        tpm: TpmView {
            usable: false,
            problem: Some("No TPM 2.0 device was found. Switch on the TPM (or \"PTT\", \"fTPM\") in the firmware settings.".into()),
            warning: None,
        },
        ..facts()
    }
}

pub fn disks() -> Vec<DiskRow> {
    vec![
        DiskRow {
            path: "/dev/sda".into(),
            size_bytes: 500_107_862_016,
            model: "Samsung SSD 860 EVO 500GB".into(),
            reasons: vec![],
            verdict: Some(Verdict::NeedsErase {
                what: vec!["partition 1 \"EFI system partition\" (FAT32, 105 MB)".into(), "partition 2 \"Windows\" (NTFS, 500 GB)".into()],
            }),
        },
        DiskRow {
            path: "/dev/nvme0n1".into(),
            size_bytes: 1_000_204_886_016,
            model: "WD Black SN770 1TB".into(),
            reasons: vec![],
            verdict: Some(Verdict::Fits),
        },
        DiskRow {
            path: "/dev/sdb".into(),
            size_bytes: 4_000_000_000,
            model: "SanDisk Cruzer Blade".into(),
            reasons: vec![],
            verdict: Some(Verdict::TooSmall { need: 8_000_000_000, have: 4_000_000_000 }),
        },
        DiskRow {
            path: "/dev/sdc".into(),
            size_bytes: 32_000_000_000,
            model: "Kingston DataTraveler 3.0".into(),
            reasons: vec!["it holds the running installer".into(), "a partition on it is mounted at /run/live/medium".into()],
            verdict: None,
        },
    ]
}

pub fn plan(disk: &str) -> PlanView {
    let part = |number, label: &str, kind: &str, size_bytes, change| PartRow {
        number,
        label: label.into(),
        kind: kind.into(),
        size_bytes,
        change,
    };
    PlanView {
        disk: disk.into(),
        before: vec![
            part(1, "EFI system partition", "EFI System", 104_857_600, Change::Erase),
            part(2, "Windows", "Microsoft basic data", 499_000_000_000, Change::Erase),
        ],
        after: vec![
            part(1, "esp", "EFI System", 1_073_741_824, Change::Create),
            part(2, "root-x86-64", "Linux root (x86-64)", 4_294_967_296, Change::Create),
            part(3, "root-x86-64-b", "Linux root (x86-64)", 4_294_967_296, Change::Create),
            part(4, "home", "Linux home", 490_000_000_000, Change::Create),
        ],
    }
}

/// The QR code of [`KEY`] as the app makes it (`luks::recovery::qr_modules`: byte mode, error
/// correction level L): 33×33 modules, `true` dark.
pub fn qr_modules() -> Vec<Vec<bool>> {
    let code = qrcode::QrCode::with_error_correction_level(KEY.as_bytes(), qrcode::EcLevel::L).expect("the key fits");
    let w = code.width();
    code.into_colors().chunks(w).map(|r| r.iter().map(|c| *c == qrcode::Color::Dark).collect()).collect()
}

pub fn qr() -> QrView {
    QrView { modules: qr_modules() }
}

pub fn recovery_key() -> RecoveryKeyView {
    RecoveryKeyView { text: Zeroizing::new(KEY.into()), qr: qr() }
}

pub fn progress() -> ProgressView {
    let step = |kind, label: &str, state| StepView { kind, label: label.into(), state };
    ProgressView {
        steps: vec![
            step(StepKind::Wipe, "", StepState::Done),
            step(StepKind::Table, "", StepState::Done),
            step(StepKind::Encrypt, "root-x86-64", StepState::Done),
            step(StepKind::Copy, "root-x86-64", StepState::Running),
            step(StepKind::Format, "home", StepState::Waiting),
            step(StepKind::Verify, "", StepState::Waiting),
            step(StepKind::Proof, "", StepState::Waiting),
        ],
        bytes_done: 1_130_000_000,
        bytes_total: 2_400_000_000,
        rate_bytes_per_sec: Some(95_200_000),
        eta_secs: Some(14),
    }
}

pub fn done(note: Option<&str>) -> DoneView {
    let line = |kind, ok, detail: &str| ProofLine { kind, ok, detail: detail.into() };
    DoneView {
        proof: vec![
            line(ProofKind::TableReadBack, true, "/dev/sda"),
            line(ProofKind::DataVerified, true, "esp"),
            line(ProofKind::DataVerified, true, "usr"),
            line(ProofKind::TpmUnseals, true, "root-x86-64"),
            line(ProofKind::RecoveryKeyOpens, true, "root-x86-64"),
        ],
        note: note.map(str::to_owned),
        seed: Some("0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11".into()),
    }
}

pub fn ui(lang: Lang, ascii: bool) -> Ui {
    Ui { lang, ascii, demo: false }
}

/// Send keys, collecting every request.
pub fn keys(flow: &mut Installer, keys: impl IntoIterator<Item = KeyEvent>) -> Vec<Request> {
    keys.into_iter().flat_map(|key| flow.key(key)).collect()
}

pub fn key(flow: &mut Installer, code: KeyCode) -> Vec<Request> {
    flow.key(press(code))
}

pub fn typed(flow: &mut Installer, text: &str) -> Vec<Request> {
    keys(flow, type_text(text))
}

/// A new installer, started.
pub fn installer(ui: Ui, facts: InstallerFacts) -> Installer {
    let mut flow = Installer::new(ui, facts);
    flow.start();
    flow
}

/// Walk a started installer forward from the language page to `page` with the default answers,
/// answering requests as the app would (the first disk, TPM, the fixture key).
pub fn walk_to(flow: &mut Installer, page: Page) {
    let order = [Page::Language, Page::Keyboard, Page::Disk, Page::Encryption, Page::RecoveryKey, Page::Summary, Page::Progress];
    while flow.page() != page && order.contains(&flow.page()) {
        let before = flow.page();
        let requests = match before {
            Page::RecoveryKey => {
                typed(flow, GROUP3);
                key(flow, KeyCode::Enter)
            }
            Page::Summary => {
                typed(flow, "sda");
                key(flow, KeyCode::Enter)
            }
            Page::Progress => {
                flow.message(Msg::Done(done(None)));
                Vec::new()
            }
            _ => key(flow, KeyCode::Enter),
        };
        answer(flow, &requests);
        assert_ne!(flow.page(), before, "stuck on {before:?}");
    }
}

/// Answer requests as the app would.
pub fn answer(flow: &mut Installer, requests: &[Request]) {
    for request in requests {
        match request {
            Request::ListDisks => {
                flow.message(Msg::Disks(disks()));
            }
            Request::Plan(r) => {
                flow.message(Msg::Plan(plan(&r.disk)));
            }
            Request::NewRecoveryKey => {
                flow.message(Msg::RecoveryKey(recovery_key()));
            }
            Request::StartInstall(_) => {
                flow.message(Msg::Progress(progress()));
                for line in ["wiping signatures on /dev/sda", "writing partition table (4 partitions)", "luks2: formatting /dev/sda2"] {
                    flow.message(Msg::Log(line.into()));
                }
            }
            _ => {}
        }
    }
}

/// Draw the flow on a `width`×`height` test terminal and return the screen as lines of text.
/// Any flow drawn on a TestBackend, as lines of text (trailing blanks trimmed).
pub fn render(flow: &impl Flow, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| flow.draw(frame)).expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width).map(|x| buffer[(x, y)].symbol().to_owned()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The variants every state is rendered in: (name, language, ASCII, width, height).
pub const VARIANTS: [(&str, Lang, bool, u16, u16); 6] = [
    ("en-unicode-80x24", Lang::En, false, 80, 24),
    ("en-unicode-120x40", Lang::En, false, 120, 40),
    ("en-ascii-80x24", Lang::En, true, 80, 24),
    ("en-ascii-120x40", Lang::En, true, 120, 40),
    ("de-unicode-80x24", Lang::De, false, 80, 24),
    ("de-ascii-80x24", Lang::De, true, 80, 24),
];

/// What every rendering must satisfy: no missing message, and only ASCII in ASCII mode.
pub fn check_screen(state: &str, variant: &str, ascii: bool, screen: &str) {
    assert!(!screen.contains(imprint_screens::i18n::MISSING_MARKER), "{state} {variant}: a message is missing:\n{screen}");
    if ascii {
        let bad: Vec<char> = screen.chars().filter(|c| !c.is_ascii()).collect();
        assert!(bad.is_empty(), "{state} {variant}: non-ASCII {bad:?}:\n{screen}");
    }
}
