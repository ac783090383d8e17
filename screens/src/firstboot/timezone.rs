//! The time zone page: regions on the left, their cities on the right; typing searches all zones
//! at once ("berlin", "new york") and shows the matches as "Region / City".

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{FirstbootFacts, Request, is_enter, is_esc};
use crate::flow::{Nav, typed_char};
use crate::i18n::Lang;
use crate::theme::Ui;
use crate::widgets::Help;
use crate::widgets::list::{ListNav, draw_rows};
use crate::widgets::page::columns;

/// One time zone: its region (index into the regions) and its full name ("Europe/Berlin").
#[derive(Debug, Clone, PartialEq, Eq)]
struct Zone {
    region: usize,
    name: String,
}

/// The time zone page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimezonePage {
    regions: Vec<String>,
    zones: Vec<Zone>,
    search: String,
    selected: Option<usize>,
    focus_regions: bool,
    touched: bool,
}

/// Zones suggested for a language, best first.
fn suggestions(lang: Lang) -> &'static [&'static str] {
    match lang {
        Lang::De => &["Europe/Berlin"],
        Lang::En => &["UTC", "Etc/UTC"],
    }
}

impl TimezonePage {
    pub fn new(lang: Lang, facts: &FirstbootFacts) -> TimezonePage {
        let mut regions = Vec::new();
        let mut zones = Vec::new();
        for (region, names) in facts.timezones.iter().filter(|(_, names)| !names.is_empty()) {
            regions.push(region.clone());
            zones.extend(names.iter().map(|name| Zone { region: regions.len() - 1, name: name.clone() }));
        }
        let mut page = TimezonePage {
            regions,
            selected: (!zones.is_empty()).then_some(0),
            zones,
            search: String::new(),
            focus_regions: false,
            touched: false,
        };
        page.suggest_for(lang);
        page
    }

    /// After a language change: select that language's usual zone, unless the person chose one.
    pub fn suggest_for(&mut self, lang: Lang) {
        if self.touched {
            return;
        }
        if let Some(index) = suggestions(lang).iter().find_map(|name| self.zones.iter().position(|z| z.name == *name)) {
            self.selected = Some(index);
        }
    }

    /// The zone chosen, if it matches the search.
    pub fn selected(&self) -> Option<&str> {
        let index = self.selected?;
        (self.search.is_empty() || self.matches().contains(&index)).then(|| self.zones[index].name.as_str())
    }

    /// Whether the system lists no time zones (the time zone then stays as it is).
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// The city part of a zone, as people read it: "Europe/Berlin" → "Berlin",
    /// "America/Argentina/Buenos_Aires" → "Argentina/Buenos Aires".
    fn city(&self, zone: &Zone) -> String {
        let region = &self.regions[zone.region];
        let rest = zone.name.strip_prefix(region.as_str()).and_then(|r| r.strip_prefix('/')).unwrap_or(&zone.name);
        rest.replace('_', " ")
    }

    /// Indices of the zones matching the search (all when it is empty).
    fn matches(&self) -> Vec<usize> {
        let needle = self.search.to_lowercase();
        (0..self.zones.len())
            .filter(|&i| {
                let name = self.zones[i].name.to_lowercase();
                name.contains(&needle) || name.replace('_', " ").contains(&needle)
            })
            .collect()
    }

    fn region_zones(&self, region: usize) -> Vec<usize> {
        (0..self.zones.len()).filter(|&i| self.zones[i].region == region).collect()
    }

    fn after_search(&mut self) {
        let matches = self.matches();
        if self.search.is_empty() || self.selected.is_some_and(|s| matches.contains(&s) && self.starts_with_search(s)) {
            return;
        }
        let needle = self.search.to_lowercase();
        let exact = matches.iter().find(|&&i| self.city(&self.zones[i]).to_lowercase() == needle);
        let prefix = matches.iter().find(|&&i| self.starts_with_search(i));
        if let Some(&best) = exact.or(prefix).or(matches.first()) {
            self.selected = Some(best);
        }
    }

