//! imprint's terminal UI pages.
//!
//! Each page is a state machine: keys and messages in, requests out, drawing only from its
//! read-only state. This crate must never touch a device, a bus or the network, and it does not
//! depend on the engine (`imprint`): it defines its own small view types, and `imprint::app`
//! converts backend data into them. The pages arrive with the TUI issue; until then the crate
//! holds only the view types the engine already produces.

/// One row of the disk list, as the disk page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskRow {
    pub path: String,
    pub size_bytes: u64,
    pub model: String,
    /// Every reason this disk cannot be chosen; empty when it can.
    pub reasons: Vec<String>,
}

impl DiskRow {
    /// Whether the person may pick this disk as the install target.
    pub fn selectable(&self) -> bool {
        self.reasons.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_with_reasons_is_not_selectable() {
        let mut row = DiskRow { path: "/dev/vda".into(), size_bytes: 1 << 30, model: "disk".into(), reasons: vec![] };
        assert!(row.selectable());
        row.reasons.push("holds the running system".into());
        assert!(!row.selectable());
    }
}
