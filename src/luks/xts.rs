//! AES-256-XTS with dm-crypt's `plain64` IVs, in userspace: the data segment of a LUKS2 volume is
//! encrypted while it is copied (one read, one write), because device-mapper is not there to do it.
//!
//! What dm-crypt does for a LUKS2 segment, and so what this does:
//! - the 64-byte volume key is two AES-256 keys: bytes 0..32 encrypt the data, bytes 32..64 the
//!   tweak (the kernel's `xts(aes)`);
//! - each encryption sector (512 or 4096 bytes, the segment's `sector_size`) is one XTS data unit;
//! - its IV (`plain64`) is the sector's byte offset in the segment **divided by 512**, as a 64-bit
//!   little-endian number padded with zeroes to 16 bytes. LUKS2 does not set dm-crypt's
//!   `iv_large_sectors`, so with 4096-byte sectors the IV still counts 512-byte units and goes
//!   0, 8, 16, … (checked against libcryptsetup's own userspace re-encryption in tests/luks.rs);
//! - the segment's `iv_tweak` is 0 for every header [`super::format`] writes.
//!
//! The AES key schedules are zeroed when an [`Xts`] is dropped (`aes` is built without its
//! `zeroize` feature, so this module does it itself). `Debug` shows the sector size only.

use std::fmt;
use std::mem::ManuallyDrop;

use aes::Aes256;
use aes::Block;
use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use zeroize::Zeroize;

use crate::secret::Secret;

/// dm-crypt counts `plain64` IVs in 512-byte units.
const IV_UNIT: u64 = 512;
/// Blocks handed to AES at once: enough for its 8-way pipelined AES-NI path.
const BATCH: usize = 32;

/// The two expanded AES-256 keys. Plain data (round-key arrays, no heap, no pointers).
struct Keys {
    data: Aes256,
    tweak: Aes256,
}

/// An AES-256-XTS-plain64 encryptor for one LUKS2 data segment.
pub struct Xts {
    // ManuallyDrop: dropped by zeroing its bytes (see `Drop`), never by running `Aes256`'s drop.
    keys: Box<ManuallyDrop<Keys>>,
    sector_size: usize,
}

impl Xts {
    /// `volume_key` must be 64 bytes (AES-256-XTS); `sector_size` 512 or 4096 (the segment's).
    ///
    /// Panics otherwise: both come from [`super::format`]'s [`super::Header`], so anything else
    /// is a bug in the caller.
    pub fn new(volume_key: &Secret, sector_size: u32) -> Self {
        let key = volume_key.expose();
        assert_eq!(key.len(), 64, "AES-256-XTS needs a 64-byte volume key");
        assert!(sector_size == 512 || sector_size == 4096, "LUKS2 sector size must be 512 or 4096, not {sector_size}");
        let keys = Keys { data: Aes256::new(key[..32].into()), tweak: Aes256::new(key[32..].into()) };
        Xts { keys: Box::new(ManuallyDrop::new(keys)), sector_size: sector_size as usize }
    }

    pub fn sector_size(&self) -> u32 {
        self.sector_size as u32
    }

    /// Encrypts `buf` in place. `buf` is whole sectors that sit at byte `segment_offset` of the
    /// data segment (so `segment_offset` is a multiple of the sector size). Panics if not.
    pub fn encrypt(&self, buf: &mut [u8], segment_offset: u64) {
        self.run(buf, segment_offset, true)
    }

    /// Decrypts `buf` in place; the same rules as [`Xts::encrypt`].
    pub fn decrypt(&self, buf: &mut [u8], segment_offset: u64) {
        self.run(buf, segment_offset, false)
    }

