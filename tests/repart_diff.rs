//! Differential tests against systemd-repart (systemd 252 on this machine): for the same
//! definitions, seed and target size, imprint's table must equal repart's in disk GUID,
//! partition starts, sizes, types, names, UUIDs and attribute bits, on 512- and 4096-byte
//! sectors; and repart must find nothing left to do on imprint's result.

mod common;

use std::path::{Path, PathBuf};

use common::*;

const SEED: &str = "3f1f5a2c-9d6e-4c55-8b0e-6b5a1d2e7c90";

fn repart(defs: &Path, target: &Path, extra: &[&str]) -> String {
    systemd_repart(SEED, defs, target, extra)
}

fn imprint_install(defs: &Path, target: &Path, extra: &[&str]) {
    run_ok(
        imprint()
            .args(["install", "--yes", "--progress=json", "--seed", SEED, "--definitions"])
            .arg(defs)
            .arg("--target")
            .arg(target)
            .args(extra),
    );
}

/// Both tools on fresh 512-byte-sector image files of `size`; the tables must be equal.
/// Returns the folder (keep it alive), the definitions, repart's image and imprint's.
fn both_512(name: &str, defs: &[(&str, &str)], size: u64) -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(&dir.path().join("defs"), defs);
    let a = dir.path().join("repart.img");
    let b = dir.path().join("imprint.img");
    sparse_file(&a, size);
    sparse_file(&b, size);
    repart(&defs, &a, &["--empty=allow"]);
    imprint_install(&defs, &b, &[]);
    let (ja, jb) = (sfdisk_json(&a), sfdisk_json(&b));
    assert_eq!(ja, jb, "{name}: tables differ\nrepart:  {ja:#}\nimprint: {jb:#}");
    (dir, defs, a, b)
}

fn diff_512(name: &str, defs: &[(&str, &str)], size: u64) {
    let (_dir, defs, _, b) = both_512(name, defs, size);
    assert_no_changes(&defs, &b);
}

/// Both tools on loop devices with 4096-byte logical sectors.
fn diff_4k(name: &str, defs: &[(&str, &str)], size: u64) {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(&dir.path().join("defs"), defs);
    let a = dir.path().join("repart.img");
    let b = dir.path().join("imprint.img");
    sparse_file(&a, size);
    sparse_file(&b, size);
    let la = Loop::attach(&a, &["--sector-size", "4096"]);
    let lb = Loop::attach(&b, &["--sector-size", "4096"]);
    repart(&defs, &la.dev, &["--empty=allow"]);
    imprint_install(&defs, &lb.dev, &[]);
    let (ja, jb) = (sfdisk_json(&la.dev), sfdisk_json(&lb.dev));
    assert_eq!(ja["partitiontable"]["sectorsize"], 4096);
    assert_eq!(ja, jb, "{name}: tables differ on 4K sectors\nrepart:  {ja:#}\nimprint: {jb:#}");
    assert_no_changes(&defs, &lb.dev);
}

const WEIGHTS: &[(&str, &str)] = &[
    ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
    ("20-usr.conf", "[Partition]\nType=usr\nSizeMinBytes=300M\nSizeMaxBytes=300M\n"),
    ("21-usr.conf", "[Partition]\nType=usr\nLabel=_empty\nSizeMinBytes=300M\nSizeMaxBytes=300M\n"),
    ("30-root.conf", "[Partition]\nType=root\nFactoryReset=yes\nWeight=2000\n"),
    ("40-var.conf", "[Partition]\nType=var\nPaddingMinBytes=10M\nPaddingWeight=500\n"),
];

