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

/// Light modules drawn around the code (the standard asks for 4; 2 scan well on a screen and save
/// room on 24 lines).
pub const QUIET_ZONE: usize = 2;

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
        let side = self.side() + 2 * QUIET_ZONE;
        if ascii { (2 * side, side) } else { (side, side.div_ceil(2)) }
    }

    /// The code as lines of text: in Unicode two module rows per line with `█▀▄ `, in ASCII one
    /// module row per line with `##` or two spaces per module.
    pub fn lines(&self, ascii: bool) -> Vec<String> {
        let side = (self.side() + 2 * QUIET_ZONE) as isize;
        let q = QUIET_ZONE as isize;
        let light = |r: isize, c: isize| !self.dark(r - q, c - q);
        if ascii {
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
        let (w, h) = self.cells(ascii);
        !self.modules.is_empty() && w <= usize::from(area.width) && h <= usize::from(area.height)
    }

    /// Draw the code centered at the top of `area`; returns false (drawing nothing) when it does
    /// not fit, so the page can say so.
    pub fn draw(&self, frame: &mut Frame, area: Rect, ascii: bool) -> bool {
        if !self.fits(area, ascii) {
            return false;
        }
        let (w, h) = self.cells(ascii);
        let x = area.x + (area.width - w as u16) / 2;
        let target = Rect { x, y: area.y, width: w as u16, height: h as u16 };
        let style = Style::new().fg(Color::White).bg(Color::Black);
        let lines: Vec<Line> = self.lines(ascii).into_iter().map(Line::from).collect();
        frame.render_widget(Paragraph::new(lines).style(style), target);
        true
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

    #[test]
    fn an_empty_code_never_fits() {
        assert!(!QrView::default().fits(Rect::new(0, 0, 100, 100), false));
    }
}
