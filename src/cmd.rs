//! The commands: gather facts, plan, ask, execute, report. The only layer that prints.
//!
//! Library modules return typed errors; here they get short context and become `anyhow`
//! errors for `main` to print as a chain.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use anyhow::{Context, Result, anyhow, bail};

use crate::cli::{DisksArgs, InstallArgs, ProgressMode};
use crate::disk::sysfs;
use crate::exec::{self, Event, events};
use crate::install;
use crate::plan;
use crate::secret::Secret;

/// The engine's request for `imprint install`'s arguments.
pub fn install_request(args: &InstallArgs) -> Result<install::Request> {
    let mut req = match &args.answers {
        Some(path) => {
            let mut r = install::answers::load(path)?;
            // the command line overrides the file where it says something
            if !args.target.as_os_str().is_empty() {
                r.target = args.target.clone();
            }
            if args.seed.is_some() {
                r.seed = args.seed;
            }
            r
        }
        None => {
            let mut r = install::Request::new(args.target.clone());
            r.seed = args.seed;
            r.empty = args.empty;
            r.verify = args.verify;
            r.fill_free = args.fill_free;
            r.target_size = args.target_size;
            r.source = args.source.clone();
            r.profile = args.profile.clone();
            r.definitions = args.definitions.clone();
            r.encryption = encryption_request(args);
            r
        }
    };
    if args.answers.is_some() {
        // what only the command line can say
        if let Some(s) = &args.source {
            req.source = Some(s.clone());
        }
        if args.encrypt.is_some() {
            req.encryption.mode = args.encrypt;
        }
        if args.tpm2_device != "auto" {
            req.encryption.tpm2_device = args.tpm2_device.clone();
        }
    }
    for (value, slot) in [
        (&args.locale, &mut req.firstboot.locale),
        (&args.keymap, &mut req.firstboot.keymap),
        (&args.timezone, &mut req.firstboot.timezone),
        (&args.hostname, &mut req.firstboot.hostname),
    ] {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    Ok(req)
}

/// The encryption part of the request.
pub fn encryption_request(args: &InstallArgs) -> install::EncryptionRequest {
    install::EncryptionRequest {
        mode: args.encrypt,
        tpm2_device: args.tpm2_device.clone(),
        tpm2_pcrs: args.tpm2_pcrs.clone().map(|p| p.0),
        tpm2_public_key: args.tpm2_public_key.clone(),
        use_uki_key: !args.no_uki_key,
        recovery_key: args.recovery_key,
    }
}

/// The files the command line names for secrets.
#[derive(Debug, Clone, Copy, Default)]
pub struct SecretFiles<'a> {
    pub passphrase: Option<&'a Path>,
    pub pin: Option<&'a Path>,
    /// Where the recovery key goes (escrow); None: shown on the terminal.
    pub recovery_key: Option<&'a Path>,
}

impl<'a> From<&'a InstallArgs> for SecretFiles<'a> {
    fn from(a: &'a InstallArgs) -> Self {
        SecretFiles { passphrase: a.passphrase_file.as_deref(), pin: a.pin_file.as_deref(), recovery_key: a.recovery_key_file.as_deref() }
    }
}

fn confirm(plan: &plan::Plan) -> Result<()> {
    confirm_erase(&Erase {
        target: &plan.target,
        size: plan.target_size,
        heading: "Everything on this disk will be lost:",
        what: &plan.destroys,
        verb: "erase",
        without_terminal: format!("{} holds data that would be lost ({})", plan.target.display(), plan.destroys.join("; ")),
    })
}

/// What a typed confirmation shows.
pub struct Erase<'a> {
    pub target: &'a Path,
    pub size: u64,
    pub heading: &'a str,
    pub what: &'a [String],
    /// "erase", "reset"
    pub verb: &'a str,
    /// Why it cannot go on without a terminal (`--yes` is added).
    pub without_terminal: String,
}

