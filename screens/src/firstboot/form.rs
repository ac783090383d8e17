//! Small pieces the first-boot forms share: a check box line, an error line that starts with a
//! word (not only a color), an "ok" line, and the password strength hint.

use ratatui::text::{Line, Span};

use super::check::strength;
use crate::theme::Ui;

/// `▶ [x] label`: a check box, marked when focused.
pub(crate) fn checkbox(ui: &Ui, label: &str, on: bool, focused: bool) -> Line<'static> {
    let marker = if focused { ui.sym().selected } else { ui.sym().unselected };
    let style = if focused { ui.strong_style() } else { ratatui::style::Style::new() };
    Line::from(vec![Span::raw(marker), Span::styled(format!("[{}] {label}", if on { "x" } else { " " }), style)])
}

/// `▶ (•) label`: one option of a choice, marked when focused.
pub(crate) fn radio(ui: &Ui, label: &str, on: bool, focused: bool) -> Line<'static> {
    let marker = if focused { ui.sym().selected } else { ui.sym().unselected };
    let style = if focused { ui.strong_style() } else { ratatui::style::Style::new() };
    let symbol = if on { ui.sym().radio_on } else { ui.sym().radio_off };
    Line::from(vec![Span::raw(marker), Span::styled(format!("{symbol} {label}"), style)])
}

/// `✗ Error: …` in the error style.
pub(crate) fn error_line(ui: &Ui, reason: &str) -> Line<'static> {
    Line::from(format!("{} {}", ui.sym().failed, ui.t_args("fb-error", &[("reason", reason.to_owned().into())]))).style(ui.error_style())
}

/// `✓ …` in the ok style.
pub(crate) fn ok_line(ui: &Ui, text: &str) -> Line<'static> {
    Line::from(format!("{} {text}", ui.sym().ok)).style(ui.ok_style())
}

/// `Strength: [##--] fair (9 characters, 3 kinds)` for a password being typed.
pub(crate) fn strength_line(ui: &Ui, password: &str) -> Line<'static> {
    let (level, len, classes) = strength(password);
    let sym = ui.sym();
    let bar = format!("[{}{}]", sym.gauge_full.repeat(level.cells()), sym.gauge_empty.repeat(4 - level.cells()));
    let text = ui.t_args(
        "fb-strength",
        &[("bar", bar.into()), ("word", ui.t(level.message_id()).into()), ("len", len.into()), ("kinds", classes.into())],
    );
    Line::from(format!("  {text}")).style(ui.quiet_style())
}
