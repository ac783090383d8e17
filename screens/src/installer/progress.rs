//! The progress page: each step with its state as a symbol, a bar with bytes, rate and time left,
//! and a log view toggled with `l`. There is no going back from here; Ctrl-C still asks, and says
//! that quitting stops the install.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Ctx, ProgressView, Request, StepState, StepView};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::Help;
use crate::widgets::format::{duration, rate, size};
use crate::widgets::gauge::bar;
use crate::widgets::page::section;

/// The most log lines kept; older ones are dropped.
pub const LOG_LINES: usize = 1000;

/// The progress page's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ProgressPage {
    view: ProgressView,
    log: VecDeque<String>,
    show_log: bool,
}

impl ProgressPage {
    pub fn set_view(&mut self, view: ProgressView) {
        self.view = view;
    }

    /// Append a log line (several, if it has line breaks), dropping the oldest beyond [`LOG_LINES`].
    pub fn log(&mut self, text: String) {
        for line in text.lines() {
            if self.log.len() == LOG_LINES {
                self.log.pop_front();
            }
            self.log.push_back(line.to_owned());
        }
    }

    pub fn log_lines(&self) -> &VecDeque<String> {
        &self.log
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if matches!(key.code, KeyCode::Char('l' | 'L')) {
            self.show_log = !self.show_log;
        }
        Nav::stay()
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        vec![Help::new("l", if self.show_log { ui.t("help-hide-log") } else { ui.t("help-show-log") })]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let ui = ctx.ui;
        if self.show_log {
            draw_log(frame, area, ui, &self.log, &ui.t("progress-log"));
            return;
        }
        let steps = self.view.steps.len() as u16;
        let [intro, list, _, gauge, numbers, _, note] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Max(steps.max(1)),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(ui.t("progress-intro")).wrap(Wrap { trim: true }), intro);
        let lines: Vec<Line> = self.view.steps.iter().map(|step| step_line(ui, step)).collect();
        frame.render_widget(Paragraph::new(lines), list);
        let v = &self.view;
        frame.render_widget(Paragraph::new(bar(ui, v.bytes_done, v.bytes_total, usize::from(gauge.width))), gauge);
        frame.render_widget(Paragraph::new(numbers_line(ui, v)), numbers);
        frame.render_widget(Paragraph::new(ui.t("progress-keep-power")).style(ui.quiet_style()).wrap(Wrap { trim: true }), note);
    }
}

fn step_line(ui: &Ui, step: &StepView) -> Line<'static> {
    let sym = ui.sym();
    let (symbol, style) = match step.state {
        StepState::Waiting => (sym.waiting, ui.quiet_style()),
        StepState::Running => (sym.running, ui.strong_style()),
        StepState::Done => (sym.ok, ui.ok_style()),
        StepState::Failed => (sym.failed, ui.error_style()),
    };
    let mut text = format!("{symbol} {}", ui.t(step.kind.message_id()));
    if !step.label.is_empty() {
        text = format!("{text}: {}", ui.text(&step.label));
    }
    match step.state {
        StepState::Running => text = format!("{text} {}", ui.t("progress-running")),
        StepState::Failed => text = format!("{text} {}", ui.t("progress-failed")),
        _ => {}
    }
    Line::from(text).style(style)
}

fn numbers_line(ui: &Ui, v: &ProgressView) -> String {
    let sep = ui.sym().separator;
    let mut parts =
        vec![ui.t_args("progress-bytes", &[("done", size(v.bytes_done, ui.lang).into()), ("total", size(v.bytes_total, ui.lang).into())])];
    if let Some(r) = v.rate_bytes_per_sec {
        parts.push(rate(r, ui.lang));
    }
    if let Some(eta) = v.eta_secs {
        parts.push(ui.t_args("progress-eta", &[("time", duration(eta).into())]));
    }
    parts.join(sep)
}

/// Draw the newest log lines that fit, in a titled box.
pub(crate) fn draw_log(frame: &mut Frame, area: Rect, ui: &Ui, log: &VecDeque<String>, title: &str) {
    let block = section(ui, format!(" {title} "));
    let height = usize::from(block.inner(area).height);
    let lines: Vec<Line> = if log.is_empty() {
        vec![Line::from(ui.t("progress-log-empty")).style(ui.quiet_style())]
    } else {
        log.iter().skip(log.len().saturating_sub(height)).map(|l| Line::from(ui.text(l).into_owned())).collect()
    };
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_bounded() {
        let mut page = ProgressPage::default();
        for i in 0..LOG_LINES + 5 {
            page.log(format!("line {i}"));
        }
        assert_eq!(page.log_lines().len(), LOG_LINES);
        assert_eq!(page.log_lines().front().map(String::as_str), Some("line 5"));
        page.log("a\nb".into());
        assert_eq!(page.log_lines().back().map(String::as_str), Some("b"));
    }
}
