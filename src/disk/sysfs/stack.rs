//! Device stacks, followed downwards from what is mounted: through `slaves/` (device-mapper,
//! md), through loop devices to the file system holding their backing file, and through
//! overlay layers.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::tree::{MAX_DEPTH, System};

/// One step of a device stack, read from the top (what is mounted) down.
#[derive(Debug, Clone)]
pub(super) enum Step {
    Dev(String),
    File(PathBuf),
    Overlay(PathBuf),
}

pub(super) fn touches(chain: &[Step], members: &BTreeSet<&str>) -> bool {
    chain.iter().any(|s| matches!(s, Step::Dev(n) if members.contains(n.as_str())))
}

impl System<'_> {
    pub(super) fn mount_chains(&self, idx: usize, through_loops: bool, depth: usize) -> Vec<Vec<Step>> {
        if let Some(name) = &self.mount_dev[idx] {
            return self.lower(name, through_loops, depth);
        }
        let m = &self.mounts[idx];
        if m.fstype != "overlay" || depth >= MAX_DEPTH {
            return Vec::new();
        }
        let mut dirs: Vec<String> = Vec::new();
        for key in ["lowerdir", "lowerdir+", "upperdir", "datadir+"] {
            for v in m.super_option(key) {
                if key == "lowerdir" {
                    dirs.extend(v.split(':').filter(|d| !d.is_empty()).map(str::to_string));
                } else {
                    dirs.push(v);
                }
            }
        }
        let mut out = Vec::new();
        for d in dirs {
            let d = PathBuf::from(d);
            let Some(under) = self.mount_for_path(&d) else {
                continue;
            };
            if under == idx {
                continue;
            }
            for c in self.mount_chains(under, through_loops, depth + 1) {
                out.push(std::iter::once(Step::Overlay(d.clone())).chain(c).collect());
            }
        }
        out
    }

    /// The stacks beneath a device: through `slaves/` and, with `through_loops`, from a loop
    /// device to the filesystem that holds its backing file.
    pub(super) fn lower(&self, name: &str, through_loops: bool, depth: usize) -> Vec<Vec<Step>> {
        let here = Step::Dev(name.to_string());
        if depth >= MAX_DEPTH {
            return vec![vec![here]];
        }
        let prefixed = |chains: Vec<Vec<Step>>, first: Vec<Step>| -> Vec<Vec<Step>> {
            chains.into_iter().map(|c| first.iter().cloned().chain(c).collect()).collect()
        };
        let slaves = self.slaves(name);
        if !slaves.is_empty() {
            return slaves.iter().flat_map(|s| prefixed(self.lower(s, through_loops, depth + 1), vec![here.clone()])).collect();
        }
        if through_loops && let Some((file, _)) = self.loop_backing(name) {
            let chains = self.file_chains(&file, depth + 1);
            if !chains.is_empty() {
                return prefixed(chains, vec![here]);
            }
            return vec![vec![here, Step::File(file)]];
        }
        vec![vec![here]]
    }

    /// The stacks beneath the filesystem that holds a file, starting with the file.
    pub(super) fn file_chains(&self, file: &Path, depth: usize) -> Vec<Vec<Step>> {
        let Some(idx) = self.mount_for_path(file) else {
            return Vec::new();
        };
        self.mount_chains(idx, true, depth)
            .into_iter()
            .map(|c| std::iter::once(Step::File(file.to_path_buf())).chain(c).collect())
            .collect()
    }

    pub(super) fn render_chain(&self, chain: &[Step]) -> String {
        let mut s = String::new();
        let mut prev: Option<&Step> = None;
        for step in chain {
            match (prev, step) {
                (None, Step::Dev(n)) => s.push_str(&self.show(n)),
                (None, Step::File(p)) => s.push_str(&format!("the file {}", p.display())),
                (None, Step::Overlay(p)) => s.push_str(&format!("an overlay of {}", p.display())),
                (Some(Step::Dev(_)), Step::Dev(n)) => s.push_str(&format!(", backed by {}", self.show(n))),
                (Some(_), Step::Dev(n)) => s.push_str(&format!(", which is on {}", self.show(n))),
                (Some(_), Step::File(p)) => s.push_str(&format!(", backed by the file {}", p.display())),
                (Some(_), Step::Overlay(p)) => s.push_str(&format!(", an overlay of {}", p.display())),
            }
            prev = Some(step);
        }
        s
    }
}
