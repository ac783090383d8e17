//! `imprint install` end to end on image files and loop devices: content, sparseness,
//! verification, refusals that leave the target byte-identical, and interruption safety.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

const SEED: &str = "b6f3d8a4-1c2e-4f5a-9b7c-0d1e2f3a4b5c";

/// A source image: ESP (vfat, 64 MiB) and /usr (ext4, 96 MiB, 24 MiB of data), built by imprint.
fn demo_source(dir: &Path) -> PathBuf {
    imprint::demo::build_source_image(dir).expect("demo source image")
}

/// A source image whose /usr is `mib` MiB of non-zero data (slow enough to interrupt).
fn big_source(dir: &Path, mib: usize) -> PathBuf {
    let payload = dir.join("payload.bin");
    let mut data = Vec::with_capacity(mib << 20);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while data.len() < mib << 20 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(&payload, &data).unwrap();
    let defs = write_defs(
        &dir.join("src-defs"),
        &[
            ("1.conf", "[Partition]\nType=esp\nSizeMinBytes=8M\nSizeMaxBytes=8M\n"),
            ("2.conf", &format!("[Partition]\nType=usr\nCopyBlocks={}\nSizeMaxBytes={}M\n", payload.display(), mib)),
        ],
    );
    let img = dir.join("big-source.img");
    run_ok(
        imprint()
            .args(["install", "--yes", "--progress=json", "--empty=create", "--seed", SEED])
            .arg("--definitions")
            .arg(&defs)
            .arg("--target")
            .arg(&img)
            .args(["--target-size", &format!("{}M", mib + 16)]),
    );
    std::fs::remove_file(payload).unwrap();
    img
}

/// Install definitions: copy the ESP and /usr, an empty /usr B, optionally a formatted root.
fn install_defs(dir: &Path, with_root: bool) -> PathBuf {
    let mut files = vec![
        ("10-esp.conf", "[Partition]\nType=esp\nCopyBlocks=auto\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
        ("20-usr.conf", "[Partition]\nType=usr\nLabel=usr\nCopyBlocks=auto\nSizeMinBytes=256M\nSizeMaxBytes=256M\n"),
        ("21-usr.conf", "[Partition]\nType=usr\nLabel=_empty\nSizeMinBytes=256M\nSizeMaxBytes=256M\n"),
    ];
    if with_root {
        files.push(("50-root.conf", "[Partition]\nType=root\nFormat=ext4\nFactoryReset=yes\n"));
    }
    write_defs(&dir.join("install-defs"), &files)
}

fn install(defs: &Path, source: &Path, target: &Path, extra: &[&str]) -> Command {
    let mut c = imprint();
    c.args(["install", "--seed", SEED, "--progress=json"])
        .arg("--definitions")
        .arg(defs)
        .arg("--source")
        .arg(source)
        .arg("--target")
        .arg(target)
        .args(extra);
    c
}

fn file_hash(p: &Path) -> String {
    sha256_range(p, 0, std::fs::metadata(p).unwrap().len())
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn copied_partitions_equal_the_source_and_a_sparse_source_stays_sparse() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let defs = install_defs(dir.path(), false);
    let target = dir.path().join("target.img");
    run_ok(&mut install(&defs, &src, &target, &["--yes", "--target-size", "1G"]));
    let (js, jt) = (sfdisk_json(&src), sfdisk_json(&target));
    for n in [1usize, 2] {
        let (so, ss) = part_range(&js, n);
        let (to, _) = part_range(&jt, n);
        assert_eq!(sha256_range(&src, so, ss), sha256_range(&target, to, ss), "partition {n}");
    }
    // the rest of each copied partition and the empty slot read as zeroes
    let (to, ts) = part_range(&jt, 2);
    let (_, ss) = part_range(&js, 2);
    assert_eq!(sha256_range(&target, to + ss, ts - ss), sha256_range(Path::new("/dev/zero"), 0, ts - ss));
    let (a_src, a_tgt) = (allocated(&src), allocated(&target));
    assert!(a_tgt <= a_src + (4 << 20), "target allocates {a_tgt} bytes, source {a_src}");
    assert!(a_tgt + (4 << 20) >= a_src, "target allocates {a_tgt} bytes, source {a_src}: data missing?");
}

#[test]
fn readback_verification_reports_each_copied_partition() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let defs = install_defs(dir.path(), true);
    let target = dir.path().join("target.img");
    let out = run_ok(&mut install(&defs, &src, &target, &["--yes", "--target-size", "2G", "--verify=readback"]));
    let events: Vec<serde_json::Value> = String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.iter().all(|e| e["v"] == 1));
    let readback: Vec<u64> =
        events.iter().filter(|e| e["event"] == "verified" && e["method"] == "readback").map(|e| e["partition"].as_u64().unwrap()).collect();
    assert_eq!(readback, [1, 2]);
    assert_eq!(events.last().unwrap()["event"], "finished");
    // the root file system carries the UUID derived from its partition UUID
    let (o, s) = part_range(&sfdisk_json(&target), 4);
    assert!(sh(&format!("blkid -p -o export -O {o} -S {s} {}", target.display())).contains("TYPE=ext4"));
}

