//! The encryption page (public for its limits and [`pcr_consequence_ids`], which `--plain` mode
//! shares): TPM, TPM and PIN, passphrase, or none, each explained in plain words with
//! its risk. The TPM choices are disabled, with the engine's advice, when the TPM is not usable;
//! what will make the TPM refuse (and the recovery key be needed) is derived from the PCR policy. A
//! PIN or passphrase is typed twice, masked, and must be long enough and typeable at the boot
//! prompt with the chosen keymap. When the image carries a key for a signed PCR 11 policy, the
//! TPM options get a second choice, the policy: "PCR 7 + signed PCR 11" (the default) or the
//! PCRs alone, each explained with what will force the recovery key.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::{Ctx, EncryptionChoice, Request, TpmView, is_enter, is_esc};
use crate::flow::Nav;
use crate::keymap::typeable;
use crate::theme::Ui;
use crate::widgets::list::{ListNav, draw_rows};
use crate::widgets::{Help, TextField, text};

/// The shortest PIN accepted: the TPM locks out after a few wrong tries, so 4 characters suffice.
pub const MIN_PIN: usize = 4;
/// The shortest passphrase accepted: a stolen disk can be attacked offline at full speed.
pub const MIN_PASSPHRASE: usize = 8;

/// The encryption options, without their secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionKind {
    /// TPM alone.
    Tpm,
    /// TPM and PIN.
    TpmPin,
    /// Passphrase.
    Passphrase,
    /// No encryption.
    None,
}

impl EncryptionKind {
    /// Every option, in the order the page lists them.
    pub const ALL: [EncryptionKind; 4] = [EncryptionKind::Tpm, EncryptionKind::TpmPin, EncryptionKind::Passphrase, EncryptionKind::None];

    /// Whether the option needs the TPM.
    pub fn needs_tpm(self) -> bool {
        matches!(self, EncryptionKind::Tpm | EncryptionKind::TpmPin)
    }

    /// Whether the option needs a secret typed twice, and the shortest length allowed.
    pub fn min_secret(self) -> Option<usize> {
        match self {
            EncryptionKind::TpmPin => Some(MIN_PIN),
            EncryptionKind::Passphrase => Some(MIN_PASSPHRASE),
            _ => None,
        }
    }

    fn label_id(self) -> &'static str {
        match self {
            EncryptionKind::Tpm => "encryption-tpm",
            EncryptionKind::TpmPin => "encryption-tpm-pin",
            EncryptionKind::Passphrase => "encryption-passphrase",
            EncryptionKind::None => "encryption-none",
        }
    }

    fn explain_id(self) -> &'static str {
        match self {
            EncryptionKind::Tpm => "encryption-tpm-explain",
            EncryptionKind::TpmPin => "encryption-tpm-pin-explain",
            EncryptionKind::Passphrase => "encryption-passphrase-explain",
            EncryptionKind::None => "encryption-none-explain",
        }
    }
}

/// What changes of the machine each PCR sees, as catalog ids of "the recovery key is needed after…"
/// sentences.
const PCR_REASONS: [(u32, &str); 12] = [
    (0, "pcr-firmware"),
    (1, "pcr-firmware-settings"),
    (2, "pcr-option-roms"),
    (3, "pcr-option-roms"),
    (4, "pcr-boot-loader"),
    (5, "pcr-partition-table"),
    (7, "pcr-secure-boot"),
    (8, "pcr-command-line"),
    (9, "pcr-initrd"),
    (11, "pcr-system-image"),
    (12, "pcr-command-line"),
    (15, "pcr-system-identity"),
];

/// PCRs as the policy names them: "7", "7+11".
fn pcr_list(pcrs: &[u32]) -> String {
    let mut sorted = pcrs.to_vec();
    sorted.sort_unstable();
    sorted.iter().map(u32::to_string).collect::<Vec<_>>().join("+")
}

/// The catalog ids of the consequences of binding to `pcrs`, each once, in PCR order; PCRs not
/// in the table give `pcr-other` (formatted with `pcr`).
pub fn pcr_consequence_ids(pcrs: &[u32]) -> Vec<(&'static str, u32)> {
    let mut sorted = pcrs.to_vec();
    sorted.sort_unstable();
    let mut ids: Vec<(&'static str, u32)> = Vec::new();
    for pcr in sorted {
        let id = PCR_REASONS.iter().find(|(p, _)| *p == pcr).map_or("pcr-other", |(_, id)| *id);
        if id == "pcr-other" || !ids.iter().any(|(seen, _)| *seen == id) {
            ids.push((id, pcr));
        }
    }
    ids
}

/// Which part of the page has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Focus {
    #[default]
    Options,
    First,
    Second,
}

