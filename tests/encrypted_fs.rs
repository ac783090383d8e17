//! An encrypted install writes what the file system uses, not the whole partition (issue 15), and
//! every file system imprint makes (ext4, xfs, btrfs, vfat, swap) is sound on top of the blocks it
//! left unwritten.
//!
//! For each `Format=`: an encrypted install onto a sparse image file; the target must stay
//! mostly unallocated (holes are blocks never written). Then the whole data segment is decrypted
//! in the test with the volume key systemd's cryptsetup reads out with the passphrase — the
//! unwritten blocks decrypt to noise, exactly what dm-crypt shows there — and the plaintext file
//! system must pass its own checker with no finding, take a few hundred files (mounted on a loop
//! device; vfat through mtools, since this kernel has no vfat), pass the checker again, and give
//! back every byte.

mod common;

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Loop, allocated, part_range, run_ok, run_with_stdin, sfdisk_json, write_defs};

const PASS: &str = "imprint-encrypted-fs-4711";
const SEED: &str = "6a1f3e52-7c0d-4b8e-9f21-3d5c7b9e1a40";
const PART: u64 = 400 << 20;

/// One test at a time: each decrypts a whole partition (noise included, so not sparse) and
/// writes files through it; together they would need gigabytes of scratch space at once.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

struct Installed {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    target: PathBuf,
    part: (u64, u64),
}

/// An encrypted install of one partition `Format=fs` onto a new sparse image file.
fn install(fs: &str, extra: &[&str]) -> Installed {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let target = dir.join("target.img");
    let defs = defs(&dir, fs, "");
    let args: Vec<String> =
        ["--target-size".to_string(), (PART + (4 << 20)).to_string()].into_iter().chain(extra.iter().map(|a| a.to_string())).collect();
    install_onto(&dir, &defs, &target, &args);
    let part = part_range(&sfdisk_json(&target), 1);
    assert_eq!(part.1, PART);
    Installed { _dir: tmp, dir, target, part }
}

/// One partition `Format=fs`, `Encrypt=key-file`, PART bytes, and `more` lines.
fn defs(dir: &Path, fs: &str, more: &str) -> PathBuf {
    write_defs(
        &dir.join("defs"),
        &[(
            "10-data.conf",
            &format!("[Partition]\nType=linux-generic\nFormat={fs}\nEncrypt=key-file\nSizeMinBytes={PART}\nSizeMaxBytes={PART}\n{more}"),
        )],
    )
}

fn pass_file(dir: &Path) -> PathBuf {
    let pass = dir.join("pass");
    std::fs::write(&pass, PASS).unwrap();
    pass
}

fn install_onto(dir: &Path, defs: &Path, target: &Path, extra: &[String]) {
    let out = run_ok(
        common::imprint()
            .args(["install", "--yes", "--progress=json", "--luks-pbkdf=test", "--encrypt=passphrase", "--seed", SEED])
            .arg("--definitions")
            .arg(defs)
            .arg("--passphrase-file")
            .arg(pass_file(dir))
            .arg("--target")
            .arg(target)
            .args(extra),
    );
    assert!(text(&out).contains("the passphrase opens keyslot"), "{}", text(&out));
}

/// Fills `[offset, offset+len)` of `path` with a pattern (a used disk's old contents).
fn scribble(path: &Path, offset: u64, len: u64) {
    let f = File::options().write(true).open(path).unwrap();
    let buf = vec![0x5au8; 4 << 20];
    let mut done = 0;
    while done < len {
        let n = (buf.len() as u64).min(len - done) as usize;
        f.write_all_at(&buf[..n], offset + done).unwrap();
        done += n as u64;
    }
    f.sync_all().unwrap();
}

/// The volume key (cryptsetup reads it out with the passphrase) and the data segment's offset.
fn volume_key(i: &Installed) -> (imprint::secret::Secret, u64) {
    let lo = Loop::attach(&i.target, &["-r", "-o", &i.part.0.to_string(), "--sizelimit", &i.part.1.to_string()]);
    let json = run_ok(Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(&lo.dev));
    let meta: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(meta["segments"]["0"]["encryption"], "aes-xts-plain64");
    assert_eq!(meta["segments"]["0"]["sector_size"], 4096);
    let offset: u64 = meta["segments"]["0"]["offset"].as_str().unwrap().parse().unwrap();
    let out = run_with_stdin(
        Command::new("cryptsetup").args(["luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-"]).arg(&lo.dev),
        PASS.as_bytes(),
    );
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let hex: String = t.split("MK dump:").nth(1).unwrap().split_whitespace().take_while(|w| w.len() == 2).collect();
    let vk: Vec<u8> = (0..hex.len()).step_by(2).map(|k| u8::from_str_radix(&hex[k..k + 2], 16).unwrap()).collect();
    assert_eq!(vk.len(), 64);
    (imprint::secret::Secret::new(vk), offset)
}

