//! The first-boot wizard: language → keyboard → time zone → host name → root password → first
//! user → summary → apply → done (or failed).
//!
//! [`Firstboot`] holds every page's state, so going back with Esc loses no answer. A question
//! that credentials already answer ([`Answered`]) has no page; the summary says "from
//! credentials". Pages only change state and return [`Request`]s; the answers leave as one
//! [`FirstbootRequest`] in [`Request::Apply`] when the person confirms the summary, and the app
//! answers with [`Msg`]s. The wizard itself applies nothing.

mod apply;
pub mod check;
mod form;
mod hostname;
mod keyboard;
mod language;
mod root;
mod timezone;
mod types;
mod user;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub use check::{HostnameProblem, PasswordProblem, RealNameProblem, Strength, UserNameProblem};
pub use types::{Answered, ApplyStep, FirstbootFacts, FirstbootRequest, Msg, Request, RootChoice, SettingView, UserRequest};
pub use user::{UserField, UserProblem};

use crate::flow::{Flow, Nav, QuitKey, QuitPrompt, is_press};
use crate::i18n::Lang;
use crate::theme::Ui;
use crate::widgets::{Help, PageFrame, draw_dialog, draw_page};

/// The wizard's pages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The language (and so the locale).
    Language,
    /// The console keymap, applied at once.
    Keyboard,
    /// The time zone.
    Timezone,
    /// The host name.
    Hostname,
    /// Root's password, or a locked root.
    Root,
    /// The first user.
    User,
    /// Every answer, before anything is applied.
    Summary,
    /// The app applies the answers.
    Apply,
    /// Everything was applied.
    Done,
    /// Applying failed.
    Failed,
}

/// The first-boot wizard's state: every page's answers, the page shown, and the quit question.
#[derive(Debug)]
pub struct Firstboot {
    ui: Ui,
    facts: FirstbootFacts,
    page: Page,
    quit: QuitPrompt,
    language: language::LanguagePage,
    keyboard: keyboard::KeyboardPage,
    timezone: timezone::TimezonePage,
    hostname: hostname::HostnamePage,
    root: root::RootPage,
    user: user::UserPage,
    apply: apply::ApplyPage,
}

impl Firstboot {
    /// A new wizard on its first page (the first question credentials do not answer).
    pub fn new(ui: Ui, facts: FirstbootFacts) -> Firstboot {
        let mut firstboot = Firstboot {
            language: language::LanguagePage::new(ui.lang),
            keyboard: keyboard::KeyboardPage::new(ui.lang, &facts),
            timezone: timezone::TimezonePage::new(ui.lang, &facts),
            hostname: hostname::HostnamePage::new(&facts.suggested_hostname),
            root: root::RootPage::default(),
            user: user::UserPage::new(facts.homed_available),
            apply: apply::ApplyPage::default(),
            ui,
            facts,
            page: Page::Language,
            quit: QuitPrompt::default(),
        };
        firstboot.page = firstboot.path()[0];
        firstboot
    }

    /// The page on screen.
    pub fn page(&self) -> Page {
        self.page
    }

    /// Whether the "Quit?" question is on screen.
    pub fn quit_open(&self) -> bool {
        self.quit.is_open()
    }

    /// The facts the wizard was started with.
    pub fn facts(&self) -> &FirstbootFacts {
        &self.facts
    }

    /// The pages the person goes through: the questions credentials do not answer, then summary,
    /// apply and done.
    pub fn path(&self) -> Vec<Page> {
        let a = self.facts.answered;
        let questions = [
            (Page::Language, a.locale),
            (Page::Keyboard, a.keymap),
            (Page::Timezone, a.timezone),
            (Page::Hostname, a.hostname),
            (Page::Root, a.root_password),
            (Page::User, a.user),
        ];
        let mut pages: Vec<Page> = questions.iter().filter(|(_, answered)| !answered).map(|(page, _)| *page).collect();
        pages.extend([Page::Summary, Page::Apply, Page::Done]);
        pages
    }

    /// The answers as the request [`Request::Apply`] carries, when every asked question has a
    /// valid answer. A keymap or time zone the system lists none of stays as it is (`None`).
    pub fn request(&self) -> Option<FirstbootRequest> {
        let a = self.facts.answered;
        Some(FirstbootRequest {
            lang: self.ui.lang,
            locale: if a.locale { None } else { check::locale_for(self.language.lang(), &self.facts.locales) },
            keymap: if a.keymap || self.keyboard.is_empty() { None } else { Some(self.keyboard.selected()?.to_owned()) },
            timezone: if a.timezone || self.timezone.is_empty() { None } else { Some(self.timezone.selected()?.to_owned()) },
            hostname: if a.hostname { None } else { Some(self.hostname.hostname()?.to_owned()) },
            root: if a.root_password { RootChoice::Unchanged } else { self.root.choice()? },
            user: if a.user { None } else { self.user.answer().ok()? },
        })
    }

    /// Why the answers cannot be applied as they stand: root locked and no user created, so
    /// nobody could log in.
    fn lockout(&self) -> bool {
        let a = self.facts.answered;
        !a.root_password && self.root.locked() && !a.user && !self.user.creates_user()
    }

