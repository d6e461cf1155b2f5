//! The peer channel: how members talk to each other, and nobody else can.
//!
//! One HTTP/2 connection per peer, over mutual TLS with the cluster CA (see
//! `secrets::tls`), on each node's own peer address (the public API never serves Raft). The TLS
//! handshake proves membership before a byte of a request is read; after it, every request is
//! still bounded: body size caps per path, a read deadline, and Raft-level guards on what even
//! a member may ask (`guard`).
//!
//! - [`client`]: [`PeerClient`], the pooled connections and calls.
//! - [`server`]: the peer listener and its routes.
//! - [`guard`]: bounds on votes, appends and leadership transfers.
//! - [`incarnations`]: refusing a member that lost its data dir.
//! - [`network`]: openraft's network traits over the client, snapshot streaming included.
//!
//! # Routes (all `POST`, postcard bodies)
//! ```text
//! /raft/append            AppendEntries
//! /raft/vote              RequestVote
//! /raft/pre-vote          Pre-vote
//! /raft/transfer-leader   leadership hand-over notice (broadcast by the leader)
//! /raft/snapshot          u32 LE header length | postcard((Vote, SnapshotMeta)) | snapshot file bytes
//! /node                   the node's own requests (forwarded writes, read index, membership,
//!                         installs, status), typed by the node
//! ```

pub mod client;
pub mod guard;
pub mod incarnations;
pub mod network;
pub mod server;

pub use client::{PeerClient, PeerError};
pub use network::Network;
pub use server::{PeerServer, PeerService};

/// Paths of the peer routes.
pub mod path {
    /// AppendEntries.
    pub const APPEND: &str = "/raft/append";
    /// RequestVote.
    pub const VOTE: &str = "/raft/vote";
    /// Pre-vote (a candidate asks before disrupting the term).
    pub const PRE_VOTE: &str = "/raft/pre-vote";
    /// A whole snapshot, streamed.
    pub const SNAPSHOT: &str = "/raft/snapshot";
    /// Leadership hand-over notice.
    pub const TRANSFER_LEADER: &str = "/raft/transfer-leader";
    /// The node's requests.
    pub const NODE: &str = "/node";
}

/// Largest body of each route, so that no request can size an allocation.
pub mod limits {
    /// Vote, pre-vote and transfer notices are a few dozen bytes.
    pub const SMALL: usize = 64 << 10;
    /// An append batch (an install entry carries a whole component).
    pub const APPEND: usize = 192 << 20;
    /// A node request (a forwarded install carries a whole component).
    pub const NODE: usize = 96 << 20;
    /// A snapshot header.
    pub const SNAPSHOT_HEADER: usize = 1 << 20;
    /// An answer.
    pub const ANSWER: usize = 96 << 20;
}
