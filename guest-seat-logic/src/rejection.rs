//! Why a command or query was refused: the `err` bytes of `apply` and `query`.
//!
//! One enum serves the state machine (which produces it), the HTTP front (which maps each cause
//! to a problem type and status) and the consoles (which turn it into a sentence). Variants carry
//! the facts a message needs, so no front has to query again to explain a refusal.
//!
//! The enum is postcard-encoded by variant index: new causes go at the end, never in between.

use serde::{Deserialize, Serialize};

use crate::seat::{join_seats, Layout, SeatId};

/// A refused command or query. Whenever `apply` returns one, the state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Rejection {
    /// The request bytes are not a command or query of this plugin (e.g. written by another
    /// plugin version, or corrupted).
    Undecodable {
        /// Length of the bytes that could not be read.
        bytes: u32,
    },
    /// No showtime has this id.
    UnknownShowtime {
        /// The id asked for.
        showtime: u32,
    },
    /// Some seats do not exist in the showtime's hall.
    UnknownSeats {
        /// The showtime asked for.
        showtime: u32,
        /// The seats that do not exist, in map order.
        seats: Vec<SeatId>,
        /// The hall, so that messages can say which seats do exist.
        layout: Layout,
    },
    /// Some seats are already booked; nothing was booked.
    SeatsTaken {
        /// The showtime asked for.
        showtime: u32,
        /// The seats that are booked, in map order.
        seats: Vec<SeatId>,
    },
    /// A booking must name at least one seat.
    NoSeats,
    /// A booking named more seats than one request may book.
    TooManySeats {
        /// How many seats were named.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// A seat was named more than once in one booking.
    DuplicateSeats {
        /// Each repeated seat once, in map order.
        seats: Vec<SeatId>,
    },
    /// The user name breaks a rule.
    InvalidUser {
        /// Which rule, as a sentence.
        reason: String,
    },
    /// No live booking has this id (never existed, or cancelled).
    UnknownBooking {
        /// The id asked for.
        booking: u64,
    },
    /// Only the user who made a booking may cancel it.
    NotOwner {
        /// The booking asked for.
        booking: u64,
    },
    /// A showtime with this id already exists.
    ShowtimeExists {
        /// The id asked for.
        showtime: u32,
    },
    /// The rows of a new showtime break a rule.
    InvalidRows {
        /// Which rule, as a sentence.
        reason: String,
    },
    /// A showtime with live bookings cannot be removed.
    ShowtimeHasBookings {
        /// The showtime asked for.
        showtime: u32,
        /// How many live bookings it has.
        bookings: u32,
    },
}

impl Rejection {
    /// A short lowercase phrase for commit notices: `seat a1 taken`.
    pub fn summary(&self) -> String {
        match self {
            Rejection::Undecodable { bytes } => format!("undecodable request ({bytes} bytes)"),
            Rejection::UnknownShowtime { showtime } => format!("no showtime {showtime}"),
            Rejection::UnknownSeats {
                showtime, seats, ..
            } => format!(
                "no {} {} in showtime {showtime}",
                plural(seats.len(), "seat", "seats"),
                join_seats(seats, ",")
            ),
            Rejection::SeatsTaken { seats, .. } => format!(
                "{} {} taken",
                plural(seats.len(), "seat", "seats"),
                join_seats(seats, ",")
            ),
            Rejection::NoSeats => "no seats given".to_string(),
            Rejection::TooManySeats { count, max } => {
                format!("{count} seats given, at most {max} per booking")
            }
            Rejection::DuplicateSeats { seats } => format!(
                "{} {} listed twice",
                plural(seats.len(), "seat", "seats"),
                join_seats(seats, ",")
            ),
            Rejection::InvalidUser { reason } => format!("invalid user: {reason}"),
            Rejection::UnknownBooking { booking } => format!("no booking #{booking}"),
            Rejection::NotOwner { booking } => {
                format!("booking #{booking} belongs to someone else")
            }
            Rejection::ShowtimeExists { showtime } => format!("showtime {showtime} exists"),
            Rejection::InvalidRows { reason } => format!("invalid rows: {reason}"),
            Rejection::ShowtimeHasBookings { showtime, bookings } => format!(
                "showtime {showtime} has {bookings} {}",
                plural(*bookings as usize, "booking", "bookings")
            ),
        }
    }
}

/// Picks the singular or plural word.
pub fn plural(count: usize, one: &'static str, many: &'static str) -> &'static str {
    if count == 1 {
        one
    } else {
        many
    }
}
