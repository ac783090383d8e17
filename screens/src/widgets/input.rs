//! A one-line text field. Its text lives in a [`Zeroizing`] string whose buffer is allocated once,
//! at its full size ([`MAX_CHARS`] characters of up to 4 bytes), so typing never moves a PIN or
//! passphrase to a new buffer and leaves no unwiped copy in freed memory; input beyond it is
//! refused. Bytes given up by Backspace, Ctrl-U or [`TextField::clear`] are zeroed at once, and
//! the whole buffer when the field is dropped. A masked field shows one `*` per character, and no
//! field prints its text in Debug output.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use zeroize::{Zeroize, Zeroizing};

use crate::flow::typed_char;
use crate::theme::Ui;

/// A one-line text field: characters are appended, Backspace deletes, Ctrl-U clears.
#[derive(PartialEq, Eq)]
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

/// The buffer's size in bytes: [`MAX_CHARS`] characters of at most 4 bytes each.
const CAPACITY: usize = MAX_CHARS * 4;

impl Default for TextField {
    fn default() -> Self {
        TextField::with_mask(false)
    }
}

/// A copy has its own full-size buffer, so it never grows either.
impl Clone for TextField {
    fn clone(&self) -> Self {
        let mut copy = TextField::with_mask(self.masked);
        copy.value.push_str(&self.value);
        copy
    }
}

impl TextField {
    fn with_mask(masked: bool) -> TextField {
        // Zero-filled, then emptied: the capacity stays, and every byte of it is initialized.
        let mut bytes = vec![0u8; CAPACITY];
        bytes.clear();
        let value = Zeroizing::new(String::from_utf8(bytes).expect("empty is UTF-8"));
        TextField { value, masked }
    }

    /// An empty field that shows what is typed.
    pub fn new() -> TextField {
        TextField::with_mask(false)
    }

    /// An empty field that shows `*` for each character typed.
    pub fn masked() -> TextField {
        TextField::with_mask(true)
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

    /// Replace the text (its first [`MAX_CHARS`] characters).
    pub fn set(&mut self, text: &str) {
        self.clear();
        for c in text.chars().take(MAX_CHARS) {
            self.push(c);
        }
    }

    /// Empty the field, zeroing its buffer.
    pub fn clear(&mut self) {
        // String's zeroize clears it and zeroes its whole capacity, keeping the buffer.
        self.value.zeroize();
    }

    /// Appends `c` unless the field is full; the buffer has room for it, so it never moves.
    fn push(&mut self, c: char) -> bool {
        if self.value.chars().count() >= MAX_CHARS {
            return false;
        }
        debug_assert!(self.value.len() + c.len_utf8() <= self.value.capacity());
        self.value.push(c);
        true
    }

    /// Removes the last character and zeroes the bytes it took.
    fn pop(&mut self) -> bool {
        if self.value.pop().is_none() {
            return false;
        }
        // The buffer, moved out and back (no copy), to zero what lies past the text.
        let mut bytes = std::mem::take(&mut *self.value).into_bytes();
        bytes.spare_capacity_mut().zeroize();
        *self.value = String::from_utf8(bytes).expect("the field's own text");
        true
    }

    /// Handle an editing key; returns whether the text changed. Keys that do not edit (arrows,
    /// Enter, Esc) are left to the page.
    pub fn key(&mut self, key: &KeyEvent) -> bool {
        if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('u' | 'U')) {
            let changed = !self.value.is_empty();
            self.clear();
            return changed;
        }
        if key.code == KeyCode::Backspace {
            return self.pop();
        }
        match typed_char(key) {
            Some(c) => self.push(c),
            None => false,
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

    /// Every byte of the field's buffer (its full capacity; all of it initialized: zero-filled
    /// when made, and only ever written since).
    fn buffer(field: &TextField) -> &[u8] {
        // SAFETY: the allocation is `capacity` bytes long and every byte of it was initialized
        // by `with_mask`; the borrow of `field` keeps it alive and unchanged.
        unsafe { std::slice::from_raw_parts(field.value.as_ptr(), field.value.capacity()) }
    }

    /// Typed up to its limit in the widest characters, the field keeps the one buffer it was
    /// made with; a character more is refused; a copy and `set` do not grow either.
    #[test]
    fn the_buffer_never_moves_and_input_past_the_limit_is_refused() {
        let mut field = TextField::masked();
        let (ptr, cap) = (field.value.as_ptr(), field.value.capacity());
        assert!(cap >= MAX_CHARS * 4);
        for i in 0..MAX_CHARS {
            let c = ['a', 'ä', '€', '𝄞'][i % 4];
            assert!(field.key(&press(KeyCode::Char(c))), "character {i} refused");
            assert_eq!((field.value.as_ptr(), field.value.capacity()), (ptr, cap), "the buffer moved at character {i}");
        }
        assert_eq!(field.value().chars().count(), MAX_CHARS);
        let full = field.value().to_string();
        assert!(!field.key(&press(KeyCode::Char('x'))));
        assert!(!field.key(&press(KeyCode::Char('𝄞'))));
        assert_eq!(field.value(), full);
        assert_eq!((field.value.as_ptr(), field.value.capacity()), (ptr, cap));

        let copy = field.clone();
        assert_eq!(copy.value.capacity(), cap);
        assert_eq!(copy, field);
        field.set(&"€".repeat(MAX_CHARS + 10));
        assert_eq!(field.value().chars().count(), MAX_CHARS);
        assert_eq!((field.value.as_ptr(), field.value.capacity()), (ptr, cap));
    }

    /// Backspace and Ctrl-U leave no byte of the text behind in the buffer.
    #[test]
    fn deleted_text_is_zeroed_in_the_buffer() {
        let mut field = TextField::masked();
        for key in type_text("geheim€") {
            field.key(&key);
        }
        assert!(field.key(&press(KeyCode::Backspace)));
        assert_eq!(&buffer(&field)[..6], b"geheim");
        assert!(buffer(&field)[6..].iter().all(|&b| b == 0), "the deleted '€' is still in the buffer");
        assert!(field.key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
        assert!(buffer(&field).iter().all(|&b| b == 0), "the cleared text is still in the buffer");
        field.set("x");
        field.clear();
        assert!(buffer(&field).iter().all(|&b| b == 0));
    }
}
