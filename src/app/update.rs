//! The update page's backend: the same `update::Context` / `update::apply` that `imprint update`
//! runs, in a worker thread, with the executor's progress events turned into the page's.

use std::sync::atomic::Ordering;

use imprint_screens::update::{Msg, Request, Updater, VersionView};

use super::term::{Backend, Control, Replies};
use crate::cli::UpdateCommonArgs;
use crate::exec::{self, Event};
use crate::update::{self, Context, Options, fetch::Fetcher};

pub struct UpdateBackend {
    opts: Options,
    worker: Option<std::thread::JoinHandle<()>>,
    running_system: bool,
}

impl UpdateBackend {
    pub fn new(args: &UpdateCommonArgs) -> UpdateBackend {
        UpdateBackend { opts: update::cli::options(args), worker: None, running_system: args.image.is_none() }
    }

    /// Reads targets and offers; with the update lock (held until the context drops) to write.
    fn load(opts: &Options, write: bool) -> anyhow::Result<(Context, Fetcher)> {
        let mut ctx = if write { Context::load_locked(opts)? } else { Context::load(opts)? };
        let f = Fetcher::new()?;
        ctx.fetch_offers(&f, opts)?;
        Ok((ctx, f))
    }

    fn spawn(&mut self, replies: &Replies<Msg>, job: impl FnOnce(&Options, &Replies<Msg>) -> anyhow::Result<Msg> + Send + 'static) {
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        let (opts, replies) = (self.opts.clone(), replies.clone());
        self.worker = Some(std::thread::spawn(move || {
            let msg = job(&opts, &replies).unwrap_or_else(|e| Msg::Failed(crate::errtext::chain(e.as_ref())));
            replies.send(msg);
        }));
    }
}

fn versions(ctx: &Context) -> Vec<VersionView> {
    ctx.versions()
        .into_iter()
        .rev()
        .map(|r| VersionView {
            version: r.version,
            available: r.available,
            installed: r.installed,
            current: r.current,
            candidate: r.candidate,
            older: r.older,
        })
        .collect()
}

impl Backend<Updater> for UpdateBackend {
    fn handle(&mut self, request: Request, replies: &Replies<Msg>) -> Control {
        match request {
            Request::Check => self.spawn(replies, |opts, _| {
                let (ctx, _) = UpdateBackend::load(opts, false)?;
                Ok(Msg::Versions(versions(&ctx)))
            }),
            Request::Apply(version) => self.spawn(replies, move |opts, replies| {
                let (mut ctx, fetcher) = UpdateBackend::load(opts, true)?;
                let cancel = || exec::CANCEL.load(Ordering::SeqCst);
                let mut emit = |e: Event| {
                    if let Event::Progress { run_bytes_done, run_bytes_total, rate_bytes_per_sec, .. } = e {
                        replies.send(Msg::Progress {
                            bytes_done: run_bytes_done,
                            bytes_total: run_bytes_total,
                            rate_bytes_per_sec: Some(rate_bytes_per_sec).filter(|r| *r > 0),
                        });
                    }
                };
                match update::apply(&mut ctx, &fetcher, Some(&version), &cancel, &mut emit)? {
                    Some(a) => Ok(Msg::Done(a.version)),
                    None => Ok(Msg::Done(version)),
                }
            }),
            Request::Reboot if self.running_system => {
                let _ = std::process::Command::new("systemctl").arg("reboot").status();
                return Control::Quit;
            }
            Request::Reboot | Request::Quit => {
                exec::CANCEL.store(true, Ordering::SeqCst);
                if let Some(w) = self.worker.take() {
                    let _ = w.join();
                }
                return Control::Quit;
            }
        }
        Control::Continue
    }
}
