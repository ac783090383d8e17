//! imprint: an installer and first-boot wizard for image-based Linux as systemd builds it.
//!
//! The library is the engine; `src/main.rs` is a thin front-end over it. The data flows one way:
//! installer profile and repart.d definitions ([`profile`]) and the hardware found ([`disk`]) go
//! into a pure planner ([`plan`]) that yields a [`plan::Plan`]; the executor ([`exec`]) carries
//! the plan out through the backends and reports typed [`exec::Event`]s, which the front-ends
//! (plain progress line, JSON Lines, later the TUI) consume. See docs/ARCHITECTURE.md.

pub mod app;
pub mod boot;
pub mod cli;
pub mod cmd;
pub mod demo;
pub mod disk;
pub mod errtext;
pub mod exec;
pub mod firstboot;
pub mod fsflags;
pub mod homed;
pub mod install;
pub mod luks;
pub mod osrelease;
pub mod plan;
pub mod profile;
pub mod reset;
pub mod secret;
pub mod task;
pub mod tpm;
pub mod units;
pub mod update;
