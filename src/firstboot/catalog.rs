//! What the target offers: its locales (locale archive, compiled locale folders, or the SUPPORTED
//! list), its kbd keymaps and its zoneinfo time zones. Syntax checks as systemd does them, plus the
//! existence checks systemd skips when it works on a `--root`. Reads only; never writes. Every
//! path is resolved inside the target ([`RootDir`]): a link in it never leads a read out of it.

use std::collections::BTreeSet;
use std::os::unix::fs::FileExt;

use serde::Serialize;

use super::rootdir::{Kind, RootDir};

/// systemd's `locale_is_valid`, a little stricter: a file name of safe ASCII characters.
pub fn locale_syntax_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@+=".contains(c))
}

/// glibc's `_nl_normalize_codeset` applied to the codeset of `lang_TERR.codeset@modifier`.
pub fn normalize_locale(name: &str) -> String {
    let (base, modifier) = match name.split_once('@') {
        Some((b, m)) => (b, Some(m)),
        None => (name, None),
    };
    let mut out = match base.split_once('.') {
        Some((lang, codeset)) => {
            let mut cs: String = codeset.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
            if !cs.is_empty() && cs.chars().all(|c| c.is_ascii_digit()) {
                cs.insert_str(0, "iso");
            }
            format!("{lang}.{cs}")
        }
        None => base.to_string(),
    };
    if let Some(m) = modifier {
        out.push('@');
        out.push_str(m);
    }
    out
}

/// Names in a glibc locale archive (`usr/lib/locale/locale-archive`); empty when absent or not an
/// archive this code understands.
fn archive_locales(root: &RootDir, rel: &str) -> Vec<String> {
    const MAGIC: u32 = 0xde02_0109;
    let Ok(f) = root.open_file(rel) else { return Vec::new() };
    let mut head = [0u8; 20];
    if f.read_exact_at(&mut head, 0).is_err() {
        return Vec::new();
    }
    let word = |b: &[u8], i: usize| u32::from_ne_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
    if word(&head, 0) != MAGIC {
        return Vec::new();
    }
    let (table_off, table_size) = (u64::from(word(&head, 2)), word(&head, 4) as usize);
    if table_size > 1 << 20 {
        return Vec::new();
    }
    let mut table = vec![0u8; table_size * 12];
    if f.read_exact_at(&mut table, table_off).is_err() {
        return Vec::new();
    }
    let mut names = Vec::new();
    for e in 0..table_size {
        let name_off = word(&table, e * 3 + 1);
        if name_off == 0 {
            continue;
        }
        let mut buf = [0u8; 256];
        let n = f.read_at(&mut buf, u64::from(name_off)).unwrap_or(0);
        if let Some(end) = buf[..n].iter().position(|&b| b == 0)
            && let Ok(s) = std::str::from_utf8(&buf[..end])
        {
            names.push(s.to_string());
        }
    }
    names
}

/// Locales compiled into the target: its locale archive and `usr/lib/locale/<name>/` folders.
pub fn installed_locales(root: &RootDir) -> BTreeSet<String> {
    let dir = "usr/lib/locale";
    let mut set: BTreeSet<String> = archive_locales(root, &format!("{dir}/locale-archive")).into_iter().collect();
    for (name, _) in root.read_dir(dir).unwrap_or_default() {
        if let Some(n) = name.to_str()
            && root.metadata(format!("{dir}/{n}/LC_CTYPE")).is_ok_and(|m| m.is_file())
        {
            set.insert(n.to_string());
        }
    }
    set
}

/// The first column of the target's `usr/share/i18n/SUPPORTED`.
pub fn supported_locales(root: &RootDir) -> BTreeSet<String> {
    let text = root.read_to_string("usr/share/i18n/SUPPORTED").unwrap_or_default();
    text.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| !n.starts_with('#')).map(str::to_string).collect()
}

/// The locales to offer: the compiled ones, or the SUPPORTED list when none are compiled.
pub fn locales(root: &RootDir) -> Vec<String> {
    let installed = installed_locales(root);
    if installed.is_empty() { supported_locales(root).into_iter().collect() } else { installed.into_iter().collect() }
}

/// Whether the target can use `name` as LANG: C/POSIX always, else compiled or SUPPORTED.
pub fn locale_available(root: &RootDir, name: &str) -> bool {
    if name == "C" || name == "POSIX" {
        return true;
    }
    let want = normalize_locale(name);
    installed_locales(root).iter().chain(supported_locales(root).iter()).any(|n| n == name || normalize_locale(n) == want)
}

/// systemd's `keymap_is_valid`: a non-empty file name, at most 127 bytes, of safe characters.
pub fn keymap_syntax_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 128
        && name != "."
        && name != ".."
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-+@".contains(c))
}

const KEYMAP_DIRS: [&str; 4] = ["usr/share/keymaps", "usr/share/kbd/keymaps", "usr/lib/kbd/keymaps", "lib/kbd/keymaps"];
/// kbd's suffixes (systemd's `get_keymaps`), then Debian's: console-data ships its keymaps as
/// `*.kmap.gz` (`/usr/share/keymaps/i386/qwertz/de.kmap.gz`), which Debian's loadkeys finds by
/// name, so `KEYMAP=de` works there although systemd's own list does not show them.
const KEYMAP_SUFFIXES: [&str; 7] = [".map", ".map.gz", ".map.bz2", ".map.xz", ".map.zst", ".kmap", ".kmap.gz"];

