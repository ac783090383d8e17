# imprint's first-boot wizard, English.
# Every message id here must also be in firstboot.de.ftl (a test checks).

## Frame, help line, quit question

fb-flow = First boot
fb-page-language = Language
fb-page-keyboard = Keyboard
fb-page-timezone = Time zone
fb-page-hostname = Host name
fb-page-root = Root password
fb-page-user = First user
fb-page-summary = Summary
fb-page-apply = Setting up
fb-page-done = Done
fb-page-failed = Failed
fb-key-ctrl-c = Ctrl-C
fb-key-space = Space
fb-key-ctrl-u = Ctrl-U
fb-help-quit = quit
fb-help-back = back
fb-help-choose = choose
fb-help-continue = continue
fb-help-move = move
fb-help-edit = type
fb-help-clear = clear
fb-help-tick = tick or untick
fb-help-type-password = type the password
fb-help-type-to-search = search
fb-help-type-to-try = try typing
fb-help-to-try = to the typing field
fb-help-to-list = to the list
fb-help-region-city = regions or cities
fb-help-apply = apply
fb-help-login = continue to login
fb-help-to-summary = back to the summary
fb-quit-title = Quit the setup?
fb-quit-body = Nothing has been changed yet. Do you want to quit the setup?
fb-quit-body-applying = The settings are being applied right now. If you quit, some may be set and others not. Quit anyway?
fb-quit-body-done = Everything has been applied. Do you want to quit?
fb-quit-body-failed = Not everything could be applied. Do you want to quit anyway?
fb-quit-keys = y = yes, quit   n = no, stay
fb-error = Error: { $reason }
fb-char-space = a space
fb-search = Search:
fb-count = { $shown } of { $all }
fb-no-match = Nothing matches. Press Backspace to change the search.

## Language

fb-language-intro = Which language should this system use?
fb-language-hint = The text changes as soon as you move the selection.
fb-language-no-locale = not installed on this system
fb-language-chosen = The system's language will be { $locale }.
fb-language-missing = This system has no locale for this language; the system language stays as it is. This setup still speaks it.

## Keyboard

fb-keyboard-intro = Choose your keyboard layout. It is used at once on this screen, and from now on on this system's consoles.
fb-keyboard-chosen = Selected: { $keymap }
fb-keyboard-try = Try typing here:
fb-keyboard-none = This system lists no keyboard layouts, so the layout stays as it is. Press Enter to continue.
fb-keyboard-tip = Type to search, for example "de" for German layouts. Press Tab to try the layout, for example with letters such as z, y or @.

## Time zone

fb-timezone-regions = Region
fb-timezone-cities = City
fb-timezone-chosen = Time zone: { $zone }
fb-timezone-none = This system lists no time zones, so the time zone stays as it is. Press Enter to continue.

## Host name

fb-hostname-intro = The host name is this computer's name on the network and in the prompt. Keep the suggestion or type another.
fb-hostname-suggested = Suggested from this machine: { $name }
fb-hostname-label = Host name:
fb-hostname-ok = This host name is valid.
fb-hostname-rules = Allowed: letters a-z and A-Z, digits, "-" and "_"; parts separated by dots, as in "kiosk-7.example.org"; at most { $max } characters. A part may not start or end with "-".
fb-hostname-empty = Type a host name.
fb-hostname-bad-char = "{ $char }" is not allowed in a host name.
fb-hostname-too-long = The host name has { $len } characters; at most { $max } are allowed.
fb-hostname-empty-label = A dot may not come first or last, nor two dots in a row.
fb-hostname-hyphen = The part "{ $label }" starts or ends with "-".

## Passwords

fb-password-label = Password:
fb-repeat-label = Repeat:
fb-password-empty = Type a password.
fb-password-mismatch = The two passwords differ. Type the same password twice.
fb-password-match = The two passwords match.
fb-strength = Strength: { $bar } { $word } ({ $len ->
        [one] 1 character
       *[other] { $len } characters
    }, { $kinds ->
        [one] 1 kind of character
       *[other] { $kinds } kinds of characters
    })
fb-strength-weak = weak
fb-strength-fair = fair
fb-strength-good = good
fb-strength-strong = strong

## Root password

fb-root-intro = The root account can do everything on this system. Give it a password, or lock it and let the first user administer the system.
fb-root-set = Set a root password
fb-root-lock = Lock root: no root password
fb-root-lock-explain = Nobody can log in as root; administrators use their own password.
fb-root-locked-note = Root will be locked. Make the first user an administrator on the next page, or nobody can change the system.

## First user

fb-user-intro = Create your user account. systemd-homed keeps its home directory, encrypted where the system can.
fb-user-intro-classic = Create your user account.
fb-user-no-homed = systemd-homed is not running on this system, so the user cannot be created through it.
fb-user-classic = Create a classic user in /etc/passwd instead
fb-user-none = No user will be created. Tick the box above to create one.
fb-user-name-label = User name:
fb-real-name-label = Full name:
fb-user-admin = Administrator
fb-user-admin-explain = member of "wheel": may change the system with their password
fb-user-name-empty = Type a user name.
fb-user-name-too-long = The user name has { $len } characters; at most { $max } are allowed.
fb-user-name-uppercase = User names are lowercase: "{ $char }" is not allowed.
fb-user-name-bad-first = A user name must start with a letter a-z or "_", not "{ $char }".
fb-user-name-bad-char = "{ $char }" is not allowed in a user name: use a-z, digits, "-" and "_".
fb-user-name-reserved = "{ $name }" is reserved for the system. Choose another name.
fb-real-name-colon = The full name may not contain ":".
fb-real-name-too-long = The full name has { $len } characters; at most { $max } are allowed.

## Summary

fb-summary-intro = Check your answers. Enter applies them; Esc goes back to change one.
fb-from-credentials = from credentials
fb-summary-missing = (not answered)
fb-summary-unchanged = unchanged (the system lists none)
fb-summary-root = Root
fb-summary-root-locked = locked: no root password
fb-summary-password-set = set (hidden)
fb-summary-user = User
fb-summary-user-password = User password
fb-summary-admin = administrator
fb-summary-standard = standard user
fb-summary-homed = through systemd-homed
fb-summary-classic = classic user in /etc/passwd
fb-summary-no-user = none
fb-summary-lockout = Root is locked and no user is created, so nobody could log in. Press Esc to go back and set a root password or create a user.
fb-summary-no-admin = Root is locked and the user is no administrator: nobody will be able to change the system.
fb-summary-credentials-note = Answers "from credentials" were given to this system in advance and are not asked here.

## Applying

fb-apply-intro = The settings are being applied. This takes a moment.
fb-done-intro = This system is set up.
fb-done-applied = What was done:
fb-done-nothing = Nothing needed to change.
fb-done-next = Press Enter to continue to the login prompt.
fb-failed-intro = Not everything could be set up.
fb-failed-next = Press Enter or Esc to go back to the summary, change an answer and try again.

## Applying: each step (the setting's name fills { $what })

fb-setting-locale = the language
fb-setting-keymap = the keyboard layout
fb-setting-timezone = the time zone
fb-setting-hostname = the computer's name
fb-setting-machine-id = the machine ID
fb-setting-root-account = root's account
fb-setting-root-password = root's password
fb-step-written = saved { $what } in { $file }
fb-step-via = set { $what } through { $daemon }
fb-step-kept = kept { $what } ({ $file } was already set)
fb-step-user-classic = created the user { $name } in /etc/passwd
fb-step-user-homed = created the user { $name } through systemd-homed (storage: { $storage })
