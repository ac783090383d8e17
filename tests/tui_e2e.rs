//! End to end: the real `imprint demo` binary in a pseudo-terminal (tmux), driven by keys from the
//! first page to the done page, with a software TPM; then the target image is checked: its
//! partition table, the copied /usr bytes equal to the source's, and the recovery key that was on
//! the screen opens the root partition's keyslot. No secret may reach the installer's log.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(dir: &Path, cmd: &str) -> Tmux {
        // one tmux server per test: tests run in parallel, and each kills its server at the end
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let t = Tmux { socket: format!("imprint-e2e-{}-{n}", std::process::id()) };
        let o = t.run(&["new-session", "-d", "-x", "100", "-y", "32", "-s", "e2e", "-c", &dir.display().to_string(), cmd]);
        assert!(o.status.success(), "tmux: {}", String::from_utf8_lossy(&o.stderr));
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux is installed")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    /// Waits until the screen shows `text`; returns the screen.
    fn wait_for(&self, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(Instant::now() < deadline, "waited {secs}s for {text:?}; the screen:\n{s}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn sfdisk_json(image: &Path) -> serde_json::Value {
    let o = Command::new("sfdisk").arg("--json").arg(image).output().unwrap();
    assert!(o.status.success(), "sfdisk: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// (start, size) in bytes of partition `n` (1-based).
fn part(table: &serde_json::Value, n: usize) -> (u64, u64) {
    let p = &table["partitiontable"]["partitions"][n - 1];
    (p["start"].as_u64().unwrap() * 512, p["size"].as_u64().unwrap() * 512)
}

fn read_range(path: &Path, start: u64, len: u64) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, start).unwrap();
    buf
}

/// The tools these tests drive: missing ones are a failure with the reason, never a skip.
fn require_tools() {
    for t in ["tmux", "swtpm", "tpm2_pcrextend", "sfdisk", "cryptsetup"] {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {t}")).output().is_ok_and(|o| o.status.success());
        assert!(found, "{t} is missing: `make test` installs tmux, swtpm, tpm2-tools, fdisk and cryptsetup-bin");
    }
}

#[test]
fn the_demo_installer_from_first_page_to_done() {
    require_tools();
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let bin = env!("CARGO_BIN_EXE_imprint");
    let cmd = format!("LANG=C.UTF-8 TERM=xterm-256color {bin} demo --dir {} ; echo imprint-exited-$?; sleep 600", demo.display());
    let t = Tmux::new(dir.path(), &cmd);

    t.wait_for("Which language", 120);
    assert!(t.screen().contains("DEMO"), "no demo marker in the title bar:\n{}", t.screen());
    t.keys(&["Enter"]);
    t.wait_for("Keyboard", 10);
    t.keys(&["Enter"]);
    let s = t.wait_for("fits", 30);
    assert!(s.contains("target.img"), "{s}");
    // The machine's own disks are listed, and cannot be chosen in the demo.
    assert!(s.contains("can't be used"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("TPM", 10);
    assert!(!s.contains("not available"), "the demo's swtpm is not usable:\n{s}");
    t.keys(&["Enter"]);

    // The recovery key: read it off the screen, type group 3 back.
    let s = t.wait_for("Group 3", 10);
    let flat: String = s.lines().map(|l| l.trim_matches(|c: char| c == '│' || c == '|' || c.is_whitespace())).collect::<Vec<_>>().join(" ");
    let key: String = flat
        .split(|c: char| !(c.is_ascii_lowercase() || c == '-'))
        .filter(|w| w.len() >= 8 && w.contains('-'))
        .collect::<Vec<_>>()
        .join("");
    let groups: Vec<&str> = key.split('-').filter(|g| !g.is_empty()).collect();
    assert_eq!(groups.len(), 8, "recovery key not readable from the screen ({key:?}):\n{s}");
    let key = groups.join("-");
    // Tab shows the QR code alone; as the terminal shows it, it decodes to the key on the page.
    t.keys(&["Tab"]);
    let s = t.wait_for("Press any key", 10);
    assert!(!s.contains("Group 3"), "the page is still drawn under the code:\n{s}");
    assert_eq!(decode_screen_qr(&s), key, "the QR code on the screen is not the key:\n{s}");
    t.keys(&["-l", "x"]);
    let s = t.wait_for("Group 3", 10);
    assert!(!s.contains("[x"), "the key that left the code was typed into the field:\n{s}");
    // A wrong group is refused.
    t.keys(&["-l", "aaaaaaaa"]);
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(t.screen().contains("Group 3"), "a wrong group was accepted:\n{}", t.screen());
    t.keys(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace"]);
    t.keys(&["-l", groups[2]]);
    t.keys(&["Enter"]);

    // The summary: nothing starts until the disk's name is typed.
    let s = t.wait_for("target.img", 20);
    assert!(s.contains("Summary"), "{s}");
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!demo.join("target.img").exists(), "the install started without the typed confirmation");
    t.keys(&["-l", "target.img"]);
    t.keys(&["Enter"]);
    t.wait_for("Installing", 20);
    let s = t.wait_for("The system is installed", 600);
    assert!(s.contains("TPM") && s.contains("recovery key"), "{s}");
    assert!(!s.contains("failed"), "{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("imprint-exited-", 30);
    assert!(s.contains("imprint-exited-0"), "{s}");

    // The target image: the demo layout, /usr copied byte for byte.
    let target = demo.join("target.img");
    let table = sfdisk_json(&target);
    let types: Vec<&str> = table["partitiontable"]["partitions"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",
            "8484680C-9521-48C6-9C11-B0720656F69E",
            "8484680C-9521-48C6-9C11-B0720656F69E",
            "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
        ]
    );
    let source = demo.join("source.img");
    let stable = sfdisk_json(&source);
    let (s_off, s_len) = part(&stable, 2);
    let (t_off, t_len) = part(&table, 2);
    assert!(t_len >= s_len);
    assert!(read_range(&source, s_off, s_len) == read_range(&target, t_off, s_len), "/usr differs from the source");

    // The key that was on the screen opens the root partition's recovery keyslot.
    let (r_off, _) = part(&table, 4);
    let header = dir.path().join("root-header");
    std::fs::write(&header, read_range(&target, r_off, 16 << 20)).unwrap();
    let keyfile = dir.path().join("key");
    std::fs::write(&keyfile, &key).unwrap();
    let o = Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file"]).arg(&keyfile).arg(&header).output().unwrap();
    assert!(o.status.success(), "the recovery key shown does not open the disk: {}", String::from_utf8_lossy(&o.stderr));

    // No secret in the log.
    let log = std::fs::read_to_string(demo.join("imprint.log")).unwrap_or_default();
    assert!(!log.contains(&key) && !log.contains(groups[0]), "the recovery key is in the log");
}

#[test]
fn the_plain_demo_asks_line_by_line_and_installs() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    // language 1, the default keymap, disk 1 (the demo image), no encryption; a wrong name first
    let answers = "1\n\n9\n1\n4\nwrong\ntarget.img\n";
    let out = common::run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_imprint")).args(["--plain", "demo", "--dir"]).arg(&demo).env("LANG", "C.UTF-8"),
        answers.as_bytes(),
    );
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    for needle in
        ["Which language", "1. English", "Type one of the numbers 1 to", "fits", "Type target.img exactly", "The system is installed"]
    {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // no drawing: no escape sequences, no box characters
    assert!(!text.contains('\u{1b}') && !text.contains('│'), "{text}");
    let table = sfdisk_json(&demo.join("target.img"));
    assert_eq!(table["partitiontable"]["partitions"].as_array().unwrap().len(), 4);
}

#[test]
fn plain_input_that_ends_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out =
        common::run_with_stdin(Command::new(env!("CARGO_BIN_EXE_imprint")).args(["--plain", "demo", "--dir"]).arg(&demo), b"1\n\n1\n4\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was installed"));
    assert!(!demo.join("target.img").exists());
}

