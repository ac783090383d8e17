//! The installer's view types, requests and messages: everything the app and the installer
//! pages exchange. Secrets (PIN, passphrase, recovery key) are [`Zeroizing`] strings and never
//! appear in Debug output.

use std::fmt;

use zeroize::Zeroizing;

use crate::DiskRow;
use crate::i18n::Lang;
use crate::widgets::qr::QrView;

/// What the app knows before the installer starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallerFacts {
    /// Every console keymap the person may choose (names as `localectl list-keymaps` gives them).
    pub keymaps: Vec<String>,
    /// The keymap selected at first (e.g. from the live system's settings).
    pub default_keymap: String,
    /// The image that will be installed.
    pub source: SourceView,
    /// Whether the TPM can seal a key, and the engine's advice when it cannot.
    pub tpm: TpmView,
    /// The PCRs the TPM policy binds to (e.g. `vec![7]`); the encryption page explains them.
    pub pcrs: Vec<u32>,
    /// The image carries a key for a signed PCR 11 policy (its UKI's `.pcrpkey`): the encryption
    /// page offers "PCR 7 + signed PCR 11". The text names the key (e.g. its SHA-256).
    pub signed_policy: Option<String>,
    /// Demo mode: only image files are touched; "demo" shows in the title bar.
    pub demo: bool,
}

/// The image being installed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceView {
    /// Its name, e.g. "Example OS 42".
    pub name: String,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// Whether the TPM is usable.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TpmView {
    /// The TPM can seal and unseal a key on this machine.
    pub usable: bool,
    /// When it is not usable: the engine's advice, shown verbatim.
    pub problem: Option<String>,
    /// When it is usable but the policy protects little (PCR 7 alone while Secure Boot is not
    /// on): the engine's warning and advice, shown verbatim under the TPM options.
    pub warning: Option<String>,
}

/// What the installer asks the app to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// List the disks; answer with [`Msg::Disks`].
    ListDisks,
    /// Load this keymap on the console now (the person is trying keymaps).
    ApplyKeymap(String),
    /// Plan the install with these answers (the disk, and the encryption, which changes the
    /// sizes); answer with [`Msg::Plan`]. The app keeps that plan: [`Request::StartInstall`]
    /// carries out exactly the plan shown, or fails saying why.
    Plan(InstallRequest),
    /// Generate a recovery key; answer with [`Msg::RecoveryKey`]. The app keeps the key and
    /// enrolls it during the install.
    NewRecoveryKey,
    /// Install now; answer with [`Msg::Progress`], [`Msg::Log`] and finally [`Msg::Done`] or
    /// [`Msg::Failed`].
    StartInstall(InstallRequest),
    /// Restart the machine.
    Reboot,
    /// Power the machine off.
    PowerOff,
    /// Leave the installer (stopping an install that is running).
    Quit,
}

/// The answers the person gave, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallRequest {
    /// The language chosen on the first page.
    pub lang: Lang,
    /// The console keymap for the installed system (and its boot prompt).
    pub keymap: String,
    /// The target disk's path.
    pub disk: String,
    /// How to encrypt.
    pub encryption: EncryptionChoice,
    /// With a TPM choice: also bind to the image's signed PCR 11 policy (only when
    /// [`InstallerFacts::signed_policy`] offers it).
    pub signed_policy: bool,
}

/// How the installed system's data is encrypted.
#[derive(Clone, PartialEq, Eq)]
pub enum EncryptionChoice {
    /// Unlocked by the TPM alone, on this machine only.
    Tpm,
    /// Unlocked by the TPM together with this PIN.
    TpmPin(Zeroizing<String>),
    /// Unlocked by this passphrase.
    Passphrase(Zeroizing<String>),
    /// Not encrypted.
    None,
}

impl fmt::Debug for EncryptionChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncryptionChoice::Tpm => f.write_str("Tpm"),
            EncryptionChoice::TpmPin(_) => f.write_str("TpmPin([redacted])"),
            EncryptionChoice::Passphrase(_) => f.write_str("Passphrase([redacted])"),
            EncryptionChoice::None => f.write_str("None"),
        }
    }
}

/// What the app tells the installer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The disks, answering [`Request::ListDisks`].
    Disks(Vec<DiskRow>),
    /// The before/after table for one disk, answering [`Request::Plan`].
    Plan(PlanView),
    /// A new recovery key, answering [`Request::NewRecoveryKey`].
    RecoveryKey(RecoveryKeyView),
    /// How far the install is.
    Progress(ProgressView),
    /// One line for the log view.
    Log(String),
    /// The install finished; the proof that the new system will open.
    Done(DoneView),
    /// The install failed, with the error in words.
    Failed(String),
}

/// A disk's partitions before and after the install.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanView {
    /// The disk's path.
    pub disk: String,
    /// The partitions now.
    pub before: Vec<PartRow>,
    /// The partitions after the install.
    pub after: Vec<PartRow>,
}

/// One partition in a before/after table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRow {
    /// The partition number.
    pub number: u32,
    /// Its label ("root-x86-64", "Windows").
    pub label: String,
    /// Its kind in words ("EFI system", "Linux root", "NTFS").
    pub kind: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// What the install does to it.
    pub change: Change,
}

