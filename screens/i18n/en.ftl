# imprint's terminal UI, English.
# Every message id here must also be in de.ftl (a test checks).

## Frame, help line, dialogs

product-name = imprint
installer-flow = Install
title-step = step { $at } of { $of }
title-demo = DEMO
error-prefix = Error:
key-ctrl-c = Ctrl-C
key-any = any key
help-quit = quit
help-back = back
help-choose = choose
help-continue = continue
help-select = select
help-refresh = look again
help-type-to-search = search
help-type-to-try = try typing
help-to-try = to the typing field
help-to-list = to the list
help-next-field = next field
help-policy = policy
help-type-group = type the group
help-qr-code = QR code
help-type-name = type the disk's name
help-install = install
help-show-log = show the log
help-hide-log = hide the log
quit-title = Quit?
quit-title-installing = Stop the installation?
quit-body = Nothing has been written to any disk yet. Do you want to quit the installer?
quit-body-installing = The installation is still running. If you quit now, it stops halfway and the target disk will not start; you would have to install again. Quit anyway?
quit-body-finished = Do you want to quit the installer?
quit-keys = y = yes, quit   n = no, stay

## Pages

page-language = Language
page-keyboard = Keyboard
page-disk = Disk
page-encryption = Encryption
page-recovery = Recovery key
page-summary = Summary
page-progress = Installing
page-done = Done
page-failed = Failed

## Language

language-intro = Which language should the installer use?
language-hint = The text changes as soon as you move the selection.

## Keyboard

keyboard-search = Search:
keyboard-count = { $shown } of { $all }
keyboard-no-match = No keyboard layout matches. Press Backspace to change the search.
keyboard-intro = Choose your keyboard layout. It is used at once on this screen, on the installed system, and at the prompt for a PIN or passphrase when the computer starts.
keyboard-chosen = Selected: { $keymap }
keyboard-try = Try typing here:
keyboard-tip = Type to search, for example "de" for German layouts. Press Tab to try the layout, for example with letters such as z, y or @.

## Disk

disk-loading = Looking for disks…
disk-refreshing = (looking again…)
disk-none = No disk was found that the system could be installed on.
disk-none-hint = Connect a disk, then press r to look again.
disk-intro = Where should { $source } ({ $size }) be installed? Sizes are in GB (1 GB = 1,000,000,000 bytes).
disk-details = Selected disk
disk-status-fits = fits
disk-status-erase = will be erased
disk-status-too-small = too small
disk-status-unusable = can't be used
disk-status-unknown = not checked
disk-cannot-use = This disk can't be used, because:
disk-verdict-fits = The system fits on this disk. Everything on it will be replaced.
disk-verdict-erase = The system fits, but installing erases what is on this disk now:
disk-verdict-too-small = This disk is too small: the system needs { $need }, the disk has { $have }.
disk-verdict-unknown = This disk has not been checked yet, so it can't be chosen. Press r to look again.
disk-refused = This disk can't be chosen. Pick one marked "fits" or "will be erased".

## Encryption

encryption-tpm = TPM (unlocks by itself)
encryption-tpm-pin = TPM and PIN
encryption-passphrase = Passphrase
encryption-none = No encryption
encryption-unavailable = (not available)
encryption-tpm-explain = The data is encrypted with a key kept by this computer's security chip (TPM). The computer unlocks it by itself when it starts, but only this computer, and only while it starts the way it does now. Someone who takes the disk out can't read it.
encryption-tpm-pin-explain = Like TPM, but you also type a PIN each time the computer starts. Someone who steals the whole computer still needs the PIN. The TPM allows only a few wrong tries, so a short PIN is enough.
encryption-passphrase-explain = You type a passphrase each time the computer starts. It works on any computer. Anyone who has the disk can try passphrases as fast as their computer allows, so choose a long one.
encryption-none-explain = Warning: the data is not encrypted. Anyone who has this disk or this computer can read everything on it.
encryption-tpm-unusable = The TPM can't be used:
encryption-choose-other = This option needs a working TPM. Choose a passphrase instead, or fix the TPM as described above and start the installer again.
encryption-tpm-no-advice = the installer found no usable TPM on this computer.
encryption-recovery-when = The TPM will refuse to unlock, and you will need the recovery key, after:
encryption-recovery-also = You also get a recovery key, in case you forget the passphrase.
pcr-firmware = a firmware (BIOS/UEFI) update
pcr-firmware-settings = a change of the firmware settings
pcr-option-roms = adding or changing an expansion card
pcr-boot-loader = a boot loader update
pcr-partition-table = a change of the partition table
pcr-secure-boot = turning Secure Boot off, or a change of its keys (some firmware updates do that)
pcr-command-line = a change of the kernel command line
pcr-initrd = a change of the initrd
pcr-system-image = a system update that changes the kernel image
pcr-system-identity = a change of the system's identity
pcr-other = any change measured into PCR { $pcr }
pcr-always = moving the disk to another computer, starting another operating system from it, or clearing the TPM
pcr-signed-image = starting a system image that was not signed with the image's key
encryption-policy = Policy:
encryption-policy-signed = PCR { $pcrs } + signed PCR 11
encryption-policy-pcrs = PCR { $pcrs } only
encryption-policy-signed-explain = PCR { $pcrs } + signed PCR 11: the TPM also checks that the system started was signed with the image's key, so signed updates keep unlocking and another system does not.
encryption-policy-pcrs-explain = PCR { $pcrs } only: the TPM checks how the computer starts, not which system: any system started the same way can unlock the disk.
encryption-policy-key = The image's key: { $key }.
encryption-rules = At least { $min } characters, typeable at start-up with the layout { $keymap }.
encryption-pin = PIN:
encryption-pin-again = PIN again:
encryption-passphrase-field = Passphrase:
encryption-passphrase-again = Passphrase again:
encryption-accepted = Accepted.
encryption-pin-too-short = The PIN needs at least { $min } characters.
encryption-passphrase-too-short = The passphrase needs at least { $min } characters: anyone with the disk can try short ones quickly.
encryption-pin-mismatch = The two PINs differ. Type the same PIN twice.
encryption-passphrase-mismatch = The two passphrases differ. Type the same passphrase twice.
encryption-not-typeable = "{ $char }" can't be typed at start-up with the layout { $keymap }. Use letters, digits and punctuation from that layout.

