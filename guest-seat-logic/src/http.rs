//! The JSON HTTP API: `front.route` (request to query/command) and `front.render` (outcome to
//! response).
//!
//! # Routes
//!
//! ```text
//! GET    /api/showtimes                  list showtimes                    read
//! POST   /api/showtimes                  create a showtime (admin)         write
//! GET    /api/showtimes/{id}             one showtime with its seat map    read
//! DELETE /api/showtimes/{id}             remove a showtime (admin)         write
//! GET    /api/showtimes/{id}/seats       seat map, ?state=free|booked      read
//! POST   /api/showtimes/{id}/bookings    book seats                        write
//! GET    /api/bookings                   all live bookings                 read
//! GET    /api/bookings/{id}              one booking                       read
//! DELETE /api/bookings/{id}              cancel a booking (owner only)     write
//! ```
//!
//! An `{id}` that is not a plain decimal number names no resource: 404 `/problems/not-found`.
//! Every GET is a read and every other method a write, which is how `render` knows whether the
//! `ok` bytes are an [`Answer`] or an [`Applied`]. Every error is a [`Problem`]; nothing here
//! panics on any request.

use serde::{Deserialize, Serialize};

use crate::command::{Applied, Command, MAX_SEATS_PER_BOOKING};
use crate::contract::{HttpRequest, HttpResponse, Outcome, RouteAction};
use crate::machine::{decode, encode};
use crate::problem::Problem;
use crate::query::{Answer, Query, SeatMap, SeatState, SeatView, ShowtimeSummary};
use crate::rejection::Rejection;
use crate::seat::{parse_row, row_letter, Layout, SeatId, MAX_ROWS};
use crate::state::Booking;

/// A path the API knows, with its ids parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resource {
    /// `/api/showtimes`
    Showtimes,
    /// `/api/showtimes/{id}`
    Showtime(u32),
    /// `/api/showtimes/{id}/seats`
    Seats(u32),
    /// `/api/showtimes/{id}/bookings`
    ShowtimeBookings(u32),
    /// `/api/bookings`
    Bookings,
    /// `/api/bookings/{id}`
    Booking(u64),
}

impl Resource {
    /// Parses a request path; `None` when it names nothing.
    fn resolve(path: &str) -> Option<Resource> {
        let rest = path.strip_prefix("/api/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        match segments.as_slice() {
            ["showtimes"] => Some(Resource::Showtimes),
            ["showtimes", id] => parse_id(id).map(Resource::Showtime),
            ["showtimes", id, "seats"] => parse_id(id).map(Resource::Seats),
            ["showtimes", id, "bookings"] => parse_id(id).map(Resource::ShowtimeBookings),
            ["bookings"] => Some(Resource::Bookings),
            ["bookings", id] => parse_id(id).map(Resource::Booking),
            _ => None,
        }
    }

    /// The methods this resource supports, for the `allow` header.
    fn allow(self) -> &'static str {
        match self {
            Resource::Showtimes => "GET, POST",
            Resource::Showtime(_) | Resource::Booking(_) => "GET, DELETE",
            Resource::Seats(_) | Resource::Bookings => "GET",
            Resource::ShowtimeBookings(_) => "POST",
        }
    }
}

/// Parses a path id: ASCII digits only (no sign, no spaces), within the type's range.
fn parse_id<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Body of `POST /api/showtimes/{id}/bookings`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookBody {
    /// Seat ids such as `"a1"`.
    seats: Vec<String>,
    /// Who books.
    user: String,
}

/// Body of `DELETE /api/bookings/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelBody {
    /// Who cancels; must own the booking.
    user: String,
}

/// Body of `POST /api/showtimes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateShowtimeBody {
    /// New showtime id.
    id: u32,
    /// Rows in order `a`, `b`, ...
    rows: Vec<RowBody>,
}

/// One row of a [`CreateShowtimeBody`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowBody {
    /// Row letter.
    row: String,
    /// Seats in the row.
    seats: u32,
}

