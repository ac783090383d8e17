//! Command-line types (clap). No logic: `cmd` turns these into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exec::Verify;
use crate::plan::{EmptyMode, EncryptionMode};

#[derive(Debug, Parser)]
#[command(name = "imprint", version, about = "Install, set up, update and reset image-based Linux, the systemd way")]
pub struct Cli {
    /// Ask the questions one after another as plain lines (no drawing): for screen readers,
    /// braille displays and serial consoles.
    #[arg(long, global = true)]
    pub plain: bool,
    /// With no command at a terminal: the installer's pages.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lay out a disk from systemd-repart definitions and copy the OS onto it.
    Install(Box<InstallArgs>),
    /// List the disks imprint could install to, and why some cannot be chosen.
    Disks(DisksArgs),
    /// Install a generated demo OS image onto a sparse image file (no real disk is touched).
    Demo(DemoArgs),
    /// Apply first-boot settings (locale, keymap, time zone, host name, root account) to a root directory.
    Firstboot(crate::firstboot::cli::FirstbootArgs),
    /// Users whose homes systemd-homed manages.
    #[command(subcommand)]
    User(UserCommand),
    /// The TPM: whether it can protect a disk, and what to do when it cannot.
    #[command(subcommand)]
    Tpm(TpmCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and their home through systemd-homed.
    Create(crate::homed::cli::UserCreateArgs),
}

#[derive(Debug, Subcommand)]
pub enum TpmCommand {
    /// Check the TPM: present, not locked out, a SHA-256 bank, the policy's PCRs measured.
    Status(TpmStatusArgs),
}

#[derive(Debug, Args)]
pub struct TpmStatusArgs {
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    /// The PCRs a policy would bind to, joined with '+'.
    #[arg(long, value_name = "PCRS", value_parser = parse_pcrs_arg, default_value = "7")]
    pub tpm2_pcrs: PcrList,
    #[arg(long, value_name = "sha256|sha1", default_value = "sha256")]
    pub pcr_bank: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProgressMode {
    /// A plain progress line when stderr is a terminal; otherwise only step lines.
    #[default]
    Auto,
    /// One progress line, rewritten in place, on stderr.
    Plain,
    /// JSON Lines events on stdout (nothing else is printed there).
    Json,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// What to copy from: `auto` (the disk holding the running system), an image file or a
    /// block device. Needed by CopyBlocks=auto.
    #[arg(long, value_name = "auto|IMAGE|DEVICE")]
    pub source: Option<String>,
    /// The disk or image file to install onto. Without it, at a terminal: the installer's pages,
    /// which ask for it (and for everything else not given here).
    #[arg(long, value_name = "DEVICE|IMAGE", default_value_os_t = PathBuf::new(), hide_default_value = true)]
    pub target: PathBuf,
    /// Size of a target image file to create (bytes, or K/M/G/T in base 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub target_size: Option<u64>,
    /// An installer profile: a name from installer-profiles/ or a folder.
    #[arg(long, value_name = "NAME|DIR")]
    pub profile: Option<String>,
    /// repart.d folders to read instead of (or with) the profile's; repeatable.
    #[arg(long, value_name = "DIR")]
    pub definitions: Vec<PathBuf>,
    /// Seed for partition and disk UUIDs, as systemd-repart's --seed (default: random, printed).
    #[arg(long, value_name = "UUID")]
    pub seed: Option<uuid::Uuid>,
    /// What to do with a target that already holds a partition table.
    #[arg(long, value_enum, default_value_t = EmptyMode::Refuse)]
    pub empty: EmptyMode,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the plan (with --dry-run) or the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Do not ask before erasing data on the target.
    #[arg(long)]
    pub yes: bool,
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// How to check what was copied.
    #[arg(long, value_enum, default_value_t = Verify::Stream)]
    pub verify: Verify,
    /// Encrypt the partitions that hold state (those whose definition says Encrypt=, or else
    /// root, /var, /home and /srv) and how to unlock them; overrides the profile.
    #[arg(long, value_enum, value_name = "tpm2|tpm2+pin|passphrase|off")]
    pub encrypt: Option<EncryptionMode>,
    /// The TPM: `auto` (/dev/tpmrm0) or a TCTI such as swtpm:host=127.0.0.1,port=2321.
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    /// PCRs the TPM policy binds to, joined with '+' (default 7).
    #[arg(long, value_name = "PCRS", value_parser = parse_pcrs_arg)]
    pub tpm2_pcrs: Option<PcrList>,
    /// A PEM public key whose signatures of PCR 11 the TPM accepts (signed PCR policy).
    #[arg(long, value_name = "FILE")]
    pub tpm2_public_key: Option<PathBuf>,
    /// Do not bind to the PCR-signing key of the source ESP's unified kernel image.
    #[arg(long)]
    pub no_uki_key: bool,
    /// Enroll a recovery key (default: the profile's RecoveryKey=, else yes unless only a
    /// passphrase unlocks).
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub recovery_key: Option<bool>,
    /// Write the recovery key here (mode 0600), for escrow.
    #[arg(long, value_name = "FILE")]
    pub recovery_key_file: Option<PathBuf>,
    /// The passphrase for --encrypt=passphrase (and Encrypt=key-file), one line.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The PIN for --encrypt=tpm2+pin, one line.
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// Key-derivation cost for passphrase keyslots: systemd's (default) or a cheap one for tests.
    #[arg(long, value_enum, default_value_t = PbkdfChoice::Systemd, hide = true)]
    pub luks_pbkdf: PbkdfChoice,
}

impl InstallArgs {
    /// Arguments with no encryption settings, for callers that fill in the rest (the demo).
    pub fn unencrypted() -> Self {
        InstallArgs {
            source: None,
            target: PathBuf::new(),
            target_size: None,
            profile: None,
            definitions: Vec::new(),
            seed: None,
            recovery_key: None,
            empty: EmptyMode::Refuse,
            dry_run: false,
            json: false,
            yes: false,
            progress: ProgressMode::Auto,
            verify: Verify::Stream,
            encrypt: None,
            tpm2_device: "auto".into(),
            tpm2_pcrs: None,
            tpm2_public_key: None,
            no_uki_key: false,
            recovery_key_file: None,
            passphrase_file: None,
            pin_file: None,
            luks_pbkdf: PbkdfChoice::Systemd,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PbkdfChoice {
    #[default]
    Systemd,
    Test,
}

/// PCR indexes, as `7+11` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcrList(pub Vec<u32>);

fn parse_pcrs_arg(s: &str) -> Result<PcrList, String> {
    crate::profile::conf::parse_pcrs(s).map(PcrList)
}

#[derive(Debug, Args)]
pub struct DisksArgs {
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to put the demo images (default: a new temporary folder, named at the end).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Install without the pages, even at a terminal (what `make demo` does without one).
    #[arg(long)]
    pub unattended: bool,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::profile::ini::parse_size(s)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("invalid size '{s}': expected bytes, or a number with K, M, G or T (base 1024)"))
}
