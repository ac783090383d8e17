//! The host name page: a field holding the name suggested from the machine, checked as it is
//! typed, with what is wrong said in words. Enter goes on only with a valid name.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::check::{HOST_NAME_MAX, check_hostname};
use super::form::{error_line, ok_line};
use super::{Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::{Help, TextField};

/// The host name page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostnamePage {
    field: TextField,
    suggested: String,
}

impl HostnamePage {
    pub fn new(suggested: &str) -> HostnamePage {
        let mut field = TextField::new();
        field.set(suggested);
        HostnamePage { field, suggested: suggested.to_owned() }
    }

    /// The host name typed, when it is valid.
    pub fn hostname(&self) -> Option<&str> {
        check_hostname(self.field.value()).is_ok().then(|| self.field.value())
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) {
            return if self.hostname().is_some() { Nav::Next } else { Nav::stay() };
        }
        if is_esc(key) {
            return Nav::Back;
        }
        self.field.key(key);
        Nav::stay()
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![
            Help::new("abc", ui.t("fb-help-edit")),
            Help::new(ui.t("fb-key-ctrl-u"), ui.t("fb-help-clear")),
            Help::new("Enter", ui.t("fb-help-continue")),
            Help::new("Esc", ui.t("fb-help-back")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, field, _, status, _, rules] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        let mut text = vec![Line::from(ui.t("fb-hostname-intro"))];
        if !self.suggested.is_empty() {
            text.push(
                Line::from(ui.t_args("fb-hostname-suggested", &[("name", ui.text(&self.suggested).into_owned().into())]))
                    .style(ui.quiet_style()),
            );
        }
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), intro);
        self.field.draw(frame, field, ui, &ui.t("fb-hostname-label"), true);
        let line = match check_hostname(self.field.value()) {
            Ok(()) => ok_line(ui, &ui.t("fb-hostname-ok")),
            Err(problem) => error_line(ui, &problem.words(ui)),
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), status);
        let rules_text = ui.t_args("fb-hostname-rules", &[("max", HOST_NAME_MAX.into())]);
        frame.render_widget(Paragraph::new(rules_text).style(ui.quiet_style()).wrap(Wrap { trim: true }), rules);
    }
}
