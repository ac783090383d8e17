//! Block devices and image files: discovery (sysfs), the GPT, and the block copy.
//!
//! This is the only module that opens block devices or issues block ioctls. It knows nothing of
//! profiles; it takes and returns plain data (offsets, sizes, [`crate::plan`] types).

pub mod copy;
pub mod gptread;
pub mod hold;
pub mod mountinfo;
pub mod sysfs;
pub mod table;
pub mod verity;

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;

nix::ioctl_read!(blkgetsize64, 0x12, 114, u64);
nix::ioctl_read_bad!(blksszget, 0x1268, libc::c_int);
nix::ioctl_write_ptr_bad!(blkdiscard, nix::request_code_none!(0x12, 119), [u64; 2]);
nix::ioctl_write_ptr_bad!(blkzeroout, nix::request_code_none!(0x12, 127), [u64; 2]);
nix::ioctl_none!(blkrrpart, 0x12, 95);

/// Whether two paths name the same disk or file: devices by their device number (however the
/// path is spelled: `/dev/sda`, `/dev/disk/by-id/…`, a copy of the node), anything else by
/// inode. False when either cannot be looked at.
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return false };
    let dev = |m: &std::fs::Metadata| m.file_type().is_block_device() || m.file_type().is_char_device();
    match (dev(&ma), dev(&mb)) {
        (true, true) => ma.rdev() == mb.rdev() && ma.file_type().is_block_device() == mb.file_type().is_block_device(),
        (false, false) => ma.dev() == mb.dev() && ma.ino() == mb.ino(),
        _ => false,
    }
}

pub fn is_block_device(f: &File) -> io::Result<bool> {
    Ok(f.metadata()?.file_type().is_block_device())
}

/// Size in bytes of a block device or regular file.
pub fn device_size(f: &File) -> io::Result<u64> {
    if is_block_device(f)? {
        let mut size = 0u64;
        // SAFETY: BLKGETSIZE64 writes one u64 to the pointer we pass.
        unsafe { blkgetsize64(f.as_raw_fd(), &mut size) }.map_err(io::Error::from)?;
        Ok(size)
    } else {
        Ok(f.metadata()?.len())
    }
}

/// The logical sector size of a block device (512 for regular files; see
/// [`table::probe_sector_size`] for images that already hold a GPT).
pub fn logical_sector_size(f: &File) -> io::Result<u32> {
    if is_block_device(f)? {
        let mut s: libc::c_int = 0;
        // SAFETY: BLKSSZGET writes one int to the pointer we pass.
        unsafe { blksszget(f.as_raw_fd(), &mut s) }.map_err(io::Error::from)?;
        Ok(u32::try_from(s).unwrap_or(512))
    } else {
        Ok(512)
    }
}

/// Makes `[offset, offset+len)` read back as zeroes, cheaply: a hole in a regular file; on a
/// block device a discard and then a write-zeroes request (which the kernel turns into unmap
/// or writes, whichever the device supports).
pub fn zero_range(f: &File, offset: u64, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    if is_block_device(f)? {
        let range = [offset, len];
        // SAFETY: both ioctls read two u64 from the pointer we pass.
        let _ = unsafe { blkdiscard(f.as_raw_fd(), &range) };
        unsafe { blkzeroout(f.as_raw_fd(), &range) }.map_err(io::Error::from)?;
        Ok(())
    } else {
        let file_len = f.metadata()?.len();
        let len = len.min(file_len.saturating_sub(offset));
        if len == 0 {
            return Ok(());
        }
        nix::fcntl::fallocate(
            f,
            nix::fcntl::FallocateFlags::FALLOC_FL_PUNCH_HOLE | nix::fcntl::FallocateFlags::FALLOC_FL_KEEP_SIZE,
            offset as libc::off_t,
            len as libc::off_t,
        )
        .map_err(io::Error::from)
    }
}

