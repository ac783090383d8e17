//! `imprint firstboot` on a running system, through the real systemd-localed, -timedated and
//! -hostnamed of this machine (systemd 252). The outer test starts them with a dbus-daemon in a
//! private mount namespace where /etc and /usr are overlays (what the daemons write, and the locales
//! Debian's localed generates, stay in a temporary upper layer) and /run is a tmpfs, then runs the
//! inner test inside it.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use imprint::firstboot::bus::{Daemon, Daemons};

const INSIDE: &str = "IMPRINT_FIRSTBOOT_BUS_INSIDE";

const SCRIPT: &str = r#"
T="$1"; BIN="$2"
PIDS=
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null; done; }
trap 'cleanup; exit 99' INT TERM HUP
mkdir -p "$T/usr-up" "$T/usr-work" "$T/etc-up" "$T/etc-work"
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$T/usr-up,workdir=$T/usr-work" /usr || exit 90
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/etc-up,workdir=$T/etc-work" /etc || exit 90
mount -t tmpfs tmpfs /run || exit 90
# this machine has no kbd keymaps; the daemons and imprint both look for them here
mkdir -p /usr/share/keymaps/i386/qwertz /usr/share/keymaps/i386/azerty
echo "keymaps 0-2" | gzip >/usr/share/keymaps/i386/qwertz/de.map.gz
echo "keymaps 0-2" | gzip >/usr/share/keymaps/i386/azerty/fr.map.gz
mkdir -p /run/dbus
dbus-daemon --system --fork --print-pid=3 3>"$T/dpid" >"$T/dbus.log" 2>&1 || exit 91
PIDS=$(cat "$T/dpid"); echo "$PIDS" >"$T/pids"
dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$T/eaddr" 4>"$T/epid" >>"$T/dbus.log" 2>&1 || { cleanup; exit 92; }
PIDS="$PIDS $(cat "$T/epid")"; echo "$PIDS" >"$T/pids"
for d in localed timedated hostnamed; do
  /lib/systemd/systemd-$d >>"$T/daemons.log" 2>&1 &
  PIDS="$PIDS $!"; echo "$PIDS" >"$T/pids"
done
IMPRINT_FIRSTBOOT_BUS_INSIDE="$T" IMPRINT_EMPTY_BUS="$(cat "$T/eaddr")" \
  "$BIN" --exact inner_settings_through_the_daemons --nocapture --test-threads=1
rc=$?
cleanup
exit $rc
"#;

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = root
        && ["/lib/systemd/systemd-localed", "/lib/systemd/systemd-timedated", "/lib/systemd/systemd-hostnamed", "/usr/bin/dbus-daemon"]
            .iter()
            .all(|p| Path::new(p).exists());
    // a missing daemon or privilege is a failure with the reason, never a skip
    assert!(
        ok,
        "this test needs root, dbus-daemon and systemd's localed, timedated and hostnamed (`make test` installs systemd-homed and dbus; run as root)"
    );
    ok
}

#[test]
fn firstboot_through_localed_timedated_hostnamed() {
    if std::env::var_os(INSIDE).is_some() || !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_in_mount_namespace(SCRIPT, dir.path(), 240);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let daemons = std::fs::read_to_string(dir.path().join("daemons.log")).unwrap_or_default();
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "inner test failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}\ndaemons:\n{daemons}",
        out.status
    );
    // What the daemons did is on the record: they, not imprint, changed the settings.
    assert!(daemons.contains("Changed locale to 'LANG=fr_FR.UTF-8'") || daemons.contains("LANG=fr_FR.UTF-8"), "{daemons}");
    assert!(daemons.contains("Europe/Berlin"), "{daemons}");
}

