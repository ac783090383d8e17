#!/usr/bin/env python3
"""The whole-system test, two scenarios, each on a blank disk in its own VM with its own TPM:

- unattended: the live image installs itself (credentials ask for it); the installed disk then
  boots alone and must unlock its root from the TPM and set itself up from credentials. Its
  encrypted root is then grown (systemd-growfs) into the never-written part of the volume and
  filled with 300 MiB; a third boot reads the files back and checks the file system read-only.
  In that boot `imprint tpm prepare` is given a dbx update; the update is then put into the
  machine's firmware variables, and a fourth boot must unlock by itself, leaving one TPM2 key.
- attended: the live image boots from its default entry with no credentials, stays up and shows
  the installer on the serial console (whose size nobody set) and on tty1 (read from QEMU's
  screendump with the kernel's console font); the pages are driven key by key on ttyS0,
  the screen read through a terminal emulator (pyte): German, the `de` keyboard, the blank disk,
  TPM, the recovery-key group typed back, the disk's name typed, done, power off. The installed
  disk then boots alone with no locale or keymap credentials: the root must unlock from the TPM,
  and the installer's answers (German, `de`) must be in /etc; its disk GUID must not be the
  demo seed's. Then the Secure Boot state changes: a dbx entry is added to the machine's
  firmware variables while it is off (this OVMF build has no Secure Boot, so it takes no signed
  update at run time; it measures the new dbx into PCR 7 all the same). The next boot asks for
  the recovery key, which is typed on the serial console; the notice is above the login prompt,
  the login offers the reseal, which is accepted with the recovery key; the boot after that
  unlocks with no password.

QEMU under TCG (KVM hangs on the project's machines), q35, OVMF, a swtpm as the VM's TPM 2.0,
the serial console driven with pexpect. Answers come as systemd credentials (SMBIOS type 11).
Prints one line per check, PASS or FAIL and the reason, and exits non-zero on any failure. A
check says PASS only for what it observed on the console.

usage: tests/e2e/run.py [--image live-image/out/imprint-live.img] [--scenario all|unattended|attended] [--keep]
"""

import argparse
import base64
import lzma
import hashlib
import hmac
import json
import uuid
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pexpect

try:
    import pyte
except ImportError:
    # Debian's python3-pyte (make e2e-deps) is pure Python; a python3 from elsewhere (pyenv) on
    # PATH does not see Debian's packages: look there too
    for d in ("/usr/lib/python3/dist-packages",):
        if os.path.isdir(os.path.join(d, "pyte")) and d not in sys.path:
            sys.path.append(d)
    try:
        import pyte
    except ImportError:
        pyte = None

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
# the encrypted root is filled with this much (FILL_FILES files of FILL_MIB MiB) and read back
FILL_DIR = "/root/e2e-fill"
FILL_FILES = 12
FILL_MIB = 25
T_INSTALL = 20 * 60  # boot of the live image + install, upper bound under TCG
T_BOOT = 8 * 60


def log(msg):
    print(f"e2e: {msg}", file=sys.stderr, flush=True)


def credentials(install=True, locale=True):
    hashed = crypt.crypt(ROOT_PASSWORD, crypt.mksalt(crypt.METHOD_SHA512))
    # homed refuses to create a home without a way in: the record carries a password (in its
    # secret section; imprint hashes it into the privileged section, as homectl does)
    user = (
        '{"userName":"%s","realName":"Anna E2E","storage":"directory","disposition":"regular",'
        '"secret":{"password":["%s"]}}' % (EXPECT["user"], USER_PASSWORD)
    )
    text = {}
    if install:
        # the unattended install (live image)
        text.update({"imprint.install": "auto", "imprint.install.encrypt": "tpm2", "imprint.install.tpm2-pcrs": "7"})
    if locale:
        text.update({"firstboot.locale": EXPECT["locale"], "firstboot.keymap": EXPECT["keymap"]})
    # the rest of the installed system's first boot
    text.update({
        "firstboot.timezone": EXPECT["timezone"],
        "system.hostname": EXPECT["hostname"],
        "passwd.hashed-password.root": hashed,
    })
    binary = {f"home.create.{EXPECT['user']}": user}
    args = []
    for k, v in text.items():
        args += ["-smbios", "type=11,value=io.systemd.credential:%s=%s" % (k, v.replace(",", ",,"))]
    for k, v in binary.items():
        b = base64.b64encode(v.encode()).decode()
        args += ["-smbios", "type=11,value=io.systemd.credential.binary:%s=%s" % (k, b)]
    return args


# dbx lives in the image security database (EFI_IMAGE_SECURITY_DATABASE_GUID)
IMAGE_SECURITY_DB = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"


def dbx_list(label):
    """A dbx update's content: an EFI_SIGNATURE_LIST of type EFI_CERT_SHA256_GUID holding one
    EFI_SIGNATURE_DATA (Microsoft's owner GUID, a revoked hash)."""
    owner = uuid.UUID("77fa9abd-0359-4d32-bd60-28f4e78f784b").bytes_le
    data = owner + hashlib.sha256(label.encode()).digest()
    sha256_type = uuid.UUID("c1c41626-504c-4092-aca9-41f936934328").bytes_le
    return sha256_type + struct.pack("<III", 28 + len(data), 0, len(data)) + data


def auth_file(payload):
    """An update file as fwupd and distributions ship them: EFI_VARIABLE_AUTHENTICATION_2 (a
    timestamp, a WIN_CERTIFICATE_UEFI_GUID with a PKCS#7 signature: a placeholder here, which
    imprint does not check and the firmware is not asked to) and the new signature lists."""
    stamp = struct.pack("<HBBBBBBIhBB", 2026, 12, 6, 0, 0, 0, 0, 0, 0, 0, 0)
    signature = b"a PKCS#7 signature by the KEK"
    cert = struct.pack("<IHH", 24 + len(signature), 0x0200, 0x0EF1) + uuid.UUID("4aafd29d-68df-49ee-8aa9-347d375665a7").bytes_le + signature
    return stamp + cert + payload


