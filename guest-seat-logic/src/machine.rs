//! The state machine half of the plugin at the byte level: what `machine.*` exports do.
//!
//! It decodes postcard commands and queries, runs them against the [`State`], and encodes the
//! results. Undecodable bytes are refused, never trapped on, since a log may hold entries written
//! by another plugin version. `apply` answers its result, the topics it changed and the next
//! deadline in one call (contract 0.2.0), so the canonical instance's call history is the log.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::booking::{self, At};
use crate::command::{Applied, Command, Effect, Refused};
use crate::contract::{self, LogContext, PluginInfo};
use crate::hold;
use crate::query::{Answer, Query};
use crate::rejection::Rejection;
use crate::rules::{MIN_RESTORE_FORMAT, RULES, SNAPSHOT_FORMAT};
use crate::snapshot;
use crate::state::State;

/// Plugin name reported by `info`.
pub const NAME: &str = "seat-logic";

/// Rules version reported by `info` (1.1.0, or 2.1.0 with the feature `v2`).
pub use crate::rules::VERSION;

/// The replicated state machine: one per replica, fed every committed command in log order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The current state; replaced whole by `restore`.
    state: State,
}

impl Machine {
    /// A machine in the first-start state (default catalog and showtimes, demo showtime 1).
    pub fn new() -> Self {
        Machine::default()
    }

    /// The current state, read-only.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// What this plugin is.
    pub fn info() -> PluginInfo {
        PluginInfo {
            name: NAME.to_string(),
            version: VERSION.to_string(),
            snapshot_format: SNAPSHOT_FORMAT,
            min_restore_format: MIN_RESTORE_FORMAT,
            description: format!(
                "Cinema seat reservations: catalog, showtimes, seat maps, timed holds, \
                 all-or-none bookings owned by capability tokens, per-customer limits, paged \
                 lists, activity and live topics; rules {VERSION}: {}.",
                RULES.summary()
            ),
        }
    }

    /// Applies one committed entry.
    ///
    /// The first entry with a log time dates the first-start showtimes
    /// ([`crate::schedule`]). Then the plugin clock moves to `max(clock, ctx.time_ms)`, holds due at that time expire
    /// (at most [`crate::limits::MAX_EXPIRIES_PER_ENTRY`]) and retention-expired holds and
    /// bookings are forgotten; this happens whatever the command, so it happens at the same index
    /// on every replica. An empty `command` is a clock tick and stops there. Otherwise the
    /// command runs: `Ok` is a postcard [`Applied`], `Err` a postcard [`Refused`] (and then only
    /// the timed changes above were made). Both list the holds that expired. The answer also
    /// names the topics the entry changed and the state's next deadline.
    pub fn apply(&mut self, ctx: &LogContext, command: &[u8]) -> contract::Applied {
        let state = &mut self.state;
        let dated = crate::schedule::date_first_showtimes(state, ctx.time_ms);
        let now_ms = state.clock_ms.max(ctx.time_ms);
        state.clock_ms = now_ms;
        let at = At {
            index: ctx.index,
            now_ms,
        };
        let expired = hold::sweep(state, at);
        hold::prune(state, now_ms);
        booking::prune(state, now_ms);
        let outcome = if command.is_empty() {
            Ok(Effect::Tick)
        } else {
            decode::<Command>(command).and_then(|c| c.apply(state, ctx, now_ms))
        };
        let mut topics = crate::topics::topics(&expired, outcome.as_ref().ok());
        if !dated.is_empty() {
            topics.extend(dated.into_iter().map(crate::topics::showtime_topic));
            topics.sort();
            topics.dedup();
        }
        let result = match outcome {
            Ok(effect) => Ok(encode(&Applied { expired, effect })),
            Err(rejection) => Err(encode(&Refused { expired, rejection })),
        };
        contract::Applied {
            result,
            topics,
            next_deadline: self.state.next_deadline(),
        }
    }

    /// The earliest log time at which a hold expires (0 before the first entry: the first-start
    /// showtimes wait for it to be dated); `None` when nothing is pending.
    pub fn next_deadline(&self) -> Option<u64> {
        self.state.next_deadline()
    }

    /// Answers a query: `Ok` is a postcard [`Answer`], `Err` a postcard [`Rejection`]. `now_ms`
    /// (the reading node's clock) is not used: answers show the state as of its last applied
    /// entry, so every replica at that index answers the same.
    pub fn query(&self, _now_ms: u64, request: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        self.answer(request)
            .map(|answer| encode(&answer))
            .map_err(|rejection| encode(&rejection))
    }

    /// Answers query bytes without encoding the answer: what the fronts render for
    /// `outcome.read`.
    ///
    /// # Errors
    ///
    /// [`Rejection::Undecodable`] for bytes that are no query, else the query's refusal.
    pub fn answer(&self, request: &[u8]) -> Result<Answer, Rejection> {
        decode::<Query>(request)?.answer(&self.state)
    }

    /// The whole state as snapshot bytes (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::write(&self.state)
    }

    /// Replaces the whole state from snapshot bytes and answers its next deadline.
    ///
    /// # Errors
    ///
    /// Why the bytes were refused; the current state is then kept unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<Option<u64>, String> {
        self.state = snapshot::read(bytes)?;
        Ok(self.state.next_deadline())
    }
}

/// Encodes a wire value with postcard.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising derived types into a Vec cannot fail; if it ever did, the empty bytes would be
    // reported as undecodable by the reader instead of trapping here.
    postcard::to_allocvec(value).unwrap_or_default()
}

/// Decodes a wire value with postcard, refusing trailing bytes.
///
/// # Errors
///
/// [`Rejection::Undecodable`] with the length of the bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    let undecodable = Rejection::Undecodable {
        bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
    };
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(undecodable),
    }
}

#[cfg(test)]
mod tests;
