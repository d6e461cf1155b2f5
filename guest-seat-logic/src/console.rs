//! The console front: parses console lines into queries and commands, and renders what came back.
//!
//! # Demo mode
//!
//! ```text
//! a1 a2 | a1,a2      book the seats in showtime 1 for user `demo`
//! cancel N           cancel booking #N of user `demo`
//! map                show the seat map of showtime 1
//! ```
//!
//! # Dev mode
//!
//! ```text
//! book SHOWTIME SEAT[,SEAT...] USER
//! cancel BOOKING USER
//! seats SHOWTIME
//! showtimes
//! bookings
//! booking ID
//! add-showtime ID ROWS        ROWS = GROUP[,GROUP...], GROUP = a-l:20 | m:12
//! remove-showtime ID
//! ```
//!
//! Keywords are case-insensitive. A line whose first word is no plugin command gets `None`, so
//! the host can say "unknown command"; a known command with bad arguments gets a usage line.
//! `console-render` parses the line again to know what it asked for, which keeps the host free of
//! per-line state.

use crate::command::{Applied, Command};
use crate::contract::{ConsoleAction, ConsoleMode, Outcome};
use crate::machine::{decode, encode};
use crate::query::{Answer, Query};
use crate::rejection::Rejection;
use crate::seat::{join_seats, row_index, Layout, SeatId, MAX_ROWS};
use crate::state::DEMO_SHOWTIME;
use crate::text;

/// The user the demo console books and cancels as.
pub const DEMO_USER: &str = "demo";

/// Usage lines of the dev commands, also the help text.
const DEV_HELP: &[(&str, &str)] = &[
    (
        "book SHOWTIME SEAT[,SEAT...] USER",
        "book seats for USER, all or none",
    ),
    ("cancel BOOKING USER", "cancel a booking; only its USER may"),
    ("seats SHOWTIME", "show the seat map of a showtime"),
    ("showtimes", "list showtimes with free and booked seats"),
    ("bookings", "list every live booking"),
    ("booking ID", "show one booking"),
    (
        "add-showtime ID ROWS",
        "create a showtime; ROWS like a-l:20 or a-c:10,d-f:12",
    ),
    (
        "remove-showtime ID",
        "remove a showtime that has no bookings",
    ),
];

/// Usage lines of the demo commands, also the help text.
const DEMO_HELP: &[(&str, &str)] = &[
    ("a1 a2", "book seats (space- or comma-separated) for demo"),
    ("cancel N", "cancel demo's booking #N"),
    ("map", "show the seat map"),
];

/// A parsed console line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// Run this query.
    Read(Query),
    /// Replicate this command.
    Write(Command),
    /// Print this text (usage, or a stateless refusal).
    Print(String),
}

/// Decides what a console line needs; `None` when it is not a plugin command.
pub fn console(line: &str, mode: ConsoleMode) -> Option<ConsoleAction> {
    Some(match parse(line, mode)? {
        Line::Read(query) => ConsoleAction::Read(encode(&query)),
        Line::Write(command) => ConsoleAction::Write(encode(&command)),
        Line::Print(text) => ConsoleAction::Print(text),
    })
}

/// Parses a line, including the stateless command checks (turned into a printed sentence).
fn parse(line: &str, mode: ConsoleMode) -> Option<Line> {
    let parsed = match mode {
        ConsoleMode::Demo => parse_demo(line)?,
        ConsoleMode::Dev => parse_dev(line)?,
    };
    Some(match parsed {
        Line::Write(command) => match command.check() {
            Ok(()) => Line::Write(command),
            Err(rejection) => Line::Print(text::rejection(&rejection, mode)),
        },
        other => other,
    })
}