    /// Go to `page` and return the requests it makes on entry.
    fn go(&mut self, page: Page) -> Vec<Request> {
        self.page = page;
        match page {
            Page::Keyboard => self.keyboard.enter(),
            _ => Vec::new(),
        }
    }

    fn next(&mut self) -> Vec<Request> {
        if self.page == Page::Summary {
            if self.lockout() {
                return Vec::new();
            }
            let Some(request) = self.request() else { return Vec::new() };
            self.apply = apply::ApplyPage::default();
            self.go(Page::Apply);
            return vec![Request::Apply(request)];
        }
        let path = self.path();
        match path.iter().position(|&p| p == self.page).and_then(|i| path.get(i + 1)) {
            Some(&page) => self.go(page),
            None => Vec::new(),
        }
    }

    fn back(&mut self) -> Vec<Request> {
        if self.page == Page::Failed {
            return self.go(Page::Summary);
        }
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

    fn is_first(&self, page: Page) -> bool {
        self.path().first() == Some(&page)
    }

    fn page_key(&mut self, key: &KeyEvent) -> Nav<Request> {
        match self.page {
            Page::Language => {
                let nav = self.language.key(key);
                self.set_lang(self.language.lang());
                nav
            }
            Page::Keyboard => self.keyboard.key(key),
            Page::Timezone => self.timezone.key(key),
            Page::Hostname => self.hostname.key(key),
            Page::Root => self.root.key(key),
            Page::User => self.user.key(key),
            Page::Summary => match key.code {
                KeyCode::Enter => Nav::Next,
                KeyCode::Esc => Nav::Back,
                _ => Nav::stay(),
            },
            Page::Apply => Nav::stay(),
            Page::Done => apply::ApplyPage::done_key(key),
            Page::Failed => apply::ApplyPage::failed_key(key),
        }
    }

    /// Switch the language; pages the person has not touched follow with their suggestions.
    fn set_lang(&mut self, lang: Lang) {
        if self.ui.lang != lang {
            self.ui.lang = lang;
            self.keyboard.suggest_for(lang, &self.facts);
            self.timezone.suggest_for(lang);
        }
    }

    fn frame(&self) -> PageFrame {
        let ui = &self.ui;
        let first = self.is_first(self.page);
        let (title, mut help) = match self.page {
            Page::Language => (ui.t("fb-page-language"), language::LanguagePage::help(ui)),
            Page::Keyboard => (ui.t("fb-page-keyboard"), self.keyboard.help(ui)),
            Page::Timezone => (ui.t("fb-page-timezone"), self.timezone.help(ui)),
            Page::Hostname => (ui.t("fb-page-hostname"), hostname::HostnamePage::help(ui)),
            Page::Root => (ui.t("fb-page-root"), self.root.help(ui)),
            Page::User => (ui.t("fb-page-user"), self.user.help(ui)),
            Page::Summary => {
                (ui.t("fb-page-summary"), vec![Help::new("Enter", ui.t("fb-help-apply")), Help::new("Esc", ui.t("fb-help-back"))])
            }
            Page::Apply => (ui.t("fb-page-apply"), Vec::new()),
            Page::Done => (ui.t("fb-page-done"), apply::ApplyPage::done_help(ui)),
            Page::Failed => (ui.t("fb-page-failed"), apply::ApplyPage::failed_help(ui)),
        };
        if first && let Some(esc) = help.iter_mut().find(|h| h.key == "Esc") {
            esc.action = ui.t("fb-help-quit");
        }
        help.push(Help::new(ui.t("fb-key-ctrl-c"), ui.t("fb-help-quit")));
        let path = self.path();
        let step = path.iter().position(|&p| p == self.page).map(|i| (i + 1, path.len()));
        PageFrame { flow: ui.t("fb-flow"), title, step, help }
    }

    /// The summary's rows: what each answer is, or that credentials gave it.
    fn summary_rows(&self) -> Vec<(String, String)> {
        let ui = &self.ui;
        let a = self.facts.answered;
        let from_credentials = || ui.t("fb-from-credentials");
        let text = |value: Option<&str>| value.map(|v| ui.text(v).into_owned()).unwrap_or_else(|| ui.t("fb-summary-missing"));
        let mut rows = Vec::new();
        let language = if a.locale {
            from_credentials()
        } else {
            let lang = self.language.lang();
            let locale = check::locale_for(lang, &self.facts.locales)
                .map(|l| ui.text(&l).into_owned())
                .unwrap_or_else(|| ui.t("fb-language-no-locale"));
            format!("{} ({locale})", lang.name())
        };
        rows.push((ui.t("fb-page-language"), language));
        let keymap = match (a.keymap, self.keyboard.is_empty()) {
            (true, _) => from_credentials(),
            (false, true) => ui.t("fb-summary-unchanged"),
            (false, false) => text(self.keyboard.selected()),
        };
        rows.push((ui.t("fb-page-keyboard"), keymap));
        let timezone = match (a.timezone, self.timezone.is_empty()) {
            (true, _) => from_credentials(),
            (false, true) => ui.t("fb-summary-unchanged"),
            (false, false) => text(self.timezone.selected()),
        };
        rows.push((ui.t("fb-page-timezone"), timezone));
        rows.push((ui.t("fb-page-hostname"), if a.hostname { from_credentials() } else { text(self.hostname.hostname()) }));
        let root = if a.root_password {
            from_credentials()
        } else if self.root.locked() {
            ui.t("fb-summary-root-locked")
        } else if self.root.choice().is_some() {
            ui.t("fb-summary-password-set")
        } else {
            ui.t("fb-summary-missing")
        };
        rows.push((ui.t("fb-summary-root"), root));
        if a.user {
            rows.push((ui.t("fb-summary-user"), from_credentials()));
        } else {
            match self.user.answer() {
                Ok(Some(user)) => {
                    let name =
                        if user.real_name.is_empty() { user.name.clone() } else { format!("{} ({})", user.name, ui.text(&user.real_name)) };
                    rows.push((ui.t("fb-summary-user"), name));
                    let role = if user.admin { ui.t("fb-summary-admin") } else { ui.t("fb-summary-standard") };
                    let storage = if user.classic { ui.t("fb-summary-classic") } else { ui.t("fb-summary-homed") };
                    rows.push((String::new(), format!("{role}{}{storage}", ui.sym().separator)));
                    rows.push((ui.t("fb-summary-user-password"), ui.t("fb-summary-password-set")));
                }
                Ok(None) => rows.push((ui.t("fb-summary-user"), ui.t("fb-summary-no-user"))),
                Err(_) => rows.push((ui.t("fb-summary-user"), ui.t("fb-summary-missing"))),
            }
        }
        rows
    }

    fn draw_summary(&self, frame: &mut Frame, area: Rect) {
        let ui = &self.ui;
        let rows = self.summary_rows();
        let [intro, _, table, notes] =
            Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Length(rows.len() as u16 + 1), Constraint::Min(0)])
                .areas(area);
        frame.render_widget(Paragraph::new(ui.t("fb-summary-intro")).wrap(Wrap { trim: true }), intro);
        let width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) + 2;
        let lines: Vec<Line> = rows
            .into_iter()
            .map(|(label, value)| Line::from(vec![Span::styled(format!("  {label:<width$}"), ui.strong_style()), Span::raw(value)]))
            .collect();
        frame.render_widget(Paragraph::new(lines), table);
        let mut notes_lines = Vec::new();
        if self.lockout() {
            notes_lines.push(form::error_line(ui, &ui.t("fb-summary-lockout")));
        } else if !self.facts.answered.root_password
            && self.root.locked()
            && !self.facts.answered.user
            && self.user.answer().ok().flatten().is_some_and(|u| !u.admin)
        {
            notes_lines.push(Line::from(format!("{} {}", ui.sym().warning, ui.t("fb-summary-no-admin"))).style(ui.warning_style()));
        }
        if self.facts.answered != Answered::default() {
            notes_lines.push(Line::from(ui.t("fb-summary-credentials-note")).style(ui.quiet_style()));
        }
        frame.render_widget(Paragraph::new(notes_lines).wrap(Wrap { trim: true }), notes);
    }

    fn draw_quit(&self, frame: &mut Frame) {
        let ui = &self.ui;
        let (body, style) = match self.page {
            Page::Apply => (ui.t("fb-quit-body-applying"), ui.warning_style()),
            Page::Done => (ui.t("fb-quit-body-done"), ui.strong_style()),
            Page::Failed => (ui.t("fb-quit-body-failed"), ui.strong_style()),
            _ => (ui.t("fb-quit-body"), ui.strong_style()),
        };
        draw_dialog(frame, ui, &ui.t("fb-quit-title"), vec![Line::from(body).style(style)], &ui.t("fb-quit-keys"));
    }
}

impl Flow for Firstboot {
    type Request = Request;
    type Msg = Msg;

    fn start(&mut self) -> Vec<Request> {
        self.go(self.page)
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
            Msg::Step(line) => self.apply.step(line),
            Msg::Applied(lines) => {
                self.apply.applied(lines);
                self.page = Page::Done;
            }
            Msg::Failed(error) => {
                self.apply.failed(error);
                self.page = Page::Failed;
            }
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame) {
        let ui = &self.ui;
        let body = draw_page(frame, ui, &self.frame());
        match self.page {
            Page::Language => self.language.draw(frame, body, ui, &self.facts),
            Page::Keyboard => self.keyboard.draw(frame, body, ui),
            Page::Timezone => self.timezone.draw(frame, body, ui),
            Page::Hostname => self.hostname.draw(frame, body, ui),
            Page::Root => self.root.draw(frame, body, ui),
            Page::User => self.user.draw(frame, body, ui),
            Page::Summary => self.draw_summary(frame, body),
            Page::Apply => self.apply.draw(frame, body, ui),
            Page::Done => self.apply.draw_done(frame, body, ui),
            Page::Failed => self.apply.draw_failed(frame, body, ui),
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
