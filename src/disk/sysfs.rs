//! Disk discovery from sysfs, and the safety facts about each disk.
