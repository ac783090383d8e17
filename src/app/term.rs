//! The terminal side of the TUI: raw mode and the alternate screen (restored on exit and after a
//! panic, by ratatui's init), one input thread, and the loop that feeds keys and the backends'
//! messages to a flow and carries out its requests.
//!
//! The loop blocks on one channel that both the input thread and the backends' workers send to,
//! so an idle installer sleeps (no redraw timer; the input thread wakes twice a second, see
//! [`INPUT_POLL`]); it redraws after each burst of inputs, on resize, and on Ctrl-L (the whole
//! screen).

use std::sync::mpsc::{Receiver, Sender, channel};

use anyhow::Result;
use imprint_screens::Flow;
use imprint_screens::ratatui::crossterm::event::{self, Event, KeyEvent};

/// What wakes the loop.
pub enum Input<M> {
    Key(KeyEvent),
    Resize,
    Msg(M),
    /// The terminal can no longer be read (hung up, gone): the loop ends with this error, so
    /// that the unit running the installer starts it again instead of leaving a page that no key
    /// reaches.
    Lost(String),
}

/// Where a backend sends its answers; cheap to clone into a worker thread.
pub struct Replies<M> {
    tx: Sender<Input<M>>,
}

impl<M> Clone for Replies<M> {
    fn clone(&self) -> Self {
        Replies { tx: self.tx.clone() }
    }
}

impl<M> Replies<M> {
    /// Sends a message to the flow; false once the loop has ended.
    pub fn send(&self, msg: M) -> bool {
        self.tx.send(Input::Msg(msg)).is_ok()
    }
}

/// What a backend says after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Quit,
}

/// Carries out a flow's requests.
pub trait Backend<F: Flow> {
    fn handle(&mut self, request: F::Request, replies: &Replies<F::Msg>) -> Control;
}

/// Runs `flow` on the terminal until a request makes `backend` say [`Control::Quit`].
pub fn run<F, B>(flow: &mut F, backend: &mut B) -> Result<()>
where
    F: Flow,
    F::Msg: Send + 'static,
    B: Backend<F>,
{
    let (tx, rx) = channel::<Input<F::Msg>>();
    let replies = Replies { tx: tx.clone() };
    fix_size();
    let mut terminal = imprint_screens::ratatui::init();
    let keys = tx;
    // Ctrl-L redraws the whole screen, as in a shell: on a serial console the kernel's and
    // systemd's messages write over the page, and only cells that change are drawn again.
    let redraw = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let redraw_asked = redraw.clone();
    std::thread::Builder::new().name("imprint-input".into()).spawn(move || {
        loop {
            // poll, then read: a read() blocked in waiting holds crossterm's reader lock, and a
            // cursor position query (ratatui's, on a resize) that cannot take the lock within 2 s
            // fails and ends the installer; seen on the VM's serial console
            match event::poll(INPUT_POLL) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    let _ = keys.send(Input::Lost(format!("waiting for a key: {e}")));
                    break;
                }
            }
            let input = match event::read() {
                Ok(Event::Key(k)) if is_redraw_key(&k) => {
                    redraw_asked.store(true, std::sync::atomic::Ordering::SeqCst);
                    Input::Resize
                }
                Ok(Event::Key(k)) => Input::Key(k),
                Ok(Event::Resize(..)) => Input::Resize,
                Ok(_) => continue,
                Err(e) => Input::Lost(format!("reading a key: {e}")),
            };
            let lost = matches!(input, Input::Lost(_));
            if keys.send(input).is_err() || lost {
                break;
            }
        }
    })?;
    let result = drive(flow, backend, &replies, &rx, &mut |flow: &F| {
        if redraw.swap(false, std::sync::atomic::Ordering::SeqCst) {
            // not Terminal::clear(): it asks the terminal where the cursor is, and a serial
            // terminal may never answer. A blank frame empties ratatui's idea of the screen, the
            // clear empties the screen, and the frame below is then drawn whole.
            terminal.draw(|_| {})?;
            imprint_screens::ratatui::backend::Backend::clear(terminal.backend_mut())?;
        }
        terminal.draw(|f| flow.draw(f))?;
        Ok(())
    });
    imprint_screens::ratatui::restore();
    result
}

/// How long the input thread waits for input at a time: well under the 2 s a cursor position
/// query waits for crossterm's reader lock.
const INPUT_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Ctrl-L: draw the whole screen again.
fn is_redraw_key(k: &KeyEvent) -> bool {
    use imprint_screens::ratatui::crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
    k.kind == KeyEventKind::Press && k.modifiers.contains(KeyModifiers::CONTROL) && matches!(k.code, KeyCode::Char('l' | 'L'))
}

