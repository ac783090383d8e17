//! Reading and writing GPT partition tables (with the `gpt` crate), and what else a disk may
//! hold (another partition table, a file system) so nothing is overwritten unseen.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use gpt::disk::LogicalBlockSize;
use gpt::partition::Partition;
use gpt::partition_types::{OperatingSystem, Type};
use uuid::Uuid;

use super::gptread;

use crate::plan::{ExistingPartition, ExistingTable, PlannedPartition, TargetContent};

fn lb(sector: u32) -> io::Result<LogicalBlockSize> {
    match sector {
        512 => Ok(LogicalBlockSize::Lb512),
        4096 => Ok(LogicalBlockSize::Lb4096),
        s => Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unsupported sector size {s}"))),
    }
}

fn gpt_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("GPT: {e}"))
}

/// Whether a GPT header signature sits at LBA 1 for this sector size.
pub fn has_gpt_signature(f: &File, sector: u32) -> bool {
    let mut sig = [0u8; 8];
    f.read_exact_at(&mut sig, u64::from(sector)).is_ok() && &sig == b"EFI PART"
}

/// For an image file, the sector size its GPT was written with (512 when there is none, as
/// libfdisk assumes for files).
pub fn probe_sector_size(f: &File) -> u32 {
    for s in [512u32, 4096] {
        if has_gpt_signature(f, s) {
            return s;
        }
    }
    512
}

/// Reads the GPT of `f` (the primary, or the backup when the primary fails a check), every
/// field checked ([`super::gptread`]). A table that is there but damaged beyond use is an
/// `InvalidData` error saying what is wrong.
pub fn read_gpt(f: &File, sector: u32) -> io::Result<Option<ExistingTable>> {
    let size = crate::disk::device_size(f)?;
    let Some(t) = gptread::read(f, size, sector)? else { return Ok(None) };
    let partitions = t
        .entries
        .into_iter()
        .map(|e| ExistingPartition {
            number: e.number,
            type_uuid: e.type_uuid,
            uuid: e.uuid,
            label: e.name,
            first_lba: e.first_lba,
            last_lba: e.last_lba,
            flags: e.flags,
        })
        .collect();
    Ok(Some(ExistingTable {
        disk_guid: t.header.disk_guid,
        first_usable_lba: t.header.first_usable,
        last_usable_lba: t.header.last_usable,
        partitions,
    }))
}

/// What `f` holds: a GPT, something else that would be destroyed, or nothing.
pub fn probe_content(f: &File, sector: u32) -> io::Result<TargetContent> {
    // The gpt crate falls back to the backup header when the primary is damaged, so a table
    // whose primary was lost (or not yet written) is still seen as a table.
    match read_gpt(f, sector) {
        Ok(Some(t)) => return Ok(TargetContent::Gpt(t)),
        Ok(None) => {}
        // a table that fails the checks is still something the install would destroy
        Err(e) if e.kind() == io::ErrorKind::InvalidData => return Ok(TargetContent::Other { what: format!("a damaged GPT ({e})") }),
        Err(e) => return Err(e),
    }
    let mut head = vec![0u8; 128 * 1024];
    let n = read_up_to(f, &mut head, 0)?;
    head.truncate(n);
    if let Some(what) = signature_at_start(&head) {
        return Ok(TargetContent::Other { what });
    }
    // A backup GPT alone (primary wiped) still counts as a table.
    if let Ok(len) = f.metadata().map(|m| m.len())
        && len >= u64::from(sector) * 2
    {
        let mut sig = [0u8; 8];
        if f.read_exact_at(&mut sig, len - u64::from(sector)).is_ok() && &sig == b"EFI PART" {
            return Ok(TargetContent::Other { what: "a backup GPT header at the end of the disk".into() });
        }
    }
    Ok(TargetContent::Blank)
}

