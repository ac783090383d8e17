//! The commands: gather facts, plan, ask, execute, report. The only layer that prints.
//!
//! Library modules return typed errors; here they get short context and become `anyhow`
//! errors for `main` to print as a chain.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{DisksArgs, InstallArgs, ProgressMode};
use crate::disk::{self, sysfs, table};
use crate::exec::{self, Event, events};
use crate::plan::{self, EmptyMode, EncryptionMode, PlanRequest, SourceFacts, TargetContent, TargetFacts, human};
use crate::profile::{conf, repart};

/// Where profile names are looked up, in order.
pub fn profile_search_path() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(dir) = std::env::var_os("IMPRINT_PROFILES_DIR") {
        v.push(PathBuf::from(dir));
    }
    v.push(PathBuf::from("installer-profiles"));
    v.push(PathBuf::from("/etc/imprint/profiles"));
    v.push(PathBuf::from("/usr/share/imprint/profiles"));
    v
}

/// The repart.d folders an install reads: the profile's, then any --definitions.
///
/// A profile applies only where its [Match] section matches this machine and `disk_size` (the
/// target's size, when known).
pub fn definition_dirs(
    profile: Option<&str>,
    definitions: &[PathBuf],
    disk_size: Option<u64>,
) -> Result<(Vec<PathBuf>, conf::EncryptionSpec)> {
    let mut dirs = Vec::new();
    let mut encryption = conf::EncryptionSpec::default();
    if let Some(p) = profile {
        let dir = conf::find_profile(p, &profile_search_path())?;
        let spec = conf::load_profile(&dir)?;
        let mut facts = conf::gather_facts();
        facts.disk_size = disk_size;
        let why = spec.matches.mismatches(&facts);
        if !why.is_empty() {
            bail!("profile '{}' does not apply to this machine: {}", spec.name, why.join("; "));
        }
        encryption = spec.encryption.clone();
        dirs.push(spec.definitions_dir);
    }
    dirs.extend(definitions.iter().cloned());
    if dirs.is_empty() {
        bail!(
            "no partition definitions: give --profile NAME (available: {}) or --definitions DIR",
            conf::available_profiles(&profile_search_path()).join(", ")
        );
    }
    Ok((dirs, encryption))
}

/// Reads the facts of the install source.
pub fn source_facts(source: &str) -> Result<SourceFacts> {
    let (path, preferred) = if source == "auto" {
        let auto = sysfs::resolve_source_auto(&sysfs::SysPaths::default()).map_err(|e| anyhow!("--source auto: {e}"))?;
        let preferred = [auto.root_partno, auto.usr_partno].into_iter().flatten().collect();
        (auto.disk, preferred)
    } else {
        (PathBuf::from(source), Vec::new())
    };
    let f = File::open(&path).with_context(|| format!("opening the source {}", path.display()))?;
    let sector = if disk::is_block_device(&f)? { disk::logical_sector_size(&f)? } else { table::probe_sector_size(&f) };
    let t = table::read_gpt(&f, sector)?.ok_or_else(|| anyhow!("the source {} has no GPT partition table", path.display()))?;
    Ok(SourceFacts { path, sector_size: sector, partitions: t.partitions, preferred })
}

/// Reads the facts of the target (which may not exist yet).
pub fn target_facts(path: &Path, target_size: Option<u64>) -> Result<TargetFacts> {
    match File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let size = target_size.unwrap_or(0).div_ceil(4096) * 4096;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
                && !parent.is_dir()
            {
                bail!("cannot create {}: folder {} does not exist", path.display(), parent.display());
            }
            Ok(TargetFacts { path: path.to_path_buf(), size, sector_size: 512, is_block_device: false, content: TargetContent::Missing })
        }
        Err(e) => Err(e).with_context(|| format!("opening the target {}", path.display())),
        Ok(f) => {
            let block = disk::is_block_device(&f)?;
            if !block && !f.metadata()?.is_file() {
                bail!("{} is neither a block device nor a regular image file", path.display());
            }
            let sector = if block { disk::logical_sector_size(&f)? } else { table::probe_sector_size(&f) };
            let mut size = disk::device_size(&f)?;
            if let Some(want) = target_size {
                if block && want != size {
                    bail!("--target-size is for image files; {} is a block device of {}", path.display(), human(size));
                }
                if want < size {
                    bail!(
                        "--target-size {} is smaller than the existing image file {} ({}); images are never shrunk",
                        human(want),
                        path.display(),
                        human(size)
                    );
                }
                size = want.div_ceil(4096) * 4096;
            }
            let content = table::probe_content(&f, sector).with_context(|| format!("reading what {} holds", path.display()))?;
            Ok(TargetFacts { path: path.to_path_buf(), size, sector_size: sector, is_block_device: block, content })
        }
    }
}

