//! `imprint update`: A/B slot updates of disk images from a real HTTP server on 127.0.0.1 (a
//! small std::net server started by each test: Range requests, dropped connections, slowness),
//! manifests signed by gpg, refusals, and kills at random moments.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{imprint, part_range, run_ok, sfdisk_json, sha256_range};

// ---------------------------------------------------------------------------------------------
// the test HTTP server

#[derive(Default, Clone)]
struct Behavior {
    /// Close the connection after this many body bytes of a response…
    drop_after: Option<usize>,
    /// …this many times.
    drops_left: usize,
    /// Sleep this long after every 64 KiB of body.
    delay: Duration,
    /// Answer Range requests with the whole file (200).
    ignore_range: bool,
    /// Answer every request with a 302 to this base URL + the path.
    redirect_to: Option<String>,
}

struct Server {
    port: u16,
    tls: bool,
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    behavior: Arc<Mutex<Behavior>>,
    ranges: Arc<AtomicUsize>,
}

impl Server {
    fn start() -> Server {
        Server::start_with(None)
    }

    /// With a TLS configuration the server speaks HTTPS (rustls) on the same port logic.
    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let files: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
        let behavior: Arc<Mutex<Behavior>> = Arc::default();
        let ranges = Arc::new(AtomicUsize::new(0));
        let (f, b, r) = (files.clone(), behavior.clone(), ranges.clone());
        let is_tls = tls.is_some();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (f, b, r, tls) = (f.clone(), b.clone(), r.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = match tls {
                        Some(cfg) => match rustls::ServerConnection::new(cfg) {
                            Ok(c) => serve(rustls::StreamOwned::new(c, conn), &f, &b, &r),
                            Err(_) => Ok(()),
                        },
                        None => serve(conn, &f, &b, &r),
                    };
                });
            }
        });
        Server { port, tls: is_tls, files, behavior, ranges }
    }

    fn put(&self, path: &str, data: &[u8]) {
        self.files.lock().unwrap().insert(path.to_string(), data.to_vec());
    }

    fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    fn set(&self, b: Behavior) {
        *self.behavior.lock().unwrap() = b;
    }

    fn url(&self) -> String {
        let scheme = if self.tls { "https://localhost" } else { "http://127.0.0.1" };
        format!("{scheme}:{}/os", self.port)
    }
}

fn serve(
    stream: impl Read + Write,
    files: &Mutex<HashMap<String, Vec<u8>>>,
    behavior: &Mutex<Behavior>,
    ranges: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range: Option<usize> = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse().ok();
        }
    }
    // a GET has no body: what the reader buffered beyond the headers is nothing
    let conn = reader.get_mut();
    if let Some(base) = behavior.lock().unwrap().redirect_to.clone() {
        let head = format!("HTTP/1.1 302 Found\r\nLocation: {base}{path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return conn.write_all(head.as_bytes());
    }
    let data = files.lock().unwrap().get(&path).cloned();
    let Some(data) = data else {
        conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
        return Ok(());
    };
    let b = behavior.lock().unwrap().clone();
    let start = match range {
        Some(s) if !b.ignore_range && s <= data.len() => {
            ranges.fetch_add(1, Ordering::SeqCst);
            s
        }
        _ => 0,
    };
    let body = &data[start..];
    let head = if start > 0 {
        format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
            body.len(),
            start,
            data.len() - 1,
            data.len()
        )
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n", body.len())
    };
    conn.write_all(head.as_bytes())?;
    let drop_at = {
        let mut g = behavior.lock().unwrap();
        match g.drop_after {
            Some(n) if g.drops_left > 0 && body.len() > n => {
                g.drops_left -= 1;
                Some(n)
            }
            _ => None,
        }
    };
    let mut sent = 0;
    for chunk in body.chunks(64 << 10) {
        if let Some(n) = drop_at
            && sent + chunk.len() > n
        {
            conn.write_all(&chunk[..n - sent])?;
            // dropping the stream closes the connection mid-body
            return conn.flush();
        }
        conn.write_all(chunk)?;
        sent += chunk.len();
        if !b.delay.is_zero() {
            std::thread::sleep(b.delay);
        }
    }
    conn.flush()
}

// ---------------------------------------------------------------------------------------------
// keys and signatures (gpg in private homes)

struct Keys {
    _dir: tempfile::TempDir,
    good: PathBuf,
    other: PathBuf,
    keyring: PathBuf,
}

fn gpg(home: &Path, args: &[&str]) -> Output {
    run_ok(
        Command::new("gpg")
            .env("GNUPGHOME", home)
            .args(["--batch", "--quiet", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args),
    )
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let mut homes = Vec::new();
        for name in ["good", "other"] {
            let home = dir.path().join(name);
            std::fs::create_dir(&home).unwrap();
            std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
            gpg(&home, &["--quick-gen-key", &format!("imprint {name} <{name}@example.org>"), "ed25519", "sign", "never"]);
            homes.push(home);
        }
        let keyring = dir.path().join("import-pubring.gpg");
        let out = gpg(&homes[0], &["--export"]);
        std::fs::write(&keyring, out.stdout).unwrap();
        for h in &homes {
            let _ = Command::new("gpgconf").env("GNUPGHOME", h).args(["--kill", "gpg-agent"]).status();
        }
        Keys { good: homes[0].clone(), other: homes[1].clone(), keyring, _dir: dir }
    })
}

