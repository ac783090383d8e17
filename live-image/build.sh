#!/usr/bin/env bash
# Builds imprint's live USB image: a GPT disk image with
#   1 ESP (vfat): systemd-boot, the kernel, a dracut initrd, loader entries
#   2 root (ext4, type root-x86-64): a Debian 12 tree with systemd, cryptsetup, the TPM
#     libraries, systemd-homed and imprint; mounted read-only in the live system
#     (systemd.volatile=state: a tmpfs on /var), copied block for block by the installer.
# The dracut configuration is written before the packages are installed, so the kernel's
# postinst builds the initrd with it. Nothing is mounted and no loop device is used: mmdebstrap makes the tree (as a tarball,
# cached per machine in $CACHE), mkfs.ext4 -d and mtools fill the file systems, sfdisk lays
# out the table, dd puts them in place.
#
# usage: live-image/build.sh [OUTPUT.img]   (default: live-image/out/imprint-live.img)
# env:   IMPRINT=path to the imprint binary (default: target/release/imprint; make live-image builds it)
#        CACHE=/var/cache/imprint-live   SOURCE_DATE_EPOCH (default: the last commit's time)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
out="${1:-$here/out/imprint-live.img}"
CACHE="${CACHE:-/var/cache/imprint-live}"
IMPRINT="${IMPRINT:-$repo/target/release/imprint}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 1700000000)}"
start=$(date +%s)
say() { echo "live-image: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "run as root (mmdebstrap --mode=root, file ownership in the tree)"; exit 1; }
for t in mmdebstrap sfdisk mkfs.ext4 mkfs.vfat mcopy mmd; do
    command -v "$t" >/dev/null || { say "missing $t (make deps installs it)"; exit 1; }
done

# Fixed identities, so that two builds of the same inputs give the same image.
DISK_GUID=6c5ad0a1-1b5e-4c8e-9c7d-1f0e6a2b7c01
ESP_PARTUUID=6c5ad0a1-1b5e-4c8e-9c7d-1f0e6a2b7c02
ROOT_PARTUUID=6c5ad0a1-1b5e-4c8e-9c7d-1f0e6a2b7c03
ROOT_FSUUID=6c5ad0a1-1b5e-4c8e-9c7d-1f0e6a2b7c04
ESP_SERIAL=1A2B3C4D
ESP_MIB=128

# --- 1. the Debian tree (cached) ---------------------------------------------------------
PACKAGES=(
    systemd systemd-sysv udev dbus libpam-systemd libnss-systemd systemd-homed systemd-timesyncd-
    linux-image-amd64 dracut dracut-core systemd-boot-efi
    cryptsetup cryptsetup-bin tpm2-tools
    libtss2-esys-3.0.2-0 libtss2-rc0 libtss2-mu0 libtss2-tctildr0 libtss2-tcti-device0 libtss2-sys1
    libcryptsetup12 libcrypt1
    login passwd util-linux mount e2fsprogs dosfstools mtools fdisk kmod procps less
    locales tzdata kbd console-data
)
DRACUT_CONF='add_dracutmodules+=" systemd crypt tpm2-tss "
hostonly="no"
compress="gzip"'
recipe="bookworm|${PACKAGES[*]}|$DRACUT_CONF|v1"
key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
tarball="$CACHE/rootfs-$key.tar"
mkdir -p "$CACHE"
if [ -s "$tarball" ]; then
    say "using the cached tree $tarball"
else
    say "building the Debian 12 tree with mmdebstrap (cache: $tarball)"
    incl=$(IFS=,; echo "${PACKAGES[*]}")
    mmdebstrap --mode=root --variant=minbase --include="$incl" \
        --aptopt='APT::Install-Recommends "false"' \
        --setup-hook='mkdir -p "$1/etc/dracut.conf.d"' \
        --setup-hook="printf '%s\n' '$DRACUT_CONF' > \"\$1/etc/dracut.conf.d/50-imprint.conf\"" \
        --customize-hook='rm -f "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_Packages' \
        bookworm "$CACHE/partial-$key.tar" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
    mv "$CACHE/partial-$key.tar" "$tarball"
fi

[ -z "${ROOTFS_ONLY:-}" ] || exit 0
[ -x "$IMPRINT" ] || { say "no imprint binary at $IMPRINT: run cargo build --release"; exit 1; }

# --- 2. the live tree: the cached tree + imprint + configuration -------------------------
work=$(mktemp -d /var/tmp/imprint-live.XXXXXX)
trap 'rm -rf "$work"' EXIT
root="$work/root"; mkdir "$root"
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball"
kver=$(ls "$root/lib/modules" | sort -V | tail -1)

install -m 0755 "$IMPRINT" "$root/usr/bin/imprint"
missing=$(chroot "$root" ldd /usr/bin/imprint | grep 'not found' || true)
[ -z "$missing" ] || { say "imprint needs libraries the tree lacks: $missing"; exit 1; }
install -d "$root/usr/share/imprint/profiles"
cp -r "$repo/installer-profiles/desktop" "$repo/installer-profiles/server" "$repo/installer-profiles/kiosk" "$root/usr/share/imprint/profiles/"
cp -r "$here/profile/live" "$root/usr/share/imprint/profiles/live"
# imprint's units: those of the installed system (first boot), and those of the live system.
for u in "$repo"/live-image/units/*.service "$here"/live-units/*.service; do
    install -m 0644 "$u" "$root/usr/lib/systemd/system/"
done
for d in "$here"/live-units/*.d "$repo"/live-image/units/*.d; do
    install -d "$root/usr/lib/systemd/system/${d##*/}"
    install -m 0644 "$d"/*.conf "$root/usr/lib/systemd/system/${d##*/}/"
