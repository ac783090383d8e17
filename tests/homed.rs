//! systemd-homed for real: the outer test starts dbus-daemon and systemd-homed in a private mount
//! namespace (tmpfs on /run, /home and /var/lib/systemd/home) and runs the inner test inside it,
//! then greps every output and log for the test password.

mod common;

use std::path::Path;
use std::process::Command;

use imprint::homed::cli::{UserCreateArgs, run_create};
use imprint::homed::{self, HomedError, NewUser, Storage};
use imprint::secret::Secret;

const PASSWORD: &str = "Imprint-homed-Pw-4c9e71";
const INSIDE: &str = "IMPRINT_HOMED_TEST_INSIDE";
const HOMED: &str = "/lib/systemd/systemd-homed";

const SCRIPT: &str = r#"
T="$1"; BIN="$2"
DPID=; EPID=; HPID=
cleanup() { for p in $HPID $DPID $EPID; do kill "$p" 2>/dev/null; done; }
trap 'cleanup; exit 99' INT TERM HUP
mkdir -p /var/lib/systemd/home
mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /home && mount -t tmpfs tmpfs /var/lib/systemd/home || exit 90
mkdir -p /run/dbus
dbus-daemon --system --fork --print-pid=3 3>"$T/dpid" >"$T/dbus.log" 2>&1 || exit 91
DPID=$(cat "$T/dpid"); echo "$DPID" >"$T/pids"
dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$T/eaddr" 4>"$T/epid" >>"$T/dbus.log" 2>&1 || { cleanup; exit 92; }
EPID=$(cat "$T/epid"); echo "$EPID" >>"$T/pids"
# at its default log level: at debug, homed's worker dumps whole user records, secret section
# included, to its log (systemd's behaviour, not imprint's; seen once in CI)
/lib/systemd/systemd-homed >"$T/homed.log" 2>&1 &
HPID=$!; echo "$HPID" >>"$T/pids"
IMPRINT_HOMED_TEST_INSIDE="$T" IMPRINT_HOMED_TEST_EMPTY_BUS="$(cat "$T/eaddr")" \
  "$BIN" --exact inner_homed_create_and_read_back --nocapture --test-threads=1
rc=$?
cleanup
exit $rc
"#;

fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let ok = root && Path::new(HOMED).exists() && Path::new("/usr/bin/dbus-daemon").exists();
    // a missing daemon or privilege is a failure with the reason, never a skip
    assert!(ok, "this test needs root, {HOMED} and dbus-daemon (`make test` installs systemd-homed and dbus; run as root)");
    ok
}

#[test]
fn homed_for_real() {
    if std::env::var_os(INSIDE).is_some() || !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("password"), format!("{PASSWORD}\n")).unwrap();
    let out = common::run_in_mount_namespace(SCRIPT, dir.path(), 180);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let homed_log = std::fs::read_to_string(dir.path().join("homed.log")).unwrap_or_default();
    let dbus_log = std::fs::read_to_string(dir.path().join("dbus.log")).unwrap_or_default();
    let all = format!("{stdout}\n{stderr}\n{homed_log}\n{dbus_log}");
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "inner test failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}\nhomed:\n{homed_log}",
        out.status
    );
    assert!(homed_log.contains("imprinttest"), "homed never saw the user:\n{homed_log}");
    assert!(!all.contains(PASSWORD), "the password leaked into output or logs:\n{all}");
}

