//! Read-only requests (`machine.query`) and their answers.
//!
//! Queries never change the state, so they are answered by any replica without going through the
//! log. The answer types are wire types (postcard between machine and front); the fronts turn them
//! into JSON or text.
//!
//! Both enums are postcard-encoded by variant index: new variants go at the end.

use serde::{Deserialize, Serialize};

use crate::rejection::Rejection;
use crate::seat::{Layout, SeatId};
use crate::state::{Booking, Showtime, State};

/// A read-only request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// Every showtime with its seat counts.
    Showtimes,
    /// One showtime: counts plus the full seat map.
    Showtime {
        /// Showtime id.
        showtime: u32,
    },
    /// The seat map of one showtime, optionally only free or only booked seats.
    Seats {
        /// Showtime id.
        showtime: u32,
        /// Keep only seats in this state; `None` keeps all.
        filter: Option<SeatState>,
    },
    /// One live booking.
    Booking {
        /// Booking id.
        booking: u64,
    },
    /// Every live booking, by id.
    Bookings,
}

/// Whether a seat is free or booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatState {
    /// Nobody holds it.
    Free,
    /// A live booking holds it.
    Booked,
}

impl SeatState {
    /// Lowercase name used in JSON and query strings.
    pub fn name(self) -> &'static str {
        match self {
            SeatState::Free => "free",
            SeatState::Booked => "booked",
        }
    }

    /// Parses `free` or `booked`.
    pub fn parse(text: &str) -> Option<SeatState> {
        match text {
            "free" => Some(SeatState::Free),
            "booked" => Some(SeatState::Booked),
            _ => None,
        }
    }
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Answer to [`Query::Showtimes`].
    Showtimes(Vec<ShowtimeSummary>),
    /// Answer to [`Query::Showtime`]: the seat map is complete.
    Showtime(SeatMap),
    /// Answer to [`Query::Seats`]: the seat map may be filtered.
    Seats(SeatMap),
    /// Answer to [`Query::Booking`].
    Booking(Booking),
    /// Answer to [`Query::Bookings`].
    Bookings(Vec<Booking>),
}

/// A showtime's shape and seat counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowtimeSummary {
    /// Showtime id.
    pub id: u32,
    /// Seats per row.
    pub layout: Layout,
    /// Free seats.
    pub free: u32,
    /// Booked seats.
    pub booked: u32,
    /// Live bookings.
    pub bookings: u32,
}

impl ShowtimeSummary {
    /// Summarises a showtime as it is now.
    pub fn of(showtime: &Showtime) -> Self {
        ShowtimeSummary {
            id: showtime.id,
            layout: showtime.layout.clone(),
            free: showtime.free(),
            booked: showtime.booked(),
            bookings: u32::try_from(showtime.bookings.len()).unwrap_or(u32::MAX),
        }
    }
}

/// One seat of a seat map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatView {
    /// The seat.
    pub seat: SeatId,
    /// The booking holding it; `None` when free.
    pub booking: Option<u64>,
}

impl SeatView {
    /// Free or booked.
    pub fn state(&self) -> SeatState {
        if self.booking.is_some() {
            SeatState::Booked
        } else {
            SeatState::Free
        }
    }
}

/// A showtime's seats in map order, with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatMap {
    /// Shape and counts of the whole showtime (not affected by the filter).
    pub summary: ShowtimeSummary,
    /// The filter that was applied to `seats`, if any.
    pub filter: Option<SeatState>,
    /// Seats, row `a` first, seat 1 first.
    pub seats: Vec<SeatView>,
}

impl Query {
    /// Answers the query from the state.
    ///
    /// # Errors
    ///
    /// [`Rejection::UnknownShowtime`] or [`Rejection::UnknownBooking`] when the id names nothing.
    pub fn answer(&self, state: &State) -> Result<Answer, Rejection> {
        match *self {
            Query::Showtimes => Ok(Answer::Showtimes(
                state.showtimes.values().map(ShowtimeSummary::of).collect(),
            )),
            Query::Showtime { showtime } => seat_map(state, showtime, None).map(Answer::Showtime),
            Query::Seats { showtime, filter } => {
                seat_map(state, showtime, filter).map(Answer::Seats)
            }
            Query::Booking { booking } => state
                .bookings
                .get(&booking)
                .cloned()
                .map(Answer::Booking)
                .ok_or(Rejection::UnknownBooking { booking }),
            Query::Bookings => Ok(Answer::Bookings(state.bookings.values().cloned().collect())),
        }
    }
}

/// Builds the seat map of one showtime.
fn seat_map(state: &State, id: u32, filter: Option<SeatState>) -> Result<SeatMap, Rejection> {
    let showtime = state
        .showtimes
        .get(&id)
        .ok_or(Rejection::UnknownShowtime { showtime: id })?;
    let seats = showtime
        .layout
        .seats()
        .map(|seat| SeatView {
            seat,
            booking: showtime.holder(seat),
        })
        .filter(|view| filter.is_none_or(|wanted| view.state() == wanted))
        .collect();
    Ok(SeatMap {
        summary: ShowtimeSummary::of(showtime),
        filter,
        seats,
    })
}
