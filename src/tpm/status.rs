//! Is the TPM ready to hold a disk key? Each problem comes with what to do about it, and the
//! offer to use a passphrase instead.

use tss_esapi::constants::PropertyTag;

use super::seal::{Tpm, is_measured, tss};
use super::{Device, PcrBank, TpmError};

/// TPMA_PERMANENT.inLockout.
const IN_LOCKOUT: u32 = 0x0000_0200;

const FALLBACK: &str = "Or continue with a passphrase instead: you will type it at every boot.";

/// What kind of problem; a UI can pick an icon or a page by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// No TPM 2.0, or it cannot be reached.
    Absent,
    /// Dictionary-attack lockout.
    Lockout,
    /// The PCR bank asked for is not active.
    NoBank,
    /// None of the policy's PCRs holds a measurement: the policy would bind to nothing.
    PcrsUnset,
    /// Anything else the TPM answered.
    Error,
    /// (A warning) the policy binds to little: no PCRs, or PCR 7 without Secure Boot.
    WeakPolicy,
    /// A volume's TPM2 key no longer matches the PCR values of this boot.
    PolicyChanged,
}

/// One problem: what is wrong, and what to do.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
    pub advice: String,
}

/// The readiness report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TpmStatus {
    /// The TPM asked about (`/dev/tpmrm0` or the TCTI string).
    pub device: String,
    /// A TPM 2.0 answered.
    pub present: bool,
    /// The active PCR banks (all 24 PCRs allocated) imprint can use.
    pub banks: Vec<PcrBank>,
    /// The bank and PCRs checked.
    pub bank: PcrBank,
    pub pcrs: Vec<u32>,
    /// Failed authorizations counted toward lockout, and the limit.
    pub lockout_counter: Option<u32>,
    pub max_auth_fail: Option<u32>,
    /// Empty when the TPM can be used.
    pub problems: Vec<Problem>,
    /// Whether Secure Boot is on, as the EFI variable `SecureBoot` says (None: no EFI variables,
    /// or not asked: see [`TpmStatus::check_policy`]).
    pub secure_boot: Option<bool>,
    /// What the TPM can do but the policy protects weakly: said, and the install goes on.
    pub warnings: Vec<Problem>,
    /// The encrypted volume checked against the PCR values of now (`--device`, `--image`, or
    /// the root's), when there is one: see [`TpmStatus::check_volume`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<VolumeStatus>,
}

/// Whether a volume's TPM2 tokens still match this boot.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct VolumeStatus {
    /// The LUKS2 device or image partition.
    pub volume: String,
    pub tokens: Vec<TokenStatus>,
    /// In words, when a token no longer matches: what changed, and what to do.
    pub problem: Option<Problem>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TokenStatus {
    pub keyslot: u32,
    pub pcrs: Vec<u32>,
    pub bank: PcrBank,
    pub pin: bool,
    pub signed_policy: bool,
    /// The policy in force, in words: "PCR 7", "PCR 7 + signed PCR 11".
    pub policy: String,
    /// PCRs bound through the signed policy (`tpm2_pubkey_pcrs`), normally `[11]`.
    pub signed_pcrs: Vec<u32>,
    /// SHA-256 of the signing key's PEM (as the installer names a UKI's `.pcrpkey`).
    pub public_key_sha256: Option<String>,
    /// The PCRs whose values differ from those the key was sealed to, when imprint recorded them
    /// (its `imprint-tpm2-pcr-values` token beside keys it sealed); None: not known.
    pub changed_pcrs: Option<Vec<u32>>,
    /// The token's policy is the one the PCR values of now give: the TPM unseals it (with the
    /// PIN, when it has one). None: it could not be checked (the reason is in `error`).
    pub matches: Option<bool>,
    pub error: Option<String>,
}

/// A token's policy in words: "PCR 7", "PCR 7 + signed PCR 11", "signed PCR 11", "no PCRs".
pub fn policy_words(t: &super::Tpm2Token) -> String {
    let list = |p: &[u32]| p.iter().map(u32::to_string).collect::<Vec<_>>().join("+");
    let signed = t.pubkey.is_some().then(|| format!("signed PCR {}", list(&t.pubkey_pcrs)));
    match (t.pcrs.is_empty(), signed) {
        (false, Some(s)) => format!("PCR {} + {s}", list(&t.pcrs)),
        (false, None) => format!("PCR {}", list(&t.pcrs)),
        (true, Some(s)) => s,
        (true, None) => "no PCRs".into(),
    }
}

