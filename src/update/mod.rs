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

pub mod cli;
pub mod fetch;
pub mod manifest;
pub mod pattern;
pub mod sink;
pub mod transfer;
pub mod tree;
pub mod version;

use std::cmp::Ordering;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use uuid::Uuid;

use crate::disk;
use crate::exec::Event;
use crate::fsflags;
use crate::profile::ini::ConfigError;
use crate::profile::types;
use fetch::{FetchError, Fetcher};
use manifest::ManifestError;
use pattern::{Match, Metadata};
use sink::{Decompress, Sink, SlotWriter};
use transfer::{ResourcePath, ResourceType, Specifiers, Transfer};

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
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("interrupted; no slot was labeled with the new version")]
    Cancelled,
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
            refuse_unsupported(&t)?;
            let target = load_target(&t, opts)?;
            loaded.push(Loaded { transfer: t, target, offers: Vec::new() });
        }
        Ok(Context { transfers: loaded, booted_version, root: opts.root.clone() })
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
            l.offers = load_offers(&l.transfer, fetcher, keyring.as_deref(), opts)?;
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
        all.into_iter()
            .map(|v| VersionRow {
                available: self.transfers.iter().all(|l| l.offers.iter().any(|o| o.version == v)),
                installed: self.transfers.iter().all(|l| l.target.has(&v)),
                current: self.booted_version.as_deref() == Some(v.as_str())
                    || self.transfers.iter().any(|l| l.target.instances.iter().any(|i| i.version == v && i.running)),
                protected: self.protected(&v),
                obsolete: self.obsolete(&v),
                candidate: candidate.as_deref() == Some(v.as_str()),
                version: v,
            })
            .collect()
    }

    fn obsolete(&self, v: &str) -> bool {
        self.transfers.iter().any(|l| l.transfer.min_version.as_deref().is_some_and(|m| version::compare(v, m) == Ordering::Less))
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

/// What imprint does not carry out is refused by name.
fn refuse_unsupported(t: &Transfer) -> Result<(), UpdateError> {
    let unsupported = |what: String| Err(UpdateError::Unsupported { file: t.file.clone(), what });
    // btrfs subvolumes are the one kind left
    if t.source.kind == ResourceType::Subvolume {
        return unsupported("[Source] Type=subvolume".into());
    }
    if t.target.kind == ResourceType::Subvolume {
        return unsupported("[Target] Type=subvolume".into());
    }
    Ok(())
}

/// The disk a partition target names, and the partition numbers that back the running system
/// on it.
fn resolve_disk(t: &Transfer, opts: &Options) -> Result<(PathBuf, Vec<u32>), UpdateError> {
    let terr = |why: String| UpdateError::Target { transfer: t.id.clone(), why };
    if let Some(img) = &opts.image {
        return Ok((img.clone(), Vec::new()));
    }
    let auto = disk::sysfs::resolve_source_auto(&disk::sysfs::SysPaths::default());
    let running = |a: &disk::sysfs::AutoSource| a.root_partno.into_iter().chain(a.usr_partno).collect::<Vec<u32>>();
    match &t.target.path {
        ResourcePath::Auto => {
            if opts.root != Path::new("/") {
                return Err(terr("Path=auto with --root needs --image".into()));
            }
            let a = auto.map_err(|e| terr(format!("Path=auto: {e}")))?;
            let r = running(&a);
            Ok((a.disk, r))
        }
        ResourcePath::Path(p) => {
            let p = PathBuf::from(p);
            let r = match auto {
                Ok(a) if a.disk == p => running(&a),
                _ => Vec::new(),
            };
            Ok((p, r))
        }
    }
}

fn load_target(t: &Transfer, opts: &Options) -> Result<TargetState, UpdateError> {
    match t.target.kind {
        ResourceType::Partition => load_partition_target(t, opts),
        _ => load_file_target(t, opts),
    }
}

fn load_partition_target(t: &Transfer, opts: &Options) -> Result<TargetState, UpdateError> {
    let (path, running_parts) = resolve_disk(t, opts)?;
    let (f, sector) = disk::open_locked(&path, false).map_err(io_err(format!("opening {}", path.display())))?;
    let table = disk::table::read_gpt(&f, sector)
        .map_err(io_err(format!("reading the GPT of {}", path.display())))?
        .ok_or_else(|| UpdateError::Target { transfer: t.id.clone(), why: format!("{} has no GPT", path.display()) })?;
    let ptype = t.target.partition_type.as_ref().map(|p| p.uuid);
    let mut slots = Vec::new();
    let mut instances = Vec::new();
    for p in table.partitions.iter().filter(|p| ptype.is_none_or(|u| u == p.type_uuid)) {
        let mut slot = Slot {
            number: p.number,
            label: p.label.clone(),
            offset: p.first_lba * u64::from(sector),
            size: (p.last_lba + 1 - p.first_lba) * u64::from(sector),
            type_uuid: p.type_uuid,
            uuid: p.uuid,
            flags: p.flags,
            running: running_parts.contains(&p.number),
        };
        if let Match::Yes(meta) = pattern::match_many(&t.target.patterns, &p.label) {
            slot.running |= opts.image.is_some() && opts.running_version.as_deref() == Some(meta.version.as_str());
            instances.push(Instance {
                version: meta.version.clone(),
                location: Location::Partition(p.number),
                running: slot.running,
                meta,
            });
        }
        slots.push(slot);
    }
    instances.sort_by(|a, b| version::compare(&b.version, &a.version));
    Ok(TargetState { path, sector, slots, instances })
}

fn file_target_dir(t: &Transfer, opts: &Options) -> PathBuf {
    match &t.target.path {
        ResourcePath::Path(p) => opts.root.join(p.trim_start_matches('/')),
        ResourcePath::Auto => opts.root.clone(),
    }
}

fn load_file_target(t: &Transfer, opts: &Options) -> Result<TargetState, UpdateError> {
    let dir = file_target_dir(t, opts);
    let mut instances = Vec::new();
    match std::fs::read_dir(&dir) {
        Ok(rd) => {
            for ent in rd {
                let ent = ent.map_err(io_err(format!("reading {}", dir.display())))?;
                let name = ent.file_name().to_string_lossy().into_owned();
                if name.starts_with(".#") || !is_kind(&ent, t.target.kind) {
                    continue;
                }
                if let Match::Yes(meta) = pattern::match_many(&t.target.patterns, &name) {
                    let running = opts.running_version.as_deref() == Some(meta.version.as_str());
                    instances.push(Instance { version: meta.version.clone(), location: Location::File(ent.path()), running, meta });
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
    }
    instances.sort_by(|a, b| version::compare(&b.version, &a.version));
    Ok(TargetState { path: dir, sector: 512, slots: Vec::new(), instances })
}

/// Whether a folder entry is what a resource of `kind` holds: folders for directory
/// resources, regular files for the rest (links are never instances).
fn is_kind(ent: &std::fs::DirEntry, kind: ResourceType) -> bool {
    let Ok(ft) = ent.file_type() else { return false };
    match kind {
        ResourceType::Directory | ResourceType::Subvolume => ft.is_dir(),
        _ => ft.is_file(),
    }
}

/// A local instance's time (µs) and mode (`& 0775`, as systemd masks it) when its name does not
/// give them.
fn stat_fields(meta: &mut Metadata, path: &Path) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(md) = std::fs::metadata(path) {
        if meta.mtime.is_none() && md.mtime() >= 0 {
            meta.mtime = Some(md.mtime() as u64 * 1_000_000 + md.mtime_nsec() as u64 / 1000);
        }
        if meta.mode.is_none() {
            meta.mode = Some(md.mode() & 0o775);
        }
    }
}

fn join_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name)
}

/// The versions `t`'s source offers.
fn load_offers(
    t: &Transfer,
    fetcher: &Fetcher,
    keyring: Option<&[pgp::composed::SignedPublicKey]>,
    opts: &Options,
) -> Result<Vec<Offer>, UpdateError> {
    let ResourcePath::Path(base) = &t.source.path else {
        return Err(UpdateError::Unsupported { file: t.file.clone(), what: "[Source] Path=auto".into() });
    };
    let mut offers = Vec::new();
    if t.source.kind.is_url() {
        let ferr = |e| UpdateError::Fetch { transfer: t.id.clone(), source: e };
        let sums_url = join_url(base, "SHA256SUMS");
        let sums = fetcher
            .get_small(&sums_url)
            .map_err(ferr)?
            .ok_or_else(|| ferr(FetchError::Http { url: sums_url.clone(), why: "not found (404): the source has no SHA256SUMS".into() }))?;
        if t.verify {
            let sig = fetcher.get_small(&join_url(base, "SHA256SUMS.gpg")).map_err(ferr)?;
            let sig = sig.ok_or_else(|| UpdateError::SignatureMissing { transfer: t.id.clone() })?;
            manifest::verify(&sums, &sig, keyring.unwrap_or_default())
                .map_err(|e| UpdateError::Manifest { transfer: t.id.clone(), source: e })?;
        }
        let text = String::from_utf8(sums).map_err(|_| UpdateError::Manifest {
            transfer: t.id.clone(),
            source: ManifestError::BadLine { line: 0, why: "not UTF-8".into() },
        })?;
        let entries = manifest::parse(&text, &opts.today).map_err(|e| UpdateError::Manifest { transfer: t.id.clone(), source: e })?;
        for e in entries {
            if let Match::Yes(meta) = pattern::match_many(&t.source.patterns, &e.name) {
                offers.push(Offer {
                    version: meta.version.clone(),
                    location: join_url(base, &e.name),
                    name: e.name,
                    sha256: Some(e.sha256),
                    meta,
                });
            }
        }
    } else {
        let dir = opts.root.join(base.trim_start_matches('/'));
        let rd = std::fs::read_dir(&dir).map_err(io_err(format!("reading the source folder {}", dir.display())))?;
        for ent in rd {
            let ent = ent.map_err(io_err(format!("reading {}", dir.display())))?;
            let name = ent.file_name().to_string_lossy().into_owned();
            if name.starts_with(".#") || !is_kind(&ent, t.source.kind) {
                continue;
            }
            if let Match::Yes(mut meta) = pattern::match_many(&t.source.patterns, &name) {
                stat_fields(&mut meta, &ent.path());
                offers.push(Offer {
                    version: meta.version.clone(),
                    location: format!("file://{}", ent.path().display()),
                    name,
                    sha256: meta.sha256.clone(),
                    meta,
                });
            }
        }
    }
    offers.sort_by(|a, b| version::compare(&b.version, &a.version));
    offers.dedup_by(|a, b| a.version == b.version);
    Ok(offers)
}

/// What one transfer's vacuum did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub transfer: String,
    pub version: String,
    pub location: Location,
}