/// Everything an install decides, from its arguments. No writes.
pub fn make_plan(args: &InstallArgs, seed: uuid::Uuid) -> Result<plan::Plan> {
    let target = target_facts(&args.target, args.target_size)?;
    let (dirs, profile_enc) = definition_dirs(args.profile.as_deref(), &args.definitions, Some(target.size).filter(|s| *s > 0))?;
    let mut definitions = repart::load_definitions(&dirs)?;
    let mut encryption = encryption_plan(args, &profile_enc, &mut definitions);
    let needs_source = definitions.iter().any(|d| d.copy_blocks == Some(repart::CopyBlocks::Auto));
    let source = match (&args.source, needs_source) {
        (Some(s), _) => Some(source_facts(s)?),
        (None, true) => Some(source_facts("auto")?),
        (None, false) => None,
    };
    check_target(&args.target, source.as_ref().map(|s| s.path.as_path()))?;
    if let (Some(enc), Some(src)) = (encryption.as_mut(), source.as_ref())
        && enc.public_key.is_none()
        && !args.no_uki_key
        && enc.mode != Some(EncryptionMode::Passphrase)
        && let Some((key, sig)) = uki_pcr_key(src)?
    {
        enc.public_key = Some(key);
        enc.pcr_signature = sig;
        enc.public_key_pcrs = vec![11];
    }
    let mut copy_file_sizes = BTreeMap::new();
    for d in &definitions {
        if let Some(repart::CopyBlocks::Path(p)) = &d.copy_blocks {
            let f = File::open(p).with_context(|| format!("{}: CopyBlocks={}", d.file.display(), p.display()))?;
            copy_file_sizes.insert(p.clone(), disk::device_size(&f)?);
        }
    }
    if args.empty == EmptyMode::Create && args.target_size.is_none() {
        bail!("--empty=create needs --target-size");
    }
    if matches!(target.content, TargetContent::Missing) && target.size == 0 {
        bail!("{} does not exist; to create an image file there, give its size with --target-size", args.target.display());
    }
    let req = PlanRequest { definitions, target, source, copy_file_sizes, seed, empty: args.empty, encryption };
    Ok(plan::plan(&req)?)
}

