//! Plain-text renderings for the consoles: seat maps, booking lines, sentences for results and
//! refusals, and UTC timestamps.
//!
//! Kept apart from console parsing so that the overview, `console-render` and `describe` share one
//! wording. Every user-supplied string passes through [`one_line`], so a rendering is always the
//! number of lines it claims to be.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::command::Applied;
use crate::contract::ConsoleMode;
use crate::query::{SeatMap, ShowtimeSummary};
use crate::rejection::{plural, Rejection};
use crate::seat::{join_seats, row_letter, SeatId};
use crate::state::Booking;

/// Draws a seat map:
///
/// ```text
/// Showtime 1 (4 rows x 6 seats, 23 free)
///      1  2  3  4  5  6
///   a  .  .  X  .  .  .
///   b  .  .  .  .  .  .
///   ...
///   . free   X booked
/// ```
pub fn seat_map(map: &SeatMap) -> String {
    let summary = &map.summary;
    let states: BTreeMap<SeatId, Option<u64>> =
        map.seats.iter().map(|v| (v.seat, v.booking)).collect();
    let width = summary.layout.widest().to_string().len().max(2) + 1;
    let mut out = format!(
        "Showtime {} ({}, {} free)\n   ",
        summary.id,
        summary.layout.shape(),
        summary.free
    );
    for number in 1..=summary.layout.widest() {
        // Writing into a String cannot fail.
        let _ = write!(out, "{number:>width$}");
    }
    out.push('\n');
    for (index, &seats) in summary.layout.rows.iter().enumerate() {
        // Writing into a String cannot fail (here and below).
        let _ = write!(out, "  {}", row_letter(index));
        let row = u8::try_from(index).unwrap_or(u8::MAX);
        for number in 1..=seats {
            let mark = match states.get(&SeatId::new(row, number)) {
                Some(None) => '.',
                Some(Some(_)) => 'X',
                None => ' ',
            };
            let _ = write!(out, "{mark:>width$}");
        }
        out.push('\n');
    }
    out.push_str("  . free   X booked");
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
                "Showtime {}: {}, {} free, {} booked ({} {})",
                s.id,
                s.layout.shape(),
                s.free,
                s.booked,
                s.bookings,
                plural(s.bookings as usize, "booking", "bookings")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One booking on one line: `#3  showtime 1  a1,a2  alice  2024-05-01 12:00:00 UTC  (log 17)`.
pub fn booking_line(booking: &Booking) -> String {
    format!(
        "#{}  showtime {}  {}  {}  {}  (log {})",
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

/// The sentence for a successful command.
pub fn applied(applied: &Applied, mode: ConsoleMode) -> String {
    match applied {
        Applied::Booked(b) => match mode {
            ConsoleMode::Demo => format!(
                "Booked {} for {} (booking #{}).",
                join_seats(&b.seats, ", "),
                one_line(&b.user),
                b.id
            ),
            ConsoleMode::Dev => format!(
                "Booked {} in showtime {} for {} (booking #{}).",
                join_seats(&b.seats, ", "),
                b.showtime,
                one_line(&b.user),
                b.id
            ),
        },
        Applied::Cancelled(b) => format!(
            "Cancelled booking #{}; {} {} {} free again.",
            b.id,
            plural(b.seats.len(), "seat", "seats"),
            join_seats(&b.seats, ", "),
            plural(b.seats.len(), "is", "are")
        ),
        Applied::ShowtimeCreated(s) => {
            format!("Created showtime {} ({}).", s.id, s.layout.shape())
        }
        Applied::ShowtimeRemoved(s) => format!("Removed showtime {}.", s.id),
    }
}

/// The sentence for a refusal.
pub fn rejection(rejection: &Rejection, mode: ConsoleMode) -> String {
    match rejection {
        Rejection::Undecodable { bytes } => format!(
            "The state machine could not decode the request ({bytes} bytes); plugin versions \
             may differ."
        ),
        Rejection::UnknownShowtime { showtime } => format!("There is no showtime {showtime}."),
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
        Rejection::NoSeats => "Name at least one seat.".to_string(),
        Rejection::TooManySeats { count, max } => {
            format!("That is {count} seats; one booking may take at most {max}.")
        }
        Rejection::DuplicateSeats { seats } => format!(
            "{} {} {} listed more than once.",
            if seats.len() == 1 { "Seat" } else { "Seats" },
            join_seats(seats, ", "),
            plural(seats.len(), "is", "are")
        ),
        Rejection::InvalidUser { reason } => format!("Invalid user: {reason}."),
        Rejection::UnknownBooking { booking } => format!("There is no booking #{booking}."),
        Rejection::NotOwner { booking } => {
            format!("Booking #{booking} was made by another user; only they can cancel it.")
        }
        Rejection::ShowtimeExists { showtime } => format!("Showtime {showtime} already exists."),
        Rejection::InvalidRows { reason } => format!("Invalid rows: {reason}."),
        Rejection::ShowtimeHasBookings { showtime, bookings } => format!(
            "Showtime {showtime} still has {bookings} {}; cancel them first.",
            plural(*bookings as usize, "booking", "bookings")
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

/// Formats ms since the Unix epoch as `YYYY-MM-DD HH:MM:SS UTC` (proleptic Gregorian).
pub fn utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day); Howard Hinnant's `civil_from_days`, for
/// non-negative day counts.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Query;
    use crate::state::State;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000_123), "2023-11-14 22:13:20 UTC");
        // The largest value must not overflow.
        assert!(utc(u64::MAX).ends_with("UTC"));
    }

    #[test]
    fn one_line_removes_control_characters_and_cuts_long_text() {
        assert_eq!(one_line("al\nice"), "al\u{FFFD}ice");
        assert_eq!(one_line(&"x".repeat(70)), format!("{}...", "x".repeat(64)));
    }

    #[test]
    fn seat_map_marks_booked_seats_and_aligns_columns() {
        let mut state = State::default();
        if let Some(s) = state.showtimes.get_mut(&1) {
            s.taken.insert(SeatId::new(0, 3), 1);
            s.bookings.insert(1);
        }
        let query = Query::Seats {
            showtime: 1,
            filter: None,
        };
        let map = match query.answer(&state) {
            Ok(crate::query::Answer::Seats(map)) => map,
            other => panic!("unexpected {other:?}"),
        };
        let text = seat_map(&map);
        let expected = "Showtime 1 (4 rows x 6 seats, 23 free)\n\
                        \x20    1  2  3  4  5  6\n\
                        \x20 a  .  .  X  .  .  .\n\
                        \x20 b  .  .  .  .  .  .\n\
                        \x20 c  .  .  .  .  .  .\n\
                        \x20 d  .  .  .  .  .  .\n\
                        \x20 . free   X booked";
        assert_eq!(text, expected);
    }
}
