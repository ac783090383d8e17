//! os-release(5), read as systemd reads it: `<root>/etc/os-release`, else (only when that one
//! does not exist) `<root>/usr/lib/os-release`, parsed as systemd's `parse_env_file()` parses
//! environment files: `KEY=value` lines, `#` and `;` comment lines, single quotes taken
//! literally, double quotes with `\"`, `\\`, `` \` `` and `\$` escapes, a backslash outside quotes
//! escaping the next character, a backslash at the end of a line continuing the value,
//! whitespace around unquoted values dropped. A key assigned twice has its last value.
//!
//! This is the one os-release reader of the crate: the factory-reset request, the reset page,
//! sysupdate's `%A`/`%M`/... specifiers and the installer's name of the OS all use it.

use std::io;
use std::path::{Path, PathBuf};

/// Where os-release lives under a root, in the order systemd looks.
pub const PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

/// The fields of one os-release file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    fields: Vec<(String, String)>,
}

/// An os-release file that exists but cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("reading {}: {source}", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl OsRelease {
    /// The os-release of `root`; empty when neither file exists.
    pub fn read(root: &Path) -> Result<OsRelease, ReadError> {
        for rel in PATHS {
            let path = root.join(rel);
            match std::fs::read(&path) {
                Ok(bytes) => return Ok(OsRelease::parse(&String::from_utf8_lossy(&bytes))),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(ReadError { path, source }),
            }
        }
        Ok(OsRelease::default())
    }

    /// Parses the text of an os-release (or any environment) file.
    pub fn parse(text: &str) -> OsRelease {
        OsRelease { fields: parse_env(text) }
    }

    /// The value last assigned to `key`, as written (possibly empty).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of `key` when it is set and not empty (how systemd's tools treat a field).
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// The name of the OS for people: PRETTY_NAME, else NAME.
    pub fn pretty_name(&self) -> Option<&str> {
        self.value("PRETTY_NAME").or_else(|| self.value("NAME"))
    }

    /// Every assignment, in file order.
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    Single,
    Double,
    DoubleEscape,
    Comment,
}

/// systemd's `parse_env_file_internal()` state machine.
fn parse_env(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut state = State::PreKey;
    let mut key = String::new();
    let mut value = String::new();
    // length of `value` up to its last character that is not unquoted whitespace
    let mut keep = 0;
    let mut push = |key: &mut String, value: &mut String, keep: &mut usize| {
        value.truncate(*keep);
        let k = key.trim_end();
        if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !k.starts_with(|c: char| c.is_ascii_digit()) {
            out.push((k.to_string(), std::mem::take(value)));
        }
        key.clear();
        value.clear();
        *keep = 0;
    };
    for c in text.chars() {
        match state {
            State::PreKey => match c {
                '#' | ';' => state = State::Comment,
                c if c.is_whitespace() => {}
                c => {
                    key.push(c);
                    state = State::Key;
                }
            },
            State::Key => match c {
                '\n' | '\r' => {
                    key.clear();
                    state = State::PreKey;
                }
                '=' => state = State::PreValue,
                c => key.push(c),
            },
            State::PreValue | State::Value => match c {
                '\n' | '\r' => {
                    push(&mut key, &mut value, &mut keep);
                    state = State::PreKey;
                }
                '\'' => state = State::Single,
                '"' => state = State::Double,
                '\\' => state = State::ValueEscape,
                c if c.is_whitespace() => {
                    if state == State::Value {
                        value.push(c);
                    }
                }
                c => {
                    value.push(c);
                    keep = value.len();
                    state = State::Value;
                }
            },
            State::ValueEscape => {
                // a backslash before the end of the line continues the value
                if c != '\n' {
                    value.push(c);
                    keep = value.len();
                }
                state = State::Value;
            }
            State::Single => match c {
                '\'' => state = State::PreValue,
                c => {
                    value.push(c);
                    keep = value.len();
                }
            },
            State::Double => match c {
                '"' => state = State::PreValue,
                '\\' => state = State::DoubleEscape,
                c => {
                    value.push(c);
                    keep = value.len();
                }
            },
            State::DoubleEscape => {
                match c {
                    '"' | '\\' | '`' | '$' => value.push(c),
                    '\n' => {}
                    c => {
                        value.push('\\');
                        value.push(c);
                    }
                }
                keep = value.len();
                state = State::Double;
            }
            State::Comment => {
                if c == '\n' || c == '\r' {
                    state = State::PreKey;
                }
            }
        }
    }
    if matches!(state, State::PreValue | State::Value | State::ValueEscape | State::Single | State::Double | State::DoubleEscape) {
        push(&mut key, &mut value, &mut keep);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_escapes_and_comments_as_systemd_reads_them() {
        let os = OsRelease::parse(concat!(
            "# a comment\n",
            "; another\n",
            "NAME=Fedora Linux  \n",
            "  ID=fedora\n",
            "PRETTY_NAME=\"Fedora \\\"40\\\" \\$HOME \\\\ \\n\"\n",
            "VERSION_ID='4\"0'\n",
            "IMAGE_ID=kiosk\\ image\n",
            "IMAGE_VERSION=\"1.\"'2'3\n",
            "BUILD_ID=\n",
            "VARIANT=one \\\ntwo\n",
            "not a line\n",
            "1BAD=x\n",
            "ID=debian\n",
            "LAST=\"unterminated",
        ));
        assert_eq!(os.get("NAME"), Some("Fedora Linux"));
        assert_eq!(os.get("PRETTY_NAME"), Some("Fedora \"40\" $HOME \\ \\n"));
        assert_eq!(os.get("VERSION_ID"), Some("4\"0"));
        assert_eq!(os.get("IMAGE_ID"), Some("kiosk image"));
        assert_eq!(os.get("IMAGE_VERSION"), Some("1.23"));
        assert_eq!(os.get("BUILD_ID"), Some(""));
        assert_eq!(os.value("BUILD_ID"), None);
        assert_eq!(os.get("VARIANT"), Some("one two"));
        assert_eq!(os.get("ID"), Some("debian"), "the last assignment wins");
        assert_eq!(os.get("1BAD"), None);
        assert_eq!(os.get("LAST"), Some("unterminated"));
        assert_eq!(os.pretty_name(), Some("Fedora \"40\" $HOME \\ \\n"));
        assert_eq!(OsRelease::parse("NAME=x\nPRETTY_NAME=\n").pretty_name(), Some("x"));
        assert_eq!(OsRelease::parse("").pretty_name(), None);
    }

    #[test]
    fn etc_first_then_usr_lib_under_a_root() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(OsRelease::read(root.path()).unwrap(), OsRelease::default());
        std::fs::create_dir_all(root.path().join("usr/lib")).unwrap();
        std::fs::write(root.path().join("usr/lib/os-release"), "ID=usr\n").unwrap();
        assert_eq!(OsRelease::read(root.path()).unwrap().get("ID"), Some("usr"));
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/os-release"), "ID=etc\n").unwrap();
        assert_eq!(OsRelease::read(root.path()).unwrap().get("ID"), Some("etc"));
        // a folder where the file should be is an error naming it, not a silent fallback
        std::fs::remove_file(root.path().join("etc/os-release")).unwrap();
        std::fs::create_dir(root.path().join("etc/os-release")).unwrap();
        let e = OsRelease::read(root.path()).unwrap_err();
        assert!(e.to_string().contains("etc/os-release"), "{e}");
    }
}