#[test]
fn a_truncated_source_is_caught_and_no_table_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let (uo, us) = part_range(&sfdisk_json(&src), 2);
    // cut the source in the middle of /usr (the GPT's backup header goes with it, the primary stays)
    std::fs::File::options().write(true).open(&src).unwrap().set_len(uo + us / 2).unwrap();
    let defs = install_defs(dir.path(), false);
    let target = dir.path().join("target.img");
    let out = install(&defs, &src, &target, &["--yes", "--target-size", "1G"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("truncated"), "{}", stderr_of(&out));
    let t = Command::new("sfdisk").arg("--json").arg(&target).output().unwrap();
    assert!(!t.status.success() || !String::from_utf8_lossy(&t.stdout).contains("partitions"), "a table was written");
}

#[test]
fn the_plan_prints_as_json_and_a_dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let defs = install_defs(dir.path(), true);
    let target = dir.path().join("target.img");
    let out = run_ok(&mut install(&defs, &src, &target, &["--dry-run", "--json", "--target-size", "2G"]));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["partitions"].as_array().unwrap().len(), 4);
    assert_eq!(plan["partitions"][0]["content"]["kind"], "copy-blocks");
    assert_eq!(plan["partitions"][3]["content"]["kind"], "format");
    assert_eq!(plan["partitions"][3]["factory_reset"], true);
    assert_eq!(plan["create_image"], true);
    assert!(!target.exists(), "a dry run created the target");
    let text = run_ok(&mut install(&defs, &src, &target, &["--dry-run", "--target-size", "2G"]));
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Dry run: nothing was written."), "{text}");
    assert!(text.contains("_empty"));
}

#[test]
fn refusals_leave_the_target_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let defs = install_defs(dir.path(), false);
    let src_hash = file_hash(&src);

    // the source itself
    let out = install(&defs, &src, &src, &["--yes", "--empty=force"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("is the install source"), "{}", stderr_of(&out));
    assert_eq!(file_hash(&src), src_hash);

    // too small: both sizes are named
    let small = dir.path().join("small.img");
    sparse_file(&small, 200 << 20);
    std::fs::write(dir.path().join("marker"), b"").unwrap();
    let before = file_hash(&small);
    let out = install(&defs, &src, &small, &["--yes"]).output().unwrap();
    assert!(!out.status.success());
    let e = stderr_of(&out);
    assert!(e.contains("too small") && e.contains("200 MiB") && e.contains("need at least"), "{e}");
    assert_eq!(file_hash(&small), before);

    // a disk holding data, without --yes and without a terminal
    let used = dir.path().join("used.img");
    sparse_file(&used, 1 << 30);
    run_ok(&mut install(&defs, &src, &used, &["--yes"]));
    let before = file_hash(&used);
    let other_seed = install(&defs, &src, &used, &["--empty=force"]).stdin(Stdio::null()).output().unwrap();
    assert!(!other_seed.status.success());
    assert!(stderr_of(&other_seed).contains("pass --yes"), "{}", stderr_of(&other_seed));
    assert_eq!(file_hash(&used), before);

    // a read-only loop device
    let ro = Loop::attach(&used, &["-r"]);
    let out = install(&defs, &src, &ro.dev, &["--yes", "--empty=force"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("read-only"), "{}", stderr_of(&out));
    drop(ro);
    assert_eq!(file_hash(&used), before);
}

/// Unmounts on drop.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_mounted_loop_device_and_its_image_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let defs = install_defs(dir.path(), false);
    let img = dir.path().join("fs.img");
    sparse_file(&img, 1 << 30);
    sh(&format!("mkfs.ext4 -q -F {}", img.display()));
    let lo = Loop::attach(&img, &[]);
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let before = file_hash(&img);
    // read-only and without journal replay, so mounting itself writes nothing
    run_ok(Command::new("mount").args(["-o", "ro,noload"]).arg(&lo.dev).arg(&mnt));
    let guard = Mount(mnt.clone());
    for target in [lo.dev.clone(), img.clone()] {
        let out = install(&defs, &src, &target, &["--yes", "--empty=force"]).output().unwrap();
        assert!(!out.status.success(), "{} was written", target.display());
        assert!(stderr_of(&out).contains("mounted"), "{}", stderr_of(&out));
    }
    drop(guard);
    drop(lo);
    assert_eq!(file_hash(&img), before);
}