def set_firmware_variable(vars_file, name, guid, data, attrs=0x27):
    """Sets a variable in a powered-off machine's OVMF variable store (EDK2's authenticated
    format, as virt-fw-vars edits it): an older copy is marked deleted, the new one is added after
    the last. This OVMF build has no Secure Boot, so the firmware cannot take a signed update at
    run time; it reads the store at the next start as it would after a real update, and measures
    db/dbx into PCR 7. Default attributes: non-volatile, boot and runtime access, time-based
    authenticated write (as dbx has)."""
    b = bytearray(open(vars_file, "rb").read())
    if b[40:44] != b"_FVH":
        raise ValueError(f"{vars_file}: no firmware volume header")
    store = struct.unpack_from("<H", b, 48)[0]
    if uuid.UUID(bytes_le=bytes(b[store:store + 16])) != uuid.UUID("aaf32c78-947b-439a-a180-2e144ec37792"):
        raise ValueError(f"{vars_file}: not an authenticated variable store")
    size = struct.unpack_from("<I", b, store + 16)[0]
    end = store + size
    name16 = (name + "\0").encode("utf-16-le")
    guid_b = uuid.UUID(guid).bytes_le
    off = store + 28
    while off + 60 <= end and struct.unpack_from("<H", b, off)[0] == 0x55AA:
        state = b[off + 2]
        name_size, data_size = struct.unpack_from("<II", b, off + 36)
        if state == 0x3F and bytes(b[off + 44:off + 60]) == guid_b and bytes(b[off + 60:off + 60 + name_size]) == name16:
            b[off + 2] = 0x3D  # VAR_ADDED & VAR_DELETED
        off = (off + 60 + name_size + data_size + 3) & ~3
    now = time.gmtime()
    stamp = struct.pack("<HBBBBBBIhBB", now.tm_year, now.tm_mon, now.tm_mday, now.tm_hour, now.tm_min, now.tm_sec, 0, 0, 0, 0, 0)
    header = struct.pack("<HBBIQ", 0x55AA, 0x3F, 0, attrs, 0) + stamp + struct.pack("<III", 0, len(name16), len(data)) + guid_b
    record = header + name16 + data
    if off + len(record) > end or any(x != 0xFF for x in b[off:off + len(record)]):
        raise ValueError(f"{vars_file}: no free room for {name}")
    b[off:off + len(record)] = record
    with open(vars_file, "wb") as f:
        f.write(b)


class Tpm:
    """A swtpm for the VM, its state kept across the VM's boots."""

    def __init__(self, work, name="tpm"):
        self.state = os.path.join(work, name)
        self.sock = os.path.join(work, name + ".sock")
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


def qemu(work, tpm, disks, vars_name, logname, creds=None, keep_vars=False):
    vars_file = os.path.join(work, vars_name)
    if not (keep_vars and os.path.exists(vars_file)):
        shutil.copy(OVMF_VARS, vars_file)  # fresh firmware variables, unless the machine keeps its own
    cmd = [
        "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "2048",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_file}",
        "-chardev", f"socket,id=chrtpm,path={tpm.sock}",
        "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0",
        "-display", "none", "-serial", "stdio", "-nic", "none", "-no-reboot",
        # the monitor, for screendump: what the VGA screen (tty1) shows
        "-monitor", f"unix:{os.path.join(work, logname + '.monitor')},server=on,wait=off",
    ]
    for d in disks:
        cmd += ["-drive", d]
    cmd += credentials() if creds is None else creds
    logf = open(os.path.join(work, logname), "w")
    child = pexpect.spawn(cmd[0], cmd[1:], encoding="utf-8", codec_errors="replace", timeout=T_BOOT, maxread=65536)
    child.logfile_read = logf
    return child


def reporting(check, names):
    """`check` that remembers what it reported, and a function that fails, as not reached,
    every name not reported (a scenario that stopped early reports every line all the same)."""
    reported = set()

    def report(ok, what, why=""):
        reported.add(what)
        check(ok, what, why)

    def rest(why="not reached: an earlier step of the scenario failed (see above)"):
        for n in names:
            if n not in reported:
                check(False, n, why)

    return report, rest


