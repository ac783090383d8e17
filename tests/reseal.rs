//! `imprint tpm reseal` (issue 16, point 1) against a real swtpm, libcryptsetup's volumes, and
//! systemd 252's own systemd-cryptsetup: after PCR 7 changed (a Secure Boot update), the recovery
//! key reseals the token to the new value, stock systemd unseals it again, only one TPM2 token
//! is left, and the recovery keyslot is untouched. Without a key proof, nothing changes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::swtpm::Swtpm;
use common::{Loop, part_range, run_with_stdin, sfdisk_json, sha256_range, write_defs};

const SEED: &str = "3b7e1c52-8d4a-4f6e-a1b2-5c9d0e7f3a61";

fn run(cmd: &mut Command) -> Output {
    cmd.env("TSS2_LOG", "all+none").stdin(Stdio::null()).output().unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn ok(out: &Output) -> String {
    let t = text(out);
    assert!(out.status.success(), "{t}");
    t
}

/// One encrypted partition (`Format=ext4`), bound to the TPM as `encrypt` says.
fn install(dir: &Path, tpm: &Swtpm, encrypt: &str, extra: &[&str]) -> PathBuf {
    let defs =
        write_defs(&dir.join("defs"), &[("10-root.conf", "[Partition]\nType=root\nFormat=ext4\nSizeMinBytes=64M\nSizeMaxBytes=64M\n")]);
    let target = dir.join("target.img");
    ok(&run(common::imprint()
        .args(["install", "--yes", "--luks-pbkdf=test", "--seed", SEED, "--target-size", "80M", "--tpm2-pcrs", "7"])
        .arg(format!("--encrypt={encrypt}"))
        .args(["--tpm2-device", &tpm.tcti()])
        .arg("--definitions")
        .arg(&defs)
        .arg("--target")
        .arg(&target)
        .args(extra)));
    target
}

/// The LUKS2 metadata of partition 1.
fn metadata(dir: &Path, target: &Path) -> serde_json::Value {
    let part = extract(dir, target);
    let out = ok(&run(Command::new("cryptsetup").args(["luksDump", "--dump-json-metadata"]).arg(&part)));
    serde_json::from_str(out.trim()).unwrap()
}

/// Partition 1 as a sparse file of its own.
fn extract(dir: &Path, target: &Path) -> PathBuf {
    let (o, s) = part_range(&sfdisk_json(target), 1);
    let part = dir.join("part.luks");
    let _ = std::fs::remove_file(&part);
    common::sh(&format!(
        "dd if={} of={} bs=1M iflag=skip_bytes,count_bytes skip={o} count={s} conv=sparse status=none",
        target.display(),
        part.display()
    ));
    part
}

/// (token type, keyslot) of every token.
fn tokens(meta: &serde_json::Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = meta["tokens"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| (t["type"].as_str().unwrap().to_string(), t["keyslots"][0].as_str().unwrap_or("-").to_string()))
        .collect();
    v.sort();
    v
}

fn keyslots(meta: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = meta["keyslots"].as_object().unwrap().keys().cloned().collect();
    v.sort();
    v
}

/// systemd 252's systemd-cryptsetup unseals the volume's token from the swtpm on 2321 (it then
/// fails to activate for lack of device-mapper, after the line we look for).
fn systemd_unseals(part: &Path, name: &str) -> bool {
    let out = run(Command::new("/lib/systemd/systemd-cryptsetup")
        .env("SYSTEMD_LOG_LEVEL", "debug")
        .args(["attach", name])
        .arg(part)
        .args(["-", "tpm2-device=swtpm:host=127.0.0.1,headless=1"]));
    if std::env::var_os("IMPRINT_TEST_DEBUG").is_some() {
        eprintln!("{}", text(&out));
    }
    text(&out).contains("Completed TPM2 key unsealing")
}

#[test]
fn a_secure_boot_change_is_repaired_with_the_recovery_key() {
    let dir = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start_default_port();
    tpm.extend(7, b"secure boot state, db of 2011");
    let key_file = dir.path().join("recovery.key");
    let target = install(dir.path(), &tpm, "tpm2", &["--recovery-key-file", key_file.to_str().unwrap()]);
    let before = metadata(dir.path(), &target);
    let before_tokens = tokens(&before);
    // beside the TPM2 key, the PCR values it was sealed to (imprint's record)
    assert_eq!(
        before_tokens.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["imprint-tpm2-pcr-values", "systemd-recovery", "systemd-tpm2"]
    );
    let recovery_slot = before_tokens[1].1.clone();
    let old_tpm_slot = before_tokens[2].1.clone();

    let status = |sb: bool| -> serde_json::Value {
        let efivars = dir.path().join(if sb { "efivars-on" } else { "efivars-off" });
        std::fs::create_dir_all(&efivars).unwrap();
        std::fs::write(efivars.join("SecureBoot-8be4df61-93ca-11d0-aa0d-00e098032b8c"), [6, 0, 0, 0, u8::from(sb)]).unwrap();
        let out = run(common::imprint()
            .args(["tpm", "status", "--json", "--tpm2-device", &tpm.tcti(), "--image"])
            .arg(&target)
            .arg("--efivars")
            .arg(&efivars));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
    };
    let st = status(true);
    assert_eq!(st["volume"]["tokens"][0]["matches"], true, "{st}");
    assert_eq!(st["volume"]["tokens"][0]["policy"], "PCR 7", "{st}");
    assert!(st["volume"]["tokens"][0]["public_key_sha256"].is_null(), "{st}");
    assert!(st["volume"]["problem"].is_null(), "{st}");

    // a Secure Boot update: PCR 7 moves, the TPM refuses
    tpm.extend(7, b"db of 2023");
    // and `tpm status` says so, with the likely cause and what to do (issue 16 point 2)
    let st = status(true);
    assert_eq!(st["volume"]["tokens"][0]["matches"], false, "{st}");
    assert_eq!(st["volume"]["tokens"][0]["pcrs"], serde_json::json!([7]), "{st}");
    let problem = st["volume"]["problem"]["message"].as_str().unwrap_or_default().to_string();
    assert!(problem.contains("no longer matches") && problem.contains("PCR 7"), "{st}");
    // which PCRs changed since sealing: from imprint's record
    assert!(problem.contains("PCR 7 changed since the key was sealed"), "{st}");
    assert_eq!(st["volume"]["tokens"][0]["changed_pcrs"], serde_json::json!([7]), "{st}");
    assert!(problem.contains("keys (db, KEK)"), "{st}");
    assert!(st["volume"]["problem"]["advice"].as_str().unwrap().contains("imprint tpm reseal"), "{st}");
    let st = status(false);
    assert!(st["volume"]["problem"]["message"].as_str().unwrap().contains("Secure Boot is off now"), "{st}");
    assert!(st["volume"]["problem"]["advice"].as_str().unwrap().contains("binds the disk to Secure Boot being off"), "{st}");
    // at boot, `tpm check --notify` puts the notice up for the console's login prompts, and the
    // offer at login (not at a terminal here) says what changed
    let run_dir = dir.path().join("run");
    let check = |what: &str| {
        let mut c = common::imprint();
        c.args(["tpm", "check", what, "--tpm2-device", &tpm.tcti(), "--image"])
            .arg(&target)
            .arg("--run-dir")
            .arg(&run_dir)
            .arg("--efivars")
            .arg(dir.path().join("efivars-on"));
        ok(&run(&mut c))
    };
    let said = check("--notify");
    let issue = std::fs::read_to_string(run_dir.join("imprint/tpm-notice.issue")).expect("the notice for the login prompt");
    assert!(issue.starts_with("imprint: the TPM no longer unlocks partition 1 of"), "{issue}");
    assert!(issue.contains("PCR 7") && issue.contains("keys (db, KEK)") && issue.contains("imprint tpm reseal"), "{issue}");
    assert_eq!(said.trim(), issue.trim(), "the unit's console output is the notice");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(run_dir.join("imprint/tpm-key-stale.json")).unwrap()).unwrap();
    assert_eq!(state["tokens"][0]["matches"], false, "{state}");
    let offer = check("--offer");
    assert!(offer.contains("no longer matches") && offer.contains("imprint tpm reseal"), "{offer}");

    let (o, _) = part_range(&sfdisk_json(&target), 1);
    let header = sha256_range(&target, o, 16 << 20);
    // Secure Boot off now: a PCR 7 reseal is said and refused without a terminal to ask at,
    // unless --allow-secure-boot-off (never to a weaker policy silently)
    let key = std::fs::read_to_string(&key_file).unwrap().trim().to_string();
    let out = run(common::imprint()
        .args(["tpm", "reseal", "--tpm2-device", &tpm.tcti(), "--image"])
        .arg(&target)
        .arg("--recovery-key-file")
        .arg(&key_file)
        .arg("--efivars")
        .arg(dir.path().join("efivars-off")));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Secure Boot is off now") && text(&out).contains("--allow-secure-boot-off"), "{}", text(&out));
    assert!(!text(&out).contains(&key[..8]), "the recovery key is in the output");
    assert_eq!(sha256_range(&target, o, 16 << 20), header, "a refused reseal changed the header");
    let reseal = || {
        let mut c = common::imprint();
        c.args(["tpm", "reseal", "--tpm2-device", &tpm.tcti(), "--image"]).arg(&target).arg("--efivars").arg(dir.path().join("efivars-on"));
        c
    };
    // without a key proof (no terminal, no key file: the old token is tried) nothing changes
    let out = run(&mut reseal());
    assert!(!out.status.success());
    assert!(text(&out).contains("no longer unseals"), "{}", text(&out));
    assert!(text(&out).contains("recovery key"), "{}", text(&out));
    assert_eq!(sha256_range(&target, o, 16 << 20), header, "a refused reseal changed the header");
    // a wrong recovery key: refused, nothing changes
    let wrong = dir.path().join("wrong.key");
    std::fs::write(&wrong, imprint::luks::recovery::generate().expose()).unwrap();
    let out = run(reseal().arg("--recovery-key-file").arg(&wrong));
    assert!(!out.status.success() && text(&out).contains("opens no keyslot"), "{}", text(&out));
    assert_eq!(sha256_range(&target, o, 16 << 20), header);

    // the recovery key, typed without dashes and in capitals, reseals
    let typed = dir.path().join("typed.key");
    std::fs::write(&typed, format!("{}\n", key.replace('-', "").to_uppercase())).unwrap();
    let out = ok(&run(reseal().arg("--recovery-key-file").arg(&typed)));
    assert!(out.contains("Resealed partition 1"), "{out}");
    assert!(!out.contains(&key[..8]), "the recovery key is in the output");

    let st = status(true);
    assert_eq!(st["volume"]["tokens"][0]["matches"], true, "after the reseal: {st}");
    assert!(st["volume"]["problem"].is_null(), "{st}");
    // the next boot's check takes the notice down
    check("--notify");
    assert!(!run_dir.join("imprint/tpm-notice.issue").exists() && !run_dir.join("imprint/tpm-key-stale.json").exists());
    let after = metadata(dir.path(), &target);
    let after_tokens = tokens(&after);
    assert_eq!(
        after_tokens.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["imprint-tpm2-pcr-values", "systemd-recovery", "systemd-tpm2"],
        "one TPM2 token left, with its record"
    );
    assert_eq!(after_tokens[1].1, recovery_slot, "the recovery token names the same keyslots");
    assert_ne!(after_tokens[2].1, old_tpm_slot, "a new keyslot for the TPM");
    let record = after["tokens"].as_object().unwrap().values().find(|t| t["type"] == "imprint-tpm2-pcr-values").unwrap();
    assert_eq!(record["imprint-keyslot"].as_str(), Some(after_tokens[2].1.as_str()), "the record is the new key's: {record}");
    assert_eq!(record["tpm2-pcr-values"]["7"].as_str(), Some(tpm.pcr(7).as_str()), "sealed to today's PCR 7: {record}");
    assert!(!keyslots(&after).contains(&old_tpm_slot), "the old TPM keyslot is gone: {:?}", keyslots(&after));
    assert_eq!(after["keyslots"][&recovery_slot], before["keyslots"][&recovery_slot], "the recovery keyslot is untouched");
    assert_eq!(
        after["tokens"].as_object().unwrap().values().find(|t| t["type"] == "systemd-recovery"),
        before["tokens"].as_object().unwrap().values().find(|t| t["type"] == "systemd-recovery"),
        "the recovery token is untouched"
    );
    assert_eq!(
        after["tokens"].as_object().unwrap().values().find(|t| t["type"] == "systemd-tpm2").unwrap()["tpm2-pcrs"],
        serde_json::json!([7])
    );

    // stock systemd unseals the new token with today's PCR 7; the recovery key still opens
    let part = extract(dir.path(), &target);
    assert!(systemd_unseals(&part, "imprint-reseal"), "systemd-cryptsetup 252 does not unseal the resealed token");
    // the recovery key opens as shown, and in the forms people type it at the boot prompt, where
    // systemd-cryptsetup hands the typed line to libcryptsetup unchanged (issue 16 point 5):
    // without dashes, in capitals, both — each has a keyslot under the one recovery token
    let opens = |typed: &str| {
        run_with_stdin(Command::new("cryptsetup").args(["open", "--test-passphrase", "--key-file=-"]).arg(&part), typed.as_bytes())
            .status
            .success()
    };
    let dashless = key.replace('-', "");
    for typed in [key.clone(), dashless.clone(), key.to_uppercase(), dashless.to_uppercase()] {
        assert!(opens(&typed), "a typed form of the recovery key does not open the volume");
    }
    assert!(!opens(&key.replace('-', " ")), "spaces for dashes open the volume (nothing enrolled them)");
    let recovery_token = after["tokens"].as_object().unwrap().values().find(|t| t["type"] == "systemd-recovery").unwrap().clone();
    assert_eq!(recovery_token["keyslots"].as_array().unwrap().len(), 4, "{recovery_token}");
}

