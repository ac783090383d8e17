//! `imprint user create`: the command-line face of [`crate::homed`].

use std::path::PathBuf;

use anyhow::Context;

use super::{HomedError, NewUser, Storage};
use crate::secret::Secret;

#[derive(Debug, clap::Args)]
pub struct UserCreateArgs {
    /// The user name (letters, digits, '_' and '-', starting with a letter or '_').
    #[arg(required_unless_present = "from_credentials")]
    pub name: Option<String>,
    /// Create the users of the `home.create.<user>` credentials (JSON user records, as
    /// `homectl firstboot` reads them) instead, from $CREDENTIALS_DIRECTORY or --credentials-dir.
    #[arg(long, conflicts_with = "name")]
    pub from_credentials: bool,
    #[arg(long, value_name = "DIR", requires = "from_credentials")]
    pub credentials_dir: Option<PathBuf>,
    /// The person's full name.
    #[arg(long, value_name = "R")]
    pub real_name: Option<String>,
    /// Read the password from this file (one line); without it the user has no password.
    #[arg(long, value_name = "F")]
    pub password_file: Option<PathBuf>,
    /// Where the home lives (default: luks where this system can, else directory).
    #[arg(long, value_parser = crate::cli::named(&Storage::NAMES))]
    pub storage: Option<Storage>,
    /// Make the user an administrator (member of wheel).
    #[arg(long)]
    pub admin: bool,
    /// Make a classic user in /etc/passwd (useradd) instead of a homed one, e.g. where
    /// systemd-homed is not running.
    #[arg(long, conflicts_with_all = ["from_credentials", "storage"])]
    pub classic: bool,
    /// With --classic: the root directory of the system to add the user to.
    #[arg(long, value_name = "DIR", requires = "classic", default_value = "/")]
    pub root: PathBuf,
    /// The D-Bus address homed listens on (default: the system bus).
    #[arg(long, value_name = "ADDRESS", hide = true)]
    pub bus_address: Option<String>,
}

pub fn run_create(args: &UserCreateArgs) -> anyhow::Result<()> {
    if args.from_credentials {
        let dir =
            args.credentials_dir.clone().or_else(|| std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from)).ok_or_else(|| {
                anyhow::anyhow!(
                    "--from-credentials: no credentials (pass --credentials-dir, or run under systemd with $CREDENTIALS_DIRECTORY)"
                )
            })?;
        crate::firstboot::creds::check_folder(&dir)?;
        let records = super::records_from_credentials(&dir)?;
        if records.is_empty() {
            println!("no home.create.* credentials: no user to create");
        }
        for (name, record) in &records {
            match super::create_home_from_record(args.bus_address.as_deref(), name, "from the record", record) {
                Ok(()) => println!("created user {name}"),
                Err(HomedError::Exists(_)) => println!("user {name} exists already; left as it is"),
                Err(e) => return Err(anyhow::Error::new(e).context(format!("creating user {name} from its credential"))),
            }
        }
        return Ok(());
    }
    let name = args.name.clone().ok_or_else(|| anyhow::anyhow!("a user name is needed"))?;
    let password = match &args.password_file {
        Some(p) => Some(Secret::from_file(p).with_context(|| format!("reading the password from {}", p.display()))?),
        None => None,
    };
    if args.classic {
        classic_user(&args.root, &name, args.real_name.as_deref(), args.admin, password.as_ref())?;
        println!("created classic user {name}");
        return Ok(());
    }
    let user = NewUser {
        name,
        real_name: args.real_name.clone(),
        password,
        storage: args.storage.unwrap_or_else(Storage::default_for_system),
        admin: args.admin,
    };
    match super::create_home(args.bus_address.as_deref(), &user) {
        Ok(()) => {
            println!("created user {} (storage {})", user.name, user.storage.as_str());
            Ok(())
        }
        Err(e @ HomedError::NotRunning) => Err(anyhow::Error::new(e).context(format!(
            "cannot create {} as a homed user; make a classic /etc/passwd user instead with the same command and --classic",
            user.name
        ))),
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating user {}", user.name))),
    }
}

/// A classic user: `useradd --root` (home directory made), then the password hash through
/// `chpasswd -e` on its standard input, so no secret or hash is on a command line.
pub fn classic_user(
    root_dir: &std::path::Path,
    name: &str,
    real_name: Option<&str>,
    admin: bool,
    password: Option<&Secret>,
) -> anyhow::Result<()> {
    use std::io::Write;
    if !super::valid_user_group_name(name) {
        anyhow::bail!("invalid user name '{name}': letters, digits, '_' and '-', starting with a letter or '_', at most 31 characters");
    }
    let root = root_dir.display().to_string();
    let mut cmd: Vec<String> = vec!["--root".into(), root.clone(), "--create-home".into()];
    if let Some(r) = real_name.filter(|r| !r.is_empty()) {
        cmd.extend(["--comment".into(), r.to_string()]);
    }
    if admin {
        // resolved inside the root, as useradd --root does
        let root = crate::firstboot::rootdir::RootDir::open(root_dir).with_context(|| format!("opening the root {root}"))?;
        let group = root.read_to_string("etc/group").unwrap_or_default();
        let admin_group = ["wheel", "sudo"].into_iter().find(|g| group.lines().any(|l| l.starts_with(&format!("{g}:"))));
        let g = admin_group.ok_or_else(|| anyhow::anyhow!("--admin: the system has neither a wheel nor a sudo group"))?;
        cmd.extend(["--groups".into(), g.into()]);
    }
    cmd.push(name.into());
    crate::task::run("useradd", &cmd).with_context(|| format!("creating the classic user {name}"))?;
    if let Some(p) = password {
        let hash = crate::firstboot::crypt::hash_password(p)?;
        let line = Secret::new(format!("{name}:{hash}\n").into_bytes());
        let mut child = std::process::Command::new("chpasswd")
            .args(["--encrypted", "--root", &root])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("running chpasswd")?;
        child.stdin.take().expect("piped").write_all(line.expose())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            anyhow::bail!("chpasswd --encrypted --root {root}: {} — {}", out.status, String::from_utf8_lossy(&out.stderr).trim());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_homed_the_error_offers_a_classic_user() {
        let args = UserCreateArgs {
            name: Some("alice".into()),
            from_credentials: false,
            credentials_dir: None,
            real_name: None,
            password_file: None,
            storage: Some(Storage::Directory),
            admin: true,
            classic: false,
            root: PathBuf::from("/"),
            bus_address: Some("unix:path=/nonexistent/bus".into()),
        };
        let e = run_create(&args).unwrap_err();
        let chain = format!("{e:#}");
        assert!(chain.contains("--classic"), "{chain}");
        assert!(chain.contains("systemd-homed is not running"), "{chain}");
    }
}
