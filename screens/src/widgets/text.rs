//! Wrapped text as ratatui lines, for pages that need to know how many lines a text takes (so a
//! field can follow right after it) or want bullets with a hanging indent.

use ratatui::style::Style;
use ratatui::text::Line;

use super::format::{hanging, wrap};

/// `text` wrapped to `width` columns, each line in `style`.
pub fn lines(text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    wrap(text, usize::from(width)).into_iter().map(|l| Line::from(l).style(style)).collect()
}

/// `text` after `prefix` (e.g. `"  • "`), wrapped to `width` with the following lines indented
/// under the text.
pub fn bullet(prefix: &str, text: &str, width: u16, style: Style) -> Vec<Line<'static>> {
    hanging(prefix, text, usize::from(width)).into_iter().map(|l| Line::from(l).style(style)).collect()
}
