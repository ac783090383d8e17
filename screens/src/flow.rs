//! The shape every flow (installer, first boot, reset menu) has, and the key handling they share.
//!
//! A flow is the Elm architecture in small: [`Flow::key`] and [`Flow::message`] change state and
//! return requests for the app to carry out (slow or privileged work: listing disks, installing);
//! [`Flow::draw`] draws from `&self` only, from the state and `frame.area()`, so the app redraws
//! after any event or resize by calling it again. Nothing here blocks, sleeps or does I/O.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::theme::Ui;

/// A flow of pages: keys and messages in, requests out, drawn from its own state.
pub trait Flow {
    /// What the flow asks the app to do.
    type Request;
    /// What the app tells the flow (answers to requests, progress events).
    type Msg;

    /// The requests of the first page; call once before the first draw.
    fn start(&mut self) -> Vec<Self::Request>;
    /// Handle one key press. Key releases and repeats of non-movement keys are ignored.
    fn key(&mut self, key: KeyEvent) -> Vec<Self::Request>;
    /// Handle one message from the app.
    fn message(&mut self, msg: Self::Msg) -> Vec<Self::Request>;
    /// Draw the current page (and any dialog) over the whole frame.
    fn draw(&self, frame: &mut Frame);
    /// The language and drawing style the flow uses now (the language page can change it).
    fn ui(&self) -> Ui;
}

/// What a page's key handler tells its flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nav<R> {
    /// Stay on this page, and send these requests.
    Stay(Vec<R>),
    /// Go to the next page (the page has checked its answers).
    Next,
    /// Go back one page.
    Back,
}

impl<R> Nav<R> {
    /// Stay, sending nothing.
    pub fn stay() -> Nav<R> {
        Nav::Stay(Vec::new())
    }
}

/// Whether the key event is a press (or an auto-repeat), not a release.
pub fn is_press(key: &KeyEvent) -> bool {
    matches!(key.kind, KeyEventKind::Press | KeyEventKind::Repeat)
}

/// Whether the key is Ctrl-C.
pub fn is_ctrl_c(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'C'))
}

/// The character a key types into a text field, if it types one: plain and shifted characters,
/// and AltGr combinations (reported by some terminals as Ctrl+Alt).
pub fn typed_char(key: &KeyEvent) -> Option<char> {
    let KeyCode::Char(c) = key.code else { return None };
    let m = key.modifiers;
    let altgr = m.contains(KeyModifiers::CONTROL | KeyModifiers::ALT);
    let plain = !m.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SUPER);
    (plain || altgr).then_some(c).filter(|c| !c.is_control())
}

/// A key event for tests and scripts: a press of `code` with no modifiers.
pub fn press(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// A key event for tests and scripts: Ctrl-C.
pub fn ctrl_c() -> KeyEvent {
    KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
}

/// Key events typing `text`, one character each.
pub fn type_text(text: &str) -> Vec<KeyEvent> {
    text.chars().map(|c| press(KeyCode::Char(c))).collect()
}

/// The "Quit? y/n" question every flow asks on Ctrl-C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuitPrompt {
    open: bool,
}

/// What the quit question made of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuitKey {
    /// The question is closed and the key was not Ctrl-C: the page should handle it.
    NotMine,
    /// The question opened, closed or ignored the key.
    Consumed,
    /// The person confirmed: quit.
    Quit,
}

impl QuitPrompt {
    /// Whether the question is on screen.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Ask the question (for Esc on a flow's first page).
    pub fn open(&mut self) {
        self.open = true;
    }

    /// Handle a key: Ctrl-C opens the question; while it is open, `y` (or German `j`) quits and
    /// `n`, Esc or Enter close it; other keys are swallowed.
    pub fn key(&mut self, key: &KeyEvent) -> QuitKey {
        if !self.open {
            if is_ctrl_c(key) {
                self.open = true;
                return QuitKey::Consumed;
            }
            return QuitKey::NotMine;
        }
        match key.code {
            KeyCode::Char('y' | 'Y' | 'j' | 'J') if !is_ctrl_c(key) => {
                self.open = false;
                QuitKey::Quit
            }
            KeyCode::Char('n' | 'N') | KeyCode::Esc | KeyCode::Enter => {
                self.open = false;
                QuitKey::Consumed
            }
            _ => QuitKey::Consumed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_c_asks_and_n_closes_and_y_quits() {
        let mut prompt = QuitPrompt::default();
        assert_eq!(prompt.key(&press(KeyCode::Char('y'))), QuitKey::NotMine);
        assert_eq!(prompt.key(&ctrl_c()), QuitKey::Consumed);
        assert!(prompt.is_open());
        assert_eq!(prompt.key(&press(KeyCode::Char('x'))), QuitKey::Consumed);
        assert_eq!(prompt.key(&press(KeyCode::Char('n'))), QuitKey::Consumed);
        assert!(!prompt.is_open());
        prompt.key(&ctrl_c());
        assert_eq!(prompt.key(&press(KeyCode::Esc)), QuitKey::Consumed);
        assert!(!prompt.is_open());
        prompt.key(&ctrl_c());
        assert_eq!(prompt.key(&press(KeyCode::Char('y'))), QuitKey::Quit);
        prompt.open();
        assert_eq!(prompt.key(&press(KeyCode::Char('j'))), QuitKey::Quit);
    }

    #[test]
    fn typed_chars_exclude_control_combinations() {
        assert_eq!(typed_char(&press(KeyCode::Char('a'))), Some('a'));
        assert_eq!(typed_char(&KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)), Some('A'));
        assert_eq!(typed_char(&ctrl_c()), None);
        assert_eq!(typed_char(&KeyEvent::new(KeyCode::Char('@'), KeyModifiers::CONTROL | KeyModifiers::ALT)), Some('@'));
        assert_eq!(typed_char(&press(KeyCode::Enter)), None);
    }
}