/// systemd's `transfer_vacuum()`: makes room for `space` new instances under InstancesMax= and
/// (for partitions) the slots there are, removing the oldest versions that are not protected,
/// not `extra_protected` and not running. Partitions are emptied by labeling them `_empty`.
pub fn vacuum_one(l: &mut Loaded, space: u64, extra_protected: Option<&str>) -> Result<Vec<Removed>, UpdateError> {
    let t = &l.transfer;
    let terr = |why: String| UpdateError::Target { transfer: t.id.clone(), why };
    if t.remove_temporary && t.target.kind != ResourceType::Partition {
        remove_temporary(&l.target.path);
    }
    let mut limit = match t.instances_max {
        None => u64::MAX,
        Some(max) if space >= max => return Err(terr(format!("asked to make room for {space} of at most {max} instances"))),
        Some(max) => max - space,
    };
    if t.target.kind == ResourceType::Partition {
        let n_empty = l.target.n_empty() as u64;
        let n_inst = l.target.instances.len() as u64;
        if n_empty + n_inst < 2 {
            return Err(terr(format!("{} has fewer than two partition slots of the right type", l.target.path.display())));
        }
        if space >= n_empty + n_inst {
            return Err(terr("not enough partition slots of the right type; one instance must always remain".into()));
        }
        let rm = space.saturating_sub(n_empty);
        limit = limit.min(n_inst.saturating_sub(rm));
    }
    let mut removed = Vec::new();
    while l.target.instances.len() as u64 > limit {
        let pick = l
            .target
            .instances
            .iter()
            .rposition(|i| !i.running && !t.protect_versions.contains(&i.version) && extra_protected != Some(i.version.as_str()));
        let Some(p) = pick else { break };
        let inst = l.target.instances.remove(p);
        match &inst.location {
            Location::Partition(n) => {
                let slot = l.target.slots.iter_mut().find(|s| s.number == *n).expect("instance has a slot");
                let (f, sector) =
                    disk::open_locked(&l.target.path, true).map_err(io_err(format!("opening {}", l.target.path.display())))?;
                let patch = disk::table::EntryPatch { label: EMPTY_LABEL.into(), uuid: None, flags: slot.flags };
                disk::table::patch_partition(&f, sector, *n, &patch).map_err(io_err(format!("relabeling partition {n}")))?;
                slot.label = EMPTY_LABEL.into();
            }
            Location::File(p) => tree::remove(p).map_err(io_err(format!("removing version {}", inst.version)))?,
        }
        removed.push(Removed { transfer: t.id.clone(), version: inst.version, location: inst.location });
    }
    Ok(removed)
}

