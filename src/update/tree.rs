//! Folder trees for `Type=directory` targets: copying a source folder (what
//! `systemd-import-fs run --direct` does for a `directory` source) and removing an instance
//! (vacuum, leftovers), including one made immutable by `ReadOnly=yes`.
//!
//! The copy keeps file types, modes, owners (as root) and modification times; symlinks are
//! copied as links, device nodes and FIFOs recreated. Hard links become separate files and
//! extended attributes are not copied.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use nix::sys::stat::{Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

use crate::fsflags;

/// Copies what is inside `src` into the existing, empty folder `dst`; the bytes of regular
/// files copied. `progress` is told the running total.
pub fn copy(src: &Path, dst: &Path, cancel: &dyn Fn() -> bool, progress: &mut dyn FnMut(u64)) -> io::Result<u64> {
    let mut done = 0;
    copy_children(src, dst, cancel, progress, &mut done)?;
    Ok(done)
}

fn with_path(p: &Path) -> impl FnOnce(io::Error) -> io::Error + '_ {
    move |e| io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

fn copy_children(src: &Path, dst: &Path, cancel: &dyn Fn() -> bool, progress: &mut dyn FnMut(u64), done: &mut u64) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(src).map_err(with_path(src))?.collect::<Result<_, _>>().map_err(with_path(src))?;
    entries.sort_by_key(|e| e.file_name());
    for ent in entries {
        if cancel() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted"));
        }
        let s = ent.path();
        let d = dst.join(ent.file_name());
        let md = fs::symlink_metadata(&s).map_err(with_path(&s))?;
        let ft = md.file_type();
        if ft.is_dir() {
            fs::create_dir(&d).map_err(with_path(&d))?;
            copy_children(&s, &d, cancel, progress, done)?;
        } else if ft.is_file() {
            fs::copy(&s, &d).map_err(with_path(&s))?;
            *done += md.len();
            progress(*done);
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s).map_err(with_path(&s))?, &d).map_err(with_path(&d))?;
        } else if ft.is_fifo() || ft.is_char_device() || ft.is_block_device() {
            let kind = if ft.is_fifo() {
                SFlag::S_IFIFO
            } else if ft.is_char_device() {
                SFlag::S_IFCHR
            } else {
                SFlag::S_IFBLK
            };
            nix::sys::stat::mknod(&d, kind, Mode::from_bits_truncate(md.mode() & 0o7777), md.rdev())
                .map_err(|e| with_path(&d)(e.into()))?;
        } else {
            // sockets belong to a running program, not to an image
            continue;
        }
        keep_metadata(&d, &md)?;
    }
    Ok(())
}

/// Owner, mode and times of `md` on `d` (owner first: chown clears set-id bits).
fn keep_metadata(d: &Path, md: &fs::Metadata) -> io::Result<()> {
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::lchown(d, Some(md.uid()), Some(md.gid())).map_err(with_path(d))?;
    }
    if !md.file_type().is_symlink() {
        fs::set_permissions(d, fs::Permissions::from_mode(md.mode() & 0o7777)).map_err(with_path(d))?;
    }
    let at = TimeSpec::new(md.atime(), md.atime_nsec());
    let mt = TimeSpec::new(md.mtime(), md.mtime_nsec());
    nix::sys::stat::utimensat(nix::fcntl::AT_FDCWD, d, &at, &mt, UtimensatFlags::NoFollowSymlink).map_err(|e| with_path(d)(e.into()))
}

/// Removes a file, link or folder tree; a folder's immutable flag is cleared first. Missing
/// is fine.
pub fn remove(p: &Path) -> io::Result<()> {
    let md = match fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(with_path(p)(e)),
    };
    if md.is_dir() {
        if fsflags::is_immutable(p) {
            fsflags::set_immutable(p, false).map_err(with_path(p))?;
        }
        fs::remove_dir_all(p).map_err(with_path(p))
    } else {
        fs::remove_file(p).map_err(with_path(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_types_modes_and_times() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let s = src.path();
        fs::create_dir_all(s.join("usr/bin")).unwrap();
        fs::write(s.join("usr/bin/tool"), b"#!/bin/sh\n").unwrap();
        fs::set_permissions(s.join("usr/bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("usr/bin", s.join("bin")).unwrap();
        nix::unistd::mkfifo(&s.join("fifo"), Mode::from_bits_truncate(0o600)).unwrap();
        let t = TimeSpec::new(1_600_000_000, 0);
        nix::sys::stat::utimensat(nix::fcntl::AT_FDCWD, &s.join("usr"), &t, &t, UtimensatFlags::NoFollowSymlink).unwrap();
        let n = copy(s, dst.path(), &|| false, &mut |_| {}).unwrap();
        assert_eq!(n, 10);
        let d = dst.path();
        assert_eq!(fs::read(d.join("usr/bin/tool")).unwrap(), b"#!/bin/sh\n");
        assert_eq!(fs::metadata(d.join("usr/bin/tool")).unwrap().mode() & 0o777, 0o755);
        assert_eq!(fs::read_link(d.join("bin")).unwrap(), Path::new("usr/bin"));
        assert!(fs::symlink_metadata(d.join("fifo")).unwrap().file_type().is_fifo());
        assert_eq!(fs::metadata(d.join("usr")).unwrap().mtime(), 1_600_000_000, "a folder's time is set after its children");
        remove(&d.join("usr")).unwrap();
        assert!(!d.join("usr").exists());
        remove(&d.join("usr")).unwrap();
    }
}