/// Settles encryption: the mode from the command line or the profile overrides the definitions'
/// `Encrypt=`; with a mode and no definition saying `Encrypt=`, the partitions that hold state
/// (root, /var, /home, /srv) are encrypted. Changes the definitions' `encrypt` to match, so the
/// planner sizes the LUKS header in.
pub fn encryption_plan(
    args: &InstallArgs,
    profile: &conf::EncryptionSpec,
    defs: &mut [repart::PartitionDef],
) -> Option<plan::EncryptionPlan> {
    use crate::profile::repart::EncryptMode;
    use crate::profile::types::Designator;
    let mode = args.encrypt.or(profile.mode);
    match mode {
        Some(EncryptionMode::Off) => defs.iter_mut().for_each(|d| d.encrypt = EncryptMode::Off),
        Some(_) if defs.iter().all(|d| d.encrypt == EncryptMode::Off) => {
            for d in defs.iter_mut() {
                if matches!(d.ptype.designator, Designator::Root | Designator::Var | Designator::Home | Designator::Srv) {
                    d.encrypt = EncryptMode::Tpm2;
                }
            }
        }
        _ => {}
    }
    let encrypted: Vec<EncryptMode> = defs.iter().map(|d| d.encrypt).filter(|e| *e != EncryptMode::Off).collect();
    if encrypted.is_empty() {
        return None;
    }
    let passphrase_only = match mode {
        Some(m) => m == EncryptionMode::Passphrase,
        None => encrypted.iter().all(|e| *e == EncryptMode::KeyFile),
    };
    let public_key = args.tpm2_public_key.clone().or_else(|| profile.public_key.clone());
    Some(plan::EncryptionPlan {
        mode,
        tpm2_device: args.tpm2_device.clone(),
        tpm2_pcrs: args.tpm2_pcrs.clone().map(|p| p.0).or_else(|| profile.pcrs.clone()).unwrap_or_else(|| vec![7]),
        pcr_bank: profile.pcr_bank.clone().unwrap_or_else(|| "sha256".into()),
        public_key_pcrs: if public_key.is_some() { vec![11] } else { Vec::new() },
        public_key,
        pcr_signature: None,
        recovery_key: args.recovery_key.or(profile.recovery_key).unwrap_or(!passphrase_only),
    })
}

/// The PCR-signing public key of the newest UKI in the source ESP's `EFI/Linux/` (its `.pcrpkey`
/// section), saved to a file, with its `.pcrsig` when it carries one. Read with mtools, so the
/// ESP is never mounted.
pub fn uki_pcr_key(src: &SourceFacts) -> Result<Option<(PathBuf, Option<PathBuf>)>> {
    let esp_type = crate::profile::types::parse_type("esp").expect("known type").uuid;
    let Some(esp) = src.partitions.iter().find(|p| p.type_uuid == esp_type) else { return Ok(None) };
    let image = format!("{}@@{}", src.path.display(), esp.offset(u64::from(src.sector_size)));
    let listing = match crate::task::run("mdir", ["-i", image.as_str(), "-b", "::/EFI/Linux"]) {
        Ok(l) => l,
        Err(_) => return Ok(None), // no EFI/Linux folder (or not FAT): no UKI
    };
    let mut ukis: Vec<&str> = listing.lines().map(str::trim).filter(|l| l.to_ascii_lowercase().ends_with(".efi")).collect();
    ukis.sort();
    let Some(uki) = ukis.last() else { return Ok(None) };
    let dir = std::env::temp_dir().join(format!("imprint-uki-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let local = dir.join("uki.efi");
    crate::task::run("mcopy", ["-n", "-o", "-i", image.as_str(), uki, &local.display().to_string()])?;
    let Some(pem) = crate::tpm::pcrpkey_from_uki(&local)? else { return Ok(None) };
    let key = dir.join("tpm2-pcr-public-key.pem");
    std::fs::write(&key, pem)?;
    let sig = match crate::tpm::uki_section(&local, ".pcrsig")? {
        Some(s) => {
            let p = dir.join("tpm2-pcr-signature.json");
            std::fs::write(&p, s)?;
            Some(p)
        }
        None => None,
    };
    Ok(Some((key, sig)))
}

/// Refuses targets that must not be written, with every reason.
pub fn check_target(target: &Path, source: Option<&Path>) -> Result<()> {
    if !target.exists() {
        return Ok(());
    }
    let reasons = sysfs::target_refusals(target, source, &sysfs::SysPaths::default())
        .with_context(|| format!("checking whether {} may be written", target.display()))?;
    if !reasons.is_empty() {
        bail!("refusing to write to {}: {}", target.display(), reasons.join("; "));
    }
    Ok(())
}

fn confirm(plan: &plan::Plan) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "{} holds data that would be lost ({}); pass --yes to confirm without a terminal",
            plan.target.display(),
            plan.destroys.join("; ")
        );
    }
    let name = plan.target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (model, serial) = describe_disk(&plan.target);
    let mut err = std::io::stderr();
    writeln!(err, "\nEverything on this disk will be lost:")?;
    writeln!(err, "  {}  {}  model: {}  serial: {}", plan.target.display(), human(plan.target_size), model, serial)?;
    for d in &plan.destroys {
        writeln!(err, "  - {d}")?;
    }
    write!(err, "Type the disk's name ({name}) to erase it, anything else to stop: ")?;
    err.flush()?;
    let mut line = String::new();
    stdin.read_line(&mut line)?;
    if line.trim() != name {
        bail!("not confirmed; nothing was written");
    }
    Ok(())
}

