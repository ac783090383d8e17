//! imprint's terminal UI pages.
//!
//! Each page is a state machine: keys and messages in, requests out, drawing only from its
//! read-only state. This crate must never touch a device, a bus, the file system, a process or the
//! network, and it does not depend on the engine (`imprint`): it defines its own small view types,
//! and `imprint::app` converts backend data into them and carries out the requests.
//!
//! The shared framework: [`i18n`] (message catalogs), [`theme`] (Unicode or ASCII drawing),
//! [`widgets`] (the page frame, lists, text fields, QR codes, dialogs) and [`flow`] (the [`Flow`]
//! trait every flow implements). The flows: [`installer`], [`firstboot`] and [`reset`].

pub use ratatui;

pub mod firstboot;
pub mod flow;
pub mod i18n;
pub mod installer;
pub mod keymap;
pub mod reset;
pub mod theme;
pub mod update;
pub mod widgets;

pub use flow::Flow;
pub use i18n::{Lang, Tr};
pub use theme::{Ui, ascii_terminal};
pub use widgets::qr::QrView;

/// One row of the disk list, as the disk page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskRow {
    /// The device node or image file path, e.g. `/dev/sda` or `/var/tmp/demo/target.img`.
    pub path: String,
    /// The disk's size in bytes.
    pub size_bytes: u64,
    /// The vendor and model as the disk reports them (may be empty).
    pub model: String,
    /// Every reason this disk cannot be chosen, in words; empty when it can.
    pub reasons: Vec<String>,
    /// What installing here would mean, when the app could plan it.
    pub verdict: Option<Verdict>,
}

impl DiskRow {
    /// Whether the person may pick this disk as the install target.
    pub fn selectable(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Whether the person may pick this disk and go on: selectable, planned, and large enough.
    pub fn installable(&self) -> bool {
        self.selectable() && matches!(self.verdict, Some(Verdict::Fits | Verdict::NeedsErase { .. }))
    }

    /// The name the person types to confirm this disk: the path's last component (`sda`,
    /// `target.img`).
    pub fn name(&self) -> &str {
        disk_name(&self.path)
    }
}

/// The last component of a disk path: what the person types to confirm it.
pub fn disk_name(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    trimmed.rsplit('/').next().filter(|name| !name.is_empty()).unwrap_or(trimmed)
}

/// What installing to a disk would mean, from the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The image fits without erasing anything the person needs to know about.
    Fits,
    /// The image fits, but these things on the disk would be erased (in words, e.g.
    /// "partition 2 \"Windows\" (NTFS, 200 GB)").
    NeedsErase {
        /// What would be lost, one item per entry.
        what: Vec<String>,
    },
    /// The disk is too small for the image.
    TooSmall {
        /// Bytes the image needs.
        need: u64,
        /// Bytes the disk has.
        have: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_with_reasons_is_not_selectable() {
        let mut row = DiskRow { path: "/dev/vda".into(), size_bytes: 1 << 30, model: "disk".into(), ..DiskRow::default() };
        assert!(row.selectable());
        row.reasons.push("holds the running system".into());
        assert!(!row.selectable());
    }

    #[test]
    fn only_a_selectable_planned_disk_that_fits_is_installable() {
        let mut row = DiskRow { path: "/dev/vda".into(), verdict: Some(Verdict::Fits), ..DiskRow::default() };
        assert!(row.installable());
        row.verdict = Some(Verdict::NeedsErase { what: vec!["x".into()] });
        assert!(row.installable());
        row.verdict = Some(Verdict::TooSmall { need: 2, have: 1 });
        assert!(!row.installable());
        row.verdict = None;
        assert!(!row.installable());
        row.verdict = Some(Verdict::Fits);
        row.reasons.push("mounted".into());
        assert!(!row.installable());
    }

    #[test]
    fn the_disk_name_is_the_last_path_component() {
        assert_eq!(disk_name("/dev/sda"), "sda");
        assert_eq!(disk_name("/dev/disk/by-id/nvme-x"), "nvme-x");
        assert_eq!(disk_name("target.img"), "target.img");
        assert_eq!(disk_name("/tmp/demo/"), "demo");
        assert_eq!(disk_name(""), "");
    }
}