/// RemoveTemporary=: deletes `.#*` leftovers of earlier runs in a target folder.
fn remove_temporary(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_name().to_string_lossy().starts_with(".#") {
                let _ = tree::remove(&ent.path());
            }
        }
    }
}

/// What `apply` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Applied {
    pub version: String,
    pub removed: Vec<Removed>,
    pub installed: Vec<InstalledInto>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstalledInto {
    pub transfer: String,
    pub name: String,
    /// The label (partition) or file name given.
    pub label: String,
    pub location: Location,
    pub sha256: String,
    pub bytes: u64,
}

/// Data written for one transfer, waiting for its label or rename.
struct Acquired {
    index: usize,
    offer: Offer,
    fields: Metadata,
    name: String,
    location: Location,
    temp: Option<PathBuf>,
    sha256: String,
    bytes: u64,
}

/// The fields a new instance's name and partition entry are made from (systemd's
/// `compile_pattern_fields()`): the transfer's settings win over what the source name said.
fn compile_fields(t: &Transfer, o: &Offer) -> Metadata {
    let m = &o.meta;
    // a tarball's time and mode say nothing about the folder made from it
    let tar = matches!(t.source.kind, ResourceType::UrlTar | ResourceType::Tar);
    Metadata {
        version: o.version.clone(),
        partition_uuid: t.partition_uuid.or(m.partition_uuid),
        partition_flags: t.partition_flags.or(m.partition_flags),
        mtime: if tar { None } else { m.mtime },
        mode: t.mode.or(if tar { None } else { m.mode }),
        size: m.size,
        tries_done: t.tries_done.or(m.tries_done).or(Some(0)),
        tries_left: t.tries_left.or(m.tries_left).or(Some(3)),
        no_auto: t.no_auto.or(m.no_auto),
        read_only: t.read_only.or(m.read_only),
        growfs: t.growfs.or(m.growfs),
        sha256: m.sha256.clone(),
    }
}

