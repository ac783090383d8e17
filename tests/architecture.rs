//! docs/ARCHITECTURE.md's rules, checked on the source tree as far as reading it can check them.
//!
//! - Only `src/disk` issues block ioctls: no `ioctl` and no `BLK…` ioctl constant elsewhere,
//!   except the places in [`IOCTL_EXCEPTIONS`], each with its reason.
//! - No clap outside the command line (`src/cli.rs`, `src/main.rs`, the `cli.rs` of a verb's
//!   module) and the front-ends (`src/app/`): the engine's enums list their names (`NAMES`) and
//!   the command line parses them (`cli::named`).
//! - Only the front-ends print (`src/main.rs`, `src/cmd.rs`, `*/cli.rs`, `src/app/`,
//!   `src/demo/`): the engine returns values and typed events.
//!
//! Comment lines are not code and are skipped.

use std::path::{Path, PathBuf};

/// Non-block ioctls outside `src/disk`, with the reason each is not a block ioctl.
const IOCTL_EXCEPTIONS: &[(&str, &str)] = &[
    ("src/fsflags.rs", "FS_IOC_GETFLAGS/SETFLAGS on files and folders (sysupdate's ReadOnly= immutable flag), not a block device"),
    ("src/app/installer.rs", "KDGKBTYPE on the terminal (is it a Linux VT?), not a block device"),
    ("src/app/term.rs", "TIOCGWINSZ/TIOCSWINSZ: the terminal's size (a serial console reports 0x0), not a block device"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `(file relative to the crate, line number, line)` of code (comment lines skipped).
fn code_lines() -> Vec<(String, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} files under src/", files.len());
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("reading {rel}: {e}"));
        for (n, line) in text.lines().enumerate() {
            if !line.trim_start().starts_with("//") {
                out.push((rel.clone(), n + 1, line.to_string()));
            }
        }
    }
    out
}

/// `ioctl` as a word or macro prefix (`ioctl(`, `libc::ioctl`, `nix::ioctl_read!`), or a
/// `BLK…` ioctl constant (`BLKGETSIZE64`, `BLKDISCARD`, …).
fn is_ioctl(line: &str) -> bool {
    if line.contains("ioctl") {
        return true;
    }
    line.match_indices("BLK").any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + 3..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') && after.is_some_and(|c| c.is_ascii_uppercase())
    })
}

fn is_clap(line: &str) -> bool {
    line.contains("clap::") || line.contains("use clap") || line.contains("#[arg(") || line.contains("#[command(")
}

/// Where clap belongs: the command line and the front-ends.
fn clap_allowed(file: &str) -> bool {
    file == "src/cli.rs" || file == "src/main.rs" || file.ends_with("/cli.rs") || file.starts_with("src/app/")
}

#[test]
fn the_scanners_see_what_they_look_for() {
    assert!(is_ioctl("    unsafe { libc::ioctl(fd, BLKGETSIZE64, &mut n) }"));
    assert!(is_ioctl("nix::ioctl_read!(blkgetsize64, 0x12, 114, u64);"));
    assert!(is_ioctl("const X: u64 = BLKDISCARD;"));
    assert!(!is_ioctl("let probe = blkid::Probe::new();"));
    assert!(!is_ioctl("const SUBLKEY: u8 = 1;"));
    assert!(is_clap("#[derive(clap::ValueEnum)]"));
    assert!(is_clap("use clap::Parser;"));
    assert!(!is_clap("let clapping = 1;"));
    assert!(clap_allowed("src/update/cli.rs") && clap_allowed("src/app/mod.rs") && !clap_allowed("src/plan/mod.rs"));
}

#[test]
fn only_disk_issues_block_ioctls() {
    let mut found = Vec::new();
    let mut excepted = Vec::new();
    for (file, n, line) in code_lines() {
        if file.starts_with("src/disk/") || !is_ioctl(&line) {
            continue;
        }
        match IOCTL_EXCEPTIONS.iter().find(|(f, _)| *f == file) {
            Some((f, _)) => excepted.push(*f),
            None => found.push(format!("{file}:{n}: {}", line.trim())),
        }
    }
    assert!(found.is_empty(), "ioctls outside src/disk (only disk issues block ioctls):\n{}", found.join("\n"));
    for (f, why) in IOCTL_EXCEPTIONS {
        assert!(excepted.contains(f), "{f} is listed as an ioctl exception ({why}) but has no ioctl any more: remove it from the list");
    }
}

#[test]
fn disk_does_issue_the_block_ioctls() {
    // the rule is about where they are: they must still be somewhere
    let in_disk = code_lines().into_iter().filter(|(f, _, l)| f.starts_with("src/disk/") && is_ioctl(l)).count();
    assert!(in_disk >= 3, "src/disk has only {in_disk} ioctl lines; did the scanner break?");
}

#[test]
fn no_clap_outside_the_command_line_and_front_ends() {
    let new: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| !clap_allowed(file) && is_clap(line))
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect();
    assert!(new.is_empty(), "clap outside src/cli.rs, src/main.rs, */cli.rs and src/app/:\n{}", new.join("\n"));
}

fn is_print(line: &str) -> bool {
    ["println!(", "eprintln!(", "print!(", "eprint!(", "dbg!("].iter().any(|m| line.contains(m))
}

/// The front-ends: where printing belongs.
fn print_allowed(file: &str) -> bool {
    file == "src/main.rs"
        || file == "src/cmd.rs"
        || file.ends_with("/cli.rs")
        || file.starts_with("src/app/")
        || file.starts_with("src/demo/")
}

#[test]
fn only_the_front_ends_print() {
    assert!(is_print("    eprintln!(\"x\");") && !is_print("let printed = 1;"));
    let found: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| !print_allowed(file) && is_print(line))
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect();
    assert!(found.is_empty(), "printing outside the front-ends (return values or events instead):\n{}", found.join("\n"));
    // and they do print: the scanner works
    assert!(code_lines().iter().any(|(f, _, l)| f == "src/cmd.rs" && is_print(l)));
}

/// Front-ends build the engine's typed requests; the command line's argument struct stays with
/// the command line (and the one front-end entry that takes it from there).
#[test]
fn no_one_talks_to_the_engine_in_command_line_arguments() {
    let allowed = ["src/cli.rs", "src/cmd.rs", "src/main.rs", "src/app/mod.rs"];
    let found: Vec<String> = code_lines()
        .into_iter()
        .filter(|(file, _, line)| line.contains("InstallArgs") && !allowed.contains(&file.as_str()))
        .map(|(file, n, line)| format!("{file}:{n}: {}", line.trim()))
        .collect();
    assert!(found.is_empty(), "InstallArgs outside the command line (build an install::Request instead):\n{}", found.join("\n"));
}

/// No fixed temporary paths (issue 14, docs/SECURITY.md): a name in /tmp or /var/tmp that a
/// local user can create first (a link to somewhere imprint writes) is never used; temporary
/// files come from `tempfile` in private folders.
#[test]
fn no_fixed_temporary_paths() {
    let fixed = |l: &str| l.contains("\"/tmp/") || l.contains("\"/var/tmp/") || l.contains("\"/tmp\"") || l.contains("\"/var/tmp\"");
    assert!(fixed("let p = \"/tmp/imprint.log\";") && !fixed("tempfile::tempdir()"));
    let found: Vec<String> =
        code_lines().into_iter().filter(|(_, _, l)| fixed(l)).map(|(f, n, l)| format!("{f}:{n}: {}", l.trim())).collect();
    assert!(found.is_empty(), "fixed temporary paths:\n{}", found.join("\n"));
}
