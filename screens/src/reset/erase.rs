//! The factory reset page — what will be erased and what stays, and a word to type back — and
//! the pages after it: progress lines, done (restart or power off) and failed.
//!
//! The word is the catalog's ("ERASE", German "LÖSCHEN"); in ASCII mode the screen shows it
//! folded ("LOESCHEN"), so either spelling is accepted.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use fluent_bundle::FluentValue;

use super::{Request, ResetFacts, ResetStepView, is_enter, is_esc};
use crate::i18n::{Lang, ascii_fold};
use crate::theme::Ui;
use crate::widgets::format::{self, hanging};
use crate::widgets::list::{ListNav, draw_rows};
use crate::widgets::page::{columns, section};
use crate::widgets::{Help, TextField};

/// What the confirmation page made of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfirmKey {
    /// Stay on the page.
    Stay,
    /// Back to the menu.
    Back,
    /// The word was typed: reset now.
    Confirmed,
}

/// The word to type, in this language.
pub fn confirm_word(lang: Lang) -> String {
    lang.tr().t("reset-confirm-word")
}

/// Whether `typed` is the confirmation word of `lang` (as shown, or folded to ASCII).
pub fn is_confirm_word(lang: Lang, typed: &str) -> bool {
    let word = confirm_word(lang);
    let typed = typed.trim();
    !typed.is_empty() && (typed == word || typed == ascii_fold(&word))
}

/// The confirmation page's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ConfirmPage {
    field: TextField,
    refused: bool,
}

impl ConfirmPage {
    /// A fresh page: the word must be typed anew every time.
    pub fn clear(&mut self) {
        self.field.clear();
        self.refused = false;
    }

    pub fn key(&mut self, key: &KeyEvent, lang: Lang) -> ConfirmKey {
        if is_esc(key) {
            return ConfirmKey::Back;
        }
        if is_enter(key) {
            if is_confirm_word(lang, self.field.value()) {
                return ConfirmKey::Confirmed;
            }
            self.refused = true;
            return ConfirmKey::Stay;
        }
        if self.field.key(key) {
            self.refused = false;
        }
        ConfirmKey::Stay
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![
            Help::new("abc", ui.t("reset-help-type-word")),
            Help::new("Enter", ui.t("reset-help-reset")),
            Help::new("Esc", ui.t("reset-help-back")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui, facts: &ResetFacts) {
        let sym = ui.sym();
        let column_width = usize::from(columns(area, 50)[0].width.saturating_sub(2));
        let items = |list: &[String], symbol: &str, none_id: &str| -> Vec<Line<'static>> {
            if list.is_empty() {
                return vec![Line::from(ui.t(none_id)).style(ui.quiet_style())];
            }
            list.iter().flat_map(|item| hanging(&format!("{symbol} "), &ui.text(item), column_width)).map(Line::from).collect()
        };
        let erase = items(&facts.erase, "-", "reset-erase-none");
        let keep = items(&facts.keep, "+", "reset-keep-none");
        let lists_height = erase.len().max(keep.len()) as u16 + 2;
        let [intro, lists, _, field, status] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(lists_height),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(2),
        ])
        .areas(area);
        let word = ui.text(&confirm_word(ui.lang)).into_owned();
        frame.render_widget(Paragraph::new(ui.t("reset-confirm-intro")).wrap(Wrap { trim: true }), intro);
        let [left, right] = columns(lists, 50);
        let erase_block = section(ui, Line::from(format!(" {} {} ", sym.failed, ui.t("reset-erase-title"))).style(ui.error_style()));
        let keep_block = section(ui, Line::from(format!(" {} {} ", sym.ok, ui.t("reset-keep-title"))).style(ui.ok_style()));
        frame.render_widget(Paragraph::new(erase).block(erase_block), left);
        frame.render_widget(Paragraph::new(keep).block(keep_block), right);
        let label = ui.t_args("reset-confirm-label", &[("word", word.clone().into())]);
        self.field.draw(frame, field, ui, &label, true);
        let line = if self.refused {
            Line::from(format!("{} {}", sym.failed, ui.t_args("reset-confirm-wrong", &[("word", word.into())]))).style(ui.error_style())
        } else {
            Line::from(format!("{} {}", sym.warning, ui.t("reset-confirm-warning"))).style(ui.warning_style())
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), status);
    }
}

/// The progress lines, the error if any, and the choice on the done page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ProgressPage {
    steps: Vec<ResetStepView>,
    error: Option<String>,
    done_nav: ListNav,
}

