//! `imprint::luks` against the real libcryptsetup and, as the independent reference, Debian's
//! `cryptsetup` CLI (cryptsetup-bin 2.6.1), all on plain sparse files: there is no device-mapper
//! here, so nothing is ever activated.
//!
//! - the header, keyslots and recovery token as `cryptsetup luksDump` sees them, and passphrases
//!   as `cryptsetup open --test-passphrase` judges them;
//! - [`Xts`] against libcryptsetup's own userspace encryption (`cryptsetup reencrypt`), both ways,
//!   for 512- and 4096-byte sectors;
//! - recovery keys and their QR text;
//! - libcryptsetup's messages reach neither the terminal nor contain a secret.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use imprint::luks::{self, FormatParams, LuksError, Pbkdf, Xts, recovery};
use imprint::plan::derive::luks_uuid;
use imprint::secret::Secret;

const MIB: u64 = 1 << 20;
/// Fast keyslots for the cryptsetup CLI.
const CLI_FAST_PBKDF: &[&str] = &["--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `cryptsetup ARGS`, feeding `stdin` (a key file given as `--key-file=-`).
fn cryptsetup(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new("cryptsetup")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting cryptsetup (apt-get install cryptsetup-bin)");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn cryptsetup_ok(args: &[&str], stdin: &[u8]) -> String {
    let out = cryptsetup(args, stdin);
    assert!(out.status.success(), "cryptsetup {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn json_metadata(dev: &Path) -> serde_json::Value {
    serde_json::from_str(&cryptsetup_ok(&["luksDump", "--dump-json-metadata", s(dev)], b"")).unwrap()
}

/// A field of the binary header as `cryptsetup luksDump` prints it ("UUID", "Label").
fn dump_field(dev: &Path, name: &str) -> String {
    let text = cryptsetup_ok(&["luksDump", s(dev)], b"");
    let line = text.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("no {name} in luksDump"));
    line.split_once(':').unwrap().1.trim().to_string()
}

/// The volume key as cryptsetup unlocks it with `passphrase`.
fn cli_volume_key(dev: &Path, passphrase: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let vk = dir.path().join("vk");
    cryptsetup_ok(&["luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-", "--volume-key-file", s(&vk), s(dev)], passphrase);
    fs::read(vk).unwrap()
}

fn test_passphrase(dev: &Path, passphrase: &[u8]) -> bool {
    cryptsetup(&["open", "--test-passphrase", "--key-file=-", s(dev)], passphrase).status.success()
}

/// Deterministic bytes that differ in every sector.
fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn read_at(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    File::open(path).unwrap().read_exact_at(&mut buf, offset).unwrap();
    buf
}

fn str_of(secret: &Secret) -> &str {
    std::str::from_utf8(secret.expose()).unwrap()
}

// ---------------------------------------------------------------------------------------------

/// 1. The header as systemd would make it, read back by cryptsetup.
#[test]
fn header_keyslots_and_recovery_token_as_cryptsetup_sees_them() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("scratch");
    let partition = uuid::Uuid::parse_str("6f5a4c35-5e8d-4d2b-9b7e-3b9e3c1f0a11").unwrap();
    let uuid = luks_uuid(partition);
    let params = FormatParams { uuid, label: "root-x86-64".into(), sector_size: 4096, pbkdf: Pbkdf::Test };
    let header = luks::format(&dev, 48 * MIB, &params).unwrap();
    assert_eq!(header.data_offset, 16 * MIB);
    assert_eq!(header.sector_size, 4096);
    assert_eq!(header.volume_key.len(), 64);
    assert_eq!(fs::metadata(&dev).unwrap().len(), 48 * MIB);

    let pass = Secret::from_text("correct horse battery staple");
    let rk = recovery::generate();
    let s_pass = luks::add_keyslot(&dev, &header.volume_key, &pass, Pbkdf::Test).unwrap();
    let s_rk = luks::add_keyslot(&dev, &header.volume_key, &rk, Pbkdf::Minimal).unwrap();
    let token = luks::add_token(&dev, &luks::recovery_token(s_rk)).unwrap();
    assert_eq!((s_pass, s_rk, token), (0, 1, 0));
    assert_eq!(luks::tokens(&dev).unwrap(), vec![(token, luks::recovery_token(s_rk))]);

    // The binary header: UUID and label.
    assert_eq!(dump_field(&dev, "UUID"), uuid.to_string());
    assert_eq!(dump_field(&dev, "Label"), "root-x86-64");
    assert_eq!(cryptsetup_ok(&["luksUUID", s(&dev)], b"").trim(), uuid.to_string());

    // The JSON area.
    let j = json_metadata(&dev);
    let seg = &j["segments"]["0"];
    assert_eq!(seg["type"], "crypt");
    assert_eq!(seg["encryption"], "aes-xts-plain64");
    assert_eq!(seg["sector_size"], 4096);
    assert_eq!(seg["offset"], (16 * MIB).to_string());
    assert_eq!(seg["iv_tweak"], "0");
    assert_eq!(seg["size"], "dynamic");
    let keyslots = j["keyslots"].as_object().unwrap();
    assert_eq!(keyslots.len(), 2);
    let k0 = &keyslots[&s_pass.to_string()];
    assert_eq!(k0["key_size"], 64);
    assert_eq!(k0["area"]["encryption"], "aes-xts-plain64");
    assert_eq!(k0["kdf"]["type"], "argon2id");
    assert_eq!((&k0["kdf"]["time"], &k0["kdf"]["memory"], &k0["kdf"]["cpus"]), (&4.into(), &32.into(), &1.into()));
    let k1 = &keyslots[&s_rk.to_string()];
    assert_eq!(k1["key_size"], 64);
    assert_eq!(k1["kdf"]["type"], "pbkdf2");
    assert_eq!(k1["kdf"]["hash"], "sha512");
    assert_eq!(k1["kdf"]["iterations"], 1000);
    assert_eq!(j["tokens"], serde_json::json!({ "0": { "type": "systemd-recovery", "keyslots": ["1"] } }));

    // The volume key format() returned is the one in the header.
    assert_eq!(cli_volume_key(&dev, pass.expose()), header.volume_key.expose());

    // cryptsetup's verdict on passphrases; the recovery key as formatted, dashes included.
    assert!(test_passphrase(&dev, pass.expose()));
    assert!(test_passphrase(&dev, rk.expose()));
    assert!(!test_passphrase(&dev, b"correct horse battery stapler"));
    assert!(!test_passphrase(&dev, str_of(&rk).replace('-', "").as_bytes()), "the keyslot holds the dashed form");

    // Ours agrees.
    assert_eq!(luks::check_passphrase(&dev, &pass).unwrap(), s_pass);
    assert_eq!(luks::check_passphrase(&dev, &rk).unwrap(), s_rk);
    assert!(matches!(luks::check_passphrase(&dev, &Secret::from_text("wrong")), Err(LuksError::WrongPassphrase)));

    // The recovery key typed in upper case without dashes, normalized, opens its keyslot.
    let typed = str_of(&rk).replace('-', "").to_uppercase();
    let normalized = recovery::normalize(&typed).unwrap();
    assert_eq!(luks::check_passphrase(&dev, &normalized).unwrap(), s_rk);
    assert!(test_passphrase(&dev, normalized.expose()));

    // Errors name what failed.
    let not_luks = dir.path().join("zeros");
    File::create(&not_luks).unwrap().set_len(MIB).unwrap();
    let e = luks::check_passphrase(&not_luks, &pass).unwrap_err();
    assert!(matches!(e, LuksError::Crypt { .. }) && e.to_string().contains("zeros"), "{e}");
}

