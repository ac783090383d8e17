//! systemd's INI dialect, as `src/shared/conf-parser.c` reads it.
//!
//! Lines are `[Section]` headers, `Key=Value` assignments, comments (`#` or `;` at the start of
//! a line) and blank lines. A line ending in a backslash continues on the next one (the backslash
//! and newline become one space, as systemd does). Keys may repeat; what a repeat means (append,
//! override, or "an empty value resets the list") is for the reader of each key to decide, so this
//! module keeps every assignment in order with its file and line. Drop-ins (`NAME.d/*.conf`) are
//! read after the main file in the order of their file names.
//!
//! This module only parses text; it knows no section or key names.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An error in a configuration file, always naming the file and, where there is one, the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl ConfigError {
    pub fn new(file: &Path, line: Option<usize>, message: impl Into<String>) -> Self {
        ConfigError { file: file.to_path_buf(), line, message: message.into() }
    }
}

/// One `Key=Value` assignment, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    pub file: Arc<PathBuf>,
    pub line: usize,
}

impl Entry {
    /// An error about this assignment, naming its file and line.
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError { file: self.file.as_ref().clone(), line: Some(self.line), message: message.into() }
    }
}

/// One `[Section]` with its assignments in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub file: Arc<PathBuf>,
    pub line: usize,
    pub entries: Vec<Entry>,
}

impl Section {
    pub fn error(&self, message: impl Into<String>) -> ConfigError {
        ConfigError { file: self.file.as_ref().clone(), line: Some(self.line), message: message.into() }
    }
}

/// A parsed file (and its drop-ins): sections in the order they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IniDoc {
    pub sections: Vec<Section>,
}

impl IniDoc {
    /// Every assignment of every section named `name`, in reading order.
    pub fn entries<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.sections.iter().filter(move |s| s.name == name).flat_map(|s| s.entries.iter())
    }
}

/// Longest line systemd accepts (LONG_LINE_MAX).
const LONG_LINE_MAX: usize = 1024 * 1024;

/// Parses `text` as the contents of `file`.
pub fn parse_str(file: &Path, text: &str) -> Result<IniDoc, ConfigError> {
    let mut doc = IniDoc::default();
    append(&mut doc, file, text)?;
    Ok(doc)
}

fn append(doc: &mut IniDoc, file: &Path, text: &str) -> Result<(), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let file = Arc::new(file.to_path_buf());
    let err = |line: usize, msg: String| ConfigError { file: file.as_ref().clone(), line: Some(line), message: msg };
    let mut current: Option<Section> = None;
    let mut pending: Option<(usize, String)> = None; // continuation: first line number, text so far
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len();
    for (idx, raw) in lines.into_iter().enumerate() {
        let lineno = idx + 1;
        if idx + 1 == n && raw.is_empty() {
            break;
        }
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.contains('\0') {
            return Err(err(lineno, "line contains a NUL byte".into()));
        }
        let (start, mut logical) = match pending.take() {
            Some((start, mut acc)) => {
                // systemd: comment lines inside a continuation are skipped
                let t = raw.trim_start();
                if t.starts_with('#') || t.starts_with(';') {
                    pending = Some((start, acc));
                    continue;
                }
                acc.push(' ');
                acc.push_str(raw);
                (start, acc)
            }
            None => {
                let t = raw.trim_start();
                if t.starts_with('#') || t.starts_with(';') {
                    continue; // systemd skips comments before looking for a continuation
                }
                (lineno, raw.to_string())
            }
        };
        if logical.len() > LONG_LINE_MAX {
            return Err(err(start, format!("line is longer than {LONG_LINE_MAX} bytes")));
        }
        if ends_in_unescaped_backslash(&logical) {
            logical.pop();
            pending = Some((start, logical));
            continue;
        }
        finish_line(doc, &mut current, &file, start, &logical)?;
    }
    if let Some((start, logical)) = pending {
        // systemd parses what it has when a file ends inside a continuation
        finish_line(doc, &mut current, &file, start, &logical)?;
    }
    if let Some(s) = current.take() {
        doc.sections.push(s);
    }
    Ok(())
}

/// Whether a line ends in a backslash that is not itself escaped (systemd scans escapes from
/// the start of the line).
fn ends_in_unescaped_backslash(line: &str) -> bool {
    let mut escaped = false;
    for c in line.chars() {
        escaped = !escaped && c == '\\';
    }
    escaped
}