/// Decides what an HTTP request needs: a read, a write, or an immediate response.
pub fn route(request: &HttpRequest) -> RouteAction {
    match plan(request) {
        Ok(Plan::Read(query)) => RouteAction::Read(encode(&query)),
        Ok(Plan::Write(command)) => RouteAction::Write(encode(&command)),
        Err(problem) => RouteAction::Respond(problem.into_response()),
    }
}

/// What a request turned into, before encoding.
#[derive(Debug)]
enum Plan {
    /// Run this query.
    Read(Query),
    /// Replicate this command.
    Write(Command),
}

/// Parses a request into a query or a command that already passed the stateless checks.
fn plan(request: &HttpRequest) -> Result<Plan, Problem> {
    let resource = Resource::resolve(&request.path)
        .ok_or_else(|| Problem::not_found(&truncate_for_echo(&request.path, 200)))?;
    let method = request.method.as_str();
    let plan = match (resource, method) {
        (Resource::Showtimes, "GET") => Plan::Read(Query::Showtimes),
        (Resource::Showtimes, "POST") => {
            let body: CreateShowtimeBody = parse_body(&request.body)?;
            Plan::Write(Command::CreateShowtime {
                showtime: body.id,
                layout: layout_from_rows(&body.rows)?,
            })
        }
        (Resource::Showtime(showtime), "GET") => Plan::Read(Query::Showtime { showtime }),
        (Resource::Showtime(showtime), "DELETE") => {
            Plan::Write(Command::RemoveShowtime { showtime })
        }
        (Resource::Seats(showtime), "GET") => Plan::Read(Query::Seats {
            showtime,
            filter: seat_filter(&request.query)?,
        }),
        (Resource::ShowtimeBookings(showtime), "POST") => {
            let body: BookBody = parse_body(&request.body)?;
            Plan::Write(Command::Book {
                showtime,
                seats: parse_seats(&body.seats)?,
                user: body.user,
            })
        }
        (Resource::Bookings, "GET") => Plan::Read(Query::Bookings),
        (Resource::Booking(booking), "GET") => Plan::Read(Query::Booking { booking }),
        (Resource::Booking(booking), "DELETE") => {
            let body: CancelBody = parse_body(&request.body)?;
            Plan::Write(Command::Cancel {
                booking,
                user: body.user,
            })
        }
        (resource, method) => {
            return Err(Problem::method_not_allowed(
                &truncate_for_echo(method, 20),
                resource.allow(),
            ))
        }
    };
    if let Plan::Write(command) = &plan {
        command.check().map_err(|r| Problem::from_rejection(&r))?;
    }
    Ok(plan)
}

/// Decodes a JSON body strictly (unknown fields refused).
fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| Problem::invalid_request(format!("invalid JSON body: {e}")))
}

/// Parses seat id strings, after the count limits (so a huge list is refused before parsing).
fn parse_seats(texts: &[String]) -> Result<Vec<SeatId>, Problem> {
    if texts.is_empty() {
        return Err(Problem::from_rejection(&Rejection::NoSeats));
    }
    if texts.len() > MAX_SEATS_PER_BOOKING {
        return Err(Problem::from_rejection(&Rejection::TooManySeats {
            count: u32::try_from(texts.len()).unwrap_or(u32::MAX),
            max: MAX_SEATS_PER_BOOKING as u32,
        }));
    }
    let mut seats = Vec::with_capacity(texts.len());
    let mut malformed = Vec::new();
    for text in texts {
        match SeatId::parse(text) {
            Some(seat) => seats.push(seat),
            None => malformed.push(truncate_for_echo(text, 20)),
        }
    }
    if malformed.is_empty() {
        Ok(seats)
    } else {
        Err(Problem::new(
            400,
            "invalid-seat",
            "Invalid seat id",
            format!(
                "not seat ids (a row letter and a number, like a1): {}",
                malformed.join(", ")
            ),
        )
        .with("seats", malformed))
    }
}

