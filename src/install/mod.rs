//! The install engine's API, the one every front-end uses (CLI, pages, `--plain`, the demo, the
//! live image's unattended install):
//!
//! ```text
//! Request ──prepare(&Request, &Host)──► Prepared ──perform(&Prepared, &Secrets, &Cancel, on_event)──► Report
//! ```
//!
//! A [`Request`] is plain data (serde; also the answers file, [`answers`]): target, source,
//! layout, seed, empty mode, encryption, verification and the first-boot answers. [`prepare`]
//! gathers the facts, makes every refusal, checks the TPM, makes the plan *with* encryption, reads
//! the source UKI's PCR key into memory, and records the target's identity. What a person
//! confirms is the `Prepared`'s plan, and [`perform`] carries out exactly that plan, on the target
//! it holds open and finds unchanged (`disk::hold`). No clap, no terminal, no printing here.

pub mod answers;
pub mod facts;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::disk::hold::{Held, Identity};
pub use crate::exec::Proof;
use crate::exec::{self, EspAdditions, Event, FillFree, Verify};
use crate::plan::{self, EmptyMode, EncryptionMode, Plan};
use crate::secret::Secret;
pub use facts::{check_target, definition_dirs, encryption_plan, profile_search_path, source_facts, target_facts};

/// Everything an install is asked to do. Contains no secret: passphrases, PINs and recovery keys
/// travel separately in [`Secrets`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// The disk or image file to install onto.
    pub target: PathBuf,
    /// The size of an image file to create (or grow to).
    pub target_size: Option<u64>,
    /// `auto` (the disk holding the running system), an image file or a block device.
    pub source: Option<String>,
    /// An installer profile name or folder.
    pub profile: Option<String>,
    /// repart.d folders, after the profile's.
    pub definitions: Vec<PathBuf>,
    /// systemd-repart's `--seed`; None: a random one is drawn by [`prepare`] and kept in the
    /// prepared request (so a replay of the answers gives the same UUIDs).
    pub seed: Option<Uuid>,
    pub empty: EmptyMode,
    pub encryption: EncryptionRequest,
    pub verify: Verify,
    /// What the free space of encrypted new file systems holds (default: left unwritten).
    #[serde(default)]
    pub fill_free: FillFree,
    /// Answers for the installed system's first boot.
    pub firstboot: FirstbootAnswers,
}

/// How to encrypt; None fields fall back to the profile's `[Encryption]`, then to the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncryptionRequest {
    pub mode: Option<EncryptionMode>,
    /// `auto` (/dev/tpmrm0) or a TCTI.
    pub tpm2_device: String,
    pub tpm2_pcrs: Option<Vec<u32>>,
    pub tpm2_public_key: Option<PathBuf>,
    /// Bind to the PCR-signing key of the source ESP's UKI, when it carries one.
    pub use_uki_key: bool,
    pub recovery_key: Option<bool>,
}

impl Default for EncryptionRequest {
    fn default() -> Self {
        EncryptionRequest {
            mode: None,
            tpm2_device: "auto".into(),
            tpm2_pcrs: None,
            tpm2_public_key: None,
            use_uki_key: true,
            recovery_key: None,
        }
    }
}

/// First-boot answers the installer already has: handed to the installed system as the
/// `firstboot.*` credentials systemd-firstboot (and imprint's first boot) read, so they are not
/// asked again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstbootAnswers {
    pub locale: Option<String>,
    pub keymap: Option<String>,
    pub timezone: Option<String>,
    pub hostname: Option<String>,
}

impl FirstbootAnswers {
    pub fn is_empty(&self) -> bool {
        *self == FirstbootAnswers::default()
    }

    /// Checks each answer as first boot would, naming the bad one.
    pub fn validate(&self) -> Result<()> {
        use crate::firstboot::catalog as c;
        if let Some(l) = &self.locale
            && !c::locale_syntax_ok(l)
        {
            bail!("invalid locale '{l}': expected a name such as de_DE.UTF-8");
        }
        if let Some(k) = &self.keymap
            && !c::keymap_syntax_ok(k)
        {
            bail!("invalid keymap '{k}': expected a name such as de or us");
        }
        if let Some(t) = &self.timezone
            && !c::timezone_syntax_ok(t)
        {
            bail!("invalid time zone '{t}': expected a name such as Europe/Berlin");
        }
        if let Some(h) = &self.hostname
            && !c::hostname_ok(h)
        {
            bail!("invalid host name '{h}': letters, digits, '-' and '.', at most 64 characters");
        }
        Ok(())
    }