#[test]
fn the_old_token_reseals_itself_on_a_device_and_keeps_its_pin() {
    let dir = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let pin_file = dir.path().join("pin");
    std::fs::write(&pin_file, "246810").unwrap();
    let target = install(
        dir.path(),
        &tpm,
        "tpm2+pin",
        &["--pin-file", pin_file.to_str().unwrap(), "--recovery-key-file", dir.path().join("rk").to_str().unwrap()],
    );
    let (o, s) = part_range(&sfdisk_json(&target), 1);
    let lo = Loop::attach(&target, &["-o", &o.to_string(), "--sizelimit", &s.to_string()]);
    let reseal = |extra: &[&str]| {
        // no EFI variables (as on a machine booted without UEFI): Secure Boot is not known off
        run(common::imprint()
            .args(["tpm", "reseal", "--json", "--tpm2-device", &tpm.tcti(), "--efivars", "/nonexistent", "--device"])
            .arg(&lo.dev)
            .args(extra))
    };
    // the old token needs its PIN
    let out = reseal(&[]);
    assert!(!out.status.success() && text(&out).contains("needs a PIN"), "{}", text(&out));
    // with it, while PCR 7 is unchanged, the old token is the key proof
    let out = reseal(&["--pin-file", pin_file.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(report["pin"], true);
    assert_eq!(report["removed_keyslots"].as_array().unwrap().len(), 1);
    drop(lo);
    // the new token needs the PIN and opens its keyslot (imprint's unseal: systemd-cryptsetup
    // would ask for the PIN on a terminal)
    let part = extract(dir.path(), &target);
    let toks = imprint::luks::tokens(&part).unwrap();
    let tpm_tokens: Vec<_> = toks.iter().filter(|(_, j)| j["type"] == "systemd-tpm2").collect();
    assert_eq!(tpm_tokens.len(), 1);
    let token = imprint::tpm::Tpm2Token::from_json(&tpm_tokens[0].1).unwrap();
    assert!(token.pin);
    assert_eq!(token.keyslot, report["new_keyslot"].as_u64().unwrap() as u32);
    let pin = imprint::secret::Secret::from_text("246810");
    let secret = imprint::tpm::unseal(&tpm.device(), &token, Some(&pin), None).unwrap();
    let slot = imprint::luks::check_passphrase(&part, &imprint::tpm::luks_passphrase(&secret)).unwrap();
    assert_eq!(slot, token.keyslot);
    assert!(matches!(imprint::tpm::unseal(&tpm.device(), &token, None, None), Err(imprint::tpm::TpmError::PinRequired)));
}

#[test]
fn a_volume_without_luks2_is_refused_by_name_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let blank = dir.path().join("blank.img");
    std::fs::write(&blank, vec![0x5a; 1 << 20]).unwrap();
    let out = run(common::imprint().args(["tpm", "reseal", "--tpm2-device", "swtpm:host=127.0.0.1,port=1", "--device"]).arg(&blank));
    assert!(!out.status.success());
    assert!(text(&out).contains("holds no LUKS2 header"), "{}", text(&out));
    assert_eq!(std::fs::read(&blank).unwrap(), vec![0x5a; 1 << 20]);
    let out = run(common::imprint().args(["tpm", "reseal", "--image"]).arg(&blank));
    assert!(!out.status.success() && text(&out).contains("has no GPT partition table"), "{}", text(&out));
}

/// Issue 16 point 2: the boot check ships as a unit that systemd 252's own `systemd-analyze
/// verify` accepts, ordered before the login prompts (whose issue text carries the notice), never
/// in the live system; the live image's build installs and enables it with the login offer beside
/// it, and the offer is valid sh. (The VM test runs both on a booted system.)
#[test]
fn the_boot_check_unit_and_the_login_offer_ship_with_the_image() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(repo.join("live-image/units/imprint-tpm-check.service")).unwrap();
    for line in [
        "ExecStart=/usr/bin/imprint tpm check --notify",
        "Before=getty-pre.target systemd-user-sessions.service",
        "ConditionKernelCommandLine=!imprint.live",
        "StandardOutput=journal+console",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("imprint-tpm-check.service");
    std::fs::write(&path, unit.replace("/usr/bin/imprint", env!("CARGO_BIN_EXE_imprint"))).unwrap();
    let o = run(Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path));
    assert!(o.status.success() && o.stderr.is_empty(), "{}", text(&o));

    let script = repo.join("live-image/profile.d/imprint-tpm.sh");
    let o = run(Command::new("sh").arg("-n").arg(&script));
    assert!(o.status.success(), "{}", text(&o));
    let body = std::fs::read_to_string(&script).unwrap();
    assert!(body.contains("/usr/bin/imprint tpm check --offer") && body.contains("/run/imprint/tpm-key-stale.json"), "{body}");
    let build = std::fs::read_to_string(repo.join("live-image/build.sh")).unwrap();
    let enable = build.lines().find(|l| l.contains("systemctl enable imprint-firstboot.service")).unwrap();
    assert!(enable.contains("imprint-tpm-check.service"), "{enable}");
    assert!(build.contains("profile.d/imprint-tpm.sh\" \"$root/etc/profile.d/imprint-tpm.sh\""), "the build does not install the offer");
    // agetty reads /run/issue.d only without /etc/issue (Debian has one): the notice is linked
    assert!(build.contains("ln -sf /run/imprint/tpm-notice.issue \"$root/etc/issue.d/50-imprint-tpm.issue\""), "no link for the notice");
}