/// A detached binary signature of `data` made in `home`.
fn sign(home: &Path, data: &[u8]) -> Vec<u8> {
    static LOCK: Mutex<()> = Mutex::new(());
    let _g = LOCK.lock().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("SHA256SUMS");
    std::fs::write(&f, data).unwrap();
    let sig = dir.path().join("SHA256SUMS.gpg");
    gpg(home, &["--yes", "--detach-sign", "--output", sig.to_str().unwrap(), f.to_str().unwrap()]);
    // no gpg-agent is left behind (the next signature starts one again)
    let _ = Command::new("gpgconf").env("GNUPGHOME", home).args(["--kill", "gpg-agent"]).status();
    std::fs::read(sig).unwrap()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------------------------
// images and definitions

const USR: &str = "8484680C-9521-48C6-9C11-B0720656F69E";
const MIB: u64 = 1 << 20;

/// Deterministic bytes that are not all alike.
fn pattern_bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

struct Fixture {
    dir: tempfile::TempDir,
    image: PathBuf,
    defs: PathBuf,
    server: Server,
    payload: Vec<u8>,
}

/// An image with `slots` /usr partitions of `slot_mib` MiB labeled as given; the `usr_1.0`
/// slot holds some bytes (the running system). The server offers `usr_2.0.raw` (and the
/// running 1.0), signed with the good key.
fn fixture(labels: &[&str], slot_mib: u64, payload_len: usize, transfer_extra: &str) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img");
    common::sparse_file(&image, (labels.len() as u64 * slot_mib + 4) * MIB);
    let mut script = String::from("label: gpt\n");
    for l in labels {
        script.push_str(&format!("size={}MiB, type={USR}, name=\"{l}\"\n", slot_mib));
    }
    let out = common::run_with_stdin(Command::new("sfdisk").arg("--quiet").arg(&image), script.as_bytes());
    assert!(out.status.success(), "sfdisk: {}", String::from_utf8_lossy(&out.stderr));
    let json = sfdisk_json(&image);
    for (k, l) in labels.iter().enumerate() {
        if *l != "_empty" {
            let (start, _) = part_range(&json, k + 1);
            write_at(&image, start, &pattern_bytes(256 << 10, k as u8 + 100));
        }
    }
    let server = Server::start();
    let payload = pattern_bytes(payload_len, 7);
    let old = pattern_bytes(256 << 10, 100);
    server.put("/os/usr_2.0.raw", &payload);
    server.put("/os/usr_1.0.raw", &old);
    publish(&server, &format!("{}  usr_1.0.raw\n{}  usr_2.0.raw\n", sha256_hex(&old), sha256_hex(&payload)), &keys().good);
    let defs = dir.path().join("sysupdate.d");
    std::fs::create_dir(&defs).unwrap();
    std::fs::write(
        defs.join("50-usr.transfer"),
        format!(
            "[Source]\nType=url-file\nPath={}\nMatchPattern=usr_@v.raw\n\n[Target]\nType=partition\nPath=auto\nMatchPattern=usr_@v\nMatchPartitionType=usr-x86-64\nReadOnly=yes\n{transfer_extra}",
            server.url()
        ),
    )
    .unwrap();
    Fixture { dir, image, defs, server, payload }
}

fn publish(server: &Server, sums: &str, home: &Path) {
    server.put("/os/SHA256SUMS", sums.as_bytes());
    server.put("/os/SHA256SUMS.gpg", &sign(home, sums.as_bytes()));
}

fn write_at(path: &Path, offset: u64, data: &[u8]) {
    use std::os::unix::fs::FileExt;
    std::fs::OpenOptions::new().write(true).open(path).unwrap().write_all_at(data, offset).unwrap();
}

impl Fixture {
    fn cmd(&self, verb: &[&str]) -> Command {
        let mut c = imprint();
        c.arg("update").args(verb);
        c.arg("--definitions").arg(&self.defs).arg("--image").arg(&self.image);
        c.arg("--keyring").arg(&keys().keyring).args(["--running-version", "1.0"]);
        c
    }

    fn run(&self, verb: &[&str]) -> Output {
        self.cmd(verb).output().unwrap()
    }

    fn label(&self, n: usize) -> String {
        sfdisk_json(&self.image)["partitiontable"]["partitions"][n - 1]["name"].as_str().unwrap_or_default().to_string()
    }

    fn attrs(&self, n: usize) -> String {
        sfdisk_json(&self.image)["partitiontable"]["partitions"][n - 1]["attrs"].as_str().unwrap_or_default().to_string()
    }

    fn slot_hash(&self, n: usize) -> String {
        let (start, size) = part_range(&sfdisk_json(&self.image), n);
        sha256_range(&self.image, start, size)
    }

    fn slot_prefix_hash(&self, n: usize, len: u64) -> String {
        let (start, _) = part_range(&sfdisk_json(&self.image), n);
        sha256_range(&self.image, start, len)
    }

