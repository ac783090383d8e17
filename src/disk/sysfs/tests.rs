use super::tree::natural_cmp;
use super::*;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

/// A recorded-style sysfs tree, device directory, mount table and swap list in a tempdir.
struct Fx {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    paths: SysPaths,
    dirs: HashMap<String, PathBuf>,
    mountinfo: String,
    swaps: String,
    next_mount_id: u32,
}

impl Fx {
    fn new() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let paths = SysPaths { sys: root.join("sys"), dev: root.join("dev"), mountinfo: root.join("mountinfo"), swaps: root.join("swaps") };
        fs::create_dir_all(paths.sys.join("block")).unwrap();
        fs::create_dir_all(&paths.dev).unwrap();
        let fx = Fx {
            _tmp: tmp,
            root,
            paths,
            dirs: HashMap::new(),
            mountinfo: String::new(),
            swaps: "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n".to_string(),
            next_mount_id: 20,
        };
        fx.write();
        fx
    }

    fn put(&self, dir: &Path, rel: &str, value: &str) {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, value).unwrap();
    }

    /// A whole device at sys/devices/DEVPATH/block/NAME, linked from sys/block/NAME.
    fn disk(&mut self, name: &str, devno: &str, sectors: u64, devpath: &str) -> PathBuf {
        let dir = self.paths.sys.join("devices").join(devpath).join("block").join(name);
        fs::create_dir_all(dir.join("holders")).unwrap();
        fs::create_dir_all(dir.join("slaves")).unwrap();
        symlink("../..", dir.join("device")).unwrap();
        symlink(format!("../devices/{devpath}/block/{name}"), self.paths.sys.join("block").join(name)).unwrap();
        self.put(&dir, "dev", &format!("{devno}\n"));
        self.put(&dir, "size", &format!("{sectors}\n"));
        self.put(&dir, "ro", "0\n");
        self.put(&dir, "removable", "0\n");
        self.put(&dir, "queue/logical_block_size", "512\n");
        fs::write(self.paths.dev.join(name), "").unwrap();
        self.dirs.insert(name.to_string(), dir.clone());
        dir
    }

    fn part(&mut self, disk: &str, name: &str, partno: u32, devno: &str, sectors: u64) {
        let dir = self.dirs[disk].join(name);
        fs::create_dir_all(dir.join("holders")).unwrap();
        self.put(&dir, "partition", &format!("{partno}\n"));
        self.put(&dir, "dev", &format!("{devno}\n"));
        self.put(&dir, "size", &format!("{sectors}\n"));
        self.put(&dir, "ro", "0\n");
        fs::write(self.paths.dev.join(name), "").unwrap();
        self.dirs.insert(name.to_string(), dir);
    }

    fn dm(&mut self, name: &str, devno: &str, dm_name: &str, uuid: &str, slaves: &[&str]) {
        let dir = self.disk(name, devno, 1000, "virtual");
        self.put(&dir, "dm/name", &format!("{dm_name}\n"));
        self.put(&dir, "dm/uuid", &format!("{uuid}\n"));
        fs::create_dir_all(self.paths.dev.join("mapper")).unwrap();
        symlink(format!("../{name}"), self.paths.dev.join("mapper").join(dm_name)).unwrap();
        for s in slaves {
            fs::write(dir.join("slaves").join(s), "").unwrap();
            fs::write(self.dirs[*s].join("holders").join(name), "").unwrap();
        }
    }

    fn loopdev(&mut self, name: &str, devno: &str, backing: Option<&Path>) {
        let dir = self.disk(name, devno, if backing.is_some() { 2048 } else { 0 }, "virtual");
        if let Some(b) = backing {
            self.put(&dir, "loop/backing_file", &format!("{}\n", b.display()));
        }
    }

    fn set(&self, name: &str, rel: &str, value: &str) {
        self.put(&self.dirs[name], rel, value);
    }

    fn mount(&mut self, devno: &str, mp: &str, fstype: &str, source: &str, opts: &str) {
        self.next_mount_id += 1;
        let mp = mp.replace(' ', "\\040");
        let _ = writeln!(self.mountinfo, "{} 1 {devno} / {mp} {opts},relatime shared:1 - {fstype} {source} rw", self.next_mount_id);
        self.write();
    }

    fn swap(&mut self, path: &str) {
        let _ = writeln!(self.swaps, "{path}\tpartition\t1048572\t0\t-2");
        self.write();
    }

    fn write(&self) {
        fs::write(&self.paths.mountinfo, &self.mountinfo).unwrap();
        fs::write(&self.paths.swaps, &self.swaps).unwrap();
    }

    fn dev(&self, name: &str) -> String {
        self.paths.dev.join(name).display().to_string()
    }

    fn list(&self, source: Option<&Path>) -> Vec<DiskInfo> {
        list_disks(&self.paths, source).unwrap()
    }

    fn refusals(&self, target: &Path, source: Option<&Path>) -> Vec<String> {
        target_refusals(target, source, &self.paths).unwrap()
    }
}

