//! `--plain`: the installer's questions one after another as plain lines — no drawing, no cursor
//! movement, no colour — for screen readers, braille displays and dumb serial consoles. Same
//! words (the pages' catalogs), same checks and the same backend as the pages, so the same plan
//! and executor run.

use std::io::{BufRead, Write};

use anyhow::{Result, bail};
use imprint_screens::installer::{EncryptionChoice, InstallRequest, Msg, Request, StepState};
use imprint_screens::{Lang, Ui, disk_name};

use super::installer::{InstallerBackend, InstallerOptions};
use super::term::{self, Backend, Control, Input};

/// Fluent arguments from name/text pairs.
fn fluent_args<'a>(pairs: &'a [(&'a str, String)]) -> Vec<(&'a str, fluent_bundle::FluentValue<'a>)> {
    pairs.iter().map(|(k, v)| (*k, fluent_bundle::FluentValue::from(v.as_str()))).collect()
}

/// Line-by-line questions on stdin/stdout.
struct Prompt {
    ui: Ui,
}

impl Prompt {
    fn t(&self, id: &str) -> String {
        self.ui.t(id)
    }

    fn say(&self, text: &str) {
        println!("{text}");
    }

    /// One line from stdin; end of input is an error (nothing is installed).
    fn line(&self, question: &str) -> Result<String> {
        print!("{question} ");
        std::io::stdout().flush()?;
        let mut s = String::new();
        if std::io::stdin().lock().read_line(&mut s)? == 0 {
            bail!("end of input: nothing was installed");
        }
        Ok(s.trim_end_matches(['\n', '\r']).to_string())
    }

    /// A line read with echo off (PIN, passphrase); echo comes back even on error.
    fn secret(&self, question: &str) -> Result<zeroize::Zeroizing<String>> {
        let (answer, tty) = super::term::without_echo(|| self.line(question));
        if tty {
            println!();
        }
        Ok(zeroize::Zeroizing::new(answer?))
    }

    /// A numbered choice; `enabled[i]` false marks options that cannot be picked.
    fn choose(&self, question: &str, options: &[String], enabled: &[bool]) -> Result<usize> {
        self.say(question);
        for (i, o) in options.iter().enumerate() {
            let off =
                if enabled.get(i).copied().unwrap_or(true) { String::new() } else { format!(" {}", self.t("encryption-unavailable")) };
            self.say(&format!("  {}. {o}{off}", i + 1));
        }
        loop {
            let a = self.line(&self.t("plain-choose-number"))?;
            match a.trim().parse::<usize>() {
                Ok(n) if (1..=options.len()).contains(&n) && enabled.get(n - 1).copied().unwrap_or(true) => return Ok(n - 1),
                _ => self.say(&self.ui.t_args("plain-invalid-choice", &fluent_args(&[("max", options.len().to_string())]))),
            }
        }
    }
}

/// Waits for the backend's next message.
fn next(rx: &std::sync::mpsc::Receiver<Input<Msg>>) -> Result<Msg> {
    loop {
        match rx.recv()? {
            Input::Msg(m) => return Ok(m),
            Input::Key(_) | Input::Resize => continue,
            Input::Lost(why) => anyhow::bail!("the terminal cannot be read any more ({why})"),
        }
    }
}

pub fn installer(opts: InstallerOptions) -> Result<()> {
    let demo = opts.demo_target.is_some();
    let mut backend = InstallerBackend::new(opts);
    let facts = backend.facts();
    let mut ui = super::ui_from_env(demo);
    ui.ascii = true;
    let mut p = Prompt { ui };
    let (replies, _tx, rx) = term::channel_pair::<Msg>();
    let ask = |backend: &mut InstallerBackend, r: Request| -> Result<Msg> {
        backend.handle(r, &replies);
        next(&rx)
    };

    p.say(&format!("{} — {}{}", p.t("product-name"), p.t("installer-flow"), if demo { " (demo)" } else { "" }));
    // Language.
    let names: Vec<String> = Lang::ALL.iter().map(|l| l.name().to_string()).collect();
    let i = p.choose(&p.t("language-intro"), &names, &[true, true])?;
    p.ui.lang = Lang::ALL[i];

    // Keyboard.
    p.say(&p.t("keyboard-intro"));
    let keymap = loop {
        let a = p.line(&format!("{} [{}]", p.t("page-keyboard"), facts.default_keymap))?;
        let k = if a.trim().is_empty() { facts.default_keymap.clone() } else { a.trim().to_string() };
        if facts.keymaps.contains(&k) {
            break k;
        }
        p.say(&p.ui.t_args("plain-keymap-unknown", &fluent_args(&[("keymap", k.clone())])));
        let near: Vec<&String> = facts.keymaps.iter().filter(|m| m.starts_with(&k[..k.len().min(2)])).take(20).collect();
        if !near.is_empty() {
            p.say(&near.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
        }
    };
    backend.handle(Request::ApplyKeymap(keymap.clone()), &replies);

    // Disk.
    let Msg::Disks(disks) = ask(&mut backend, Request::ListDisks)? else { bail!("no disk list") };
    let size = |b: u64| imprint_screens::widgets::format::size(b, p.ui.lang);
    let mut options = Vec::new();
    let mut enabled = Vec::new();
    for d in &disks {
        let verdict = match &d.verdict {
            _ if !d.reasons.is_empty() => format!("{}: {}", p.t("disk-status-unusable"), d.reasons.join("; ")),
            Some(imprint_screens::Verdict::Fits) => p.t("disk-status-fits"),
            Some(imprint_screens::Verdict::NeedsErase { what }) => format!("{}: {}", p.t("disk-status-erase"), what.join("; ")),
            Some(imprint_screens::Verdict::TooSmall { .. }) => p.t("disk-status-too-small"),
            None => p.t("disk-status-unknown"),
        };
        options.push(format!("{} {} {} — {verdict}", d.path, size(d.size_bytes), d.model));
        enabled.push(d.installable());
    }
    if !enabled.iter().any(|e| *e) {
        bail!("{}", p.t("disk-none"));
    }
    let question =
        p.ui.t_args("disk-intro", &fluent_args(&[("source", facts.source.name.clone()), ("size", size(facts.source.size_bytes))]));
    let disk = disks[p.choose(&question, &options, &enabled)?].path.clone();

    // Encryption.
    let kinds = [p.t("encryption-tpm"), p.t("encryption-tpm-pin"), p.t("encryption-passphrase"), p.t("encryption-none")];
    if !facts.tpm.usable {
        p.say(&format!("{} {}", p.t("encryption-tpm-unusable"), facts.tpm.problem.clone().unwrap_or_default()));
    }
    let which = p.choose(&p.t("page-encryption"), &kinds, &[facts.tpm.usable, facts.tpm.usable, true, true])?;
    let explain = ["encryption-tpm-explain", "encryption-tpm-pin-explain", "encryption-passphrase-explain", "encryption-none-explain"];
    p.say(&p.t(explain[which]));
    let encryption = match which {
        0 => EncryptionChoice::Tpm,
        1 => EncryptionChoice::TpmPin(secret_twice(&p, &keymap, true)?),
        2 => EncryptionChoice::Passphrase(secret_twice(&p, &keymap, false)?),
        _ => EncryptionChoice::None,
    };

    // The TPM policy, when the image carries a key for a signed PCR 11 policy.
    let mut signed_policy = false;
    if let (true, Some(key)) = (which < 2, &facts.signed_policy) {
        let pcrs = facts.pcrs.iter().map(u32::to_string).collect::<Vec<_>>().join("+");
        let pairs = [("pcrs", pcrs)];
        let args = fluent_args(&pairs);
        let policies = [p.ui.t_args("encryption-policy-signed", &args), p.ui.t_args("encryption-policy-pcrs", &args)];
        let policy = p.choose(&p.t("encryption-policy"), &policies, &[true, true])?;
        signed_policy = policy == 0;
        p.say(&p.ui.t_args(if signed_policy { "encryption-policy-signed-explain" } else { "encryption-policy-pcrs-explain" }, &args));
        if signed_policy {
            let pairs = [("key", key.clone())];
            p.say(&p.ui.t_args("encryption-policy-key", &fluent_args(&pairs)));
        }
    }

    // Recovery key.
    if !matches!(encryption, EncryptionChoice::None) {
        let Msg::RecoveryKey(key) = ask(&mut backend, Request::NewRecoveryKey)? else { bail!("no recovery key") };
        p.say(&p.t("recovery-intro"));
        p.say(&format!("\n    {}\n", key.text.as_str()));
        for l in key.qr.lines(true) {
            p.say(&l);
        }
        p.say(&p.t("recovery-explain"));
        let n = imprint_screens::installer::recovery::CONFIRM_GROUP;
        let want = imprint_screens::installer::recovery::key_group(&key.text, n).unwrap_or_default().to_string();
        p.say(&p.ui.t_args("recovery-type-group", &fluent_args(&[("n", n.to_string())])));
        loop {
            let a = zeroize::Zeroizing::new(p.line(&p.ui.t_args("recovery-group-label", &fluent_args(&[("n", n.to_string())])))?);
            if a.trim().eq_ignore_ascii_case(&want) {
                break;
            }
            p.say(&p.ui.t_args("recovery-wrong-group", &fluent_args(&[("n", n.to_string())])));
        }
    }

    // Summary and the typed confirmation.
    let request = InstallRequest { lang: p.ui.lang, keymap, disk: disk.clone(), encryption, signed_policy };
    let plan = match ask(&mut backend, Request::Plan(request.clone()))? {
        Msg::Plan(v) => v,
        Msg::Failed(e) => bail!("{e}"),
        _ => bail!("no plan"),
    };
    p.say(&p.t("summary-before"));
    for r in &plan.before {
        p.say(&format!("  {} {} {} {}", r.number, r.label, r.kind, size(r.size_bytes)));
    }
    if plan.before.is_empty() {
        p.say(&format!("  {}", p.t("summary-no-partitions")));
    }
    p.say(&p.t("summary-after"));
    for r in &plan.after {
        p.say(&format!("  {} {} {} {}", r.number, r.label, r.kind, size(r.size_bytes)));
    }
    let name = disk_name(&disk).to_string();
    loop {
        let a = p.line(&p.ui.t_args("summary-type", &fluent_args(&[("name", name.clone())])))?;
        if a.trim() == name {
            break;
        }
        p.say(&p.ui.t_args("summary-name-mismatch", &fluent_args(&[("name", name.clone())])));
    }

    // Install: the plan just shown, for these answers.
    if backend.handle(Request::StartInstall(request), &replies) == Control::Quit {
        return Ok(());
    }
    let mut shown = 0usize;
    let mut last_pct = None;
    loop {
        match next(&rx)? {
            Msg::Progress(v) => {
                for s in v.steps.iter().filter(|s| s.state != StepState::Waiting).skip(shown) {
                    p.say(&format!("{} {}", p.t(s.kind.message_id()), s.label));
                    shown += 1;
                }
                let pct = (v.bytes_total > 0).then(|| v.bytes_done * 100 / v.bytes_total / 10 * 10);
                if pct.is_some() && pct != last_pct {
                    p.say(&format!("  {}%", pct.unwrap_or(0)));
                    last_pct = pct;
                }
            }
            Msg::Log(_) => {}
            Msg::Done(done) => {
                p.say(&p.t("done-ok"));
                for l in &done.proof {
                    // "done-ok" above says they held; a failed one says so in words
                    let failed = if l.ok { String::new() } else { format!("{}: ", p.t("done-check-failed")) };
                    p.say(&format!("  {failed}{} ({})", p.t(l.kind.message_id()), l.detail));
                }
                if let Some(seed) = &done.seed {
                    p.say(&p.ui.t_args("done-seed", &fluent_args(&[("seed", seed.clone())])));
                }
                if let Some(n) = &done.note {
                    p.say(n);
                }
                break;
            }
            Msg::Failed(e) => bail!("{e}"),
            _ => {}
        }
    }
    backend.handle(Request::Quit, &replies);
    Ok(())
}

/// A PIN or passphrase, typed twice, checked as the pages check it.
fn secret_twice(p: &Prompt, keymap: &str, pin: bool) -> Result<zeroize::Zeroizing<String>> {
    use imprint_screens::installer::encryption::{MIN_PASSPHRASE, MIN_PIN};
    let (first, again, short, mismatch, min) = if pin {
        ("encryption-pin", "encryption-pin-again", "encryption-pin-too-short", "encryption-pin-mismatch", MIN_PIN)
    } else {
        (
            "encryption-passphrase-field",
            "encryption-passphrase-again",
            "encryption-passphrase-too-short",
            "encryption-passphrase-mismatch",
            MIN_PASSPHRASE,
        )
    };
    loop {
        let a = p.secret(&p.t(first))?;
        if a.chars().count() < min {
            p.say(&p.ui.t_args(short, &fluent_args(&[("min", min.to_string())])));
            continue;
        }
        if let Err(c) = imprint_screens::keymap::typeable(keymap, &a) {
            p.say(&p.ui.t_args("encryption-not-typeable", &fluent_args(&[("char", c.to_string()), ("keymap", keymap.to_string())])));
            continue;
        }
        let b = p.secret(&p.t(again))?;
        if *a != *b {
            p.say(&p.t(mismatch));
            continue;
        }
        return Ok(a);
    }
}

/// `imprint firstboot --plain`: the wizard's questions as lines, the same checks and backend.
pub fn firstboot(mut backend: super::firstboot::FirstbootBackend) -> Result<()> {
    use imprint_screens::firstboot::check;
    use imprint_screens::firstboot::{FirstbootRequest, Msg as FbMsg, Request as FbRequest, RootChoice, UserRequest};
    let facts = backend.facts();
    let a = facts.answered;
    let mut ui = super::ui_from_env(false);
    ui.ascii = true;
    let mut p = Prompt { ui };
    let (replies, _tx, rx) = term::channel_pair::<FbMsg>();
    p.say(&format!("{} — {}", p.t("product-name"), p.t("fb-flow")));

    let mut locale = None;
    if !a.locale {
        let names: Vec<String> = Lang::ALL.iter().map(|l| l.name().to_string()).collect();
        p.ui.lang = Lang::ALL[p.choose(&p.t("fb-language-intro"), &names, &[true, true])?];
        locale = check::locale_for(p.ui.lang, &facts.locales);
    }
    let mut keymap = None;
    if !a.keymap && !facts.keymaps.is_empty() {
        p.say(&p.t("fb-keyboard-intro"));
        let default = if facts.keymaps.iter().any(|k| k == "us") { "us".to_string() } else { facts.keymaps[0].clone() };
        keymap = Some(loop {
            let k = p.line(&format!("{} [{default}]", p.t("fb-page-keyboard")))?;
            let k = if k.trim().is_empty() { default.clone() } else { k.trim().to_string() };
            if facts.keymaps.contains(&k) {
                break k;
            }
            p.say(&p.ui.t_args("plain-keymap-unknown", &fluent_args(&[("keymap", k.clone())])));
            p.say(&facts.keymaps.iter().filter(|m| m.starts_with(&k[..k.len().min(2)])).take(20).cloned().collect::<Vec<_>>().join(" "));
        });
    }
    let mut timezone = None;
    if !a.timezone && !facts.timezones.is_empty() {
        let zones: Vec<&String> = facts.timezones.iter().flat_map(|(_, z)| z.iter()).collect();
        timezone = Some(loop {
            let z = p.line(&format!("{} (Europe/Berlin, …)", p.t("fb-page-timezone")))?;
            if let Some(found) = zones.iter().find(|c| c.as_str() == z.trim()) {
                break (*found).clone();
            }
            let hits: Vec<&str> =
                zones.iter().filter(|c| c.to_lowercase().contains(&z.trim().to_lowercase())).take(20).map(|s| s.as_str()).collect();
            p.say(&if hits.is_empty() { p.t("fb-no-match") } else { hits.join(" ") });
        });
    }
    let mut hostname = None;
    if !a.hostname {
        p.say(&p.t("fb-hostname-intro"));
        hostname = Some(loop {
            let h = p.line(&format!("{} [{}]", p.t("fb-hostname-label"), facts.suggested_hostname))?;
            let h = if h.trim().is_empty() { facts.suggested_hostname.clone() } else { h.trim().to_string() };
            match check::check_hostname(&h) {
                Ok(()) => break h,
                Err(e) => p.say(&e.words(&p.ui)),
            }
        });
    }
    let ask_password = |p: &Prompt| -> Result<zeroize::Zeroizing<String>> {
        loop {
            let a = p.secret(&p.t("fb-password-label"))?;
            let b = p.secret(&p.t("fb-repeat-label"))?;
            match check::check_passwords(&a, &b) {
                Ok(()) => return Ok(a),
                Err(e) => p.say(&e.words(&p.ui)),
            }
        }
    };
    let root = if a.root_password {
        RootChoice::Unchanged
    } else {
        p.say(&p.t("fb-root-intro"));
        match p.choose(&p.t("fb-page-root"), &[p.t("fb-root-set"), p.t("fb-root-lock")], &[true, true])? {
            0 => RootChoice::Password(ask_password(&p)?),
            _ => RootChoice::Locked,
        }
    };
    let mut user = None;
    if !a.user {
        let classic = !facts.homed_available;
        p.say(&p.t(if classic { "fb-user-no-homed" } else { "fb-user-intro" }));
        let name = loop {
            let n = p.line(&p.t("fb-user-name-label"))?;
            match check::check_user_name(n.trim()) {
                Ok(()) => break n.trim().to_string(),
                Err(e) => p.say(&e.words(&p.ui)),
            }
        };
        let real_name = loop {
            let r = p.line(&p.t("fb-real-name-label"))?;
            match check::check_real_name(r.trim()) {
                Ok(()) => break r.trim().to_string(),
                Err(e) => p.say(&e.words(&p.ui)),
            }
        };
        let password = ask_password(&p)?;
        let admin = p.choose(&p.t("fb-user-admin"), &["yes".into(), "no".into()], &[true, true])? == 0;
        user = Some(UserRequest { name, real_name, password, admin, classic });
    }
    let req = FirstbootRequest { lang: p.ui.lang, locale, keymap, timezone, hostname, root, user };
    backend.handle(FbRequest::Apply(req), &replies);
    let result = loop {
        match rx.recv()? {
            Input::Msg(FbMsg::Step(step)) => p.say(&step.words(&p.ui)),
            Input::Msg(FbMsg::Applied(_)) => break Ok(()),
            Input::Msg(FbMsg::Failed(e)) => break Err(anyhow::anyhow!("{e}")),
            _ => {}
        }
    };
    backend.handle(FbRequest::Quit, &replies);
    result?;
    p.say(&p.t("fb-done-intro"));
    Ok(())
}
