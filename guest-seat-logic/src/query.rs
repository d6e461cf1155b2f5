//! Read-only requests (`machine.query`) and their answers.
//!
//! Queries never change the state, so they are answered by any replica without going through the
//! log. The answer types are wire types (postcard between machine and front) that already carry
//! what a rendering needs (a showtime's movie title, its seat states), so no front queries twice.
//!
//! Both enums are postcard-encoded by variant index: new variants go at the end.

use serde::{Deserialize, Serialize};

use crate::activity::Change;
use crate::catalog::{Movie, Theater};
use crate::rejection::Rejection;
use crate::seat::{Layout, SeatId};
use crate::state::{Booking, Hold, Showtime, State, Taker};

/// A read-only request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// Every movie.
    Movies,
    /// One movie.
    Movie {
        /// Movie id.
        movie: u32,
    },
    /// Every theater.
    Theaters,
    /// One theater.
    Theater {
        /// Theater id.
        theater: u32,
    },
    /// Showtimes with their seat counts, optionally of one movie and/or theater.
    Showtimes {
        /// Keep only showtimes of this movie.
        movie: Option<u32>,
        /// Keep only showtimes in this theater.
        theater: Option<u32>,
    },
    /// One showtime: summary, rows, every seat's state, version.
    Showtime {
        /// Showtime id.
        showtime: u32,
    },
    /// The seats of one showtime, optionally only those in one state.
    Seats {
        /// Showtime id.
        showtime: u32,
        /// Keep only seats in this state; `None` keeps all.
        filter: Option<SeatState>,
    },
    /// The last changes of one showtime.
    Activity {
        /// Showtime id.
        showtime: u32,
    },
    /// One hold, any status.
    Hold {
        /// The hold's token.
        hold: String,
    },
    /// Bookings (confirmed and recently cancelled), optionally of one user and/or showtime.
    Bookings {
        /// Keep only this user's bookings.
        user: Option<String>,
        /// Keep only bookings of this showtime.
        showtime: Option<u32>,
    },
    /// One booking.
    Booking {
        /// Booking id.
        booking: u64,
    },
}

/// Whether a seat is free, held or booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatState {
    /// Nobody has it.
    Free,
    /// An active hold has it.
    Held,
    /// A confirmed booking has it.
    Booked,
}

impl SeatState {
    /// Lowercase name used in JSON and query strings.
    pub fn name(self) -> &'static str {
        match self {
            SeatState::Free => "free",
            SeatState::Held => "held",
            SeatState::Booked => "booked",
        }
    }

    /// Parses `free`, `held` or `booked`.
    pub fn parse(text: &str) -> Option<SeatState> {
        match text {
            "free" => Some(SeatState::Free),
            "held" => Some(SeatState::Held),
            "booked" => Some(SeatState::Booked),
            _ => None,
        }
    }
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Answer to [`Query::Movies`].
    Movies(Vec<Movie>),
    /// Answer to [`Query::Movie`].
    Movie(Movie),
    /// Answer to [`Query::Theaters`].
    Theaters(Vec<Theater>),
    /// Answer to [`Query::Theater`].
    Theater(Theater),
    /// Answer to [`Query::Showtimes`].
    Showtimes(Vec<ShowtimeSummary>),
    /// Answer to [`Query::Showtime`].
    Showtime(ShowtimeDetail),
    /// Answer to [`Query::Seats`].
    Seats {
        /// Showtime id.
        showtime: u32,
        /// The seats, possibly filtered, in map order.
        seats: Vec<SeatView>,
    },
    /// Answer to [`Query::Activity`].
    Activity {
        /// Showtime id.
        showtime: u32,
        /// The last changes, oldest first.
        changes: Vec<Change>,
    },
    /// Answer to [`Query::Hold`].
    Hold(Hold),
    /// Answer to [`Query::Bookings`].
    Bookings(Vec<Booking>),
    /// Answer to [`Query::Booking`].
    Booking(Booking),
}

/// A showtime with its movie and theater names and its seat counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowtimeSummary {
    /// Showtime id.
    pub id: u32,
    /// Movie id.
    pub movie: u32,
    /// Movie title (empty if the movie is missing, which the rules prevent).
    pub movie_title: String,
    /// Theater id.
    pub theater: u32,
    /// Theater name (empty if the theater is missing, which the rules prevent).
    pub theater_name: String,
    /// Start, ms since the Unix epoch.
    pub starts_at_ms: u64,
    /// Price of one seat, in cents.
    pub price_cents: u32,
    /// Seats in total.
    pub capacity: u32,
    /// Free seats.
    pub free: u32,
    /// Held seats.
    pub held: u32,
    /// Booked seats.
    pub booked: u32,
}

