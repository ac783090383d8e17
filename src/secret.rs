//! The one type for secrets: passphrases, PINs, recovery keys, unsealed TPM secrets, volume keys.
//!
//! A [`Secret`] zeroizes its bytes when dropped and never shows them: `Debug` and `Display` print
//! `[redacted]`, and it implements neither `Serialize` nor `Clone` (use [`Secret::duplicate`] where
//! a second copy is really needed). Code that must hand the bytes to a library calls
//! [`Secret::expose`]; grep for it to audit every place a secret leaves this type.

use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

pub struct Secret(Zeroizing<Vec<u8>>);

/// Keeps this process's memory out of core dumps and away from other users' debuggers for its
/// whole life: imprint holds passphrases, PINs, recovery keys and unsealed keys, and a crash must
/// not write them to disk. `PR_SET_DUMPABLE` 0 (no core file; `/proc/PID/` owned by root, so an
/// unprivileged user of the same uid cannot ptrace it or read its memory) and `RLIMIT_CORE` 0.
/// Programs imprint runs are not affected: execve makes them dumpable again. Call it first in
/// `main`, before any secret exists.
pub fn protect_process() {
    // SAFETY: prctl with integer arguments; no memory is passed.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    let none = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit reads the struct we own.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
}

/// Locks a secret's buffer into RAM (`mlock`), where possible: a secret is never written to
/// swap. Best effort: without the privilege or above `RLIMIT_MEMLOCK` the buffer stays as it is
/// (it is wiped on drop either way).
fn lock(v: &[u8], capacity: usize) {
    if capacity > 0 {
        // SAFETY: mlock only changes the residency of pages of our own allocation.
        unsafe { libc::mlock(v.as_ptr().cast(), capacity) };
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let (ptr, cap) = (self.0.as_ptr(), self.0.capacity());
        // wipe first (the whole capacity), then let the pages go
        zeroize::Zeroize::zeroize(&mut *self.0);
        if cap > 0 {
            // SAFETY: munlock of the allocation we locked; it is still allocated here.
            unsafe { libc::munlock(ptr.cast(), cap) };
        }
    }
}

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        lock(&bytes, bytes.capacity());
        Secret(Zeroizing::new(bytes))
    }

    pub fn from_text(s: &str) -> Self {
        Secret::new(s.as_bytes().to_vec())
    }

    /// `n` random bytes from the kernel.
    pub fn random(n: usize) -> std::io::Result<Self> {
        let mut v = Zeroizing::new(vec![0u8; n]);
        lock(&v, v.capacity());
        getrandom::fill(&mut v).map_err(|e| std::io::Error::other(format!("getrandom: {e}")))?;
        Ok(Secret(v))
    }

    /// Reads a secret from a file, dropping one trailing newline (as systemd does for
    /// `--passphrase-file`-like options and credentials).
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        let mut v = Zeroizing::new(std::fs::read(path)?);
        if v.last() == Some(&b'\n') {
            v.pop();
        }
        lock(&v, v.capacity());
        Ok(Secret(v))
    }

    /// The bytes, for handing to a library. Never log or print them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn duplicate(&self) -> Self {
        Secret::new(self.0.to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.expose(), other.expose());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "Locked:" kB of the mapping holding `addr`, from /proc/self/smaps.
    fn locked_kb_at(addr: usize) -> Option<u64> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ')
                && let Some((a, b)) = range.split_once('-')
                && let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                inside = (a..b).contains(&addr);
            } else if inside && let Some(v) = line.strip_prefix("Locked:") {
                return v.trim().trim_end_matches("kB").trim().parse().ok();
            }
        }
        None
    }

    #[test]
    fn a_secret_is_locked_in_memory_while_it_lives() {
        // 256 KiB: its own mapping (malloc maps large buffers apart), so the count is its own
        let s = Secret::new(vec![7u8; 256 << 10]);
        let at = s.expose().as_ptr() as usize;
        assert!(locked_kb_at(at).unwrap() >= 256, "not locked: {:?} kB", locked_kb_at(at));
        let r = Secret::random(256 << 10).unwrap();
        assert!(locked_kb_at(r.expose().as_ptr() as usize).unwrap() >= 256);
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::from_text("hunter2");
        assert_eq!(format!("{s} {s:?} {:?}", Some(&s)), "[redacted] [redacted] Some([redacted])");
        assert_eq!(s.expose(), b"hunter2");
    }

    #[test]
    fn files_lose_one_trailing_newline_and_random_is_random() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p"), "pass phrase\n\n").unwrap();
        assert_eq!(Secret::from_file(&dir.path().join("p")).unwrap().expose(), b"pass phrase\n");
        let (a, b) = (Secret::random(32).unwrap(), Secret::random(32).unwrap());
        assert_eq!(a.len(), 32);
        assert!(a != b);
        assert!(a == a.duplicate());
    }
}
