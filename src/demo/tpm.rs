//! The demo's TPM: a software TPM (swtpm) on a free local port with its state in the demo's
//! folder, so the encryption pages can be tried without touching the machine's own TPM. PCR 7 is
//! extended once, standing in for the firmware's Secure Boot measurements.
//!
//! swtpm runs in the foreground as imprint's child, never as a daemon: stopped on drop, and
//! killed by the kernel when imprint dies in any other way (SIGKILL, a closed terminal), through
//! `PR_SET_PDEATHSIG`.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct DemoTpm {
    pub port: u16,
    child: Child,
}

impl DemoTpm {
    /// Starts swtpm, or says why not (not installed, no port): the demo then offers no TPM.
    pub fn start(dir: &Path) -> Result<DemoTpm, String> {
        let state = dir.join("tpm");
        std::fs::create_dir_all(&state).map_err(|e| format!("creating {}: {e}", state.display()))?;
        let state = std::fs::canonicalize(&state).map_err(|e| e.to_string())?;
        for _ in 0..20 {
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
            if port >= 65000 || TcpListener::bind(("127.0.0.1", port + 1)).is_err() {
                continue;
            }
            // SAFETY: getpid is always safe.
            let parent = unsafe { libc::getpid() };
            let mut cmd = Command::new("swtpm");
            cmd.args(["socket", "--tpm2", "--server"])
                .arg(format!("type=tcp,port={port}"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={}", port + 1))
                .arg("--tpmstate")
                .arg(format!("dir={}", state.display()))
                .args(["--flags", "not-need-init,startup-clear"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: only async-signal-safe calls between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // imprint died before the line above: nobody is left to stop this swtpm
                    if libc::getppid() != parent {
                        libc::_exit(1);
                    }
                    Ok(())
                });
            }
            let child = cmd.spawn().map_err(|e| format!("swtpm: {e}"))?;
            let mut tpm = DemoTpm { port, child };
            if !tpm.listening() {
                continue; // the port was taken meanwhile, or swtpm refused: try another (drop stops it)
            }
            tpm.measure_secure_boot_state()?;
            return Ok(tpm);
        }
        Err("no free port for swtpm".into())
    }

    /// Waits until swtpm accepts connections on its port; false when it exited or never did.
    fn listening(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port + 1)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    fn measure_secure_boot_state(&self) -> Result<(), String> {
        use sha2::{Digest, Sha256};
        let hex: String = Sha256::digest(b"imprint demo: Secure Boot state").iter().map(|b| format!("{b:02x}")).collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let st = Command::new("tpm2_pcrextend")
                .arg(format!("7:sha256={hex}"))
                .env("TPM2TOOLS_TCTI", self.tcti())
                .env("TSS2_LOG", "all+none")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map_err(|e| format!("tpm2_pcrextend: {e}"))?;
            if st.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the demo TPM did not answer".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DemoTpm {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the swtpm this guard started and has not reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