/// Handles one logical line (continuations joined).
fn finish_line(
    doc: &mut IniDoc,
    current: &mut Option<Section>,
    file: &Arc<PathBuf>,
    start: usize,
    logical: &str,
) -> Result<(), ConfigError> {
    let err = |msg: String| ConfigError { file: file.as_ref().clone(), line: Some(start), message: msg };
    let line = logical.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
        return Ok(());
    }
    if let Some(rest) = line.strip_prefix('[') {
        let Some(name) = rest.strip_suffix(']') else {
            return Err(err(format!("invalid section header '{line}': expected '[Name]'")));
        };
        if name.is_empty() || name.contains(['[', ']']) {
            return Err(err(format!("invalid section header '{line}'")));
        }
        if let Some(s) = current.take() {
            doc.sections.push(s);
        }
        *current = Some(Section { name: name.to_string(), file: file.clone(), line: start, entries: Vec::new() });
        return Ok(());
    }
    let Some((key, value)) = line.split_once('=') else {
        return Err(err(format!("missing '=' in '{line}': expected Key=Value")));
    };
    let key = key.trim();
    if key.is_empty() {
        return Err(err(format!("missing key name before '=' in '{line}'")));
    }
    let Some(section) = current.as_mut() else {
        return Err(err(format!("assignment '{key}=' outside of any section")));
    };
    section.entries.push(Entry { key: key.to_string(), value: value.trim().to_string(), file: file.clone(), line: start });
    Ok(())
}

/// Reads `main` and then its drop-ins `main.d/*.conf` (for `profile.conf`: `profile.conf.d/`),
/// sorted by file name, as systemd reads drop-ins. A missing `main` is an error; a missing
/// drop-in folder is not.
pub fn load_with_dropins(main: &Path) -> Result<IniDoc, ConfigError> {
    let text = read_text(main)?;
    let mut doc = parse_str(main, &text)?;
    let mut dropin_dir = main.as_os_str().to_owned();
    dropin_dir.push(".d");
    for path in conf_files_in(Path::new(&dropin_dir))? {
        let text = read_text(&path)?;
        append(&mut doc, &path, &text)?;
    }
    Ok(doc)
}

/// The `*.conf` files directly in `dir`, sorted by file name; none when `dir` does not exist.
pub fn conf_files_in(dir: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ConfigError::new(dir, None, format!("cannot read directory: {e}"))),
    };
    let mut files = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| ConfigError::new(dir, None, format!("cannot read directory: {e}")))?;
        let path = ent.path();
        let hidden = ent.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.extension().is_some_and(|e| e == "conf") && !path.is_dir() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::new(path, None, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count();
        ConfigError::new(path, Some(line), "not valid UTF-8")
    })
}

