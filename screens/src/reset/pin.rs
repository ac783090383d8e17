//! The PIN gate: a masked field; Enter asks the app to check the PIN. A wrong PIN is counted and
//! said; after three the page also says whom to ask. The menu opens only when the app says the
//! PIN was right.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Request, is_enter};
use crate::theme::Ui;
use crate::widgets::{Help, TextField};

/// Wrong PINs after which the page says whom to ask.
pub const PIN_ATTEMPTS_HINT: u32 = 3;

/// The PIN page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PinPage {
    field: TextField,
    checking: bool,
    wrong: u32,
    /// Seconds the app said the next try must wait.
    wait: Option<u64>,
}

impl Default for PinPage {
    fn default() -> PinPage {
        PinPage { field: TextField::masked(), checking: false, wrong: 0, wait: None }
    }
}

impl PinPage {
    /// How many wrong PINs were typed.
    pub fn wrong(&self) -> u32 {
        self.wrong
    }

    pub fn key(&mut self, key: &KeyEvent) -> Vec<Request> {
        if self.checking {
            return Vec::new();
        }
        if is_enter(key) {
            if self.field.is_empty() {
                return Vec::new();
            }
            self.checking = true;
            let pin = self.field.secret();
            self.field.clear();
            return vec![Request::CheckPin(pin)];
        }
        self.field.key(key);
        Vec::new()
    }

    /// The app says the next try must wait `secs` (the PIN typed, if any, was not checked).
    pub fn wait(&mut self, secs: u64) {
        self.checking = false;
        self.wait = Some(secs);
    }

    /// The app's answer; returns whether the PIN was right.
    pub fn result(&mut self, right: bool) -> bool {
        self.checking = false;
        self.wait = None;
        if right {
            self.wrong = 0;
        } else {
            self.wrong += 1;
        }
        right
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![
            Help::new("abc", ui.t("reset-help-type-pin")),
            Help::new("Enter", ui.t("reset-help-unlock")),
            Help::new("Esc", ui.t("reset-help-quit")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, field, _, status] =
            Layout::vertical([Constraint::Length(3), Constraint::Length(1), Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(Paragraph::new(ui.t("reset-pin-intro")).wrap(Wrap { trim: true }), intro);
        self.field.draw(frame, field, ui, &ui.t("reset-pin-label"), !self.checking);
        let mut lines = Vec::new();
        if self.checking {
            lines.push(Line::from(format!("{} {}", ui.sym().running, ui.t("reset-pin-checking"))).style(ui.strong_style()));
        } else if let Some(secs) = self.wait {
            let text = ui.t_args("reset-pin-wait", &[("seconds", secs.into())]);
            lines.push(Line::from(format!("{} {text}", ui.sym().failed)).style(ui.error_style()));
            lines.push(Line::from(ui.t("reset-pin-ask")).style(ui.warning_style()));
        } else if self.wrong > 0 {
            let text = ui.t_args("reset-pin-wrong", &[("count", self.wrong.into())]);
            lines.push(Line::from(format!("{} {text}", ui.sym().failed)).style(ui.error_style()));
            if self.wrong >= PIN_ATTEMPTS_HINT {
                lines.push(Line::from(ui.t("reset-pin-ask")).style(ui.warning_style()));
            }
        }
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), status);
    }
}
