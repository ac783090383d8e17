//! The install engine's API (`imprint::install`): what is prepared is what is performed, on the
//! target that was inspected; every proof is performed (and fails when it is false); the answers
//! reach the installed system's ESP; the seed is random unless given; progress counts every byte.

mod common;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use common::*;
use imprint::exec::{Event, Verify};
use imprint::install::{self, Host, Proof, Request, Secrets};
use imprint::plan::{EmptyMode, EncryptionMode};

fn demo_source(dir: &Path) -> PathBuf {
    imprint::demo::build_source_image(dir).expect("demo source image")
}

/// ESP and /usr copied, an ext4 root made.
fn defs(dir: &Path) -> PathBuf {
    write_defs(
        &dir.join("defs"),
        &[
            ("10-esp.conf", "[Partition]\nType=esp\nCopyBlocks=auto\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
            ("20-usr.conf", "[Partition]\nType=usr\nLabel=usr\nCopyBlocks=auto\nSizeMinBytes=256M\nSizeMaxBytes=256M\n"),
            ("50-root.conf", "[Partition]\nType=root\nFormat=ext4\nSizeMinBytes=64M\nSizeMaxBytes=64M\n"),
        ],
    )
}

fn request(dir: &Path, source: &Path, target: &Path) -> Request {
    let mut r = Request::new(target);
    r.source = Some(source.display().to_string());
    r.definitions = vec![defs(dir)];
    r.target_size = Some(512 << 20);
    r.verify = Verify::Readback;
    r
}

fn perform(p: &install::Prepared, events: &mut Vec<Event>) -> anyhow::Result<install::Report> {
    let cancel = AtomicBool::new(false);
    install::perform(p, &Secrets::default(), &cancel, &mut |e: &Event| events.push(e.clone()))
}

/// [`request`], the root sealed to `tpm` (PCR 7 as the profile says), no recovery key.
fn tpm_request(dir: &Path, source: &Path, target: &Path, tpm: &common::swtpm::Swtpm) -> Request {
    let mut r = request(dir, source, target);
    r.encryption.mode = Some(EncryptionMode::Tpm2);
    r.encryption.tpm2_device = tpm.tcti();
    r.encryption.recovery_key = Some(false);
    r
}

/// The ESP's byte offset on an installed image.
fn esp_offset(img: &Path) -> u64 {
    part_range(&sfdisk_json(img), 1).0
}

#[test]
fn what_is_prepared_is_performed_and_every_proof_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    let prepared = install::prepare(&request(dir.path(), &src, &target), &Host::default()).unwrap();
    let mut events = Vec::new();
    let report = perform(&prepared, &mut events).unwrap();
    // the table on the target is the prepared plan's, entry for entry
    let t = sfdisk_json(&target);
    let parts = t["partitiontable"]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), prepared.plan.partitions.len());
    for (got, want) in parts.iter().zip(&prepared.plan.partitions) {
        assert_eq!(got["uuid"].as_str().unwrap().to_lowercase(), want.uuid.to_string());
        assert_eq!(got["start"].as_u64().unwrap() * 512, want.offset);
        assert_eq!(got["size"].as_u64().unwrap() * 512, want.size);
    }
    assert_eq!(
        t["partitiontable"]["id"].as_str().unwrap().to_lowercase(),
        prepared.plan.disk_guid.to_string(),
        "the disk GUID is the prepared one"
    );
    let proofs = report.proofs();
    assert_eq!(proofs[0], Proof::TableMatches { partitions: 3 });
    assert_eq!(proofs.iter().filter(|p| matches!(p, Proof::DataHashed { .. })).count(), 2, "{proofs:?}");
    assert_eq!(proofs.iter().filter(|p| matches!(p, Proof::DataReadBack { .. })).count(), 2, "{proofs:?}");
    assert_eq!(report.seed, prepared.seed);
}