def unattended(args, top, check):
    work = os.path.join(top, "unattended")
    os.makedirs(work)
    log(f"unattended: work folder {work} (serial logs: live.log, installed.log)")
    target = os.path.join(work, "target.img")
    with open(target, "wb") as f:
        f.truncate(TARGET_SIZE)
    tpm = Tpm(work)
    started = time.monotonic()
    names = ["unlocked by TPM without a password", "firstboot applied", "homed user exists", "encrypted root survives use",
             "prepared Secure Boot update unlocks"]
    check, unreported = reporting(check, names)
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
            log(f"unattended install did not finish: {why} (after {time.monotonic() - started:.0f}s)")
            for n in names:
                check(False, n, f"the unattended install from the live image did not finish ({why}; see live.log)")
            live.terminate(force=True)
            return
        log(f"installed after {time.monotonic() - started:.0f}s; waiting for the power-off")
        live.expect(pexpect.EOF, timeout=300)
        live.close()
        tpm.stop()

        # --- boot 2: the installed disk alone, same TPM, fresh firmware variables ------------
        t2 = time.monotonic()
        tpm.start()
        vm = qemu(work, tpm, [f"file={target},format=raw,if=virtio"], "vars-installed.fd", "installed.log")
        prompt_seen = False
        i = vm.expect([r"Please enter passphrase[^\n]*", r"\blogin: ", pexpect.TIMEOUT, pexpect.EOF])
        if i == 0:
            prompt_seen = True
            check(False, names[0], "the initrd asked for a passphrase: the TPM did not unlock the root")
            vm.terminate(force=True)
            for n in names[1:]:
                check(False, n, "not reached (the root stayed locked)")
            return
        if i != 1:
            why = "timed out" if i == 2 else "the VM stopped"
            for n in names:
                check(False, n, f"the installed system did not reach a login prompt ({why}; see installed.log)")
            vm.terminate(force=True)
            return
        log(f"installed system at the login prompt after {time.monotonic() - t2:.0f}s")
        vm.sendline("root")
        vm.expect(r"Password: ")
        vm.sendline(ROOT_PASSWORD)
        i = vm.expect([r"#", r"Login incorrect", pexpect.TIMEOUT])
        if i != 0:
            why = "root's password from the credential passwd.hashed-password.root was not accepted"
            check(False, names[0], "logged in: no; " + why)
            check(False, names[1], why)
            check(False, names[2], "cannot log in to look")
            check(False, names[3], "cannot log in to fill the root")
            vm.terminate(force=True)
            return
        sh = shell(vm)

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

        # 4. the encrypted root in use. The live profile's root is the live image's ext4,
        # copied: it keeps its size, and what lies past it in the partition was never written
        # (noise through dm-crypt). systemd's own systemd-growfs grows it there (what
        # x-systemd.growfs does at boot), then the files fill the new room.
        t4 = time.monotonic()
        grown = sh("/lib/systemd/systemd-growfs / 2>&1 | tail -2; df -m --output=size,avail / | tail -1", timeout=300)
        log(f"grew the root: {grown!r}")
        filled = sh(
            f"mkdir -p {FILL_DIR} && for i in $(seq 1 {FILL_FILES}); do head -c {FILL_MIB}M /dev/urandom > {FILL_DIR}/f$i || break; done; "
            f"sha256sum {FILL_DIR}/f* > /root/e2e-fill.sha256 && sync && du -sm {FILL_DIR} | cut -f1",
            timeout=900,
        )
        log(f"filled the root with {filled!r} MiB in {time.monotonic() - t4:.0f}s")
        vm.sendline("systemctl poweroff")
        try:
            vm.expect(pexpect.EOF, timeout=120)
        except pexpect.TIMEOUT:
            vm.terminate(force=True)
        vm.close()
        tpm.stop()
        want = FILL_FILES * FILL_MIB
        if not filled.isdigit() or int(filled) < want:
            check(False, names[3], f"could not fill the root with {want} MiB: {filled!r} (after growing it: {grown!r})")
            return

        # --- boot 3: read the files back, then check the file system with the root read-only --
        t3 = time.monotonic()
        tpm.start()
        vm, i = boot_installed(work, tpm, target, "installed-2.log")
        if i != 1:
            why = {0: "the initrd asked for a passphrase", 2: "timed out", 3: "the VM stopped"}[i]
            check(False, names[3], f"the second boot of the installed system did not reach a login prompt ({why}; see installed-2.log)")
            vm.terminate(force=True)
            return
        login_root(vm)
        sh = shell(vm)
        log(f"installed system up again after {time.monotonic() - t3:.0f}s")
        dev = sh("findmnt -no SOURCE /")
        back = sh("sha256sum --quiet -c /root/e2e-fill.sha256 >/dev/null 2>&1 && echo READ-BACK-OK; wc -l < /root/e2e-fill.sha256", timeout=600)
        # a dbx update is coming (issue 16): imprint tpm prepare seals a second key to the PCR 7
        # the firmware will measure with it, from this boot's event log
        auth = base64.b64encode(auth_file(dbx_list("prepared: a revoked loader"))).decode()
        prepared = sh(f"echo {auth} | base64 -d > /root/DBXUpdate.bin && imprint tpm prepare --secure-boot-update /root/DBXUpdate.bin 2>&1", timeout=300)
        log(f"imprint tpm prepare: {prepared!r}")
        # read-only first (a mounted file system cannot be checked): remount, or else the
        # emergency remount (SysRq u), which is asynchronous: wait for it
        ro = sh(
            "dmesg -n 1; sync; mount -o remount,ro / 2>/dev/null || { echo 1 > /proc/sys/kernel/sysrq; echo u > /proc/sysrq-trigger; }; "
            "for i in $(seq 1 30); do findmnt -no OPTIONS / | grep -q '^ro' && break; sleep 1; done; findmnt -no OPTIONS / | cut -d, -f1",
            timeout=90,
        )
        # the last line: a kernel message (the SysRq one) may still come first on the console
        ro = ro.splitlines()[-1].strip() if ro else ""
        fsck = sh(f"e2fsck -f -n {dev} 2>&1 | tail -4; echo e2fsck-status=${{PIPESTATUS[0]}}", timeout=600)
        lines = back.splitlines()
        ok = (
            len(lines) == 2 and lines[0] == "READ-BACK-OK" and lines[1].strip() == str(FILL_FILES)
            and ro == "ro" and "e2fsck-status=0" in fsck
        )
        check(ok, names[3], f"root grown ({grown.replace(chr(10), ' | ')}), {filled} MiB written in {FILL_FILES} files, after a reboot: {' '.join(lines) or 'nothing'}; "
              f"/ ({dev}) mounted {ro or '?'}; e2fsck -fn: {fsck.replace(chr(10), ' | ')}")
        vm.sendline("poweroff -f")
        try:
            vm.expect(pexpect.EOF, timeout=120)
        except pexpect.TIMEOUT:
            vm.terminate(force=True)
        vm.close()
        tpm.stop()
        if "Prepared " not in prepared:
            check(False, names[4], f"imprint tpm prepare failed: {prepared!r}")
            return
        # --- the update is written (this OVMF takes it into its variable store while the
        # machine is off), and the machine starts again: the prepared key must unlock
        set_firmware_variable(os.path.join(work, "vars-installed.fd"), "dbx", IMAGE_SECURITY_DB, dbx_list("prepared: a revoked loader"))
        t5 = time.monotonic()
        tpm.start()
        vm, i = boot_installed(work, tpm, target, "installed-3.log", keep_vars=True)
        if i != 1:
            why = {0: "the initrd asked for the recovery key: the prepared key did not unlock", 2: "timed out", 3: "the VM stopped"}[i]
            check(False, names[4], f"after the prepared dbx update: {why} (prepare said: {prepared!r}; see installed-3.log)")
            vm.terminate(force=True)
            return
        login_root(vm)
        sh = shell(vm)
        left = sh("cryptsetup luksDump $(cryptsetup status root | sed -n 's/^ *device: *//p') | grep -cE 'systemd-tpm2|imprint-tpm2-prepared'")
        cleaned = sh("journalctl -b -u imprint-tpm-check.service -o cat | grep -E 'prepared|removed' | tail -2")
        check(left.strip() == "1",
              names[4], f"prepare said: {prepared.splitlines()[0] if prepared else '?'}; the boot after the dbx update unlocked with no password "
              f"in {time.monotonic() - t5:.0f}s; TPM2 tokens left after the cleanup: {left or '?'} — imprint-tpm-check: {cleaned.replace(chr(10), ' | ') or 'nothing'}")
        vm.sendline("poweroff -f")
        try:
            vm.expect(pexpect.EOF, timeout=120)
        except pexpect.TIMEOUT:
            vm.terminate(force=True)
        log(f"done in {time.monotonic() - started:.0f}s")
        return
    finally:
        unreported()
        tpm.stop()




