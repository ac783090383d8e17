//! Installer profiles and systemd-repart definitions: reading and validating configuration.
//!
//! Everything here turns text into checked `*Spec`/`*Def` types, with errors that name the file
//! and line. Nothing here touches a disk or decides a layout: that is [`crate::plan`].

pub mod conf;
pub mod ini;
pub mod repart;
pub mod types;

pub use ini::ConfigError;
