//! A generic replicated log host: Raft (openraft) orders opaque commands, a WebAssembly
//! component (the plugin) applies them. The host knows nothing about what the commands mean.
//!
//! # Layout
//! - [`config`]: cluster profiles read from `config.json`.
//! - [`secrets`]: credentials: the cluster CA and peer TLS, admin tokens, `host keygen`.
//! - [`node`]: wires Raft, storage, the plugin runtime and the fronts into one [`Node`];
//!   the embedding API (start, write, read, status, shutdown) and the one request flow.
//! - [`raft`]: the type config, log entries, log stores, the state machine (canonical
//!   instance, base points, snapshots, local instances) and the peer transport.
//! - [`plugin`]: loading, validating, limiting and calling WebAssembly components.
//! - [`http`]: the public listener: the plugin-routed API, `/v1` admin endpoints, event streams.
//! - [`console`]: the interactive REPL (demo and dev modes).
//! - [`ctl`]: `host ctl`, console commands against a running node.
//! - [`local`]: `host local`, a whole local cluster from one command.
//! - [`metrics`]: the node's Prometheus metrics (`GET /metrics`), observed by every layer.
//!
//! Data flows one way: `cli -> node -> raft -> plugin`; the fronts talk to [`Node`] only.

pub mod config;
pub mod console;
pub mod ctl;
pub mod http;
pub mod local;
pub mod metrics;
pub mod node;
pub mod plugin;
pub mod raft;
pub mod secrets;

pub use node::{Consistency, Credentials, Node, NodeOptions, Storage};
