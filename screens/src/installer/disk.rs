//! The disk page: every disk with its size, model and what installing there means (the plan's
//! verdict), and for disks that cannot be used, the reasons in words. Only a usable disk the image
//! fits on can be chosen. The list is asked for on entry and again with `r`.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{Ctx, Request, is_enter, is_esc};
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::format::{size, truncate};
use crate::widgets::list::{ListNav, draw_rows};
use crate::widgets::page::section;
use crate::widgets::{Help, text};
use crate::{DiskRow, Verdict};

/// The disk page's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct DiskPage {
    /// The disks, once the app listed them.
    disks: Option<Vec<DiskRow>>,
    nav: ListNav,
    /// A refresh was asked for and not answered yet.
    loading: bool,
    /// Enter was pressed on a disk that cannot be chosen (cleared when the selection moves).
    refused: bool,
}

impl DiskPage {
    pub fn enter(&mut self) -> Vec<Request> {
        self.loading = true;
        self.refused = false;
        vec![Request::ListDisks]
    }

    /// Take a new list, keeping the selected disk when it is still there.
    pub fn set_disks(&mut self, rows: Vec<DiskRow>) {
        let previous = self.selected().map(|row| row.path.clone());
        let keep = previous.and_then(|path| rows.iter().position(|row| row.path == path));
        self.nav.selected = keep.or_else(|| rows.iter().position(DiskRow::installable)).unwrap_or(0);
        self.disks = Some(rows);
        self.loading = false;
    }

    pub fn selected(&self) -> Option<&DiskRow> {
        self.disks.as_ref()?.get(self.nav.selected)
    }

    pub fn key(&mut self, key: &KeyEvent) -> Nav<Request> {
        if is_esc(key) {
            return Nav::Back;
        }
        if is_enter(key) {
            if self.selected().is_some_and(DiskRow::installable) {
                return Nav::Next;
            }
            self.refused = true;
            return Nav::stay();
        }
        if matches!(key.code, KeyCode::Char('r' | 'R')) {
            return Nav::Stay(self.enter());
        }
        let len = self.disks.as_ref().map_or(0, Vec::len);
        if self.nav.key(key, len) {
            self.refused = false;
        }
        Nav::stay()
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![
            Help::new(ui.sym().keys_up_down, ui.t("help-choose")),
            Help::new("Enter", ui.t("help-continue")),
            Help::new("r", ui.t("help-refresh")),
            Help::new("Esc", ui.t("help-back")),
        ]
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let ui = ctx.ui;
        let Some(disks) = self.disks.as_ref() else {
            frame.render_widget(Paragraph::new(ui.t("disk-loading")), area);
            return;
        };
        if disks.is_empty() {
            let text = vec![Line::from(ui.t("disk-none")), Line::from(""), Line::from(ui.t("disk-none-hint"))];
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
            return;
        }
        let list_height = (disks.len() as u16).min(area.height / 2).max(1);
        let [intro, list, details] =
            Layout::vertical([Constraint::Length(2), Constraint::Length(list_height), Constraint::Min(0)]).areas(area);
        let mut intro_text = ui.t_args(
            "disk-intro",
            &[("source", ui.text(&ctx.facts.source.name).into_owned().into()), ("size", size(ctx.facts.source.size_bytes, ui.lang).into())],
        );
        if self.loading {
            intro_text = format!("{intro_text} {}", ui.t("disk-refreshing"));
        }
        frame.render_widget(Paragraph::new(intro_text).wrap(Wrap { trim: true }), intro);
        let width = usize::from(list.width);
        let rows: Vec<Vec<Line<'static>>> = disks.iter().map(|row| vec![row_line(ui, row, width)]).collect();
        let disabled: Vec<usize> = (0..disks.len()).filter(|&i| !disks[i].installable()).collect();
        draw_rows(frame, list, ui, &rows, Some(self.nav.selected), &disabled);
        if let Some(row) = self.selected() {
            self.draw_details(frame, details, ui, row);
        }
    }

