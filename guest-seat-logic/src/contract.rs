//! Plain-Rust mirrors of the WIT types in `wit/plugin.wit`.
//!
//! The generated bindings exist only when compiling for wasm32, but the rules and fronts must be
//! testable natively. So the library speaks these types, and `component` (wasm32 only) converts
//! between them and the generated ones field by field. Field meanings are documented in the WIT.

/// Where a committed entry sits in the log, and its leader's timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogContext {
    /// Raft log index of the entry being applied.
    pub index: u64,
    /// Raft term of the leader that appended it.
    pub term: u64,
    /// Leader wall clock when it accepted the entry, ms since the Unix epoch.
    pub leader_time_ms: u64,
}

/// What the plugin says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Machine-friendly name.
    pub name: String,
    /// Semantic version of the rules.
    pub version: String,
    /// Format `snapshot` writes.
    pub snapshot_format: u32,
    /// Oldest format `restore` accepts.
    pub min_restore_format: u32,
    /// One line for humans.
    pub description: String,
}

/// An HTTP request as the host received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpRequest {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

/// An HTTP response for the host to send unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the host must do with an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Run this query, then `render`.
    Read(Vec<u8>),
    /// Replicate this command, then `render`.
    Write(Vec<u8>),
    /// Send this response as is.
    Respond(HttpResponse),
    /// Stream this query's answer as Server-Sent Events, again after every entry whose topics
    /// include `topic`.
    Watch(WatchRequest),
}

/// A live view for [`RouteAction::Watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRequest {
    /// Which changes wake the stream, as named by `topics`.
    pub topic: String,
    /// The query to answer on every wake-up.
    pub query: Vec<u8>,
    /// The SSE event name.
    pub event: String,
}

/// What the host must do with a console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleAction {
    /// Run this query, then `console-render`.
    Read(Vec<u8>),
    /// Replicate this command, then `console-render`.
    Write(Vec<u8>),
    /// Print this text.
    Print(String),
}

/// How a read or write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plugin's own `ok` or `err` bytes.
    Finished(Result<Vec<u8>, Vec<u8>>),
    /// The host got no answer; the text says why.
    Unavailable(String),
}

/// Which console the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMode {
    /// Seat ids book into showtime 1 for user `demo`.
    Demo,
    /// Full command set with explicit showtimes and users.
    Dev,
}