fn find<'d>(disks: &'d [DiskInfo], name: &str) -> &'d DiskInfo {
    disks.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("{name} not listed"))
}

const VIRTIO: &str = "pci0000:00/0000:00:04.0/virtio2";
const USB: &str = "pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0";
const SATA: &str = "pci0000:00/0000:00:17.0/ata3/host2/target2:0:0/2:0:0:0";
const NVME: &str = "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0";

/// vda (virtio): vda1 at /boot, vda2 at /; sdb (USB stick) unused.
fn basic() -> Fx {
    let mut fx = Fx::new();
    let vda = fx.disk("vda", "254:0", 41943040, VIRTIO);
    fx.put(&vda, "serial", "disk-serial-1");
    fx.part("vda", "vda1", 1, "254:1", 1048576);
    fx.part("vda", "vda2", 2, "254:2", 40000000);
    fx.part("vda", "vda3", 3, "254:3", 800000);
    let usb = fx.disk("sdb", "8:16", 30031872, USB);
    fx.set("sdb", "removable", "1\n");
    fx.put(&usb, "../../vendor", "SanDisk \n");
    fx.put(&usb, "../../model", "Ultra           \n");
    fx.put(&fx.paths.sys.join("devices").join(USB), "../../../../idVendor", "0781\n");
    fx.put(&fx.paths.sys.join("devices").join(USB), "../../../../serial", "4C530001\n");
    // The kernel names a root it mounted itself "/dev/root": only the number tells.
    fx.mount("254:2", "/", "ext4", "/dev/root", "rw");
    fx.mount("0:22", "/sys", "sysfs", "sysfs", "rw");
    fx.mount("254:1", "/boot", "vfat", "/dev/vda1", "rw");
    fx
}

#[test]
fn virtio_disk_with_mounted_partitions_is_refused_with_reasons() {
    let fx = basic();
    let disks = fx.list(None);
    let vda = find(&disks, "vda");
    assert_eq!(vda.transport.as_deref(), Some("virtio"));
    assert_eq!(vda.size_bytes, 41943040 * 512);
    assert_eq!(vda.logical_sector_size, 512);
    assert_eq!(vda.serial.as_deref(), Some("disk-serial-1"));
    assert_eq!(vda.model, None, "virtio has no model, and its vendor id is not one");
    assert!(vda.holds_running_system);
    assert!(!vda.is_install_source);
    assert_eq!(
        vda.reasons,
        [
            format!("holds the running system (/ is mounted from {})", fx.dev("vda2")),
            format!("partition {} is mounted at /boot", fx.dev("vda1")),
            format!("partition {} is mounted at /", fx.dev("vda2")),
        ]
    );
    let names: Vec<_> = vda.partitions.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["vda1", "vda2", "vda3"]);
    assert_eq!(vda.partitions[0].mountpoints, [PathBuf::from("/boot")]);
    assert!(vda.partitions[2].mountpoints.is_empty());
    assert_eq!(vda.partitions[1].path, fx.paths.dev.join("vda2"));
    // The same reasons when the disk is given as a target.
    assert_eq!(fx.refusals(&fx.paths.dev.join("vda"), None), vda.reasons);
}

