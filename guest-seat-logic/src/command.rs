//! Commands (`machine.apply`): the only way the state changes, and what their answers say.
//!
//! Every command is first checked completely against the current state and only then applied, so
//! a refused command leaves the state exactly as it was (the WIT contract for `err`). Checks that
//! need no state ([`Command::check`]) also run in the fronts, so that obviously bad requests are
//! refused before they cost a log entry.
//!
//! The answer of every apply, `ok` ([`Applied`]) or `err` ([`Refused`]), also lists the holds
//! that the entry's log time expired before the command ran, so the topics of the entry and
//! `describe` can name every showtime an entry changed, ticks and refused commands included.
//!
//! `Command`, `Effect`, `Applied` and `Refused` are postcard-encoded by variant index. Nothing
//! was deployed before contract 0.2.0, so they were redefined for it (token digests, settings);
//! from now on variants are only appended, never inserted or reordered, so old log entries keep
//! their meaning.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::admin::NewShowtime;
use crate::booking::Actor;
use crate::catalog::{Movie, MovieInfo, Theater, TheaterInfo};
use crate::contract::LogContext;
use crate::hold::HoldRequest;
use crate::limits::MAX_ID;
use crate::query::{ShowtimeDetail, ShowtimeSummary};
use crate::rejection::Rejection;
use crate::seat::SeatId;
use crate::state::{Booking, Hold, Settings, State};
use crate::token::Digest;
use crate::{admin, booking, hold};

/// Most seats one booking or hold request may name: the request shape, checked without the
/// state (so also by the fronts, before the log). The rules in force may allow fewer
/// ([`crate::rules::RuleSet::max_seats_per_request`]).
pub const MAX_SEATS_PER_REQUEST: usize = 10;

/// Longest user name, in characters.
pub const MAX_USER_CHARS: usize = 64;

/// Hold lifetime when the request names none, in seconds.
pub const DEFAULT_TTL_SECONDS: u32 = 600;

/// Longest hold lifetime one request may ask for, and the cap on a hold's whole life after its
/// creation, in seconds (2 hours).
pub const MAX_TTL_SECONDS: u32 = 7200;

/// Highest seat price, in cents (10 000 EUR).
pub const MAX_PRICE_CENTS: u32 = 1_000_000;

/// A change to the state, replicated through the log. (An empty command is a clock tick and has
/// no variant: see [`crate::machine`].)
///
/// Commands name holds and bookings by the SHA-256 of their tokens ([`Digest`]), never by the
/// tokens: the log is read by every replica, by `describe` and by whoever inspects it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Book seats of one showtime directly: all of them or none.
    Book {
        /// Showtime id.
        showtime: u32,
        /// Seats to book, in any order, each once.
        seats: Vec<SeatId>,
        /// The customer's display name.
        user: String,
        /// Digest of the booking token the front minted.
        token: Digest,
    },
    /// Cancel a booking, for its token's holder or an operator.
    Cancel {
        /// Booking id.
        booking: u64,
        /// Who asks, and their proof.
        by: Actor,
    },
    /// Hold seats for a while: all of them or none.
    Hold {
        /// Showtime id.
        showtime: u32,
        /// Seats to hold, in any order, each once.
        seats: Vec<SeatId>,
        /// The customer's display name.
        user: String,
        /// Lifetime from now, 1 to 7200 seconds.
        ttl_seconds: u32,
        /// Digest of the hold token the front minted.
        token: Digest,
    },
    /// Move a hold's expiry to `ttl_seconds` after now (capped at 2 h after its creation).
    Extend {
        /// Digest of the hold's token.
        hold: Digest,
        /// Lifetime from now, 1 to 7200 seconds.
        ttl_seconds: u32,
    },
    /// Turn a hold into a booking with a token of its own.
    Confirm {
        /// Digest of the hold's token.
        hold: Digest,
        /// Digest of the booking token the front minted.
        token: Digest,
    },
    /// Give a hold up, freeing its seats.
    Release {
        /// Digest of the hold's token.
        hold: Digest,
    },
    /// Admin: add a movie.
    CreateMovie {
        /// Chosen id, or `None` for the next one.
        id: Option<u32>,
        /// The movie.
        info: MovieInfo,
    },
    /// Admin: remove a movie no showtime shows.
    RemoveMovie {
        /// Movie id.
        movie: u32,
    },
    /// Admin: add a theater.
    CreateTheater {
        /// Chosen id, or `None` for the next one.
        id: Option<u32>,
        /// The theater.
        info: TheaterInfo,
    },
    /// Admin: remove a theater no showtime uses.
    RemoveTheater {
        /// Theater id.
        theater: u32,
    },
    /// Admin: add a showtime, its seats copied from the theater and all free.
    CreateShowtime {
        /// Chosen id, or `None` for the next one.
        id: Option<u32>,
        /// Movie id.
        movie: u32,
        /// Theater id.
        theater: u32,
        /// Start, ms since the Unix epoch.
        starts_at_ms: u64,
        /// Price of one seat, in cents.
        price_cents: u32,
    },
    /// Admin: remove a showtime without bookings or active holds.
    RemoveShowtime {
        /// Showtime id.
        showtime: u32,
    },
    /// Admin: replace the settings.
    UpdateSettings {
        /// The new settings.
        settings: Settings,
    },
}

