//! The inode flags of `chattr` (FS_IOC_GETFLAGS/SETFLAGS): the immutable flag, which systemd
//! sets on read-only update directories and newer kernels set on efivarfs files.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

pub const FS_IMMUTABLE_FL: libc::c_long = 0x10;

nix::ioctl_read!(fs_ioc_getflags, b'f', 1, libc::c_long);
nix::ioctl_write_ptr!(fs_ioc_setflags, b'f', 2, libc::c_long);

/// The flags of an open file or folder.
pub fn get(f: &File) -> io::Result<libc::c_long> {
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes the flags (an int, within our long) to the pointer we pass.
    unsafe { fs_ioc_getflags(f.as_raw_fd(), &mut flags) }.map_err(io::Error::from)?;
    Ok(flags)
}

pub fn set(f: &File, flags: libc::c_long) -> io::Result<()> {
    // SAFETY: FS_IOC_SETFLAGS reads the flags from the pointer we pass.
    unsafe { fs_ioc_setflags(f.as_raw_fd(), &flags) }.map_err(io::Error::from)?;
    Ok(())
}

/// Sets or clears FS_IMMUTABLE_FL on `path` (a file or folder). Ok(false): the file system has
/// no such flag (ENOTTY, EOPNOTSUPP, EINVAL: tmpfs before Linux 6.0, for one).
pub fn set_immutable(path: &Path, on: bool) -> io::Result<bool> {
    let f = File::open(path)?;
    let flags = match get(&f) {
        Ok(f) => f,
        Err(e) if unsupported(&e) => return Ok(false),
        Err(e) => return Err(e),
    };
    let want = if on { flags | FS_IMMUTABLE_FL } else { flags & !FS_IMMUTABLE_FL };
    if want != flags {
        match set(&f, want) {
            Ok(()) => {}
            Err(e) if unsupported(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Whether `path` carries FS_IMMUTABLE_FL (false where the flag does not exist).
pub fn is_immutable(path: &Path) -> bool {
    File::open(path).and_then(|f| get(&f)).is_ok_and(|fl| fl & FS_IMMUTABLE_FL != 0)
}

fn unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::EINVAL | libc::ENOSYS))
}
