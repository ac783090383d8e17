//! The malformed-input corpus (tests/corpus/): crafted disks and files, each given to the real
//! `imprint` the way a user would. Each must give a clear error naming the input (or, where the
//! input is valid, read right), none may panic, and nothing outside the target may change.

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

const SEED: &str = "e7e7a1d4-9a0f-4b43-8f4e-2b6e5c1d0a99";

fn corpus(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(kind)
}

/// `(file, expectation)` from a corpus folder's EXPECTED list.
fn expected(kind: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(corpus(kind).join("EXPECTED")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (f, want) = l.split_once(' ').unwrap();
            (f.to_string(), want.trim().to_string())
        })
        .collect()
}

/// Every file under `dir` with its SHA-256, to show nothing was touched.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            let len = std::fs::metadata(&p).unwrap().len();
            out.insert(p.clone(), sha256_range(&p, 0, len));
        } else if p.is_dir() {
            out.extend(snapshot(&p));
        }
    }
    out
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn assert_no_panic(o: &Output, what: &str) {
    let t = text(o);
    assert!(o.status.code() != Some(101) && !t.contains("panicked"), "{what} panicked:\n{t}");
}

#[test]
fn every_crafted_gpt_is_read_right_or_refused_by_the_library() {
    let cases = expected("gpt");
    assert!(cases.len() >= 10, "the GPT corpus has {} cases", cases.len());
    for (file, want) in cases {
        let f = File::open(corpus("gpt").join(&file)).unwrap();
        let got = imprint::disk::table::read_gpt(&f, 512);
        if let Some(rest) = want.strip_prefix("ok ") {
            let n: usize = rest.split_whitespace().next().unwrap().parse().unwrap();
            let t = got.unwrap_or_else(|e| panic!("{file}: {e}")).unwrap_or_else(|| panic!("{file}: no table"));
            assert_eq!(t.partitions.len(), n, "{file}");
            assert_eq!(t.partitions[0].label, "root-x86-64", "{file}");
            if let Some(why) = rest.split_once("(backup: ").map(|(_, w)| w.trim_end_matches(')')) {
                let raw = imprint::disk::gptread::read(&f, f.metadata().unwrap().len(), 512).unwrap().unwrap();
                assert_eq!(raw.from, imprint::disk::gptread::Copy::Backup, "{file}");
                assert!(raw.problem.as_deref().unwrap_or("").contains(why), "{file}: {:?}", raw.problem);
            }
        } else {
            let e = got.expect_err(&file).to_string();
            assert!(e.contains(&want), "{file}: want {want:?}, got {e:?}");
        }
    }
}

#[test]
fn every_crafted_gpt_given_to_install_and_reset_gives_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(&dir.path().join("defs"), &[("10-root.conf", "[Partition]\nType=root\nCopyBlocks=auto\n")]);
    let good = dir.path().join("good-source.img");
    std::fs::copy(corpus("gpt").join("good-128.img"), &good).unwrap();
    for (file, want) in expected("gpt") {
        let copy = dir.path().join(&file);
        std::fs::copy(corpus("gpt").join(&file), &copy).unwrap();
        // (not made: a dry run plans for a new image file of --target-size)
        let target = dir.path().join("target.img");
        let before = snapshot(dir.path());
        let ok = want.starts_with("ok ");

        // as the OS image to install from
        let o = imprint()
            .args(["install", "--seed", SEED, "--dry-run", "--target-size", "2G", "--definitions"])
            .arg(&defs)
            .arg("--source")
            .arg(&copy)
            .arg("--target")
            .arg(&target)
            .output()
            .unwrap();
        assert_no_panic(&o, &format!("install --source {file}"));
        if !ok {
            let t = text(&o);
            assert!(!o.status.success(), "install --source {file} succeeded:\n{t}");
            assert!(t.contains(&*copy.to_string_lossy()) && t.contains(&want), "install --source {file}: want the path and {want:?}:\n{t}");
        }

        // as the disk to factory-reset
        let o = imprint()
            .args(["reset", "now", "--seed", SEED, "--yes", "--dry-run", "--image"])
            .arg(&copy)
            .arg("--definitions")
            .arg(&defs)
            .output()
            .unwrap();
        assert_no_panic(&o, &format!("reset --image {file}"));
        if !ok {
            let t = text(&o);
            assert!(!o.status.success(), "reset --image {file} succeeded:\n{t}");
            assert!(t.contains(&*copy.to_string_lossy()) && t.contains(&want), "reset --image {file}: want the path and {want:?}:\n{t}");
        }

        // as the install target: a damaged table is something the install would destroy
        let o = imprint()
            .args(["install", "--seed", SEED, "--dry-run", "--json", "--definitions"])
            .arg(&defs)
            .arg("--source")
            .arg(&good)
            .arg("--target")
            .arg(&copy)
            .output()
            .unwrap();
        assert_no_panic(&o, &format!("install --target {file}"));
        if !ok {
            let t = text(&o);
            assert!(t.contains("a damaged GPT") && t.contains(&want), "install --target {file}: want 'a damaged GPT' and {want:?}:\n{t}");
        }

        assert_eq!(snapshot(dir.path()), before, "{file}: a file changed");
        assert!(!target.exists(), "{file}: a dry run made the target");
        std::fs::remove_file(&copy).unwrap();
    }
}

