//! Encrypted installs end to end: LUKS2 made by imprint on an image file, bound to a real swtpm,
//! unlocked by systemd 252's own systemd-cryptsetup, the data decrypted in the test equal to the
//! source, and no secret in any output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::swtpm::Swtpm;
use common::{part_range, pe, sfdisk_json, sh, sha256_range, sparse_file, write_defs};

const SEED: &str = "0d5e7c4a-2b1f-4e3d-9c8b-7a6f5e4d3c2b";

fn run(cmd: &mut Command) -> Output {
    cmd.env("TSS2_LOG", "all+none").stdin(Stdio::null()).output().unwrap()
}

fn ok(out: &Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    text
}

fn defs(dir: &Path, usr_encrypt: &str) -> PathBuf {
    write_defs(
        &dir.join("defs"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nCopyBlocks=auto\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            (
                "20-usr.conf",
                &format!("[Partition]\nType=usr\nCopyBlocks=auto\nSizeMinBytes=256M\nSizeMaxBytes=256M\nEncrypt={usr_encrypt}\n"),
            ),
            ("30-root.conf", "[Partition]\nType=root\nFormat=ext4\nSizeMinBytes=128M\n"),
        ],
    )
}

fn install(defs: &Path, src: &Path, target: &Path, extra: &[&str]) -> Command {
    let mut c = common::imprint();
    c.args(["install", "--yes", "--progress=json", "--luks-pbkdf=test", "--seed", SEED, "--target-size", "1G"])
        .arg("--definitions")
        .arg(defs)
        .arg("--source")
        .arg(src)
        .arg("--target")
        .arg(target)
        .args(extra);
    c
}

/// The secret's text appears nowhere in the file (grep reads every byte).
fn assert_not_in_file(file: &Path, secret: &str) {
    let st = Command::new("grep").args(["-q", "-a", "-F", "--", secret]).arg(file).status().unwrap();
    assert_eq!(st.code(), Some(1), "a secret was written in the clear into {}", file.display());
}

/// Partition `n` of `img` copied into its own file.
fn extract(img: &Path, n: usize, out: &Path) -> PathBuf {
    let (o, s) = part_range(&sfdisk_json(img), n);
    sh(&format!("dd if={} of={} bs=1M iflag=skip_bytes,count_bytes skip={o} count={s} status=none", img.display(), out.display()));
    out.to_path_buf()
}

