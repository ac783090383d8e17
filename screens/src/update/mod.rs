//! The update page: the versions on offer and installed (the running one marked), the download's
//! progress, and "restart into the new version".
//!
//! [`Updater`] only changes state and returns [`Request`]s; the app reads the sysupdate.d
//! transfers, fetches and verifies the manifest, downloads into the inactive slot.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use crate::flow::{Flow, QuitKey, QuitPrompt, is_press};
use crate::theme::Ui;
use crate::widgets::format::{rate, size};
use crate::widgets::gauge::bar;
use crate::widgets::list::{ListNav, draw_rows};
use crate::widgets::{Help, PageFrame, draw_dialog, draw_page};

/// One version, as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VersionView {
    pub version: String,
    /// The source offers it (it can be installed).
    pub available: bool,
    /// A slot holds it.
    pub installed: bool,
    /// The system runs it now.
    pub current: bool,
    /// What an update without a choice installs (the newest on offer, newer than installed).
    pub candidate: bool,
    /// Older than what the system runs or has installed: installing it is a downgrade, and
    /// the page asks first.
    pub older: bool,
}

impl VersionView {
    /// Whether choosing it installs something.
    pub fn installable(&self) -> bool {
        self.available && !self.installed
    }
}

/// What the updater asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Read the transfers and fetch the manifest; answer with [`Msg::Versions`] or [`Msg::Failed`].
    Check,
    /// Download and install this version into the inactive slot; answer with [`Msg::Progress`]
    /// and [`Msg::Done`] or [`Msg::Failed`].
    Apply(String),
    Reboot,
    Quit,
}

/// What the app tells the updater.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Versions(Vec<VersionView>),
    Progress { bytes_done: u64, bytes_total: u64, rate_bytes_per_sec: Option<u64> },
    Done(String),
    Failed(String),
}

/// The pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Checking,
    List,
    Downloading,
    Done,
    Failed,
}

/// The updater's state.
#[derive(Debug)]
pub struct Updater {
    ui: Ui,
    page: Page,
    versions: Vec<VersionView>,
    nav: ListNav,
    quit: QuitPrompt,
    installing: String,
    progress: (u64, u64, Option<u64>),
    error: String,
    /// An older version chosen, waiting for the person to confirm the downgrade.
    confirm_older: Option<String>,
}

impl Updater {
    pub fn new(ui: Ui) -> Updater {
        Updater {
            ui,
            page: Page::Checking,
            versions: Vec::new(),
            nav: ListNav::default(),
            quit: QuitPrompt::default(),
            installing: String::new(),
            progress: (0, 0, None),
            error: String::new(),
            confirm_older: None,
        }
    }

    pub fn page(&self) -> Page {
        self.page
    }

    /// Installs `version` now: the download page and the request.
    fn apply(&mut self, version: String) -> Vec<Request> {
        self.installing = version.clone();
        self.progress = (0, 0, None);
        self.page = Page::Downloading;
        vec![Request::Apply(version)]
    }

