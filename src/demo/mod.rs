//! `imprint demo`: the installer's main job on an embedded default, touching no real disk.
//!
//! It generates a small OS image the way a distribution would (an ESP and a /usr file system,
//! laid out by imprint itself from repart.d definitions with CopyBlocks=), then installs it
//! onto a new sparse image file with the embedded demo profile, and prints what happened.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::{DemoArgs, ProgressMode};
use crate::exec::Verify;
use crate::plan::EmptyMode;
use crate::task;

pub mod tpm;

const SOURCE_DEFS: &[(&str, &str)] =
    &[("10-esp.conf", include_str!("source.repart.d/10-esp.conf")), ("20-usr.conf", include_str!("source.repart.d/20-usr.conf"))];

const INSTALL_DEFS: &[(&str, &str)] = &[
    ("00-esp.conf", include_str!("install.repart.d/00-esp.conf")),
    ("10-usr-a.conf", include_str!("install.repart.d/10-usr-a.conf")),
    ("20-usr-b.conf", include_str!("install.repart.d/20-usr-b.conf")),
    ("50-root.conf", include_str!("install.repart.d/50-root.conf")),
];

/// The seed of the demo: the same demo gives the same disk.
pub const DEMO_SEED: uuid::Uuid = uuid::uuid!("8a9cf8b6-4c0d-4f6e-9d0e-64656d6f2121");

/// Size of the demo's target image.
pub const DEMO_TARGET_SIZE: u64 = 4 << 30;

fn write_defs(dir: &Path, defs: &[(&str, &str)], subst: &[(&str, String)]) -> Result<()> {
    fs::create_dir_all(dir)?;
    for (name, text) in defs {
        let mut t = text.to_string();
        for (k, v) in subst {
            t = t.replace(k, v);
        }
        fs::write(dir.join(name), t)?;
    }
    Ok(())
}

