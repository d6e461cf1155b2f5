//! Test plugins: tiny components that implement the whole `plugin` world of `wit/plugin.wit`,
//! each with exactly one misbehaviour, so that host tests can check that bad plugin candidates
//! are refused before they enter the log and that a running plugin that loops or grows memory
//! cannot take a node down.
//!
//! # Layout
//!
//! - [`Behaviour`]: the one misbehaviour of this build, picked by a cargo feature.
//! - `component` (wasm32 only): the `wit_bindgen` exports.
//! - `heap` (wasm32 only): the allocator and panic handler that replace std's.
//!
//! One build per feature (`cargo xtask build-plugin` writes `plugins/test/<feature>.wasm`):
//!
//! | feature        | misbehaviour                                                       |
//! |----------------|--------------------------------------------------------------------|
//! | `trap-restore` | `restore` traps (unreachable) on any input                         |
//! | `loop-apply`   | `apply` loops forever                                              |
//! | `grow-memory`  | `apply` allocates 64 KiB chunks until memory runs out              |
//! | `loop-restore` | `restore` loops forever                                            |
//! | `wrong-info`   | `info` traps                                                       |
//! | `echo`         | none: `apply` returns the command, HTTP answers 200 `echo`         |
//!
//! Everything not named above behaves: `info` answers (name = the feature, version 0.0.1,
//! snapshot format 1, oldest restorable 1), `restore` accepts any bytes (the echo plugin: only
//! its own format 1), `snapshot` returns format 1 (`01 00 00 00` then the last applied command),
//! `query` echoes the request, the console writes each line as a command, and HTTP `POST` writes
//! the body as a command (`GET` reads it), so tests can reach `apply` both ways (the echo plugin
//! answers every HTTP request 200 `echo` itself). Natively nothing is exported, so the
//! workspace's native checks can include this crate; a wasm32 build without a feature is echo.

#![warn(missing_docs)]
// No std on wasm32: without its panic and formatting machinery a component is a few KB.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(target_arch = "wasm32")]
extern crate alloc;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(target_arch = "wasm32")]
mod heap;

/// What a build of this crate does wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// `restore` traps on any input.
    TrapRestore,
    /// `apply` never returns.
    LoopApply,
    /// `apply` allocates without bound.
    GrowMemory,
    /// `restore` never returns.
    LoopRestore,
    /// `info` traps.
    WrongInfo,
    /// Nothing: a minimal well-behaved plugin.
    Echo,
}

impl Behaviour {
    /// The behaviour picked by this build's feature (`Echo` when none is set).
    pub const fn of_build() -> Self {
        if cfg!(feature = "trap-restore") {
            Behaviour::TrapRestore
        } else if cfg!(feature = "loop-apply") {
            Behaviour::LoopApply
        } else if cfg!(feature = "grow-memory") {
            Behaviour::GrowMemory
        } else if cfg!(feature = "loop-restore") {
            Behaviour::LoopRestore
        } else if cfg!(feature = "wrong-info") {
            Behaviour::WrongInfo
        } else {
            Behaviour::Echo
        }
    }

    /// The plugin name `info` reports: the feature's name.
    pub const fn name(self) -> &'static str {
        match self {
            Behaviour::TrapRestore => "trap-restore",
            Behaviour::LoopApply => "loop-apply",
            Behaviour::GrowMemory => "grow-memory",
            Behaviour::LoopRestore => "loop-restore",
            Behaviour::WrongInfo => "wrong-info",
            Behaviour::Echo => "echo",
        }
    }

    /// One line for `info`: the misbehaviour.
    pub const fn description(self) -> &'static str {
        match self {
            Behaviour::TrapRestore => "test plugin: restore traps on any input",
            Behaviour::LoopApply => "test plugin: apply loops forever",
            Behaviour::GrowMemory => "test plugin: apply allocates memory without bound",
            Behaviour::LoopRestore => "test plugin: restore loops forever",
            Behaviour::WrongInfo => "test plugin: info traps",
            Behaviour::Echo => "test plugin: apply echoes the command; HTTP answers 200 echo",
        }
    }
}

/// The snapshot format every test plugin writes.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The rules version every test plugin reports.
pub const VERSION: &str = "0.0.1";

/// More than one misbehaviour feature in one wasm build would make the output's name a lie.
#[cfg(all(
    target_arch = "wasm32",
    any(
        all(
            feature = "trap-restore",
            any(
                feature = "loop-apply",
                feature = "grow-memory",
                feature = "loop-restore",
                feature = "wrong-info",
                feature = "echo"
            )
        ),
        all(
            feature = "loop-apply",
            any(
                feature = "grow-memory",
                feature = "loop-restore",
                feature = "wrong-info",
                feature = "echo"
            )
        ),
        all(
            feature = "grow-memory",
            any(feature = "loop-restore", feature = "wrong-info", feature = "echo")
        ),
        all(
            feature = "loop-restore",
            any(feature = "wrong-info", feature = "echo")
        ),
        all(feature = "wrong-info", feature = "echo"),
    )
))]
compile_error!("build test-plugins with exactly one feature");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_without_features_is_the_echo_plugin() {
        if !cfg!(any(
            feature = "trap-restore",
            feature = "loop-apply",
            feature = "grow-memory",
            feature = "loop-restore",
            feature = "wrong-info"
        )) {
            assert_eq!(Behaviour::of_build(), Behaviour::Echo);
            assert_eq!(Behaviour::of_build().name(), "echo");
        }
    }
}