#[test]
fn a_table_changed_after_it_was_written_fails_the_table_proof() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    let prepared = install::prepare(&request(dir.path(), &src, &target), &Host::default()).unwrap();
    let cancel = AtomicBool::new(false);
    let t2 = target.clone();
    // another writer renames partition 2 right after the table step
    let err = install::perform(&prepared, &Secrets::default(), &cancel, &mut |e: &Event| {
        if let Event::StepFinished { name, .. } = e
            && name == "table"
        {
            sh(&format!("sfdisk --quiet --part-label {} 2 tampered", t2.display()));
        }
    })
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("partition table read back from the target differs from the plan"), "{msg}");
    assert!(msg.contains("partition 2: label 'tampered' (planned 'usr')"), "{msg}");
}

#[test]
fn a_target_that_changed_after_the_plan_was_made_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    sparse_file(&target, 512 << 20);
    let mut req = request(dir.path(), &src, &target);
    req.target_size = None;

    // grown
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    sparse_file(&target, 600 << 20);
    let err = format!("{:#}", perform(&prepared, &mut Vec::new()).unwrap_err());
    assert!(err.contains("changed since the plan was made") && err.contains("size changed"), "{err}");
    assert_eq!(allocated(&target), 0, "nothing written");

    // a table appeared
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    sh(&format!("echo 'label: gpt' | sfdisk --quiet {}", target.display()));
    let before = sha256_range(&target, 0, 600 << 20);
    let err = format!("{:#}", perform(&prepared, &mut Vec::new()).unwrap_err());
    assert!(err.contains("what it holds changed"), "{err}");
    assert_eq!(sha256_range(&target, 0, 600 << 20), before, "nothing written");

    // replaced by another file of the same size and content
    std::fs::remove_file(&target).unwrap();
    sparse_file(&target, 512 << 20);
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    let other = dir.path().join("other.img");
    std::fs::copy(&target, &other).unwrap();
    std::fs::rename(&other, &target).unwrap();
    let err = format!("{:#}", perform(&prepared, &mut Vec::new()).unwrap_err());
    assert!(err.contains("another file now"), "{err}");
}

#[test]
fn an_install_without_a_seed_draws_one_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let a = install::prepare(&request(dir.path(), &src, &dir.path().join("a.img")), &Host::default()).unwrap();
    let b = install::prepare(&request(dir.path(), &src, &dir.path().join("b.img")), &Host::default()).unwrap();
    assert_ne!(a.seed, b.seed);
    assert_ne!(a.plan.disk_guid, b.plan.disk_guid);
    assert_ne!(a.seed, imprint::demo::DEMO_SEED);
    assert_eq!(a.request.seed, Some(a.seed), "the prepared request keeps the seed it used");
}

/// An entry on the source ESP, as the live image has.
fn add_loader_entry(src: &Path) {
    let off = esp_offset(src);
    let img = format!("{}@@{off}", src.display());
    let dir = tempfile::tempdir().unwrap();
    let entry = dir.path().join("live.conf");
    std::fs::write(&entry, "title live\nlinux /vmlinuz\noptions root=PARTUUID=x ro imprint.live rd.vconsole.keymap=us console=ttyS0\n")
        .unwrap();
    run_ok(Command::new("mmd").args(["-i", &img, "::/loader", "::/loader/entries"]));
    run_ok(Command::new("mcopy").args(["-i", &img, &entry.display().to_string(), "::/loader/entries/live.conf"]));
}

use std::process::Command;

