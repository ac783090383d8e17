//! `--source auto`: the disk (or, for a loop device, its backing image file) that holds the
//! running system, found the way `CopyBlocks=auto` finds it.

use std::path::{Path, PathBuf};

use super::SysPaths;
use super::stack::Step;
use super::tree::System;

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

impl System<'_> {
    /// `--source auto` for one mount: the disk (or loop backing image) and partition number.
    pub(super) fn auto_origin(&self, idx: usize) -> Result<(PathBuf, Option<u32>), String> {
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