    fn draw_details(&self, frame: &mut Frame, area: Rect, ui: &Ui, row: &DiskRow) {
        let sym = ui.sym();
        let block = section(ui, format!(" {} ", ui.t("disk-details")));
        let width = block.inner(area).width;
        let mut lines = vec![Line::from(vec![
            Span::styled(ui.text(&row.path).into_owned(), ui.strong_style()),
            Span::raw(format!("  {}  {}", size(row.size_bytes, ui.lang), ui.text(&row.model))),
        ])];
        if !row.selectable() {
            lines.extend(text::lines(&format!("{} {}", sym.warning, ui.t("disk-cannot-use")), width, ui.warning_style()));
            for reason in &row.reasons {
                lines.extend(text::bullet(&format!("  {} ", sym.bullet), &ui.text(reason), width, Style::new()));
            }
        } else {
            lines.extend(verdict_lines(ui, row.verdict.as_ref(), width));
        }
        if self.refused {
            lines.push(Line::from(""));
            lines.extend(text::lines(&format!("{} {}", ui.t("error-prefix"), ui.t("disk-refused")), width, ui.error_style()));
        }
        frame.render_widget(Paragraph::new(lines).block(block), area);
    }
}

/// A disk's one-line summary: name, size, model, and its status in a word.
fn row_line(ui: &Ui, row: &DiskRow, width: usize) -> Line<'static> {
    let status = status_word(ui, row);
    let head = format!("{:<12} {:>9}  ", ui.text(row.name()), size(row.size_bytes, ui.lang));
    let room = width.saturating_sub(head.chars().count() + status.chars().count() + 4);
    let model = truncate(&ui.text(&row.model), room, ui.ascii);
    let pad = " ".repeat(room.saturating_sub(model.chars().count()));
    Line::from(vec![Span::raw(head), Span::raw(model), Span::raw(pad), Span::raw("  "), Span::styled(status, status_style(ui, row))])
}

fn status_word(ui: &Ui, row: &DiskRow) -> String {
    if !row.selectable() {
        return ui.t("disk-status-unusable");
    }
    match row.verdict {
        None => ui.t("disk-status-unknown"),
        Some(Verdict::Fits) => ui.t("disk-status-fits"),
        Some(Verdict::NeedsErase { .. }) => ui.t("disk-status-erase"),
        Some(Verdict::TooSmall { .. }) => ui.t("disk-status-too-small"),
    }
}

fn status_style(ui: &Ui, row: &DiskRow) -> Style {
    match (&row.verdict, row.selectable()) {
        (Some(Verdict::Fits), true) => ui.ok_style(),
        (Some(Verdict::NeedsErase { .. }), true) => ui.warning_style(),
        _ => ui.disabled_style(),
    }
}

/// The verdict in sentences, wrapped to `width`.
fn verdict_lines(ui: &Ui, verdict: Option<&Verdict>, width: u16) -> Vec<Line<'static>> {
    let sym = ui.sym();
    match verdict {
        None => text::lines(&ui.t("disk-verdict-unknown"), width, Style::new()),
        Some(Verdict::Fits) => text::lines(&format!("{} {}", sym.ok, ui.t("disk-verdict-fits")), width, ui.ok_style()),
        Some(Verdict::NeedsErase { what }) => {
            let mut lines = text::lines(&format!("{} {}", sym.warning, ui.t("disk-verdict-erase")), width, ui.warning_style());
            for item in what {
                lines.extend(text::bullet(&format!("  {} ", sym.bullet), &ui.text(item), width, Style::new()));
            }
            lines
        }
        Some(Verdict::TooSmall { need, have }) => {
            let sentence =
                ui.t_args("disk-verdict-too-small", &[("need", size(*need, ui.lang).into()), ("have", size(*have, ui.lang).into())]);
            text::lines(&format!("{} {sentence}", sym.failed), width, ui.error_style())
        }
    }
}
