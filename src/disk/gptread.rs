//! A GPT reader that trusts nothing it reads (UEFI 2.10 §5.3).
//!
//! Partition tables come from any disk, USB stick or image a person points imprint at, so every
//! field is checked before it is used: the header's size, CRC and own LBA; an entry size the
//! specification allows (128 × 2ⁿ, here up to 4096 bytes); an entry array of bounded length
//! that lies inside the disk and outside the usable area; the array's CRC; and each used entry
//! inside the usable area, with its first LBA not after its last and no two entries
//! overlapping. All arithmetic on values read is checked. When the primary table fails a check
//! the backup is used (as libfdisk and the firmware do); when both fail, the error says what
//! is wrong with each.
//!
//! The `gpt` crate is used only to write new tables: its reader asserts 128-byte entries (a
//! panic on a valid table with larger ones) and allocates whatever entry count a header claims.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use uuid::Uuid;

/// The most bytes an entry array may take: 1 MiB, 64 times what every common tool writes
/// (128 entries × 128 bytes), and 8192 entries of 128 bytes.
pub const MAX_ENTRY_ARRAY: u64 = 1 << 20;
/// The largest entry size accepted (the specification allows any 128 × 2ⁿ; no tool writes more
/// than 128, and nothing is gained from entries larger than a 4 KiB sector).
pub const MAX_ENTRY_SIZE: u32 = 4096;
const SIGNATURE: &[u8; 8] = b"EFI PART";
/// The header fields of revision 1.0 end at byte 92.
const MIN_HEADER_SIZE: u32 = 92;

/// Where bytes come from: a file or block device, or (for tests and fuzzing) memory.
pub trait ReadAt {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).ok().filter(|s| *s <= self.len());
        let end = start.and_then(|s| s.checked_add(buf.len())).filter(|e| *e <= self.len());
        match (start, end) {
            (Some(s), Some(e)) => {
                buf.copy_from_slice(&self[s..e]);
                Ok(())
            }
            _ => Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
        }
    }
}

/// One GPT header, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's bytes as read (its declared size), for rewriting it in place.
    pub raw: Vec<u8>,
    pub my_lba: u64,
    pub alternate_lba: u64,
    pub first_usable: u64,
    pub last_usable: u64,
    pub disk_guid: Uuid,
    pub entries_lba: u64,
    pub num_entries: u32,
    pub entry_size: u32,
    pub entries_crc: u32,
}

impl Header {
    /// Bytes the entry array takes (bounded by [`MAX_ENTRY_ARRAY`] when checked).
    pub fn array_bytes(&self) -> u64 {
        u64::from(self.num_entries) * u64::from(self.entry_size)
    }
}

/// One used entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 1-based: the entry's slot in the array.
    pub number: u32,
    pub type_uuid: Uuid,
    pub uuid: Uuid,
    pub first_lba: u64,
    pub last_lba: u64,
    pub flags: u64,
    pub name: String,
}

/// Which copy a table was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    Primary,
    Backup,
}

/// A table as read, from the copy that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub from: Copy,
    pub header: Header,
    /// The whole entry array as read (`header.array_bytes()` bytes).
    pub array: Vec<u8>,
    pub entries: Vec<Entry>,
    /// The other copy, when it passed every check too and holds the same entries.
    pub other: Option<(Header, Vec<u8>)>,
    /// What is wrong with the copy not used (or with the other copy), if anything.
    pub problem: Option<String>,
    /// The backup, when it passed every check but holds other entries than the primary: what a
    /// writer interrupted between the two copies leaves (it writes the backup first).
    pub stale_backup: Option<(Header, Vec<u8>)>,
}

