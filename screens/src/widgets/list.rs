//! Lists: moving a selection with arrows, PgUp/PgDn, Home/End; a filtered list that searches as
//! you type; and drawing rows with a selection marker that scrolls to keep the selection in view.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::flow::typed_char;
use crate::theme::Ui;

/// How far PgUp and PgDn move.
pub const PAGE_STEP: usize = 10;

/// A selection in a list of `len` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListNav {
    /// The selected row.
    pub selected: usize,
}

impl ListNav {
    /// Handle a movement key for a list of `len` rows (Up, Down, PgUp, PgDn, Home, End); returns
    /// whether the selection moved.
    pub fn key(&mut self, key: &KeyEvent, len: usize) -> bool {
        if len == 0 {
            return false;
        }
        let last = len - 1;
        let before = self.selected.min(last);
        let after = match key.code {
            KeyCode::Up => before.saturating_sub(1),
            KeyCode::Down => (before + 1).min(last),
            KeyCode::PageUp => before.saturating_sub(PAGE_STEP),
            KeyCode::PageDown => (before + PAGE_STEP).min(last),
            KeyCode::Home => 0,
            KeyCode::End => last,
            _ => return false,
        };
        self.selected = after;
        after != before
    }

    /// Whether the key is one [`ListNav::key`] handles.
    pub fn is_nav_key(key: &KeyEvent) -> bool {
        matches!(key.code, KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown | KeyCode::Home | KeyCode::End)
    }
}

/// A long list of names with search as you type: printable keys add to the search, Backspace
/// removes from it, and the selection moves within the matching names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterList {
    items: Vec<String>,
    filter: String,
    selected: Option<usize>,
}

impl FilterList {
    /// A list of `items` with `initial` selected when it is one of them (else the first item).
    pub fn new(items: Vec<String>, initial: Option<&str>) -> FilterList {
        let selected =
            initial.and_then(|name| items.iter().position(|item| item == name)).or(if items.is_empty() { None } else { Some(0) });
        FilterList { items, filter: String::new(), selected }
    }

    /// All names, unfiltered.
    pub fn items(&self) -> &[String] {
        &self.items
    }

    /// The search text.
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// Indices (into [`FilterList::items`]) of the names matching the search, in list order.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        (0..self.items.len()).filter(|&i| self.items[i].to_lowercase().contains(&needle)).collect()
    }

    /// The selected name, if it matches the search.
    pub fn selected(&self) -> Option<&str> {
        let index = self.selected?;
        self.visible().contains(&index).then(|| self.items[index].as_str())
    }

    /// Select `name` if it is in the list (the search is cleared).
    pub fn select(&mut self, name: &str) {
        if let Some(index) = self.items.iter().position(|item| item == name) {
            self.filter.clear();
            self.selected = Some(index);
        }
    }

    /// Handle a key: movement, typing into the search, Backspace. Returns whether the selected
    /// name changed.
    pub fn key(&mut self, key: &KeyEvent) -> bool {
        let before = self.selected().map(str::to_owned);
        let visible = self.visible();
        if ListNav::is_nav_key(key) {
            let position = self.selected.and_then(|s| visible.iter().position(|&v| v == s)).unwrap_or(0);
            let mut nav = ListNav { selected: position };
            nav.key(key, visible.len());
            self.selected = visible.get(nav.selected).copied().or(self.selected);
        } else if key.code == KeyCode::Backspace {
            self.filter.pop();
            self.after_search();
        } else if let Some(c) = typed_char(key) {
            self.filter.push(c);
            self.after_search();
        }
        before.as_deref() != self.selected()
    }

    /// After the search changed: keep the selection if it still matches, else pick the best match
    /// (exact name, then a name starting with the search, then the first match).
    fn after_search(&mut self) {
        let visible = self.visible();
        if let Some(current) = self.selected.filter(|s| visible.contains(s))
            && (self.filter.is_empty() || self.items[current].to_lowercase().starts_with(&self.filter.to_lowercase()))
        {
            return;
        }
        let needle = self.filter.to_lowercase();
        let exact = visible.iter().find(|&&i| self.items[i].to_lowercase() == needle);
        let prefix = visible.iter().find(|&&i| self.items[i].to_lowercase().starts_with(&needle));
        if let Some(&best) = exact.or(prefix).or(visible.first()) {
            self.selected = Some(best);
        }
    }

    /// Draw the matching names with the selection marked, scrolled to keep it in view.
    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let visible = self.visible();
        let rows: Vec<Vec<Line<'static>>> = visible.iter().map(|&i| vec![Line::from(ui.text(&self.items[i]).into_owned())]).collect();
        let selected = self.selected.and_then(|s| visible.iter().position(|&v| v == s));
        draw_rows(frame, area, ui, &rows, selected, &[]);
    }
}