/// Why the page refused to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    TpmUnusable,
    TooShort(usize),
    NotTypeable(char),
    Mismatch,
}

/// The encryption page's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncryptionPage {
    nav: ListNav,
    tpm_usable: bool,
    tpm_problem: Option<String>,
    tpm_warning: Option<String>,
    /// The image carries a key for a signed PCR 11 policy: the policy row is offered.
    signed_offered: bool,
    /// The signed PCR 11 policy is chosen (when offered).
    signed: bool,
    focus: Focus,
    pin: [TextField; 2],
    passphrase: [TextField; 2],
    problem: Option<Problem>,
    /// The secret of the selected option was checked and accepted.
    confirmed: bool,
}

impl EncryptionPage {
    pub fn new(tpm: &TpmView, signed_offered: bool) -> EncryptionPage {
        let first = if tpm.usable { EncryptionKind::Tpm } else { EncryptionKind::Passphrase };
        EncryptionPage {
            nav: ListNav { selected: EncryptionKind::ALL.iter().position(|&k| k == first).unwrap_or(0) },
            tpm_usable: tpm.usable,
            tpm_problem: tpm.problem.clone(),
            tpm_warning: tpm.warning.clone(),
            signed_offered,
            signed: signed_offered,
            focus: Focus::Options,
            pin: [TextField::masked(), TextField::masked()],
            passphrase: [TextField::masked(), TextField::masked()],
            problem: None,
            confirmed: false,
        }
    }

    pub fn kind(&self) -> EncryptionKind {
        EncryptionKind::ALL.get(self.nav.selected).copied().unwrap_or(EncryptionKind::None)
    }

    fn available(&self, kind: EncryptionKind) -> bool {
        self.tpm_usable || !kind.needs_tpm()
    }

    /// Whether the policy row shows: a TPM option that can be chosen, and an image key to bind.
    fn policy_shown(&self) -> bool {
        let kind = self.kind();
        self.signed_offered && kind.needs_tpm() && self.available(kind)
    }

    /// The signed PCR 11 policy is part of the choice: offered, chosen, and a TPM option.
    pub fn signed_policy(&self) -> bool {
        self.policy_shown() && self.signed
    }

    /// The chosen TPM policy in words ("PCR 7 + signed PCR 11"), for a TPM option when the
    /// policy was a choice.
    pub fn policy_label(&self, ui: &Ui, pcrs: &[u32]) -> Option<String> {
        if !self.policy_shown() {
            return None;
        }
        let id = if self.signed_policy() { "encryption-policy-signed" } else { "encryption-policy-pcrs" };
        Some(ui.t_args(id, &[("pcrs", pcr_list(pcrs).into())]))
    }

    fn fields(&self) -> Option<&[TextField; 2]> {
        match self.kind() {
            EncryptionKind::TpmPin => Some(&self.pin),
            EncryptionKind::Passphrase => Some(&self.passphrase),
            _ => None,
        }
    }

    fn fields_mut(&mut self) -> Option<&mut [TextField; 2]> {
        match self.kind() {
            EncryptionKind::TpmPin => Some(&mut self.pin),
            EncryptionKind::Passphrase => Some(&mut self.passphrase),
            _ => None,
        }
    }

    /// The chosen encryption, once the page accepted it.
    pub fn choice(&self) -> Option<EncryptionChoice> {
        let kind = self.kind();
        if !self.available(kind) {
            return None;
        }
        match kind {
            EncryptionKind::Tpm => Some(EncryptionChoice::Tpm),
            EncryptionKind::None => Some(EncryptionChoice::None),
            EncryptionKind::TpmPin => self.confirmed.then(|| EncryptionChoice::TpmPin(self.pin[0].secret())),
            EncryptionKind::Passphrase => self.confirmed.then(|| EncryptionChoice::Passphrase(self.passphrase[0].secret())),
        }
    }

    pub fn key(&mut self, key: &KeyEvent, keymap: &str) -> Nav<Request> {
        if is_esc(key) {
            return Nav::Back;
        }
        match self.focus {
            Focus::Options => self.options_key(key),
            Focus::First | Focus::Second => self.field_key(key, keymap),
        }
    }

