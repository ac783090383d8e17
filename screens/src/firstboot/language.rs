//! The language page: moving the selection switches the wizard's language at once; the choice
//! becomes the system's locale, taken from the locales the system has.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::check::locale_for;
use super::{FirstbootFacts, Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::i18n::Lang;
use crate::theme::Ui;
use crate::widgets::Help;
use crate::widgets::list::{ListNav, draw_rows};

/// Which language is selected.
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
        vec![
            Help::new(ui.sym().keys_up_down, ui.t("fb-help-choose")),
            Help::new("Enter", ui.t("fb-help-continue")),
            Help::new("Esc", ui.t("fb-help-back")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui, facts: &FirstbootFacts) {
        let [intro, _, list, _, note] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        let text = vec![Line::from(ui.t("fb-language-intro")), Line::from(ui.t("fb-language-hint")).style(ui.quiet_style())];
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), intro);
        let width = Lang::ALL.iter().map(|l| l.name().chars().count()).max().unwrap_or(0) + 2;
        let rows: Vec<Vec<Line<'static>>> = Lang::ALL
            .iter()
            .map(|&lang| {
                let locale =
                    locale_for(lang, &facts.locales).map(|l| ui.text(&l).into_owned()).unwrap_or_else(|| ui.t("fb-language-no-locale"));
                vec![Line::from(vec![Span::raw(format!("{:<width$}", lang.name())), Span::styled(locale, ui.quiet_style())])]
            })
            .collect();
        draw_rows(frame, list, ui, &rows, Some(self.nav.selected), &[]);
        let chosen = match locale_for(self.lang(), &facts.locales) {
            Some(locale) => Line::from(ui.t_args("fb-language-chosen", &[("locale", ui.text(&locale).into_owned().into())])),
            None => Line::from(format!("{} {}", ui.sym().warning, ui.t("fb-language-missing"))).style(ui.warning_style()),
        };
        frame.render_widget(Paragraph::new(chosen).wrap(Wrap { trim: true }), note);
    }
}