#[test]
fn removable_usb_disk_with_nothing_on_it_can_be_chosen() {
    let fx = basic();
    let disks = fx.list(None);
    let sdb = find(&disks, "sdb");
    assert_eq!(sdb.transport.as_deref(), Some("usb"));
    assert!(sdb.removable);
    assert!(!sdb.read_only);
    assert_eq!(sdb.model.as_deref(), Some("SanDisk Ultra"));
    assert_eq!(sdb.serial.as_deref(), Some("4C530001"));
    assert!(sdb.reasons.is_empty(), "{:?}", sdb.reasons);
    assert!(!sdb.holds_running_system);
    assert!(fx.refusals(&fx.paths.dev.join("sdb"), None).is_empty());
    // Natural order, disks only.
    let names: Vec<_> = disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["sdb", "vda"]);
}

#[test]
fn transports_models_and_serials() {
    let mut fx = Fx::new();
    let sda = fx.disk("sda", "8:0", 1000, SATA);
    fx.put(&sda, "../../vendor", "ATA     \n");
    fx.put(&sda, "../../model", "Samsung SSD 870\n");
    // VPD page 0x80: header (4 bytes, length 8), then the serial.
    fs::write(sda.join("../../vpd_pg80"), b"\x00\x80\x00\x08S5Y1NX0R").unwrap();
    let nvme = fx.disk("nvme0n1", "259:0", 1000, NVME);
    fx.put(&nvme, "../../model", "WDC PC SN730\n");
    fx.put(&nvme, "../../serial", "  21034E800123  \n");
    fx.set("nvme0n1", "queue/logical_block_size", "4096\n");
    let mmc = fx.disk("mmcblk0", "179:0", 1000, "platform/mmc_host/mmc0/mmc0:0001");
    fx.put(&mmc, "../../name", "SD32G\n");
    fx.disk("zram0", "253:0", 1000, "virtual");
    fx.disk("ram0", "1:0", 1000, "virtual");
    fx.disk("sr0", "11:0", 0, "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0");
    fx.disk("nvme1n1", "259:9", 1000, NVME);
    fx.set("nvme1n1", "hidden", "1\n");
    fx.mount("0:30", "/", "tmpfs", "tmpfs", "rw");
    let disks = fx.list(None);
    let names: Vec<_> = disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["mmcblk0", "nvme0n1", "sda"]);
    let sda = find(&disks, "sda");
    assert_eq!(sda.transport.as_deref(), Some("sata"));
    assert_eq!(sda.model.as_deref(), Some("Samsung SSD 870"));
    assert_eq!(sda.serial.as_deref(), Some("S5Y1NX0R"));
    let nvme = find(&disks, "nvme0n1");
    assert_eq!(nvme.transport.as_deref(), Some("nvme"));
    assert_eq!(nvme.serial.as_deref(), Some("21034E800123"));
    assert_eq!(nvme.logical_sector_size, 4096);
    let mmc = find(&disks, "mmcblk0");
    assert_eq!(mmc.transport.as_deref(), Some("mmc"));
    assert_eq!(mmc.model.as_deref(), Some("SD32G"));
    assert!(disks.iter().all(|d| d.reasons.is_empty()));
}

#[test]
fn disk_under_dm_crypt_and_swap_is_refused_for_each_use() {
    let mut fx = basic();
    fx.disk("sdc", "8:32", 1000000, SATA);
    fx.part("sdc", "sdc1", 1, "8:33", 500000);
    fx.part("sdc", "sdc2", 2, "8:34", 400000);
    fx.dm("dm-0", "252:0", "home", "CRYPT-LUKS2-0123456789abcdef-home", &["sdc1"]);
    fx.mount("252:0", "/home", "ext4", "/dev/mapper/home", "rw");
    fx.swap("/dev/sdc2");
    let disks = fx.list(None);
    assert!(disks.iter().all(|d| d.name != "dm-0"), "device-mapper is not a disk");
    let sdc = find(&disks, "sdc");
    assert_eq!(
        sdc.reasons,
        [
            format!("partition {} is used by dm-0 (dm-crypt \"home\"), which is mounted at /home", fx.dev("sdc1")),
            format!("partition {} is in use as swap", fx.dev("sdc2")),
        ]
    );
    assert_eq!(sdc.partitions[0].holders, ["dm-0"]);
    assert!(sdc.partitions[1].swap);
    assert!(!sdc.holds_running_system);
    // The partition as a target: its own use, then its sibling's.
    assert_eq!(
        fx.refusals(&fx.paths.dev.join("sdc1"), None),
        [
            "is used by dm-0 (dm-crypt \"home\"), which is mounted at /home".to_string(),
            format!("partition {} on the same disk is in use as swap", fx.dev("sdc2")),
        ]
    );
    // A dm device given as the target directly: it is mounted.
    assert_eq!(fx.refusals(&fx.paths.dev.join("mapper/home"), None), ["is mounted at /home"]);
}