/// The one typed confirmation: the disk (path, size, model, serial) and what is lost, then the
/// disk's name typed at the terminal. Without a terminal: an error asking for --yes.
pub fn confirm_erase(e: &Erase<'_>) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("{}; pass --yes to confirm without a terminal", e.without_terminal);
    }
    let name = e.target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (model, serial) = describe_disk(e.target);
    let mut err = std::io::stderr();
    writeln!(err, "\n{}", e.heading)?;
    writeln!(err, "  {}  {}  model: {}  serial: {}", e.target.display(), crate::units::bytes(e.size), model, serial)?;
    for d in e.what {
        writeln!(err, "  - {d}")?;
    }
    write!(err, "Type the disk's name ({name}) to {} it, anything else to stop: ", e.verb)?;
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
                        crate::units::bytes(*bytes_done),
                        crate::units::bytes(*bytes_total),
                        crate::units::bytes(*rate_bytes_per_sec)
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
    let req = install_request(args)?;
    // a dry run shows the plan on any machine; the TPM is asked only before writing
    let host = install::Host { efivars: args.efivars.clone(), ..install::Host::default() };
    let prepared = if args.dry_run { install::plan_for(&req, &host)? } else { install::prepare(&req, &host)? };
    let (plan, seed) = (&prepared.plan, prepared.seed);
    if args.dry_run {
        if args.json {
            println!("{}", serde_json::to_string_pretty(plan)?);
        } else {
            print!("{}", plan::render(plan));
            println!("Seed: {seed} (pass --seed {seed} to get the same UUIDs again)");
            println!("Dry run: nothing was written.");
        }
        return Ok(());
    }
    if plan.loses_data() && !args.yes {
        confirm(plan)?;
    }
    let mut secrets = encryption_secrets(args.into(), plan)?;
    secrets.pbkdf = Some(pbkdf_of(args.luks_pbkdf));
    install_signal_handlers();
    let mut sink = progress_sink(args.progress);
    if args.progress != ProgressMode::Json && !args.json {
        print!("{}", plan::render(plan));
        println!("Seed: {seed}");
        println!();
    }
    let report = match install::perform(&prepared, &secrets, &exec::CANCEL, &mut sink) {
        Ok(r) => r,
        Err(e) => {
            sink(&Event::Failed { error: crate::errtext::chain(e.as_ref()), table_written: false });
            // the recovery key file made ready beforehand holds nothing: do not leave it behind
            if let Some(path) = &args.recovery_key_file
                && std::fs::metadata(path).is_ok_and(|m| m.len() == 0)
            {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    if let Some(key) = report.recovery_key() {
        hand_over_recovery_key(args.recovery_key_file.as_deref(), key)?;
    }
    if let Some(path) = &args.answers_out {
        write_answers(path, &prepared)?;
    }
    if args.json {
        if args.progress != ProgressMode::Json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
    } else if args.progress != ProgressMode::Json {
        print_report(&report);
    }
    Ok(())
}

/// The install's result, as lines on stdout: the one printer for every front-end that prints.
pub fn print_report(report: &install::Report) {
    let r = &report.exec;
    println!("Installed onto {} in {:.1}s.", r.target.display(), r.seconds);
    for p in &r.partitions {
        println!("  partition {} ({}): {} written", p.number, p.label, crate::units::bytes(p.bytes_written));
    }
    for proof in report.proofs() {
        println!("  proven: {proof}");
    }
    for line in &r.boot_entries {
        println!("  boot entry {line}");
    }
    println!("Seed: {}", report.seed);
}

/// Writes the answers of a performed install to `path` (mode 0644: it holds no secret).
pub fn write_answers(path: &Path, prepared: &install::Prepared) -> Result<()> {
    let text = install::answers::to_ini(&prepared.request, prepared.plan.disk_guid);
    std::fs::write(path, text).with_context(|| format!("writing the answers to {}", path.display()))
}

pub fn pbkdf_of(c: crate::cli::PbkdfChoice) -> crate::luks::Pbkdf {
    match c {
        crate::cli::PbkdfChoice::Systemd => crate::luks::Pbkdf::Systemd,
        crate::cli::PbkdfChoice::Test => crate::luks::Pbkdf::Test,
    }
}

/// Reads the passphrase and PIN the plan's keyslots need.
pub fn encryption_secrets(files: SecretFiles<'_>, plan: &plan::Plan) -> Result<exec::encrypt::Secrets> {
    use crate::plan::Unlock;
    use crate::secret::Secret;
    let needs = |u: Unlock| plan.partitions.iter().any(|p| p.luks.as_ref().is_some_and(|l| l.unlock.contains(&u)));
    let mut s = exec::encrypt::Secrets::default();
    if needs(Unlock::Passphrase) {
        let path =
            files.passphrase.ok_or_else(|| anyhow!("a passphrase is needed for the encrypted partitions: pass --passphrase-file FILE"))?;
        let pass = Secret::from_file(path).with_context(|| format!("reading the passphrase from {}", path.display()))?;
        if pass.is_empty() {
            bail!("the passphrase in {} is empty", path.display());
        }
        s.passphrase = Some(pass);
    }
    if needs(Unlock::Tpm2Pin) {
        let path = files.pin.ok_or_else(|| anyhow!("a PIN is needed for --encrypt=tpm2+pin: pass --pin-file FILE"))?;
        let pin = Secret::from_file(path).with_context(|| format!("reading the PIN from {}", path.display()))?;
        if pin.is_empty() {
            bail!("the PIN in {} is empty", path.display());
        }
        s.pin = Some(pin);
    }
    if let (true, Some(path)) = (needs(Unlock::RecoveryKey), files.recovery_key) {
        // make sure the key can be kept before a keyslot exists that only it opens: a new file,
        // mode 0600, never one that exists (its mode and readers are someone else's) and never
        // through a symbolic link
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => anyhow!(
                    "the recovery key file {} exists (or is a link); imprint writes the key only to a new file it creates with mode 0600: remove it or name another; nothing was installed",
                    path.display()
                ),
                _ => anyhow::Error::new(e).context(format!("the recovery key cannot be written to {}; nothing was installed", path.display())),
            })?;
    }
    if needs(Unlock::RecoveryKey) && files.recovery_key.is_none() && !std::io::stdout().is_terminal() {
        bail!(
            "a recovery key will be made, and there is no terminal to show it on: pass --recovery-key-file FILE (kept with mode 0600, for escrow), or set RecoveryKey=no in the profile"
        );
    }
    Ok(s)
}

