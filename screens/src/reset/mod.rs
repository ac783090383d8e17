//! The kiosk reset menu: (PIN) → menu (what this device is; factory reset, restart, power off,
//! quit) → factory reset (what is erased and what stays; a word typed back) → progress → done
//! (restart or power off) or failed.
//!
//! [`ResetMenu`] only changes state and returns [`Request`]s; the app checks the PIN, resets,
//! restarts. [`Request::FactoryReset`] leaves only from the confirmation page, after the person
//! typed the word shown there.

mod erase;
mod menu;
mod pin;
mod types;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;

pub use erase::{confirm_word, is_confirm_word};
pub use menu::MenuEntry;
pub use pin::PIN_ATTEMPTS_HINT;
pub use types::{Msg, Request, ResetFacts, ResetStepView};

use crate::flow::{Flow, QuitKey, QuitPrompt, is_press};
use crate::theme::Ui;
use crate::widgets::{Help, PageFrame, draw_dialog, draw_page};

/// The reset menu's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The PIN gate (only when the profile sets a PIN).
    Pin,
    /// What this device is, and what can be done.
    Menu,
    /// What a factory reset erases and keeps; the word to type.
    Confirm,
    /// The factory reset runs.
    Progress,
    /// The factory reset finished.
    Done,
    /// The factory reset failed.
    Failed,
}

/// The reset menu's state.
#[derive(Debug)]
pub struct ResetMenu {
    ui: Ui,
    facts: ResetFacts,
    page: Page,
    quit: QuitPrompt,
    pin: pin::PinPage,
    menu: menu::MenuPage,
    confirm: erase::ConfirmPage,
    progress: erase::ProgressPage,
}

impl ResetMenu {
    /// A new menu: on the PIN page when the profile sets a PIN, else on the menu.
    pub fn new(ui: Ui, facts: ResetFacts) -> ResetMenu {
        let page = if facts.pin_required { Page::Pin } else { Page::Menu };
        ResetMenu {
            ui,
            facts,
            page,
            quit: QuitPrompt::default(),
            pin: pin::PinPage::default(),
            menu: menu::MenuPage::default(),
            confirm: erase::ConfirmPage::default(),
            progress: erase::ProgressPage::default(),
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

    /// How many wrong PINs were typed since the last right one.
    pub fn wrong_pins(&self) -> u32 {
        self.pin.wrong()
    }

    /// The menu entry selected.
    pub fn selected(&self) -> MenuEntry {
        self.menu.selected()
    }

    fn page_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        match self.page {
            Page::Pin if key.code == KeyCode::Esc => self.ask_quit(),
            Page::Pin => self.pin.key(key),
            Page::Menu if key.code == KeyCode::Esc => self.ask_quit(),
            Page::Menu => match self.menu.key(key) {
                Some(MenuEntry::FactoryReset) => {
                    self.confirm.clear();
                    self.page = Page::Confirm;
                    Vec::new()
                }
                Some(MenuEntry::Reboot) => vec![Request::Reboot],
                Some(MenuEntry::PowerOff) => vec![Request::PowerOff],
                Some(MenuEntry::Quit) => vec![Request::Quit],
                None => Vec::new(),
            },
            Page::Confirm => match self.confirm.key(key, self.ui.lang) {
                erase::ConfirmKey::Stay => Vec::new(),
                erase::ConfirmKey::Back => {
                    self.confirm.clear();
                    self.page = Page::Menu;
                    Vec::new()
                }
                erase::ConfirmKey::Confirmed => {
                    self.confirm.clear();
                    self.progress = erase::ProgressPage::default();
                    self.page = Page::Progress;
                    vec![Request::FactoryReset]
                }
            },
            Page::Progress => Vec::new(),
            Page::Done => self.progress.done_key(key),
            Page::Failed => {
                if matches!(key.code, KeyCode::Enter | KeyCode::Esc) {
                    self.page = Page::Menu;
                }
                Vec::new()
            }
        }
    }

    fn ask_quit(&mut self) -> Vec<Request> {
        self.quit.open();
        Vec::new()
    }

    fn frame(&self) -> PageFrame {
        let ui = &self.ui;
        let (title, mut help) = match self.page {
            Page::Pin => (ui.t("reset-page-pin"), pin::PinPage::help(ui)),
            Page::Menu => (ui.t("reset-page-menu"), menu::MenuPage::help(ui)),
            Page::Confirm => (ui.t("reset-page-confirm"), erase::ConfirmPage::help(ui)),
            Page::Progress => (ui.t("reset-page-progress"), Vec::new()),
            Page::Done => (ui.t("reset-page-done"), erase::ProgressPage::done_help(ui)),
            Page::Failed => (ui.t("reset-page-failed"), erase::ProgressPage::failed_help(ui)),
        };
        help.push(Help::new(ui.t("reset-key-ctrl-c"), ui.t("reset-help-quit")));
        PageFrame { flow: ui.t("reset-flow"), title, step: None, help }
    }

    fn draw_quit(&self, frame: &mut Frame) {
        let ui = &self.ui;
        let (body, style) = match self.page {
            Page::Progress => (ui.t("reset-quit-body-running"), ui.warning_style()),
            _ => (ui.t("reset-quit-body"), ui.strong_style()),
        };
        draw_dialog(frame, ui, &ui.t("reset-quit-title"), vec![Line::from(body).style(style)], &ui.t("reset-quit-keys"));
    }
}

impl Flow for ResetMenu {
    type Request = Request;
    type Msg = Msg;

    fn start(&mut self) -> Vec<Request> {
        Vec::new()
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
        self.page_key(&key)
    }

    fn message(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::PinResult(right) => {
                if self.page == Page::Pin && self.pin.result(right) {
                    self.page = Page::Menu;
                }
            }
            Msg::PinWait(secs) => {
                if self.page == Page::Pin {
                    self.pin.wait(secs);
                }
            }
            Msg::Step(line) => self.progress.step(line),
            Msg::Done => {
                if self.page == Page::Progress {
                    self.page = Page::Done;
                }
            }
            Msg::Failed(error) => {
                self.progress.failed(error);
                self.page = Page::Failed;
            }
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame) {
        let ui = &self.ui;
        let body = draw_page(frame, ui, &self.frame());
        match self.page {
            Page::Pin => self.pin.draw(frame, body, ui),
            Page::Menu => self.menu.draw(frame, body, ui, &self.facts),
            Page::Confirm => self.confirm.draw(frame, body, ui, &self.facts),
            Page::Progress => self.progress.draw(frame, body, ui),
            Page::Done => self.progress.draw_done(frame, body, ui),
            Page::Failed => self.progress.draw_failed(frame, body, ui),
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
