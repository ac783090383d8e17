//! The first user: user name, full name, password twice (with a strength hint), and whether they
//! administer the system (member of `wheel`). The user is created through systemd-homed; when the
//! facts say homed is missing, the page says so and offers a classic /etc/passwd user instead.
//!
//! ↑↓ and Tab move between the fields, Space ticks a box, Enter checks everything and goes on,
//! or moves to the first field that is wrong and says why.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::check::{PasswordProblem, RealNameProblem, UserNameProblem, check_passwords, check_real_name, check_user_name};
use super::form::{checkbox, error_line, ok_line, strength_line};
use super::{Request, UserRequest, is_enter, is_esc};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::{Help, TextField};

/// The parts of the user page that take the focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    /// "Create a classic user instead" (only when homed is missing).
    Classic,
    /// The user name.
    Name,
    /// The full name.
    RealName,
    /// The password.
    Password,
    /// The password again.
    Repeat,
    /// "Administrator".
    Admin,
}

/// What is wrong on the user page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserProblem {
    /// The user name.
    Name(UserNameProblem),
    /// The full name.
    RealName(RealNameProblem),
    /// The passwords.
    Password(PasswordProblem),
}

impl UserProblem {
    fn field(&self) -> UserField {
        match self {
            UserProblem::Name(_) => UserField::Name,
            UserProblem::RealName(_) => UserField::RealName,
            UserProblem::Password(PasswordProblem::Empty) => UserField::Password,
            UserProblem::Password(PasswordProblem::Mismatch) => UserField::Repeat,
        }
    }

    fn words(&self, ui: &Ui) -> String {
        match self {
            UserProblem::Name(p) => p.words(ui),
            UserProblem::RealName(p) => p.words(ui),
            UserProblem::Password(p) => p.words(ui),
        }
    }
}

/// The user page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserPage {
    homed: bool,
    classic: bool,
    focus: UserField,
    name: TextField,
    real_name: TextField,
    password: TextField,
    repeat: TextField,
    admin: bool,
    problem: Option<UserProblem>,
}

impl UserPage {
    pub fn new(homed_available: bool) -> UserPage {
        UserPage {
            homed: homed_available,
            classic: !homed_available,
            focus: UserField::Name,
            name: TextField::new(),
            real_name: TextField::new(),
            password: TextField::masked(),
            repeat: TextField::masked(),
            admin: true,
            problem: None,
        }
    }

    /// Whether a user will be created (false only when homed is missing and the person unticked
    /// the classic user).
    pub fn creates_user(&self) -> bool {
        self.homed || self.classic
    }

    /// The user's fields in focus order, as the page stands.
    fn fields(&self) -> Vec<UserField> {
        let mut fields = Vec::new();
        if !self.homed {
            fields.push(UserField::Classic);
        }
        if self.creates_user() {
            fields.extend([UserField::Name, UserField::RealName, UserField::Password, UserField::Repeat, UserField::Admin]);
        }
        fields
    }