done
install -m 0755 "$here/live-install" "$root/usr/lib/imprint/live-install" 2>/dev/null || {
    install -d "$root/usr/lib/imprint"; install -m 0755 "$here/live-install" "$root/usr/lib/imprint/live-install"; }
# the login offer to reseal the TPM key after a boot where the TPM refused it
install -m 0644 "$repo/live-image/profile.d/imprint-tpm.sh" "$root/etc/profile.d/imprint-tpm.sh"
# ... and its notice above the console's login prompts: agetty reads /run/issue.d only when
# there is no /etc/issue, so the notice imprint tpm check --notify writes in /run is linked here
install -d "$root/etc/issue.d"
ln -sf /run/imprint/tpm-notice.issue "$root/etc/issue.d/50-imprint-tpm.issue"
chroot "$root" systemctl enable imprint-firstboot.service imprint-firstboot-user.service imprint-tpm-check.service \
    imprint-install.service imprint-installer@tty1.service imprint-installer@ttyS0.service systemd-homed.service
# /tmp on a tmpfs (systemd's tmp.mount, which Debian ships but does not enable): the live root
# is read-only, and imprint makes its scratch files there
chroot "$root" systemctl enable /usr/share/systemd/tmp.mount
# imprint firstboot replaces systemd-firstboot (which would ask the same questions again)
ln -sf /dev/null "$root/etc/systemd/system/systemd-firstboot.service"
# first boot of the installed system: no machine ID yet (the live system gets a transient one)
printf 'uninitialized\n' > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
# unset, so that the installed system's first boot sets them (imprint firstboot keeps what is
# there): no host name (the live system is "localhost"), no time zone (UTC), no locale
rm -f "$root/etc/hostname" "$root/etc/localtime" "$root/etc/timezone" "$root/etc/locale.conf" \
    "$root/etc/default/locale" "$root/etc/vconsole.conf"
# root's password unset in the way first boot recognises (systemd 254+'s convention; the
# account stays locked in the live system): the installed system's first boot sets it
sed -i 's/^root:[^:]*:/root:!unprovisioned:/' "$root/etc/shadow"
# locales the first-boot wizard may choose: generate a few into the archive
sed -i -E 's/^# (en_US.UTF-8|de_DE.UTF-8|fr_FR.UTF-8|en_GB.UTF-8) /\1 /' "$root/etc/locale.gen"
chroot "$root" locale-gen >/dev/null
: > "$root/etc/fstab"   # the root comes from root= on the kernel command line; nothing else is mounted

# --- 3. the ESP --------------------------------------------------------------------------
esp="$work/esp.img"
truncate -s "${ESP_MIB}M" "$esp"
mkfs.vfat -F 32 -n ESP -i "$ESP_SERIAL" "$esp" >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/loader ::/loader/entries ::/imprint
mcopy -i "$esp" "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" ::/EFI/systemd/systemd-bootx64.efi
mcopy -i "$esp" "$root/boot/vmlinuz-$kver" ::/imprint/vmlinuz
mcopy -i "$esp" "$root/boot/initrd.img-$kver" ::/imprint/initrd.img
console="console=tty0 console=ttyS0,115200"
# loglevel=4: the kernel's notes (partition rescans while the installer writes the disk, …) stay
# off the console, where they would write over the installer's page; warnings still show
live="root=PARTUUID=$ROOT_PARTUUID ro systemd.volatile=state imprint.live loglevel=4 $console"
printf 'default imprint-live.conf\ntimeout 3\nconsole-mode keep\n' > "$work/loader.conf"
printf 'title imprint live (Debian 12)\nlinux /imprint/vmlinuz\ninitrd /imprint/initrd.img\noptions %s\n' "$live" > "$work/imprint-live.conf"
printf 'title imprint live: unattended install onto the blank disk\nlinux /imprint/vmlinuz\ninitrd /imprint/initrd.img\noptions %s imprint.install=auto\n' "$live" > "$work/imprint-live-install.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$work/imprint-live.conf" "$work/imprint-live-install.conf" ::/loader/entries/
rm -rf "$root/boot/"*   # the kernel and initrd live on the ESP

# --- 4. the root file system -------------------------------------------------------------
used_mib=$(du -sm --apparent-size "$root" | cut -f1)
root_mib=$(( (used_mib * 110 / 100 + 256 + 3) / 4 * 4 ))   # room for the installed system's first boots
rootimg="$work/root.img"
truncate -s "${root_mib}M" "$rootimg"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -L root -U "$ROOT_FSUUID" \
    -E "hash_seed=$ROOT_FSUUID,root_owner=0:0" -d "$root" "$rootimg"

# --- 5. the disk -------------------------------------------------------------------------
mkdir -p "$(dirname "$out")"
rm -f "$out"
total_mib=$(( 1 + ESP_MIB + root_mib + 1 ))
truncate -s "${total_mib}M" "$out"
sfdisk -q --no-reread --no-tell-kernel "$out" <<SFDISK
label: gpt
label-id: $DISK_GUID
first-lba: 2048
start=2048, size=$((ESP_MIB * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, uuid=$ESP_PARTUUID, name="esp"
start=$((2048 + ESP_MIB * 2048)), size=$((root_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, uuid=$ROOT_PARTUUID, name="root-x86-64"
SFDISK
dd if="$esp" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$rootimg" of="$out" bs=1M seek=$((1 + ESP_MIB)) conv=notrunc,sparse status=none
end=$(date +%s)
say "wrote $out: $(du -h --apparent-size "$out" | cut -f1) ($(du -h "$out" | cut -f1) allocated), kernel $kver, in $((end - start))s"