/// Tells the device that `[offset, offset+len)` holds nothing any more: a hole in a regular file
/// (which then reads as zeroes), BLKDISCARD on a block device (best effort: a device without
/// discard support keeps its bytes, and discarded blocks need not read back as zeroes).
pub fn discard_range(f: &File, offset: u64, len: u64) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    if is_block_device(f)? {
        let range = [offset, len];
        // SAFETY: BLKDISCARD reads two u64 from the pointer we pass.
        match unsafe { blkdiscard(f.as_raw_fd(), &range) } {
            Ok(_) | Err(nix::errno::Errno::EOPNOTSUPP) | Err(nix::errno::Errno::EINVAL) => Ok(()),
            Err(e) => Err(io::Error::from(e)),
        }
    } else {
        zero_range(f, offset, len)
    }
}

/// Overwrites `[offset, offset+len)` with zeroes by plain writes, whatever the device supports,
/// and syncs. For small ranges that must be gone for certain (LUKS headers and keyslots).
pub fn write_zeroes(f: &File, offset: u64, len: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let zeros = vec![0u8; 1 << 20];
    let mut done = 0;
    while done < len {
        let n = (zeros.len() as u64).min(len - done) as usize;
        f.write_all_at(&zeros[..n], offset + done)?;
        done += n as u64;
    }
    f.sync_data()
}

/// Looks for a non-zero byte in `[offset, offset+len)`; returns its offset. A regular file is
/// checked completely, reading only its data extents (holes read as zeroes); a block device is
/// checked in full when `full`, otherwise by samples: the first and last MiB and 64 evenly spaced
/// 4 KiB blocks.
pub fn find_nonzero(f: &File, offset: u64, len: u64, full: bool) -> io::Result<Option<u64>> {
    let end = offset + len;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    if !is_block_device(f)? {
        let file_end = f.metadata()?.len().min(end);
        if file_end > offset {
            let segs = copy::data_segments(f, offset, file_end - offset);
            ranges.extend(segs.into_iter().map(|(s, l)| (offset + s, (offset + s + l).min(file_end))));
        }
    } else if full || len <= 4 << 20 {
        ranges.push((offset, end));
    } else {
        const MIB: u64 = 1 << 20;
        ranges.push((offset, offset + MIB));
        ranges.push((end - MIB, end));
        let step = (len / 65 / 4096).max(1) * 4096;
        for i in 1..=64u64 {
            let at = offset + i * step;
            if at + 4096 <= end {
                ranges.push((at, at + 4096));
            }
        }
    }
    let mut buf = vec![0u8; 1 << 20];
    for (start, stop) in ranges {
        let mut pos = start;
        while pos < stop {
            let n = (buf.len() as u64).min(stop - pos) as usize;
            std::os::unix::fs::FileExt::read_exact_at(f, &mut buf[..n], pos)?;
            if let Some(i) = buf[..n].iter().position(|b| *b != 0) {
                return Ok(Some(pos + i as u64));
            }
            pos += n as u64;
        }
    }
    Ok(None)
}

/// Asks the kernel to re-read a block device's partition table. Devices without partition
/// support (a loop device without partscan) answer EINVAL, which is not an error here.
pub fn reread_partitions(f: &File) -> io::Result<()> {
    if !is_block_device(f)? {
        return Ok(());
    }
    // SAFETY: BLKRRPART takes no argument.
    match unsafe { blkrrpart(f.as_raw_fd()) } {
        Ok(_) | Err(nix::errno::Errno::EINVAL) => Ok(()),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Opens a disk or image file for an update and takes an exclusive `flock` on it (as
/// systemd-sysupdate does while it patches a table), so two updates never write one disk.
/// Returns the file and its logical sector size (for an image file: the one its GPT uses).
pub fn open_locked(path: &std::path::Path, write: bool) -> io::Result<(File, u32)> {
    let f = File::options().read(true).write(write).open(path)?;
    // SAFETY: flock on a valid descriptor we own.
    let r = unsafe { libc::flock(f.as_raw_fd(), if write { libc::LOCK_EX } else { libc::LOCK_SH }) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    let sector = if is_block_device(&f)? { logical_sector_size(&f)? } else { table::probe_sector_size(&f) };
    Ok((f, sector))
}