/// 1b. `Pbkdf::Systemd` is libcryptsetup's benchmarked argon2id default (slow: ~2 s per use).
#[test]
fn systemd_pbkdf_is_benchmarked_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let dev = dir.path().join("scratch");
    let p = FormatParams { uuid: uuid::Uuid::new_v4(), label: "root".into(), sector_size: 4096, pbkdf: Pbkdf::Systemd };
    let h = luks::format(&dev, 32 * MIB, &p).unwrap();
    let pass = Secret::from_text("a real passphrase");
    let slot = luks::add_keyslot(&dev, &h.volume_key, &pass, Pbkdf::Systemd).unwrap();
    let kdf = &json_metadata(&dev)["keyslots"][slot.to_string()]["kdf"];
    assert_eq!(kdf["type"], "argon2id");
    let (time, memory, cpus) = (kdf["time"].as_u64().unwrap(), kdf["memory"].as_u64().unwrap(), kdf["cpus"].as_u64().unwrap());
    assert!(time >= 4 && (32..=1024 * 1024).contains(&memory) && (1..=4).contains(&cpus), "{kdf}");
    assert!(memory > 32 || time > 4, "benchmarked, not the test minimum: {kdf}");
    assert_eq!(luks::check_passphrase(&dev, &pass).unwrap(), slot);
}

// ---------------------------------------------------------------------------------------------