#[test]
fn first_boot_answers_ride_on_the_installed_entries_and_the_answers_replay_to_the_same_disk() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    add_loader_entry(&src);
    let target = dir.path().join("t.img");
    let answers = dir.path().join("answers.conf");
    let out = run_ok(
        imprint()
            .args(["install", "--yes", "--progress=json", "--verify=readback", "--locale", "de_DE.UTF-8", "--keymap", "de"])
            .args(["--timezone", "Europe/Berlin", "--target-size", "512M"])
            .arg("--definitions")
            .arg(defs(dir.path()))
            .arg("--source")
            .arg(&src)
            .arg("--target")
            .arg(&target)
            .arg("--answers-out")
            .arg(&answers),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{stdout}");

    // the installed entry carries the answers as credentials and the initrd's keymap
    let img = format!("{}@@{}", target.display(), esp_offset(&target));
    let entry = String::from_utf8(run_ok(Command::new("mtype").args(["-i", &img, "::/loader/entries/live.conf"])).stdout).unwrap();
    let options = entry.lines().find(|l| l.starts_with("options ")).unwrap();
    for w in [
        "systemd.set_credential=firstboot.locale:de_DE.UTF-8",
        "systemd.set_credential=firstboot.keymap:de",
        "systemd.set_credential=firstboot.timezone:Europe/Berlin",
        "rd.vconsole.keymap=de",
    ] {
        assert!(options.split(' ').any(|x| x == w), "{w} missing: {options}");
    }
    assert!(!options.contains("keymap=us") && !options.contains("imprint.live"), "{options}");

    // the record on the ESP equals the file written on request, and holds no secret
    let on_esp = String::from_utf8(run_ok(Command::new("mtype").args(["-i", &img, "::/imprint/answers.conf"])).stdout).unwrap();
    let file = std::fs::read_to_string(&answers).unwrap();
    assert_eq!(on_esp, file);
    assert!(file.contains("Locale=de_DE.UTF-8") && file.contains("Seed="), "{file}");

    // replayed onto another image: the same plan, seed included
    let again = dir.path().join("again.img");
    run_ok(imprint().args(["install", "--yes", "--progress=json", "--answers"]).arg(&answers).arg("--target").arg(&again));
    let (a, b) = (sfdisk_json(&target), sfdisk_json(&again));
    assert_eq!(a["partitiontable"]["id"], b["partitiontable"]["id"]);
    assert_eq!(a["partitiontable"]["partitions"].as_array().unwrap().len(), b["partitiontable"]["partitions"].as_array().unwrap().len());
    for (x, y) in a["partitiontable"]["partitions"].as_array().unwrap().iter().zip(b["partitiontable"]["partitions"].as_array().unwrap()) {
        assert_eq!((&x["uuid"], &x["start"], &x["size"], &x["type"]), (&y["uuid"], &y["start"], &y["size"], &y["type"]));
    }
}

#[test]
fn bad_first_boot_answers_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    let mut req = request(dir.path(), &src, &target);
    req.firstboot.keymap = Some("de; rm -rf /".into());
    let err = format!("{:#}", install::prepare(&req, &Host::default()).unwrap_err());
    assert!(err.contains("invalid keymap 'de; rm -rf /'"), "{err}");
    assert!(!target.exists());
}

#[test]
fn progress_counts_copy_encryption_and_formatting_and_ends_at_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    let mut req = request(dir.path(), &src, &target);
    req.encryption.mode = Some(EncryptionMode::Passphrase);
    req.encryption.recovery_key = Some(false);
    req.empty = EmptyMode::Refuse;
    // the slow way, where progress matters: the root's free space filled too (without it only
    // what mkfs wrote is encrypted, in milliseconds)
    req.fill_free = imprint::exec::FillFree::Random;
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    let secrets = Secrets {
        passphrase: Some(imprint::secret::Secret::new(b"correct horse".to_vec())),
        pbkdf: Some(imprint::luks::Pbkdf::Test),
        ..Secrets::default()
    };
    let mut seen: Vec<(u64, u64)> = Vec::new();
    let mut started_total = None;
    install::perform(&prepared, &secrets, &AtomicBool::new(false), &mut |e: &Event| match e {
        Event::Started { bytes_total, .. } => started_total = Some(*bytes_total),
        Event::Progress { run_bytes_done, run_bytes_total, .. } => seen.push((*run_bytes_done, *run_bytes_total)),
        _ => {}
    })
    .unwrap();
    let total = started_total.unwrap();
    let root = prepared.plan.partitions.iter().find(|p| p.luks.is_some()).unwrap();
    assert!(total >= root.size, "the encrypted root ({}) is counted in the total {total}", root.size);
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "progress never goes back: {seen:?}");
    assert!(seen.iter().all(|(d, t)| *t == total && *d <= total), "{seen:?}");
    assert_eq!(seen.last().unwrap().0, total, "progress ends at 100%");
    // while the root was encrypted the count moved
    // (the root is made after the two copies, before the read-back)
    let copies: u64 = prepared
        .plan
        .partitions
        .iter()
        .map(|p| match p.content {
            imprint::plan::Content::CopyBlocks { size, .. } => size,
            _ => 0,
        })
        .sum();
    let during: Vec<_> = seen.iter().filter(|(d, _)| *d > copies && *d < copies + root.size).collect();
    assert!(!during.is_empty(), "no progress while the root was encrypted: {seen:?}");
}

