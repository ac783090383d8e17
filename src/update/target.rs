//! A transfer's target as found: the disk and its slots of the right partition type, or the
//! folder and its files, with the versions installed there.

use std::path::{Path, PathBuf};

use super::pattern::{self, Match};
use super::transfer::{ResourcePath, ResourceType, Transfer};
use super::{Instance, Location, Options, Slot, TargetState, UpdateError, io_err, version};
use crate::disk;

/// What imprint does not carry out is refused by name.
pub(super) fn refuse_unsupported(t: &Transfer) -> Result<(), UpdateError> {
    let unsupported = |what: String| Err(UpdateError::Unsupported { file: t.file.clone(), what });
    // btrfs subvolumes are the one kind left
    if t.source.kind == ResourceType::Subvolume {
        return unsupported("[Source] Type=subvolume".into());
    }
    if t.target.kind == ResourceType::Subvolume {
        return unsupported("[Target] Type=subvolume".into());
    }
    Ok(())
}

/// The disk a partition target names, and the partition numbers that back the running system
/// on it.
fn resolve_disk(t: &Transfer, opts: &Options) -> Result<(PathBuf, Vec<u32>), UpdateError> {
    resolve_disk_with(t, opts, disk::sysfs::resolve_source_auto(&disk::sysfs::SysPaths::default()).map_err(|e| e.to_string()))
}

/// [`resolve_disk`] given what backs the running system. The running disk is recognised by
/// what it is, not by how its path is spelled: a device by its number (`/dev/disk/by-id/…`,
/// `/dev/sda` and a copy of the node are one disk), a file by its inode. So neither another
/// spelling in `Path=` nor `--image` naming the running disk turns off the protection of the
/// booted slots.
fn resolve_disk_with(
    t: &Transfer,
    opts: &Options,
    auto: Result<disk::sysfs::AutoSource, String>,
) -> Result<(PathBuf, Vec<u32>), UpdateError> {
    let terr = |why: String| UpdateError::Target { transfer: t.id.clone(), why };
    let running = |a: &disk::sysfs::AutoSource| a.root_partno.into_iter().chain(a.usr_partno).collect::<Vec<u32>>();
    let running_on = |p: &Path| match &auto {
        Ok(a) if disk::same_file(&a.disk, p) => running(a),
        _ => Vec::new(),
    };
    if let Some(img) = &opts.image {
        return Ok((img.clone(), running_on(img)));
    }
    match &t.target.path {
        ResourcePath::Auto => {
            if opts.root != Path::new("/") {
                return Err(terr("Path=auto with --root needs --image".into()));
            }
            let a = auto.as_ref().map_err(|e| terr(format!("Path=auto: {e}")))?;
            Ok((a.disk.clone(), running(a)))
        }
        ResourcePath::Path(p) => {
            let p = PathBuf::from(p);
            let r = running_on(&p);
            Ok((p, r))
        }
    }
}

pub(super) fn load_target(t: &Transfer, opts: &Options) -> Result<TargetState, UpdateError> {
    match t.target.kind {
        ResourceType::Partition => load_partition_target(t, opts),
        _ => load_file_target(t, opts),
    }
}

fn load_partition_target(t: &Transfer, opts: &Options) -> Result<TargetState, UpdateError> {
    let (path, running_parts) = resolve_disk(t, opts)?;
    let (f, sector) = disk::open_locked(&path, false).map_err(io_err(format!("opening {}", path.display())))?;
    let table = disk::table::read_gpt(&f, sector)
        .map_err(io_err(format!("reading the GPT of {}", path.display())))?
        .ok_or_else(|| UpdateError::Target { transfer: t.id.clone(), why: format!("{} has no GPT", path.display()) })?;
    let ptype = t.target.partition_type.as_ref().map(|p| p.uuid);
    let mut slots = Vec::new();
    let mut instances = Vec::new();
    for p in table.partitions.iter().filter(|p| ptype.is_none_or(|u| u == p.type_uuid)) {
        let mut slot = Slot {
            number: p.number,
            label: p.label.clone(),
            offset: p.first_lba * u64::from(sector),
            size: (p.last_lba + 1 - p.first_lba) * u64::from(sector),
            type_uuid: p.type_uuid,
            uuid: p.uuid,
            flags: p.flags,
            running: running_parts.contains(&p.number),
        };
        if let Match::Yes(meta) = pattern::match_many(&t.target.patterns, &p.label) {
            slot.running |= opts.image.is_some() && opts.running_version.as_deref() == Some(meta.version.as_str());
            instances.push(Instance {
                version: meta.version.clone(),
                location: Location::Partition(p.number),
                running: slot.running,
                meta,
            });
        }
        slots.push(slot);
    }
    instances.sort_by(|a, b| version::compare(&b.version, &a.version));
    Ok(TargetState { path, sector, slots, instances })
}

