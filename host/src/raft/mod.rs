//! Consensus: the Raft type configuration, what a log entry carries, the log stores, the state
//! machine that feeds committed entries to the plugin, snapshots, and the peer transport.
//!
//! - [`entry`]: [`Envelope`] (what every entry carries) and [`ApplyOutcome`] (what applying it
//!   produced).
//! - [`log_store`]: the in-memory log store of demo and dev modes; [`durable_log`]: the fjall
//!   log store of prod mode; [`log_clock`]: the highest leader time in this node's log.
//! - [`state_machine`]: the canonical plugin instance on its apply thread, base points and
//!   snapshots, node-local instances.
//! - [`snapshot_store`]: snapshot files, replaced atomically, never by an older one.
//! - [`transport`]: the peer channel (mutual TLS, HTTP/2): Raft RPC, snapshot streaming and the
//!   node's forwarding calls, guarded before anything is decoded.

pub mod durable_log;
pub mod entry;
pub mod log_clock;
pub mod log_store;
pub mod snapshot_store;
pub mod state_machine;
pub mod transport;

use serde::{Deserialize, Serialize};

pub use entry::{ApplyOutcome, Envelope, MachineConfig, Payload, RequestKey};
pub use state_machine::{CommitEvent, CommitKind, Machine, StateMachine};

/// A member as the replicated membership records it: where its public API and its peer
/// channel listen (`host:port` as configured, resolved by whoever connects).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The public API (HTTP: customers and admins).
    pub api: String,
    /// The peer channel (Raft RPC, forwarding, snapshots).
    pub peer: String,
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (peer {})", self.api, self.peer)
    }
}

openraft::declare_raft_types!(
    /// The host's Raft types: entries carry an [`Envelope`], applying one yields an [`ApplyOutcome`].
    pub TypeConfig:
        D = Envelope,
        R = ApplyOutcome,
        NodeId = u64,
        Node = Member,
);

/// The Raft handle of a node.
pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// Every derived openraft type the host names, spelled once.
pub mod typ {
    use super::TypeConfig;
    use openraft::type_config::alias;

    /// A log position (term + index).
    pub type LogId = alias::LogIdOf<TypeConfig>;
    /// A log entry.
    pub type Entry = alias::EntryOf<TypeConfig>;
    /// A vote.
    pub type Vote = alias::VoteOf<TypeConfig>;
    /// Membership plus the log id that set it.
    pub type StoredMembership = alias::StoredMembershipOf<TypeConfig>;
    /// Snapshot metadata.
    pub type SnapshotMeta = alias::SnapshotMetaOf<TypeConfig>;
    /// A snapshot with its data (an open file).
    pub type Snapshot = alias::SnapshotOf<TypeConfig, super::snapshot_store::SnapshotFile>;
    /// Raft metrics.
    pub type RaftMetrics = openraft::RaftMetrics<TypeConfig>;
}