/// Deterministic filler so the demo /usr has real data to copy and hash.
fn filler(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

/// Builds the demo OS image `dir/source.img` (ESP + /usr) and returns its path.
pub fn build_source_image(dir: &Path) -> Result<PathBuf> {
    let work = dir.join("source-parts");
    fs::create_dir_all(&work)?;
    // /usr tree
    let tree = work.join("usr-tree");
    if tree.exists() {
        fs::remove_dir_all(&tree)?;
    }
    fs::create_dir_all(tree.join("lib"))?;
    fs::create_dir_all(tree.join("share/demo"))?;
    fs::write(
        tree.join("lib/os-release"),
        "NAME=\"imprint demo OS\"\nID=imprint-demo\nVERSION_ID=1.0\nIMAGE_ID=demo-usr\nIMAGE_VERSION=1.0\n",
    )?;
    for i in 0..24u64 {
        File::create(tree.join(format!("share/demo/blob-{i:02}.bin")))?.write_all(&filler(i + 1, 1 << 20))?;
    }
    let usr = work.join("usr.ext4");
    let esp = work.join("esp.vfat");
    let _ = fs::remove_file(&usr);
    let _ = fs::remove_file(&esp);
    File::create(&usr)?.set_len(96 << 20)?;
    task::run(
        "mkfs.ext4",
        ["-q", "-F", "-L", "demo-usr", "-U", "6f0a0f2e-3c1f-4a43-9d11-64656d6f7573", "-d"]
            .iter()
            .map(|s| s.to_string())
            .chain([tree.display().to_string(), usr.display().to_string()]),
    )?;
    File::create(&esp)?.set_len(64 << 20)?;
    task::run("mkfs.vfat", ["-F", "32", "-n", "ESP", "-i", "64656d6f", &esp.display().to_string()])?;

    let defs = work.join("source.repart.d");
    write_defs(&defs, SOURCE_DEFS, &[("@ESP@", esp.display().to_string()), ("@USR@", usr.display().to_string())])?;
    let img = dir.join("source.img");
    let _ = fs::remove_file(&img);
    let mut req = crate::install::Request::new(img.clone());
    req.target_size = Some(256 << 20);
    req.definitions = vec![defs];
    req.seed = Some(uuid::uuid!("5d3c2e10-0f5b-4e7a-8a55-64656d6f5352"));
    req.empty = EmptyMode::Create;
    req.verify = Verify::Stream;
    let prepared = crate::install::prepare(&req, &crate::install::Host::default()).context("planning the demo source image")?;
    crate::install::perform(&prepared, &crate::install::Secrets::default(), &crate::exec::CANCEL, &mut |_| {})
        .context("building the demo source image")?;
    fs::remove_dir_all(&tree)?;
    Ok(img)
}

pub fn run(args: &DemoArgs, plain: bool) -> Result<()> {
    if plain || (crate::app::interactive() && !args.unattended) {
        return run_tui(args, plain);
    }
    let dir = demo_dir(args)?;
    println!("imprint demo — nothing on this machine's disks is touched; everything happens in {}", dir.display());
    println!("Building the demo OS image (ESP + /usr 1.0)…");
    let source = build_source_image(&dir)?;
    let defs = dir.join("install.repart.d");
    write_defs(&defs, INSTALL_DEFS, &[])?;
    let target = dir.join("target.img");
    let _ = fs::remove_file(&target);
    let mut req = crate::install::Request::new(target.clone());
    req.source = Some(source.display().to_string());
    req.target_size = Some(DEMO_TARGET_SIZE);
    req.definitions = vec![defs];
    req.seed = Some(DEMO_SEED);
    req.verify = Verify::Readback;
    let prepared = crate::install::prepare(&req, &crate::install::Host::default())?;
    let json = args.progress == ProgressMode::Json;
    if !json {
        print!("{}", crate::plan::render(&prepared.plan));
        println!();
    }
    crate::cmd::install_signal_handlers();
    let mut sink = crate::cmd::progress_sink(args.progress);
    let report = crate::install::perform(&prepared, &crate::install::Secrets::default(), &crate::exec::CANCEL, &mut sink)?;
    if !json {
        crate::cmd::print_report(&report);
    }
    println!();
    println!("Demo finished. Look at the result with:");
    println!("  sfdisk -l {}", target.display());
    println!("  systemd-repart --dry-run=yes --definitions={} {}", dir.join("install.repart.d").display(), target.display());
    Ok(())
}

/// `imprint demo` at a terminal: the installer's pages against the demo image, the target a new
/// sparse image file in the demo's folder, a software TPM when swtpm is installed.
fn run_tui(args: &DemoArgs, plain: bool) -> Result<()> {
    let dir = demo_dir(args)?;
    println!("imprint demo — nothing on this machine's disks is touched; everything happens in {}", dir.display());
    println!("Building the demo OS image (ESP + /usr 1.0)…");
    let source = build_source_image(&dir)?;
    let defs = dir.join("install.repart.d");
    write_defs(&defs, INSTALL_DEFS, &[])?;
    let target = dir.join("target.img");
    let _ = fs::remove_file(&target);
    let tpm = tpm::DemoTpm::start(&dir);
    let tpm2_device = match &tpm {
        Ok(t) => t.tcti(),
        Err(why) => {
            println!("No TPM for the demo ({why}); the TPM choices will say so.");
            "swtpm:host=127.0.0.1,port=1".into()
        }
    };
    let opts = crate::app::installer::InstallerOptions {
        source: source.display().to_string(),
        profile: None,
        definitions: vec![defs],
        demo_target: Some((target.clone(), DEMO_TARGET_SIZE)),
        tpm2_device,
        pbkdf: crate::luks::Pbkdf::Systemd,
        seed: Some(DEMO_SEED),
        note: Some(format!("The demo's files are in {}", dir.display())),
        answers_out: Some(dir.join("answers.conf")),
    };
    if plain {
        crate::app::plain::installer(opts)?;
    } else {
        crate::app::run_installer(opts, &dir.join("imprint.log"))?;
    }
    drop(tpm);
    println!("The demo's files are in {} (the installer's log: {}).", dir.display(), dir.join("imprint.log").display());
    if target.exists() {
        println!("Look at the result with: sfdisk -l {}", target.display());
    }
    Ok(())
}

fn demo_dir(args: &DemoArgs) -> Result<PathBuf> {
    Ok(match &args.dir {
        Some(d) => {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            // the definitions written there name files in it: they must be absolute paths
            fs::canonicalize(d).with_context(|| format!("resolving {}", d.display()))?
        }
        None => tempfile::Builder::new().prefix("imprint-demo.").tempdir()?.keep(),
    })
}