/// How long [`fix_size`] waits for the terminal's answer to its cursor-position query.
const SIZE_QUERY_TIMEOUT_MS: i32 = 500;

/// A terminal that reports a size of 0x0 (a serial line nobody set the size of) gets one: the
/// size the terminal itself reports (the cursor moved to 999;999, then a cursor-position query,
/// `ESC[6n`, answered within [`SIZE_QUERY_TIMEOUT_MS`]), else 80x24; set on the tty
/// (`TIOCSWINSZ`) so that every reader of the size sees it. systemd's tools do the same. Without
/// it the pages would be drawn on a screen of no cells: nothing at all.
pub fn fix_size() {
    use std::os::fd::AsRawFd;
    let Ok(tty) = std::fs::OpenOptions::new().read(true).write(true).open("/dev/tty") else { return };
    let fd = tty.as_raw_fd();
    // SAFETY: winsize is plain data; TIOCGWINSZ fills it on an open tty.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open for the duration of the call.
    if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } != 0 || (ws.ws_row > 0 && ws.ws_col > 0) {
        return;
    }
    let (rows, cols) = query_size(fd).unwrap_or((24, 80));
    ws.ws_row = rows;
    ws.ws_col = cols;
    // SAFETY: as above; TIOCSWINSZ reads the struct.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// Runs `read` with the terminal's echo off (when standard input is a terminal), and turns it
/// back on afterwards, also when `read` failed; says whether it was a terminal. For secrets
/// typed at a prompt (PIN, passphrase, recovery key).
pub fn without_echo<T>(read: impl FnOnce() -> T) -> (T, bool) {
    // SAFETY: termios calls on fd 0 with a zeroed struct tcgetattr fills in.
    let mut tio: libc::termios = unsafe { std::mem::zeroed() };
    let is_tty = unsafe { libc::tcgetattr(0, &mut tio) } == 0;
    if is_tty {
        let mut quiet = tio;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: as above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &quiet) };
    }
    let got = read();
    if is_tty {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &tio) };
    }
    (got, is_tty)
}

/// Asks the terminal on `fd` for its size: saves the cursor, moves it as far as it goes, asks
/// where it is, restores it. None when no well-formed answer comes in time.
fn query_size(fd: std::os::fd::RawFd) -> Option<(u16, u16)> {
    // SAFETY: termios is plain data, filled by tcgetattr on an open tty.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open.
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return None;
    }
    let mut raw = saved;
    // SAFETY: raw is a valid termios.
    unsafe { libc::cfmakeraw(&mut raw) };
    // SAFETY: fd is open, raw is valid.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw) } != 0 {
        return None;
    }
    let answer = (|| {
        let ask = b"\x1b7\x1b[999;999H\x1b[6n\x1b8";
        // SAFETY: writing a buffer we own to an open fd.
        if unsafe { libc::write(fd, ask.as_ptr().cast(), ask.len()) } != ask.len() as isize {
            return None;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(SIZE_QUERY_TIMEOUT_MS as u64);
        let mut got = Vec::new();
        while !got.ends_with(b"R") && got.len() < 32 {
            let left = deadline.saturating_duration_since(std::time::Instant::now()).as_millis() as i32;
            let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
            // SAFETY: one pollfd we own.
            if left <= 0 || unsafe { libc::poll(&mut pfd, 1, left) } <= 0 {
                return None;
            }
            let mut b = [0u8; 1];
            // SAFETY: reading into a buffer we own from an open fd.
            if unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) } != 1 {
                return None;
            }
            got.push(b[0]);
        }
        parse_cursor_report(&got)
    })();
    // SAFETY: restores the settings read above.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    answer
}

/// `ESC [ rows ; cols R` (anything before the ESC, e.g. a key typed meanwhile, is ignored) →
/// (rows, cols), both at least 1.
pub fn parse_cursor_report(b: &[u8]) -> Option<(u16, u16)> {
    let start = b.iter().rposition(|&c| c == 0x1b)?;
    let s = std::str::from_utf8(b.get(start + 1..)?).ok()?;
    let (rows, cols) = s.strip_prefix('[')?.strip_suffix('R')?.split_once(';')?;
    let (rows, cols): (u16, u16) = (rows.parse().ok()?, cols.parse().ok()?);
    (rows > 0 && cols > 0).then_some((rows, cols))
}

