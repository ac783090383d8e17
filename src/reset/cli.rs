//! `imprint reset now|request|cancel|status`: the front-end over [`crate::reset`]. Gathers the
//! facts, asks, runs, prints; returns the exit status (`status` reports the state through it, as
//! systemd-factory-reset does).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use super::request::{self, Paths, TpmClear};
use super::{PerformOptions, ResetPlan, ResetRequest};
use crate::cli::{ProgressMode, ResetCommand, ResetNowArgs, ResetStateArgs};
use crate::cmd;
use crate::exec::{self, Event};
use crate::install;
use crate::profile::repart;
use crate::units;

/// Runs one `imprint reset` command; Ok(exit status).
pub fn run(c: &ResetCommand) -> Result<i32> {
    match c {
        ResetCommand::Now(args) => now(args).map(|()| 0),
        ResetCommand::Request(args) => {
            let paths = paths(&args.state, Some(&args.ppi));
            let done = request::request(&paths, args.tpm_clear)?;
            if args.state.json {
                println!("{}", serde_json::to_string_pretty(&done)?);
            } else {
                println!("Factory reset requested: the next boot erases what the repart.d definitions mark FactoryReset=yes.");
                println!("  {}: {}", request::REQUEST_VAR, done.request);
                println!("  {}: yes (read by systemd 252)", request::LEGACY_VAR);
                print_tpm(&done.tpm_clear, &paths);
            }
            Ok(0)
        }
        ResetCommand::Cancel(args) => {
            let paths = paths(&args.state, Some(&args.ppi));
            let (removed, tpm) = request::cancel(&paths, args.tpm_clear)?;
            if args.state.json {
                println!("{}", serde_json::json!({ "cancelled": removed, "tpm_clear": tpm }));
            } else {
                println!("{}", if removed { "Factory reset request withdrawn." } else { "No factory reset was requested." });
                print_tpm(&tpm, &paths);
            }
            Ok(0)
        }
        ResetCommand::Status(args) => {
            let st = request::mode(&paths(&args.state, None))?;
            if args.state.json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                println!("{}", st.mode.as_str());
            }
            Ok(st.mode.exit_code())
        }
    }
}

fn paths(a: &ResetStateArgs, ppi: Option<&Path>) -> Paths {
    let mut p = Paths {
        efivars: a.efivars.clone(),
        root: a.root.clone(),
        run: a.run_dir.clone(),
        cmdline: a.cmdline.clone(),
        boot_id: a.boot_id_file.clone(),
        ..Paths::default()
    };
    if let Some(ppi) = ppi {
        p.ppi = ppi.to_path_buf();
    }
    p
}

fn print_tpm(t: &TpmClear, paths: &Paths) {
    match t {
        TpmClear::NotAsked => {}
        TpmClear::Requested => println!("TPM clear requested ({}/request = 5): the firmware asks at the next boot.", paths.ppi.display()),
        TpmClear::Disabled => println!("TPM clear not requested: disabled by systemd.tpm2_allow_clear=0 or $SYSTEMD_TPM2_ALLOW_CLEAR."),
        TpmClear::Withdrawn => println!("TPM clear request withdrawn ({}/request = 0).", paths.ppi.display()),
    }
}

/// The engine's encryption request, from the reset's arguments (as `install --encrypt` …).
fn encryption_request(a: &ResetNowArgs) -> install::EncryptionRequest {
    install::EncryptionRequest {
        mode: a.encrypt,
        tpm2_device: a.tpm2_device.clone(),
        tpm2_pcrs: a.tpm2_pcrs.clone().map(|p| p.0),
        tpm2_public_key: a.tpm2_public_key.clone(),
        use_uki_key: true,
        recovery_key: None,
    }
}

fn secret_files(a: &ResetNowArgs) -> cmd::SecretFiles<'_> {
    cmd::SecretFiles { passphrase: a.passphrase_file.as_deref(), pin: a.pin_file.as_deref(), recovery_key: a.recovery_key_file.as_deref() }
}