fn imprint(args: &[&str], bus: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_imprint"));
    c.arg("firstboot").args(args).env_remove("CREDENTIALS_DIRECTORY");
    if let Some(b) = bus {
        c.env("DBUS_SYSTEM_BUS_ADDRESS", b);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn locale_file() -> String {
    // Debian's localed writes /etc/default/locale, upstream's /etc/locale.conf
    std::fs::read_to_string("/etc/locale.conf").or_else(|_| std::fs::read_to_string("/etc/default/locale")).unwrap_or_default()
}

/// Runs only inside the namespace that the test above sets up.
#[test]
fn inner_settings_through_the_daemons() {
    let Some(_t) = std::env::var_os(INSIDE) else { return };
    let empty_bus = std::env::var("IMPRINT_EMPTY_BUS").unwrap();

    let daemons = Daemons::connect(None).unwrap();
    let t0 = std::time::Instant::now();
    while !Daemon::ALL.iter().all(|d| daemons.ping(*d).is_ok()) {
        assert!(t0.elapsed().as_secs() < 30, "the daemons did not come up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Everything through the daemons.
    let o = imprint(&["--locale=fr_FR.UTF-8", "--keymap=de", "--timezone=Europe/Berlin", "--hostname=kiosk-7", "--force"], None);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for line in [
        "set /etc/locale.conf through org.freedesktop.locale1",
        "set /etc/vconsole.conf through org.freedesktop.locale1",
        "set /etc/localtime through org.freedesktop.timedate1",
        "set /etc/hostname through org.freedesktop.hostname1",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_eq!(daemons.locale().unwrap(), vec!["LANG=fr_FR.UTF-8".to_string()]);
    assert_eq!(daemons.keymap().unwrap(), "de");
    assert_eq!(daemons.timezone().unwrap(), "Europe/Berlin");
    assert_eq!(daemons.static_hostname().unwrap(), "kiosk-7");
    assert!(locale_file().contains("LANG=fr_FR.UTF-8"), "{}", locale_file());
    assert!(std::fs::read_to_string("/etc/vconsole.conf").unwrap().contains("KEYMAP=de\n"));
    assert_eq!(std::fs::read_link("/etc/localtime").unwrap(), Path::new("../usr/share/zoneinfo/Europe/Berlin"));
    assert_eq!(std::fs::read_to_string("/etc/hostname").unwrap(), "kiosk-7\n");

    // Without --force, what the daemons report is kept.
    let o = imprint(&["--locale=de_DE.UTF-8", "--keymap=fr", "--timezone=America/New_York", "--hostname=other"], None);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    assert_eq!(out.matches("(already set; --force replaces it)").count(), 4, "{out}");
    assert_eq!(daemons.keymap().unwrap(), "de");
    assert_eq!(daemons.static_hostname().unwrap(), "kiosk-7");

    // A bad value is refused before any daemon is asked.
    let o = imprint(&["--keymap=fr", "--hostname=bad..name", "--force"], None);
    assert!(!o.status.success());
    assert!(text(&o).contains("\"bad..name\""), "{}", text(&o));
    assert_eq!(daemons.keymap().unwrap(), "de");

    // --via bus is for the running system only.
    let other = tempfile::tempdir().unwrap();
    let o = imprint(&["--via=bus", "--hostname=x", &format!("--root={}", other.path().display())], None);
    assert!(!o.status.success() && text(&o).contains("--via files"), "{}", text(&o));

    // A bus on which the daemons do not answer: --via bus says which one; auto writes files.
    let o = imprint(&["--via=bus", "--hostname=filehost", "--force"], Some(&empty_bus));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("systemd-hostnamed (org.freedesktop.hostname1) does not answer"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string("/etc/hostname").unwrap(), "kiosk-7\n");
    let o = imprint(&["--hostname=filehost", "--force"], Some(&empty_bus));
    assert!(o.status.success() && text(&o).contains("wrote /etc/hostname"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string("/etc/hostname").unwrap(), "filehost\n");

    // --via files on the running root writes the files itself, as systemd-firstboot would.
    let o = imprint(&["--via=files", "--keymap=fr", "--force"], None);
    assert!(o.status.success() && text(&o).contains("wrote /etc/vconsole.conf"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string("/etc/vconsole.conf").unwrap(), "KEYMAP=fr\n");
}
