//! How pages look: Unicode or plain ASCII, the symbols that carry meaning, and the few colors.
//!
//! On a Linux VT or a serial console (TERM `linux`, `vt100`, `vt220`, …) the pages draw only ASCII
//! borders and symbols, and German text is spelled without umlauts. Color is a help, never the only
//! carrier of meaning: a selected row has a marker, an error starts with a word.

use std::borrow::Cow;

use fluent_bundle::FluentValue;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

use crate::i18n::{Lang, Tr, ascii_fold};

/// What every page needs to know to draw itself: the language and how plain the terminal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ui {
    /// The language of every word on screen.
    pub lang: Lang,
    /// Draw only ASCII (see [`ascii_terminal`]).
    pub ascii: bool,
    /// Show "demo" in the title bar.
    pub demo: bool,
}

/// Whether a terminal of this `TERM` should get ASCII only: true for `linux`, `vt100`, `vt102`,
/// `vt220`, `dumb` and when `TERM` is unset or empty.
pub fn ascii_terminal(term: Option<&str>) -> bool {
    match term.map(str::trim) {
        None | Some("") => true,
        Some(term) => matches!(term, "linux" | "vt100" | "vt102" | "vt220" | "dumb"),
    }
}

/// The border set used in ASCII mode: `+`, `-` and `|`.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// The symbols that carry meaning, in one style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbols {
    /// Marks the selected row of a list.
    pub selected: &'static str,
    /// Blank of the same width as `selected`.
    pub unselected: &'static str,
    /// A chosen option.
    pub radio_on: &'static str,
    /// An option not chosen.
    pub radio_off: &'static str,
    /// An option that cannot be chosen.
    pub radio_disabled: &'static str,
    /// A list bullet.
    pub bullet: &'static str,
    /// Something went well.
    pub ok: &'static str,
    /// Something failed.
    pub failed: &'static str,
    /// A step in progress.
    pub running: &'static str,
    /// A step not started.
    pub waiting: &'static str,
    /// A warning.
    pub warning: &'static str,
    /// A filled gauge cell.
    pub gauge_full: &'static str,
    /// An empty gauge cell.
    pub gauge_empty: &'static str,
    /// An arrow meaning "becomes".
    pub arrow: &'static str,
    /// Separates items in the title and help lines.
    pub separator: &'static str,
    /// Up and down arrow keys, as the help line names them.
    pub keys_up_down: &'static str,
    /// Left and right arrow keys.
    pub keys_left_right: &'static str,
}

/// Symbols for terminals that draw Unicode.
pub const UNICODE_SYMBOLS: Symbols = Symbols {
    selected: "▶ ",
    unselected: "  ",
    radio_on: "(•)",
    radio_off: "( )",
    radio_disabled: "(-)",
    bullet: "•",
    ok: "✓",
    failed: "✗",
    running: "▸",
    waiting: "·",
    warning: "⚠",
    gauge_full: "█",
    gauge_empty: "░",
    arrow: "→",
    separator: " · ",
    keys_up_down: "↑↓",
    keys_left_right: "←→",
};

/// Symbols for ASCII terminals.
pub const ASCII_SYMBOLS: Symbols = Symbols {
    selected: "> ",
    unselected: "  ",
    radio_on: "(*)",
    radio_off: "( )",
    radio_disabled: "(-)",
    bullet: "*",
    ok: "[ok]",
    failed: "[!!]",
    running: "[>>]",
    waiting: "[  ]",
    warning: "!",
    gauge_full: "#",
    gauge_empty: "-",
    arrow: "->",
    separator: " | ",
    keys_up_down: "Up/Down",
    keys_left_right: "Left/Right",
};

impl Ui {
    /// A Ui for this language, Unicode drawing, not a demo.
    pub fn new(lang: Lang) -> Ui {
        Ui { lang, ascii: false, demo: false }
    }

    /// The catalog of the current language.
    pub fn tr(&self) -> &'static Tr {
        self.lang.tr()
    }

    /// The message `id`, folded to ASCII in ASCII mode.
    pub fn t(&self, id: &str) -> String {
        self.fold(self.tr().t(id))
    }

    /// The message `id` with arguments, folded to ASCII in ASCII mode.
    pub fn t_args(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        self.fold(self.tr().t_args(id, args))
    }

    /// Text from outside the catalogs (disk models, the engine's advice) made safe to draw.
    pub fn text<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let clean = |c: char| !c.is_control() && (!self.ascii || c.is_ascii());
        if text.chars().all(clean) {
            Cow::Borrowed(text)
        } else {
            let no_controls: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            Cow::Owned(if self.ascii { ascii_fold(&no_controls) } else { no_controls })
        }
    }

    fn fold(&self, text: String) -> String {
        if self.ascii && !text.is_ascii() { ascii_fold(&text) } else { text }
    }

    /// The symbols of this style.
    pub fn sym(&self) -> &'static Symbols {
        if self.ascii { &ASCII_SYMBOLS } else { &UNICODE_SYMBOLS }
    }

    /// The border set of this style.
    pub fn border(&self) -> border::Set<'static> {
        if self.ascii { ASCII_BORDER } else { border::ROUNDED }
    }

    /// Style of the title bar.
    pub fn title_style(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// Style of the selected row (the marker carries the meaning too).
    pub fn selected_style(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
    }

    /// Style of rows that cannot be chosen.
    pub fn disabled_style(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    /// Style of error text (it always starts with a word such as "Error:" too).
    pub fn error_style(&self) -> Style {
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// Style of warnings.
    pub fn warning_style(&self) -> Style {
        Style::new().fg(Color::Yellow)
    }

    /// Style of good news.
    pub fn ok_style(&self) -> Style {
        Style::new().fg(Color::Green)
    }

    /// Style of emphasized words.
    pub fn strong_style(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Style of quiet explanations.
    pub fn quiet_style(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_terminals_get_ascii() {
        for term in ["linux", "vt100", "vt102", "vt220", "dumb", ""] {
            assert!(ascii_terminal(Some(term)), "{term}");
        }
        assert!(ascii_terminal(None));
        for term in ["xterm-256color", "screen", "tmux-256color", "foot", "alacritty"] {
            assert!(!ascii_terminal(Some(term)), "{term}");
        }
    }

    #[test]
    fn ascii_symbols_are_ascii() {
        let s = ASCII_SYMBOLS;
        for text in [
            s.selected,
            s.unselected,
            s.radio_on,
            s.radio_off,
            s.radio_disabled,
            s.bullet,
            s.ok,
            s.failed,
            s.running,
            s.waiting,
            s.warning,
            s.gauge_full,
            s.gauge_empty,
            s.arrow,
            s.separator,
            s.keys_up_down,
            s.keys_left_right,
        ] {
            assert!(text.is_ascii(), "{text}");
        }
    }

    #[test]
    fn outside_text_is_made_safe() {
        let ascii = Ui { lang: Lang::En, ascii: true, demo: false };
        assert_eq!(ascii.text("Größe\tx"), "Groesse x");
        let unicode = Ui::new(Lang::En);
        assert_eq!(unicode.text("Größe\nx"), "Größe x");
        assert!(matches!(unicode.text("plain"), Cow::Borrowed(_)));
    }
}
