//! Cinema seat reservation rules: the plugins `plugins/seat.wasm` (version 1) and
//! `plugins/seat-v2.wasm` (version 2, cargo feature `v2`) that the replicated host runs.
//!
//! The host replicates opaque bytes through Raft and calls this plugin to apply each committed
//! entry; every seat rule and all state live here. Commands, queries and their results travel as
//! postcard bytes between the fronts (which build them from HTTP requests and console lines) and
//! the state machine (which applies them), so the host never needs to know what they mean. The
//! plugin implements contract 0.2.0 (`wit/plugin.wit`, world `plugin`: `machine`, `http`,
//! `console`). Customers own holds and bookings through capability tokens ([`token`]).
//!
//! # Layout
//!
//! - [`limits`]: every bound on the state and on the cost of one call.
//! - [`token`]: capability tokens, minted from request entropy; only digests are kept.
//! - [`seat`]: seat ids (`a1`) and hall layouts.
//! - [`catalog`]: movies and theaters, their field rules, and the first-start catalog.
//! - [`schedule`]: the first-start showtimes, dated from the first log time.
//! - [`state`]: showtimes, seat maps, holds, bookings, settings, indexes and the plugin clock.
//! - [`activity`]: the per-showtime list of recent changes.
//! - [`command`]: commands, their stateless checks, and what `apply` answers.
//! - [`booking`]: direct bookings, cancellation, the per-customer limit.
//! - [`hold`]: holds, their expiry by log time and retention.
//! - [`admin`]: adding and removing movies, theaters and showtimes.
//! - [`query`]: read-only requests and answers, paged lists.
//! - [`best`]: the best block of free seats side by side, and its score.
//! - [`rejection`]: why a command or query was refused.
//! - [`rules`]: the rules that differ between versions 1 and 2 (feature `v2`), and their checks.
//! - [`snapshot`]: the versioned snapshot format.
//! - [`machine`]: `machine.*` at the byte level (clock, expiry sweep, decode, apply, encode).
//! - [`topics`]: which live views an entry changed (`machine.applied.topics`).
//! - [`describe`]: `machine.describe`, one line per log entry.
//! - [`http`]: `http.route` / `http.render`, the JSON API, its route table and access rules.
//! - [`problem`]: RFC 9457 problem bodies for every HTTP error.
//! - [`openapi`]: the embedded OpenAPI document.
//! - [`web`]: the embedded web page.
//! - [`console`]: `console.*`, the demo and dev console commands and the overview.
//! - [`text`]: text renderings shared by the console functions.
//! - [`timefmt`]: RFC 3339 and console time formats.
//! - [`contract`]: plain mirrors of the WIT types, so all of the above is testable natively.
//! - `component` (wasm32 only): the `wit_bindgen` exports, delegating to the modules above.

#![warn(missing_docs)]

pub mod activity;
pub mod admin;
pub mod best;
pub mod booking;
pub mod catalog;
pub mod command;
pub mod console;
pub mod contract;
pub mod describe;
pub mod hold;
pub mod http;
pub mod limits;
pub mod machine;
pub mod openapi;
pub mod problem;
pub mod query;
pub mod rejection;
pub mod rules;
pub mod schedule;
pub mod seat;
pub mod snapshot;
pub mod state;
pub mod text;
pub mod timefmt;
pub mod token;
pub mod topics;
pub mod web;

#[cfg(target_arch = "wasm32")]
mod component;
#[cfg(test)]
mod testing;

pub use command::{Applied, Command, Effect, Refused};
pub use contract::{
    ConsoleAction, ConsoleLine, ConsoleMode, HttpAction, HttpRequest, HttpResponse, LogContext,
    Outcome, PluginInfo, WatchRequest,
};
pub use machine::Machine;
pub use query::{Answer, Query};
pub use rejection::Rejection;
pub use seat::{Layout, SeatId};