fn walk_keymaps(root: &RootDir, dir: &str, out: &mut BTreeSet<String>) {
    let Ok(entries) = root.read_dir(dir) else { return };
    for (name, kind) in entries {
        let name = name.to_string_lossy().into_owned();
        if kind == Kind::Dir {
            if name != "include" {
                walk_keymaps(root, &format!("{dir}/{name}"), out);
            }
        } else if let Some(stem) = KEYMAP_SUFFIXES.iter().find_map(|s| name.strip_suffix(s)) {
            out.insert(stem.to_string());
        }
    }
}

/// The kbd keymaps in the target (as systemd's `get_keymaps`: all `*.map*` files outside
/// `include/`; and Debian's `*.kmap*`).
pub fn keymaps(root: &RootDir) -> Vec<String> {
    let mut set = BTreeSet::new();
    for d in KEYMAP_DIRS {
        walk_keymaps(root, d, &mut set);
    }
    set.into_iter().collect()
}

/// systemd's `timezone_is_valid` syntax part.
pub fn timezone_syntax_ok(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.ends_with('/')
        && name.split('/').all(|p| !p.is_empty() && !p.starts_with('.') && p.len() <= 255)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "/-_+".contains(c))
}

fn zoneinfo() -> &'static str {
    "usr/share/zoneinfo"
}

fn is_tzfile(root: &RootDir, rel: &str) -> bool {
    let Ok(f) = root.open_file(rel) else { return false };
    let mut magic = [0u8; 4];
    f.read_exact_at(&mut magic, 0).is_ok() && &magic == b"TZif"
}

/// Whether `usr/share/zoneinfo/<name>` in the target is a TZif file.
pub fn timezone_available(root: &RootDir, name: &str) -> bool {
    timezone_syntax_ok(name) && is_tzfile(root, &format!("{}/{name}", zoneinfo()))
}

/// A region ("Europe", "America/Argentina" is under "America") and its zones; zones without a
/// slash (UTC) are under region "".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimezoneRegion {
    pub region: String,
    pub zones: Vec<String>,
}

fn walk_zones(root: &RootDir, rel: &str, out: &mut BTreeSet<String>) {
    let base = zoneinfo();
    let Ok(entries) = root.read_dir(if rel.is_empty() { base.to_string() } else { format!("{base}/{rel}") }) else { return };
    for (name, kind) in entries {
        let Some(name) = name.to_str().map(str::to_string) else { continue };
        let relname = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
        if kind == Kind::Dir {
            if !(rel.is_empty() && (name == "posix" || name == "right")) {
                walk_zones(root, &relname, out);
            }
        } else if timezone_syntax_ok(&relname)
            && name != "posixrules"
            && name != "localtime"
            && name != "Factory"
            && is_tzfile(root, &format!("{base}/{relname}"))
        {
            out.insert(relname);
        }
    }
}

/// The target's time zones, grouped by region, sorted.
pub fn timezones(root: &RootDir) -> Vec<TimezoneRegion> {
    let mut all = BTreeSet::new();
    walk_zones(root, "", &mut all);
    let mut regions: Vec<TimezoneRegion> = Vec::new();
    for z in all {
        let region = z.split_once('/').map(|(r, _)| r.to_string()).unwrap_or_default();
        match regions.iter_mut().find(|r| r.region == region) {
            Some(r) => r.zones.push(z),
            None => regions.push(TimezoneRegion { region, zones: vec![z] }),
        }
    }
    regions.sort_by(|a, b| a.region.cmp(&b.region));
    regions
}

/// A static host name as systemd's `hostname_is_valid` accepts it, and RFC 1123 besides: at most
/// 64 bytes, dot-separated labels of 1–63 ASCII letters, digits, '-' or '_', no label starting or
/// ending with '-'.
pub fn hostname_ok(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
}

/// A login shell: an absolute, normalized path without ':' that exists in the target as an
/// executable file.
pub fn shell_ok(root: &RootDir, shell: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let syntax = shell.starts_with('/')
        && shell.len() < 4096
        && !shell.contains(':')
        && !shell.chars().any(char::is_control)
        && shell[1..].split('/').all(|p| !p.is_empty() && p != "." && p != "..");
    syntax && root.metadata(&shell[1..]).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn debian_console_data_keymaps_count() {
        let dir = tempfile::tempdir().unwrap();
        let qwertz = dir.path().join("usr/share/keymaps/i386/qwertz");
        std::fs::create_dir_all(&qwertz).unwrap();
        std::fs::create_dir_all(dir.path().join("usr/share/keymaps/i386/include")).unwrap();
        std::fs::write(qwertz.join("de.kmap.gz"), b"").unwrap();
        std::fs::write(qwertz.join("de-latin1.kmap"), b"").unwrap();
        std::fs::write(dir.path().join("usr/share/keymaps/i386/include/qwertz-layout.inc"), b"").unwrap();
        std::fs::write(dir.path().join("usr/share/keymaps/i386/include/euro.kmap.gz"), b"").unwrap();
        assert_eq!(super::keymaps(&super::RootDir::open(dir.path()).unwrap()), ["de", "de-latin1"]);
    }
}