#[test]
fn no_fixed_temporary_paths_in_the_project() {
    // a predictable name in a shared folder can be planted (symlink) by another user
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bad = Vec::new();
    let mut stack = vec![root.join("src"), root.join("screens/src"), root.join("live-image"), root.join("bench")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&p) else { continue };
            for (i, line) in text.lines().enumerate() {
                let l = line.trim_start();
                if l.starts_with("//") || l.starts_with('#') || l.contains("assert") {
                    continue;
                }
                let fixed =
                    l.contains("temp_dir().join(") || ((l.contains("\"/tmp/") || l.contains("/var/tmp/imprint")) && !l.contains("mktemp"));
                if fixed {
                    bad.push(format!("{}:{}: {}", p.strip_prefix(root).unwrap().display(), i + 1, l));
                }
            }
        }
    }
    assert!(bad.is_empty(), "fixed temporary paths:\n{}", bad.join("\n"));
}

/// Copied data changed on the target after it was written: the read-back proof fails.
#[test]
fn data_changed_after_it_was_copied_fails_the_read_back_proof() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    let prepared = install::prepare(&request(dir.path(), &src, &target), &Host::default()).unwrap();
    let usr = prepared.plan.partitions.iter().find(|p| p.label == "usr").unwrap().offset;
    let t2 = target.clone();
    let err = install::perform(&prepared, &Secrets::default(), &AtomicBool::new(false), &mut |e: &Event| {
        if let Event::StepStarted { name, .. } = e
            && name == "verify"
        {
            use std::os::unix::fs::FileExt;
            let f = std::fs::OpenOptions::new().write(true).open(&t2).unwrap();
            f.write_all_at(b"bit rot", usr + (1 << 20)).unwrap();
        }
    })
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("partition 2 (usr): read back") && msg.contains("the target does not hold what was written"), "{msg}");
}

/// A PCR that changes between sealing and the proof: the TPM proof fails, so "the TPM unlocks
/// this disk" is never claimed for a token that would not unseal at boot.
#[test]
fn a_pcr_changed_before_the_proof_fails_the_tpm_proof() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let target = dir.path().join("t.img");
    let tpm = common::swtpm::Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let req = tpm_request(dir.path(), &src, &target, &tpm);
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    let err = install::perform(&prepared, &Secrets::default(), &AtomicBool::new(false), &mut |e: &Event| {
        if let Event::StepStarted { name, .. } = e
            && name == "prove"
        {
            tpm.extend(7, b"a new db entry");
        }
    })
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("partition 3 (root-x86-64)") && msg.contains("the PCR values differ from those at enrollment"), "{msg}");
    // the same install without the change proves the TPM unseals
    let target = dir.path().join("t2.img");
    let req = tpm_request(dir.path(), &src, &target, &tpm);
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    let report = perform(&prepared, &mut Vec::new()).unwrap();
    assert!(report.proofs().iter().any(|p| matches!(p, Proof::TpmUnseals { partition: 3, pin: false, .. })), "{:?}", report.proofs());
}

