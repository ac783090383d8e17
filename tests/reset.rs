//! `imprint reset` against systemd 252 on this machine.
//!
//! - Differential: for several definition sets, a populated image (systemd-repart's layout, a
//!   marker written into every partition) is reset by `systemd-repart --factory-reset=yes
//!   --dry-run=no` on one copy and `imprint reset now` on another, with the same seed: the
//!   tables must be equal, the kept partitions byte-identical to before, and the secret marker
//!   (and any LUKS header) nowhere in imprint's image.
//! - Refusals (OS partitions, a mounted disk) change nothing.
//! - request / status / cancel on an efivars folder: the variables' bytes as systemd writes
//!   them, every state, and systemd-repart 252 itself acting on the request.
//!
//! Runs as root (loop devices, mounts, a private mount namespace).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

const SEED: &str = "5e6f7a8b-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
/// Written into every partition a reset erases; must be gone afterwards.
const SECRET: &[u8] = b"IMPRINT-RESET-TEST-SECRET-9c41e7";
/// Written into every partition a reset keeps; must still be there.
const KEEP: &[u8] = b"IMPRINT-RESET-TEST-KEEP-52ab03";
const LUKS_MAGIC: &[u8] = b"LUKS\xba\xbe";

const ROOT_HOME: &[(&str, &str)] = &[
    ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
    ("20-usr.conf", "[Partition]\nType=usr\nSizeMinBytes=200M\nSizeMaxBytes=200M\n"),
    ("30-root.conf", "[Partition]\nType=root\nFormat=ext4\nFactoryReset=yes\nSizeMinBytes=128M\nSizeMaxBytes=128M\n"),
    ("40-home.conf", "[Partition]\nType=home\nFactoryReset=yes\n"),
];