/// Starts an install and kills it (`signal`) at the first event `at` accepts.
fn interrupted_run(cmd: &mut Command, signal: &str, at: &dyn Fn(&serde_json::Value) -> bool) -> bool {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let ev: serde_json::Value = serde_json::from_str(&line).unwrap();
        if !killed && at(&ev) {
            run_ok(Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()));
            killed = true;
        }
    }
    let status = child.wait().unwrap();
    killed && !status.success()
}

/// Whether the target holds a valid GPT.
fn table_of(target: &Path) -> Option<serde_json::Value> {
    let out = Command::new("sfdisk").arg("--json").arg(target).output().unwrap();
    out.status.success().then(|| serde_json::from_slice(&out.stdout).ok()).flatten()
}

#[test]
fn an_interrupted_install_never_leaves_a_table_pointing_at_unwritten_data_and_a_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let src = big_source(dir.path(), 192);
    let defs = install_defs(dir.path(), true);
    // the uninterrupted result
    let reference = dir.path().join("reference.img");
    run_ok(&mut install(&defs, &src, &reference, &["--yes", "--target-size", "1G"]));
    let ref_table = sfdisk_json(&reference);
    let ref_hashes: Vec<String> = (1..=3)
        .map(|n| {
            let (o, s) = part_range(&ref_table, n);
            sha256_range(&reference, o, s)
        })
        .collect();

    type Point = (&'static str, &'static str, fn(&serde_json::Value) -> bool);
    let points: [Point; 5] = [
        ("between partitions", "KILL", |e| e["event"] == "step-started" && e["name"] == "partition-2"),
        ("mid-copy", "KILL", |e| e["event"] == "progress" && e["step"] == 2 && e["bytes_done"].as_u64().unwrap() > 0),
        ("mid-copy, SIGINT", "INT", |e| e["event"] == "progress" && e["step"] == 2 && e["bytes_done"].as_u64().unwrap() > 0),
        ("while formatting", "TERM", |e| e["event"] == "step-started" && e["name"] == "partition-4"),
        ("at the table", "KILL", |e| e["event"] == "step-started" && e["name"] == "table"),
    ];
    let mut interrupted_before_table = 0;
    for (what, sig, at) in points {
        let target = dir.path().join("target.img");
        let _ = std::fs::remove_file(&target);
        let stopped = interrupted_run(&mut install(&defs, &src, &target, &["--yes", "--target-size", "1G"]), sig, &at);
        match table_of(&target) {
            None => interrupted_before_table += usize::from(stopped),
            Some(t) => {
                // a table exists only if every partition it names holds its final content
                for n in 1..=3 {
                    let (o, s) = part_range(&t, n);
                    assert_eq!(sha256_range(&target, o, s), ref_hashes[n - 1], "{what}: partition {n} in the table is not fully written");
                }
            }
        }
        // the same command again completes, and equals the uninterrupted result
        run_ok(&mut install(&defs, &src, &target, &["--yes", "--target-size", "1G"]));
        let t = sfdisk_json(&target);
        assert_eq!(t, ref_table, "{what}: the re-run differs");
        for n in 1..=3 {
            let (o, s) = part_range(&t, n);
            assert_eq!(sha256_range(&target, o, s), ref_hashes[n - 1], "{what}: partition {n}");
        }
    }
    assert!(interrupted_before_table >= 3, "only {interrupted_before_table} runs were stopped before the table step");
}

#[test]
fn disks_lists_the_running_system_with_reasons() {
    let out = run_ok(imprint().args(["disks", "--json"]));
    let disks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let running: Vec<&serde_json::Value> = disks.as_array().unwrap().iter().filter(|d| d["holds_running_system"] == true).collect();
    assert!(!running.is_empty(), "{disks:#}");
    assert!(running.iter().all(|d| !d["reasons"].as_array().unwrap().is_empty()));
    let text = String::from_utf8(run_ok(imprint().arg("disks")).stdout).unwrap();
    assert!(text.contains("holds the running system"), "{text}");
}