# --- the attended scenario ---------------------------------------------------------------------

COLS, ROWS = 80, 24  # the pyte screen: what a serial terminal nobody configured answers


def demo_seed_disk_guid():
    """The disk GUID an install with the demo's seed gets (src/demo/mod.rs DEMO_SEED, derived as
    src/plan/derive.rs and systemd-repart do: HMAC-SHA256(seed, "disk-uuid") as a v4 UUID)."""
    src = open(os.path.join(REPO, "src/demo/mod.rs"), encoding="utf-8").read()
    m = re.search(r'DEMO_SEED: uuid::Uuid = uuid::uuid!\("([0-9a-f-]{36})"\)', src)
    if not m:
        raise RuntimeError("DEMO_SEED not found in src/demo/mod.rs")
    b = bytearray(hmac.new(uuid.UUID(m.group(1)).bytes, b"disk-uuid", hashlib.sha256).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(b)))


class Console:
    """The VM's serial console as a person sees it: QEMU's output fed to a terminal emulator
    (pyte) of COLS x ROWS; the terminal's answers (cursor-position reports) go back to the VM."""

    class _Screen(pyte.Screen if pyte else object):
        def __init__(self, cols, rows):
            super().__init__(cols, rows)
            self.answers = []

        def write_process_input(self, data):
            self.answers.append(data)

    def __init__(self, child):
        self.child = child
        self.screen = Console._Screen(COLS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.alive = True
        self.fullscreen = False  # a program switched the console to the alternate screen
        self.tail = ""

    def pump(self, seconds):
        """Reads what the VM writes for up to `seconds`."""
        end = time.monotonic() + seconds
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=max(0.05, min(0.2, end - time.monotonic())))
                if "\x1b[?1049h" in self.tail + data:
                    if not self.fullscreen:
                        log("the console switched to the alternate screen")
                    self.fullscreen = True
                self.tail = data[-16:]
                self.stream.feed(data)
                for a in self.screen.answers:
                    self.child.send(a)
                self.screen.answers.clear()
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                self.alive = False
                return
            if time.monotonic() >= end:
                return

    def text(self):
        return "\n".join(line.rstrip() for line in self.screen.display).replace("\u2068", "").replace("\u2069", "")

    def flat(self):
        """The screen as one line (wrapped sentences joined)."""
        return re.sub(r"\s+", " ", self.text())

    def wait(self, pattern, timeout, flat=False):
        """Waits until the screen matches `pattern`; the match, or None (timed out or the VM stopped)."""
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.flat() if flat else self.text())
            if m:
                return m
            if not self.alive or time.monotonic() >= end:
                return None
            self.pump(0.5)

    def key(self, k, settle=1.0):
        self.child.send(k)
        self.pump(settle)

    def type(self, text):
        for c in text:
            self.key(c, 0.3)


DOWN, ENTER, CTRL_L = "\x1b[B", "\r", "\x0c"