#[test]
fn running_system_is_found_through_dm_slaves() {
    let mut fx = Fx::new();
    fx.disk("vda", "254:0", 41943040, VIRTIO);
    fx.part("vda", "vda1", 1, "254:1", 1048576);
    fx.part("vda", "vda2", 2, "254:2", 8000000); // root data
    fx.part("vda", "vda3", 3, "254:3", 80000); // root verity hash
    fx.part("vda", "vda4", 4, "254:4", 4000000); // usr data
    fx.part("vda", "vda5", 5, "254:5", 40000); // usr verity hash
    fx.disk("vdb", "254:16", 41943040, VIRTIO);
    fx.dm("dm-0", "252:0", "root", "CRYPT-VERITY-aaaa-root", &["vda2", "vda3"]);
    fx.dm("dm-1", "252:1", "usr", "CRYPT-VERITY-bbbb-usr", &["vda5", "vda4"]);
    fx.mount("252:0", "/", "erofs", "/dev/mapper/root", "ro");
    fx.mount("252:1", "/usr", "erofs", "/dev/mapper/usr", "ro");
    let disks = fx.list(None);
    let vda = find(&disks, "vda");
    assert!(vda.holds_running_system);
    assert_eq!(
        vda.reasons[..2],
        [
            format!("holds the running system (/ is mounted from {}, backed by {})", fx.dev("dm-0"), fx.dev("vda2")),
            format!("holds the running system (/usr is mounted from {}, backed by {})", fx.dev("dm-1"), fx.dev("vda4")),
        ]
    );
    assert!(
        vda.reasons.contains(&format!("partition {} is used by dm-0 (dm-verity \"root\"), which is mounted at /", fx.dev("vda3"))),
        "{:#?}",
        vda.reasons
    );
    assert!(!find(&disks, "vdb").holds_running_system);
    assert!(find(&disks, "vdb").reasons.is_empty());
    assert_eq!(
        resolve_source_auto(&fx.paths),
        Ok(AutoSource { disk: fx.paths.dev.join("vda"), root_partno: Some(2), usr_partno: Some(4) })
    );
    // A free partition of the running disk is refused for its disk.
    let r = fx.refusals(&fx.paths.dev.join("vda1"), None);
    assert!(r[0].starts_with(&format!("its disk {} holds the running system (/ is", fx.dev("vda"))), "{r:#?}");
    assert!(r.iter().all(|r| r.starts_with("its disk") || r.starts_with("partition")), "{r:#?}");
}

#[test]
fn usr_only_image_with_root_on_tmpfs() {
    let mut fx = Fx::new();
    fx.disk("sdb", "8:16", 30031872, USB);
    fx.part("sdb", "sdb1", 1, "8:17", 1000);
    fx.part("sdb", "sdb2", 2, "8:18", 2000);
    fx.mount("0:30", "/", "tmpfs", "tmpfs", "rw");
    fx.mount("8:18", "/usr", "erofs", "/dev/sdb2", "ro");
    assert_eq!(resolve_source_auto(&fx.paths), Ok(AutoSource { disk: fx.paths.dev.join("sdb"), root_partno: None, usr_partno: Some(2) }));
    let sdb = &fx.list(None)[0];
    assert_eq!(sdb.reasons[0], format!("holds the running system (/usr is mounted from {})", fx.dev("sdb2")));
}

