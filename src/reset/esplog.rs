//! The reset log on the ESP: `/loader/imprint-reset.log`, one line per reset (RFC 3339 UTC
//! time, then what was erased), so a kiosk can show when it was last reset even though every
//! partition that holds state was just erased. The ESP is the one partition a reset keeps that
//! is writable and that every boot has; `/loader/` is systemd-boot's folder, left alone by
//! updates (which write `/EFI/Linux/`).
//!
//! Written and read with mtools on the partition's byte range (`IMAGE@@OFFSET`), so nothing is
//! mounted, on image files and block devices alike. A line never holds a secret: partition
//! numbers, labels and types only.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::task::{self, TaskError};

/// The log's path inside the ESP (mtools syntax).
pub const LOG_PATH: &str = "::/loader/imprint-reset.log";
const LOG_DIR: &str = "::/loader";

/// `2026-06-01T12:34:56Z` for `t`.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// One log line (without the newline): the time, then each erased partition as
/// `number "label" (type)`.
pub fn line(time: SystemTime, erased: &[String]) -> String {
    let what = if erased.is_empty() { "nothing".to_string() } else { erased.join(", ") };
    format!("{} factory reset, erased: {what}", rfc3339_utc(time))
}

fn image_spec(target: &Path, esp_offset: u64) -> String {
    format!("{}@@{esp_offset}", target.display())
}

/// The log's text, empty when there is none yet (or the ESP holds no FAT file system).
pub fn read(target: &Path, esp_offset: u64) -> String {
    let img = image_spec(target, esp_offset);
    task::run("mtype", ["-i", img.as_str(), LOG_PATH]).unwrap_or_default()
}

/// The last line of the log, for the TUI's "last reset" field.
pub fn last_line(target: &Path, esp_offset: u64) -> Option<String> {
    read(target, esp_offset).lines().rev().map(str::trim).find(|l| !l.is_empty()).map(str::to_string)
}

/// Appends `line` to the log (creating `/loader/` and the file as needed).
pub fn append(target: &Path, esp_offset: u64, line: &str) -> Result<(), TaskError> {
    let img = image_spec(target, esp_offset);
    let mut text = read(target, esp_offset);
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line);
    text.push('\n');
    let dir = tempfile::tempdir().map_err(|e| TaskError { cmdline: "mkdtemp".into(), detail: e.to_string() })?;
    let local = dir.path().join("imprint-reset.log");
    std::fs::write(&local, text).map_err(|e| TaskError { cmdline: format!("writing {}", local.display()), detail: e.to_string() })?;
    // an existing folder makes mmd fail; that is fine
    let _ = task::run("mmd", ["-i", img.as_str(), LOG_DIR]);
    task::run("mcopy", ["-n", "-o", "-i", img.as_str(), &local.display().to_string(), LOG_PATH])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_times() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH + Duration::from_secs(1_780_317_296)), "2026-06-01T12:34:56Z");
        let l = line(UNIX_EPOCH, &["partition 4 \"root\" (root-x86-64)".into()]);
        assert_eq!(l, "1970-01-01T00:00:00Z factory reset, erased: partition 4 \"root\" (root-x86-64)");
    }
}