pub fn describe_disk(path: &Path) -> (String, String) {
    let disks = sysfs::list_disks(&sysfs::SysPaths::default(), None).unwrap_or_default();
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    match disks.iter().find(|d| d.path == canon) {
        Some(d) => (d.model.clone().unwrap_or_else(|| "unknown".into()), d.serial.clone().unwrap_or_else(|| "unknown".into())),
        None => ("image file".into(), "none".into()),
    }
}

extern "C" fn on_signal(_: libc::c_int) {
    exec::CANCEL.store(true, Ordering::SeqCst);
}

/// SIGINT and SIGTERM stop the run at the next safe point instead of killing it mid-write.
pub fn install_signal_handlers() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let act = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for s in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        let _ = unsafe { sigaction(s, &act) };
    }
}

/// A consumer of events for the chosen progress mode.
pub fn progress_sink(mode: ProgressMode) -> impl FnMut(&Event) {
    let tty = std::io::stderr().is_terminal();
    let mode = match mode {
        ProgressMode::Auto if tty => ProgressMode::Plain,
        m => m,
    };
    let mut line_open = false;
    move |e: &Event| match mode {
        ProgressMode::Json => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", events::to_json_line(e));
            let _ = out.flush();
        }
        ProgressMode::Plain | ProgressMode::Auto => {
            let mut err = std::io::stderr().lock();
            match e {
                Event::StepStarted { step, steps, description, .. } => {
                    if line_open {
                        let _ = writeln!(err);
                        line_open = false;
                    }
                    let _ = writeln!(err, "[{step}/{steps}] {description}");
                }
                Event::Progress { bytes_done, bytes_total, rate_bytes_per_sec, eta_seconds, .. } if mode == ProgressMode::Plain => {
                    let pct = if *bytes_total > 0 { bytes_done * 100 / bytes_total } else { 100 };
                    let eta = eta_seconds.map(|s| format!(", {s}s left")).unwrap_or_default();
                    let _ = write!(
                        err,
                        "\r      {pct:>3}%  {} of {}  {}/s{eta}\x1b[K",
                        human(*bytes_done),
                        human(*bytes_total),
                        human(*rate_bytes_per_sec)
                    );
                    line_open = true;
                }
                Event::Warning { message } => {
                    let _ = writeln!(err, "warning: {message}");
                }
                Event::Failed { error, .. } => {
                    if line_open {
                        let _ = writeln!(err);
                        line_open = false;
                    }
                    let _ = writeln!(err, "failed: {error}");
                }
                Event::Finished { .. } | Event::StepFinished { .. } if line_open => {
                    let _ = writeln!(err);
                    line_open = false;
                }
                _ => {}
            }
        }
    }
}

