//! A/B image updates in systemd-sysupdate's format: `sysupdate.d/*.transfer` definitions, the
//! versions a source offers in its (signed) `SHA256SUMS`, the versions installed in partition
//! slots or files, and the update itself — vacuum, download into a free slot, label.
//!
//! It follows `src/sysupdate/` of systemd: version order is `strverscmp_improved()`, a slot is
//! chosen as `find_suitable_partition()` does (the smallest `_empty` partition of the type,
//! after `transfer_vacuum()` made room by emptying the oldest unprotected version), and a slot
//! is labeled with its version (and its attribute bits set) only after every transfer's data is
//! written and its SHA-256 matched the manifest. What it must not do: write the slot of the
//! running system, install an older version unless it is named, or label anything whose hash
//! did not match. This is the only module that uses reqwest (in [`fetch`]).
//!
//! The parts: this file holds the types and the [`Context`] (`list`, `check`, `pending`);
//! `target` reads a transfer's target (slots of a disk, or files of a folder) and `offers` its
//! source's versions; `vacuum` makes room ([`vacuum_one`]); `apply` acquires, checks and labels
//! ([`apply`]).

pub mod cli;
pub mod fetch;
pub mod manifest;
pub mod pattern;
pub mod sink;
pub mod transfer;
pub mod tree;
pub mod version;

mod apply;
pub mod lock;
mod offers;
mod target;
mod vacuum;

use std::cmp::Ordering;
use std::path::PathBuf;

use crate::profile::ini::ConfigError;
use fetch::{FetchError, Fetcher};
use manifest::ManifestError;
use pattern::Metadata;
use transfer::{Specifiers, Transfer};
use uuid::Uuid;

pub use apply::{Applied, InstalledInto, apply, new_flags};
pub use vacuum::{Removed, vacuum};

/// The label of a free partition slot.
pub const EMPTY_LABEL: &str = "_empty";
/// Where sysupdate's keyring lives.
pub const DEFAULT_KEYRING: &str = "/etc/systemd/import-pubring.gpg";

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{file}: {what} is not supported by imprint yet")]
    Unsupported { file: PathBuf, what: String },
    #[error("{transfer}: {source}")]
    Manifest {
        transfer: String,
        #[source]
        source: ManifestError,
    },
    #[error("{transfer}: {source}")]
    Fetch {
        transfer: String,
        #[source]
        source: FetchError,
    },
    #[error("{transfer}: the source has no SHA256SUMS.gpg, and the transfer does not say Verify=no")]
    SignatureMissing { transfer: String },
    #[error("{transfer}: {name}: SHA-256 {got} does not match the manifest's {expected}; the slot stays unlabeled")]
    HashMismatch { transfer: String, name: String, expected: String, got: String },
    #[error("{transfer}: {why}")]
    Target { transfer: String, why: String },
    #[error("{transfer}: no free ('_empty') partition of type {ptype} large enough{need}")]
    NoSlot { transfer: String, ptype: String, need: String },
    #[error("version {0} is not offered by every transfer's source")]
    NotOffered(String),
    #[error("version {version} is below {transfer}'s MinVersion={min}: it is never installed, even when named")]
    BelowMinVersion { version: String, transfer: String, min: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted; no slot was labeled with the new version")]
    Cancelled,
    #[error("another update of {} is running{}; try again when it has finished", what.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Busy { what: PathBuf, pid: Option<u32> },
    #[error("an update writes only while it holds the update lock (Context::load_locked)")]
    NotLocked,
}

fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> UpdateError {
    let what = what.into();
    move |source| UpdateError::Io { what, source }
}

/// What the command line asks for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Only this folder of `*.transfer` files (default: sysupdate's folders under `root`).
    pub definitions: Option<PathBuf>,
    pub root: PathBuf,
    /// A disk image (or device) to update instead of the disk holding the running system.
    pub image: Option<PathBuf>,
    pub keyring: Option<PathBuf>,
    /// The version of the running system (with `--image` nothing is running unless this says so;
    /// otherwise it defaults to IMAGE_VERSION of os-release).
    pub running_version: Option<String>,
    /// YYYY-MM-DD, for BEST-BEFORE lines.
    pub today: String,
}

/// A partition of the right type on a target disk.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Slot {
    pub number: u32,
    pub label: String,
    pub offset: u64,
    pub size: u64,
    pub type_uuid: Uuid,
    pub uuid: Uuid,
    pub flags: u64,
    /// It backs the running system (`/` or `/usr`): never written.
    pub running: bool,
}

/// Where an installed version lives.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Location {
    Partition(u32),
    File(PathBuf),
}