    fn page_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        // a downgrade waits for 'y'; anything else goes back to the list
        if let Some(v) = self.confirm_older.take() {
            return if key.code == KeyCode::Char('y') { self.apply(v) } else { Vec::new() };
        }
        match (self.page, key.code) {
            (Page::List | Page::Failed | Page::Checking, KeyCode::Esc) => {
                self.quit.open();
                Vec::new()
            }
            (Page::List, KeyCode::Char('r')) | (Page::Failed, KeyCode::Char('r')) => {
                self.page = Page::Checking;
                vec![Request::Check]
            }
            (Page::List, KeyCode::Enter) => match self.versions.get(self.nav.selected) {
                Some(v) if v.installable() && v.older => {
                    self.confirm_older = Some(v.version.clone());
                    Vec::new()
                }
                Some(v) if v.installable() => {
                    let v = v.version.clone();
                    self.apply(v)
                }
                _ => Vec::new(),
            },
            (Page::List, _) => {
                self.nav.key(key, self.versions.len());
                Vec::new()
            }
            (Page::Done, KeyCode::Enter | KeyCode::Char('r')) => vec![Request::Reboot],
            (Page::Done, KeyCode::Char('q') | KeyCode::Esc) => vec![Request::Quit],
            (Page::Failed, KeyCode::Enter) => {
                self.page = if self.versions.is_empty() { Page::Failed } else { Page::List };
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn help(&self) -> Vec<Help> {
        let ui = &self.ui;
        let mut h = match self.page {
            Page::List => vec![
                Help::new("↑↓", ui.t("help-choose")),
                Help::new("Enter", ui.t("update-help-install")),
                Help::new("r", ui.t("update-help-check")),
                Help::new("Esc", ui.t("help-quit")),
            ],
            Page::Done => vec![Help::new("Enter", ui.t("update-help-reboot")), Help::new("q", ui.t("update-help-later"))],
            Page::Failed => vec![Help::new("r", ui.t("update-help-check")), Help::new("Esc", ui.t("help-quit"))],
            Page::Checking | Page::Downloading => Vec::new(),
        };
        h.push(Help::new(ui.t("key-ctrl-c"), ui.t("help-quit")));
        // ASCII consoles get ASCII arrows
        if ui.ascii {
            h.iter_mut().for_each(|e| e.key = e.key.replace("↑↓", "Up/Down"));
        }
        h
    }

    fn status(&self, v: &VersionView) -> String {
        let ui = &self.ui;
        let mut words = Vec::new();
        if v.current {
            words.push(ui.t("update-current"));
        } else if v.installed {
            words.push(ui.t("update-installed"));
        }
        if v.candidate {
            words.push(ui.t("update-newest"));
        } else if v.installable() && v.older {
            words.push(ui.t("update-older"));
        } else if v.installable() {
            words.push(ui.t("update-available"));
        }
        words.join(", ")
    }
}

impl Flow for Updater {
    type Request = Request;
    type Msg = Msg;

    fn start(&mut self) -> Vec<Request> {
        vec![Request::Check]
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
            Msg::Versions(v) => {
                // newest first; the cursor on what an update would install
                self.versions = v;
                self.versions.reverse();
                let at = self.versions.iter().position(|v| v.candidate).unwrap_or(0);
                self.nav = ListNav { selected: at };
                self.page = Page::List;
            }
            Msg::Progress { bytes_done, bytes_total, rate_bytes_per_sec } => self.progress = (bytes_done, bytes_total, rate_bytes_per_sec),
            Msg::Done(v) => {
                self.installing = v;
                self.page = Page::Done;
            }
            Msg::Failed(e) => {
                self.error = e;
                self.page = Page::Failed;
            }
        }
        Vec::new()
    }

    fn draw(&self, frame: &mut Frame) {
        let ui = &self.ui;
        let title = match self.page {
            Page::Checking | Page::List => ui.t("update-page-versions"),
            Page::Downloading => ui.t("update-page-downloading"),
            Page::Done => ui.t("update-page-done"),
            Page::Failed => ui.t("update-page-failed"),
        };
        let body = draw_page(frame, ui, &PageFrame { flow: ui.t("update-flow"), title, step: None, help: self.help() });
        let sym = ui.sym();
        let [top, rest] = Layout::vertical([Constraint::Length(3), Constraint::Min(0)]).areas(body);
        match self.page {
            Page::Checking => frame.render_widget(Paragraph::new(ui.t("update-checking")).wrap(Wrap { trim: true }), top),
            Page::List => {
                let newest = self.versions.iter().any(|v| v.candidate);
                let intro = if newest { ui.t("update-intro") } else { ui.t("update-up-to-date") };
                frame.render_widget(Paragraph::new(intro).wrap(Wrap { trim: true }), top);
                let rows: Vec<Vec<Line<'static>>> =
                    self.versions.iter().map(|v| vec![Line::from(format!("{:<20} {}", ui.text(&v.version), self.status(v)))]).collect();
                let disabled: Vec<usize> = self.versions.iter().enumerate().filter(|(_, v)| !v.installable()).map(|(i, _)| i).collect();
                draw_rows(frame, rest, ui, &rows, Some(self.nav.selected), &disabled);
            }
            Page::Downloading => {
                let (done, total, r) = self.progress;
                let mut lines =
                    vec![Line::from(ui.t_args("update-downloading", &[("version", ui.text(&self.installing).into_owned().into())]))];
                lines.push(Line::from(""));
                lines.push(Line::from(bar(ui, done, total, usize::from(body.width))));
                let rate_text = r.map(|r| format!("{}{}", sym.separator, rate(r, ui.lang))).unwrap_or_default();
                lines.push(Line::from(format!("{} / {}{rate_text}", size(done, ui.lang), size(total, ui.lang))));
                lines.push(Line::from(""));
                lines.push(Line::from(ui.t("update-safe")));
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
            }
            Page::Done => {
                let text =
                    format!("{} {}", sym.ok, ui.t_args("update-done", &[("version", ui.text(&self.installing).into_owned().into())]));
                frame.render_widget(Paragraph::new(vec![Line::from(text).style(ui.ok_style())]).wrap(Wrap { trim: true }), body);
            }
            Page::Failed => {
                let text = format!("{} {}: {}", sym.failed, ui.t("error-prefix"), ui.text(&self.error));
                let lines = vec![Line::from(text).style(ui.error_style()), Line::from(""), Line::from(ui.t("update-failed-safe"))];
                frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), body);
            }
        }
        if let Some(v) = &self.confirm_older {
            let body = vec![Line::from(ui.t_args("update-older-body", &[("version", ui.text(v).into_owned().into())]))];
            draw_dialog(frame, ui, &ui.t("update-older-title"), body, &ui.t("update-older-keys"));
        }
        if self.quit.is_open() {
            draw_dialog(frame, ui, &ui.t("quit-title"), vec![Line::from(ui.t("update-quit-body"))], &ui.t("quit-keys"));
        }
    }

    fn ui(&self) -> Ui {
        self.ui
    }
}
