## The update page (imprint update)

update-flow = Update
update-page-versions = Versions
update-page-downloading = Downloading
update-page-done = Installed
update-page-failed = Update failed
update-checking = Looking for updates: reading the update definitions and the signed list of versions...
update-intro = A newer version is available. It is downloaded into the unused slot; the running system is not touched. Choose a version and press Enter.
update-up-to-date = This system is up to date. The versions on offer and installed:
update-current = running now
update-installed = installed
update-newest = newest, available
update-available = available
update-help-install = install
update-help-check = look again
update-help-reboot = restart now
update-help-later = restart later
update-downloading = Downloading and checking version { $version }...
update-safe = The running system is not changed. If this stops, nothing breaks: the next update starts again.
update-done = Version { $version } is installed and checked. Restart the computer to use it.
update-failed-safe = Nothing was changed on the running system.
update-quit-body = Leave the update page? A download that runs is stopped; the running system stays as it is.
update-older = older, available
update-older-title = Install an older version?
update-older-body = Version { $version } is older than the one this system has. Older versions may lack security fixes, and what the newer one changed may not work with it. Install it only if you mean to go back.
update-older-keys = y install the older version   any other key: back