#[test]
fn tpm2_install_unlocks_with_systemd_cryptsetup_and_decrypts_to_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = imprint::demo::build_source_image(dir.path()).unwrap();
    let defs = defs(dir.path(), "tpm2");
    let target = dir.path().join("target.img");
    let key_file = dir.path().join("recovery.key");
    // systemd-cryptsetup can only name the default port, so this TPM lives there
    let tpm = Swtpm::start_default_port();
    tpm.extend(7, b"secure boot state");
    // a test double of efivarfs that says Secure Boot is off
    let efivars = secure_boot_vars(dir.path(), false);
    let out = run(install(&defs, &src, &target, &["--tpm2-device", &tpm.tcti(), "--recovery-key-file"])
        .arg(&key_file)
        .arg("--verify=readback")
        .arg("--efivars")
        .arg(&efivars));
    let text = ok(&out);
    // PCR 7 alone with Secure Boot off is said, and the install goes on (issue 14 point 7)
    assert!(String::from_utf8_lossy(&out.stdout).contains("Secure Boot is off: PCR 7 then records only that"), "{text}");

    // the proof was made and reported
    let proofs: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["method"] == "unlock")
        .map(|e| e["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(proofs.len(), 2, "{text}");
    assert!(proofs[0].starts_with("partition 2 (usr-x86-64): the TPM2 token was unsealed and its key opens keyslot"), "{proofs:?}");
    assert!(proofs[1].starts_with("partition 2 (usr-x86-64): the recovery key opens keyslot"), "{proofs:?}");

    // the recovery key: systemd's format, mode 0600, and nowhere in the output
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    assert_eq!(key.len(), 71);
    assert!(key.split('-').all(|g| g.len() == 8 && g.chars().all(|c| "cbdefghijklnrtuv".contains(c))), "{key}");
    assert!(!text.contains(&key));
    for g in key.split('-') {
        assert!(!text.contains(g), "a group of the recovery key is in the output");
    }
    assert_not_in_file(&target, &key);

    // LUKS2 as systemd makes it, with both tokens
    let part = extract(&target, 2, &dir.path().join("usr.luks"));
    let dump: serde_json::Value =
        serde_json::from_str(&ok(&run(Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(&part)))).unwrap();
    assert_eq!(dump["segments"]["0"]["encryption"], "aes-xts-plain64");
    let types: Vec<&str> = dump["tokens"].as_object().unwrap().values().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["systemd-tpm2", "imprint-tpm2-pcr-values", "systemd-recovery"]);
    let label = ok(&run(Command::new("cryptsetup").arg("luksDump").arg(&part)));
    assert!(label.contains("luks-usr-x86-64"), "{label}");

    // stock systemd 252 unseals imprint's token from this TPM
    let attach = |name: &str| {
        let out = run(Command::new("/lib/systemd/systemd-cryptsetup")
            .env("SYSTEMD_LOG_LEVEL", "debug")
            .args(["attach", name])
            .arg(&part)
            .args(["-", "tpm2-device=swtpm:host=127.0.0.1,headless=1"]));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let log = attach("imprint-e2e");
    assert!(log.contains("Completed TPM2 key unsealing"), "{log}");

    // the data segment, decrypted with the volume key cryptsetup reads out with the recovery key,
    // is the source's /usr byte for byte
    let vk_out = common::run_with_stdin(
        Command::new("cryptsetup").args(["luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-"]).arg(&part),
        key.as_bytes(),
    );
    let vk_text = String::from_utf8_lossy(&vk_out.stdout).into_owned();
    assert!(vk_out.status.success(), "{vk_text}{}", String::from_utf8_lossy(&vk_out.stderr));
    let hex: String = vk_text.split("MK dump:").nth(1).unwrap().split_whitespace().take_while(|w| w.len() == 2).collect();
    let vk: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    assert_eq!(vk.len(), 64);
    let (so, ss) = part_range(&sfdisk_json(&src), 2);
    let xts = imprint::luks::Xts::new(&imprint::secret::Secret::new(vk), 4096);
    let data_offset = dump["segments"]["0"]["offset"].as_str().unwrap().parse::<u64>().unwrap();
    let mut segment = std::fs::read(&part).unwrap()[data_offset as usize..data_offset as usize + ss as usize].to_vec();
    xts.decrypt(&mut segment, 0);
    let mut plain = vec![0u8; ss as usize];
    use std::os::unix::fs::FileExt;
    std::fs::File::open(&src).unwrap().read_exact_at(&mut plain, so).unwrap();
    assert!(segment == plain, "the decrypted partition differs from the source");

    // once PCR 7 changes, the TPM refuses (imprint's unseal, then systemd's: the swtpm has no
    // resource manager, and a failed systemd-cryptsetup leaves its sessions behind), and the
    // recovery key still opens its slot
    tpm.extend(7, b"a firmware update");
    let token = imprint::tpm::Tpm2Token::from_json(&dump["tokens"]["0"]).unwrap();
    let err = imprint::tpm::unseal(&tpm.device(), &token, None, None).unwrap_err();
    assert!(matches!(err, imprint::tpm::TpmError::PolicyMismatch), "{err}");
    let log = attach("imprint-e2e-2");
    assert!(!log.contains("Completed TPM2 key unsealing"), "{log}");
    ok(&common::run_with_stdin(Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file=-"]).arg(&part), key.as_bytes()));
}

#[test]
fn passphrase_install_and_no_secret_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let src = imprint::demo::build_source_image(dir.path()).unwrap();
    let defs = defs(dir.path(), "off");
    let pass_file = dir.path().join("pass");
    let passphrase = "correct horse battery staple 4711";
    std::fs::write(&pass_file, format!("{passphrase}\n")).unwrap();
    let target = dir.path().join("target.img");
    let out = run(install(&defs, &src, &target, &["--encrypt=passphrase", "--passphrase-file"]).arg(&pass_file));
    let text = ok(&out);
    assert!(!text.contains("battery"), "the passphrase is in the output");
    assert_not_in_file(&target, passphrase);
    assert!(text.contains("the passphrase opens keyslot"), "{text}");
    // --encrypt with no Encrypt= in the definitions encrypts the state partition (root) only
    let root = extract(&target, 3, &dir.path().join("root.luks"));
    ok(&common::run_with_stdin(
        Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file=-"]).arg(&root),
        passphrase.as_bytes(),
    ));
    let usr = extract(&target, 2, &dir.path().join("usr.plain"));
    assert!(!run(Command::new("cryptsetup").arg("isLuks").arg(&usr)).status.success());
    let dump = ok(&run(Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(&root)));
    assert!(!dump.contains("systemd-recovery"), "a passphrase-only install gets no recovery key by default");
}

#[test]
fn a_tpm_that_measured_nothing_is_refused_with_advice_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = imprint::demo::build_source_image(dir.path()).unwrap();
    let defs = defs(dir.path(), "tpm2");
    let target = dir.path().join("target.img");
    sparse_file(&target, 1 << 30);
    let before = sha256_range(&target, 0, 1 << 30);
    let tpm = Swtpm::start(); // PCR 7 still all zero: the firmware measured nothing
    let out = run(install(&defs, &src, &target, &["--tpm2-device", &tpm.tcti(), "--recovery-key-file"]).arg(dir.path().join("k")));
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(text.contains("--encrypt=passphrase"), "{text}");
    assert_eq!(sha256_range(&target, 0, 1 << 30), before);
    assert!(!dir.path().join("k").exists());

    // a recovery key file that cannot be written stops the install before anything is written
    tpm.extend(7, b"measured");
    let out =
        run(install(&defs, &src, &target, &["--tpm2-device", &tpm.tcti(), "--recovery-key-file"]).arg(dir.path().join("no/such/dir/k")));
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(text.contains("the recovery key cannot be written") && text.contains("nothing was installed"), "{text}");
    assert_eq!(sha256_range(&target, 0, 1 << 30), before);

    // a recovery key file that exists is never reused (its mode and readers are someone else's),
    // and a link is never followed: both refused, the file and the link's target untouched
    use std::os::unix::fs::PermissionsExt;
    let existing = dir.path().join("existing");
    std::fs::write(&existing, "theirs").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o644)).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
    for path in [&existing, &link] {
        let out = run(install(&defs, &src, &target, &["--tpm2-device", &tpm.tcti(), "--recovery-key-file"]).arg(path));
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success());
        assert!(text.contains("exists (or is a link)") && text.contains("nothing was installed"), "{text}");
        assert_eq!(sha256_range(&target, 0, 1 << 30), before);
    }
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "theirs");
    assert_eq!(std::fs::metadata(&existing).unwrap().permissions().mode() & 0o777, 0o644);
    assert!(!dir.path().join("elsewhere").exists(), "the link was followed");

    // and with no terminal and no --recovery-key-file there is nowhere to show the key
    let out = run(&mut install(&defs, &src, &target, &["--tpm2-device", &tpm.tcti()]));
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success());
    assert!(text.contains("--recovery-key-file"), "{text}");
    assert_eq!(sha256_range(&target, 0, 1 << 30), before);
}