    /// The answers as systemd credentials (name, value): `firstboot.locale`, `firstboot.keymap`,
    /// `firstboot.timezone` and `system.hostname` (PID 1 sets the host name from it;
    /// systemd-firstboot before v261 reads only this one).
    pub fn credentials(&self) -> Vec<(String, String)> {
        use crate::firstboot::creds;
        [
            (creds::LOCALE, &self.locale),
            (creds::KEYMAP, &self.keymap),
            (creds::TIMEZONE, &self.timezone),
            (creds::SYSTEM_HOSTNAME, &self.hostname),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (name.to_string(), v.clone())))
        .collect()
    }

    /// The kernel command line words that carry the answers on Type #1 entries: one
    /// `systemd.set_credential=` per answer (systemd puts them in the system's credentials on the
    /// installed system's first boot) and `rd.vconsole.keymap=`, so the initrd's unlock prompt uses
    /// the chosen keymap.
    pub fn kernel_words(&self) -> Vec<String> {
        let mut v: Vec<String> = self.credentials().into_iter().map(|(name, x)| format!("systemd.set_credential={name}:{x}")).collect();
        if let Some(k) = &self.keymap {
            v.push(format!("rd.vconsole.keymap={k}"));
        }
        v
    }
}

impl Request {
    /// A request for `target` with every choice at its default.
    pub fn new(target: impl Into<PathBuf>) -> Request {
        Request {
            target: target.into(),
            target_size: None,
            source: None,
            profile: None,
            definitions: Vec::new(),
            seed: None,
            empty: EmptyMode::Refuse,
            encryption: EncryptionRequest::default(),
            verify: Verify::Stream,
            fill_free: FillFree::Off,
            firstboot: FirstbootAnswers::default(),
        }
    }
}

/// Where the engine looks things up on this machine.
#[derive(Debug, Clone)]
pub struct Host {
    /// Folders profile names are looked up in, in order.
    pub profile_search_path: Vec<PathBuf>,
    /// The EFI variables (efivarfs; a folder standing in for it in tests): whether Secure Boot
    /// is on decides whether a PCR 7 policy is warned about.
    pub efivars: PathBuf,
}

impl Default for Host {
    fn default() -> Self {
        Host { profile_search_path: profile_search_path(), efivars: PathBuf::from(crate::reset::efi::DEFAULT_EFIVARS) }
    }
}

/// A request, checked and planned: what a person confirms, and what [`perform`] carries out.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The request with its seed settled.
    pub request: Request,
    pub seed: Uuid,
    pub plan: Plan,
    /// What the target was when it was inspected; [`perform`] refuses a target that differs.
    pub target: Identity,
    /// What the target held then (for a before/after view).
    pub target_content: plan::TargetContent,
    /// What the person should know before confirming (a weak TPM policy, with what to do);
    /// [`perform`] also reports each as an [`Event::Warning`] first.
    pub warnings: Vec<String>,
}

impl Prepared {
    /// The files and words the install puts on the new ESP.
    fn esp_additions(&self) -> EspAdditions {
        EspAdditions {
            options: self.request.firstboot.kernel_words(),
            files: vec![(answers::ESP_PATH.to_string(), answers::to_ini(&self.request, self.plan.disk_guid).into_bytes())],
            credentials: self.request.firstboot.credentials(),
            credential_key: self.credential_key(),
        }
    }

    /// What the answers next to a UKI are sealed to: the TPM2 and PCRs the root is sealed to
    /// when the install binds it to a TPM2 by PCRs, else PCR 7 of the TPM2 the request names if
    /// one answers then, else systemd's key for machines without one.
    fn credential_key(&self) -> crate::boot::creds::CredKey {
        use crate::boot::creds::CredKey;
        let tpm_unlock = self
            .plan
            .partitions
            .iter()
            .any(|p| p.luks.as_ref().is_some_and(|l| l.unlock.iter().any(|u| matches!(u, plan::Unlock::Tpm2 | plan::Unlock::Tpm2Pin))));
        match &self.plan.encryption {
            Some(e) if tpm_unlock && !e.tpm2_pcrs.is_empty() => CredKey::Tpm2 { device: e.tpm2_device.clone(), pcrs: e.tpm2_pcrs.clone() },
            _ => CredKey::Auto { device: self.request.encryption.tpm2_device.clone() },
        }
    }