/// Turns `[{"row":"a","seats":20}, ...]` into a layout; rows must be `a`, `b`, ... in order.
fn layout_from_rows(rows: &[RowBody]) -> Result<Layout, Problem> {
    let invalid = |reason: String| Problem::from_rejection(&Rejection::InvalidRows { reason });
    if rows.len() > MAX_ROWS {
        return Err(invalid(format!(
            "{} rows given, at most {MAX_ROWS} (a to z)",
            rows.len()
        )));
    }
    let mut layout = Layout { rows: Vec::new() };
    for (index, row) in rows.iter().enumerate() {
        if parse_row(&row.row) != u8::try_from(index).ok() {
            return Err(invalid(format!(
                "row {} is {:?}, expected {:?}: rows are consecutive letters from a",
                index + 1,
                truncate_for_echo(&row.row, 10),
                row_letter(index).to_string()
            )));
        }
        // Over-large counts become u16::MAX, which the layout check then refuses by name.
        layout
            .rows
            .push(u16::try_from(row.seats).unwrap_or(u16::MAX));
    }
    Ok(layout)
}

/// Reads `state=free|booked` from a query string; other parameters are ignored.
fn seat_filter(query: &str) -> Result<Option<SeatState>, Problem> {
    let mut filter = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "state" {
            filter = Some(SeatState::parse(value).ok_or_else(|| {
                Problem::new(
                    400,
                    "invalid-query",
                    "Invalid query parameter",
                    format!(
                        "state must be free or booked, got {:?}",
                        truncate_for_echo(value, 20)
                    ),
                )
            })?);
        }
    }
    Ok(filter)
}

/// Cuts client text that is echoed back in an error.
fn truncate_for_echo(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Turns the outcome of a routed read or write into the response.
pub fn render(request: &HttpRequest, outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Unavailable(text) => Problem::unavailable(text).into_response(),
        Outcome::Finished(Err(bytes)) => match decode::<Rejection>(&bytes) {
            Ok(rejection) => Problem::from_rejection(&rejection).into_response(),
            Err(_) => Problem::internal(format!(
                "the state machine's refusal could not be decoded ({} bytes)",
                bytes.len()
            ))
            .into_response(),
        },
        Outcome::Finished(Ok(bytes)) if request.method == "GET" => match decode::<Answer>(&bytes) {
            Ok(answer) => render_answer(&answer),
            Err(_) => undecodable_result(bytes.len()),
        },
        Outcome::Finished(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => render_applied(&applied),
            Err(_) => undecodable_result(bytes.len()),
        },
    }
}

/// 500 for `ok` bytes that are not what the route expects.
fn undecodable_result(len: usize) -> HttpResponse {
    Problem::internal(format!(
        "the state machine's answer could not be decoded ({len} bytes)"
    ))
    .into_response()
}

/// 200 with the JSON of a query answer.
fn render_answer(answer: &Answer) -> HttpResponse {
    match answer {
        Answer::Showtimes(list) => json(
            200,
            &ShowtimesJson {
                showtimes: list.iter().map(ShowtimeJson::from).collect(),
            },
        ),
        Answer::Showtime(map) => json(
            200,
            &ShowtimeDetailJson {
                showtime: ShowtimeJson::from(&map.summary),
                seats: map.seats.iter().map(SeatJson::from).collect(),
            },
        ),
        Answer::Seats(map) => json(200, &SeatsJson::from(map)),
        Answer::Booking(booking) => json(200, &BookingJson::new(booking, "active")),
        Answer::Bookings(list) => json(
            200,
            &BookingsJson {
                bookings: list.iter().map(|b| BookingJson::new(b, "active")).collect(),
            },
        ),
    }
}

/// 201/200 with the JSON of what a command did.
fn render_applied(applied: &Applied) -> HttpResponse {
    match applied {
        Applied::Booked(booking) => with_location(
            json(201, &BookingJson::new(booking, "active")),
            format!("/api/bookings/{}", booking.id),
        ),
        Applied::Cancelled(booking) => json(200, &BookingJson::new(booking, "cancelled")),
        Applied::ShowtimeCreated(summary) => with_location(
            json(201, &ShowtimeJson::from(summary)),
            format!("/api/showtimes/{}", summary.id),
        ),
        Applied::ShowtimeRemoved(summary) => json(200, &ShowtimeJson::from(summary)),
    }
}

