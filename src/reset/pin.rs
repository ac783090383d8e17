//! The kiosk menu's PIN gate: wrong PINs are counted in a file that outlives the menu and the
//! boot (`/var/lib/imprint/reset-pin-failures`, root's, 0600), and after the third each next try
//! waits longer (5 s, 10 s, 20 s, … up to an hour), so a keyboard injector that types PINs as
//! fast as it can gets a few hundred tries a day instead of thousands a minute. The wait is
//! enforced here, in the engine, whatever the page shows.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::profile::conf::PinHash;
use crate::secret::Secret;

/// Where the failures are counted unless told otherwise.
pub const DEFAULT_STATE: &str = "/var/lib/imprint/reset-pin-failures";
/// Wrong PINs before the first wait.
pub const FREE_TRIES: u32 = 3;
/// The longest wait between tries.
pub const MAX_WAIT_SECS: u64 = 3600;

/// What a try at the PIN came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinVerdict {
    Right,
    /// Wrong; `failures` in a row now, and the next try must wait `wait_secs`.
    Wrong {
        failures: u32,
        wait_secs: u64,
    },
    /// Not checked: the last wrong PIN was too recent; try again in `secs`.
    Wait {
        secs: u64,
    },
}

/// The wait after `failures` wrong PINs in a row.
pub fn wait_after(failures: u32) -> u64 {
    if failures < FREE_TRIES { 0 } else { 5u64.checked_shl(failures - FREE_TRIES).unwrap_or(u64::MAX).min(MAX_WAIT_SECS) }
}

pub struct PinGate {
    hash: PinHash,
    state: PathBuf,
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

impl PinGate {
    pub fn new(hash: PinHash, state: &Path) -> PinGate {
        PinGate { hash, state: state.to_path_buf() }
    }

    /// (failures in a row, when the last one was, in seconds since the epoch).
    fn read(&self) -> std::io::Result<(u32, u64)> {
        let mut text = String::new();
        match std::fs::File::options().read(true).custom_flags(libc::O_NOFOLLOW).open(&self.state) {
            Ok(f) => {
                f.take(64).read_to_string(&mut text)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
            Err(e) => return Err(e),
        }
        let mut w = text.split_whitespace().map(|v| v.parse::<u64>().ok());
        match (w.next().flatten(), w.next().flatten()) {
            (Some(n), Some(t)) => Ok((u32::try_from(n).unwrap_or(u32::MAX), t)),
            // a damaged count counts as three failures just now: the safe side, and not forever
            _ => Ok((FREE_TRIES, u64::MAX)),
        }
    }

    fn write(&self, failures: u32, at: u64) -> std::io::Result<()> {
        let dir = self.state.parent().unwrap_or(Path::new("/"));
        match std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let mut tmp = tempfile::Builder::new().prefix(".#reset-pin").tempfile_in(dir)?;
        writeln!(tmp, "{failures} {at}")?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.state).map_err(|e| e.error)?;
        Ok(())
    }

    /// Checks `pin` unless the last wrong one was too recent, and counts the result.
    pub fn check(&self, pin: &Secret, now: SystemTime) -> std::io::Result<PinVerdict> {
        let now = secs(now);
        let (failures, last) = self.read()?;
        // a clock set back does not shorten the wait: a failure "in the future" is now
        if last > now {
            self.write(failures, now)?;
        }
        let last = last.min(now);
        let until = last.saturating_add(wait_after(failures));
        if now < until {
            return Ok(PinVerdict::Wait { secs: until - now });
        }
        if crate::firstboot::crypt::verify_password(pin, self.hash.as_str()) {
            if failures != 0 {
                self.write(0, 0)?;
            }
            return Ok(PinVerdict::Right);
        }
        let failures = failures.saturating_add(1);
        self.write(failures, now)?;
        Ok(PinVerdict::Wrong { failures, wait_secs: wait_after(failures) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn waits_grow_after_three_wrong_pins_and_survive_a_new_gate() {
        assert_eq!((0..8).map(wait_after).collect::<Vec<_>>(), [0, 0, 0, 5, 10, 20, 40, 80]);
        assert_eq!(wait_after(40), MAX_WAIT_SECS);
        assert_eq!(wait_after(u32::MAX), MAX_WAIT_SECS);

        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/reset-pin-failures");
        let hash = crate::firstboot::crypt::hash_password(&Secret::from_text("4711")).unwrap();
        let pin = crate::profile::conf::parse_pin_hash(&hash).unwrap().unwrap();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let wrong = Secret::from_text("0000");
        let gate = PinGate::new(pin.clone(), &state);
        assert_eq!(gate.check(&wrong, at(0)).unwrap(), PinVerdict::Wrong { failures: 1, wait_secs: 0 });
        assert_eq!(gate.check(&wrong, at(0)).unwrap(), PinVerdict::Wrong { failures: 2, wait_secs: 0 });
        assert_eq!(gate.check(&wrong, at(1)).unwrap(), PinVerdict::Wrong { failures: 3, wait_secs: 5 });
        // even the right PIN is not checked during the wait, and a new menu (a new gate) knows it
        let gate = PinGate::new(pin.clone(), &state);
        assert_eq!(gate.check(&Secret::from_text("4711"), at(3)).unwrap(), PinVerdict::Wait { secs: 3 });
        assert_eq!(gate.check(&wrong, at(6)).unwrap(), PinVerdict::Wrong { failures: 4, wait_secs: 10 });
        // a clock set back does not help
        assert_eq!(gate.check(&wrong, UNIX_EPOCH + Duration::from_secs(1_000)).unwrap(), PinVerdict::Wait { secs: 10 });
        assert_eq!(gate.check(&Secret::from_text("4711"), at(16)).unwrap(), PinVerdict::Right);
        assert_eq!(std::fs::read_to_string(&state).unwrap(), "0 0\n");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o600);
        // a damaged count is the safe side: wait
        std::fs::write(&state, "garbage").unwrap();
        assert_eq!(gate.check(&Secret::from_text("4711"), at(100)).unwrap(), PinVerdict::Wait { secs: 5 });
        assert_eq!(gate.check(&Secret::from_text("4711"), at(105)).unwrap(), PinVerdict::Right);
    }
}