def screendump(work, logname, path):
    """Has QEMU (through the monitor of the VM whose serial log is `logname`) write its VGA screen
    to `path` as PPM."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(os.path.join(work, logname + ".monitor"))
    buf = b""
    while b"(qemu)" not in buf:
        buf += sock.recv(4096)
    sock.sendall(f"screendump {path}\n".encode())
    buf = b""
    while b"(qemu)" not in buf:
        buf += sock.recv(4096)
    sock.close()


def vt_text(ppm, font):
    """The text on a Linux framebuffer console's screendump: every 8x16 cell read back by its
    glyph in `font` (pixels unlike the cell's most common colour are ink); a cell no glyph
    matches is '?'."""
    with open(ppm, "rb") as f:
        data = f.read()
    parts = data.split(maxsplit=4)
    if parts[0] != b"P6" or int(parts[3]) != 255:
        raise RuntimeError(f"{ppm}: not a binary 8-bit PPM")
    w, h, px = int(parts[1]), int(parts[2]), parts[4]
    lines = []
    for row in range(h // 16):
        line = []
        for col in range(w // 8):
            cell = [px[((row * 16 + y) * w + col * 8 + x) * 3:((row * 16 + y) * w + col * 8 + x) * 3 + 3]
                    for y in range(16) for x in range(8)]
            bg = max(set(cell), key=cell.count)
            bits = bytes(sum(1 << (7 - x) for x in range(8) if cell[y * 8 + x] != bg) for y in range(16))
            if not any(bits):
                line.append(" ")
            else:
                line.append(font.get(bits, "?"))
        lines.append("".join(line).rstrip())
    return "\n".join(lines)


def kernel_font(image, work):
    """The font the live system's console draws with: the kernel's built-in VGA 8x16 font, read out
    of the live image's kernel (its ESP's /imprint/vmlinuz, xz-compressed inside): 256 glyphs of
    16 bytes after the header {0, 0, 4096, 0}, told from other data by a blank space and
    distinct, non-blank printable ASCII glyphs. {glyph: character} in code page 437."""
    o = subprocess.run(["sfdisk", "--json", image], capture_output=True, text=True, check=True)
    esp = json.loads(o.stdout)["partitiontable"]["partitions"][0]
    out = os.path.join(work, "vmlinuz")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-n", "-i", f"{image}@@{esp['start'] * 512}", "::/imprint/vmlinuz", out], env=env, check=True)
    with open(out, "rb") as f:
        kernel = f.read()
    at = kernel.find(b"\xfd7zXZ\x00")
    if at < 0:
        raise RuntimeError("the live kernel is not xz-compressed: its console font cannot be read")
    data = lzma.LZMADecompressor().decompress(kernel[at:])
    head = b"\0" * 8 + struct.pack("<I", 4096) + b"\0" * 4
    i = data.find(head)
    while i >= 0:
        glyphs = [data[i + 16 + g * 16:i + 32 + g * 16] for g in range(256)]
        printable = glyphs[0x21:0x7F]
        if glyphs[0x20] == bytes(16) and all(any(g) for g in printable) and len(set(printable)) == len(printable):
            font = {}
            for g in range(256):
                font.setdefault(glyphs[g], bytes([g]).decode("cp437"))
            return font
        i = data.find(head, i + 1)
    raise RuntimeError("no 8x16 console font found in the live kernel")


def page_whole(con):
    """The installer's page fills the screen as drawn: its title on the first row, its key line on
    the last. Boot or kernel messages written after it scroll it (the title goes) or leave lines
    below its key line."""
    rows = con.text().split("\n")
    return len(rows) == ROWS and "imprint | " in rows[0] and re.search(r"Ctrl-C|Strg-C", rows[-1]) is not None


def attended(args, top, check):
    names = ["live image without credentials stays up with the installer on tty1 and ttyS0",
             "attended install from the pages on ttyS0",
             "attended install unlocked by TPM",
             "installer answers applied on first boot",
             "recovery after a Secure Boot change"]
    check, unreported = reporting(check, names)
    work = os.path.join(top, "attended")
    os.makedirs(work)
    log(f"attended: work folder {work} (serial logs: attended-live.log, attended-installed.log)")
    if pyte is None:
        for n in names:
            check(False, n, "python3-pyte is missing (make e2e-deps installs it)")
        return
    target = os.path.join(work, "target.img")
    with open(target, "wb") as f:
        f.truncate(TARGET_SIZE)
    tpm = Tpm(work)
    started = time.monotonic()

    def fail_rest(start, why):
        for n in names[start:]:
            check(False, n, why)

    try:
        # --- boot 1: the live image, default entry, no credentials at all ---------------------
        tpm.start()
        live = qemu(
            work, tpm,
            [f"file={args.image},format=raw,if=virtio,snapshot=on", f"file={target},format=raw,if=virtio"],
            "vars-live.fd", "attended-live.log", creds=[],
        )
        con = Console(live)
        # the page as a person at the serial console sees it: no Ctrl-L. The installer starts once
        # the boot is done (imprint-installer@.service), so systemd's status lines come before
        # it, and loglevel=4 keeps the kernel's notes off the console; a page scrolled or written
        # over by them (its title gone, its key line moved up) fails here.
        if not con.wait(r"Which language|Welche Sprache", T_BOOT) or not page_whole(con):
            why = ("the VM powered off" if not con.alive else "no installer page within %ds" % T_BOOT
                   if not con.fullscreen else "the installer's page is not whole (written over)")
            check(False, names[0], f"{why}; the screen:\n{con.text()}")
            fail_rest(1, "the installer did not appear whole")
            live.terminate(force=True)
            return
        t_page = time.monotonic() - started
        # the bug this guards against: the VM powered itself off ~20 s after start. Stay on the
        # first page for a while and look again: the page still whole, nothing wrote over it.
        con.pump(30)
        up = con.alive and re.search(r"Which language|Welche Sprache", con.text()) and page_whole(con)
        # tty1, the screen a person at the machine sees: QEMU's screendump of it, read back cell
        # by cell with the kernel's own console font
        vt, vt_ok = "", False
        if up:
            try:
                ppm = os.path.join(work, "tty1.ppm")
                screendump(work, "attended-live.log", ppm)
                vt = vt_text(ppm, kernel_font(args.image, work))
                rows = vt.split("\n")
                vt_ok = ("imprint | " in rows[0] and re.search(r"Which language", vt) is not None
                         and any("Ctrl-C" in r for r in rows[-3:]))
            except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
                vt = f"(tty1 could not be read: {e})"
        check(bool(up) and vt_ok, names[0],
              f"installer page on ttyS0 after {t_page:.0f}s, whole; 30 s later: {'still up and whole' if up else 'gone (VM stopped)' if not con.alive else 'not whole'}"
              + ("" if up else f"; the screen:\n{con.text()}")
              + (f"; tty1 shows the same page, whole ({len(vt.split(chr(10)))} rows read from the screen)" if vt_ok
                 else f"; tty1 does not show the page whole:\n{vt}" if up else ""))
        if not up:
            fail_rest(1, "the live system did not stay up with the page whole")
            live.terminate(force=True)
            return

        def step(pattern, what, timeout=60, flat=True):
            m = con.wait(pattern, timeout, flat=flat)
            if not m:
                raise PageError(f"{what}: not seen within {timeout}s; the screen:\n{con.text()}")
            return m

        try:
            # language: move down until the page speaks German
            for _ in range(len(["en", "de"]) + 1):
                if re.search(r"Welche Sprache", con.text()):
                    break
                con.key(DOWN, 2)
            step(r"Welche Sprache", "the German language page")
            con.key(ENTER)
            # keyboard: search "de", the exact name is picked
            step(r"Suche:", "the keyboard page (German)")
            con.type("de")
            # the search keeps the German suggestion (de-latin1-nodeadkeys) selected while it
            # matches: move up the filtered list to the layout named exactly "de"
            chosen = r"Gew(?:ä|ae)hlt: de(?![-\w])"
            for _ in range(30):
                if re.search(chosen, con.text()):
                    break
                con.key("\x1b[A", 1.5)
            step(chosen, "keymap de chosen")
            con.key(ENTER)
            # disk: the blank second disk (the live disk cannot be chosen)
            step(r"passt|zu klein|nicht nutzbar", "the disk list", timeout=120)
            for _ in range(6):
                if re.search(r"Das System passt auf diese Festplatte", con.flat()):
                    break
                con.key(DOWN, 2)
            step(r"Das System passt auf diese Festplatte", "the blank disk selected")
            con.key(ENTER)
            # encryption: TPM, the first option, usable
            step(r"TPM \(entsperrt von selbst\)", "the encryption page")
            tpm_line = [l for l in con.text().splitlines() if "TPM (entsperrt von selbst)" in l]
            if tpm_line and re.search(r"nicht verf(?:ü|ue)gbar", tpm_line[0]):
                raise PageError("the VM's TPM is not available to the installer: " + tpm_line[0].strip())
            step(r"Sicherheitschip", "the TPM option selected (its explanation shown)")
            con.key(ENTER)
            # recovery key: read it, type back the group the page asks for
            m = step(r"Gruppe (\d+):", "the recovery key page", timeout=120)
            n = int(m.group(1))
            km = re.search(r"(?:[a-z]{8}-\s*){7}[a-z]{8}", con.text())
            if not km:
                raise PageError(f"no recovery key readable on the screen:\n{con.text()}")
            groups = re.sub(r"\s+", "", km.group(0)).split("-")
            con.type(groups[n - 1])
            con.key(ENTER, 2)
            # summary: type the disk's name as the page asks
            m = step(r"Namen der Festplatte, (\S+), ein", "the summary page", timeout=120)
            name = m.group(1)
            step(r"Nach der Installation", "the plan on the summary page", timeout=120)
            con.type(name)
            con.key(ENTER, 3)
            # progress, then done
            t_install = time.monotonic()
            m = step(r"Das System ist installiert|Die Installation ist fehlgeschlagen", "the end of the install", timeout=T_INSTALL)
            if "fehlgeschlagen" in m.group(0):
                raise PageError(f"the install failed; the screen:\n{con.text()}")
            done = con.text()
            log(f"installed from the pages onto {name} in {time.monotonic() - t_install:.0f}s")
            proofs_ok = "FEHLER" not in done and "fehlgeschlagen" not in done
            check(proofs_ok, names[1], f"German, keymap de, disk {name}, TPM, recovery group {n} typed back, done page reached"
                  + ("" if proofs_ok else f" with a failed check:\n{done}"))
        except PageError as e:
            check(False, names[1], str(e))
            fail_rest(2, "the attended install did not finish")
            live.terminate(force=True)
            return
        log("done page:\n" + done)
        con.key("p", 2)  # power off from the done page
        try:
            live.expect(pexpect.EOF, timeout=300)
        except pexpect.TIMEOUT:
            log("the live system did not power off from the done page; stopping it")
            live.terminate(force=True)
        live.close()
        tpm.stop()

        # the disk GUID, read on the host: not the demo seed's
        o = subprocess.run(["sfdisk", "--json", target], capture_output=True, text=True)
        guid = json.loads(o.stdout)["partitiontable"].get("id", "").lower() if o.returncode == 0 else f"(sfdisk: {o.stderr.strip()})"
        demo_guid = demo_seed_disk_guid()

        # --- boot 2: the installed disk alone; no locale or keymap credentials ------------------
        t2 = time.monotonic()
        tpm.start()
        vm = qemu(work, tpm, [f"file={target},format=raw,if=virtio"], "vars-installed.fd", "attended-installed.log",
                  creds=credentials(install=False, locale=False))
        con2 = Console(vm)
        wizard_pages = []
        prompt = False
        login = False
        last, since, presses = "", time.monotonic(), 0
        end = time.monotonic() + T_BOOT
        while time.monotonic() < end and con2.alive:
            con2.pump(1)
            t = con2.text()
            if re.search(r"Please enter passphrase", t):
                prompt = True
                break
            if re.search(r"\blogin: *$", t, re.M):
                login = True
                break
            if t != last:
                last, since = t, time.monotonic()
            # the first-boot wizard asks what the installer should have handed over: note what it
            # asked, and answer with Enter (its defaults) whenever its screen stands still
            m = re.search(r"Which language|Welche Sprache|keyboard layout|Tastaturbelegung", t)
            if m:
                wizard_pages.append(m.group(0))
            elif (con2.fullscreen or re.search(r"imprint \| ", t)) and time.monotonic() - since > 4:
                # a page drawn over boot messages reads in pieces: draw it again, whole
                con2.key(CTRL_L, 2)
                since = time.monotonic()
            if wizard_pages and time.monotonic() - since > 4 and presses < 15:
                con2.key(ENTER, 1)
                presses += 1
                since = time.monotonic()
        if prompt or not login:
            why = ("the initrd asked for a passphrase: the TPM did not unlock the root" if prompt
                   else "the installed system did not reach a login prompt (see attended-installed.log)")
            check(False, names[2], why)
            check(False, names[3], why + f"; disk GUID {guid}")
            vm.terminate(force=True)
            return
        log(f"installed system at the login prompt after {time.monotonic() - t2:.0f}s")
        vm.sendline("root")
        vm.expect(r"Password: ")
        vm.sendline(ROOT_PASSWORD)
        if vm.expect([r"#", r"Login incorrect", pexpect.TIMEOUT]) != 0:
            why = "cannot log in as root (passwd.hashed-password.root)"
            check(False, names[2], why)
            check(False, names[3], why)
            vm.terminate(force=True)
            return
        sh = shell(vm)
        src = sh("findmnt -no SOURCE /")
        kind = sh(f"lsblk -no TYPE {src} | head -1")
        luks = sh("cryptsetup status root 2>&1 | sed -n 's/^ *type: *//p'")
        tokens = sh("cryptsetup luksDump $(cryptsetup status root | sed -n 's/^ *device: *//p') | grep -c systemd-tpm2")
        ok = kind == "crypt" and luks == "LUKS2" and tokens.strip() not in ("", "0")
        check(ok, names[2], f"/ is {src} ({kind or 'unknown'}), type {luks or 'unknown'}, systemd-tpm2 tokens: {tokens or '0'}, no passphrase asked")

        locale = sh("sed -n 's/^LANG=//p' /etc/locale.conf 2>/dev/null")
        keymap = sh("sed -n 's/^KEYMAP=//p' /etc/vconsole.conf 2>/dev/null")
        cmdline = sh("cat /proc/cmdline")
        wrong = []
        if locale != "de_DE.UTF-8":
            wrong.append(f"/etc/locale.conf LANG={locale!r} (wanted 'de_DE.UTF-8')")
        if keymap != "de":
            wrong.append(f"/etc/vconsole.conf KEYMAP={keymap!r} (wanted 'de')")
        if guid == demo_guid or not re.fullmatch(r"[0-9a-f-]{36}", guid):
            wrong.append(f"disk GUID {guid} is the demo seed's ({demo_guid})" if guid == demo_guid else f"disk GUID unreadable: {guid}")
        if wizard_pages:
            wrong.append("the first-boot wizard asked again: " + ", ".join(dict.fromkeys(wizard_pages)))
        seen = "; ".join(wrong) if wrong else f"LANG={locale}, KEYMAP={keymap}, disk GUID {guid} (demo seed's: {demo_guid})"
        check(not wrong, names[3], seen + f" — kernel command line: {cmdline}")

        vm.sendline("systemctl poweroff")
        try:
            vm.expect(pexpect.EOF, timeout=120)
        except pexpect.TIMEOUT:
            vm.terminate(force=True)
        vm.close()
        tpm.stop()
        # --- the Secure Boot state changes: a dbx entry added, kept in this machine's variables
        try:
            set_firmware_variable(os.path.join(work, "vars-installed.fd"), "dbx", IMAGE_SECURITY_DB, dbx_list("a revoked loader"))
        except (OSError, ValueError) as e:
            check(False, names[4], f"could not add a dbx entry to the firmware variables: {e}")
            return
        recovery_key = "-".join(groups)
        secure_boot_change(work, tpm, target, recovery_key, lambda ok, why: check(ok, names[4], why))
        log(f"attended: done in {time.monotonic() - started:.0f}s")
    finally:
        unreported()
        tpm.stop()


class PageError(Exception):
    pass


def secure_boot_change(work, tpm, target, recovery_key, check):
    """The boots after dbx changed: the recovery key is asked for and typed; the notice and the
    login offer; the reseal with the recovery key; the boot after it unlocks by itself."""
    t = time.monotonic()
    tpm.start()
    vm, i = boot_installed(work, tpm, target, "attended-sb-change.log", keep_vars=True, creds=credentials(install=False, locale=False))
    try:
        if i != 0:
            why = {1: "the TPM still unlocked the root (PCR 7 did not change?)", 2: "timed out", 3: "the VM stopped"}[i]
            check(False, f"the boot after the dbx change did not ask for the recovery key: {why} (see attended-sb-change.log)")
            return
        asked = vm.after.strip()
        log(f"after the dbx change, the initrd asks: {asked!r} ({time.monotonic() - t:.0f}s); typing the recovery key")
        vm.sendline(recovery_key)
        i = vm.expect([LOGIN_PROMPT, PASSWORD_PROMPT, pexpect.TIMEOUT, pexpect.EOF])
        if i != 0:
            check(False, "the recovery key typed at the boot prompt did not open the root" if i == 1
                  else "no login prompt after the recovery key (see attended-sb-change.log)")
            return
        before_login = vm.before
        notice = "the TPM no longer unlocks" in before_login
        vm.sendline("root")
        vm.expect(r"Passwor[dt]: ")
        vm.sendline(ROOT_PASSWORD)
        # the shell's prompt, not a '#' in the login's messages ("#1 SMP")
        i = vm.expect([r"Reseal now[^\n]*\[y/N\]", r"root@[^\s]*:[^\n]*# ", pexpect.TIMEOUT], timeout=120)
        offer = vm.before.replace("\r", "")
        if i != 0:
            check(False, f"no reseal offered at root's login (notice above the login prompt: {'yes' if notice else 'no'}); "
                         f"the login said: {offer[-600:]!r}")
            return
        said = " ".join(l.strip() for l in offer.splitlines() if "no longer matches" in l or "Likely cause" in l)
        vm.sendline("y")
        i = vm.expect([r"Reseal anyway[^\n]*\[y/N\]", r"Recovery key[^\n]*:", pexpect.TIMEOUT], timeout=60)
        sb_asked = i == 0
        if i == 0:
            vm.sendline("y")
            i = 1 if vm.expect([r"Recovery key[^\n]*:", pexpect.TIMEOUT], timeout=60) == 0 else 2
        if i != 1:
            check(False, f"the offer did not ask for the recovery key: {vm.before[-400:]!r}")
            return
        # typed as people do at a prompt: without the dashes
        vm.sendline(recovery_key.replace("-", ""))
        i = vm.expect([r"Resealed [^\n]*", r"(?:Error|error)[^\n]*", pexpect.TIMEOUT], timeout=300)
        resealed = vm.after.strip() if i == 0 else ""
        if i != 0:
            check(False, f"the reseal at login failed: {(vm.after if i == 1 else 'timed out')!r} {vm.before[-400:]!r}")
            return
        vm.expect(r"root@[^\s]*:[^\n]*# ")
        # and the command itself, as a person runs it after declining the offer: `imprint tpm
        # reseal`, the recovery key typed as shown (it reseals to the same PCR 7 again)
        vm.sendline("imprint tpm reseal")
        by_hand = ""
        if vm.expect([r"Recovery key[^\n]*:", pexpect.TIMEOUT], timeout=60) == 0:
            vm.sendline(recovery_key)
            if vm.expect([r"Resealed [^\n]*", r"(?:Error|error)[^\n]*", pexpect.TIMEOUT], timeout=300) == 0:
                by_hand = vm.after.strip()
        vm.expect(r"root@[^\s]*:[^\n]*# ")
        sh = shell(vm)
        status = sh("imprint tpm status --json 2>/dev/null")
        try:
            vol = json.loads(status).get("volume") or {}
        except ValueError:
            vol = {}
        tokens = vol.get("tokens") or []
        matches = len(tokens) == 1 and tokens[0].get("matches") is True and vol.get("problem") is None
        notice_gone = sh("test -e /run/imprint/tpm-notice.issue && echo UP || echo DOWN") == "DOWN"
        vm.sendline("systemctl poweroff")
        try:
            vm.expect(pexpect.EOF, timeout=120)
        except pexpect.TIMEOUT:
            vm.terminate(force=True)
        vm.close()
        tpm.stop()

        # --- the boot after the reseal: the same firmware variables, no password asked
        tpm.start()
        vm, i = boot_installed(work, tpm, target, "attended-resealed.log", keep_vars=True, creds=credentials(install=False, locale=False))
        unlocked = i == 1
        seen = (f"asked {asked!r}, recovery key typed; notice above the login prompt: {'yes' if notice else 'NO'}; "
                f"at login: {said or 'NO explanation'}; Secure Boot off asked: {'yes' if sb_asked else 'no'}; {resealed or 'NOT resealed'}; "
                f"imprint tpm reseal by hand: {by_hand or 'FAILED'}; "
                f"tpm status after: {len(tokens)} TPM2 token(s), matching: {'yes' if matches else 'NO: ' + status[:300]}; "
                f"notice taken down: {'yes' if notice_gone else 'NO'}; next boot: "
                + ("unlocked with no password" if unlocked else {0: "ASKED for a password again", 2: "timed out", 3: "the VM stopped"}[i]))
        check(notice and bool(said) and bool(resealed) and bool(by_hand) and matches and notice_gone and unlocked, seen)
        log(f"Secure Boot change: done in {time.monotonic() - t:.0f}s")
    finally:
        if vm.isalive():
            vm.terminate(force=True)
        tpm.stop()



KERNEL_LINE = re.compile(r"^\s*\[\s*\d+\.\d+\] ")


# what the initrd asks when the TPM did not unlock the root (systemd 252 says "recovery key"
# once the volume has a systemd-recovery token), and the installed system's login prompt
PASSWORD_PROMPT = r"Please enter (?:passphrase|recovery key)[^\n]*"
LOGIN_PROMPT = r"\blogin: "


def boot_installed(work, tpm, target, logname, keep_vars=False, creds=None):
    """Starts the installed disk alone with `tpm`; returns the VM and what came first: 0 the
    initrd asked for a password, 1 the login prompt, 2 nothing in time, 3 the VM stopped."""
    vm = qemu(work, tpm, [f"file={target},format=raw,if=virtio"], "vars-installed.fd", logname, creds=creds, keep_vars=keep_vars)
    return vm, vm.expect([PASSWORD_PROMPT, LOGIN_PROMPT, pexpect.TIMEOUT, pexpect.EOF])


def login_root(vm):
    """Logs in as root at the login prompt just seen; the prompt may be German ("Passwort:") once
    the first boot set de_DE.UTF-8. Waits for the shell's prompt, not a '#' in the login's
    messages ("#1 SMP")."""
    vm.sendline("root")
    vm.expect(r"Passwor[dt]: ")
    vm.sendline(ROOT_PASSWORD)
    vm.expect([r"root@[^\s]*:[^\n]*# ", pexpect.TIMEOUT])


def shell(vm):
    """After a root login on the serial console: a function that runs a command, returns its output."""
    # dmesg -n 1: kernel messages off the console, or they land in the middle of a command's
    # output (under TCG a long write brings "rcu: INFO: rcu_preempt self-detected stall")
    vm.sendline("export PS1='E2E# ' TERM=dumb; stty -echo; dmesg -n 1")
    vm.expect(r"E2E# ")

    def sh(cmd, timeout=60):
        # the markers are quoted in the command, so its echo never matches them
        vm.sendline(f'echo @@"B"; {cmd}; echo @@"E"')
        try:
            vm.expect(r"@@B\r*\n", timeout=timeout)
            vm.expect(r"@@E", timeout=timeout)
        except pexpect.TIMEOUT:
            return f"(no answer to {cmd!r} within {timeout}s)"
        # and any kernel message that came before dmesg -n 1 took effect is dropped
        out = vm.before.replace("\r", "").splitlines()
        return "\n".join(l for l in out if not KERNEL_LINE.match(l)).strip()

    return sh


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default=os.path.join(REPO, "live-image/out/imprint-live.img"))
    ap.add_argument("--scenario", choices=["all", "unattended", "attended"], default="all")
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

    top = tempfile.mkdtemp(prefix="imprint-e2e.")
    started = time.monotonic()
    try:
        if args.scenario in ("all", "unattended"):
            unattended(args, top, check)
        if args.scenario in ("all", "attended"):
            attended(args, top, check)
    except Exception as e:  # the harness broke: say so, never a PASS
        check(False, "the VM test itself", f"{type(e).__name__}: {e}".splitlines()[0])
    log(f"all scenarios in {time.monotonic() - started:.0f}s")
    return report(results, top, args.keep)


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
