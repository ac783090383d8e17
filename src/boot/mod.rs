//! The boot loader entries on the installed disk's ESP.
//!
//! An install copies the live image's ESP block for block, so its Boot Loader Specification
//! Type #1 entries (`/loader/entries/*.conf`) still describe how to boot the *live* system: its
//! `root=`, a read-only root, `systemd.volatile=`, imprint's `imprint.*` switches. This module
//! rewrites each entry's `options` line for the new disk, so that stock systemd in the initrd finds
//! the new root and, when it is LUKS2, unlocks it: `rd.luks.name=<LUKS UUID>=root` and
//! `rd.luks.options=<LUKS UUID>=tpm2-device=auto` (what systemd-cryptsetup-generator reads),
//! `root=/dev/mapper/root`, `rw`. Entries that start an unattended install (`imprint.install`)
//! are removed. Every other option (console=, quiet, …) is kept as it was.
//!
//! Read and written with mtools on the ESP's byte range (`TARGET@@OFFSET`), never mounted, after
//! the partition table is written and the copy read back. It must not touch anything on the ESP but
//! `/loader/entries/*.conf`, and it never reads or writes a secret.

use std::path::Path;

pub mod creds;

use uuid::Uuid;

use crate::plan::{Action, Content, Plan, Unlock};
use crate::profile::types::{Designator, from_uuid};
use crate::task::{self, TaskError};

/// How the installed system finds its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSpec {
    /// An unencrypted root partition, by its partition UUID.
    Plain { partuuid: Uuid },
    /// A LUKS2 root, by its LUKS UUID; `tpm2` when a TPM2 token can open it.
    Luks { luks_uuid: Uuid, tpm2: bool },
}

/// The name the initrd gives the opened root (`/dev/mapper/root`).
pub const ROOT_MAPPING: &str = "root";

impl RootSpec {
    /// The kernel command line words that boot this root.
    pub fn options(&self) -> Vec<String> {
        match self {
            RootSpec::Plain { partuuid } => vec![format!("root=PARTUUID={partuuid}"), "rw".into()],
            RootSpec::Luks { luks_uuid, tpm2 } => {
                let mut v = vec![format!("rd.luks.name={luks_uuid}={ROOT_MAPPING}")];
                if *tpm2 {
                    v.push(format!("rd.luks.options={luks_uuid}=tpm2-device=auto"));
                }
                v.push(format!("root=/dev/mapper/{ROOT_MAPPING}"));
                v.push("rw".into());
                v
            }
        }
    }
}

/// A word of the live image's command line that must not reach the installed system.
fn is_live_word(w: &str) -> bool {
    let key = w.split('=').next().unwrap_or(w);
    matches!(key, "root" | "ro" | "rw" | "rootflags" | "systemd.volatile" | "mount.usr" | "usr")
        || key.starts_with("imprint.")
        || key.starts_with("rd.luks.")
        || key.starts_with("luks.")
}