/// Writes the recovery key to --recovery-key-file (mode 0600), or shows it on the terminal
/// as text and QR code. Nowhere else.
pub fn hand_over_recovery_key(file: Option<&Path>, key: &crate::secret::Secret) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(path) = file {
        // the empty file made before the install (see secrets()): opened without following a
        // link, and only while it is still an empty regular file; put back to 0600 whatever
        // happened to its mode meanwhile
        use std::os::unix::fs::PermissionsExt;
        let what = || format!("writing the recovery key to {}", path.display());
        // O_NONBLOCK: a FIFO put there meanwhile fails to open instead of blocking
        let mut f = match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .with_context(what)?,
            Err(e) => return Err(anyhow::Error::new(e).context(what())),
        };
        let meta = f.metadata().with_context(what)?;
        if !meta.is_file() || meta.len() != 0 {
            bail!("{}: it is no longer the empty file imprint made for the key; the key was not written there", what());
        }
        f.set_permissions(std::fs::Permissions::from_mode(0o600)).with_context(what)?;
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
/// `imprint tpm reseal`: the key proof from the files given, or typed at a terminal (or else the
/// old token); then the engine's [`crate::tpm::reseal`].
pub fn tpm_reseal(args: &crate::cli::TpmResealArgs) -> Result<()> {
    let dev: crate::tpm::Device =
        args.proof.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", args.proof.tpm2_device))?;
    let vol = Volume::of(&args.volume)?;
    let how = ResealHow {
        recovery_key_file: args.proof.recovery_key_file.as_deref(),
        passphrase_file: args.proof.passphrase_file.as_deref(),
        pin_file: args.proof.pin_file.as_deref(),
        pcrs: args.tpm2_pcrs.as_ref().map(|p| p.0.clone()),
        pcr_signature: args.proof.tpm2_signature.clone(),
        efivars: &args.efivars,
        allow_secure_boot_off: args.allow_secure_boot_off,
        json: args.json,
    };
    reseal_volume(&dev, &vol, &how)?;
    // the boot's notice (`tpm check --notify`) is about this key: it matches now
    if matches!(vol, Volume::Device(_)) && args.volume.device.is_none() {
        crate::tpm::notice::clear(&crate::tpm::notice::NoticePaths::under(&args.run_dir))
            .with_context(|| format!("taking down the notice in {}", args.run_dir.display()))?;
    }
    Ok(())
}

/// How `tpm reseal` (or the offer at login) reseals: where the key proof and PIN come from
/// (asked for at a terminal when not named), and the policy.
struct ResealHow<'a> {
    recovery_key_file: Option<&'a Path>,
    passphrase_file: Option<&'a Path>,
    pin_file: Option<&'a Path>,
    /// Bind to these PCRs instead of the old token's.
    pcrs: Option<Vec<u32>>,
    pcr_signature: Option<PathBuf>,
    efivars: &'a Path,
    allow_secure_boot_off: bool,
    json: bool,
}