impl ResetStepView {
    /// The step in words of the interface's language.
    pub fn words(&self, ui: &Ui) -> String {
        let text = |s: &str| FluentValue::from(ui.text(s).into_owned());
        let num = |n: u32| FluentValue::from(n.to_string());
        let size = |b: u64| FluentValue::from(format::size(b, ui.lang));
        let part = |number: u32, label: &str| [("number", num(number)), ("label", text(label))];
        match self {
            ResetStepView::Erase { number, label, size: s } => {
                let [n, l] = part(*number, label);
                ui.t_args("reset-step-erase", &[n, l, ("size", size(*s))])
            }
            ResetStepView::TableWithout { left } => ui.t_args("reset-step-table-without", &[("left", left.to_string().into())]),
            ResetStepView::Wipe => ui.t("reset-step-wipe"),
            ResetStepView::Clear { number, label, encrypted } => {
                let id = if *encrypted { "reset-step-clear-encrypted" } else { "reset-step-clear" };
                ui.t_args(id, &part(*number, label))
            }
            ResetStepView::Format { number, label, fs, encrypted } => {
                let [n, l] = part(*number, label);
                let id = if *encrypted { "reset-step-format-encrypted" } else { "reset-step-format" };
                ui.t_args(id, &[n, l, ("fs", text(fs))])
            }
            ResetStepView::Copy { number, label, size: s, encrypted } => {
                let [n, l] = part(*number, label);
                let id = if *encrypted { "reset-step-copy-encrypted" } else { "reset-step-copy" };
                ui.t_args(id, &[n, l, ("size", size(*s))])
            }
            ResetStepView::Table { partitions } => ui.t_args("reset-step-table", &[("partitions", partitions.to_string().into())]),
            ResetStepView::Verify => ui.t("reset-step-verify"),
            ResetStepView::Boot => ui.t("reset-step-boot"),
            ResetStepView::Prove => ui.t("reset-step-prove"),
            ResetStepView::EspLog => ui.t("reset-step-esp-log"),
            ResetStepView::Logged { line } => ui.t_args("reset-step-logged", &[("line", text(line))]),
            ResetStepView::Requested { variable, value } => {
                ui.t_args("reset-step-requested", &[("variable", text(variable)), ("value", text(value))])
            }
            ResetStepView::RestartToReset => ui.t("reset-step-restart"),
        }
    }
}

impl ProgressPage {
    pub fn step(&mut self, line: ResetStepView) {
        self.steps.push(line);
    }

    pub fn failed(&mut self, error: String) {
        self.error = Some(error);
    }

    /// Done: restart (the default) or power off.
    pub fn done_key(&mut self, key: &KeyEvent) -> Vec<Request> {
        if is_enter(key) {
            return vec![if self.done_nav.selected == 0 { Request::Reboot } else { Request::PowerOff }];
        }
        self.done_nav.key(key, 2);
        Vec::new()
    }

    pub fn done_help(ui: &Ui) -> Vec<Help> {
        vec![Help::new(ui.sym().keys_up_down, ui.t("reset-help-choose")), Help::new("Enter", ui.t("reset-help-do"))]
    }

    pub fn failed_help(ui: &Ui) -> Vec<Help> {
        vec![Help::new("Enter/Esc", ui.t("reset-help-to-menu"))]
    }

    fn step_lines(&self, ui: &Ui, running: bool) -> Vec<Line<'static>> {
        let sym = ui.sym();
        let last = self.steps.len().saturating_sub(1);
        self.steps
            .iter()
            .enumerate()
            .map(|(i, step)| match (i == last, running, self.error.is_some()) {
                (true, true, _) => Line::from(format!("{} {}", sym.running, step.words(ui))).style(ui.strong_style()),
                (true, false, true) => Line::from(format!("{} {}", sym.failed, step.words(ui))).style(ui.error_style()),
                _ => Line::from(format!("{} {}", sym.ok, step.words(ui))),
            })
            .collect()
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, _, lines] = Layout::vertical([Constraint::Length(2), Constraint::Length(1), Constraint::Min(0)]).areas(area);
        let text = Line::from(format!("{} {}", ui.sym().warning, ui.t("reset-progress-intro"))).style(ui.warning_style());
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), intro);
        draw_tail(frame, lines, self.step_lines(ui, true));
    }

    pub fn draw_done(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [intro, _, lines, _, choices] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
            Constraint::Length(2),
        ])
        .areas(area);
        let text = Line::from(format!("{} {}", ui.sym().ok, ui.t("reset-done-intro"))).style(ui.ok_style());
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), intro);
        draw_tail(frame, lines, self.step_lines(ui, false));
        let rows = vec![vec![Line::from(ui.t("reset-entry-reboot"))], vec![Line::from(ui.t("reset-entry-poweroff"))]];
        draw_rows(frame, choices, ui, &rows, Some(self.done_nav.selected), &[]);
    }

    pub fn draw_failed(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let error = self.error.as_deref().map(|e| ui.text(e).into_owned()).unwrap_or_default();
        let [head, _, lines, next] =
            Layout::vertical([Constraint::Length(4), Constraint::Length(1), Constraint::Min(0), Constraint::Length(2)]).areas(area);
        let text = vec![
            Line::from(format!("{} {}", ui.sym().failed, ui.t("reset-failed-intro"))).style(ui.error_style()),
            Line::from(ui.t_args("reset-error", &[("reason", error.into())])),
        ];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), head);
        draw_tail(frame, lines, self.step_lines(ui, false));
        frame.render_widget(Paragraph::new(ui.t("reset-failed-next")).style(ui.quiet_style()).wrap(Wrap { trim: true }), next);
    }
}

/// Draw the last lines that fit (the newest progress stays in view).
fn draw_tail(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>) {
    let skip = lines.len().saturating_sub(usize::from(area.height));
    frame.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_may_be_typed_as_shown_or_folded() {
        assert!(is_confirm_word(Lang::En, "ERASE"));
        assert!(is_confirm_word(Lang::En, " ERASE "));
        assert!(!is_confirm_word(Lang::En, "erase"));
        assert!(!is_confirm_word(Lang::En, ""));
        assert!(is_confirm_word(Lang::De, "LÖSCHEN"));
        assert!(is_confirm_word(Lang::De, "LOESCHEN"));
        assert!(!is_confirm_word(Lang::De, "ERASE"));
    }
}
