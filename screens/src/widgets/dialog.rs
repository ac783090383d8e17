//! A small box drawn over the page, centered, for questions such as "Quit? y/n".

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::theme::Ui;

/// Draw a centered dialog with a title, body lines and a last line naming the keys.
pub fn draw_dialog(frame: &mut Frame, ui: &Ui, title: &str, body: Vec<Line<'static>>, keys: &str) {
    let area = frame.area();
    let width = area.width.saturating_sub(4).min(64);
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    // Count lines as words wrap (a line breaks before a word that does not fit, not mid-word).
    let text = |l: &Line| l.spans.iter().map(|s| s.content.as_ref()).collect::<String>();
    let body_height: usize = body.iter().map(|l| crate::widgets::format::wrap(&text(l), inner_width).len().max(1)).sum();
    let height = (body_height as u16 + 4).min(area.height);
    let rect =
        Rect { x: area.x + (area.width.saturating_sub(width)) / 2, y: area.y + (area.height.saturating_sub(height)) / 2, width, height };
    let block = Block::bordered().border_set(ui.border()).title(Line::from(format!(" {title} ")).style(ui.strong_style()));
    let mut lines = body;
    lines.push(Line::from(""));
    lines.push(Line::from(keys.to_owned()).style(ui.strong_style()));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: true }), rect);
}