    fn image_hash(&self) -> String {
        let len = std::fs::metadata(&self.image).unwrap().len();
        sha256_range(&self.image, 0, len)
    }
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

fn assert_refused(f: &Fixture, running_before: &str, needle: &str) {
    let o = f.run(&["apply"]);
    assert!(!o.status.success(), "apply should have been refused:\n{}", text(&o));
    assert!(text(&o).contains(needle), "expected '{needle}' in:\n{}", text(&o));
    assert_eq!(f.label(2), "_empty", "the slot must never be labeled");
    assert_eq!(f.label(1), "usr_1.0");
    assert_eq!(f.slot_hash(1), running_before, "the running slot changed");
}

// ---------------------------------------------------------------------------------------------
// tests

#[test]
fn full_update_of_ab_slots() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 3 * MIB as usize + 12345, "");
    let running = f.slot_hash(1);

    let o = f.run(&["check"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2.0");

    let o = run_ok(&mut f.cmd(&["apply", "--progress", "json"]));
    let events = String::from_utf8_lossy(&o.stdout);
    assert!(events.lines().any(|l| l.contains(r#""event":"verified""#) && l.contains("usr_2.0")), "{events}");
    assert!(events.lines().last().unwrap().contains(r#""event":"finished""#), "{events}");

    assert_eq!(f.label(2), "usr_2.0");
    assert!(f.attrs(2).contains("GUID:60"), "ReadOnly=yes sets bit 60: {}", f.attrs(2));
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
    assert_eq!(f.label(1), "usr_1.0");
    assert_eq!(f.slot_hash(1), running, "the running slot changed");

    // nothing newer now; the newer version is pending a reboot
    let o = f.run(&["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = run_ok(&mut f.cmd(&["apply"]));
    assert!(text(&o).contains("Up to date"), "{}", text(&o));
    let o = f.run(&["pending"]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "2.0");
    let o = run_ok(&mut f.cmd(&["list", "--json"]));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows[0]["version"], "2.0");
    assert_eq!(rows[0]["installed"], true);
    assert_eq!(rows[1]["version"], "1.0");
    assert_eq!(rows[1]["current"], true);
    // one version in detail; an unknown one named as such
    let o = run_ok(&mut f.cmd(&["list", "2.0"]));
    let t = text(&o);
    assert!(t.contains("Version 2.0: installed, available"), "{t}");
    assert!(t.contains(&format!("source  {}/usr_2.0.raw (sha256 {})", f.server.url(), sha256_hex(&f.payload))), "{t}");
    assert!(t.contains("target  partition 2"), "{t}");
    let o = f.run(&["list", "9.9"]);
    assert!(!o.status.success() && text(&o).contains("version 9.9 is neither offered"), "{}", text(&o));
}

#[test]
fn older_version_only_when_named() {
    // 3.0 installed and running, 2.0 offered: not installed unless named
    let f = fixture(&["usr_3.0", "_empty"], 8, MIB as usize, "");
    let mut c = imprint();
    let o = c
        .args(["update", "apply", "--definitions"])
        .arg(&f.defs)
        .arg("--image")
        .arg(&f.image)
        .arg("--keyring")
        .arg(&keys().keyring)
        .args(["--running-version", "3.0"])
        .output()
        .unwrap();
    assert!(text(&o).contains("Up to date"), "{}", text(&o));
    assert_eq!(f.label(2), "_empty");
    // the list marks 2.0 older than what runs (the update page asks before installing it)
    let o = run_ok(
        imprint()
            .args(["update", "list", "--json", "--definitions"])
            .arg(&f.defs)
            .arg("--image")
            .arg(&f.image)
            .arg("--keyring")
            .arg(&keys().keyring)
            .args(["--running-version", "3.0"]),
    );
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let older = |v: &str| rows.as_array().unwrap().iter().find(|r| r["version"] == v).map(|r| r["older"].clone());
    assert_eq!(older("2.0"), Some(serde_json::json!(true)), "{rows:#}");
    assert_eq!(older("3.0"), Some(serde_json::json!(false)), "{rows:#}");
    let mut c = imprint();
    let o = c
        .args(["update", "apply", "2.0", "--definitions"])
        .arg(&f.defs)
        .arg("--image")
        .arg(&f.image)
        .arg("--keyring")
        .arg(&keys().keyring)
        .args(["--running-version", "3.0"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.label(1), "usr_3.0");
}

/// Issue 14 point 11: naming a version does not lift MinVersion=.
#[test]
fn a_named_version_below_min_version_is_refused() {
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize, "");
    let t = f.defs.join("50-usr.transfer");
    let text0 = std::fs::read_to_string(&t).unwrap();
    std::fs::write(&t, text0.replace("[Source]", "[Transfer]\nMinVersion=3.0\n\n[Source]")).unwrap();
    let before = f.image_hash();
    let o = f.run(&["apply", "2.0"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("version 2.0 is below 50-usr's MinVersion=3.0"), "{}", text(&o));
    assert_eq!(f.image_hash(), before);
}

/// Issue 14 point 3: one update at a time. While another holds the system's update lock (here
/// this test, through the library), `apply` and `vacuum` refuse with its pid before reading a
/// target, and write nothing; once it is released, apply runs.
#[test]
fn a_second_update_of_the_same_system_is_refused_while_one_runs() {
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize, "");
    let opts = imprint::update::Options {
        definitions: Some(f.defs.clone()),
        root: PathBuf::from("/"),
        image: Some(f.image.clone()),
        keyring: None,
        running_version: None,
        today: "2026-12-06".into(),
    };
    let before = f.image_hash();
    let held = imprint::update::lock::UpdateLock::acquire(&opts).unwrap();
    for verb in [&["apply"][..], &["vacuum"][..]] {
        let o = f.run(verb);
        assert!(!o.status.success(), "{}", text(&o));
        let want = format!("another update of {} is running (pid {})", f.image.display(), std::process::id());
        assert!(text(&o).contains(&want), "want {want:?}:\n{}", text(&o));
    }
    // reading (list, check) needs no lock
    assert!(f.run(&["list"]).status.success());
    assert_eq!(f.image_hash(), before);
    drop(held);
    let o = f.run(&["apply"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(f.label(2), "usr_2.0");
}

#[test]
fn tampered_payload_is_refused() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 2 * MIB as usize, "");
    let running = f.slot_hash(1);
    let mut bad = f.payload.clone();
    bad[12345] ^= 1;
    f.server.put("/os/usr_2.0.raw", &bad);
    assert_refused(&f, &running, "does not match");
}

#[test]
fn tampered_manifest_is_refused() {
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize, "");
    let running = f.slot_hash(1);
    let mut sums = f.server.files.lock().unwrap()["/os/SHA256SUMS"].clone();
    sums[3] = if sums[3] == b'a' { b'b' } else { b'a' };
    f.server.put("/os/SHA256SUMS", &sums);
    assert_refused(&f, &running, "signature does not verify");
}

#[test]
fn missing_or_foreign_signature_is_refused() {
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize, "");
    let running = f.slot_hash(1);
    let sums = String::from_utf8(f.server.files.lock().unwrap()["/os/SHA256SUMS"].clone()).unwrap();
    f.server.remove("/os/SHA256SUMS.gpg");
    assert_refused(&f, &running, "no SHA256SUMS.gpg");
    publish(&f.server, &sums, &keys().other);
    assert_refused(&f, &running, "signature does not verify");
    f.server.put("/os/SHA256SUMS.gpg", b"garbage");
    assert_refused(&f, &running, "SHA256SUMS.gpg");
}

#[test]
fn names_with_slash_or_dotdot_are_refused() {
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize, "");
    let running = f.slot_hash(1);
    for name in ["../usr_2.0.raw", "sub/usr_2.0.raw", ".."] {
        publish(&f.server, &format!("{}  {name}\n", sha256_hex(&f.payload)), &keys().good);
        assert_refused(&f, &running, "invalid file name");
    }
}

#[test]
fn payload_larger_than_slot_or_announced_is_refused() {
    let f = fixture(&["usr_1.0", "_empty"], 4, 5 * MIB as usize, "");
    let running = f.slot_hash(1);
    assert_refused(&f, &running, "do not fit");
    // the name announces 1 MiB (@s) but the file is 2 MiB
    let f = fixture(&["usr_1.0", "_empty"], 8, 2 * MIB as usize, "");
    let running = f.slot_hash(1);
    std::fs::write(
        f.defs.join("50-usr.transfer"),
        format!(
            "[Source]\nType=url-file\nPath={}\nMatchPattern=usr_@v_@s.raw\n\n[Target]\nType=partition\nPath=auto\nMatchPattern=usr_@v\nMatchPartitionType=usr-x86-64\n",
            f.server.url()
        ),
    )
    .unwrap();
    f.server.put("/os/usr_2.0_1048576.raw", &f.payload);
    publish(&f.server, &format!("{}  usr_2.0_1048576.raw\n", sha256_hex(&f.payload)), &keys().good);
    assert_refused(&f, &running, "do not fit");
}

#[test]
fn dropped_connections_resume_with_range() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 4 * MIB as usize, "");
    let running = f.slot_hash(1);
    f.server.set(Behavior { drop_after: Some(700 << 10), drops_left: 3, ..Default::default() });
    let o = run_ok(&mut f.cmd(&["apply", "--progress", "json"]));
    let out = text(&o);
    assert!(out.contains("resuming at byte"), "{out}");
    assert!(f.server.ranges.load(Ordering::SeqCst) >= 3, "expected Range requests");
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
    assert_eq!(f.slot_hash(1), running);
}

#[test]
fn server_without_range_support_starts_over() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 3 * MIB as usize, "");
    f.server.set(Behavior { drop_after: Some(1 << 20), drops_left: 1, ignore_range: true, ..Default::default() });
    run_ok(&mut f.cmd(&["apply"]));
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
}

#[test]
fn slow_server_completes() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 2 * MIB as usize, "");
    f.server.set(Behavior { delay: Duration::from_millis(25), drop_after: Some(1 << 20), drops_left: 1, ..Default::default() });
    let t = Instant::now();
    run_ok(&mut f.cmd(&["apply"]));
    assert!(t.elapsed() > Duration::from_millis(500), "the server was not slow");
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
}

