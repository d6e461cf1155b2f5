//! RFC 9457 problem details (`application/problem+json`): every HTTP error the plugin returns.
//!
//! Each cause has a stable `type` path (`/problems/seat-taken`) that clients may branch on; the
//! `title` is fixed per type, the `detail` explains this occurrence, and extension members
//! (`seats`, `showtime`, `booking`, ...) carry the facts a client needs to react.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::contract::HttpResponse;
use crate::rejection::Rejection;
use crate::seat::{join_seats, SeatId};

/// Longest `detail` text; longer ones (e.g. a JSON error quoting a huge string) are cut.
const MAX_DETAIL_CHARS: usize = 300;

/// One problem response under construction.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// Stable cause, e.g. `/problems/seat-taken`.
    #[serde(rename = "type")]
    kind: String,
    /// Short, fixed summary of the cause.
    title: &'static str,
    /// HTTP status, repeated in the body as RFC 9457 suggests.
    status: u16,
    /// This occurrence explained.
    detail: String,
    /// Extension members, after the standard ones.
    #[serde(flatten)]
    extensions: Map<String, Value>,
    /// Extra response headers (e.g. `allow` on 405); not part of the body.
    #[serde(skip)]
    headers: Vec<(String, String)>,
}

impl Problem {
    /// A problem of type `/problems/{slug}`.
    pub fn new(status: u16, slug: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("/problems/{slug}"),
            title,
            status,
            detail: truncate(detail.into()),
            extensions: Map::new(),
            headers: Vec::new(),
        }
    }

    /// Adds an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_string(), value.into());
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// The problem's `type`.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// 404 for a path that names no resource.
    pub fn not_found(path: &str) -> Self {
        Problem::new(
            404,
            "not-found",
            "Not found",
            format!("no resource at {path}"),
        )
    }

    /// 405 for a known path with a method it does not support.
    pub fn method_not_allowed(method: &str, allow: &str) -> Self {
        Problem::new(
            405,
            "method-not-allowed",
            "Method not allowed",
            format!("{method} is not supported here; use {allow}"),
        )
        .with_header("allow", allow)
    }

    /// 400 for a body or parameter that is not what the endpoint expects.
    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Problem::new(400, "invalid-request", "Invalid request", detail)
    }

    /// 503 when the host could not get an answer (no quorum, timeout, plugin trap).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Problem::new(503, "unavailable", "Service unavailable", detail)
    }

    /// 500 when the plugin cannot read its own result bytes.
    pub fn internal(detail: impl Into<String>) -> Self {
        Problem::new(500, "internal", "Internal error", detail)
    }

    /// The problem for a state machine refusal.
    pub fn from_rejection(rejection: &Rejection) -> Self {
        match rejection {
            Rejection::Undecodable { bytes } => Problem::internal(format!(
                "the state machine could not decode a {bytes}-byte request; plugin versions \
                 may differ"
            )),
            Rejection::UnknownShowtime { showtime } => Problem::new(
                404,
                "unknown-showtime",
                "Unknown showtime",
                format!("there is no showtime {showtime}"),
            )
            .with("showtime", *showtime),
            Rejection::UnknownSeats {
                showtime,
                seats,
                layout,
            } => Problem::new(
                404,
                "unknown-seat",
                "Unknown seat",
                format!(
                    "{} {} {} not exist in showtime {showtime} ({})",
                    if seats.len() == 1 { "seat" } else { "seats" },
                    join_seats(seats, ", "),
                    if seats.len() == 1 { "does" } else { "do" },
                    layout.extent()
                ),
            )
            .with("showtime", *showtime)
            .with("seats", seat_list(seats)),
            Rejection::SeatsTaken { showtime, seats } => Problem::new(
                409,
                "seat-taken",
                "Seat already taken",
                format!(
                    "{} {} of showtime {showtime} {} booked",
                    if seats.len() == 1 { "seat" } else { "seats" },
                    join_seats(seats, ", "),
                    if seats.len() == 1 { "is" } else { "are" },
                ),
            )
            .with("showtime", *showtime)
            .with("seats", seat_list(seats)),
            Rejection::NoSeats => Problem::new(
                400,
                "no-seats",
                "No seats requested",
                "a booking needs at least one seat",
            ),
            Rejection::TooManySeats { count, max } => Problem::new(
                400,
                "too-many-seats",
                "Too many seats",
                format!("{count} seats requested, at most {max} per booking"),
            )
            .with("max", *max),
            Rejection::DuplicateSeats { seats } => Problem::new(
                400,
                "duplicate-seats",
                "Duplicate seats",
                format!("listed more than once: {}", join_seats(seats, ", ")),
            )
            .with("seats", seat_list(seats)),
            Rejection::InvalidUser { reason } => {
                Problem::new(400, "invalid-user", "Invalid user", reason.clone())
            }
            Rejection::UnknownBooking { booking } => Problem::new(
                404,
                "unknown-booking",
                "Unknown booking",
                format!("there is no booking {booking}"),
            )
            .with("booking", *booking),
            Rejection::NotOwner { booking } => Problem::new(
                403,
                "not-owner",
                "Not the booking's owner",
                format!("booking {booking} was made by another user"),
            )
            .with("booking", *booking),
            Rejection::ShowtimeExists { showtime } => Problem::new(
                409,
                "showtime-exists",
                "Showtime already exists",
                format!("showtime {showtime} already exists"),
            )
            .with("showtime", *showtime),
            Rejection::InvalidRows { reason } => {
                Problem::new(400, "invalid-rows", "Invalid rows", reason.clone())
            }
            Rejection::ShowtimeHasBookings { showtime, bookings } => Problem::new(
                409,
                "showtime-has-bookings",
                "Showtime has bookings",
                format!("showtime {showtime} has {bookings} live booking(s); cancel them first"),
            )
            .with("showtime", *showtime)
            .with("bookings", *bookings),
        }
    }

    /// The HTTP response: status, `content-type: application/problem+json`, extra headers.
    pub fn into_response(self) -> HttpResponse {
        // A struct of strings, numbers and a string-keyed map always serialises.
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut headers = vec![(
            "content-type".to_string(),
            "application/problem+json".to_string(),
        )];
        headers.extend(self.headers);
        HttpResponse {
            status: self.status,
            headers,
            body,
        }
    }
}

/// Seat ids as a JSON array of strings.
fn seat_list(seats: &[SeatId]) -> Value {
    Value::Array(seats.iter().map(|s| Value::String(s.to_string())).collect())
}

/// Cuts a detail text to [`MAX_DETAIL_CHARS`] characters.
fn truncate(text: String) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}