/// The entry `text` rewritten to boot `root`; None when the entry starts an unattended install
/// and is to be removed. Lines other than `options` are kept byte for byte; an entry without an
/// `options` line gets one.
pub fn rewrite_entry(text: &str, root: &RootSpec, extra: &[String]) -> Option<String> {
    let key_of = |w: &str| w.split('=').next().unwrap_or(w).to_string();
    // a word the install sets itself (e.g. rd.vconsole.keymap=, or one credential) replaces the
    // live entry's; credentials are told apart by their name
    let set_by_install = |w: &str| {
        extra.iter().any(|e| {
            let (k, ek) = (key_of(w), key_of(e));
            k == ek && (k != "systemd.set_credential" || w.split(':').next() == e.split(':').next())
        })
    };
    let mut out = String::new();
    let mut kept: Vec<String> = Vec::new();
    let mut options_at = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let (key, rest) = trimmed.split_once(char::is_whitespace).unwrap_or((trimmed, ""));
        if key == "options" {
            let words: Vec<&str> = rest.split_whitespace().collect();
            if words.iter().any(|w| *w == "imprint.install" || w.starts_with("imprint.install=")) {
                return None;
            }
            kept.extend(words.into_iter().filter(|w| !is_live_word(w) && !set_by_install(w)).map(String::from));
            options_at.get_or_insert(out.len());
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut words = root.options();
    words.extend(kept);
    words.extend(extra.iter().cloned());
    let line = format!("options {}\n", words.join(" "));
    let at = options_at.unwrap_or(out.len());
    out.insert_str(at, &line);
    Some(out)
}

/// What an install must change on the new ESP: its byte offset and the new root, when the plan
/// copies an ESP (whose entries then describe the source) and creates a root partition.
pub fn entries_to_fix(plan: &Plan) -> Option<(u64, RootSpec)> {
    let created = |d: Designator| plan.partitions.iter().find(|p| p.action == Action::Create && from_uuid(p.type_uuid).designator == d);
    let esp = created(Designator::Esp).filter(|p| matches!(p.content, Content::CopyBlocks { .. }))?;
    let root = created(Designator::Root)?;
    let spec = match &root.luks {
        Some(l) => RootSpec::Luks { luks_uuid: l.uuid, tpm2: l.unlock.iter().any(|u| matches!(u, Unlock::Tpm2 | Unlock::Tpm2Pin)) },
        None => RootSpec::Plain { partuuid: root.uuid },
    };
    Some((esp.offset, spec))
}

const ENTRIES: &str = "::/loader/entries";

/// Rewrites (or removes) every `/loader/entries/*.conf` in the FAT file system at `offset` of
/// `target`, adding `extra` words to each entry's options; returns one line per entry saying what
/// was done; None for an ESP without `/loader/entries`, which is left alone (it does not boot
/// the source, so its copy stays block for block the source's).
pub fn fix_entries(target: &Path, offset: u64, root: &RootSpec, extra: &[String]) -> Result<Option<Vec<String>>, TaskError> {
    let img = format!("{}@@{offset}", target.display());
    // -b: one bare path a line; a missing folder is an error we take as "no entries"
    let Ok(listing) = task::run("mdir", ["-b", "-i", img.as_str(), ENTRIES]) else {
        return Ok(None);
    };
    let scratch = tempfile::tempdir().map_err(|e| TaskError { cmdline: "mktemp -d".into(), detail: e.to_string() })?;
    let mut done = Vec::new();
    for path in listing.lines().map(str::trim).filter(|l| l.to_ascii_lowercase().ends_with(".conf")) {
        let name = path.rsplit('/').next().unwrap_or(path);
        let text = task::run("mtype", ["-i", img.as_str(), path])?;
        match rewrite_entry(&text, root, extra) {
            None => {
                task::run("mdel", ["-i", img.as_str(), path])?;
                done.push(format!("removed {name} (it starts an unattended install)"));
            }
            Some(new) if new == text => done.push(format!("{name} already boots the new root")),
            Some(new) => {
                let local = scratch.path().join(name);
                std::fs::write(&local, &new)
                    .map_err(|e| TaskError { cmdline: format!("writing {}", local.display()), detail: e.to_string() })?;
                task::run("mcopy", ["-o", "-i", img.as_str(), &local.display().to_string(), path])?;
                let mut words = root.options();
                words.extend(extra.iter().cloned());
                done.push(format!("{name}: {}", words.join(" ")));
            }
        }
    }
    Ok(Some(done))
}

/// Puts `bytes` at `path` (e.g. `::/imprint/answers.conf`) on the FAT file system at `offset` of
/// `target`, making its folder when missing; replaces a file of that name. Returns false, writing
/// nothing, when there is no FAT file system there.
pub fn put_file(target: &Path, offset: u64, path: &str, bytes: &[u8]) -> Result<bool, TaskError> {
    let img = format!("{}@@{offset}", target.display());
    if task::run("mdir", ["-b", "-i", img.as_str(), "::/"]).is_err() {
        return Ok(false);
    }
    // each missing folder on the way, outermost first (`::/loader`, then `::/loader/credentials`)
    if let Some((dir, _)) = path.rsplit_once('/') {
        let mut at = 0;
        while let Some(i) = dir[at..].find('/').map(|i| i + at) {
            let next = dir[i + 1..].find('/').map_or(dir.len(), |j| i + 1 + j);
            let folder = &dir[..next];
            if task::run("mdir", ["-b", "-i", img.as_str(), folder]).is_err() {
                task::run("mmd", ["-i", img.as_str(), folder])?;
            }
            at = next;
        }
    }
    let scratch = tempfile::tempdir().map_err(|e| TaskError { cmdline: "mktemp -d".into(), detail: e.to_string() })?;
    let local = scratch.path().join("file");
    std::fs::write(&local, bytes).map_err(|e| TaskError { cmdline: format!("writing {}", local.display()), detail: e.to_string() })?;
    task::run("mcopy", ["-o", "-i", img.as_str(), &local.display().to_string(), path])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "title imprint live (Debian 12)\nlinux /imprint/vmlinuz\ninitrd /imprint/initrd.img\n\
options root=PARTUUID=6c5ad0a1-1b5e-4c8e-9c7d-1f0e6a2b7c03 ro systemd.volatile=state imprint.live console=tty0 console=ttyS0,115200\n";

    #[test]
    fn a_live_entry_boots_the_encrypted_root_unlocked_by_the_tpm() {
        let u = Uuid::parse_str("0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11").unwrap();
        let got = rewrite_entry(LIVE, &RootSpec::Luks { luks_uuid: u, tpm2: true }, &[]).unwrap();
        assert_eq!(
            got,
            "title imprint live (Debian 12)\nlinux /imprint/vmlinuz\ninitrd /imprint/initrd.img\n\
options rd.luks.name=0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11=root rd.luks.options=0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11=tpm2-device=auto \
root=/dev/mapper/root rw console=tty0 console=ttyS0,115200\n"
        );
        // idempotent: running it again changes nothing
        assert_eq!(rewrite_entry(&got, &RootSpec::Luks { luks_uuid: u, tpm2: true }, &[]).unwrap(), got);
    }

    #[test]
    fn a_passphrase_root_asks_and_a_plain_root_is_found_by_partuuid() {
        let u = Uuid::parse_str("0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11").unwrap();
        let got = rewrite_entry(LIVE, &RootSpec::Luks { luks_uuid: u, tpm2: false }, &[]).unwrap();
        assert!(got.contains("options rd.luks.name=0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11=root root=/dev/mapper/root rw console="), "{got}");
        assert!(!got.contains("tpm2-device"));
        let got = rewrite_entry(LIVE, &RootSpec::Plain { partuuid: u }, &[]).unwrap();
        assert!(got.contains("options root=PARTUUID=0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11 rw console=tty0"), "{got}");
        assert!(!got.contains(" ro ") && !got.contains("volatile") && !got.contains("imprint."));
    }

    #[test]
    fn an_install_entry_is_removed_and_an_entry_without_options_gets_them() {
        let install = LIVE.replace("imprint.live", "imprint.live imprint.install=auto");
        assert_eq!(rewrite_entry(&install, &RootSpec::Plain { partuuid: Uuid::nil() }, &[]), None);
        let bare = "title x\nlinux /vmlinuz\n";
        assert_eq!(
            rewrite_entry(bare, &RootSpec::Plain { partuuid: Uuid::nil() }, &[]).unwrap(),
            "title x\nlinux /vmlinuz\noptions root=PARTUUID=00000000-0000-0000-0000-000000000000 rw\n"
        );
    }

    /// On a real FAT image: mformat, two entries, rewrite, read back with mtype.
    #[test]
    fn entries_on_a_fat_image_are_rewritten_with_mtools() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("disk.img");
        let offset = 1 << 20;
        std::fs::File::create(&img).unwrap().set_len(offset + (64 << 20)).unwrap();
        let spec = format!("{}@@{offset}", img.display());
        task::run("mformat", ["-i", spec.as_str(), "-F", "-T", "131072", "::"]).unwrap();
        task::run("mmd", ["-i", spec.as_str(), "::/loader", "::/loader/entries"]).unwrap();
        let live = dir.path().join("live.conf");
        std::fs::write(&live, LIVE).unwrap();
        let inst = dir.path().join("live-install.conf");
        std::fs::write(&inst, LIVE.replace("imprint.live", "imprint.live imprint.install=auto")).unwrap();
        task::run("mcopy", ["-i", spec.as_str(), &live.display().to_string(), &inst.display().to_string(), "::/loader/entries/"]).unwrap();
        let u = Uuid::parse_str("0d9f7a3e-8a50-4f0e-9a57-2b7e2c1d6f11").unwrap();
        let root = RootSpec::Luks { luks_uuid: u, tpm2: true };
        let done = fix_entries(&img, offset, &root, &[]).unwrap().expect("entries");
        assert_eq!(done.len(), 2, "{done:?}");
        let listing = task::run("mdir", ["-b", "-i", spec.as_str(), ENTRIES]).unwrap();
        assert!(!listing.contains("live-install"), "{listing}");
        let text = task::run("mtype", ["-i", spec.as_str(), "::/loader/entries/live.conf"]).unwrap();
        assert_eq!(Some(text), rewrite_entry(LIVE, &root, &[]));
    }

    #[test]
    fn the_installers_answers_ride_on_the_command_line_and_replace_the_live_ones() {
        let live = LIVE.replace(
            "console=tty0",
            "rd.vconsole.keymap=us systemd.set_credential=firstboot.locale:C.UTF-8 systemd.set_credential=other:x console=tty0",
        );
        let extra = vec![
            "systemd.set_credential=firstboot.locale:de_DE.UTF-8".to_string(),
            "systemd.set_credential=firstboot.keymap:de".to_string(),
            "rd.vconsole.keymap=de".to_string(),
        ];
        let got = rewrite_entry(&live, &RootSpec::Plain { partuuid: Uuid::nil() }, &extra).unwrap();
        let options = got.lines().find(|l| l.starts_with("options ")).unwrap();
        assert!(
            options.ends_with(
                " systemd.set_credential=firstboot.locale:de_DE.UTF-8 systemd.set_credential=firstboot.keymap:de rd.vconsole.keymap=de"
            ),
            "{options}"
        );
        assert!(!options.contains("keymap=us") && !options.contains("C.UTF-8"), "{options}");
        assert!(options.contains("systemd.set_credential=other:x"), "{options}");
        // idempotent
        assert_eq!(rewrite_entry(&got, &RootSpec::Plain { partuuid: Uuid::nil() }, &extra).unwrap(), got);
    }

    #[test]
    fn a_file_is_put_on_a_fat_image_in_a_new_folder() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("esp.img");
        std::fs::File::create(&img).unwrap().set_len(64 << 20).unwrap();
        let spec = format!("{}@@0", img.display());
        task::run("mformat", ["-i", spec.as_str(), "-F", "-T", "131072", "::"]).unwrap();
        assert!(put_file(&img, 0, "::/imprint/answers.conf", b"[Install]\nSeed=x\n").unwrap());
        assert!(put_file(&img, 0, "::/imprint/answers.conf", b"[Install]\nSeed=y\n").unwrap());
        // not a FAT file system: nothing written, no error
        let blank = dir.path().join("blank.img");
        std::fs::File::create(&blank).unwrap().set_len(1 << 20).unwrap();
        assert!(!put_file(&blank, 0, "::/imprint/answers.conf", b"x").unwrap());
        assert_eq!(task::run("mtype", ["-i", spec.as_str(), "::/imprint/answers.conf"]).unwrap(), "[Install]\nSeed=y\n");
        // folders two deep are made one after the other
        assert!(put_file(&img, 0, "::/loader/credentials/a.cred", b"z").unwrap());
        assert_eq!(task::run("mtype", ["-i", spec.as_str(), "::/loader/credentials/a.cred"]).unwrap(), "z");
    }
}
