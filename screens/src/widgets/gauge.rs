//! A progress bar made of characters (`#` and `-` in ASCII, `█` and `░` in Unicode) with the
//! percentage written next to it, so it reads without color.

use crate::theme::Ui;

/// A bar `width` characters wide (including the brackets and percentage) for `done` of `total`.
pub fn bar(ui: &Ui, done: u64, total: u64, width: usize) -> String {
    let ratio = if total == 0 { 0.0 } else { (done.min(total) as f64) / (total as f64) };
    let percent = format!(" {:>3}%", (ratio * 100.0).floor() as u64);
    let cells = width.saturating_sub(2 + percent.len());
    let full = ((cells as f64) * ratio).round() as usize;
    let sym = ui.sym();
    format!("[{}{}]{percent}", sym.gauge_full.repeat(full), sym.gauge_empty.repeat(cells - full.min(cells)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn the_bar_fills_with_the_ratio() {
        let ui = Ui { lang: Lang::En, ascii: true, demo: false };
        assert_eq!(bar(&ui, 50, 100, 17), "[#####-----]  50%");
        assert_eq!(bar(&ui, 0, 0, 17), "[----------]   0%");
        assert_eq!(bar(&ui, 200, 100, 17), "[##########] 100%");
    }
}
