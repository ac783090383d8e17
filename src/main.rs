//! imprint's binary: parse the command line, dispatch, print the error chain.

use clap::Parser;

use imprint::cli::{Cli, Command};

fn main() {
    // tpm2-tss writes its own warnings to stderr on every expected failure (a changed PCR, a
    // wrong PIN); imprint reports those itself. Set before any thread exists.
    if std::env::var_os("TSS2_LOG").is_none() {
        // SAFETY: still single-threaded here.
        unsafe { std::env::set_var("TSS2_LOG", "all+none") };
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Install(args) => imprint::cmd::install(args),
        Command::Disks(args) => imprint::cmd::disks(args),
        Command::Demo(args) => imprint::demo::run(args),
        Command::Firstboot(args) => imprint::firstboot::cli::run(args),
        Command::User(imprint::cli::UserCommand::Create(args)) => imprint::homed::cli::run_create(args),
        Command::Tpm(imprint::cli::TpmCommand::Status(args)) => imprint::cmd::tpm_status(args),
    };
    if let Err(e) = result {
        let mut msg = format!("imprint: {e}");
        for cause in e.chain().skip(1) {
            msg.push_str(&format!("\n  caused by: {cause}"));
        }
        eprintln!("{msg}");
        std::process::exit(1);
    }
}
