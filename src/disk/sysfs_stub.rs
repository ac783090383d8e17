//! TEMPORARY stand-in for sysfs.rs while it is being written (removed before commit).
use std::path::{Path, PathBuf};
#[derive(Debug, Clone, Default)]
pub struct SysPaths;
#[derive(Debug, Clone, serde::Serialize)]
pub struct DiskInfo { pub path: PathBuf, pub model: Option<String>, pub serial: Option<String> }
pub struct AutoSource { pub disk: PathBuf, pub root_partno: Option<u32>, pub usr_partno: Option<u32> }
pub fn list_disks(_: &SysPaths, _: Option<&Path>) -> std::io::Result<Vec<DiskInfo>> { Ok(vec![]) }
pub fn target_refusals(_: &Path, _: Option<&Path>, _: &SysPaths) -> std::io::Result<Vec<String>> { Ok(vec![]) }
pub fn resolve_source_auto(_: &SysPaths) -> Result<AutoSource, String> { Err("stub".into()) }
pub fn render_table(_: &[DiskInfo]) -> String { String::new() }