#[test]
fn vacuum_keeps_running_and_newest() {
    let f = fixture(&["usr_1.0", "usr_2.0", "usr_3.0"], 4, MIB as usize, "InstancesMax=2\n");
    let running = f.slot_hash(1);
    let o = run_ok(&mut f.cmd(&["vacuum", "--json"]));
    let removed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(removed.as_array().unwrap().len(), 1, "{removed}");
    assert_eq!(removed[0]["version"], "2.0");
    assert_eq!(f.label(1), "usr_1.0");
    assert_eq!(f.label(2), "_empty");
    assert_eq!(f.label(3), "usr_3.0");
    assert_eq!(f.slot_hash(1), running);
    // again: nothing left to remove
    let o = run_ok(&mut f.cmd(&["vacuum", "--json"]));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[test]
fn bad_definitions_name_file_and_line() {
    let f = fixture(&["usr_1.0", "_empty"], 4, MIB as usize, "PartitionNoAuto=perhaps\n");
    let o = f.run(&["list"]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("50-usr.transfer:12: PartitionNoAuto= takes a boolean"), "{t}");
    std::fs::write(
        f.defs.join("50-usr.transfer"),
        "[Source]\nType=subvolume\nPath=/srv/a\nMatchPattern=a_@v\n[Target]\nType=subvolume\nPath=/var/a\n",
    )
    .unwrap();
    let t = text(&f.run(&["list"]));
    assert!(t.contains("[Source] Type=subvolume is not supported by imprint yet"), "{t}");
}

#[test]
fn regular_file_target_from_regular_file_source() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("srv/images")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/ext")).unwrap();
    std::fs::write(root.join("srv/images/ext_1.0.raw"), b"one").unwrap();
    std::fs::write(root.join("srv/images/ext_1.1.raw"), b"one-one").unwrap();
    std::fs::write(root.join("var/lib/ext/ext_1.0.raw"), b"one").unwrap();
    std::fs::write(root.join("var/lib/ext/.#sysupdateext_0.9.rawdeadbeef"), b"junk").unwrap();
    let defs = common::write_defs(
        &root.join("defs"),
        &[(
            "10-ext.transfer",
            "[Source]\nType=regular-file\nPath=/srv/images\nMatchPattern=ext_@v.raw\n[Target]\nType=regular-file\nPath=/var/lib/ext\nMatchPattern=ext_@v.raw\nCurrentSymlink=ext.raw\nMode=0444\n",
        )],
    );
    let o = run_ok(imprint().args(["update", "apply", "--root"]).arg(root).arg("--definitions").arg(&defs));
    assert!(text(&o).contains("ext_1.1.raw"), "{}", text(&o));
    assert_eq!(std::fs::read(root.join("var/lib/ext/ext_1.1.raw")).unwrap(), b"one-one");
    assert_eq!(std::fs::read_link(root.join("var/lib/ext/ext.raw")).unwrap(), Path::new("ext_1.1.raw"));
    assert!(!root.join("var/lib/ext/.#sysupdateext_0.9.rawdeadbeef").exists(), "RemoveTemporary= default");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(root.join("var/lib/ext/ext_1.1.raw")).unwrap().permissions().mode() & 0o777, 0o444);
}

/// Kills the update with SIGKILL at random moments: the running slot is always intact, the new
/// slot is labeled only with the right bytes in it, and the next run ends exactly where an
/// uninterrupted run ends (the whole image compared).
#[test]
fn killed_at_random_moments_then_completes() {
    let f = fixture(&["usr_1.0", "_empty"], 12, 8 * MIB as usize, "");
    let pristine = f.dir.path().join("pristine.img");
    std::fs::copy(&f.image, &pristine).unwrap();
    let running = f.slot_hash(1);
    // the reference: one uninterrupted run
    run_ok(&mut f.cmd(&["apply"]));
    let reference = f.image_hash();
    assert_eq!(f.label(2), "usr_2.0");
    // slow enough that kills land during the download: 128 chunks × 4 ms ≈ 0.5 s
    f.server.set(Behavior { delay: Duration::from_millis(4), ..Default::default() });
    let mut seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let started = Instant::now();
    let mut kills = 0;
    let mut labeled_before_rerun = 0;
    while kills < 20 && started.elapsed() < Duration::from_secs(40) {
        std::fs::copy(&pristine, &f.image).unwrap();
        let mut child = f.cmd(&["apply"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rnd() % 900));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        kills += 1;
        assert_eq!(f.label(1), "usr_1.0");
        assert_eq!(f.slot_hash(1), running, "kill {kills}: the running slot changed");
        let l = f.label(2);
        assert!(l == "_empty" || l == "usr_2.0", "kill {kills}: label {l}");
        if l == "usr_2.0" {
            labeled_before_rerun += 1;
            assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload), "labeled with wrong bytes");
        }
        let o = f.run(&["apply"]);
        assert!(o.status.success(), "kill {kills}: rerun failed: {}", text(&o));
        assert_eq!(f.image_hash(), reference, "kill {kills}: the rerun did not end like an uninterrupted run");
    }
    assert!(kills >= 10, "only {kills} kills fit");
    eprintln!("{kills} kills, {labeled_before_rerun} after the label was written");
}

/// The update page in a terminal (tmux): the versions, Enter on the newest, the download, the
/// restart offer; afterwards the slot holds the payload and its label, the running slot as before.
#[test]
fn the_update_page_installs_the_newest_in_a_terminal() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 2 * MIB as usize + 777, "");
    let running = f.slot_hash(1);
    let socket = format!("imprint-update-{}", std::process::id());
    let tmux = |args: &[&str]| Command::new("tmux").arg("-L").arg(&socket).args(args).output().expect("tmux is installed");
    let screen = || String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "u"]).stdout).into_owned();
    let wait_for = |needle: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let s = screen();
            if s.contains(needle) {
                return s;
            }
            assert!(std::time::Instant::now() < deadline, "waited for {needle:?}:\n{s}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let cmd = format!(
        "LANG=C.UTF-8 TERM=xterm-256color {} update --definitions {} --image {} --keyring {} --running-version 1.0; echo exited-$?; sleep 300",
        env!("CARGO_BIN_EXE_imprint"),
        f.defs.display(),
        f.image.display(),
        keys().keyring.display()
    );
    assert!(tmux(&["new-session", "-d", "-x", "100", "-y", "30", "-s", "u", &cmd]).status.success());
    let s = wait_for("newest, available");
    assert!(s.contains("running now"), "{s}");
    tmux(&["send-keys", "-t", "u", "Enter"]);
    wait_for("Restart the computer to use it");
    tmux(&["send-keys", "-t", "u", "q"]);
    let s = wait_for("exited-");
    let _ = tmux(&["kill-server"]);
    assert!(s.contains("exited-0"), "{s}");
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
    assert_eq!(f.slot_hash(1), running, "the running slot changed");
}

