//! Plain-Rust mirrors of the WIT types in `wit/plugin.wit` (contract 0.2.0).
//!
//! The generated bindings exist only when compiling for wasm32, but the rules and fronts must be
//! testable natively. So the library speaks these types, and `component` (wasm32 only) converts
//! between them and the generated ones field by field. Field meanings are documented in the WIT;
//! names follow it (`http.request` is [`HttpRequest`], `console.line` is [`ConsoleLine`]).
//! `http.outcome` and `console.outcome` are the same variant, mirrored once as [`Outcome`].

/// `machine.log-context`: where a committed entry sits in the log, and its log time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogContext {
    /// Raft log index of the entry being applied.
    pub index: u64,
    /// Raft term of the leader that appended it.
    pub term: u64,
    /// Log time, ms since the Unix epoch; never earlier than the previous entry's.
    pub time_ms: u64,
}

/// `machine.plugin-info`: what the plugin says about itself.
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

/// `machine.applied`: what applying one command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `ok`: a postcard [`crate::command::Applied`]; `err`: a postcard
    /// [`crate::command::Refused`].
    pub result: Result<Vec<u8>, Vec<u8>>,
    /// The watch topics the entry changed.
    pub topics: Vec<String>,
    /// The earliest log time at which the state has something timed to do.
    pub next_deadline: Option<u64>,
}

/// `http.request`: an HTTP request as the host received it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpRequest {
    /// Method, e.g. `GET`.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string without `?`.
    pub query: String,
    /// Headers, names lowercase (`authorization` removed when it held an admin credential).
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
    /// Role of the admin credential the host verified (`admin`, `operator`); `None` for a
    /// customer.
    pub role: Option<String>,
    /// 32 random bytes, the same in `route` and `render` of this request.
    pub entropy: Vec<u8>,
    /// The receiving node's clock, ms since the Unix epoch (display only).
    pub now_ms: u64,
}

impl HttpRequest {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// `http.response`: an HTTP response for the host to send unchanged.
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

/// `http.action`: what the host must do with an HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAction {
    /// Send this response as is.
    Respond(HttpResponse),
    /// Answer this query on an up-to-date instance, then `render` with [`Outcome::Read`].
    Read(Vec<u8>),
    /// Replicate this command, then `render` with [`Outcome::Written`].
    Write(Vec<u8>),
    /// Stream this query's rendering as Server-Sent Events, again after every entry whose
    /// topics include `topic`.
    Watch(WatchRequest),
}

/// `http.watch-request`: a live view for [`HttpAction::Watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRequest {
    /// Which changes wake the stream, as named by `applied.topics`.
    pub topic: String,
    /// The query to answer and render on every wake-up.
    pub query: Vec<u8>,
    /// The SSE event name.
    pub event: String,
}

/// `http.outcome` and `console.outcome`: how a read or write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The write was applied; `machine.apply`'s result.
    Written(Result<Vec<u8>, Vec<u8>>),
    /// Answer this query from this instance's state and render the answer.
    Read(Vec<u8>),
    /// The host got no answer; the text says why.
    Unavailable(String),
}

/// `console.mode`: which console the host runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleMode {
    /// Seat ids book into showtime 1 for user `demo`.
    Demo,
    /// Full command set with explicit showtimes and users.
    Dev,
}

/// `console.line`: one console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleLine {
    /// The line as typed, trimmed.
    pub text: String,
    /// The console it was typed into.
    pub mode: ConsoleMode,
    /// 32 random bytes, the same in `parse` and `render` of this line.
    pub entropy: Vec<u8>,
}

/// `console.action`: what the host must do with a console line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleAction {
    /// Answer this query, then `render` with [`Outcome::Read`].
    Read(Vec<u8>),
    /// Replicate this command, then `render` with [`Outcome::Written`].
    Write(Vec<u8>),
    /// Print this text.
    Print(String),
}