/// Why a disk's GPT cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GptError {
    /// A signature is there, but neither copy passes the checks.
    #[error("the GPT is damaged: {0}")]
    Damaged(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<GptError> for io::Error {
    fn from(e: GptError) -> io::Error {
        match e {
            GptError::Io(e) => e,
            d @ GptError::Damaged(_) => io::Error::new(io::ErrorKind::InvalidData, d.to_string()),
        }
    }
}

/// Reads the GPT of a disk of `size` bytes with `sector`-byte logical blocks. `Ok(None)` when
/// neither LBA 1 nor the last LBA holds a GPT signature.
pub fn read(dev: &(impl ReadAt + ?Sized), size: u64, sector: u32) -> Result<Option<Table>, GptError> {
    if !matches!(sector, 512 | 1024 | 2048 | 4096) {
        return Err(GptError::Io(io::Error::new(io::ErrorKind::InvalidInput, format!("unsupported sector size {sector}"))));
    }
    let s = u64::from(sector);
    let lbas = size / s;
    if lbas < 3 {
        return Ok(None);
    }
    let last = lbas - 1;
    let primary = read_copy(dev, sector, lbas, 1, Copy::Primary)?;
    // The backup is where the primary says, else at the last LBA (as libfdisk looks).
    let backup_lba = match &primary {
        Some(Ok(t)) if t.header.alternate_lba < lbas && t.header.alternate_lba > 1 => t.header.alternate_lba,
        _ => last,
    };
    let backup = read_copy(dev, sector, lbas, backup_lba, Copy::Backup)?;
    match (primary, backup) {
        (None, None) => Ok(None),
        (Some(Ok(mut p)), b) => {
            match b {
                Some(Ok(b)) if b.entries == p.entries && b.header.first_usable == p.header.first_usable => {
                    p.other = Some((b.header, b.array));
                }
                Some(Ok(b)) => {
                    p.problem = Some("the backup GPT holds other entries than the primary".into());
                    p.stale_backup = Some((b.header, b.array));
                }
                Some(Err(why)) => p.problem = Some(format!("backup header: {why}")),
                None => p.problem = Some(format!("no backup GPT header at LBA {backup_lba}")),
            }
            Ok(Some(p))
        }
        (p, Some(Ok(mut b))) => {
            b.problem = Some(match p {
                Some(Err(why)) => format!("primary header: {why}"),
                _ => "no primary GPT header at LBA 1".into(),
            });
            Ok(Some(b))
        }
        (p, b) => {
            let say = |c: Option<Result<Table, String>>, lba: u64| match c {
                Some(Err(why)) => why,
                _ => format!("no GPT signature at LBA {lba}"),
            };
            Err(GptError::Damaged(format!("primary header: {}; backup header: {}", say(p, 1), say(b, backup_lba))))
        }
    }
}

/// Reads and checks the copy whose header is at `lba`: `None` without a signature there,
/// `Some(Err(why))` when a check fails.
fn read_copy(
    dev: &(impl ReadAt + ?Sized),
    sector: u32,
    lbas: u64,
    lba: u64,
    which: Copy,
) -> Result<Option<Result<Table, String>>, GptError> {
    let s = u64::from(sector);
    let mut block = vec![0u8; sector as usize];
    match dev.read_exact_at(&mut block, lba * s) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    if &block[..8] != SIGNATURE {
        return Ok(None);
    }
    let header = match check_header(&block, sector, lbas, lba, which) {
        Ok(h) => h,
        Err(why) => return Ok(Some(Err(why))),
    };
    let len = usize::try_from(header.array_bytes()).expect("bounded by MAX_ENTRY_ARRAY");
    let mut array = vec![0u8; len];
    match dev.read_exact_at(&mut array, header.entries_lba * s) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(Err("the entry array ends beyond the disk".into()))),
        Err(e) => return Err(e.into()),
    }
    let crc = crc32fast::hash(&array);
    // (fuzzing builds skip the CRC checks, so the fuzzer reaches the checks behind them)
    if crc != header.entries_crc && !cfg!(fuzzing) {
        return Ok(Some(Err(format!("entry array CRC32 is {crc:#010x}, the header says {:#010x}", header.entries_crc))));
    }
    match check_entries(&header, &array) {
        Ok(entries) => Ok(Some(Ok(Table { from: which, header, array, entries, other: None, problem: None, stale_backup: None }))),
        Err(why) => Ok(Some(Err(why))),
    }
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn guid(b: &[u8]) -> Uuid {
    Uuid::from_bytes_le(b[..16].try_into().expect("16 bytes"))
}