/// One installed version of one transfer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Instance {
    pub version: String,
    pub location: Location,
    pub running: bool,
    #[serde(skip)]
    pub meta: Metadata,
}

/// A transfer's target as found.
#[derive(Debug, Clone)]
pub struct TargetState {
    /// The disk (partition targets) or folder (file targets).
    pub path: PathBuf,
    pub sector: u32,
    /// Partitions of the matching type, in table order.
    pub slots: Vec<Slot>,
    /// Installed versions, newest first.
    pub instances: Vec<Instance>,
}

impl TargetState {
    pub fn n_empty(&self) -> usize {
        self.slots.iter().filter(|s| s.label == EMPTY_LABEL && !s.running).count()
    }

    fn has(&self, v: &str) -> bool {
        self.instances.iter().any(|i| i.version == v)
    }
}

/// One version a source offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Offer {
    pub version: String,
    pub name: String,
    /// URL or path.
    pub location: String,
    pub sha256: Option<String>,
    #[serde(skip)]
    pub meta: Metadata,
}

/// A transfer with its target and (once fetched) its source's offers.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub transfer: Transfer,
    pub target: TargetState,
    pub offers: Vec<Offer>,
}

/// Everything `list`/`check`/`apply`/`vacuum`/`pending` work on.
#[derive(Debug, Clone)]
pub struct Context {
    pub transfers: Vec<Loaded>,
    /// The version the running system reports (for `pending` and `list`).
    pub booted_version: Option<String>,
    /// `--root`: where absolute CurrentSymlink= paths live.
    pub root: PathBuf,
    /// Held from before the targets were read until this context is dropped, when loaded to
    /// write ([`Context::load_locked`]); `apply` and `vacuum` refuse to run without it.
    pub lock: Option<std::sync::Arc<lock::UpdateLock>>,
}

/// One line of `list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VersionRow {
    pub version: String,
    /// Every transfer's source offers it.
    pub available: bool,
    /// Every transfer's target has it.
    pub installed: bool,
    /// Some installed instance of it backs the running system, or it is the booted version.
    pub current: bool,
    pub protected: bool,
    /// Below a transfer's MinVersion=.
    pub obsolete: bool,
    /// What `apply` without a version would install.
    pub candidate: bool,
    /// Older than the newest version installed or booted: installing it is a downgrade.
    pub older: bool,
}

impl Context {
    /// Reads the definitions and every target (no network yet).
    pub fn load(opts: &Options) -> Result<Context, UpdateError> {
        let spec = Specifiers::from_root(&opts.root);
        let dirs = match &opts.definitions {
            Some(d) => vec![d.clone()],
            None => transfer::default_dirs(&opts.root),
        };
        let transfers = transfer::load_all(&dirs, &spec)?;
        let booted_version = opts.running_version.clone().or_else(|| {
            if opts.image.is_some() {
                return None;
            }
            spec.values.iter().find(|(c, _)| *c == 'A').map(|(_, v)| v.clone())
        });
        let mut loaded = Vec::new();
        for t in transfers {
            target::refuse_unsupported(&t)?;
            let target = target::load_target(&t, opts)?;
            loaded.push(Loaded { transfer: t, target, offers: Vec::new() });
        }
        Ok(Context { transfers: loaded, booted_version, root: opts.root.clone(), lock: None })
    }

    /// [`Context::load`] for writing: takes the system's update lock first (refused with the
    /// holder's pid when another update runs), so what is read stays true until the labels are
    /// written.
    pub fn load_locked(opts: &Options) -> Result<Context, UpdateError> {
        let lock = lock::UpdateLock::acquire(opts)?;
        let mut ctx = Context::load(opts)?;
        ctx.lock = Some(std::sync::Arc::new(lock));
        Ok(ctx)
    }

