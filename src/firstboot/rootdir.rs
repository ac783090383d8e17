//! A system tree under `--root`, resolved inside it as systemd's `chase()` with
//! `CHASE_PREFIX_ROOT` does: every path goes through openat2(2) with `RESOLVE_IN_ROOT` on one
//! descriptor of the root, opened once, so `..` stops at the root and an absolute symbolic link
//! starts from it. Nothing read or written through a [`RootDir`] lies outside the root, whatever
//! links the tree holds (`etc -> /etc` is a link to itself there, an error; `etc ->
//! ../../host` is the root's own `host`). On `/` this is the ordinary resolution.
//!
//! Writes happen in a [`Folder`] (a descriptor of a folder inside the root): a new file is made
//! under a temporary name in that folder (`O_CREAT|O_EXCL|O_NOFOLLOW`, 0600), given its mode and
//! owner, synced, and renamed over the old name in the same folder, which replaces a link standing
//! there instead of following it.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// A root directory, opened once (`O_PATH|O_DIRECTORY`).
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// A folder inside a root, opened through it (`O_PATH|O_DIRECTORY`).
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
}

/// What a folder entry is, as readdir says (links not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

/// The kernel's ELOOP in words: inside a root, an absolute link starts at the root, so a link
/// `etc -> /etc` points at itself.
fn explain(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) => io::Error::new(
            e.kind(),
            "symbolic links loop, or a link stands where none is followed (links are resolved inside the root, \
             where an absolute link starts at the root; ELOOP)",
        ),
        _ => e,
    }
}

fn os(e: Errno) -> io::Error {
    explain(io::Error::from(e))
}

fn not_regular() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")
}