/// The CRC32 of a header's bytes with its own CRC field taken as zero.
pub fn header_crc(raw: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&raw[..16]);
    h.update(&[0; 4]);
    h.update(&raw[20..]);
    h.finalize()
}

/// Checks a header block read at `lba` of a disk of `lbas` blocks.
pub fn check_header(block: &[u8], sector: u32, lbas: u64, lba: u64, which: Copy) -> Result<Header, String> {
    let s = u64::from(sector);
    if &block[..8] != SIGNATURE {
        return Err("no \"EFI PART\" signature".into());
    }
    let revision = le32(block, 8);
    if revision >> 16 != 1 {
        return Err(format!("revision {revision:#010x} is not 1.x"));
    }
    let hsize = le32(block, 12);
    if hsize < MIN_HEADER_SIZE || hsize > sector {
        return Err(format!("header size {hsize} is outside {MIN_HEADER_SIZE}..={sector}"));
    }
    let raw = block[..hsize as usize].to_vec();
    let crc = le32(block, 16);
    let want = header_crc(&raw);
    if crc != want && !cfg!(fuzzing) {
        return Err(format!("header CRC32 is {crc:#010x}, the header's bytes give {want:#010x}"));
    }
    let my_lba = le64(block, 24);
    if my_lba != lba {
        return Err(format!("the header at LBA {lba} says it is at LBA {my_lba}"));
    }
    let h = Header {
        my_lba,
        alternate_lba: le64(block, 32),
        first_usable: le64(block, 40),
        last_usable: le64(block, 48),
        disk_guid: guid(&block[56..72]),
        entries_lba: le64(block, 72),
        num_entries: le32(block, 80),
        entry_size: le32(block, 84),
        entries_crc: le32(block, 88),
        raw,
    };
    let size_ok = h.entry_size >= 128 && h.entry_size <= MAX_ENTRY_SIZE && h.entry_size.is_power_of_two();
    if !size_ok {
        return Err(format!("entry size {} is not 128 × 2ⁿ up to {MAX_ENTRY_SIZE} bytes", h.entry_size));
    }
    if h.num_entries == 0 {
        return Err("the header declares no partition entries".into());
    }
    if h.array_bytes() > MAX_ENTRY_ARRAY {
        return Err(format!(
            "{} entries of {} bytes ({} bytes) exceed the {MAX_ENTRY_ARRAY}-byte limit on an entry array",
            h.num_entries,
            h.entry_size,
            h.array_bytes()
        ));
    }
    let last = lbas - 1;
    if h.first_usable > h.last_usable {
        return Err(format!("first usable LBA {} is after the last, {}", h.first_usable, h.last_usable));
    }
    if h.last_usable >= last {
        return Err(format!(
            "usable LBAs {}..={} are not inside the disk's {lbas} blocks: the disk or image is smaller than its table says \
             (truncated?)",
            h.first_usable, h.last_usable
        ));
    }
    let array_lbas = h.array_bytes().div_ceil(s);
    let array_end = h.entries_lba.checked_add(array_lbas).ok_or("entry array LBA overflows")?; // exclusive
    let placed = match which {
        // primary: header, then the array, all before the first usable LBA
        Copy::Primary => h.first_usable > 1 && h.entries_lba > my_lba && array_end <= h.first_usable,
        // backup: the array after the last usable LBA, then the header
        Copy::Backup => h.entries_lba > h.last_usable && array_end <= my_lba && my_lba > h.last_usable,
    };
    if !placed {
        return Err(format!(
            "the entry array (LBAs {}..{array_end}) or the header (LBA {my_lba}) overlaps the usable LBAs {}..={} or lies outside the disk",
            h.entries_lba, h.first_usable, h.last_usable
        ));
    }
    Ok(h)
}