/// Reseals `vol`: the key proof from the files named or asked for, Secure Boot being off said
/// and asked about, the result printed.
fn reseal_volume(dev: &crate::tpm::Device, vol: &Volume, args: &ResealHow) -> Result<()> {
    use crate::tpm::reseal::{self, KeyProof, ResealError, ResealRequest};
    let read = |p: &Path, what: &str| Secret::from_file(p).with_context(|| format!("reading the {what} from {}", p.display()));
    let interactive = std::io::stdin().is_terminal();
    // never to a weaker policy unsaid: PCR 7 while Secure Boot is off records only that
    let old = vol.tokens()?;
    let pcrs = args.pcrs.clone().or_else(|| old.first().map(|t| t.pcrs.clone())).unwrap_or_default();
    let signed = old.iter().any(|t| t.pubkey.is_some());
    if pcrs.contains(&7) && !signed && crate::tpm::status::secure_boot(args.efivars) == Some(false) {
        let why = "Secure Boot is off now: a key bound to PCR 7 then records only that, and any operating system started the same way could unlock the disk";
        if args.allow_secure_boot_off {
            eprintln!("Warning: {why}.");
        } else if interactive {
            eprintln!("{why}.");
            if !ask_yes("Reseal anyway (turn Secure Boot back on first to keep it bound)? [y/N]")? {
                bail!("not resealed: {why}; turn Secure Boot on again and reseal, or say --allow-secure-boot-off");
            }
        } else {
            bail!("not resealed: {why}; turn Secure Boot on again and reseal, or say --allow-secure-boot-off");
        }
    }
    let proof = match (args.recovery_key_file, args.passphrase_file) {
        (Some(f), _) => KeyProof::RecoveryKey(read(f, "recovery key")?),
        (None, Some(f)) => KeyProof::Passphrase(read(f, "passphrase")?),
        (None, None) if interactive => {
            let typed = ask_hidden("Recovery key (or Enter to try the TPM as it is):")?;
            if typed.trim().is_empty() { KeyProof::Token } else { KeyProof::RecoveryKey(Secret::from_text(&typed)) }
        }
        (None, None) => KeyProof::Token,
    };
    let pin = args.pin_file.map(|f| read(f, "PIN")).transpose()?;
    let mut req = ResealRequest { tpm: dev, proof, pin, pcrs: args.pcrs.clone(), pcr_signature: args.pcr_signature.clone() };
    let run = |req: &ResealRequest| -> Result<reseal::ResealReport, ResealError> {
        match vol {
            Volume::Image { image, offset, size, .. } => reseal::reseal_image(image, *offset, *size, req),
            Volume::Device(d) => reseal::reseal(d, req),
        }
    };
    let report = match run(&req) {
        Err(ResealError::PinRequired) if interactive && req.pin.is_none() => {
            req.pin = Some(Secret::from_text(&ask_hidden("TPM PIN:")?));
            run(&req)?
        }
        r => r?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let pcrs: Vec<String> = report.pcrs.iter().map(u32::to_string).collect();
        println!(
            "Resealed {vol}: keyslot {} now opens with the TPM (PCR {} in the {} bank{}{}), proven; the key proof opened keyslot {}.",
            report.new_keyslot,
            pcrs.join("+"),
            report.bank,
            if report.signed_policy { ", and the signed PCR policy" } else { "" },
            if report.pin { ", with the PIN" } else { "" },
            report.proof_keyslot
        );
        let removed: Vec<String> = report.removed_keyslots.iter().map(u32::to_string).collect();
        if !removed.is_empty() {
            println!("Removed the old TPM keyslot {}. The recovery key is unchanged.", removed.join(", "));
        }
    }
    Ok(())
}