    /// Whether anything now on the target is lost.
    pub fn loses_data(&self) -> bool {
        self.plan.loses_data()
    }
}

/// Passphrase, PIN and the recovery key the front-end made and showed.
pub use crate::exec::encrypt::Secrets;

/// What an install did and proved.
#[derive(Debug, Serialize)]
pub struct Report {
    pub seed: Uuid,
    #[serde(flatten)]
    pub exec: exec::Report,
}

impl Report {
    pub fn proofs(&self) -> &[Proof] {
        &self.exec.proofs
    }
    /// The recovery key the executor enrolled (the front-end's, or one it made), to hand over.
    pub fn recovery_key(&self) -> Option<&Secret> {
        self.exec.recovery_key.as_ref()
    }
}

/// Checks and plans `req`: every refusal, the TPM's readiness for the plan's TPM keyslots, the
/// plan with encryption, and the target's identity. Writes nothing.
pub fn prepare(req: &Request, host: &Host) -> Result<Prepared> {
    let mut prepared = plan_for(req, host)?;
    prepared.warnings = facts::check_encryption_ready(&prepared.plan, &host.efivars)?;
    Ok(prepared)
}

/// [`prepare`] without asking the TPM: for a disk list's verdicts (fits, needs erasing, too
/// small). Never [`perform`] what this returns unchecked.
pub fn plan_for(req: &Request, host: &Host) -> Result<Prepared> {
    req.firstboot.validate()?;
    let seed = req.seed.unwrap_or_else(Uuid::new_v4);
    let target = facts::target_facts(&req.target, req.target_size)?;
    let (plan, _) = facts::make_plan(req, host, &target, seed)?;
    for p in &plan.partitions {
        if let plan::Content::CopyBlocks { path, .. } = &p.content {
            let same = std::fs::canonicalize(path).ok() == std::fs::canonicalize(&plan.target).ok();
            if same {
                bail!("refusing to write to {}: it is the source of partition {}", plan.target.display(), p.number);
            }
        }
    }
    let identity = Identity::of(&req.target, target.size, &target.content)
        .with_context(|| format!("reading what identifies {}", req.target.display()))?;
    let mut request = req.clone();
    request.seed = Some(seed);
    Ok(Prepared { request, seed, plan, target: identity, target_content: target.content, warnings: Vec::new() })
}

/// Carries out the prepared plan: holds the target (exclusively, checked to be the one
/// inspected), writes, proves, and returns what it proved. `on_event` receives the progress.
pub fn perform(prepared: &Prepared, secrets: &Secrets, cancel: &AtomicBool, on_event: &mut dyn FnMut(&Event)) -> Result<Report> {
    let plan = &prepared.plan;
    for message in &prepared.warnings {
        on_event(&Event::Warning { message: message.clone() });
    }
    let create = plan.create_image.then_some(plan.target_size);
    let held = Held::open(&prepared.target, create, |f| {
        let sector =
            if crate::disk::is_block_device(f)? { crate::disk::logical_sector_size(f)? } else { crate::disk::table::probe_sector_size(f) };
        Ok((crate::disk::device_size(f)?, crate::disk::table::probe_content(f, sector)?))
    })?;
    if plan.create_image {
        let len = held.file.metadata()?.len();
        if len < plan.target_size {
            held.file.set_len(plan.target_size).with_context(|| format!("growing {}", plan.target.display()))?;
        }
    }
    let opts = exec::Options {
        verify: prepared.request.verify,
        fill_free: prepared.request.fill_free,
        cancel,
        secrets,
        pbkdf: secrets_pbkdf(secrets),
    };
    let report = exec::execute_on(plan, &held.file, &opts, &prepared.esp_additions(), on_event)
        .with_context(|| format!("installing onto {}", plan.target.display()))?;
    drop(held);
    Ok(Report { seed: prepared.seed, exec: report })
}

fn secrets_pbkdf(s: &Secrets) -> crate::luks::Pbkdf {
    s.pbkdf.unwrap_or(crate::luks::Pbkdf::Systemd)
}
