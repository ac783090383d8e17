//! Erasing one partition's contents beyond recovery, in place, before the table stops pointing
//! at it.
//!
//! - A LUKS volume is crypto-erased: both LUKS2 headers and the keyslot area (everything before
//!   the data segment) are overwritten with zeroes by plain writes, synced and read back; what
//!   remains is ciphertext whose key no longer exists anywhere. The rest is then discarded, best
//!   effort.
//! - Anything else is discarded and zeroed (a hole in an image file; BLKDISCARD + BLKZEROOUT on
//!   a block device) and then checked to read back as zeroes: completely on image files and on
//!   partitions up to [`FULL_CHECK_MAX`], by samples above that.

use std::fs::File;

use crate::disk;
use crate::luks::probe::{self, LuksExtent};

/// Partitions up to this size are read back in full after zeroing on block devices.
pub const FULL_CHECK_MAX: u64 = 1 << 30;

/// How a partition was erased.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "method")]
pub enum Erased {
    /// LUKS headers and keyslots overwritten (`[0, metadata_end)` of the partition), the rest
    /// discarded.
    CryptoErase { luks_version: u16, luks_uuid: String, metadata_end: u64 },
    /// The whole range discarded and zeroed, and checked (`checked` says how).
    Zeroed { checked: String },
}

impl Erased {
    /// In words, for progress lines and the report.
    pub fn describe(&self) -> String {
        match self {
            Erased::CryptoErase { luks_version, metadata_end, .. } => format!(
                "LUKS{luks_version} headers and keyslots wiped (first {}), the encrypted data left without a key",
                crate::units::bytes(*metadata_end)
            ),
            Erased::Zeroed { checked } => format!("discarded and zeroed, {checked}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("byte {offset} still reads non-zero after erasing; the device does not zero what it is told to")]
    NotZero { offset: u64 },
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> EraseError {
    move |source| EraseError::Io { what: what.to_string(), source }
}

/// Erases `[offset, offset+size)` of `f` (one partition).
pub fn erase(f: &File, offset: u64, size: u64) -> Result<Erased, EraseError> {
    if let Some(luks) = probe::find_header(f, offset, size).map_err(io("reading the partition's first bytes"))? {
        return crypto_erase(f, offset, size, luks);
    }
    disk::zero_range(f, offset, size).map_err(io("discarding and zeroing"))?;
    f.sync_all().map_err(io("syncing"))?;
    let block = disk::is_block_device(f).map_err(io("checking the target"))?;
    let full = !block || size <= FULL_CHECK_MAX;
    if let Some(at) = disk::find_nonzero(f, offset, size, full).map_err(io("reading back"))? {
        return Err(EraseError::NotZero { offset: at });
    }
    let checked = match (block, full) {
        (false, _) => "every byte reads as zero (the image file holds a hole there)".to_string(),
        (true, true) => "read back in full: all zeroes".to_string(),
        (true, false) => "read back by samples (first and last MiB, 64 blocks between): all zeroes".to_string(),
    };
    Ok(Erased::Zeroed { checked })
}

fn crypto_erase(f: &File, offset: u64, size: u64, luks: LuksExtent) -> Result<Erased, EraseError> {
    let end = luks.metadata_end.min(size);
    disk::write_zeroes(f, offset, end).map_err(io("overwriting the LUKS headers and keyslots"))?;
    if let Some(at) = disk::find_nonzero(f, offset, end, true).map_err(io("reading back the LUKS header area"))? {
        return Err(EraseError::NotZero { offset: at });
    }
    // the key is gone; telling the device the rest is free is a courtesy (image files: holes)
    disk::discard_range(f, offset + end, size - end).map_err(io("discarding the encrypted data"))?;
    f.sync_all().map_err(io("syncing"))?;
    Ok(Erased::CryptoErase { luks_version: luks.version, luks_uuid: luks.uuid, metadata_end: end })
}