/// 2a. libcryptsetup encrypts (offline `reencrypt --encrypt`, its userspace AES-XTS); Xts decrypts.
#[test]
fn xts_decrypts_what_libcryptsetup_encrypted() {
    for ss in [512u32, 4096] {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir.path().join("plain.img");
        let len = 4 * MIB as usize;
        let plain = pattern(len, u64::from(ss));
        fs::write(&dev, &plain).unwrap();
        // Room for the header: --reduce-device-size takes it from the end of the device.
        OpenOptions::new().write(true).open(&dev).unwrap().set_len(len as u64 + 32 * MIB).unwrap();
        let pass = b"reencrypt-pass";
        let ss_arg = ss.to_string();
        let mut args = vec!["reencrypt", "--encrypt", "--type", "luks2", "--reduce-device-size", "32M", "--sector-size", &ss_arg];
        args.extend_from_slice(&["--batch-mode", "--key-file=-"]);
        args.extend_from_slice(CLI_FAST_PBKDF);
        args.push(s(&dev));
        cryptsetup_ok(&args, pass);

        let j = json_metadata(&dev);
        let seg = &j["segments"]["0"];
        assert_eq!(seg["encryption"], "aes-xts-plain64");
        assert_eq!(seg["sector_size"], ss);
        assert_eq!(seg["iv_tweak"], "0");
        let offset: u64 = seg["offset"].as_str().unwrap().parse().unwrap();
        let vk = Secret::new(cli_volume_key(&dev, pass));
        assert_eq!(vk.len(), 64);

        let xts = Xts::new(&vk, ss);
        let mut data = read_at(&dev, offset, len);
        assert_ne!(data, plain, "the data was encrypted");
        xts.decrypt(&mut data, 0);
        assert!(data == plain, "sector size {ss}: Xts::decrypt of cryptsetup's ciphertext is not the plaintext");

        // A piece in the middle, on its own, at its offset.
        let (at, n) = (MIB as usize + 3 * 4096, 64 * 1024);
        let mut piece = read_at(&dev, offset + at as u64, n);
        xts.decrypt(&mut piece, at as u64);
        assert!(piece == plain[at..at + n], "sector size {ss}: decrypting at an offset");
    }
}

/// 2b. Xts encrypts into a segment behind a header made by `format`; libcryptsetup decrypts.
///
/// The partition is assembled the way the executor does it: the header area `[0, data_offset)`
/// copied from the scratch file into a disk image, the segment written by `Xts` chunk by chunk;
/// then verified the way the executor does it (the header copied back into a fresh sparse file).
///
/// cryptsetup 2.6.1 cannot decrypt in place with the header in front of the data ("LUKS2
/// decryption requires --header option"), and with `--header` only when the data offset is 0
/// ("LUKS2 decryption is supported with detached header device only (with data offset set to
/// 0)"); that came in 2.7. So the segment is copied to a file of its own, cryptsetup makes a
/// detached header for it with the volume key it reads out of *our* header, and decrypts.
#[test]
fn libcryptsetup_decrypts_what_xts_encrypted() {
    for ss in [512u32, 4096] {
        let dir = tempfile::tempdir().unwrap();
        let part_size = 20 * MIB;
        let part_at = MIB;
        let scratch = dir.path().join("scratch");
        let params = FormatParams { uuid: uuid::Uuid::new_v4(), label: "var".into(), sector_size: ss, pbkdf: Pbkdf::Test };
        let header = luks::format(&scratch, part_size, &params).unwrap();
        let pass = Secret::from_text("xts-direction-b");
        let slot = luks::add_keyslot(&scratch, &header.volume_key, &pass, Pbkdf::Test).unwrap();

        // The executor's copy: header bytes, then the encrypted segment.
        let disk = dir.path().join("disk.img");
        let d = OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&disk).unwrap();
        d.set_len(part_at + part_size + MIB).unwrap();
        let head = read_at(&scratch, 0, header.data_offset as usize);
        d.write_all_at(&head, part_at).unwrap();
        let len = 4 * MIB as usize - 64 * 1024;
        let plain = pattern(len, 1000 + u64::from(ss));
        let xts = Xts::new(&header.volume_key, header.sector_size);
        for (i, chunk) in plain.chunks(MIB as usize).enumerate() {
            let off = i as u64 * MIB;
            let mut buf = chunk.to_vec();
            xts.encrypt(&mut buf, off);
            d.write_all_at(&buf, part_at + header.data_offset + off).unwrap();
        }
        drop(d);

        // The executor's verification: the header read back from the target.
        let verify = dir.path().join("verify");
        let v = File::create(&verify).unwrap();
        v.set_len(part_size).unwrap();
        v.write_all_at(&read_at(&disk, part_at, header.data_offset as usize), 0).unwrap();
        drop(v);
        assert_eq!(luks::check_passphrase(&verify, &pass).unwrap(), slot);

        // cryptsetup reads the partition: our header, our key.
        let part = dir.path().join("part.img");
        fs::write(&part, read_at(&disk, part_at, part_size as usize)).unwrap();
        let vk = cli_volume_key(&part, pass.expose());
        assert_eq!(vk, header.volume_key.expose());
        let seg = &json_metadata(&part)["segments"]["0"];
        assert_eq!((&seg["sector_size"], &seg["iv_tweak"]), (&ss.into(), &"0".into()));
        assert_eq!(seg["offset"], header.data_offset.to_string());

        // ... and libcryptsetup decrypts the segment (detached header, data offset 0).
        let segment = dir.path().join("segment.img");
        fs::write(&segment, read_at(&part, header.data_offset, (part_size - header.data_offset) as usize)).unwrap();
        let vk_file = dir.path().join("vk");
        fs::write(&vk_file, &vk).unwrap();
        let hdr = dir.path().join("detached.hdr");
        let ss_arg = ss.to_string();
        let mut args = vec!["luksFormat", "--batch-mode", "--type", "luks2", "--header", s(&hdr), "--volume-key-file", s(&vk_file)];
        args.extend_from_slice(&["--key-size", "512", "--cipher", "aes-xts-plain64", "--sector-size", &ss_arg, "--key-file=-"]);
        args.extend_from_slice(CLI_FAST_PBKDF);
        args.push(s(&segment));
        cryptsetup_ok(&args, b"detached");
        assert_eq!(json_metadata(&hdr)["segments"]["0"]["offset"], "0");
        let args =
            ["reencrypt", "--decrypt", "--force-offline-reencrypt", "--batch-mode", "--key-file=-", "--header", s(&hdr), s(&segment)];
        cryptsetup_ok(&args, b"detached");
        let back = read_at(&segment, 0, len);
        assert!(back == plain, "sector size {ss}: cryptsetup's decryption of Xts::encrypt output is not the plaintext");
    }
}