/// The attribute bits a newly installed slot gets (systemd's `patch_partition()`): PartitionFlags=
/// replaces them when set; NoAuto/ReadOnly/GrowFileSystem change their bit only for types that
/// know it.
pub fn new_flags(old: u64, type_uuid: Uuid, f: &Metadata) -> u64 {
    let pt = types::from_uuid(type_uuid);
    let mut flags = f.partition_flags.unwrap_or(old);
    let mut set = |bit: u32, v: Option<bool>, knows: bool| {
        if let (Some(v), true) = (v, knows) {
            if v {
                flags |= 1 << bit;
            } else {
                flags &= !(1 << bit);
            }
        }
    };
    set(63, f.no_auto, pt.knows_no_auto());
    set(60, f.read_only, pt.knows_read_only());
    set(59, f.growfs, pt.knows_growfs());
    flags
}

/// Progress bookkeeping shared by the transfers of one run.
struct Meter<'a> {
    emit: &'a mut dyn FnMut(Event),
    step: usize,
    run_done: u64,
    run_total: u64,
    started: Instant,
    last: Instant,
}

impl Meter<'_> {
    fn progress(&mut self, done: u64, total: Option<u64>, force: bool) {
        let now = Instant::now();
        if !force && now.duration_since(self.last).as_millis() < 100 {
            return;
        }
        self.last = now;
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-3);
        let run_done = self.run_done + done;
        let rate = (run_done as f64 / secs) as u64;
        let total = total.unwrap_or(done);
        let eta = (rate > 0 && total >= done).then(|| (total - done) / rate.max(1));
        (self.emit)(Event::Progress {
            step: self.step,
            bytes_done: done,
            bytes_total: total,
            run_bytes_done: run_done,
            run_bytes_total: self.run_total.max(run_done),
            rate_bytes_per_sec: rate,
            eta_seconds: eta,
        });
    }
}

