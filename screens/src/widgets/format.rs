//! Numbers in words a person reads: sizes, rates, durations.

use crate::i18n::Lang;

/// A size in decimal units as disk vendors print them ("500.1 GB", German "500,1 GB"); the unit
/// is always named, so nobody mistakes it for GiB.
pub fn size(bytes: u64, lang: Lang) -> String {
    const UNITS: [&str; 6] = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} {}", UNITS[0]);
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    let text = if value >= 100.0 { format!("{value:.0}") } else { format!("{value:.1}") };
    format!("{} {}", text.replace('.', &lang.decimal_separator().to_string()), UNITS[unit])
}

/// A transfer rate ("95.2 MB/s").
pub fn rate(bytes_per_sec: u64, lang: Lang) -> String {
    format!("{}/s", size(bytes_per_sec, lang))
}

/// A duration as `m:ss` or `h:mm:ss`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

/// `text` cut to `width` characters, ending in `...` (or `…`) when cut.
pub fn truncate(text: &str, width: usize, ascii: bool) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let ellipsis = if ascii { "..." } else { "…" };
    let keep = width.saturating_sub(ellipsis.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(if width >= ellipsis.chars().count() { ellipsis } else { "" });
    out
}

/// `text` wrapped at word boundaries into lines of at most `width` characters (longer words are
/// split). Explicit line breaks are kept.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let mut word: Vec<char> = word.chars().collect();
            let line_len = line.chars().count();
            if line_len > 0 && line_len + 1 + word.len() <= width {
                line.push(' ');
                line.extend(word.iter());
                continue;
            }
            if line_len > 0 {
                lines.push(std::mem::take(&mut line));
            }
            while word.len() > width {
                lines.push(word.drain(..width).collect());
            }
            line.extend(word.iter());
        }
        lines.push(line);
    }
    lines
}

/// `text` wrapped to `width` with `prefix` before the first line and as many spaces before the
/// others (a hanging indent, for bullets).
pub fn hanging(prefix: &str, text: &str, width: usize) -> Vec<String> {
    let indent = prefix.chars().count();
    wrap(text, width.saturating_sub(indent))
        .into_iter()
        .enumerate()
        .map(|(i, line)| if i == 0 { format!("{prefix}{line}") } else { format!("{}{line}", " ".repeat(indent)) })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well_in_both_languages() {
        assert_eq!(size(512, Lang::En), "512 bytes");
        assert_eq!(size(500_107_862_016, Lang::En), "500 GB");
        assert_eq!(size(64_023_257_088, Lang::En), "64.0 GB");
        assert_eq!(size(64_023_257_088, Lang::De), "64,0 GB");
        assert_eq!(size(2_500_000, Lang::En), "2.5 MB");
        assert_eq!(size(4_000_000_000_000, Lang::En), "4.0 TB");
        assert_eq!(rate(95_200_000, Lang::En), "95.2 MB/s");
    }

    #[test]
    fn durations_and_truncation() {
        assert_eq!(duration(75), "1:15");
        assert_eq!(duration(3725), "1:02:05");
        assert_eq!(truncate("abcdef", 4, true), "a...");
        assert_eq!(truncate("abcdef", 4, false), "abc…");
        assert_eq!(truncate("abc", 4, true), "abc");
    }

    #[test]
    fn wrapping_breaks_at_words_and_indents_bullets() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(hanging("  * ", "one two three", 11), vec!["  * one two", "    three"]);
    }
}
