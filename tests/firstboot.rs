//! `imprint::firstboot` against systemd-firstboot 252 on this machine: the same answers on two
//! copies of a small root tree must give the same files, modes and symlink targets.
//!
//! The one deliberate difference: Debian's systemd 252 writes the locale to /etc/default/locale
//! (a Debian patch); upstream, and imprint, write /etc/locale.conf. The comparison swaps those two
//! paths in systemd's tree. systemd's random machine-id is checked for format and then dropped.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use imprint::firstboot::{self, Action, Answers, FirstbootError, RootPassword, catalog, cli::FirstbootArgs, rootdir::RootDir};
use imprint::secret::Secret;
use sha2::Digest;

const HASH: &str = "$6$abcdefgh$Y0G3Pp/0wMjc7iZ6E8jCMRsIRDTJ8GcFDhQXbeQVpaK0hZ7aN2ocFw1UvhYeoVPR8Vfvsb/kmkEo3IiUNJR1d/";
const PLAIN: &str = "correct horse battery staple 8f3k";

fn write(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A small target: passwd/shadow with root, a few zones, a SUPPORTED list, kbd keymaps, shells.
fn make_tree(root: &Path, with_accounts: bool) {
    std::fs::create_dir_all(root.join("etc")).unwrap();
    if with_accounts {
        write(
            &root.join("etc/passwd"),
            b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nuser:x:1000:1000:User,,,:/home/user:/bin/bash\n",
            0o644,
        );
        write(&root.join("etc/shadow"), b"root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\n", 0o640);
    }
    for tz in ["Europe/Berlin", "America/New_York", "UTC"] {
        let bytes = std::fs::read(Path::new("/usr/share/zoneinfo").join(tz)).unwrap();
        write(&root.join("usr/share/zoneinfo").join(tz), &bytes, 0o644);
    }
    write(&root.join("usr/share/zoneinfo/zone1970.tab"), b"# not a zone\n", 0o644);
    write(&root.join("usr/share/i18n/SUPPORTED"), b"de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\nfr_FR ISO-8859-1\n", 0o644);
    for km in ["i386/qwertz/de.map.gz", "i386/qwerty/us.map.gz", "i386/azerty/fr.map.gz", "i386/include/compose.map"] {
        write(&root.join("usr/share/keymaps").join(km), b"\x1f\x8b", 0o644);
    }
    for sh in ["bin/bash", "bin/zsh", "bin/sh"] {
        write(&root.join(sh), b"#!/bin/false\n", 0o755);
    }
}

/// `imprint firstboot --root ROOT --force --via files` and nothing else; tests add what they need.
fn forced_args(root: &Path) -> FirstbootArgs {
    FirstbootArgs {
        root: root.to_path_buf(),
        locale: None,
        locale_messages: None,
        keymap: None,
        timezone: None,
        hostname: None,
        root_password_hashed: None,
        root_password_file: None,
        root_shell: None,
        credentials_dir: None,
        encrypted_credentials_dir: None,
        tpm2_device: "auto".into(),
        force: true,
        via: firstboot::cli::Via::Files,
        prompt: false,
        no_user: false,
        user_only: false,
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let st = Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap();
    assert!(st.success());
}

/// Every entry under `root`: type and mode, then contents or symlink target.
fn snapshot(root: &Path) -> BTreeMap<String, (String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let m = p.symlink_metadata().unwrap();
            let mode = format!("{:o} {}:{}", m.mode(), m.uid(), m.gid());
            if m.file_type().is_symlink() {
                out.insert(rel, (mode, std::fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes()));
            } else if m.is_dir() {
                out.insert(rel, (mode, Vec::new()));
                walk(root, &p, out);
            } else {
                out.insert(rel, (mode, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn have_systemd_firstboot() -> bool {
    // `make test` installs systemd; a missing reference is a failure, not a skip
    let ok = Command::new("systemd-firstboot").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "systemd-firstboot, the reference these tests compare against, is missing");
    ok
}

/// Runs systemd-firstboot on `root` and returns its tree with Debian's locale path swapped for
/// upstream's and the machine-id checked and dropped.
fn systemd_run(root: &Path, args: &[&str], had_default_dir: bool) -> BTreeMap<String, (String, Vec<u8>)> {
    let out = Command::new("systemd-firstboot").arg(format!("--root={}", root.display())).args(args).arg("--welcome=no").output().unwrap();
    assert!(out.status.success(), "systemd-firstboot failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut snap = snapshot(root);
    let a = snap.remove("etc/default/locale");
    let b = snap.remove("etc/locale.conf");
    if let Some(a) = a {
        snap.insert("etc/locale.conf".into(), a);
    }
    if let Some(b) = b {
        snap.insert("etc/default/locale".into(), b);
    }
    if !had_default_dir {
        snap.remove("etc/default");
    }
    snap
}

fn check_and_drop_machine_id(snap: &mut BTreeMap<String, (String, Vec<u8>)>) {
    let (mode, id) = snap.remove("etc/machine-id").expect("a machine-id");
    assert!(mode.starts_with("100644 "), "{mode}");
    assert_eq!(id.len(), 33);
    assert!(id[..32].iter().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) && id[32] == b'\n', "{id:?}");
}

fn ours(root: &Path, answers: &Answers, force: bool) -> BTreeMap<String, (String, Vec<u8>)> {
    firstboot::apply(root, answers, force).unwrap();
    snapshot(root)
}

fn answers(locale: &str, messages: Option<&str>, keymap: &str, tz: &str, host: &str) -> Answers {
    Answers {
        locale: Some(locale.into()),
        locale_messages: messages.map(str::to_string),
        keymap: Some(keymap.into()),
        timezone: Some(tz.into()),
        hostname: Some(host.into()),
        root_password: None,
        root_shell: None,
        machine_id: true,
    }
}

fn assert_same(ours: &BTreeMap<String, (String, Vec<u8>)>, theirs: &BTreeMap<String, (String, Vec<u8>)>) {
    let show = |m: &BTreeMap<String, (String, Vec<u8>)>| {
        m.iter()
            .map(|(k, (mode, c))| match std::str::from_utf8(c) {
                Ok(t) if t.len() < 1024 => format!("{k} {mode} {t:?}\n"),
                _ => format!("{k} {mode} sha256:{}\n", sha2::Sha256::digest(c).iter().map(|b| format!("{b:02x}")).collect::<String>()),
            })
            .collect::<String>()
    };
    assert_eq!(show(ours), show(theirs));
}

/// Pair of fresh copies of one tree.
fn pair(with_accounts: bool) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    make_tree(&base, with_accounts);
    let (a, b) = (dir.path().join("systemd"), dir.path().join("imprint"));
    copy_tree(&base, &a);
    copy_tree(&base, &b);
    (dir, a, b)
}

#[test]
fn full_answers_with_force_match_systemd_firstboot() {
    if !have_systemd_firstboot() {
        return;
    }
    let (_d, a, b) = pair(true);
    let mut theirs = systemd_run(
        &a,
        &[
            "--locale=de_DE.UTF-8",
            "--locale-messages=en_US.UTF-8",
            "--keymap=de",
            "--timezone=Europe/Berlin",
            "--hostname=box.example",
            &format!("--root-password-hashed={HASH}"),
            "--root-shell=/bin/zsh",
            "--setup-machine-id",
            "--force",
        ],
        false,
    );
    let mut ans = answers("de_DE.UTF-8", Some("en_US.UTF-8"), "de", "Europe/Berlin", "box.example");
    ans.root_password = Some(RootPassword::Hashed(HASH.into()));
    ans.root_shell = Some("/bin/zsh".into());
    let mut mine = ours(&b, &ans, true);
    check_and_drop_machine_id(&mut theirs);
    check_and_drop_machine_id(&mut mine);
    assert_same(&mine, &theirs);
    // And the details that matter, spelled out.
    assert_eq!(std::fs::read_to_string(b.join("etc/locale.conf")).unwrap(), "LANG=de_DE.UTF-8\nLC_MESSAGES=en_US.UTF-8\n");
    assert_eq!(std::fs::read_link(b.join("etc/localtime")).unwrap(), Path::new("../usr/share/zoneinfo/Europe/Berlin"));
    let shadow = std::fs::read_to_string(b.join("etc/shadow")).unwrap();
    assert!(shadow.starts_with(&format!("root:{HASH}:")) && shadow.ends_with("daemon:*:19000:0:99999:7:::\nuser:!:19000:0:99999:7:::\n"));
}

#[test]
fn no_lc_messages_when_equal_and_root_kept_without_force() {
    if !have_systemd_firstboot() {
        return;
    }
    let (_d, a, b) = pair(true);
    let theirs = systemd_run(
        &a,
        &[
            "--locale=en_US.UTF-8",
            "--locale-messages=en_US.UTF-8",
            "--keymap=us",
            "--timezone=America/New_York",
            "--hostname=h1",
            &format!("--root-password-hashed={HASH}"),
        ],
        false,
    );
    let mut ans = answers("en_US.UTF-8", Some("en_US.UTF-8"), "us", "America/New_York", "h1");
    ans.root_password = Some(RootPassword::Hashed(HASH.into()));
    ans.machine_id = false;
    let changes = firstboot::apply(&b, &ans, false).unwrap();
    assert!(changes.iter().any(|c| c.path == "/etc/shadow" && c.action == Action::Kept), "{changes:?}");
    assert_same(&snapshot(&b), &theirs);
    assert_eq!(std::fs::read_to_string(b.join("etc/locale.conf")).unwrap(), "LANG=en_US.UTF-8\n");
}

#[test]
fn empty_etc_gets_new_root_entries_like_systemd() {
    if !have_systemd_firstboot() {
        return;
    }
    let (_d, a, b) = pair(false);
    let theirs = systemd_run(&a, &[&format!("--root-password-hashed={HASH}"), "--timezone=UTC"], false);
    let ans = Answers { root_password: Some(RootPassword::Hashed(HASH.into())), timezone: Some("UTC".into()), ..Answers::default() };
    assert_same(&ours(&b, &ans, false), &theirs);
    assert_eq!(std::fs::read_to_string(b.join("etc/passwd")).unwrap(), "root:x:0:0:Super User:/root:/bin/bash\n");
    assert_eq!(std::fs::metadata(b.join("etc/shadow")).unwrap().mode() & 0o7777, 0);
}

/// Pre-existing settings: kept without force, replaced with force; same as systemd either way.
#[test]
fn existing_files_kept_without_force_and_replaced_with_it() {
    if !have_systemd_firstboot() {
        return;
    }
    for force in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        make_tree(&base, true);
        write(&base.join("etc/hostname"), b"old\n", 0o644);
        write(&base.join("etc/vconsole.conf"), b"KEYMAP=fr\n", 0o644);
        write(&base.join("etc/locale.conf"), b"LANG=C\n", 0o644);
        write(&base.join("etc/default/locale"), b"LANG=C\n", 0o644);
        std::os::unix::fs::symlink("../usr/share/zoneinfo/UTC", base.join("etc/localtime")).unwrap();
        write(&base.join("etc/machine-id"), b"0123456789abcdef0123456789abcdef\n", 0o444);
        let (a, b) = (dir.path().join("systemd"), dir.path().join("imprint"));
        copy_tree(&base, &a);
        copy_tree(&base, &b);
        let mut args = vec!["--locale=de_DE.UTF-8", "--keymap=de", "--timezone=Europe/Berlin", "--hostname=new"];
        if force {
            args.push("--force");
        }
        let theirs = systemd_run(&a, &args, true);
        let mut ans = answers("de_DE.UTF-8", None, "de", "Europe/Berlin", "new");
        ans.machine_id = true; // never replaced, even with force
        let mine = ours(&b, &ans, force);
        assert_same(&mine, &theirs);
        let host = std::fs::read_to_string(b.join("etc/hostname")).unwrap();
        assert_eq!(host, if force { "new\n" } else { "old\n" });
        assert_eq!(std::fs::read_to_string(b.join("etc/machine-id")).unwrap(), "0123456789abcdef0123456789abcdef\n");
    }
}

#[test]
fn credentials_give_the_same_result_as_arguments() {
    if !have_systemd_firstboot() {
        return;
    }
    let (d, a, b) = pair(true);
    let creds = d.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    for (name, value) in [
        ("firstboot.locale", "de_DE.UTF-8\n"),
        ("firstboot.locale-messages", "en_US.UTF-8"),
        ("firstboot.keymap", "de"),
        ("firstboot.timezone", "Europe/Berlin"),
        ("system.hostname", "credhost"),
        ("passwd.hashed-password.root", HASH),
        ("passwd.shell.root", "/bin/zsh"),
    ] {
        std::fs::write(creds.join(name), value).unwrap();
    }
    let theirs = systemd_run(
        &a,
        &[
            "--locale=de_DE.UTF-8",
            "--locale-messages=en_US.UTF-8",
            "--keymap=de",
            "--timezone=Europe/Berlin",
            "--hostname=credhost",
            &format!("--root-password-hashed={HASH}"),
            "--root-shell=/bin/zsh",
            "--force",
        ],
        false,
    );
    let args = FirstbootArgs { credentials_dir: Some(creds.clone()), ..forced_args(&b) };
    let mut ans = firstboot::cli::answers(&args).unwrap();
    ans.machine_id = false;
    assert_same(&ours(&b, &ans, true), &theirs);

    // Arguments win over credentials; firstboot.hostname wins over system.hostname.
    std::fs::write(creds.join("firstboot.hostname"), "fbhost\n").unwrap();
    let args = FirstbootArgs { keymap: Some("us".into()), ..args };
    let ans = firstboot::cli::answers(&args).unwrap();
    assert_eq!((ans.keymap.as_deref(), ans.hostname.as_deref()), (Some("us"), Some("fbhost")));
}

/// A change that makes good answers bad.
type Edit = Box<dyn Fn(&mut Answers)>;

fn assert_rejected(tree: &Path, ans: &Answers, needle: &str) {
    let before = snapshot(tree);
    let err = firstboot::apply(tree, ans, true).unwrap_err();
    let msg = error_chain(&err);
    assert!(msg.contains(needle), "{msg:?} does not name {needle:?}");
    assert!(!msg.contains(PLAIN));
    assert_eq!(snapshot(tree), before, "the tree changed after: {msg}");
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(&format!(": {c}"));
        src = c.source();
    }
    s
}

#[test]
fn bad_values_name_themselves_and_leave_the_root_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("r");
    make_tree(&root, true);
    let good = || {
        let mut a = answers("de_DE.UTF-8", None, "de", "Europe/Berlin", "fine");
        a.root_password = Some(RootPassword::Plain(Secret::from_text(PLAIN)));
        a
    };
    let long = "a".repeat(65);
    let cases: Vec<(Edit, &str)> = vec![
        (Box::new(|a| a.locale = Some("xx_YY.UTF-8".into())), "xx_YY.UTF-8"),
        (Box::new(|a| a.locale_messages = Some("../etc".into())), "../etc"),
        (Box::new(|a| a.keymap = Some("nosuchmap".into())), "nosuchmap"),
        (Box::new(|a| a.keymap = Some("compose".into())), "compose"), // only under include/
        (Box::new(|a| a.timezone = Some("Mars/Olympus_Mons".into())), "Mars/Olympus_Mons"),
        (Box::new(|a| a.timezone = Some("../../etc/passwd".into())), "../../etc/passwd"),
        (Box::new(|a| a.timezone = Some("zone1970.tab".into())), "zone1970.tab"), // not TZif
        (Box::new(|a| a.hostname = Some("-bad-.host".into())), "-bad-.host"),
        (Box::new(|a| a.hostname = Some("a".repeat(65))), &long),
        (Box::new(|a| a.root_shell = Some("/bin/fish".into())), "/bin/fish"),
        (Box::new(|a| a.root_password = Some(RootPassword::Hashed("a:b".into()))), "hashed root password"),
    ];
    for (edit, needle) in &cases {
        let mut a = good();
        edit(&mut a);
        assert_rejected(&root, &a, needle);
    }

    // An unreadable credential names the credential; nothing is written.
    let creds = dir.path().join("creds");
    std::fs::create_dir_all(creds.join("firstboot.keymap")).unwrap();
    std::fs::write(creds.join("firstboot.hostname"), "fine").unwrap();
    let before = snapshot(&root);
    let args = FirstbootArgs { credentials_dir: Some(creds.clone()), ..forced_args(&root) };
    let err = firstboot::cli::run(&args, false).unwrap_err();
    assert!(format!("{err:#}").contains("firstboot.keymap"), "{err:#}");
    std::fs::remove_dir(creds.join("firstboot.keymap")).unwrap();
    std::fs::write(creds.join("firstboot.timezone"), b"\xff\xfe").unwrap();
    let err = firstboot::cli::answers(&args).unwrap_err();
    assert!(matches!(&err, FirstbootError::CredentialNotText(n) if n == "firstboot.timezone"), "{err}");
    assert_eq!(snapshot(&root), before);
}

#[test]
fn plaintext_password_is_stored_only_hashed_and_matches_systemd_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let pwfile = dir.path().join("pw");
    std::fs::write(&pwfile, format!("{PLAIN}\n")).unwrap();
    let (_d, a, b) = pair(true);
    let args = FirstbootArgs { root_password_file: Some(pwfile.clone()), ..forced_args(&b) };
    let mut ans = firstboot::cli::answers(&args).unwrap();
    ans.machine_id = false;
    assert!(!format!("{ans:?}").contains(PLAIN));
    let changes = firstboot::apply(&b, &ans, true).unwrap();
    assert!(!format!("{changes:?}").contains(PLAIN));
    let shadow = std::fs::read_to_string(b.join("etc/shadow")).unwrap();
    let hash = shadow.lines().next().unwrap().split(':').nth(1).unwrap().to_string();
    assert!(hash.starts_with("$y$") || hash.starts_with("$6$"), "{hash}");
    assert!(firstboot::crypt::verify_password(&Secret::from_text(PLAIN), &hash));
    assert!(!firstboot::crypt::verify_password(&Secret::from_text("wrong"), &hash));
    for (path, (_, bytes)) in snapshot(&b) {
        assert!(!String::from_utf8_lossy(&bytes).contains(PLAIN), "{path} holds the password");
    }
    // Two hashes of one password differ (fresh salt).
    assert_ne!(firstboot::crypt::hash_password(&Secret::from_text(PLAIN)).unwrap(), hash);

    if have_systemd_firstboot() {
        let out = Command::new("systemd-firstboot")
            .arg(format!("--root={}", a.display()))
            .arg(format!("--root-password-file={}", pwfile.display()))
            .arg("--force")
            .output()
            .unwrap();
        assert!(out.status.success());
        let mask = |root: &Path| {
            let mut s = snapshot(root);
            let sh = s.get_mut("etc/shadow").unwrap();
            let text = String::from_utf8(sh.1.clone()).unwrap();
            let h = text.lines().next().unwrap().split(':').nth(1).unwrap().to_string();
            assert!(firstboot::crypt::verify_password(&Secret::from_text(PLAIN), &h));
            sh.1 = text.replacen(&h, "HASH", 1).into_bytes();
            s
        };
        assert_same(&mask(&b), &mask(&a));
    }
}