/// Demo grammar: seat ids, `cancel N`, `map`.
fn parse_demo(line: &str) -> Option<Line> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (first, args) = words.split_first()?;
    match first.to_ascii_lowercase().as_str() {
        "cancel" => Some(match args {
            [id] => match parse_booking_id(id) {
                Some(booking) => Line::Write(Command::Cancel {
                    booking,
                    user: DEMO_USER.to_string(),
                }),
                None => usage("cancel N", format!("{} is not a booking number", quote(id))),
            },
            _ => usage("cancel N", "give one booking number".to_string()),
        }),
        "map" => Some(if args.is_empty() {
            Line::Read(Query::Seats {
                showtime: DEMO_SHOWTIME,
                filter: None,
            })
        } else {
            usage("map", "map takes no arguments".to_string())
        }),
        _ => {
            let seats = words
                .iter()
                .map(|w| SeatId::parse(w))
                .collect::<Option<Vec<_>>>()?;
            Some(Line::Write(Command::Book {
                showtime: DEMO_SHOWTIME,
                seats,
                user: DEMO_USER.to_string(),
            }))
        }
    }
}

/// Dev grammar: see the module docs.
fn parse_dev(line: &str) -> Option<Line> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (first, args) = words.split_first()?;
    let keyword = first.to_ascii_lowercase();
    let spec = DEV_HELP
        .iter()
        .map(|(u, _)| *u)
        .find(|u| u.split(' ').next() == Some(keyword.as_str()))?;
    let line = match (keyword.as_str(), args) {
        ("book", [showtime, seats, user]) => {
            let Some(showtime) = parse_number::<u32>(showtime) else {
                return Some(usage(
                    spec,
                    format!("{} is not a showtime number", quote(showtime)),
                ));
            };
            let mut parsed = Vec::new();
            for word in seats.split(',').filter(|w| !w.is_empty()) {
                match SeatId::parse(word) {
                    Some(seat) => parsed.push(seat),
                    None => {
                        return Some(usage(
                            spec,
                            format!("{} is not a seat id like a1", quote(word)),
                        ))
                    }
                }
            }
            Line::Write(Command::Book {
                showtime,
                seats: parsed,
                user: (*user).to_string(),
            })
        }
        ("cancel", [booking, user]) => match parse_booking_id(booking) {
            Some(booking) => Line::Write(Command::Cancel {
                booking,
                user: (*user).to_string(),
            }),
            None => usage(spec, format!("{} is not a booking number", quote(booking))),
        },
        ("seats", [showtime]) => match parse_number::<u32>(showtime) {
            Some(showtime) => Line::Read(Query::Seats {
                showtime,
                filter: None,
            }),
            None => usage(
                spec,
                format!("{} is not a showtime number", quote(showtime)),
            ),
        },
        ("showtimes", []) => Line::Read(Query::Showtimes),
        ("bookings", []) => Line::Read(Query::Bookings),
        ("booking", [booking]) => match parse_booking_id(booking) {
            Some(booking) => Line::Read(Query::Booking { booking }),
            None => usage(spec, format!("{} is not a booking number", quote(booking))),
        },
        ("add-showtime", [id, rows]) => {
            let Some(showtime) = parse_number::<u32>(id) else {
                return Some(usage(
                    spec,
                    format!("{} is not a showtime number", quote(id)),
                ));
            };
            match parse_rows(rows) {
                Ok(layout) => Line::Write(Command::CreateShowtime { showtime, layout }),
                Err(reason) => usage(spec, reason),
            }
        }
        ("remove-showtime", [id]) => match parse_number::<u32>(id) {
            Some(showtime) => Line::Write(Command::RemoveShowtime { showtime }),
            None => usage(spec, format!("{} is not a showtime number", quote(id))),
        },
        _ => usage(spec, "wrong number of arguments".to_string()),
    };
    Some(line)
}

/// A printed usage line with the reason.
fn usage(spec: &str, reason: String) -> Line {
    Line::Print(format!("usage: {spec} ({reason})"))
}

/// Quotes a word for an error message, cut and cleaned.
fn quote(word: &str) -> String {
    format!("`{}`", text::one_line(word))
}

/// Parses a plain decimal number.
fn parse_number<T: std::str::FromStr>(word: &str) -> Option<T> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.parse().ok()
}

/// Parses a booking number, with or without a leading `#`.
fn parse_booking_id(word: &str) -> Option<u64> {
    parse_number(word.strip_prefix('#').unwrap_or(word))
}