    fn run(&self, buf: &mut [u8], segment_offset: u64, encrypt: bool) {
        let ss = self.sector_size;
        assert!(buf.len().is_multiple_of(ss), "XTS buffer of {} bytes is not whole {ss}-byte sectors", buf.len());
        assert!(segment_offset.is_multiple_of(ss as u64), "segment offset {segment_offset} is not a multiple of the {ss}-byte sector size");
        let mut blocks = [Block::default(); BATCH];
        let mut tweaks = [0u128; BATCH];
        for (i, sector) in buf.chunks_exact_mut(ss).enumerate() {
            let iv = (segment_offset + (i * ss) as u64) / IV_UNIT;
            let mut t = Block::from(u128::from(iv).to_le_bytes());
            self.keys.tweak.encrypt_block(&mut t);
            let mut tweak = u128::from_le_bytes(t.into());
            t.as_mut_slice().zeroize();
            for chunk in sector.chunks_mut(16 * BATCH) {
                let n = chunk.len() / 16;
                for (j, b) in chunk.chunks_exact(16).enumerate() {
                    tweaks[j] = tweak;
                    blocks[j] = (u128::from_le_bytes(b.try_into().unwrap()) ^ tweak).to_le_bytes().into();
                    tweak = mul_alpha(tweak);
                }
                if encrypt {
                    self.keys.data.encrypt_blocks(&mut blocks[..n]);
                } else {
                    self.keys.data.decrypt_blocks(&mut blocks[..n]);
                }
                for (j, b) in chunk.chunks_exact_mut(16).enumerate() {
                    let x = u128::from_le_bytes(blocks[j].into()) ^ tweaks[j];
                    b.copy_from_slice(&x.to_le_bytes());
                }
            }
            tweak.zeroize();
        }
        tweaks.zeroize();
        for b in blocks.iter_mut() {
            b.as_mut_slice().zeroize();
        }
    }
}

/// Multiplication by α in GF(2¹²⁸), the tweak as a little-endian number (IEEE P1619).
fn mul_alpha(t: u128) -> u128 {
    let carry = (t >> 127) as u8;
    (t << 1) ^ if carry == 1 { 0x87 } else { 0 }
}

impl Drop for Xts {
    fn drop(&mut self) {
        let keys: &mut ManuallyDrop<Keys> = &mut self.keys;
        // SAFETY: `keys` is a valid, exclusively borrowed, heap-allocated `ManuallyDrop<Keys>`.
        // `Keys` holds two `Aes256`: unions of round-key arrays plus a zero-sized CPU-feature
        // token, no pointers or heap data, and all-zero bytes are a valid value for them. It is
        // wrapped in `ManuallyDrop`, so no `Drop` code ever sees the zeroed value; the `Box`
        // frees the memory afterwards without reading it.
        unsafe { zeroize::zeroize_flat_type(keys as *mut ManuallyDrop<Keys>) }
    }
}

impl fmt::Debug for Xts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Xts").field("sector_size", &self.sector_size).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xts_mode::Xts128;

    fn pattern(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn reference(key: &[u8]) -> Xts128<Aes256> {
        Xts128::new(Aes256::new(key[..32].into()), Aes256::new(key[32..].into()))
    }

    /// The same bytes as the `xts-mode` crate's straightforward XTS, with IVs in 512-byte units.
    #[test]
    fn matches_the_xts_mode_crate_with_512_byte_iv_units() {
        let key = pattern(64, 7);
        for ss in [512usize, 4096] {
            let xts = Xts::new(&Secret::new(key.clone()), ss as u32);
            let plain = pattern(ss * 6, ss as u64);
            let seg_off = (3 * ss) as u64;
            let mut ours = plain.clone();
            xts.encrypt(&mut ours, seg_off);
            let r = reference(&key);
            let mut theirs = plain.clone();
            for (i, s) in theirs.chunks_exact_mut(ss).enumerate() {
                let iv = (seg_off + (i * ss) as u64) / 512;
                r.encrypt_sector(s, xts_mode::get_tweak_default(iv as u128));
            }
            assert_eq!(ours, theirs, "sector size {ss}");
            assert_ne!(ours, plain);
            xts.decrypt(&mut ours, seg_off);
            assert_eq!(ours, plain);
        }
    }

    /// Encrypting sector by sector at their offsets equals encrypting the whole run at once.
    #[test]
    fn offsets_compose() {
        let key = Secret::new(pattern(64, 9));
        let xts = Xts::new(&key, 4096);
        let plain = pattern(4096 * 4, 1);
        let mut whole = plain.clone();
        xts.encrypt(&mut whole, 8192);
        let mut parts = plain.clone();
        for (i, s) in parts.chunks_exact_mut(4096).enumerate() {
            xts.encrypt(s, 8192 + 4096 * i as u64);
        }
        assert_eq!(whole, parts);
        assert_eq!(format!("{xts:?}"), "Xts { sector_size: 4096, .. }");
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Xts>();
    }

    #[test]
    #[should_panic(expected = "not a multiple")]
    fn misaligned_offsets_are_refused() {
        Xts::new(&Secret::new(vec![1; 64]), 4096).encrypt(&mut [0u8; 4096], 512);
    }
}