/// Runs only inside the namespace that `homed_for_real` sets up.
#[test]
fn inner_homed_create_and_read_back() {
    let Some(t) = std::env::var_os(INSIDE) else { return };
    let t = Path::new(&t);
    let empty_bus = std::env::var("IMPRINT_HOMED_TEST_EMPTY_BUS").unwrap();

    // A bus without homed: said clearly, with the classic fallback named.
    assert!(!homed::homed_available(Some(&empty_bus)));
    let u = NewUser { name: "nobodyhere".into(), real_name: None, password: None, storage: Storage::Directory, admin: false };
    let e = homed::create_home(Some(&empty_bus), &u).unwrap_err();
    assert!(matches!(e, HomedError::NotRunning), "{e:?}");
    assert!(e.to_string().contains("/etc/passwd"), "{e}");

    let t0 = std::time::Instant::now();
    while !homed::homed_available(None) {
        assert!(t0.elapsed().as_secs() < 20, "systemd-homed did not come up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(homed::list_homes(None).unwrap().is_empty());

    // No device-mapper here, so the default storage must not be LUKS.
    assert_eq!(Storage::default_for_system(), Storage::Directory);

    // Create through the command's own code path.
    let args = UserCreateArgs {
        name: Some("imprinttest".into()),
        from_credentials: false,
        credentials_dir: None,
        real_name: Some("Imprint Test".into()),
        password_file: Some(t.join("password")),
        storage: Some(Storage::Directory),
        admin: true,
        classic: false,
        root: std::path::PathBuf::from("/"),
        bus_address: None,
    };
    run_create(&args).unwrap();

    let homes = homed::list_homes(None).unwrap();
    assert_eq!(homes.len(), 1, "{homes:?}");
    let h = &homes[0];
    assert_eq!((h.name.as_str(), h.real_name.as_str()), ("imprinttest", "Imprint Test"));
    assert!((60001..=60513).contains(&h.uid), "{h:?}");
    assert_eq!(h.home_dir, "/home/imprinttest");

    let (rec, incomplete) = homed::user_record_by_name(None, "imprinttest").unwrap();
    assert!(!incomplete, "root gets the whole record");
    assert_eq!(rec["userName"], "imprinttest");
    assert_eq!(rec["realName"], "Imprint Test");
    assert_eq!(rec["disposition"], "regular");
    assert_eq!(rec["storage"], "directory");
    assert_eq!(rec["memberOf"], serde_json::json!(["wheel"]));
    assert!(rec.get("secret").is_none());
    let hash = rec["privileged"]["hashedPassword"][0].as_str().unwrap();
    assert!(hash.starts_with("$y$") || hash.starts_with("$6$"), "{hash}");
    let sig = &rec["signature"][0];
    assert!(sig["data"].as_str().is_some_and(|d| !d.is_empty()), "{rec}");
    assert!(sig["key"].as_str().is_some_and(|k| k.contains("BEGIN PUBLIC KEY")), "{rec}");

    // The home directory, with the signed identity inside.
    let homedir = Path::new("/home/imprinttest.homedir");
    assert!(homedir.is_dir());
    let identity: serde_json::Value = serde_json::from_slice(&std::fs::read(homedir.join(".identity")).unwrap()).unwrap();
    assert_eq!(identity["userName"], "imprinttest");
    assert!(identity["signature"].is_array() && identity.get("secret").is_none());

    // A second create of the same name, and a name the system already has, are "exists".
    let again = NewUser {
        name: "imprinttest".into(),
        real_name: None,
        password: Some(Secret::from_text(PASSWORD)),
        storage: Storage::Directory,
        admin: false,
    };
    let e = homed::create_home(None, &again).unwrap_err();
    assert!(matches!(&e, HomedError::Exists(n) if n == "imprinttest"), "{e:?}");
    assert!(e.to_string().contains("already exists"), "{e}");
    let e = homed::create_home(None, &NewUser { name: "root".into(), ..again }).unwrap_err();
    assert!(matches!(&e, HomedError::Exists(n) if n == "root"), "{e:?}");
    let e = homed::create_home(
        None,
        &NewUser { name: "9bad".into(), real_name: None, password: None, storage: Storage::Directory, admin: false },
    )
    .unwrap_err();
    assert!(matches!(e, HomedError::InvalidName(_)), "{e:?}");
    assert_eq!(homed::list_homes(None).unwrap().len(), 1);

    // homectl firstboot's credentials: home.create.<user> holding a JSON record (userName filled
    // in from the credential's name), created through --from-credentials; a second run leaves it.
    let creds = t.join("creds");
    std::fs::create_dir_all(&creds).unwrap();
    let record = serde_json::json!({"realName": "From Credential", "storage": "directory", "secret": {"password": [PASSWORD]}});
    std::fs::write(creds.join("home.create.credtest"), record.to_string()).unwrap();
    let from_creds = UserCreateArgs {
        name: None,
        from_credentials: true,
        credentials_dir: Some(creds.clone()),
        real_name: None,
        password_file: None,
        storage: None,
        admin: false,
        classic: false,
        root: std::path::PathBuf::from("/"),
        bus_address: None,
    };
    run_create(&from_creds).unwrap();
    let (rec, _) = homed::user_record_by_name(None, "credtest").unwrap();
    assert_eq!(rec["realName"], "From Credential");
    assert_eq!(rec["disposition"], "regular");
    run_create(&from_creds).unwrap();
    assert_eq!(homed::list_homes(None).unwrap().len(), 2);

    // No file homed wrote holds the plaintext.
    let out = Command::new("grep").args(["-rlF", PASSWORD, "/home", "/var/lib/systemd/home", "/run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "password found in: {}", String::from_utf8_lossy(&out.stdout));
}

/// Where homed is not running, `--classic` makes a classic /etc/passwd user with useradd, the
/// password stored only as a hash (set through chpasswd's standard input).
#[test]
fn a_classic_user_where_homed_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("home")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(root.join("etc/group"), "root:x:0:\nsudo:x:27:\nusers:x:100:\n").unwrap();
    std::fs::write(root.join("etc/shadow"), "root:*:19000:0:99999:7:::\n").unwrap();
    std::fs::write(root.join("etc/gshadow"), "root:*::\nsudo:*::\nusers:*::\n").unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imprint"))
        .args(["user", "create", "dora", "--classic", "--admin", "--real-name", "Dora D", "--root"])
        .arg(root)
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(!text.contains(PASSWORD));
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.lines().any(|l| l.starts_with("dora:x:") && l.contains(":Dora D:/home/dora:")), "{passwd}");
    assert!(std::fs::read_to_string(root.join("etc/group")).unwrap().contains("sudo:x:27:dora"));
    let shadow = std::fs::read_to_string(root.join("etc/shadow")).unwrap();
    let hash = shadow.lines().find_map(|l| l.strip_prefix("dora:")).unwrap().split(':').next().unwrap().to_string();
    assert!(hash.starts_with("$y$") || hash.starts_with("$6$"), "{shadow}");
    assert!(!shadow.contains(PASSWORD));
    assert!(root.join("home/dora").is_dir());
}
