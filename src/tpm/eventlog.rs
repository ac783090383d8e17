//! The firmware's TCG event log (`/sys/kernel/security/tpm0/binary_bios_measurements`, the
//! crypto-agile format of the TCG PC Client Platform Firmware Profile), read and replayed.
//!
//! Hostile input: every length is checked against what is left, the log is bounded in size, and
//! digests are looked up by algorithm in each record (some firmware lists them in another order
//! than its header). Layout and pitfalls: docs/research/pcr7-prediction.md §1.

use sha2::Digest;

/// `EV_NO_ACTION`: logged, never extended.
pub const EV_NO_ACTION: u32 = 0x3;
/// `EV_SEPARATOR`.
pub const EV_SEPARATOR: u32 = 0x4;
/// `EV_EFI_VARIABLE_DRIVER_CONFIG`: SecureBoot, PK, KEK, db, dbx (PCR 7).
pub const EV_EFI_VARIABLE_DRIVER_CONFIG: u32 = 0x8000_0001;
/// `EV_EFI_BOOT_SERVICES_APPLICATION`: an image started by the firmware (PCR 4; its digest is
/// the image's Authenticode hash).
pub const EV_EFI_BOOT_SERVICES_APPLICATION: u32 = 0x8000_0003;
/// `EV_EFI_VARIABLE_AUTHORITY`: the db entry (or shim's) that verified an image (PCR 7).
pub const EV_EFI_VARIABLE_AUTHORITY: u32 = 0x8000_00E0;

/// TPM_ALG_SHA256.
pub const ALG_SHA256: u16 = 0x000B;
/// TPM_ALG_SHA1.
pub const ALG_SHA1: u16 = 0x0004;

/// The most a log is read (real ones are tens of KiB).
pub const MAX_LOG: usize = 16 << 20;

/// One measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub pcr: u32,
    pub kind: u32,
    /// (algorithm id, digest) as logged.
    pub digests: Vec<(u16, Vec<u8>)>,
    pub data: Vec<u8>,
}

impl Event {
    /// The digest for `alg`, when logged.
    pub fn digest(&self, alg: u16) -> Option<&[u8]> {
        self.digests.iter().find(|(a, _)| *a == alg).map(|(_, d)| d.as_slice())
    }
}

/// A parsed log: the algorithms its header announces (id, digest size) and the events after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLog {
    pub algorithms: Vec<(u16, u16)>,
    pub events: Vec<Event>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventLogError {
    #[error("the event log is {0} bytes, more than any firmware writes ({MAX_LOG})")]
    TooLarge(usize),
    #[error("the event log is not in the crypto-agile format (no 'Spec ID Event03' header): {0}")]
    NotCryptoAgile(&'static str),
    #[error("the event log is damaged at byte {offset}: {what}")]
    Damaged { offset: usize, what: String },
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], EventLogError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.data.len()).ok_or_else(|| EventLogError::Damaged {
            offset: self.at,
            what: format!("{what} needs {n} bytes, {} are left", self.data.len() - self.at),
        })?;
        let out = &self.data[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self, what: &str) -> Result<u8, EventLogError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, EventLogError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, EventLogError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn left(&self) -> usize {
        self.data.len() - self.at
    }
}

/// The digest size of each algorithm systemd knows, to check the header's table against.
fn known_size(alg: u16) -> Option<u16> {
    match alg {
        ALG_SHA1 => Some(20),
        ALG_SHA256 | 0x0012 => Some(32),
        0x000C => Some(48),
        0x000D => Some(64),
        _ => None,
    }
}

/// Parses a crypto-agile event log.
pub fn parse(data: &[u8]) -> Result<EventLog, EventLogError> {
    if data.len() > MAX_LOG {
        return Err(EventLogError::TooLarge(data.len()));
    }
    let mut r = Reader { data, at: 0 };
    // the first record: SHA-1 format, EV_NO_ACTION, holding the Spec ID event
    let pcr = r.u32("the first record's PCR").map_err(|_| EventLogError::NotCryptoAgile("too short"))?;
    let kind = r.u32("the first record's type").map_err(|_| EventLogError::NotCryptoAgile("too short"))?;
    let digest = r.take(20, "the first record's digest").map_err(|_| EventLogError::NotCryptoAgile("too short"))?;
    if pcr != 0 || kind != EV_NO_ACTION || digest.iter().any(|b| *b != 0) {
        return Err(EventLogError::NotCryptoAgile("the first record is not an EV_NO_ACTION in PCR 0"));
    }
    let size = r.u32("the Spec ID event's size")? as usize;
    let spec = r.take(size, "the Spec ID event")?;
    let mut s = Reader { data: spec, at: 0 };
    if s.take(16, "the signature").ok() != Some(b"Spec ID Event03\0".as_slice()) {
        return Err(EventLogError::NotCryptoAgile("the signature is not 'Spec ID Event03'"));
    }
    s.take(8, "platform class and versions")?;
    let n = s.u32("the number of algorithms")?;
    if n == 0 || n > 16 {
        return Err(EventLogError::Damaged { offset: 32 + 24, what: format!("{n} digest algorithms (1 to 16 expected)") });
    }
    let mut algorithms = Vec::new();
    for _ in 0..n {
        let alg = s.u16("an algorithm id")?;
        let size = s.u16("a digest size")?;
        if known_size(alg).is_some_and(|k| k != size) || size == 0 || size > 64 {
            return Err(EventLogError::Damaged { offset: 32 + s.at, what: format!("algorithm {alg:#06x} with a digest of {size} bytes") });
        }
        algorithms.push((alg, size));
    }
    let vendor = s.u8("the vendor info size")? as usize;
    s.take(vendor, "the vendor info")?;
    if s.left() != 0 {
        return Err(EventLogError::Damaged { offset: 32 + s.at, what: "bytes after the Spec ID event's vendor info".into() });
    }
    // TCG_PCR_EVENT2 records
    let mut events = Vec::new();
    while r.left() > 0 {
        let start = r.at;
        let pcr = r.u32("a record's PCR")?;
        let kind = r.u32("a record's type")?;
        let count = r.u32("a record's digest count")?;
        if count as usize > algorithms.len() {
            return Err(EventLogError::Damaged {
                offset: start,
                what: format!("{count} digests, the header announces {}", algorithms.len()),
            });
        }
        let mut digests = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let alg = r.u16("a digest's algorithm")?;
            let Some((_, size)) = algorithms.iter().find(|(a, _)| *a == alg) else {
                return Err(EventLogError::Damaged { offset: start, what: format!("a digest of algorithm {alg:#06x}, not in the header") });
            };
            digests.push((alg, r.take(usize::from(*size), "a digest")?.to_vec()));
        }
        let size = r.u32("a record's event size")? as usize;
        let data = r.take(size, "a record's event data")?.to_vec();
        if pcr > 23 {
            return Err(EventLogError::Damaged { offset: start, what: format!("PCR {pcr}") });
        }
        events.push(Event { pcr, kind, digests, data });
    }
    Ok(EventLog { algorithms, events })
}

