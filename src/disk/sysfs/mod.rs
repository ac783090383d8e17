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
//!
//! The parts: `tree` is one consistent look at sysfs, the mounts and the swaps, and the
//! lookups on it; `stack` follows device stacks downwards; `refusals` says why a disk,
//! partition or image file must not be written; `inventory` lists the disks as `imprint disks`
//! shows them; `source` finds the disk the running system came from (`--source auto`).

mod inventory;
mod refusals;
mod source;
mod stack;
mod tree;

use std::path::PathBuf;

pub use inventory::{DiskInfo, PartitionUse, list_disks, render_table};
pub use refusals::target_refusals;
pub use source::{AutoSource, resolve_source_auto};

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

#[cfg(test)]
mod tests;