/// Draw `rows` (each one or more lines) top to bottom with the selected row marked by the
/// selection symbol and style, scrolled so the selected row is in view. `disabled` rows are dimmed.
pub fn draw_rows(frame: &mut Frame, area: Rect, ui: &Ui, rows: &[Vec<Line<'static>>], selected: Option<usize>, disabled: &[usize]) {
    let height = usize::from(area.height);
    if height == 0 {
        return;
    }
    let offset = scroll_offset(rows, selected, height);
    let sym = ui.sym();
    let mut lines = Vec::new();
    for (index, row) in rows.iter().enumerate().skip(offset) {
        let is_selected = Some(index) == selected;
        for (n, line) in row.iter().enumerate() {
            let marker = if is_selected && n == 0 { sym.selected } else { sym.unselected };
            let mut spans = vec![Span::raw(marker)];
            spans.extend(line.spans.iter().cloned());
            let mut line = Line::from(spans);
            if is_selected && n == 0 {
                line = line.style(ui.selected_style());
            } else if disabled.contains(&index) {
                line = line.style(ui.disabled_style());
            }
            lines.push(line);
        }
        if lines.len() >= height {
            break;
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The first row to draw so that the selected row fits in `height` lines.
fn scroll_offset(rows: &[Vec<Line<'static>>], selected: Option<usize>, height: usize) -> usize {
    let Some(selected) = selected else { return 0 };
    let mut offset = 0;
    while offset < selected && rows[offset..=selected.min(rows.len().saturating_sub(1))].iter().map(Vec::len).sum::<usize>() > height {
        offset += 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{press, type_text};

    fn keymaps() -> FilterList {
        let names = ["us", "de", "de-latin1", "de-nodeadkeys", "fr", "dvorak", "uk"];
        FilterList::new(names.iter().map(|s| s.to_string()).collect(), Some("us"))
    }

    #[test]
    fn search_as_you_type_picks_the_best_match() {
        let mut list = keymaps();
        assert_eq!(list.selected(), Some("us"));
        for key in type_text("de") {
            list.key(&key);
        }
        assert_eq!(list.selected(), Some("de"));
        assert_eq!(list.visible().len(), 3);
        list.key(&press(KeyCode::Down));
        assert_eq!(list.selected(), Some("de-latin1"));
        list.key(&press(KeyCode::End));
        assert_eq!(list.selected(), Some("de-nodeadkeys"));
        list.key(&press(KeyCode::Backspace));
        list.key(&press(KeyCode::Backspace));
        assert_eq!(list.visible().len(), 7);
        assert_eq!(list.selected(), Some("de-nodeadkeys"));
        for key in type_text("zz") {
            list.key(&key);
        }
        assert_eq!(list.selected(), None);
    }

    #[test]
    fn navigation_stays_in_bounds() {
        let mut nav = ListNav::default();
        assert!(!nav.key(&press(KeyCode::Up), 3));
        assert!(nav.key(&press(KeyCode::PageDown), 3));
        assert_eq!(nav.selected, 2);
        assert!(nav.key(&press(KeyCode::Home), 3));
        assert_eq!(nav.selected, 0);
        assert!(!nav.key(&press(KeyCode::Down), 0));
    }

    #[test]
    fn scrolling_keeps_the_selection_in_view() {
        let rows: Vec<Vec<Line<'static>>> = (0..10).map(|i| vec![Line::from(format!("{i}")), Line::from("x")]).collect();
        assert_eq!(scroll_offset(&rows, Some(0), 4), 0);
        assert_eq!(scroll_offset(&rows, Some(1), 4), 0);
        assert_eq!(scroll_offset(&rows, Some(2), 4), 1);
        assert_eq!(scroll_offset(&rows, Some(9), 4), 8);
    }
}
