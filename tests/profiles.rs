//! Installer profiles as shipped and as people get them wrong: the profiles in
//! installer-profiles/ load, the broken examples in installer-profiles/invalid/ fail with the
//! exact `file:line: message`, `[Match]` is checked against hand-made machine facts, and
//! drop-ins apply in file-name order.

use std::fs;
use std::path::{Path, PathBuf};

use imprint::profile::conf::{self, Firmware, MachineFacts, MatchSpec};
use imprint::profile::repart::{self, CopyBlocks};
use imprint::profile::types::Designator;

const SHIPPED: &[&str] = &["desktop", "kiosk", "server"];

fn profiles_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("installer-profiles")
}

/// Writes `files` (path relative to the folder, contents) into a new temporary folder.
fn write_profile(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    dir
}

const ROOT_DEF: (&str, &str) = ("repart.d/50-root.conf", "[Partition]\nType=root\nFormat=ext4\n");

/// A profile whose profile.conf is `text`, with a valid repart.d.
fn profile_with(text: &str) -> tempfile::TempDir {
    write_profile(&[("profile.conf", text), ROOT_DEF])
}

// ---------------------------------------------------------------------------------------------
// Shipped profiles

#[test]
fn every_shipped_profile_loads_with_its_definitions() {
    for name in SHIPPED {
        let dir = profiles_root().join(name);
        let spec = conf::load_profile(&dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.name, *name, "Name= matches the folder");
        assert!(spec.description.as_deref().is_some_and(|d| !d.is_empty()), "{name}: has a Description=");
        assert_eq!(spec.definitions_dir, dir.join("repart.d"));
        assert_eq!(spec.matches.firmware, Some(Firmware::Uefi), "{name}: the copied boot loader needs UEFI");
        let defs = repart::load_definitions(std::slice::from_ref(&spec.definitions_dir)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains(&format!("\"name\":\"{name}\"")), "{json}");

        // ESP first, copied from the live image
        let esp = &defs[0];
        assert_eq!(esp.ptype.designator, Designator::Esp, "{name}: the ESP comes first");
        assert_eq!(esp.copy_blocks, Some(CopyBlocks::Auto), "{name}");
        assert_eq!((esp.size_min, esp.size_max), (Some(512 << 20), Some(512 << 20)), "{name}");

        // A/B /usr: A copied from the live image, B empty, both of one fixed size
        let usr: Vec<_> = defs.iter().filter(|d| d.ptype.designator == Designator::Usr).collect();
        assert_eq!(usr.len(), 2, "{name}: two /usr slots");
        let (a, b) = (usr[0], usr[1]);
        assert_eq!(a.copy_blocks, Some(CopyBlocks::Auto), "{name}: slot A is copied");
        assert_eq!(a.label.as_deref(), Some("usr"), "{name}");
        assert_eq!(b.label.as_deref(), Some("_empty"), "{name}: slot B is free for sysupdate");
        assert!(b.copy_blocks.is_none() && b.format.is_none(), "{name}: slot B has no content");
        assert!(a.size_min.is_some() && a.size_min == a.size_max, "{name}: slot A has a fixed size");
        assert_eq!((a.size_min, a.size_max), (b.size_min, b.size_max), "{name}: both slots have one size");
        assert!(!a.factory_reset && !b.factory_reset && !esp.factory_reset, "{name}: the OS survives a reset");

        // user state: formatted, erased by a factory reset, and not part of the OS
        let reset: Vec<_> = defs.iter().filter(|d| d.factory_reset).collect();
        assert!(!reset.is_empty(), "{name}: some partition holds user state");
        for d in &reset {
            assert_eq!(d.format.as_deref(), Some("ext4"), "{}", d.file.display());
            assert!(!d.ptype.is_os(), "{}", d.file.display());
        }
        let root = defs.iter().find(|d| d.ptype.designator == Designator::Root).expect("a root partition");
        assert!(root.factory_reset, "{name}: root holds /etc");

        // exactly one partition grows, and the minimum disk size fits every minimum
        let growing: Vec<_> = defs.iter().filter(|d| d.size_max.is_none()).collect();
        assert_eq!(growing.len(), 1, "{name}: one partition takes the rest of the disk");
        let needed: u64 = defs.iter().map(|d| d.size_min.unwrap_or(0)).sum();
        let min_disk = spec.matches.min_disk_size.expect("MinDiskSize=");
        assert!(needed + (1 << 20) <= min_disk, "{name}: partitions need {needed}, MinDiskSize= is {min_disk}");

        for d in &defs {
            assert!(!(d.copy_blocks.is_some() && d.format.is_some()), "{}", d.file.display());
        }
    }
}