    fn starts_with_search(&self, index: usize) -> bool {
        let needle = self.search.to_lowercase();
        let zone = &self.zones[index];
        self.city(zone).to_lowercase().starts_with(&needle) || zone.name.to_lowercase().starts_with(&needle)
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_enter(key) {
            return if self.selected().is_some() || self.is_empty() { Nav::Next } else { Nav::stay() };
        }
        if is_esc(key) {
            return Nav::Back;
        }
        let before = self.selected;
        if ListNav::is_nav_key(key) {
            self.move_selection(key);
        } else if matches!(key.code, KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right) {
            if self.search.is_empty() {
                self.focus_regions = match key.code {
                    KeyCode::Left => true,
                    KeyCode::Right => false,
                    _ => !self.focus_regions,
                };
            }
        } else if key.code == KeyCode::Backspace {
            self.search.pop();
            self.after_search();
        } else if key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('u' | 'U')) {
            self.search.clear();
        } else if let Some(c) = typed_char(key) {
            self.search.push(c);
            self.after_search();
        }
        if self.selected != before {
            self.touched = true;
        }
        Nav::stay()
    }

    fn move_selection(&mut self, key: &KeyEvent) {
        if !self.search.is_empty() || !self.focus_regions {
            let list = if self.search.is_empty() { self.region_zones(self.current_region()) } else { self.matches() };
            let mut nav = ListNav { selected: self.selected.and_then(|s| list.iter().position(|&i| i == s)).unwrap_or(0) };
            nav.key(key, list.len());
            self.selected = list.get(nav.selected).copied().or(self.selected);
        } else {
            let mut nav = ListNav { selected: self.current_region() };
            if nav.key(key, self.regions.len()) {
                self.selected = self.region_zones(nav.selected).first().copied().or(self.selected);
            }
        }
    }

    fn current_region(&self) -> usize {
        self.selected.map(|s| self.zones[s].region).unwrap_or(0)
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        let mut help = vec![Help::new(ui.sym().keys_up_down, ui.t("fb-help-choose"))];
        if self.search.is_empty() {
            help.push(Help::new(ui.sym().keys_left_right, ui.t("fb-help-region-city")));
        }
        help.extend([
            Help::new("abc", ui.t("fb-help-type-to-search")),
            Help::new("Enter", ui.t("fb-help-continue")),
            Help::new("Esc", ui.t("fb-help-back")),
        ]);
        help
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [search, _, body, chosen] =
            Layout::vertical([Constraint::Length(1), Constraint::Length(1), Constraint::Min(0), Constraint::Length(2)]).areas(area);
        let count = ui.t_args("fb-count", &[("shown", self.matches().len().into()), ("all", self.zones.len().into())]);
        let search_line = Line::from(vec![
            Span::raw(ui.t("fb-search")),
            Span::raw(" "),
            Span::styled(ui.text(&self.search).into_owned(), ui.strong_style()),
            Span::raw("  "),
            Span::styled(count, ui.quiet_style()),
        ]);
        frame.render_widget(Paragraph::new(search_line), search);
        if self.zones.is_empty() || self.matches().is_empty() {
            let id = if self.zones.is_empty() { "fb-timezone-none" } else { "fb-no-match" };
            let text = Line::from(format!("{} {}", ui.sym().warning, ui.t(id))).style(ui.warning_style());
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), body);
        } else if self.search.is_empty() {
            self.draw_columns(frame, body, ui);
        } else {
            let matches = self.matches();
            let rows: Vec<Vec<Line<'static>>> = matches
                .iter()
                .map(|&i| {
                    let zone = &self.zones[i];
                    let region = ui.text(&self.regions[zone.region]).into_owned();
                    vec![Line::from(format!("{region} / {}", ui.text(&self.city(zone))))]
                })
                .collect();
            let selected = self.selected.and_then(|s| matches.iter().position(|&i| i == s));
            draw_rows(frame, body, ui, &rows, selected, &[]);
        }
        let line = match self.selected() {
            Some(name) => {
                Line::from(ui.t_args("fb-timezone-chosen", &[("zone", ui.text(name).into_owned().into())])).style(ui.strong_style())
            }
            None => Line::from(""),
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), chosen);
    }

    fn draw_columns(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let [left, right] = columns(area, 40);
        let heading = |id: &str, focused: bool| {
            let style = if focused { ui.strong_style().add_modifier(Modifier::UNDERLINED) } else { ui.quiet_style() };
            Line::from(vec![Span::raw(ui.sym().unselected), Span::styled(ui.t(id), style)])
        };
        let [left_head, left_list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(left);
        let [right_head, right_list] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(right);
        frame.render_widget(Paragraph::new(heading("fb-timezone-regions", self.focus_regions)), left_head);
        frame.render_widget(Paragraph::new(heading("fb-timezone-cities", !self.focus_regions)), right_head);
        let regions: Vec<String> = self.regions.iter().map(|r| ui.text(r).into_owned()).collect();
        let in_region = self.region_zones(self.current_region());
        let cities: Vec<String> = in_region.iter().map(|&i| ui.text(&self.city(&self.zones[i])).into_owned()).collect();
        let city = self.selected.and_then(|s| in_region.iter().position(|&i| i == s));
        if self.focus_regions {
            draw_rows(frame, left_list, ui, &as_rows(regions), Some(self.current_region()), &[]);
            draw_unfocused(frame, right_list, ui, &cities, city);
        } else {
            draw_unfocused(frame, left_list, ui, &regions, Some(self.current_region()));
            draw_rows(frame, right_list, ui, &as_rows(cities), city, &[]);
        }
    }
}