/// `tpm check`: whether the root's TPM2 key matches this boot. `--notify` (at boot) puts the
/// console notice up or takes it down; `--offer` (at a root login) says what changed and offers
/// the reseal. A root that is not encrypted, or has no TPM2 key, has nothing to check.
pub fn tpm_check(args: &crate::cli::TpmCheckArgs) -> Result<()> {
    use crate::tpm::notice::{self, NoticePaths};
    let dev: crate::tpm::Device = args.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", args.tpm2_device))?;
    let paths = NoticePaths::under(&args.run_dir);
    if args.offer && (!paths.pending() || paths.declined()) {
        return Ok(()); // nothing was found at boot, or the person said no at an earlier login
    }
    let v = &args.volume;
    let vol = match Volume::of(v) {
        Ok(vol) => vol,
        Err(_) if v.image.is_none() && v.device.is_none() => return Ok(()), // the root is not encrypted
        Err(e) => return Err(e),
    };
    let tokens = vol.tokens()?;
    let mut status = crate::tpm::status(&dev, &[7], crate::tpm::PcrBank::Sha256);
    status.secure_boot = crate::tpm::status::secure_boot(&args.efivars);
    status.check_volume(&dev, &vol.to_string(), &tokens, &vol.records()?);
    let Some(volume) = status.volume.filter(|v| v.problem.is_some()) else {
        notice::clear(&paths).with_context(|| format!("taking down the notice in {}", args.run_dir.display()))?;
        return Ok(());
    };
    if args.notify {
        notice::write(&paths, &volume).with_context(|| format!("putting up the notice in {}", args.run_dir.display()))?;
        print!("{}", notice::text(&volume));
        return Ok(());
    }
    if !args.offer {
        print!("{}", notice::text(&volume));
        return Ok(());
    }
    // the offer, at a login on the console
    let problem = volume.problem.as_ref().expect("filtered above");
    eprintln!("\n{}\n{}\n", problem.message, problem.advice);
    if !std::io::stdin().is_terminal() {
        return Ok(());
    }
    if !ask_yes("Reseal now, so that the next start unlocks by itself? It asks for the recovery key. [y/N]")? {
        notice::decline(&paths)?;
        eprintln!("Not resealed. `imprint tpm reseal` does it later; until then every start asks for the recovery key.");
        return Ok(());
    }
    let how = ResealHow {
        recovery_key_file: None,
        passphrase_file: None,
        pin_file: None,
        pcrs: None,
        pcr_signature: None,
        efivars: &args.efivars,
        allow_secure_boot_off: false,
        json: false,
    };
    reseal_volume(&dev, &vol, &how)?;
    notice::clear(&paths).with_context(|| format!("taking down the notice in {}", args.run_dir.display()))?;
    Ok(())
}

/// `tpm prepare`: the next boot's PCR 7 predicted from the event log and the update files, and
/// a second TPM2 key sealed to it (the old key stays until that boot: `tpm cleanup`).
pub fn tpm_prepare(args: &crate::cli::TpmPrepareArgs) -> Result<()> {
    use crate::tpm::secureboot::{self, SbVar};
    let mut updates = Vec::new();
    for arg in &args.secure_boot_update {
        let (var, file) = match arg.split_once('=') {
            Some((v, f)) if SbVar::parse(v).is_some() => (SbVar::parse(v), Path::new(f)),
            Some((v, _)) if !Path::new(arg).exists() => {
                bail!("--secure-boot-update {arg}: '{v}' is not a Secure Boot variable (one of {})", SbVar::NAMES)
            }
            _ => (None, Path::new(arg.as_str())),
        };
        updates.push(secureboot::read_update(file, var)?);
    }
    prepare_volume(&PrepareHow {
        updates,
        event_log: &args.event_log,
        efivars: &args.efivars,
        tpm2_device: &args.proof.tpm2_device,
        volume: Volume::of(&args.volume)?,
        recovery_key_file: args.proof.recovery_key_file.as_deref(),
        passphrase_file: args.proof.passphrase_file.as_deref(),
        pin_file: args.proof.pin_file.as_deref(),
        pcr_signature: args.proof.tpm2_signature.clone(),
        dry_run: args.dry_run,
        json: args.json,
    })
}

/// `imprint update --prepare-secure-boot`: `tpm prepare` for the Secure Boot updates an OS
/// update brought, on the running system (its root, its TPM, its event log, the old key as the
/// proof).
pub fn prepare_root_for_secure_boot_update(files: &[&Path]) -> Result<()> {
    let updates = files.iter().map(|f| crate::tpm::secureboot::read_update(f, None)).collect::<Result<Vec<_>, _>>()?;
    prepare_volume(&PrepareHow {
        updates,
        event_log: Path::new(DEFAULT_EVENT_LOG),
        efivars: Path::new(crate::reset::efi::DEFAULT_EFIVARS),
        tpm2_device: "auto",
        volume: Volume::Device(root_luks_device()?),
        recovery_key_file: None,
        passphrase_file: None,
        pin_file: None,
        pcr_signature: None,
        dry_run: false,
        json: false,
    })
}

/// The firmware's event log, as the kernel shows it.
const DEFAULT_EVENT_LOG: &str = "/sys/kernel/security/tpm0/binary_bios_measurements";

/// What `tpm prepare` works with.
struct PrepareHow<'a> {
    updates: Vec<crate::tpm::secureboot::Update>,
    event_log: &'a Path,
    efivars: &'a Path,
    tpm2_device: &'a str,
    volume: Volume,
    recovery_key_file: Option<&'a Path>,
    passphrase_file: Option<&'a Path>,
    pin_file: Option<&'a Path>,
    pcr_signature: Option<PathBuf>,
    dry_run: bool,
    json: bool,
}

