//! The public side of a node: one HTTP/1.1 listener (optionally TLS) for customers and admins.
//! Raft and forwarding never come here: they have their own peer listener (`raft::transport`).
//!
//! - [`server`]: the accept loop, connection hygiene and routing.
//! - [`limits`]: [`HttpLimits`] and the connection and stream counters that enforce them.
//! - [`auth`]: admin bearer tokens to roles.
//! - [`body`]: bounded, deadline-limited request bodies.
//! - `admin`: the host's `/v1` endpoints and `/metrics`, with the one route table.
//! - `openapi`: the OpenAPI 3.1 document of those routes, made from that table.
//! - `events`: Server-Sent Event streams for the plugin's watch routes.
//! - [`client`]: the small JSON client `host ctl`, `--join` and `add-node` use.
//! - [`problem`]: RFC 9457 `application/problem+json` responses for host-level errors.

mod admin;
pub mod auth;
pub mod body;
pub mod client;
mod events;
pub mod limits;
mod openapi;
pub mod problem;
pub mod server;

pub use limits::HttpLimits;