    fn options_key(&mut self, key: &KeyEvent) -> Nav<Request> {
        let kind = self.kind();
        let wants_fields = kind.min_secret().is_some() && self.available(kind);
        if self.policy_shown() && matches!(key.code, KeyCode::Left | KeyCode::Right) {
            self.signed = !self.signed;
            self.problem = None;
            return Nav::stay();
        }
        if is_enter(key) || (key.code == KeyCode::Tab && wants_fields) {
            if !self.available(kind) {
                self.problem = Some(Problem::TpmUnusable);
                return Nav::stay();
            }
            if wants_fields {
                self.focus = Focus::First;
                return Nav::stay();
            }
            self.confirmed = true;
            return Nav::Next;
        }
        if self.nav.key(key, EncryptionKind::ALL.len()) {
            self.problem = None;
            self.confirmed = false;
        }
        Nav::stay()
    }

    fn field_key(&mut self, key: &KeyEvent, keymap: &str) -> Nav<Request> {
        match (key.code, self.focus) {
            (KeyCode::Enter, Focus::First) | (KeyCode::Tab | KeyCode::Down, Focus::First) => self.focus = Focus::Second,
            (KeyCode::Enter, Focus::Second) => return self.validate(keymap),
            (KeyCode::BackTab | KeyCode::Up, Focus::First) | (KeyCode::Tab, Focus::Second) => self.focus = Focus::Options,
            (KeyCode::BackTab | KeyCode::Up, Focus::Second) => self.focus = Focus::First,
            _ => {
                let index = usize::from(self.focus == Focus::Second);
                if let Some(fields) = self.fields_mut()
                    && fields[index].key(key)
                {
                    self.problem = None;
                    self.confirmed = false;
                }
            }
        }
        Nav::stay()
    }

    fn validate(&mut self, keymap: &str) -> Nav<Request> {
        let Some(min) = self.kind().min_secret() else { return Nav::Next };
        let Some(fields) = self.fields() else { return Nav::stay() };
        let problem = check_secret(fields[0].value(), fields[1].value(), min, keymap);
        self.problem = problem;
        if problem.is_some() {
            if problem != Some(Problem::Mismatch) {
                self.focus = Focus::First;
            }
            return Nav::stay();
        }
        self.confirmed = true;
        Nav::Next
    }

    pub fn help(&self, ui: &Ui) -> Vec<Help> {
        match self.focus {
            Focus::Options => {
                let mut help = vec![Help::new(ui.sym().keys_up_down, ui.t("help-choose"))];
                if self.policy_shown() {
                    help.push(Help::new(ui.sym().keys_left_right, ui.t("help-policy")));
                }
                help.extend([Help::new("Enter", ui.t("help-select")), Help::new("Esc", ui.t("help-back"))]);
                help
            }
            Focus::First | Focus::Second => vec![
                Help::new("Tab", ui.t("help-next-field")),
                Help::new("Enter", ui.t("help-continue")),
                Help::new("Esc", ui.t("help-back")),
            ],
        }
    }

