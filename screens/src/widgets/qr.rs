//! Drawing a QR code the app computed (this crate only draws modules, it does not encode).
//!
//! Consoles are dark, so the code is drawn "light on dark": light modules and the quiet zone are
//! drawn with ink (full and half blocks in Unicode, `##` in ASCII) and dark modules are left
//! blank, with white on black set explicitly so terminals with a light theme show it the same way.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

/// A QR code's modules, row by row; `true` is a dark module.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QrView {
    /// Rows of modules, all the same length (a square).
    pub modules: Vec<Vec<bool>>,
}

/// The code of a recovery key is the key: wiped when dropped.
impl Drop for QrView {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.modules.iter_mut().for_each(|r| r.zeroize());
    }
}

/// Light modules drawn around the code on the recovery page (the standard asks for 4; 2 scan
/// well on a screen and save room on 24 lines).
pub const QUIET_ZONE: usize = 2;

/// The quiet zone of the full-screen code when it fits: what the standard asks for.
pub const QUIET_ZONE_FULL: usize = 4;

/// How modules become terminal cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrStyle {
    /// `█▀▄` and space, two module rows per cell row: 1×½ cell per module, the size
    /// systemd-cryptenroll prints. Block characters are in every Linux console font (CP437's
    /// 0xDB, 0xDF, 0xDC), so this also suits TERM=linux.
    HalfBlocks,
    /// `##` or two spaces per module, one module row per line: pure ASCII, 2×1 cells per module,
    /// for terminals without block characters when it fits.
    Hashes,
}

impl QrStyle {
    /// The page's style in this theme.
    pub fn of(ascii: bool) -> QrStyle {
        if ascii { QrStyle::Hashes } else { QrStyle::HalfBlocks }
    }
}

impl QrView {
    /// Modules per side, without the quiet zone.
    pub fn side(&self) -> usize {
        self.modules.len()
    }

    fn dark(&self, row: isize, col: isize) -> bool {
        if row < 0 || col < 0 {
            return false;
        }
        self.modules.get(row as usize).and_then(|r| r.get(col as usize)).copied().unwrap_or(false)
    }

    /// Width and height in terminal cells when drawn in this style.
    pub fn cells(&self, ascii: bool) -> (usize, usize) {
        self.cells_with(QrStyle::of(ascii), QUIET_ZONE)
    }

    /// Width and height in terminal cells in `style` with a quiet zone of `quiet` modules.
    pub fn cells_with(&self, style: QrStyle, quiet: usize) -> (usize, usize) {
        let side = self.side() + 2 * quiet;
        match style {
            QrStyle::Hashes => (2 * side, side),
            QrStyle::HalfBlocks => (side, side.div_ceil(2)),
        }
    }

    /// The code as lines of text: in Unicode two module rows per line with `█▀▄ `, in ASCII one
    /// module row per line with `##` or two spaces per module.
    pub fn lines(&self, ascii: bool) -> Vec<String> {
        self.lines_with(QrStyle::of(ascii), QUIET_ZONE)
    }

