//! The demo's TPM: a software TPM (swtpm) on a free local port with its state in the demo's
//! folder, so the encryption pages can be tried without touching the machine's own TPM. PCR 7 is
//! extended once, standing in for the firmware's Secure Boot measurements. Stopped on drop.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct DemoTpm {
    pub port: u16,
    pid: i32,
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
            let pidfile = state.join("swtpm.pid");
            let out = Command::new("swtpm")
                .args(["socket", "--tpm2", "--server"])
                .arg(format!("type=tcp,port={port}"))
                .arg("--ctrl")
                .arg(format!("type=tcp,port={}", port + 1))
                .arg("--tpmstate")
                .arg(format!("dir={}", state.display()))
                .args(["--flags", "not-need-init,startup-clear", "--daemon", "--pid"])
                .arg(format!("file={}", pidfile.display()))
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("swtpm: {e}"))?;
            if !out.status.success() {
                continue;
            }
            let pid = std::fs::read_to_string(&pidfile).ok().and_then(|p| p.trim().parse().ok()).ok_or("swtpm wrote no pid")?;
            let tpm = DemoTpm { port, pid };
            tpm.measure_secure_boot_state()?;
            return Ok(tpm);
        }
        Err("no free port for swtpm".into())
    }

    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    fn measure_secure_boot_state(&self) -> Result<(), String> {
        use sha2::{Digest, Sha256};
        let hex: String = Sha256::digest(b"imprint demo: Secure Boot state").iter().map(|b| format!("{b:02x}")).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
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
            if std::time::Instant::now() > deadline {
                return Err("the demo TPM did not answer".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for DemoTpm {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the swtpm this guard started.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
    }
}
