//! The console front (`console.*` of contract 0.2.0): parses console lines into queries and
//! commands, and renders what came back.
//!
//! # Demo mode
//!
//! ```text
//! a1 a2 | a1,a2      book the seats in showtime 1 for user `demo` (prints the booking's token)
//! cancel N           cancel booking #N (as the operator)
//! map                show the seat map of showtime 1
//! best N             suggest the best N free seats side by side (books nothing)
//! ```
//!
//! # Dev mode
//!
//! See [`DEV_HELP`]: bookings, holds (`hold SHOWTIME SEATS USER [TTL]`, `extend TOKEN [TTL]`,
//! `confirm TOKEN`, `release TOKEN`), `cancel BOOKING`, paged listings, catalog admin
//! (`add-movie`, `add-theater`, `add-showtime`, `remove-*`), settings and `tick`.
//!
//! The console is trusted: whoever types into it is the node's operator (at its terminal, or
//! through the host's admin API). So `cancel` carries the operator's proof
//! ([`Actor::Operator`]) and `booking ID` reads any booking, while holds are still named by
//! their tokens. Lines that create a hold or booking mint its token from the line's entropy;
//! the printed answer shows it once (describe and every listing name holds and bookings by id).
//!
//! Keywords are case-insensitive. A line whose first word is no plugin command gets `None`, so
//! the host can say "unknown command"; a known command with bad arguments gets a usage line.
//! `render` parses the line again (same text and entropy, so the same command) to know what it
//! asked for, which keeps the host free of per-line state.

use crate::booking::Actor;
use crate::catalog::{MovieInfo, TheaterInfo};
use crate::command::{Applied, Command, Effect, Refused, DEFAULT_TTL_SECONDS};
use crate::contract::{ConsoleAction, ConsoleLine, ConsoleMode, Outcome};
use crate::machine::{decode, encode, Machine};
use crate::query::{Answer, Page, PageRequest, Query, Reader};
use crate::seat::{join_seats, row_index, Layout, SeatId, MAX_ROWS};
use crate::state::{Settings, DEMO_SHOWTIME};
use crate::text;
use crate::token::{self, Kind};

/// The user the demo console books as.
pub const DEMO_USER: &str = "demo";

/// Usage lines of the dev commands, also the help text.
pub const DEV_HELP: &[(&str, &str)] = &[
    (
        "book SHOWTIME SEAT[,SEAT...] USER",
        "book seats for USER, all or none; prints the booking's token once",
    ),
    ("cancel BOOKING", "cancel a booking (as the operator)"),
    (
        "hold SHOWTIME SEAT[,SEAT...] USER [TTL]",
        "hold seats for USER for TTL seconds (default 600); prints the hold's token once",
    ),
    (
        "extend TOKEN [TTL]",
        "make a hold expire TTL seconds from now (at most 2 h after creation)",
    ),
    (
        "confirm TOKEN",
        "turn a hold into a booking; prints the booking's token once",
    ),
    ("release TOKEN", "give a hold up, freeing its seats"),
    ("seats SHOWTIME", "show the seat map of a showtime"),
    ("activity SHOWTIME", "show a showtime's recent changes"),
    (
        "showtimes [AFTER]",
        "list showtimes with free, held and booked seats (100 per page)",
    ),
    ("movies [AFTER]", "list movies (100 per page)"),
    ("theaters [AFTER]", "list theaters (100 per page)"),
    (
        "bookings [AFTER]",
        "list bookings, cancelled ones for a day (100 per page)",
    ),
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
    (
        "best SHOWTIME N",
        "suggest the best N free seats side by side (books nothing)",
    ),
    ("settings", "show the settings"),
    (
        "limits",
        "show the seat rules, settings and hold limits in force",
    ),
    (
        "customer-limit SEATS",
        "let each customer hold or book at most SEATS seats per showtime",
    ),
    ("tick", "append a clock tick (expires holds that are due)"),
];