    /// Reads every source's offers (the manifest, verified unless Verify=no).
    pub fn fetch_offers(&mut self, fetcher: &Fetcher, opts: &Options) -> Result<(), UpdateError> {
        let mut keyring: Option<Vec<pgp::composed::SignedPublicKey>> = None;
        for l in &mut self.transfers {
            if l.transfer.verify && l.transfer.source.kind.is_url() && keyring.is_none() {
                let path = opts.keyring.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_KEYRING));
                let bytes = std::fs::read(&path).map_err(io_err(format!("reading the keyring {}", path.display())))?;
                keyring = Some(
                    manifest::load_keyring(&bytes, &path.display().to_string())
                        .map_err(|e| UpdateError::Manifest { transfer: l.transfer.id.clone(), source: e })?,
                );
            }
            l.offers = offers::load_offers(&l.transfer, fetcher, keyring.as_deref(), opts)?;
        }
        Ok(())
    }

    fn protected(&self, v: &str) -> bool {
        self.transfers.iter().any(|l| l.transfer.protect_versions.iter().any(|p| p == v))
    }

    /// Every version any source offers or any target holds, newest first.
    pub fn versions(&self) -> Vec<VersionRow> {
        let mut all: Vec<String> = Vec::new();
        for l in &self.transfers {
            for v in l.offers.iter().map(|o| &o.version).chain(l.target.instances.iter().map(|i| &i.version)) {
                if !all.contains(v) {
                    all.push(v.clone());
                }
            }
        }
        all.sort_by(|a, b| version::compare(b, a));
        let candidate = self.candidate(None).ok().flatten();
        let mut have: Vec<&str> = self.booted_version.iter().map(String::as_str).collect();
        have.extend(self.newest_installed_any());
        let newest_have = have.into_iter().max_by(|a, b| version::compare(a, b)).map(str::to_string);
        all.into_iter()
            .map(|v| VersionRow {
                available: self.transfers.iter().all(|l| l.offers.iter().any(|o| o.version == v)),
                installed: self.transfers.iter().all(|l| l.target.has(&v)),
                current: self.booted_version.as_deref() == Some(v.as_str())
                    || self.transfers.iter().any(|l| l.target.instances.iter().any(|i| i.version == v && i.running)),
                protected: self.protected(&v),
                obsolete: self.obsolete(&v),
                candidate: candidate.as_deref() == Some(v.as_str()),
                older: newest_have.as_deref().is_some_and(|n| version::compare(&v, n) == Ordering::Less),
                version: v,
            })
            .collect()
    }

    fn obsolete(&self, v: &str) -> bool {
        self.transfers.iter().any(|l| l.transfer.min_version.as_deref().is_some_and(|m| version::compare(v, m) == Ordering::Less))
    }

    /// The newest version any target holds.
    fn newest_installed_any(&self) -> Option<&str> {
        self.transfers.iter().flat_map(|l| l.target.instances.iter().map(|i| i.version.as_str())).max_by(|a, b| version::compare(a, b))
    }

    /// The newest version every target holds.
    pub fn newest_installed(&self) -> Option<String> {
        let first = self.transfers.first()?;
        first.target.instances.iter().map(|i| i.version.clone()).find(|v| self.transfers.iter().all(|l| l.target.has(v)))
    }

    /// The version `apply` installs: `requested` when given (it must be on offer), else the
    /// newest one every source offers when it is newer than the newest installed. None: nothing
    /// to do.
    pub fn candidate(&self, requested: Option<&str>) -> Result<Option<String>, UpdateError> {
        let offered = |v: &str| self.transfers.iter().all(|l| l.offers.iter().any(|o| o.version == v));
        if let Some(v) = requested {
            if !offered(v) {
                return Err(UpdateError::NotOffered(v.to_string()));
            }
            // naming a version does not lift MinVersion=: an old, vulnerable image stays refused
            if let Some(l) =
                self.transfers.iter().find(|l| l.transfer.min_version.as_deref().is_some_and(|m| version::compare(v, m) == Ordering::Less))
            {
                return Err(UpdateError::BelowMinVersion {
                    version: v.to_string(),
                    transfer: l.transfer.id.clone(),
                    min: l.transfer.min_version.clone().unwrap_or_default(),
                });
            }
            let done = self.transfers.iter().all(|l| l.target.has(v));
            return Ok((!done).then(|| v.to_string()));
        }
        let mut offers: Vec<&str> = self
            .transfers
            .first()
            .map(|l| l.offers.iter().map(|o| o.version.as_str()).filter(|v| offered(v) && !self.obsolete(v)).collect())
            .unwrap_or_default();
        offers.sort_by(|a, b| version::compare(b, a));
        let Some(newest) = offers.first() else { return Ok(None) };
        let newer = match self.newest_installed() {
            Some(inst) => version::compare(newest, &inst) == Ordering::Greater,
            None => true,
        };
        let done = self.transfers.iter().all(|l| l.target.has(newest));
        Ok((newer && !done).then(|| newest.to_string()))
    }
}

/// `pending`: the newest installed version when it is newer than the booted one.
pub fn pending(ctx: &Context) -> Option<String> {
    let newest = ctx.newest_installed()?;
    match &ctx.booted_version {
        Some(b) if version::compare(&newest, b) != Ordering::Greater => None,
        _ => Some(newest),
    }
}

/// Today as YYYY-MM-DD (UTC), for BEST-BEFORE lines.
pub fn today_utc() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let days = (secs / 86400) as i64;
    // civil_from_days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_date() {
        let t = today_utc();
        assert_eq!(t.len(), 10);
        assert!(t.as_str() > "2024-01-01");
    }
}