#[test]
fn catalogs_for_the_wizard_come_from_the_target() {
    let dir = tempfile::tempdir().unwrap();
    make_tree(dir.path(), true);
    let root = &RootDir::open(dir.path()).unwrap();
    assert_eq!(catalog::keymaps(root), ["de", "fr", "us"]);
    assert_eq!(catalog::locales(root), ["de_DE.UTF-8", "en_US.UTF-8", "fr_FR"]);
    let tz = catalog::timezones(root);
    let flat: Vec<(String, Vec<String>)> = tz.into_iter().map(|r| (r.region, r.zones)).collect();
    assert_eq!(
        flat,
        [
            ("".to_string(), vec!["UTC".to_string()]),
            ("America".into(), vec!["America/New_York".into()]),
            ("Europe".into(), vec!["Europe/Berlin".into()])
        ]
    );
    // A compiled locale folder makes the locale available (normalized codeset), and then the list
    // is the compiled locales.
    write(&dir.path().join("usr/lib/locale/sv_SE.utf8/LC_CTYPE"), b"x", 0o644);
    assert!(catalog::locale_available(root, "sv_SE.UTF-8"));
    assert!(catalog::locale_available(root, "C"));
    assert!(!catalog::locale_available(root, "sv_FI.UTF-8"));
    assert_eq!(catalog::locales(root), ["sv_SE.utf8"]);
    // The host's locale archive, if there is one, parses to names that are all available.
    let host = &RootDir::open(Path::new("/")).unwrap();
    for l in catalog::installed_locales(host) {
        assert!(catalog::locale_available(host, &l), "{l}");
    }
}