/// Parses `a-l:20` or `a-c:10,d-f:12` or `a:5,b:6`: rows must run `a`, `b`, ... without gaps.
fn parse_rows(spec: &str) -> Result<Layout, String> {
    let mut rows: Vec<u16> = Vec::new();
    for group in spec.split(',') {
        let (letters, count) = group
            .split_once(':')
            .ok_or_else(|| format!("{} lacks :SEATS", quote(group)))?;
        let seats = parse_number::<u16>(count)
            .ok_or_else(|| format!("{} is not a seat count", quote(count)))?;
        let (from, to) = match letters.split_once('-') {
            Some((from, to)) => (from, to),
            None => (letters, letters),
        };
        let (Some(from), Some(to)) = (single_row(from), single_row(to)) else {
            return Err(format!("{} is not a row or row range", quote(letters)));
        };
        if usize::from(from) != rows.len() {
            return Err(format!(
                "rows must be consecutive letters from a; {} starts at {}",
                quote(group),
                crate::seat::row_letter(usize::from(from))
            ));
        }
        if to < from {
            return Err(format!("{} runs backwards", quote(letters)));
        }
        rows.extend(std::iter::repeat_n(seats, usize::from(to - from) + 1));
        if rows.len() > MAX_ROWS {
            return Err(format!("at most {MAX_ROWS} rows (a to z)"));
        }
    }
    Ok(Layout { rows })
}

/// A one-letter row name.
fn single_row(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [letter] => row_index(*letter),
        _ => None,
    }
}

/// Turns the outcome of a line's read or write into the text to print.
pub fn console_render(line: &str, mode: ConsoleMode, outcome: Outcome) -> String {
    match parse(line, mode) {
        Some(Line::Write(command)) => render_write(&command, mode, outcome),
        Some(Line::Read(query)) => render_read(&query, mode, outcome),
        Some(Line::Print(text)) => text,
        None => "This line is not a plugin command.".to_string(),
    }
}

/// Text for a command's outcome.
fn render_write(command: &Command, mode: ConsoleMode, outcome: Outcome) -> String {
    match outcome {
        Outcome::Unavailable(reason) => {
            format!("Could not {}: {}", command_action(command, mode), reason)
        }
        Outcome::Finished(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => text::applied(&applied, mode),
            Err(_) => undecodable("result", bytes.len()),
        },
        Outcome::Finished(Err(bytes)) => refusal(&bytes, mode),
    }
}

/// Text for a query's outcome.
fn render_read(query: &Query, mode: ConsoleMode, outcome: Outcome) -> String {
    match outcome {
        Outcome::Unavailable(reason) => {
            format!("Could not {}: {}", query_action(query), reason)
        }
        Outcome::Finished(Ok(bytes)) => match decode::<Answer>(&bytes) {
            Ok(answer) => render_answer(&answer),
            Err(_) => undecodable("answer", bytes.len()),
        },
        Outcome::Finished(Err(bytes)) => refusal(&bytes, mode),
    }
}

/// Text for a query answer.
fn render_answer(answer: &Answer) -> String {
    match answer {
        Answer::Seats(map) | Answer::Showtime(map) => text::seat_map(map),
        Answer::Showtimes(list) => text::showtimes(list),
        Answer::Booking(booking) => text::booking_line(booking),
        Answer::Bookings(list) => text::bookings(list),
    }
}

/// Text for `err` bytes.
fn refusal(bytes: &[u8], mode: ConsoleMode) -> String {
    match decode::<Rejection>(bytes) {
        Ok(rejection) => text::rejection(&rejection, mode),
        Err(_) => undecodable("refusal", bytes.len()),
    }
}

/// Text for result bytes this plugin cannot read.
fn undecodable(what: &str, len: usize) -> String {
    format!("The state machine's {what} could not be decoded ({len} bytes).")
}

