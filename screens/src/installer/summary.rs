//! The summary page: what will be installed where, the disk's partitions before and after, the
//! encryption and keymap, and the one gate before anything is written: the person types the disk's
//! name as shown. Until it matches, Enter only says what is missing.

use ratatui::Frame;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::encryption::{EncryptionKind, EncryptionPage};
use super::{Change, Ctx, InstallRequest, PartRow, PlanView, Request, is_enter, is_esc};
use crate::DiskRow;
use crate::flow::Nav;
use crate::theme::Ui;
use crate::widgets::format::size;
use crate::widgets::page::{columns, section, stack};
use crate::widgets::{Help, TextField, text};

/// The summary page's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SummaryPage {
    /// The disk the plan was asked for.
    disk: String,
    plan: Option<PlanView>,
    confirm: TextField,
    refused: bool,
}

impl SummaryPage {
    /// Ask for the plan of `disk`; a different disk than last time forgets the old plan and the
    /// typed confirmation.
    pub fn enter(&mut self, request: InstallRequest) -> Vec<Request> {
        let disk = request.disk.as_str();
        if self.disk != disk {
            self.disk = disk.to_owned();
            self.plan = None;
            self.confirm.clear();
        }
        self.refused = false;
        vec![Request::Plan(request)]
    }

    pub fn set_plan(&mut self, plan: PlanView) {
        if plan.disk == self.disk {
            self.plan = Some(plan);
        }
    }

    pub fn key(&mut self, key: &KeyEvent, disk: Option<&DiskRow>) -> Nav<Request> {
        if is_esc(key) {
            return Nav::Back;
        }
        if is_enter(key) {
            let matches = disk.is_some_and(|d| d.path == self.disk && self.confirm.value().trim() == d.name());
            if self.plan.is_some() && matches {
                return Nav::Next;
            }
            self.refused = true;
            return Nav::stay();
        }
        if self.confirm.key(key) {
            self.refused = false;
        }
        Nav::stay()
    }

    pub fn help(ui: &Ui) -> Vec<Help> {
        vec![Help::new("abc", ui.t("help-type-name")), Help::new("Enter", ui.t("help-install")), Help::new("Esc", ui.t("help-back"))]
    }

    pub fn draw(
        &self,
        frame: &mut Frame,
        area: Rect,
        ctx: &Ctx,
        disk: Option<&DiskRow>,
        encryption: &EncryptionPage,
        keymap: Option<&str>,
    ) {
        let ui = ctx.ui;
        let Some(disk) = disk else { return };
        let width = area.width;
        let facts = facts_lines(ctx, disk, encryption, keymap, width);
        let rest = stack(frame, area, facts, 8);
        let plan_rows = self.plan.as_ref().map_or(1, |p| p.before.len().max(p.after.len()).max(1)) as u16;
        let [tables, rest] =
            Layout::vertical([Constraint::Length((plan_rows + 3).min(rest.height.saturating_sub(5))), Constraint::Min(0)]).areas(rest);
        self.draw_tables(frame, tables, ui);
        let mut lines = Vec::new();
        if self.plan.as_ref().is_some_and(|p| p.before.iter().any(|r| r.change == Change::Erase)) {
            lines.extend(text::lines(&format!("{} {}", ui.sym().warning, ui.t("summary-erase-warning")), width, ui.warning_style()));
        }
        lines.push(Line::from(""));
        lines.extend(prompt_lines(ui, disk.name(), width));
        let rest = stack(frame, rest, lines, 3);
        let [field, status] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(rest);
        self.confirm.draw(frame, field, ui, &ui.t("summary-disk-name"), true);
        if self.refused {
            let name = ui.text(disk.name()).into_owned();
            let reason =
                if self.plan.is_none() { ui.t("summary-wait-plan") } else { ui.t_args("summary-name-mismatch", &[("name", name.into())]) };
            frame
                .render_widget(Paragraph::new(text::lines(&format!("{} {reason}", ui.t("error-prefix")), width, ui.error_style())), status);
        }
    }

    fn draw_tables(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let Some(plan) = &self.plan else {
            frame.render_widget(Paragraph::new(ui.t("summary-loading-plan")), area);
            return;
        };
        let [before, after] = columns(area, 50);
        draw_table(frame, before, ui, &ui.t("summary-before"), &plan.before, false);
        draw_table(frame, after, ui, &ui.t("summary-after"), &plan.after, true);
    }
}