/// A source built by systemd-repart with a dm-verity /usr: the copy is checked against the hash
/// tree and the root hash repart put in the partition UUIDs; one flipped byte stops the install
/// before any table is written.
#[test]
fn a_verity_source_is_checked_and_a_corrupt_one_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let noise: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(tree.join("noise"), noise).unwrap();
    let src_defs = write_defs(
        &dir.path().join("src-defs"),
        &[
            (
                "10-usr.conf",
                &format!(
                    "[Partition]\nType=usr\nFormat=ext4\nCopyFiles={}:/\nVerity=data\nVerityMatchKey=usr\nSizeMinBytes=64M\nSizeMaxBytes=64M\n",
                    tree.display()
                ),
            ),
            ("20-usr-verity.conf", "[Partition]\nType=usr-verity\nVerity=hash\nVerityMatchKey=usr\nSizeMinBytes=8M\nSizeMaxBytes=8M\n"),
        ],
    );
    let src = dir.path().join("verity-source.img");
    sparse_file(&src, 128 << 20);
    run_ok(
        Command::new("systemd-repart")
            .args(["--empty=allow", "--dry-run=no", "--seed", SEED])
            .arg(format!("--definitions={}", src_defs.display()))
            .arg(&src),
    );
    let j = sfdisk_json(&src);
    let uuid = |n: usize| j["partitiontable"]["partitions"][n]["uuid"].as_str().unwrap().replace('-', "").to_lowercase();
    let root_hash = format!("{}{}", uuid(0), uuid(1));

    let defs = write_defs(
        &dir.path().join("defs"),
        &[
            ("10-usr.conf", "[Partition]\nType=usr\nCopyBlocks=auto\n"),
            ("20-usr-verity.conf", "[Partition]\nType=usr-verity\nCopyBlocks=auto\n"),
        ],
    );
    let target = dir.path().join("target.img");
    let out = run_ok(&mut install(&defs, &src, &target, &["--yes", "--target-size", "256M", "--verify=readback"]));
    let text = String::from_utf8(out.stdout).unwrap();
    let verity: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).filter(|e| e["method"] == "verity").collect();
    assert_eq!(verity.len(), 1, "{text}");
    assert_eq!(verity[0]["digest"], format!("dm-verity root hash {root_hash} matches the partition UUIDs"));

    // flip one bit in the first non-zero data block of /usr
    let (o, s) = part_range(&j, 1);
    let f = std::fs::File::options().read(true).write(true).open(&src).unwrap();
    use std::os::unix::fs::FileExt;
    let mut block = vec![0u8; 4096];
    let at = (0..s / 4096)
        .map(|b| o + b * 4096)
        .find(|&off| {
            f.read_exact_at(&mut block, off).unwrap();
            block.iter().any(|&x| x != 0)
        })
        .unwrap();
    f.write_all_at(&[block[7] ^ 1], at + 7).unwrap();
    drop(f);
    let bad = dir.path().join("bad.img");
    let out = install(&defs, &src, &bad, &["--yes", "--target-size", "256M"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr_of(&out).contains("does not match its dm-verity hash tree"), "{}", stderr_of(&out));
    assert!(table_of(&bad).is_none(), "a table was written for a corrupt source");
}

/// Runs `imprint` under a pseudo-terminal (util-linux `script`), typing `answer` at its prompt.
fn on_a_terminal(args: &str, answer: &str) -> (bool, String) {
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_imprint"));
    let out = Command::new("sh").arg("-c").arg(format!("printf '%s\\n' '{answer}' | script -qec \"{cmd}\" /dev/null")).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn erasing_a_disk_needs_its_name_typed_at_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let defs = install_defs(dir.path(), false);
    let used = dir.path().join("used.img");
    sparse_file(&used, 1 << 30);
    run_ok(&mut install(&defs, &src, &used, &["--yes"]));
    let before = file_hash(&used);
    let args = format!(
        "install --progress=json --empty=force --definitions {} --source {} --target {}",
        defs.display(),
        src.display(),
        used.display()
    );
    let (ok, text) = on_a_terminal(&args, "nope");
    assert!(!ok, "{text}");
    assert!(text.contains("Everything on this disk will be lost") && text.contains("image file") && text.contains("1 GiB"), "{text}");
    assert!(text.contains("not confirmed; nothing was written"), "{text}");
    assert_eq!(file_hash(&used), before);
    let (ok, text) = on_a_terminal(&args, "used.img");
    assert!(ok, "{text}");
    assert_ne!(file_hash(&used), before, "confirmed, but nothing was written");
}
