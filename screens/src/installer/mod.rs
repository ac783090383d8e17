//! The installer flow: language → keyboard → disk → encryption → recovery key → summary →
//! progress → done (or failed).
//!
//! [`Installer`] holds every page's state, so going back with Esc loses no answer. Pages only
//! change state and return [`Request`]s; the app carries them out and answers with [`Msg`]s. The
//! final answers leave as one [`InstallRequest`] in [`Request::StartInstall`], sent only after the
//! person typed the target disk's name on the summary page.

mod disk;
mod done;
pub mod encryption;
mod keyboard;
mod language;
mod progress;
pub mod recovery;
mod summary;
mod types;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;

pub use encryption::{EncryptionKind, MIN_PASSPHRASE, MIN_PIN, pcr_consequence_ids};
pub use recovery::{CONFIRM_GROUP, key_group};
pub use types::{
    Change, DoneView, EncryptionChoice, InstallRequest, InstallerFacts, Msg, PartRow, PlanView, ProgressView, ProofKind, ProofLine,
    RecoveryKeyView, Request, SourceView, StepKind, StepState, StepView, TpmView,
};

use crate::flow::{Flow, Nav, QuitKey, QuitPrompt, is_press};
use crate::i18n::Lang;
use crate::theme::Ui;
use crate::widgets::{Help, PageFrame, draw_dialog, draw_page};

/// The installer's pages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// Choose the language.
    Language,
    /// Choose and try the keymap.
    Keyboard,
    /// Choose the target disk.
    Disk,
    /// Choose the encryption.
    Encryption,
    /// Write down the recovery key (skipped without encryption).
    RecoveryKey,
    /// Check the plan and confirm by typing the disk's name.
    Summary,
    /// The install runs.
    Progress,
    /// The install finished.
    Done,
    /// The install failed.
    Failed,
}

/// What every page gets to draw and decide: the drawing style and the app's facts.
pub(crate) struct Ctx<'a> {
    pub ui: &'a Ui,
    pub facts: &'a InstallerFacts,
}

/// The installer flow's state: every page's answers, the page shown, and the quit question.
#[derive(Debug)]
pub struct Installer {
    ui: Ui,
    facts: InstallerFacts,
    page: Page,
    quit: QuitPrompt,
    language: language::LanguagePage,
    keyboard: keyboard::KeyboardPage,
    disk: disk::DiskPage,
    encryption: encryption::EncryptionPage,
    recovery: recovery::RecoveryPage,
    summary: summary::SummaryPage,
    progress: progress::ProgressPage,
    done: done::DonePage,
}

impl Installer {
    /// A new installer on its first page. `ui.demo` is switched on when `facts.demo` is.
    pub fn new(mut ui: Ui, facts: InstallerFacts) -> Installer {
        ui.demo |= facts.demo;
        Installer {
            language: language::LanguagePage::new(ui.lang),
            keyboard: keyboard::KeyboardPage::new(&facts),
            disk: disk::DiskPage::default(),
            encryption: encryption::EncryptionPage::new(&facts.tpm, facts.signed_policy.is_some()),
            recovery: recovery::RecoveryPage::default(),
            summary: summary::SummaryPage::default(),
            progress: progress::ProgressPage::default(),
            done: done::DonePage::default(),
            ui,
            facts,
            page: Page::Language,
            quit: QuitPrompt::default(),
        }
    }

    /// The page on screen.
    pub fn page(&self) -> Page {
        self.page
    }

    /// Whether the "Quit?" question is on screen.
    pub fn quit_open(&self) -> bool {
        self.quit.is_open()
    }

    /// The facts the installer was started with.
    pub fn facts(&self) -> &InstallerFacts {
        &self.facts
    }

    /// The keymap chosen so far (the one selected on the keyboard page).
    pub fn keymap(&self) -> Option<&str> {
        self.keyboard.selected()
    }

    /// The path of the disk chosen so far.
    pub fn disk(&self) -> Option<&str> {
        self.disk.selected().map(|row| row.path.as_str())
    }

    /// The encryption option selected so far (its secret, if any, stays inside).
    pub fn encryption_kind(&self) -> EncryptionKind {
        self.encryption.kind()
    }