/// What a successful command (or tick) did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// A clock tick (empty command): nothing but the expiries listed beside it.
    Tick,
    /// The new booking.
    Booked(Booking),
    /// The booking that was cancelled; its seats are free again.
    Cancelled(Booking),
    /// The new hold.
    Held(Hold),
    /// The hold with its new expiry.
    Extended(Hold),
    /// The confirmed hold and the booking it became.
    Confirmed {
        /// The hold, status confirmed.
        hold: Hold,
        /// The new booking.
        booking: Booking,
    },
    /// The released hold; its seats are free again.
    Released(Hold),
    /// The new movie.
    MovieCreated(Movie),
    /// The removed movie.
    MovieRemoved(Movie),
    /// The new theater.
    TheaterCreated(Theater),
    /// The removed theater.
    TheaterRemoved(Theater),
    /// The new showtime, all seats free.
    ShowtimeCreated(ShowtimeDetail),
    /// The showtime as it was when removed.
    ShowtimeRemoved(ShowtimeSummary),
    /// The settings now in force.
    SettingsUpdated(Settings),
}

/// The `ok` bytes of `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Holds expired by this entry's log time before the command ran, as they are now.
    pub expired: Vec<Hold>,
    /// What the command did.
    pub effect: Effect,
}

/// The `err` bytes of `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refused {
    /// Holds expired by this entry's log time before the command was refused: they stay expired.
    pub expired: Vec<Hold>,
    /// Why the command was refused.
    pub rejection: Rejection,
}

impl Command {
    /// Checks what can be checked without the state: seat list shape, user name, ttl, catalog
    /// field limits.
    ///
    /// # Errors
    ///
    /// The first broken rule.
    pub fn check(&self) -> Result<(), Rejection> {
        match self {
            Command::Book { seats, user, .. } => {
                check_seat_list(seats)?;
                check_user(user)
            }
            Command::Hold {
                seats,
                user,
                ttl_seconds,
                ..
            } => {
                check_seat_list(seats)?;
                check_user(user)?;
                check_ttl(*ttl_seconds)
            }
            Command::Extend { ttl_seconds, .. } => check_ttl(*ttl_seconds),
            Command::CreateMovie { id, info } => {
                check_id(*id)?;
                info.check()
            }
            Command::CreateTheater { id, info } => {
                check_id(*id)?;
                info.check()
            }
            Command::CreateShowtime {
                id,
                starts_at_ms,
                price_cents,
                ..
            } => {
                check_id(*id)?;
                if *starts_at_ms >= 253_402_300_800_000 {
                    return Err(Rejection::invalid("starts_at", "after year 9999"));
                }
                if *price_cents > MAX_PRICE_CENTS {
                    return Err(Rejection::invalid(
                        "price_cents",
                        format!("{price_cents} is more than {MAX_PRICE_CENTS}"),
                    ));
                }
                Ok(())
            }
            Command::UpdateSettings { settings } => settings.check(),
            Command::Cancel { .. }
            | Command::Confirm { .. }
            | Command::Release { .. }
            | Command::RemoveMovie { .. }
            | Command::RemoveTheater { .. }
            | Command::RemoveShowtime { .. } => Ok(()),
        }
    }

