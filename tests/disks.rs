//! `imprint disks` and the install target checks against the real machine: the disk that holds
//! `/`, and real loop devices with a real ext4 mounted on them.
//!
//! Runs as root. Every test cleans up after itself even when an assertion fails: guards unmount
//! what was mounted and then detach the loop device they attached, by its name, and the temporary
//! directories go last.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use imprint::disk::sysfs::{SysPaths, list_disks, render_table, resolve_source_auto, target_refusals};

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("starting {cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A loop device attached by this test; detached, by its name, when dropped.
struct Loop(PathBuf);

impl Loop {
    fn attach(file: &Path, read_only: bool) -> Loop {
        let mut args = vec!["--find", "--show"];
        if read_only {
            args.push("--read-only");
        }
        args.push(s(file));
        let guard = Loop(PathBuf::from(run("losetup", &args)));
        assert!(s(&guard.0).starts_with("/dev/loop"), "losetup answered {:?}", guard.0);
        guard
    }

    fn name(&self) -> &str {
        self.0.file_name().unwrap().to_str().unwrap()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("--detach").arg(&self.0).status();
    }
}

/// A filesystem mounted by this test; unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn new(dev: &Path, dir: &Path) -> Mount {
        fs::create_dir_all(dir).unwrap();
        run("mount", &[s(dev), s(dir)]);
        Mount(dir.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn sparse_image(dir: &Path, name: &str, size: u64) -> PathBuf {
    let p = dir.join(name);
    File::create(&p).unwrap().set_len(size).unwrap();
    p
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("imprint-disks-").tempdir().unwrap()
}

fn canonical_tempdir(t: &tempfile::TempDir) -> PathBuf {
    fs::canonicalize(t.path()).unwrap()
}

/// The whole disk and (if any) the partition under `/`, found independently of the code under
/// test: st_dev of `/`, then `/sys/dev/block`, down through `slaves/`.
fn root_disk() -> (String, Option<u32>) {
    let dev = fs::metadata("/").unwrap().dev();
    let (major, minor) = (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    assert_ne!(major, 0, "/ is on a filesystem without a block device; this test needs one");
    let mut dir = fs::canonicalize(format!("/sys/dev/block/{major}:{minor}")).unwrap();
    loop {
        let slaves: Vec<_> = fs::read_dir(dir.join("slaves")).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        match slaves.first() {
            Some(s) => dir = fs::canonicalize(s).unwrap(),
            None => break,
        }
    }
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    match fs::read_to_string(dir.join("partition")) {
        Ok(n) => (name(dir.parent().unwrap()), Some(n.trim().parse().unwrap())),
        Err(_) => (name(&dir), None),
    }
}

#[test]
fn the_disk_holding_root_holds_the_running_system() {
    let (disk, partno) = root_disk();
    let paths = SysPaths::default();
    let disks = list_disks(&paths, None).unwrap();
    let d = disks.iter().find(|d| d.name == disk).unwrap_or_else(|| panic!("{disk} not in {disks:#?}"));
    assert_eq!(d.path, Path::new("/dev").join(&disk));
    assert!(d.holds_running_system, "{d:#?}");
    let reason = d
        .reasons
        .iter()
        .find(|r| r.starts_with("holds the running system (/ is mounted from /dev/"))
        .unwrap_or_else(|| panic!("no running-system reason in {:#?}", d.reasons));
    assert_eq!(disks.iter().filter(|d| d.holds_running_system).count(), 1, "only one disk holds / here");
    // Size and sector size agree with lsblk's reading (the device node itself may not be
    // openable here).
    let dev = format!("/dev/{disk}");
    let lsblk = run("lsblk", &["--bytes", "--nodeps", "--noheadings", "--output", "SIZE,LOG-SEC", &dev]);
    let lsblk: Vec<&str> = lsblk.split_whitespace().collect();
    assert_eq!(lsblk, [d.size_bytes.to_string(), d.logical_sector_size.to_string()]);

    // The disk as an install target is refused for the same reason, and the table says so.
    let refusals = target_refusals(Path::new(&dev), None, &paths).unwrap();
    assert!(refusals.contains(reason), "{refusals:#?}");
    let table = render_table(&disks);
    assert!(table.contains(&format!("  cannot be chosen: {reason}\n")), "{table}");

    // --source auto takes the disk when / is on a partition of it, and explains itself if not.
    match (partno, resolve_source_auto(&paths)) {
        (Some(n), Ok(src)) => {
            assert_eq!(src.disk, Path::new("/dev").join(&disk));
            assert_eq!(src.root_partno, Some(n));
        }
        (None, Err(e)) => {
            assert!(e.starts_with("/ is mounted from /dev/"), "{e}");
            assert!(e.ends_with("pass --source IMAGE"), "{e}");
        }
        (p, r) => panic!("/ on {disk} partition {p:?}, but --source auto said {r:?}"),
    }
}

#[test]
fn a_mounted_loop_device_and_its_image_file_are_refused() {
    let tmp = tempdir();
    let dir = canonical_tempdir(&tmp);
    let img = sparse_image(&dir, "ext4.img", 64 << 20);
    run("mkfs.ext4", &["-q", "-F", s(&img)]);
    let lo = Loop::attach(&img, false);
    let mnt = dir.join("mnt");
    let mount = Mount::new(&lo.0, &mnt);
    let paths = SysPaths::default();

    let mounted = format!("is mounted at {}", mnt.display());
    let r = target_refusals(&lo.0, None, &paths).unwrap();
    assert!(r.contains(&mounted), "{r:#?}");
    let r = target_refusals(&img, None, &paths).unwrap();
    assert!(r.contains(&format!("is attached as {}, which {mounted}", lo.0.display())), "{r:#?}");

    // `imprint disks` lists the attached loop device with the same reason.
    let disks = list_disks(&paths, None).unwrap();
    let d = disks.iter().find(|d| d.name == lo.name()).unwrap();
    assert_eq!(d.transport.as_deref(), Some("loop"));
    assert_eq!(d.size_bytes, 64 << 20);
    assert!(d.reasons.contains(&mounted), "{d:#?}");
    assert!(!d.holds_running_system);

    // An image file inside a filesystem that is mounted read-only.
    let inner = sparse_image(&mnt, "inner.img", 1 << 20);
    assert!(target_refusals(&inner, None, &paths).unwrap().is_empty());
    run("mount", &["-o", "remount,ro", s(&mnt)]);
    let r = target_refusals(&inner, None, &paths).unwrap();
    assert_eq!(r, [format!("is on a read-only file system (mounted at {})", mnt.display())]);

    drop(mount);
    // Unmounted, the loop device is free again; the checks only looked at it.
    assert!(target_refusals(&lo.0, None, &paths).unwrap().is_empty());
    drop(lo);
    assert!(target_refusals(&img, None, &paths).unwrap().is_empty());
}

#[test]
fn a_read_only_loop_device_is_refused() {
    let tmp = tempdir();
    let img = sparse_image(&canonical_tempdir(&tmp), "ro.img", 8 << 20);
    let lo = Loop::attach(&img, true);
    let paths = SysPaths::default();
    assert_eq!(target_refusals(&lo.0, None, &paths).unwrap(), ["is read-only"]);
    let disks = list_disks(&paths, None).unwrap();
    let d = disks.iter().find(|d| d.name == lo.name()).unwrap();
    assert!(d.read_only);
    assert_eq!(d.reasons, ["is read-only"]);
    // The file behind it is not in use: it may be written.
    assert!(target_refusals(&img, None, &paths).unwrap().is_empty());
}

#[test]
fn a_plain_sparse_image_file_may_be_written() {
    let tmp = tempdir();
    let dir = canonical_tempdir(&tmp);
    let img = sparse_image(&dir, "target.img", 8 << 30);
    let other = sparse_image(&dir, "source.img", 1 << 20);
    let paths = SysPaths::default();
    assert_eq!(target_refusals(&img, None, &paths).unwrap(), Vec::<String>::new());
    assert_eq!(target_refusals(&img, Some(&other), &paths).unwrap(), Vec::<String>::new());
    // A file that does not exist yet, in a directory that does.
    let new = dir.join("new.img");
    assert!(target_refusals(&new, None, &paths).unwrap().is_empty());
    assert!(!new.exists(), "the check created the file");
}

#[test]
fn the_source_is_never_a_target() {
    let tmp = tempdir();
    let dir = canonical_tempdir(&tmp);
    let img = sparse_image(&dir, "source.img", 8 << 20);
    let paths = SysPaths::default();
    assert_eq!(target_refusals(&img, Some(&img), &paths).unwrap(), ["is the install source"]);
    // The same file by another name is still the same file.
    let link = dir.join("link.img");
    std::os::unix::fs::symlink(&img, &link).unwrap();
    let hard = dir.join("hard.img");
    fs::hard_link(&img, &hard).unwrap();
    assert_eq!(target_refusals(&link, Some(&hard), &paths).unwrap(), ["is the install source"]);

    // Attached to a loop device: the device, the file behind the device, the device behind it.
    let lo = Loop::attach(&img, false);
    assert_eq!(target_refusals(&lo.0, Some(&lo.0), &paths).unwrap(), ["is the install source"]);
    assert_eq!(target_refusals(&lo.0, Some(&img), &paths).unwrap(), [format!("is backed by the install source ({})", img.display())]);
    assert_eq!(target_refusals(&img, Some(&lo.0), &paths).unwrap(), [format!("is the install source (attached as {})", lo.0.display())]);
    let disks = list_disks(&paths, Some(&img)).unwrap();
    let d = disks.iter().find(|d| d.name == lo.name()).unwrap();
    assert!(d.is_install_source, "{d:#?}");
    assert_eq!(d.reasons, [format!("is backed by the install source ({})", img.display())]);
}
