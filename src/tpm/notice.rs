//! The notice after a boot where the TPM no longer unlocks the root by itself (issue 16 point 2).
//!
//! At boot, `imprint tpm check --notify` (the unit `imprint-tpm-check.service`) compares the
//! root's `systemd-tpm2` tokens with this boot's PCR values. When none matches — the boot asked
//! for the recovery key, or will next time — it leaves two files in `/run`:
//! - `/run/imprint/tpm-key-stale.json`: the volume's status (what changed, the likely cause),
//!   which the login offer (`imprint tpm check --offer`, from `/etc/profile.d/imprint-tpm.sh`)
//!   looks for;
//! - `/run/imprint/tpm-notice.issue`: the same in words, which agetty shows above every login
//!   prompt on the console (VT and serial) through the link `/etc/issue.d/50-imprint-tpm.issue`
//!   the image ships (agetty reads `/run/issue.d` only when there is no `/etc/issue`, and
//!   Debian has one; a link whose target is missing shows nothing).
//!
//! Both go when the key matches again (after `imprint tpm reseal`). No secret is in them.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::status::VolumeStatus;

/// Where the notice is kept: under `/run` on a system, under a test's folder in tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticePaths {
    /// The volume's status, as JSON.
    pub state: PathBuf,
    /// The text agetty shows above the login prompt.
    pub issue: PathBuf,
    /// Left when the person declined the offer at a login: later logins of this boot do not ask.
    pub declined: PathBuf,
}

impl NoticePaths {
    /// The paths under `run` (`/run` on a system).
    pub fn under(run: &Path) -> NoticePaths {
        NoticePaths {
            state: run.join("imprint/tpm-key-stale.json"),
            issue: run.join("imprint/tpm-notice.issue"),
            declined: run.join("imprint/tpm-offer-declined"),
        }
    }

    /// Whether a notice is up.
    pub fn pending(&self) -> bool {
        self.state.exists()
    }

    /// Whether the offer was declined at an earlier login of this boot.
    pub fn declined(&self) -> bool {
        self.declined.exists()
    }
}

/// The notice in words: which disk, what changed, what to do. agetty expands backslash
/// escapes in issue files, so none are in it.
pub fn text(volume: &VolumeStatus) -> String {
    let mut s = format!("imprint: the TPM no longer unlocks {} by itself.\n", volume.volume);
    if let Some(p) = &volume.problem {
        s.push_str(&p.message);
        s.push('\n');
    }
    s.push_str(
        "Log in as root to reseal it now with the recovery key, or run `imprint tpm reseal`. Until then every start asks for the recovery key.\n",
    );
    s.replace('\\', "/")
}

/// Puts the notice up for `volume` (replacing an older one), each file written whole or not at
/// all: a new file in the same folder, renamed over the old one (a link there is replaced, not
/// followed).
pub fn write(paths: &NoticePaths, volume: &VolumeStatus) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(volume).map_err(std::io::Error::other)?;
    replace(&paths.state, &json)?;
    let mut issue = text(volume);
    issue.push('\n');
    replace(&paths.issue, issue.as_bytes())
}

/// Takes the notice down (and the declined mark with it); what is not there is fine.
pub fn clear(paths: &NoticePaths) -> std::io::Result<()> {
    for p in [&paths.state, &paths.issue, &paths.declined] {
        match std::fs::remove_file(p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Marks the offer declined for the rest of this boot.
pub fn decline(paths: &NoticePaths) -> std::io::Result<()> {
    replace(&paths.declined, b"")
}

fn replace(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other(format!("{} has no folder", path.display())))?;
    std::fs::create_dir_all(dir)?;
    let mut f = tempfile::Builder::new().prefix(".imprint-notice.").tempfile_in(dir)?;
    f.write_all(data)?;
    f.as_file().sync_all()?;
    use std::os::unix::fs::PermissionsExt;
    f.as_file().set_permissions(std::fs::Permissions::from_mode(0o644))?;
    f.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tpm::PcrBank;
    use crate::tpm::status::{Problem, ProblemKind, TokenStatus, VolumeStatus};

    fn stale() -> VolumeStatus {
        VolumeStatus {
            volume: "/dev/vda2".into(),
            tokens: vec![TokenStatus {
                keyslot: 1,
                pcrs: vec![7],
                bank: PcrBank::Sha256,
                pin: false,
                signed_policy: false,
                policy: "PCR 7".into(),
                signed_pcrs: vec![],
                public_key_sha256: None,
                changed_pcrs: Some(vec![7]),
                matches: Some(false),
                error: None,
            }],
            problem: Some(Problem {
                kind: ProblemKind::PolicyChanged,
                message: "the TPM2 key of /dev/vda2 no longer matches this boot's PCR values (PCR 7). Likely cause: dbx \\ updated.".into(),
                advice: "run imprint tpm reseal".into(),
            }),
        }
    }

    #[test]
    fn a_notice_goes_up_whole_and_comes_down_with_the_declined_mark() {
        let dir = tempfile::tempdir().unwrap();
        let paths = NoticePaths::under(dir.path());
        assert!(!paths.pending());
        write(&paths, &stale()).unwrap();
        assert!(paths.pending());
        let issue = std::fs::read_to_string(&paths.issue).unwrap();
        assert!(issue.starts_with("imprint: the TPM no longer unlocks /dev/vda2 by itself.\n"), "{issue}");
        assert!(issue.contains("PCR 7") && issue.contains("imprint tpm reseal"), "{issue}");
        assert!(!issue.contains('\\'), "agetty would expand a backslash: {issue}");
        let state: serde_json::Value = serde_json::from_slice(&std::fs::read(&paths.state).unwrap()).unwrap();
        assert_eq!(state["tokens"][0]["matches"], false);
        decline(&paths).unwrap();
        assert!(paths.declined());
        // a link where the issue file goes is replaced, its target untouched
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "keep").unwrap();
        std::fs::remove_file(&paths.issue).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &paths.issue).unwrap();
        write(&paths, &stale()).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep");
        assert!(!std::fs::symlink_metadata(&paths.issue).unwrap().file_type().is_symlink());
        clear(&paths).unwrap();
        assert!(!paths.pending() && !paths.declined() && !paths.issue.exists());
        clear(&paths).unwrap();
        // no temporary files left behind
        assert_eq!(std::fs::read_dir(dir.path().join("imprint")).unwrap().count(), 0);
    }
}
