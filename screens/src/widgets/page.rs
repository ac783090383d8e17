//! The frame around every page: a title bar (product, flow, page, step "3/8", "demo"), the body in
//! a bordered block titled with the page's name, and a help line listing the page's keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::theme::Ui;

/// One entry of the help line: a key and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Help {
    /// The key, as printed ("Enter", "Esc", "↑↓").
    pub key: String,
    /// What it does, from the catalog.
    pub action: String,
}

impl Help {
    /// A help entry.
    pub fn new(key: impl Into<String>, action: impl Into<String>) -> Help {
        Help { key: key.into(), action: action.into() }
    }
}

/// What the frame shows around a page's body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageFrame {
    /// The flow's name ("Install").
    pub flow: String,
    /// The page's name ("Keyboard").
    pub title: String,
    /// The page's position in the flow, counting from 1, and the number of pages.
    pub step: Option<(usize, usize)>,
    /// The keys this page understands.
    pub help: Vec<Help>,
}

/// Draw the frame over the whole frame area and return the inner body area for the page.
pub fn draw_page(frame: &mut Frame, ui: &Ui, page: &PageFrame) -> Rect {
    let area = frame.area();
    let help = help_lines(ui, &page.help, area.width);
    let help_height = help.len().max(1) as u16;
    let [title_area, body_area, help_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(help_height)]).areas(area);
    draw_title(frame, ui, page, title_area);
    let block = Block::bordered().border_set(ui.border()).title(Line::from(format!(" {} ", page.title)).style(ui.strong_style()));
    let inner = block.inner(body_area);
    frame.render_widget(block, body_area);
    frame.render_widget(Paragraph::new(help), help_area);
    inner
}

fn draw_title(frame: &mut Frame, ui: &Ui, page: &PageFrame, area: Rect) {
    let sep = ui.sym().separator;
    let left = format!(" {}{sep}{}{sep}{}", ui.t("product-name"), page.flow, page.title);
    let mut right = Vec::new();
    if let Some((at, of)) = page.step {
        right.push(ui.t_args("title-step", &[("at", at.into()), ("of", of.into())]));
    }
    if ui.demo {
        right.push(ui.t("title-demo"));
    }
    let right = format!("{} ", right.join(sep));
    let style = ui.title_style();
    frame.render_widget(Paragraph::new(left).style(style), area);
    let width = (right.chars().count() as u16).min(area.width);
    let right_area = Rect { x: area.x + area.width - width, width, ..area };
    frame.render_widget(Paragraph::new(right).style(style), right_area);
}

/// The help entries packed into at most two lines of `width`, never splitting an entry.
fn help_lines(ui: &Ui, help: &[Help], width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut lines: Vec<Vec<Span<'static>>> = vec![Vec::new()];
    let mut used = 0;
    for entry in help {
        let entry_width = entry.key.chars().count() + 1 + entry.action.chars().count();
        let gap = if used == 0 { 0 } else { 2 };
        if used > 0 && used + gap + entry_width > width {
            if lines.len() == 2 {
                break;
            }
            lines.push(Vec::new());
            used = 0;
        }
        let Some(line) = lines.last_mut() else { break };
        if used > 0 {
            line.push(Span::raw("  "));
            used += 2;
        }
        line.push(Span::styled(entry.key.clone(), ui.strong_style()));
        line.push(Span::raw(format!(" {}", entry.action)));
        used += entry_width;
    }
    lines.into_iter().map(Line::from).collect()
}

/// A block with a border in the current style and an optional title, for parts of a page.
pub fn section<'a>(ui: &Ui, title: impl Into<Line<'a>>) -> Block<'a> {
    Block::bordered().border_set(ui.border()).title(title)
}

/// Draw `lines` at the top of `area`, keeping at least `reserve` rows free below them (the text is
/// cut if it must be), and return the area below the text.
pub fn stack(frame: &mut Frame, area: Rect, lines: Vec<Line<'static>>, reserve: u16) -> Rect {
    let height = (lines.len() as u16).min(area.height.saturating_sub(reserve));
    let [top, rest] = Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(lines), top);
    rest
}

/// Split `area` into two columns, the left one `percent` wide.
pub fn columns(area: Rect, percent: u16) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(percent), Constraint::Min(0)]).areas(area)
}
