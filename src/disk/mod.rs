//! Block devices and image files: discovery (sysfs), the GPT, and the block copy.
//!
//! This is the only module that opens block devices or issues block ioctls. It knows nothing of
//! profiles; it takes and returns plain data (offsets, sizes, [`crate::plan`] types).

pub mod copy;
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