/// The JSON Lines stream of an encrypted install: `run_bytes_done` never goes back and ends at
/// the `bytes_total` announced at the start.
#[test]
fn the_json_progress_stream_is_monotonic_and_reaches_the_total() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let pass = dir.path().join("pass");
    std::fs::write(&pass, "correct horse\n").unwrap();
    let out = run_ok(
        imprint()
            .args(["install", "--yes", "--progress=json", "--verify=readback", "--target-size", "512M", "--encrypt=passphrase"])
            .args(["--recovery-key=false", "--luks-pbkdf=test", "--passphrase-file"])
            .arg(&pass)
            .arg("--definitions")
            .arg(defs(dir.path()))
            .arg("--source")
            .arg(&src)
            .arg("--target")
            .arg(dir.path().join("t.img")),
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let total = events.iter().find(|e| e["event"] == "started").unwrap()["bytes_total"].as_u64().unwrap();
    let done: Vec<u64> = events.iter().filter(|e| e["event"] == "progress").map(|e| e["run_bytes_done"].as_u64().unwrap()).collect();
    assert!(done.len() > 3, "{done:?}");
    assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
    assert_eq!(*done.last().unwrap(), total, "{done:?}");
    assert_eq!(events.last().unwrap()["event"], "finished");
}

/// A disk replugged between the summary and the install comes back under the same name as
/// another device: the device number differs, and the install is refused with nothing written.
/// (Two loop devices; the name is a device node in a private folder that is re-made to point at
/// the other one, as udev would re-make /dev/sdX.)
#[test]
fn a_device_node_that_names_another_disk_now_is_refused() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    let (a, b) = (dir.path().join("a.img"), dir.path().join("b.img"));
    sparse_file(&a, 512 << 20);
    sparse_file(&b, 512 << 20);
    let (la, lb) = (Loop::attach(&a, &[]), Loop::attach(&b, &[]));
    let node = dir.path().join("sdx");
    let mknod = |dev: &Path| {
        let _ = std::fs::remove_file(&node);
        let m = std::fs::metadata(dev).unwrap();
        assert!(m.file_type().is_block_device());
        let rdev = m.rdev();
        run_ok(Command::new("mknod").arg(&node).arg("b").arg(libc::major(rdev).to_string()).arg(libc::minor(rdev).to_string()));
    };
    mknod(&la.dev);
    let mut req = request(dir.path(), &src, &node);
    req.target_size = None;
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    assert!(prepared.target.block_device);
    mknod(&lb.dev);
    let err = format!("{:#}", perform(&prepared, &mut Vec::new()).unwrap_err());
    assert!(err.contains("changed since the plan was made") && err.contains("it is another device now"), "{err}");
    assert_eq!(allocated(&a), 0);
    assert_eq!(allocated(&b), 0);
    // held: a second holder of the same disk is refused while the first writes
    mknod(&la.dev);
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    let held = std::fs::OpenOptions::new().write(true).custom_flags(libc::O_EXCL).open(&la.dev).unwrap();
    let err = format!("{:#}", perform(&prepared, &mut Vec::new()).unwrap_err());
    assert!(err.contains("in use by another program"), "{err}");
    drop(held);
    perform(&prepared, &mut Vec::new()).unwrap();
}