/// Installs `version` (or the candidate): vacuum each transfer to make room, download every
/// transfer's file into its new slot or temporary file (hashed while written), check every
/// hash, and only then label the slots / rename the files, in transfer order. Ok(None): nothing
/// newer to install.
pub fn apply(
    ctx: &mut Context,
    fetcher: &Fetcher,
    requested: Option<&str>,
    cancel: &dyn Fn() -> bool,
    emit: &mut dyn FnMut(Event),
) -> Result<Option<Applied>, UpdateError> {
    let Some(version) = ctx.candidate(requested)? else { return Ok(None) };
    let todo: Vec<usize> = (0..ctx.transfers.len()).filter(|k| !ctx.transfers[*k].target.has(&version)).collect();
    let target_desc = ctx.transfers.first().map(|l| l.target.path.display().to_string()).unwrap_or_default();
    let started = Instant::now();
    emit(Event::Started { target: target_desc.clone(), steps: todo.len(), bytes_total: 0 });
    let result = apply_steps(ctx, fetcher, &version, &todo, cancel, emit, started);
    match &result {
        Ok(_) => emit(Event::Finished { target: target_desc, seconds: started.elapsed().as_secs_f64() }),
        Err(e) => emit(Event::Failed { error: e.to_string(), table_written: false }),
    }
    result.map(Some)
}

fn apply_steps(
    ctx: &mut Context,
    fetcher: &Fetcher,
    version: &str,
    todo: &[usize],
    cancel: &dyn Fn() -> bool,
    emit: &mut dyn FnMut(Event),
    started: Instant,
) -> Result<Applied, UpdateError> {
    // 1. make room (sysupdate: context_vacuum(c, 1, version))
    let mut removed = Vec::new();
    for &k in todo {
        removed.extend(vacuum_one(&mut ctx.transfers[k], 1, Some(version))?);
    }
    // 2. acquire: data only, slots stay `_empty`, files stay temporary
    let mut meter = Meter { emit, step: 0, run_done: 0, run_total: 0, started, last: started };
    let mut acquired = Vec::new();
    for (n, &k) in todo.iter().enumerate() {
        if cancel() {
            return Err(UpdateError::Cancelled);
        }
        meter.step = n + 1;
        acquired.push(acquire(&ctx.transfers[k], k, version, fetcher, cancel, &mut meter, todo.len())?);
    }
    // 3. install: labels and renames, only now that every hash matched
    let mut installed = Vec::new();
    for a in acquired {
        installed.push(install(&mut ctx.transfers[a.index], a, &ctx.root, meter.emit)?);
    }
    Ok(Applied { version: version.to_string(), removed, installed })
}