#[test]
fn protect_version_keeps_a_slot_that_would_be_reused() {
    // no _empty slot: the oldest version that is not running (0.5) is the one sysupdate reuses…
    let f = fixture(&["usr_1.0", "usr_0.5"], 8, MIB as usize, "");
    run_ok(&mut f.cmd(&["apply"]));
    assert_eq!((f.label(1), f.label(2)), ("usr_1.0".to_string(), "usr_2.0".to_string()));
    // …unless ProtectVersion= names it: then there is no slot to write, and nothing changes
    let f = fixture(&["usr_1.0", "usr_0.5"], 8, MIB as usize, "\n[Transfer]\nProtectVersion=0.5\n");
    let before = f.image_hash();
    let o = f.run(&["apply"]);
    assert!(!o.status.success(), "{}", text(&o));
    assert_eq!((f.label(1), f.label(2)), ("usr_1.0".to_string(), "usr_0.5".to_string()));
    assert_eq!(f.image_hash(), before);
}

// ---------------------------------------------------------------------------------------------
// compressed payloads, tarballs and folders, HTTPS

fn xz(data: &[u8]) -> Vec<u8> {
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A compressed image in a partition slot: the slot holds the decompressed bytes (as
/// systemd-pull decompresses), the manifest's hash is the compressed file's, and a dropped
/// connection resumes inside the compressed stream.
#[test]
fn compressed_payloads_are_decompressed_into_the_slot() {
    let f = fixture(&["usr_1.0", "_empty"], 8, 3 * MIB as usize, "");
    let running = f.slot_hash(1);
    let zst = zstd::encode_all(&f.payload[..], 3).unwrap();
    std::fs::write(
        f.defs.join("50-usr.transfer"),
        format!(
            "[Source]\nType=url-file\nPath={}\nMatchPattern=usr_@v.raw.zst\n\n[Target]\nType=partition\nPath=auto\nMatchPattern=usr_@v\nMatchPartitionType=usr-x86-64\n",
            f.server.url()
        ),
    )
    .unwrap();
    f.server.put("/os/usr_2.0.raw.zst", &zst);
    publish(&f.server, &format!("{}  usr_2.0.raw.zst\n", sha256_hex(&zst)), &keys().good);
    f.server.set(Behavior { drop_after: Some(zst.len() / 3), drops_left: 2, ..Default::default() });
    let o = run_ok(&mut f.cmd(&["apply"]));
    assert!(text(&o).contains("resuming at byte"), "{}", text(&o));
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
    assert_eq!(f.slot_hash(1), running);

    // decompressed, it would not fit the slot: refused, never labeled
    let f = fixture(&["usr_1.0", "_empty"], 2, 3 * MIB as usize, "");
    let running = f.slot_hash(1);
    let big = xz(&(0..3 * MIB).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
    assert!(big.len() < 2 * MIB as usize);
    f.server.put("/os/usr_2.0.raw", &big);
    publish(&f.server, &format!("{}  usr_2.0.raw\n", sha256_hex(&big)), &keys().good);
    assert_refused(&f, &running, "do not fit");
}

/// A tree packed as a tarball, with a file mode, a symlink and a subfolder.
fn tarball(version: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    add("bin/app", format!("#!/bin/sh\necho {version}\n").as_bytes(), 0o755);
    add("share/app/data", &pattern_bytes(300 << 10, 3), 0o640);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    b.append_link(&mut h, "current", "share/app").unwrap();
    b.into_inner().unwrap()
}

fn app_transfer(source: &str, extra: &str) -> String {
    format!("[Source]\n{source}\n[Target]\nType=directory\nPath=/var/lib/app\nMatchPattern=app_@v\nCurrentSymlink=app\n{extra}")
}

#[test]
fn url_tar_unpacks_into_a_directory_target() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("var/lib/app/app_1.0")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/app/.#sysupdateapp_0.9cafe")).unwrap();
    let server = Server::start();
    let defs = common::write_defs(
        &root.join("defs"),
        &[(
            "20-app.transfer",
            &app_transfer(&format!("Type=url-tar\nPath={}\nMatchPattern=app_@v.tar.xz", server.url()), "ReadOnly=yes\nInstancesMax=2\n"),
        )],
    );
    let apply = |extra: &[&str]| tar_apply(root, &defs, extra);
    let publish_versions = |versions: &[&str], tamper: bool| {
        let mut sums = String::new();
        for v in versions {
            let t = xz(&tarball(v));
            let listed = if tamper { xz(&tarball("evil")) } else { t.clone() };
            sums.push_str(&format!("{}  app_{v}.tar.xz\n", sha256_hex(&listed)));
            server.put(&format!("/os/app_{v}.tar.xz"), &t);
        }
        publish(&server, &sums, &keys().good);
    };
    publish_versions(&["2.0"], false);
    server.set(Behavior { drop_after: Some(40 << 10), drops_left: 1, ..Default::default() });
    let o = apply(&[]);
    assert!(o.status.success(), "{}", text(&o));
    let app = root.join("var/lib/app");
    let new = app.join("app_2.0");
    assert_eq!(std::fs::read_to_string(new.join("bin/app")).unwrap(), "#!/bin/sh\necho 2.0\n");
    assert_eq!(std::fs::read(new.join("share/app/data")).unwrap(), pattern_bytes(300 << 10, 3));
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(std::fs::metadata(new.join("bin/app")).unwrap().permissions().mode() & 0o777, 0o755);
    assert_eq!(std::fs::metadata(new.join("share/app/data")).unwrap().mtime(), 1_700_000_000);
    assert_eq!(std::fs::read_link(new.join("current")).unwrap(), Path::new("share/app"));
    assert_eq!(std::fs::read_link(app.join("app")).unwrap(), Path::new("app_2.0"));
    assert!(app.join("app_1.0").is_dir(), "InstancesMax=2 keeps the old version");
    assert!(!app.join(".#sysupdateapp_0.9cafe").exists(), "RemoveTemporary= default");
    assert!(imprint::fsflags::is_immutable(&new), "ReadOnly=yes makes the folder immutable (ext4 here)");

    // a tarball whose hash is not the manifest's: refused, nothing left behind
    publish_versions(&["3.0"], true);
    let o = apply(&[]);
    assert!(!o.status.success());
    assert!(text(&o).contains("does not match the manifest"), "{}", text(&o));
    assert!(!app.join("app_3.0").exists());
    let names: Vec<String> = std::fs::read_dir(&app).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".#")), "{names:?}");
    assert_eq!(std::fs::read_link(app.join("app")).unwrap(), Path::new("app_2.0"));

    // 3.0 and then 4.0: the immutable 2.0 is vacuumed in its turn
    publish_versions(&["3.0", "4.0"], false);
    let o = apply(&["3.0"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!app.join("app_1.0").exists());
    let o = apply(&[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!app.join("app_2.0").exists(), "the immutable folder is removed by vacuum");
    assert!(app.join("app_3.0").is_dir() && app.join("app_4.0").is_dir());
    assert_eq!(std::fs::read_link(app.join("app")).unwrap(), Path::new("app_4.0"));
    for v in ["3.0", "4.0"] {
        imprint::fsflags::set_immutable(&app.join(format!("app_{v}")), false).unwrap();
    }
}

#[test]
fn directory_source_is_copied_into_a_directory_target() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = root.join("srv/trees/app_1.1");
    std::fs::create_dir_all(src.join("bin")).unwrap();
    std::fs::write(src.join("bin/app"), b"one-one").unwrap();
    std::fs::write(root.join("srv/trees/app_1.2"), b"a file, not a tree: not a version").unwrap();
    std::os::unix::fs::symlink("bin/app", src.join("app")).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o750)).unwrap();
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_650_000_000);
    std::fs::File::open(src.join("bin/app")).unwrap().set_modified(t).unwrap();
    std::fs::create_dir_all(root.join("var/lib/app/app_1.0")).unwrap();
    let defs = common::write_defs(
        &root.join("defs"),
        &[("20-app.transfer", &app_transfer("Type=directory\nPath=/srv/trees\nMatchPattern=app_@v", ""))],
    );
    let o = run_ok(imprint().args(["update", "list", "--json", "--root"]).arg(root).arg("--definitions").arg(&defs));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let versions: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["1.1", "1.0"], "{rows}");
    run_ok(imprint().args(["update", "apply", "--root"]).arg(root).arg("--definitions").arg(&defs));
    let new = root.join("var/lib/app/app_1.1");
    assert_eq!(std::fs::read(new.join("bin/app")).unwrap(), b"one-one");
    assert_eq!(std::fs::read_link(new.join("app")).unwrap(), Path::new("bin/app"));
    assert_eq!(std::fs::metadata(new.join("bin/app")).unwrap().mtime(), 1_650_000_000);
    assert_eq!(std::fs::metadata(&new).unwrap().permissions().mode() & 0o777, 0o750, "the folder's mode & 0775");
    assert_eq!(std::fs::read_link(root.join("var/lib/app/app")).unwrap(), Path::new("app_1.1"));
    assert_eq!(std::fs::read_dir(&src).unwrap().count(), 2, "the source is untouched");
}

