//! `apply`: vacuum, acquire every transfer's data into a free slot or a temporary file (hashed
//! while written), and only when every hash matched, label the slots and rename the files.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use uuid::Uuid;

use super::fetch::{self, FetchError, Fetcher};
use super::pattern::Metadata;
use super::sink::{self, Decompress, Sink, SlotWriter};
use super::transfer::{ResourceType, Transfer};
use super::vacuum::{Removed, vacuum_one};
use super::{Context, EMPTY_LABEL, Instance, Loaded, Location, Offer, UpdateError, io_err, manifest, tree, version};
use crate::disk;
use crate::exec::Event;
use crate::fsflags;
use crate::profile::types;

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
    if ctx.lock.is_none() {
        return Err(UpdateError::NotLocked);
    }
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
            // Nothing downloaded is usable before its hash matched: a file is made 0600, a
            // folder 0700 (a tarball unpacks one level further in, so its own root entry's mode
            // cannot open it), and the modes wanted are set only after the check. Nor may it
            // fill the file system: no more than the room there is, less a reserve.
            let room = room_for(dir).map_err(io_err(format!("reading the free space of {}", dir.display())))?;
            let sink: Option<Box<dyn Sink>> = if kind == ResourceType::RegularFile {
                use std::os::unix::fs::OpenOptionsExt;
                let f = File::options()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&temp)
                    .map_err(io_err(format!("creating {}", temp.display())))?;
                Some(Box::new(Decompress::new(Box::new(SlotWriter::new(f, 0, fields.size.map_or(room, |s| s.min(room)))))))
            } else {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new().mode(0o700).create(&temp).map_err(io_err(format!("creating {}", temp.display())))?;
                match t.source.kind {
                    ResourceType::Directory => None,
                    _ => Some(Box::new(Decompress::new(
                        sink::tar_sink(&temp.join(TAR_TREE), room).map_err(io_err("starting the tar reader"))?,
                    ))),
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
    // verified: the unpacked tree comes out of its 0700 wrapper, and what has no mode of its
    // own gets what a new file or folder gets (0644, 0755)
    let temp = match (temp, t.target.kind) {
        (Some(p), ResourceType::Directory) if t.source.kind != ResourceType::Directory => {
            let out = PathBuf::from(format!("{}.verified", p.display()));
            let moved = std::fs::rename(p.join(TAR_TREE), &out).and_then(|()| std::fs::remove_dir(&p));
            if let Err(e) = moved {
                discard(&Some(p.clone()));
                discard(&Some(out));
                return Err(io_err(format!("moving the verified tree out of {}", p.display()))(e));
            }
            Some(out)
        }
        (Some(p), k) => {
            use std::os::unix::fs::PermissionsExt;
            let default = if k == ResourceType::RegularFile { 0o644 } else { 0o755 };
            if fields.mode.is_none()
                && let Err(e) = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(default))
            {
                discard(&Some(p.clone()));
                return Err(io_err(format!("setting the mode of {}", p.display()))(e));
            }
            Some(p)
        }
        (None, _) => None,
    };
    if let Some(p) = &temp
        && let Err(e) = set_time_and_mode(p, &fields)
    {
        discard(&temp);
        return Err(e);
    }
    Ok(Acquired { index, offer, fields, name, location, temp, sha256: got.sha256, bytes: got.bytes })
}

/// The folder inside a download's 0700 temporary folder that a tarball unpacks into.
const TAR_TREE: &str = "tree";

/// Bytes a download into `dir` may take: the space free there, less a reserve of 1/20 of the
/// file system (at most 1 GiB), so an update never fills the disk the system runs from.
fn room_for(dir: &Path) -> std::io::Result<u64> {
    let st = nix::sys::statvfs::statvfs(dir).map_err(std::io::Error::from)?;
    let block = st.fragment_size().max(1);
    let avail = (st.blocks_available() as u64).saturating_mul(block);
    let total = (st.blocks() as u64).saturating_mul(block);
    Ok(avail.saturating_sub((total / 20).min(1 << 30)))
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
}
