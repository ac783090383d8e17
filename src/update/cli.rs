//! `imprint update list|check|apply|vacuum|pending`: the front-end over [`crate::update`].
//! Loads the definitions and targets, fetches the manifests, runs, prints; returns the exit
//! status (`check` and `pending` answer through it, as systemd-sysupdate's `check-new` and
//! `pending` do).

use std::path::Path;
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

/// Reads the definitions and targets (with the update lock when `write`), and the offers.
fn load(c: &UpdateCommonArgs, offers: bool, write: bool) -> Result<(Context, Options, Option<Fetcher>)> {
    let opts = options(c);
    let mut ctx = if write { Context::load_locked(&opts)? } else { Context::load(&opts)? };
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
            let (ctx, _, _) = load(c, true, false)?;
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
        UpdateVerb::Apply { version, common, progress, prepare_secure_boot } => {
            apply(common, version.as_deref(), *progress, *prepare_secure_boot)
        }
        UpdateVerb::Vacuum(c) => {
            let (mut ctx, _, _) = load(c, false, true)?;
            let removed = super::vacuum(&mut ctx)?;
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
            let (ctx, _, _) = load(c, false, false)?;
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
    let (ctx, _, _) = load(c, true, false)?;
    if let Some(v) = version {
        return list_one(&ctx, c.json, v);
    }
    let rows = ctx.versions();
    if c.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    println!("{:<24} STATE", "VERSION");
    for r in &rows {
        println!("{:<24} {}", r.version, states(r).join(", "));
    }
    Ok(0)
}

/// What a row's flags say, in words.
fn states(r: &super::VersionRow) -> Vec<&'static str> {
    [
        (r.current, "current"),
        (r.candidate, "candidate"),
        (r.installed, "installed"),
        (r.available, "available"),
        (r.protected, "protected"),
        (r.obsolete, "obsolete"),
    ]
    .into_iter()
    .filter_map(|(on, s)| on.then_some(s))
    .collect()
}

/// `list VERSION`: the version's state and, per transfer, where it comes from and where it is.
fn list_one(ctx: &Context, json: bool, v: &str) -> Result<i32> {
    let Some(row) = ctx.versions().into_iter().find(|r| r.version == v) else {
        anyhow::bail!("version {v} is neither offered by a source nor installed (`imprint update list` shows the versions there are)");
    };
    let details: Vec<serde_json::Value> = ctx
        .transfers
        .iter()
        .map(|l| {
            serde_json::json!({
                "transfer": l.transfer.id,
                "source_type": l.transfer.source.kind,
                "target_type": l.transfer.target.kind,
                "offered": l.offers.iter().find(|o| o.version == v),
                "installed": l.target.instances.iter().find(|i| i.version == v),
            })
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "version": row, "transfers": details }))?);
        return Ok(0);
    }
    println!("Version {v}: {}", states(&row).join(", "));
    for l in &ctx.transfers {
        println!("  {} ({} → {})", l.transfer.id, l.transfer.source.kind.name(), l.transfer.target.kind.name());
        match l.offers.iter().find(|o| o.version == v) {
            Some(o) => println!("    source  {}{}", o.location, o.sha256.as_deref().map(|h| format!(" (sha256 {h})")).unwrap_or_default()),
            None => println!("    source  not offered"),
        }
        match l.target.instances.iter().find(|i| i.version == v) {
            Some(i) => println!("    target  {}{}", describe(&i.location), if i.running { " (running)" } else { "" }),
            None => println!("    target  not installed"),
        }
    }
    Ok(0)
}

fn apply(c: &UpdateCommonArgs, version: Option<&str>, progress: ProgressMode, prepare_secure_boot: bool) -> Result<i32> {
    if prepare_secure_boot && (c.root != Path::new("/") || c.image.is_some()) {
        anyhow::bail!("--prepare-secure-boot prepares this machine's TPM for the running system: not with --root or --image");
    }
    crate::cmd::install_signal_handlers();
    let (mut ctx, _, fetcher) = load(c, true, true)?;
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
            // Secure Boot updates that came with it: the TPM key must be prepared before they
            // are written, or the next boot asks for the recovery key (docs/tpm.md)
            let auth: Vec<&Path> = a
                .installed
                .iter()
                .filter_map(|i| match &i.location {
                    super::Location::File(p) if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("auth")) => Some(p.as_path()),
                    _ => None,
                })
                .collect();
            if !auth.is_empty() {
                if prepare_secure_boot {
                    crate::cmd::prepare_root_for_secure_boot_update(&auth)?;
                } else {
                    let files: Vec<String> = auth.iter().map(|p| format!("--secure-boot-update {}", p.display())).collect();
                    eprintln!(
                        "This update brings Secure Boot updates. Before they are written, prepare the TPM so the next boot unlocks by itself:\n  imprint tpm prepare {}\n(or run the update with --prepare-secure-boot)",
                        files.join(" ")
                    );
                }
            }
        }
    }
    Ok(0)
}