/// A test CA, a certificate for localhost/127.0.0.1 it signed (rustls refuses a self-signed
/// end-entity certificate) and a second CA that signed nothing.
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, Arc<rustls::ServerConfig>) {
    let ssl = |args: &[&str]| {
        run_ok(Command::new("openssl").current_dir(dir).args(args));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    let ca = |name: &str, cn: &str| {
        let (key, pem, subj) = (format!("{name}.key"), format!("{name}.pem"), format!("/CN={cn}"));
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        a.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", &subj]);
        a.extend(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
        ssl(&a);
    };
    ca("ca", "imprint test CA");
    ca("other", "another CA");
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    ssl(&a);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    ssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(dir.join("server.pem")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    (dir.join("ca.pem"), dir.join("other.pem"), Arc::new(cfg))
}

/// The same update over HTTPS: it works when the system's trust store (here SSL_CERT_FILE)
/// holds the server's CA, and is refused, with the slot untouched, when it does not.
#[test]
fn https_sources_are_verified_against_the_trust_store() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, other, cfg) = test_pki(pki.path());
    let mut f = fixture(&["usr_1.0", "_empty"], 8, 2 * MIB as usize, "");
    let running = f.slot_hash(1);
    let tls = Server::start_with(Some(cfg));
    for (k, v) in f.server.files.lock().unwrap().iter() {
        tls.put(k, v);
    }
    let transfer = std::fs::read_to_string(f.defs.join("50-usr.transfer")).unwrap().replace(&f.server.url(), &tls.url());
    assert!(transfer.contains("https://localhost:"), "{transfer}");
    std::fs::write(f.defs.join("50-usr.transfer"), transfer).unwrap();
    f.server = tls;

    // a trust store without the server's CA: refused at once (no retries for a certificate)
    let t = Instant::now();
    let o = f.cmd(&["apply"]).env("SSL_CERT_FILE", &other).env("SSL_CERT_DIR", pki.path().join("none")).output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10), "certificate errors are not retried: {}", text(&o));
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).to_lowercase().contains("certificate"), "{}", text(&o));
    assert_eq!(f.label(2), "_empty");

    let o = f.cmd(&["apply"]).env("SSL_CERT_FILE", &ca).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(f.label(2), "usr_2.0");
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
    assert_eq!(f.slot_hash(1), running);
}

/// A partition target on a real block device (a loop device): the update goes to the device,
/// and CurrentSymlink= (under --root) points at the new slot's partition node.
#[test]
fn partition_target_on_a_block_device_gets_its_current_symlink() {
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize + 4096, "");
    let lo = common::Loop::attach(&f.image, &[]);
    let root = f.dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let transfer = std::fs::read_to_string(f.defs.join("50-usr.transfer")).unwrap();
    let transfer = transfer.replace("Path=auto", &format!("Path={}\nCurrentSymlink=/run/imprint/usr-current", lo.dev.display()));
    std::fs::write(f.defs.join("50-usr.transfer"), transfer).unwrap();
    let mut c = imprint();
    c.args(["update", "apply", "--definitions"]).arg(&f.defs).arg("--root").arg(&root);
    c.arg("--keyring").arg(&keys().keyring).args(["--running-version", "1.0"]);
    let o = run_ok(&mut c);
    assert_eq!(f.label(2), "usr_2.0", "{}", text(&o));
    assert_eq!(f.slot_prefix_hash(2, f.payload.len() as u64), sha256_hex(&f.payload));
    let link = std::fs::read_link(root.join("run/imprint/usr-current")).unwrap();
    // relative, as systemd makes it: up from the link's folder to / and down to the node
    let parent = root.join("run/imprint");
    let ups = parent.components().count() - 1;
    let expected = (0..ups).fold(PathBuf::new(), |p, _| p.join("..")).join(format!("{}p2", lo.dev.display()).trim_start_matches('/'));
    assert_eq!(link, expected, "{}", text(&o));
}

/// Issue 14 point 11: a redirect from https to http is refused (the update is not downgraded to
/// an unprotected transport), and the mirror's credentials in the URL appear in no output.
#[test]
fn https_never_redirects_to_http_and_url_credentials_are_not_shown() {
    let pki = tempfile::tempdir().unwrap();
    let (ca, _, cfg) = test_pki(pki.path());
    let f = fixture(&["usr_1.0", "_empty"], 8, MIB as usize, "");
    let running = f.slot_hash(1);
    let tls = Server::start_with(Some(cfg));
    tls.behavior.lock().unwrap().redirect_to = Some(f.server.url().trim_end_matches("/os").to_string());
    let https = tls.url().replace("https://", "https://fleet:s3cret-mirror-pw@");
    let transfer = std::fs::read_to_string(f.defs.join("50-usr.transfer")).unwrap().replace(&f.server.url(), &https);
    std::fs::write(f.defs.join("50-usr.transfer"), transfer).unwrap();
    for verb in [&["apply"][..], &["check"][..], &["apply", "--json"][..]] {
        let mut c = f.cmd(verb);
        let o = c.env("SSL_CERT_FILE", &ca).output().unwrap();
        assert!(!o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("refusing a redirect from https to http://127.0.0.1:"), "{}", text(&o));
        assert!(!text(&o).contains("s3cret-mirror-pw") && !text(&o).contains("fleet:"), "credentials shown:\n{}", text(&o));
    }
    assert_eq!(f.label(2), "_empty");
    assert_eq!(f.slot_hash(1), running);
}