#[test]
fn shipped_layouts_differ_as_described() {
    let load = |n: &str| repart::load_definitions(&[profiles_root().join(n).join("repart.d")]).unwrap();
    let find = |defs: &[repart::PartitionDef], d: Designator| defs.iter().find(|p| p.ptype.designator == d).cloned();

    let desktop = load("desktop");
    let root = find(&desktop, Designator::Root).unwrap();
    assert_eq!(root.size_max, None, "desktop root grows");
    assert!(root.weight > 1000);
    assert!(find(&desktop, Designator::Var).is_none(), "desktop keeps /var on root");

    let server = load("server");
    let var = find(&server, Designator::Var).expect("server has /var");
    assert!(var.factory_reset && var.size_max.is_none(), "server /var is reset and grows");
    assert_eq!(var.format.as_deref(), Some("ext4"));
    let root = find(&server, Designator::Root).unwrap();
    assert!(root.size_max.is_some(), "server root is fixed");

    let kiosk = load("kiosk");
    let root = find(&kiosk, Designator::Root).unwrap();
    assert!(root.factory_reset && root.size_min == root.size_max, "kiosk root is small and fixed");
    assert!(root.size_max.unwrap() <= 2 << 30);
    let var = find(&kiosk, Designator::Var).unwrap();
    assert!(var.factory_reset);
}