/// Usage lines of the demo commands, also the help text.
const DEMO_HELP: &[(&str, &str)] = &[
    (
        "a1 a2",
        "book seats (space- or comma-separated) for demo; prints the booking's token",
    ),
    ("cancel N", "cancel booking #N"),
    ("map", "show the seat map"),
    (
        "best N",
        "suggest the best N free seats side by side (books nothing)",
    ),
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
pub fn parse(line: &ConsoleLine) -> Option<ConsoleAction> {
    Some(match parse_line(line)? {
        Line::Read(query) => ConsoleAction::Read(encode(&query)),
        Line::Write(command) => ConsoleAction::Write(encode(&command)),
        Line::Tick => ConsoleAction::Write(Vec::new()),
        Line::Print(text) => ConsoleAction::Print(text),
    })
}

/// Parses a line, including the stateless command checks (turned into a printed sentence).
fn parse_line(line: &ConsoleLine) -> Option<Line> {
    let parsed = match line.mode {
        ConsoleMode::Demo => parse_demo(&line.text, &line.entropy)?,
        ConsoleMode::Dev => parse_dev(&line.text, &line.entropy)?,
    };
    Some(match parsed {
        Line::Write(command) => match command.check() {
            Ok(()) => Line::Write(command),
            Err(rejection) => Line::Print(text::rejection(&rejection, line.mode)),
        },
        other => other,
    })
}

/// The digest of a freshly minted token, or the sentence saying why none could be minted.
fn mint(kind: Kind, entropy: &[u8]) -> Result<token::Digest, String> {
    token::mint(kind, entropy)
        .map(|m| m.digest)
        .map_err(|e| format!("Cannot mint a token: {e}."))
}

/// Demo grammar: seat ids, `cancel N`, `map`.
fn parse_demo(text: &str, entropy: &[u8]) -> Option<Line> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (first, args) = words.split_first()?;
    match first.to_ascii_lowercase().as_str() {
        "cancel" => Some(match args {
            [id] => match parse_booking_id(id) {
                Some(booking) => Line::Write(Command::Cancel {
                    booking,
                    by: Actor::Operator,
                }),
                None => usage("cancel N", format!("{} is not a booking number", quote(id))),
            },
            _ => usage("cancel N", "give one booking number".to_string()),
        }),
        "best" => Some(match args {
            [n] => match parse_number::<u32>(n) {
                Some(count) => Line::Read(Query::Best {
                    showtime: DEMO_SHOWTIME,
                    count,
                }),
                None => usage("best N", format!("{} is not a number of seats", quote(n))),
            },
            _ => usage("best N", "give one number of seats".to_string()),
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
            Some(match mint(Kind::Booking, entropy) {
                Ok(token) => Line::Write(Command::Book {
                    showtime: DEMO_SHOWTIME,
                    seats,
                    user: DEMO_USER.to_string(),
                    token,
                }),
                Err(why) => Line::Print(why),
            })
        }
    }
}

/// Dev grammar: see [`DEV_HELP`].
fn parse_dev(text: &str, entropy: &[u8]) -> Option<Line> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (first, args) = words.split_first()?;
    let keyword = first.to_ascii_lowercase();
    let spec = DEV_HELP
        .iter()
        .map(|(u, _)| *u)
        .find(|u| u.split(' ').next() == Some(keyword.as_str()))?;
    Some(match parse_dev_args(&keyword, args, entropy) {
        Ok(line) => line,
        Err(reason) => usage(spec, reason),
    })
}

/// The first page of a list, or the page after `AFTER`.
fn page_after(after: Option<&&str>) -> Result<PageRequest, String> {
    Ok(PageRequest {
        after: after
            .map(|w| parse_number::<u64>(w).ok_or_else(|| format!("{} is not an id", quote(w))))
            .transpose()?,
        ..PageRequest::default()
    })
}

