//! Cinema seat reservation rules: the plugin `plugins/seat.wasm` that the replicated host runs.
//!
//! The host replicates opaque bytes through Raft and calls this plugin to apply each committed
//! entry; every seat rule and all state live here. Commands, queries and their results travel as
//! postcard bytes between the front (which builds them from HTTP requests and console lines) and
//! the state machine (which applies them), so the host never needs to know what they mean.
//!
//! # Layout
//!
//! - [`seat`]: seat ids (`a1`) and hall layouts.
//! - [`state`]: showtimes, seat maps, bookings and the plugin clock.
//! - [`command`]: commands and their all-or-none application.
//! - [`query`]: read-only requests and answers.
//! - [`rejection`]: why a command or query was refused.
//! - [`snapshot`]: the versioned snapshot format.
//! - [`machine`]: `machine.*` at the byte level (decode, apply, encode).
//! - [`http`]: `front.route` / `front.render`, the JSON API.
//! - [`problem`]: RFC 9457 problem bodies for every HTTP error.
//! - [`console`]: the demo and dev console commands, overview and `describe`.
//! - [`text`]: text renderings shared by the console functions.
//! - [`contract`]: plain mirrors of the WIT types, so all of the above is testable natively.
//! - `component` (wasm32 only): the `wit_bindgen` exports, delegating to the modules above.

#![warn(missing_docs)]

pub mod command;
pub mod console;
pub mod contract;
pub mod http;
pub mod machine;
pub mod problem;
pub mod query;
pub mod rejection;
pub mod seat;
pub mod snapshot;
pub mod state;
pub mod text;

#[cfg(target_arch = "wasm32")]
mod component;

pub use command::{Applied, Command};
pub use contract::{
    ConsoleAction, ConsoleMode, HttpRequest, HttpResponse, LogContext, Outcome, PluginInfo,
    RouteAction,
};
pub use machine::Machine;
pub use query::{Answer, Query};
pub use rejection::Rejection;
pub use seat::{Layout, SeatId};
