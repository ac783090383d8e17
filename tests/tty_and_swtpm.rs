//! The real `imprint demo` in a pseudo-terminal made here with openpty (not tmux, which cannot
//! make a terminal of size 0x0):
//! - on a terminal that reports 0x0 (a serial line nobody set the size of) the installer still
//!   draws its first page: at the size the terminal answers to a cursor-position query, else at
//!   80x24, and the size is set on the terminal;
//! - the demo's swtpm goes with imprint when imprint is killed (SIGKILL) or its terminal closes.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pty pair; `size` None leaves it at 0x0.
fn openpty(size: Option<(u16, u16)>) -> (OwnedFd, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    if let Some((rows, cols)) = size {
        ws.ws_row = rows;
        ws.ws_col = cols;
    }
    // SAFETY: out-pointers to locals; no name buffer, default termios.
    let rc = unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), &ws) };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    for fd in [master, slave] {
        // SAFETY: fcntl on a descriptor just opened. Not inherited by imprint (nor by its swtpm):
        // the terminal must close when this test closes it.
        assert_eq!(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) }, 0);
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

fn winsize(fd: std::os::fd::RawFd) -> (u16, u16) {
    let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ fills a winsize we own, on an open pty.
    assert_eq!(unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) }, 0);
    (ws.ws_row, ws.ws_col)
}

/// `imprint demo` on the pty's slave side as its controlling terminal, in a session of its own.
struct Demo {
    child: Child,
    master: Option<std::fs::File>,
    out: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
}

