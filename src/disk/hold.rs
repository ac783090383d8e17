//! Holding the install target: the disk or image file is opened once, exclusively, and checked to
//! be the very object that was inspected when the plan was made.
//!
//! Between the summary (where a person confirmed a plan) and the first write, a USB disk can be
//! replugged as another `/dev/sdX`, an image file replaced, or a table written by someone else.
//! [`Identity`] records what was inspected (device number or inode, size, and what the target
//! held); [`Held::open`] opens the target once — `O_EXCL` on a block device, so the kernel refuses
//! while anything has it mounted or open exclusively, then `flock(LOCK_EX)` against other
//! cooperating writers — and compares. The returned file is then used for everything: copy,
//! table, read-back and proofs.

use std::fs::File;
use std::io;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::TargetContent;

/// What identifies the inspected target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub path: PathBuf,
    /// False for an image file that is to be created.
    pub exists: bool,
    pub block_device: bool,
    /// `st_rdev` of a block device (its major:minor), else 0.
    pub rdev: u64,
    /// `st_dev` and `st_ino` of the node or file.
    pub dev: u64,
    pub ino: u64,
    /// Size in bytes, as read when inspected.
    pub size: u64,
    /// A digest of what the target held (its table, or the signature found), in words when it
    /// changes: see [`describe_content`].
    pub content: String,
}

/// One line saying what a target holds, precise enough to notice any change to its table.
pub fn describe_content(content: &TargetContent) -> String {
    match content {
        TargetContent::Missing => "nothing (the image file does not exist)".into(),
        TargetContent::Blank => "no partition table".into(),
        TargetContent::Other { what } => what.clone(),
        TargetContent::Gpt(t) => {
            let parts: Vec<String> =
                t.partitions.iter().map(|p| format!("{}:{}:{}:{}-{}", p.number, p.type_uuid, p.uuid, p.first_lba, p.last_lba)).collect();
            format!("GPT {} [{}]", t.disk_guid, parts.join(" "))
        }
    }
}

impl Identity {
    /// The identity of `path` as it is now; `content` as probed by the caller.
    pub fn of(path: &Path, size: u64, content: &TargetContent) -> io::Result<Identity> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Identity {
                path: path.to_path_buf(),
                exists: false,
                block_device: false,
                rdev: 0,
                dev: 0,
                ino: 0,
                size,
                content: describe_content(content),
            }),
            Err(e) => Err(e),
            Ok(m) => Ok(Identity::from_meta(path, &m, size, content)),
        }
    }

    fn from_meta(path: &Path, m: &std::fs::Metadata, size: u64, content: &TargetContent) -> Identity {
        use std::os::unix::fs::FileTypeExt;
        let block = m.file_type().is_block_device();
        Identity {
            path: path.to_path_buf(),
            exists: true,
            block_device: block,
            rdev: if block { m.rdev() } else { 0 },
            dev: m.dev(),
            ino: m.ino(),
            size,
            content: describe_content(content),
        }
    }

    /// Every difference between what was inspected (`self`) and `now`, in words.
    pub fn differences(&self, now: &Identity) -> Vec<String> {
        let mut why = Vec::new();
        let dev = |rdev: u64| format!("{}:{}", libc::major(rdev), libc::minor(rdev));
        if self.exists != now.exists {
            why.push(if self.exists { "it no longer exists".into() } else { "it exists now".into() });
            return why;
        }
        if self.block_device && self.rdev != now.rdev {
            why.push(format!("it is another device now ({} was {})", dev(now.rdev), dev(self.rdev)));
        } else if !self.block_device && self.exists && (self.dev, self.ino) != (now.dev, now.ino) {
            why.push("it is another file now (replaced since it was checked)".into());
        }
        if self.exists && self.size != now.size {
            why.push(format!("its size changed from {} to {} bytes", self.size, now.size));
        }
        if self.content != now.content {
            why.push(format!("what it holds changed (was: {}; now: {})", self.content, now.content));
        }
        why
    }
}

/// The target, open for writing, held exclusively until dropped.
#[derive(Debug)]
pub struct Held {
    pub file: File,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("opening {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path} is in use by another program (mounted, or opened exclusively); nothing was written")]
    Busy { path: PathBuf },
    #[error("{path} is held by another imprint or another writer (flock); nothing was written")]
    Locked { path: PathBuf },
    #[error("{path} changed since the plan was made: {}; nothing was written — look at the disk again and confirm the new plan", why.join("; "))]
    Changed { path: PathBuf, why: Vec<String> },
}