/// Checks and decodes every used entry of `array`.
pub fn check_entries(h: &Header, array: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, e) in array.chunks_exact(h.entry_size as usize).enumerate() {
        let type_uuid = guid(&e[0..16]);
        if type_uuid.is_nil() {
            continue;
        }
        let number = u32::try_from(i + 1).map_err(|_| "entry number overflows")?;
        let first_lba = le64(e, 32);
        let last_lba = le64(e, 40);
        if first_lba > last_lba {
            return Err(format!("entry {number} starts at LBA {first_lba}, after its last LBA {last_lba}"));
        }
        if first_lba < h.first_usable || last_lba > h.last_usable {
            return Err(format!(
                "entry {number} (LBAs {first_lba}..={last_lba}) is outside the usable LBAs {}..={}",
                h.first_usable, h.last_usable
            ));
        }
        let units: Vec<u16> = e[56..128].chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|u| *u != 0).collect();
        out.push(Entry {
            number,
            type_uuid,
            uuid: guid(&e[16..32]),
            first_lba,
            last_lba,
            flags: le64(e, 48),
            name: String::from_utf16_lossy(&units),
        });
    }
    let mut by_start: Vec<&Entry> = out.iter().collect();
    by_start.sort_by_key(|e| e.first_lba);
    for w in by_start.windows(2) {
        if w[1].first_lba <= w[0].last_lba {
            return Err(format!(
                "entries {} (LBAs {}..={}) and {} (LBAs {}..={}) overlap",
                w[0].number, w[0].first_lba, w[0].last_lba, w[1].number, w[1].first_lba, w[1].last_lba
            ));
        }
    }
    Ok(out)
}