## Recovery key

recovery-loading = Making a recovery key…
recovery-intro = This is your recovery key. Write it down, or photograph the QR code:
recovery-explain = It is the only way to your data if the TPM refuses to unlock it, or if you forget your PIN or passphrase. Keep it somewhere safe, not on this computer.
recovery-qr-press-tab = (Press Tab to see the key as a QR code, full screen.)
recovery-qr-title = Recovery key as QR code: photograph it with your phone
recovery-qr-no-room = The screen is too small for the QR code. Write the key down instead.
recovery-qr-return = Press any key to return to the recovery key page.
recovery-type-group = To show that you saved it, type group { $n } of the key (the groups are separated by "-").
recovery-group-label = Group { $n }:
recovery-wrong-group = That is not group { $n }. Check what you wrote down and try again.

## Summary

summary-what = Install { $source } ({ $size }) on { $disk } ({ $disksize }, { $model }).
summary-settings = Encryption: { $encryption }. Keyboard: { $keymap }. Language: { $language }.
summary-loading-plan = Reading the disk's partitions…
summary-before = Now
summary-after = After installing
summary-col-number = #
summary-col-label = Label
summary-col-kind = Kind
summary-col-size = Size
summary-col-change = Change
summary-no-partitions = (no partitions)
change-keep = keep
change-create = new
change-erase = ERASE
summary-erase-warning = Everything on the partitions marked ERASE will be lost for good.
summary-type = To start, type the disk's name, { $name }, and press Enter.
summary-disk-name = Disk name:
summary-name-mismatch = Type { $name } exactly to start. Nothing has been written yet.
summary-wait-plan = Wait until the partitions are shown. Nothing has been written yet.

## Progress

progress-intro = The system is being installed. This can take a few minutes.
progress-running = (running)
progress-failed = (failed)
progress-bytes = { $done } of { $total }
progress-eta = about { $time } left
progress-keep-power = Keep the computer switched on and the disks connected.
progress-log = Log
progress-log-empty = (nothing logged yet)
step-wipe = Clearing old signatures
step-copy = Copying the system
step-format = Creating file systems
step-encrypt = Setting up encryption
step-table = Writing the partition table
step-verify = Checking what was written
step-boot = Setting up the boot loader
step-proof = Checking the system will unlock

## Done

done-ok = The system is installed.
done-seed = The disk's UUIDs come from the seed { $seed }: `imprint install --seed` makes the same ones again.
done-proof-failed = The system is installed, but a check failed. Keep the recovery key at hand.
done-proof-intro = What was checked:
done-check-failed = FAILED
proof-table = the partition table reads back as planned
proof-data = the copied data matches the image
proof-tpm = the TPM unlocks the disk
proof-recovery-key = the recovery key unlocks the disk
proof-passphrase = the passphrase or PIN unlocks the disk
done-remove-media = When the computer restarts or is off, remove the installation medium (such as the USB stick), so that it starts from the new disk.
done-reboot = Restart
done-power-off = Power off
done-quit = Quit
failed-title = The installation failed.
failed-explain = The target disk may now be empty or half written; no other disk was changed. You can start the installer again.
failed-log = Last log lines

## Plain mode (--plain): questions as lines

plain-choose-number = Type a number and press Enter:
plain-invalid-choice = Type one of the numbers 1 to { $max } that is not marked as unavailable.
plain-keymap-unknown = There is no keyboard layout "{ $keymap }". Similar ones:
