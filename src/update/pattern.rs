//! `MatchPattern=` as sysupdate reads it (`src/sysupdate/sysupdate-pattern.c`): literal text with
//! `@` wildcards — `@v` version (required), `@u` partition UUID, `@f` partition flags (hex),
//! `@t` mtime (µs), `@m` mode (octal), `@s` size, `@d` tries done, `@l` tries left, `@a` NoAuto,
//! `@r` read-only, `@g` GrowFileSystem, `@h` SHA-256 — each at most once, `@@` a literal `@`,
//! and `/` separating directory levels. Matching splits at the literal that follows a
//! wildcard (its first occurrence), as systemd does.

use uuid::Uuid;

use super::version;

/// One element of a split pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Element {
    Literal(String),
    Slash,
    Field(Field),
}

/// The wildcard kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Version,
    PartitionUuid,
    PartitionFlags,
    Mtime,
    Mode,
    Size,
    TriesDone,
    TriesLeft,
    NoAuto,
    ReadOnly,
    GrowFs,
    Sha256,
}

impl Field {
    fn from_char(c: char) -> Option<Field> {
        Some(match c {
            'v' => Field::Version,
            'u' => Field::PartitionUuid,
            'f' => Field::PartitionFlags,
            't' => Field::Mtime,
            'm' => Field::Mode,
            's' => Field::Size,
            'd' => Field::TriesDone,
            'l' => Field::TriesLeft,
            'a' => Field::NoAuto,
            'r' => Field::ReadOnly,
            'g' => Field::GrowFs,
            'h' => Field::Sha256,
            _ => return None,
        })
    }
}

/// What a name told through its wildcards (systemd's `InstanceMetadata`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metadata {
    pub version: String,
    pub partition_uuid: Option<Uuid>,
    pub partition_flags: Option<u64>,
    pub mtime: Option<u64>,
    pub mode: Option<u32>,
    pub size: Option<u64>,
    pub tries_done: Option<u64>,
    pub tries_left: Option<u64>,
    pub no_auto: Option<bool>,
    pub read_only: Option<bool>,
    pub growfs: Option<bool>,
    pub sha256: Option<String>,
}

/// A checked pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    elements: Vec<Element>,
}

/// The result of matching: systemd's PATTERN_MATCH_{NO,YES,RETRY} (retry: a prefix of a deeper
/// path, for directory listings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    No,
    Yes(Metadata),
    Retry,
}

fn valid_char(c: char) -> bool {
    (' '..'\u{7f}').contains(&c) && !matches!(c, '$' | '*' | '?' | '[' | ']' | '!' | '\\' | '|')
}

impl Pattern {
    /// Splits and checks a pattern; the error says why it is refused.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let mut elements: Vec<Element> = Vec::new();
        let (mut at, mut last_literal, mut last_slash) = (false, true, false);
        let mut seen: Vec<Field> = Vec::new();
        for c in text.chars() {
            if c == '@' && !at {
                at = true;
                continue;
            }
            if at && c != '@' {
                let f = Field::from_char(c).ok_or_else(|| format!("unknown pattern field marker '@{c}'"))?;
                if seen.contains(&f) {
                    return Err(format!("pattern field marker '@{c}' appears twice"));
                }
                if !last_literal && !last_slash {
                    return Err("two pattern field markers without a separating literal".into());
                }
                seen.push(f);
                elements.push(Element::Field(f));
                (at, last_literal, last_slash) = (false, false, false);
                continue;
            }
            at = false;
            if c == '/' {
                elements.push(Element::Slash);
                (last_literal, last_slash) = (false, true);
                continue;
            }
            if !valid_char(c) {
                return Err(format!("invalid character {c:?} in pattern"));
            }
            (last_literal, last_slash) = (true, false);
            match elements.last_mut() {
                Some(Element::Literal(s)) => s.push(c),
                _ => elements.push(Element::Literal(c.to_string())),
            }
        }
        if at {
            return Err("trailing '@'".into());
        }
        if !seen.contains(&Field::Version) {
            return Err("the version field marker '@v' is missing".into());
        }
        Ok(Pattern { text: text.to_string(), elements })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches `s` against the pattern, collecting the wildcards' values.
    pub fn matches(&self, s: &str) -> Match {
        let mut found = Metadata::default();
        let mut p = s;
        for (k, e) in self.elements.iter().enumerate() {
            match e {
                Element::Slash => match p.strip_prefix('/') {
                    Some(rest) => p = rest,
                    None if p.is_empty() => return Match::Retry,
                    None => return Match::No,
                },
                Element::Literal(l) => match p.strip_prefix(l.as_str()) {
                    Some(rest) => p = rest,
                    None => return Match::No,
                },
                Element::Field(f) => {
                    let end = match self.elements.get(k + 1) {
                        Some(Element::Slash) => p.find('/').unwrap_or(p.len()),
                        Some(Element::Literal(l)) => match p.find(l.as_str()) {
                            Some(n) => n,
                            None => return Match::No,
                        },
                        Some(Element::Field(_)) => unreachable!("checked by parse"),
                        None => p.len(),
                    };
                    if !store(&mut found, *f, &p[..end]) {
                        return Match::No;
                    }
                    p = &p[end..];
                }
            }
        }
        if !p.is_empty() {
            return Match::No;
        }
        Match::Yes(found)
    }