#[test]
fn source_auto_explains_what_it_cannot_use() {
    let mut fx = Fx::new();
    fx.disk("vda", "254:0", 1000, VIRTIO);
    fx.mount("254:0", "/", "ext4", "/dev/vda", "rw");
    let e = resolve_source_auto(&fx.paths).unwrap_err();
    assert_eq!(e, format!("/ is mounted from {}, which is not on a partitioned disk; pass --source IMAGE", fx.dev("vda")));

    let mut fx = Fx::new();
    fx.mount("0:30", "/", "tmpfs", "tmpfs", "rw");
    let e = resolve_source_auto(&fx.paths).unwrap_err();
    assert_eq!(e, "/ is not on a block device (it is tmpfs from tmpfs); pass --source IMAGE");

    let mut fx = Fx::new();
    fx.disk("vda", "254:0", 1000, VIRTIO);
    fx.part("vda", "vda1", 1, "254:1", 100);
    fx.disk("vdb", "254:16", 1000, VIRTIO);
    fx.part("vdb", "vdb1", 1, "254:17", 100);
    fx.mount("254:1", "/", "ext4", "/dev/vda1", "rw");
    fx.mount("254:17", "/usr", "ext4", "/dev/vdb1", "rw");
    let e = resolve_source_auto(&fx.paths).unwrap_err();
    assert!(e.contains("but /usr is on"), "{e}");

    let fx = Fx::new();
    assert_eq!(resolve_source_auto(&fx.paths).unwrap_err(), "/ is not in the mount table");
}

#[test]
fn loop_device_with_a_backing_file() {
    let mut fx = basic();
    let img = fx.root.join("images/disk.img");
    fs::create_dir_all(img.parent().unwrap()).unwrap();
    fs::write(&img, vec![0u8; 4096]).unwrap();
    let other = fx.root.join("images/other.img");
    fs::write(&other, vec![0u8; 4096]).unwrap();
    fx.loopdev("loop0", "7:0", Some(&img));
    fx.loopdev("loop1", "7:1", None); // not attached
    fx.loopdev("loop2", "7:2", Some(&other));
    fx.mount("7:0", "/mnt/img", "ext4", "/dev/loop0", "rw");
    let disks = fx.list(None);
    assert!(disks.iter().all(|d| d.name != "loop1"), "a detached loop device is not listed");
    let l0 = find(&disks, "loop0");
    assert_eq!(l0.transport.as_deref(), Some("loop"));
    assert_eq!(l0.reasons, ["is mounted at /mnt/img"]);
    assert!(find(&disks, "loop2").reasons.is_empty());

    // The image file is refused while its loop device is mounted; the other is not.
    assert_eq!(fx.refusals(&img, None), [format!("is attached as {}, which is mounted at /mnt/img", fx.dev("loop0"))]);
    assert!(fx.refusals(&other, None).is_empty());
    // Source checks: the same file, a loop device backed by it, the file behind the source.
    assert_eq!(fx.refusals(&other, Some(&other)), ["is the install source"]);
    assert_eq!(fx.refusals(&fx.paths.dev.join("loop2"), Some(&other)), [format!("is backed by the install source ({})", other.display())]);
    assert_eq!(
        fx.refusals(&other, Some(&fx.paths.dev.join("loop2"))),
        [format!("is the install source (attached as {})", fx.dev("loop2"))]
    );
    let l2 = find(&fx.list(Some(&other)), "loop2").clone();
    assert!(l2.is_install_source);
    // A file that is read-only by its mode; a file that does not exist yet.
    fs::set_permissions(&other, fs::Permissions::from_mode(0o444)).unwrap();
    assert_eq!(fx.refusals(&other, None), ["is a read-only file"]);
    assert!(fx.refusals(&fx.root.join("images/new.img"), None).is_empty());
    assert_eq!(
        fx.refusals(&fx.root.join("nowhere/new.img"), None),
        [format!("does not exist, and neither does its directory {}", fx.root.join("nowhere").display())]
    );
    assert_eq!(fx.refusals(&fx.paths.dev.join("sdz"), None), ["does not exist (no such device)"]);
    assert_eq!(fx.refusals(&fx.root.join("images"), None), ["is neither a block device nor a regular file"]);
}