/// Encodes a label into an entry's 72-byte name field (UTF-16LE, zero-filled); `None` when it
/// is longer than the 36 units the field holds.
pub fn encode_name(label: &str) -> Option<[u8; 72]> {
    let units: Vec<u16> = label.encode_utf16().collect();
    if units.len() > 36 {
        return None;
    }
    let mut out = [0u8; 72];
    for (i, u) in units.iter().enumerate() {
        out[i * 2..i * 2 + 2].copy_from_slice(&u.to_le_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk image in memory with a valid GPT: `entries` of (first, last) LBAs.
    pub(crate) fn image(lbas: u64, entry_size: u32, num: u32, entries: &[(u64, u64)]) -> Vec<u8> {
        let s = 512u64;
        let mut img = vec![0u8; (lbas * s) as usize];
        let array_lbas = (u64::from(num) * u64::from(entry_size)).div_ceil(s);
        let first_usable = 2 + array_lbas;
        let last_usable = lbas - 2 - array_lbas;
        let mut array = vec![0u8; (u64::from(num) * u64::from(entry_size)) as usize];
        for (i, (a, b)) in entries.iter().enumerate() {
            let e = &mut array[i * entry_size as usize..];
            e[0..16].copy_from_slice(&Uuid::from_u128(0x0fc63daf_8483_4772_8e79_3d69d8477de4).to_bytes_le());
            e[16..32].copy_from_slice(&Uuid::from_u128(i as u128 + 1).to_bytes_le());
            e[32..40].copy_from_slice(&a.to_le_bytes());
            e[40..48].copy_from_slice(&b.to_le_bytes());
            e[56..128].copy_from_slice(&encode_name("root-x86-64").unwrap());
        }
        let acrc = crc32fast::hash(&array);
        for (my, alt, at) in [(1u64, lbas - 1, 2u64), (lbas - 1, 1, last_usable + 1)] {
            let mut h = vec![0u8; 92];
            h[..8].copy_from_slice(SIGNATURE);
            h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
            h[12..16].copy_from_slice(&92u32.to_le_bytes());
            h[24..32].copy_from_slice(&my.to_le_bytes());
            h[32..40].copy_from_slice(&alt.to_le_bytes());
            h[40..48].copy_from_slice(&first_usable.to_le_bytes());
            h[48..56].copy_from_slice(&last_usable.to_le_bytes());
            h[72..80].copy_from_slice(&at.to_le_bytes());
            h[80..84].copy_from_slice(&num.to_le_bytes());
            h[84..88].copy_from_slice(&entry_size.to_le_bytes());
            h[88..92].copy_from_slice(&acrc.to_le_bytes());
            let c = header_crc(&h);
            h[16..20].copy_from_slice(&c.to_le_bytes());
            img[(my * s) as usize..(my * s) as usize + 92].copy_from_slice(&h);
            img[(at * s) as usize..(at * s) as usize + array.len()].copy_from_slice(&array);
        }
        img
    }

    #[test]
    fn entry_sizes_the_specification_allows_are_read() {
        for size in [128, 256, 512, 4096] {
            let img = image(256, size, 4, &[(100, 149), (150, 199)]);
            let t = read(&img[..], img.len() as u64, 512).unwrap().unwrap();
            assert_eq!(t.from, Copy::Primary);
            assert_eq!(t.entries.len(), 2, "entry size {size}");
            assert_eq!(t.entries[0].name, "root-x86-64");
            assert_eq!((t.entries[1].first_lba, t.entries[1].last_lba), (150, 199));
            assert!(t.other.is_some() && t.problem.is_none());
        }
    }

    #[test]
    fn a_damaged_primary_falls_back_to_the_backup() {
        let mut img = image(256, 128, 128, &[(100, 149)]);
        img[512 + 40] ^= 1; // first usable LBA changed, header CRC now wrong
        let t = read(&img[..], img.len() as u64, 512).unwrap().unwrap();
        assert_eq!(t.from, Copy::Backup);
        assert!(t.problem.as_deref().unwrap().contains("header CRC32"), "{:?}", t.problem);
    }

    #[test]
    fn no_signature_is_no_table_and_both_damaged_is_an_error() {
        let img = vec![0u8; 256 * 512];
        assert!(read(&img[..], img.len() as u64, 512).unwrap().is_none());
        let mut img = image(256, 128, 128, &[(100, 149)]);
        img[512 + 16] ^= 1;
        img[255 * 512 + 16] ^= 1;
        let e = read(&img[..], img.len() as u64, 512).unwrap_err().to_string();
        assert!(e.contains("primary header: header CRC32") && e.contains("backup header: header CRC32"), "{e}");
    }

    #[test]
    fn odd_entry_sizes_and_huge_counts_are_refused_without_allocating() {
        for (size, num, want) in [(129, 4, "entry size 129"), (8192, 4, "entry size 8192"), (128, u32::MAX, "exceed")] {
            let block = {
                let img = image(256, 128, 4, &[]);
                let mut h = img[512..1024].to_vec();
                h[80..84].copy_from_slice(&num.to_le_bytes());
                h[84..88].copy_from_slice(&(size as u32).to_le_bytes());
                let c = header_crc(&h[..92]);
                h[16..20].copy_from_slice(&c.to_le_bytes());
                h
            };
            let e = check_header(&block, 512, 256, 1, Copy::Primary).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
    }

    #[test]
    fn entries_outside_the_usable_area_or_overlapping_are_refused() {
        for (entries, want) in [
            (vec![(100, 149), (149, 160)], "overlap"),
            (vec![(100, 99)], "after its last"),
            (vec![(100, 10_000)], "outside the usable"),
            (vec![(1, 10)], "outside the usable"),
            (vec![(u64::MAX - 1, u64::MAX)], "outside the usable"),
        ] {
            let img = image(256, 128, 128, &entries);
            let e = read(&img[..], img.len() as u64, 512).unwrap_err().to_string();
            assert!(e.contains(want), "{entries:?}: {e}");
        }
    }
}
