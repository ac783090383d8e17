//! The recovery key page: the key the app generated, as text and as a QR code, why it matters,
//! and a check that it was saved: the person types one group of it back (always the third, so
//! the page can say which).

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Ctx, RecoveryKeyView, Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::page::stack;
use crate::widgets::{Help, TextField, text};

/// Which group of the key (counting from 1) the person types back.
pub const CONFIRM_GROUP: usize = 3;

/// Group `n` (counting from 1) of a key written as groups separated by `-`; the last group when
/// the key has fewer.
pub fn key_group(key: &str, n: usize) -> Option<&str> {
    let groups: Vec<&str> = key.split('-').map(str::trim).filter(|g| !g.is_empty()).collect();
    groups.get(n.saturating_sub(1)).or(groups.last()).copied()
}

/// The recovery key page's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RecoveryPage {
    key: Option<RecoveryKeyView>,
    field: TextField,
    wrong: bool,
    /// The QR code is shown alone, full screen (Tab); any key returns.
    qr_full: bool,
}

/// The key that shows the QR code full screen: Tab, which every terminal and serial line sends
/// the same way and which the group field does not take.
pub const QR_KEY: KeyCode = KeyCode::Tab;

impl RecoveryPage {
    pub fn enter(&mut self) -> Vec<Request> {
        if self.key.is_none() { vec![Request::NewRecoveryKey] } else { Vec::new() }
    }

    pub fn set_key(&mut self, key: RecoveryKeyView) {
        self.key = Some(key);
        self.field.clear();
        self.wrong = false;
        self.qr_full = false;
    }

    /// Whether the QR code is shown alone, full screen.
    pub fn qr_full(&self) -> bool {
        self.qr_full
    }

    /// Which group number the person must type (fewer groups: the last one).
    fn group_number(&self) -> usize {
        let count = self.key.as_ref().map_or(0, |k| k.text.split('-').filter(|g| !g.trim().is_empty()).count());
        CONFIRM_GROUP.min(count.max(1))
    }

    fn typed_matches(&self) -> bool {
        let Some(key) = &self.key else { return false };
        key_group(&key.text, CONFIRM_GROUP).is_some_and(|group| group.eq_ignore_ascii_case(self.field.value().trim()))
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if self.qr_full {
            self.qr_full = false;
            return Nav::stay();
        }
        if key.code == QR_KEY || key.code == KeyCode::BackTab {
            self.qr_full = self.key.is_some();
            return Nav::stay();
        }
        if is_esc(key) {
            return Nav::Back;
        }
        if is_enter(key) {
            if self.typed_matches() {
                return Nav::Next;
            }
            self.wrong = self.key.is_some();
            return Nav::stay();
        }
        if self.field.key(key) {
            self.wrong = false;
        }
        Nav::stay()
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        if self.qr_full {
            return vec![Help::new(ui.t("key-any"), ui.t("help-back"))];
        }
        vec![
            Help::new("abc", ui.t("help-type-group")),
            Help::new("Tab", ui.t("help-qr-code")),
            Help::new("Enter", ui.t("help-continue")),
            Help::new("Esc", ui.t("help-back")),
        ]
    }

