//! Wiring between the pages (crate `imprint_screens`) and the engine: [`term`] runs a flow on the
//! terminal, and one backend per flow carries out its requests with the same functions the
//! unattended commands use, feeding results and progress back as the pages' view types.

pub mod firstboot;
pub mod installer;
pub mod plain;
pub mod reset;
pub mod term;
pub mod update;

use std::io::IsTerminal;

use anyhow::Result;
use imprint_screens::{Lang, Ui};

/// Whether there is a person at a terminal to ask (stdin and stdout both terminals).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// The UI settings from the environment: the language from LANG (LC_ALL, LC_MESSAGES first, as
/// gettext reads them), ASCII drawing on a Linux VT or serial console.
pub fn ui_from_env(demo: bool) -> Ui {
    let locale = ["LC_ALL", "LC_MESSAGES", "LANG"].iter().find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty())).unwrap_or_default();
    let mut ui = Ui::new(Lang::from_locale(&locale));
    ui.ascii = imprint_screens::ascii_terminal(std::env::var("TERM").ok().as_deref());
    ui.demo = demo;
    ui
}

/// Runs the installer pages until the person quits or the machine restarts. Stderr goes to
/// `log` meanwhile (the log view shows the install's own events).
pub fn run_installer(opts: installer::InstallerOptions, log: &std::path::Path) -> Result<()> {
    let ui = ui_from_env(opts.demo_target.is_some());
    let mut backend = installer::InstallerBackend::new(opts);
    let facts = backend.facts();
    let mut flow = imprint_screens::installer::Installer::new(ui, facts);
    let _stderr = term::StderrToFile::new(log)?;
    term::run(&mut flow, &mut backend)
}

/// The installer's pages for a live system (`imprint`, or `imprint install` without --target):
/// the source is the disk the live system runs from unless given, the profile `desktop` unless
/// a profile or definitions are given.
pub fn installer_from_args(args: &crate::cli::InstallArgs, plain: bool) -> Result<()> {
    anyhow::ensure!(
        interactive(),
        "no terminal to ask on: give --target (and --yes to install unattended), or run imprint at a terminal for the installer's pages"
    );
    let profile = args.profile.clone().or_else(|| args.definitions.is_empty().then(|| "desktop".to_string()));
    let opts = installer::InstallerOptions {
        source: args.source.clone().unwrap_or_else(|| "auto".into()),
        profile,
        definitions: args.definitions.clone(),
        demo_target: None,
        tpm2_device: args.tpm2_device.clone(),
        pbkdf: crate::cmd::pbkdf_of(args.luks_pbkdf),
        seed: args.seed,
        note: None,
        answers_out: args.answers_out.clone(),
    };
    let log = log_path();
    if plain {
        return plain::installer(opts);
    }
    run_installer(opts, &log)?;
    eprintln!("The installer's log: {}", log.display());
    Ok(())
}

/// Where stderr goes while the pages own the terminal.
fn log_path() -> std::path::PathBuf {
    let run = std::path::Path::new("/run/imprint");
    if std::fs::create_dir_all(run).is_ok() {
        return run.join("imprint.log");
    }
    // not a fixed name in a shared folder (another user could plant a link there): a new file
    // of our own, mode 0600, kept for the person to read
    tempfile::Builder::new()
        .prefix("imprint.")
        .suffix(".log")
        .tempfile()
        .ok()
        .and_then(|f| f.keep().ok())
        .map(|(_, p)| p)
        .unwrap_or_else(|| run.join("imprint.log"))
}

/// The first-boot wizard on the terminal, asking what `given` (flags and credentials) leaves
/// open, then applying everything to `root`.
pub fn run_firstboot(
    root: &std::path::Path,
    given: crate::firstboot::Answers,
    scope: crate::firstboot::cli::Scope,
    creds_user: bool,
    force: bool,
    bus: bool,
    plain: bool,
) -> Result<()> {
    let ui = ui_from_env(false);
    let mut backend = firstboot::FirstbootBackend::new(root, given, scope, creds_user, force, bus)?;
    if plain {
        return plain::firstboot(backend);
    }
    let facts = backend.facts();
    let mut flow = imprint_screens::firstboot::Firstboot::new(ui, facts);
    let log = log_path();
    let _stderr = term::StderrToFile::new(&log)?;
    term::run(&mut flow, &mut backend)
}

/// The kiosk reset menu (`imprint reset` with no verb, at a terminal).
pub fn reset_menu(args: &crate::cli::ResetMenuArgs, plain: bool) -> Result<()> {
    anyhow::ensure!(
        interactive() && !plain,
        "the reset menu needs a terminal; without one use `imprint reset request` (this machine, at the next boot) or `imprint reset now --image FILE`"
    );
    let mut backend = reset::ResetBackend::new(args)?;
    let facts = backend.facts();
    let mut flow = imprint_screens::reset::ResetMenu::new(ui_from_env(false), facts);
    let log = log_path();
    let _stderr = term::StderrToFile::new(&log)?;
    term::run(&mut flow, &mut backend)
}

/// The update page (`imprint update` with no verb, at a terminal).
pub fn update_page(args: &crate::cli::UpdateCommonArgs) -> Result<()> {
    anyhow::ensure!(interactive(), "the update page needs a terminal; without one use `imprint update check|apply`");
    let mut backend = update::UpdateBackend::new(args);
    let mut flow = imprint_screens::update::Updater::new(ui_from_env(false));
    let log = log_path();
    let _stderr = term::StderrToFile::new(&log)?;
    term::run(&mut flow, &mut backend)
}