pub fn install(args: &InstallArgs) -> Result<()> {
    let seed = args.seed.unwrap_or_else(uuid::Uuid::new_v4);
    let plan = make_plan(args, seed)?;
    if args.dry_run {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print!("{}", plan::render(&plan));
            println!("Seed: {seed} (pass --seed {seed} to get the same UUIDs again)");
            println!("Dry run: nothing was written.");
        }
        return Ok(());
    }
    for p in &plan.partitions {
        if let plan::Content::CopyBlocks { path, .. } = &p.content {
            let same = std::fs::canonicalize(path).ok() == std::fs::canonicalize(&plan.target).ok();
            if same {
                bail!("refusing to write to {}: it is the source of partition {}", plan.target.display(), p.number);
            }
        }
    }
    if plan.loses_data() && !args.yes {
        confirm(&plan)?;
    }
    check_encryption_ready(args, &plan)?;
    let secrets = encryption_secrets(args, &plan)?;
    install_signal_handlers();
    let mut sink = progress_sink(args.progress);
    if args.progress != ProgressMode::Json && !args.json {
        print!("{}", plan::render(&plan));
        println!();
    }
    let pbkdf = match args.luks_pbkdf {
        crate::cli::PbkdfChoice::Systemd => crate::luks::Pbkdf::Systemd,
        crate::cli::PbkdfChoice::Test => crate::luks::Pbkdf::Test,
    };
    let opts = exec::Options { verify: args.verify, cancel: &exec::CANCEL, secrets: &secrets, pbkdf };
    let report = match exec::execute(&plan, &opts, &mut sink) {
        Ok(r) => r,
        Err(e) => {
            sink(&Event::Failed { error: e.to_string(), table_written: false });
            // the recovery key file made ready beforehand holds nothing: do not leave it behind
            if let Some(path) = &args.recovery_key_file
                && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
            {
                let _ = std::fs::remove_file(path);
            }
            return Err(e).context(format!("installing onto {}", plan.target.display()));
        }
    };
    if let Some(key) = &report.recovery_key {
        hand_over_recovery_key(args, key)?;
    }
    if args.json {
        if args.progress != ProgressMode::Json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    } else if args.progress != ProgressMode::Json {
        println!("Installed onto {} in {:.1}s.", report.target.display(), report.seconds);
        for p in &report.partitions {
            let v = if p.verified.is_empty() { String::new() } else { format!(" — {}", p.verified.join(", ")) };
            let d = p.digest.as_deref().map(|d| format!(" sha256-blocks:{}", &d[..16])).unwrap_or_default();
            println!("  partition {} ({}): {} written{d}{v}", p.number, p.label, human(p.bytes_written));
        }
        for line in &report.proofs {
            println!("  proven: {line}");
        }
        for line in &report.boot_entries {
            println!("  boot entry {line}");
        }
        println!("Seed: {seed}");
    }
    Ok(())
}

/// Reads the passphrase and PIN the plan's keyslots need.
pub fn encryption_secrets(args: &InstallArgs, plan: &plan::Plan) -> Result<exec::encrypt::Secrets> {
    use crate::plan::Unlock;
    use crate::secret::Secret;
    let needs = |u: Unlock| plan.partitions.iter().any(|p| p.luks.as_ref().is_some_and(|l| l.unlock.contains(&u)));
    let mut s = exec::encrypt::Secrets::default();
    if needs(Unlock::Passphrase) {
        let path = args
            .passphrase_file
            .as_ref()
            .ok_or_else(|| anyhow!("a passphrase is needed for the encrypted partitions: pass --passphrase-file FILE"))?;
        let pass = Secret::from_file(path).with_context(|| format!("reading the passphrase from {}", path.display()))?;
        if pass.is_empty() {
            bail!("the passphrase in {} is empty", path.display());
        }
        s.passphrase = Some(pass);
    }
    if needs(Unlock::Tpm2Pin) {
        let path = args.pin_file.as_ref().ok_or_else(|| anyhow!("a PIN is needed for --encrypt=tpm2+pin: pass --pin-file FILE"))?;
        let pin = Secret::from_file(path).with_context(|| format!("reading the PIN from {}", path.display()))?;
        if pin.is_empty() {
            bail!("the PIN in {} is empty", path.display());
        }
        s.pin = Some(pin);
    }
    if let (true, Some(path)) = (needs(Unlock::RecoveryKey), &args.recovery_key_file) {
        // make sure the key can be kept before a keyslot exists that only it opens
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("the recovery key cannot be written to {}; nothing was installed", path.display()))?;
    }
    if needs(Unlock::RecoveryKey) && args.recovery_key_file.is_none() && !std::io::stdout().is_terminal() {
        bail!(
            "a recovery key will be made, and there is no terminal to show it on: pass --recovery-key-file FILE (kept with mode 0600, for escrow), or set RecoveryKey=no in the profile"
        );
    }
    Ok(s)
}

