//! Helpers shared by the integration tests: the imprint binary, external tools, image files and
//! loop devices (always detached by name when the guard drops).
#![allow(dead_code)]

pub mod swtpm;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn imprint() -> Command {
    Command::new(env!("CARGO_BIN_EXE_imprint"))
}

/// Runs a command and returns its output; panics with everything it printed if it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn sh(script: &str) -> String {
    String::from_utf8(run_ok(Command::new("sh").args(["-c", script])).stdout).unwrap()
}

pub fn sparse_file(path: &Path, size: u64) {
    let f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
}

pub fn write_defs(dir: &Path, files: &[(&str, &str)]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir.to_path_buf()
}

/// `systemd-repart --dry-run=no --seed=SEED --definitions=DEFS EXTRA… TARGET`; what it printed.
pub fn systemd_repart(seed: &str, defs: &Path, target: &Path, extra: &[&str]) -> String {
    let mut c = Command::new("systemd-repart");
    c.arg("--dry-run=no").arg(format!("--seed={seed}")).arg(format!("--definitions={}", defs.display()));
    c.args(extra).arg(target);
    let out = run_ok(&mut c);
    String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout)
}

/// What `systemd-repart --dry-run=yes` says it would change on `target`.
pub fn repart_verdict(defs: &Path, target: &Path) -> String {
    let out = run_ok(Command::new("systemd-repart").arg("--dry-run=yes").arg(format!("--definitions={}", defs.display())).arg(target));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// systemd-repart finds nothing to change on `target` for these definitions.
pub fn assert_no_changes(defs: &Path, target: &Path) {
    let text = repart_verdict(defs, target);
    assert!(text.contains("No changes."), "systemd-repart wants to change imprint's result:\n{text}");
}

/// A loop device attached to a file; detached on drop.
pub struct Loop {
    pub dev: PathBuf,
}

impl Loop {
    pub fn attach(file: &Path, args: &[&str]) -> Loop {
        let mut c = Command::new("losetup");
        c.args(["--find", "--show"]).args(args).arg(file);
        let out = run_ok(&mut c);
        Loop { dev: PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()) }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// `sfdisk --json` of a device or 512-byte-sector image, with the node names dropped.
pub fn sfdisk_json(dev: &Path) -> serde_json::Value {
    let out = run_ok(Command::new("sfdisk").arg("--json").arg(dev));
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &mut v["partitiontable"];
    t.as_object_mut().unwrap().remove("device");
    if let Some(parts) = t["partitions"].as_array_mut() {
        for p in parts {
            p.as_object_mut().unwrap().remove("node");
        }
    }
    v
}

pub fn sha256_range(path: &Path, offset: u64, len: u64) -> String {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0;
    while done < len {
        let n = (buf.len() as u64).min(len - done) as usize;
        f.read_exact_at(&mut buf[..n], offset + done).unwrap();
        h.update(&buf[..n]);
        done += n as u64;
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes actually allocated to a file.
pub fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// (start, size) in bytes of partition `n` (1-based) per sfdisk.
pub fn part_range(json: &serde_json::Value, n: usize) -> (u64, u64) {
    let ss = json["partitiontable"]["sectorsize"].as_u64().unwrap_or(512);
    let p = &json["partitiontable"]["partitions"][n - 1];
    (p["start"].as_u64().unwrap() * ss, p["size"].as_u64().unwrap() * ss)
}

/// Runs a command with `input` on stdin; returns its output whatever the exit status.
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs `script` (sh, `$1` = `dir`, `$2` = this test binary) in a private mount namespace under
/// `timeout`, then SIGKILLs every pid the script listed in `dir/pids`, so nothing it started
/// outlives the test, whatever happened. For daemons (homed, localed…) on a private bus.
pub fn run_in_mount_namespace(script: &str, dir: &std::path::Path, timeout_secs: u32) -> Output {
    let out = Command::new("timeout")
        .args(["-s", "TERM", &timeout_secs.to_string(), "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(dir)
        .arg(std::env::current_exe().unwrap())
        .output()
        .unwrap();
    for pid in std::fs::read_to_string(dir.join("pids")).unwrap_or_default().split_whitespace() {
        if let Ok(pid) = pid.parse::<i32>() {
            // SAFETY: plain kill(2) on a pid the script started; a stale pid just fails.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    out
}

/// A minimal PE file with the given sections (enough for a UKI's section table).
pub fn pe(sections: &[(&str, &[u8])]) -> Vec<u8> {
    let mut v = vec![0u8; 0x40];
    v[..2].copy_from_slice(b"MZ");
    v[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    v.extend_from_slice(b"PE\0\0");
    let mut coff = [0u8; 20];
    coff[2..4].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    v.extend_from_slice(&coff);
    let mut data_at = v.len() + 40 * sections.len();
    let (mut table, mut payload) = (Vec::new(), Vec::new());
    for (name, body) in sections {
        let mut h = [0u8; 40];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let padded = body.len().div_ceil(16) * 16;
        h[8..12].copy_from_slice(&(body.len() as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(padded as u32).to_le_bytes());
        h[20..24].copy_from_slice(&(data_at as u32).to_le_bytes());
        table.extend_from_slice(&h);
        let mut b = body.to_vec();
        b.resize(padded, 0);
        data_at += padded;
        payload.extend_from_slice(&b);
    }
    v.extend_from_slice(&table);
    v.extend_from_slice(&payload);
    v
}