fn read_up_to(f: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match f.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Recognises the common signatures at the start of a disk (a subset of libblkid's).
pub fn signature_at_start(head: &[u8]) -> Option<String> {
    let at = |off: usize, magic: &[u8]| head.len() >= off + magic.len() && &head[off..off + magic.len()] == magic;
    if at(0, b"LUKS\xba\xbe") || at(0, b"SKUL\xba\xbe") {
        return Some("a LUKS encrypted volume".into());
    }
    if at(0x438, &[0x53, 0xef]) {
        return Some("an ext2/3/4 file system".into());
    }
    if at(0x10040, b"_BHRfS_M") {
        return Some("a btrfs file system".into());
    }
    if at(0, b"XFSB") {
        return Some("an XFS file system".into());
    }
    if at(0, b"hsqs") {
        return Some("a squashfs file system".into());
    }
    if at(1024, &[0xe2, 0xe1, 0xf5, 0xe0]) {
        return Some("an EROFS file system".into());
    }
    if at(0x8001, b"CD001") {
        return Some("an ISO 9660 image".into());
    }
    if at(0xff6, b"SWAPSPACE2") || at(0x1ff6, b"SWAPSPACE2") {
        return Some("a swap area".into());
    }
    if at(0x52, b"FAT32   ") || at(0x36, b"FAT12   ") || at(0x36, b"FAT16   ") {
        return Some("a FAT file system".into());
    }
    if at(510, &[0x55, 0xaa]) {
        let entries = &head[446..510];
        let used: Vec<u8> = (0..4).map(|i| entries[i * 16 + 4]).filter(|t| *t != 0).collect();
        if !used.is_empty() {
            return Some(if used == [0xee] {
                "a protective MBR without a readable GPT".into()
            } else {
                format!("an MBR (DOS) partition table with {} partitions", used.len())
            });
        }
    }
    None
}

/// Overwrites the partition-table areas at both ends (protective MBR, primary and backup GPT
/// headers and entries) with zeroes, so no old table can point into what is written next.
pub fn wipe_tables(f: &File, size: u64, sector: u32) -> io::Result<()> {
    let s = u64::from(sector);
    let head = (2 + (128 * 128u64).div_ceil(s)) * s;
    let tail = (1 + (128 * 128u64).div_ceil(s)) * s;
    let zeros = vec![0u8; head.max(tail) as usize];
    f.write_all_at(&zeros[..head.min(size) as usize], 0)?;
    if size > tail {
        f.write_all_at(&zeros[..tail as usize], size - tail)?;
    }
    f.sync_data()
}

/// Writes the protective MBR, the primary and the backup GPT for `partitions`, each entry in the
/// slot its number names (unused slots in between stay empty).
///
/// The headers carry `first_usable`/`last_usable` as given (libfdisk puts the first usable LBA
/// on the 1 MiB boundary; the `gpt` crate would put it right after the entries), so the
/// table reads back exactly as systemd-repart's would.
pub fn write_gpt(
    f: &File,
    sector: u32,
    disk_guid: Uuid,
    first_usable: u64,
    last_usable: u64,
    partitions: &[PlannedPartition],
) -> io::Result<()> {
    let s = u64::from(sector);
    let dev = f.try_clone()?;
    let mut disk =
        gpt::GptConfig::new().writable(true).logical_block_size(lb(sector)?).create_from_device(dev, Some(disk_guid)).map_err(gpt_err)?;
    let mut map = BTreeMap::new();
    for p in partitions {
        map.insert(
            p.number,
            Partition {
                part_type_guid: Type { guid: p.type_uuid, os: OperatingSystem::Linux },
                part_guid: p.uuid,
                first_lba: p.first_lba(s),
                last_lba: p.last_lba(s),
                flags: p.flags,
                name: p.label.clone(),
            },
        );
    }
    if map.len() != partitions.len() || map.contains_key(&0) {
        return Err(io::Error::other("partition numbers must be unique and start at 1"));
    }
    // The gpt crate packs entries into the first slots; a table with unused slots between used
    // ones (a factory reset removes partitions, and systemd-repart 252 numbers new ones after the
    // highest used slot) has its entries rewritten in their own slots below.
    let contiguous = map.keys().copied().eq(1..=map.len() as u32);
    let slots = map.clone();
    disk.update_partitions(map).map_err(gpt_err)?;
    let mut h1 = disk.primary_header().map_err(gpt_err)?.clone();
    let mut h2 = disk.backup_header().map_err(gpt_err)?.clone();
    if first_usable < h1.first_usable || last_usable > h1.last_usable || first_usable > last_usable {
        return Err(io::Error::other(format!(
            "usable LBAs {first_usable}..={last_usable} do not fit the table's {}..={}",
            h1.first_usable, h1.last_usable
        )));
    }
    let mut dev = disk.write().map_err(gpt_err)?;
    if !contiguous {
        for h in [&h1, &h2] {
            let n = u64::from(h.num_parts);
            if slots.keys().any(|k| u64::from(*k) > n) {
                return Err(io::Error::other(format!("partition number above the table's {n} entries")));
            }
            Partition::write_zero_entries_to_device(&mut dev, 0, n, h.part_start, lb(sector)?, h.part_size)?;
            for (number, p) in &slots {
                p.write_to_device(&mut dev, u64::from(*number) - 1, h.part_start, lb(sector)?, h.part_size)?;
            }
        }
    }
    for h in [&mut h1, &mut h2] {
        h.first_usable = first_usable;
        h.last_usable = last_usable;
    }
    // backup first: a reader that finds a valid primary always finds the matching backup
    h2.write_backup(&mut dev, lb(sector)?).map_err(gpt_err)?;
    h1.write_primary(&mut dev, lb(sector)?).map_err(gpt_err)?;
    let total_lbas = f.metadata().map(|m| m.len()).ok().filter(|l| *l > 0).map(|l| l / s);
    let total_lbas = match total_lbas {
        Some(t) => t,
        None => crate::disk::device_size(f)? / s,
    };
    let mbr = gpt::mbr::ProtectiveMBR::with_lb_size(u32::try_from(total_lbas - 1).unwrap_or(0xffff_ffff));
    mbr.overwrite_lba0(&mut dev).map_err(gpt_err)?;
    dev.flush()?;
    f.sync_all()
}

/// Reads exactly `buf.len()` bytes at `offset` through a seekable reader (for tests).
pub fn read_at_exact(f: &mut File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// What [`patch_partition`] changes in one GPT entry (systemd-sysupdate's `patch_partition()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPatch {
    pub label: String,
    pub uuid: Option<Uuid>,
    pub flags: u64,
}

/// Rewrites one entry (label, attribute bits, optionally its UUID) of the GPT on `f` in place,
/// leaving every other entry where it is: the backup entries and header first, then the primary
/// entries and header (each header's CRCs recomputed), synced after each half. A kill between
/// the halves leaves a valid primary table with the old entry, which readers use; the next
/// patch writes the backup again from the primary.
pub fn patch_partition(f: &File, sector: u32, number: u32, patch: &EntryPatch) -> io::Result<()> {
    let s = u64::from(sector);
    let size = crate::disk::device_size(f)?;
    let t = gptread::read(f, size, sector)?.ok_or_else(|| io::Error::other("no GPT on the disk"))?;
    // A valid backup with other entries is what a patch killed between its halves leaves (the
    // backup is written first): the primary, which every reader uses, is the truth, and the
    // backup is written again from it (as libfdisk writes both copies from one table).
    let resynced = match (&t.other, &t.stale_backup, t.from) {
        (None, Some((h, _)), gptread::Copy::Primary) if h.entry_size == t.header.entry_size && h.num_entries == t.header.num_entries => {
            Some((h.clone(), t.array.clone()))
        }
        _ => None,
    };
    let resync = t.other.is_none() && resynced.is_some();
    let (other_header, other_array) = t.other.clone().or(resynced).ok_or_else(|| {
        io::Error::other(format!(
            "the GPT has one good copy only ({}); repair it (e.g. sfdisk --relocate) before an update changes it",
            t.problem.as_deref().unwrap_or("the other copy differs")
        ))
    })?;
    if !t.entries.iter().any(|e| e.number == number) {
        return Err(io::Error::other(format!("no partition {number} in the GPT")));
    }
    let name = gptread::encode_name(&patch.label)
        .ok_or_else(|| io::Error::other(format!("label '{}' is longer than the 36 UTF-16 units a GPT entry holds", patch.label)))?;
    let (primary, backup) = match t.from {
        gptread::Copy::Primary => ((t.header, t.array), (other_header, other_array)),
        gptread::Copy::Backup => ((other_header, other_array), (t.header, t.array)),
    };
    // backup first: a kill between the halves leaves the primary as it was, and readers use it
    for (i, (mut h, mut array)) in [backup, primary].into_iter().enumerate() {
        let at = (number as usize - 1) * h.entry_size as usize;
        let entry = &mut array[at..at + h.entry_size as usize];
        if let Some(u) = patch.uuid {
            entry[16..32].copy_from_slice(&u.to_bytes_le());
        }
        entry[48..56].copy_from_slice(&patch.flags.to_le_bytes());
        entry[56..128].copy_from_slice(&name);
        h.entries_crc = crc32fast::hash(&array);
        h.raw[88..92].copy_from_slice(&h.entries_crc.to_le_bytes());
        let crc = gptread::header_crc(&h.raw);
        h.raw[16..20].copy_from_slice(&crc.to_le_bytes());
        if i == 0 && resync {
            // the backup's whole array, from the primary's
            f.write_all_at(&array, h.entries_lba * s)?;
        } else {
            f.write_all_at(&array[at..at + h.entry_size as usize], h.entries_lba * s + at as u64)?;
        }
        f.write_all_at(&h.raw, h.my_lba * s)?;
        f.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod patch_tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    /// A label write killed between its halves (backup written, primary not) leaves a table the
    /// next update must still be able to label: the backup is written again from the primary.
    #[test]
    fn a_patch_killed_between_its_halves_is_completed_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let img = dir.path().join("d.img");
        File::create(&img).unwrap().set_len(16 << 20).unwrap();
        let mut c = std::process::Command::new("sfdisk")
            .args(["--quiet", img.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        c.stdin.take().unwrap().write_all(b"label: gpt\nsize=4MiB, name=usr_1.0\nsize=4MiB, name=_empty\n").unwrap();
        assert!(c.wait().unwrap().success());
        let f = File::options().read(true).write(true).open(&img).unwrap();
        let primary_before = {
            let mut b = vec![0u8; 33 * 512];
            f.read_exact_at(&mut b, 512).unwrap();
            b
        };
        let patch = EntryPatch { label: "usr_2.0".into(), uuid: None, flags: 0 };
        patch_partition(&f, 512, 2, &patch).unwrap();
        // the kill: the primary header and entries as they were
        f.write_all_at(&primary_before, 512).unwrap();
        let t = gptread::read(&f, 16 << 20, 512).unwrap().unwrap();
        assert!(t.other.is_none() && t.stale_backup.is_some(), "{:?}", t.problem);
        assert_eq!(read_gpt(&f, 512).unwrap().unwrap().partitions[1].label, "_empty", "readers use the primary");
        // the rerun labels, and both copies agree again
        patch_partition(&f, 512, 2, &patch).unwrap();
        let t = gptread::read(&f, 16 << 20, 512).unwrap().unwrap();
        assert!(t.other.is_some(), "{:?}", t.problem);
        assert_eq!(read_gpt(&f, 512).unwrap().unwrap().partitions[1].label, "usr_2.0");
        let out = std::process::Command::new("sfdisk").args(["--verify", img.to_str().unwrap()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
