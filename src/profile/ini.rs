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
            None => (lineno, raw.to_string()),
        };
        if logical.len() > LONG_LINE_MAX {
            return Err(err(start, format!("line is longer than {LONG_LINE_MAX} bytes")));
        }
        if logical.ends_with('\\') && !logical.ends_with("\\\\") {
            logical.pop();
            pending = Some((start, logical));
            continue;
        }
        let line = logical.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(err(start, format!("invalid section header '{line}': expected '[Name]'")));
            };
            if name.is_empty() || name.contains(['[', ']']) {
                return Err(err(start, format!("invalid section header '{line}'")));
            }
            if let Some(s) = current.take() {
                doc.sections.push(s);
            }
            current = Some(Section { name: name.to_string(), file: file.clone(), line: start, entries: Vec::new() });
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(err(start, format!("missing '=' in '{line}': expected Key=Value")));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(err(start, format!("missing key name before '=' in '{line}'")));
        }
        let Some(section) = current.as_mut() else {
            return Err(err(start, format!("assignment '{key}=' outside of any section")));
        };
        section.entries.push(Entry { key: key.to_string(), value: value.trim().to_string(), file: file.clone(), line: start });
    }
    if let Some((start, _)) = pending {
        return Err(err(start, "file ends inside a line continuation (trailing backslash)".into()));
    }
    if let Some(s) = current.take() {
        doc.sections.push(s);
    }
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
        if path.extension().is_some_and(|e| e == "conf") && !path.is_dir() {
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
        assert_eq!(p("[A]\nX=1\\").unwrap_err().line, Some(2));
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
}