impl RootDir {
    /// Opens `path` as the root. The path itself is resolved as usual; what lies under it is not.
    pub fn open(path: &Path) -> io::Result<RootDir> {
        let fd = nix::fcntl::open(path, OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(os)?;
        Ok(RootDir { fd, path: path.to_path_buf() })
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `rel` (relative to the root, or absolute as seen inside it) opened with `flags`, every
    /// component resolved inside the root.
    fn resolve(&self, rel: &Path, flags: OFlag, mode: Mode) -> io::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .mode(mode)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let rel = if rel.as_os_str().is_empty() { Path::new(".") } else { rel };
        let mut tries = 0;
        loop {
            match nix::fcntl::openat2(self.fd.as_fd(), rel, how) {
                // the kernel could not rule out a concurrent rename escaping the root: try again
                Err(Errno::EAGAIN) if tries < 16 => tries += 1,
                r => return r.map_err(os),
            }
        }
    }

    /// A regular file under the root, open for reading. A FIFO or device is refused without
    /// blocking on it.
    pub fn open_file(&self, rel: impl AsRef<Path>) -> io::Result<File> {
        let fd = self.resolve(rel.as_ref(), OFlag::O_RDONLY | OFlag::O_NOCTTY | OFlag::O_NONBLOCK, Mode::empty())?;
        let f = File::from(fd);
        if !f.metadata()?.is_file() {
            return Err(not_regular());
        }
        Ok(f)
    }

    /// A regular file's bytes and metadata (from the same open file).
    pub fn read(&self, rel: impl AsRef<Path>) -> io::Result<(Vec<u8>, Metadata)> {
        let mut f = self.open_file(rel)?;
        let meta = f.metadata()?;
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        f.read_to_end(&mut bytes)?;
        Ok((bytes, meta))
    }

    /// A regular file's text.
    pub fn read_to_string(&self, rel: impl AsRef<Path>) -> io::Result<String> {
        let (bytes, _) = self.read(rel)?;
        String::from_utf8(bytes).map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"))
    }

    /// Metadata, the last link followed (inside the root).
    pub fn metadata(&self, rel: impl AsRef<Path>) -> io::Result<Metadata> {
        File::from(self.resolve(rel.as_ref(), OFlag::O_PATH, Mode::empty())?).metadata()
    }

    /// Metadata of the entry itself (a link is not followed).
    pub fn symlink_metadata(&self, rel: impl AsRef<Path>) -> io::Result<Metadata> {
        File::from(self.resolve(rel.as_ref(), OFlag::O_PATH | OFlag::O_NOFOLLOW, Mode::empty())?).metadata()
    }

    /// Whether the entry exists (a dangling link does); a loop or a denied lookup is an error.
    pub fn exists(&self, rel: impl AsRef<Path>) -> io::Result<bool> {
        match self.symlink_metadata(rel) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A link's target as written in it.
    pub fn read_link(&self, rel: impl AsRef<Path>) -> io::Result<PathBuf> {
        let fd = self.resolve(rel.as_ref(), OFlag::O_PATH | OFlag::O_NOFOLLOW, Mode::empty())?;
        nix::fcntl::readlinkat(fd.as_fd(), "").map(PathBuf::from).map_err(os)
    }

    /// The entries of a folder (without `.` and `..`), each with its kind.
    pub fn read_dir(&self, rel: impl AsRef<Path>) -> io::Result<Vec<(OsString, Kind)>> {
        let rel = rel.as_ref();
        let fd = self.resolve(rel, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())?;
        let mut dir = nix::dir::Dir::from_fd(fd).map_err(os)?;
        let mut out = Vec::new();
        for e in dir.iter() {
            let e = e.map_err(os)?;
            let name = OsStr::from_bytes(e.file_name().to_bytes());
            if name == "." || name == ".." {
                continue;
            }
            use nix::dir::Type;
            let kind = match e.file_type() {
                Some(Type::Directory) => Kind::Dir,
                Some(Type::File) => Kind::File,
                Some(Type::Symlink) => Kind::Symlink,
                Some(_) => Kind::Other,
                None => match self.symlink_metadata(rel.join(name)) {
                    Ok(m) if m.is_dir() => Kind::Dir,
                    Ok(m) if m.is_file() => Kind::File,
                    Ok(m) if m.file_type().is_symlink() => Kind::Symlink,
                    _ => Kind::Other,
                },
            };
            out.push((name.to_os_string(), kind));
        }
        Ok(out)
    }

    /// A folder under the root, for writing in.
    pub fn folder(&self, rel: impl AsRef<Path>) -> io::Result<Folder> {
        Ok(Folder { fd: self.resolve(rel.as_ref(), OFlag::O_PATH | OFlag::O_DIRECTORY, Mode::empty())? })
    }

    /// Makes folder `name` directly in the root (one component), mode `mode`.
    pub fn create_folder(&self, name: &str, mode: u32) -> io::Result<()> {
        assert!(!name.contains('/') && name != "." && name != "..", "one component");
        nix::sys::stat::mkdirat(self.fd.as_fd(), name, Mode::from_bits_truncate(mode)).map_err(os)
    }
}

/// A temporary name next to `name`: `.#<name><12 hex digits>`.
fn temp_name(name: &str) -> io::Result<String> {
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).map_err(|e| io::Error::other(format!("getrandom: {e}")))?;
    Ok(format!(".#{name}{}", r.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

impl Folder {
    fn one_component(name: &str) {
        assert!(!name.is_empty() && !name.contains('/') && name != "." && name != "..", "one component");
    }

    /// Makes a new file under a temporary name, fills it by `fill` and renames it to `name`.
    fn replace_with(&self, name: &str, mut fill: impl FnMut(&OwnedFd, &str) -> io::Result<()>) -> io::Result<()> {
        Self::one_component(name);
        for _ in 0..16 {
            let tmp = temp_name(name)?;
            match fill(&self.fd, &tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    let _ = nix::unistd::unlinkat(self.fd.as_fd(), tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
                    return Err(e);
                }
            }
            return nix::fcntl::renameat(self.fd.as_fd(), tmp.as_str(), self.fd.as_fd(), name).map_err(|e| {
                let _ = nix::unistd::unlinkat(self.fd.as_fd(), tmp.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
                os(e)
            });
        }
        Err(io::ErrorKind::AlreadyExists.into())
    }

    /// Replaces `name` in this folder atomically with a regular file holding `bytes`, mode `mode`,
    /// owner `owner` (uid, gid) when given. A link named `name` is replaced, not followed.
    pub fn replace_file(&self, name: &str, bytes: &[u8], mode: u32, owner: Option<(u32, u32)>) -> io::Result<()> {
        self.replace_with(name, |dir, tmp| {
            let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let fd = nix::fcntl::openat(dir.as_fd(), tmp, flags, Mode::from_bits_truncate(0o600)).map_err(os)?;
            let mut f = File::from(fd);
            f.write_all(bytes)?;
            f.set_permissions(std::fs::Permissions::from_mode(mode))?;
            if let Some((uid, gid)) = owner {
                std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
            }
            f.sync_all()
        })
    }

    /// Replaces `name` in this folder atomically with a symbolic link to `target`.
    pub fn replace_symlink(&self, target: &str, name: &str) -> io::Result<()> {
        self.replace_with(name, |dir, tmp| nix::unistd::symlinkat(target, dir.as_fd(), tmp).map_err(os))
    }

    /// Opens (creating, mode 0600) the lock file `name` in this folder and takes its lock
    /// (lockf); held while the returned file is open. A link there is refused.
    pub fn lock(&self, name: &str) -> io::Result<File> {
        Self::one_component(name);
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let f = File::from(nix::fcntl::openat(self.fd.as_fd(), name, flags, Mode::from_bits_truncate(0o600)).map_err(os)?);
        if !f.metadata()?.is_file() {
            return Err(not_regular());
        }
        // SAFETY: a valid open descriptor; lockf only changes the lock state.
        if unsafe { libc::lockf(f.as_raw_fd(), libc::F_LOCK, 0) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree whose links all point out of it: resolved inside, they land in the root's own
    /// folders or nowhere.
    #[test]
    fn links_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let (root, outside) = (d.path().join("root"), d.path().join("outside"));
        std::fs::create_dir_all(root.join("inside")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("f"), "outside").unwrap();
        std::fs::write(root.join("inside/f"), "inside").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../outside", root.join("rel")).unwrap();
        std::os::unix::fs::symlink("/inside", root.join("in")).unwrap();
        std::os::unix::fs::symlink("/self", root.join("self")).unwrap();
        let r = RootDir::open(&root).unwrap();
        assert_eq!(r.read_to_string("in/f").unwrap(), "inside");
        assert_eq!(r.read_to_string("/in/f").unwrap(), "inside");
        for p in ["abs/f", "rel/f", "../outside/f", "/../outside/f"] {
            assert_eq!(r.read(p).unwrap_err().kind(), io::ErrorKind::NotFound, "{p}");
        }
        let e = r.folder("self").unwrap_err();
        assert_eq!(e.raw_os_error(), None);
        assert!(e.to_string().contains("inside the root"), "{e}");
        assert!(r.exists("abs").unwrap() && !r.exists("abs/f").unwrap());
        assert_eq!(r.read_link("abs").unwrap(), outside);
        let mut names = r.read_dir("").unwrap();
        names.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(names.len(), 5);
        assert_eq!(names[1], ("in".into(), Kind::Symlink));
        assert_eq!(names[2], ("inside".into(), Kind::Dir));
    }

    #[test]
    fn replacing_a_link_does_not_follow_it() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(d.path().join("target"), "keep").unwrap();
        std::os::unix::fs::symlink(d.path().join("target"), root.join("f")).unwrap();
        std::os::unix::fs::symlink(d.path().join("target"), root.join("l")).unwrap();
        let r = RootDir::open(&root).unwrap();
        let dir = r.folder("").unwrap();
        dir.replace_file("f", b"new", 0o640, None).unwrap();
        dir.replace_symlink("x", "l").unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("target")).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(root.join("f")).unwrap(), "new");
        assert_eq!(std::fs::symlink_metadata(root.join("f")).unwrap().permissions().mode() & 0o7777, 0o640);
        assert_eq!(std::fs::read_link(root.join("l")).unwrap(), Path::new("x"));
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 2, "no temporary file left");
        std::os::unix::fs::symlink(d.path().join("target"), root.join(".lock")).unwrap();
        assert!(dir.lock(".lock").is_err());
    }
}
