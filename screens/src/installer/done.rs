//! The last pages: done (the proof that the new system will open, then reboot, power off or quit;
//! in demo mode only quit, with where the demo files are) and failed (the error in words, the end
//! of the log, and quit).

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::progress::draw_log;
use super::{Ctx, DoneView, Request, is_enter};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::list::ListNav;
use crate::widgets::{Help, text};

/// What the person can do at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Reboot,
    PowerOff,
    Quit,
}

impl Action {
    fn request(self) -> Request {
        match self {
            Action::Reboot => Request::Reboot,
            Action::PowerOff => Request::PowerOff,
            Action::Quit => Request::Quit,
        }
    }

    fn label_id(self) -> &'static str {
        match self {
            Action::Reboot => "done-reboot",
            Action::PowerOff => "done-power-off",
            Action::Quit => "done-quit",
        }
    }
}

fn actions(demo: bool) -> &'static [Action] {
    if demo { &[Action::Quit] } else { &[Action::Reboot, Action::PowerOff, Action::Quit] }
}

/// The state of the done and failed pages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DonePage {
    view: DoneView,
    nav: ListNav,
    error: Option<String>,
}

impl DonePage {
    pub fn set_done(&mut self, view: DoneView) {
        self.view = view;
        self.nav = ListNav::default();
    }

    pub fn set_failed(&mut self, error: String) {
        self.error = Some(error);
    }

    pub fn key(&mut self, key: &KeyEvent, demo: bool) -> Nav<Request> {
        let actions = actions(demo);
        let shortcut = match key.code {
            KeyCode::Char('r' | 'R') if !demo => Some(Action::Reboot),
            KeyCode::Char('p' | 'P') if !demo => Some(Action::PowerOff),
            KeyCode::Char('q' | 'Q') => Some(Action::Quit),
            KeyCode::Enter => actions.get(self.nav.selected).copied(),
            _ => None,
        };
        if let Some(action) = shortcut {
            return Nav::Stay(vec![action.request()]);
        }
        let moved = match key.code {
            KeyCode::Left | KeyCode::BackTab => KeyCode::Up,
            KeyCode::Right | KeyCode::Tab => KeyCode::Down,
            other => other,
        };
        self.nav.key(&KeyEvent::new(moved, key.modifiers), actions.len());
        Nav::stay()
    }

    pub fn failed_key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) || matches!(key.code, KeyCode::Char('q' | 'Q')) {
            return Nav::Stay(vec![Request::Quit]);
        }
        Nav::stay()
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![Help::new(ui.sym().keys_left_right, ui.t("help-choose")), Help::new("Enter", ui.t("help-select"))]
    }

    pub fn failed_help(ui: &Ui) -> Vec<Help> {
        vec![Help::new("Enter", ui.t("help-quit"))]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let ui = ctx.ui;
        let sym = ui.sym();
        let all_ok = self.view.proof.iter().all(|p| p.ok);
        let mut lines = vec![if all_ok {
            Line::from(format!("{} {}", sym.ok, ui.t("done-ok"))).style(ui.ok_style())
        } else {
            Line::from(format!("{} {}", sym.warning, ui.t("done-proof-failed"))).style(ui.warning_style())
        }];
        lines.push(Line::from(""));
        if !self.view.proof.is_empty() {
            lines.push(Line::from(ui.t("done-proof-intro")));
        }
        let [text_area, buttons] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
        let width = text_area.width;
        for proof in &self.view.proof {
            // The mark says whether the check held (✓ or [ok]); a word repeating it ("ok:") said
            // it twice. A failed check gets its word as well, so it cannot be missed.
            let (head, style) = if proof.ok {
                (format!("  {} ", sym.ok), ui.ok_style())
            } else {
                (format!("  {} {}: ", sym.failed, ui.t("done-check-failed")), ui.error_style())
            };
            let mut sentence = ui.t(proof.kind.message_id());
            let detail = proof.detail.trim();
            if !detail.is_empty() {
                sentence = format!("{sentence} ({})", ui.text(detail));
            }
            lines.extend(text::bullet(&head, &sentence, width, style));
        }
        if let Some(seed) = &self.view.seed {
            lines.push(Line::from(""));
            lines.extend(text::lines(&ui.t_args("done-seed", &[("seed", seed.clone().into())]), width, Style::new()));
        }
        if let Some(note) = &self.view.note {
            lines.push(Line::from(""));
            lines.extend(text::lines(&ui.text(note), width, ui.strong_style()));
        }
        if !ui.demo {
            lines.push(Line::from(""));
            lines.extend(text::lines(&ui.t("done-remove-media"), width, Style::new()));
        }
        frame.render_widget(Paragraph::new(lines), text_area);
        frame.render_widget(Paragraph::new(self.buttons(ui)), buttons);
    }

    fn buttons(&self, ui: &Ui) -> Line<'static> {
        let sym = ui.sym();
        let mut spans = Vec::new();
        for (i, action) in actions(ui.demo).iter().enumerate() {
            let selected = i == self.nav.selected;
            let marker = if selected { sym.selected } else { sym.unselected };
            let style = if selected { ui.selected_style() } else { ui.strong_style() };
            spans.push(Span::styled(format!("{marker}[ {} ]", ui.t(action.label_id())), style));
            spans.push(Span::raw("   "));
        }
        Line::from(spans)
    }

    pub fn draw_failed(&self, frame: &mut Frame, area: Rect, ctx: &Ctx, log: &VecDeque<String>) {
        let ui = ctx.ui;
        let error = self.error.as_deref().unwrap_or("");
        let lines = vec![
            Line::from(format!("{} {}", ui.sym().failed, ui.t("failed-title"))).style(ui.error_style()),
            Line::from(""),
            Line::from(format!("{} {}", ui.t("error-prefix"), ui.text(error))).style(ui.error_style()),
            Line::from(""),
            Line::from(ui.t("failed-explain")),
        ];
        let [text, log_area] = Layout::vertical([Constraint::Percentage(50), Constraint::Min(0)]).areas(area);
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), text);
        draw_log(frame, log_area, ui, log, &ui.t("failed-log"));
    }
}