/// A small target for the first-boot wizard: zones, two locales, a keymap, root without a
/// password, the host's group files for useradd.
fn firstboot_tree(root: &Path) {
    for d in ["etc", "usr/share/i18n", "usr/share/keymaps/i386/qwertz", "usr/share/keymaps/i386/qwerty", "bin", "usr/share/zoneinfo/Europe"]
    {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    for z in ["Europe/Berlin", "Europe/Paris", "UTC"] {
        std::fs::copy(Path::new("/usr/share/zoneinfo").join(z), root.join("usr/share/zoneinfo").join(z)).unwrap();
    }
    std::fs::write(root.join("usr/share/i18n/SUPPORTED"), "de_DE.UTF-8 UTF-8\nen_US.UTF-8 UTF-8\n").unwrap();
    std::fs::write(root.join("usr/share/keymaps/i386/qwertz/de.map.gz"), b"\x1f\x8b").unwrap();
    std::fs::write(root.join("usr/share/keymaps/i386/qwerty/us.map.gz"), b"\x1f\x8b").unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
    for f in ["group", "gshadow", "login.defs"] {
        let _ = std::fs::copy(Path::new("/etc").join(f), root.join("etc").join(f));
    }
    std::fs::copy("/bin/bash", root.join("bin/bash")).unwrap();
}

#[test]
fn the_firstboot_wizard_sets_up_a_root() {
    require_tools();
    const ROOT_PW: &str = "Root-pw-e2e-5531";
    const USER_PW: &str = "User-pw-e2e-7742";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    firstboot_tree(&root);
    let bin = env!("CARGO_BIN_EXE_imprint");
    let cmd = format!(
        "LANG=C.UTF-8 TERM=linux {bin} firstboot --root {} --prompt --via files; echo imprint-exited-$?; sleep 600",
        root.display()
    );
    let t = Tmux::new(dir.path(), &cmd);
    let s = t.wait_for("Which language", 30);
    // TERM=linux: ASCII only
    assert!(s.is_ascii(), "non-ASCII on a Linux console:\n{s}");
    t.keys(&["Enter"]);
    t.wait_for("Keyboard", 10);
    t.keys(&["Enter"]);
    t.wait_for("Time zone", 10);
    t.keys(&["-l", "Paris"]);
    t.wait_for("Europe / Paris", 10);
    t.keys(&["Enter"]);
    t.wait_for("ost name", 10);
    t.keys(&["Enter"]);
    t.wait_for("root", 10);
    t.keys(&["-l", ROOT_PW]);
    t.keys(&["Tab"]);
    t.keys(&["-l", ROOT_PW]);
    t.keys(&["Enter"]);
    // this machine runs no homed here: the classic user is offered
    let s = t.wait_for("/etc/passwd", 10);
    assert!(!s.contains(ROOT_PW), "a password is on the screen");
    t.keys(&["-l", "anna"]);
    t.keys(&["Tab"]);
    t.keys(&["-l", "Anna Test"]);
    t.keys(&["Tab"]);
    t.keys(&["-l", USER_PW]);
    t.keys(&["Tab"]);
    t.keys(&["-l", USER_PW]);
    t.keys(&["Enter"]);
    let s = t.wait_for("Europe/Paris", 10);
    assert!(!s.contains(USER_PW) && !s.contains(ROOT_PW), "{s}");
    t.keys(&["Enter"]);
    t.wait_for("created the user anna", 60);
    t.keys(&["Enter"]);
    let s = t.wait_for("imprint-exited-", 10);
    assert!(s.contains("imprint-exited-0"), "{s}");

    let etc = root.join("etc");
    assert_eq!(std::fs::read_to_string(etc.join("locale.conf")).unwrap(), "LANG=en_US.UTF-8\n");
    assert_eq!(std::fs::read_link(etc.join("localtime")).unwrap(), Path::new("../usr/share/zoneinfo/Europe/Paris"));
    assert!(std::fs::read_to_string(etc.join("hostname")).unwrap().trim_end().len() > 1);
    let shadow = std::fs::read_to_string(etc.join("shadow")).unwrap();
    assert!(shadow.starts_with("root:$y$") || shadow.starts_with("root:$6$"), "{shadow}");
    assert!(std::fs::read_to_string(etc.join("passwd")).unwrap().contains("anna:x:"));
    let o = Command::new("grep").args(["-rlaF", ROOT_PW]).arg(&root).output().unwrap();
    assert!(o.stdout.is_empty(), "the root password is stored in the clear");
    let o = Command::new("grep").args(["-rlaF", USER_PW]).arg(&root).output().unwrap();
    assert!(o.stdout.is_empty(), "the user's password is stored in the clear");
}

/// The kiosk's PIN: 4321, hashed with yescrypt (the only method a PIN= may use).
fn kiosk_pin_hash() -> String {
    imprint::firstboot::crypt::hash_password(&imprint::secret::Secret::from_text("4321")).unwrap()
}

#[test]
fn the_kiosk_reset_menu_erases_the_state_behind_a_pin() {
    require_tools();
    const MARKER: &[u8] = b"IMPRINT-KIOSK-STATE-MARKER-99d1";
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("kiosk");
    let defs = profile.join("repart.d");
    std::fs::create_dir_all(&defs).unwrap();
    std::fs::write(defs.join("00-esp.conf"), "[Partition]\nType=esp\nFormat=vfat\nSizeMinBytes=64M\nSizeMaxBytes=64M\n").unwrap();
    std::fs::write(defs.join("50-root.conf"), "[Partition]\nType=root\nFormat=ext4\nFactoryReset=yes\nSizeMinBytes=64M\n").unwrap();
    std::fs::write(profile.join("profile.conf"), format!("[Profile]\nName=testkiosk\n\n[Reset]\nShowMenu=yes\nPIN={}\n", kiosk_pin_hash()))
        .unwrap();
    let image = dir.path().join("kiosk.img");
    let bin = env!("CARGO_BIN_EXE_imprint");
    let o = Command::new(bin)
        .args(["install", "--definitions"])
        .arg(&defs)
        .arg("--target")
        .arg(&image)
        .args(["--target-size", "256M", "--yes", "--progress", "json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (root_off, root_len) = part(&sfdisk_json(&image), 2);
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
        for at in [root_off + (8 << 20), root_off + root_len - 4096] {
            f.write_all_at(MARKER, at).unwrap();
        }
    }
    let esp_before = read_range(&image, part(&sfdisk_json(&image), 1).0, 64 << 20);

    let cmd = format!(
        "LANG=C.UTF-8 TERM=xterm-256color {bin} reset --profile {} --image {} --pin-state {}; echo imprint-exited-$?; sleep 600",
        profile.display(),
        image.display(),
        dir.path().join("pin-failures").display()
    );
    let t = Tmux::new(dir.path(), &cmd);
    t.wait_for("Type the PIN", 30);
    t.keys(&["-l", "1111"]);
    t.keys(&["Enter"]);
    t.wait_for("Wrong PIN", 10);
    t.keys(&["-l", "4321"]);
    t.keys(&["Enter"]);
    let s = t.wait_for("Factory reset", 10);
    assert!(s.contains("kiosk.img"), "the menu does not name the disk:\n{s}");
    t.keys(&["Enter"]);
    let s = t.wait_for("type ERASE", 10);
    assert!(s.contains("root-x86-64") && s.contains("esp"), "erase/keep lists missing:\n{s}");
    // nothing happens before the word
    t.keys(&["-l", "erase"]);
    t.keys(&["Enter"]);
    std::thread::sleep(Duration::from_millis(500));
    assert!(t.screen().contains("That is not ERASE"), "{}", t.screen());
    t.keys(&["BSpace", "BSpace", "BSpace", "BSpace", "BSpace"]);
    t.keys(&["-l", "ERASE"]);
    t.keys(&["Enter"]);
    t.wait_for("recorded on the EFI system partition", 60);
    t.keys(&["Enter"]);
    let s = t.wait_for("imprint-exited-", 20);
    assert!(s.contains("imprint-exited-0"), "{s}");

    let bytes = std::fs::read(&image).unwrap();
    assert!(!bytes.windows(MARKER.len()).any(|w| w == MARKER), "the state survived the reset");
    // the ESP is kept, apart from the reset log added to it
    let table = sfdisk_json(&image);
    assert_eq!(table["partitiontable"]["partitions"].as_array().unwrap().len(), 2);
    let (esp_off, _) = part(&table, 1);
    assert_eq!(esp_off, part(&sfdisk_json(&image), 1).0);
    let o =
        Command::new("mtype").arg("-i").arg(format!("{}@@{esp_off}", image.display())).arg("::/loader/imprint-reset.log").output().unwrap();
    let log = String::from_utf8_lossy(&o.stdout);
    assert!(log.contains("factory reset, erased: partition 2"), "no reset log line on the ESP: {log}");
    assert_ne!(read_range(&image, esp_off, 64 << 20), esp_before, "the log line is on the ESP");
}

#[test]
fn the_plain_firstboot_wizard_asks_line_by_line() {
    const PW: &str = "Plain-root-pw-3318";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    firstboot_tree(&root);
    // English, keymap us, a zone found by searching first, the suggested host name, a root
    // password (mismatched once), user anna (an invalid name first), administrator
    let answers = format!("1\nus\nParis\nEurope/Paris\n\n1\n{PW}\nother\n{PW}\n{PW}\nAnna\nanna\nAnna Test\nuser-pw-1\nuser-pw-1\n1\n");
    let out = common::run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_imprint"))
            .args(["--plain", "firstboot", "--prompt", "--via", "files", "--root"])
            .arg(&root)
            .env("LANG", "C.UTF-8"),
        answers.as_bytes(),
    );
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Europe/Paris") && text.contains("created the user anna"), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains(PW), "{text}");
    assert_eq!(std::fs::read_link(root.join("etc/localtime")).unwrap(), Path::new("../usr/share/zoneinfo/Europe/Paris"));
    assert!(std::fs::read_to_string(root.join("etc/shadow")).unwrap().starts_with("root:$"));
}

#[test]
fn the_first_user_is_asked_separately_after_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    firstboot_tree(&root);
    let run = |args: &[&str], input: &str| {
        let out = common::run_with_stdin(
            Command::new(env!("CARGO_BIN_EXE_imprint"))
                .args(["--plain", "firstboot", "--via", "files", "--root"])
                .arg(&root)
                .args(args)
                .env("LANG", "C.UTF-8")
                .env_remove("CREDENTIALS_DIRECTORY"),
            input.as_bytes(),
        );
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{text}");
        text
    };
    // early boot (imprint-firstboot.service): everything but the user
    let text = run(&["--prompt", "--no-user"], "1\nus\nUTC\n\n2\n");
    assert!(!text.contains("User name"), "{text}");
    assert!(root.join("etc/locale.conf").exists());
    assert!(!std::fs::read_to_string(root.join("etc/passwd")).unwrap().contains("anna"));
    // after homed (imprint-firstboot-user.service): only the user
    let text = run(&["--user-only"], "anna\nAnna\npw-anna-1\npw-anna-1\n2\n");
    assert!(!text.contains("Which language") && !text.contains("Time zone"), "{text}");
    assert!(std::fs::read_to_string(root.join("etc/passwd")).unwrap().contains("anna:x:"));
}

