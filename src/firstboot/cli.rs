//! `imprint firstboot`: the command line over [`super::apply`]. Arguments win over credentials.

use std::path::PathBuf;

use anyhow::Context;

use super::{Action, Answers, FirstbootError, RootPassword};
use crate::secret::Secret;

#[derive(Debug, clap::Args)]
pub struct FirstbootArgs {
    /// The root directory of the system to set up.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// LANG=, e.g. de_DE.UTF-8; must be available in the target.
    #[arg(long, value_name = "LOCALE")]
    pub locale: Option<String>,
    /// LC_MESSAGES=, written only when it differs from --locale.
    #[arg(long, value_name = "LOCALE")]
    pub locale_messages: Option<String>,
    /// The console keymap (a kbd keymap of the target).
    #[arg(long, value_name = "KEYMAP")]
    pub keymap: Option<String>,
    /// A time zone from the target's zoneinfo, e.g. Europe/Berlin.
    #[arg(long, value_name = "TIMEZONE")]
    pub timezone: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// root's password as a crypt(3) hash.
    #[arg(long, value_name = "HASH", conflicts_with = "root_password_file")]
    pub root_password_hashed: Option<String>,
    /// A file holding root's plaintext password (one trailing newline is dropped); stored hashed.
    #[arg(long, value_name = "FILE")]
    pub root_password_file: Option<PathBuf>,
    #[arg(long, value_name = "SHELL")]
    pub root_shell: Option<String>,
    /// Read firstboot.* and passwd.*.root credentials from here (default: $CREDENTIALS_DIRECTORY).
    #[arg(long, value_name = "DIR")]
    pub credentials_dir: Option<PathBuf>,
    /// Replace settings the target already has.
    #[arg(long)]
    pub force: bool,
}

/// The answers the arguments give, with gaps filled from the credentials folder.
pub fn answers(args: &FirstbootArgs) -> Result<Answers, FirstbootError> {
    let root_password = match (&args.root_password_hashed, &args.root_password_file) {
        (Some(h), _) => Some(RootPassword::Hashed(h.clone())),
        (None, Some(path)) => Some(RootPassword::Plain(
            Secret::from_file(path).map_err(|source| FirstbootError::PasswordFile { path: path.clone(), source })?,
        )),
        (None, None) => None,
    };
    let given = Answers {
        locale: args.locale.clone(),
        locale_messages: args.locale_messages.clone(),
        keymap: args.keymap.clone(),
        timezone: args.timezone.clone(),
        hostname: args.hostname.clone(),
        root_password,
        root_shell: args.root_shell.clone(),
        machine_id: true,
    };
    let dir =
        args.credentials_dir.clone().or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()).map(PathBuf::from));
    Ok(match dir {
        Some(d) => given.or(super::creds::read(&d)?),
        None => given,
    })
}

pub fn run(args: &FirstbootArgs) -> anyhow::Result<()> {
    let answers = answers(args)?;
    let changes = super::apply(&args.root, &answers, args.force).with_context(|| format!("setting up {}", args.root.display()))?;
    for c in changes {
        match c.action {
            Action::Written => eprintln!("wrote {}", c.path),
            Action::Kept => eprintln!("kept {} (already set; --force replaces it)", c.path),
        }
    }
    Ok(())
}
