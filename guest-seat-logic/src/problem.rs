//! RFC 9457 problem details (`application/problem+json`): every HTTP error the plugin returns.
//!
//! Each cause has a stable `type` path (`/problems/seat-taken`) that clients may branch on; the
//! `title` is fixed per type, the `detail` explains this occurrence, and extension members
//! (`seats`, `showtime`, `booking`, ...) carry the facts a client needs to react.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::contract::HttpResponse;
use crate::rejection::{plural, Kind, Rejection};
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

    /// The problem's `detail`.
    pub fn detail(&self) -> &str {
        &self.detail
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
            Rejection::Invalid { field, reason } => {
                Problem::invalid_request(format!("field `{field}`: {reason}"))
                    .with("field", field.as_str())
            }
            Rejection::NoSeats => {
                Problem::invalid_request("field `seats` must name at least one seat")
                    .with("field", "seats")
            }
            Rejection::TooManySeats { count, max } => Problem::invalid_request(format!(
                "field `seats` names {count} seats, at most {max} per request"
            ))
            .with("field", "seats")
            .with("max", *max),
            Rejection::DuplicateSeats { seats } => Problem::invalid_request(format!(
                "field `seats` lists more than once: {}",
                join_seats(seats, ", ")
            ))
            .with("field", "seats")
            .with("seats", seat_list(seats)),
            Rejection::UnknownShowtime { showtime } => Problem::new(
                404,
                "unknown-showtime",
                "Unknown showtime",
                format!("there is no showtime {showtime}"),
            )
            .with("showtime", *showtime),
            Rejection::UnknownMovie { movie } => Problem::new(
                404,
                "unknown-movie",
                "Unknown movie",
                format!("there is no movie {movie}"),
            )
            .with("movie", *movie),
            Rejection::UnknownTheater { theater } => Problem::new(
                404,
                "unknown-theater",
                "Unknown theater",
                format!("there is no theater {theater}"),
            )
            .with("theater", *theater),
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
                    plural(seats.len(), "seat", "seats"),
                    join_seats(seats, ", "),
                    plural(seats.len(), "does", "do"),
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
                    "{} {} of showtime {showtime} {} already held or booked",
                    plural(seats.len(), "seat", "seats"),
                    join_seats(seats, ", "),
                    plural(seats.len(), "is", "are"),
                ),
            )
            .with("showtime", *showtime)
            .with("seats", seat_list(seats)),
            Rejection::UnknownBooking { booking } => Problem::new(
                404,
                "unknown-booking",
                "Unknown booking",
                format!("there is no booking {booking}, or the token given is not its token"),
            )
            .with("booking", *booking),
            Rejection::BookingCancelled { booking } => Problem::new(
                409,
                "booking-cancelled",
                "Booking already cancelled",
                format!("booking {booking} is already cancelled"),
            )
            .with("booking", *booking),
            Rejection::UnknownHold => Problem::new(
                404,
                "unknown-hold",
                "Unknown hold",
                "there is no hold for this token (it never existed, or finished more than a day \
                 ago)",
            ),
            Rejection::HoldExpired { hold } => Problem::new(
                410,
                "hold-expired",
                "Hold expired",
                format!("hold {hold} expired and its seats were freed"),
            )
            .with("hold", *hold),
            Rejection::HoldFinished { hold, status } => Problem::new(
                409,
                "hold-finished",
                "Hold finished",
                format!("hold {hold} is already {}", status.name()),
            )
            .with("hold", *hold)
            .with("status", status.name()),
            Rejection::AlreadyExists { kind, id } => Problem::new(
                409,
                "already-exists",
                "Already exists",
                format!("{} {id} already exists", kind.name()),
            )
            .with(kind.name(), *id),
            Rejection::InUse {
                kind,
                id,
                showtimes,
                showtime_count,
                bookings,
                holds,
            } => {
                let detail = match kind {
                    Kind::Showtime => format!(
                        "showtime {id} has {bookings} confirmed {} and {holds} active {}",
                        plural(*bookings as usize, "booking", "bookings"),
                        plural(*holds as usize, "hold", "holds")
                    ),
                    _ => format!(
                        "{} {id} is used by {showtime_count} {}: {}{}",
                        kind.name(),
                        plural(*showtime_count as usize, "showtime", "showtimes"),
                        showtimes
                            .iter()
                            .map(u32::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        if showtimes.len() < *showtime_count as usize {
                            ", ..."
                        } else {
                            ""
                        }
                    ),
                };
                let problem = Problem::new(409, "in-use", "In use", detail).with(kind.name(), *id);
                match kind {
                    Kind::Showtime => problem.with("bookings", *bookings).with("holds", *holds),
                    _ => problem
                        .with("showtimes", showtimes.clone())
                        .with("showtime_count", *showtime_count),
                }
            }
            Rejection::TooManySeatsForRules { count, max } => Problem::new(
                422,
                "too-many-seats",
                "Too many seats for the rules",
                format!("{count} seats requested; the seat rules allow at most {max} per request"),
            )
            .with("field", "seats")
            .with("count", *count)
            .with("max", *max),
            Rejection::StrandedSeat { showtime, seats } => Problem::new(
                409,
                "stranded-seat",
                "Seat would be stranded",
                format!(
                    "taking these seats would leave {} {} of showtime {showtime} free between \
                     taken seats; include {} or choose other seats",
                    plural(seats.len(), "seat", "seats"),
                    join_seats(seats, ", "),
                    plural(seats.len(), "it", "them"),
                ),
            )
            .with("showtime", *showtime)
            .with("seats", seat_list(seats)),
            Rejection::CustomerLimit {
                showtime,
                user,
                limit,
                taken,
                requested,
            } => Problem::new(
                409,
                "customer-limit",
                "Customer limit reached",
                format!(
                    "one customer may hold or book at most {limit} seats of showtime {showtime}; \
                     {user:?} has {taken} and asked for {requested} more"
                ),
            )
            .with("showtime", *showtime)
            .with("user", user.as_str())
            .with("limit", *limit)
            .with("taken", *taken)
            .with("requested", *requested),
            Rejection::CatalogFull { kind, limit } => Problem::new(
                409,
                "catalog-full",
                "Catalog full",
                format!(
                    "the catalog holds the most {} it may ({limit}); remove one first",
                    plural_kind(*kind)
                ),
            )
            .with("kind", kind.name())
            .with("limit", *limit),
            Rejection::IdsExhausted { kind, max } => Problem::new(
                409,
                "ids-exhausted",
                "Ids exhausted",
                format!(
                    "the next {} id would be past {max}, the highest id; choose a free id in the \
                     body instead",
                    kind.name()
                ),
            )
            .with("kind", kind.name())
            .with("max", *max),
            Rejection::TokenCollision => Problem::new(
                503,
                "token-collision",
                "Token collision",
                "the token minted for this request is already in use (the host's entropy may not \
                 be fresh); retry the request with a new Idempotency-Key",
            ),
            Rejection::BlockTooLarge { count, max } => Problem::invalid_request(format!(
                "query parameter `count` must be 1 to {max} (the seats one request may take \
                 under the rules in force), got {count}"
            ))
            .with("parameter", "count")
            .with("max", *max),
            Rejection::NoSeatBlock { showtime, count } => Problem::new(
                409,
                "no-seat-block",
                "No block of free seats",
                format!(
                    "no row of showtime {showtime} has {count} free seats side by side that \
                     leave no single free seat alone"
                ),
            )
            .with("showtime", *showtime)
            .with("count", *count),
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

/// `movies`, `theaters`, `showtimes`.
fn plural_kind(kind: Kind) -> &'static str {
    match kind {
        Kind::Movie => "movies",
        Kind::Theater => "theaters",
        Kind::Showtime => "showtimes",
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
