//! Fault-injection harness for the replicated seat-booking system: real `--prod` host nodes in
//! network namespaces, concurrent booking clients, seeded faults, then checks.
//!
//! # Layout
//! - `net`: namespaces, bridge and veths; partitions as nftables rules; cleanup.
//! - `cluster`: the node processes (keygen, profile, start, kill, pause, wipe, `--join`).
//! - `api`: HTTP with a bounded timeout, answers classified; admin status calls.
//! - `workload`: the client threads and what they record.
//! - `history`: operations, outcomes and times.
//! - `nemesis`: the seeded fault schedule and its execution; the plugin swap.
//! - `check`: the checks on a history (`check::wgl`: per-seat linearizability search).
//! - `run`: one run from network to verdict.
//! - `summary`: totals over runs.
//! - `signal`: Ctrl-C handling.

pub mod api;
pub mod check;
pub mod cluster;
pub mod history;
pub mod nemesis;
pub mod net;
pub mod run;
pub mod signal;
pub mod summary;
pub mod workload;

/// The harness's error type at its edges (runs and the binary).
pub type Error = anyhow::Error;
/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
