//! One consistent look at sysfs, the mounts and the swaps, and the lookups on it: attributes,
//! device names and numbers, holders and slaves, loop backing files, mounts and swaps, and what
//! a path given on the command line is.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::SysPaths;
use super::stack::Step;
use crate::disk::mountinfo::{self, MountEntry, SwapEntry};

/// How deep device stacks are followed (dm on loop on dm ...); a guard against cycles.
pub(super) const MAX_DEPTH: usize = 16;

/// Compare kernel names so that `loop2` comes before `loop10` and `sda` before `sdb`.
pub(super) fn natural_cmp(a: &str, b: &str) -> Ordering {
    pub(super) fn key(s: &str) -> Vec<(u8, u64, String)> {
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
pub(super) struct Node {
    pub(super) dir: PathBuf,
    pub(super) devno: Option<(u32, u32)>,
    /// For a partition, the whole device it is on.
    pub(super) parent: Option<String>,
    pub(super) partno: Option<u32>,
    /// For a whole device, its partitions in the order of their numbers.
    pub(super) partitions: Vec<String>,
}

/// What a path given on the command line turned out to be.
pub(super) enum Ident {
    Block(String),
    UnknownBlock,
    File { path: PathBuf, meta: fs::Metadata },
    Missing,
    Other,
}

/// The install source, as far as the checks need it.
pub(super) enum SourceId {
    None,
    Block(String),
    File { dev: u64, ino: u64, path: PathBuf },
}

/// One consistent look at sysfs, the mounts and the swaps.
pub(super) struct System<'a> {
    pub(super) paths: &'a SysPaths,
    pub(super) nodes: BTreeMap<String, Node>,
    pub(super) by_devno: HashMap<(u32, u32), String>,
    pub(super) mounts: Vec<MountEntry>,
    /// The device each mount is from, where one is known (same order as `mounts`).
    pub(super) mount_dev: Vec<Option<String>>,
    pub(super) swaps: Vec<SwapEntry>,
    pub(super) swap_dev: Vec<Option<String>>,
    /// `/` and (when it is a mount of its own) `/usr`, with the device stacks beneath them.
    pub(super) origins: Vec<(PathBuf, Vec<Vec<Step>>)>,
}

pub(super) fn with_path(e: io::Error, what: &str, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()))
}

/// A sysfs attribute, trimmed; None when it is missing, unreadable or empty.
pub(super) fn read_attr(dir: &Path, rel: &str) -> Option<String> {
    let bytes = fs::read(dir.join(rel)).ok()?;
    let s = String::from_utf8_lossy(&bytes);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_string())
}

pub(super) fn parse_devno(s: &str) -> Option<(u32, u32)> {
    let (ma, mi) = s.trim().split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

pub(super) fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    names.sort_by(|a, b| natural_cmp(a, b));
    names
}

impl<'a> System<'a> {
    pub(super) fn load(paths: &'a SysPaths) -> io::Result<Self> {
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

    pub(super) fn attr(&self, name: &str, rel: &str) -> Option<String> {
        read_attr(&self.nodes.get(name)?.dir, rel)
    }

    pub(super) fn flag(&self, name: &str, rel: &str) -> bool {
        self.attr(name, rel).as_deref() == Some("1")
    }

    pub(super) fn size_sectors(&self, name: &str) -> u64 {
        self.attr(name, "size").and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    pub(super) fn dev_path(&self, name: &str) -> PathBuf {
        self.paths.dev.join(name.replace('!', "/"))
    }

    pub(super) fn show(&self, name: &str) -> String {
        self.dev_path(name).display().to_string()
    }

    pub(super) fn holders(&self, name: &str) -> Vec<String> {
        self.nodes.get(name).map(|n| dir_names(&n.dir.join("holders"))).unwrap_or_default()
    }

    pub(super) fn slaves(&self, name: &str) -> Vec<String> {
        self.nodes.get(name).map(|n| dir_names(&n.dir.join("slaves"))).unwrap_or_default()
    }

    /// The whole device a node is on (itself for a whole device).
    pub(super) fn disk_of<'n>(&'n self, name: &'n str) -> &'n str {
        self.nodes.get(name).and_then(|n| n.parent.as_deref()).unwrap_or(name)
    }

    pub(super) fn is_loop(&self, name: &str) -> bool {
        let disk = self.disk_of(name);
        disk.starts_with("loop") || self.attr(disk, "loop/backing_file").is_some()
    }

    /// The backing file of the loop device a node is (or is a partition of), and whether the
    /// kernel says it has been deleted since.
    pub(super) fn loop_backing(&self, name: &str) -> Option<(PathBuf, bool)> {
        let s = self.attr(self.disk_of(name), "loop/backing_file")?;
        Some(match s.strip_suffix(" (deleted)") {
            Some(p) => (PathBuf::from(p), true),
            None => (PathBuf::from(s), false),
        })
    }

    /// The device a `/dev/...` name from the mount table or swap list refers to.
    pub(super) fn source_device(&self, s: &str) -> Option<String> {
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
    pub(super) fn name_under_dev(&self, p: &Path) -> Option<String> {
        let real = fs::canonicalize(p).ok()?;
        let dev = fs::canonicalize(&self.paths.dev).ok()?;
        let name = real.strip_prefix(&dev).ok()?.to_str()?.replace('/', "!");
        self.nodes.contains_key(&name).then_some(name)
    }

    pub(super) fn mount_device(&self, m: &MountEntry) -> Option<String> {
        if m.major != 0
            && let Some(n) = self.by_devno.get(&(m.major, m.minor))
        {
            return Some(n.clone());
        }
        // Major 0: no block device of its own (btrfs shows an anonymous number): trust the source.
        self.source_device(&m.source)
    }

    /// The mount a path is on: the longest mount point that contains it, the later one on a tie.
    pub(super) fn mount_for_path(&self, p: &Path) -> Option<usize> {
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
    pub(super) fn visible_mount(&self, mp: &Path) -> Option<usize> {
        self.mounts.iter().rposition(|m| m.mountpoint == mp)
    }

    pub(super) fn mountpoints(&self, name: &str) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for (m, dev) in self.mounts.iter().zip(&self.mount_dev) {
            if dev.as_deref() == Some(name) && !out.contains(&m.mountpoint) {
                out.push(m.mountpoint.clone());
            }
        }
        out
    }

    pub(super) fn is_swap(&self, name: &str) -> bool {
        self.swap_dev.iter().any(|d| d.as_deref() == Some(name))
    }

    pub(super) fn identify(&self, p: &Path) -> io::Result<Ident> {
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

    pub(super) fn source_id(&self, source: Option<&Path>) -> io::Result<SourceId> {
        let Some(p) = source else {
            return Ok(SourceId::None);
        };
        Ok(match self.identify(p)? {
            Ident::Block(n) => SourceId::Block(n),
            Ident::File { path, meta } => SourceId::File { dev: meta.dev(), ino: meta.ino(), path },
            Ident::UnknownBlock | Ident::Missing | Ident::Other => SourceId::None,
        })
    }
}
