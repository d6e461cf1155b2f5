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
//! See [`DEV_HELP`]: bookings, holds (`hold SHOWTIME SEATS USER [TTL]`, `extend`, `confirm`,
//! `release`), listings, catalog admin (`add-movie`, `add-theater`, `add-showtime`, `remove-*`)
//! and `tick`.
//!
//! Keywords are case-insensitive. A line whose first word is no plugin command gets `None`, so
//! the host can say "unknown command"; a known command with bad arguments gets a usage line.
//! `console-render` parses the line again to know what it asked for, which keeps the host free of
//! per-line state.

use crate::catalog::{MovieInfo, TheaterInfo};
use crate::command::{Applied, Command, Effect, Refused, DEFAULT_TTL_SECONDS};
use crate::contract::{ConsoleAction, ConsoleMode, Outcome};
use crate::machine::{decode, encode};
use crate::query::{Answer, Query};
use crate::rejection::Rejection;
use crate::seat::{join_seats, row_index, Layout, SeatId, MAX_ROWS};
use crate::state::{Hold, DEMO_SHOWTIME};
use crate::text;

/// The user the demo console books and cancels as.
pub const DEMO_USER: &str = "demo";

/// Usage lines of the dev commands, also the help text.
pub const DEV_HELP: &[(&str, &str)] = &[
    (
        "book SHOWTIME SEAT[,SEAT...] USER",
        "book seats for USER, all or none",
    ),
    ("cancel BOOKING USER", "cancel a booking; only its USER may"),
    (
        "hold SHOWTIME SEAT[,SEAT...] USER [TTL]",
        "hold seats for USER for TTL seconds (default 600)",
    ),
    (
        "extend TOKEN USER [TTL]",
        "make a hold expire TTL seconds from now (at most 2 h after creation)",
    ),
    ("confirm TOKEN USER", "turn a hold into a booking"),
    ("release TOKEN USER", "give a hold up, freeing its seats"),
    ("seats SHOWTIME", "show the seat map of a showtime"),
    ("activity SHOWTIME", "show a showtime's recent changes"),
    (
        "showtimes",
        "list showtimes with free, held and booked seats",
    ),
    ("movies", "list movies"),
    ("theaters", "list theaters"),
    ("bookings", "list bookings (cancelled ones for a day)"),
    ("booking ID", "show one booking"),
    ("show-hold TOKEN", "show one hold"),
    (
        "add-movie YEAR MINUTES TITLE...",
        "add a movie with the next free id",
    ),
    ("remove-movie ID", "remove a movie no showtime shows"),
    (
        "add-theater ROWS NAME...",
        "add a theater; ROWS like a-l:20 or a-c:10,d-f:12",
    ),
    ("remove-theater ID", "remove a theater no showtime uses"),
    (
        "add-showtime MOVIE THEATER STARTS_AT PRICE_CENTS [ID]",
        "add a showtime; STARTS_AT like 2026-12-01T20:00:00Z",
    ),
    (
        "remove-showtime ID",
        "remove a showtime without bookings or active holds",
    ),
    ("tick", "append a clock tick (expires holds that are due)"),
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
    /// Replicate an empty command (a clock tick).
    Tick,
    /// Print this text (usage, or a stateless refusal).
    Print(String),
}