/// The next boot's PCR 7 predicted, and a second TPM2 key sealed to it.
fn prepare_volume(p: &PrepareHow) -> Result<()> {
    use crate::tpm::reseal::{self, KeyProof, ResealRequest};
    use crate::tpm::secureboot;
    let dev: crate::tpm::Device = p.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", p.tpm2_device))?;
    let log = {
        let f = File::open(p.event_log).with_context(|| format!("reading the event log {}", p.event_log.display()))?;
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(f, crate::tpm::eventlog::MAX_LOG as u64 + 1), &mut data)
            .with_context(|| format!("reading the event log {}", p.event_log.display()))?;
        crate::tpm::eventlog::parse(&data).with_context(|| p.event_log.display().to_string())?
    };
    let vol = &p.volume;
    let tokens = vol.tokens()?;
    let Some(template) = tokens.first() else { bail!("{vol} has no systemd-tpm2 token: there is nothing to prepare") };
    if !template.pcrs.contains(&7) {
        bail!(
            "the TPM2 key of {vol} is not bound to PCR 7 (its policy: {}): a Secure Boot update does not change what it is sealed to, so there is nothing to prepare",
            crate::tpm::status::policy_words(template)
        );
    }
    if template.pcr_bank.unwrap_or(crate::tpm::PcrBank::Sha256) != crate::tpm::PcrBank::Sha256 {
        bail!(
            "the TPM2 key of {vol} uses the {} bank; imprint predicts the SHA-256 bank only",
            template.pcr_bank.map_or_else(String::new, |b| b.to_string())
        );
    }
    let now = crate::tpm::pcr_values(&dev, crate::tpm::PcrBank::Sha256, &[7])?.remove(0);
    let prediction = secureboot::predict_pcr7(&log, p.efivars, &p.updates, &now)?;
    let files: Vec<String> = p.updates.iter().map(|u| format!("{} ({})", u.file.display(), u.var.name())).collect();
    if p.dry_run {
        if p.json {
            println!("{}", serde_json::to_string_pretty(&prediction)?);
        } else {
            println!("PCR 7 now:        {}\nPCR 7 next boot:  {} (after {})", prediction.pcr7_now, prediction.pcr7, files.join(", "));
        }
        return Ok(());
    }
    let read = |f: &Path, what: &str| Secret::from_file(f).with_context(|| format!("reading the {what} from {}", f.display()));
    let proof = match (p.recovery_key_file, p.passphrase_file) {
        (Some(f), _) => KeyProof::RecoveryKey(read(f, "recovery key")?),
        (None, Some(f)) => KeyProof::Passphrase(read(f, "passphrase")?),
        (None, None) => KeyProof::Token,
    };
    let pin = p.pin_file.map(|f| read(f, "PIN")).transpose()?;
    let req = ResealRequest { tpm: &dev, proof, pin, pcrs: None, pcr_signature: p.pcr_signature.clone() };
    let predicted = vec![(7, prediction.pcr7_value.clone())];
    let report = match vol {
        Volume::Image { image, offset, size, .. } => reseal::on_image(image, *offset, *size, |s| reseal::prepare(s, &req, &predicted))?,
        Volume::Device(d) => reseal::prepare(d, &req, &predicted)?,
    };
    if p.json {
        println!("{}", serde_json::json!({ "prediction": prediction, "prepared": report }));
    } else {
        let kept: Vec<String> = report.kept_keyslots.iter().map(u32::to_string).collect();
        println!(
            "Prepared {vol}: keyslot {} opens with the TPM once PCR 7 is {} — what the next boot measures after {} is written (now {}).",
            report.new_keyslot,
            prediction.pcr7,
            files.join(", "),
            prediction.pcr7_now
        );
        println!(
            "The TPM2 keyslot {} stays until then; at the first boot the new key unlocks, `imprint tpm cleanup` (imprint-tpm-check.service) removes it. Write the update now (fwupd, efi-updatevar) and restart.",
            kept.join(", ")
        );
    }
    Ok(())
}