/// `imprint install` without `--target` is the pages' entry (the live image's installer unit runs
/// `imprint install --profile live`): the command line accepts it, and without a terminal it says
/// what to do instead of failing in the argument parser.
#[test]
fn install_without_a_target_is_the_pages_entry() {
    let out = imprint().args(["install", "--profile", "live"]).stdin(std::process::Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no terminal to ask on"), "{err}");
    assert!(!err.contains("a value is required"), "{err}");
}

/// A unified kernel image on the source ESP, and no Type #1 entries.
fn add_uki(src: &Path) {
    let off = esp_offset(src);
    let img = format!("{}@@{off}", src.display());
    let dir = tempfile::tempdir().unwrap();
    let uki = dir.path().join("os.efi");
    std::fs::write(&uki, pe(&[(".linux", b"kernel"), (".cmdline", b"root=PARTUUID=x rw")])).unwrap();
    run_ok(Command::new("mmd").args(["-i", &img, "::/EFI", "::/EFI/Linux"]));
    run_ok(Command::new("mcopy").args(["-i", &img, &uki.display().to_string(), "::/EFI/Linux/os_1.0.efi"]));
}

/// The installed ESP's `/loader/credentials/NAME.cred` files, copied into a folder as systemd 252
/// puts what systemd-stub passes (`/run/credentials/@encrypted/NAME`).
fn encrypted_credentials(target: &Path, into: &Path) -> Vec<String> {
    let img = format!("{}@@{}", target.display(), esp_offset(target));
    let listing = String::from_utf8(run_ok(Command::new("mdir").args(["-b", "-i", &img, "::/loader/credentials"])).stdout).unwrap();
    std::fs::create_dir_all(into).unwrap();
    let mut names = Vec::new();
    for path in listing.lines().map(str::trim).filter(|l| l.ends_with(".cred")) {
        let name = path.rsplit('/').next().unwrap().trim_end_matches(".cred").to_string();
        run_ok(Command::new("mcopy").args(["-i", &img, path]).arg(into.join(&name)));
        names.push(name);
    }
    names.sort();
    names
}

fn systemd_creds_decrypt(file: &Path, name: &str, tpm: &str) -> std::process::Output {
    Command::new("systemd-creds")
        .arg("decrypt")
        .arg(format!("--name={name}"))
        .arg(format!("--tpm2-device={tpm}"))
        .arg(file)
        .arg("-")
        .output()
        .unwrap()
}

/// An ESP that boots a UKI (whose command line is signed into it): the answers go next to it as
/// `/loader/credentials/*.cred` in systemd-creds' format, sealed to this TPM's PCR 7 as the root
/// is. systemd-creds 252 decrypts each under its own name with this TPM, refuses it under another
/// name and after PCR 7 changed; imprint's first boot reads them from where systemd 252 puts them.
#[test]
fn first_boot_answers_go_next_to_a_uki_sealed_to_the_tpm() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    add_uki(&src);
    let target = dir.path().join("t.img");
    let tpm = common::swtpm::Swtpm::start();
    tpm.extend(7, b"secure boot state");
    let mut req = tpm_request(dir.path(), &src, &target, &tpm);
    req.firstboot.locale = Some("de_DE.UTF-8".into());
    req.firstboot.keymap = Some("de".into());
    req.firstboot.timezone = Some("Europe/Berlin".into());
    req.firstboot.hostname = Some("kiosk-7".into());
    let prepared = install::prepare(&req, &Host::default()).unwrap();
    let report = perform(&prepared, &mut Vec::new()).unwrap();
    let said = report.exec.boot_entries.join("\n");
    assert!(said.contains("wrote /loader/credentials/firstboot.locale.cred (sealed to the TPM2 (PCR 7)), for os_1.0.efi"), "{said}");

    // swtpm has no resource manager and each client leaves a session behind: "reboot" it (the
    // same firmware measures the same Secure Boot state into PCR 7) before every two clients
    let boot = || {
        tpm.power_cycle();
        tpm.extend(7, b"secure boot state");
    };
    let enc = dir.path().join("encrypted");
    let names = encrypted_credentials(&target, &enc);
    assert_eq!(names, ["firstboot.keymap", "firstboot.locale", "firstboot.timezone", "system.hostname"]);
    // systemd's own tool: each value is the answer, under its own name only
    for (name, value) in [
        ("firstboot.locale", "de_DE.UTF-8"),
        ("firstboot.keymap", "de"),
        ("firstboot.timezone", "Europe/Berlin"),
        ("system.hostname", "kiosk-7"),
    ] {
        boot();
        let out = systemd_creds_decrypt(&enc.join(name), name, &tpm.tcti());
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), value);
    }
    boot();
    let out = systemd_creds_decrypt(&enc.join("firstboot.locale"), "firstboot.keymap", &tpm.tcti());
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("does not match"));
    // the answers file on the ESP goes with them
    let img = format!("{}@@{}", target.display(), esp_offset(&target));
    run_ok(Command::new("mtype").args(["-i", &img, "::/imprint/answers.conf"]));

    // imprint's first boot reads them, decrypted by systemd-creds (two, for swtpm's sake)
    let two = dir.path().join("two");
    std::fs::create_dir(&two).unwrap();
    for name in ["firstboot.locale", "system.hostname"] {
        std::fs::copy(enc.join(name), two.join(name)).unwrap();
    }
    boot();
    let got = imprint::firstboot::creds::read_encrypted(&two, &tpm.tcti()).unwrap();
    assert_eq!((got.locale.as_deref(), got.keymap.as_deref(), got.hostname.as_deref()), (Some("de_DE.UTF-8"), None, Some("kiosk-7")));
    // sealed, not only encrypted: another Secure Boot state cannot read them, and the error names
    // the credential
    boot();
    tpm.extend(7, b"a new db entry");
    let err = anyhow::Error::new(imprint::firstboot::creds::read_encrypted(&two, &tpm.tcti()).unwrap_err());
    let msg = format!("{err:#}");
    assert!(msg.contains("systemd-creds decrypt") && msg.contains("/two/system.hostname"), "{msg}");
}

