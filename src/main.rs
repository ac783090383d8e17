//! imprint's binary: parse the command line, dispatch, print the error chain.

use clap::Parser;

use imprint::cli::{Cli, Command};

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Install(args) => imprint::cmd::install(args),
        Command::Disks(args) => imprint::cmd::disks(args),
        Command::Demo(args) => imprint::demo::run(args),
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
