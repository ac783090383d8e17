#!/usr/bin/env python3
"""The whole-system test: the live image installs itself, unattended, onto a blank disk in a VM;
the installed disk then boots alone and must unlock its root from the TPM and set itself up.

QEMU under TCG (KVM hangs on the project's machines), q35, OVMF, a swtpm as the VM's TPM 2.0,
the serial console driven with pexpect. Answers come as systemd credentials (SMBIOS type 11).
Prints one line per check, PASS or FAIL and the reason, and exits non-zero on any failure. A
check says PASS only for what it observed on the console.

usage: tests/e2e/run.py [--image live-image/out/imprint-live.img] [--keep]
"""

import argparse
import base64
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pexpect

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"

ROOT_PASSWORD = "imprint-e2e-root"
USER_PASSWORD = "imprint-e2e-anna"
EXPECT = {
    "locale": "de_DE.UTF-8",
    "keymap": "de",
    "timezone": "Europe/Berlin",
    "hostname": "imprint-e2e",
    "user": "anna",
}
TARGET_SIZE = 4 << 30
T_INSTALL = 20 * 60  # boot of the live image + install, upper bound under TCG
T_BOOT = 8 * 60


def log(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


def credentials():
    hashed = crypt.crypt(ROOT_PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))
    # homed refuses to create a home without a way in: the record carries a password (in its
    # secret section; imprint hashes it into the privileged section, as homectl does)
    user = (
        '{"userName":"%s","realName":"Anna E2E","storage":"directory","disposition":"regular",'
        '"secret":{"password":["%s"]}}' % (EXPECT["user"], USER_PASSWORD)
    )
    text = {
        # the unattended install (live image)
        "imprint.install": "auto",
        "imprint.install.encrypt": "tpm2",
        "imprint.install.tpm2-pcrs": "7",
        # the first boot of the installed system
        "firstboot.locale": EXPECT["locale"],
        "firstboot.keymap": EXPECT["keymap"],
        "firstboot.timezone": EXPECT["timezone"],
        "system.hostname": EXPECT["hostname"],
        "passwd.hashed-password.root": hashed,
    }
    binary = {f"home.create.{EXPECT['user']}": user}
    args = []
    for k, v in text.items():
        args += ["-smbios", "type=11,value=io.systemd.credential:%s=%s" % (k, v.replace(",", ",,"))]
    for k, v in binary.items():
        b = base64.b64encode(v.encode()).decode()
        args += ["-smbios", "type=11,value=io.systemd.credential.binary:%s=%s" % (k, b)]
    return args


