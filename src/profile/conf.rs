//! Installer profiles: `installer-profiles/NAME/profile.conf` (+ `profile.conf.d/`) and the
//! repart.d definitions beside it.