/// The TPM readiness check: refuses with the reason and what to do about it.
pub fn check_encryption_ready(args: &InstallArgs, plan: &plan::Plan) -> Result<()> {
    use crate::plan::Unlock;
    let Some(enc) = &plan.encryption else { return Ok(()) };
    let tpm_used = plan
        .partitions
        .iter()
        .any(|p| p.luks.as_ref().is_some_and(|l| l.unlock.iter().any(|u| matches!(u, Unlock::Tpm2 | Unlock::Tpm2Pin))));
    if !tpm_used {
        return Ok(());
    }
    let dev: crate::tpm::Device = args.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", args.tpm2_device))?;
    let bank = if enc.pcr_bank == "sha1" { crate::tpm::PcrBank::Sha1 } else { crate::tpm::PcrBank::Sha256 };
    let status = crate::tpm::status(&dev, &enc.tpm2_pcrs, bank);
    if !status.problems.is_empty() {
        let lines: Vec<String> = status.problems.iter().map(|p| format!("{} ({})", p.message, p.advice)).collect();
        bail!(
            "the TPM cannot protect this disk: {}. To continue with a passphrase instead, pass --encrypt=passphrase --passphrase-file FILE",
            lines.join("; ")
        );
    }
    Ok(())
}

/// Writes the recovery key to --recovery-key-file (mode 0600), or shows it on the terminal
/// as text and QR code. Nowhere else.
pub fn hand_over_recovery_key(args: &InstallArgs, key: &crate::secret::Secret) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(path) = &args.recovery_key_file {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("writing the recovery key to {}", path.display()))?;
        f.write_all(key.expose())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        return Ok(());
    }
    let ascii = matches!(std::env::var("TERM").as_deref(), Ok("linux" | "vt100" | "vt220" | "dumb"));
    let qr = crate::luks::recovery::qr_text(key, ascii);
    let mut tty = std::fs::OpenOptions::new().write(true).open("/dev/tty").context("opening the terminal to show the recovery key")?;
    writeln!(tty, "\nRecovery key — write it down or scan it, and keep it apart from this machine:\n")?;
    tty.write_all(key.expose())?;
    writeln!(tty, "\n")?;
    tty.write_all(qr.expose())?;
    writeln!(tty)?;
    Ok(())
}

pub fn disks(args: &DisksArgs) -> Result<()> {
    let disks = sysfs::list_disks(&sysfs::SysPaths::default(), None).context("reading the disks from /sys")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&disks)?);
    } else {
        print!("{}", sysfs::render_table(&disks));
    }
    Ok(())
}

/// `imprint tpm status`: exits 0 when the TPM can protect a disk with this policy, 1 otherwise.
pub fn tpm_status(args: &crate::cli::TpmStatusArgs) -> Result<()> {
    let dev: crate::tpm::Device = args.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", args.tpm2_device))?;
    let bank = match args.pcr_bank.as_str() {
        "sha256" => crate::tpm::PcrBank::Sha256,
        "sha1" => crate::tpm::PcrBank::Sha1,
        other => bail!("invalid --pcr-bank '{other}': expected sha256 or sha1"),
    };
    let status = crate::tpm::status(&dev, &args.tpm2_pcrs.0, bank);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!("TPM:   {} ({})", status.device, if status.present { "present" } else { "not found" });
        if !status.banks.is_empty() {
            let banks: Vec<String> = status.banks.iter().map(|b| b.to_string()).collect();
            println!("Banks: {}", banks.join(", "));
        }
        let pcrs: Vec<String> = status.pcrs.iter().map(|p| p.to_string()).collect();
        println!("Policy: PCR {} in the {} bank", pcrs.join("+"), status.bank);
        if status.problems.is_empty() {
            println!("Ready: a disk can be bound to this TPM.");
        }
        for p in &status.problems {
            println!("Problem: {}\n  What to do: {}", p.message, p.advice);
        }
    }
    if !status.problems.is_empty() {
        bail!(
            "the TPM is not ready ({} problem{}); a passphrase (--encrypt=passphrase) works without it",
            status.problems.len(),
            if status.problems.len() == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