#[test]
fn source_disks_are_marked_and_refused() {
    let mut fx = basic();
    fx.disk("sdc", "8:32", 1000, SATA);
    fx.part("sdc", "sdc1", 1, "8:33", 100);
    fx.part("sdc", "sdc2", 2, "8:34", 100);
    let src = fx.paths.dev.join("sdb");
    let disks = fx.list(Some(&src));
    let sdb = find(&disks, "sdb");
    assert!(sdb.is_install_source);
    assert_eq!(sdb.reasons, ["is the install source"]);
    assert!(!find(&disks, "vda").is_install_source);
    assert_eq!(fx.refusals(&src, Some(&src)), ["is the install source"]);

    // The source is a partition: its disk holds it, its sibling shares the disk.
    let src = fx.paths.dev.join("sdc2");
    assert_eq!(find(&fx.list(Some(&src)), "sdc").reasons, [format!("holds the install source ({})", fx.dev("sdc2"))]);
    assert_eq!(
        fx.refusals(&fx.paths.dev.join("sdc1"), Some(&src)),
        [format!("its disk {} holds the install source ({})", fx.dev("sdc"), fx.dev("sdc2"))]
    );
    assert_eq!(fx.refusals(&src, Some(&src)), ["is the install source"]);
    // The whole disk as source, a partition of it as target.
    assert_eq!(
        fx.refusals(&fx.paths.dev.join("sdc1"), Some(&fx.paths.dev.join("sdc"))),
        [format!("its disk {} is the install source", fx.dev("sdc"))]
    );
}

#[test]
fn read_only_disk() {
    let mut fx = basic();
    fx.disk("sdc", "8:32", 1000, SATA);
    fx.set("sdc", "ro", "1\n");
    let sdc = find(&fx.list(None), "sdc").clone();
    assert!(sdc.read_only);
    assert_eq!(sdc.reasons, ["is read-only"]);
}

#[test]
fn running_system_from_a_loop_image_on_a_usb_stick() {
    let mut fx = Fx::new();
    fx.disk("sdb", "8:16", 30031872, USB);
    fx.part("sdb", "sdb1", 1, "8:17", 30000000);
    let medium = fx.root.join("run/medium");
    fs::create_dir_all(&medium).unwrap();
    let img = medium.join("live image.raw");
    fs::write(&img, b"").unwrap();
    fx.loopdev("loop0", "7:0", Some(&img));
    fx.part("loop0", "loop0p1", 1, "259:1", 100);
    fx.part("loop0", "loop0p2", 2, "259:2", 1000);
    fx.mount("259:2", "/", "ext4", "/dev/loop0p2", "ro");
    fx.mount("8:17", &medium.display().to_string(), "vfat", "/dev/sdb1", "ro");
    let disks = fx.list(None);
    let sdb = find(&disks, "sdb");
    assert!(sdb.holds_running_system);
    assert_eq!(
        sdb.reasons[0],
        format!(
            "holds the running system (/ is mounted from {}, backed by the file {}, which is on {})",
            fx.dev("loop0p2"),
            img.display(),
            fx.dev("sdb1")
        )
    );
    assert!(find(&disks, "loop0").holds_running_system);
    // The image is refused too: writing it would pull the floor from under /.
    let r = fx.refusals(&img, None);
    assert!(
        r.contains(&format!(
            "is attached as {}, which holds the running system (/ is mounted from {}, backed by the file {}, which is on {})",
            fx.dev("loop0"),
            fx.dev("loop0p2"),
            img.display(),
            fx.dev("sdb1")
        )),
        "{r:#?}"
    );
    // --source auto stops at the loop device: the image is the source.
    assert_eq!(resolve_source_auto(&fx.paths), Ok(AutoSource { disk: img.clone(), root_partno: Some(2), usr_partno: None }));
    // The stick holds the image: with the image as the source, it is refused for that too.
    assert!(find(&fx.list(Some(&img)), "sdb").reasons.contains(&format!(
        "holds the install source (the file {}, which is on {})",
        img.display(),
        fx.dev("sdb1")
    )),);
}