/// Issue 14 point 6: `--profile NAME` is looked up only in root's folders, never in the working
/// folder or a folder an environment variable names; a profile elsewhere is given by its path.
#[test]
fn a_profile_name_is_never_looked_up_in_the_working_folder_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    for at in ["installer-profiles/kiosk", "env/kiosk"] {
        let p = dir.path().join(at);
        std::fs::create_dir_all(p.join("repart.d")).unwrap();
        std::fs::write(p.join("profile.conf"), "[Profile]\nName=kiosk\n").unwrap();
        std::fs::write(p.join("repart.d/50-root.conf"), "[Partition]\nType=root\nLabel=planted-by-someone-else\nFormat=ext4\n").unwrap();
    }
    let source = dir.path().join("source.img");
    std::fs::copy(corpus("gpt").join("good-128.img"), &source).unwrap();
    let target = dir.path().join("target.img");
    let run = |profile: &str| {
        let o = imprint()
            .current_dir(dir.path())
            .env("IMPRINT_PROFILES_DIR", dir.path().join("env"))
            .args(["install", "--seed", SEED, "--dry-run", "--json", "--target-size", "2G", "--profile", profile, "--source"])
            .arg(&source)
            .arg("--target")
            .arg(&target)
            .output()
            .unwrap();
        assert_no_panic(&o, profile);
        (o.status.success(), text(&o))
    };
    let (_, t) = run("kiosk");
    assert!(!t.contains("planted-by-someone-else"), "a profile from the working folder or $IMPRINT_PROFILES_DIR was used:\n{t}");
    if !Path::new("/usr/share/imprint/profiles/kiosk").exists() && !Path::new("/etc/imprint/profiles/kiosk").exists() {
        assert!(
            t.contains("no installer profile of this name in /etc/imprint/profiles, /run/imprint/profiles, /usr/share/imprint/profiles"),
            "{t}"
        );
    }
    // given by its path, the same profile is used
    let (ok, t) = run("./installer-profiles/kiosk");
    assert!(ok && t.contains("planted-by-someone-else"), "{t}");
    assert!(!target.exists(), "a dry run made the target");
}

/// Issue 14 point 8: the kiosk menu ships as a hardened unit whose end is decided by the unit,
/// not the deployment: quitting starts the menu again (never a shell), on a tty it takes from
/// getty; systemd 252's own `systemd-analyze verify` accepts it, and `security` rates it well
/// below an unhardened copy.
#[test]
fn the_kiosk_menu_unit_is_hardened_and_quitting_leads_back_to_it() {
    let unit = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("live-image/units/imprint-reset-menu@.service")).unwrap();
    for line in ["Restart=always", "ExecStart=/usr/bin/imprint reset --profile kiosk", "Conflicts=getty@%i.service serial-getty@%i.service"]
    {
        assert!(unit.lines().any(|l| l == line), "{line} missing");
    }
    assert!(!unit.contains("--no-pin"), "the shipped menu never opens without a PIN");
    let dir = tempfile::tempdir().unwrap();
    let exposure = |text: &str, name: &str| -> f64 {
        let path = dir.path().join(name);
        std::fs::write(&path, text.replace("/usr/bin/imprint", env!("CARGO_BIN_EXE_imprint"))).unwrap();
        let o = std::process::Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path).output().unwrap();
        assert!(o.status.success() && o.stderr.is_empty(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let o = std::process::Command::new("systemd-analyze").args(["security", "--offline=yes"]).arg(&path).output().unwrap();
        let t = String::from_utf8_lossy(&o.stdout).into_owned();
        let line = t.lines().find(|l| l.contains("Overall exposure level")).unwrap_or_else(|| panic!("{t}"));
        line.split(": ").nth(1).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()).unwrap()
    };
    let hardened = exposure(&unit, "imprint-reset-menu@tty1.service");
    let plain: String = unit
        .lines()
        .filter(|l| !l.starts_with("Protect") && !l.starts_with("Private") && !l.starts_with("Restrict") && !l.starts_with("NoNew"))
        .filter(|l| !l.starts_with("Lock") && !l.starts_with("Memory") && !l.starts_with("SystemCall") && !l.starts_with("UMask"))
        .map(|l| format!("{l}\n"))
        .collect();
    let unhardened = exposure(&plain, "plain-reset-menu@tty1.service");
    assert!(hardened <= 5.5 && unhardened - hardened >= 3.0, "exposure {hardened} (unhardened {unhardened})");
}