const ATTRS: &[(&str, &str)] = &[
    ("01-a.conf", "[Partition]\nType=linux-generic\nLabel=first\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
    ("02-b.conf", "[Partition]\nType=linux-generic\nSizeMinBytes=32M\nSizeMaxBytes=48M\nUUID=0123abcd-4567-4abc-9def-0123456789ab\n"),
    ("03-c.conf", "[Partition]\nType=linux-generic\nSizeMaxBytes=20M\n"),
    ("04-usr.conf", "[Partition]\nType=usr-x86-64\nReadOnly=yes\nNoAuto=yes\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
    ("05-home.conf", "[Partition]\nType=home\nGrowFileSystem=no\nFactoryReset=yes\nWeight=500\n"),
    ("06-srv.conf", "[Partition]\nType=srv\nPaddingMinBytes=1M\nPaddingMaxBytes=3M\nPaddingWeight=1000\nSizeMaxBytes=200M\n"),
    ("07-swap.conf", "[Partition]\nType=swap\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
    ("08-verity.conf", "[Partition]\nType=usr-x86-64-verity\nSizeMinBytes=16M\nSizeMaxBytes=16M\n"),
    ("09-raw.conf", "[Partition]\nType=a19d880f-05fc-4d3b-a006-743f0f84911e\nLabel=raid\nSizeMinBytes=8M\nSizeMaxBytes=8M\n"),
];

const PRIORITY: &[(&str, &str)] = &[
    ("10-root.conf", "[Partition]\nType=root\nSizeMinBytes=600M\n"),
    ("20-swap.conf", "[Partition]\nType=swap\nSizeMinBytes=800M\nPriority=10\n"),
    ("30-home.conf", "[Partition]\nType=home\nSizeMinBytes=300M\nPriority=5\n"),
    ("40-srv.conf", "[Partition]\nType=srv\nSizeMinBytes=100M\nPriority=5\n"),
];

#[test]
fn weights_min_max_padding_and_two_of_a_type_512() {
    diff_512("weights", WEIGHTS, 2 << 30);
}

#[test]
fn weights_min_max_padding_and_two_of_a_type_4k() {
    diff_4k("weights", WEIGHTS, 2 << 30);
}

#[test]
fn flags_read_only_no_auto_uuids_labels_512() {
    diff_512("attrs", ATTRS, 1 << 30);
}

#[test]
fn flags_read_only_no_auto_uuids_labels_4k() {
    diff_4k("attrs", ATTRS, 1 << 30);
}

#[test]
fn priorities_drop_what_does_not_fit() {
    diff_512("priority", PRIORITY, 1536 << 20);
}

#[test]
fn odd_sizes_round_like_repart() {
    // a size that is not a multiple of the grain, and a disk size that is not either
    let defs: &[(&str, &str)] = &[
        ("1.conf", "[Partition]\nType=esp\nSizeMinBytes=33554431\nSizeMaxBytes=50000000\n"),
        ("2.conf", "[Partition]\nType=root\nWeight=7\n"),
        ("3.conf", "[Partition]\nType=var\nWeight=3\nPaddingWeight=1\n"),
    ];
    // repart 252 is not at a fixed point on its own result for these weights (a second run
    // grows var into the padding), so here the check is that it says the same of both results.
    let (_dir, defs, a, b) = both_512("odd", defs, (1 << 30) + 3 * 512);
    let norm = |t: String, p: &Path| t.replace(&p.display().to_string(), "IMG").split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(norm(repart_verdict(&defs, &a), &a), norm(repart_verdict(&defs, &b), &b));
}

#[test]
fn copy_blocks_from_files_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let esp = dir.path().join("esp.vfat");
    let usr = dir.path().join("usr.img");
    sparse_file(&esp, 40 << 20);
    sh(&format!("mkfs.vfat -F 32 -n SRC {} >/dev/null", esp.display()));
    std::fs::write(&usr, (0..(3u32 << 20)).map(|i| (i % 251) as u8).collect::<Vec<u8>>()).unwrap();
    let defs = [
        ("10-esp.conf", format!("[Partition]\nType=esp\nCopyBlocks={}\n", esp.display())),
        ("20-usr.conf", format!("[Partition]\nType=usr\nCopyBlocks={}\nSizeMaxBytes=64M\n", usr.display())),
        ("30-root.conf", "[Partition]\nType=root\nFormat=ext4\nSizeMinBytes=64M\n".to_string()),
        ("40-var.conf", "[Partition]\nType=var\nFormat=vfat\nSizeMinBytes=64M\nSizeMaxBytes=64M\n".to_string()),
    ];
    let defs: Vec<(&str, &str)> = defs.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let defs_dir = write_defs(&dir.path().join("defs"), &defs);
    let a = dir.path().join("repart.img");
    let b = dir.path().join("imprint.img");
    sparse_file(&a, 512 << 20);
    repart(&defs_dir, &a, &["--empty=allow"]);
    imprint_install(&defs_dir, &b, &["--target-size", &(512u64 << 20).to_string()]);
    let (ja, jb) = (sfdisk_json(&a), sfdisk_json(&b));
    assert_eq!(ja, jb);
    // copied content equals the source, byte for byte
    let (o, _) = part_range(&jb, 1);
    assert_eq!(sha256_range(&b, o, 40 << 20), sha256_range(&esp, 0, 40 << 20));
    let (o, _) = part_range(&jb, 2);
    assert_eq!(sha256_range(&b, o, 3 << 20), sha256_range(&usr, 0, 3 << 20));
    // file systems carry the UUIDs repart derives
    for n in [3usize, 4] {
        let (o, s) = part_range(&ja, n);
        let probe = |img: &Path| sh(&format!("blkid -p -o export -O {o} -S {s} {} | grep -E '^(UUID|TYPE|LABEL)='", img.display()));
        assert_eq!(probe(&a), probe(&b), "partition {n}");
    }
    assert_no_changes(&defs_dir, &b);
}

#[test]
fn extending_an_existing_table_with_empty_allow() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_defs(
        &dir.path().join("first"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            ("20-root.conf", "[Partition]\nType=root\nSizeMinBytes=200M\nSizeMaxBytes=200M\n"),
            ("30-home.conf", "[Partition]\nType=home\nSizeMinBytes=100M\nSizeMaxBytes=100M\n"),
        ],
    );
    // later definitions: root may grow, a new var and a second linux partition appear; home has
    // no definition any more and stays foreign
    let second = write_defs(
        &dir.path().join("second"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            ("20-root.conf", "[Partition]\nType=root\nSizeMinBytes=200M\nSizeMaxBytes=300M\n"),
            ("40-var.conf", "[Partition]\nType=var\nSizeMinBytes=100M\n"),
            ("50-data.conf", "[Partition]\nType=linux-generic\nSizeMaxBytes=50M\n"),
        ],
    );
    let a = dir.path().join("repart.img");
    sparse_file(&a, 1 << 30);
    repart(&first, &a, &["--empty=allow"]);
    let b = dir.path().join("imprint.img");
    std::fs::copy(&a, &b).unwrap();
    // imprint refuses an existing table by default, and changes nothing
    let before = sha256_range(&b, 0, 1 << 30);
    let out = imprint().args(["install", "--yes", "--seed", SEED, "--definitions"]).arg(&second).arg("--target").arg(&b).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--empty=allow"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(before, sha256_range(&b, 0, 1 << 30));
    repart(&second, &a, &[]);
    imprint_install(&second, &b, &["--empty=allow"]);
    assert_eq!(sfdisk_json(&a), sfdisk_json(&b));
    assert_no_changes(&second, &b);
}

/// Flags= is where systemd 252 and its documentation part ways: 252 writes no attribute bits at
/// all for a partition with Flags= (not even GrowFileSystem's), a bug. imprint follows the
/// documented semantics upstream keeps: Flags= is the base, NoAuto=/ReadOnly=/GrowFileSystem=
/// override their bits, and GrowFileSystem is on for types that know it unless read-only.
#[test]
fn flags_follow_the_documented_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let defs = write_defs(
        &dir.path().join("defs"),
        &[
            ("1.conf", "[Partition]\nType=linux-generic\nFlags=0x4\nSizeMaxBytes=16M\n"),
            ("2.conf", "[Partition]\nType=home\nFlags=0x1000000000000001\nNoAuto=yes\nSizeMaxBytes=16M\n"),
            ("3.conf", "[Partition]\nType=swap\nFlags=0b1\nSizeMaxBytes=16M\n"),
            ("4.conf", "[Partition]\nType=usr\nFlags=1152921504606846976\nReadOnly=no\nSizeMaxBytes=16M\n"),
            ("5.conf", "[Partition]\nType=esp\nNoAuto=yes\nSizeMaxBytes=16M\n"),
        ],
    );
    let b = dir.path().join("imprint.img");
    sparse_file(&b, 256 << 20);
    imprint_install(&defs, &b, &[]);
    let j = sfdisk_json(&b);
    let attrs: Vec<String> = (0..5).map(|i| j["partitiontable"]["partitions"][i]["attrs"].as_str().unwrap_or("").to_string()).collect();
    // home: bit 0 and 60 from Flags=, 63 from NoAuto=, 59 because home grows
    // usr: bit 60 cleared by ReadOnly=no, 59 forced on; esp knows no NoAuto= bit
    assert_eq!(attrs, ["LegacyBIOSBootable", "RequiredPartition GUID:59,60,63", "RequiredPartition", "GUID:59", ""]);
}
