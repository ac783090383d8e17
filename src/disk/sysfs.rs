//! Disk discovery from sysfs, and the safety facts about each disk.
//!
//! This exists so that `imprint disks`, the disk page and `imprint install` share one answer to
//! "which disks are there, which may be overwritten, and if not, why not", and so that
//! `--source auto` finds the live medium the way `CopyBlocks=auto` does. It reads sysfs, the
//! mount table and the swap list at the places named in [`SysPaths`] (tests point them at
//! recorded trees) and looks at files with `stat`/`statvfs`. It must never open a block device,
//! issue an ioctl or change anything: it only looks. An attribute that is missing means
//! "unknown", never an error; only an unreadable `/sys/block` or mount table is one.
//!
//! Device stacks are followed downwards through `slaves/` (device-mapper, md) and through loop
//! devices to the filesystem that holds their backing file, so a disk under dm-verity, dm-crypt
//! or a loop-mounted image still counts as holding what sits on top of it.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::disk::mountinfo::{self, MountEntry, SwapEntry};

/// How deep device stacks are followed (dm on loop on dm ...); a guard against cycles.
const MAX_DEPTH: usize = 16;

/// Where to look; tests point these at fixture trees.
#[derive(Debug, Clone)]
pub struct SysPaths {
    /// The sysfs root (`/sys`); `block/` under it lists the disks.
    pub sys: PathBuf,
    /// The device directory (`/dev`); device paths shown to people are made from it.
    pub dev: PathBuf,
    /// The mount table (`/proc/self/mountinfo`).
    pub mountinfo: PathBuf,
    /// The active swap areas (`/proc/swaps`); a missing file means no swap.
    pub swaps: PathBuf,
}

impl Default for SysPaths {
    fn default() -> Self {
        SysPaths {
            sys: PathBuf::from("/sys"),
            dev: PathBuf::from("/dev"),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            swaps: PathBuf::from("/proc/swaps"),
        }
    }
}

/// One disk as `imprint disks` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiskInfo {
    pub path: PathBuf,
    pub name: String,
    pub size_bytes: u64,
    pub logical_sector_size: u32,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// `usb`, `nvme`, `sata`, `virtio`, `mmc`, `loop`, or None when the bus is not recognised.
    pub transport: Option<String>,
    pub removable: bool,
    pub read_only: bool,
    pub partitions: Vec<PartitionUse>,
    pub holds_running_system: bool,
    pub is_install_source: bool,
    /// Every reason, in words, why this disk cannot be chosen as a target. Empty: it can.
    pub reasons: Vec<String>,
}

/// One partition of a disk and what uses it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartitionUse {
    pub path: PathBuf,
    pub name: String,
    pub mountpoints: Vec<PathBuf>,
    pub swap: bool,
    /// Kernel names of the devices stacked on it (`dm-0`, `md127`).
    pub holders: Vec<String>,
}

/// What `--source auto` found: the disk (or, for a loop device, its backing image file) that
/// holds the running system.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AutoSource {
    pub disk: PathBuf,
    /// The partition number (on `disk`) backing `/`, if `/` is on a partition of it.
    pub root_partno: Option<u32>,
    /// The partition number backing `/usr` when `/usr` is a mount of its own; None when `/usr`
    /// is part of `/` (or not on a partition of `disk`).
    pub usr_partno: Option<u32>,
}

/// List the disks: whole block devices from `/sys/block`, without RAM disks, zram,
/// device-mapper and md devices (their members are shown as used instead), without devices of
/// size zero (empty card readers, unused nbd) and without loop devices that are not attached.
/// `install_source` (a block device or an image file) marks the disks that are or hold it.
pub fn list_disks(paths: &SysPaths, install_source: Option<&Path>) -> io::Result<Vec<DiskInfo>> {
    let sys = System::load(paths)?;
    let source = sys.source_id(install_source)?;
    let mut names: Vec<&String> = sys.nodes.keys().filter(|n| sys.listable(n)).collect();
    names.sort_by(|a, b| natural_cmp(a, b));
    Ok(names.into_iter().map(|n| sys.disk_info(n, &source)).collect())
}

/// The reasons (in words) why `target` (a block device path or a regular image file path) must
/// not be written. Empty means it may be written.
///
/// For a whole disk these are the reasons [`list_disks`] gives. For a partition they are its own
/// (mounted, swap, stacked devices, read-only, the source, the running system) and those of its
/// disk, each naming that disk or the sibling partition. For an image file: it is the source
/// (same inode) or backs the source loop device, it is attached to a loop device that is mounted,
/// used or holds the running system, it is an active swap file, it is read-only, or it is on a
/// read-only filesystem; living on the root filesystem is not a reason. A target that does not
/// exist yet may be created unless it is meant to be a device (under the device directory), its
/// directory is missing or its filesystem is read-only.
pub fn target_refusals(target: &Path, source: Option<&Path>, paths: &SysPaths) -> io::Result<Vec<String>> {
    let sys = System::load(paths)?;
    let source = sys.source_id(source)?;
    Ok(match sys.identify(target)? {
        Ident::Block(name) => match sys.nodes[&name].parent.clone() {
            Some(_) => sys.partition_reasons(&name, &source),
            None => sys.disk_reasons(&name, None, &source).into_iter().map(|r| r.on_disk(&sys)).collect(),
        },
        Ident::UnknownBlock => {
            vec![format!("is a block device that {} does not list", paths.sys.join("block").display())]
        }
        Ident::File { path, meta } => sys.file_reasons(&path, &meta, &source),
        Ident::Missing => sys.missing_reasons(target),
        Ident::Other => vec!["is neither a block device nor a regular file".to_string()],
    })
}