/// The text of the QR code drawn in half blocks on `screen` (light on dark: ink is a light
/// module), read with a QR decoder.
fn decode_screen_qr(screen: &str) -> String {
    let rows: Vec<Vec<char>> = screen.lines().filter(|l| l.contains(['█', '▀', '▄'])).map(|l| l.chars().collect()).collect();
    assert!(rows.len() >= 15, "no QR code on the screen:\n{screen}");
    let left = rows.iter().filter_map(|r| r.iter().position(|c| "█▀▄".contains(*c))).min().unwrap();
    let right = rows.iter().filter_map(|r| r.iter().rposition(|c| "█▀▄".contains(*c))).max().unwrap();
    // two module rows per line: (top, bottom) light
    let light: Vec<Vec<bool>> = rows
        .iter()
        .flat_map(|r| {
            let half = |top: bool| {
                (left..=right)
                    .map(|x| match r.get(x).copied().unwrap_or(' ') {
                        '█' => true,
                        '▀' => top,
                        '▄' => !top,
                        _ => false,
                    })
                    .collect::<Vec<bool>>()
            };
            [half(true), half(false)]
        })
        .collect();
    let (scale, margin) = (4usize, 4usize);
    let (w, h) = ((light[0].len() + 2 * margin) * scale, (light.len() + 2 * margin) * scale);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let (r, c) = ((y / scale) as isize - margin as isize, (x / scale) as isize - margin as isize);
        let lit = r >= 0 && c >= 0 && light.get(r as usize).and_then(|row| row.get(c as usize)).copied().unwrap_or(false);
        if lit { 255 } else { 0 }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "{} QR codes found on the screen:\n{screen}", grids.len());
    grids[0].decode().expect("the QR code on the screen decodes").1
}
