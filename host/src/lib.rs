//! A generic replicated log host: Raft (openraft) orders opaque commands, a WebAssembly
//! component (the plugin) applies them. The host knows nothing about what the commands mean.
//!
//! # Layout
//! - [`config`]: cluster profiles read from `config.json`.
//! - [`node`]: wires Raft, storage, the plugin runtime and the fronts into one [`Node`];
//!   the embedding API (start, write, read, status, shutdown).
//! - [`raft`]: the type config, log entries, log store, state machine adapter and peer network.
//! - [`plugin`]: loading, validating, limiting and calling WebAssembly components.
//! - [`http`]: one hyper server per node: the plugin-routed public API, `/v1/...` host
//!   endpoints and the Raft RPC between nodes.
//! - [`console`]: the interactive REPL (demo and dev modes).
//! - [`local`]: `host local`, a whole local cluster from one command.
//!
//! Data flows one way: `cli -> node -> raft -> plugin`; the fronts talk to [`Node`] only.

pub mod config;
pub mod console;
pub mod ctl;
pub mod http;
pub mod local;
pub mod node;
pub mod plugin;
pub mod raft;

pub use node::{Consistency, Node, NodeOptions, SnapshotSettings, Storage};
