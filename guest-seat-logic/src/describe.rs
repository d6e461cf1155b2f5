//! `machine.describe`: one line for a log entry, for commit notices (with its result) and log
//! listings (without). It depends on the bytes alone, never on the state.
//!
//! Commands hold token digests, never tokens, and the lines show neither: a hold changed by
//! token is "a hold" until the result names it by id.
//!
//! ```text
//! book a2,a1 in showtime 1 for alice -> booking #1
//! hold a1 in showtime 2 for bob for 60 s -> hold 1 until 2023-11-14 22:14:20 UTC
//! confirm a hold -> hold 1 became booking #2
//! cancel booking #2 (by token) -> freed a1
//! tick -> expired hold 3 (a1 of showtime 2)
//! ```

use crate::booking::Actor;
use crate::command::{Applied, Command, Effect, Refused};
use crate::machine::decode;
use crate::seat::join_seats;
use crate::state::Hold;
use crate::text;

/// One line for an entry, with its result if known. An empty command is a tick: `tick`, or
/// `tick -> expired hold 3 (a1 of showtime 2)` when it expired holds. Expiries that happened
/// before another command are appended: `...; expired hold 3 (...)`.
pub fn describe(command: &[u8], result: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
    let tick = command.is_empty();
    let mut line = if tick {
        "tick".to_string()
    } else {
        match decode::<Command>(command) {
            Ok(command) => command_phrase(&command),
            Err(_) => format!("undecodable command ({} bytes)", command.len()),
        }
    };
    let expired = match result {
        None => Vec::new(),
        Some(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => {
                if !tick {
                    line.push_str(" -> ");
                    line.push_str(&effect_phrase(&applied.effect));
                }
                applied.expired
            }
            Err(_) => {
                line.push_str(&format!(" -> undecodable result ({} bytes)", bytes.len()));
                Vec::new()
            }
        },
        Some(Err(bytes)) => {
            line.push_str(" -> refused: ");
            match decode::<Refused>(&bytes) {
                Ok(refused) => {
                    line.push_str(&refused.rejection.summary());
                    refused.expired
                }
                Err(_) => {
                    line.push_str(&format!("undecodable reason ({} bytes)", bytes.len()));
                    Vec::new()
                }
            }
        }
    };
    if !expired.is_empty() {
        line.push_str(if tick { " -> " } else { "; " });
        line.push_str(
            &expired
                .iter()
                .map(expiry_phrase)
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    line
}

/// `expired hold 3 (a1,a2 of showtime 3)`
fn expiry_phrase(hold: &Hold) -> String {
    format!(
        "expired hold {} ({} of showtime {})",
        hold.id,
        join_seats(&hold.seats, ","),
        hold.showtime
    )
}

/// The command part of a [`describe`] line.
fn command_phrase(command: &Command) -> String {
    match command {
        Command::Book {
            showtime,
            seats,
            user,
            ..
        } => format!(
            "book {} in showtime {showtime} for {}",
            join_seats(seats, ","),
            text::one_line(user)
        ),
        Command::Cancel { booking, by } => format!(
            "cancel booking #{booking} ({})",
            match by {
                Actor::Customer(_) => "by token",
                Actor::Operator => "by operator",
            }
        ),
        Command::Hold {
            showtime,
            seats,
            user,
            ttl_seconds,
            ..
        } => format!(
            "hold {} in showtime {showtime} for {} for {ttl_seconds} s",
            join_seats(seats, ","),
            text::one_line(user)
        ),
        Command::Extend { ttl_seconds, .. } => {
            format!("extend a hold to {ttl_seconds} s from now")
        }
        Command::Confirm { .. } => "confirm a hold".to_string(),
        Command::Release { .. } => "release a hold".to_string(),
        Command::CreateMovie { id, info } => format!(
            "create movie {}{}",
            id.map(|i| format!("{i} ")).unwrap_or_default(),
            text::one_line(&info.title)
        ),
        Command::RemoveMovie { movie } => format!("remove movie {movie}"),
        Command::CreateTheater { id, info } => format!(
            "create theater {}{} ({} rows, {} seats)",
            id.map(|i| format!("{i} ")).unwrap_or_default(),
            text::one_line(&info.name),
            info.layout.rows.len(),
            info.layout.capacity()
        ),
        Command::RemoveTheater { theater } => format!("remove theater {theater}"),
        Command::CreateShowtime {
            id,
            movie,
            theater,
            starts_at_ms,
            price_cents,
        } => format!(
            "create showtime {}of movie {movie} in theater {theater} at {}, {price_cents} cents",
            id.map(|i| format!("{i} ")).unwrap_or_default(),
            text::utc(*starts_at_ms)
        ),
        Command::RemoveShowtime { showtime } => format!("remove showtime {showtime}"),
        Command::UpdateSettings { settings } => format!(
            "set the customer limit to {} seats per showtime",
            settings.max_seats_per_customer
        ),
    }
}

/// The result part of a [`describe`] line.
fn effect_phrase(effect: &Effect) -> String {
    match effect {
        Effect::Tick => "tick".to_string(),
        Effect::Booked(b) => format!("booking #{}", b.id),
        Effect::Cancelled(b) => format!("freed {}", join_seats(&b.seats, ",")),
        Effect::Held(h) => format!("hold {} until {}", h.id, text::utc(h.expires_at_ms)),
        Effect::Extended(h) => format!("hold {} until {}", h.id, text::utc(h.expires_at_ms)),
        Effect::Confirmed { hold, booking } => {
            format!("hold {} became booking #{}", hold.id, booking.id)
        }
        Effect::Released(h) => format!("hold {} freed {}", h.id, join_seats(&h.seats, ",")),
        Effect::MovieCreated(m) => format!("movie {}", m.id),
        Effect::TheaterCreated(t) => format!("theater {}", t.id),
        Effect::ShowtimeCreated(d) => format!("showtime {}", d.summary.id),
        Effect::MovieRemoved(_) | Effect::TheaterRemoved(_) | Effect::ShowtimeRemoved(_) => {
            "removed".to_string()
        }
        Effect::SettingsUpdated(_) => "done".to_string(),
    }
}
