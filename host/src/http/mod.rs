//! The HTTP side of a node: one hyper server per node serving three audiences on one port:
//! the public API (routed by the plugin), host endpoints under `/v1/` (status), and the
//! node-to-node Raft RPC and forwarding under `/v1/raft/` and `/v1/forward/`.
//!
//! - [`server`]: the accept loop and routing; handlers never panic, every failure is a response.
//! - `events`: Server-Sent Event streams for the plugin's watch routes.
//! - [`client`]: the pooled client nodes use to call each other.
//! - [`problem`]: RFC 9457 `application/problem+json` responses for host-level errors.

pub mod client;
mod events;
pub mod problem;
pub mod server;