    /// The answers as an install request, when every answer is there.
    pub fn install_request(&self) -> Option<InstallRequest> {
        Some(InstallRequest {
            lang: self.ui.lang,
            keymap: self.keyboard.selected()?.to_owned(),
            disk: self.disk.selected()?.path.clone(),
            encryption: self.encryption.choice()?,
            signed_policy: self.encryption.signed_policy(),
        })
    }

    /// The pages of the flow as it stands (without the recovery key page when not encrypting).
    fn path(&self) -> Vec<Page> {
        let mut pages = vec![Page::Language, Page::Keyboard, Page::Disk, Page::Encryption];
        if self.encryption.kind() != EncryptionKind::None {
            pages.push(Page::RecoveryKey);
        }
        pages.extend([Page::Summary, Page::Progress, Page::Done]);
        pages
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx { ui: &self.ui, facts: &self.facts }
    }

    /// Go to `page` and return the requests it makes on entry.
    fn go(&mut self, page: Page) -> Vec<Request> {
        self.page = page;
        match page {
            Page::Keyboard => self.keyboard.enter(),
            Page::Disk => self.disk.enter(),
            Page::RecoveryKey => self.recovery.enter(),
            Page::Summary => self.install_request().map(|r| self.summary.enter(r)).unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    fn next(&mut self) -> Vec<Request> {
        if self.page == Page::Summary {
            let Some(request) = self.install_request() else { return Vec::new() };
            self.progress = progress::ProgressPage::default();
            self.go(Page::Progress);
            return vec![Request::StartInstall(request)];
        }
        let path = self.path();
        match path.iter().position(|&p| p == self.page).and_then(|i| path.get(i + 1)) {
            Some(&page) => self.go(page),
            None => Vec::new(),
        }
    }

    fn back(&mut self) -> Vec<Request> {
        let path = self.path();
        match path.iter().position(|&p| p == self.page) {
            Some(0) => {
                self.quit.open();
                Vec::new()
            }
            Some(i) => self.go(path[i - 1]),
            None => Vec::new(),
        }
    }

    fn page_key(&mut self, key: &KeyEvent) -> Nav<Request> {
        match self.page {
            Page::Language => {
                let nav = self.language.key(key);
                self.set_lang(self.language.lang());
                nav
            }
            Page::Keyboard => self.keyboard.key(key),
            Page::Disk => self.disk.key(key),
            Page::Encryption => self.encryption.key(key, self.keyboard.selected().unwrap_or("")),
            Page::RecoveryKey => self.recovery.key(key),
            Page::Summary => self.summary.key(key, self.disk.selected()),
            Page::Progress => self.progress.key(key),
            Page::Done => self.done.key(key, self.ui.demo),
            Page::Failed => self.done.failed_key(key),
        }
    }

    /// Switch the language; before the keyboard page was touched, suggest the language's keymap.
    fn set_lang(&mut self, lang: Lang) {
        if self.ui.lang != lang {
            self.ui.lang = lang;
            self.keyboard.suggest_for(lang, &self.facts);
        }
    }

    fn frame(&self) -> PageFrame {
        let ui = &self.ui;
        let (title, mut help) = match self.page {
            Page::Language => (ui.t("page-language"), language::LanguagePage::help(ui)),
            Page::Keyboard => (ui.t("page-keyboard"), self.keyboard.help(ui)),
            Page::Disk => (ui.t("page-disk"), disk::DiskPage::help(ui)),
            Page::Encryption => (ui.t("page-encryption"), self.encryption.help(ui)),
            Page::RecoveryKey => (ui.t("page-recovery"), self.recovery.help(ui)),
            Page::Summary => (ui.t("page-summary"), summary::SummaryPage::help(ui)),
            Page::Progress => (ui.t("page-progress"), self.progress.help(ui)),
            Page::Done => (ui.t("page-done"), done::DonePage::help(ui)),
            Page::Failed => (ui.t("page-failed"), done::DonePage::failed_help(ui)),
        };
        help.push(Help::new(ui.t("key-ctrl-c"), ui.t("help-quit")));
        let path = self.path();
        let step = path.iter().position(|&p| p == self.page).map(|i| (i + 1, path.len()));
        PageFrame { flow: ui.t("installer-flow"), title, step, help }
    }

    fn draw_quit(&self, frame: &mut Frame) {
        let ui = &self.ui;
        let (title, body) = if self.page == Page::Progress {
            (ui.t("quit-title-installing"), ui.t("quit-body-installing"))
        } else if matches!(self.page, Page::Done | Page::Failed) {
            (ui.t("quit-title"), ui.t("quit-body-finished"))
        } else {
            (ui.t("quit-title"), ui.t("quit-body"))
        };
        let style = if self.page == Page::Progress { ui.warning_style() } else { ui.strong_style() };
        draw_dialog(frame, ui, &title, vec![Line::from(body).style(style)], &ui.t("quit-keys"));
    }
}

impl Flow for Installer {
    type Request = Request;
    type Msg = Msg;

    fn start(&mut self) -> Vec<Request> {
        self.go(Page::Language)
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Request> {
        if !is_press(&key) {
            return Vec::new();
        }
        match self.quit.key(&key) {
            QuitKey::Quit => return vec![Request::Quit],
            QuitKey::Consumed => return Vec::new(),
            QuitKey::NotMine => {}
        }
        match self.page_key(&key) {
            Nav::Stay(requests) => requests,
            Nav::Next => self.next(),
            Nav::Back => self.back(),
        }
    }

    fn message(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Disks(rows) => self.disk.set_disks(rows),
            Msg::Plan(plan) => self.summary.set_plan(plan),
            Msg::RecoveryKey(key) => self.recovery.set_key(key),
            Msg::Progress(view) => self.progress.set_view(view),
            Msg::Log(line) => self.progress.log(line),
            Msg::Done(view) => {
                self.done.set_done(view);
                self.page = Page::Done;
            }
            Msg::Failed(error) => {
                self.done.set_failed(error);
                self.page = Page::Failed;
            }
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame) {
        if self.page == Page::RecoveryKey && self.recovery.qr_full() {
            // the code alone: no frame, the most room (a console has 80×24)
            self.recovery.draw_qr_full(frame, frame.area(), &self.ui);
            if self.quit.is_open() {
                self.draw_quit(frame);
            }
            return;
        }
        let body = draw_page(frame, &self.ui, &self.frame());
        let ctx = self.ctx();
        match self.page {
            Page::Language => self.language.draw(frame, body, &ctx),
            Page::Keyboard => self.keyboard.draw(frame, body, &ctx),
            Page::Disk => self.disk.draw(frame, body, &ctx),
            Page::Encryption => self.encryption.draw(frame, body, &ctx, self.keyboard.selected().unwrap_or("")),
            Page::RecoveryKey => self.recovery.draw(frame, body, &ctx),
            Page::Summary => self.summary.draw(frame, body, &ctx, self.disk.selected(), &self.encryption, self.keyboard.selected()),
            Page::Progress => self.progress.draw(frame, body, &ctx),
            Page::Done => self.done.draw(frame, body, &ctx),
            Page::Failed => self.done.draw_failed(frame, body, &ctx, self.progress.log_lines()),
        }
        if self.quit.is_open() {
            self.draw_quit(frame);
        }
    }

    fn ui(&self) -> Ui {
        self.ui
    }
}

/// Whether the key is Esc.
pub(crate) fn is_esc(key: &KeyEvent) -> bool {
    key.code == KeyCode::Esc
}

/// Whether the key is Enter.
pub(crate) fn is_enter(key: &KeyEvent) -> bool {
    key.code == KeyCode::Enter
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids the code builds at run time (so the source scan in tests/catalog.rs cannot see them).
    #[test]
    fn every_computed_message_id_exists() {
        let mut ids: Vec<String> = summary::column_ids();
        ids.extend(StepKind::ALL.iter().map(|k| k.message_id().to_owned()));
        ids.extend(ProofKind::ALL.iter().map(|k| k.message_id().to_owned()));
        for lang in Lang::ALL {
            for id in &ids {
                assert!(lang.tr().has(id), "{lang:?} lacks {id}");
            }
        }
    }
}
