//! The disks as `imprint disks` and the disk page show them: size, model, serial, transport,
//! partitions and their uses, and every reason a disk cannot be chosen.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::SysPaths;
use super::refusals::Kind;
use super::tree::{SourceId, System, natural_cmp, read_attr};

/// One disk as `imprint disks` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiskInfo {
    pub path: PathBuf,
    pub name: String,
    pub size_bytes: u64,
    pub logical_sector_size: u32,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// `usb`, `nvme`, `sata`, `virtio`, `mmc`, `loop`, or None when the bus is not recognised.
    pub transport: Option<String>,
    pub removable: bool,
    pub read_only: bool,
    pub partitions: Vec<PartitionUse>,
    pub holds_running_system: bool,
    pub is_install_source: bool,
    /// Every reason, in words, why this disk cannot be chosen as a target. Empty: it can.
    pub reasons: Vec<String>,
}

/// One partition of a disk and what uses it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PartitionUse {
    pub path: PathBuf,
    pub name: String,
    pub mountpoints: Vec<PathBuf>,
    pub swap: bool,
    /// Kernel names of the devices stacked on it (`dm-0`, `md127`).
    pub holders: Vec<String>,
}

/// List the disks: whole block devices from `/sys/block`, without RAM disks, zram,
/// device-mapper and md devices (their members are shown as used instead), without devices of
/// size zero (empty card readers, unused nbd) and without loop devices that are not attached.
/// `install_source` (a block device or an image file) marks the disks that are or hold it.
pub fn list_disks(paths: &SysPaths, install_source: Option<&Path>) -> io::Result<Vec<DiskInfo>> {
    let sys = System::load(paths)?;
    let source = sys.source_id(install_source)?;
    let mut names: Vec<&String> = sys.nodes.keys().filter(|n| sys.listable(n)).collect();
    names.sort_by(|a, b| natural_cmp(a, b));
    Ok(names.into_iter().map(|n| sys.disk_info(n, &source)).collect())
}

/// The human table of `imprint disks`: one line per disk, then one indented line per reason it
/// cannot be chosen.
pub fn render_table(disks: &[DiskInfo]) -> String {
    if disks.is_empty() {
        return "no disks found\n".to_string();
    }
    let rows: Vec<[String; 5]> = disks
        .iter()
        .map(|d| {
            let mut model = d.model.clone().unwrap_or_else(|| "-".to_string());
            if d.removable {
                model.push_str(" (removable)");
            }
            if d.read_only {
                model.push_str(" (read-only)");
            }
            [
                d.path.display().to_string(),
                crate::units::bytes(d.size_bytes),
                d.logical_sector_size.to_string(),
                d.transport.clone().unwrap_or_else(|| "-".to_string()),
                model,
            ]
        })
        .collect();
    let header = ["DISK", "SIZE", "SECTOR", "TRANSPORT", "MODEL"].map(String::from);
    let mut width = [0usize; 4];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 5]| {
        let mut s = String::new();
        for (cell, w) in row.iter().zip(width) {
            let _ = write!(s, "{cell:<w$}  ");
        }
        s.push_str(&row[4]);
        s.push('\n');
        s
    };
    let mut out = line(&header);
    for (d, row) in disks.iter().zip(&rows) {
        out.push_str(&line(row));
        for r in &d.reasons {
            let _ = writeln!(out, "  cannot be chosen: {r}");
        }
    }
    out
}

/// SCSI VPD page 0x80 (unit serial number): a 4-byte header, then the serial in ASCII.
pub(super) fn vpd_serial(dir: &Path) -> Option<String> {
    let b = fs::read(dir.join("vpd_pg80")).ok()?;
    if b.len() < 4 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
    let data = &b[4..b.len().min(4 + len)];
    let s = String::from_utf8_lossy(data);
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_string())
}

impl System<'_> {
    pub(super) fn listable(&self, name: &str) -> bool {
        let Some(node) = self.nodes.get(name) else {
            return false;
        };
        if node.parent.is_some() || ["ram", "zram", "dm-", "md"].iter().any(|p| name.starts_with(p)) || self.flag(name, "hidden") {
            return false;
        }
        let size = self.size_sectors(name);
        if name.starts_with("loop") {
            return size > 0 || self.attr(name, "loop/backing_file").is_some();
        }
        size > 0
    }

    pub(super) fn transport(&self, name: &str) -> Option<String> {
        if self.is_loop(name) {
            return Some("loop".to_string());
        }
        let link = fs::read_link(&self.nodes.get(name)?.dir).ok()?;
        let link = link.to_string_lossy();
        [("/usb", "usb"), ("/nvme", "nvme"), ("/mmc_host", "mmc"), ("/virtio", "virtio"), ("/ata", "sata")]
            .iter()
            .find(|(needle, _)| link.contains(needle))
            .map(|(_, t)| t.to_string())
    }

    pub(super) fn model(&self, name: &str) -> Option<String> {
        let dev = self.nodes.get(name)?.dir.join("device");
        let model = read_attr(&dev, "model").or_else(|| read_attr(&dev, "name"))?;
        match read_attr(&dev, "vendor") {
            Some(v) if !v.starts_with("0x") && v != "ATA" && !model.starts_with(&v) => Some(format!("{v} {model}")),
            _ => Some(model),
        }
    }

    pub(super) fn serial(&self, name: &str) -> Option<String> {
        let dir = &self.nodes.get(name)?.dir;
        let dev = dir.join("device");
        read_attr(dir, "serial")
            .or_else(|| read_attr(&dev, "serial"))
            .or_else(|| vpd_serial(&dev))
            .or_else(|| self.usb_serial(name))
            .or_else(|| read_attr(dir, "wwid"))
            .or_else(|| read_attr(&dev, "wwid"))
    }

    /// USB mass storage rarely answers VPD; the USB device above it has the serial.
    pub(super) fn usb_serial(&self, name: &str) -> Option<String> {
        if self.transport(name).as_deref() != Some("usb") {
            return None;
        }
        let sys = fs::canonicalize(&self.paths.sys).ok()?;
        let real = fs::canonicalize(&self.nodes.get(name)?.dir).ok()?;
        real.ancestors()
            .take_while(|a| a.starts_with(&sys) && *a != sys)
            .find(|a| a.join("idVendor").is_file())
            .and_then(|a| read_attr(a, "serial"))
    }

    pub(super) fn disk_info(&self, name: &str, src: &SourceId) -> DiskInfo {
        let node = &self.nodes[name];
        let reasons = self.disk_reasons(name, None, src);
        let partitions = node
            .partitions
            .iter()
            .map(|p| PartitionUse {
                path: self.dev_path(p),
                name: p.clone(),
                mountpoints: self.mountpoints(p),
                swap: self.is_swap(p),
                holders: self.holders(p),
            })
            .collect();
        DiskInfo {
            path: self.dev_path(name),
            name: name.to_string(),
            size_bytes: self.size_sectors(name).saturating_mul(512),
            logical_sector_size: self.attr(name, "queue/logical_block_size").and_then(|s| s.parse().ok()).unwrap_or(512),
            model: self.model(name),
            serial: self.serial(name),
            transport: self.transport(name),
            removable: self.flag(name, "removable"),
            read_only: self.flag(name, "ro"),
            partitions,
            holds_running_system: reasons.iter().any(|r| r.kind == Kind::Running),
            is_install_source: reasons.iter().any(|r| r.kind == Kind::Source),
            reasons: reasons.into_iter().map(|r| r.on_disk(self)).collect(),
        }
    }
}