/// A root with an app folder, a url-tar transfer for `app_@v.tar` from `server`, and a file
/// outside the target that must never change.
fn tar_root(server: &Server) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("var/lib/app")).unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/shadow"), "root:*:1::::::\n").unwrap();
    let defs = common::write_defs(
        &dir.path().join("defs"),
        &[("20-app.transfer", &app_transfer(&format!("Type=url-tar\nPath={}\nMatchPattern=app_@v.tar", server.url()), ""))],
    );
    (dir, defs)
}

/// `imprint update apply EXTRA… --root ROOT --definitions DEFS` with the test keyring.
fn tar_apply(root: &Path, defs: &Path, extra: &[&str]) -> Output {
    imprint()
        .args(["update", "apply"])
        .args(extra)
        .arg("--root")
        .arg(root)
        .arg("--definitions")
        .arg(defs)
        .arg("--keyring")
        .arg(&keys().keyring)
        .output()
        .unwrap()
}

/// Issue 14 points 1 and 2: every crafted tarball of tests/corpus/tar, served with the right
/// hash, is unpacked (where it is harmless) or refused with the entry named, and nothing outside
/// the target folder is written, nothing is left behind.
#[test]
fn crafted_tarballs_are_refused_or_stay_inside() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/tar");
    let list = std::fs::read_to_string(corpus.join("EXPECTED")).unwrap();
    let cases: Vec<(&str, &str)> =
        list.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(|l| l.split_once(' ').unwrap()).collect();
    assert!(cases.len() >= 10);
    for (file, want) in cases {
        let want = want.trim();
        let server = Server::start();
        let data = std::fs::read(corpus.join(file)).unwrap();
        server.put("/os/app_2.0.tar", &data);
        publish(&server, &format!("{}  app_2.0.tar\n", sha256_hex(&data)), &keys().good);
        let (dir, defs) = tar_root(&server);
        let root = dir.path();
        let o = tar_apply(root, &defs, &[]);
        let t = text(&o);
        assert!(o.status.code() != Some(101) && !t.contains("panicked"), "{file}: {t}");
        let app = root.join("var/lib/app");
        if want == "ok" {
            assert!(o.status.success(), "{file}: {t}");
            assert!(app.join("app_2.0").is_dir(), "{file}");
        } else {
            assert!(!o.status.success(), "{file} was unpacked:\n{t}");
            assert!(t.contains(want), "{file}: want {want:?} in:\n{t}");
            assert!(!app.join("app_2.0").exists(), "{file}");
        }
        let names: Vec<String> = std::fs::read_dir(&app).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|n| !n.starts_with(".#")), "{file}: left behind {names:?}");
        assert_eq!(std::fs::read_to_string(root.join("etc/shadow")).unwrap(), "root:*:1::::::\n", "{file}");
        assert!(!root.join("etc/planted-by-tar").exists() && !root.join("planted-by-tar").exists(), "{file}");
        assert!(!Path::new("/tmp/planted").exists() && !Path::new("/etc/planted-by-tar").exists(), "{file}");
    }
}

/// Issue 14 point 1: while a tarball downloads (slowly) its tree sits in a folder only root can
/// enter, so a set-uid file in it is usable by nobody before the hash matched; after, it is
/// where it belongs with the bits the archive gives (as systemd-pull keeps them).
#[test]
fn a_tarball_is_out_of_reach_until_its_hash_matched() {
    let server = Server::start();
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8], mode: u32| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    add("bin/rootshell", b"#!/bin/sh\nexec sh\n", 0o4755);
    add("share/big", &pattern_bytes(2 << 20, 9), 0o644);
    let data = b.into_inner().unwrap();
    server.put("/os/app_2.0.tar", &data);
    publish(&server, &format!("{}  app_2.0.tar\n", sha256_hex(&data)), &keys().good);
    server.set(Behavior { delay: Duration::from_millis(40), ..Default::default() });
    let (dir, defs) = tar_root(&server);
    let app = dir.path().join("var/lib/app");
    let child = imprint()
        .args(["update", "apply", "--root"])
        .arg(dir.path())
        .arg("--definitions")
        .arg(&defs)
        .arg("--keyring")
        .arg(&keys().keyring)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mut seen = 0;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        for e in std::fs::read_dir(&app).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".#sysupdate") && !name.ends_with(".verified") {
                let mode = e.metadata().map(|m| m.permissions().mode() & 0o7777).unwrap_or(0o700);
                assert_eq!(mode, 0o700, "{name} is reachable while downloading");
                seen += 1;
            }
        }
        if app.join("app_2.0").exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(seen > 5, "the download was not watched ({seen} looks)");
    let mode = std::fs::metadata(app.join("app_2.0/bin/rootshell")).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o4755, "after the hash matched the archive's bits are kept");
    assert_eq!(std::fs::metadata(app.join("app_2.0")).unwrap().permissions().mode() & 0o777, 0o755);
}

/// Issue 14 point 2: a download has an overall deadline, not only one per read: a server that
/// trickles bytes forever is cut off.
#[test]
fn a_trickling_server_meets_the_overall_deadline() {
    let server = Server::start();
    server.put("/os/slow.raw", &pattern_bytes(4 << 20, 1));
    server.set(Behavior { delay: Duration::from_millis(200), ..Default::default() });
    let mut fetcher = imprint::update::fetch::Fetcher::new().unwrap();
    fetcher.deadline = Duration::from_secs(2);
    let out = tempfile::NamedTempFile::new().unwrap();
    let f = std::fs::File::options().write(true).open(out.path()).unwrap();
    let sink = Box::new(imprint::update::sink::SlotWriter::new(f, 0, 8 << 20));
    let t = Instant::now();
    let e = fetcher.download(&format!("{}/slow.raw", server.url()), sink, &|| false, &mut |_, _| {}, &mut |_| {}).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    assert!(e.to_string().contains("not finished after 2 s"), "{e}");
}