    /// Formats a name from the pattern (systemd's `pattern_format()`); None when a field the
    /// pattern uses has no value.
    pub fn format(&self, m: &Metadata) -> Option<String> {
        let mut out = String::new();
        for e in &self.elements {
            match e {
                Element::Slash => out.push('/'),
                Element::Literal(l) => out.push_str(l),
                Element::Field(f) => out.push_str(&match f {
                    Field::Version => m.version.clone(),
                    Field::PartitionUuid => m.partition_uuid?.simple().to_string(),
                    Field::PartitionFlags => format!("{:x}", m.partition_flags?),
                    Field::Mtime => m.mtime?.to_string(),
                    Field::Mode => format!("{:03o}", m.mode?),
                    Field::Size => m.size?.to_string(),
                    Field::TriesDone => m.tries_done?.to_string(),
                    Field::TriesLeft => m.tries_left?.to_string(),
                    Field::NoAuto => one_zero(m.no_auto?),
                    Field::ReadOnly => one_zero(m.read_only?),
                    Field::GrowFs => one_zero(m.growfs?),
                    Field::Sha256 => m.sha256.clone()?,
                }),
            }
        }
        Some(out)
    }
}

fn one_zero(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

/// Parses one wildcard's text into `found`; false when it is not a valid value.
fn store(found: &mut Metadata, f: Field, t: &str) -> bool {
    let num = |t: &str| t.parse::<u64>().ok().filter(|v| *v != u64::MAX && !t.starts_with('+'));
    match f {
        Field::Version => {
            if !version::is_valid(t) {
                return false;
            }
            found.version = t.to_string();
        }
        Field::PartitionUuid => match Uuid::parse_str(t) {
            Ok(u) => found.partition_uuid = Some(u),
            Err(_) => return false,
        },
        Field::PartitionFlags => match u64::from_str_radix(t.strip_prefix("0x").unwrap_or(t), 16) {
            Ok(v) if !t.is_empty() => found.partition_flags = Some(v),
            _ => return false,
        },
        Field::Mtime => match num(t) {
            Some(v) if v / 1_000_000 <= i64::MAX as u64 => found.mtime = Some(v),
            _ => return false,
        },
        Field::Mode => match u32::from_str_radix(t, 8) {
            Ok(m) if !t.is_empty() && m & !0o775 == 0 => found.mode = Some(m),
            _ => return false,
        },
        Field::Size => match num(t) {
            Some(v) => found.size = Some(v),
            None => return false,
        },
        Field::TriesDone => match num(t) {
            Some(v) => found.tries_done = Some(v),
            None => return false,
        },
        Field::TriesLeft => match num(t) {
            Some(v) => found.tries_left = Some(v),
            None => return false,
        },
        Field::NoAuto | Field::ReadOnly | Field::GrowFs => {
            let Some(b) = crate::profile::ini::parse_bool(t) else { return false };
            match f {
                Field::NoAuto => found.no_auto = Some(b),
                Field::ReadOnly => found.read_only = Some(b),
                _ => found.growfs = Some(b),
            }
        }
        Field::Sha256 => {
            if t.len() != 64 || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
                return false;
            }
            found.sha256 = Some(t.to_ascii_lowercase());
        }
    }
    true
}