#[test]
fn every_profile_file_says_what_it_is_for() {
    for name in SHIPPED {
        let dir = profiles_root().join(name);
        let mut files = vec![dir.join("profile.conf")];
        files.extend(fs::read_dir(dir.join("repart.d")).unwrap().map(|e| e.unwrap().path()));
        for f in files {
            let text = fs::read_to_string(&f).unwrap();
            assert!(text.starts_with("# "), "{} starts with a comment", f.display());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Finding profiles

#[test]
fn find_profile_by_name_and_by_path() {
    let search = vec![PathBuf::from("/nonexistent/imprint"), profiles_root()];
    assert_eq!(conf::find_profile("server", &search).unwrap(), profiles_root().join("server"));
    assert_eq!(conf::available_profiles(&search), SHIPPED, "invalid/ is no profile");

    let path = profiles_root().join("kiosk");
    assert_eq!(conf::find_profile(path.to_str().unwrap(), &[]).unwrap(), path);

    let err = conf::find_profile("desktp", &search).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "desktp: no installer profile of this name in /nonexistent/imprint, {}; available: desktop, kiosk, server",
            profiles_root().display()
        )
    );
    let err = conf::find_profile("desktop", &[]).unwrap_err().to_string();
    assert_eq!(err, "desktop: no installer profile of this name in no folders (none to search); available: none");

    let err = conf::find_profile("..", &search).unwrap_err().to_string();
    assert!(err.starts_with("..: not a profile name"), "{err}");

    let invalid = profiles_root().join("invalid");
    let err = conf::find_profile(invalid.to_str().unwrap(), &search).unwrap_err().to_string();
    assert_eq!(err, format!("{}: not an installer profile: no profile.conf in this folder", invalid.display()));
    let err = conf::find_profile("./no/such/folder", &search).unwrap_err().to_string();
    assert_eq!(err, "./no/such/folder: installer profile folder does not exist");
}

#[test]
fn the_first_search_folder_wins() {
    let first = write_profile(&[("desktop/profile.conf", "[Profile]\nName=desktop\n")]);
    let search = vec![first.path().to_path_buf(), profiles_root()];
    assert_eq!(conf::find_profile("desktop", &search).unwrap(), first.path().join("desktop"));
    assert_eq!(conf::find_profile("kiosk", &search).unwrap(), profiles_root().join("kiosk"));
}

// ---------------------------------------------------------------------------------------------
// Broken profiles

#[test]
fn invalid_examples_fail_naming_file_and_line() {
    const MATCH_KEYS: &str = "Architecture, Firmware, TPM, MinDiskSize, Virtualization, DMIVendor, DMIProduct";
    let archs = conf::ARCHITECTURES.join(", ");
    // folder, file the error names, line, message
    let cases: Vec<(&str, &str, Option<usize>, String)> = vec![
        ("unknown-key", "profile.conf", Some(7), format!("unknown key 'Virtualisation' in [Match]: valid keys are {MATCH_KEYS}")),
        ("bad-boolean", "profile.conf", Some(6), "invalid TPM='maybe': expected a boolean (yes/no, true/false, 1/0, on/off)".into()),
        (
            "bad-size",
            "profile.conf",
            Some(6),
            "invalid MinDiskSize='20GB': expected a size in bytes, optionally with a K, M, G, T, P or E suffix (base 1024), e.g. 32G"
                .into(),
        ),
        (
            "unknown-section",
            "profile.conf",
            Some(5),
            "unknown section [Firstboot]: valid sections are [Profile], [Match], [Encryption], [Reset]".into(),
        ),
        (
            "missing-name",
            "profile.conf",
            Some(2),
            "Name= is not set: every profile needs [Profile] Name= (letters, digits, '_' and '-')".into(),
        ),
        (
            "bad-name",
            "profile.conf",
            Some(3),
            "invalid Name='my desktop': expected letters, digits, '_' and '-' only, e.g. Name=desktop".into(),
        ),
        (
            "bad-architecture",
            "profile.conf",
            Some(6),
            format!(
                "invalid Architecture='x86-64 x86_65': unknown architecture 'x86_65': expected systemd's names ({archs}), \
                 or an alias such as x86_64, amd64, aarch64"
            ),
        ),
        ("bad-dropin", "profile.conf.d/50-local.conf", Some(3), "invalid Firmware='efi': expected uefi or bios".into()),
        (
            "bad-reset-pin",
            "profile.conf",
            Some(7),
            "invalid PIN=: not a crypt(3) hash: it looks like a plaintext PIN; write the yescrypt hash of the PIN, never the PIN itself: \
             the output of `mkpasswd -m yescrypt` (the value is not repeated here)"
                .into(),
        ),
        (
            "bad-repart-value",
            "repart.d/50-root.conf",
            Some(5),
            "unsupported Format='ext3': imprint formats vfat, ext4, btrfs, xfs, swap".into(),
        ),
        (
            "unsupported-repart-key",
            "repart.d/50-root.conf",
            Some(5),
            "CopyFiles= is a systemd-repart key that imprint does not support; remove it or install with systemd-repart".into(),
        ),
        (
            "no-repart-d",
            "repart.d",
            None,
            "missing: a profile keeps its partition definitions (systemd-repart *.conf files) in repart.d/".into(),
        ),
    ];
    let invalid = profiles_root().join("invalid");
    let mut folders: Vec<String> = fs::read_dir(&invalid)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    folders.sort();
    let mut known: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    known.sort();
    assert_eq!(folders, known, "every example in installer-profiles/invalid/ has a case here, and the other way round");

    for (folder, file, line, message) in &cases {
        let dir = invalid.join(folder);
        let readme = fs::read_to_string(dir.join("README")).unwrap_or_else(|_| panic!("{folder} has a README"));
        assert_eq!(readme.lines().count(), 1, "{folder}/README is one line");
        if let Some(line) = line {
            assert!(readme.contains(&format!("line {line}")), "{folder}/README names the line: {readme}");
        }
        let err = conf::load_profile(&dir).expect_err(folder);
        let path = dir.join(file);
        assert_eq!(err.file, path, "{folder}");
        assert_eq!(err.line, *line, "{folder}");
        let expected = match line {
            Some(l) => format!("{}:{l}: {message}", path.display()),
            None => format!("{}: {message}", path.display()),
        };
        assert_eq!(err.to_string(), expected, "{folder}");
    }
}

#[test]
fn bad_values_for_each_key_name_file_line_and_value() {
    // (profile.conf text, line, message)
    let cases: &[(&str, usize, &str)] = &[
        ("[Profile]\nName=a/b\n", 2, "invalid Name='a/b': expected letters, digits, '_' and '-' only, e.g. Name=desktop"),
        ("[Profile]\nName=x\nDescription=a\u{7}b\n", 3, "Description= contains control characters"),
        ("[Profile]\nName=x\nVersion=1\n", 3, "unknown key 'Version' in [Profile]: valid keys are Name, Description"),
        ("[Profile]\nName=x\n[Match]\nFirmware=efi\n", 4, "invalid Firmware='efi': expected uefi or bios"),
        ("[Profile]\nName=x\n[Match]\nTPM=2\n", 4, "invalid TPM='2': expected a boolean (yes/no, true/false, 1/0, on/off)"),
        (
            "[Profile]\nName=x\n[Match]\nMinDiskSize=-1\n",
            4,
            "invalid MinDiskSize='-1': expected a size in bytes, optionally with a K, M, G, T, P or E suffix (base 1024), e.g. 32G",
        ),
        (
            "[Profile]\nName=x\n[Match]\nVirtualization=KVM\n",
            4,
            "invalid Virtualization='KVM': 'KVM' is not a virtualization name: expected names systemd-detect-virt prints \
             (none, kvm, qemu, vmware, microsoft, oracle, xen, docker, podman, systemd-nspawn, …) or vm or container",
        ),
        (
            "[Profile]\nName=x\n[Match]\nVirtualization=no\n",
            4,
            "invalid Virtualization='no': 'no' is not a virtualization name: expected names systemd-detect-virt prints \
             (none, kvm, qemu, vmware, microsoft, oracle, xen, docker, podman, systemd-nspawn, …) or vm or container; \
             'none' means bare metal",
        ),
        ("[Profile]\nName=x\n[Match]\nDMIVendor=\"Dell Inc.\n", 4, "invalid DMIVendor='\"Dell Inc.': a quote is not closed"),
        (
            "[Profile]\nName=x\n[Match]\nDMIProduct=a \"\"\n",
            4,
            "invalid DMIProduct='a \"\"': empty name: expected an exact name or a pattern with * and ?",
        ),
        ("[Profile]\nName=x\n[Match]\nArchitecture=\n\nArchitecture=amd64 \\\n  sparc128\n", 6, "invalid Architecture='amd64    sparc128'"),
        ("[Profile]\nName=x\n[Install]\nWantedBy=x\n", 3, "unknown section [Install]: valid sections are [Profile], [Match]"),
        ("[Profile]\nName=x\nName=\n", 1, "Name= is not set: every profile needs [Profile] Name= (letters, digits, '_' and '-')"),
        ("[Profile]\nName=x\n[Match]\nnonsense\n", 4, "missing '=' in 'nonsense': expected Key=Value"),
    ];
    for (text, line, message) in cases {
        let dir = profile_with(text);
        let err = conf::load_profile(dir.path()).expect_err(text);
        let prefix = format!("{}:{line}: {message}", dir.path().join("profile.conf").display());
        assert!(err.to_string().starts_with(&prefix), "{text:?}\n got: {err}\nwant: {prefix}");
    }

    let dir = write_profile(&[("profile.conf", "# nothing\n"), ROOT_DEF]);
    let err = conf::load_profile(dir.path()).unwrap_err();
    assert_eq!(err.line, None, "no [Profile] at all: the file is named, no line");
    assert!(err.to_string().starts_with(&format!("{}: Name= is not set", dir.path().join("profile.conf").display())));

    let dir = write_profile(&[ROOT_DEF]);
    let err = conf::load_profile(dir.path()).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: not an installer profile: no profile.conf in this folder", dir.path().display()));

    let dir = write_profile(&[("profile.conf", "[Profile]\nName=x\n"), ("repart.d/README", "no definitions\n")]);
    let err = conf::load_profile(dir.path()).unwrap_err();
    assert!(err.to_string().contains("no partition definitions (*.conf)"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// [Match]

fn facts() -> MachineFacts {
    MachineFacts {
        architecture: "x86-64".into(),
        firmware: Firmware::Uefi,
        tpm_present: true,
        disk_size: Some(64 << 30),
        virtualization: "kvm".into(),
        dmi_vendor: Some("Dell Inc.".into()),
        dmi_product: Some("XPS 13 9310".into()),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn an_empty_match_matches_everything() {
    assert!(MatchSpec::default().mismatches(&facts()).is_empty());
    assert!(MatchSpec::default().mismatches(&MachineFacts::default()).is_empty());
}

#[test]
fn each_match_key_matching_and_not() {
    let f = facts();
    let check = |m: MatchSpec, f: &MachineFacts, want: &[&str]| {
        assert_eq!(m.mismatches(f), want, "{m:?}");
        assert_eq!(m.matches(f), want.is_empty());
    };

    // Architecture (aliases in the facts are resolved too)
    let arch = |a: &[&str]| MatchSpec { architecture: strings(a), ..Default::default() };
    check(arch(&["arm64", "x86-64"]), &f, &[]);
    check(arch(&["x86-64"]), &MachineFacts { architecture: "x86_64".into(), ..facts() }, &[]);
    check(arch(&["arm64"]), &f, &["architecture is x86-64, but the profile is for arm64"]);
    check(arch(&["arm64", "riscv64", "s390x"]), &f, &["architecture is x86-64, but the profile is for arm64, riscv64 or s390x"]);

    // Firmware
    let fw = |x| MatchSpec { firmware: Some(x), ..Default::default() };
    check(fw(Firmware::Uefi), &f, &[]);
    check(fw(Firmware::Bios), &f, &["firmware is UEFI, but the profile is for BIOS"]);
    check(fw(Firmware::Uefi), &MachineFacts { firmware: Firmware::Bios, ..facts() }, &["firmware is BIOS, but the profile is for UEFI"]);

    // TPM
    let tpm = |x| MatchSpec { tpm: Some(x), ..Default::default() };
    let no_tpm = MachineFacts { tpm_present: false, ..facts() };
    check(tpm(true), &f, &[]);
    check(tpm(false), &no_tpm, &[]);
    check(tpm(true), &no_tpm, &["no TPM is present, but the profile needs one"]);
    check(tpm(false), &f, &["a TPM is present, but the profile is for machines without one"]);

    // MinDiskSize (not checked while no disk is known)
    let min = |x| MatchSpec { min_disk_size: Some(x), ..Default::default() };
    check(min(64 << 30), &f, &[]);
    check(min(128 << 30), &f, &["the disk holds 64 GiB, but the profile needs at least 128 GiB"]);
    check(
        min(3 << 29),
        &MachineFacts { disk_size: Some(1 << 30), ..facts() },
        &["the disk holds 1 GiB, but the profile needs at least 1.5 GiB"],
    );
    check(min(u64::MAX), &MachineFacts { disk_size: None, ..facts() }, &[]);

    // Virtualization, with the vm and container groups
    let virt = |v: &[&str]| MatchSpec { virtualization: strings(v), ..Default::default() };
    check(virt(&["kvm"]), &f, &[]);
    check(virt(&["vm"]), &f, &[]);
    check(virt(&["none", "qemu", "kvm"]), &f, &[]);
    check(virt(&["none"]), &f, &["virtualization is kvm, but the profile is for none"]);
    check(virt(&["container"]), &f, &["virtualization is kvm, but the profile is for container"]);
    let metal = MachineFacts { virtualization: "none".into(), ..facts() };
    check(virt(&["none"]), &metal, &[]);
    check(virt(&["vm", "container"]), &metal, &["virtualization is none (bare metal), but the profile is for vm or container"]);
    check(virt(&["container"]), &MachineFacts { virtualization: "systemd-nspawn".into(), ..facts() }, &[]);
    check(
        virt(&["none"]),
        &MachineFacts { virtualization: String::new(), ..facts() },
        &["virtualization is unknown (systemd-detect-virt did not run), but the profile is for none"],
    );

    // DMI vendor and product: exact names and * ? patterns, case matters
    let vendor = |v: &[&str]| MatchSpec { dmi_vendor: strings(v), ..Default::default() };
    check(vendor(&["Dell Inc."]), &f, &[]);
    check(vendor(&["LENOVO", "Dell*"]), &f, &[]);
    check(vendor(&["dell*"]), &f, &["DMI vendor is 'Dell Inc.', but the profile is for 'dell*'"]);
    check(vendor(&["LENOVO", "HP"]), &f, &["DMI vendor is 'Dell Inc.', but the profile is for 'LENOVO' or 'HP'"]);
    check(
        vendor(&["Dell*"]),
        &MachineFacts { dmi_vendor: None, ..facts() },
        &["DMI vendor is unknown (no DMI data), but the profile is for 'Dell*'"],
    );
    let product = |v: &[&str]| MatchSpec { dmi_product: strings(v), ..Default::default() };
    check(product(&["XPS 13 ????"]), &f, &[]);
    check(product(&["*9310"]), &f, &[]);
    check(product(&["XPS 15*"]), &f, &["DMI product is 'XPS 13 9310', but the profile is for 'XPS 15*'"]);
    check(
        product(&["X"]),
        &MachineFacts { dmi_product: None, ..facts() },
        &["DMI product is unknown (no DMI data), but the profile is for 'X'"],
    );
}

#[test]
fn every_reason_is_given_at_once() {
    let m = MatchSpec {
        architecture: strings(&["arm64"]),
        firmware: Some(Firmware::Bios),
        tpm: Some(false),
        min_disk_size: Some(1 << 40),
        virtualization: strings(&["none"]),
        dmi_vendor: strings(&["LENOVO"]),
        dmi_product: strings(&["ThinkPad*"]),
    };
    let why = m.mismatches(&facts());
    assert_eq!(why.len(), 7, "{why:#?}");
    assert!(why[3].contains("at least 1 TiB"), "{}", why[3]);
}

#[test]
fn match_section_parses_into_the_spec() {
    let dir = profile_with(concat!(
        "[Profile]\n",
        "Name=laptops\n",
        "Description=Dell and Lenovo laptops\n",
        "\n",
        "[Match]\n",
        "Architecture=amd64 aarch64\n",
        "Architecture=x86_64\n",
        "Firmware=UEFI\n",
        "TPM=yes\n",
        "MinDiskSize=1.5G\n",
        "Virtualization=none\n",
        "DMIVendor=\"Dell Inc.\" LENOVO\n",
        "DMIProduct='XPS 13 *' \\\n",
        "  ThinkPad*\n",
    ));
    let spec = conf::load_profile(dir.path()).unwrap();
    assert_eq!(spec.name, "laptops");
    assert_eq!(spec.description.as_deref(), Some("Dell and Lenovo laptops"));
    assert_eq!(
        spec.matches,
        MatchSpec {
            architecture: strings(&["x86-64", "arm64"]),
            firmware: Some(Firmware::Uefi),
            tpm: Some(true),
            min_disk_size: Some(3 << 29),
            virtualization: strings(&["none"]),
            dmi_vendor: strings(&["Dell Inc.", "LENOVO"]),
            dmi_product: strings(&["XPS 13 *", "ThinkPad*"]),
        }
    );
    let metal = MachineFacts { virtualization: "none".into(), ..facts() };
    assert!(spec.matches.matches(&metal), "{:?}", spec.matches.mismatches(&metal));
    let json = serde_json::to_value(&spec.matches).unwrap();
    assert_eq!(json["firmware"], "uefi");
    assert_eq!(json["min_disk_size"], 3u64 << 29);
}

// ---------------------------------------------------------------------------------------------
// Drop-ins and list semantics

#[test]
fn dropins_apply_in_file_name_order() {
    let dir = write_profile(&[
        // written out of order on purpose: the order is the file names'
        (
            "profile.conf.d/20-b.conf",
            "[Match]\nArchitecture=\nArchitecture=riscv64\nVirtualization=kvm\n[Profile]\nDescription=from 20-b\n",
        ),
        ("profile.conf.d/10-a.conf", "[Profile]\nDescription=from 10-a\nName=renamed\n[Match]\nArchitecture=arm64\nTPM=no\n"),
        ("profile.conf.d/30-c.conf.disabled", "[Profile]\nName=ignored\n"),
        ("profile.conf.d/40-d.conf", "[Match]\nMinDiskSize=\nDMIVendor=QEMU\nDMIVendor=\n"),
        (
            "profile.conf",
            "[Profile]\nName=base\nDescription=from profile.conf\n[Match]\nArchitecture=x86-64\nVirtualization=none\nMinDiskSize=8G\nTPM=yes\n",
        ),
        ROOT_DEF,
    ]);
    let spec = conf::load_profile(dir.path()).unwrap();
    assert_eq!(spec.name, "renamed", "10-a overrides profile.conf; 30-c.conf.disabled is no drop-in");
    assert_eq!(spec.description.as_deref(), Some("from 20-b"), "20-b overrides 10-a");
    assert_eq!(spec.matches.architecture, ["riscv64"], "the empty assignment in 20-b reset x86-64 and arm64");
    assert_eq!(spec.matches.virtualization, ["none", "kvm"], "repeated list keys append");
    assert_eq!(spec.matches.tpm, Some(false), "single values: the last one wins");
    assert_eq!(spec.matches.min_disk_size, None, "an empty assignment unsets a single value");
    assert!(spec.matches.dmi_vendor.is_empty());
}

#[test]
fn a_dropin_error_names_the_dropin() {
    let dir = write_profile(&[
        ("profile.conf", "[Profile]\nName=x\n"),
        ("profile.conf.d/10-a.conf", "# fine\n[Match]\nTPM=yes\n"),
        ("profile.conf.d/20-b.conf", "\n\n[Match]\nTPM=perhaps\n"),
        ROOT_DEF,
    ]);
    let err = conf::load_profile(dir.path()).unwrap_err();
    assert_eq!(err.file, dir.path().join("profile.conf.d/20-b.conf"));
    assert_eq!(err.line, Some(4));
}

#[test]
fn repart_dropins_are_read_too() {
    let dir = write_profile(&[
        ("profile.conf", "[Profile]\nName=x\n"),
        ROOT_DEF,
        ("repart.d/50-root.conf.d/size.conf", "[Partition]\nSizeMinBytes=lots\n"),
    ]);
    let err = conf::load_profile(dir.path()).unwrap_err();
    assert_eq!(err.file, dir.path().join("repart.d/50-root.conf.d/size.conf"));
    assert_eq!(err.line, Some(2));
}

#[test]
fn gathered_facts_are_plausible() {
    let f = conf::gather_facts();
    assert_eq!(f.architecture, imprint::profile::types::native_arch());
    assert_eq!(f.disk_size, None);
    assert!(!f.virtualization.contains('\n'));
    assert!(f.dmi_vendor.as_deref().is_none_or(|v| !v.is_empty() && v.trim() == v));
}