/// The loop itself, with drawing passed in (tests drive it on a TestBackend).
pub fn drive<F, B>(
    flow: &mut F,
    backend: &mut B,
    replies: &Replies<F::Msg>,
    rx: &Receiver<Input<F::Msg>>,
    draw: &mut dyn FnMut(&F) -> Result<()>,
) -> Result<()>
where
    F: Flow,
    B: Backend<F>,
{
    let mut pending = flow.start();
    loop {
        for r in pending.drain(..) {
            if backend.handle(r, replies) == Control::Quit {
                return Ok(());
            }
        }
        draw(flow)?;
        // Block for the next input, then take whatever else is already waiting before drawing.
        let Ok(first) = rx.recv() else { return Ok(()) };
        let mut input = Some(first);
        while let Some(i) = input {
            pending.extend(match i {
                Input::Key(k) => flow.key(k),
                Input::Msg(m) => flow.message(m),
                Input::Resize => Vec::new(),
                Input::Lost(why) => anyhow::bail!("the terminal cannot be read any more ({why})"),
            });
            input = rx.try_recv().ok();
        }
    }
}

/// A channel for [`drive`] without a terminal.
pub fn channel_pair<M>() -> (Replies<M>, Sender<Input<M>>, Receiver<Input<M>>) {
    let (tx, rx) = channel();
    (Replies { tx: tx.clone() }, tx, rx)
}

/// Sends stderr to `path` while the TUI owns the terminal, so that a library's message cannot
/// scribble over the screen; the returned guard puts it back.
pub struct StderrToFile {
    saved: std::os::fd::OwnedFd,
}

impl StderrToFile {
    pub fn new(path: &std::path::Path) -> Result<StderrToFile> {
        use std::os::fd::{AsRawFd, FromRawFd};
        use std::os::unix::fs::OpenOptionsExt;
        let log = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
        // SAFETY: dup of fd 2, which is open for the process's lifetime; the result is owned.
        let saved = unsafe { libc::dup(2) };
        anyhow::ensure!(saved >= 0, "dup(2): {}", std::io::Error::last_os_error());
        // SAFETY: `saved` is a fresh descriptor nobody else owns.
        let saved = unsafe { std::os::fd::OwnedFd::from_raw_fd(saved) };
        // SAFETY: both descriptors are open.
        anyhow::ensure!(unsafe { libc::dup2(log.as_raw_fd(), 2) } >= 0, "dup2: {}", std::io::Error::last_os_error());
        Ok(StderrToFile { saved })
    }
}

impl Drop for StderrToFile {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: both descriptors are open.
        unsafe { libc::dup2(self.saved.as_raw_fd(), 2) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imprint_screens::ratatui::Frame;

    /// A flow of one page that counts its draws.
    struct Counter(std::rc::Rc<std::cell::Cell<u32>>);
    impl Flow for Counter {
        type Request = ();
        type Msg = ();
        fn start(&mut self) -> Vec<()> {
            Vec::new()
        }
        fn key(&mut self, _: KeyEvent) -> Vec<()> {
            Vec::new()
        }
        fn message(&mut self, _: ()) -> Vec<()> {
            Vec::new()
        }
        fn draw(&self, _: &mut Frame) {}
        fn ui(&self) -> imprint_screens::Ui {
            imprint_screens::Ui::default()
        }
    }
    struct Nothing;
    impl Backend<Counter> for Nothing {
        fn handle(&mut self, _: (), _: &Replies<()>) -> Control {
            Control::Continue
        }
    }

    /// A terminal that cannot be read any more ends the loop with an error (the unit starts the
    /// installer again) instead of leaving a page no key reaches.
    #[test]
    fn a_lost_terminal_ends_the_loop() {
        let draws = std::rc::Rc::new(std::cell::Cell::new(0));
        let mut flow = Counter(draws.clone());
        let (replies, tx, rx) = channel_pair::<()>();
        tx.send(Input::Resize).unwrap();
        tx.send(Input::Lost("waiting for a key: Input/output error".into())).unwrap();
        let err = drive(&mut flow, &mut Nothing, &replies, &rx, &mut |f: &Counter| {
            f.0.set(f.0.get() + 1);
            Ok(())
        })
        .expect_err("the loop ends");
        assert!(err.to_string().contains("cannot be read any more (waiting for a key: Input/output error)"), "{err}");
        assert_eq!(draws.get(), 1, "drawn once, before the inputs");
    }

    #[test]
    fn cursor_reports() {
        assert_eq!(parse_cursor_report(b"\x1b[24;80R"), Some((24, 80)));
        assert_eq!(parse_cursor_report(b"x\x1b[50;132R"), Some((50, 132)));
        assert_eq!(parse_cursor_report(b"\x1b[0;80R"), None);
        assert_eq!(parse_cursor_report(b"\x1b[24R"), None);
        assert_eq!(parse_cursor_report(b"24;80R"), None);
    }
}
