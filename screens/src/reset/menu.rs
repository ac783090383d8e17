//! The menu: what this device is (system, version, disk, last reset) and what can be done with
//! it: factory reset (asks first, on its own page), restart, power off, quit.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{ResetFacts, is_enter};
use crate::theme::Ui;
use crate::widgets::Help;
use crate::widgets::list::{ListNav, draw_rows};

/// The menu's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuEntry {
    /// Go to the factory reset page.
    FactoryReset,
    /// Restart the machine.
    Reboot,
    /// Power the machine off.
    PowerOff,
    /// Leave the menu.
    Quit,
}

impl MenuEntry {
    /// Every entry, in menu order.
    pub const ALL: [MenuEntry; 4] = [MenuEntry::FactoryReset, MenuEntry::Reboot, MenuEntry::PowerOff, MenuEntry::Quit];

    fn ids(self) -> (&'static str, &'static str) {
        match self {
            MenuEntry::FactoryReset => ("reset-entry-reset", "reset-entry-reset-explain"),
            MenuEntry::Reboot => ("reset-entry-reboot", "reset-entry-reboot-explain"),
            MenuEntry::PowerOff => ("reset-entry-poweroff", "reset-entry-poweroff-explain"),
            MenuEntry::Quit => ("reset-entry-quit", "reset-entry-quit-explain"),
        }
    }
}

/// The menu's state: the selected entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct MenuPage {
    nav: ListNav,
}

impl MenuPage {
    pub fn selected(&self) -> MenuEntry {
        MenuEntry::ALL[self.nav.selected.min(MenuEntry::ALL.len() - 1)]
    }

    /// Handle a key; the entry chosen with Enter.
    pub fn key(&mut self, key: &KeyEvent) -> Option<MenuEntry> {
        if is_enter(key) {
            return Some(self.selected());
        }
        self.nav.key(key, MenuEntry::ALL.len());
        None
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![
            Help::new(ui.sym().keys_up_down, ui.t("reset-help-choose")),
            Help::new("Enter", ui.t("reset-help-do")),
            Help::new("Esc", ui.t("reset-help-quit")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui, facts: &ResetFacts) {
        let [info, _, question, entries, _, explain] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(MenuEntry::ALL.len() as u16),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        let system = format!("{} {}", ui.text(&facts.os_name), ui.text(&facts.os_version)).trim().to_owned();
        let last = facts.last_reset.as_deref().map(|l| ui.text(l).into_owned()).unwrap_or_else(|| ui.t("reset-never"));
        let rows = [
            (ui.t("reset-info-system"), system),
            (ui.t("reset-info-disk"), ui.text(&facts.disk).into_owned()),
            (ui.t("reset-info-last"), last),
        ];
        let width = rows.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0) + 2;
        let mut lines = vec![Line::from(ui.t("reset-info-title")).style(ui.strong_style())];
        lines.extend(rows.into_iter().map(|(label, value)| Line::from(vec![Span::raw(format!("  {label:<width$}")), Span::raw(value)])));
        frame.render_widget(Paragraph::new(lines), info);
        frame.render_widget(Paragraph::new(ui.t("reset-menu-question")).style(ui.strong_style()), question);
        let rows: Vec<Vec<Line<'static>>> = MenuEntry::ALL.iter().map(|entry| vec![Line::from(ui.t(entry.ids().0))]).collect();
        draw_rows(frame, entries, ui, &rows, Some(self.nav.selected), &[]);
        let explanation = ui.t(self.selected().ids().1);
        frame.render_widget(Paragraph::new(explanation).style(ui.quiet_style()).wrap(Wrap { trim: true }), explain);
    }
}