/// `--source auto`: the whole disk backing `/` and `/usr`, followed down through device-mapper
/// (`slaves/`) to the partitions and their disk. A loop device is not followed to the filesystem
/// that holds its file: its backing file is the source image. Of several partitions under one
/// device (dm-verity's data and hash) the largest is taken, which is the data.
pub fn resolve_source_auto(paths: &SysPaths) -> Result<AutoSource, String> {
    let sys = System::load(paths).map_err(|e| format!("cannot read the block devices and mounts: {e}"))?;
    let mut found: Vec<(&str, PathBuf, Option<u32>)> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for mp in ["/", "/usr"] {
        match sys.visible_mount(Path::new(mp)) {
            Some(idx) => match sys.auto_origin(idx) {
                Ok((disk, partno)) => found.push((mp, disk, partno)),
                Err(e) => problems.push(e),
            },
            None if mp == "/" => problems.push("/ is not in the mount table".to_string()),
            None => {}
        }
    }
    let Some((_, disk, _)) = found.first() else {
        return Err(problems.pop().unwrap_or_else(|| "neither / nor /usr is on a disk; pass --source IMAGE".to_string()));
    };
    if let Some((mp, other, _)) = found.iter().find(|(_, d, _)| d != disk) {
        return Err(format!("/ is on {} but {mp} is on {}; pass --source IMAGE", disk.display(), other.display()));
    }
    let partno = |mp: &str| found.iter().find(|(m, _, _)| *m == mp).and_then(|(_, _, p)| *p);
    Ok(AutoSource { disk: disk.clone(), root_partno: partno("/"), usr_partno: partno("/usr") })
}

/// The human table of `imprint disks`: one line per disk, then one indented line per reason it
/// cannot be chosen.
pub fn render_table(disks: &[DiskInfo]) -> String {
    if disks.is_empty() {
        return "no disks found\n".to_string();
    }
    let rows: Vec<[String; 5]> = disks
        .iter()
        .map(|d| {
            let mut model = d.model.clone().unwrap_or_else(|| "-".to_string());
            if d.removable {
                model.push_str(" (removable)");
            }
            if d.read_only {
                model.push_str(" (read-only)");
            }
            [
                d.path.display().to_string(),
                human_size(d.size_bytes),
                d.logical_sector_size.to_string(),
                d.transport.clone().unwrap_or_else(|| "-".to_string()),
                model,
            ]
        })
        .collect();
    let header = ["DISK", "SIZE", "SECTOR", "TRANSPORT", "MODEL"].map(String::from);
    let mut width = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let mut s = String::new();
        for (cell, w) in row.iter().zip(width) {
            let _ = write!(s, "{cell:<w$}  ");
        }
        s.push_str(&row[4]);
        s.push('\n');
        s
    };
    let mut out = line(&header);
    for (d, row) in disks.iter().zip(&rows) {
        out.push_str(&line(row));
        for r in &d.reasons {
            let _ = writeln!(out, "  cannot be chosen: {r}");
        }
    }
    out
}

/// Sizes in binary units, as people read them: "512 B", "8 MiB", "14.9 GiB", "256 GiB".
fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        return format!("{bytes} B");
    }
    let s = if v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") };
    format!("{} {}", s.strip_suffix(".0").unwrap_or(&s), UNITS[i])
}

/// Compare kernel names so that `loop2` comes before `loop10` and `sda` before `sdb`.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn key(s: &str) -> Vec<(u8, u64, String)> {
        let mut out = Vec::new();
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            let digit = c.is_ascii_digit();
            let end = rest.find(|ch: char| ch.is_ascii_digit() != digit).unwrap_or(rest.len());
            let (run, tail) = rest.split_at(end);
            match run.parse::<u64>() {
                Ok(n) if digit => out.push((0, n, String::new())),
                _ => out.push((1, 0, run.to_string())),
            }
            rest = tail;
        }
        out
    }
    key(a).cmp(&key(b)).then_with(|| a.cmp(b))
}

/// A block device known to sysfs: a whole device under `/sys/block`, or one of its partitions.
#[derive(Debug)]
struct Node {
    dir: PathBuf,
    devno: Option<(u32, u32)>,
    /// For a partition, the whole device it is on.
    parent: Option<String>,
    partno: Option<u32>,
    /// For a whole device, its partitions in the order of their numbers.
    partitions: Vec<String>,
}