class Tpm:
    """A swtpm for the VM, its state kept across the VM's boots."""

    def __init__(self, work):
        self.state = os.path.join(work, "tpm")
        self.sock = os.path.join(work, "swtpm.sock")
        os.makedirs(self.state)
        subprocess.run(
            ["swtpm_setup", "--tpm2", "--tpmstate", self.state, "--create-ek-cert", "--overwrite"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.proc = None

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(
            ["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={self.state}", "--ctrl", f"type=unixio,path={self.sock}"],
        )
        for _ in range(100):
            if os.path.exists(self.sock):
                return
            time.sleep(0.05)
        raise RuntimeError("swtpm did not create its socket")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


def qemu(work, tpm, disks, vars_name, logname):
    vars_file = os.path.join(work, vars_name)
    shutil.copy(OVMF_VARS, vars_file)  # fresh firmware variables for every machine start
    cmd = [
        "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "2048",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}",
        "-chardev", f"socket,id=chrtpm,path={tpm.sock}",
        "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0",
        "-display", "none", "-serial", "stdio", "-monitor", "none", "-nic", "none", "-no-reboot",
    ]
    for d in disks:
        cmd += ["-drive", d]
    cmd += credentials()
    logf = open(os.path.join(work, logname), "w")
    child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", codec_errors="replace", timeout=T_BOOT, maxread=65536)
    child.logfile_read = logf
    return child


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default=os.path.join(REPO, "live-image/out/imprint-live.img"))
    ap.add_argument("--keep", action="store_true", help="keep the work folder (disks, logs)")
    args = ap.parse_args()
    if not os.path.exists(args.image):
        print(f"FAIL no live image at {args.image}: run make live-image")
        return 1

    results = []

    def check(ok, what, why=""):
        # the report line is the wording; what was seen goes to stderr either way
        results.append(("PASS " + what) if ok else ("FAIL " + what + (f": {why}" if why else "")))
        if why:
            log(f"{what}: seen {why}")

    work = tempfile.mkdtemp(prefix="imprint-e2e.")
    log(f"work folder {work} (serial logs: live.log, installed.log)")
    target = os.path.join(work, "target.img")
    with open(target, "wb") as f:
        f.truncate(TARGET_SIZE)
    tpm = Tpm(work)
    started = time.time()
    names = ["unlocked by TPM without a password", "firstboot applied", "homed user exists"]
    try:
        # --- boot 1: the live image installs onto the blank disk and powers off --------------
        tpm.start()
        live = qemu(
            work, tpm,
            [f"file={args.image},format=raw,if=virtio,snapshot=on", f"file={target},format=raw,if=virtio"],
            "vars-live.fd", "live.log",
        )
        i = live.expect([r"imprint-live: installed onto [^\n]*", r"imprint-live: install failed[^\n]*", pexpect.TIMEOUT, pexpect.EOF], timeout=T_INSTALL)
        if i != 0:
            why = {1: live.after.strip() if isinstance(live.after, str) else "", 2: "timed out", 3: "the VM stopped"}[i]
            log(f"unattended install did not finish: {why} (after {time.time() - started:.0f}s)")
            for n in names:
                check(False, n, f"the unattended install from the live image did not finish ({why}; see live.log)")
            live.terminate(force=True)
            return report(results, work, args.keep)
        log(f"installed after {time.time() - started:.0f}s; waiting for the power-off")
        live.expect(pexpect.EOF, timeout=300)
        live.close()
        tpm.stop()

        # --- boot 2: the installed disk alone, same TPM, fresh firmware variables ------------
        t2 = time.time()
        tpm.start()
        vm = qemu(work, tpm, [f"file={target},format=raw,if=virtio"], "vars-installed.fd", "installed.log")
        prompt_seen = False
        i = vm.expect([r"Please enter passphrase[^\n]*", r"\blogin: ", pexpect.TIMEOUT, pexpect.EOF])
        if i == 0:
            prompt_seen = True
            check(False, names[0], "the initrd asked for a passphrase: the TPM did not unlock the root")
            vm.terminate(force=True)
            check(False, names[1], "not reached (the root stayed locked)")
            check(False, names[2], "not reached (the root stayed locked)")
            return report(results, work, args.keep)
        if i != 1:
            why = "timed out" if i == 2 else "the VM stopped"
            for n in names:
                check(False, n, f"the installed system did not reach a login prompt ({why}; see installed.log)")
            vm.terminate(force=True)
            return report(results, work, args.keep)
        log(f"installed system at the login prompt after {time.time() - t2:.0f}s")
        vm.sendline("root")
        vm.expect(r"Password: ")
        vm.sendline(ROOT_PASSWORD)
        i = vm.expect([r"#", r"Login incorrect", pexpect.TIMEOUT])
        if i != 0:
            why = "root's password from the credential passwd.hashed-password.root was not accepted"
            check(False, names[0], "logged in: no; " + why)
            check(False, names[1], why)
            check(False, names[2], "cannot log in to look")
            vm.terminate(force=True)
            return report(results, work, args.keep)
        vm.sendline("export PS1='E2E# ' TERM=dumb; stty -echo")
        vm.expect(r"E2E# ")

        def sh(cmd, timeout=60):
            # the markers are quoted in the command, so its echo never matches them
            vm.sendline(f'echo @@"B"; {cmd}; echo @@"E"')
            try:
                vm.expect(r"@@B\r*\n", timeout=timeout)
                vm.expect(r"@@E", timeout=timeout)
            except pexpect.TIMEOUT:
                return f"(no answer to {cmd!r} within {timeout}s)"
            return vm.before.replace("\r", "").strip()

        # 1. the root: on dm-crypt (LUKS2), opened in the initrd, and no passphrase was asked
        src = sh("findmnt -no SOURCE /")
        kind = sh(f"lsblk -no TYPE {src} | head -1")
        luks = sh("cryptsetup status root 2>&1 | sed -n 's/^ *type: *//p'")
        tokens = sh("cryptsetup luksDump $(cryptsetup status root | sed -n 's/^ *device: *//p') | grep -c systemd-tpm2")
        tpmlog = sh("journalctl -b -o cat | grep -iE 'tpm2|unseal' | grep -iv 'pcr' | head -3")
        ok = (not prompt_seen) and kind == "crypt" and luks == "LUKS2" and tokens.strip() not in ("", "0")
        check(ok, names[0], f"/ is {src} ({kind or 'unknown'}), type {luks or 'unknown'}, systemd-tpm2 tokens: {tokens or '0'}")
        if tpmlog:
            log("initrd journal: " + tpmlog.replace("\n", " | "))

        # 2. first-boot settings from the credentials
        got = {
            "locale": sh("(. /etc/locale.conf 2>/dev/null || . /etc/default/locale 2>/dev/null; echo $LANG)"),
            "keymap": sh("sed -n 's/^KEYMAP=//p' /etc/vconsole.conf 2>/dev/null"),
            "timezone": sh("readlink /etc/localtime | sed 's|.*/zoneinfo/||'"),
            "hostname": sh("cat /etc/hostname"),
        }
        wrong = [f"{k}={got[k]!r} (wanted {EXPECT[k]!r})" for k in got if got[k] != EXPECT[k]]
        fb = sh("systemctl is-active imprint-firstboot.service; journalctl -b -u imprint-firstboot.service -o cat | tail -3")
        seen = "; ".join(wrong) or ", ".join(f"{k}={v}" for k, v in got.items())
        check(not wrong, names[1], seen + f" — imprint-firstboot: {fb.replace(chr(10), ' | ')}")

        # 3. the first user, created through systemd-homed from home.create.<user>
        u = EXPECT["user"]
        homed = sh(f"homectl inspect {u} 2>&1 | grep -E 'User name|State|Storage' | tr -s ' '")
        pw = sh(f"getent passwd {u}")
        ok = f"User name: {u}" in homed and pw.startswith(f"{u}:")
        unit = sh("systemctl is-active imprint-firstboot-user.service; journalctl -b -u imprint-firstboot-user.service -o cat | tail -3")
        check(ok, names[2], f"homectl: {homed.replace(chr(10), ' | ') or 'nothing'}; getent: {pw or 'nothing'} — imprint-firstboot-user: {unit.replace(chr(10), ' | ')}")
        vm.sendline("systemctl poweroff")
        try:
            vm.expect(pexpect.EOF, timeout=120)
        except pexpect.TIMEOUT:
            vm.terminate(force=True)
        log(f"done in {time.time() - started:.0f}s")
        return report(results, work, args.keep)
    finally:
        tpm.stop()


def report(results, work, keep):
    for line in results:
        # the reason is for people; the check's words come first, exactly
        print(line, flush=True)
    failed = any(r.startswith("FAIL") for r in results)
    if keep or failed:
        log(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # the harness broke: say so, never a PASS
        print(f"FAIL the VM test itself: {type(e).__name__}: {e}".splitlines()[0], flush=True)
        sys.exit(1)