/// Decrypts the whole data segment (the unwritten blocks too: they become noise) into a file.
fn decrypt(i: &Installed) -> PathBuf {
    let (vk, offset) = volume_key(i);
    let xts = imprint::luks::Xts::new(&vk, 4096);
    let src = File::open(&i.target).unwrap();
    let out_path = i.dir.join("plain.img");
    let out = File::create(&out_path).unwrap();
    let len = i.part.1 - offset;
    let mut buf = vec![0u8; 4 << 20];
    let mut done = 0u64;
    while done < len {
        let n = (buf.len() as u64).min(len - done) as usize;
        src.read_exact_at(&mut buf[..n], i.part.0 + offset + done).unwrap();
        xts.decrypt(&mut buf[..n], done);
        out.write_all_at(&buf[..n], done).unwrap();
        done += n as u64;
    }
    out_path
}

/// The target holds the LUKS2 header and what mkfs wrote, not the whole partition.
fn assert_sparse(i: &Installed, most: u64) {
    let a = allocated(&i.target);
    assert!(a <= most, "{} bytes of the target are allocated (at most {most} expected: the header and what mkfs wrote)", a);
}

/// The file system checker's verdict: must be clean.
fn check(fs: &str, img: &Path) {
    let mut c = match fs {
        "ext4" => {
            let mut c = Command::new("e2fsck");
            c.args(["-f", "-n"]);
            c
        }
        "xfs" => {
            let mut c = Command::new("xfs_repair");
            c.args(["-n", "-f"]);
            c
        }
        "btrfs" => {
            let mut c = Command::new("btrfs");
            c.args(["check", "--readonly"]);
            c
        }
        "vfat" => {
            let mut c = Command::new("fsck.vfat");
            c.args(["-n", "-V"]);
            c
        }
        other => panic!("no checker for {other}"),
    };
    let out = c.arg(img).output().unwrap_or_else(|e| panic!("cannot run the {fs} checker: {e}"));
    assert!(out.status.success(), "the {fs} checker finds problems ({}):\n{}", out.status, text(&out));
}

/// Deterministic content for file `n`.
fn content(n: usize, len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (n as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// The files of the write/read cycle: many small ones (new inodes across the groups, where the
/// inode tables were never written) and some large ones (~140 MiB in all).
fn files() -> Vec<(String, usize)> {
    let mut f: Vec<(String, usize)> = (0..600).map(|n| (format!("d{}/small-{n}", n % 24), 1000 + n * 37)).collect();
    f.extend((0..8).map(|n| (format!("big-{n}"), (16 << 20) + n * 4096)));
    f
}

/// Mounts the plaintext file system on a loop device, fills it, unmounts, checks it, mounts it
/// read-only and reads everything back.
fn write_read_cycle_mounted(fs: &str, img: &Path) {
    let mnt = img.with_file_name("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    {
        let lo = Loop::attach(img, &[]);
        run_ok(Command::new("mount").args(["-t", fs]).arg(&lo.dev).arg(&mnt));
        let written = std::panic::catch_unwind(|| {
            for (n, (name, len)) in files().iter().enumerate() {
                let p = mnt.join(name);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, content(n, *len)).unwrap();
            }
        });
        run_ok(Command::new("umount").arg(&mnt));
        written.unwrap();
    }
    check(fs, img);
    let lo = Loop::attach(img, &["-r"]);
    run_ok(Command::new("mount").args(["-t", fs, "-o", "ro"]).arg(&lo.dev).arg(&mnt));
    let bad: Vec<String> = files()
        .iter()
        .enumerate()
        .filter(|(n, (name, len))| std::fs::read(mnt.join(name)).ok() != Some(content(*n, *len)))
        .map(|(_, (name, _))| name.clone())
        .collect();
    run_ok(Command::new("umount").arg(&mnt));
    assert!(bad.is_empty(), "{} files read back differently, e.g. {:?}", bad.len(), &bad[..bad.len().min(5)]);
}

#[test]
fn ext4_writes_what_it_uses_and_is_sound_over_the_rest() {
    let _serial = serial();
    let i = install("ext4", &[]);
    assert_sparse(&i, 40 << 20);
    let img = decrypt(&i);
    check("ext4", &img);
    write_read_cycle_mounted("ext4", &img);
}

#[test]
fn xfs_writes_what_it_uses_and_is_sound_over_the_rest() {
    let _serial = serial();
    let i = install("xfs", &[]);
    // the log (zeroed by mkfs.xfs, so written) is most of it
    assert_sparse(&i, 100 << 20);
    let img = decrypt(&i);
    check("xfs", &img);
    write_read_cycle_mounted("xfs", &img);
}

#[test]
fn btrfs_writes_what_it_uses_and_is_sound_over_the_rest() {
    let _serial = serial();
    let i = install("btrfs", &[]);
    assert_sparse(&i, 40 << 20);
    let img = decrypt(&i);
    check("btrfs", &img);
    write_read_cycle_mounted("btrfs", &img);
}

#[test]
fn vfat_writes_what_it_uses_and_is_sound_over_the_rest() {
    let _serial = serial();
    let i = install("vfat", &[]);
    assert_sparse(&i, 40 << 20);
    let img = decrypt(&i);
    check("vfat", &img);
    // this kernel has no vfat: mtools writes and reads the files
    let src = i.dir.join("files");
    for (n, (name, len)) in files().iter().enumerate() {
        let p = src.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content(n, *len)).unwrap();
    }
    let image = img.to_str().unwrap();
    let mut c = Command::new("mcopy");
    c.env("MTOOLS_SKIP_CHECK", "1").args(["-s", "-i", image]);
    for e in std::fs::read_dir(&src).unwrap() {
        c.arg(e.unwrap().path());
    }
    run_ok(c.arg("::/"));
    check("vfat", &img);
    let back = i.dir.join("back");
    std::fs::create_dir_all(&back).unwrap();
    run_ok(Command::new("mcopy").env("MTOOLS_SKIP_CHECK", "1").args(["-s", "-n", "-i", image, "::/*"]).arg(&back));
    let bad = files().iter().enumerate().filter(|(n, (name, len))| std::fs::read(back.join(name)).ok() != Some(content(*n, *len))).count();
    assert_eq!(bad, 0, "files read back differently from vfat");
}