/// A real glibc locale archive, built by localedef into the tree, is read: the same names as
/// `localedef --list-archive`, and a locale is available under its unnormalized name.
#[test]
fn locale_archive_names_match_localedef() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/lib/locale")).unwrap();
    let prefix = format!("--prefix={}", root.display());
    let built = Command::new("localedef").args(["-i", "de_DE", "-f", "UTF-8", &prefix, "de_DE.UTF-8"]).output();
    if !built.is_ok_and(|o| o.status.success()) {
        eprintln!("localedef cannot build de_DE.UTF-8 here; skipping");
        return;
    }
    let list = Command::new("localedef").args([&prefix, "--list-archive"]).output().unwrap();
    let expected: Vec<String> = String::from_utf8(list.stdout).unwrap().lines().map(str::to_string).collect();
    let dir = RootDir::open(root).unwrap();
    assert_eq!(catalog::locales(&dir), expected);
    assert!(catalog::locale_available(&dir, "de_DE.UTF-8"));
    assert!(catalog::locale_available(&dir, "de_DE.utf8"));
    assert!(!catalog::locale_available(&dir, "en_US.UTF-8"));
    let err = firstboot::apply(root, &Answers { locale: Some("en_US.UTF-8".into()), ..Answers::default() }, false).unwrap_err();
    assert!(err.to_string().contains("en_US.UTF-8"));
    firstboot::apply(root, &Answers { locale: Some("de_DE.UTF-8".into()), ..Answers::default() }, false).unwrap();
    assert_eq!(std::fs::read_to_string(root.join("etc/locale.conf")).unwrap(), "LANG=de_DE.UTF-8\n");
}