/// PCR 7 as OVMF/EDK2 measures it, for these variable contents: SecureBoot, PK, KEK, db, dbx
/// (EV_EFI_VARIABLE_DRIVER_CONFIG, the whole UEFI_VARIABLE_DATA hashed), then the separator.
/// Returns the event log; each event is extended into the swtpm's PCR 7 as the firmware would.
fn measure_secure_boot(tpm: &Swtpm, db: &[u8], dbx: &[u8]) -> Vec<u8> {
    use imprint::tpm::eventlog::{EV_EFI_VARIABLE_DRIVER_CONFIG, EV_SEPARATOR, build_sha256};
    use imprint::tpm::secureboot::{SbVar, variable_data};
    // SecureBoot has no SbVar (it is not updated): its UEFI_VARIABLE_DATA by hand
    let mut sb = uuid::Uuid::parse_str("8be4df61-93ca-11d2-aa0d-00e098032b8c").unwrap().to_bytes_le().to_vec();
    sb.extend_from_slice(&10u64.to_le_bytes());
    sb.extend_from_slice(&1u64.to_le_bytes());
    sb.extend(b"SecureBoot".iter().flat_map(|c| [*c, 0]));
    sb.push(1);
    let events = vec![
        (7, EV_EFI_VARIABLE_DRIVER_CONFIG, sb),
        (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Pk, b"")),
        (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Kek, b"")),
        (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Db, db)),
        (7, EV_EFI_VARIABLE_DRIVER_CONFIG, variable_data(SbVar::Dbx, dbx)),
        (7, EV_SEPARATOR, vec![0; 4]),
    ];
    for (_, _, data) in &events {
        tpm.extend(7, data);
    }
    build_sha256(&events)
}