fn file_target_dir(t: &Transfer, opts: &Options) -> PathBuf {
    match &t.target.path {
        ResourcePath::Path(p) => opts.root.join(p.trim_start_matches('/')),
        ResourcePath::Auto => opts.root.clone(),
    }
}

fn load_file_target(t: &Transfer, opts: &Options) -> Result<TargetState, UpdateError> {
    let dir = file_target_dir(t, opts);
    let mut instances = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            for ent in rd {
                let ent = ent.map_err(io_err(format!("reading {}", dir.display())))?;
                let name = ent.file_name().to_string_lossy().into_owned();
                if name.starts_with(".#") || !is_kind(&ent, t.target.kind) {
                    continue;
                }
                if let Match::Yes(meta) = pattern::match_many(&t.target.patterns, &name) {
                    let running = opts.running_version.as_deref() == Some(meta.version.as_str());
                    instances.push(Instance { version: meta.version.clone(), location: Location::File(ent.path()), running, meta });
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
    }
    instances.sort_by(|a, b| version::compare(&b.version, &a.version));
    Ok(TargetState { path: dir, sector: 512, slots: Vec::new(), instances })
}

/// Whether a folder entry is what a resource of `kind` holds: folders for directory
/// resources, regular files for the rest (links are never instances).
pub(super) fn is_kind(ent: &std::fs::DirEntry, kind: ResourceType) -> bool {
    let Ok(ft) = ent.file_type() else { return false };
    match kind {
        ResourceType::Directory | ResourceType::Subvolume => ft.is_dir(),
        _ => ft.is_file(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::transfer::{Specifiers, parse};

    fn transfer(path: &str) -> Transfer {
        let text = format!(
            "[Source]\nType=url-file\nPath=http://127.0.0.1/\nMatchPattern=usr_@v.raw\n[Target]\nType=partition\nPath={path}\nMatchPartitionType=usr\nMatchPattern=usr_@v\n"
        );
        parse(Path::new("50-usr.transfer"), &text, &Specifiers::default()).unwrap()
    }

    fn opts(image: Option<PathBuf>) -> Options {
        Options { definitions: None, root: PathBuf::from("/"), image, keyring: None, running_version: None, today: "2026-12-06".into() }
    }

    /// Issue 14 point 4: the running disk is found however its path is spelled, and `--image`
    /// naming it keeps the booted slots protected.
    #[test]
    fn the_running_disk_is_recognised_by_what_it_is_not_by_its_path_text() {
        let dir = tempfile::tempdir().unwrap();
        // a running system on a loop device reads its disk as the backing file
        let disk_img = dir.path().join("disk.img");
        std::fs::write(&disk_img, b"").unwrap();
        std::fs::create_dir(dir.path().join("by-id")).unwrap();
        let link = dir.path().join("by-id/usb-Some_Disk-0:0");
        std::os::unix::fs::symlink("../disk.img", &link).unwrap();
        let hard = dir.path().join("same-inode.img");
        std::fs::hard_link(&disk_img, &hard).unwrap();
        let other = dir.path().join("other.img");
        std::fs::write(&other, b"").unwrap();
        let auto = || Ok(disk::sysfs::AutoSource { disk: disk_img.clone(), root_partno: Some(3), usr_partno: Some(5) });

        let t = transfer(&link.display().to_string());
        assert_eq!(resolve_disk_with(&t, &opts(None), auto()).unwrap().1, vec![3, 5], "Path= through a by-id style link");
        assert_eq!(resolve_disk_with(&t, &opts(Some(hard.clone())), auto()).unwrap().1, vec![3, 5], "--image naming the running disk");
        assert_eq!(resolve_disk_with(&t, &opts(Some(other.clone())), auto()).unwrap().1, Vec::<u32>::new());
        let t = transfer(&other.display().to_string());
        assert_eq!(resolve_disk_with(&t, &opts(None), auto()).unwrap().1, Vec::<u32>::new());

        // devices by their number: a second node of the same device is the same disk
        let node = dir.path().join("null-again");
        nix::sys::stat::mknod(
            &node,
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        assert!(disk::same_file(Path::new("/dev/null"), &node));
        assert!(!disk::same_file(Path::new("/dev/zero"), &node));
    }
}