/// The binary: `imprint firstboot --root … --credentials-dir …` applies what the credentials say,
/// an argument wins over its credential, and a bad value fails naming it with the root unchanged.
#[test]
fn the_command_line_applies_credentials_and_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    make_tree(&root, true);
    let creds = dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("firstboot.timezone"), "Europe/Berlin").unwrap();
    std::fs::write(creds.join("system.hostname"), "from-credential").unwrap();
    let bin = env!("CARGO_BIN_EXE_imprint");
    let out = Command::new(bin)
        .arg("firstboot")
        .arg("--root")
        .arg(&root)
        .arg("--credentials-dir")
        .arg(&creds)
        .args(["--hostname", "kiosk-7"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.join("etc/hostname")).unwrap(), "kiosk-7\n");
    assert_eq!(std::fs::read_link(root.join("etc/localtime")).unwrap(), Path::new("../usr/share/zoneinfo/Europe/Berlin"));
    let before = snapshot(&root);
    let out = Command::new(bin).arg("firstboot").arg("--root").arg(&root).args(["--timezone", "Mars/Olympus", "--force"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Mars/Olympus"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(snapshot(&root), before);
}

/// `systemd-creds encrypt --with-key=tpm2-absent --name=NAME` of `value` into `dir/NAME`.
fn encrypted_credential(dir: &Path, name: &str, value: &str) {
    let mut child = Command::new("systemd-creds")
        .args(["encrypt", &format!("--name={name}"), "--with-key=tpm2-absent", "-"])
        .arg(dir.join(name))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

/// Encrypted credentials (what systemd 252 keeps in /run/credentials/@encrypted) answer what
/// plain ones leave open; plain ones win; a link, an oversized file or one encrypted under
/// another name is refused by name.
#[test]
fn encrypted_credentials_fill_what_plain_ones_leave_open() {
    let d = tempfile::tempdir().unwrap();
    let (plain, enc) = (d.path().join("plain"), d.path().join("enc"));
    std::fs::create_dir(&plain).unwrap();
    std::fs::create_dir(&enc).unwrap();
    std::fs::write(plain.join("firstboot.keymap"), "us").unwrap();
    encrypted_credential(&enc, "firstboot.keymap", "de");
    encrypted_credential(&enc, "firstboot.locale", "de_DE.UTF-8\n");
    encrypted_credential(&enc, "system.hostname", "kiosk-7");
    let args =
        FirstbootArgs { credentials_dir: Some(plain.clone()), encrypted_credentials_dir: Some(enc.clone()), ..forced_args(d.path()) };
    let ans = firstboot::cli::answers(&args).unwrap();
    assert_eq!(
        (ans.keymap.as_deref(), ans.locale.as_deref(), ans.hostname.as_deref(), ans.timezone.as_deref()),
        (Some("us"), Some("de_DE.UTF-8"), Some("kiosk-7"), None)
    );

    let refused = |what: &str| {
        let e = firstboot::cli::answers(&args).unwrap_err();
        let chain = error_chain(&e);
        assert!(chain.contains("firstboot.timezone") && chain.contains(what), "{chain}");
        std::fs::remove_file(enc.join("firstboot.timezone")).unwrap();
    };
    std::os::unix::fs::symlink(enc.join("firstboot.locale"), enc.join("firstboot.timezone")).unwrap();
    refused("is not a regular file");
    std::fs::File::create(enc.join("firstboot.timezone")).unwrap().set_len(3 << 20).unwrap();
    refused("an encrypted credential is at most");
    std::fs::copy(enc.join("system.hostname"), enc.join("firstboot.timezone")).unwrap();
    refused("does not match");
}

/// The systemd 252 drop-in's command line (a shell line, since 252 has no ImportCredential=):
/// run with `imprint` swapped for `echo` and /run/credentials/ for a scratch folder, it passes
/// --no-user always, @system as --credentials-dir and @encrypted as --encrypted-credentials-dir
/// when each exists, and $CREDENTIALS_DIRECTORY when @system does not.
#[test]
fn the_systemd_252_drop_in_hands_over_both_credential_folders() {
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/live-image/units/imprint-firstboot.service.d/systemd-252.conf"))
            .unwrap();
    let exec = unit.lines().filter_map(|l| l.strip_prefix("ExecStart=")).find(|l| !l.is_empty()).expect("an ExecStart= with a command");
    let script = exec.strip_prefix("/bin/sh -c '").and_then(|s| s.strip_suffix('\'')).expect("/bin/sh -c '…'");
    let d = tempfile::tempdir().unwrap();
    let run = d.path().join("run");
    let script =
        script.replace("$$", "$").replace("/run/credentials", &run.display().to_string()).replace("exec /usr/bin/imprint", "exec echo");
    let go = |env: Option<&str>| {
        let mut c = Command::new("sh");
        c.arg("-c").arg(&script).env_remove("CREDENTIALS_DIRECTORY");
        if let Some(e) = env {
            c.env("CREDENTIALS_DIRECTORY", e);
        }
        let out = c.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().replace(&run.display().to_string(), "RUN")
    };
    assert_eq!(go(None), "firstboot --no-user");
    assert_eq!(go(Some("/cd")), "firstboot --no-user --credentials-dir /cd");
    std::fs::create_dir_all(run.join("@encrypted")).unwrap();
    assert_eq!(go(Some("/cd")), "firstboot --no-user --credentials-dir /cd --encrypted-credentials-dir RUN/@encrypted");
    std::fs::create_dir_all(run.join("@system")).unwrap();
    assert_eq!(go(Some("/cd")), "firstboot --no-user --credentials-dir RUN/@system --encrypted-credentials-dir RUN/@encrypted");
}

/// `imprint firstboot --via files ARGS` (the binary), without the caller's credentials.
fn firstboot_bin(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_imprint"))
        .arg("firstboot")
        .args(["--via", "files"])
        .args(args)
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .unwrap()
}

/// Hostname, time zone and root password, forced, on `root`.
fn forced_answers_on(root: &Path) -> std::process::Output {
    let root = root.as_os_str();
    let args: Vec<&std::ffi::OsStr> = vec![
        "--root".as_ref(),
        root,
        "--hostname".as_ref(),
        "newhost".as_ref(),
        "--timezone".as_ref(),
        "Europe/Berlin".as_ref(),
        "--root-password-hashed".as_ref(),
        HASH.as_ref(),
        "--force".as_ref(),
    ];
    firstboot_bin(&args)
}

/// A folder standing for the host's /etc, with content the tests recognise.
fn host_etc(dir: &Path) -> PathBuf {
    let etc = dir.join("host-etc");
    write(&etc.join("shadow"), b"root:$6$host$hosthash:19000:0:99999:7:::\nhostuser:$6$host$secret:19000::::::\n", 0o640);
    write(&etc.join("passwd"), b"root:x:0:0:root:/root:/bin/bash\nhostuser:x:1000:1000::/home/hostuser:/bin/bash\n", 0o644);
    write(&etc.join("hostname"), b"the-host\n", 0o644);
    etc
}

/// A target whose `etc` is an absolute link to another folder (as if it were the host's /etc):
/// resolved inside the root, that link leads nowhere, so firstboot fails naming `etc` and the
/// other folder is byte for byte as it was. Links that loop inside the root (`etc -> /etc2`,
/// `etc2 -> /etc`) fail naming the loop. Before paths were resolved inside the root, the host
/// folder's shadow, passwd and hostname were replaced and a localtime link added to it.
#[test]
fn etc_linking_out_of_the_root_is_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let outside = host_etc(d.path());
    let root = d.path().join("root");
    make_tree(&root, false);
    std::fs::remove_dir(root.join("etc")).unwrap();
    std::os::unix::fs::symlink(&outside, root.join("etc")).unwrap();
    let before = snapshot(&outside);
    let out = forced_answers_on(&root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("etc in {}", root.display())) && err.contains("symbolic link"), "{err}");
    assert_eq!(snapshot(&outside), before);

    std::fs::remove_file(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc2", root.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("etc2")).unwrap();
    let out = forced_answers_on(&root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("in {}", root.display())) && err.contains("symbolic links loop"), "{err}");
}