#[test]
fn overlay_root_is_followed_to_its_layers() {
    let mut fx = Fx::new();
    fx.disk("sdb", "8:16", 30031872, USB);
    fx.part("sdb", "sdb1", 1, "8:17", 3000);
    fx.mount("8:17", "/run/rootfs", "squashfs", "/dev/sdb1", "ro");
    fx.mount("0:40", "/run/overlay", "tmpfs", "tmpfs", "rw");
    fx.mount("0:41", "/", "overlay", "overlay", "rw");
    // The super options of the overlay name its layers.
    fx.mountinfo = fx.mountinfo.replacen(
        "- overlay overlay rw",
        "- overlay overlay rw,lowerdir=/run/rootfs,upperdir=/run/overlay/upper,workdir=/run/overlay/work",
        1,
    );
    fx.write();
    let sdb = find(&fx.list(None), "sdb").clone();
    assert_eq!(
        sdb.reasons[0],
        format!("holds the running system (/ is mounted from an overlay of /run/rootfs, which is on {})", fx.dev("sdb1"))
    );
    assert_eq!(resolve_source_auto(&fx.paths), Ok(AutoSource { disk: fx.paths.dev.join("sdb"), root_partno: Some(1), usr_partno: None }));
}

#[test]
fn btrfs_mounts_are_matched_by_their_source() {
    let mut fx = basic();
    fx.disk("sdc", "8:32", 1000, SATA);
    fx.part("sdc", "sdc1", 1, "8:33", 100);
    fx.mount("0:45", "/srv/my data", "btrfs", "/dev/sdc1", "rw");
    let sdc = find(&fx.list(None), "sdc").clone();
    assert_eq!(sdc.partitions[0].mountpoints, [PathBuf::from("/srv/my data")]);
    assert_eq!(sdc.reasons, [format!("partition {} is mounted at /srv/my data", fx.dev("sdc1"))]);
}

#[test]
fn missing_attributes_mean_unknown() {
    let fx = Fx::new();
    let bare = fx.paths.sys.join("block/sdx");
    fs::create_dir_all(&bare).unwrap();
    fs::write(bare.join("size"), "100\n").unwrap();
    let disks = fx.list(None);
    let d = find(&disks, "sdx");
    assert_eq!((d.model.clone(), d.serial.clone(), d.transport.clone()), (None, None, None));
    assert_eq!(d.logical_sector_size, 512);
    assert!(!d.removable && !d.read_only && d.partitions.is_empty() && d.reasons.is_empty());
    // No /sys/block at all is an error that names the path.
    let gone = SysPaths { sys: fx.root.join("nosys"), ..fx.paths.clone() };
    let e = list_disks(&gone, None).unwrap_err();
    assert!(e.to_string().contains("nosys/block"), "{e}");
}

#[test]
fn table_lists_disks_then_reasons() {
    let fx = basic();
    let table = render_table(&fx.list(None));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("DISK"), "{table}");
    assert!(lines[1].starts_with(&fx.dev("sdb")), "{table}");
    assert!(lines[1].contains("14.3 GiB") && lines[1].contains("usb"), "{table}");
    assert!(lines[1].ends_with("SanDisk Ultra (removable)"), "{table}");
    assert!(lines[2].starts_with(&fx.dev("vda")) && lines[2].contains("20 GiB"), "{table}");
    assert_eq!(lines[3], format!("  cannot be chosen: holds the running system (/ is mounted from {})", fx.dev("vda2")));
    assert_eq!(lines.len(), 6);
    assert_eq!(render_table(&[]), "no disks found\n");
}

#[test]
fn names_sort_as_people_expect() {
    let mut v = vec!["loop10", "sdb", "loop2", "nvme0n1", "sda", "nvme0n10", "nvme0n2"];
    v.sort_by(|a, b| natural_cmp(a, b));
    assert_eq!(v, ["loop2", "loop10", "nvme0n1", "nvme0n2", "nvme0n10", "sda", "sdb"]);
}
