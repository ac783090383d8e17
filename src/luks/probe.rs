//! Finding a LUKS header in a partition and how far its secrets reach, by reading the on-disk
//! format directly (no libcryptsetup): what a factory reset must destroy to make the data
//! unreadable for good (crypto-erase).
//!
//! LUKS2 keeps two copies of its header (binary header + JSON) at the start, then the keyslot
//! area holding the encrypted volume keys, then the data segment. Destroying both headers and the
//! keyslot area leaves nothing to derive the volume key from; the ciphertext that remains is
//! noise. LUKS1 keeps one header and its key material before the payload offset. A damaged
//! primary LUKS2 header does not help: libcryptsetup recovers from the secondary one, so that is
//! looked for at every offset where LUKS2 may put it.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

const MAGIC_PRIMARY: &[u8; 6] = b"LUKS\xba\xbe";
const MAGIC_SECONDARY: &[u8; 6] = b"SKUL\xba\xbe";
/// Where LUKS2 may place its secondary header (the offsets libcryptsetup probes).
const SECONDARY_OFFSETS: &[u64] = &[0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000];
const BINARY_HEADER: u64 = 4096;

/// A LUKS header found in a partition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LuksExtent {
    /// 1 or 2.
    pub version: u16,
    /// The LUKS UUID, as written in the header.
    pub uuid: String,
    /// Bytes from the partition start that hold headers and keyslots: everything before the
    /// data segment. Wiping `[0, metadata_end)` destroys every key.
    pub metadata_end: u64,
}

/// Looks for a LUKS1 or LUKS2 header at `offset` of `f` (a partition of `size` bytes). None when
/// there is none, or when it is too damaged to tell where its keys end (then the caller erases
/// the whole partition).
pub fn find_header(f: &File, offset: u64, size: u64) -> io::Result<Option<LuksExtent>> {
    find_header_in(&|buf, at| f.read_exact_at(buf, offset.checked_add(at).ok_or(io::ErrorKind::InvalidInput)?), size)
}

