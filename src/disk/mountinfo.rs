//! Parsers for `/proc/self/mountinfo` and `/proc/swaps`.
//!
//! They exist so that the disk safety checks in [`super::sysfs`] see mounts and swap areas as
//! typed data, tested on recorded text, instead of scraping lines where they are used. Both files
//! escape space, tab, newline and backslash in paths as octal (`\040`); the parsers decode them.
//! This module only turns text into values: it reads no file, touches no device and decides
//! nothing about which disk may be written.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// One line of `/proc/PID/mountinfo` (see proc_pid_mountinfo(5)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MountEntry {
    pub mount_id: u32,
    pub parent_id: u32,
    /// The st_dev of files in this mount: a block device's number, or major 0 for a
    /// filesystem without one (tmpfs, overlay, and btrfs, whose anonymous numbers hide the disk).
    pub major: u32,
    pub minor: u32,
    /// The directory of the filesystem that is mounted here (not `/` for bind mounts).
    pub root: PathBuf,
    pub mountpoint: PathBuf,
    pub mount_options: String,
    pub fstype: String,
    /// What the filesystem says it was mounted from: `/dev/vda1`, `tmpfs`, `overlay`, ...
    pub source: String,
    pub super_options: String,
}

impl MountEntry {
    /// Whether this mount is read-only (the per-mount `ro` flag).
    pub fn is_read_only(&self) -> bool {
        self.mount_options.split(',').any(|o| o == "ro")
    }

    /// The values of a filesystem option, e.g. `lowerdir` of an overlay. Keys may repeat
    /// (`lowerdir+=`), so every value is returned in order.
    pub fn super_option(&self, key: &str) -> Vec<String> {
        self.super_options
            .split(',')
            .filter_map(|o| o.split_once('='))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| String::from_utf8_lossy(&unescape_octal(v)).into_owned())
            .collect()
    }
}

/// One active swap area from `/proc/swaps`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SwapEntry {
    pub filename: PathBuf,
    /// `partition` or `file`.
    pub kind: String,
}

/// Decode the kernel's octal escapes (`\040` is a space). Anything that is not a backslash
/// followed by three octal digits is kept as it is.
pub fn unescape_octal(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (u32::from(b[i + 1] - b'0') << 6) | (u32::from(b[i + 2] - b'0') << 3) | u32::from(b[i + 3] - b'0');
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn path_field(s: &str) -> PathBuf {
    PathBuf::from(OsString::from_vec(unescape_octal(s)))
}

fn parse_devno(s: &str) -> Option<(u32, u32)> {
    let (ma, mi) = s.split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

fn parse_mount_line(line: &str) -> Option<MountEntry> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // Six fixed fields, optional fields ended by "-", then three more.
    let sep = fields.iter().skip(6).position(|f| *f == "-")? + 6;
    if fields.len() < sep + 3 {
        return None;
    }
    let (major, minor) = parse_devno(fields[2])?;
    Some(MountEntry {
        mount_id: fields[0].parse().ok()?,
        parent_id: fields[1].parse().ok()?,
        major,
        minor,
        root: path_field(fields[3]),
        mountpoint: path_field(fields[4]),
        mount_options: fields[5].to_string(),
        fstype: fields[sep + 1].to_string(),
        source: String::from_utf8_lossy(&unescape_octal(fields[sep + 2])).into_owned(),
        super_options: fields[sep + 3..].join(" "),
    })
}

/// Parse the text of a mountinfo file, in its order (later entries on the same mount point hide
/// earlier ones). A line that does not have the documented shape is skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_mount_line).collect()
}

/// Parse the text of `/proc/swaps`. The header line and lines without a name and type are skipped.
pub fn parse_swaps(text: &str) -> Vec<SwapEntry> {
    text.lines()
        .filter(|l| !l.starts_with("Filename"))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let filename = path_field(f.next()?);
            let kind = f.next()?.to_string();
            Some(SwapEntry { filename, kind })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes_are_decoded() {
        assert_eq!(unescape_octal(r"/media/my\040disk"), b"/media/my disk");
        assert_eq!(unescape_octal(r"a\011b\012c\134d"), b"a\tb\nc\\d");
        // Not an escape: kept as written.
        assert_eq!(unescape_octal(r"a\08"), b"a\\08");
        assert_eq!(unescape_octal(r"end\04"), b"end\\04");
        assert_eq!(unescape_octal(r"\777"), b"\\777");
    }

    #[test]
    fn mountinfo_lines() {
        let text = "\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
36 27 8:17 / /media/my\\040stick rw,nosuid shared:5 master:1 - vfat /dev/sdb1 rw,fmask=0022
40 27 0:45 /@home /home ro,relatime - btrfs /dev/mapper/home rw,subvol=/@home
41 27 0:50 / /merged rw - overlay overlay rw,lowerdir=/a:/b,upperdir=/u,workdir=/w
garbage line
";
        let m = parse_mountinfo(text);
        assert_eq!(m.len(), 4);
        assert_eq!((m[0].major, m[0].minor), (254, 0));
        assert_eq!(m[0].mountpoint, PathBuf::from("/"));
        assert_eq!(m[0].source, "/dev/vda");
        assert_eq!(m[1].mountpoint, PathBuf::from("/media/my stick"));
        assert_eq!(m[1].fstype, "vfat");
        assert_eq!(m[1].source, "/dev/sdb1");
        assert_eq!(m[1].parent_id, 27);
        assert_eq!(m[2].root, PathBuf::from("/@home"));
        assert!(m[2].is_read_only());
        assert!(!m[0].is_read_only());
        assert_eq!(m[3].super_option("lowerdir"), ["/a:/b"]);
        assert_eq!(m[3].super_option("upperdir"), ["/u"]);
        assert!(m[3].super_option("datadir").is_empty());
    }

    #[test]
    fn swaps_lines() {
        let text = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n\
                    /dev/sdb2                               partition\t1048572\t\t0\t\t-2\n\
                    /swap\\040file                            file\t\t65532\t\t0\t\t-3\n";
        let s = parse_swaps(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0], SwapEntry { filename: "/dev/sdb2".into(), kind: "partition".into() });
        assert_eq!(s[1].filename, PathBuf::from("/swap file"));
        assert_eq!(s[1].kind, "file");
        assert!(parse_swaps("Filename Type Size Used Priority\n").is_empty());
    }
}