impl ShowtimeSummary {
    /// Summarises a showtime as it is now.
    pub fn of(state: &State, showtime: &Showtime) -> Self {
        let (free, held, booked) = showtime.counts();
        ShowtimeSummary {
            id: showtime.id,
            movie: showtime.movie,
            movie_title: state
                .movies
                .get(&showtime.movie)
                .map(|m| m.info.title.clone())
                .unwrap_or_default(),
            theater: showtime.theater,
            theater_name: state
                .theaters
                .get(&showtime.theater)
                .map(|t| t.info.name.clone())
                .unwrap_or_default(),
            starts_at_ms: showtime.starts_at_ms,
            price_cents: showtime.price_cents,
            capacity: showtime.layout.capacity(),
            free,
            held,
            booked,
        }
    }
}

/// One seat and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatView {
    /// The seat.
    pub seat: SeatId,
    /// Free, held or booked.
    pub state: SeatState,
}

/// A showtime in full: summary, rows, every seat's state and the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowtimeDetail {
    /// Names and counts.
    pub summary: ShowtimeSummary,
    /// Seats per row.
    pub layout: Layout,
    /// Every seat in map order.
    pub seats: Vec<SeatView>,
    /// Log index of the last change.
    pub version: u64,
}

impl ShowtimeDetail {
    /// The full view of a showtime as it is now.
    pub fn of(state: &State, showtime: &Showtime) -> Self {
        ShowtimeDetail {
            summary: ShowtimeSummary::of(state, showtime),
            layout: showtime.layout.clone(),
            seats: seat_views(showtime, None),
            version: showtime.version,
        }
    }
}

/// The seats of a showtime in map order, optionally only those in one state.
fn seat_views(showtime: &Showtime, filter: Option<SeatState>) -> Vec<SeatView> {
    showtime
        .layout
        .seats()
        .map(|seat| SeatView {
            seat,
            state: match showtime.taker(seat) {
                None => SeatState::Free,
                Some(Taker::Hold(_)) => SeatState::Held,
                Some(Taker::Booking(_)) => SeatState::Booked,
            },
        })
        .filter(|view| filter.is_none_or(|wanted| view.state == wanted))
        .collect()
}

impl Query {
    /// Answers the query from the state.
    ///
    /// # Errors
    ///
    /// An `Unknown*` rejection when the id or token names nothing.
    pub fn answer(&self, state: &State) -> Result<Answer, Rejection> {
        let showtime = |id: u32| {
            state
                .showtimes
                .get(&id)
                .ok_or(Rejection::UnknownShowtime { showtime: id })
        };
        Ok(match self {
            Query::Movies => Answer::Movies(state.movies.values().cloned().collect()),
            Query::Movie { movie } => Answer::Movie(
                state
                    .movies
                    .get(movie)
                    .cloned()
                    .ok_or(Rejection::UnknownMovie { movie: *movie })?,
            ),
            Query::Theaters => Answer::Theaters(state.theaters.values().cloned().collect()),
            Query::Theater { theater } => Answer::Theater(
                state
                    .theaters
                    .get(theater)
                    .cloned()
                    .ok_or(Rejection::UnknownTheater { theater: *theater })?,
            ),
            Query::Showtimes { movie, theater } => Answer::Showtimes(
                state
                    .showtimes
                    .values()
                    .filter(|s| movie.is_none_or(|m| s.movie == m))
                    .filter(|s| theater.is_none_or(|t| s.theater == t))
                    .map(|s| ShowtimeSummary::of(state, s))
                    .collect(),
            ),
            Query::Showtime { showtime: id } => {
                Answer::Showtime(ShowtimeDetail::of(state, showtime(*id)?))
            }
            Query::Seats {
                showtime: id,
                filter,
            } => Answer::Seats {
                showtime: *id,
                seats: seat_views(showtime(*id)?, *filter),
            },
            Query::Activity { showtime: id } => Answer::Activity {
                showtime: *id,
                changes: showtime(*id)?.activity.iter().cloned().collect(),
            },
            Query::Hold { hold } => Answer::Hold(state.hold_by_token(hold)?.clone()),
            Query::Bookings { user, showtime } => Answer::Bookings(
                state
                    .bookings
                    .values()
                    .filter(|b| user.as_ref().is_none_or(|u| &b.user == u))
                    .filter(|b| showtime.is_none_or(|s| b.showtime == s))
                    .cloned()
                    .collect(),
            ),
            Query::Booking { booking } => Answer::Booking(
                state
                    .bookings
                    .get(booking)
                    .cloned()
                    .ok_or(Rejection::UnknownBooking { booking: *booking })?,
            ),
        })
    }
}
