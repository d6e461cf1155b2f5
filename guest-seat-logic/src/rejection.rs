//! Why a command or query was refused: the `err` bytes of `query`, and the reason inside the
//! `err` bytes of `apply` (see [`crate::command::Refused`]).
//!
//! One enum serves the state machine (which produces it), the HTTP front (which maps each cause
//! to a problem type and status) and the consoles (which turn it into a sentence). Variants carry
//! the facts a message needs, so no front has to query again to explain a refusal.
//!
//! The enum is postcard-encoded by variant index. Nothing was deployed before contract 0.2.0, so
//! it was reorganised freely for it (tokens left it: a refusal names holds by id and never
//! echoes a token); from now on new causes are only appended, never inserted.

use serde::{Deserialize, Serialize};

use crate::seat::{join_seats, Layout, SeatId};
use crate::state::HoldStatus;

/// Which kind of catalog entry a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A movie.
    Movie,
    /// A theater.
    Theater,
    /// A showtime.
    Showtime,
}

impl Kind {
    /// Lowercase noun: `movie`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Movie => "movie",
            Kind::Theater => "theater",
            Kind::Showtime => "showtime",
        }
    }
}

/// A refused command or query. Whenever `apply` refuses, the state is as the command found it
/// (apart from the timed changes due before it, see [`crate::machine`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Rejection {
    /// The request bytes are not a command or query of this plugin (e.g. written by another
    /// plugin version, or corrupted).
    Undecodable {
        /// Length of the bytes that could not be read.
        bytes: u32,
    },
    /// A field breaks a rule (user name, rows, ttl, title, ...).
    Invalid {
        /// The field, as named in the HTTP API.
        field: String,
        /// Which rule, as a sentence.
        reason: String,
    },
    /// A seat request must name at least one seat.
    NoSeats,
    /// A seat request named more seats than one request may take.
    TooManySeats {
        /// How many seats were named.
        count: u32,
        /// The limit.
        max: u32,
    },
    /// A seat was named more than once in one request.
    DuplicateSeats {
        /// Each repeated seat once, in map order.
        seats: Vec<SeatId>,
    },
    /// No showtime has this id.
    UnknownShowtime {
        /// The id asked for.
        showtime: u32,
    },
    /// No movie has this id.
    UnknownMovie {
        /// The id asked for.
        movie: u32,
    },
    /// No theater has this id.
    UnknownTheater {
        /// The id asked for.
        theater: u32,
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
    /// Some seats are held or booked; nothing was taken.
    SeatsTaken {
        /// The showtime asked for.
        showtime: u32,
        /// The seats that are held or booked, in map order.
        seats: Vec<SeatId>,
    },
    /// No booking has this id (never existed, or cancelled more than a day ago), or the token
    /// shown is not its token: the same answer, so that booking ids cannot be probed.
    UnknownBooking {
        /// The id asked for.
        booking: u64,
    },
    /// The booking was already cancelled.
    BookingCancelled {
        /// The booking asked for.
        booking: u64,
    },
    /// No hold has this token (never existed, or finished more than a day ago). The token is
    /// not repeated: refusals end up in logs.
    UnknownHold,
    /// The hold expired; its seats were freed.
    HoldExpired {
        /// The hold's id.
        hold: u64,
    },
    /// The hold was already confirmed or released.
    HoldFinished {
        /// The hold's id.
        hold: u64,
        /// Confirmed or released.
        status: HoldStatus,
    },
    /// A catalog entry with this id already exists.
    AlreadyExists {
        /// What kind of entry.
        kind: Kind,
        /// The id asked for.
        id: u32,
    },
    /// A catalog entry cannot be removed while something uses it.
    InUse {
        /// What kind of entry.
        kind: Kind,
        /// The id asked for.
        id: u32,
        /// The first showtimes that show the movie or use the theater (at most
        /// [`crate::admin::MAX_LISTED_SHOWTIMES`]).
        showtimes: Vec<u32>,
        /// How many showtimes show the movie or use the theater.
        showtime_count: u32,
        /// Confirmed bookings of the showtime.
        bookings: u32,
        /// Active holds on the showtime.
        holds: u32,
    },
    /// A hold or booking request took more seats than the rules in force allow (version 2
    /// rules: [`crate::rules::MAX_SEATS_V2`]); nothing was taken.
    TooManySeatsForRules {
        /// How many seats were named.
        count: u32,
        /// The rules' limit.
        max: u32,
    },
    /// Taking the seats would leave single free seats between taken seats of a row (version 2
    /// rules); nothing was taken.
    StrandedSeat {
        /// The showtime asked for.
        showtime: u32,
        /// The free seats that would be stranded, in map order.
        seats: Vec<SeatId>,
    },
    /// The customer would hold or book more seats of the showtime than the per-customer limit
    /// allows (`Settings::max_seats_per_customer`); nothing was taken.
    CustomerLimit {
        /// The showtime asked for.
        showtime: u32,
        /// The customer's display name.
        user: String,
        /// The limit in force.
        limit: u32,
        /// Seats the customer already holds or booked in the showtime.
        taken: u32,
        /// Seats this request asked for.
        requested: u32,
    },
    /// The catalog already holds as many entries of this kind as it may
    /// ([`crate::limits`]).
    CatalogFull {
        /// What kind of entry.
        kind: Kind,
        /// The cap.
        limit: u32,
    },
    /// The next automatic id would pass [`crate::limits::MAX_ID`]; choose a free id instead.
    IdsExhausted {
        /// What kind of entry.
        kind: Kind,
        /// The highest id.
        max: u32,
    },
    /// The token minted for the request has a digest already in the state. Only a host whose
    /// entropy repeats can cause it; a retry (with fresh entropy) succeeds.
    TokenCollision,
    /// A best-seats query asked for no seats, or for more than one request may take under the
    /// rules in force.
    BlockTooLarge {
        /// Seats asked for.
        count: u32,
        /// The rules' `max_seats_per_request`.
        max: u32,
    },
    /// No row of the showtime has `count` free seats side by side that strand no single seat.
    NoSeatBlock {
        /// Showtime id.
        showtime: u32,
        /// Seats asked for.
        count: u32,
    },
}

