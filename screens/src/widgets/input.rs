//! A one-line text field. Its text lives in a [`Zeroizing`] string, so a PIN or passphrase is
//! wiped when the field is dropped; a masked field shows one `*` per character, and no field
//! prints its text in Debug output.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use zeroize::Zeroizing;

use crate::flow::typed_char;
use crate::theme::Ui;

/// A one-line text field: characters are appended, Backspace deletes, Ctrl-U clears.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TextField {
    value: Zeroizing<String>,
    masked: bool,
}

impl std::fmt::Debug for TextField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Even an unmasked field may hold part of a secret (a recovery key group): show its length only.
        f.debug_struct("TextField").field("chars", &self.value.chars().count()).field("masked", &self.masked).finish()
    }
}

/// The most characters a field takes; more is surely a stuck key.
pub const MAX_CHARS: usize = 256;

impl TextField {
    /// An empty field that shows what is typed.
    pub fn new() -> TextField {
        TextField::default()
    }

    /// An empty field that shows `*` for each character typed.
    pub fn masked() -> TextField {
        TextField { value: Zeroizing::default(), masked: true }
    }

    /// The text typed so far.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// A copy of the text in a string that is wiped when dropped.
    pub fn secret(&self) -> Zeroizing<String> {
        self.value.clone()
    }

    /// Whether nothing has been typed.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// Replace the text.
    pub fn set(&mut self, text: &str) {
        self.value.clear();
        self.value.push_str(text);
    }

    /// Empty the field.
    pub fn clear(&mut self) {
        self.value.clear();
    }

    /// Handle an editing key; returns whether the text changed. Keys that do not edit (arrows,
    /// Enter, Esc) are left to the page.
    pub fn key(&mut self, key: &KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('u' | 'U')) {
            let changed = !self.value.is_empty();
            self.value.clear();
            return changed;
        }
        if key.code == KeyCode::Backspace {
            return self.value.pop().is_some();
        }
        match typed_char(key) {
            Some(c) if self.value.chars().count() < MAX_CHARS => {
                self.value.push(c);
                true
            }
            _ => false,
        }
    }

    /// What the field shows: the text, or one `*` per character when masked.
    pub fn shown(&self) -> String {
        if self.masked { "*".repeat(self.value.chars().count()) } else { self.value.to_string() }
    }

    /// Draw `label [text   ]` on the first line of `area`, marked when `focused`, and place the
    /// terminal cursor at the end of the text when focused.
    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui, label: &str, focused: bool) {
        if area.height == 0 || area.width == 0 {
            return;
        }
        let sym = ui.sym();
        let marker = if focused { sym.selected } else { sym.unselected };
        let prefix = format!("{marker}{label} [");
        let prefix_width = prefix.chars().count();
        let box_width = usize::from(area.width).saturating_sub(prefix_width + 1).clamp(1, 40);
        let shown = ui.text(&self.shown()).into_owned();
        let count = shown.chars().count();
        let visible: String = shown.chars().skip((count + 1).saturating_sub(box_width)).collect();
        let visible_width = visible.chars().count();
        let padding = " ".repeat(box_width.saturating_sub(visible_width));
        let field_style = if focused { ui.strong_style() } else { ratatui::style::Style::new() };
        let line = Line::from(vec![
            Span::raw(prefix),
            Span::styled(visible.clone(), field_style),
            Span::styled(padding, field_style),
            Span::raw("]"),
        ]);
        let row = Rect { height: 1, ..area };
        frame.render_widget(Paragraph::new(line), row);
        if focused {
            let x = area.x.saturating_add((prefix_width + visible_width) as u16).min(area.right().saturating_sub(1));
            frame.set_cursor_position(Position { x, y: area.y });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{press, type_text};

    #[test]
    fn typing_editing_and_masking() {
        let mut field = TextField::masked();
        for key in type_text("geheim") {
            field.key(&key);
        }
        assert_eq!(field.value(), "geheim");
        assert_eq!(field.shown(), "******");
        assert!(field.key(&press(KeyCode::Backspace)));
        assert_eq!(field.value(), "gehei");
        assert!(!format!("{field:?}").contains("gehei"));
        assert!(field.key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert!(field.is_empty());
        assert!(!field.key(&press(KeyCode::Enter)));
    }
}
