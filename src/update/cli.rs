//! `imprint update list|check|apply|vacuum|pending`: the front-end over [`crate::update`].
//! Loads the definitions and targets, fetches the manifests, runs, prints; returns the exit
//! status (`check` and `pending` answer through it, as systemd-sysupdate's `check-new` and
//! `pending` do).

use std::sync::atomic::Ordering;

use anyhow::{Context as _, Result};

use super::{Context, Options, fetch::Fetcher};
use crate::cli::{ProgressMode, UpdateCommonArgs, UpdateVerb};
use crate::exec::{self, Event};

pub fn options(c: &UpdateCommonArgs) -> Options {
    Options {
        definitions: c.definitions.clone(),
        root: c.root.clone(),
        image: c.image.clone(),
        keyring: Some(c.keyring.clone()),
        running_version: c.running_version.clone(),
        today: super::today_utc(),
    }
}

fn load(c: &UpdateCommonArgs, offers: bool) -> Result<(Context, Options, Option<Fetcher>)> {
    let opts = options(c);
    let mut ctx = Context::load(&opts)?;
    let fetcher = if offers {
        let f = Fetcher::new().context("setting up HTTP")?;
        ctx.fetch_offers(&f, &opts)?;
        Some(f)
    } else {
        None
    };
    Ok((ctx, opts, fetcher))
}

/// Runs one `imprint update` verb; Ok(exit status).
pub fn run(verb: &UpdateVerb) -> Result<i32> {
    match verb {
        UpdateVerb::List { version, common } => list(common, version.as_deref()),
        UpdateVerb::Check(c) => {
            let (ctx, _, _) = load(c, true)?;
            let cand = ctx.candidate(None)?;
            if c.json {
                println!("{}", serde_json::json!({ "candidate": cand }));
            } else if let Some(v) = &cand {
                println!("{v}");
            } else {
                eprintln!("No newer version is on offer.");
            }
            Ok(if cand.is_some() { 0 } else { 1 })
        }
        UpdateVerb::Apply { version, common, progress } => apply(common, version.as_deref(), *progress),
        UpdateVerb::Vacuum(c) => {
            let (mut ctx, _, _) = load(c, false)?;
            let mut removed = Vec::new();
            for l in &mut ctx.transfers {
                removed.extend(super::vacuum_one(l, 0, None)?);
            }
            if c.json {
                println!("{}", serde_json::to_string_pretty(&removed)?);
            } else if removed.is_empty() {
                println!("Nothing to remove.");
            } else {
                for r in &removed {
                    println!("Removed {} of {} ({})", r.version, r.transfer, describe(&r.location));
                }
            }
            Ok(0)
        }
        UpdateVerb::Pending(c) => {
            let (ctx, _, _) = load(c, false)?;
            let p = super::pending(&ctx);
            if c.json {
                println!(
                    "{}",
                    serde_json::json!({ "booted": ctx.booted_version, "newest_installed": ctx.newest_installed(), "pending": p })
                );
            } else if let Some(v) = &p {
                println!("{v}");
            } else {
                eprintln!("The running version is the newest installed.");
            }
            Ok(if p.is_some() { 0 } else { 1 })
        }
    }
}

fn describe(l: &super::Location) -> String {
    match l {
        super::Location::Partition(n) => format!("partition {n}"),
        super::Location::File(p) => p.display().to_string(),
    }
}

fn list(c: &UpdateCommonArgs, version: Option<&str>) -> Result<i32> {
    let (ctx, _, _) = load(c, true)?;
    if let Some(v) = version {
        let details: Vec<serde_json::Value> = ctx
            .transfers
            .iter()
            .map(|l| {
                serde_json::json!({
                    "transfer": l.transfer.id,
                    "offered": l.offers.iter().find(|o| o.version == v),
                    "installed": l.target.instances.iter().find(|i| i.version == v),
                })
            })
            .collect();
        if c.json {
            println!("{}", serde_json::to_string_pretty(&details)?);
        } else {
            for (d, l) in details.iter().zip(&ctx.transfers) {
                let offered = l.offers.iter().find(|o| o.version == v).map(|o| o.location.clone()).unwrap_or_else(|| "-".into());
                let inst = l.target.instances.iter().find(|i| i.version == v).map(|i| describe(&i.location)).unwrap_or_else(|| "-".into());
                let _ = d;
                println!("{}: offered {offered}; installed {inst}", l.transfer.id);
            }
        }
        return Ok(0);
    }
    let rows = ctx.versions();
    if c.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    println!("{:<24} STATE", "VERSION");
    for r in &rows {
        let mut s = Vec::new();
        if r.current {
            s.push("current");
        }
        if r.candidate {
            s.push("candidate");
        }
        if r.installed {
            s.push("installed");
        }
        if r.available {
            s.push("available");
        }
        if r.protected {
            s.push("protected");
        }
        if r.obsolete {
            s.push("obsolete");
        }
        println!("{:<24} {}", r.version, s.join(", "));
    }
    Ok(0)
}

fn apply(c: &UpdateCommonArgs, version: Option<&str>, progress: ProgressMode) -> Result<i32> {
    crate::cmd::install_signal_handlers();
    let (mut ctx, _, fetcher) = load(c, true)?;
    let fetcher = fetcher.expect("offers were fetched");
    let mode = if c.json { ProgressMode::Json } else { progress };
    let mut sink = crate::cmd::progress_sink(mode);
    let mut emit = |e: Event| sink(&e);
    let cancel = || exec::CANCEL.load(Ordering::SeqCst);
    let done = super::apply(&mut ctx, &fetcher, version, &cancel, &mut emit)?;
    match done {
        None => {
            if mode != ProgressMode::Json {
                println!("Up to date: no newer version is on offer.");
            }
        }
        Some(a) => {
            if mode != ProgressMode::Json {
                for i in &a.installed {
                    println!("Installed {} as '{}' ({}, sha256 {})", i.name, i.label, describe(&i.location), i.sha256);
                }
                println!("Version {} is installed; reboot into it.", a.version);
            }
        }
    }
    Ok(0)
}