/// The EFI global variables' vendor GUID (`SecureBoot-8be4df61-…`).
const EFI_GLOBAL: &str = "8be4df61-93ca-11d0-aa0d-00e098032b8c";

/// Whether Secure Boot is on, from the `SecureBoot` variable in `efivars` (efivarfs, or a
/// folder standing in for it in tests): None when there are no EFI variables or it is unset.
pub fn secure_boot(efivars: &std::path::Path) -> Option<bool> {
    let path = efivars.join(format!("SecureBoot-{EFI_GLOBAL}"));
    let mut b = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(std::fs::File::open(path).ok()?, 16), &mut b).ok()?;
    // 4 bytes of attributes, then one byte: 1 on, 0 off
    b.get(4).map(|v| *v == 1)
}

/// Warnings about a policy that the TPM can seal to but that protects little: no PCRs and no
/// signed policy (any OS booted on this machine unseals), or PCR 7 alone while Secure Boot is
/// not known to be on (PCR 7 then records only that it is off, the same for any OS booted the
/// same way).
pub fn policy_warnings(pcrs: &[u32], signed_policy: bool, secure_boot: Option<bool>) -> Vec<Problem> {
    let mut out = Vec::new();
    if pcrs.is_empty() && !signed_policy {
        out.push(Problem {
            kind: ProblemKind::WeakPolicy,
            message: "The key is sealed to no PCRs: whatever boots on this machine can unseal it, so the TPM protects the disk only \
                      once it has left the machine."
                .into(),
            advice: "Bind to PCR 7 with Secure Boot on (and PCR 11 with a signed policy where the OS ships one), or add a PIN \
                     (--encrypt=tpm2+pin)."
                .into(),
        });
    } else if !signed_policy && pcrs.iter().all(|p| *p == 7) && secure_boot != Some(true) {
        let state = match secure_boot {
            Some(false) => "Secure Boot is off",
            _ => "Secure Boot is not known to be on (no SecureBoot EFI variable)",
        };
        out.push(Problem {
            kind: ProblemKind::WeakPolicy,
            message: format!(
                "{state}: PCR 7 then records only that, so any operating system booted the same way on this machine can unseal the \
                 disk key."
            ),
            advice: "Turn on Secure Boot in the firmware setup before installing, bind to more PCRs, or add a PIN (--encrypt=tpm2+pin)."
                .into(),
        });
    }
    out
}

