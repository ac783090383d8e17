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
    /// Also read those credentials encrypted (systemd-creds' format) from here, decrypted by
    /// systemd-creds: /run/credentials/@encrypted, where systemd 252 puts what systemd-stub
    /// passes from the ESP's /loader/credentials/ (the installer's answers next to a UKI).
    /// Plain credentials win over encrypted ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub encrypted_credentials_dir: Option<PathBuf>,
    /// The TPM2 the encrypted credentials are sealed to (systemd-creds' --tpm2-device=).
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub tpm2_device: String,
    /// Replace settings the target already has.
    #[arg(long)]
    pub force: bool,
    /// How locale, keymap, time zone and host name reach the system: `bus` through
    /// systemd-localed/-timedated/-hostnamed (the running system only), `files` written directly
    /// (as systemd-firstboot does in early boot), `auto` the bus where --root is / and a daemon answers.
    #[arg(long, value_enum, default_value = "auto")]
    pub via: Via,
    /// Ask the questions that flags and credentials leave open, on the terminal (the wizard).
    /// Without any answer flag at a terminal, the wizard runs anyway.
    #[arg(long)]
    pub prompt: bool,
    /// The wizard leaves the first user to a later step (imprint-firstboot.service runs before
    /// systemd-homed; imprint-firstboot-user.service asks after it).
    #[arg(long, conflicts_with = "user_only")]
    pub no_user: bool,
    /// Only the first user: created from home.create.* credentials when there are any, otherwise
    /// asked for at the terminal (through systemd-homed where it runs).
    #[arg(long)]
    pub user_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    Auto,
    Bus,
    Files,
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
    check_credentials_folders(args)?;
    let given = match credentials_dir(args) {
        Some(d) => given.or(super::creds::read(&d)?),
        None => given,
    };
    Ok(match &args.encrypted_credentials_dir {
        Some(d) => given.or(super::creds::read_encrypted(d, &args.tpm2_device)?),
        None => given,
    })
}

/// Which questions the wizard asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    /// Everything but the first user.
    NoUser,
    /// Only the first user.
    UserOnly,
}

/// The users of the home.create.* credentials, through homed (as `imprint user create
/// --from-credentials`).
fn users_from_credentials(args: &FirstbootArgs) -> anyhow::Result<()> {
    let dir = credentials_dir(args).expect("checked by the caller");
    for (name, record) in crate::homed::records_from_credentials(&dir)? {
        match crate::homed::create_home_from_record(None, &name, "from the record", &record) {
            Ok(()) => eprintln!("created user {name}"),
            Err(crate::homed::HomedError::Exists(_)) => eprintln!("user {name} exists already; left as it is"),
            Err(e) => return Err(anyhow::Error::new(e).context(format!("creating user {name} from its credential"))),
        }
    }
    Ok(())
}

/// --credentials-dir, else $CREDENTIALS_DIRECTORY.
fn credentials_dir(args: &FirstbootArgs) -> Option<PathBuf> {
    args.credentials_dir.clone().or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()).map(PathBuf::from))
}

/// The credentials folders given (or in $CREDENTIALS_DIRECTORY), checked: see
/// [`super::creds::check_folder`].
fn check_credentials_folders(args: &FirstbootArgs) -> Result<(), FirstbootError> {
    for d in credentials_dir(args).iter().chain(&args.encrypted_credentials_dir) {
        super::creds::check_folder(d)?;
    }
    Ok(())
}

/// Whether `root` is the running system's root directory.
fn is_running_root(root: &std::path::Path) -> bool {
    std::fs::canonicalize(root).is_ok_and(|p| p == std::path::Path::new("/"))
}

/// The bus connection `via` asks for, if any.
fn daemons(args: &FirstbootArgs) -> anyhow::Result<Option<super::bus::Daemons>> {
    match args.via {
        Via::Files => Ok(None),
        Via::Auto => Ok(if is_running_root(&args.root) { super::bus::Daemons::connect(None).ok() } else { None }),
        Via::Bus => {
            anyhow::ensure!(
                is_running_root(&args.root),
                "--via bus changes the running system, but --root is {}; use --via files for another root",
                args.root.display()
            );
            Ok(Some(super::bus::Daemons::connect(None)?))
        }
    }
}

/// Whether any answer was given as a flag.
fn any_flag(args: &FirstbootArgs) -> bool {
    args.locale.is_some()
        || args.locale_messages.is_some()
        || args.keymap.is_some()
        || args.timezone.is_some()
        || args.hostname.is_some()
        || args.root_password_hashed.is_some()
        || args.root_password_file.is_some()
        || args.root_shell.is_some()
}

/// Runs `imprint firstboot`; `plain`: the wizard asks as plain lines (the global --plain).
pub fn run(args: &FirstbootArgs, plain: bool) -> anyhow::Result<()> {
    check_credentials_folders(args)?;
    let creds_user = credentials_dir(args).is_some_and(|d| crate::homed::records_from_credentials(&d).is_ok_and(|r| !r.is_empty()));
    let can_ask = plain || crate::app::interactive();
    let bus = args.via != Via::Files && is_running_root(&args.root);
    if args.user_only {
        if creds_user {
            return users_from_credentials(args);
        }
        if !can_ask {
            eprintln!("no home.create.* credentials and no terminal to ask on: no user created");
            return Ok(());
        }
        let given = Answers { machine_id: false, ..Answers::default() };
        return crate::app::run_firstboot(&args.root, given, Scope::UserOnly, false, args.force, bus, plain);
    }
    let answers = answers(args)?;
    let wizard = args.prompt || (!any_flag(args) && can_ask);
    if wizard {
        anyhow::ensure!(can_ask, "--prompt needs a terminal to ask on (or --plain)");
        let open = answers.locale.is_none()
            || answers.keymap.is_none()
            || answers.timezone.is_none()
            || answers.hostname.is_none()
            || answers.root_password.is_none()
            || (!creds_user && !args.no_user);
        if open || args.prompt {
            let scope = if args.no_user { Scope::NoUser } else { Scope::All };
            return crate::app::run_firstboot(&args.root, answers, scope, creds_user, args.force, bus, plain);
        }
    }
    let daemons = daemons(args)?;
    let bus = daemons.as_ref().map(|d| super::Bus { daemons: d, required: args.via == Via::Bus });
    let changes = super::apply_via(&args.root, &answers, args.force, bus).with_context(|| format!("setting up {}", args.root.display()))?;
    for c in changes {
        match (c.action, c.via) {
            (Action::Written, None) => eprintln!("wrote {}", c.path),
            (Action::Written, Some(d)) => eprintln!("set {} through {d}", c.path),
            (Action::Kept, _) if c.path == "/etc/machine-id" => eprintln!("kept {} (a machine's identity is never replaced)", c.path),
            (Action::Kept, _) => eprintln!("kept {} (already set; --force replaces it)", c.path),
        }
    }
    Ok(())
}