    /// Applies the command at log time `now_ms` if every rule holds.
    ///
    /// # Errors
    ///
    /// The reason the command was refused; the state is then untouched.
    pub fn apply(
        self,
        state: &mut State,
        ctx: &LogContext,
        now_ms: u64,
    ) -> Result<Effect, Rejection> {
        self.check()?;
        let at = booking::At {
            index: ctx.index,
            now_ms,
        };
        match self {
            Command::Book {
                showtime,
                seats,
                user,
                token,
            } => booking::book(state, showtime, seats, user, token, at),
            Command::Cancel { booking, by } => booking::cancel(state, booking, by, at),
            Command::Hold {
                showtime,
                seats,
                user,
                ttl_seconds,
                token,
            } => hold::hold(
                state,
                HoldRequest {
                    showtime,
                    seats,
                    user,
                    ttl_seconds,
                    token,
                },
                at,
            ),
            Command::Extend { hold, ttl_seconds } => hold::extend(state, &hold, ttl_seconds, at),
            Command::Confirm { hold, token } => hold::confirm(state, &hold, token, at),
            Command::Release { hold } => hold::release(state, &hold, at),
            Command::CreateMovie { id, info } => admin::create_movie(state, id, info),
            Command::RemoveMovie { movie } => admin::remove_movie(state, movie),
            Command::CreateTheater { id, info } => admin::create_theater(state, id, info),
            Command::RemoveTheater { theater } => admin::remove_theater(state, theater),
            Command::CreateShowtime {
                id,
                movie,
                theater,
                starts_at_ms,
                price_cents,
            } => admin::create_showtime(
                state,
                NewShowtime {
                    id,
                    movie,
                    theater,
                    starts_at_ms,
                    price_cents,
                },
                ctx.index,
            ),
            Command::RemoveShowtime { showtime } => admin::remove_showtime(state, showtime),
            Command::UpdateSettings { settings } => Ok(admin::update_settings(state, settings)),
        }
    }
}

/// Seat list rules: 1 to [`MAX_SEATS_PER_REQUEST`] seats, none twice.
///
/// # Errors
///
/// [`Rejection::NoSeats`], [`Rejection::TooManySeats`] or [`Rejection::DuplicateSeats`].
pub fn check_seat_list(seats: &[SeatId]) -> Result<(), Rejection> {
    if seats.is_empty() {
        return Err(Rejection::NoSeats);
    }
    if seats.len() > MAX_SEATS_PER_REQUEST {
        return Err(Rejection::TooManySeats {
            count: u32::try_from(seats.len()).unwrap_or(u32::MAX),
            max: MAX_SEATS_PER_REQUEST as u32,
        });
    }
    // At most MAX_SEATS_PER_REQUEST seats: comparing pairs is cheaper than a set, and
    // allocates nothing on the path every booking and every restored record takes.
    let repeats = |i: usize| seats[..i].contains(&seats[i]);
    if !(0..seats.len()).any(repeats) {
        return Ok(());
    }
    let repeated: BTreeSet<SeatId> = (0..seats.len())
        .filter(|&i| repeats(i))
        .map(|i| seats[i])
        .collect();
    Err(Rejection::DuplicateSeats {
        seats: repeated.into_iter().collect(),
    })
}

/// User name rules: 1 to [`MAX_USER_CHARS`] characters, no control characters, no surrounding
/// spaces (so that `alice` and `alice ` cannot be two customers that look the same). A name is
/// for display and the per-customer limit only; it proves nothing.
///
/// # Errors
///
/// [`Rejection::Invalid`] for field `user`.
pub fn check_user(user: &str) -> Result<(), Rejection> {
    crate::catalog::check_text("user", user, 1, MAX_USER_CHARS)
}

/// Hold lifetime rule: 1 to [`MAX_TTL_SECONDS`].
fn check_ttl(ttl_seconds: u32) -> Result<(), Rejection> {
    if (1..=MAX_TTL_SECONDS).contains(&ttl_seconds) {
        Ok(())
    } else {
        Err(Rejection::invalid(
            "ttl_seconds",
            format!("{ttl_seconds} is not 1 to {MAX_TTL_SECONDS} seconds"),
        ))
    }
}

/// Chosen ids must be 1 to [`MAX_ID`].
fn check_id(id: Option<u32>) -> Result<(), Rejection> {
    match id {
        Some(0) => Err(Rejection::invalid("id", "ids start at 1")),
        Some(id) if id > MAX_ID => Err(Rejection::invalid(
            "id",
            format!("{id} is more than {MAX_ID}, the highest id"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