impl Demo {
    /// `answer`: what to send back when imprint asks the terminal where its cursor is.
    fn start(size: Option<(u16, u16)>, answer: Option<&'static [u8]>) -> Demo {
        for tool in ["swtpm", "tpm2_pcrextend", "sfdisk"] {
            let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
            assert!(found, "{tool} is missing: make deps installs it");
        }
        let dir = tempfile::tempdir().unwrap();
        let (master, slave) = openpty(size);
        let slave_fd = slave.as_raw_fd();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_imprint"));
        cmd.args(["demo", "--dir"])
            .arg(dir.path().join("demo"))
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("imprint runs");
        drop(cmd); // the parent's copies of the slave side: EOF on the master once imprint is gone
        let master = std::fs::File::from(master);
        let out = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, mut writer) = (master.try_clone().unwrap(), master.try_clone().unwrap());
        let sink = out.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut answered = 0;
            while !stopped.load(Ordering::SeqCst) {
                let mut pfd = libc::pollfd { fd: reader.as_raw_fd(), events: libc::POLLIN, revents: 0 };
                // SAFETY: one pollfd we own.
                if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
                    continue;
                }
                let n = match reader.read(&mut buf) {
                    Ok(n) if n > 0 => n,
                    _ => break,
                };
                let mut all = sink.lock().unwrap();
                all.extend_from_slice(&buf[..n]);
                // every query answered, as a terminal does
                let asked = all.windows(4).filter(|w| *w == b"\x1b[6n").count();
                if let Some(a) = answer {
                    while answered < asked {
                        answered += 1;
                        let _ = writer.write_all(a);
                    }
                }
            }
        });
        Demo { child, master: Some(master), out, stop, reader: Some(reader), dir }
    }

    fn send(&self, bytes: &[u8]) {
        let mut m = self.master.as_ref().unwrap();
        m.write_all(bytes).unwrap();
    }

    fn still_running_after(&mut self, secs: u64) -> bool {
        std::thread::sleep(Duration::from_secs(secs));
        self.child.try_wait().unwrap().is_none()
    }

    /// Closes the terminal's other side (every descriptor of the master).
    fn close_terminal(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        drop(self.master.take());
    }

    fn size(&self) -> (u16, u16) {
        winsize(self.master.as_ref().unwrap().as_raw_fd())
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        let shown = |out: String| out.split_once("\x1b[?1049h").is_some_and(|(_, page)| page.contains("Which") && page.contains(text));
        while !shown(self.output()) {
            assert!(Instant::now() < deadline, "waited {secs}s for {text:?}; imprint wrote:\n{:?}", self.output());
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The demo's swtpm: the process whose command line names the demo's TPM state folder.
    fn swtpm(&self) -> Option<i32> {
        let state = format!("dir={}", self.dir.path().join("demo/tpm").display());
        swtpm_pids().into_iter().find(|(_, cmdline)| cmdline.contains(&state)).map(|(pid, _)| pid)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let stray = self.swtpm();
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(pid) = stray {
            // SAFETY: kill(2) on the swtpm this test's demo started.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

fn swtpm_pids() -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else { continue };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.starts_with("swtpm ") && !is_zombie(pid) {
            found.push((pid, cmdline));
        }
    }
    found
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(true)
}

fn gone_within(pid: i32, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if !Path::new(&format!("/proc/{pid}")).exists() || is_zombie(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The installer's first page: its question's first word, after the switch to the alternate
/// screen (ratatui draws word by word, moving the cursor over blanks: "Which language" is never
/// written in one piece), and the language list.
const FIRST_PAGE: &str = "Deutsch";

#[test]
fn a_0x0_terminal_that_does_not_answer_gets_80x24_and_the_page() {
    let demo = Demo::start(None, None);
    demo.wait_for(FIRST_PAGE, 180);
    assert_eq!(demo.size(), (24, 80), "the size set on the terminal");
    assert!(demo.output().contains("\x1b[6n"), "imprint did not ask the terminal for its size");
}

#[test]
fn a_0x0_terminal_that_answers_gets_its_own_size() {
    let demo = Demo::start(None, Some(b"\x1b[30;100R"));
    demo.wait_for(FIRST_PAGE, 180);
    assert_eq!(demo.size(), (30, 100), "the size the terminal answered, set on the terminal");
}

#[test]
fn a_terminal_with_a_size_is_not_asked() {
    let demo = Demo::start(Some((24, 80)), None);
    demo.wait_for(FIRST_PAGE, 180);
    assert!(!demo.output().contains("\x1b[6n"), "imprint asked a terminal that has a size");
}

#[test]
fn ctrl_l_clears_the_screen_and_draws_the_page_again() {
    // a terminal that never answers a cursor-position query: the redraw must not ask one
    let mut demo = Demo::start(Some((24, 80)), None);
    demo.wait_for(FIRST_PAGE, 180);
    let before = demo.output().len();
    demo.send(b"\x0c");
    assert!(demo.still_running_after(4), "imprint ended after Ctrl-L:\n{:?}", demo.output());
    let after = demo.output()[before..].to_owned();
    let cleared = after.split_once("\x1b[2J").map(|(_, rest)| rest.to_owned());
    assert!(
        cleared.is_some_and(|page| page.contains("Which") && page.contains("Deutsch")),
        "no clear followed by the whole page after Ctrl-L: {after:?}"
    );
}

fn started_demo_swtpm() -> (Demo, i32) {
    let demo = Demo::start(Some((24, 80)), None);
    demo.wait_for(FIRST_PAGE, 180);
    let pid = demo.swtpm().unwrap_or_else(|| panic!("no swtpm for the demo; imprint wrote:\n{:?}", demo.output()));
    (demo, pid)
}

#[test]
fn the_demo_swtpm_goes_when_imprint_is_killed() {
    let (mut demo, swtpm) = started_demo_swtpm();
    demo.child.kill().unwrap(); // SIGKILL: no destructor runs
    demo.child.wait().unwrap();
    assert!(gone_within(swtpm, 10), "swtpm {swtpm} outlived imprint (SIGKILL)");
}

#[test]
fn the_demo_swtpm_goes_when_the_terminal_closes() {
    let (mut demo, swtpm) = started_demo_swtpm();
    demo.close_terminal(); // SIGHUP to imprint's session
    let deadline = Instant::now() + Duration::from_secs(10);
    while demo.child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "imprint still runs 10s after its terminal closed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gone_within(swtpm, 10), "swtpm {swtpm} outlived imprint (terminal closed)");
}
