//! Consensus: the Raft type configuration, what a log entry carries, the log store, the state
//! machine adapter that feeds committed entries to the plugin, and the peer network.
//!
//! - [`entry`]: [`Envelope`] (what every entry carries) and [`ApplyOutcome`] (what applying it
//!   produced).
//! - [`log_store`]: the in-memory log store of demo and dev modes.
//! - [`state_machine`]: applies committed entries through the plugin; snapshots; plugin installs.
//! - [`network`]: Raft RPC to peers over HTTP with postcard bodies.
//! - [`request_keys`]: idempotency keys as replicated state.
//! - [`snapshot_store`]: the latest snapshot as one checksummed file, replaced atomically.

pub mod durable_log;
pub mod entry;
pub mod log_store;
pub mod network;
pub mod request_keys;
pub mod snapshot_store;
pub mod state_machine;

pub use entry::{ApplyOutcome, Envelope, Payload, RequestKey};
pub use state_machine::{CommitEvent, StateMachine};

openraft::declare_raft_types!(
    /// The host's Raft types: entries carry an [`Envelope`], applying one yields an [`ApplyOutcome`].
    pub TypeConfig:
        D = Envelope,
        R = ApplyOutcome,
        NodeId = u64,
        Node = openraft::BasicNode,
);

/// The Raft handle of a node.
pub type Raft = openraft::Raft<TypeConfig, StateMachine>;

/// Snapshot bytes as openraft moves them: the whole image in memory.
pub type SnapshotData = std::io::Cursor<Vec<u8>>;

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
    /// A snapshot with its data.
    pub type Snapshot = alias::SnapshotOf<TypeConfig, super::SnapshotData>;
    /// Raft metrics.
    pub type RaftMetrics = openraft::RaftMetrics<TypeConfig>;
    /// Storage trait errors.
    pub type RpcError = openraft::errors::RPCError<TypeConfig>;
}
