//! TPM2 sealing against a real swtpm, and compatibility with systemd 252's own tools in both
//! directions: tokens systemd-cryptenroll writes are unsealed by imprint, and tokens imprint
//! writes are unsealed by systemd-cryptsetup.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;

use common::swtpm::Swtpm;
use common::{run_ok, run_with_stdin};
use imprint::secret::Secret;
use imprint::tpm::{
    Device, PcrBank, PrimaryAlg, ProblemKind, SealFormat, SealRequest, Tpm2Token, TpmError, luks_passphrase, seal, seal_in_format, status,
    unseal,
};

const PASSPHRASE: &str = "imprint test passphrase";

fn init() {
    static ONCE: Once = Once::new();
    // SAFETY: runs once, before any test touches tpm2-tss (every test calls this first).
    ONCE.call_once(|| unsafe { std::env::set_var("TSS2_LOG", "all+none") });
}

/// A 32 MiB LUKS2 image with [`PASSPHRASE`] in keyslot 0 (fast PBKDF2).
fn luks_image(dir: &Path, name: &str) -> PathBuf {
    let img = dir.join(name);
    std::fs::File::create(&img).unwrap().set_len(32 << 20).unwrap();
    let out = run_with_stdin(
        Command::new("cryptsetup")
            .args(["luksFormat", "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--batch-mode"])
            .arg("--key-file=-")
            .arg(&img),
        PASSPHRASE.as_bytes(),
    );
    assert!(out.status.success(), "luksFormat: {}", String::from_utf8_lossy(&out.stderr));
    img
}