    pub fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx, keymap: &str) {
        let ui = ctx.ui;
        let kind = self.kind();
        let field_height = if kind.min_secret().is_some() && self.available(kind) { 4 } else { 0 };
        let problem_height = u16::from(self.problem.is_some()) * 2;
        let policy_height = u16::from(self.policy_shown());
        let [options, policy, _, explain, fields, problem] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Length(policy_height),
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(field_height),
            Constraint::Length(problem_height),
        ])
        .areas(area);
        self.draw_options(frame, options, ui);
        if policy_height > 0 {
            frame.render_widget(Paragraph::new(self.policy_line(ui, &ctx.facts.pcrs)), policy);
        }
        frame.render_widget(Paragraph::new(self.explanation(ctx, explain.width, explain.height)), explain);
        if field_height > 0 {
            self.draw_fields(frame, fields, ui, keymap);
        }
        if let Some(p) = self.problem {
            let text = format!("{} {}", ui.t("error-prefix"), problem_text(ui, p, kind, keymap));
            frame.render_widget(Paragraph::new(Line::from(text).style(ui.error_style())).wrap(Wrap { trim: true }), problem);
        }
    }

    fn draw_options(&self, frame: &mut Frame, area: Rect, ui: &Ui) {
        let sym = ui.sym();
        let rows: Vec<Vec<Line<'static>>> = EncryptionKind::ALL
            .iter()
            .map(|&kind| {
                let radio = if !self.available(kind) {
                    sym.radio_disabled
                } else if kind == self.kind() {
                    sym.radio_on
                } else {
                    sym.radio_off
                };
                let mut text = format!("{radio} {}", ui.t(kind.label_id()));
                if !self.available(kind) {
                    text = format!("{text} {}", ui.t("encryption-unavailable"));
                }
                vec![Line::from(text)]
            })
            .collect();
        let disabled: Vec<usize> = (0..EncryptionKind::ALL.len()).filter(|&i| !self.available(EncryptionKind::ALL[i])).collect();
        let selected = (self.focus == Focus::Options).then_some(self.nav.selected);
        draw_rows(frame, area, ui, &rows, selected, &disabled);
    }

    /// The policy row: "Policy: (•) PCR 7 + signed PCR 11   ( ) PCR 7 only".
    fn policy_line(&self, ui: &Ui, pcrs: &[u32]) -> Line<'static> {
        let sym = ui.sym();
        let list = pcr_list(pcrs);
        let radio = |on: bool| if on { sym.radio_on } else { sym.radio_off };
        Line::from(format!(
            "  {} {} {}   {} {}",
            ui.t("encryption-policy"),
            radio(self.signed),
            ui.t_args("encryption-policy-signed", &[("pcrs", list.clone().into())]),
            radio(!self.signed),
            ui.t_args("encryption-policy-pcrs", &[("pcrs", list.into())]),
        ))
    }

    /// The selected option explained, wrapped to `width`: what it means, its risk, and for the
    /// TPM options what will make the TPM refuse.
    /// The image's key is named when there is room for it (`height`).
    fn explanation(&self, ctx: &Ctx, width: u16, height: u16) -> Vec<Line<'static>> {
        let ui = ctx.ui;
        let sym = ui.sym();
        let kind = self.kind();
        if kind == EncryptionKind::None {
            return text::lines(&format!("{} {}", sym.warning, ui.t(kind.explain_id())), width, ui.warning_style());
        }
        let mut lines = text::lines(&ui.t(kind.explain_id()), width, Style::new());
        if !self.available(kind) {
            let advice = self.tpm_problem.as_deref().map(|p| ui.text(p).into_owned()).unwrap_or_else(|| ui.t("encryption-tpm-no-advice"));
            let warning = format!("{} {} {advice}", sym.warning, ui.t("encryption-tpm-unusable"));
            lines.extend(text::lines(&warning, width, ui.warning_style()));
            return lines;
        }
        if !kind.needs_tpm() {
            lines.extend(text::lines(&ui.t("encryption-recovery-also"), width, Style::new()));
            return lines;
        }
        let mut key_lines = Vec::new();
        if self.policy_shown() {
            let id = if self.signed { "encryption-policy-signed-explain" } else { "encryption-policy-pcrs-explain" };
            lines.extend(text::lines(&ui.t_args(id, &[("pcrs", pcr_list(&ctx.facts.pcrs).into())]), width, Style::new()));
            if let (true, Some(key)) = (self.signed, &ctx.facts.signed_policy) {
                key_lines =
                    text::lines(&ui.t_args("encryption-policy-key", &[("key", ui.text(key).into_owned().into())]), width, Style::new());
            }
        }
        let key_at = lines.len();
        lines.extend(text::lines(&ui.t("encryption-recovery-when"), width, Style::new()));
        let prefix = format!("  {} ", sym.bullet);
        for (id, pcr) in pcr_consequence_ids(&ctx.facts.pcrs) {
            lines.extend(text::bullet(&prefix, &ui.t_args(id, &[("pcr", pcr.into())]), width, Style::new()));
        }
        if self.signed_policy() {
            lines.extend(text::bullet(&prefix, &ui.t("pcr-signed-image"), width, Style::new()));
        }
        lines.extend(text::bullet(&prefix, &ui.t("pcr-always"), width, Style::new()));
        // the warning is about the PCRs alone (PCR 7 without Secure Boot): a signed policy
        // binds the system too
        if let (false, Some(w)) = (self.signed_policy(), &self.tpm_warning) {
            lines.extend(text::lines(&format!("{} {}", sym.warning, ui.text(w)), width, ui.warning_style()));
        }
        if lines.len() + key_lines.len() <= usize::from(height) {
            lines.splice(key_at..key_at, key_lines);
        }
        lines
    }

    fn draw_fields(&self, frame: &mut Frame, area: Rect, ui: &Ui, keymap: &str) {
        let Some(fields) = self.fields() else { return };
        let (first, again) = match self.kind() {
            EncryptionKind::TpmPin => (ui.t("encryption-pin"), ui.t("encryption-pin-again")),
            _ => (ui.t("encryption-passphrase-field"), ui.t("encryption-passphrase-again")),
        };
        let width = first.chars().count().max(again.chars().count());
        let [rule, a, b, hint] = Layout::vertical([Constraint::Length(1); 4]).areas(area);
        let min = self.kind().min_secret().unwrap_or(0);
        let rule_text = ui.t_args("encryption-rules", &[("min", min.into()), ("keymap", ui.text(keymap).into_owned().into())]);
        frame.render_widget(Paragraph::new(Line::from(rule_text).style(ui.quiet_style())), rule);
        fields[0].draw(frame, a, ui, &format!("{first:<width$}"), self.focus == Focus::First);
        fields[1].draw(frame, b, ui, &format!("{again:<width$}"), self.focus == Focus::Second);
        if self.confirmed {
            frame.render_widget(Paragraph::new(format!("{} {}", ui.sym().ok, ui.t("encryption-accepted"))).style(ui.ok_style()), hint);
        }
    }
}

