//! The keyboard page: the system's console keymaps with search as you type. Every change of the
//! selection asks the app to load that keymap at once, and a field lets the person try typing.
//! Tab moves between the list and the field.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{FirstbootFacts, Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::i18n::Lang;
use crate::theme::Ui;
use crate::widgets::list::ListNav;
use crate::widgets::page::columns;
use crate::widgets::{FilterList, Help, TextField};

/// The keyboard page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyboardPage {
    list: FilterList,
    try_field: TextField,
    focus_try: bool,
    touched: bool,
}

/// Keymaps suggested for a language, best first.
fn suggestions(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::De => &["de-latin1-nodeadkeys", "de-nodeadkeys", "de-latin1", "de"],
        Lang::En => &["us"],
    }
}

fn suggested(lang: Lang, keymaps: &[String]) -> Option<&str> {
    suggestions(lang).iter().copied().find(|name| keymaps.iter().any(|k| k == name))
}

impl KeyboardPage {
    pub fn new(lang: Lang, facts: &FirstbootFacts) -> KeyboardPage {
        KeyboardPage {
            list: FilterList::new(facts.keymaps.clone(), suggested(lang, &facts.keymaps)),
            try_field: TextField::new(),
            focus_try: false,
            touched: false,
        }
    }

    pub fn selected(&self) -> Option<&str> {
        self.list.selected()
    }

    /// Whether the system lists no keymaps (the keymap then stays as it is).
    pub fn is_empty(&self) -> bool {
        self.list.items().is_empty()
    }

    /// After a language change: select that language's usual keymap, unless the person already
    /// chose one.
    pub fn suggest_for(&mut self, lang: Lang, facts: &FirstbootFacts) {
        if !self.touched
            && let Some(name) = suggested(lang, &facts.keymaps)
        {
            self.list.select(name);
        }
    }

    pub fn enter(&self) -> Vec<Request> {
        self.selected().map(|name| vec![Request::ApplyKeymap(name.to_owned())]).unwrap_or_default()
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) {
            return if self.selected().is_some() || self.is_empty() { Nav::Next } else { Nav::stay() };
        }
        if is_esc(key) {
            return Nav::Back;
        }
        if matches!(key.code, KeyCode::Tab | KeyCode::BackTab) {
            self.focus_try = !self.focus_try;
            return Nav::stay();
        }
        if self.focus_try && !ListNav::is_nav_key(key) {
            self.try_field.key(key);
            return Nav::stay();
        }
        if self.list.key(key) {
            self.touched = true;
            return Nav::Stay(self.enter());
        }
        Nav::stay()
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        let typing = if self.focus_try { ui.t("fb-help-type-to-try") } else { ui.t("fb-help-type-to-search") };
        vec![
            Help::new(ui.sym().keys_up_down, ui.t("fb-help-choose")),
            Help::new("abc", typing),
            Help::new("Tab", if self.focus_try { ui.t("fb-help-to-list") } else { ui.t("fb-help-to-try") }),
            Help::new("Enter", ui.t("fb-help-continue")),
            Help::new("Esc", ui.t("fb-help-back")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [left, right] = columns(area, 40);
        let [search, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(left);
        let count = ui.t_args("fb-count", &[("shown", self.list.visible().len().into()), ("all", self.list.items().len().into())]);
        let marker = if self.focus_try { ui.sym().unselected } else { ui.sym().selected };
        let search_line = Line::from(vec![
            Span::raw(marker),
            Span::raw(ui.t("fb-search")),
            Span::raw(" "),
            Span::styled(ui.text(self.list.filter()).into_owned(), ui.strong_style()),
            Span::raw("  "),
            Span::styled(count, ui.quiet_style()),
        ]);
        frame.render_widget(Paragraph::new(search_line), search);
        if self.list.visible().is_empty() {
            let id = if self.is_empty() { "fb-keyboard-none" } else { "fb-no-match" };
            let text = Line::from(format!("{} {}", ui.sym().warning, ui.t(id))).style(ui.warning_style());
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), list);
        } else {
            self.list.draw(frame, list, ui);
        }
        let inner = Rect { x: right.x + 1, width: right.width.saturating_sub(1), ..right };
        let [text_area, field_area, _, tip_area] =
            Layout::vertical([Constraint::Min(4), Constraint::Length(1), Constraint::Length(1), Constraint::Length(3)]).areas(inner);
        let mut text = vec![Line::from(ui.t("fb-keyboard-intro")), Line::from("")];
        if let Some(name) = self.selected() {
            text.push(
                Line::from(ui.t_args("fb-keyboard-chosen", &[("keymap", ui.text(name).into_owned().into())])).style(ui.strong_style()),
            );
        }
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), text_area);
        self.try_field.draw(frame, field_area, ui, &ui.t("fb-keyboard-try"), self.focus_try);
        frame.render_widget(Paragraph::new(ui.t("fb-keyboard-tip")).style(ui.quiet_style()).wrap(Wrap { trim: true }), tip_area);
    }
}
