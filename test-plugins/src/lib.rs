//! Test plugins: tiny components for contract 0.2.0 of `wit/plugin.wit`, each with exactly one
//! misbehaviour (or none), so that host tests can check that bad plugin candidates are refused
//! before they enter the log, that a running plugin that loops or grows memory cannot take a
//! node down, and that the host serves only the fronts a plugin exports.
//!
//! # Layout
//!
//! - [`Behaviour`]: the one misbehaviour of this build, picked by a cargo feature, and the world
//!   it exports ([`World`]).
//! - `component` (wasm32 only): the `wit_bindgen` exports.
//! - `heap` (wasm32 only): the allocator and panic handler that replace std's.
//!
//! One build per feature (`cargo xtask build-plugin` writes `plugins/test/<feature>.wasm`):
//!
//! | feature        | world           | misbehaviour                                          |
//! |----------------|-----------------|-------------------------------------------------------|
//! | `trap-restore` | `http-plugin`   | `restore` traps (unreachable) on any input            |
//! | `loop-apply`   | `http-plugin`   | `apply` loops forever                                 |
//! | `grow-memory`  | `http-plugin`   | `apply` allocates 64 KiB chunks until memory runs out |
//! | `loop-restore` | `http-plugin`   | `restore` loops forever                               |
//! | `wrong-info`   | `http-plugin`   | `info` traps                                          |
//! | `echo`         | `plugin`        | none: `apply` returns the command, HTTP answers `echo`|
//! | `machine-only` | `state-machine` | none: echo's state machine, no fronts at all          |
//!
//! Everything not named above behaves: `info` answers (name = the feature, version 0.0.1,
//! snapshot format 1, oldest restorable 1), `restore` accepts any bytes (echo and machine-only:
//! only their own format 1) and answers no deadline, `snapshot` returns format 1 (`01 00 00 00`
//! then the last applied command), `apply` answers `ok(command)` with no topics and no deadline,
//! `query` echoes the request, HTTP `POST` writes the body as a command and other methods read
//! it (`render` answers a read with the query bytes themselves), so tests can reach `apply` over
//! HTTP (echo answers every HTTP request 200 `echo` itself), and echo's console writes each line
//! as a command. Natively nothing is exported, so the workspace's native checks can include
//! this crate; a wasm32 build without a feature is echo.

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
    /// Nothing: a minimal well-behaved plugin with both fronts.
    Echo,
    /// Nothing: echo's state machine without any front.
    MachineOnly,
}

/// The world of `wit/plugin.wit` a build exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    /// `state-machine`: `machine` only.
    StateMachine,
    /// `http-plugin`: `machine` and `http`.
    HttpPlugin,
    /// `plugin`: `machine`, `http` and `console`.
    Plugin,
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
        } else if cfg!(feature = "machine-only") {
            Behaviour::MachineOnly
        } else {
            Behaviour::Echo
        }
    }

    /// The world a build with this behaviour exports.
    pub const fn world(self) -> World {
        match self {
            Behaviour::Echo => World::Plugin,
            Behaviour::MachineOnly => World::StateMachine,
            _ => World::HttpPlugin,
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
            Behaviour::MachineOnly => "machine-only",
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
            Behaviour::MachineOnly => "test plugin: apply echoes the command; no fronts",
        }
    }
}

/// The snapshot format every test plugin writes.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// The rules version every test plugin reports.
pub const VERSION: &str = "0.0.1";

/// The features of this crate; a wasm build must set at most one.
#[cfg(target_arch = "wasm32")]
const FEATURES: [bool; 7] = [
    cfg!(feature = "trap-restore"),
    cfg!(feature = "loop-apply"),
    cfg!(feature = "grow-memory"),
    cfg!(feature = "loop-restore"),
    cfg!(feature = "wrong-info"),
    cfg!(feature = "echo"),
    cfg!(feature = "machine-only"),
];

/// More than one feature in one wasm build would make the output's name a lie.
#[cfg(target_arch = "wasm32")]
const _: () = {
    let mut set = 0;
    let mut i = 0;
    while i < FEATURES.len() {
        if FEATURES[i] {
            set += 1;
        }
        i += 1;
    }
    assert!(set <= 1, "build test-plugins with exactly one feature");
};

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
            feature = "wrong-info",
            feature = "machine-only"
        )) {
            assert_eq!(Behaviour::of_build(), Behaviour::Echo);
            assert_eq!(Behaviour::of_build().name(), "echo");
            assert_eq!(Behaviour::of_build().world(), World::Plugin);
        }
    }

    #[test]
    fn misbehaving_plugins_export_http_and_machine_only_exports_machine() {
        assert_eq!(Behaviour::LoopApply.world(), World::HttpPlugin);
        assert_eq!(Behaviour::TrapRestore.world(), World::HttpPlugin);
        assert_eq!(Behaviour::MachineOnly.world(), World::StateMachine);
        assert_eq!(Behaviour::MachineOnly.name(), "machine-only");
    }
}