/// `tpm cleanup`: after a prepared key unlocked a boot, the TPM2 keys that no longer match go.
pub fn tpm_cleanup(args: &crate::cli::TpmCleanupArgs) -> Result<()> {
    use crate::tpm::reseal;
    let dev: crate::tpm::Device = args.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", args.tpm2_device))?;
    let v = &args.volume;
    let vol = match Volume::of(v) {
        Ok(vol) => vol,
        Err(_) if v.image.is_none() && v.device.is_none() => return Ok(()), // the root is not encrypted
        Err(e) => return Err(e),
    };
    let report = match &vol {
        Volume::Image { image, offset, size, .. } => reseal::on_image(image, *offset, *size, |s| reseal::cleanup(s, &dev))?,
        Volume::Device(d) => reseal::cleanup(d, &dev)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if report.applied {
        let removed: Vec<String> = report.removed_keyslots.iter().map(u32::to_string).collect();
        println!(
            "{vol}: the prepared TPM2 key matches this boot; removed the TPM2 keyslots that no longer do: {}.",
            if removed.is_empty() { "none".into() } else { removed.join(", ") }
        );
    } else if report.prepared {
        println!("{vol}: a prepared TPM2 key waits for its Secure Boot update; nothing removed.");
    }
    Ok(())
}

/// A yes/no question on the terminal; only "y" or "yes" is yes.
fn ask_yes(question: &str) -> Result<bool> {
    use std::io::BufRead;
    eprint!("{question} ");
    std::io::stderr().flush()?;
    let mut s = String::new();
    std::io::stdin().lock().read_line(&mut s)?;
    Ok(matches!(s.trim().to_ascii_lowercase().as_str(), "y" | "yes" | "j" | "ja"))
}

/// A line typed with echo off; echo comes back even on error.
fn ask_hidden(question: &str) -> Result<zeroize::Zeroizing<String>> {
    use std::io::BufRead;
    eprint!("{question} ");
    std::io::stderr().flush()?;
    let mut s = zeroize::Zeroizing::new(String::new());
    let (got, tty) = crate::app::term::without_echo(|| std::io::stdin().lock().read_line(&mut s));
    if tty {
        eprintln!();
    }
    got?;
    while s.ends_with(['\n', '\r']) {
        s.pop();
    }
    Ok(s)
}

/// The LUKS2 volume `tpm reseal` and `tpm status` work on.
enum Volume {
    /// Partition `number` of an image file, `[offset, offset+size)` in bytes.
    Image { image: PathBuf, number: u32, offset: u64, size: u64 },
    /// A device (or file) with the LUKS2 header at its start.
    Device(PathBuf),
}

impl Volume {
    /// `--image` (and `--partition`), `--device`, or else the root's LUKS2 device.
    fn of(v: &crate::cli::VolumeArgs) -> Result<Volume> {
        Ok(match (&v.image, &v.device) {
            (Some(image), _) => {
                let (number, offset, size) = reseal_partition(image, v.partition)?;
                Volume::Image { image: image.clone(), number, offset, size }
            }
            (None, Some(d)) => Volume::Device(d.clone()),
            (None, None) => Volume::Device(root_luks_device()?),
        })
    }
}

impl Volume {
    /// The PCR values imprint recorded beside the volume's TPM2 keys.
    fn records(&self) -> Result<Vec<crate::tpm::PcrRecord>> {
        Ok(match self {
            Volume::Image { image, offset, size, .. } => crate::tpm::reseal::image_records(image, *offset, *size)?,
            Volume::Device(d) => crate::tpm::reseal::records(d)?,
        })
    }

    /// The volume's `systemd-tpm2` tokens, read from its LUKS2 header.
    fn tokens(&self) -> Result<Vec<crate::tpm::Tpm2Token>> {
        Ok(match self {
            Volume::Image { image, offset, size, .. } => crate::tpm::reseal::image_tokens(image, *offset, *size)?,
            Volume::Device(d) => crate::tpm::reseal::device_tokens(d)?,
        })
    }
}

impl std::fmt::Display for Volume {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Volume::Image { image, number, .. } => write!(f, "partition {number} of {}", image.display()),
            Volume::Device(d) => write!(f, "{}", d.display()),
        }
    }
}

