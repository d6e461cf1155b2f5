//! Plain-text renderings for the consoles: seat maps, catalog and booking lines, sentences for
//! results and refusals.
//!
//! Kept apart from console parsing so that the overview, `console.render` and `describe` share
//! one wording. Every user-supplied string passes through [`one_line`], so a rendering is always
//! the number of lines it claims to be. Holds are named by id; a token appears only in the
//! sentence for the command that minted it, passed in by the caller.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::activity::Change;
use crate::catalog::Theater;
use crate::command::{Applied, Effect, DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS};
use crate::contract::ConsoleMode;
use crate::query::{MovieSummary, SeatState, ShowtimeDetail, ShowtimeSummary};
use crate::rejection::{plural, Kind, Rejection};
use crate::rules::{RuleSet, VERSION};
use crate::seat::{join_seats, row_letter, SeatId};
use crate::state::{Booking, BookingStatus, Hold, Settings};

pub use crate::timefmt::utc;

/// Draws a seat map:
///
/// ```text
/// Showtime 1 (4 rows x 6 seats, 22 free, 1 held)
///      1  2  3  4  5  6
///   a  .  .  X  o  .  .
///   b  .  .  .  .  .  .
///   ...
///   . free   o held   X booked
/// ```
///
/// The `held` count is shown only when some seat is held.
pub fn seat_map(detail: &ShowtimeDetail) -> String {
    let summary = &detail.summary;
    let layout = &detail.layout;
    let states: BTreeMap<SeatId, SeatState> =
        detail.seats.iter().map(|v| (v.seat, v.state)).collect();
    let width = layout.widest().to_string().len().max(2) + 1;
    let held = if summary.held > 0 {
        format!(", {} held", summary.held)
    } else {
        String::new()
    };
    let mut out = format!(
        "Showtime {} ({}, {} free{held})\n   ",
        summary.id,
        layout.shape(),
        summary.free
    );
    for number in 1..=layout.widest() {
        // Writing into a String cannot fail (here and below).
        let _ = write!(out, "{number:>width$}");
    }
    out.push('\n');
    for (index, &seats) in layout.rows.iter().enumerate() {
        let _ = write!(out, "  {}", row_letter(index));
        let row = u8::try_from(index).unwrap_or(u8::MAX);
        for number in 1..=seats {
            let mark = match states.get(&SeatId::new(row, number)) {
                Some(SeatState::Free) => '.',
                Some(SeatState::Held) => 'o',
                Some(SeatState::Booked) => 'X',
                None => ' ',
            };
            let _ = write!(out, "{mark:>width$}");
        }
        out.push('\n');
    }
    out.push_str("  . free   o held   X booked");
    out
}