    /// The QR code alone over the whole screen (`area` is the frame's): a title line, the code as
    /// large as fits (see [`crate::QrView::full_screen_form`]), and how to return.
    pub fn draw_qr_full(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let Some(key) = &self.key else { return };
        let [title, code, hint] = Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
        frame.render_widget(Paragraph::new(Line::from(ui.t("recovery-qr-title")).style(ui.strong_style())).centered(), title);
        match key.qr.full_screen_form(code, ui.ascii) {
            Some((style, quiet)) => {
                let (_, h) = key.qr.cells_with(style, quiet);
                let top = (usize::from(code.height) - h) / 2;
                let at = Rect { y: code.y + top as u16, height: h as u16, ..code };
                key.qr.draw_with(frame, at, style, quiet);
            }
            None => {
                let text = text::lines(&ui.t("recovery-qr-no-room"), code.width, ui.warning_style());
                frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), code);
            }
        }
        frame.render_widget(Paragraph::new(Line::from(ui.t("recovery-qr-return")).style(ui.quiet_style())).centered(), hint);
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let ui = ctx.ui;
        let Some(key) = &self.key else {
            frame.render_widget(Paragraph::new(ui.t("recovery-loading")), area);
            return;
        };
        let (qr_width, qr_height) = key.qr.cells(ui.ascii);
        let side_by_side = usize::from(area.width) >= qr_width + TEXT_MIN_WIDTH && usize::from(area.height) >= qr_height;
        let text_area = if side_by_side {
            let [text, qr] = Layout::horizontal([Constraint::Min(0), Constraint::Length(qr_width as u16 + 1)]).areas(area);
            key.qr.draw(frame, Rect { x: qr.x + 1, width: qr.width - 1, ..qr }, ui.ascii);
            text
        } else {
            area
        };
        self.draw_text(frame, text_area, ui, key, side_by_side);
    }

    fn draw_text(&self, frame: &mut Frame, area: Rect, ui: &Ui, key: &RecoveryKeyView, qr_shown: bool) {
        let width = area.width;
        let plain = Style::new();
        let n = self.group_number();
        let mut lines = text::lines(&ui.t("recovery-intro"), width, plain);
        lines.push(Line::from(""));
        let key_width = usize::from(width).saturating_sub(2);
        lines.extend(key_lines(&key.text, key_width).into_iter().map(|l| Line::from(format!("  {l}")).style(ui.strong_style())));
        lines.push(Line::from(""));
        lines.extend(text::lines(&ui.t("recovery-explain"), width, plain));
        if !qr_shown {
            lines.extend(text::lines(&ui.t("recovery-qr-press-tab"), width, ui.quiet_style()));
        }
        lines.push(Line::from(""));
        lines.extend(text::lines(&ui.t_args("recovery-type-group", &[("n", n.into())]), width, plain));
        lines.push(Line::from(""));
        let rest = stack(frame, area, lines, 3);
        let [field, status] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rest);
        self.field.draw(frame, field, ui, &ui.t_args("recovery-group-label", &[("n", n.into())]), true);
        if self.wrong {
            let error = format!("{} {}", ui.t("error-prefix"), ui.t_args("recovery-wrong-group", &[("n", n.into())]));
            frame.render_widget(Paragraph::new(text::lines(&error, width, ui.error_style())), status);
        }
    }
}

/// The narrowest the text beside the QR code may be.
const TEXT_MIN_WIDTH: usize = 40;

/// The key's groups laid out in lines no wider than `width`, keeping the `-` separators.
fn key_lines(key: &str, width: usize) -> Vec<String> {
    let groups: Vec<&str> = key.split('-').collect();
    let mut lines = Vec::new();
    let mut line = String::new();
    for (i, group) in groups.iter().enumerate() {
        let piece = if i + 1 < groups.len() { format!("{group}-") } else { (*group).to_owned() };
        if !line.is_empty() && line.chars().count() + piece.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_third_group_is_asked_for() {
        let key = "aaaa-bbbb-cccc-dddd";
        assert_eq!(key_group(key, CONFIRM_GROUP), Some("cccc"));
        assert_eq!(key_group("aaaa-bbbb", CONFIRM_GROUP), Some("bbbb"));
        assert_eq!(key_group("", CONFIRM_GROUP), None);
    }

    #[test]
    fn key_lines_break_between_groups() {
        assert_eq!(key_lines("aaaa-bbbb-cccc", 10), vec!["aaaa-bbbb-", "cccc"]);
        assert_eq!(key_lines("aaaa-bbbb-cccc", 80), vec!["aaaa-bbbb-cccc"]);
    }
}