impl Held {
    /// Opens the inspected target once and checks it is still what `expected` describes.
    /// `create_size`: an image file that did not exist is created (exclusively) with this size.
    /// `probe` reads what the open file holds now (the caller's table reader).
    pub fn open(
        expected: &Identity,
        create_size: Option<u64>,
        probe: impl Fn(&File) -> io::Result<(u64, TargetContent)>,
    ) -> Result<Held, HoldError> {
        let path = expected.path.clone();
        let open_err = |source: io::Error| HoldError::Open { path: path.clone(), source };
        let file = if !expected.exists {
            let Some(size) = create_size else {
                return Err(HoldError::Changed { path: path.clone(), why: vec!["it does not exist".into()] });
            };
            let f = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .mode(0o644)
                .open(&path)
                .map_err(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        HoldError::Changed { path: path.clone(), why: vec!["it exists now".into()] }
                    } else {
                        open_err(e)
                    }
                })?;
            f.set_len(size).map_err(open_err)?;
            f
        } else {
            // O_EXCL on a block device: the kernel refuses while it is mounted or claimed.
            let excl = if expected.block_device { libc::O_EXCL } else { 0 };
            File::options()
                .read(true)
                .write(true)
                .custom_flags(excl | libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&path)
                .map_err(|e| if e.raw_os_error() == Some(libc::EBUSY) { HoldError::Busy { path: path.clone() } } else { open_err(e) })?
        };
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(HoldError::Locked { path });
        }
        if expected.exists {
            let meta = file.metadata().map_err(open_err)?;
            let (size, content) = probe(&file).map_err(open_err)?;
            let now = Identity::from_meta(&path, &meta, size, &content);
            let why = expected.differences(&now);
            if !why.is_empty() {
                return Err(HoldError::Changed { path, why });
            }
        }
        Ok(Held { file, path })
    }

    /// A path that names this open file for programs that take a path (mtools): the file
    /// itself through /proc, not the name it was opened by.
    pub fn proc_path(&self) -> PathBuf {
        proc_path(&self.file)
    }
}

/// `/proc/PID/fd/N` for an open file: programs given this path (mtools) reach the same open
/// object, whatever its name points at now.
pub fn proc_path(f: &File) -> PathBuf {
    PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), std::os::fd::AsRawFd::as_raw_fd(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(f: &File) -> io::Result<(u64, TargetContent)> {
        Ok((f.metadata()?.len(), TargetContent::Blank))
    }

    #[test]
    fn a_replaced_or_resized_image_is_refused_and_a_second_holder_is_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.img");
        File::create(&p).unwrap().set_len(1 << 20).unwrap();
        let id = Identity::of(&p, 1 << 20, &TargetContent::Blank).unwrap();
        let held = Held::open(&id, None, probe).unwrap();
        assert!(matches!(Held::open(&id, None, probe), Err(HoldError::Locked { .. })));
        drop(held);

        File::options().write(true).open(&p).unwrap().set_len(2 << 20).unwrap();
        let e = Held::open(&id, None, probe).unwrap_err().to_string();
        assert!(e.contains("size changed from 1048576 to 2097152"), "{e}");

        // another file put in its place (made while the old one exists, so its inode differs)
        let id = Identity::of(&p, 2 << 20, &TargetContent::Blank).unwrap();
        let other = dir.path().join("other.img");
        File::create(&other).unwrap().set_len(2 << 20).unwrap();
        std::fs::rename(&other, &p).unwrap();
        let e = Held::open(&id, None, probe).unwrap_err().to_string();
        assert!(e.contains("another file now"), "{e}");

        let other = Identity { content: "GPT x".into(), ..Identity::of(&p, 1 << 20, &TargetContent::Blank).unwrap() };
        let e = Held::open(&other, None, probe).unwrap_err().to_string();
        assert!(e.contains("what it holds changed"), "{e}");
    }

    #[test]
    fn a_missing_image_is_created_exclusively_and_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.img");
        let id = Identity::of(&p, 4096, &TargetContent::Missing).unwrap();
        assert!(!id.exists);
        let held = Held::open(&id, Some(4096), probe).unwrap();
        assert_eq!(held.file.metadata().unwrap().len(), 4096);
        drop(held);
        // it exists now: the same identity is refused
        assert!(matches!(Held::open(&id, Some(4096), probe), Err(HoldError::Changed { .. })));
        // a symlink planted at the name of an existing target is not followed
        let victim = dir.path().join("victim");
        File::create(&victim).unwrap().set_len(4096).unwrap();
        let link = dir.path().join("link.img");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let id = Identity { path: link.clone(), ..Identity::of(&victim, 4096, &TargetContent::Blank).unwrap() };
        assert!(Held::open(&id, None, probe).is_err());
    }
}