/// One line per showtime, or `No showtimes.`
pub fn showtimes(list: &[ShowtimeSummary]) -> String {
    if list.is_empty() {
        return "No showtimes.".to_string();
    }
    list.iter()
        .map(|s| {
            format!(
                "Showtime {}: {} in {}, {}, {} free, {} held, {} booked",
                s.id,
                one_line(&s.movie_title),
                one_line(&s.theater_name),
                utc(s.starts_at_ms),
                s.free,
                s.held,
                s.booked
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per movie, or `No movies.`
pub fn movies(list: &[MovieSummary]) -> String {
    if list.is_empty() {
        return "No movies.".to_string();
    }
    list.iter()
        .map(|m| {
            format!(
                "Movie {}: {} ({}, {} min, {})",
                m.id,
                one_line(&m.title),
                m.year,
                m.duration_minutes,
                one_line(&m.director)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per theater, or `No theaters.`
pub fn theaters(list: &[Theater]) -> String {
    if list.is_empty() {
        return "No theaters.".to_string();
    }
    list.iter()
        .map(|t| {
            format!(
                "Theater {}: {}, {} ({})",
                t.id,
                one_line(&t.info.name),
                one_line(&t.info.location),
                t.info.layout.shape()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One booking on one line: `#3  showtime 1  a1,a2  alice  2024-05-01 12:00:00 UTC  (log 17)`,
/// with ` cancelled` at the end when it is.
pub fn booking_line(booking: &Booking) -> String {
    let status = match booking.status {
        BookingStatus::Confirmed => "",
        BookingStatus::Cancelled => "  cancelled",
    };
    format!(
        "#{}  showtime {}  {}  {}  {}  (log {}){status}",
        booking.id,
        booking.showtime,
        join_seats(&booking.seats, ","),
        one_line(&booking.user),
        utc(booking.created_at_ms),
        booking.log_index
    )
}

/// One line per booking, or `No bookings.`
pub fn bookings(list: &[Booking]) -> String {
    if list.is_empty() {
        return "No bookings.".to_string();
    }
    list.iter().map(booking_line).collect::<Vec<_>>().join("\n")
}

/// One hold on one line: `hold 4  showtime 2  a1,a2  alice  active until ... UTC  (log 5)`.
pub fn hold_line(hold: &Hold) -> String {
    format!(
        "hold {}  showtime {}  {}  {}  {} until {}  (log {})",
        hold.id,
        hold.showtime,
        join_seats(&hold.seats, ","),
        one_line(&hold.user),
        hold.status.name(),
        utc(hold.expires_at_ms),
        hold.log_index
    )
}

/// One line per change, oldest first, or `No activity.`
pub fn activity(showtime: u32, changes: &[Change]) -> String {
    if changes.is_empty() {
        return format!("No activity in showtime {showtime}.");
    }
    changes
        .iter()
        .map(|c| {
            let mut line = format!(
                "log {}  {}  {}  {} {}",
                c.index,
                utc(c.at_ms),
                one_line(&c.user),
                c.action.name(),
                join_seats(&c.seats, ",")
            );
            if let Some(booking) = c.booking {
                let _ = write!(line, "  booking #{booking}");
            }
            if let Some(hold) = c.hold {
                let _ = write!(line, "  hold {hold}");
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The settings, one per line.
pub fn settings(settings: &Settings) -> String {
    format!(
        "Each customer may hold or book at most {} seats per showtime.",
        settings.max_seats_per_customer
    )
}

/// The seat rules, settings and hold limits in force, one line.
pub fn limits(rules: &RuleSet, settings: &Settings) -> String {
    format!(
        "Rules {VERSION}: {}; each customer may hold or book at most {} seats per showtime; a \
         hold lasts {} s unless asked otherwise, at most {} s from its creation.",
        rules.summary(),
        settings.max_seats_per_customer,
        DEFAULT_TTL_SECONDS,
        MAX_TTL_SECONDS
    )
}

/// `1 seat`, `3 seats`.
pub fn seat_count(count: usize) -> String {
    format!("{count} {}", plural(count, "seat", "seats"))
}

/// The sentences for a successful command, then one per hold its entry expired. `token` is the
/// token the command minted, when the line that asked for it is the one being answered.
pub fn applied(applied: &Applied, mode: ConsoleMode, token: Option<&str>) -> String {
    let mut lines = vec![effect(&applied.effect, mode, token)];
    lines.extend(applied.expired.iter().map(expired));
    lines.join("\n")
}

/// `` and `, token h_...`.
fn with_token(token: Option<&str>) -> String {
    token.map(|t| format!(", token {t}")).unwrap_or_default()
}

/// The sentence for an expired hold.
pub fn expired(hold: &Hold) -> String {
    format!(
        "Hold {} of {} expired; {} {} {} free again.",
        hold.id,
        one_line(&hold.user),
        plural(hold.seats.len(), "seat", "seats"),
        join_seats(&hold.seats, ", "),
        plural(hold.seats.len(), "is", "are")
    )
}

/// The sentence for what a command did, with the token it minted if given.
fn effect(effect: &Effect, mode: ConsoleMode, token: Option<&str>) -> String {
    let token = with_token(token);
    match effect {
        Effect::Tick => "Tick.".to_string(),
        Effect::Booked(b) => match mode {
            ConsoleMode::Demo => format!(
                "Booked {} for {} (booking #{}{token}).",
                join_seats(&b.seats, ", "),
                one_line(&b.user),
                b.id
            ),
            ConsoleMode::Dev => format!(
                "Booked {} in showtime {} for {} (booking #{}{token}).",
                join_seats(&b.seats, ", "),
                b.showtime,
                one_line(&b.user),
                b.id
            ),
        },
        Effect::Cancelled(b) => format!(
            "Cancelled booking #{}; {} {} {} free again.",
            b.id,
            plural(b.seats.len(), "seat", "seats"),
            join_seats(&b.seats, ", "),
            plural(b.seats.len(), "is", "are")
        ),
        Effect::Held(h) => format!(
            "Held {} in showtime {} for {} until {} (hold {}{token}).",
            join_seats(&h.seats, ", "),
            h.showtime,
            one_line(&h.user),
            utc(h.expires_at_ms),
            h.id
        ),
        Effect::Extended(h) => format!("Hold {} now expires at {}.", h.id, utc(h.expires_at_ms)),
        Effect::Confirmed { hold, booking } => format!(
            "Confirmed hold {}: booked {} in showtime {} for {} (booking #{}{token}).",
            hold.id,
            join_seats(&booking.seats, ", "),
            booking.showtime,
            one_line(&booking.user),
            booking.id
        ),
        Effect::Released(h) => format!(
            "Released hold {}; {} {} {} free again.",
            h.id,
            plural(h.seats.len(), "seat", "seats"),
            join_seats(&h.seats, ", "),
            plural(h.seats.len(), "is", "are")
        ),
        Effect::MovieCreated(m) => format!("Created movie {} ({}).", m.id, one_line(&m.info.title)),
        Effect::MovieRemoved(m) => format!("Removed movie {} ({}).", m.id, one_line(&m.info.title)),
        Effect::TheaterCreated(t) => format!(
            "Created theater {} ({}, {}).",
            t.id,
            one_line(&t.info.name),
            t.info.layout.shape()
        ),
        Effect::TheaterRemoved(t) => {
            format!("Removed theater {} ({}).", t.id, one_line(&t.info.name))
        }
        Effect::ShowtimeCreated(d) => format!(
            "Created showtime {} ({} in {}, {}, {}).",
            d.summary.id,
            one_line(&d.summary.movie_title),
            one_line(&d.summary.theater_name),
            utc(d.summary.starts_at_ms),
            d.layout.shape()
        ),
        Effect::ShowtimeRemoved(s) => format!("Removed showtime {}.", s.id),
        Effect::SettingsUpdated(s) => settings(s),
    }
}

/// `Movie`, `Theater`, `Showtime`.
fn capitalised(kind: Kind) -> &'static str {
    match kind {
        Kind::Movie => "Movie",
        Kind::Theater => "Theater",
        Kind::Showtime => "Showtime",
    }
}

/// The sentence for a refusal.
pub fn rejection(rejection: &Rejection, mode: ConsoleMode) -> String {
    match rejection {
        Rejection::Undecodable { bytes } => format!(
            "The state machine could not decode the request ({bytes} bytes); plugin versions \
             may differ."
        ),
        Rejection::Invalid { field, reason } => format!("Invalid {field}: {reason}."),
        Rejection::NoSeats => "Name at least one seat.".to_string(),
        Rejection::TooManySeats { count, max } => {
            format!("That is {count} seats; one request may take at most {max}.")
        }
        Rejection::DuplicateSeats { seats } => format!(
            "{} {} {} listed more than once.",
            if seats.len() == 1 { "Seat" } else { "Seats" },
            join_seats(seats, ", "),
            plural(seats.len(), "is", "are")
        ),
        Rejection::UnknownShowtime { showtime } => format!("There is no showtime {showtime}."),
        Rejection::UnknownMovie { movie } => format!("There is no movie {movie}."),
        Rejection::UnknownTheater { theater } => format!("There is no theater {theater}."),
        Rejection::UnknownSeats {
            showtime,
            seats,
            layout,
        } => format!(
            "There {} no {} {} in showtime {showtime} ({}).",
            plural(seats.len(), "is", "are"),
            plural(seats.len(), "seat", "seats"),
            join_seats(seats, ", "),
            layout.extent()
        ),
        Rejection::SeatsTaken { showtime, seats } => {
            let which = match mode {
                ConsoleMode::Demo => String::new(),
                ConsoleMode::Dev => format!(" in showtime {showtime}"),
            };
            format!(
                "{} {}{which} {} already taken.",
                if seats.len() == 1 { "Seat" } else { "Seats" },
                join_seats(seats, ", "),
                plural(seats.len(), "is", "are")
            )
        }
        Rejection::UnknownBooking { booking } => format!("There is no booking #{booking}."),
        Rejection::BookingCancelled { booking } => {
            format!("Booking #{booking} is already cancelled.")
        }
        Rejection::UnknownHold => "There is no hold with that token.".to_string(),
        Rejection::HoldExpired { hold } => format!("Hold {hold} expired; its seats were freed."),
        Rejection::HoldFinished { hold, status } => {
            format!("Hold {hold} is already {}.", status.name())
        }
        Rejection::AlreadyExists { kind, id } => {
            format!("{} {id} already exists.", capitalised(*kind))
        }
        Rejection::InUse {
            kind: Kind::Showtime,
            id,
            bookings,
            holds,
            ..
        } => format!(
            "Showtime {id} still has {bookings} {} and {holds} active {}; cancel or release \
             them first.",
            plural(*bookings as usize, "booking", "bookings"),
            plural(*holds as usize, "hold", "holds")
        ),
        Rejection::InUse {
            kind,
            id,
            showtimes,
            showtime_count,
            ..
        } => {
            let count = *showtime_count as usize;
            format!(
                "{} {id} is used by {} {}{}; remove {} first.",
                capitalised(*kind),
                plural(count, "showtime", "showtimes"),
                showtimes
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                if showtimes.len() < count {
                    format!(" and {} more", count - showtimes.len())
                } else {
                    String::new()
                },
                plural(count, "it", "them")
            )
        }
        Rejection::TooManySeatsForRules { count, max } => {
            format!("That is {count} seats; the rules allow at most {max} per hold or booking.")
        }
        Rejection::StrandedSeat { showtime, seats } => {
            let which = match mode {
                ConsoleMode::Demo => String::new(),
                ConsoleMode::Dev => format!(" in showtime {showtime}"),
            };
            format!(
                "That would leave {} {}{which} alone between taken seats; pick {} too, or \
                 seats elsewhere.",
                plural(seats.len(), "seat", "seats"),
                join_seats(seats, ", "),
                plural(seats.len(), "it", "them")
            )
        }
        Rejection::CustomerLimit {
            showtime,
            user,
            limit,
            taken,
            requested,
        } => format!(
            "{} already has {taken} {} of showtime {showtime}; {requested} more would pass the \
             limit of {limit} per customer.",
            one_line(user),
            plural(*taken as usize, "seat", "seats")
        ),
        Rejection::CatalogFull { kind, limit } => format!(
            "The catalog is full: at most {limit} {}{}.",
            kind.name(),
            if *limit == 1 { "" } else { "s" }
        ),
        Rejection::IdsExhausted { kind, max } => format!(
            "No {} id is left after the highest one ({max}); choose a free id.",
            kind.name()
        ),
        Rejection::TokenCollision => {
            "The minted token is already in use (is the host's entropy fresh?); try again."
                .to_string()
        }
        Rejection::BlockTooLarge { count, max } => {
            format!("Ask for 1 to {max} seats side by side (not {count}).")
        }
        Rejection::NoSeatBlock { count, .. } => format!(
            "No row has {count} free seats side by side without leaving a single seat alone."
        ),
    }
}

/// Makes untrusted text safe for a one-line rendering: control characters become `\u{FFFD}` and
/// the text is cut at 64 characters.
pub fn one_line(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if text.chars().nth(64).is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Query;
    use crate::state::{State, Taker};

    #[test]
    fn one_line_removes_control_characters_and_cuts_long_text() {
        assert_eq!(one_line("al\nice"), "al\u{FFFD}ice");
        assert_eq!(one_line(&"x".repeat(70)), format!("{}...", "x".repeat(64)));
    }

    #[test]
    fn seat_map_marks_held_and_booked_seats_and_aligns_columns() {
        let mut state = State::default();
        if let Some(s) = state.showtimes.get_mut(&1) {
            s.occupy(&[SeatId::new(0, 3)], Taker::Booking(1), "alice");
            s.occupy(&[SeatId::new(0, 4)], Taker::Hold(1), "bob");
        }
        let detail = match (Query::Showtime { showtime: 1 }).answer(&state) {
            Ok(crate::query::Answer::Showtime(detail)) => detail,
            other => panic!("unexpected {other:?}"),
        };
        let expected = "Showtime 1 (4 rows x 6 seats, 22 free, 1 held)\n\
                        \x20    1  2  3  4  5  6\n\
                        \x20 a  .  .  X  o  .  .\n\
                        \x20 b  .  .  .  .  .  .\n\
                        \x20 c  .  .  .  .  .  .\n\
                        \x20 d  .  .  .  .  .  .\n\
                        \x20 . free   o held   X booked";
        assert_eq!(seat_map(&detail), expected);
    }
}
