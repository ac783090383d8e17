//! Command-line types (clap). No logic: `cmd` turns these into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exec::{FillFree, Verify};
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
    /// Factory reset: erase the machine's state and user data, keep the OS. Without a verb at a
    /// terminal: the kiosk reset menu.
    Reset(ResetArgs),
    /// A/B image updates in systemd-sysupdate's format (sysupdate.d/*.transfer).
    Update(UpdateArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UpdateArgs {
    /// Without a verb at a terminal: the update page.
    #[command(subcommand)]
    pub verb: Option<UpdateVerb>,
    #[command(flatten)]
    pub page: UpdateCommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum UpdateVerb {
    /// The versions on offer and installed (newest first), or one version's details.
    List {
        /// Show where this version is installed and offered.
        version: Option<String>,
        #[command(flatten)]
        common: UpdateCommonArgs,
    },
    /// Print the version `apply` would install; exit status 1 when there is none.
    Check(UpdateCommonArgs),
    /// Make room, download into a free slot (hashed as written), then label it. Without VERSION:
    /// the newest on offer, when it is newer than the newest installed.
    Apply {
        /// Install this version, even when it is older than the newest installed.
        version: Option<String>,
        #[command(flatten)]
        common: UpdateCommonArgs,
        #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
        progress: ProgressMode,
        /// When the update brings Secure Boot updates (`.auth` files), prepare the TPM for them
        /// at once (`imprint tpm prepare`, on the running system); without it, the command is
        /// offered.
        #[arg(long)]
        prepare_secure_boot: bool,
    },
    /// Remove (label `_empty`) the oldest versions beyond InstancesMax=; never the running,
    /// protected or newest one.
    Vacuum(UpdateCommonArgs),
    /// Exit status 0 and print the version when a newer version than the running one is
    /// installed (a reboot is pending); 1 otherwise.
    Pending(UpdateCommonArgs),
}

#[derive(Debug, Clone, Args)]
pub struct UpdateCommonArgs {
    /// Read *.transfer files from this folder only (default: /etc, /run, /usr/local/lib and
    /// /usr/lib sysupdate.d under --root).
    #[arg(long, value_name = "DIR")]
    pub definitions: Option<PathBuf>,
    /// The root folder definitions, os-release and file targets are found under.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Update this disk image (or device) instead of the disk holding the running system
    /// (Path=auto and partition paths of the transfers).
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// OpenPGP keyring that SHA256SUMS.gpg must be signed with.
    #[arg(long, value_name = "FILE", default_value = "/etc/systemd/import-pubring.gpg")]
    pub keyring: PathBuf,
    /// The version of the running system: its slot is never written or emptied. Default:
    /// IMAGE_VERSION of os-release; with --image, none.
    #[arg(long, value_name = "VERSION")]
    pub running_version: Option<String>,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ResetArgs {
    #[command(subcommand)]
    pub verb: Option<ResetCommand>,
    #[command(flatten)]
    pub menu: ResetMenuArgs,
}

/// The kiosk reset menu (`imprint reset` at a terminal).
#[derive(Debug, Args)]
pub struct ResetMenuArgs {
    /// The kiosk's installer profile: its [Reset] section (ShowMenu=, PIN=) and repart.d/.
    #[arg(long, value_name = "NAME|DIR")]
    pub profile: Option<String>,
    /// repart.d folders (default: the profile's, else /etc/repart.d, /run/repart.d and
    /// /usr/lib/repart.d as systemd-repart reads them at boot).
    #[arg(long, value_name = "DIR")]
    pub definitions: Vec<PathBuf>,
    /// A disk image to reset at once (a device that is not running, or the demo); without it the
    /// menu requests the reset for the next boot of this machine.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    #[arg(long, value_name = "DIR", default_value = "/sys/firmware/efi/efivars")]
    pub efivars: PathBuf,
    /// The running system's root (its os-release names the OS).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The TPM that encrypted partitions made anew (--image) are bound to: `auto`
    /// (/dev/tpmrm0) or a TCTI string.
    #[arg(long, value_name = "DEVICE", default_value = "auto")]
    pub tpm2_device: String,
    /// Open the menu without a PIN (anyone at the keyboard can then reset this machine).
    /// Without it, the menu needs a profile whose [Reset] section has PIN=.
    #[arg(long)]
    pub no_pin: bool,
    /// Where wrong PINs are counted, across restarts of the menu and reboots.
    #[arg(long, value_name = "FILE", default_value = crate::reset::pin::DEFAULT_STATE)]
    pub pin_state: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ResetCommand {
    /// Reset a disk that is not running now (an image, or the installed disk from a live system),
    /// as `systemd-repart --factory-reset=yes` would at boot, and erase the old contents for good.
    Now(Box<ResetNowArgs>),
    /// Ask the next boot to reset, through the EFI variables systemd reads.
    Request(ResetRequestArgs),
    /// Withdraw a requested reset.
    Cancel(ResetRequestArgs),
    /// Say whether a reset is requested: unsupported, unspecified, off, on (exit status 10),
    /// complete, or pending (exit status 11), as systemd-factory-reset does.
    Status(ResetStatusArgs),
}

#[derive(Debug, Args)]
pub struct ResetNowArgs {
    /// The disk image file to reset.
    #[arg(long, value_name = "FILE", conflicts_with = "target", required_unless_present = "target")]
    pub image: Option<PathBuf>,
    /// The disk (block device) to reset; never the one running this system.
    #[arg(long, value_name = "DEVICE")]
    pub target: Option<PathBuf>,
    /// The installer profile the disk was installed with (its repart.d/).
    #[arg(long, value_name = "NAME|DIR")]
    pub profile: Option<String>,
    /// repart.d folders (as the install used); repeatable.
    #[arg(long, value_name = "DIR")]
    pub definitions: Vec<PathBuf>,
    /// Seed for the re-created partitions' UUIDs, as systemd-repart's --seed (default: random,
    /// printed; the install's seed gives back the same UUIDs).
    #[arg(long, value_name = "UUID")]
    pub seed: Option<uuid::Uuid>,
    /// Also reset partitions that hold the OS (ESP, XBOOTLDR, /usr, verity) when the definitions
    /// say FactoryReset=yes for them.
    #[arg(long)]
    pub force: bool,
    /// Do not ask before erasing.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan (with --dry-run) or the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print what would be erased and re-created, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Record the reset (time, what was erased) in /loader/imprint-reset.log on the ESP.
    #[arg(long)]
    pub esp_log: bool,
    /// Encrypted re-created file systems: `random` writes encrypted zeroes over their free
    /// space too, so the disk does not show what is in use (slow: the whole partition);
    /// `off` writes only what the file system uses.
    #[arg(long, value_parser = named(&FillFree::NAMES), value_name = "off|random", default_value = "off")]
    pub fill_free: FillFree,
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Where re-created partitions with CopyBlocks= copy from (as `install --source`).
    #[arg(long, value_name = "auto|IMAGE|DEVICE")]
    pub source: Option<String>,
    /// How re-created encrypted partitions are unlocked (as `install --encrypt`).
    #[arg(long, value_parser = named(&EncryptionMode::NAMES), value_name = "tpm2|tpm2+pin|passphrase|off")]
    pub encrypt: Option<EncryptionMode>,
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    #[arg(long, value_name = "PCRS", value_parser = parse_pcrs_arg)]
    pub tpm2_pcrs: Option<PcrList>,
    #[arg(long, value_name = "FILE")]
    pub tpm2_public_key: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub recovery_key_file: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = PbkdfChoice::Systemd, hide = true)]
    pub luks_pbkdf: PbkdfChoice,
}

/// Where the reset state lives; the defaults are the running system's.
#[derive(Debug, Args)]
pub struct ResetStateArgs {
    /// The EFI variables (efivarfs, or a folder for tests).
    #[arg(long, value_name = "DIR", default_value = "/sys/firmware/efi/efivars")]
    pub efivars: PathBuf,
    /// The root whose os-release names the OS.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The runtime folder (`systemd/factory-reset-complete` in it marks a completed reset).
    #[arg(long, value_name = "DIR", default_value = "/run", hide = true)]
    pub run_dir: PathBuf,
    /// The kernel command line to read `systemd.factory_reset=` from.
    #[arg(long, value_name = "FILE", default_value = "/proc/cmdline", hide = true)]
    pub cmdline: PathBuf,
    /// The file holding this boot's ID.
    #[arg(long, value_name = "FILE", default_value = "/proc/sys/kernel/random/boot_id", hide = true)]
    pub boot_id_file: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ResetRequestArgs {
    #[command(flatten)]
    pub state: ResetStateArgs,
    /// Also ask the firmware to clear the TPM at the next boot (PPI operation 5), as
    /// systemd-tpm2-clear does; with `cancel`, withdraw such a request.
    #[arg(long)]
    pub tpm_clear: bool,
    /// The TPM's physical presence interface folder.
    #[arg(long, value_name = "DIR", default_value = "/sys/class/tpm/tpm0/ppi")]
    pub ppi: PathBuf,
}

#[derive(Debug, Args)]
pub struct ResetStatusArgs {
    #[command(flatten)]
    pub state: ResetStateArgs,
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
    /// Bind the encrypted root's TPM2 token to the PCR values of this boot (after a Secure Boot
    /// or firmware change made the TPM refuse), proven by the recovery key, the passphrase or the
    /// old token. The recovery keyslot is never touched.
    Reseal(TpmResealArgs),
    /// Whether the TPM still unlocks the encrypted root by itself: at boot (--notify) a notice
    /// on the console when it no longer does; at a root login (--offer) the offer to reseal.
    Check(TpmCheckArgs),
    /// Before a Secure Boot update (db, dbx, KEK or PK `.auth` files): add a TPM2 key sealed to
    /// the PCR 7 the next boot will measure, predicted from the firmware's event log, so that
    /// boot unlocks by itself. The old key stays until then (`imprint tpm cleanup`).
    Prepare(TpmPrepareArgs),
    /// At boot: once a prepared TPM2 key unlocks, remove the TPM2 keys that no longer match.
    Cleanup(TpmCleanupArgs),
}

#[derive(Debug, Args)]
pub struct TpmPrepareArgs {
    /// An update file, as fwupd and distributions ship them (EFI_VARIABLE_AUTHENTICATION_2 and the
    /// new signature lists), with the variable it updates when its name does not say:
    /// `dbx=DBXUpdate.bin`. Repeat in the order they will be written.
    #[arg(long = "secure-boot-update", value_name = "[VAR=]FILE", required = true)]
    pub secure_boot_update: Vec<String>,
    /// The firmware's event log.
    #[arg(long, value_name = "FILE", default_value = "/sys/kernel/security/tpm0/binary_bios_measurements")]
    pub event_log: PathBuf,
    /// The EFI variables (efivarfs, or a folder for tests).
    #[arg(long, value_name = "DIR", default_value = crate::reset::efi::DEFAULT_EFIVARS)]
    pub efivars: PathBuf,
    #[command(flatten)]
    pub volume: VolumeArgs,
    #[command(flatten)]
    pub proof: KeyProofArgs,
    /// Only predict: print the next boot's PCR 7, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TpmCleanupArgs {
    #[command(flatten)]
    pub volume: VolumeArgs,
    /// The TPM: `auto` (/dev/tpmrm0) or a TCTI.
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TpmCheckArgs {
    /// At boot: put the notice up (/run/imprint, shown above the login prompts) when the root's
    /// TPM2 key no longer matches this boot's PCR values; take it down when it matches.
    #[arg(long, conflicts_with = "offer")]
    pub notify: bool,
    /// At a login on the console: when the notice is up, say what changed and offer to reseal
    /// now with the recovery key.
    #[arg(long)]
    pub offer: bool,
    #[command(flatten)]
    pub volume: VolumeArgs,
    /// The TPM: `auto` (/dev/tpmrm0) or a TCTI.
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    /// The EFI variables, to tell whether Secure Boot is on (efivarfs, or a folder for tests).
    #[arg(long, value_name = "DIR", default_value = crate::reset::efi::DEFAULT_EFIVARS)]
    pub efivars: PathBuf,
    /// Where the notice is kept (`imprint/` beneath it).
    #[arg(long, value_name = "DIR", default_value = "/run")]
    pub run_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct TpmResealArgs {
    #[command(flatten)]
    pub volume: VolumeArgs,
    #[command(flatten)]
    pub proof: KeyProofArgs,
    /// Bind to these PCRs instead of the old token's, joined with '+'.
    #[arg(long, value_name = "PCRS", value_parser = parse_pcrs_arg)]
    pub tpm2_pcrs: Option<PcrList>,
    /// The EFI variables, to tell whether Secure Boot is on (efivarfs, or a folder for tests).
    #[arg(long, value_name = "DIR", default_value = crate::reset::efi::DEFAULT_EFIVARS)]
    pub efivars: PathBuf,
    /// Reseal to PCR 7 although Secure Boot is off now (asked at a terminal; refused otherwise).
    #[arg(long)]
    pub allow_secure_boot_off: bool,
    /// Where the boot's notice is kept: taken down after the reseal (`imprint tpm check`).
    #[arg(long, value_name = "DIR", default_value = "/run", hide = true)]
    pub run_dir: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct TpmStatusArgs {
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    /// The PCRs a policy would bind to, joined with '+' ('none' for none).
    #[arg(long, value_name = "PCRS", value_parser = parse_pcrs_arg, default_value = "7")]
    pub tpm2_pcrs: PcrList,
    /// The EFI variables, to tell whether Secure Boot is on (efivarfs, or a folder for tests).
    #[arg(long, value_name = "DIR", default_value = crate::reset::efi::DEFAULT_EFIVARS)]
    pub efivars: PathBuf,
    #[arg(long, value_name = "sha256|sha1", default_value = "sha256")]
    pub pcr_bank: String,
    /// The encrypted volume whose TPM2 key is checked against the PCR values of now.
    #[command(flatten)]
    pub volume: VolumeArgs,
    #[arg(long)]
    pub json: bool,
}

/// The TPM, and what proves a new TPM2 key may be added (`tpm reseal`, `tpm prepare`): the old
/// key when it still unseals, else the recovery key or a passphrase.
#[derive(Debug, Args)]
pub struct KeyProofArgs {
    /// The TPM: `auto` (/dev/tpmrm0) or a TCTI.
    #[arg(long, value_name = "auto|TCTI", default_value = "auto")]
    pub tpm2_device: String,
    /// The recovery key, from a file (with or without dashes, either case).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_file")]
    pub recovery_key_file: Option<PathBuf>,
    /// A passphrase that opens the volume, from a file.
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The PIN of a tpm2+pin enrollment, from a file (kept for the new key).
    #[arg(long, value_name = "FILE")]
    pub pin_file: Option<PathBuf>,
    /// For a signed PCR policy: the PCR signature JSON the old key unseals with.
    #[arg(long, value_name = "FILE")]
    pub tpm2_signature: Option<PathBuf>,
}

/// A LUKS2 volume for `tpm reseal` and `tpm status`: a device, or a partition of an image.
#[derive(Debug, Args)]
pub struct VolumeArgs {
    /// The LUKS2 partition (default: the one under `/`, when the root is encrypted).
    #[arg(long, value_name = "DEVICE", conflicts_with = "image")]
    pub device: Option<PathBuf>,
    /// A disk image file: its LUKS2 partition, offline.
    #[arg(long, value_name = "FILE")]
    pub image: Option<PathBuf>,
    /// The image's partition (default: the only LUKS2 one).
    #[arg(long, value_name = "N", requires = "image")]
    pub partition: Option<u32>,
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
    /// The EFI variables (efivarfs, or a folder for tests): whether Secure Boot is on decides
    /// whether a PCR 7 policy is warned about.
    #[arg(long, value_name = "DIR", default_value = crate::reset::efi::DEFAULT_EFIVARS)]
    pub efivars: PathBuf,
    /// What to copy from: `auto` (the disk holding the running system), an image file or a
    /// block device. Needed by CopyBlocks=auto.
    #[arg(long, value_name = "auto|IMAGE|DEVICE")]
    pub source: Option<String>,
    /// The disk or image file to install onto. Without it, at a terminal: the installer's pages,
    /// which ask for it (and for everything else not given here).
    // not clap's PathBuf parser: it refuses the empty default, so `install` without --target failed
    #[arg(long, value_name = "DEVICE|IMAGE", default_value_os_t = PathBuf::new(), hide_default_value = true,
          value_parser = clap::builder::TypedValueParser::map(clap::builder::OsStringValueParser::new(), PathBuf::from))]
    pub target: PathBuf,
    /// Size of a target image file to create (bytes, or K/M/G/T in base 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub target_size: Option<u64>,
    /// An installer profile: a name from /etc/imprint/profiles, /run/imprint/profiles or
    /// /usr/share/imprint/profiles, or a folder given by a path containing '/'.
    #[arg(long, value_name = "NAME|DIR")]
    pub profile: Option<String>,
    /// repart.d folders to read instead of (or with) the profile's; repeatable.
    #[arg(long, value_name = "DIR")]
    pub definitions: Vec<PathBuf>,
    /// Seed for partition and disk UUIDs, as systemd-repart's --seed (default: random, printed).
    #[arg(long, value_name = "UUID")]
    pub seed: Option<uuid::Uuid>,
    /// What to do with a target that already holds a partition table.
    #[arg(long, value_parser = named(&EmptyMode::NAMES), default_value = "refuse")]
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
    #[arg(long, value_parser = named(&Verify::NAMES), default_value = "stream")]
    pub verify: Verify,
    /// Encrypted new file systems: `random` writes encrypted zeroes over their free space too,
    /// so the disk does not show what is in use (slow: the whole partition is written); `off`
    /// writes only what the file system uses.
    #[arg(long, value_parser = named(&FillFree::NAMES), value_name = "off|random", default_value = "off")]
    pub fill_free: FillFree,
    /// Encrypt the partitions that hold state (those whose definition says Encrypt=, or else
    /// root, /var, /home and /srv) and how to unlock them; overrides the profile.
    #[arg(long, value_parser = named(&EncryptionMode::NAMES), value_name = "tpm2|tpm2+pin|passphrase|off")]
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
    /// Replay an answers file (what an attended install saved, e.g. /imprint/answers.conf on
    /// the installed ESP): the same target, layout, seed and encryption, unattended. Options
    /// given as well override it (--target, --seed, --source, --encrypt, --tpm2-device).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// After installing, also write the answers file here.
    #[arg(long, value_name = "FILE")]
    pub answers_out: Option<PathBuf>,
    /// The installed system's locale, handed to its first boot (credential firstboot.locale).
    #[arg(long, value_name = "LOCALE")]
    pub locale: Option<String>,
    /// The installed system's console keymap (credential firstboot.keymap; also the keymap of
    /// the unlock prompt at boot, rd.vconsole.keymap=).
    #[arg(long, value_name = "KEYMAP")]
    pub keymap: Option<String>,
    /// The installed system's time zone (credential firstboot.timezone).
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// The installed system's host name (credential system.hostname).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
}

impl InstallArgs {
    /// Arguments with no encryption settings, for callers that fill in the rest (the demo).
    pub fn unencrypted() -> Self {
        InstallArgs {
            efivars: PathBuf::from(crate::reset::efi::DEFAULT_EFIVARS),
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
            fill_free: FillFree::Off,
            encrypt: None,
            tpm2_device: "auto".into(),
            tpm2_pcrs: None,
            tpm2_public_key: None,
            no_uki_key: false,
            recovery_key_file: None,
            passphrase_file: None,
            pin_file: None,
            luks_pbkdf: PbkdfChoice::Systemd,
            answers: None,
            answers_out: None,
            locale: None,
            keymap: None,
            timezone: None,
            hostname: None,
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

/// A parser for an engine enum from its names: the engine's types know nothing of clap; the
/// command line lists their names (shown in --help as the possible values).
pub fn named<T: Copy + Send + Sync + 'static>(names: &'static [(&'static str, T)]) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(names.iter().map(|(n, _)| *n))
        .map(move |s| names.iter().find(|(n, _)| *n == s).map(|(_, v)| *v).expect("clap checked it is one of the names"))
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::profile::ini::parse_size(s)
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("invalid size '{s}': expected bytes, or a number with K, M, G or T (base 1024)"))
}
