//! The last pages: applying (progress lines from the app), done (what was applied; Enter goes on
//! to the login prompt) and failed (the error; back to the summary to change an answer).

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{ApplyStep, Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::Help;

/// The progress lines, what was applied, and the error if applying failed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ApplyPage {
    steps: Vec<ApplyStep>,
    applied: Vec<ApplyStep>,
    error: Option<String>,
}

impl ApplyStep {
    /// The step in words of the interface's language.
    pub fn words(&self, ui: &Ui) -> String {
        let text = |s: &str| ui.text(s).into_owned();
        match self {
            ApplyStep::Written { setting, file } => {
                ui.t_args("fb-step-written", &[("what", ui.t(setting.message_id()).into()), ("file", text(file).into())])
            }
            ApplyStep::SetVia { setting, file: _, daemon } => {
                ui.t_args("fb-step-via", &[("what", ui.t(setting.message_id()).into()), ("daemon", text(daemon).into())])
            }
            ApplyStep::Kept { setting, file } => {
                ui.t_args("fb-step-kept", &[("what", ui.t(setting.message_id()).into()), ("file", text(file).into())])
            }
            ApplyStep::UserClassic { name } => ui.t_args("fb-step-user-classic", &[("name", text(name).into())]),
            ApplyStep::UserHomed { name, storage } => {
                ui.t_args("fb-step-user-homed", &[("name", text(name).into()), ("storage", text(storage).into())])
            }
        }
    }
}

impl ApplyPage {
    pub fn step(&mut self, step: ApplyStep) {
        self.steps.push(step);
    }

    pub fn applied(&mut self, lines: Vec<ApplyStep>) {
        self.applied = lines;
    }

    pub fn failed(&mut self, error: String) {
        self.error = Some(error);
    }

    /// Done: Enter continues to the login prompt.
    pub fn done_key(key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) { Nav::Stay(vec![Request::Quit]) } else { Nav::stay() }
    }

    /// Failed: Enter or Esc go back to the summary.
    pub fn failed_key(key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) || is_esc(key) { Nav::Back } else { Nav::stay() }
    }

    pub fn done_help(ui: &Ui) -> Vec<Help> {
        vec![Help::new("Enter", ui.t("fb-help-login"))]
    }

    pub fn failed_help(ui: &Ui) -> Vec<Help> {
        vec![Help::new("Enter/Esc", ui.t("fb-help-to-summary"))]
    }

    fn step_lines(&self, ui: &Ui, running: bool) -> Vec<Line<'static>> {
        let sym = ui.sym();
        let last = self.steps.len().saturating_sub(1);
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let (symbol, style) = match (i == last, running, self.error.is_some()) {
                    (true, true, _) => (sym.running, ui.strong_style()),
                    (true, false, true) => (sym.failed, ui.error_style()),
                    _ => (sym.ok, ratatui::style::Style::new()),
                };
                Line::from(format!("{symbol} {}", step.words(ui))).style(style)
            })
            .collect()
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, _, lines] = Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Min(0)]).areas(area);
        frame.render_widget(Paragraph::new(ui.t("fb-apply-intro")).wrap(Wrap { trim: true }), intro);
        draw_tail(frame, lines, self.step_lines(ui, true));
    }

    pub fn draw_done(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, _, lines, next] =
            Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Min(0), Constraint::Length(2)]).areas(area);
        let title = Line::from(format!("{} {}", ui.sym().ok, ui.t("fb-done-intro"))).style(ui.ok_style());
        frame.render_widget(Paragraph::new(title).wrap(Wrap { trim: true }), intro);
        let mut applied = vec![Line::from(ui.t("fb-done-applied")).style(ui.strong_style())];
        applied.extend(self.applied.iter().map(|step| Line::from(format!("{} {}", ui.sym().bullet, step.words(ui)))));
        if self.applied.is_empty() {
            applied.push(Line::from(ui.t("fb-done-nothing")).style(ui.quiet_style()));
        }
        draw_tail(frame, lines, applied);
        frame.render_widget(Paragraph::new(ui.t("fb-done-next")).style(ui.strong_style()).wrap(Wrap { trim: true }), next);
    }

    pub fn draw_failed(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let error = self.error.as_deref().map(|e| ui.text(e).into_owned()).unwrap_or_default();
        let [head, _, lines, next] =
            Layout::vertical([Constraint::Length(4), Constraint::Length(1), Constraint::Min(0), Constraint::Length(2)]).areas(area);
        let text = vec![
            Line::from(format!("{} {}", ui.sym().failed, ui.t("fb-failed-intro"))).style(ui.error_style()),
            Line::from(ui.t_args("fb-error", &[("reason", error.into())])),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), head);
        draw_tail(frame, lines, self.step_lines(ui, false));
        frame.render_widget(Paragraph::new(ui.t("fb-failed-next")).style(ui.quiet_style()).wrap(Wrap { trim: true }), next);
    }
}

/// Draw the last lines that fit (the newest progress stays in view).
fn draw_tail(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    let skip = lines.len().saturating_sub(usize::from(area.height));
    frame.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), area);
}