// ---------------------------------------------------------------------------------------------

/// 3. Recovery keys: systemd's format, distinct, normalized, and their QR text.
#[test]
fn recovery_keys_and_qr_text() {
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        let k = recovery::generate();
        let text = str_of(&k);
        assert_eq!(text.len(), 71);
        let groups: Vec<&str> = text.split('-').collect();
        assert_eq!(groups.len(), 8);
        assert!(groups.iter().all(|g| g.len() == 8 && g.bytes().all(|c| b"cbdefghijklnrtuv".contains(&c))), "{groups:?}");
        assert!(recovery::normalize(text).unwrap() == k);
        assert!(recovery::normalize(&text.to_uppercase()).unwrap() == k);
        assert!(recovery::normalize(&text.replace('-', "")).unwrap() == k);
        assert!(seen.insert(k.expose().to_vec()));
    }
    assert!(recovery::normalize("cbdefghi").is_none());

    let k = recovery::generate();
    // Version 4 (33×33 modules) for 71 bytes at level L, as libqrencode picks for systemd.
    let unicode = String::from_utf8(recovery::qr_text(&k, false).expose().to_vec()).unwrap();
    let lines: Vec<&str> = unicode.lines().collect();
    assert_eq!(lines.len(), (33 + 8usize).div_ceil(2));
    assert!(lines.iter().all(|l| l.chars().count() == 33 + 8));
    assert!(unicode.chars().all(|c| matches!(c, '█' | '▀' | '▄' | ' ' | '\n')));
    assert!(lines[0].chars().all(|c| c == '█') && lines[1].chars().all(|c| c == '█'), "quiet zone");
    // The top-left finder pattern, 4 modules in: a dark row above a row dark only at its ends.
    assert_eq!(lines[2].chars().skip(4).take(7).collect::<String>(), " ▄▄▄▄▄ ");
    let ascii = recovery::qr_text(&k, true);
    let ascii = std::str::from_utf8(ascii.expose()).unwrap();
    assert!(ascii.is_ascii());
    let lines: Vec<&str> = ascii.lines().collect();
    assert_eq!(lines.len(), 33 + 4);
    assert!(lines.iter().all(|l| l.len() == 2 * (33 + 4) && l.bytes().all(|b| b == b'#' || b == b' ')));
    assert_eq!(&lines[2][4..18], " ".repeat(14), "finder pattern row");
    assert!(!ascii.contains(str_of(&k)) && !unicode.contains(str_of(&k)));
}