/// One step of a device stack, read from the top (what is mounted) down.
#[derive(Debug, Clone)]
enum Step {
    Dev(String),
    File(PathBuf),
    Overlay(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Source,
    Running,
    ReadOnly,
    Use,
}

/// A reason found on a whole device; `partition` says which of its partitions it is about.
#[derive(Debug)]
struct Reason {
    kind: Kind,
    partition: Option<String>,
    text: String,
}

impl Reason {
    fn new(kind: Kind, partition: Option<&str>, text: String) -> Self {
        Reason { kind, partition: partition.map(str::to_string), text }
    }

    /// The words for a listing of the disk itself.
    fn on_disk(self, sys: &System<'_>) -> String {
        match self.partition {
            None => self.text,
            Some(p) => format!("partition {} {}", sys.show(&p), self.text),
        }
    }
}

/// What a path given on the command line turned out to be.
enum Ident {
    Block(String),
    UnknownBlock,
    File { path: PathBuf, meta: fs::Metadata },
    Missing,
    Other,
}

/// The install source, as far as the checks need it.
enum SourceId {
    None,
    Block(String),
    File { dev: u64, ino: u64, path: PathBuf },
}

/// One consistent look at sysfs, the mounts and the swaps.
struct System<'a> {
    paths: &'a SysPaths,
    nodes: BTreeMap<String, Node>,
    by_devno: HashMap<(u32, u32), String>,
    mounts: Vec<MountEntry>,
    /// The device each mount is from, where one is known (same order as `mounts`).
    mount_dev: Vec<Option<String>>,
    swaps: Vec<SwapEntry>,
    swap_dev: Vec<Option<String>>,
    /// `/` and (when it is a mount of its own) `/usr`, with the device stacks beneath them.
    origins: Vec<(PathBuf, Vec<Vec<Step>>)>,
}

fn with_path(e: io::Error, what: &str, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()))
}

/// A sysfs attribute, trimmed; None when it is missing, unreadable or empty.
fn read_attr(dir: &Path, rel: &str) -> Option<String> {
    let bytes = fs::read(dir.join(rel)).ok()?;
    let s = String::from_utf8_lossy(&bytes);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_string())
}

fn parse_devno(s: &str) -> Option<(u32, u32)> {
    let (ma, mi) = s.trim().split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    names.sort_by(|a, b| natural_cmp(a, b));
    names
}

/// SCSI VPD page 0x80 (unit serial number): a 4-byte header, then the serial in ASCII.
fn vpd_serial(dir: &Path) -> Option<String> {
    let b = fs::read(dir.join("vpd_pg80")).ok()?;
    if b.len() < 4 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let data = &b[4..b.len().min(4 + len)];
    let s = String::from_utf8_lossy(data);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_string())
}

fn touches(chain: &[Step], members: &BTreeSet<&str>) -> bool {
    chain.iter().any(|s| matches!(s, Step::Dev(n) if members.contains(n.as_str())))
}

fn join_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

fn is_read_only_fs(p: &Path) -> bool {
    nix::sys::statvfs::statvfs(p).map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)).unwrap_or(false)
}

fn same_file(p: &Path, dev: u64, ino: u64) -> bool {
    fs::metadata(p).map(|m| m.dev() == dev && m.ino() == ino).unwrap_or(false)
}