fn luks_json(img: &Path) -> serde_json::Value {
    let out = run_ok(Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(img));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `systemd-tpm2` tokens of an image, by token id.
fn tpm2_tokens(img: &Path) -> Vec<serde_json::Value> {
    let j = luks_json(img);
    j["tokens"].as_object().unwrap().values().filter(|t| t["type"] == "systemd-tpm2").cloned().collect()
}

/// Does `pass` open a keyslot of `img`? (No device-mapper needed.)
fn opens(img: &Path, pass: &[u8]) -> bool {
    run_with_stdin(Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file=-"]).arg(img), pass).status.success()
}

/// `systemd-cryptenroll --tpm2-device=…` with the image's passphrase; extra arguments and env.
fn cryptenroll(tpm: &Swtpm, img: &Path, args: &[&str], env: &[(&str, &str)]) {
    let mut c = Command::new("systemd-cryptenroll");
    c.env("PASSWORD", PASSPHRASE).env("TSS2_LOG", "all+none").arg(format!("--tpm2-device={}", tpm.tcti())).args(args).arg(img);
    for (k, v) in env {
        c.env(k, v);
    }
    run_ok(&mut c);
}

/// Adds `secret`'s LUKS passphrase as a keyslot and imports the token for it; returns the token.
fn enroll_with_imprint(img: &Path, secret: &Secret, mut token: Tpm2Token) -> Tpm2Token {
    let dir = img.parent().unwrap();
    let before: Vec<String> = luks_json(img)["keyslots"].as_object().unwrap().keys().cloned().collect();
    let newkey = dir.join("newkey");
    std::fs::write(&newkey, luks_passphrase(secret).expose()).unwrap();
    let out = run_with_stdin(
        Command::new("cryptsetup")
            .args(["luksAddKey", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--batch-mode", "--key-file=-"])
            .arg(img)
            .arg(&newkey),
        PASSPHRASE.as_bytes(),
    );
    std::fs::remove_file(&newkey).unwrap();
    assert!(out.status.success(), "luksAddKey: {}", String::from_utf8_lossy(&out.stderr));
    let after: Vec<String> = luks_json(img)["keyslots"].as_object().unwrap().keys().cloned().collect();
    let slot = after.iter().find(|k| !before.contains(k)).unwrap();
    token.keyslot = slot.parse().unwrap();
    let json = dir.join("token.json");
    std::fs::write(&json, serde_json::to_vec(&token.to_json()).unwrap()).unwrap();
    run_ok(Command::new("cryptsetup").args(["token", "import", "--json-file"]).arg(&json).arg(img));
    token
}

/// `systemd-cryptsetup attach` against the swtpm on port 2321; everything it printed.
///
/// systemd 252's `tpm2_unseal` never flushes its HMAC encryption session (its `finish:` flushes
/// the primary, the policy session and the sealed key only); with no resource manager in front
/// of swtpm those pile up, so the sessions earlier runs left loaded are flushed first.
fn systemd_cryptsetup(tpm: &Swtpm, img: &Path, options: &str, env: &[(&str, &str)]) -> String {
    run_ok(tpm.tool("tpm2_flushcontext").arg("--loaded-session"));
    let mut c = Command::new("timeout");
    c.args(["60", "/lib/systemd/systemd-cryptsetup", "attach", "imprint-test"])
        .arg(img)
        .arg("-")
        .arg(options)
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .env("TSS2_LOG", "all+none");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn pcr7(bank: PcrBank) -> SealRequest {
    SealRequest { bank, ..SealRequest::default() }
}

#[test]
fn imprint_seals_and_unseals_pcr7_and_pin() {
    init();
    let tpm = Swtpm::start();
    let dev = tpm.device();
    tpm.extend(7, b"secure boot: enabled");

    let (secret, token) = seal(&dev, &pcr7(PcrBank::Sha256)).unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!((token.pcrs.as_slice(), token.pcr_bank, token.primary_alg), (&[7][..], Some(PcrBank::Sha256), Some(PrimaryAlg::Ecc)));
    assert!(!token.pin && token.srk.is_none() && token.salt.is_none());
    assert_eq!(Tpm2Token::from_json(&token.to_json()).unwrap(), token);
    assert!(unseal(&dev, &token, None, None).unwrap() == secret);
    // The same again: nothing stays loaded in the TPM between operations.
    assert!(unseal(&dev, &token, None, None).unwrap() == secret);

    // Also from the token's JSON text, as it comes out of a LUKS header.
    let text = serde_json::to_string(&token.to_json()).unwrap();
    assert!(!text.contains(std::str::from_utf8(luks_passphrase(&secret).expose()).unwrap()));
    let back = Tpm2Token::from_json(&serde_json::from_str(&text).unwrap()).unwrap();
    assert!(unseal(&dev, &back, None, None).unwrap() == secret);

    tpm.extend(7, b"secure boot: disabled");
    let err = unseal(&dev, &token, None, None).unwrap_err();
    assert!(matches!(err, TpmError::PolicyMismatch), "{err}");
    assert!(err.to_string().contains("recovery key"));

    // With a PIN.
    let pin = Secret::from_text("4711 pin");
    let req = SealRequest { pin: Some(pin.duplicate()), ..pcr7(PcrBank::Sha256) };
    let (secret, token) = seal(&dev, &req).unwrap();
    assert!(token.pin && token.salt.is_none());
    assert!(!serde_json::to_string(&token.to_json()).unwrap().contains("4711"));
    assert!(unseal(&dev, &token, Some(&pin), None).unwrap() == secret);
    assert!(matches!(unseal(&dev, &token, None, None), Err(TpmError::PinRequired)));
    let err = unseal(&dev, &token, Some(&Secret::from_text("0000")), None).unwrap_err();
    assert!(matches!(err, TpmError::BadPin), "{err}");
    assert!(unseal(&dev, &token, Some(&pin), None).unwrap() == secret);

    // SHA-1 bank and several PCRs.
    tpm.extend(11, b"x");
    let req = SealRequest { bank: PcrBank::Sha1, pcrs: vec![11, 7], ..SealRequest::default() };
    let (secret, token) = seal(&dev, &req).unwrap();
    assert_eq!(token.pcrs, vec![7, 11]);
    assert!(unseal(&dev, &token, None, None).unwrap() == secret);
}

#[test]
fn systemd_cryptenroll_tokens_unseal_with_imprint() {
    init();
    let tpm = Swtpm::start();
    let dev = tpm.device();
    let dir = tempfile::tempdir().unwrap();
    tpm.extend(7, b"secure boot: enabled");

    // PCR 7, no PIN.
    let img = luks_image(dir.path(), "plain.img");
    cryptenroll(&tpm, &img, &["--tpm2-pcrs=7"], &[]);
    let tokens = tpm2_tokens(&img);
    assert_eq!(tokens.len(), 1);
    let token = Tpm2Token::from_json(&tokens[0]).unwrap();
    assert_eq!(token.keyslot, 1);
    let secret = unseal(&dev, &token, None, None).unwrap();
    assert!(opens(&img, luks_passphrase(&secret).expose()));
    assert!(!opens(&img, b"not the passphrase"));
    tpm.extend(7, b"firmware update");
    assert!(matches!(unseal(&dev, &token, None, None), Err(TpmError::PolicyMismatch)));

    // With a PIN (systemd 252: authValue = SHA256(PIN), no salt).
    let img = luks_image(dir.path(), "pin.img");
    cryptenroll(&tpm, &img, &["--tpm2-pcrs=7", "--tpm2-with-pin=yes"], &[("NEWPIN", "2468")]);
    let token = Tpm2Token::from_json(&tpm2_tokens(&img)[0]).unwrap();
    assert!(token.pin && token.salt.is_none());
    assert!(matches!(unseal(&dev, &token, None, None), Err(TpmError::PinRequired)));
    assert!(matches!(unseal(&dev, &token, Some(&Secret::from_text("1357")), None), Err(TpmError::BadPin)));
    let secret = unseal(&dev, &token, Some(&Secret::from_text("2468")), None).unwrap();
    assert!(opens(&img, luks_passphrase(&secret).expose()));
}

/// A signing key, the UKI sections systemd-measure signs for, and PCR 11 brought to the value
/// systemd-stub would measure for them in the `enter-initrd` phase.
struct SignedBoot {
    public_pem: PathBuf,
    signature: PathBuf,
}

fn signed_boot(tpm: &Swtpm, dir: &Path) -> SignedBoot {
    let private = dir.join("pcr-private.pem");
    let public_pem = dir.join("pcr-public.pem");
    run_ok(Command::new("openssl").args(["genrsa", "-out"]).arg(&private).arg("2048"));
    run_ok(Command::new("openssl").args(["rsa", "-pubout", "-in"]).arg(&private).arg("-out").arg(&public_pem));
    let sections: [(&str, &[u8]); 3] = [(".linux", b"a kernel"), (".osrel", b"ID=imprint-test\n"), (".cmdline", b"root=PARTLABEL=root")];
    let mut measure = tpm.tool("/lib/systemd/systemd-measure");
    measure.arg("sign").arg(format!("--tpm2-device={}", tpm.tcti())).args(["--bank=sha256", "--phase=enter-initrd"]);
    measure.arg(format!("--private-key={}", private.display())).arg(format!("--public-key={}", public_pem.display()));
    for (name, data) in sections {
        let f = dir.join(&name[1..]);
        std::fs::write(&f, data).unwrap();
        measure.arg(format!("--{}={}", &name[1..], f.display()));
    }
    let out = run_ok(&mut measure);
    let signature = dir.join("tpm2-pcr-signature.json");
    std::fs::write(&signature, &out.stdout).unwrap();
    // systemd-stub: the section name with its NUL, then the contents; then the phase word.
    for (name, data) in sections {
        tpm.extend(11, format!("{name}\0").as_bytes());
        tpm.extend(11, data);
    }
    tpm.extend(11, b"enter-initrd");
    let calc = run_ok(
        Command::new("/lib/systemd/systemd-measure")
            .args(["calculate", "--bank=sha256", "--phase=enter-initrd"])
            .args(sections.iter().map(|(n, _)| format!("--{}={}", &n[1..], dir.join(&n[1..]).display()))),
    );
    let calc = String::from_utf8(calc.stdout).unwrap();
    assert!(calc.contains(&format!("11:sha256={}", tpm.pcr(11))), "PCR 11 {} is not what systemd-measure predicts:\n{calc}", tpm.pcr(11));
    SignedBoot { public_pem, signature }
}

#[test]
fn signed_pcr11_policy_both_ways() {
    init();
    let tpm = Swtpm::start();
    let dev = tpm.device();
    let dir = tempfile::tempdir().unwrap();
    tpm.extend(7, b"secure boot: enabled");
    let boot = signed_boot(&tpm, dir.path());

    // systemd-cryptenroll → imprint.
    let img = luks_image(dir.path(), "signed.img");
    cryptenroll(
        &tpm,
        &img,
        &["--tpm2-pcrs=7", &format!("--tpm2-public-key={}", boot.public_pem.display()), "--tpm2-public-key-pcrs=11"],
        &[],
    );
    let token = Tpm2Token::from_json(&tpm2_tokens(&img)[0]).unwrap();
    assert_eq!(token.pubkey_pcrs, vec![11]);
    assert_eq!(token.pubkey.as_deref(), Some(std::fs::read(&boot.public_pem).unwrap().as_slice()));
    let secret = unseal(&dev, &token, None, Some(&boot.signature)).unwrap();
    assert!(opens(&img, luks_passphrase(&secret).expose()));
    // `tpm status` names the policy in force and the signing key (issue 16 point 4)
    let mut st = imprint::tpm::status(&dev, &[7], PcrBank::Sha256);
    st.check_volume(&dev, "signed.img", std::slice::from_ref(&token), &[]);
    let t = &st.volume.as_ref().expect("a volume").tokens[0];
    assert_eq!(t.policy, "PCR 7 + signed PCR 11");
    assert_eq!(t.signed_pcrs, vec![11]);
    use sha2::Digest;
    let digest: String = sha2::Sha256::digest(std::fs::read(&boot.public_pem).unwrap()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(t.public_key_sha256.as_deref(), Some(digest.as_str()));
    assert_eq!(t.matches, Some(true));

    // imprint → imprint, with the key from a file.
    let req =
        SealRequest { public_key_pem: Some(std::fs::read(&boot.public_pem).unwrap()), public_key_pcrs: vec![11], ..pcr7(PcrBank::Sha256) };
    let (mine, my_token) = seal(&dev, &req).unwrap();
    assert!(unseal(&dev, &my_token, None, Some(&boot.signature)).unwrap() == mine);
    // Same settings, same PCRs: the same policy digest as systemd's.
    assert_eq!(my_token.policy_hash, token.policy_hash);

    // A boot the key did not sign (PCR 11 moved on): no signature matches.
    tpm.extend(11, b"leave-initrd");
    assert!(matches!(unseal(&dev, &token, None, Some(&boot.signature)), Err(TpmError::PolicyMismatch)));
    assert!(matches!(unseal(&dev, &my_token, None, Some(&boot.signature)), Err(TpmError::PolicyMismatch)));
}

#[test]
fn imprint_tokens_unlock_with_systemd_cryptsetup() {
    init();
    let tpm = Swtpm::start_default_port();
    let dev = tpm.device();
    let dir = tempfile::tempdir().unwrap();
    tpm.extend(7, b"secure boot: enabled");

    let img = luks_image(dir.path(), "imprint.img");
    let (secret, token) = seal(&dev, &pcr7(PcrBank::Sha256)).unwrap();
    let token = enroll_with_imprint(&img, &secret, token);
    assert_eq!(token.keyslot, 1);
    assert!(opens(&img, luks_passphrase(&secret).expose()));
    // cryptsetup's systemd-tpm2 plugin accepted and stored it as written.
    assert_eq!(tpm2_tokens(&img), vec![token.to_json()]);

    let options = "tpm2-device=swtpm:host=127.0.0.1,headless=1";
    let out = systemd_cryptsetup(&tpm, &img, options, &[]);
    assert!(out.contains("Completed TPM2 key unsealing"), "systemd-cryptsetup did not unseal:\n{out}");

    // Field by field against systemd-cryptenroll's token for the same settings and PCR state.
    let theirs_img = luks_image(dir.path(), "systemd.img");
    cryptenroll(&tpm, &theirs_img, &["--tpm2-pcrs=7"], &[]);
    let theirs = tpm2_tokens(&theirs_img).remove(0);
    let mine = token.to_json();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&mine), keys(&theirs));
    for k in keys(&mine) {
        let (a, b) = (&mine[&k], &theirs[&k]);
        match k.as_str() {
            "tpm2-blob" => {
                let blob = |v: &serde_json::Value| {
                    Tpm2Token::from_json(&serde_json::json!({
                        "type": "systemd-tpm2", "keyslots": ["0"], "tpm2-pcrs": [], "tpm2-policy-hash": "", "tpm2-blob": v
                    }))
                    .unwrap()
                    .blob
                };
                let (ma, mb) = (blob(a), blob(b));
                // TPM2B_PRIVATE sizes match; TPM2B_PUBLIC equal but for the unique field (last 32 bytes).
                assert_eq!(ma.len(), mb.len());
                let pa = &ma[2 + usize::from(u16::from_be_bytes([ma[0], ma[1]]))..];
                let pb = &mb[2 + usize::from(u16::from_be_bytes([mb[0], mb[1]]))..];
                assert_eq!(pa[..pa.len() - 32], pb[..pb.len() - 32], "sealed object public areas differ");
            }
            _ => assert_eq!(a, b, "field {k}"),
        }
    }

    // After a PCR 7 change systemd must refuse.
    tpm.extend(7, b"secure boot: disabled");
    let out = systemd_cryptsetup(&tpm, &img, options, &[]);
    assert!(!out.contains("Completed TPM2 key unsealing"), "unsealed despite a PCR change:\n{out}");
    assert!(out.contains("Current policy digest does not match stored policy digest"), "{out}");
}

#[test]
fn imprint_pin_and_signed_tokens_unlock_with_systemd_cryptsetup() {
    init();
    let tpm = Swtpm::start_default_port();
    let dev = tpm.device();
    let dir = tempfile::tempdir().unwrap();
    tpm.extend(7, b"secure boot: enabled");
    let options = "tpm2-device=swtpm:host=127.0.0.1,headless=1";

    let pin = Secret::from_text("8642");
    let img = luks_image(dir.path(), "pin.img");
    let (secret, token) = seal(&dev, &SealRequest { pin: Some(pin.duplicate()), ..pcr7(PcrBank::Sha256) }).unwrap();
    enroll_with_imprint(&img, &secret, token);
    let out = systemd_cryptsetup(&tpm, &img, options, &[("PIN", "8642")]);
    assert!(out.contains("Completed TPM2 key unsealing"), "systemd-cryptsetup did not unseal with the PIN:\n{out}");
    let out = systemd_cryptsetup(&tpm, &img, options, &[("PIN", "1111")]);
    assert!(!out.contains("Completed TPM2 key unsealing"), "unsealed with a wrong PIN:\n{out}");

    let boot = signed_boot(&tpm, dir.path());
    let img = luks_image(dir.path(), "signed.img");
    let req =
        SealRequest { public_key_pem: Some(std::fs::read(&boot.public_pem).unwrap()), public_key_pcrs: vec![11], ..pcr7(PcrBank::Sha256) };
    let (secret, token) = seal(&dev, &req).unwrap();
    enroll_with_imprint(&img, &secret, token);
    let with_sig = format!("{options},tpm2-signature={}", boot.signature.display());
    let out = systemd_cryptsetup(&tpm, &img, &with_sig, &[]);
    assert!(out.contains("Completed TPM2 key unsealing"), "systemd-cryptsetup did not unseal the signed policy:\n{out}");
}

#[test]
fn upstream_style_tokens_with_srk_and_salted_pin_unseal() {
    init();
    let tpm = Swtpm::start();
    let dev = tpm.device();
    tpm.extend(7, b"secure boot: enabled");
    let pin = Secret::from_text("13579");
    let req = SealRequest { pin: Some(pin.duplicate()), ..pcr7(PcrBank::Sha256) };
    let (secret, token) = seal_in_format(&dev, &req, SealFormat::UpstreamSrk).unwrap();
    let j = token.to_json();
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "type",
            "keyslots",
            "tpm2-blob",
            "tpm2-pcrs",
            "tpm2-pcr-bank",
            "tpm2-primary-alg",
            "tpm2-policy-hash",
            "tpm2-pin",
            "tpm2_salt",
            "tpm2_srk"
        ]
    );
    let token = Tpm2Token::from_json(&j).unwrap();
    assert_eq!(token.salt.as_ref().map(Vec::len), Some(32));
    assert_eq!(token.srk.as_ref().unwrap()[..4], 0x8100_0001u32.to_be_bytes());
    assert!(unseal(&dev, &token, Some(&pin), None).unwrap() == secret);
    assert!(matches!(unseal(&dev, &token, Some(&Secret::from_text("13578")), None), Err(TpmError::BadPin)));
    // A second seal finds the SRK already persisted.
    let (secret2, token2) = seal_in_format(&dev, &pcr7(PcrBank::Sha256), SealFormat::UpstreamSrk).unwrap();
    assert_eq!(token2.srk, token.srk);
    assert!(unseal(&dev, &token2, None, None).unwrap() == secret2);
}

#[test]
fn status_reports_unset_pcrs_absent_tpm_and_lockout() {
    init();
    let tpm = Swtpm::start();
    let dev = tpm.device();

    // A fresh swtpm: PCR 7 is all zeros, exactly like firmware that measures nothing.
    let st = status(&dev, &[7], PcrBank::Sha256);
    assert!(st.present);
    assert!(st.banks.contains(&PcrBank::Sha256) && st.banks.contains(&PcrBank::Sha1));
    assert_eq!(st.problems.iter().map(|p| p.kind).collect::<Vec<_>>(), vec![ProblemKind::PcrsUnset], "{st:#?}");
    assert!(st.problems[0].message.contains("PCR 7"));
    assert!(st.problems[0].advice.contains("passphrase"));

    tpm.extend(7, b"secure boot: enabled");
    let st = status(&dev, &[7], PcrBank::Sha256);
    assert!(st.ready(), "{st:#?}");
    assert_eq!(st.lockout_counter, Some(0));
    // One measured PCR is enough for the policy to mean something (systemd's rule).
    assert!(status(&dev, &[7, 14], PcrBank::Sha256).ready());

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let st = status(&Device::Tcti(format!("swtpm:host=127.0.0.1,port={closed}")), &[7], PcrBank::Sha256);
    assert!(!st.present);
    assert_eq!(st.problems.len(), 1);
    assert_eq!(st.problems[0].kind, ProblemKind::Absent);
    assert!(st.problems[0].advice.contains("firmware setup") && st.problems[0].advice.contains("passphrase"));
    let err = seal(&Device::Tcti(format!("swtpm:host=127.0.0.1,port={closed}")), &SealRequest::default()).unwrap_err();
    assert!(matches!(err, TpmError::Absent { .. }), "{err}");
    if !Path::new("/dev/tpmrm0").exists() {
        assert_eq!(status(&Device::Auto, &[7], PcrBank::Sha256).problems[0].kind, ProblemKind::Absent);
        assert!(matches!(seal(&Device::Auto, &SealRequest::default()), Err(TpmError::Absent { .. })));
    }

    // Dictionary-attack lockout: two wrong PINs with a limit of two.
    run_ok(tpm.tool("tpm2_dictionarylockout").args([
        "--setup-parameters",
        "--max-tries=2",
        "--recovery-time=600",
        "--lockout-recovery-time=600",
    ]));
    let pin = Secret::from_text("1234");
    let (_, token) = seal(&dev, &SealRequest { pin: Some(pin.duplicate()), ..SealRequest::default() }).unwrap();
    for _ in 0..2 {
        assert!(matches!(unseal(&dev, &token, Some(&Secret::from_text("9999")), None), Err(TpmError::BadPin)));
    }
    let st = status(&dev, &[7], PcrBank::Sha256);
    assert_eq!(st.problems.iter().map(|p| p.kind).collect::<Vec<_>>(), vec![ProblemKind::Lockout], "{st:#?}");
    assert!(st.problems[0].advice.contains("10 min"), "{}", st.problems[0].advice);
    let err = unseal(&dev, &token, Some(&pin), None).unwrap_err();
    assert!(matches!(err, TpmError::Lockout), "{err}");
}