/// `imprint reset now`.
fn now(a: &ResetNowArgs) -> Result<()> {
    let target = a.image.as_deref().or(a.target.as_deref()).expect("clap requires one");
    let meta = std::fs::metadata(target).with_context(|| format!("opening {}", target.display()))?;
    {
        use std::os::unix::fs::FileTypeExt;
        if a.image.is_some() && !meta.is_file() {
            bail!("--image {}: not a regular file (for a disk, use --target)", target.display());
        }
        if a.target.is_some() && !meta.file_type().is_block_device() {
            bail!("--target {}: not a block device (for an image file, use --image)", target.display());
        }
    }
    if let Err(e) = install::check_target(target, None) {
        bail!("{e}; to reset the system that is running, use `imprint reset request` and reboot");
    }
    let (dirs, profile_enc) = install::definition_dirs(a.profile.as_deref(), &a.definitions, Some(meta.len()).filter(|s| *s > 0))?;
    let mut definitions = repart::load_definitions(&dirs)?;
    let encryption = install::encryption_plan(&encryption_request(a), &profile_enc, &mut definitions);
    let source = a.source.as_deref().map(install::source_facts).transpose()?;
    let mut copy_file_sizes = BTreeMap::new();
    for d in &definitions {
        if let Some(repart::CopyBlocks::Path(p)) = &d.copy_blocks
            && let Ok(f) = std::fs::File::open(p)
        {
            copy_file_sizes.insert(p.clone(), crate::disk::device_size(&f)?);
        }
    }
    let seed = a.seed.unwrap_or_else(uuid::Uuid::new_v4);
    let req = ResetRequest { target: target.to_path_buf(), definitions, seed, force: a.force, source, copy_file_sizes, encryption };
    let plan = super::prepare(&req).with_context(|| format!("planning the reset of {}", target.display()))?;
    let quiet = a.progress == ProgressMode::Json || a.json;
    if a.dry_run {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print!("{}", render(&plan));
            println!("Seed: {seed}\nDry run: nothing was written.");
        }
        return Ok(());
    }
    if !quiet {
        print!("{}", render(&plan));
    }
    if !plan.changes_anything() {
        if !quiet {
            println!("Nothing to do: no partition is bound to a definition with FactoryReset=yes, and the layout needs no change.");
        } else if a.json {
            println!("{}", serde_json::json!({ "target": target, "erased": [], "changed": false }));
        }
        return Ok(());
    }
    if !a.yes {
        confirm(&plan)?;
    }
    for w in install::facts::check_encryption_ready(&plan.plan, Path::new(crate::reset::efi::DEFAULT_EFIVARS))? {
        eprintln!("warning: {w}");
    }
    let mut secrets = cmd::encryption_secrets(secret_files(a), &plan.plan)?;
    secrets.pbkdf = Some(cmd::pbkdf_of(a.luks_pbkdf));
    cmd::install_signal_handlers();
    let mut sink = cmd::progress_sink(a.progress);
    let pbkdf = match a.luks_pbkdf {
        crate::cli::PbkdfChoice::Systemd => crate::luks::Pbkdf::Systemd,
        crate::cli::PbkdfChoice::Test => crate::luks::Pbkdf::Test,
    };
    let opts = PerformOptions {
        cancel: &exec::CANCEL,
        verify: exec::Verify::Stream,
        fill_free: a.fill_free,
        secrets: &secrets,
        pbkdf,
        esp_log: a.esp_log,
    };
    let report = match super::perform(&plan, &opts, &mut sink) {
        Ok(r) => r,
        Err(e) => {
            sink(&Event::Failed { error: e.to_string(), table_written: false });
            return Err(e).context(format!("resetting {}", target.display()));
        }
    };
    if let Some(key) = report.recreated.as_ref().and_then(|r| r.recovery_key.as_ref()) {
        cmd::hand_over_recovery_key(a.recovery_key_file.as_deref(), key)?;
    }
    if a.json {
        if a.progress != ProgressMode::Json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    } else if a.progress != ProgressMode::Json {
        println!("Reset {} in {:.1}s.", target.display(), report.seconds);
        for e in &report.erased {
            println!("  erased partition {} ({}): {}", e.number, e.label, e.erased.describe());
        }
        if let Some(r) = &report.recreated {
            for p in &r.partitions {
                println!("  made anew: partition {} ({})", p.number, p.label);
            }
        }
        if let Some(l) = &report.log_line {
            println!("  logged on the ESP: {l}");
        }
        for w in &report.warnings {
            println!("  warning: {w}");
        }
        println!("Seed: {seed}");
    }
    Ok(())
}

/// What the reset erases, keeps and makes anew, for people.
pub fn render(plan: &ResetPlan) -> String {
    let mut s = String::new();
    let sector = u64::from(plan.sector_size);
    s.push_str(&format!("Factory reset of {} ({})\n", plan.target.display(), units::bytes(plan.target_size)));
    if plan.erase.is_empty() {
        s.push_str("Erased: nothing (no existing partition is bound to a definition with FactoryReset=yes)\n");
    } else {
        s.push_str("Erased beyond recovery, then made anew as the definitions say:\n");
        for e in &plan.erase {
            s.push_str(&format!("  - {} ({}), from {}\n", e.describe(), units::bytes(e.size), e.definition.display()));
        }
    }
    s.push_str("Kept byte for byte:\n");
    for p in plan.table.partitions.iter().filter(|p| !plan.erase.iter().any(|e| e.number == p.number)) {
        let name = crate::profile::types::from_uuid(p.type_uuid).name().unwrap_or_else(|| p.type_uuid.to_string());
        s.push_str(&format!("  - partition {} \"{}\" ({name}, {})\n", p.number, p.label, units::bytes(p.size(sector))));
    }
    for f in &plan.forced {
        s.push_str(&format!("Forced: {f}\n"));
    }
    s.push_str("\nThe layout afterwards:\n");
    s.push_str(&crate::plan::render(&plan.plan));
    s.push('\n');
    s
}

fn confirm(plan: &ResetPlan) -> Result<()> {
    let what: Vec<String> = plan.erase.iter().map(|e| e.describe()).collect();
    cmd::confirm_erase(&cmd::Erase {
        target: &plan.target,
        size: plan.target_size,
        heading: "A factory reset erases these partitions for good:",
        what: &what,
        verb: "reset",
        without_terminal: format!(
            "{} would lose {}",
            plan.target.display(),
            if what.is_empty() { "nothing, but its layout changes".to_string() } else { what.join(", ") }
        ),
    })
}