// ---------------------------------------------------------------------------------------------

const QUIET_PASS: &str = "quiet-child-passphrase-7f3a";
const QUIET_RK: &str = "cbdefghi-jklnrtuv-vutrnlkj-ihgfedcb-cccccccc-bbbbbbbb-dddddddd-eeeeeeee";

/// Formats, adds keyslots and a token, checks right and wrong passphrases, and provokes the
/// messages libcryptsetup does log at its default level: a partition too small for data ("…is
/// too small for activation…", level normal) and a keyslot added with a volume key that is not
/// the volume's, together with the secret passphrase ("Volume key does not match the volume.",
/// level error). A wrong passphrase or a file that is not LUKS make the library return an error
/// code but log nothing (the CLI prints those messages itself).
fn noisy_session(dir: &Path) {
    let dev = dir.join("scratch");
    let p = FormatParams { uuid: uuid::Uuid::new_v4(), label: "home".into(), sector_size: 512, pbkdf: Pbkdf::Test };
    assert!(luks::format(&dev, 2 * MIB, &p).is_err());
    let h = luks::format(&dev, 17 * MIB, &p).unwrap();
    let pass = Secret::from_text(QUIET_PASS);
    let rk = recovery::normalize(QUIET_RK).unwrap();
    luks::add_keyslot(&dev, &h.volume_key, &pass, Pbkdf::Test).unwrap();
    let slot = luks::add_keyslot(&dev, &h.volume_key, &rk, Pbkdf::Minimal).unwrap();
    luks::add_token(&dev, &luks::recovery_token(slot)).unwrap();
    assert!(luks::add_keyslot(&dev, &Secret::new(vec![7; 64]), &pass, Pbkdf::Test).is_err());
    assert!(luks::add_keyslot(&dev, &Secret::new(vec![7; 64]), &rk, Pbkdf::Minimal).is_err());
    assert!(luks::check_passphrase(&dev, &rk).is_ok());
    assert!(matches!(luks::check_passphrase(&dev, &Secret::from_text("wrong")), Err(LuksError::WrongPassphrase)));
    let zeros = dir.join("zeros");
    File::create(&zeros).unwrap().set_len(MIB).unwrap();
    assert!(luks::check_passphrase(&zeros, &pass).is_err());
}

fn contains_secret(text: &str) -> bool {
    let rk_bare = QUIET_RK.replace('-', "");
    text.contains(QUIET_PASS) || text.contains(QUIET_RK) || text.contains(&rk_bare) || text.to_lowercase().contains(&rk_bare)
}

/// 4a. libcryptsetup's messages land in `take_log`, and none holds a secret.
#[test]
fn libcryptsetup_messages_are_captured_and_hold_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let _ = luks::take_log();
    noisy_session(dir.path());
    let log = luks::take_log();
    assert!(!log.is_empty(), "libcryptsetup said nothing: the test would prove nothing");
    assert!(log.iter().any(|m| m.text.contains("too small")), "{log:?}");
    assert!(log.iter().filter(|m| m.text.contains("Volume key does not match")).count() == 2, "{log:?}");
    for m in &log {
        assert!(!contains_secret(&m.text), "a secret in libcryptsetup's log: {:?}", m.level);
    }
    assert!(luks::take_log().is_empty(), "take_log empties the buffer");
}

/// 4b. The child half of 4c: does its work only when asked to by the parent.
#[test]
fn quiet_child() {
    if std::env::var_os("IMPRINT_LUKS_QUIET_CHILD").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    noisy_session(dir.path());
    assert!(!luks::take_log().is_empty());
}

/// 4c. A process that formats, enrolls and fails to unlock writes nothing from libcryptsetup to
/// its stdout or stderr, and no secret at all.
#[test]
fn libcryptsetup_writes_nothing_to_the_terminal() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "quiet_child", "--nocapture", "--test-threads=1"])
        .env("IMPRINT_LUKS_QUIET_CHILD", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("test quiet_child ... ok"), "{stdout}");
    assert_eq!(stderr.trim(), "", "libcryptsetup wrote to stderr");
    for text in [&stdout, &stderr] {
        for said in ["too small", "Volume key", "LUKS", "passphrase", "Device"] {
            assert!(!text.contains(said), "{said:?} reached the terminal: {text}");
        }
        assert!(!contains_secret(text));
    }
}

// ---------------------------------------------------------------------------------------------