/// Matches `s` against several patterns; the first that does not say No decides (systemd's
/// `pattern_match_many()`).
pub fn match_many(patterns: &[Pattern], s: &str) -> Match {
    for p in patterns {
        let m = p.matches(s);
        if m != Match::No {
            return m;
        }
    }
    Match::No
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yes(p: &str, s: &str) -> Metadata {
        match Pattern::parse(p).unwrap().matches(s) {
            Match::Yes(m) => m,
            other => panic!("{p} vs {s}: {other:?}"),
        }
    }

    #[test]
    fn parses_and_refuses() {
        assert!(Pattern::parse("usr_@v").is_ok());
        assert!(Pattern::parse("foo_@v.raw.xz").is_ok());
        assert!(Pattern::parse("a@@b_@v").is_ok());
        assert!(Pattern::parse("usr").unwrap_err().contains("@v"));
        assert!(Pattern::parse("@v@u").unwrap_err().contains("separating"));
        assert!(Pattern::parse("@v_@v").unwrap_err().contains("twice"));
        assert!(Pattern::parse("@v_@x").unwrap_err().contains("@x"));
        assert!(Pattern::parse("x*@v").unwrap_err().contains("invalid character"));
        assert!(Pattern::parse("@v@").unwrap_err().contains("trailing"));
    }

    #[test]
    fn matches_every_field() {
        let m = yes(
            "img_@v_@u_@f_@t_@m_@s_@d_@l_@a_@r_@g_@h.raw",
            &format!(
                "img_1.2_{}_{}_{}_{}_{}_{}_{}_{}_{}_{}_{}.raw",
                "0fc63daf-8483-4772-8e79-3d69d8477de4",
                "1000000000000000",
                "1700000000000000",
                "644",
                "4096",
                "1",
                "2",
                "yes",
                "0",
                "1",
                "aa".repeat(32)
            ),
        );
        assert_eq!(m.version, "1.2");
        assert_eq!(m.partition_uuid.unwrap().to_string(), "0fc63daf-8483-4772-8e79-3d69d8477de4");
        assert_eq!(m.partition_flags, Some(1 << 60));
        assert_eq!(m.mtime, Some(1_700_000_000_000_000));
        assert_eq!(m.mode, Some(0o644));
        assert_eq!(m.size, Some(4096));
        assert_eq!((m.tries_done, m.tries_left), (Some(1), Some(2)));
        assert_eq!((m.no_auto, m.read_only, m.growfs), (Some(true), Some(false), Some(true)));
        assert_eq!(m.sha256, Some("aa".repeat(32)));
    }

    #[test]
    fn refuses_bad_values_and_trailing_text() {
        let p = Pattern::parse("usr_@v").unwrap();
        assert_eq!(p.matches("usr_1.0/x"), Match::No);
        assert_eq!(p.matches("usr_"), Match::No);
        assert_eq!(p.matches("usr_1 0"), Match::No);
        assert_eq!(p.matches("root_1.0"), Match::No);
        let p = Pattern::parse("os_@v.raw").unwrap();
        assert_eq!(p.matches("os_1.0.raw.xz"), Match::No);
        assert_eq!(Pattern::parse("d/@v/x").unwrap().matches("d/1.0"), Match::Retry);
        assert_eq!(Pattern::parse("@v_@m").unwrap().matches("1_777"), Match::No);
    }

    #[test]
    fn formats_names() {
        let p = Pattern::parse("usr_@v_@a").unwrap();
        let m = Metadata { version: "2.0".into(), no_auto: Some(true), ..Default::default() };
        assert_eq!(p.format(&m).unwrap(), "usr_2.0_1");
        assert!(p.format(&Metadata { version: "2.0".into(), ..Default::default() }).is_none());
        assert_eq!(Pattern::parse("a@@b_@v").unwrap().format(&m).unwrap(), "a@b_2.0");
    }
}