    /// The code as lines of text in `style` with a quiet zone of `quiet` modules. Light modules
    /// and the quiet zone are ink; below the last module row of an odd side, half blocks leave
    /// the lower half blank.
    pub fn lines_with(&self, style: QrStyle, quiet: usize) -> Vec<String> {
        let side = (self.side() + 2 * quiet) as isize;
        let q = quiet as isize;
        let light = |r: isize, c: isize| !self.dark(r - q, c - q);
        if style == QrStyle::Hashes {
            return (0..side).map(|r| (0..side).map(|c| if light(r, c) { "##" } else { "  " }).collect()).collect();
        }
        (0..side)
            .step_by(2)
            .map(|r| {
                (0..side)
                    .map(|c| {
                        let top = light(r, c);
                        let bottom = r + 1 < side && light(r + 1, c);
                        match (top, bottom) {
                            (true, true) => '█',
                            (true, false) => '▀',
                            (false, true) => '▄',
                            (false, false) => ' ',
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// Whether the code fits in `area` in this style.
    pub fn fits(&self, area: Rect, ascii: bool) -> bool {
        self.fits_with(area, QrStyle::of(ascii), QUIET_ZONE)
    }

    /// Whether the code fits in `area` in `style` with a quiet zone of `quiet` modules.
    pub fn fits_with(&self, area: Rect, style: QrStyle, quiet: usize) -> bool {
        let (w, h) = self.cells_with(style, quiet);
        !self.modules.is_empty() && w <= usize::from(area.width) && h <= usize::from(area.height)
    }

    /// Draw the code centered at the top of `area`; returns false (drawing nothing) when it does
    /// not fit, so the page can say so.
    pub fn draw(&self, frame: &mut Frame, area: Rect, ascii: bool) -> bool {
        self.draw_with(frame, area, QrStyle::of(ascii), QUIET_ZONE)
    }

    /// [`QrView::draw`] in `style` with a quiet zone of `quiet` modules.
    pub fn draw_with(&self, frame: &mut Frame, area: Rect, style: QrStyle, quiet: usize) -> bool {
        if !self.fits_with(area, style, quiet) {
            return false;
        }
        let (w, h) = self.cells_with(style, quiet);
        let x = area.x + (area.width - w as u16) / 2;
        let target = Rect { x, y: area.y, width: w as u16, height: h as u16 };
        let lines: Vec<Line> = self.lines_with(style, quiet).into_iter().map(Line::from).collect();
        frame.render_widget(Paragraph::new(lines).style(Style::new().fg(Color::White).bg(Color::Black)), target);
        true
    }

    /// The best full-screen form for `area`: ASCII terminals get `##` when it fits with a quiet
    /// zone of 2 (a 120×40 terminal, a large framebuffer console), else half blocks, which a
    /// Linux console draws and which alone fit 24 lines; the quiet zone is 4 modules when that
    /// fits, else 2, else 1. None when the code does not fit at all.
    pub fn full_screen_form(&self, area: Rect, ascii: bool) -> Option<(QrStyle, usize)> {
        let mut forms = Vec::new();
        if ascii {
            forms.extend([(QrStyle::Hashes, QUIET_ZONE_FULL), (QrStyle::Hashes, QUIET_ZONE)]);
        }
        forms.extend([(QrStyle::HalfBlocks, QUIET_ZONE_FULL), (QrStyle::HalfBlocks, QUIET_ZONE), (QrStyle::HalfBlocks, 1)]);
        forms.into_iter().find(|&(style, quiet)| self.fits_with(area, style, quiet))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> QrView {
        QrView { modules: vec![vec![true, false], vec![false, true]] }
    }

    #[test]
    fn unicode_uses_half_blocks_with_a_quiet_zone() {
        let lines = tiny().lines(false);
        assert_eq!(tiny().cells(false), (6, 3));
        assert_eq!(lines, vec!["██████", "██▄▀██", "██████"]);
    }

    #[test]
    fn ascii_uses_two_hashes_per_module() {
        let lines = tiny().lines(true);
        assert_eq!(tiny().cells(true), (12, 6));
        assert_eq!(lines[2], "####  ######");
        assert_eq!(lines[3], "######  ####");
        assert!(lines.iter().all(|l| l.is_ascii()));
    }

    fn side_33() -> QrView {
        QrView { modules: vec![vec![false; 33]; 33] }
    }

    #[test]
    fn the_full_screen_form_is_the_largest_that_fits() {
        let qr = side_33();
        // 80×24 less a title and a hint line: half blocks with the standard quiet zone, also in ASCII
        assert_eq!(qr.full_screen_form(Rect::new(0, 0, 80, 22), false), Some((QrStyle::HalfBlocks, 4)));
        assert_eq!(qr.full_screen_form(Rect::new(0, 0, 80, 22), true), Some((QrStyle::HalfBlocks, 4)));
        assert_eq!(qr.cells_with(QrStyle::HalfBlocks, 4), (41, 21));
        // 120×40: ASCII terminals get ## (74×37 with a quiet zone of 2)
        assert_eq!(qr.full_screen_form(Rect::new(0, 0, 120, 38), true), Some((QrStyle::Hashes, 2)));
        assert_eq!(qr.full_screen_form(Rect::new(0, 0, 120, 38), false), Some((QrStyle::HalfBlocks, 4)));
        // smaller quiet zones before giving up
        assert_eq!(qr.full_screen_form(Rect::new(0, 0, 37, 19), false), Some((QrStyle::HalfBlocks, 2)));
        assert_eq!(qr.full_screen_form(Rect::new(0, 0, 30, 10), false), None);
    }

    #[test]
    fn an_empty_code_never_fits() {
        assert!(!QrView::default().fits(Rect::new(0, 0, 100, 100), false));
    }
}
