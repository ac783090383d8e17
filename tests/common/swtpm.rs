//! A software TPM per test: `swtpm socket` on a free TCP port with its state in a temporary
//! directory, killed (by its pid) when the guard drops. PCRs start at zero.
#![allow(dead_code)]

use super::run_ok;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Swtpm {
    pub port: u16,
    pid: i32,
    dir: tempfile::TempDir,
    /// Held for swtpms on the default port 2321 (the only one systemd-cryptsetup can name).
    _lock: Option<File>,
}

impl Swtpm {
    /// An swtpm on a free port pair (P for commands, P+1 for control).
    pub fn start() -> Swtpm {
        for _ in 0..50 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            if port < 65000
                && TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
                && let Some(s) = Self::spawn(port, None)
            {
                return s;
            }
        }
        panic!("no free port pair for swtpm");
    }

    /// An swtpm on 2321, with an exclusive lock on /tmp/imprint-swtpm-2321.lock held until drop
    /// (tests that need systemd-cryptsetup share that port).
    pub fn start_default_port() -> Swtpm {
        let lock = File::options().create(true).append(true).open("/tmp/imprint-swtpm-2321.lock").unwrap();
        // SAFETY: flock on a file descriptor we own; blocks until the lock is ours.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(rc, 0, "flock /tmp/imprint-swtpm-2321.lock");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = Self::spawn(2321, Some(lock.try_clone().unwrap())) {
                return s;
            }
            // A previous holder's swtpm may still be exiting.
            assert!(Instant::now() < deadline, "port 2321 stays busy");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn spawn(port: u16, lock: Option<File>) -> Option<Swtpm> {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        let pidfile = dir.path().join("pid");
        let out = Command::new("swtpm")
            .args(["socket", "--tpm2"])
            .arg("--server")
            .arg(format!("type=tcp,port={port}"))
            .arg("--ctrl")
            .arg(format!("type=tcp,port={}", port + 1))
            .arg("--tpmstate")
            .arg(format!("dir={}", state.display()))
            .args(["--flags", "not-need-init,startup-clear", "--daemon"])
            .arg("--pid")
            .arg(format!("file={}", pidfile.display()))
            .output()
            .expect("swtpm is installed (apt-get install swtpm swtpm-tools tpm2-tools)");
        if !out.status.success() {
            return None;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = loop {
            if let Some(pid) = std::fs::read_to_string(&pidfile).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
                break pid;
            }
            assert!(Instant::now() < deadline, "swtpm wrote no pid file");
            std::thread::sleep(Duration::from_millis(20));
        };
        let s = Swtpm { port, pid, dir, _lock: lock };
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "swtpm does not answer on port {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(s)
    }

    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    pub fn device(&self) -> imprint::tpm::Device {
        imprint::tpm::Device::Tcti(self.tcti())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A tpm2-tools command against this TPM.
    pub fn tool(&self, name: &str) -> Command {
        let mut c = Command::new(name);
        c.env("TPM2TOOLS_TCTI", self.tcti()).env("TSS2_LOG", "all+none");
        c
    }

    /// A reboot as the TPM sees it: an orderly `TPM2_Shutdown(CLEAR)` (without it the reset counts
    /// toward dictionary-attack lockout), reset (`swtpm_ioctl -i`: PCRs back to zero, every loaded
    /// session and object gone, as swtpm without a resource manager needs after a few clients)
    /// and `TPM2_Startup(CLEAR)`. The persistent state (seeds) stays.
    pub fn power_cycle(&self) {
        run_ok(self.tool("tpm2_shutdown").arg("-c"));
        run_ok(Command::new("swtpm_ioctl").arg("--tcp").arg(format!("127.0.0.1:{}", self.port + 1)).arg("-i"));
        run_ok(self.tool("tpm2_startup").arg("-c"));
    }

    /// Extends a SHA-256 PCR with the SHA-256 of `data` (`tpm2_pcrextend N:sha256=…`).
    pub fn extend(&self, pcr: u32, data: &[u8]) {
        use sha2::{Digest, Sha256};
        let hex: String = Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect();
        run_ok(self.tool("tpm2_pcrextend").arg(format!("{pcr}:sha256={hex}")));
    }

    /// A SHA-256 PCR's value, lowercase hex.
    pub fn pcr(&self, pcr: u32) -> String {
        let out = run_ok(self.tool("tpm2_pcrread").arg(format!("sha256:{pcr}")));
        let text = String::from_utf8(out.stdout).unwrap();
        // "    7 : 0x…" or "    11: 0x…"
        let v = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(&pcr.to_string()).and_then(|r| r.trim_start().strip_prefix(':')))
            .expect("PCR line")
            .trim();
        v.trim_start_matches("0x").to_ascii_lowercase()
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        // SAFETY: signals the swtpm process this guard started, by its pid.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{}", self.pid)).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if Path::new(&format!("/proc/{}", self.pid)).exists() {
            // SAFETY: as above.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
