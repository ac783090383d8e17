//! The terminal side of the TUI: raw mode and the alternate screen (restored on exit and after a
//! panic, by ratatui's init), one input thread, and the loop that feeds keys and the backends'
//! messages to a flow and carries out its requests.
//!
//! The loop blocks on one channel that both the input thread and the backends' workers send to,
//! so an idle installer sleeps (no polling, no redraw timer); it redraws after each burst of
//! inputs, and on resize.

use std::sync::mpsc::{Receiver, Sender, channel};

use anyhow::Result;
use imprint_screens::Flow;
use imprint_screens::ratatui::crossterm::event::{self, Event, KeyEvent};

/// What wakes the loop.
pub enum Input<M> {
    Key(KeyEvent),
    Resize,
    Msg(M),
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
    let mut terminal = imprint_screens::ratatui::init();
    let keys = tx;
    std::thread::Builder::new().name("imprint-input".into()).spawn(move || {
        loop {
            let input = match event::read() {
                Ok(Event::Key(k)) => Input::Key(k),
                Ok(Event::Resize(..)) => Input::Resize,
                Ok(_) => continue,
                Err(_) => break,
            };
            if keys.send(input).is_err() {
                break;
            }
        }
    })?;
    let result = drive(flow, backend, &replies, &rx, &mut |flow: &F| {
        terminal.draw(|f| flow.draw(f))?;
        Ok(())
    });
    imprint_screens::ratatui::restore();
    result
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