fn as_rows(names: Vec<String>) -> Vec<Vec<Line<'static>>> {
    names.into_iter().map(|name| vec![Line::from(name)]).collect()
}

/// The column the arrows do not move: its selected name is marked with a bullet instead of the
/// selection marker, so only one column shows where ↑↓ act.
fn draw_unfocused(frame: &mut Frame, area: Rect, ui: &Ui, names: &[String], selected: Option<usize>) {
    let height = usize::from(area.height);
    let offset = selected.map(|s| (s + 1).saturating_sub(height)).unwrap_or(0);
    let lines: Vec<Line> = names
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, name)| {
            if Some(i) == selected {
                Line::from(format!("{} {name}", ui.sym().bullet)).style(ui.strong_style())
            } else {
                Line::from(format!("{}{name}", ui.sym().unselected))
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{press, type_text};

    fn facts() -> FirstbootFacts {
        let region = |name: &str, zones: &[&str]| (name.to_string(), zones.iter().map(|z| z.to_string()).collect());
        FirstbootFacts {
            timezones: vec![
                region("America", &["America/New_York", "America/Argentina/Buenos_Aires"]),
                region("Europe", &["Europe/Berlin", "Europe/Paris", "Europe/Vienna"]),
                region("Etc", &["Etc/UTC"]),
            ],
            ..FirstbootFacts::default()
        }
    }

    #[test]
    fn suggestions_follow_the_language() {
        assert_eq!(TimezonePage::new(Lang::De, &facts()).selected(), Some("Europe/Berlin"));
        let mut page = TimezonePage::new(Lang::En, &facts());
        assert_eq!(page.selected(), Some("Etc/UTC"));
        page.suggest_for(Lang::De);
        assert_eq!(page.selected(), Some("Europe/Berlin"));
    }

    #[test]
    fn search_finds_cities_with_spaces() {
        let mut page = TimezonePage::new(Lang::En, &facts());
        for key in type_text("new york") {
            page.key(&key);
        }
        assert_eq!(page.selected(), Some("America/New_York"));
        page.key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        for key in type_text("vie") {
            page.key(&key);
        }
        assert_eq!(page.selected(), Some("Europe/Vienna"));
        for key in type_text("zzz") {
            page.key(&key);
        }
        assert_eq!(page.selected(), None);
        assert_eq!(page.key(&press(KeyCode::Enter)), Nav::stay());
    }

    #[test]
    fn regions_and_cities_move_separately() {
        let mut page = TimezonePage::new(Lang::De, &facts());
        page.key(&press(KeyCode::Down));
        assert_eq!(page.selected(), Some("Europe/Paris"));
        page.key(&press(KeyCode::Left));
        page.key(&press(KeyCode::Up));
        assert_eq!(page.selected(), Some("America/New_York"));
        page.key(&press(KeyCode::Right));
        page.key(&press(KeyCode::End));
        assert_eq!(page.selected(), Some("America/Argentina/Buenos_Aires"));
        assert_eq!(page.city(&page.zones[1]), "Argentina/Buenos Aires");
        page.suggest_for(Lang::De);
        assert_eq!(page.selected(), Some("America/Argentina/Buenos_Aires"), "a chosen zone stays");
    }
}