/// A JSON response.
fn json<T: Serialize>(status: u16, value: &T) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".to_string(), "application/json".to_string())],
        // Views are structs of strings, numbers and lists: serialising them cannot fail.
        body: serde_json::to_vec(value).unwrap_or_default(),
    }
}

/// Adds a `location` header.
fn with_location(mut response: HttpResponse, location: String) -> HttpResponse {
    response.headers.push(("location".to_string(), location));
    response
}

/// `{"showtimes":[...]}`
#[derive(Serialize)]
struct ShowtimesJson {
    showtimes: Vec<ShowtimeJson>,
}

/// `{"id":1,"rows":[{"row":"a","seats":6}],"capacity":24,"free":23,"booked":1,"bookings":1}`
#[derive(Serialize)]
struct ShowtimeJson {
    id: u32,
    rows: Vec<RowJson>,
    capacity: u32,
    free: u32,
    booked: u32,
    bookings: u32,
}

impl From<&ShowtimeSummary> for ShowtimeJson {
    fn from(summary: &ShowtimeSummary) -> Self {
        ShowtimeJson {
            id: summary.id,
            rows: summary
                .layout
                .rows
                .iter()
                .enumerate()
                .map(|(index, &seats)| RowJson {
                    row: row_letter(index).to_string(),
                    seats,
                })
                .collect(),
            capacity: summary.layout.capacity(),
            free: summary.free,
            booked: summary.booked,
            bookings: summary.bookings,
        }
    }
}

/// `{"row":"a","seats":6}`
#[derive(Serialize)]
struct RowJson {
    row: String,
    seats: u16,
}

/// A showtime summary plus `"seats":[...]`.
#[derive(Serialize)]
struct ShowtimeDetailJson {
    #[serde(flatten)]
    showtime: ShowtimeJson,
    seats: Vec<SeatJson>,
}

/// `{"id":"a2","row":"a","number":2,"state":"booked","booking":3}` (no `booking` when free).
#[derive(Serialize)]
struct SeatJson {
    id: String,
    row: String,
    number: u16,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking: Option<u64>,
}

impl From<&SeatView> for SeatJson {
    fn from(view: &SeatView) -> Self {
        SeatJson {
            id: view.seat.to_string(),
            row: view.seat.row_letter().to_string(),
            number: view.seat.number,
            state: view.state().name(),
            booking: view.booking,
        }
    }
}

/// `{"showtime":1,"rows":["a",...],"seats":[...],"free":23,"booked":1}`
#[derive(Serialize)]
struct SeatsJson {
    showtime: u32,
    rows: Vec<String>,
    seats: Vec<SeatJson>,
    free: u32,
    booked: u32,
}

impl From<&SeatMap> for SeatsJson {
    fn from(map: &SeatMap) -> Self {
        SeatsJson {
            showtime: map.summary.id,
            rows: map.summary.layout.row_letters(),
            seats: map.seats.iter().map(SeatJson::from).collect(),
            free: map.summary.free,
            booked: map.summary.booked,
        }
    }
}

/// `{"bookings":[...]}`
#[derive(Serialize)]
struct BookingsJson {
    bookings: Vec<BookingJson>,
}

/// `{"id":3,"showtime":1,"seats":["a1"],"user":"alice","state":"active","created_at_ms":..,
/// "log_index":..}`
#[derive(Serialize)]
struct BookingJson {
    id: u64,
    showtime: u32,
    seats: Vec<String>,
    user: String,
    state: &'static str,
    created_at_ms: u64,
    log_index: u64,
}

impl BookingJson {
    /// The view of a booking, `active` or `cancelled`.
    fn new(booking: &Booking, state: &'static str) -> Self {
        BookingJson {
            id: booking.id,
            showtime: booking.showtime,
            seats: booking.seats.iter().map(SeatId::to_string).collect(),
            user: booking.user.clone(),
            state,
            created_at_ms: booking.created_at_ms,
            log_index: booking.log_index,
        }
    }
}

#[cfg(test)]
mod tests;