/// What the install does to a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Left as it is.
    Keep,
    /// Created by the install.
    Create,
    /// Erased by the install.
    Erase,
}

/// A recovery key the app generated.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKeyView {
    /// The key as the person writes it down, in groups separated by `-`.
    pub text: Zeroizing<String>,
    /// The key as a QR code.
    pub qr: QrView,
}

impl fmt::Debug for RecoveryKeyView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryKeyView")
            .field("text", &"[redacted]")
            .field("qr", &format_args!("{}x{}", self.qr.side(), self.qr.side()))
            .finish()
    }
}

/// How far the install is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgressView {
    /// Every step, in order.
    pub steps: Vec<StepView>,
    /// Bytes copied so far.
    pub bytes_done: u64,
    /// Bytes to copy in all.
    pub bytes_total: u64,
    /// The current copy rate, when known.
    pub rate_bytes_per_sec: Option<u64>,
    /// Seconds left, when known.
    pub eta_secs: Option<u64>,
}

/// One step of the install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    /// What kind of step (its name is translated from this).
    pub kind: StepKind,
    /// Details from the engine, e.g. the partition ("root-x86-64"); may be empty.
    pub label: String,
    /// How far it is.
    pub state: StepState,
}

/// The kinds of install steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Erasing old signatures and tables.
    Wipe,
    /// Copying the image's partitions.
    Copy,
    /// Creating file systems.
    Format,
    /// Setting up encryption.
    Encrypt,
    /// Writing the partition table.
    Table,
    /// Reading back and comparing what was written.
    Verify,
    /// Pointing the new disk's boot loader entries at it (and handing it the answers).
    Boot,
    /// Proving the new system will unlock.
    Proof,
}

impl StepKind {
    /// Every kind.
    pub const ALL: [StepKind; 8] = [
        StepKind::Wipe,
        StepKind::Copy,
        StepKind::Format,
        StepKind::Encrypt,
        StepKind::Table,
        StepKind::Verify,
        StepKind::Boot,
        StepKind::Proof,
    ];

    /// The catalog id of the step's name.
    pub fn message_id(self) -> &'static str {
        match self {
            StepKind::Wipe => "step-wipe",
            StepKind::Copy => "step-copy",
            StepKind::Format => "step-format",
            StepKind::Encrypt => "step-encrypt",
            StepKind::Table => "step-table",
            StepKind::Verify => "step-verify",
            StepKind::Boot => "step-boot",
            StepKind::Proof => "step-proof",
        }
    }
}

/// How far a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    /// Not started.
    Waiting,
    /// Running now.
    Running,
    /// Finished well.
    Done,
    /// Failed.
    Failed,
}

/// The install finished: the proof, and a note (in demo mode: where the files are).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DoneView {
    /// Each check the engine made after installing.
    pub proof: Vec<ProofLine>,
    /// A note to show, e.g. "The demo files are in /tmp/imprint-demo-x1y2".
    pub note: Option<String>,
    /// The seed the partition and disk UUIDs were made from (to make the same ones again with
    /// `--seed`, or with the answers file).
    pub seed: Option<String>,
}

/// One check that the installed system will open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofLine {
    /// What was checked (translated from this).
    pub kind: ProofKind,
    /// Whether it held.
    pub ok: bool,
    /// Details from the engine, shown as they are.
    pub detail: String,
}

/// The checks the engine makes after installing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// The partition table reads back as planned.
    TableReadBack,
    /// The copied data reads back with the image's checksums.
    DataVerified,
    /// The TPM unseals the disk key.
    TpmUnseals,
    /// The recovery key opens the disk.
    RecoveryKeyOpens,
    /// The passphrase opens the disk.
    PassphraseOpens,
}

impl ProofKind {
    /// Every kind.
    pub const ALL: [ProofKind; 5] =
        [ProofKind::TableReadBack, ProofKind::DataVerified, ProofKind::TpmUnseals, ProofKind::RecoveryKeyOpens, ProofKind::PassphraseOpens];

    /// The catalog id of the check's description.
    pub fn message_id(self) -> &'static str {
        match self {
            ProofKind::TableReadBack => "proof-table",
            ProofKind::DataVerified => "proof-data",
            ProofKind::TpmUnseals => "proof-tpm",
            ProofKind::RecoveryKeyOpens => "proof-recovery-key",
            ProofKind::PassphraseOpens => "proof-passphrase",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let request = InstallRequest {
            lang: Lang::En,
            keymap: "us".into(),
            disk: "/dev/sda".into(),
            encryption: EncryptionChoice::Passphrase(Zeroizing::new("hunter2hunter2".into())),
            signed_policy: false,
        };
        let text = format!("{request:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("Passphrase([redacted])"));
        let pin = format!("{:?}", EncryptionChoice::TpmPin(Zeroizing::new("4711".into())));
        assert!(!pin.contains("4711"));
        let key = RecoveryKeyView { text: Zeroizing::new("abcdefgh-ijklmnop".into()), qr: QrView::default() };
        assert!(!format!("{key:?}").contains("abcdefgh"));
        assert!(!format!("{:?}", Msg::RecoveryKey(key)).contains("abcdefgh"));
    }
}