/// Extends `value` with `digest` as the TPM does (SHA-256 bank).
pub fn extend_sha256(value: &[u8], digest: &[u8]) -> Vec<u8> {
    let mut h = sha2::Sha256::new();
    h.update(value);
    h.update(digest);
    h.finalize().to_vec()
}

impl EventLog {
    /// PCR `pcr` of the SHA-256 bank as replaying the log gives it (PCRs start at zero;
    /// `EV_NO_ACTION` is not extended), with `digest_of` deciding each event's digest (the logged
    /// one, or a substitute). None when an event of that PCR has no SHA-256 digest.
    pub fn replay_sha256_with(&self, pcr: u32, mut digest_of: impl FnMut(usize, &Event) -> Option<Vec<u8>>) -> Option<Vec<u8>> {
        let mut value = vec![0u8; 32];
        for (i, e) in self.events.iter().enumerate() {
            if e.pcr != pcr || e.kind == EV_NO_ACTION {
                continue;
            }
            value = extend_sha256(&value, &digest_of(i, e)?);
        }
        Some(value)
    }

    /// PCR `pcr` of the SHA-256 bank, replayed as logged.
    pub fn replay_sha256(&self, pcr: u32) -> Option<Vec<u8>> {
        self.replay_sha256_with(pcr, |_, e| e.digest(ALG_SHA256).map(<[u8]>::to_vec))
    }
}

/// Builds a log (tests, and the test double of a firmware): the Spec ID header with SHA-256
/// alone, then `events` (PCR, type, data), each with the SHA-256 of its data as its digest.
pub fn build_sha256(events: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut spec = b"Spec ID Event03\0".to_vec();
    spec.extend_from_slice(&0u32.to_le_bytes()); // platform class
    spec.extend_from_slice(&[0, 2, 0, 2]); // minor, major, errata, uintn size
    spec.extend_from_slice(&1u32.to_le_bytes());
    spec.extend_from_slice(&ALG_SHA256.to_le_bytes());
    spec.extend_from_slice(&32u16.to_le_bytes());
    spec.push(0);
    let mut out = Vec::new();
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
    out.extend_from_slice(&[0u8; 20]);
    out.extend_from_slice(&(spec.len() as u32).to_le_bytes());
    out.extend_from_slice(&spec);
    for (pcr, kind, data) in events {
        out.extend_from_slice(&pcr.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&ALG_SHA256.to_le_bytes());
        out.extend_from_slice(&sha2::Sha256::digest(data));
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_log_parses_and_replays_as_the_tpm_extends() {
        let log = build_sha256(&[
            (7, EV_EFI_VARIABLE_DRIVER_CONFIG, b"SecureBoot".to_vec()),
            (7, EV_SEPARATOR, vec![0; 4]),
            (4, 0x8000_0003, b"x".to_vec()),
        ]);
        let parsed = parse(&log).unwrap();
        assert_eq!(parsed.algorithms, vec![(ALG_SHA256, 32)]);
        assert_eq!(parsed.events.len(), 3);
        let mut want = vec![0u8; 32];
        for d in [b"SecureBoot".as_slice(), &[0; 4]] {
            want = extend_sha256(&want, &sha2::Sha256::digest(d));
        }
        assert_eq!(parsed.replay_sha256(7).unwrap(), want);
    }

    #[test]
    fn damaged_logs_are_refused_without_panic() {
        let good = build_sha256(&[(7, EV_SEPARATOR, vec![0; 4])]);
        for cut in 0..good.len() {
            let _ = parse(&good[..cut]);
        }
        assert!(matches!(parse(&good[..good.len() - 1]), Err(EventLogError::Damaged { .. })));
        assert!(matches!(parse(b"not a log at all, no"), Err(EventLogError::NotCryptoAgile(_))));
        // a record announcing more data than there is
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 8..n - 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&bad), Err(EventLogError::Damaged { .. })));
        // a digest of an algorithm the header does not list
        let mut bad = good;
        let at = bad.len() - 4 - 4 - 32 - 2;
        bad[at..at + 2].copy_from_slice(&0x0042u16.to_le_bytes());
        assert!(parse(&bad).unwrap_err().to_string().contains("not in the header"));
        assert!(matches!(parse(&vec![0; MAX_LOG + 1]), Err(EventLogError::TooLarge(_))));
    }
}
