//! Host-side mirrors of the plugin contract's types (`wit/plugin.wit`).
//!
//! They keep wasmtime's generated types inside `plugin/` and carry serde derives so that the
//! HTTP and Raft layers can move them around.

use serde::{Deserialize, Serialize};

/// What a plugin says about itself (`machine.info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// Short machine-friendly name.
    pub name: String,
    /// Version of the rules.
    pub version: String,
    /// Format of the snapshots it writes.
    pub snapshot_format: u32,
    /// Oldest snapshot format it restores.
    pub min_restore_format: u32,
    /// One line for humans.
    pub description: String,
}

/// Where an entry sits in the log and the time its leader stamped on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogContext {
    /// Raft log index.
    pub index: u64,
    /// Term of the leader that appended the entry.
    pub term: u64,
    /// Leader wall clock, milliseconds since the Unix epoch.
    pub leader_time_ms: u64,
}

/// An HTTP request for the plugin's `route`/`render`.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string without `?`.
    pub query: String,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    /// The whole body (the HTTP front caps its size).
    pub body: Vec<u8>,
}

/// An HTTP response produced by the plugin.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers to send.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// What an HTTP request needs, according to the plugin.
#[derive(Debug, Clone)]
pub enum RouteAction {
    /// Run this query, then render.
    Read(Vec<u8>),
    /// Replicate this command, then render.
    Write(Vec<u8>),
    /// Send this response as is.
    Respond(HttpResponse),
    /// Stream the query's answer as Server-Sent Events, again after every change of `topic`.
    Watch(WatchRequest),
}

/// A live view the plugin asked for (`route-action.watch`).
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// The changes that wake the stream, as the plugin's `topics` names them.
    pub topic: String,
    /// The query answered on every wake-up.
    pub query: Vec<u8>,
    /// The SSE event name.
    pub event: String,
}

/// What a console line needs, according to the plugin.
#[derive(Debug, Clone)]
pub enum ConsoleAction {
    /// Run this query, then render.
    Read(Vec<u8>),
    /// Replicate this command, then render.
    Write(Vec<u8>),
    /// Print this text.
    Print(String),
}

/// How a read or write ended, as the plugin's render functions see it.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The plugin's own answer.
    Finished(Result<Vec<u8>, Vec<u8>>),
    /// The host could not get an answer; the text says why.
    Unavailable(String),
}

/// Which console is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMode {
    /// The demo console (the end-user view).
    Demo,
    /// The operator console.
    Dev,
}
