//! The first page: the language. Moving the selection switches the language at once, so a person
//! who cannot read the current one sees their own as soon as they reach it.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Ctx, Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::i18n::Lang;
use crate::theme::Ui;
use crate::widgets::Help;
use crate::widgets::list::{ListNav, draw_rows};

/// The language page's state: which language is selected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LanguagePage {
    nav: ListNav,
}

impl LanguagePage {
    pub fn new(lang: Lang) -> LanguagePage {
        LanguagePage { nav: ListNav { selected: Lang::ALL.iter().position(|&l| l == lang).unwrap_or(0) } }
    }

    pub fn lang(&self) -> Lang {
        Lang::ALL.get(self.nav.selected).copied().unwrap_or_default()
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) {
            return Nav::Next;
        }
        if is_esc(key) {
            return Nav::Back;
        }
        self.nav.key(key, Lang::ALL.len());
        Nav::stay()
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![Help::new(ui.sym().keys_up_down, ui.t("help-choose")), Help::new("Enter", ui.t("help-continue"))]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let ui = ctx.ui;
        let [intro, _, list] = Layout::vertical([Constraint::Length(3), Constraint::Length(1), Constraint::Min(0)]).areas(area);
        let text = vec![Line::from(ui.t("language-intro")), Line::from(ui.t("language-hint")).style(ui.quiet_style())];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), intro);
        let rows: Vec<Vec<Line<'static>>> = Lang::ALL.iter().map(|lang| vec![Line::from(lang.name())]).collect();
        draw_rows(frame, list, ui, &rows, Some(self.nav.selected), &[]);
    }
}