/// Reset partitions between kept ones: the table has unused slots afterwards, and repart 252
/// numbers the new partitions after the highest used slot. home holds a LUKS2 volume.
const GAPS_LUKS: &[(&str, &str)] = &[
    ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
    ("20-root.conf", "[Partition]\nType=root\nFactoryReset=yes\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
    ("30-usr.conf", "[Partition]\nType=usr\nSizeMinBytes=200M\nSizeMaxBytes=200M\n"),
    ("40-home.conf", "[Partition]\nType=home\nFactoryReset=yes\nWeight=500\n"),
    ("50-swap.conf", "[Partition]\nType=swap\nSizeMinBytes=32M\nSizeMaxBytes=32M\n"),
    ("60-var.conf", "[Partition]\nType=var\nFactoryReset=yes\nSizeMinBytes=64M\n"),
];

const NOTHING: &[(&str, &str)] = &[
    ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
    ("20-usr.conf", "[Partition]\nType=usr\nSizeMinBytes=200M\nSizeMaxBytes=200M\n"),
    ("30-root.conf", "[Partition]\nType=root\nSizeMinBytes=100M\n"),
];

/// An image laid out by systemd-repart, with markers in every partition.
struct Populated {
    dir: tempfile::TempDir,
    defs: PathBuf,
    base: PathBuf,
    /// Partition numbers a reset erases.
    reset: Vec<u32>,
    /// The LUKS UUIDs written into the image.
    luks_uuids: Vec<String>,
}

/// The partitions bound to a definition with FactoryReset=yes, as imprint's planner binds them.
fn reset_numbers(defs: &Path, img: &Path) -> Vec<u32> {
    let defs = imprint::profile::repart::load_definitions(&[defs.to_path_buf()]).unwrap();
    let f = std::fs::File::open(img).unwrap();
    let table = imprint::disk::table::read_gpt(&f, imprint::disk::table::probe_sector_size(&f)).unwrap().unwrap();
    let (bound, _) = imprint::plan::bind(&defs, &table);
    let mut v: Vec<u32> = defs.iter().zip(bound).filter(|(d, p)| d.factory_reset && p.is_some()).map(|(_, p)| p.unwrap().number).collect();
    v.sort();
    v
}

fn write_at(path: &Path, offset: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    std::fs::OpenOptions::new().write(true).open(path).unwrap().write_all_at(bytes, offset).unwrap();
}

/// Formats `[offset, offset+size)` of `img` as LUKS2 (made in a scratch file, copied in);
/// returns its UUID.
fn luks_format(dir: &Path, img: &Path, offset: u64, size: u64) -> String {
    let scratch = dir.join("luks.img");
    sparse_file(&scratch, size);
    let key = dir.join("luks.key");
    std::fs::write(&key, "correct horse battery staple").unwrap();
    run_ok(
        Command::new("cryptsetup")
            .args(["luksFormat", "--batch-mode", "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"])
            .arg("--key-file")
            .arg(&key)
            .arg(&scratch),
    );
    let uuid = String::from_utf8(run_ok(Command::new("cryptsetup").arg("luksUUID").arg(&scratch)).stdout).unwrap().trim().to_string();
    let mut head = vec![0u8; 16 << 20];
    std::fs::File::open(&scratch).unwrap().read_exact(&mut head).unwrap();
    write_at(img, offset, &head);
    std::fs::remove_file(scratch).unwrap();
    uuid
}

/// Lays out `defs` with systemd-repart on a fresh image of `size`, puts a LUKS2 volume into the
/// partitions numbered in `luks`, and writes the markers.
fn populate(defs: &[(&str, &str)], size: u64, luks: &[u32]) -> Populated {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(&dir.path().join("defs"), defs);
    let base = dir.path().join("base.img");
    sparse_file(&base, size);
    systemd_repart(SEED, &defs, &base, &["--empty=allow"]);
    let reset = reset_numbers(&defs, &base);
    let table = sfdisk_json(&base);
    let mut luks_uuids = Vec::new();
    for (i, _) in table["partitiontable"]["partitions"].as_array().unwrap().iter().enumerate() {
        let n = i as u32 + 1;
        let (o, s) = part_range(&table, i + 1);
        let erased = reset.contains(&n);
        let marker = if erased { SECRET } else { KEEP };
        if luks.contains(&n) {
            luks_uuids.push(luks_format(dir.path(), &base, o, s));
        } else if erased {
            write_at(&base, o + 512, marker);
        }
        write_at(&base, o + s / 2 / 4096 * 4096 + 100, marker);
        write_at(&base, o + s - 8192, marker);
    }
    Populated { dir, defs, base, reset, luks_uuids }
}

fn copy_image(from: &Path, to: &Path) {
    run_ok(Command::new("cp").arg("--sparse=always").arg(from).arg(to));
}

fn reset_now(flag: &str, target: &Path, defs: &Path, extra: &[&str]) -> Output {
    imprint().args(["reset", "now", flag]).arg(target).arg("--definitions").arg(defs).args(["--seed", SEED]).args(extra).output().unwrap()
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &Output) {
    assert!(o.status.success(), "imprint failed:\nstdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&o.stdout), stderr_of(o));
}

/// Whether `needle` occurs anywhere in the file (holes read as zeroes, so only the data
/// extents are searched).
fn file_contains(path: &Path, needle: &[u8]) -> bool {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path).unwrap();
    let len = f.metadata().unwrap().len();
    let mut buf = vec![0u8; 4 << 20];
    for (start, size) in imprint::disk::copy::data_segments(&f, 0, len) {
        // overlap the chunks by the needle's length, so a match across a boundary is found
        let mut pos = start;
        let end = start + size;
        while pos < end {
            let n = (buf.len() as u64).min(end - pos) as usize;
            f.read_exact_at(&mut buf[..n], pos).unwrap();
            let hay = &buf[..n];
            let mut i = 0;
            while let Some(j) = hay[i..].iter().position(|b| *b == needle[0]) {
                let at = i + j;
                if hay.len() - at >= needle.len() && &hay[at..at + needle.len()] == needle {
                    return true;
                }
                i = at + 1;
            }
            if pos + n as u64 >= end {
                break;
            }
            pos += (n - needle.len()) as u64;
        }
    }
    false
}

fn whole_hash(path: &Path) -> String {
    sha256_range(path, 0, std::fs::metadata(path).unwrap().len())
}

/// The kept partitions of `before` (by number, at their old place) are byte-identical in `after`.
fn assert_kept(before: &Path, after: &Path, reset: &[u32]) {
    let t = sfdisk_json(before);
    for (i, p) in t["partitiontable"]["partitions"].as_array().unwrap().iter().enumerate() {
        let n = i as u32 + 1;
        if reset.contains(&n) {
            continue;
        }
        let (o, s) = part_range(&t, i + 1);
        assert_eq!(sha256_range(before, o, s), sha256_range(after, o, s), "kept partition {n} ({}) changed", p["name"]);
    }
}

/// The whole differential check on image files; returns repart's image, imprint's image and
/// imprint's JSON Lines events.
fn differential(name: &str, p: &Populated) -> (PathBuf, PathBuf, String) {
    let a = p.dir.path().join("repart.img");
    let b = p.dir.path().join("imprint.img");
    copy_image(&p.base, &a);
    copy_image(&p.base, &b);
    systemd_repart(SEED, &p.defs, &a, &["--factory-reset=yes"]);
    let out = reset_now("--image", &b, &p.defs, &["--yes", "--progress=json"]);
    assert_ok(&out);
    check_events(&out);
    let (ja, jb) = (sfdisk_json(&a), sfdisk_json(&b));
    assert_eq!(ja, jb, "{name}: tables differ\nrepart:  {ja:#}\nimprint: {jb:#}");
    assert_kept(&p.base, &b, &p.reset);
    assert!(!file_contains(&b, SECRET), "{name}: a secret survived the reset");
    assert!(file_contains(&b, KEEP), "{name}: a kept marker is gone");
    assert_no_changes(&p.defs, &b);
    (a, b, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The JSON Lines stream: versioned events, steps numbered 1..=steps in order, one finish.
fn check_events(out: &Output) {
    let events: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(events.first().unwrap()["event"], "started");
    let steps = events[0]["steps"].as_u64().unwrap();
    let started: Vec<u64> = events.iter().filter(|e| e["event"] == "step-started").map(|e| e["step"].as_u64().unwrap()).collect();
    assert_eq!(started, (1..=steps).collect::<Vec<_>>(), "{events:#?}");
    assert!(events.iter().all(|e| e["v"] == 1));
    assert_eq!(events.iter().filter(|e| e["event"] == "finished").count(), 1);
}

#[test]
fn root_and_home_are_reset_like_systemd_repart() {
    let p = populate(ROOT_HOME, 1 << 30, &[]);
    assert_eq!(p.reset, [3, 4]);
    let (a, b, events) = differential("root+home", &p);
    assert_eq!(events.matches("every byte reads as zero (the image file holds a hole there)").count(), 2, "{events}");
    // the new root file system carries the UUID repart derives for it
    let t = sfdisk_json(&a);
    let (o, s) = part_range(&t, 3);
    let probe = |img: &Path| sh(&format!("blkid -p -o export -O {o} -S {s} {} | grep -E '^(UUID|TYPE|LABEL)='", img.display()));
    assert_eq!(probe(&a), probe(&b));
    assert!(probe(&b).contains("TYPE=ext4"));
}

#[test]
fn gaps_in_the_table_and_a_luks_home_are_handled_like_systemd_repart() {
    let p = populate(GAPS_LUKS, 1 << 30, &[4]);
    assert_eq!(p.reset, [2, 4, 6]);
    assert!(file_contains(&p.base, LUKS_MAGIC));
    let (_, b, events) = differential("gaps+luks", &p);
    let erased: Vec<serde_json::Value> =
        events.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|e| e["method"] == "erased").collect();
    assert_eq!(erased.len(), 3, "{events}");
    assert_eq!(erased[1]["partition"], 4);
    assert!(erased[1]["digest"].as_str().unwrap().starts_with("LUKS2 headers and keyslots wiped (first 16 MiB)"), "{events}");
    assert!(!file_contains(&b, LUKS_MAGIC), "the LUKS header survived");
    assert!(!file_contains(&b, b"SKUL\xba\xbe"), "the secondary LUKS header survived");
    for u in &p.luks_uuids {
        assert!(!file_contains(&b, u.as_bytes()), "LUKS UUID {u} still in the image");
    }
    // repart 252 numbers new partitions after the highest used slot: 6, 7, 8 (2 and 4 stay free)
    let out = run_ok(Command::new("sfdisk").arg("-d").arg(&b));
    let dump = String::from_utf8_lossy(&out.stdout);
    for n in [1, 3, 5, 6, 7, 8] {
        assert!(dump.contains(&format!("imprint.img{n} :")), "{dump}");
    }
}

#[test]
fn nothing_marked_for_reset_changes_nothing() {
    let p = populate(NOTHING, 512 << 20, &[]);
    assert!(p.reset.is_empty());
    let before = whole_hash(&p.base);
    let b = p.dir.path().join("imprint.img");
    copy_image(&p.base, &b);
    let out = reset_now("--image", &b, &p.defs, &["--yes"]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing to do"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(whole_hash(&b), before);
    let a = p.dir.path().join("repart.img");
    copy_image(&p.base, &a);
    systemd_repart(SEED, &p.defs, &a, &["--factory-reset=yes"]);
    assert_eq!(sfdisk_json(&a), sfdisk_json(&b));
}

#[test]
fn loop_devices_with_4k_sectors() {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(&dir.path().join("defs"), ROOT_HOME);
    let base = dir.path().join("base.img");
    sparse_file(&base, 1 << 30);
    {
        let l = Loop::attach(&base, &["--sector-size", "4096"]);
        systemd_repart(SEED, &defs, &l.dev, &["--empty=allow"]);
        let t = sfdisk_json(&l.dev);
        assert_eq!(t["partitiontable"]["sectorsize"], 4096);
        for (n, marker) in [(1, KEEP), (2, KEEP), (3, SECRET), (4, SECRET)] {
            let (o, s) = part_range(&t, n);
            write_at(&base, o + s / 2, marker);
            write_at(&base, o + s - 4096, marker);
        }
    }
    let a = dir.path().join("repart.img");
    let b = dir.path().join("imprint.img");
    copy_image(&base, &a);
    copy_image(&base, &b);
    let la = Loop::attach(&a, &["--sector-size", "4096"]);
    let lb = Loop::attach(&b, &["--sector-size", "4096"]);
    systemd_repart(SEED, &defs, &la.dev, &["--factory-reset=yes"]);
    let out = reset_now("--target", &lb.dev, &defs, &["--yes"]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("read back in full: all zeroes"), "{text}");
    let (ja, jb) = (sfdisk_json(&la.dev), sfdisk_json(&lb.dev));
    assert_eq!(ja, jb);
    drop(lb);
    assert!(!file_contains(&b, SECRET));
    assert!(file_contains(&b, KEEP));
    // an image file is not a block device, and the other way round
    let out = reset_now("--target", &b, &defs, &["--yes"]);
    assert!(
        !out.status.success() && stderr_of(&out).contains("not a block device (for an image file, use --image)"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn os_partitions_are_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(
        &dir.path().join("defs"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            ("20-usr.conf", "[Partition]\nType=usr\nFactoryReset=yes\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
            ("30-root.conf", "[Partition]\nType=root\nFactoryReset=yes\n"),
        ],
    );
    std::fs::create_dir(defs.join("10-esp.conf.d")).unwrap();
    std::fs::write(defs.join("10-esp.conf.d/50-reset.conf"), "# reset everything\n[Partition]\nFactoryReset=yes\n").unwrap();
    let img = dir.path().join("img");
    sparse_file(&img, 512 << 20);
    systemd_repart(SEED, &defs, &img, &["--empty=allow"]);
    let t = sfdisk_json(&img);
    let (uo, us) = part_range(&t, 2);
    write_at(&img, uo + us / 2, SECRET);
    let before = whole_hash(&img);
    let out = reset_now("--image", &img, &defs, &["--yes"]);
    assert!(!out.status.success());
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!(
            "{}:3: FactoryReset=yes on a partition of type usr-x86-64, /usr, the operating system itself",
            defs.join("20-usr.conf").display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}:3: FactoryReset=yes on a partition of type esp, the EFI System Partition",
            defs.join("10-esp.conf.d/50-reset.conf").display()
        )),
        "{err}"
    );
    assert!(err.contains("or pass --force"), "{err}");
    assert!(!err.contains("30-root.conf"), "root may be reset: {err}");
    assert_eq!(whole_hash(&img), before, "a refused reset wrote something");
    // forced, they go too, as systemd-repart (which has no such refusal) does it
    let a = dir.path().join("repart.img");
    copy_image(&img, &a);
    systemd_repart(SEED, &defs, &a, &["--factory-reset=yes"]);
    let out = reset_now("--image", &img, &defs, &["--yes", "--force"]);
    assert_ok(&out);
    assert_eq!(sfdisk_json(&a), sfdisk_json(&img));
    assert!(!file_contains(&img, SECRET));
}

/// Unmounts on drop.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_mounted_disk_is_refused_with_a_pointer_to_request() {
    let p = populate(ROOT_HOME, 1 << 30, &[]);
    let t = sfdisk_json(&p.base);
    // the root partition holds ext4 (repart formatted it; the marker at 512 is in its boot block)
    let (o, s) = part_range(&t, 3);
    let lo = Loop::attach(&p.base, &["-o", &o.to_string(), "--sizelimit", &s.to_string()]);
    let mnt = p.dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let before = whole_hash(&p.base);
    // read-only and without journal replay, so mounting writes nothing
    run_ok(Command::new("mount").args(["-o", "ro,noload"]).arg(&lo.dev).arg(&mnt));
    let guard = Mount(mnt.clone());
    for (flag, target) in [("--image", p.base.clone()), ("--target", lo.dev.clone())] {
        let out = reset_now(flag, &target, &p.defs, &["--yes"]);
        assert!(!out.status.success(), "{} was reset", target.display());
        let err = stderr_of(&out);
        assert!(err.contains("mounted") && err.contains("use `imprint reset request` and reboot"), "{err}");
    }
    drop(guard);
    drop(lo);
    assert_eq!(whole_hash(&p.base), before);

    // the disk this system runs from (--dry-run on top, should the refusal ever fail)
    let disks = imprint::disk::sysfs::list_disks(&Default::default(), None).unwrap();
    if let Some(running) = disks.iter().find(|d| d.holds_running_system) {
        let out = reset_now("--target", &running.path, &p.defs, &["--yes", "--dry-run"]);
        assert!(!out.status.success());
        let err = stderr_of(&out);
        assert!(err.contains("holds the running system") && err.contains("use `imprint reset request` and reboot"), "{err}");
    }
}

#[test]
fn running_again_after_an_interruption_completes_the_reset() {
    // the state an interruption after "write the table without the erased partitions" leaves
    let p = populate(ROOT_HOME, 1 << 30, &[]);
    let a = p.dir.path().join("repart.img");
    copy_image(&p.base, &a);
    systemd_repart(SEED, &p.defs, &a, &["--factory-reset=yes"]);
    let b = p.dir.path().join("imprint.img");
    copy_image(&p.base, &b);
    run_ok(Command::new("sfdisk").args(["--delete"]).arg(&b).args(["3", "4"]));
    let out = reset_now("--image", &b, &p.defs, &["--yes"]);
    assert_ok(&out);
    assert_eq!(sfdisk_json(&a), sfdisk_json(&b));
    // ... and before that: erased but still in the table, it is erased again and replaced
    let c = p.dir.path().join("again.img");
    copy_image(&p.base, &c);
    let out = reset_now("--image", &c, &p.defs, &["--yes"]);
    assert_ok(&out);
    let out = reset_now("--image", &c, &p.defs, &["--yes", "--dry-run"]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("partition 3 \"root-x86-64\" (root-x86-64)") && text.contains("partition 4 \"home\" (home)"), "{text}");
}

#[test]
fn the_reset_is_logged_on_the_esp_and_reset_info_shows_it() {
    let defs: &[(&str, &str)] = &[
        ("10-esp.conf", "[Partition]\nType=esp\nFormat=vfat\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
        ("20-usr.conf", "[Partition]\nType=usr\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
        ("30-root.conf", "[Partition]\nType=root\nFactoryReset=yes\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
        ("40-var.conf", "[Partition]\nType=var\nFactoryReset=yes\n"),
    ];
    let p = populate(defs, 512 << 20, &[]);
    let req = |seed: &str| imprint::reset::ResetRequest {
        target: p.base.clone(),
        definitions: imprint::profile::repart::load_definitions(std::slice::from_ref(&p.defs)).unwrap(),
        seed: seed.parse().unwrap(),
        force: false,
        source: None,
        copy_file_sizes: Default::default(),
        encryption: None,
    };
    let os = p.dir.path().join("os");
    std::fs::create_dir_all(os.join("usr/lib")).unwrap();
    std::fs::write(os.join("usr/lib/os-release"), "NAME=Kiosk OS\nPRETTY_NAME=\"Kiosk OS 7\"\nIMAGE_ID=kiosk\nIMAGE_VERSION=7.1\n")
        .unwrap();
    let info = imprint::reset::info(&imprint::reset::prepare(&req(SEED)).unwrap(), &os);
    assert_eq!(info.os_version.as_deref(), Some("Kiosk OS 7 (kiosk 7.1)"));
    assert_eq!(info.last_reset, None);
    assert!(info.disk.starts_with(&format!("{} (512 MiB, image file)", p.base.display())), "{}", info.disk);
    assert_eq!(info.erase.len(), 2);
    assert_eq!(info.erase[0], "partition 3 \"root-x86-64\" (root-x86-64, 64 MiB)");
    assert!(info.erase[1].starts_with("partition 4 \"var\" (var, "), "{:?}", info.erase);
    assert_eq!(info.keep.len(), 2);
    assert!(info.keep[0].starts_with("partition 1 \"esp\" (esp, 100 MiB)"), "{:?}", info.keep);

    for _ in 0..2 {
        let out = reset_now("--image", &p.base, &p.defs, &["--yes", "--esp-log"]);
        assert_ok(&out);
    }
    let t = sfdisk_json(&p.base);
    let (o, _) = part_range(&t, 1);
    let log = sh(&format!("mtype -i {}@@{o} ::/loader/imprint-reset.log", p.base.display()));
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    for l in &lines {
        assert!(l.ends_with("Z factory reset, erased: partition 3 \"root-x86-64\" (root-x86-64), partition 4 \"var\" (var)"), "{l}");
        assert_eq!(&l[4..5], "-");
        assert_eq!(&l[19..21], "Z ");
    }
    let defs = imprint::profile::repart::load_definitions(std::slice::from_ref(&p.defs)).unwrap();
    let info = imprint::reset::info_for(&p.base, defs, &os).unwrap();
    assert_eq!(info.last_reset.as_deref(), Some(lines[1]));
    assert!(!file_contains(&p.base, SECRET));
}

/// Runs `imprint reset VERB` against the state in `dir` (efivars/, root/, run/, cmdline,
/// boot_id, ppi/); returns the exit status and stdout.
fn state_cmd(dir: &Path, verb: &str, extra: &[&str]) -> (i32, String) {
    let out = imprint()
        .args(["reset", verb])
        .arg("--efivars")
        .arg(dir.join("efivars"))
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .arg("--cmdline")
        .arg(dir.join("cmdline"))
        .arg("--boot-id-file")
        .arg(dir.join("boot_id"))
        .args(extra)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    if code != 0 && code != 10 && code != 11 {
        panic!("imprint reset {verb} failed: {}", stderr_of(&out));
    }
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// What systemd's `efi_set_variable_string()` writes: attributes NV|BS|RT (7) as a u32 LE, then
/// the string in UTF-16LE with a NUL character.
fn systemd_string_var(s: &str) -> Vec<u8> {
    let mut v = vec![7u8, 0, 0, 0];
    for u in s.encode_utf16().chain([0]) {
        v.extend(u.to_le_bytes());
    }
    v
}

#[test]
fn request_status_cancel_on_an_efivars_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for sub in ["efivars", "root/etc", "run", "ppi"] {
        std::fs::create_dir_all(d.join(sub)).unwrap();
    }
    std::fs::write(d.join("root/etc/os-release"), "ID=kioskos\nVERSION_ID=\"7\"\nIMAGE_ID=kiosk\nIMAGE_VERSION=7.1\nNAME=\"Kiosk\"\n")
        .unwrap();
    std::fs::write(d.join("cmdline"), "quiet splash\n").unwrap();
    std::fs::write(d.join("boot_id"), "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n").unwrap();
    let var = |name: &str| d.join(format!("efivars/{name}-8cf2644b-4b0b-428f-9387-6d876050dc67"));

    assert_eq!(state_cmd(d, "status", &[]), (0, "unspecified\n".into()));
    let (code, _) = state_cmd(d, "request", &["--tpm-clear", "--ppi", d.join("ppi").to_str().unwrap()]);
    assert_eq!(code, 0);
    // systemd-factory-reset request's JSON: compact, this key order, the boot ID as 32 hex digits
    let json = r#"{"osReleaseId":"kioskos","osReleaseVersionId":"7","osReleaseImageId":"kiosk","osReleaseImageVersion":"7.1","bootId":"0f1e2d3c4b5a49688776a5b4c3d2e1f0"}"#;
    assert_eq!(std::fs::read(var("FactoryResetRequest")).unwrap(), systemd_string_var(json));
    assert_eq!(std::fs::read(var("FactoryReset")).unwrap(), [7, 0, 0, 0, b'y', 0, b'e', 0, b's', 0, 0, 0]);
    assert_eq!(std::fs::read_to_string(d.join("ppi/request")).unwrap(), "5\n", "as systemd-tpm2-clear writes it");

    // asked for in this boot: pending (11); in a later boot: on (10)
    assert_eq!(state_cmd(d, "status", &[]), (11, "pending\n".into()));
    let (code, out) = state_cmd(d, "status", &["--json"]);
    assert_eq!(code, 11);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["mode"], "pending");
    std::fs::write(d.join("boot_id"), "11111111-2222-4333-8444-555555555555\n").unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (10, "on\n".into()));
    // on: a new request and a cancel are refused, as systemd refuses them
    for (verb, says) in [("request", "refusing to request another reset"), ("cancel", "cannot cancel")] {
        let out = imprint()
            .args(["reset", verb, "--efivars"])
            .arg(d.join("efivars"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--run-dir")
            .arg(d.join("run"))
            .arg("--cmdline")
            .arg(d.join("cmdline"))
            .arg("--boot-id-file")
            .arg(d.join("boot_id"))
            .output()
            .unwrap();
        assert!(!out.status.success() && stderr_of(&out).contains(says), "{verb}: {}", stderr_of(&out));
    }
    // the marker of a completed reset wins
    std::fs::create_dir_all(d.join("run/systemd")).unwrap();
    std::fs::write(d.join("run/systemd/factory-reset-complete"), "").unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (0, "complete\n".into()));
    std::fs::remove_file(d.join("run/systemd/factory-reset-complete")).unwrap();
    // the kernel command line comes before the variables
    std::fs::write(d.join("cmdline"), "quiet systemd.factory_reset=0\n").unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (0, "off\n".into()));
    std::fs::write(d.join("cmdline"), "systemd.factory_reset\n").unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (10, "on\n".into()));
    std::fs::write(d.join("cmdline"), "quiet\n").unwrap();
    // a request for another OS counts for nothing (the legacy variable alone: pending)
    std::fs::write(d.join("root/etc/os-release"), "ID=otheros\nIMAGE_ID=kiosk\n").unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (11, "pending\n".into()));
    std::fs::remove_file(var("FactoryReset")).unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (0, "unspecified\n".into()));
    std::fs::write(d.join("root/etc/os-release"), "ID=kioskos\nIMAGE_ID=kiosk\n").unwrap();
    std::fs::write(d.join("boot_id"), "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n").unwrap();
    assert_eq!(state_cmd(d, "status", &[]), (11, "pending\n".into()));

    let (code, out) = state_cmd(d, "cancel", &["--tpm-clear", "--ppi", d.join("ppi").to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Factory reset request withdrawn.\nTPM clear request withdrawn ("), "{out}");
    assert!(!var("FactoryResetRequest").exists() && !var("FactoryReset").exists());
    assert_eq!(std::fs::read_to_string(d.join("ppi/request")).unwrap(), "0\n");
    assert_eq!(state_cmd(d, "status", &[]), (0, "unspecified\n".into()));
    let (_, out) = state_cmd(d, "cancel", &[]);
    assert_eq!(out, "No factory reset was requested.\n");

    // systemd.tpm2_allow_clear=0 keeps the TPM
    std::fs::remove_file(d.join("ppi/request")).unwrap();
    std::fs::write(d.join("cmdline"), "systemd.tpm2_allow_clear=0\n").unwrap();
    let (_, out) = state_cmd(d, "request", &["--tpm-clear", "--ppi", d.join("ppi").to_str().unwrap()]);
    assert!(out.contains("TPM clear not requested"), "{out}");
    assert!(!d.join("ppi/request").exists());
    // no EFI variables: a request is refused with what to do instead
    let out = imprint().args(["reset", "request", "--efivars"]).arg(d.join("nothing")).arg("--root").arg(d.join("root")).output().unwrap();
    assert!(!out.status.success() && stderr_of(&out).contains("not booted with UEFI"), "{}", stderr_of(&out));
}

/// systemd-repart 252 reads the legacy variable imprint writes, in an initrd-like environment:
/// a private mount namespace whose /sys/firmware/efi/efivars is a tmpfs holding it. repart
/// checks that it is not in a container (this machine is one, by /.dockerenv), so it runs
/// chrooted into an overlay of / that hides that file. It must reset the image and remove the
/// variable, as it does at boot.
#[test]
fn systemd_252_performs_the_reset_imprint_requested() {
    let p = populate(ROOT_HOME, 1 << 30, &[]);
    let d = p.dir.path();
    std::fs::create_dir_all(d.join("efivars")).unwrap();
    std::fs::create_dir_all(d.join("root/etc")).unwrap();
    std::fs::write(d.join("root/etc/os-release"), "ID=kioskos\n").unwrap();
    std::fs::write(d.join("boot_id"), "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0\n").unwrap();
    let (code, _) = state_cmd(d, "request", &[]);
    assert_eq!(code, 0);
    let expected = p.dir.path().join("expected.img");
    copy_image(&p.base, &expected);
    systemd_repart(SEED, &p.defs, &expected, &["--factory-reset=yes"]);

    let script = r#"set -e
W="$1"; D="$2"; SEED="$3"
mkdir -p "$W/t" "$W/root"
mount -t tmpfs tmpfs "$W/t"
mkdir -p "$W/t/up" "$W/t/work"
[ -e /.dockerenv ] && mknod "$W/t/up/.dockerenv" c 0 0
mount -t overlay overlay -o "lowerdir=/,upperdir=$W/t/up,workdir=$W/t/work" "$W/root"
mount --rbind /dev "$W/root/dev"
mount -t proc proc "$W/root/proc"
mount --rbind /sys "$W/root/sys"
mount -t tmpfs tmpfs "$W/root/sys/firmware"
mkdir -p "$W/root/sys/firmware/efi/efivars" "$W/root/test"
cp "$D"/efivars/* "$W/root/sys/firmware/efi/efivars/"
mount -t tmpfs tmpfs "$W/root/run"
mount --bind "$D" "$W/root/test"
chroot "$W/root" env SYSTEMD_IN_INITRD=1 systemd-repart --dry-run=no "--seed=$SEED" --definitions=/test/defs /test/base.img
ls "$W/root/sys/firmware/efi/efivars/"
"#;
    let w = tempfile::tempdir().unwrap();
    let out =
        run_ok(Command::new("unshare").args(["-m", "--propagation", "private", "sh", "-c", script, "sh"]).arg(w.path()).arg(d).arg(SEED));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Factory reset requested via EFI variable FactoryReset."), "{text}");
    assert!(text.contains("Successfully unset EFI variable FactoryReset."), "{text}");
    assert!(!text.contains("FactoryReset-8cf2644b"), "repart 252 removes the legacy variable: {text}");
    assert!(text.contains("FactoryResetRequest-8cf2644b"), "and knows nothing of the newer one: {text}");
    assert_eq!(sfdisk_json(&p.base), sfdisk_json(&expected));
}

#[test]
fn reset_pins_are_checked_against_the_profile_hash() {
    use imprint::secret::Secret;
    let dir = tempfile::tempdir().unwrap();
    let hash = imprint::firstboot::crypt::hash_password(&Secret::from_text("2468")).unwrap();
    std::fs::create_dir_all(dir.path().join("repart.d")).unwrap();
    std::fs::write(dir.path().join("repart.d/50-root.conf"), "[Partition]\nType=root\nFactoryReset=yes\n").unwrap();
    std::fs::write(dir.path().join("profile.conf"), format!("[Profile]\nName=k\n[Reset]\nShowMenu=yes\nPIN={hash}\n")).unwrap();
    let spec = imprint::profile::conf::load_profile(dir.path()).unwrap();
    assert!(spec.reset.show_menu);
    use imprint::reset::pin::{PinGate, PinVerdict};
    let state = dir.path().join("state/failures");
    let gate = PinGate::new(spec.reset.pin.clone().unwrap(), &state);
    let now = std::time::SystemTime::now();
    assert_eq!(gate.check(&Secret::from_text("2468"), now).unwrap(), PinVerdict::Right);
    for (k, wrong) in ["2467", "", "24680"].iter().enumerate() {
        assert!(
            matches!(gate.check(&Secret::from_text(wrong), now).unwrap(), PinVerdict::Wrong { failures, .. } if failures == k as u32 + 1),
            "{wrong:?}"
        );
    }
    // the fourth try waits, however right it is
    assert!(matches!(gate.check(&Secret::from_text("2468"), now).unwrap(), PinVerdict::Wait { secs: 5 }));
    // the kiosk profile offers the menu
    let kiosk = imprint::profile::conf::load_profile(&Path::new(env!("CARGO_MANIFEST_DIR")).join("installer-profiles/kiosk")).unwrap();
    assert!(kiosk.reset.show_menu);
}

/// A partition whose definition says `Encrypt=` is made anew encrypted, with the same options
/// an install takes: a fresh LUKS2 header (new keyslots, a new volume key) that opens with the
/// passphrase, and nothing of the old volume left. (systemd-repart 252 cannot make LUKS volumes
/// here, without device-mapper, so this one is imprint's install against imprint's reset.)
#[test]
fn an_encrypted_partition_is_made_anew_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(
        &dir.path().join("defs"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            ("40-home.conf", "[Partition]\nType=home\nEncrypt=key-file\nFactoryReset=yes\nSizeMinBytes=64M\n"),
        ],
    );
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "the kiosk passphrase").unwrap();
    let img = dir.path().join("img");
    let enc = ["--yes", "--progress=json", "--luks-pbkdf=test", "--passphrase-file", pass.to_str().unwrap()];
    run_ok(
        imprint()
            .args(["install", "--empty=create", "--target-size", "256M", "--seed", SEED, "--definitions"])
            .arg(&defs)
            .arg("--target")
            .arg(&img)
            .args(enc),
    );
    let t = sfdisk_json(&img);
    let (o, s) = part_range(&t, 2);
    let header_before = sha256_range(&img, o, 16 << 20);
    write_at(&img, o + (20 << 20), SECRET);
    let out = reset_now("--image", &img, &defs, &enc);
    assert_ok(&out);
    assert_eq!(sfdisk_json(&img), t, "the same layout and UUIDs (same seed)");
    assert_ne!(sha256_range(&img, o, 16 << 20), header_before, "a new header, new keyslots");
    assert!(!file_contains(&img, SECRET));
    // the new volume opens with the passphrase
    let part = dir.path().join("part");
    run_ok(Command::new("dd").arg(format!("if={}", img.display())).arg(format!("of={}", part.display())).args([
        "bs=1M",
        &format!("skip={}", o >> 20),
        &format!("count={}", s >> 20),
        "conv=sparse",
        "status=none",
    ]));
    run_ok(Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file"]).arg(&pass).arg(&part));
}

/// The LUKS2 metadata of partition `n` of `img` (`cryptsetup luksDump --dump-json-metadata` on
/// a sparse copy of the partition).
fn luks_metadata(dir: &Path, img: &Path, n: usize) -> serde_json::Value {
    let (o, s) = part_range(&sfdisk_json(img), n);
    let part = dir.join(format!("part{n}"));
    run_ok(Command::new("dd").arg(format!("if={}", img.display())).arg(format!("of={}", part.display())).args([
        "bs=1M",
        &format!("skip={}", o >> 20),
        &format!("count={}", s >> 20),
        "conv=sparse",
        "status=none",
    ]));
    let out = Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(&part).output().unwrap();
    std::fs::remove_file(&part).unwrap();
    assert!(out.status.success(), "partition {n} is no LUKS2 volume: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn token_types(meta: &serde_json::Value) -> Vec<String> {
    meta["tokens"].as_object().map(|t| t.values().filter_map(|v| v["type"].as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// A kiosk profile in `dir`: an ESP and a `FactoryReset=yes` /home with `Encrypt=tpm2`, the
/// menu shown, and `extra` sections (e.g. `[Encryption]`) in its profile.conf.
fn kiosk_profile(dir: &Path, extra: &str) -> PathBuf {
    let profile = dir.join("kiosk-test");
    write_defs(
        &profile.join("repart.d"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            ("40-home.conf", "[Partition]\nType=home\nEncrypt=tpm2\nFactoryReset=yes\nSizeMinBytes=64M\n"),
        ],
    );
    std::fs::write(profile.join("profile.conf"), format!("[Profile]\nName=kiosk-test\n\n{extra}[Reset]\nShowMenu=yes\n")).unwrap();
    profile
}

/// Point 7 of issue 13: the kiosk menu's "factory reset" (on an image: at once) re-creates a
/// `FactoryReset=yes` partition with `Encrypt=tpm2` as LUKS2 bound to the TPM again, through the
/// menu's own backend (`app::reset::ResetBackend`, the code the TUI calls), not unencrypted.
#[test]
fn the_kiosk_menu_reset_keeps_tpm_encryption() {
    use imprint::app::reset::ResetBackend;
    use imprint::app::term::{Backend, Input, channel_pair};
    use imprint_screens::reset::{Msg, Request, ResetStepView};

    let tpm = swtpm::Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let dir = tempfile::tempdir().unwrap();
    let profile = kiosk_profile(dir.path(), "[Encryption]\nPCRs=7\nRecoveryKey=no\n\n");
    let img = dir.path().join("img");
    run_ok(
        imprint()
            .args(["install", "--empty=create", "--target-size", "256M", "--seed", SEED, "--yes", "--luks-pbkdf=test"])
            .args(["--tpm2-device", &tpm.tcti(), "--profile"])
            .arg(&profile)
            .arg("--target")
            .arg(&img),
    );
    let before = luks_metadata(dir.path(), &img, 2);
    assert!(token_types(&before).contains(&"systemd-tpm2".to_string()), "installed: {before}");
    let (o, _) = part_range(&sfdisk_json(&img), 2);
    let header_before = sha256_range(&img, o, 16 << 20);
    write_at(&img, o + (20 << 20), SECRET);

    let os = dir.path().join("os");
    std::fs::create_dir_all(os.join("etc")).unwrap();
    std::fs::write(os.join("etc/os-release"), "NAME=Kiosk OS\n").unwrap();
    let args = imprint::cli::ResetMenuArgs {
        profile: Some(profile.display().to_string()),
        definitions: vec![],
        image: Some(img.clone()),
        efivars: dir.path().join("efivars"),
        root: os,
        tpm2_device: tpm.tcti(),
        no_pin: false,
        pin_state: dir.path().join("pin-failures"),
    };
    // a profile without PIN=: the menu is refused unless --no-pin says so (issue 14 point 8)
    let err = ResetBackend::new(&args).err().expect("a menu without a PIN").to_string();
    assert!(err.contains("the reset menu opens only behind a PIN") && err.contains("--no-pin"), "{err}");
    let args = imprint::cli::ResetMenuArgs { no_pin: true, ..args };
    let mut backend = ResetBackend::new(&args).unwrap();
    let (replies, _tx, rx) = channel_pair::<Msg>();
    backend.handle(Request::FactoryReset, &replies);
    let mut steps = Vec::new();
    let result = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(600)).expect("the reset answers") {
            Input::Msg(Msg::Step(s)) => steps.push(s),
            Input::Msg(Msg::Done) => break Ok(()),
            Input::Msg(Msg::Failed(e)) => break Err(e),
            _ => {}
        }
    };
    backend.handle(Request::Quit, &replies);
    result.expect("the menu's reset");

    let after = luks_metadata(dir.path(), &img, 2);
    assert!(after["keyslots"].as_object().is_some_and(|k| !k.is_empty()), "LUKS2 keyslots: {after}");
    let tokens = token_types(&after);
    assert_eq!(
        tokens,
        vec!["systemd-tpm2".to_string(), "imprint-tpm2-pcr-values".to_string()],
        "the TPM2 token (and imprint's record of its PCR values), and no recovery key (RecoveryKey=no): {after}"
    );
    let token = after["tokens"].as_object().unwrap().values().next().unwrap();
    assert_eq!(token["tpm2-pcrs"], serde_json::json!([7]), "the profile's PCRs: {token}");
    assert_ne!(sha256_range(&img, o, 16 << 20), header_before, "a new volume: new header, new keyslots");
    assert!(!file_contains(&img, SECRET), "the old contents are gone");
    // the steps the menu showed: typed, the partition made anew encrypted, and proven to open
    assert!(steps.iter().any(|s| matches!(s, ResetStepView::Erase { number: 2, .. })), "{steps:?}");
    assert!(
        steps.iter().any(|s| matches!(s, ResetStepView::Clear { number: 2, encrypted: true, .. })),
        "the partition is made anew encrypted: {steps:?}"
    );
    assert!(steps.contains(&ResetStepView::Prove), "the new volume was proven to open with the TPM: {steps:?}");
}

/// The kiosk menu cannot ask for a passphrase or show a recovery key: a reset whose re-created
/// partition needs one is refused before anything is erased, saying what to change.
#[test]
fn the_kiosk_menu_refuses_an_encryption_it_cannot_hand_over() {
    use imprint::app::reset::ResetBackend;
    use imprint::app::term::{Backend, Input, channel_pair};
    use imprint_screens::reset::{Msg, Request};

    let tpm = swtpm::Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let dir = tempfile::tempdir().unwrap();
    // no RecoveryKey=: a TPM install gets a recovery key, which the menu cannot show
    let profile = kiosk_profile(dir.path(), "");
    let img = dir.path().join("img");
    run_ok(
        imprint()
            .args(["install", "--empty=create", "--target-size", "256M", "--seed", SEED, "--yes", "--luks-pbkdf=test"])
            .args(["--tpm2-device", &tpm.tcti(), "--recovery-key-file"])
            .arg(dir.path().join("key"))
            .arg("--profile")
            .arg(&profile)
            .arg("--target")
            .arg(&img),
    );
    let before = whole_hash(&img);
    let args = imprint::cli::ResetMenuArgs {
        profile: Some(profile.display().to_string()),
        definitions: vec![],
        image: Some(img.clone()),
        efivars: dir.path().join("efivars"),
        root: dir.path().to_path_buf(),
        tpm2_device: tpm.tcti(),
        no_pin: true,
        pin_state: dir.path().join("pin-failures"),
    };
    let mut backend = ResetBackend::new(&args).unwrap();
    let (replies, _tx, rx) = channel_pair::<Msg>();
    backend.handle(Request::FactoryReset, &replies);
    let error = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(300)).expect("the reset answers") {
            Input::Msg(Msg::Failed(e)) => break e,
            Input::Msg(Msg::Done) => panic!("the reset ran, although the menu cannot hand over the recovery key"),
            _ => {}
        }
    };
    backend.handle(Request::Quit, &replies);
    assert!(error.contains("a recovery key") && error.contains("RecoveryKey=no"), "{error}");
    assert!(error.contains("Nothing was erased"), "{error}");
    assert_eq!(whole_hash(&img), before, "nothing was written");
}

/// Every step a reset announces has a typed form (what the kiosk menu translates): none would be
/// left out of the menu's progress lines.
#[test]
fn every_reset_step_has_a_typed_form() {
    let p = populate(ROOT_HOME, 1 << 30, &[]);
    let req = imprint::reset::ResetRequest {
        target: p.base.clone(),
        definitions: imprint::profile::repart::load_definitions(std::slice::from_ref(&p.defs)).unwrap(),
        seed: SEED.parse().unwrap(),
        force: false,
        source: None,
        copy_file_sizes: Default::default(),
        encryption: None,
    };
    let plan = imprint::reset::prepare(&req).unwrap();
    let secrets = imprint::exec::encrypt::Secrets::default();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let opts = imprint::reset::PerformOptions {
        cancel: &cancel,
        verify: imprint::exec::Verify::Stream,
        fill_free: imprint::exec::FillFree::Off,
        secrets: &secrets,
        pbkdf: imprint::luks::Pbkdf::Test,
        esp_log: true,
    };
    let mut steps = Vec::new();
    imprint::reset::perform(&plan, &opts, &mut |e| {
        if let imprint::exec::Event::StepStarted { name, .. } = e {
            steps.push((name.clone(), plan.step(name)));
        }
    })
    .unwrap();
    assert!(steps.len() >= 5, "{steps:?}");
    let untyped: Vec<&String> = steps.iter().filter(|(_, s)| s.is_none()).map(|(n, _)| n).collect();
    assert!(untyped.is_empty(), "steps without a typed form: {untyped:?}");
    use imprint::reset::ResetStep;
    let typed: Vec<&ResetStep> = steps.iter().filter_map(|(_, s)| s.as_ref()).collect();
    assert!(typed.iter().any(|s| matches!(s, ResetStep::Erase { .. })), "{typed:?}");
    assert!(typed.iter().any(|s| matches!(s, ResetStep::Format { fs, .. } if fs == "ext4")), "{typed:?}");
    assert!(typed.iter().any(|s| matches!(s, ResetStep::TableWithout { .. })), "{typed:?}");
    assert!(typed.contains(&&ResetStep::EspLog), "{typed:?}");
}