/// A folder standing in for efivarfs (a test double: EFI variables cannot be set here) holding
/// `SecureBoot` as the firmware writes it: 4 bytes of attributes, then 1 (on) or 0 (off).
fn secure_boot_vars(dir: &Path, on: bool) -> PathBuf {
    let d = dir.join(if on { "efivars-sb-on" } else { "efivars-sb-off" });
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("SecureBoot-8be4df61-93ca-11d0-aa0d-00e098032b8c"), [6, 0, 0, 0, u8::from(on)]).unwrap();
    d
}

#[test]
fn tpm_status_reports_problems_with_advice_and_readiness() {
    let tpm = Swtpm::start();
    let status = |pcrs: &str| {
        let out = run(common::imprint().args(["tpm", "status", "--json", "--tpm2-device", &tpm.tcti(), "--tpm2-pcrs", pcrs]));
        (out.status.success(), serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap())
    };
    let (ready, s) = status("7");
    assert!(!ready);
    assert_eq!(s["present"], true);
    let p = &s["problems"][0];
    assert!(p["message"].as_str().unwrap().contains("no measurement"), "{s:#}");
    assert!(p["advice"].as_str().unwrap().contains("passphrase"), "{s:#}");
    tpm.extend(7, b"secure boot state");
    let (ready, s) = status("7");
    assert!(ready, "{s:#}");
    assert!(s["problems"].as_array().unwrap().is_empty());

    // PCR 7 alone is warned about unless Secure Boot is on; no PCRs only when asked for by name
    let dir = tempfile::tempdir().unwrap();
    let warned = |pcrs: &str, efivars: &Path| {
        let out = run(common::imprint()
            .args(["tpm", "status", "--json", "--tpm2-device", &tpm.tcti(), "--tpm2-pcrs", pcrs, "--efivars"])
            .arg(efivars));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        s["warnings"].as_array().unwrap().iter().map(|w| w["message"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    let (off, on) = (secure_boot_vars(dir.path(), false), secure_boot_vars(dir.path(), true));
    assert!(warned("7", &off)[0].starts_with("Secure Boot is off: PCR 7 then records only that"));
    assert!(warned("7", &dir.path().join("no-efivars"))[0].contains("Secure Boot is not known to be on"));
    assert_eq!(warned("7", &on), Vec::<String>::new());
    assert!(warned("none", &on)[0].starts_with("The key is sealed to no PCRs"));
    let out = run(common::imprint().args(["tpm", "status", "--tpm2-device", &tpm.tcti(), "--tpm2-pcrs", ""]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("write 'none' if that is what you want"));
    let out = run(common::imprint().args(["tpm", "status", "--tpm2-device", &tpm.tcti(), "--efivars"]).arg(&off));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Warning: Secure Boot is off"));
    let out = run(common::imprint().args(["tpm", "status", "--tpm2-device", "swtpm:host=127.0.0.1,port=1"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("What to do:"));
}

/// The source ESP's unified kernel image carries the key that signs PCR 11 policies: the plan
/// binds to it (PolicyAuthorize over PCR 11) without being told, and --no-uki-key turns it off.
/// The demo source image with a UKI on its ESP that carries a `.pcrpkey`; returns the image and
/// the key's PEM.
fn source_with_uki_key(dir: &Path) -> (PathBuf, String) {
    let src = imprint::demo::build_source_image(dir).unwrap();
    let pem = sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null | openssl pkey -pubout");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    let uki = dir.join("os.efi");
    std::fs::write(&uki, pe(&[(".linux", b"kernel"), (".pcrpkey", pem.as_bytes())])).unwrap();
    let (o, _) = part_range(&sfdisk_json(&src), 1);
    let img = format!("{}@@{o}", src.display());
    sh(&format!("mmd -i {img} ::/EFI ::/EFI/Linux && mcopy -i {img} {} ::/EFI/Linux/os_1.0.efi", uki.display()));
    (src, pem)
}

/// Issue 16 point 4: the installer's pages are offered "PCR 7 + signed PCR 11" when the image
/// carries a key (the facts name it by digest), and the choice on the page is what the engine's
/// request asks for; an image without a key offers nothing.
#[test]
fn the_installer_pages_offer_the_images_signed_policy_and_the_request_follows_the_choice() {
    use imprint::app::installer::{InstallerBackend, InstallerOptions};
    use imprint_screens::installer::{EncryptionChoice, InstallRequest};
    let dir = tempfile::tempdir().unwrap();
    let (src, pem) = source_with_uki_key(dir.path());
    let target = dir.path().join("target.img");
    let definitions = defs(dir.path(), "off");
    let backend = |source: &Path| {
        InstallerBackend::new(InstallerOptions {
            source: source.display().to_string(),
            profile: None,
            definitions: vec![definitions.clone()],
            demo_target: Some((target.clone(), 1 << 30)),
            tpm2_device: "auto".into(),
            pbkdf: imprint::luks::Pbkdf::Test,
            seed: None,
            note: None,
            answers_out: None,
        })
    };
    let b = backend(&src);
    let offered = b.facts().signed_policy.expect("the image's key offered");
    let digest = sh(&format!("printf '%s' '{pem}' | sha256sum | cut -d' ' -f1"));
    assert!(offered.contains(digest.trim()) && offered.contains("EFI/Linux/os_1.0.efi"), "{offered}");
    let answers = |signed_policy| InstallRequest {
        lang: imprint_screens::Lang::En,
        keymap: "us".into(),
        disk: target.display().to_string(),
        encryption: EncryptionChoice::Tpm,
        signed_policy,
    };
    let disk = target.display().to_string();
    assert!(b.request(&disk, Some(&answers(true))).encryption.use_uki_key);
    assert!(!b.request(&disk, Some(&answers(false))).encryption.use_uki_key);
    // the same image without the UKI: nothing offered
    std::fs::create_dir(dir.path().join("plain")).unwrap();
    let plain = imprint::demo::build_source_image(&dir.path().join("plain")).unwrap();
    assert_eq!(backend(&plain).facts().signed_policy, None);
}

#[test]
fn the_source_uki_pcr_signing_key_is_found_on_the_esp() {
    let dir = tempfile::tempdir().unwrap();
    let (src, pem) = source_with_uki_key(dir.path());
    let defs = defs(dir.path(), "tpm2");
    let target = dir.path().join("target.img");
    let plan = |extra: &[&str]| {
        let out = run(install(&defs, &src, &target, &["--dry-run", "--json"]).args(extra));
        ok(&out);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let p = plan(&[]);
    // read into memory (no file of it anywhere), named with its digest
    assert!(p["encryption"]["public_key"].is_null(), "{p}");
    let from = p["encryption"]["public_key_from"].as_str().expect("a public key");
    let digest = sh(&format!("printf '%s' '{pem}' | sha256sum | cut -d' ' -f1"));
    assert_eq!(from, format!("the source ESP's EFI/Linux/os_1.0.efi (.pcrpkey, sha256 {})", digest.trim()));
    assert_eq!(p["encryption"]["public_key_pcrs"], serde_json::json!([11]));
    assert_eq!(p["encryption"]["tpm2_pcrs"], serde_json::json!([7]));
    let p = plan(&["--no-uki-key"]);
    assert!(p["encryption"]["public_key"].is_null() && p["encryption"].get("public_key_from").is_none(), "{p}");
}

#[test]
fn tpm2_with_pin_seals_to_the_pin_and_proves_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = imprint::demo::build_source_image(dir.path()).unwrap();
    let defs = defs(dir.path(), "off");
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, "246813\n").unwrap();
    let target = dir.path().join("target.img");
    let tpm = Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let out = run(install(&defs, &src, &target, &["--encrypt=tpm2+pin", "--tpm2-device", &tpm.tcti(), "--pin-file"])
        .arg(&pin_file)
        .arg("--recovery-key-file")
        .arg(dir.path().join("rk")));
    let text = ok(&out);
    assert!(text.contains("the TPM2 token was unsealed with the PIN and its key opens keyslot"), "{text}");
    assert!(!text.contains("246813"));
    assert_not_in_file(&target, "246813");
    let root = extract(&target, 3, &dir.path().join("root.luks"));
    let dump: serde_json::Value =
        serde_json::from_str(&ok(&run(Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(&root)))).unwrap();
    let token = &dump["tokens"]["0"];
    assert_eq!(token["type"], "systemd-tpm2");
    assert_eq!(token["tpm2-pin"], true);
    let token = imprint::tpm::Tpm2Token::from_json(token).unwrap();
    let wrong = imprint::secret::Secret::from_text("111111");
    assert!(matches!(imprint::tpm::unseal(&tpm.device(), &token, Some(&wrong), None), Err(imprint::tpm::TpmError::BadPin)));
}

/// With no --recovery-key-file, the recovery key is shown on the terminal, as text and as a QR
/// code, and only there.
#[test]
fn the_recovery_key_is_shown_on_the_terminal_as_text_and_qr() {
    let dir = tempfile::tempdir().unwrap();
    let src = imprint::demo::build_source_image(dir.path()).unwrap();
    let defs = defs(dir.path(), "tpm2");
    let target = dir.path().join("target.img");
    let tpm = Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let cmd = format!(
        "{} install --yes --progress=json --luks-pbkdf=test --target-size 1G --definitions {} --source {} --target {} --tpm2-device {}",
        env!("CARGO_BIN_EXE_imprint"),
        defs.display(),
        src.display(),
        target.display(),
        tpm.tcti()
    );
    let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).env("TSS2_LOG", "all+none").env("TERM", "xterm").output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{screen}");
    let key = screen
        .split(|c: char| c.is_whitespace())
        .find(|w| w.len() == 71 && w.split('-').count() == 8)
        .unwrap_or_else(|| panic!("no recovery key on the terminal:\n{screen}"))
        .to_string();
    assert!(screen.contains("Recovery key"), "{screen}");
    assert!(screen.contains('▀') || screen.contains('▄') || screen.contains('█'), "no QR code drawn:\n{screen}");
    let usr = extract(&target, 2, &dir.path().join("usr.luks"));
    ok(&common::run_with_stdin(Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file=-"]).arg(&usr), key.as_bytes()));
    assert_not_in_file(&target, &key);
}

/// imprint holds keys: its process makes no core file and another process of the same user
/// cannot read its memory. Run as nobody, blocked opening a FIFO given as its answers file, its
/// /proc entries belong to root (the kernel's sign of a non-dumpable process) and its core limit
/// is 0.
#[test]
fn the_process_is_not_dumpable() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let fifo = dir.path().join("answers.conf");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path we own.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0);
    std::fs::set_permissions(&fifo, std::fs::Permissions::from_mode(0o666)).unwrap();
    let mut child = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_imprint"))
        .args(["install", "--yes", "--answers"])
        .arg(&fifo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("setpriv (util-linux)");
    let proc = PathBuf::from(format!("/proc/{}", child.id()));
    // wait until setpriv has become imprint (blocked in open() on the FIFO)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_link(proc.join("exe")).map(|e| !e.ends_with("imprint")).unwrap_or(true) {
        assert!(std::time::Instant::now() < deadline, "imprint did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = std::fs::read_to_string(proc.join("status")).unwrap();
    let owner = std::fs::metadata(proc.join("environ")).unwrap().uid();
    let limits = std::fs::read_to_string(proc.join("limits")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(status.lines().any(|l| l.starts_with("Uid:") && l.contains("65534")), "{status}");
    assert_eq!(owner, 0, "/proc/PID/environ of imprint run as nobody belongs to uid {owner}: the process is dumpable");
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    assert!(core.split_whitespace().nth(4) == Some("0") && core.split_whitespace().nth(5) == Some("0"), "{core}");
}