/// Check a secret typed twice: long enough, typeable with the keymap, and the same both times.
fn check_secret(first: &str, second: &str, min: usize, keymap: &str) -> Option<Problem> {
    if first.chars().count() < min {
        return Some(Problem::TooShort(min));
    }
    if let Err(c) = typeable(keymap, first) {
        return Some(Problem::NotTypeable(c));
    }
    (first != second).then_some(Problem::Mismatch)
}

fn problem_text(ui: &Ui, problem: Problem, kind: EncryptionKind, keymap: &str) -> String {
    let pin = kind == EncryptionKind::TpmPin;
    match problem {
        Problem::TpmUnusable => ui.t("encryption-choose-other"),
        Problem::TooShort(min) => {
            ui.t_args(if pin { "encryption-pin-too-short" } else { "encryption-passphrase-too-short" }, &[("min", min.into())])
        }
        Problem::NotTypeable(c) => {
            let shown = if c.is_control() { format!("U+{:04X}", u32::from(c)) } else { c.to_string() };
            ui.t_args(
                "encryption-not-typeable",
                &[("char", ui.text(&shown).into_owned().into()), ("keymap", ui.text(keymap).into_owned().into())],
            )
        }
        Problem::Mismatch => ui.t(if pin { "encryption-pin-mismatch" } else { "encryption-passphrase-mismatch" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_checked_for_length_keymap_and_match() {
        assert_eq!(check_secret("123", "123", MIN_PIN, "us"), Some(Problem::TooShort(4)));
        assert_eq!(check_secret("1234", "1235", MIN_PIN, "us"), Some(Problem::Mismatch));
        assert_eq!(check_secret("grüne wiese", "grüne wiese", MIN_PASSPHRASE, "us"), Some(Problem::NotTypeable('ü')));
        assert_eq!(check_secret("grüne wiese", "grüne wiese", MIN_PASSPHRASE, "de-latin1"), None);
        assert_eq!(check_secret("1234", "1234", MIN_PIN, "us"), None);
    }

    #[test]
    fn pcr_consequences_are_deduplicated_and_ordered() {
        assert_eq!(pcr_consequence_ids(&[7]), vec![("pcr-secure-boot", 7)]);
        assert_eq!(pcr_consequence_ids(&[12, 7, 8, 23]), vec![("pcr-secure-boot", 7), ("pcr-command-line", 8), ("pcr-other", 23)]);
    }

    #[test]
    fn every_pcr_reason_id_is_distinct_from_the_fallback() {
        assert!(PCR_REASONS.iter().all(|(_, id)| *id != "pcr-other"));
    }

    pub(crate) fn all_ids() -> Vec<&'static str> {
        let mut ids: Vec<&'static str> = PCR_REASONS.iter().map(|(_, id)| *id).collect();
        ids.push("pcr-other");
        for kind in EncryptionKind::ALL {
            ids.push(kind.label_id());
            ids.push(kind.explain_id());
        }
        ids
    }

    #[test]
    fn every_id_exists() {
        for lang in crate::i18n::Lang::ALL {
            for id in all_ids() {
                assert!(lang.tr().has(id), "{lang:?} lacks {id}");
            }
        }
    }
}