/// The lines saying what goes where, with which encryption and keymap.
fn facts_lines(ctx: &Ctx, disk: &DiskRow, page: &EncryptionPage, keymap: Option<&str>, width: u16) -> Vec<Line<'static>> {
    let ui = ctx.ui;
    let source = &ctx.facts.source;
    let what = ui.t_args(
        "summary-what",
        &[
            ("source", ui.text(&source.name).into_owned().into()),
            ("size", size(source.size_bytes, ui.lang).into()),
            ("disk", ui.text(&disk.path).into_owned().into()),
            ("disksize", size(disk.size_bytes, ui.lang).into()),
            ("model", ui.text(&disk.model).into_owned().into()),
        ],
    );
    let mut encryption = match page.kind() {
        EncryptionKind::Tpm => ui.t("encryption-tpm"),
        EncryptionKind::TpmPin => ui.t("encryption-tpm-pin"),
        EncryptionKind::Passphrase => ui.t("encryption-passphrase"),
        EncryptionKind::None => ui.t("encryption-none"),
    };
    if let Some(policy) = page.policy_label(ui, &ctx.facts.pcrs) {
        encryption = format!("{encryption}, {policy}");
    }
    let settings = ui.t_args(
        "summary-settings",
        &[
            ("encryption", encryption.into()),
            ("keymap", ui.text(keymap.unwrap_or("")).into_owned().into()),
            ("language", ui.lang.name().into()),
        ],
    );
    let mut lines = text::lines(&what, width, Style::new());
    lines.extend(text::lines(&settings, width, Style::new()));
    lines
}

/// "To start, type the disk's name, sda, and press Enter." wrapped, with the name in bold.
fn prompt_lines(ui: &Ui, name: &str, width: u16) -> Vec<Line<'static>> {
    let name = ui.text(name).into_owned();
    let sentence = ui.t_args("summary-type", &[("name", name.clone().into())]);
    text::lines(&sentence, width, Style::new())
        .into_iter()
        .map(|line| {
            let plain: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
            match plain.split_once(name.as_str()) {
                Some((before, after)) if !name.is_empty() => Line::from(vec![
                    Span::raw(before.to_owned()),
                    Span::styled(name.clone(), ui.strong_style()),
                    Span::raw(after.to_owned()),
                ]),
                _ => Line::from(plain),
            }
        })
        .collect()
}

fn change_word(ui: &Ui, change: Change) -> (String, Style) {
    match change {
        Change::Keep => (ui.t("change-keep"), ui.quiet_style()),
        Change::Create => (ui.t("change-create"), ui.ok_style()),
        Change::Erase => (ui.t("change-erase"), ui.error_style()),
    }
}

fn draw_table(frame: &mut Frame, area: Rect, ui: &Ui, title: &str, rows: &[PartRow], after: bool) {
    let block = section(ui, format!(" {title} "));
    let rows: Vec<&PartRow> = rows.iter().filter(|row| !after || row.change != Change::Erase).collect();
    if rows.is_empty() {
        frame.render_widget(Paragraph::new(ui.t("summary-no-partitions")).block(block), area);
        return;
    }
    let with_kind = block.inner(area).width >= 50;
    let columns: &[&str] = if with_kind { &["number", "label", "kind", "size", "change"] } else { &["number", "label", "size", "change"] };
    let headers: Vec<String> = columns.iter().map(|h| ui.t(&format!("summary-col-{h}"))).collect();
    let cells: Vec<Vec<(String, Style)>> = rows
        .iter()
        .map(|row| {
            let mut cells = vec![(row.number.to_string(), Style::new()), (ui.text(&row.label).into_owned(), Style::new())];
            if with_kind {
                cells.push((ui.text(&row.kind).into_owned(), Style::new()));
            }
            cells.push((size(row.size_bytes, ui.lang), Style::new()));
            cells.push(change_word(ui, row.change));
            cells
        })
        .collect();
    let fit = |column: usize| {
        let widest = cells.iter().map(|row| row[column].0.chars().count()).chain([headers[column].chars().count()]).max().unwrap_or(1);
        Constraint::Length(widest as u16)
    };
    let widths: Vec<Constraint> = (0..headers.len())
        .map(|column| match columns[column] {
            "label" => Constraint::Fill(2),
            "kind" => Constraint::Fill(1),
            _ => fit(column),
        })
        .collect();
    let header = Row::new(headers.iter().map(|h| Cell::from(h.clone()))).style(ui.strong_style());
    let body: Vec<Row> =
        cells.into_iter().map(|row| Row::new(row.into_iter().map(|(text, style)| Cell::from(text).style(style)))).collect();
    frame.render_widget(Table::new(body, widths).header(header).block(block).column_spacing(1), area);
}

#[cfg(test)]
pub(crate) fn column_ids() -> Vec<String> {
    ["number", "label", "kind", "size", "change"].iter().map(|h| format!("summary-col-{h}")).collect()
}