/// A target whose `etc` climbs out by a relative link (`../host-etc`): inside the root `..` stops
/// at the root, so the link is the root's own `host-etc`. Missing there, firstboot fails; made
/// there, it is written there. The folder outside is untouched either way.
#[test]
fn etc_climbing_out_of_the_root_stays_inside() {
    let d = tempfile::tempdir().unwrap();
    let outside = host_etc(d.path());
    let root = d.path().join("root");
    make_tree(&root, false);
    std::fs::remove_dir(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("../host-etc", root.join("etc")).unwrap();
    let before = snapshot(&outside);
    let out = forced_answers_on(&root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("etc in {}", root.display())), "{err}");
    assert_eq!(snapshot(&outside), before);

    std::fs::create_dir(root.join("host-etc")).unwrap();
    let out = forced_answers_on(&root);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(root.join("host-etc/hostname")).unwrap(), "newhost\n");
    assert!(std::fs::read_to_string(root.join("host-etc/shadow")).unwrap().starts_with(&format!("root:{HASH}:")));
    assert_eq!(snapshot(&outside), before);
}

/// Files in the target's etc that link out of it (absolute and relative): the links are replaced,
/// not followed, and what they point at is neither changed nor read: the new shadow and passwd
/// hold none of the outside's lines (before, the outside shadow's users and hashes were copied
/// into the target's).
#[test]
fn files_linking_out_of_the_root_are_replaced_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let outside = host_etc(d.path());
    write(&outside.join("localtime-target"), b"TZif outside", 0o644);
    let root = d.path().join("root");
    make_tree(&root, false);
    let etc = root.join("etc");
    std::os::unix::fs::symlink(outside.join("localtime-target"), etc.join("localtime")).unwrap();
    std::os::unix::fs::symlink(outside.join("hostname"), etc.join("hostname")).unwrap();
    std::os::unix::fs::symlink(outside.join("shadow"), etc.join("shadow")).unwrap();
    std::os::unix::fs::symlink("../../host-etc/passwd", etc.join("passwd")).unwrap();
    let before = snapshot(&outside);
    let out = forced_answers_on(&root);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(snapshot(&outside), before);
    assert_eq!(std::fs::read_link(etc.join("localtime")).unwrap(), Path::new("../usr/share/zoneinfo/Europe/Berlin"));
    for f in ["hostname", "shadow", "passwd"] {
        assert!(std::fs::symlink_metadata(etc.join(f)).unwrap().is_file(), "etc/{f} is still a link");
    }
    assert_eq!(std::fs::read_to_string(etc.join("hostname")).unwrap(), "newhost\n");
    let shadow = std::fs::read_to_string(etc.join("shadow")).unwrap();
    let passwd = std::fs::read_to_string(etc.join("passwd")).unwrap();
    assert!(!shadow.contains("hostuser") && !shadow.contains("hosthash"), "{shadow}");
    assert_eq!(shadow.lines().count(), 1, "{shadow}");
    assert_eq!(passwd, "root:x:0:0:Super User:/root:/bin/bash\n");
}