fn acquire(
    l: &Loaded,
    index: usize,
    version: &str,
    fetcher: &Fetcher,
    cancel: &dyn Fn() -> bool,
    meter: &mut Meter<'_>,
    steps: usize,
) -> Result<Acquired, UpdateError> {
    let t = &l.transfer;
    let terr = |why: String| UpdateError::Target { transfer: t.id.clone(), why };
    let offer = l.offers.iter().find(|o| o.version == version).cloned().ok_or_else(|| UpdateError::NotOffered(version.to_string()))?;
    if t.source.kind.is_url() && offer.sha256.is_none() {
        return Err(terr(format!("no SHA-256 known for {}, refusing", offer.name)));
    }
    let fields = compile_fields(t, &offer);
    let name = t.target.patterns[0].format(&fields).ok_or_else(|| {
        terr(format!(
            "cannot name the new instance: MatchPattern={} uses a field {} does not give",
            t.target.patterns[0].as_str(),
            offer.name
        ))
    })?;
    (meter.emit)(Event::StepStarted {
        step: meter.step,
        steps,
        name: t.id.clone(),
        description: format!("{} {} → {}", t.id, offer.name, name),
    });
    let ferr = |e: FetchError| match e {
        FetchError::Cancelled => UpdateError::Cancelled,
        e => UpdateError::Fetch { transfer: t.id.clone(), source: e },
    };
    let (sink, location, temp): (Option<Box<dyn Sink>>, Location, Option<PathBuf>) = match t.target.kind {
        ResourceType::Partition => {
            if name.is_empty() || name == EMPTY_LABEL || name.encode_utf16().count() > 36 || name.chars().any(|c| c.is_control()) {
                return Err(terr(format!("'{name}' is not usable as a GPT partition label")));
            }
            let need = fields.size.unwrap_or(0);
            let slot = l
                .target
                .slots
                .iter()
                .filter(|s| s.label == EMPTY_LABEL && !s.running && s.size >= need)
                .min_by_key(|s| (s.size, s.number))
                .ok_or_else(|| UpdateError::NoSlot {
                    transfer: t.id.clone(),
                    ptype: t.target.partition_type.as_ref().and_then(|p| p.name()).unwrap_or_else(|| "any".into()),
                    need: fields.size.map(|s| format!(" for {s} bytes")).unwrap_or_default(),
                })?;
            let (f, _) = disk::open_locked(&l.target.path, true).map_err(io_err(format!("opening {}", l.target.path.display())))?;
            // never more than the slot holds, nor more than the name announced (@s)
            let limit = fields.size.map_or(slot.size, |s| s.min(slot.size));
            let sink: Box<dyn Sink> = Box::new(Decompress::new(Box::new(SlotWriter::new(f, slot.offset, limit))));
            (Some(sink), Location::Partition(slot.number), None)
        }
        kind => {
            if !manifest::filename_is_valid(&name) {
                return Err(terr(format!("'{name}' is not usable as a file name")));
            }
            let dir = &l.target.path;
            std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
            let mut rnd = [0u8; 8];
            let _ = getrandom::fill(&mut rnd);
            let temp = dir.join(format!(".#sysupdate{name}{}", rnd.iter().map(|b| format!("{b:02x}")).collect::<String>()));
            let sink: Option<Box<dyn Sink>> = if kind == ResourceType::RegularFile {
                let f = File::options()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .open(&temp)
                    .map_err(io_err(format!("creating {}", temp.display())))?;
                Some(Box::new(Decompress::new(Box::new(SlotWriter::new(f, 0, fields.size.unwrap_or(u64::MAX))))))
            } else {
                std::fs::create_dir(&temp).map_err(io_err(format!("creating {}", temp.display())))?;
                match t.source.kind {
                    ResourceType::Directory => None,
                    _ => Some(Box::new(Decompress::new(sink::tar_sink(&temp).map_err(io_err("starting the tar reader"))?))),
                }
            };
            (sink, Location::File(dir.join(&name)), Some(temp))
        }
    };
    let discard = |temp: &Option<PathBuf>| {
        if let Some(p) = temp {
            let _ = tree::remove(p);
        }
    };
    let mut warnings = Vec::new();
    let got = match sink {
        Some(sink) => {
            let mut on_progress = |done: u64, total: Option<u64>| meter.progress(done, total, false);
            let mut on_retry = |why: &str| warnings.push(why.to_string());
            fetcher.download(&offer.location, sink, cancel, &mut on_progress, &mut on_retry).map_err(ferr)
        }
        None => {
            // a folder source: copied file by file, nothing to hash
            let src = PathBuf::from(offer.location.trim_start_matches("file://"));
            let dst = temp.as_ref().expect("folder targets have a temporary folder");
            let mut on_progress = |done: u64| meter.progress(done, None, false);
            match tree::copy(&src, dst, cancel, &mut on_progress) {
                Ok(n) => Ok(fetch::Downloaded { bytes: n, written: n, sha256: String::new(), resumes: 0 }),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(UpdateError::Cancelled),
                Err(e) => Err(io_err(format!("copying {}", src.display()))(e)),
            }
        }
    };
    for w in warnings {
        (meter.emit)(Event::Warning { message: w });
    }
    let got = match got {
        Ok(g) => g,
        Err(e) => {
            discard(&temp);
            return Err(e);
        }
    };
    meter.progress(got.bytes, Some(got.bytes), true);
    meter.run_done += got.bytes;
    if let Some(expected) = &offer.sha256
        && *expected != got.sha256
    {
        discard(&temp);
        return Err(UpdateError::HashMismatch {
            transfer: t.id.clone(),
            name: offer.name.clone(),
            expected: expected.clone(),
            got: got.sha256,
        });
    }
    if let Some(p) = &temp
        && let Err(e) = set_time_and_mode(p, &fields)
    {
        discard(&temp);
        return Err(e);
    }
    Ok(Acquired { index, offer, fields, name, location, temp, sha256: got.sha256, bytes: got.bytes })
}