#[test]
fn swap_writes_its_header_only() {
    let _serial = serial();
    let i = install("swap", &[]);
    assert_sparse(&i, 20 << 20);
    let img = decrypt(&i);
    // the swap header decrypts to what mkswap wrote: blkid and swaplabel read it
    let out = run_ok(Command::new("blkid").args(["-p", "-o", "export"]).arg(&img));
    let t = text(&out);
    assert!(t.contains("TYPE=swap"), "{t}");
    let out = run_ok(Command::new("swaplabel").arg(&img));
    assert!(text(&out).contains("LABEL: linux-generic"), "{}", text(&out));
}

#[test]
fn fill_free_random_writes_the_whole_partition_and_stays_sound() {
    let _serial = serial();
    let i = install("ext4", &["--fill-free=random"]);
    let a = allocated(&i.target);
    assert!(a >= PART, "--fill-free=random left holes: {a} of {PART} bytes allocated");
    // the free space is encrypted zeroes: it decrypts to zeroes, and nowhere is the ciphertext zero
    let img = decrypt(&i);
    check("ext4", &img);
    let plain = std::fs::read(&img).unwrap();
    let tail = &plain[plain.len() - (1 << 20)..];
    assert!(tail.iter().all(|b| *b == 0), "the free space does not decrypt to zeroes");
    let mut raw = vec![0u8; 1 << 20];
    File::open(&i.target).unwrap().read_exact_at(&mut raw, i.part.0 + i.part.1 - (1 << 20)).unwrap();
    assert!(raw.iter().filter(|b| **b == 0).count() < raw.len() / 64, "the free space is not encrypted");
}

#[test]
fn reset_now_makes_the_encrypted_file_system_anew_writing_what_it_uses() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let target = dir.join("target.img");
    let defs = defs(&dir, "ext4", "FactoryReset=yes\n");
    install_onto(&dir, &defs, &target, &["--target-size".into(), (PART + (4 << 20)).to_string()]);
    let part = part_range(&sfdisk_json(&target), 1);
    // the machine was used: its whole data area holds something
    scribble(&target, part.0 + (16 << 20), part.1 - (16 << 20));
    assert!(allocated(&target) >= PART - (16 << 20));
    let out = run_ok(
        common::imprint()
            .args(["reset", "now", "--yes", "--luks-pbkdf=test", "--seed", SEED, "--image"])
            .arg(&target)
            .arg("--definitions")
            .arg(&defs)
            .arg("--passphrase-file")
            .arg(pass_file(&dir)),
    );
    let i = Installed { _dir: tmp, dir, target, part };
    // the old contents are gone (discarded: holes in an image file), the new file system written
    assert_sparse(&i, 40 << 20);
    assert!(text(&out).contains("ext4"), "{}", text(&out));
    let img = decrypt(&i);
    check("ext4", &img);
}

#[test]
fn on_a_block_device_the_unwritten_range_is_discarded() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let backing = dir.join("disk.img");
    let size = PART + (4 << 20);
    common::sparse_file(&backing, size);
    // a used disk: old contents everywhere
    scribble(&backing, 0, size);
    let defs = defs(&dir, "ext4", "");
    {
        let lo = Loop::attach(&backing, &[]);
        install_onto(&dir, &defs, &lo.dev, &["--empty=force".into()]);
    }
    let part = part_range(&sfdisk_json(&backing), 1);
    let i = Installed { _dir: tmp, dir, target: backing, part };
    // the loop device turns BLKDISCARD into holes in its file
    assert_sparse(&i, 40 << 20);
    let img = decrypt(&i);
    check("ext4", &img);
}