/// The partition of `image` to work on: `wanted`, or the only one holding LUKS2.
/// (number, offset, size) in bytes.
fn reseal_partition(image: &Path, wanted: Option<u32>) -> Result<(u32, u64, u64)> {
    let f = File::open(image).with_context(|| format!("opening {}", image.display()))?;
    let sector = crate::disk::table::probe_sector_size(&f);
    let table = crate::disk::table::read_gpt(&f, sector)
        .with_context(|| format!("reading the partition table of {}", image.display()))?
        .ok_or_else(|| anyhow!("{} has no GPT partition table", image.display()))?;
    let s = u64::from(sector);
    let range = |p: &crate::plan::ExistingPartition| -> Option<(u64, u64)> {
        let off = p.first_lba.checked_mul(s)?;
        let size = p.last_lba.checked_sub(p.first_lba)?.checked_add(1)?.checked_mul(s)?;
        Some((off, size))
    };
    if let Some(n) = wanted {
        let p = table.partitions.iter().find(|p| p.number == n).ok_or_else(|| anyhow!("{} has no partition {n}", image.display()))?;
        let (o, z) = range(p).ok_or_else(|| anyhow!("partition {n} of {} has an impossible extent", image.display()))?;
        return Ok((n, o, z));
    }
    let mut found = Vec::new();
    for p in &table.partitions {
        let Some((o, z)) = range(p) else { continue };
        if let Ok(Some(h)) = crate::luks::probe::find_header(&f, o, z)
            && h.version == 2
        {
            found.push((p.number, o, z));
        }
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => bail!("{} has no LUKS2 partition", image.display()),
        many => {
            let n: Vec<String> = many.iter().map(|(n, _, _)| n.to_string()).collect();
            bail!("{} has several LUKS2 partitions ({}): say which with --partition", image.display(), n.join(", "))
        }
    }
}

/// The LUKS2 partition under `/`: the dm-crypt device `/` is mounted from, and the one device
/// under it.
fn root_luks_device() -> Result<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").context("reading /proc/self/mountinfo")?;
    let root = crate::disk::mountinfo::parse_mountinfo(&text)
        .into_iter()
        .rfind(|m| m.mountpoint == Path::new("/"))
        .ok_or_else(|| anyhow!("/ is not in /proc/self/mountinfo"))?;
    let sys = PathBuf::from(format!("/sys/dev/block/{}:{}", root.major, root.minor));
    let uuid = std::fs::read_to_string(sys.join("dm/uuid")).unwrap_or_default();
    if !uuid.starts_with("CRYPT-LUKS2-") {
        bail!("/ ({}) is not on a LUKS2 volume opened by dm-crypt: say which with --device or --image", root.source);
    }
    let slaves: Vec<_> = std::fs::read_dir(sys.join("slaves")).context("listing the device under /")?.flatten().collect();
    match slaves.as_slice() {
        [one] => Ok(Path::new("/dev").join(one.file_name())),
        _ => bail!("the dm-crypt device under / has {} devices beneath it: say which with --device", slaves.len()),
    }
}

pub fn tpm_status(args: &crate::cli::TpmStatusArgs) -> Result<()> {
    let dev: crate::tpm::Device = args.tpm2_device.parse().map_err(|_| anyhow!("invalid --tpm2-device '{}'", args.tpm2_device))?;
    let bank = match args.pcr_bank.as_str() {
        "sha256" => crate::tpm::PcrBank::Sha256,
        "sha1" => crate::tpm::PcrBank::Sha1,
        other => bail!("invalid --pcr-bank '{other}': expected sha256 or sha1"),
    };
    let mut status = crate::tpm::status(&dev, &args.tpm2_pcrs.0, bank);
    if status.problems.is_empty() {
        status.check_policy(&args.efivars, false);
        // the volume: asked for, or the root's when it is encrypted (else none: no error)
        let v = &args.volume;
        let vol = if v.image.is_none() && v.device.is_none() { Volume::of(v).ok() } else { Some(Volume::of(v)?) };
        if let Some(vol) = vol {
            status.check_volume(&dev, &vol.to_string(), &vol.tokens()?, &vol.records()?);
        }
    }
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
        for p in &status.warnings {
            println!("Warning: {}\n  What to do: {}", p.message, p.advice);
        }
        if let Some(v) = &status.volume {
            if v.tokens.is_empty() {
                println!("Disk {}: no TPM2 key.", v.volume);
            }
            for t in &v.tokens {
                let verdict = match (t.matches, &t.error) {
                    (Some(true), _) => "matches this boot's PCR values: the TPM unlocks it".to_string(),
                    (Some(false), _) => "does not match this boot's PCR values: the TPM refuses it".to_string(),
                    (None, e) => format!("could not be checked: {}", e.as_deref().unwrap_or("unknown")),
                };
                let key = t.public_key_sha256.as_deref().map(|k| format!(", signing key sha256 {k}")).unwrap_or_default();
                println!(
                    "Disk {}: TPM2 key in keyslot {} (policy {}{key}, {} bank{}) {verdict}.",
                    v.volume,
                    t.keyslot,
                    t.policy,
                    t.bank,
                    if t.pin { ", PIN" } else { "" }
                );
            }
            if let Some(p) = &v.problem {
                println!("Problem: {}\n  What to do: {}", p.message, p.advice);
            }
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
