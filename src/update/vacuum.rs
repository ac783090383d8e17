//! Making room for new versions: systemd's `transfer_vacuum()`.

use std::path::Path;

use super::transfer::ResourceType;
use super::{Context, EMPTY_LABEL, Loaded, Location, UpdateError, io_err, tree};
use crate::disk;

/// What one transfer's vacuum did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    pub transfer: String,
    pub version: String,
    pub location: Location,
}

/// `vacuum`: every transfer down to its InstancesMax=, only under the update lock.
pub fn vacuum(ctx: &mut Context) -> Result<Vec<Removed>, UpdateError> {
    if ctx.lock.is_none() {
        return Err(UpdateError::NotLocked);
    }
    let mut removed = Vec::new();
    for l in &mut ctx.transfers {
        removed.extend(vacuum_one(l, 0, None)?);
    }
    Ok(removed)
}

/// systemd's `transfer_vacuum()`: makes room for `space` new instances under InstancesMax= and
/// (for partitions) the slots there are, removing the oldest versions that are not protected,
/// not `extra_protected` and not running. Partitions are emptied by labeling them `_empty`.
pub(crate) fn vacuum_one(l: &mut Loaded, space: u64, extra_protected: Option<&str>) -> Result<Vec<Removed>, UpdateError> {
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