/// Definitions from hostile hands (tests/corpus/transfer, profile, repart): each given to the
/// real `imprint` as a user would (update list; install --dry-run with a profile or repart.d
/// folder) gives an error naming the file (and line) and what is wrong, and never panics.
#[test]
fn crafted_definition_files_are_refused_by_name_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.img");
    std::fs::copy(corpus("gpt").join("good-128.img"), &source).unwrap();
    let target = dir.path().join("target.img");
    let mut n = 0;
    for kind in ["transfer", "profile", "repart"] {
        for (file, want) in expected(kind) {
            n += 1;
            let case = dir.path().join(kind).join(&file);
            let _ = std::fs::remove_dir_all(case.parent().unwrap());
            let mut c = imprint();
            let named = match kind {
                "transfer" => {
                    let d = dir.path().join(kind).join("sysupdate.d");
                    std::fs::create_dir_all(&d).unwrap();
                    let f = d.join(&file);
                    std::fs::copy(corpus(kind).join(&file), &f).unwrap();
                    c.args(["update", "list", "--definitions"]).arg(&d).arg("--root").arg(dir.path());
                    f
                }
                "profile" => {
                    let p = dir.path().join(kind).join("p");
                    std::fs::create_dir_all(p.join("repart.d")).unwrap();
                    std::fs::write(p.join("repart.d/10-root.conf"), "[Partition]\nType=root\n").unwrap();
                    std::fs::copy(corpus(kind).join(&file), p.join("profile.conf")).unwrap();
                    c.args(["install", "--dry-run", "--target-size", "2G", "--profile"]).arg(&p);
                    p.join("profile.conf")
                }
                _ => {
                    let d = dir.path().join(kind).join("repart.d");
                    std::fs::create_dir_all(&d).unwrap();
                    std::fs::copy(corpus(kind).join(&file), d.join(&file)).unwrap();
                    c.args(["install", "--dry-run", "--target-size", "2G", "--definitions"]).arg(&d);
                    d.join(&file)
                }
            };
            if kind != "transfer" {
                c.arg("--source").arg(&source).arg("--target").arg(&target);
            }
            let o = c.output().unwrap();
            assert_no_panic(&o, &file);
            let t = text(&o);
            if want == "ok" {
                assert!(o.status.success(), "{kind}/{file}: {t}");
            } else {
                assert!(!o.status.success(), "{kind}/{file} was accepted:\n{t}");
                assert!(t.contains(&want), "{kind}/{file}: want {want:?} in:\n{t}");
                // the file is named (a transfer whose text parses fails later, on its target)
                let parent = named.parent().unwrap().display().to_string();
                assert!(t.contains(&parent) || t.contains("Path=auto"), "{kind}/{file}: the file is not named:\n{t}");
            }
            assert!(!target.exists(), "{kind}/{file}: a dry run made the target");
        }
    }
    assert!(n >= 30, "{n} cases");
}

/// Manifests, UKIs and LUKS headers from hostile hands (tests/corpus/sha256sums, uki, luks),
/// through the readers imprint uses on them: an error naming the line or file, or a result that
/// stays inside what was read; never a panic, never an extent beyond the partition.
#[test]
fn crafted_manifests_ukis_and_luks_headers_are_read_safely() {
    for (file, want) in expected("sha256sums") {
        let text = String::from_utf8_lossy(&std::fs::read(corpus("sha256sums").join(&file)).unwrap()).into_owned();
        match (imprint::update::manifest::parse(&text, "2026-12-06"), want.strip_prefix("ok ")) {
            (Ok(v), Some(n)) => assert_eq!(v.len().to_string(), n, "{file}"),
            (Err(e), None) => assert!(e.to_string().contains(&want), "{file}: want {want:?}, got {e}"),
            (r, _) => panic!("{file}: want {want:?}, got {:?}", r.map(|v| v.len())),
        }
    }
    for (file, want) in expected("uki") {
        let path = corpus("uki").join(&file);
        match (imprint::tpm::uki_section(&path, ".pcrpkey"), want.strip_prefix("ok ")) {
            (Ok(Some(v)), Some(n)) => assert_eq!(v.len().to_string(), n, "{file}"),
            (Err(e), None) => {
                let e = e.to_string();
                assert!(e.contains(&want) && e.contains(&*path.to_string_lossy()), "{file}: want {want:?} and the path, got {e}");
            }
            (r, _) => panic!("{file}: want {want:?}, got {:?}", r.map(|o| o.map(|v| v.len()))),
        }
    }
    for (file, want) in expected("luks") {
        let f = File::open(corpus("luks").join(&file)).unwrap();
        let size = f.metadata().unwrap().len();
        let got = imprint::luks::probe::find_header(&f, 0, size).unwrap_or_else(|e| panic!("{file}: {e}"));
        let got = got.map(|e| format!("v{} {}", e.version, e.metadata_end)).unwrap_or_else(|| "none".into());
        assert_eq!(got, want, "{file}");
    }
}