/// systemd's boolean words.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// A size as systemd's `parse_size(…, 1024)` reads it: bytes, optionally with a B, K, M, G, T,
/// P or E suffix in base 1024, and decimal fractions ("1.5G").
pub fn parse_size(value: &str) -> Option<u64> {
    let v = value.trim();
    if v.is_empty() || v.starts_with('-') {
        return None;
    }
    let split = v.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(v.len());
    let (num, suffix) = v.split_at(split);
    let mult: u64 = match suffix.trim() {
        "" | "B" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        "P" => 1 << 50,
        "E" => 1 << 60,
        _ => return None,
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty() || frac.contains('.') {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let mut total = int.checked_mul(mult)?;
    if !frac.is_empty() {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // systemd truncates the fractional part to the unit
        let mut scale = 1u128;
        let mut f = 0u128;
        for b in frac.bytes().take(18) {
            f = f * 10 + u128::from(b - b'0');
            scale *= 10;
        }
        let add = (f * u128::from(mult)) / scale;
        total = total.checked_add(u64::try_from(add).ok()?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<IniDoc, ConfigError> {
        parse_str(Path::new("t.conf"), text)
    }

    #[test]
    fn sections_keys_comments_and_continuations() {
        let doc = p("# c\n; c\n[A]\nX = 1\nY=a \\\n  b\n\n[B]\nX=\nX=2\n").unwrap();
        assert_eq!(doc.sections.len(), 2);
        assert_eq!(doc.sections[0].entries[1].value, "a    b");
        assert_eq!(doc.sections[0].entries[1].line, 5);
        let b: Vec<_> = doc.entries("B").map(|e| e.value.as_str()).collect();
        assert_eq!(b, ["", "2"]);
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(p("[A]\nnonsense\n").unwrap_err().to_string(), "t.conf:2: missing '=' in 'nonsense': expected Key=Value");
        assert_eq!(p("X=1\n").unwrap_err().line, Some(1));
        assert_eq!(p("[A\n").unwrap_err().line, Some(1));
        assert_eq!(p("[A]\nX=1\\").unwrap().sections[0].entries[0].value, "1", "a file may end inside a continuation");
    }

    #[test]
    fn sizes_as_systemd_reads_them() {
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("10M"), Some(10 << 20));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("1X"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn a_comment_ending_in_backslash_does_not_continue() {
        let doc = p("[A]\n# see C:\\\nX=1\n").unwrap();
        assert_eq!(doc.entries("A").count(), 1);
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        assert_eq!(p("\u{feff}[A]\nX=1\n").unwrap().sections[0].name, "A");
    }

    #[test]
    fn hidden_dropins_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".#10-a.conf"), "").unwrap();
        std::fs::write(dir.path().join("20-b.conf"), "").unwrap();
        assert_eq!(conf_files_in(dir.path()).unwrap(), [dir.path().join("20-b.conf")]);
    }

    #[test]
    fn continuation_details() {
        // the backslash and the line break become one space; following lines keep their indentation
        let doc = p("[A]\nX=a\\\nb\\\n  c\nY=\\\n\nZ=1\n").unwrap();
        let got: Vec<_> = doc.sections[0].entries.iter().map(|e| (e.key.as_str(), e.value.as_str(), e.line)).collect();
        assert_eq!(got, [("X", "a b   c", 2), ("Y", "", 5), ("Z", "1", 7)]);
        // comment lines inside a continuation are skipped, as systemd does
        let doc = p("[A]\nX=a \\\n# not here\n  ; nor here\nb\nY=2\n").unwrap();
        let got: Vec<_> = doc.sections[0].entries.iter().map(|e| (e.value.as_str(), e.line)).collect();
        assert_eq!(got, [("a  b", 2), ("2", 6)]);
        // an escaped backslash does not continue
        let doc = p("[A]\nX=a\\\\\nY=b\n").unwrap();
        assert_eq!(doc.sections[0].entries[0].value, "a\\\\");
        assert_eq!(doc.sections[0].entries[1].line, 3);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A line that is not an assignment: blank, white space, or a comment (`#`/`;`, maybe
        /// indented). Comments never end in a backslash (see a_comment_ending_in_backslash_…).
        fn filler() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                "[ \t]{1,4}",
                ("[ \t]{0,2}", prop_oneof![Just('#'), Just(';')], "[ -~]{0,20}")
                    .prop_map(|(ws, c, text)| format!("{ws}{c}{}", text.trim_end_matches('\\'))),
            ]
        }

        /// Printable text that does not end in a backslash (which would continue the line).
        fn text(max: usize) -> impl Strategy<Value = String> {
            proptest::string::string_regex(&format!("[ -~é√\t]{{0,{max}}}")).unwrap().prop_map(|s| s.trim_end_matches('\\').to_string())
        }

        #[derive(Debug, Clone)]
        struct GenEntry {
            key: String,
            value: String,
            before: Vec<String>,
            indent: String,
            around_eq: (String, String),
        }

        #[derive(Debug, Clone)]
        struct GenSection {
            name: String,
            before: Vec<String>,
            entries: Vec<GenEntry>,
        }

        fn entry() -> impl Strategy<Value = GenEntry> {
            ("[A-Za-z][A-Za-z0-9_.-]{0,12}", text(30), prop::collection::vec(filler(), 0..3), "[ \t]{0,2}", ("[ \t]{0,2}", "[ \t]{0,2}"))
                .prop_map(|(key, value, before, indent, around_eq)| GenEntry { key, value, before, indent, around_eq })
        }

        fn document() -> impl Strategy<Value = Vec<GenSection>> {
            let section = ("[A-Za-z][A-Za-z0-9 _.:-]{0,12}", prop::collection::vec(filler(), 0..3), prop::collection::vec(entry(), 0..6))
                .prop_map(|(name, before, entries)| GenSection { name: name.trim_end().to_string(), before, entries });
            prop::collection::vec(section, 0..6)
        }

        /// The text, and what parsing it must give: (section, line, [(key, value, line)]).
        type Expected = Vec<(String, usize, Vec<(String, String, usize)>)>;

        fn render(doc: &[GenSection], crlf: bool) -> (String, Expected) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut out = String::new();
            let mut line = 0;
            let mut push = |out: &mut String, text: &str| {
                out.push_str(text);
                out.push_str(eol);
                line += 1;
                line
            };
            let mut expected = Vec::new();
            for s in doc {
                for f in &s.before {
                    push(&mut out, f);
                }
                let at = push(&mut out, &format!("[{}]", s.name));
                let mut entries = Vec::new();
                for e in &s.entries {
                    for f in &e.before {
                        push(&mut out, f);
                    }
                    let (a, b) = &e.around_eq;
                    let at = push(&mut out, &format!("{}{}{a}={b}{}", e.indent, e.key, e.value));
                    entries.push((e.key.clone(), e.value.trim().to_string(), at));
                }
                expected.push((s.name.clone(), at, entries));
            }
            (out, expected)
        }

        fn parsed(doc: &IniDoc) -> Expected {
            doc.sections
                .iter()
                .map(|s| (s.name.clone(), s.line, s.entries.iter().map(|e| (e.key.clone(), e.value.clone(), e.line)).collect()))
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn arbitrary_text_never_panics(text in any::<String>()) {
                let _ = p(&text);
            }

            #[test]
            fn ini_like_text_never_panics_and_errors_name_a_line(text in "[\\[\\]=#; \t\r\n\\\\a-zA-Z0-9é\u{0}]{0,200}") {
                let lines = text.split('\n').count();
                match p(&text) {
                    Ok(doc) => {
                        for s in &doc.sections {
                            prop_assert!(!s.name.is_empty() && s.line >= 1 && s.line <= lines);
                            for e in &s.entries {
                                prop_assert!(!e.key.is_empty() && e.key == e.key.trim());
                                prop_assert!(e.value == e.value.trim());
                                prop_assert!(e.line >= s.line && e.line <= lines);
                            }
                        }
                    }
                    Err(err) => {
                        let line = err.line.expect("parse errors name a line");
                        prop_assert!(line >= 1 && line <= lines, "{line} of {lines}: {err}");
                        let shown = err.to_string();
                        prop_assert!(shown.starts_with(&format!("t.conf:{line}: ")), "{}", shown);
                    }
                }
            }

            #[test]
            fn rendered_documents_parse_back(doc in document(), crlf in any::<bool>()) {
                let (text, expected) = render(&doc, crlf);
                let got = p(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                prop_assert_eq!(parsed(&got), expected, "{}", text);
            }

            #[test]
            fn continuation_lines_join_with_one_space(
                first in text(12),
                rest in prop::collection::vec((text(12), prop::option::of(filler())), 1..5),
                crlf in any::<bool>(),
            ) {
                // the later pieces must not look like comments, which a continuation skips
                let rest: Vec<(String, Option<String>)> = rest
                    .into_iter()
                    .map(|(piece, comment)| {
                        let piece = if piece.trim_start().starts_with(['#', ';']) { format!("x{piece}") } else { piece };
                        (piece, comment.filter(|c| c.trim_start().starts_with(['#', ';'])))
                    })
                    .collect();
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut text = format!("[S]{eol}K={first}\\{eol}");
                let mut lines = 2;
                let mut pieces = vec![first.clone()];
                for (i, (piece, comment)) in rest.iter().enumerate() {
                    if let Some(c) = comment {
                        text.push_str(&format!("{c}{eol}"));
                        lines += 1;
                    }
                    let cont = if i + 1 < rest.len() { "\\" } else { "" };
                    text.push_str(&format!("{piece}{cont}{eol}"));
                    lines += 1;
                    pieces.push(piece.clone());
                }
                text.push_str(&format!("Next=1{eol}"));
                let doc = p(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
                let entries = &doc.sections[0].entries;
                prop_assert_eq!(entries.len(), 2, "{}", text);
                let joined = pieces.join(" ");
                prop_assert_eq!(entries[0].value.as_str(), joined.trim(), "{}", text);
                prop_assert_eq!(entries[0].line, 2);
                prop_assert_eq!(entries[1].line, lines + 1);
            }
        }
    }
}