/// What a command was trying to do, for "Could not ...": `book a1, a2`.
fn command_action(command: &Command, mode: ConsoleMode) -> String {
    match (command, mode) {
        (Command::Book { seats, .. }, ConsoleMode::Demo) => {
            format!("book {}", join_seats(seats, ", "))
        }
        (
            Command::Book {
                showtime, seats, ..
            },
            ConsoleMode::Dev,
        ) => format!("book {} in showtime {showtime}", join_seats(seats, ", ")),
        (Command::Cancel { booking, .. }, _) => format!("cancel booking #{booking}"),
        (Command::CreateShowtime { showtime, .. }, _) => format!("create showtime {showtime}"),
        (Command::RemoveShowtime { showtime }, _) => format!("remove showtime {showtime}"),
    }
}

/// What a query was trying to do, for "Could not ...": `show the seat map of showtime 1`.
fn query_action(query: &Query) -> String {
    match query {
        Query::Showtimes => "list showtimes".to_string(),
        Query::Showtime { showtime } | Query::Seats { showtime, .. } => {
            format!("show the seat map of showtime {showtime}")
        }
        Query::Booking { booking } => format!("show booking #{booking}"),
        Query::Bookings => "list bookings".to_string(),
    }
}

/// Help lines for the mode's plugin commands, one per line.
pub fn console_help(mode: ConsoleMode) -> String {
    let lines = match mode {
        ConsoleMode::Demo => DEMO_HELP,
        ConsoleMode::Dev => DEV_HELP,
    };
    let width = lines.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(usage, what)| format!("{usage:<width$}  {what}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The overview query: the seat map of showtime 1, in both modes.
pub fn overview(_mode: ConsoleMode) -> Option<Vec<u8>> {
    Some(encode(&Query::Seats {
        showtime: DEMO_SHOWTIME,
        filter: None,
    }))
}

/// Renders the overview's outcome as a text seat map.
pub fn render_overview(mode: ConsoleMode, outcome: Outcome) -> String {
    match outcome {
        Outcome::Unavailable(reason) => format!("Seat map unavailable: {reason}"),
        Outcome::Finished(Ok(bytes)) => match decode::<Answer>(&bytes) {
            Ok(answer) => render_answer(&answer),
            Err(_) => undecodable("answer", bytes.len()),
        },
        Outcome::Finished(Err(bytes)) => refusal(&bytes, mode),
    }
}

/// One line for a command, with its result if known:
/// `book a1,a2 in showtime 1 for alice -> booking #3`.
pub fn describe(command: &[u8], result: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
    let Ok(command) = decode::<Command>(command) else {
        return format!("undecodable command ({} bytes)", command.len());
    };
    let mut line = command_phrase(&command);
    match result {
        None => {}
        Some(Ok(bytes)) => {
            line.push_str(" -> ");
            line.push_str(&match decode::<Applied>(&bytes) {
                Ok(applied) => applied_phrase(&applied),
                Err(_) => format!("undecodable result ({} bytes)", bytes.len()),
            });
        }
        Some(Err(bytes)) => {
            line.push_str(" -> refused: ");
            line.push_str(&match decode::<Rejection>(&bytes) {
                Ok(rejection) => rejection.summary(),
                Err(_) => format!("undecodable reason ({} bytes)", bytes.len()),
            });
        }
    }
    line
}

/// The command part of a [`describe`] line.
fn command_phrase(command: &Command) -> String {
    match command {
        Command::Book {
            showtime,
            seats,
            user,
        } => format!(
            "book {} in showtime {showtime} for {}",
            join_seats(seats, ","),
            text::one_line(user)
        ),
        Command::Cancel { booking, user } => {
            format!("cancel booking #{booking} for {}", text::one_line(user))
        }
        Command::CreateShowtime { showtime, layout } => format!(
            "create showtime {showtime} ({} rows, {} seats)",
            layout.rows.len(),
            layout.capacity()
        ),
        Command::RemoveShowtime { showtime } => format!("remove showtime {showtime}"),
    }
}

/// The result part of a [`describe`] line.
fn applied_phrase(applied: &Applied) -> String {
    match applied {
        Applied::Booked(b) => format!("booking #{}", b.id),
        Applied::Cancelled(b) => format!("freed {}", join_seats(&b.seats, ",")),
        Applied::ShowtimeCreated(_) => "created".to_string(),
        Applied::ShowtimeRemoved(_) => "removed".to_string(),
    }
}

#[cfg(test)]
mod tests;