/// Without a TPM2 the answers next to a UKI use systemd's key for machines without one (which
/// systemd refuses on a machine that has a TPM2); without a UKI no credential is written.
#[test]
fn without_a_tpm_the_credentials_use_systemds_no_tpm_key_and_without_a_uki_there_are_none() {
    let dir = tempfile::tempdir().unwrap();
    let src = demo_source(dir.path());
    add_loader_entry(&src);
    let target = dir.path().join("t.img");
    let mut req = request(dir.path(), &src, &target);
    req.firstboot.keymap = Some("de".into());
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    req.encryption.tpm2_device = format!("swtpm:host=127.0.0.1,port={closed}");
    let report = perform(&install::prepare(&req, &Host::default()).unwrap(), &mut Vec::new()).unwrap();
    assert!(!report.exec.boot_entries.join("\n").contains("/loader/credentials"), "{:?}", report.exec.boot_entries);
    let img = format!("{}@@{}", target.display(), esp_offset(&target));
    assert!(!Command::new("mdir").args(["-b", "-i", &img, "::/loader/credentials"]).output().unwrap().status.success());

    add_uki(&src);
    let target = dir.path().join("t2.img");
    let mut req = request(dir.path(), &src, &target);
    req.firstboot.keymap = Some("de".into());
    req.encryption.tpm2_device = format!("swtpm:host=127.0.0.1,port={closed}");
    let report = perform(&install::prepare(&req, &Host::default()).unwrap(), &mut Vec::new()).unwrap();
    let said = report.exec.boot_entries.join("\n");
    assert!(said.contains("wrote /loader/credentials/firstboot.keymap.cred (with systemd's key for machines without a TPM2)"), "{said}");
    // both kinds of entry get the answers: the Type #1 entry on its command line too
    assert!(said.contains("systemd.set_credential=firstboot.keymap:de"), "{said}");
    let enc = dir.path().join("encrypted");
    assert_eq!(encrypted_credentials(&target, &enc), ["firstboot.keymap"]);
    // this machine has no /dev/tpmrm0: systemd-creds accepts the no-TPM key here
    assert!(!Path::new("/dev/tpmrm0").exists());
    let out = systemd_creds_decrypt(&enc.join("firstboot.keymap"), "firstboot.keymap", "auto");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "de");
}
