//! Host-side mirrors of the plugin contract's types (`wit/plugin.wit`).
//!
//! They keep wasmtime's generated types inside `plugin/` and carry serde derives where the
//! Raft and HTTP layers move them around.

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

/// The optional fronts a component exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Fronts {
    /// `http`: public HTTP routes.
    pub http: bool,
    /// `console`: console lines.
    pub console: bool,
}

/// Where an entry sits in the log and its log time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogContext {
    /// Raft log index.
    pub index: u64,
    /// Term of the leader that appended the entry.
    pub term: u64,
    /// Log time: ms since the Unix epoch, never decreasing along the log.
    pub time_ms: u64,
}

/// What `machine.apply` produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The plugin's answer: `Ok` applied, `Err` refused by the rules.
    pub result: Result<Vec<u8>, Vec<u8>>,
    /// The watch topics the entry changed.
    pub topics: Vec<String>,
    /// The next log time at which the state has something timed to do.
    pub next_deadline: Option<u64>,
}

/// Size of [`HttpRequest::entropy`] and [`ConsoleLine::entropy`].
pub const ENTROPY_BYTES: usize = 32;

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
    /// The verified admin role of the caller, `None` for anonymous.
    pub role: Option<String>,
    /// Fresh random bytes for secrets the plugin mints.
    pub entropy: [u8; ENTROPY_BYTES],
    /// The receiving node's wall clock.
    pub now_ms: u64,
}

impl HttpRequest {
    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
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
    /// Send this response as is.
    Respond(HttpResponse),
    /// Answer this query from a fresh enough state, then render.
    Read(Vec<u8>),
    /// Replicate this command, then render.
    Write(Vec<u8>),
    /// Stream the query's rendering as Server-Sent Events, again after every change of `topic`.
    Watch(WatchRequest),
}

/// A live view the plugin asked for (`action.watch`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchRequest {
    /// The changes that wake the stream, as `applied.topics` names them.
    pub topic: String,
    /// The query answered on every wake-up.
    pub query: Vec<u8>,
    /// The SSE event name.
    pub event: String,
}

/// How a read or write ended, as the plugin's render functions see it.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A write's `apply` result.
    Written(Result<Vec<u8>, Vec<u8>>),
    /// Answer this query from the rendering instance's state.
    Read(Vec<u8>),
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

/// A console line for the plugin's `console` front.
#[derive(Debug, Clone)]
pub struct ConsoleLine {
    /// The trimmed line.
    pub text: String,
    /// Which console it was typed into.
    pub mode: ConsoleMode,
    /// Fresh random bytes, the same for `parse` and `render` of the line.
    pub entropy: [u8; ENTROPY_BYTES],
}

/// What a console line needs, according to the plugin.
#[derive(Debug, Clone)]
pub enum ConsoleAction {
    /// Answer this query, then render.
    Read(Vec<u8>),
    /// Replicate this command, then render.
    Write(Vec<u8>),
    /// Print this text.
    Print(String),
}

/// Fresh random bytes from the operating system's generator.
///
/// # Panics
/// Never in practice: `getrandom` only fails when the OS has no entropy source at all, and the
/// fallback then is zeros mixed with the clock, which only weakens tokens minted from it; the
/// failure is logged.
pub fn fresh_entropy() -> [u8; ENTROPY_BYTES] {
    let mut bytes = [0u8; ENTROPY_BYTES];
    if let Err(e) = getrandom::fill(&mut bytes) {
        tracing::error!(error = %e, "the OS random generator failed; tokens are weak");
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..16].copy_from_slice(&nanos.to_le_bytes());
    }
    bytes
}