/// A credentials folder others could have filled is refused by name: writable by group or others,
/// owned by another user, a link, or missing. A root-owned 0500 folder with 0400 files (as
/// systemd makes /run/credentials/<unit>) and a 0700 one are read.
#[test]
fn credentials_folders_are_checked() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    make_tree(&root, true);
    let creds = d.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    write(&creds.join("firstboot.hostname"), b"from-credential\n", 0o400);
    let run = |flag: &str, dir: &Path| {
        let args: Vec<&std::ffi::OsStr> = vec!["--root".as_ref(), root.as_os_str(), flag.as_ref(), dir.as_os_str(), "--force".as_ref()];
        let out = firstboot_bin(&args);
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let before = snapshot(&root);
    let refused = |flag: &str, dir: &Path, why: &str| {
        let (ok, err) = run(flag, dir);
        assert!(!ok, "{flag} {} was accepted", dir.display());
        assert!(err.contains(&format!("credentials folder {}", dir.display())) && err.contains(why), "{err}");
        assert_eq!(snapshot(&root), before);
    };
    let chmod = |mode: u32| std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(mode)).unwrap();
    for flag in ["--credentials-dir", "--encrypted-credentials-dir"] {
        chmod(0o777);
        refused(flag, &creds, "mode 0777");
        chmod(0o770);
        refused(flag, &creds, "mode 0770");
        chmod(0o700);
        std::os::unix::fs::chown(&creds, Some(65534), None).unwrap();
        refused(flag, &creds, "owned by uid 65534");
        std::os::unix::fs::chown(&creds, Some(0), None).unwrap();
        refused(flag, &d.path().join("missing"), "does not exist");
        std::os::unix::fs::symlink(&creds, d.path().join("link")).unwrap();
        refused(flag, &d.path().join("link"), "symbolic link");
        std::fs::remove_file(d.path().join("link")).unwrap();
    }
    for mode in [0o500, 0o700] {
        chmod(mode);
        let (ok, err) = run("--credentials-dir", &creds);
        assert!(ok, "{err}");
        assert_eq!(std::fs::read_to_string(root.join("etc/hostname")).unwrap(), "from-credential\n");
        std::fs::remove_file(root.join("etc/hostname")).unwrap();
    }
}