/// Issue 16 point 3: `imprint tpm prepare --secure-boot-update` before a dbx update. The event
/// log must replay to the TPM's PCR 7; the new key is sealed to the PCR 7 the firmware measures
/// once the update is in (dbx now ‖ the new hash, as EDK2 appends), the old key stays; after the
/// update and a reboot stock systemd-cryptsetup 252 unseals the new key, and `imprint tpm
/// cleanup` removes the old one, leaving one TPM2 token and the recovery key untouched. A log
/// that does not replay is refused and nothing changes.
#[test]
fn a_prepared_secure_boot_update_unlocks_and_then_the_old_key_goes() {
    use imprint::tpm::secureboot::{SbVar, auth_file, sha256_list};
    let dir = tempfile::tempdir().unwrap();
    let tpm = Swtpm::start_default_port();
    let ms = "77fa9abd-0359-4d32-bd60-28f4e78f784b";
    let dbx_now = sha256_list(ms, &[[0x11; 32]]);
    let log_file = dir.path().join("binary_bios_measurements");
    std::fs::write(&log_file, measure_secure_boot(&tpm, b"", &dbx_now)).unwrap();
    let efivars = dir.path().join("efivars");
    std::fs::create_dir(&efivars).unwrap();
    let efivar = |data: &[u8]| [&[0x27, 0, 0, 0][..], data].concat();
    std::fs::write(efivars.join(SbVar::Dbx.efivarfs_name()), efivar(&dbx_now)).unwrap();
    std::fs::write(efivars.join("SecureBoot-8be4df61-93ca-11d0-aa0d-00e098032b8c"), [6, 0, 0, 0, 1]).unwrap();
    let key_file = dir.path().join("recovery.key");
    let target = install(dir.path(), &tpm, "tpm2", &["--recovery-key-file", key_file.to_str().unwrap()]);
    let before = metadata(dir.path(), &target);

    // the update: Microsoft-style, two hashes, one of them already in dbx
    let update = dir.path().join("DBXUpdate.bin");
    std::fs::write(&update, auth_file(&sha256_list(ms, &[[0x11; 32], [0x22; 32]]), b"PKCS#7 by the KEK")).unwrap();
    let prepare = |log: &Path, extra: &[&str]| {
        run(common::imprint()
            .args(["tpm", "prepare", "--tpm2-device", &tpm.tcti(), "--secure-boot-update"])
            .arg(&update)
            .arg("--event-log")
            .arg(log)
            .arg("--efivars")
            .arg(&efivars)
            .arg("--image")
            .arg(&target)
            .args(extra))
    };
    // a log that does not replay to the TPM's PCR 7: refused, nothing written
    let (o, _) = part_range(&sfdisk_json(&target), 1);
    let header = sha256_range(&target, o, 16 << 20);
    let short_log = dir.path().join("short.log");
    let mut events = imprint::tpm::eventlog::parse(&std::fs::read(&log_file).unwrap()).unwrap().events;
    events.pop();
    std::fs::write(
        &short_log,
        imprint::tpm::eventlog::build_sha256(&events.into_iter().map(|e| (e.pcr, e.kind, e.data)).collect::<Vec<_>>()),
    )
    .unwrap();
    let out = prepare(&short_log, &[]);
    assert!(!out.status.success() && text(&out).contains("replays PCR 7"), "{}", text(&out));
    assert_eq!(sha256_range(&target, o, 16 << 20), header, "a refused prepare changed the header");

    // what the next boot measures: dbx now ‖ the one new hash
    let mut dbx_next = dbx_now.clone();
    dbx_next.extend_from_slice(&sha256_list(ms, &[[0x22; 32]]));
    let dry = ok(&prepare(&log_file, &["--dry-run", "--json"]));
    let predicted: serde_json::Value = serde_json::from_str(&dry).unwrap();
    assert_eq!(sha256_range(&target, o, 16 << 20), header, "a dry run changed the header");
    let said = ok(&prepare(&log_file, &[]));
    assert!(said.contains("Prepared partition 1") && said.contains(predicted["pcr7"].as_str().unwrap()), "{said}");
    let meta = metadata(dir.path(), &target);
    let types: Vec<String> = tokens(&meta).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        types,
        ["imprint-tpm2-pcr-values", "imprint-tpm2-pcr-values", "imprint-tpm2-prepared", "systemd-recovery", "systemd-tpm2", "systemd-tpm2"],
        "{meta}"
    );
    // the prepared key's record holds the predicted PCR 7
    assert!(
        meta["tokens"].as_object().unwrap().values().any(|t| t["tpm2-pcr-values"]["7"] == predicted["pcr7"]),
        "no record of the predicted value: {meta}"
    );
    // before the update is written, cleanup waits
    let cleanup = || ok(&run(common::imprint().args(["tpm", "cleanup", "--json", "--tpm2-device", &tpm.tcti(), "--image"]).arg(&target)));
    let c: serde_json::Value = serde_json::from_str(&cleanup()).unwrap();
    assert_eq!((c["prepared"].as_bool(), c["applied"].as_bool()), (Some(true), Some(false)), "{c}");
    assert_eq!(tokens(&metadata(dir.path(), &target)).len(), 6);

    // the update is written and the machine restarts: the firmware measures the new dbx
    std::fs::write(efivars.join(SbVar::Dbx.efivarfs_name()), efivar(&dbx_next)).unwrap();
    tpm.power_cycle();
    measure_secure_boot(&tpm, b"", &dbx_next);
    assert_eq!(tpm.pcr(7), predicted["pcr7"].as_str().unwrap(), "the prediction is what the firmware measures");
    // stock systemd unseals the prepared token. Alone: swtpm has no resource manager, so after
    // the old token fails, the objects systemd left loaded make its next attempt fail for lack of
    // room (a kernel's /dev/tpmrm0 flushes them; the VM test boots with both tokens)
    let part = extract(dir.path(), &target);
    let old_token = before["tokens"].as_object().unwrap().iter().find(|(_, t)| t["type"] == "systemd-tpm2").unwrap().0.clone();
    ok(&run(Command::new("cryptsetup").args(["token", "remove", "--token-id", &old_token]).arg(&part)));
    assert!(systemd_unseals(&part, "imprint-prepared"), "systemd-cryptsetup 252 does not unseal the prepared token");
    let c: serde_json::Value = serde_json::from_str(&cleanup()).unwrap();
    assert_eq!(c["applied"], true, "{c}");
    assert_eq!(c["removed_keyslots"].as_array().unwrap().len(), 1, "{c}");
    let after = metadata(dir.path(), &target);
    let left = tokens(&after);
    assert_eq!(
        left.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["imprint-tpm2-pcr-values", "systemd-recovery", "systemd-tpm2"],
        "{after}"
    );
    let recovery = |m: &serde_json::Value| m["tokens"].as_object().unwrap().values().find(|t| t["type"] == "systemd-recovery").cloned();
    assert_eq!(recovery(&after), recovery(&before), "the recovery token is untouched");
    let part = extract(dir.path(), &target);
    assert!(systemd_unseals(&part, "imprint-cleaned"), "the key left does not unseal");
    // a second cleanup has nothing to do
    let c: serde_json::Value = serde_json::from_str(&cleanup()).unwrap();
    assert_eq!(c["prepared"], false, "{c}");
}
