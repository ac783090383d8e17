# imprint's kiosk reset menu, English.
# Every message id here must also be in reset.de.ftl (a test checks).

## Frame, help line, quit question

reset-flow = Device
reset-page-pin = PIN
reset-page-menu = Menu
reset-page-confirm = Factory reset
reset-page-progress = Resetting
reset-page-done = Done
reset-page-failed = Failed
reset-key-ctrl-c = Ctrl-C
reset-help-quit = quit
reset-help-back = back
reset-help-choose = choose
reset-help-do = do it
reset-help-type-pin = type the PIN
reset-help-unlock = unlock
reset-help-type-word = type the word
reset-help-reset = reset
reset-help-to-menu = back to the menu
reset-quit-title = Quit?
reset-quit-body = Do you want to leave this menu?
reset-quit-body-running = The factory reset is running. If you quit now, the device may be left half erased. Quit anyway?
reset-quit-keys = y = yes, quit   n = no, stay
reset-error = Error: { $reason }

## PIN

reset-pin-intro = This menu is protected. Type the PIN to open it.
reset-pin-label = PIN:
reset-pin-checking = Checking the PIN...
reset-pin-wrong = Wrong PIN ({ $count ->
        [one] 1 wrong attempt
       *[other] { $count } wrong attempts
    }). Try again.
reset-pin-wait = Too many wrong PINs. The next try is taken in { $seconds ->
        [one] 1 second
       *[other] { $seconds } seconds
    }.
reset-pin-ask = If you do not know the PIN, ask the person who looks after this device.

## Menu

reset-info-title = This device
reset-info-system = System
reset-info-disk = Disk
reset-info-last = Last reset
reset-never = never
reset-menu-question = What do you want to do?
reset-entry-reset = Factory reset...
reset-entry-reset-explain = Erase all data and settings and start again as freshly installed. The system itself stays. You will see what is erased and confirm first.
reset-entry-reboot = Restart
reset-entry-reboot-explain = Restart the device now.
reset-entry-poweroff = Power off
reset-entry-poweroff-explain = Switch the device off now.
reset-entry-quit = Quit
reset-entry-quit-explain = Leave this menu; nothing changes.

## Factory reset

reset-confirm-intro = A factory reset returns this device to the state it was installed in. What is erased cannot be recovered.
reset-erase-title = Will be erased
reset-keep-title = Stays
reset-erase-none = nothing
reset-keep-none = nothing
reset-confirm-word = ERASE
reset-confirm-label = To reset, type { $word }:
reset-confirm-warning = Press Esc to go back without changing anything.
reset-confirm-wrong = That is not { $word }. Type the word exactly as shown, in capitals.

## Progress and result

reset-progress-intro = The device is being reset. Do not switch it off.
reset-done-intro = The factory reset is complete. Restart to use the device as freshly installed.
reset-failed-intro = The factory reset failed.
reset-failed-next = Press Enter or Esc to go back to the menu.

## Progress: each step

reset-step-erase = erasing partition { $number } "{ $label }" ({ $size }) beyond recovery
reset-step-table-without = writing the partition table without the erased partitions ({ $left } left)
reset-step-wipe = erasing the old partition table
reset-step-clear = clearing partition { $number } "{ $label }"
reset-step-clear-encrypted = clearing partition { $number } "{ $label }" and encrypting it
reset-step-format = formatting partition { $number } "{ $label }" as { $fs }
reset-step-format-encrypted = encrypting partition { $number } "{ $label }" and formatting it as { $fs }
reset-step-copy = copying { $size } into partition { $number } "{ $label }"
reset-step-copy-encrypted = copying { $size } into partition { $number } "{ $label }", encrypted
reset-step-table = writing the partition table ({ $partitions } partitions)
reset-step-verify = reading the copied partitions back and comparing them
reset-step-boot = pointing the boot entries at the new root
reset-step-prove = checking that every encrypted partition opens
reset-step-esp-log = recording the reset on the EFI system partition
reset-step-logged = recorded on the EFI system partition: { $line }
reset-step-requested = requested: { $variable } = { $value }
reset-step-restart = the next start erases the state and user data; restart now to do it