/// `@t` and `@m` (or Mode=) on a new file or folder, as sysupdate applies them after acquiring.
fn set_time_and_mode(p: &Path, f: &Metadata) -> Result<(), UpdateError> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(us) = f.mtime {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(us);
        File::open(p)
            .and_then(|h| h.set_times(std::fs::FileTimes::new().set_accessed(t).set_modified(t)))
            .map_err(io_err(format!("setting the time of {}", p.display())))?;
    }
    if let Some(mode) = f.mode {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .map_err(io_err(format!("setting the mode of {}", p.display())))?;
    }
    Ok(())
}

fn install(l: &mut Loaded, a: Acquired, root: &Path, emit: &mut dyn FnMut(Event)) -> Result<InstalledInto, UpdateError> {
    let t = &l.transfer;
    match &a.location {
        Location::Partition(n) => {
            let slot = l.target.slots.iter_mut().find(|s| s.number == *n).expect("acquired slot exists");
            let flags = new_flags(slot.flags, slot.type_uuid, &a.fields);
            let patch = disk::table::EntryPatch { label: a.name.clone(), uuid: a.fields.partition_uuid, flags };
            let (f, sector) = disk::open_locked(&l.target.path, true).map_err(io_err(format!("opening {}", l.target.path.display())))?;
            disk::table::patch_partition(&f, sector, *n, &patch).map_err(io_err(format!("labeling partition {n}")))?;
            slot.label = a.name.clone();
            slot.flags = flags;
            emit(Event::Verified { partition: *n, label: a.name.clone(), method: "sha256".into(), digest: a.sha256.clone() });
            if let Some(link) = &t.current_symlink {
                if is_block_device(&l.target.path) {
                    update_symlink(root, link, &partition_device(&l.target.path, *n))?;
                } else {
                    emit(Event::Warning {
                        message: format!(
                            "CurrentSymlink={link} not updated: {} is an image file, its partitions have no device nodes",
                            l.target.path.display()
                        ),
                    });
                }
            }
        }
        Location::File(final_path) => {
            let temp = a.temp.as_ref().expect("file targets write a temporary file");
            let is_dir = temp.is_dir();
            if a.fields.read_only == Some(true) && !is_dir {
                let mut p = std::fs::metadata(temp).map_err(io_err(format!("reading {}", temp.display())))?.permissions();
                p.set_readonly(true);
                std::fs::set_permissions(temp, p).map_err(io_err(format!("making {} read-only", temp.display())))?;
            }
            std::fs::rename(temp, final_path).map_err(io_err(format!("renaming {} to {}", temp.display(), final_path.display())))?;
            if a.fields.read_only == Some(true) && is_dir {
                // systemd's fs_make_very_read_only(): the immutable flag on a folder (kept
                // without it where the file system has no such flag)
                let set = fsflags::set_immutable(final_path, true).map_err(io_err(format!("making {} immutable", final_path.display())))?;
                if !set {
                    emit(Event::Warning {
                        message: format!("{}: the file system has no immutable flag; ReadOnly= not applied", final_path.display()),
                    });
                }
            }
            if let Ok(d) = File::open(&l.target.path) {
                let _ = d.sync_all();
            }
            if let Some(link) = &t.current_symlink {
                let base = if link.starts_with('/') { root } else { l.target.path.as_path() };
                update_symlink(base, link, final_path)?;
            }
        }
    }
    l.target
        .instances
        .insert(0, Instance { version: a.offer.version.clone(), location: a.location.clone(), running: false, meta: a.fields.clone() });
    l.target.instances.sort_by(|x, y| version::compare(&y.version, &x.version));
    emit(Event::StepFinished { step: a.index + 1, name: t.id.clone() });
    Ok(InstalledInto { transfer: t.id.clone(), name: a.offer.name, label: a.name, location: a.location, sha256: a.sha256, bytes: a.bytes })
}