/// The arguments of a dev command; `Err` is the reason for the usage line.
fn parse_dev_args(keyword: &str, args: &[&str], entropy: &[u8]) -> Result<Line, String> {
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
    let hold = |w: &str| {
        token::parse(Kind::Hold, w)
            .ok_or_else(|| format!("{} is not a hold token (h_ and 32 characters)", quote(w)))
    };
    let minted = |kind| mint(kind, entropy);
    Ok(match (keyword, args) {
        ("book", [s, seats, u]) => {
            let (showtime, seats) = (showtime(s)?, parse_seat_list(seats)?);
            match minted(Kind::Booking) {
                Ok(token) => Line::Write(Command::Book {
                    showtime,
                    seats,
                    user: user(u),
                    token,
                }),
                Err(why) => Line::Print(why),
            }
        }
        ("hold", [s, seats, u, rest @ ..]) if rest.len() <= 1 => {
            let (showtime, seats) = (showtime(s)?, parse_seat_list(seats)?);
            let ttl_seconds = ttl(rest.first())?;
            match minted(Kind::Hold) {
                Ok(token) => Line::Write(Command::Hold {
                    showtime,
                    seats,
                    user: user(u),
                    ttl_seconds,
                    token,
                }),
                Err(why) => Line::Print(why),
            }
        }
        ("extend", [t, rest @ ..]) if rest.len() <= 1 => Line::Write(Command::Extend {
            hold: hold(t)?,
            ttl_seconds: ttl(rest.first())?,
        }),
        ("confirm", [t]) => {
            let hold = hold(t)?;
            match minted(Kind::Booking) {
                Ok(token) => Line::Write(Command::Confirm { hold, token }),
                Err(why) => Line::Print(why),
            }
        }
        ("release", [t]) => Line::Write(Command::Release { hold: hold(t)? }),
        ("cancel", [b]) => Line::Write(Command::Cancel {
            booking: booking(b)?,
            by: Actor::Operator,
        }),
        ("seats", [s]) => Line::Read(Query::Showtime {
            showtime: showtime(s)?,
        }),
        ("best", [s, n]) => Line::Read(Query::Best {
            showtime: showtime(s)?,
            count: number(n, "a number of seats")?,
        }),
        ("limits", []) => Line::Read(Query::Limits),
        ("activity", [s]) => Line::Read(Query::Activity {
            showtime: showtime(s)?,
        }),
        ("showtimes", rest) if rest.len() <= 1 => Line::Read(Query::Showtimes {
            movie: None,
            theater: None,
            page: page_after(rest.first())?,
        }),
        ("movies", rest) if rest.len() <= 1 => Line::Read(Query::Movies {
            page: page_after(rest.first())?,
        }),
        ("theaters", rest) if rest.len() <= 1 => Line::Read(Query::Theaters {
            page: page_after(rest.first())?,
        }),
        ("bookings", rest) if rest.len() <= 1 => Line::Read(Query::Bookings {
            user: None,
            showtime: None,
            page: page_after(rest.first())?,
        }),
        ("booking", [b]) => Line::Read(Query::Booking {
            booking: booking(b)?,
            reader: Reader::Staff,
        }),
        ("show-hold", [t]) => Line::Read(Query::Hold { token: hold(t)? }),
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
        ("settings", []) => Line::Read(Query::Settings),
        ("customer-limit", [seats]) => Line::Write(Command::UpdateSettings {
            settings: Settings {
                max_seats_per_customer: number(seats, "a number of seats")?,
            },
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
pub fn render(machine: &Machine, line: &ConsoleLine, outcome: Outcome) -> String {
    match parse_line(line) {
        Some(Line::Write(command)) => render_write(&command, line, outcome),
        Some(Line::Tick) => match outcome {
            Outcome::Unavailable(reason) => format!("Could not tick: {reason}"),
            other => render_written(other, line, None),
        },
        Some(Line::Read(query)) => render_read(machine, &query, line.mode, outcome),
        Some(Line::Print(text)) => text,
        None => "This line is not a plugin command.".to_string(),
    }
}

/// Text for a command's outcome.
fn render_write(command: &Command, line: &ConsoleLine, outcome: Outcome) -> String {
    if let Outcome::Unavailable(reason) = &outcome {
        return format!("Could not {}: {reason}", command_action(command, line.mode));
    }
    render_written(outcome, line, Some(command))
}

/// Text for a written (or misrouted) outcome: the effect with the token this line minted, or
/// the refusal.
fn render_written(outcome: Outcome, line: &ConsoleLine, command: Option<&Command>) -> String {
    match outcome {
        Outcome::Unavailable(reason) => format!("Could not do that: {reason}"),
        Outcome::Read(_) => "The host answered a write with a read.".to_string(),
        Outcome::Written(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => {
                let token = command.and_then(|_| minted_token(&applied.effect, &line.entropy));
                text::applied(&applied, line.mode, token.as_deref())
            }
            Err(_) => undecodable("result", bytes.len()),
        },
        Outcome::Written(Err(bytes)) => match decode::<Refused>(&bytes) {
            Ok(refused) => {
                let mut lines = vec![text::rejection(&refused.rejection, line.mode)];
                lines.extend(refused.expired.iter().map(text::expired));
                lines.join("\n")
            }
            Err(_) => undecodable("refusal", bytes.len()),
        },
    }
}

/// The token this line's entropy mints for what the effect created, if the state machine
/// recorded exactly that token.
fn minted_token(effect: &Effect, entropy: &[u8]) -> Option<String> {
    let (kind, recorded) = match effect {
        Effect::Held(hold) => (Kind::Hold, &hold.token),
        Effect::Booked(booking) | Effect::Confirmed { booking, .. } => {
            (Kind::Booking, &booking.token)
        }
        _ => return None,
    };
    token::mint(kind, entropy)
        .ok()
        .filter(|m| m.digest.matches(recorded))
        .map(|m| m.text)
}

/// Text for a query's outcome: the query answered from this instance's state.
fn render_read(machine: &Machine, query: &Query, mode: ConsoleMode, outcome: Outcome) -> String {
    match outcome {
        Outcome::Unavailable(reason) => {
            format!("Could not {}: {}", query_action(query), reason)
        }
        Outcome::Read(bytes) => match machine.answer(&bytes) {
            Ok(answer) => render_answer(&answer),
            Err(rejection) => text::rejection(&rejection, mode),
        },
        Outcome::Written(_) => "The host answered a read with a write.".to_string(),
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
        Answer::Showtimes(page) => paged(page, "showtimes", text::showtimes),
        Answer::Movies(page) => paged(page, "movies", text::movies),
        Answer::Movie(movie) => text::movies(&[crate::query::MovieSummary::of(movie)]),
        Answer::Theaters(page) => paged(page, "theaters", text::theaters),
        Answer::Theater(theater) => text::theaters(std::slice::from_ref(theater)),
        Answer::Activity { showtime, changes } => text::activity(*showtime, changes),
        Answer::Hold(hold) => text::hold_line(hold),
        Answer::Booking(booking) => text::booking_line(booking),
        Answer::Bookings(page) => paged(page, "bookings", text::bookings),
        Answer::Settings(settings) => text::settings(settings),
        Answer::Limits { rules, settings } => text::limits(rules, settings),
        Answer::Best { showtime, seats } => format!(
            "Best {} side by side in showtime {showtime}: {} (nothing is booked).",
            text::seat_count(seats.len()),
            join_seats(seats, ", ")
        ),
    }
}

/// A page's lines, then how to see the next page if there is one.
fn paged<T>(page: &Page<T>, command: &str, lines: fn(&[T]) -> String) -> String {
    let mut out = lines(&page.items);
    if let Some(next) = page.next {
        out.push_str(&format!("\nMore: {command} {next}"));
    }
    out
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
        (Command::Extend { .. }, _) => "extend the hold".to_string(),
        (Command::Confirm { .. }, _) => "confirm the hold".to_string(),
        (Command::Release { .. }, _) => "release the hold".to_string(),
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
        (Command::UpdateSettings { .. }, _) => "change the settings".to_string(),
    }
}

/// What a query was trying to do, for "Could not ...": `show the seat map of showtime 1`.
fn query_action(query: &Query) -> String {
    match query {
        Query::Movies { .. } => "list movies".to_string(),
        Query::Movie { movie } => format!("show movie {movie}"),
        Query::Theaters { .. } => "list theaters".to_string(),
        Query::Theater { theater } => format!("show theater {theater}"),
        Query::Showtimes { .. } => "list showtimes".to_string(),
        Query::Showtime { showtime } | Query::Seats { showtime, .. } => {
            format!("show the seat map of showtime {showtime}")
        }
        Query::Activity { showtime } => format!("show the activity of showtime {showtime}"),
        Query::Hold { .. } => "show the hold".to_string(),
        Query::Booking { booking, .. } => format!("show booking #{booking}"),
        Query::Bookings { .. } => "list bookings".to_string(),
        Query::Settings => "show the settings".to_string(),
        Query::Limits => "show the limits".to_string(),
        Query::Best { showtime, .. } => format!("suggest seats in showtime {showtime}"),
    }
}

/// Help lines for the mode's plugin commands, one per line.
pub fn help(mode: ConsoleMode) -> String {
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

/// Renders the overview: `outcome.read` carries the overview query, answered here.
pub fn render_overview(machine: &Machine, mode: ConsoleMode, outcome: Outcome) -> String {
    match outcome {
        Outcome::Unavailable(reason) => format!("Seat map unavailable: {reason}"),
        Outcome::Read(bytes) => match machine.answer(&bytes) {
            Ok(answer) => render_answer(&answer),
            Err(rejection) => text::rejection(&rejection, mode),
        },
        Outcome::Written(_) => "The overview is a read, not a write.".to_string(),
    }
}

#[cfg(test)]
mod tests;
