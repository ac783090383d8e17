//! The root password page: set a password (typed twice, masked, with a strength hint) or lock
//! root (no password; the first user administers the system).
//!
//! ↑↓ and Tab move between the two options and the two fields; Space (or Enter) on an option
//! chooses it; Enter elsewhere goes on once the passwords agree.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::check::{PasswordProblem, check_passwords};
use super::form::{error_line, ok_line, radio, strength_line};
use super::{Request, RootChoice, is_enter, is_esc};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::{Help, TextField};

const SET: usize = 0;
const LOCK: usize = 1;
const PASSWORD: usize = 2;
const REPEAT: usize = 3;

/// The root password page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RootPage {
    locked: bool,
    focus: usize,
    password: TextField,
    repeat: TextField,
    problem: Option<PasswordProblem>,
}

impl Default for RootPage {
    fn default() -> RootPage {
        RootPage { locked: false, focus: PASSWORD, password: TextField::masked(), repeat: TextField::masked(), problem: None }
    }
}

impl RootPage {
    /// The choice, when it is complete (a locked root, or two equal non-empty passwords).
    pub fn choice(&self) -> Option<RootChoice> {
        if self.locked {
            return Some(RootChoice::Locked);
        }
        check_passwords(self.password.value(), self.repeat.value()).ok().map(|()| RootChoice::Password(self.password.secret()))
    }

    /// Whether root will be locked.
    pub fn locked(&self) -> bool {
        self.locked
    }

    fn last_focus(&self) -> usize {
        if self.locked { LOCK } else { REPEAT }
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_esc(key) {
            return Nav::Back;
        }
        match key.code {
            KeyCode::Enter | KeyCode::Char(' ') if self.focus <= LOCK => {
                self.locked = self.focus == LOCK;
                self.problem = None;
                if is_enter(key) {
                    if self.locked {
                        return Nav::Next;
                    }
                    self.focus = PASSWORD;
                }
                return Nav::stay();
            }
            KeyCode::Enter => return self.submit(),
            KeyCode::Up | KeyCode::BackTab => self.focus = self.focus.saturating_sub(1),
            KeyCode::Down | KeyCode::Tab => self.focus = (self.focus + 1).min(self.last_focus()),
            _ => {
                let field = if self.focus == PASSWORD { &mut self.password } else { &mut self.repeat };
                if self.focus >= PASSWORD && field.key(key) {
                    self.problem = None;
                }
            }
        }
        Nav::stay()
    }

    fn submit(&mut self) -> Nav<Request> {
        match check_passwords(self.password.value(), self.repeat.value()) {
            Ok(()) => Nav::Next,
            Err(problem) => {
                self.problem = Some(problem);
                self.focus = if problem == PasswordProblem::Empty { PASSWORD } else { REPEAT };
                Nav::stay()
            }
        }
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        let mut help = vec![Help::new(format!("{}/Tab", ui.sym().keys_up_down), ui.t("fb-help-move"))];
        if self.focus <= LOCK {
            help.push(Help::new(ui.t("fb-key-space"), ui.t("fb-help-choose")));
        } else {
            help.push(Help::new("abc", ui.t("fb-help-type-password")));
        }
        help.extend([Help::new("Enter", ui.t("fb-help-continue")), Help::new("Esc", ui.t("fb-help-back"))]);
        help
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, set, lock, password, repeat, strength, _, status] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(ui.t("fb-root-intro")).wrap(Wrap { trim: true }), intro);
        frame.render_widget(Paragraph::new(radio(ui, &ui.t("fb-root-set"), !self.locked, self.focus == SET)), set);
        let lock_lines = vec![
            radio(ui, &ui.t("fb-root-lock"), self.locked, self.focus == LOCK),
            Line::from(format!("      {}", ui.t("fb-root-lock-explain"))).style(ui.quiet_style()),
        ];
        frame.render_widget(Paragraph::new(lock_lines).wrap(Wrap { trim: false }), lock);
        if self.locked {
            let note = Line::from(format!("{} {}", ui.sym().warning, ui.t("fb-root-locked-note"))).style(ui.warning_style());
            frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: true }), Rect { height: 3, ..password });
            return;
        }
        let (label_password, label_repeat) = aligned(&ui.t("fb-password-label"), &ui.t("fb-repeat-label"));
        let field_area = |row: Rect| Rect { x: row.x + 4, width: row.width.saturating_sub(4), ..row };
        self.password.draw(frame, field_area(password), ui, &label_password, self.focus == PASSWORD);
        self.repeat.draw(frame, field_area(repeat), ui, &label_repeat, self.focus == REPEAT);
        if !self.password.is_empty() {
            frame.render_widget(Paragraph::new(strength_line(ui, self.password.value())), field_area(strength));
        }
        let line = match self.problem {
            Some(problem) => Some(error_line(ui, &problem.words(ui))),
            None if !self.repeat.is_empty() && self.repeat.value() == self.password.value() => {
                Some(ok_line(ui, &ui.t("fb-password-match")))
            }
            None => None,
        };
        if let Some(line) = line {
            frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), status);
        }
    }
}

/// Two labels padded to the same width, so their fields line up.
pub(crate) fn aligned(a: &str, b: &str) -> (String, String) {
    let width = a.chars().count().max(b.chars().count());
    (format!("{a:<width$}"), format!("{b:<width$}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{press, type_text};

    #[test]
    fn passwords_must_agree() {
        let mut page = RootPage::default();
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::stay());
        assert_eq!(page.problem, Some(PasswordProblem::Empty));
        for key in type_text("s3cret!") {
            page.key(&key);
        }
        assert_eq!(page.problem, None);
        page.key(&press(KeyCode::Tab));
        for key in type_text("s3cret?") {
            page.key(&key);
        }
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::stay());
        assert_eq!(page.problem, Some(PasswordProblem::Mismatch));
        assert_eq!(page.focus, REPEAT);
        page.key(&press(KeyCode::Backspace));
        page.key(&press(KeyCode::Char('!')));
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::Next);
        assert!(matches!(page.choice(), Some(RootChoice::Password(p)) if p.as_str() == "s3cret!"));
    }

    #[test]
    fn locking_needs_no_password() {
        let mut page = RootPage::default();
        page.key(&press(KeyCode::Up));
        assert_eq!(page.focus, LOCK);
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::Next);
        assert_eq!(page.choice(), Some(RootChoice::Locked));
        page.key(&press(KeyCode::Down));
        assert_eq!(page.focus, LOCK, "the fields are skipped while root is locked");
        page.key(&press(KeyCode::Up));
        page.key(&press(KeyCode::Char(' ')));
        assert!(!page.locked());
        assert_eq!(page.choice(), None);
    }
}