impl TpmStatus {
    /// Checks the `systemd-tpm2` tokens of a volume (their JSON, read from its LUKS2 header)
    /// against the PCR values of now, and says in words what changed when one no longer
    /// matches. `secure_boot` is the state now (for the likely cause).
    /// `records`: the PCR values each key was sealed to, where imprint recorded them (keyslot,
    /// bank, values), to say which PCRs changed.
    pub fn check_volume(&mut self, dev: &Device, volume: &str, tokens: &[super::Tpm2Token], records: &[super::PcrRecord]) {
        let mut out = Vec::new();
        for t in tokens {
            let changed_pcrs = records.iter().find(|(k, ..)| *k == t.keyslot).and_then(|(_, bank, values)| {
                let pcrs: Vec<u32> = values.iter().map(|(p, _)| *p).collect();
                let now = super::pcr_values(dev, *bank, &pcrs).ok()?;
                Some(values.iter().zip(now).filter(|((_, then), now)| then != now).map(|((p, _), _)| *p).collect())
            });
            let (matches, error) = match super::token_matches_now(dev, t) {
                Ok(m) => (Some(m), None),
                Err(e) => (None, Some(e.to_string())),
            };
            out.push(TokenStatus {
                keyslot: t.keyslot,
                pcrs: t.pcrs.clone(),
                bank: t.pcr_bank.unwrap_or(PcrBank::Sha256),
                pin: t.pin,
                signed_policy: t.pubkey.is_some(),
                policy: policy_words(t),
                signed_pcrs: if t.pubkey.is_some() { t.pubkey_pcrs.clone() } else { Vec::new() },
                public_key_sha256: t.pubkey.as_ref().map(|pem| {
                    use sha2::Digest;
                    super::policy::hex(&sha2::Sha256::digest(pem))
                }),
                changed_pcrs,
                matches,
                error,
            });
        }
        let stale = !out.is_empty() && out.iter().all(|t| t.matches == Some(false));
        let problem = stale.then(|| {
            // which PCRs: those that changed since sealing, where recorded; else the policy's
            let changed: Option<Vec<u32>> = out.iter().map(|t| t.changed_pcrs.clone()).collect::<Option<Vec<_>>>().map(|v| {
                let mut all: Vec<u32> = v.into_iter().flatten().collect();
                all.sort_unstable();
                all.dedup();
                all
            });
            let pcrs: Vec<u32> = match &changed {
                Some(c) if !c.is_empty() => c.clone(),
                _ => out.iter().flat_map(|t| t.pcrs.iter().copied()).collect(),
            };
            let list: Vec<String> = out[0].pcrs.iter().map(u32::to_string).collect();
            let which = match &changed {
                Some(c) if !c.is_empty() => {
                    format!(" PCR {} changed since the key was sealed.", c.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))
                }
                _ => String::new(),
            };
            let cause = if pcrs.contains(&7) {
                match self.secure_boot {
                    Some(false) => "Secure Boot is off now: it was turned off, or its keys were reset — or PCR 7 recorded another change",
                    _ => "PCR 7 records the Secure Boot state: its keys (db, KEK) or the revocation list (dbx) were updated, or Secure Boot was turned off and on",
                }
            } else {
                "the firmware or what it measured changed (a firmware update, other boot settings)"
            };
            Problem {
                kind: ProblemKind::PolicyChanged,
                message: format!(
                    "the TPM2 key of {volume} no longer matches this boot's PCR values (PCR {} in the {} bank): the TPM refuses it, and the boot asks for the recovery key.{which} Likely cause: {cause}.",
                    list.join("+"),
                    out[0].bank
                ),
                advice: format!(
                    "if you expected this change, run `imprint tpm reseal` (it asks for the recovery key) so the next boot unlocks by itself; if you did not, find out what changed first{}",
                    if self.secure_boot == Some(false) { " — resealing now binds the disk to Secure Boot being off" } else { "" }
                ),
            }
        });
        self.volume = Some(VolumeStatus { volume: volume.to_string(), tokens: out, problem });
    }

    /// Reads the Secure Boot state from `efivars` and adds [`policy_warnings`] for this status's
    /// PCRs (`signed_policy`: a signed PCR 11 policy is bound too).
    pub fn check_policy(&mut self, efivars: &std::path::Path, signed_policy: bool) {
        self.secure_boot = secure_boot(efivars);
        self.warnings = policy_warnings(&self.pcrs, signed_policy, self.secure_boot);
    }

    /// No problems: sealing to `pcrs` in `bank` will protect the disk key.
    pub fn ready(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks `dev` for what would make a TPM enrollment fail or pointless: no TPM, a lockout, no
/// such PCR bank, PCRs nothing was measured into. Never fails: problems are in the report.
pub fn status(dev: &Device, pcrs: &[u32], bank: PcrBank) -> TpmStatus {
    let mut pcrs: Vec<u32> = pcrs.to_vec();
    pcrs.sort_unstable();
    pcrs.dedup();
    let mut st = TpmStatus {
        device: dev.to_string(),
        present: false,
        banks: Vec::new(),
        bank,
        pcrs: pcrs.clone(),
        lockout_counter: None,
        max_auth_fail: None,
        problems: Vec::new(),
        secure_boot: None,
        warnings: Vec::new(),
        volume: None,
    };
    let mut tpm = match Tpm::open(dev) {
        Ok(t) => t,
        Err(e) => {
            st.problems.push(absent(&e));
            return st;
        }
    };
    // Ask something, to know a TPM answers (a TCTI may open without one behind it).
    match tpm.banks() {
        Ok(b) => {
            st.present = true;
            st.banks = b.iter().filter(|(_, full)| *full).map(|(b, _)| *b).collect();
        }
        Err(e) => {
            st.problems.push(absent(&e));
            return st;
        }
    }

    match tpm.ctx.get_tpm_property(PropertyTag::Permanent) {
        Ok(Some(p)) if p & IN_LOCKOUT != 0 => {
            let interval = tpm.ctx.get_tpm_property(PropertyTag::LockoutInterval).ok().flatten();
            let wait = match interval {
                Some(s) if s > 0 => format!("The TPM forgets one failure every {} and unlocks by itself. ", duration(s)),
                _ => String::new(),
            };
            st.problems.push(Problem {
                kind: ProblemKind::Lockout,
                message: "The TPM is in dictionary-attack lockout: after too many wrong PINs or passwords it refuses to check any for now."
                    .into(),
                advice: format!(
                    "{wait}Leave the machine on and try again later, or clear the lockout with `tpm2_dictionarylockout --clear-lockout` \
                     (needs the TPM's lockout password, if one is set) or by clearing the TPM in the firmware setup (this erases what \
                     the TPM holds). {FALLBACK}"
                ),
            });
        }
        Ok(_) => {}
        Err(e) => st.problems.push(error(&tss("reading the TPM's state", e))),
    }
    st.lockout_counter = tpm.ctx.get_tpm_property(PropertyTag::LockoutCounter).ok().flatten();
    st.max_auth_fail = tpm.ctx.get_tpm_property(PropertyTag::MaxAuthFail).ok().flatten();

    if !st.banks.contains(&bank) {
        st.problems.push(Problem {
            kind: ProblemKind::NoBank,
            message: format!("The TPM has no active {bank} PCR bank, so its measurements cannot be checked with {bank}."),
            advice: format!(
                "Turn on the {bank} PCR bank in the firmware's TPM settings (often \"PCR banks\" or \"TPM2 active PCR banks\"), \
                 or update the firmware. {FALLBACK}"
            ),
        });
        return st;
    }

    if !pcrs.is_empty() {
        if let Some(bad) = pcrs.iter().find(|p| **p >= 24) {
            st.problems.push(error(&TpmError::Format(format!("PCR {bad} out of range 0…23"))));
            return st;
        }
        match tpm.read_pcrs(bank, &pcrs) {
            Ok(values) if !values.iter().any(|v| is_measured(v)) => {
                let list = pcrs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
                let (what, them) =
                    if pcrs.len() == 1 { (format!("PCR {list} holds"), "it") } else { (format!("PCRs {list} hold"), "them") };
                st.problems.push(Problem {
                    kind: ProblemKind::PcrsUnset,
                    message: format!(
                        "{what} no measurement: the firmware measured nothing into {them}, so a TPM policy on {them} would protect nothing."
                    ),
                    advice: format!(
                        "Turn on the TPM and measured boot in the firmware setup (PCR 7 records the Secure Boot state), update the \
                         firmware, or choose PCRs the firmware measures. {FALLBACK}"
                    ),
                });
            }
            Ok(_) => {}
            Err(e) => st.problems.push(error(&e)),
        }
    }
    st
}

fn absent(e: &TpmError) -> Problem {
    let detail = match e {
        TpmError::Absent { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    Problem {
        kind: ProblemKind::Absent,
        message: format!("No TPM 2.0 could be used ({detail})."),
        advice: format!(
            "If this machine has a TPM, turn it on in the firmware setup (it may be called TPM, PTT on Intel or fTPM on AMD) and \
             start the installer again. {FALLBACK}"
        ),
    }
}

fn error(e: &TpmError) -> Problem {
    Problem {
        kind: ProblemKind::Error,
        message: format!("The TPM did not answer as expected: {e}."),
        advice: format!("Restart the machine and try again; if it persists, update the firmware. {FALLBACK}"),
    }
}

fn duration(seconds: u32) -> String {
    match seconds {
        s if s % 3600 == 0 && s >= 3600 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_device_is_a_problem_with_advice_not_a_failure() {
        let st = status(&Device::Tcti("device:/nonexistent/tpmrm9".into()), &[7], PcrBank::Sha256);
        assert!(!st.present && !st.ready());
        assert_eq!(st.problems.len(), 1);
        assert_eq!(st.problems[0].kind, ProblemKind::Absent);
        assert!(st.problems[0].advice.contains("passphrase"));
        let j = serde_json::to_value(&st).unwrap();
        assert_eq!(j["problems"][0]["kind"], "absent");
        assert_eq!(duration(600), "10 min");
        assert_eq!(duration(7200), "2 h");
        assert_eq!(duration(61), "61 s");
    }
}