impl Rejection {
    /// An [`Rejection::Invalid`] for `field`.
    pub fn invalid(field: &str, reason: impl Into<String>) -> Self {
        Rejection::Invalid {
            field: field.to_string(),
            reason: reason.into(),
        }
    }

    /// A short lowercase phrase for commit notices: `seat a1 taken`.
    pub fn summary(&self) -> String {
        match self {
            Rejection::Undecodable { bytes } => format!("undecodable request ({bytes} bytes)"),
            Rejection::Invalid { field, reason } => format!("invalid {field}: {reason}"),
            Rejection::NoSeats => "no seats given".to_string(),
            Rejection::TooManySeats { count, max } => {
                format!("{count} seats given, at most {max} per request")
            }
            Rejection::DuplicateSeats { seats } => format!(
                "{} {} listed twice",
                plural(seats.len(), "seat", "seats"),
                join_seats(seats, ",")
            ),
            Rejection::UnknownShowtime { showtime } => format!("no showtime {showtime}"),
            Rejection::UnknownMovie { movie } => format!("no movie {movie}"),
            Rejection::UnknownTheater { theater } => format!("no theater {theater}"),
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
            Rejection::UnknownBooking { booking } => {
                format!("no booking #{booking} with that token")
            }
            Rejection::BookingCancelled { booking } => {
                format!("booking #{booking} already cancelled")
            }
            Rejection::UnknownHold => "no hold with that token".to_string(),
            Rejection::HoldExpired { hold } => format!("hold {hold} expired"),
            Rejection::HoldFinished { hold, status } => {
                format!("hold {hold} already {}", status.name())
            }
            Rejection::AlreadyExists { kind, id } => format!("{} {id} exists", kind.name()),
            Rejection::InUse { kind, id, .. } => format!("{} {id} in use", kind.name()),
            Rejection::TooManySeatsForRules { count, max } => {
                format!("{count} seats given, the rules allow at most {max}")
            }
            Rejection::StrandedSeat { seats, .. } => format!(
                "would strand {} {}",
                plural(seats.len(), "seat", "seats"),
                join_seats(seats, ",")
            ),
            Rejection::CustomerLimit {
                limit,
                taken,
                requested,
                ..
            } => format!("customer limit {limit} seats: has {taken}, asked for {requested}"),
            Rejection::CatalogFull { kind, limit } => {
                format!("{} catalog full ({limit})", kind.name())
            }
            Rejection::IdsExhausted { kind, max } => {
                format!("{} ids exhausted (max {max})", kind.name())
            }
            Rejection::TokenCollision => "token collision".to_string(),
            Rejection::BlockTooLarge { count, max } => {
                format!("{count} seats asked for, must be 1 to {max}")
            }
            Rejection::NoSeatBlock { showtime, count } => {
                format!("no block of {count} free seats in showtime {showtime}")
            }
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
