//! imprint's binary: parse the command line, dispatch, print the error chain.

use clap::Parser;

use imprint::cli::{Cli, Command};

fn main() {
    // no core dumps and no ptrace of a process that holds keys
    imprint::secret::protect_process();
    // tpm2-tss writes its own warnings to stderr on every expected failure (a changed PCR, a
    // wrong PIN); imprint reports those itself. Set before any thread exists.
    if std::env::var_os("TSS2_LOG").is_none() {
        // SAFETY: still single-threaded here.
        unsafe { std::env::set_var("TSS2_LOG", "all+none") };
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        None => imprint::app::installer_from_args(&imprint::cli::InstallArgs::unencrypted(), cli.plain),
        Some(Command::Install(args)) if args.target.as_os_str().is_empty() && args.answers.is_none() => {
            imprint::app::installer_from_args(args, cli.plain)
        }
        Some(Command::Install(args)) => imprint::cmd::install(args),
        Some(Command::Disks(args)) => imprint::cmd::disks(args),
        Some(Command::Demo(args)) => imprint::demo::run(args, cli.plain),
        Some(Command::Firstboot(args)) => imprint::firstboot::cli::run(args, cli.plain),
        Some(Command::User(imprint::cli::UserCommand::Create(args))) => imprint::homed::cli::run_create(args),
        Some(Command::Tpm(imprint::cli::TpmCommand::Status(args))) => imprint::cmd::tpm_status(args),
        Some(Command::Tpm(imprint::cli::TpmCommand::Reseal(args))) => imprint::cmd::tpm_reseal(args),
        Some(Command::Tpm(imprint::cli::TpmCommand::Check(args))) => imprint::cmd::tpm_check(args),
        Some(Command::Tpm(imprint::cli::TpmCommand::Prepare(args))) => imprint::cmd::tpm_prepare(args),
        Some(Command::Tpm(imprint::cli::TpmCommand::Cleanup(args))) => imprint::cmd::tpm_cleanup(args),
        Some(Command::Reset(imprint::cli::ResetArgs { verb: None, menu })) => imprint::app::reset_menu(menu, cli.plain),
        Some(Command::Reset(imprint::cli::ResetArgs { verb: Some(c), .. })) => match imprint::reset::cli::run(c) {
            Ok(0) => Ok(()),
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
        Some(Command::Update(imprint::cli::UpdateArgs { verb: None, page })) => imprint::app::update_page(page),
        Some(Command::Update(imprint::cli::UpdateArgs { verb: Some(verb), .. })) => match imprint::update::cli::run(verb) {
            Ok(0) => Ok(()),
            Ok(code) => std::process::exit(code),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        let causes = imprint::errtext::causes(e.as_ref());
        let mut msg = format!("imprint: {}", causes[0]);
        for cause in &causes[1..] {
            msg.push_str(&format!("\n  caused by: {cause}"));
        }
        eprintln!("{msg}");
        std::process::exit(1);
    }
}