    /// The user to create: `Ok(None)` when none will be, an error naming the first wrong field.
    pub fn answer(&self) -> Result<Option<UserRequest>, UserProblem> {
        if !self.creates_user() {
            return Ok(None);
        }
        check_user_name(self.name.value()).map_err(UserProblem::Name)?;
        check_real_name(self.real_name.value()).map_err(UserProblem::RealName)?;
        check_passwords(self.password.value(), self.repeat.value()).map_err(UserProblem::Password)?;
        Ok(Some(UserRequest {
            name: self.name.value().to_owned(),
            real_name: self.real_name.value().trim().to_owned(),
            password: self.password.secret(),
            admin: self.admin,
            classic: !self.homed && self.classic,
        }))
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_esc(key) {
            return Nav::Back;
        }
        if is_enter(key) {
            return match self.answer() {
                Ok(_) => Nav::Next,
                Err(problem) => {
                    self.focus = problem.field();
                    self.problem = Some(problem);
                    Nav::stay()
                }
            };
        }
        let fields = self.fields();
        let at = fields.iter().position(|&f| f == self.focus).unwrap_or(0);
        match key.code {
            KeyCode::Up | KeyCode::BackTab => self.focus = fields[at.saturating_sub(1)],
            KeyCode::Down | KeyCode::Tab => self.focus = fields[(at + 1).min(fields.len() - 1)],
            KeyCode::Char(' ') if self.focus == UserField::Classic => {
                self.classic = !self.classic;
                self.problem = None;
            }
            KeyCode::Char(' ') if self.focus == UserField::Admin => self.admin = !self.admin,
            _ => {
                let field = match self.focus {
                    UserField::Name => &mut self.name,
                    UserField::RealName => &mut self.real_name,
                    UserField::Password => &mut self.password,
                    UserField::Repeat => &mut self.repeat,
                    UserField::Classic | UserField::Admin => return Nav::stay(),
                };
                if field.key(key) {
                    self.problem = None;
                }
            }
        }
        Nav::stay()
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        let mut help = vec![Help::new(format!("{}/Tab", ui.sym().keys_up_down), ui.t("fb-help-move"))];
        if matches!(self.focus, UserField::Classic | UserField::Admin) {
            help.push(Help::new(ui.t("fb-key-space"), ui.t("fb-help-tick")));
        } else {
            help.push(Help::new("abc", ui.t("fb-help-edit")));
        }
        help.extend([Help::new("Enter", ui.t("fb-help-continue")), Help::new("Esc", ui.t("fb-help-back"))]);
        help
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let notice_height = if self.homed { 0 } else { 4 };
        let [intro, notice, name, real_name, password, repeat, strength, admin, _, status] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(notice_height),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        let intro_id = if self.homed { "fb-user-intro" } else { "fb-user-intro-classic" };
        frame.render_widget(Paragraph::new(ui.t(intro_id)).wrap(Wrap { trim: true }), intro);
        if !self.homed {
            let lines = vec![
                Line::from(format!("{} {}", ui.sym().warning, ui.t("fb-user-no-homed"))).style(ui.warning_style()),
                checkbox(ui, &ui.t("fb-user-classic"), self.classic, self.focus == UserField::Classic),
            ];
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), notice);
        }
        if !self.creates_user() {
            let text = Line::from(ui.t("fb-user-none")).style(ui.strong_style());
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), Rect { height: 2, ..name });
            return;
        }
        let labels = [ui.t("fb-user-name-label"), ui.t("fb-real-name-label"), ui.t("fb-password-label"), ui.t("fb-repeat-label")];
        let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let label = |i: usize| format!("{:<width$}", labels[i]);
        self.name.draw(frame, name, ui, &label(0), self.focus == UserField::Name);
        self.real_name.draw(frame, real_name, ui, &label(1), self.focus == UserField::RealName);
        self.password.draw(frame, password, ui, &label(2), self.focus == UserField::Password);
        self.repeat.draw(frame, repeat, ui, &label(3), self.focus == UserField::Repeat);
        if !self.password.is_empty() {
            let indent = Rect { x: strength.x + 2, width: strength.width.saturating_sub(2), ..strength };
            frame.render_widget(Paragraph::new(strength_line(ui, self.password.value())), indent);
        }
        let admin_lines = vec![
            checkbox(ui, &ui.t("fb-user-admin"), self.admin, self.focus == UserField::Admin),
            Line::from(format!("      {}", ui.t("fb-user-admin-explain"))).style(ui.quiet_style()),
        ];
        frame.render_widget(Paragraph::new(admin_lines).wrap(Wrap { trim: false }), admin);
        frame.render_widget(Paragraph::new(self.status(ui)).wrap(Wrap { trim: true }), status);
    }

    /// The line under the form: the problem found on Enter, else what is wrong with the name
    /// typed so far, else whether the passwords match.
    fn status(&self, ui: &Ui) -> Line<'static> {
        if let Some(problem) = &self.problem {
            return error_line(ui, &problem.words(ui));
        }
        if !self.name.is_empty()
            && let Err(problem) = check_user_name(self.name.value())
        {
            return error_line(ui, &problem.words(ui));
        }
        if let Err(problem) = check_real_name(self.real_name.value()) {
            return error_line(ui, &problem.words(ui));
        }
        if !self.repeat.is_empty() && self.repeat.value() == self.password.value() {
            return ok_line(ui, &ui.t("fb-password-match"));
        }
        Line::from("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{press, type_text};

    fn typed(page: &mut UserPage, text: &str) {
        for key in type_text(text) {
            page.key(&key);
        }
    }

    #[test]
    fn enter_moves_to_the_first_wrong_field() {
        let mut page = UserPage::new(true);
        typed(&mut page, "Anna");
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::stay());
        assert_eq!(page.problem, Some(UserProblem::Name(UserNameProblem::Uppercase('A'))));
        page.key(&KeyEvent::new(KeyCode::Char('u'), ratatui::crossterm::event::KeyModifiers::CONTROL));
        typed(&mut page, "anna");
        page.key(&press(KeyCode::Down));
        typed(&mut page, "Anna Example");
        page.key(&press(KeyCode::Enter));
        assert_eq!(page.problem, Some(UserProblem::Password(PasswordProblem::Empty)));
        assert_eq!(page.focus, UserField::Password);
        typed(&mut page, "pw one");
        page.key(&press(KeyCode::Tab));
        typed(&mut page, "pw two");
        page.key(&press(KeyCode::Enter));
        assert_eq!(page.focus, UserField::Repeat);
        assert_eq!(page.problem, Some(UserProblem::Password(PasswordProblem::Mismatch)));
        for _ in 0..3 {
            page.key(&press(KeyCode::Backspace));
        }
        typed(&mut page, "one");
        page.key(&press(KeyCode::Down));
        page.key(&press(KeyCode::Char(' ')));
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::Next);
        let user = page.answer().unwrap().unwrap();
        assert_eq!((user.name.as_str(), user.real_name.as_str(), user.password.as_str()), ("anna", "Anna Example", "pw one"));
        assert!(!user.admin && !user.classic);
    }

    #[test]
    fn without_homed_a_classic_user_is_offered() {
        let mut page = UserPage::new(false);
        assert_eq!(page.focus, UserField::Name);
        page.key(&press(KeyCode::Up));
        assert_eq!(page.focus, UserField::Classic);
        page.key(&press(KeyCode::Char(' ')));
        assert!(!page.creates_user());
        assert_eq!(page.answer(), Ok(None));
        page.key(&press(KeyCode::Down));
        assert_eq!(page.focus, UserField::Classic, "no fields while no user is created");
        page.key(&press(KeyCode::Char(' ')));
        page.key(&press(KeyCode::Down));
        typed(&mut page, "kiosk");
        page.key(&press(KeyCode::Down));
        page.key(&press(KeyCode::Down));
        typed(&mut page, "pw");
        page.key(&press(KeyCode::Down));
        typed(&mut page, "pw");
        let user = page.answer().unwrap().unwrap();
        assert!(user.classic && user.admin);
    }
}
