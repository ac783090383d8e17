//! One update at a time per system: an exclusive lock taken before the targets are read and held
//! until the last label is written, so a timer and a person (or two timers) never pick the same
//! `_empty` slot or write the same file. The lock is a `flock()` on a file in `/run/imprint/`
//! named after the system updated (the `--image`'s device number or inode, else the root
//! folder's), holding the pid of its holder for the message the other one gets.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{Options, UpdateError};

/// Where the lock files live (root's, 0700).
pub const LOCK_DIR: &str = "/run/imprint";

/// Held while an update reads and writes its targets; released when dropped.
#[derive(Debug)]
pub struct UpdateLock {
    _file: File,
    pub path: PathBuf,
}

fn io(what: String) -> impl FnOnce(std::io::Error) -> UpdateError {
    move |source| UpdateError::Io { what, source }
}

/// What names the system an update writes to: a device by its number, anything else by inode.
fn identity(path: &Path) -> Result<String, UpdateError> {
    let m = std::fs::metadata(path).map_err(io(format!("reading {}", path.display())))?;
    Ok(if m.file_type().is_block_device() { format!("dev-{:x}", m.rdev()) } else { format!("ino-{:x}-{:x}", m.dev(), m.ino()) })
}

impl UpdateLock {
    /// Takes the lock for the system `opts` names, or says who holds it.
    pub fn acquire(opts: &Options) -> Result<UpdateLock, UpdateError> {
        Self::acquire_in(Path::new(LOCK_DIR), opts)
    }

    pub fn acquire_in(dir: &Path, opts: &Options) -> Result<UpdateLock, UpdateError> {
        let what = opts.image.as_deref().unwrap_or(&opts.root);
        let id = identity(what)?;
        match std::fs::DirBuilder::new().mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(format!("creating {}", dir.display()))(e)),
        }
        let m = std::fs::symlink_metadata(dir).map_err(io(format!("reading {}", dir.display())))?;
        if !m.is_dir() || m.uid() != nix::unistd::geteuid().as_raw() || m.mode() & 0o022 != 0 {
            return Err(UpdateError::Target {
                transfer: "update lock".into(),
                why: format!("{} is not a folder only this user can write; refusing to keep the update lock there", dir.display()),
            });
        }
        let path = dir.join(format!("update-{id}.lock"));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io(format!("opening the update lock {}", path.display())))?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut text = String::new();
                let _ = (&file).take(32).read_to_string(&mut text);
                let pid = text.trim().parse::<u32>().ok();
                return Err(UpdateError::Busy { what: what.to_path_buf(), pid });
            }
            return Err(io(format!("locking {}", path.display()))(e));
        }
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(io(format!("writing {}", path.display())))?;
        Ok(UpdateLock { _file: file, path })
    }
}