/// Issue 14 point 2: a regular-file target without `@s`, fed an xz bomb (64 MiB of zeroes in a
/// few KiB), stops at the room its file system has (here an 8 MiB tmpfs, in a private mount
/// namespace) less the reserve, with nothing left behind, instead of filling it.
#[test]
fn a_compressed_bomb_stops_at_the_room_there_is() {
    let server = Server::start();
    let bomb = xz(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    server.put("/os/ext_2.0.raw.xz", &bomb);
    publish(&server, &format!("{}  ext_2.0.raw.xz\n", sha256_hex(&bomb)), &keys().good);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("var/lib/ext")).unwrap();
    let defs = common::write_defs(
        &dir.path().join("defs"),
        &[(
            "10-ext.transfer",
            &format!(
                "[Source]\nType=url-file\nPath={}\nMatchPattern=ext_@v.raw.xz\n[Target]\nType=regular-file\nPath=/var/lib/ext\nMatchPattern=ext_@v.raw\n",
                server.url()
            ),
        )],
    );
    let script = format!(
        "mount -t tmpfs -o size=8m tmpfs {root}/var/lib/ext && {bin} update apply --root {root} --definitions {defs} --keyring {keyring}; echo rc=$?; df -k {root}/var/lib/ext | tail -1; ls -a {root}/var/lib/ext",
        root = root.display(),
        bin = env!("CARGO_BIN_EXE_imprint"),
        defs = defs.display(),
        keyring = keys().keyring.display()
    );
    let o = common::run_in_mount_namespace(&script, dir.path(), 120);
    let t = text(&o);
    assert!(t.contains("rc=1"), "{t}");
    assert!(t.contains("bytes do not fit the") && t.contains("bytes available"), "{t}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let listing: Vec<&str> = stdout.lines().skip_while(|l| !l.starts_with("tmpfs")).skip(1).collect();
    assert_eq!(listing, [".", ".."], "left behind:\n{t}");
}

/// Issue 14 point 11: a signature counts only from a key that may sign now. An expired key, a
/// revoked key and a subkey whose binding says it is not for signing are refused, each
/// named, although the signature itself is mathematically good.
#[test]
fn expired_revoked_and_non_signing_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = b"0000000000000000000000000000000000000000000000000000000000000000  usr_2.0.raw\n";
    let home = |name: &str| {
        let h = dir.path().join(name);
        std::fs::create_dir(&h).unwrap();
        std::fs::set_permissions(&h, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
        h
    };
    let fpr = |h: &Path| {
        let o = gpg(h, &["--list-keys", "--with-colons"]);
        String::from_utf8_lossy(&o.stdout).lines().find_map(|l| l.strip_prefix("fpr:").map(|r| r.trim_matches(':').to_string())).unwrap()
    };
    let check = |h: &Path, sig: &[u8]| {
        let ring = gpg(h, &["--export"]).stdout;
        let _ = Command::new("gpgconf").env("GNUPGHOME", h).args(["--kill", "gpg-agent"]).status();
        let keys = imprint::update::manifest::load_keyring(&ring, "ring").unwrap();
        imprint::update::manifest::verify(data, sig, &keys).map_err(|e| e.to_string())
    };

    // a key that expired: made and used in 2020, valid for a day
    let expired = home("expired");
    let fake = ["--faked-system-time", "20200101T000000!"];
    gpg(&expired, &[&fake[..], &["--quick-gen-key", "expired <e@example.org>", "ed25519", "sign", "1d"]].concat());
    let f = dir.path().join("data");
    std::fs::write(&f, data).unwrap();
    let sig = dir.path().join("expired.sig");
    gpg(&expired, &[&fake[..], &["--detach-sign", "--output", sig.to_str().unwrap(), f.to_str().unwrap()]].concat());
    let e = check(&expired, &std::fs::read(&sig).unwrap()).unwrap_err();
    assert!(e.contains("the key is expired"), "{e}");

    // a revoked key: the revocation certificate gpg made with it, imported
    let revoked = home("revoked");
    gpg(&revoked, &["--quick-gen-key", "revoked <r@example.org>", "ed25519", "sign", "never"]);
    let sig = sign(&revoked, data);
    assert_eq!(check(&revoked, &sig), Ok(()), "before the revocation the signature counts");
    let rev = std::fs::read_to_string(revoked.join(format!("openpgp-revocs.d/{}.rev", fpr(&revoked)))).unwrap();
    let cert = dir.path().join("rev.asc");
    std::fs::write(&cert, rev.replace(":-----BEGIN", "-----BEGIN")).unwrap();
    gpg(&revoked, &["--import", cert.to_str().unwrap()]);
    let e = check(&revoked, &sig).unwrap_err();
    assert!(e.contains("the key is revoked"), "{e}");

    // a signing subkey turned into an authentication-only one (its binding re-made without "sign")
    let sub = home("subkey");
    gpg(&sub, &["--quick-gen-key", "subkey <s@example.org>", "ed25519", "cert", "never"]);
    gpg(&sub, &["--quick-add-key", &fpr(&sub), "ed25519", "sign", "never"]);
    let sig = sign(&sub, data);
    assert_eq!(check(&sub, &sig), Ok(()), "the signing subkey's signature counts");
    let o =
        common::run_with_stdin(
            Command::new("gpg")
                .env("GNUPGHOME", &sub)
                .args(["--batch", "--expert", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(["--command-fd", "0", "--edit-key", &fpr(&sub)]),
            b"key 1\nchange-usage\nS\nA\nQ\nsave\n",
        );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let e = check(&sub, &sig).unwrap_err();
    assert!(e.contains("the subkey is not for signing"), "{e}");
}

/// Issue 16 point 3: an update that brings a Secure Boot update (a `.auth` file, here through a
/// regular-file transfer) offers `imprint tpm prepare` for it, naming the installed file; with
/// `--prepare-secure-boot` on another root it is refused (it prepares this machine's TPM for the
/// running system), before anything is written.
#[test]
fn an_update_bringing_a_secure_boot_update_offers_tpm_prepare() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("srv/sb")).unwrap();
    std::fs::create_dir_all(root.join("var/lib/secure-boot")).unwrap();
    let auth = imprint::tpm::secureboot::auth_file(
        &imprint::tpm::secureboot::sha256_list("77fa9abd-0359-4d32-bd60-28f4e78f784b", &[[7; 32]]),
        b"a PKCS#7 signature",
    );
    std::fs::write(root.join("srv/sb/dbx_2.auth"), &auth).unwrap();
    let defs = common::write_defs(
        &root.join("defs"),
        &[(
            "20-dbx.transfer",
            "[Source]\nType=regular-file\nPath=/srv/sb\nMatchPattern=dbx_@v.auth\n[Target]\nType=regular-file\nPath=/var/lib/secure-boot\nMatchPattern=dbx_@v.auth\n",
        )],
    );
    let refused =
        imprint().args(["update", "apply", "--prepare-secure-boot", "--root"]).arg(root).arg("--definitions").arg(&defs).output().unwrap();
    assert!(!refused.status.success() && text(&refused).contains("not with --root"), "{}", text(&refused));
    assert!(!root.join("var/lib/secure-boot/dbx_2.auth").exists(), "a refused update wrote");
    let o = run_ok(imprint().args(["update", "apply", "--root"]).arg(root).arg("--definitions").arg(&defs));
    let installed = root.join("var/lib/secure-boot/dbx_2.auth");
    assert_eq!(std::fs::read(&installed).unwrap(), auth);
    let t = text(&o);
    assert!(t.contains("brings Secure Boot updates"), "{t}");
    assert!(t.contains(&format!("imprint tpm prepare --secure-boot-update {}", installed.display())), "{t}");
}