impl<'a> System<'a> {
    fn load(paths: &'a SysPaths) -> io::Result<Self> {
        let block = paths.sys.join("block");
        let mut nodes = BTreeMap::new();
        for entry in fs::read_dir(&block).map_err(|e| with_path(e, "reading", &block))? {
            let entry = entry.map_err(|e| with_path(e, "reading", &block))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let dir = block.join(&name);
            let mut partitions: Vec<(Option<u32>, String)> = Vec::new();
            for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let pdir = e.path();
                if !pdir.join("partition").is_file() {
                    continue;
                }
                let pname = e.file_name().to_string_lossy().into_owned();
                let partno = read_attr(&pdir, "partition").and_then(|s| s.parse().ok());
                let devno = read_attr(&pdir, "dev").and_then(|s| parse_devno(&s));
                let node = Node { dir: pdir, devno, parent: Some(name.clone()), partno, partitions: vec![] };
                nodes.insert(pname.clone(), node);
                partitions.push((partno, pname));
            }
            partitions.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| natural_cmp(&a.1, &b.1)));
            let devno = read_attr(&dir, "dev").and_then(|s| parse_devno(&s));
            let partitions = partitions.into_iter().map(|(_, p)| p).collect();
            nodes.insert(name, Node { dir, devno, parent: None, partno: None, partitions });
        }
        let by_devno = nodes.iter().filter_map(|(n, node)| Some((node.devno?, n.clone()))).collect();

        let text = fs::read_to_string(&paths.mountinfo).map_err(|e| with_path(e, "reading", &paths.mountinfo))?;
        let mounts = mountinfo::parse_mountinfo(&text);
        let swaps = match fs::read_to_string(&paths.swaps) {
            Ok(text) => mountinfo::parse_swaps(&text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(with_path(e, "reading", &paths.swaps)),
        };
        let mut sys = System { paths, nodes, by_devno, mounts, mount_dev: Vec::new(), swaps, swap_dev: Vec::new(), origins: Vec::new() };
        sys.mount_dev = sys.mounts.iter().map(|m| sys.mount_device(m)).collect();
        sys.swap_dev =
            sys.swaps.iter().map(|s| if s.kind == "file" { None } else { sys.source_device(&s.filename.to_string_lossy()) }).collect();
        let mut origins = Vec::new();
        for mp in ["/", "/usr"] {
            if let Some(idx) = sys.visible_mount(Path::new(mp)) {
                origins.push((PathBuf::from(mp), sys.mount_chains(idx, true, 0)));
            }
        }
        sys.origins = origins;
        Ok(sys)
    }

    fn attr(&self, name: &str, rel: &str) -> Option<String> {
        read_attr(&self.nodes.get(name)?.dir, rel)
    }

    fn flag(&self, name: &str, rel: &str) -> bool {
        self.attr(name, rel).as_deref() == Some("1")
    }

    fn size_sectors(&self, name: &str) -> u64 {
        self.attr(name, "size").and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    fn dev_path(&self, name: &str) -> PathBuf {
        self.paths.dev.join(name.replace('!', "/"))
    }

    fn show(&self, name: &str) -> String {
        self.dev_path(name).display().to_string()
    }

    fn holders(&self, name: &str) -> Vec<String> {
        self.nodes.get(name).map(|n| dir_names(&n.dir.join("holders"))).unwrap_or_default()
    }

    fn slaves(&self, name: &str) -> Vec<String> {
        self.nodes.get(name).map(|n| dir_names(&n.dir.join("slaves"))).unwrap_or_default()
    }

    /// The whole device a node is on (itself for a whole device).
    fn disk_of<'n>(&'n self, name: &'n str) -> &'n str {
        self.nodes.get(name).and_then(|n| n.parent.as_deref()).unwrap_or(name)
    }

    fn is_loop(&self, name: &str) -> bool {
        let disk = self.disk_of(name);
        disk.starts_with("loop") || self.attr(disk, "loop/backing_file").is_some()
    }

    /// The backing file of the loop device a node is (or is a partition of), and whether the
    /// kernel says it has been deleted since.
    fn loop_backing(&self, name: &str) -> Option<(PathBuf, bool)> {
        let s = self.attr(self.disk_of(name), "loop/backing_file")?;
        Some(match s.strip_suffix(" (deleted)") {
            Some(p) => (PathBuf::from(p), true),
            None => (PathBuf::from(s), false),
        })
    }

    /// The device a `/dev/...` name from the mount table or swap list refers to.
    fn source_device(&self, s: &str) -> Option<String> {
        let rel = s.strip_prefix("/dev/")?;
        let candidate = self.paths.dev.join(rel);
        if let Ok(meta) = fs::metadata(&candidate)
            && meta.file_type().is_block_device()
        {
            let key = (u32::try_from(nix::sys::stat::major(meta.rdev())).ok()?, u32::try_from(nix::sys::stat::minor(meta.rdev())).ok()?);
            if let Some(n) = self.by_devno.get(&key) {
                return Some(n.clone());
            }
        }
        if let Some(n) = self.name_under_dev(&candidate) {
            return Some(n);
        }
        let name = rel.replace('/', "!");
        if self.nodes.contains_key(&name) {
            return Some(name);
        }
        let mapped = rel.strip_prefix("mapper/")?;
        self.nodes.keys().find(|n| n.starts_with("dm-") && self.attr(n, "dm/name").as_deref() == Some(mapped)).cloned()
    }

    /// The kernel name of a path inside the device directory (following symlinks such as
    /// `/dev/disk/by-id/...` or `/dev/mapper/...`), if sysfs knows it.
    fn name_under_dev(&self, p: &Path) -> Option<String> {
        let real = fs::canonicalize(p).ok()?;
        let dev = fs::canonicalize(&self.paths.dev).ok()?;
        let name = real.strip_prefix(&dev).ok()?.to_str()?.replace('/', "!");
        self.nodes.contains_key(&name).then_some(name)
    }

    fn mount_device(&self, m: &MountEntry) -> Option<String> {
        if m.major != 0
            && let Some(n) = self.by_devno.get(&(m.major, m.minor))
        {
            return Some(n.clone());
        }
        // Major 0: no block device of its own (btrfs shows an anonymous number): trust the source.
        self.source_device(&m.source)
    }

    /// The mount a path is on: the longest mount point that contains it, the later one on a tie.
    fn mount_for_path(&self, p: &Path) -> Option<usize> {
        let real = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let mut best: Option<(usize, usize)> = None;
        for (i, m) in self.mounts.iter().enumerate() {
            if real.starts_with(&m.mountpoint) {
                let depth = m.mountpoint.components().count();
                if best.is_none_or(|(d, _)| depth >= d) {
                    best = Some((depth, i));
                }
            }
        }
        best.map(|(_, i)| i)
    }

    /// The mount that is visible at exactly this mount point (the last one mounted there).
    fn visible_mount(&self, mp: &Path) -> Option<usize> {
        self.mounts.iter().rposition(|m| m.mountpoint == mp)
    }

    /// The device stacks beneath a mount, each from the top down.
    fn mount_chains(&self, idx: usize, through_loops: bool, depth: usize) -> Vec<Vec<Step>> {
        if let Some(name) = &self.mount_dev[idx] {
            return self.lower(name, through_loops, depth);
        }
        let m = &self.mounts[idx];
        if m.fstype != "overlay" || depth >= MAX_DEPTH {
            return Vec::new();
        }
        let mut dirs: Vec<String> = Vec::new();
        for key in ["lowerdir", "lowerdir+", "upperdir", "datadir+"] {
            for v in m.super_option(key) {
                if key == "lowerdir" {
                    dirs.extend(v.split(':').filter(|d| !d.is_empty()).map(str::to_string));
                } else {
                    dirs.push(v);
                }
            }
        }
        let mut out = Vec::new();
        for d in dirs {
            let d = PathBuf::from(d);
            let Some(under) = self.mount_for_path(&d) else {
                continue;
            };
            if under == idx {
                continue;
            }
            for c in self.mount_chains(under, through_loops, depth + 1) {
                out.push(std::iter::once(Step::Overlay(d.clone())).chain(c).collect());
            }
        }
        out
    }

    /// The stacks beneath a device: through `slaves/` and, with `through_loops`, from a loop
    /// device to the filesystem that holds its backing file.
    fn lower(&self, name: &str, through_loops: bool, depth: usize) -> Vec<Vec<Step>> {
        let here = Step::Dev(name.to_string());
        if depth >= MAX_DEPTH {
            return vec![vec![here]];
        }
        let prefixed = |chains: Vec<Vec<Step>>, first: Vec<Step>| -> Vec<Vec<Step>> {
            chains.into_iter().map(|c| first.iter().cloned().chain(c).collect()).collect()
        };
        let slaves = self.slaves(name);
        if !slaves.is_empty() {
            return slaves.iter().flat_map(|s| prefixed(self.lower(s, through_loops, depth + 1), vec![here.clone()])).collect();
        }
        if through_loops && let Some((file, _)) = self.loop_backing(name) {
            let chains = self.file_chains(&file, depth + 1);
            if !chains.is_empty() {
                return prefixed(chains, vec![here]);
            }
            return vec![vec![here, Step::File(file)]];
        }
        vec![vec![here]]
    }

    /// The stacks beneath the filesystem that holds a file, starting with the file.
    fn file_chains(&self, file: &Path, depth: usize) -> Vec<Vec<Step>> {
        let Some(idx) = self.mount_for_path(file) else {
            return Vec::new();
        };
        self.mount_chains(idx, true, depth)
            .into_iter()
            .map(|c| std::iter::once(Step::File(file.to_path_buf())).chain(c).collect())
            .collect()
    }

    fn render_chain(&self, chain: &[Step]) -> String {
        let mut s = String::new();
        let mut prev: Option<&Step> = None;
        for step in chain {
            match (prev, step) {
                (None, Step::Dev(n)) => s.push_str(&self.show(n)),
                (None, Step::File(p)) => s.push_str(&format!("the file {}", p.display())),
                (None, Step::Overlay(p)) => s.push_str(&format!("an overlay of {}", p.display())),
                (Some(Step::Dev(_)), Step::Dev(n)) => s.push_str(&format!(", backed by {}", self.show(n))),
                (Some(_), Step::Dev(n)) => s.push_str(&format!(", which is on {}", self.show(n))),
                (Some(_), Step::File(p)) => s.push_str(&format!(", backed by the file {}", p.display())),
                (Some(_), Step::Overlay(p)) => s.push_str(&format!(", an overlay of {}", p.display())),
            }
            prev = Some(step);
        }
        s
    }

    fn mountpoints(&self, name: &str) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (m, dev) in self.mounts.iter().zip(&self.mount_dev) {
            if dev.as_deref() == Some(name) && !out.contains(&m.mountpoint) {
                out.push(m.mountpoint.clone());
            }
        }
        out
    }

    fn is_swap(&self, name: &str) -> bool {
        self.swap_dev.iter().any(|d| d.as_deref() == Some(name))
    }

    fn describe_holder(&self, h: &str) -> String {
        if h.starts_with("dm-") {
            let uuid = self.attr(h, "dm/uuid").unwrap_or_default();
            let kind = if uuid.starts_with("CRYPT-VERITY") {
                "dm-verity"
            } else if uuid.starts_with("CRYPT-") {
                "dm-crypt"
            } else if uuid.starts_with("LVM-") {
                "LVM"
            } else if uuid.starts_with("mpath-") {
                "multipath"
            } else if uuid.starts_with("part") {
                "a partition mapping"
            } else {
                "device-mapper"
            };
            match self.attr(h, "dm/name") {
                Some(n) => format!("{h} ({kind} \"{n}\")"),
                None => format!("{h} ({kind})"),
            }
        } else if h.starts_with("md") {
            format!("{h} (software RAID)")
        } else if h.starts_with("bcache") {
            format!("{h} (bcache)")
        } else {
            h.to_string()
        }
    }

    /// "dm-0 (dm-crypt \"home\"), which is mounted at /home", following holders upwards.
    fn describe_use(&self, h: &str, depth: usize) -> String {
        let mut s = self.describe_holder(h);
        if depth < MAX_DEPTH {
            let mut what = Vec::new();
            let mps = self.mountpoints(h);
            if !mps.is_empty() {
                what.push(format!("is mounted at {}", join_paths(&mps)));
            }
            if self.is_swap(h) {
                what.push("is in use as swap".to_string());
            }
            for up in self.holders(h) {
                what.push(format!("is used by {}", self.describe_use(&up, depth + 1)));
            }
            if !what.is_empty() {
                s.push_str(", which ");
                s.push_str(&what.join(" and "));
            }
        }
        s
    }

    /// Mounted, swap, stacked-on: the uses of this one node.
    fn own_use(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mps = self.mountpoints(name);
        if !mps.is_empty() {
            out.push(format!("is mounted at {}", join_paths(&mps)));
        }
        if self.is_swap(name) {
            out.push("is in use as swap".to_string());
        }
        for h in self.holders(name) {
            out.push(format!("is used by {}", self.describe_use(&h, 0)));
        }
        out
    }

    fn running_reasons(&self, members: &BTreeSet<&str>) -> Vec<String> {
        let mut out = Vec::new();
        for (mp, chains) in &self.origins {
            if let Some(c) = chains.iter().find(|c| touches(c, members)) {
                out.push(format!("holds the running system ({} is mounted from {})", mp.display(), self.render_chain(c)));
            }
        }
        out
    }

    /// Reasons about the install source, for `subject` and the nodes in `members` (the subject
    /// and, for a disk, its partitions).
    fn source_reasons(&self, src: &SourceId, subject: &str, members: &BTreeSet<&str>) -> Vec<String> {
        let mut out = Vec::new();
        match src {
            SourceId::None => {}
            SourceId::Block(s) if s == subject => out.push("is the install source".to_string()),
            SourceId::Block(s) => {
                if let Some(c) = self.lower(s, true, 0).iter().find(|c| touches(c, members)) {
                    out.push(format!("holds the install source ({})", self.render_chain(c)));
                }
            }
            SourceId::File { dev, ino, path } => {
                let whole = self.nodes.get(subject).is_some_and(|n| n.parent.is_none());
                if whole
                    && let Some((b, false)) = self.loop_backing(subject)
                    && same_file(&b, *dev, *ino)
                {
                    out.push(format!("is backed by the install source ({})", path.display()));
                }
                if let Some(c) = self.file_chains(path, 0).iter().find(|c| touches(c, members)) {
                    out.push(format!("holds the install source ({})", self.render_chain(c)));
                }
            }
        }
        out
    }

    /// Every reason a whole device cannot be written, leaving out one partition (`exclude`)
    /// whose own reasons the caller gives.
    fn disk_reasons(&self, disk: &str, exclude: Option<&str>, src: &SourceId) -> Vec<Reason> {
        let parts: Vec<&str> = self
            .nodes
            .get(disk)
            .map(|n| n.partitions.iter().map(String::as_str).filter(|p| Some(*p) != exclude).collect())
            .unwrap_or_default();
        let mut members: BTreeSet<&str> = parts.iter().copied().collect();
        members.insert(disk);
        let mut out = Vec::new();
        for t in self.source_reasons(src, disk, &members) {
            out.push(Reason::new(Kind::Source, None, t));
        }
        for t in self.running_reasons(&members) {
            out.push(Reason::new(Kind::Running, None, t));
        }
        let disk_ro = self.flag(disk, "ro");
        if disk_ro {
            out.push(Reason::new(Kind::ReadOnly, None, "is read-only".to_string()));
        }
        for t in self.own_use(disk) {
            out.push(Reason::new(Kind::Use, None, t));
        }
        for p in parts {
            if !disk_ro && self.flag(p, "ro") {
                out.push(Reason::new(Kind::ReadOnly, Some(p), "is read-only".to_string()));
            }
            for t in self.own_use(p) {
                out.push(Reason::new(Kind::Use, Some(p), t));
            }
        }
        out
    }

    fn partition_reasons(&self, p: &str, src: &SourceId) -> Vec<String> {
        let members = BTreeSet::from([p]);
        let mut out = self.source_reasons(src, p, &members);
        out.extend(self.running_reasons(&members));
        if self.flag(p, "ro") {
            out.push("is read-only".to_string());
        }
        out.extend(self.own_use(p));
        if let Some(disk) = self.nodes[p].parent.as_deref() {
            for r in self.disk_reasons(disk, Some(p), src) {
                out.push(match r.partition {
                    None => format!("its disk {} {}", self.show(disk), r.text),
                    Some(q) => format!("partition {} on the same disk {}", self.show(&q), r.text),
                });
            }
        }
        out
    }

    fn file_reasons(&self, path: &Path, meta: &fs::Metadata, src: &SourceId) -> Vec<String> {
        let (dev, ino) = (meta.dev(), meta.ino());
        let mut out = Vec::new();
        match src {
            SourceId::File { dev: d, ino: i, .. } if (*d, *i) == (dev, ino) => out.push("is the install source".to_string()),
            SourceId::Block(s) => {
                if let Some((b, false)) = self.loop_backing(s)
                    && same_file(&b, dev, ino)
                {
                    out.push(format!("is the install source (attached as {})", self.show(self.disk_of(s))));
                }
            }
            _ => {}
        }
        for (name, node) in &self.nodes {
            if node.parent.is_some() {
                continue;
            }
            let Some((b, false)) = self.loop_backing(name) else {
                continue;
            };
            if !same_file(&b, dev, ino) {
                continue;
            }
            for r in self.disk_reasons(name, None, &SourceId::None) {
                if !matches!(r.kind, Kind::Running | Kind::Use) {
                    continue;
                }
                out.push(match r.partition {
                    None => format!("is attached as {}, which {}", self.show(name), r.text),
                    Some(q) => format!("is attached as {}, whose partition {} {}", self.show(name), self.show(&q), r.text),
                });
            }
        }
        if self.swaps.iter().any(|s| s.kind == "file" && same_file(&s.filename, dev, ino)) {
            out.push("is in use as a swap file".to_string());
        }
        if meta.mode() & 0o222 == 0 {
            out.push("is a read-only file".to_string());
        }
        if is_read_only_fs(path) {
            out.push(self.read_only_fs_reason(path));
        }
        out
    }

    fn read_only_fs_reason(&self, p: &Path) -> String {
        match self.mount_for_path(p).map(|i| &self.mounts[i]) {
            Some(m) if m.is_read_only() => {
                format!("is on a read-only file system (mounted at {})", m.mountpoint.display())
            }
            _ => "is on a read-only file system".to_string(),
        }
    }

    fn missing_reasons(&self, target: &Path) -> Vec<String> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let in_dev = fs::canonicalize(parent).ok().zip(fs::canonicalize(&self.paths.dev).ok()).is_some_and(|(p, d)| p.starts_with(d));
        if in_dev {
            vec!["does not exist (no such device)".to_string()]
        } else if !parent.is_dir() {
            vec![format!("does not exist, and neither does its directory {}", parent.display())]
        } else if is_read_only_fs(parent) {
            vec![self.read_only_fs_reason(parent)]
        } else {
            Vec::new()
        }
    }

    fn identify(&self, p: &Path) -> io::Result<Ident> {
        let meta = match fs::metadata(p) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ident::Missing),
            Err(e) => return Err(with_path(e, "looking at", p)),
        };
        if meta.file_type().is_block_device() {
            let key = (
                u32::try_from(nix::sys::stat::major(meta.rdev())).unwrap_or(u32::MAX),
                u32::try_from(nix::sys::stat::minor(meta.rdev())).unwrap_or(u32::MAX),
            );
            return Ok(match self.by_devno.get(&key) {
                Some(n) => Ident::Block(n.clone()),
                None => Ident::UnknownBlock,
            });
        }
        if let Some(name) = self.name_under_dev(p) {
            return Ok(Ident::Block(name));
        }
        if meta.is_file() {
            let path = fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            return Ok(Ident::File { path, meta });
        }
        Ok(Ident::Other)
    }

    fn source_id(&self, source: Option<&Path>) -> io::Result<SourceId> {
        let Some(p) = source else {
            return Ok(SourceId::None);
        };
        Ok(match self.identify(p)? {
            Ident::Block(n) => SourceId::Block(n),
            Ident::File { path, meta } => SourceId::File { dev: meta.dev(), ino: meta.ino(), path },
            Ident::UnknownBlock | Ident::Missing | Ident::Other => SourceId::None,
        })
    }

    fn listable(&self, name: &str) -> bool {
        let Some(node) = self.nodes.get(name) else {
            return false;
        };
        if node.parent.is_some() || ["ram", "zram", "dm-", "md"].iter().any(|p| name.starts_with(p)) || self.flag(name, "hidden") {
            return false;
        }
        let size = self.size_sectors(name);
        if name.starts_with("loop") {
            return size > 0 || self.attr(name, "loop/backing_file").is_some();
        }
        size > 0
    }

    fn transport(&self, name: &str) -> Option<String> {
        if self.is_loop(name) {
            return Some("loop".to_string());
        }
        let link = fs::read_link(&self.nodes.get(name)?.dir).ok()?;
        let link = link.to_string_lossy();
        [("/usb", "usb"), ("/nvme", "nvme"), ("/mmc_host", "mmc"), ("/virtio", "virtio"), ("/ata", "sata")]
            .iter()
            .find(|(needle, _)| link.contains(needle))
            .map(|(_, t)| t.to_string())
    }

    fn model(&self, name: &str) -> Option<String> {
        let dev = self.nodes.get(name)?.dir.join("device");
        let model = read_attr(&dev, "model").or_else(|| read_attr(&dev, "name"))?;
        match read_attr(&dev, "vendor") {
            Some(v) if !v.starts_with("0x") && v != "ATA" && !model.starts_with(&v) => Some(format!("{v} {model}")),
            _ => Some(model),
        }
    }

    fn serial(&self, name: &str) -> Option<String> {
        let dir = &self.nodes.get(name)?.dir;
        let dev = dir.join("device");
        read_attr(dir, "serial")
            .or_else(|| read_attr(&dev, "serial"))
            .or_else(|| vpd_serial(&dev))
            .or_else(|| self.usb_serial(name))
            .or_else(|| read_attr(dir, "wwid"))
            .or_else(|| read_attr(&dev, "wwid"))
    }

    /// USB mass storage rarely answers VPD; the USB device above it has the serial.
    fn usb_serial(&self, name: &str) -> Option<String> {
        if self.transport(name).as_deref() != Some("usb") {
            return None;
        }
        let sys = fs::canonicalize(&self.paths.sys).ok()?;
        let real = fs::canonicalize(&self.nodes.get(name)?.dir).ok()?;
        real.ancestors()
            .take_while(|a| a.starts_with(&sys) && *a != sys)
            .find(|a| a.join("idVendor").is_file())
            .and_then(|a| read_attr(a, "serial"))
    }

    fn disk_info(&self, name: &str, src: &SourceId) -> DiskInfo {
        let node = &self.nodes[name];
        let reasons = self.disk_reasons(name, None, src);
        let partitions = node
            .partitions
            .iter()
            .map(|p| PartitionUse {
                path: self.dev_path(p),
                name: p.clone(),
                mountpoints: self.mountpoints(p),
                swap: self.is_swap(p),
                holders: self.holders(p),
            })
            .collect();
        DiskInfo {
            path: self.dev_path(name),
            name: name.to_string(),
            size_bytes: self.size_sectors(name).saturating_mul(512),
            logical_sector_size: self.attr(name, "queue/logical_block_size").and_then(|s| s.parse().ok()).unwrap_or(512),
            model: self.model(name),
            serial: self.serial(name),
            transport: self.transport(name),
            removable: self.flag(name, "removable"),
            read_only: self.flag(name, "ro"),
            partitions,
            holds_running_system: reasons.iter().any(|r| r.kind == Kind::Running),
            is_install_source: reasons.iter().any(|r| r.kind == Kind::Source),
            reasons: reasons.into_iter().map(|r| r.on_disk(self)).collect(),
        }
    }

    /// `--source auto` for one mount: the disk (or loop backing image) and partition number.
    fn auto_origin(&self, idx: usize) -> Result<(PathBuf, Option<u32>), String> {
        let m = &self.mounts[idx];
        let mp = m.mountpoint.display();
        let chains = self.mount_chains(idx, false, 0);
        if chains.is_empty() {
            return Err(format!("{mp} is not on a block device (it is {} from {}); pass --source IMAGE", m.fstype, m.source));
        }
        let mut found: Vec<(PathBuf, Option<u32>, u64)> = Vec::new();
        for c in &chains {
            let Some(leaf) = c.iter().rev().find_map(|s| match s {
                Step::Dev(n) => Some(n.as_str()),
                _ => None,
            }) else {
                continue;
            };
            let Some(node) = self.nodes.get(leaf) else {
                continue;
            };
            let disk = self.disk_of(leaf);
            let path = if self.is_loop(disk) {
                match self.loop_backing(disk) {
                    Some((file, false)) => file,
                    _ => {
                        return Err(format!(
                            "{mp} is mounted from {}, a loop device whose backing file is gone; \
                             pass --source IMAGE",
                            self.render_chain(c)
                        ));
                    }
                }
            } else if node.parent.is_some() {
                self.dev_path(disk)
            } else {
                return Err(format!(
                    "{mp} is mounted from {}, which is not on a partitioned disk; \
                     pass --source IMAGE",
                    self.render_chain(c)
                ));
            };
            found.push((path, node.partno, self.size_sectors(leaf)));
        }
        let Some(first) = found.first() else {
            return Err(format!("{mp} is not on a partitioned disk; pass --source IMAGE"));
        };
        if let Some(other) = found.iter().find(|f| f.0 != first.0) {
            return Err(format!("{mp} spans several disks ({} and {}); pass --source IMAGE", first.0.display(), other.0.display()));
        }
        let (path, partno, _) = found.iter().max_by_key(|f| f.2).unwrap_or(first);
        Ok((path.clone(), *partno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

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
            let paths =
                SysPaths { sys: root.join("sys"), dev: root.join("dev"), mountinfo: root.join("mountinfo"), swaps: root.join("swaps") };
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
        assert_eq!(
            resolve_source_auto(&fx.paths),
            Ok(AutoSource { disk: fx.paths.dev.join("sdb"), root_partno: None, usr_partno: Some(2) })
        );
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
        assert_eq!(
            fx.refusals(&fx.paths.dev.join("loop2"), Some(&other)),
            [format!("is backed by the install source ({})", other.display())]
        );
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
        assert_eq!(
            resolve_source_auto(&fx.paths),
            Ok(AutoSource { disk: fx.paths.dev.join("sdb"), root_partno: Some(1), usr_partno: None })
        );
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
    fn sizes_and_names_sort_as_people_expect() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(8 << 20), "8 MiB");
        assert_eq!(human_size(256 << 30), "256 GiB");
        assert_eq!(human_size(15_376_318_464), "14.3 GiB");
        let mut v = vec!["loop10", "sdb", "loop2", "nvme0n1", "sda", "nvme0n10", "nvme0n2"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["loop2", "loop10", "nvme0n1", "nvme0n2", "nvme0n10", "sda", "sdb"]);
    }
}