/// CurrentSymlink=: `link` (under `base`: the root for an absolute path, the target folder for
/// a relative one) made a relative symlink to `target`, replaced atomically, its folder
/// created if missing (systemd's `symlink_atomic()` with `path_make_relative()`).
fn update_symlink(base: &Path, link: &str, target: &Path) -> Result<(), UpdateError> {
    let link_path = base.join(link.trim_start_matches('/'));
    let parent = link_path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(io_err(format!("creating {}", parent.display())))?;
    let rel = relative_path(parent, target);
    let tmp = parent.join(format!(".#{}", link_path.file_name().unwrap_or_default().to_string_lossy()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(&rel, &tmp).map_err(io_err(format!("creating {}", tmp.display())))?;
    std::fs::rename(&tmp, &link_path).map_err(io_err(format!("replacing {}", link_path.display())))
}

/// `to` as seen from the folder `from` (both absolute, or both relative to one place).
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..f.len() {
        rel.push("..");
    }
    for c in &t[common..] {
        rel.push(c);
    }
    rel
}

fn is_block_device(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_block_device())
}

/// The kernel's name for partition `n` of `disk`: `sda3`, but `nvme0n1p3`, `loop0p3`.
fn partition_device(disk: &Path, n: u32) -> PathBuf {
    let name = disk.to_string_lossy();
    let sep = if name.ends_with(|c: char| c.is_ascii_digit()) { "p" } else { "" };
    PathBuf::from(format!("{name}{sep}{n}"))
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
    fn flags_follow_patch_partition() {
        let usr = types::parse_type("usr-x86-64").unwrap().uuid;
        let generic = types::parse_type("linux-generic").unwrap().uuid;
        let f = Metadata { read_only: Some(true), no_auto: Some(false), growfs: Some(true), ..Default::default() };
        // usr knows all three bits
        assert_eq!(new_flags(1 << 63, usr, &f), 1 << 60 | 1 << 59);
        // linux-generic knows none of them
        assert_eq!(new_flags(4, generic, &f), 4);
        let f = Metadata { partition_flags: Some(1), read_only: Some(true), ..Default::default() };
        assert_eq!(new_flags(1 << 63, usr, &f), 1 | 1 << 60);
    }

    #[test]
    fn symlinks_are_relative_and_partitions_named_as_the_kernel_does() {
        assert_eq!(relative_path(Path::new("/r/var/lib/app"), Path::new("/r/var/lib/app/app_2")), Path::new("app_2"));
        assert_eq!(relative_path(Path::new("/r/etc/ext"), Path::new("/r/var/lib/ext/x.raw")), Path::new("../../var/lib/ext/x.raw"));
        assert_eq!(relative_path(Path::new("/run/imprint"), Path::new("/dev/sda3")), Path::new("../../dev/sda3"));
        assert_eq!(partition_device(Path::new("/dev/sda"), 3), Path::new("/dev/sda3"));
        assert_eq!(partition_device(Path::new("/dev/nvme0n1"), 3), Path::new("/dev/nvme0n1p3"));
        assert_eq!(partition_device(Path::new("/dev/loop7"), 2), Path::new("/dev/loop7p2"));
        let root = tempfile::tempdir().unwrap();
        update_symlink(root.path(), "/etc/extensions/app.raw", &root.path().join("var/lib/ext/app_2.raw")).unwrap();
        assert_eq!(std::fs::read_link(root.path().join("etc/extensions/app.raw")).unwrap(), Path::new("../../var/lib/ext/app_2.raw"));
    }

    #[test]
    fn today_is_a_date() {
        let t = today_utc();
        assert_eq!(t.len(), 10);
        assert!(t.as_str() > "2024-01-01");
    }
}