/// Decides what a console line needs; `None` when it is not a plugin command.
pub fn console(line: &str, mode: ConsoleMode) -> Option<ConsoleAction> {
    Some(match parse(line, mode)? {
        Line::Read(query) => ConsoleAction::Read(encode(&query)),
        Line::Write(command) => ConsoleAction::Write(encode(&command)),
        Line::Tick => ConsoleAction::Write(Vec::new()),
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
            Line::Read(Query::Showtime {
                showtime: DEMO_SHOWTIME,
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

/// Dev grammar: see [`DEV_HELP`].
fn parse_dev(line: &str) -> Option<Line> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (first, args) = words.split_first()?;
    let keyword = first.to_ascii_lowercase();
    let spec = DEV_HELP
        .iter()
        .map(|(u, _)| *u)
        .find(|u| u.split(' ').next() == Some(keyword.as_str()))?;
    Some(match parse_dev_args(&keyword, args) {
        Ok(line) => line,
        Err(reason) => usage(spec, reason),
    })
}

/// The arguments of a dev command; `Err` is the reason for the usage line.
fn parse_dev_args(keyword: &str, args: &[&str]) -> Result<Line, String> {
    let showtime = |w: &str| {
        parse_number::<u32>(w).ok_or_else(|| format!("{} is not a showtime number", quote(w)))
    };
    let number = |w: &str, what: &str| {
        parse_number::<u32>(w).ok_or_else(|| format!("{} is not {what}", quote(w)))
    };
    let booking = |w: &str| {
        parse_booking_id(w).ok_or_else(|| format!("{} is not a booking number", quote(w)))
    };
    let ttl = |w: Option<&&str>| match w {
        None => Ok(DEFAULT_TTL_SECONDS),
        Some(w) => number(w, "a number of seconds"),
    };
    let user = |w: &str| (*w).to_string();
    let token = |w: &str| (*w).to_string();
    Ok(match (keyword, args) {
        ("book", [s, seats, u]) => Line::Write(Command::Book {
            showtime: showtime(s)?,
            seats: parse_seat_list(seats)?,
            user: user(u),
        }),
        ("hold", [s, seats, u, rest @ ..]) if rest.len() <= 1 => Line::Write(Command::Hold {
            showtime: showtime(s)?,
            seats: parse_seat_list(seats)?,
            user: user(u),
            ttl_seconds: ttl(rest.first())?,
        }),
        ("extend", [t, u, rest @ ..]) if rest.len() <= 1 => Line::Write(Command::Extend {
            hold: token(t),
            user: user(u),
            ttl_seconds: ttl(rest.first())?,
        }),
        ("confirm", [t, u]) => Line::Write(Command::Confirm {
            hold: token(t),
            user: user(u),
        }),
        ("release", [t, u]) => Line::Write(Command::Release {
            hold: token(t),
            user: user(u),
        }),
        ("cancel", [b, u]) => Line::Write(Command::Cancel {
            booking: booking(b)?,
            user: user(u),
        }),
        ("seats", [s]) => Line::Read(Query::Showtime {
            showtime: showtime(s)?,
        }),
        ("activity", [s]) => Line::Read(Query::Activity {
            showtime: showtime(s)?,
        }),
        ("showtimes", []) => Line::Read(Query::Showtimes {
            movie: None,
            theater: None,
        }),
        ("movies", []) => Line::Read(Query::Movies),
        ("theaters", []) => Line::Read(Query::Theaters),
        ("bookings", []) => Line::Read(Query::Bookings {
            user: None,
            showtime: None,
        }),
        ("booking", [b]) => Line::Read(Query::Booking {
            booking: booking(b)?,
        }),
        ("show-hold", [t]) => Line::Read(Query::Hold { hold: token(t) }),
        ("add-movie", [year, minutes, title @ ..]) if !title.is_empty() => {
            Line::Write(Command::CreateMovie {
                id: None,
                info: MovieInfo {
                    title: title.join(" "),
                    year: parse_number(year)
                        .ok_or_else(|| format!("{} is not a year", quote(year)))?,
                    duration_minutes: parse_number(minutes)
                        .ok_or_else(|| format!("{} is not a number of minutes", quote(minutes)))?,
                    genres: Vec::new(),
                    director: String::new(),
                    cast: Vec::new(),
                    languages: Vec::new(),
                    age_rating: String::new(),
                    synopsis: String::new(),
                },
            })
        }
        ("remove-movie", [id]) => Line::Write(Command::RemoveMovie {
            movie: number(id, "a movie number")?,
        }),
        ("add-theater", [rows, name @ ..]) if !name.is_empty() => {
            Line::Write(Command::CreateTheater {
                id: None,
                info: TheaterInfo {
                    name: name.join(" "),
                    location: String::new(),
                    layout: parse_rows(rows)?,
                },
            })
        }
        ("remove-theater", [id]) => Line::Write(Command::RemoveTheater {
            theater: number(id, "a theater number")?,
        }),
        ("add-showtime", [movie, theater, starts, price, rest @ ..]) if rest.len() <= 1 => {
            Line::Write(Command::CreateShowtime {
                id: rest.first().map(|w| showtime(w)).transpose()?,
                movie: number(movie, "a movie number")?,
                theater: number(theater, "a theater number")?,
                starts_at_ms: crate::timefmt::parse_rfc3339(starts)
                    .map_err(|e| format!("{}: {e}", quote(starts)))?,
                price_cents: number(price, "a price in cents")?,
            })
        }
        ("remove-showtime", [id]) => Line::Write(Command::RemoveShowtime {
            showtime: showtime(id)?,
        }),
        ("tick", []) => Line::Tick,
        _ => return Err("wrong number of arguments".to_string()),
    })
}

/// Parses `a1,b2`: comma-separated seat ids.
fn parse_seat_list(word: &str) -> Result<Vec<SeatId>, String> {
    word.split(',')
        .filter(|w| !w.is_empty())
        .map(|w| SeatId::parse(w).ok_or_else(|| format!("{} is not a seat id like a1", quote(w))))
        .collect()
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
        Some(Line::Write(command)) => render_write(&command_action(&command, mode), mode, outcome),
        Some(Line::Tick) => render_write("tick", mode, outcome),
        Some(Line::Read(query)) => render_read(&query, mode, outcome),
        Some(Line::Print(text)) => text,
        None => "This line is not a plugin command.".to_string(),
    }
}

/// Text for a command's outcome; `action` says what it tried, for "Could not ...".
fn render_write(action: &str, mode: ConsoleMode, outcome: Outcome) -> String {
    match outcome {
        Outcome::Unavailable(reason) => format!("Could not {action}: {reason}"),
        Outcome::Finished(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => text::applied(&applied, mode),
            Err(_) => undecodable("result", bytes.len()),
        },
        Outcome::Finished(Err(bytes)) => match decode::<Refused>(&bytes) {
            Ok(refused) => {
                let mut lines = vec![text::rejection(&refused.rejection, mode)];
                lines.extend(refused.expired.iter().map(text::expired));
                lines.join("\n")
            }
            Err(_) => undecodable("refusal", bytes.len()),
        },
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
        Answer::Showtime(detail) => text::seat_map(detail),
        Answer::Seats { showtime, seats } => format!(
            "Showtime {showtime}: {}",
            seats
                .iter()
                .map(|v| format!("{} {}", v.seat, v.state.name()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Answer::Showtimes(list) => text::showtimes(list),
        Answer::Movies(list) => text::movies(list),
        Answer::Movie(movie) => text::movies(std::slice::from_ref(movie)),
        Answer::Theaters(list) => text::theaters(list),
        Answer::Theater(theater) => text::theaters(std::slice::from_ref(theater)),
        Answer::Activity { showtime, changes } => text::activity(*showtime, changes),
        Answer::Hold(hold) => text::hold_line(hold),
        Answer::Booking(booking) => text::booking_line(booking),
        Answer::Bookings(list) => text::bookings(list),
    }
}

/// Text for a query's `err` bytes.
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
        (
            Command::Hold {
                showtime, seats, ..
            },
            _,
        ) => format!("hold {} in showtime {showtime}", join_seats(seats, ", ")),
        (Command::Extend { hold, .. }, _) => format!("extend hold {}", text::one_line(hold)),
        (Command::Confirm { hold, .. }, _) => format!("confirm hold {}", text::one_line(hold)),
        (Command::Release { hold, .. }, _) => format!("release hold {}", text::one_line(hold)),
        (Command::CreateMovie { info, .. }, _) => {
            format!("create movie {}", text::one_line(&info.title))
        }
        (Command::RemoveMovie { movie }, _) => format!("remove movie {movie}"),
        (Command::CreateTheater { info, .. }, _) => {
            format!("create theater {}", text::one_line(&info.name))
        }
        (Command::RemoveTheater { theater }, _) => format!("remove theater {theater}"),
        (Command::CreateShowtime { id: Some(id), .. }, _) => format!("create showtime {id}"),
        (Command::CreateShowtime { id: None, .. }, _) => "create a showtime".to_string(),
        (Command::RemoveShowtime { showtime }, _) => format!("remove showtime {showtime}"),
    }
}

/// What a query was trying to do, for "Could not ...": `show the seat map of showtime 1`.
fn query_action(query: &Query) -> String {
    match query {
        Query::Movies => "list movies".to_string(),
        Query::Movie { movie } => format!("show movie {movie}"),
        Query::Theaters => "list theaters".to_string(),
        Query::Theater { theater } => format!("show theater {theater}"),
        Query::Showtimes { .. } => "list showtimes".to_string(),
        Query::Showtime { showtime } | Query::Seats { showtime, .. } => {
            format!("show the seat map of showtime {showtime}")
        }
        Query::Activity { showtime } => format!("show the activity of showtime {showtime}"),
        Query::Hold { hold } => format!("show hold {}", text::one_line(hold)),
        Query::Booking { booking } => format!("show booking #{booking}"),
        Query::Bookings { .. } => "list bookings".to_string(),
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
    Some(encode(&Query::Showtime {
        showtime: DEMO_SHOWTIME,
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

/// One line for an entry, with its result if known:
/// `book a1,a2 in showtime 1 for alice -> booking #3`. An empty command is a tick: `tick`, or
/// `tick -> expired hold h.. (a1 of showtime 2)` when it expired holds. Expiries that happened
/// before another command are appended: `...; expired hold h.. (...)`.
pub fn describe(command: &[u8], answer: Option<Result<Vec<u8>, Vec<u8>>>) -> String {
    let tick = command.is_empty();
    let mut line = if tick {
        "tick".to_string()
    } else {
        match decode::<Command>(command) {
            Ok(command) => command_phrase(&command),
            Err(_) => format!("undecodable command ({} bytes)", command.len()),
        }
    };
    let expired = match answer {
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

/// `expired hold h.. (a1,a2 of showtime 3)`
fn expiry_phrase(hold: &Hold) -> String {
    format!(
        "expired hold {} ({} of showtime {})",
        hold.token,
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
        } => format!(
            "book {} in showtime {showtime} for {}",
            join_seats(seats, ","),
            text::one_line(user)
        ),
        Command::Cancel { booking, user } => {
            format!("cancel booking #{booking} for {}", text::one_line(user))
        }
        Command::Hold {
            showtime,
            seats,
            user,
            ttl_seconds,
        } => format!(
            "hold {} in showtime {showtime} for {} for {ttl_seconds} s",
            join_seats(seats, ","),
            text::one_line(user)
        ),
        Command::Extend {
            hold,
            user,
            ttl_seconds,
        } => format!(
            "extend hold {} for {} to {ttl_seconds} s from now",
            text::one_line(hold),
            text::one_line(user)
        ),
        Command::Confirm { hold, user } => format!(
            "confirm hold {} for {}",
            text::one_line(hold),
            text::one_line(user)
        ),
        Command::Release { hold, user } => format!(
            "release hold {} for {}",
            text::one_line(hold),
            text::one_line(user)
        ),
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
    }
}

/// The result part of a [`describe`] line.
fn effect_phrase(effect: &Effect) -> String {
    match effect {
        Effect::Tick => "tick".to_string(),
        Effect::Booked(b) => format!("booking #{}", b.id),
        Effect::Cancelled(b) => format!("freed {}", join_seats(&b.seats, ",")),
        Effect::Held(h) => format!("hold {} until {}", h.token, text::utc(h.expires_at_ms)),
        Effect::Extended(h) => format!("until {}", text::utc(h.expires_at_ms)),
        Effect::Confirmed { booking, .. } => format!("booking #{}", booking.id),
        Effect::Released(h) => format!("freed {}", join_seats(&h.seats, ",")),
        Effect::MovieCreated(m) => format!("movie {}", m.id),
        Effect::TheaterCreated(t) => format!("theater {}", t.id),
        Effect::ShowtimeCreated(d) => format!("showtime {}", d.summary.id),
        Effect::MovieRemoved(_) | Effect::TheaterRemoved(_) | Effect::ShowtimeRemoved(_) => {
            "removed".to_string()
        }
    }
}

#[cfg(test)]
mod tests;
