//! UUIDs derived from a seed exactly as systemd-repart derives them (src/repart/repart.c):
//! HMAC-SHA256 keyed by the seed (or by the partition UUID for file systems), the first 16
//! bytes turned into a version 4 UUID.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const B: usize = 64;
    let mut k = [0u8; B];
    if key.len() > B {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let ih = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(ih);
    let mut out = [0u8; 32];
    out.copy_from_slice(&outer.finalize());
    out
}

/// systemd's `id128_make_v4_uuid`, on the first 16 bytes.
pub fn make_v4(md: &[u8]) -> Uuid {
    let mut b = [0u8; 16];
    b.copy_from_slice(&md[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

/// `derive_uuid(seed, token)`: the disk GUID uses the token `disk-uuid`.
pub fn derive_uuid(key: Uuid, token: &str) -> Uuid {
    make_v4(&hmac_sha256(key.as_bytes(), token.as_bytes()))
}

/// The UUID of the `k`-th (0-based) partition of `type_uuid` (`partition_acquire_uuid`).
pub fn partition_uuid(seed: Uuid, type_uuid: Uuid, k: u64) -> Uuid {
    let mut msg = type_uuid.as_bytes().to_vec();
    if k > 0 {
        msg.extend_from_slice(&k.to_le_bytes());
    }
    make_v4(&hmac_sha256(seed.as_bytes(), &msg))
}

pub fn disk_uuid(seed: Uuid) -> Uuid {
    derive_uuid(seed, "disk-uuid")
}

/// A formatted partition's file-system UUID, keyed by the partition UUID.
pub fn fs_uuid(partition: Uuid) -> Uuid {
    derive_uuid(partition, "file-system-uuid")
}

/// A LUKS superblock UUID, keyed by the partition UUID.
pub fn luks_uuid(partition: Uuid) -> Uuid {
    derive_uuid(partition, "luks-uuid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn long_keys_are_hashed_first() {
        // RFC 4231 case 6
        let key = [0xaau8; 131];
        let mac = hmac_sha256(&key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn v4_bits_are_set() {
        let u = make_v4(&[0xff; 32]);
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(u.as_bytes()[8] & 0xc0, 0x80);
    }
}
