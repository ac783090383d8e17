//! Why a disk, a partition or an image file must not be written, in words: the install source,
//! the running system, read-only, mounted, swap, or used by a stacked device.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::SysPaths;
use super::stack::touches;
use super::tree::{Ident, MAX_DEPTH, SourceId, System};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Source,
    Running,
    ReadOnly,
    Use,
}

/// A reason found on a whole device; `partition` says which of its partitions it is about.
#[derive(Debug)]
pub(super) struct Reason {
    pub(super) kind: Kind,
    pub(super) partition: Option<String>,
    pub(super) text: String,
}

impl Reason {
    pub(super) fn new(kind: Kind, partition: Option<&str>, text: String) -> Self {
        Reason { kind, partition: partition.map(str::to_string), text }
    }

    /// The words for a listing of the disk itself.
    pub(super) fn on_disk(self, sys: &System<'_>) -> String {
        match self.partition {
            None => self.text,
            Some(p) => format!("partition {} {}", sys.show(&p), self.text),
        }
    }
}

pub(super) fn join_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

pub(super) fn is_read_only_fs(p: &Path) -> bool {
    nix::sys::statvfs::statvfs(p).map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY)).unwrap_or(false)
}

pub(super) fn same_file(p: &Path, dev: u64, ino: u64) -> bool {
    fs::metadata(p).map(|m| m.dev() == dev && m.ino() == ino).unwrap_or(false)
}

impl System<'_> {
    pub(super) fn describe_holder(&self, h: &str) -> String {
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
    pub(super) fn describe_use(&self, h: &str, depth: usize) -> String {
        let mut s = self.describe_holder(h);
        if depth < MAX_DEPTH {
            let what = self.own_use(h, depth + 1);
            if !what.is_empty() {
                s.push_str(", which ");
                s.push_str(&what.join(" and "));
            }
        }
        s
    }

    /// Mounted, swap, stacked-on: the uses of this one node (`depth`: how far up the holders
    /// the caller already is).
    pub(super) fn own_use(&self, name: &str, depth: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mps = self.mountpoints(name);
        if !mps.is_empty() {
            out.push(format!("is mounted at {}", join_paths(&mps)));
        }
        if self.is_swap(name) {
            out.push("is in use as swap".to_string());
        }
        for h in self.holders(name) {
            out.push(format!("is used by {}", self.describe_use(&h, depth)));
        }
        out
    }

    pub(super) fn running_reasons(&self, members: &BTreeSet<&str>) -> Vec<String> {
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
    pub(super) fn source_reasons(&self, src: &SourceId, subject: &str, members: &BTreeSet<&str>) -> Vec<String> {
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
    pub(super) fn disk_reasons(&self, disk: &str, exclude: Option<&str>, src: &SourceId) -> Vec<Reason> {
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
        for t in self.own_use(disk, 0) {
            out.push(Reason::new(Kind::Use, None, t));
        }
        for p in parts {
            if !disk_ro && self.flag(p, "ro") {
                out.push(Reason::new(Kind::ReadOnly, Some(p), "is read-only".to_string()));
            }
            for t in self.own_use(p, 0) {
                out.push(Reason::new(Kind::Use, Some(p), t));
            }
        }
        out
    }

    pub(super) fn partition_reasons(&self, p: &str, src: &SourceId) -> Vec<String> {
        let members = BTreeSet::from([p]);
        let mut out = self.source_reasons(src, p, &members);
        out.extend(self.running_reasons(&members));
        if self.flag(p, "ro") {
            out.push("is read-only".to_string());
        }
        out.extend(self.own_use(p, 0));
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

    pub(super) fn file_reasons(&self, path: &Path, meta: &fs::Metadata, src: &SourceId) -> Vec<String> {
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

    pub(super) fn read_only_fs_reason(&self, p: &Path) -> String {
        match self.mount_for_path(p).map(|i| &self.mounts[i]) {
            Some(m) if m.is_read_only() => {
                format!("is on a read-only file system (mounted at {})", m.mountpoint.display())
            }
            _ => "is on a read-only file system".to_string(),
        }
    }

    pub(super) fn missing_reasons(&self, target: &Path) -> Vec<String> {
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
}