/// [`find_header`] on any reader: `read(buf, at)` fills `buf` from byte `at` of the partition.
/// Every offset and size the header states is checked; what overflows or lies beyond the
/// partition counts as reaching its end (so an erase covers it all).
pub fn find_header_in(read_at: &dyn Fn(&mut [u8], u64) -> io::Result<()>, size: u64) -> io::Result<Option<LuksExtent>> {
    let read = |at: u64, len: usize| -> io::Result<Option<Vec<u8>>> {
        if at.checked_add(len as u64).is_none_or(|end| end > size) {
            return Ok(None);
        }
        let mut buf = vec![0u8; len];
        read_at(&mut buf, at)?;
        Ok(Some(buf))
    };
    let Some(head) = read(0, BINARY_HEADER as usize)? else { return Ok(None) };
    if &head[..6] == MAGIC_PRIMARY {
        match be16(&head, 6) {
            1 => return Ok(luks1_extent(&head, size)),
            2 => {
                if let Some(e) = luks2_extent(&head, 0, &read, size)? {
                    return Ok(Some(e));
                }
            }
            _ => {}
        }
    }
    // primary missing or unreadable: a secondary LUKS2 header still holds every key
    for &at in SECONDARY_OFFSETS {
        if let Some(h) = read(at, BINARY_HEADER as usize)?
            && &h[..6] == MAGIC_SECONDARY
            && be16(&h, 6) == 2
            && let Some(e) = luks2_extent(&h, at, &read, size)?
        {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn uuid_at(b: &[u8]) -> String {
    let raw = &b[168..208];
    let end = raw.iter().position(|c| *c == 0).unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).into_owned()
}

/// LUKS1: the payload offset (512-byte sectors, at byte 104) is where the key material ends.
fn luks1_extent(head: &[u8], size: u64) -> Option<LuksExtent> {
    let end = u64::from(be32(head, 104)) * 512;
    (end > 0).then(|| LuksExtent { version: 1, uuid: uuid_at(head), metadata_end: end.min(size) })
}

/// LUKS2: both header copies (`2 × hdr_size`), the keyslot area (`config.keyslots_size` after
/// them, and every keyslot's own area) and up to the data segment.
fn luks2_extent(
    head: &[u8],
    at: u64,
    read: &dyn Fn(u64, usize) -> io::Result<Option<Vec<u8>>>,
    size: u64,
) -> io::Result<Option<LuksExtent>> {
    let hdr_size = be64(head, 8);
    if !(16 << 10..=4 << 20).contains(&hdr_size) || !hdr_size.is_multiple_of(4096) {
        return Ok(None);
    }
    let Some(json_area) = read(at.saturating_add(BINARY_HEADER), (hdr_size - BINARY_HEADER) as usize)? else { return Ok(None) };
    let end = json_area.iter().position(|c| *c == 0).unwrap_or(json_area.len());
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(&json_area[..end]) else { return Ok(None) };
    let num = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<u64>().ok());
    // saturating: a stated extent past what u64 holds reaches the partition's end
    let mut metadata_end = 2 * hdr_size;
    if let Some(k) = num(&json["config"]["keyslots_size"]) {
        metadata_end = metadata_end.max((2 * hdr_size).saturating_add(k));
    }
    if let Some(slots) = json["keyslots"].as_object() {
        for s in slots.values() {
            if let (Some(o), Some(l)) = (num(&s["area"]["offset"]), num(&s["area"]["size"])) {
                metadata_end = metadata_end.max(o.saturating_add(l));
            }
        }
    }
    let data = json["segments"].as_object().into_iter().flat_map(|m| m.values()).filter_map(|s| num(&s["offset"])).filter(|o| *o > 0).min();
    if let Some(d) = data {
        metadata_end = metadata_end.max(d);
    }
    Ok(Some(LuksExtent { version: 2, uuid: uuid_at(head), metadata_end: metadata_end.min(size) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A LUKS2 header as cryptsetup writes it: 16 KiB headers, 16 MiB - 32 KiB of keyslots.
    fn luks2_image(with_primary: bool) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(32 << 20).unwrap();
        let json = br#"{"keyslots":{"0":{"type":"luks2","area":{"type":"raw","offset":"32768","size":"258048"}}},"segments":{"0":{"type":"crypt","offset":"16777216","size":"dynamic"}},"config":{"json_size":"12288","keyslots_size":"16744448"}}"#;
        for (at, magic) in [(0u64, MAGIC_PRIMARY), (0x4000, MAGIC_SECONDARY)] {
            if at == 0 && !with_primary {
                continue;
            }
            let mut h = vec![0u8; 4096];
            h[..6].copy_from_slice(magic);
            h[6..8].copy_from_slice(&2u16.to_be_bytes());
            h[8..16].copy_from_slice(&(16384u64).to_be_bytes());
            h[168..168 + 36].copy_from_slice(b"0f6c3c8e-6a8e-4a63-9b3c-31a7c9d9e1aa");
            f.as_file().write_all_at(&h, at).unwrap();
            f.as_file().write_all_at(json, at + 4096).unwrap();
        }
        f
    }

    #[test]
    fn luks2_reaches_to_the_data_segment_and_the_secondary_header_counts() {
        for primary in [true, false] {
            let f = luks2_image(primary);
            let e = find_header(f.as_file(), 0, 32 << 20).unwrap().expect("found");
            assert_eq!(e.version, 2);
            assert_eq!(e.uuid, "0f6c3c8e-6a8e-4a63-9b3c-31a7c9d9e1aa");
            assert_eq!(e.metadata_end, 16 << 20);
        }
    }

    #[test]
    fn luks1_and_nothing() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(8 << 20).unwrap();
        assert_eq!(find_header(f.as_file(), 0, 8 << 20).unwrap(), None);
        let mut h = vec![0u8; 512];
        h[..6].copy_from_slice(MAGIC_PRIMARY);
        h[6..8].copy_from_slice(&1u16.to_be_bytes());
        h[104..108].copy_from_slice(&4096u32.to_be_bytes());
        f.as_file().write_all_at(&h, 0).unwrap();
        let e = find_header(f.as_file(), 0, 8 << 20).unwrap().unwrap();
        assert_eq!((e.version, e.metadata_end), (1, 2 << 20));
    }
}
