//! Checking a copied partition against its dm-verity hash tree (format version 1, as
//! veritysetup and systemd-repart write it: a superblock, then the tree with its top level first).
//!
//! The block copy already hashes every 4 KiB data block as `H(salt || block)`, which is exactly a
//! dm-verity leaf hash; this module packs those leaves into hash blocks, compares every level with
//! the tree stored in the verity partition, and computes the root hash. A source whose data or
//! tree was altered is caught before any partition table is written.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The dm-verity superblock (`struct verity_sb`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    pub version: u32,
    pub hash_type: u32,
    pub algorithm: String,
    pub data_block_size: u32,
    pub hash_block_size: u32,
    pub data_blocks: u64,
    pub salt: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerityError {
    #[error("reading the verity partition: {0}")]
    Io(#[from] io::Error),
    #[error("the verity partition has no dm-verity superblock")]
    NoSuperblock,
    #[error("unsupported dm-verity format ({0}); imprint checks version 1, sha256, blocks of 512 to 4096 bytes")]
    Unsupported(String),
    #[error("the data does not match its dm-verity hash tree (level {level}, hash block {block}): the source is corrupt")]
    Mismatch { level: usize, block: u64 },
    #[error("the data is shorter ({have} blocks) than its dm-verity superblock says ({want} blocks)")]
    Short { have: u64, want: u64 },
    #[error("the root hash {got} is not the expected {want} ({from})")]
    RootHash { got: String, want: String, from: String },
}

/// Reads the superblock at `offset` of `f`; None when there is none.
pub fn read_superblock(f: &File, offset: u64) -> io::Result<Option<Superblock>> {
    let mut b = [0u8; 512];
    f.read_exact_at(&mut b, offset)?;
    if &b[0..8] != b"verity\0\0" {
        return Ok(None);
    }
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
    let algorithm = String::from_utf8_lossy(&b[32..64]).trim_end_matches('\0').to_string();
    let salt_size = usize::from(u16::from_le_bytes([b[80], b[81]])).min(256);
    Ok(Some(Superblock {
        version: u32_at(8),
        hash_type: u32_at(12),
        algorithm,
        data_block_size: u32_at(64),
        hash_block_size: u32_at(68),
        data_blocks: u64::from_le_bytes(b[72..80].try_into().expect("8 bytes")),
        salt: b[88..88 + salt_size].to_vec(),
    }))
}

impl Superblock {
    /// Whether [`check_tree`] can check this format.
    pub fn supported(&self) -> Result<(), VerityError> {
        let size_ok = |s: u32| s.is_power_of_two() && (512..=4096).contains(&s);
        if self.version == 1
            && self.hash_type == 1
            && self.algorithm == "sha256"
            && size_ok(self.data_block_size)
            && size_ok(self.hash_block_size)
        {
            Ok(())
        } else {
            Err(VerityError::Unsupported(format!(
                "version {}, type {}, {}, data blocks {} bytes, hash blocks {} bytes",
                self.version, self.hash_type, self.algorithm, self.data_block_size, self.hash_block_size
            )))
        }
    }
}

fn salted(salt: &[u8], block: &[u8]) -> [u8; 32] {
    super::copy::BlockHasher::hash_one(salt, block)
}

/// Compares the tree that `leaves` (salted leaf hashes of the data) give with the one stored in
/// the verity partition at `hash_offset` of `hash_dev`, and returns the root hash.
pub fn check_tree(sb: &Superblock, leaves: &[[u8; 32]], hash_dev: &File, hash_offset: u64) -> Result<[u8; 32], VerityError> {
    sb.supported()?;
    let n = sb.data_blocks;
    if (leaves.len() as u64) < n {
        return Err(VerityError::Short { have: leaves.len() as u64, want: n });
    }
    let leaves = &leaves[..n as usize];
    if n == 0 {
        return Err(VerityError::Unsupported("no data blocks".into()));
    }
    let bs = u64::from(sb.hash_block_size);
    let per = (bs / 32) as usize;
    let per_bits = per.trailing_zeros() as u64;
    let mut levels = 0u64;
    while per_bits * levels < 64 && ((n - 1) >> (per_bits * levels)) != 0 {
        levels += 1;
    }
    if levels == 0 {
        return Ok(leaves[0]);
    }
    // positions (in hash blocks, after the superblock block): top level first
    let mut sizes = vec![0u64; levels as usize];
    let mut starts = vec![0u64; levels as usize];
    let mut pos = 1u64;
    for i in (0..levels as usize).rev() {
        let shift = (i as u64 + 1) * per_bits;
        sizes[i] = (n + (1u64 << shift) - 1) >> shift;
        starts[i] = pos;
        pos += sizes[i];
    }
    let mut current: Vec<[u8; 32]> = leaves.to_vec();
    let mut stored = vec![0u8; 0];
    for (level, (&start, &size)) in starts.iter().zip(sizes.iter()).enumerate() {
        stored.resize((size * bs) as usize, 0);
        hash_dev.read_exact_at(&mut stored, hash_offset + start * bs)?;
        let mut next = Vec::with_capacity(size as usize);
        let mut block = vec![0u8; bs as usize];
        for k in 0..size as usize {
            block.fill(0);
            for (j, h) in current.iter().skip(k * per).take(per).enumerate() {
                block[j * 32..(j + 1) * 32].copy_from_slice(h);
            }
            if block[..] != stored[k * bs as usize..(k + 1) * bs as usize] {
                return Err(VerityError::Mismatch { level, block: k as u64 });
            }
            next.push(salted(&sb.salt, &block));
        }
        current = next;
    }
    Ok(current[0])
}

/// The root hash a `*-verity-sig` partition announces (`{"rootHash": "…", "signature": "…"}`,
/// NUL-padded), if it holds one.
pub fn root_hash_from_signature(f: &File, offset: u64, size: u64) -> io::Result<Option<String>> {
    let mut buf = vec![0u8; size.min(64 << 10) as usize];
    f.read_exact_at(&mut buf, offset)?;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&buf[..end]) else { return Ok(None) };
    Ok(v.get("rootHash").and_then(|r| r.as_str()).map(str::to_ascii_lowercase))
}
