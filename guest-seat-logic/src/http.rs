//! The JSON HTTP API: `front.route` (request to query, command, watch or response) and
//! `front.render` (outcome to response). The reference is `docs/http-api.md`; the machine-readable
//! form is `GET /api/openapi.json` ([`crate::openapi`]), which a test keeps equal to [`ROUTES`].
//!
//! # Routes
//!
//! ```text
//! GET    /                               the web page (also /app.js, /app.css)
//! GET    /api/openapi.json               the OpenAPI document
//! GET    /api/movies                     POST: create (admin)
//! GET    /api/movies/{id}                DELETE: remove (admin)
//! GET    /api/theaters                   POST: create (admin)
//! GET    /api/theaters/{id}              DELETE: remove (admin)
//! GET    /api/showtimes                  ?movie=ID&theater=ID; POST: create (admin)
//! GET    /api/showtimes/{id}             DELETE: remove (admin)
//! GET    /api/showtimes/{id}/seats       ?state=free|held|booked
//! GET    /api/showtimes/{id}/activity    the last 100 changes
//! GET    /api/showtimes/{id}/events      Server-Sent Events (a watch)
//! POST   /api/showtimes/{id}/holds       hold seats
//! POST   /api/showtimes/{id}/bookings    book seats directly
//! GET    /api/holds/{token}              DELETE: release
//! POST   /api/holds/{token}/extend
//! POST   /api/holds/{token}/confirm
//! GET    /api/bookings                   ?user=NAME&showtime=ID
//! GET    /api/bookings/{id}              DELETE: cancel
//! ```
//!
//! An `{id}` that is not a plain decimal number names no resource: 404 `/problems/not-found`.
//! Every GET is a read (or a watch, or a fixed response) and every other method a write, which is
//! how `render` knows whether the bytes are an [`Answer`] or an [`Applied`]/[`Refused`]. Every
//! error is a [`Problem`]; nothing here panics on any request.

mod body;
mod json;

use serde::Serialize;

use crate::catalog::{MovieInfo, TheaterInfo};
use crate::command::{
    Applied, Command, Effect, Refused, DEFAULT_TTL_SECONDS, MAX_SEATS_PER_REQUEST,
};
use crate::contract::{HttpRequest, HttpResponse, Outcome, RouteAction, WatchRequest};
use crate::machine::{decode, encode};
use crate::problem::Problem;
use crate::query::{Answer, Query, SeatState};
use crate::rejection::Rejection;
use crate::seat::{parse_row, row_letter, Layout, SeatId, MAX_ROWS};
use crate::topics::showtime_topic;
use crate::{openapi, web};

pub use body::MAX_BODY_BYTES;
use body::{
    parse_body, query_pairs, BookBody, ExtendBody, HoldBody, MovieBody, RowBody, ShowtimeBody,
    TheaterBody, UserBody,
};
use json::{
    BookingJson, ChangeJson, HoldJson, MovieJson, SeatJson, ShowtimeJson, ShowtimeSummaryJson,
    TheaterJson,
};

/// One route: a path template (`{id}` a decimal id, `{token}` a hold token) and its methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Path template.
    pub path: &'static str,
    /// Supported methods.
    pub methods: &'static [&'static str],
}

/// Every route the plugin serves: the one table `route` dispatches on, `allow` headers come
/// from, and the OpenAPI document is tested against.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        methods: &["GET"],
    },
    Route {
        path: "/app.js",
        methods: &["GET"],
    },
    Route {
        path: "/app.css",
        methods: &["GET"],
    },
    Route {
        path: "/api/openapi.json",
        methods: &["GET"],
    },
    Route {
        path: "/api/movies",
        methods: &["GET", "POST"],
    },
    Route {
        path: "/api/movies/{id}",
        methods: &["GET", "DELETE"],
    },
    Route {
        path: "/api/theaters",
        methods: &["GET", "POST"],
    },
    Route {
        path: "/api/theaters/{id}",
        methods: &["GET", "DELETE"],
    },
    Route {
        path: "/api/showtimes",
        methods: &["GET", "POST"],
    },
    Route {
        path: "/api/showtimes/{id}",
        methods: &["GET", "DELETE"],
    },
    Route {
        path: "/api/showtimes/{id}/seats",
        methods: &["GET"],
    },
    Route {
        path: "/api/showtimes/{id}/activity",
        methods: &["GET"],
    },
    Route {
        path: "/api/showtimes/{id}/events",
        methods: &["GET"],
    },
    Route {
        path: "/api/showtimes/{id}/holds",
        methods: &["POST"],
    },
    Route {
        path: "/api/showtimes/{id}/bookings",
        methods: &["POST"],
    },
    Route {
        path: "/api/holds/{token}",
        methods: &["GET", "DELETE"],
    },
    Route {
        path: "/api/holds/{token}/extend",
        methods: &["POST"],
    },
    Route {
        path: "/api/holds/{token}/confirm",
        methods: &["POST"],
    },
    Route {
        path: "/api/bookings",
        methods: &["GET"],
    },
    Route {
        path: "/api/bookings/{id}",
        methods: &["GET", "DELETE"],
    },
];

/// Longest hold token accepted in a path (real ones are 17 characters).
const MAX_TOKEN_CHARS: usize = 64;

/// Finds the route whose template matches `path`, with the texts of its `{...}` segments.
fn resolve(path: &str) -> Option<(&'static Route, Vec<&str>)> {
    let segments: Vec<&str> = path.split('/').collect();
    ROUTES.iter().find_map(|route| {
        let template: Vec<&str> = route.path.split('/').collect();
        if template.len() != segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (want, got) in template.iter().zip(&segments) {
            if want.starts_with('{') {
                if got.is_empty() {
                    return None;
                }
                params.push(*got);
            } else if want != got {
                return None;
            }
        }
        Some((route, params))
    })
}

/// Decides what an HTTP request needs: a read, a write, a watch, or an immediate response.
pub fn route(request: &HttpRequest) -> RouteAction {
    match plan(request) {
        Ok(Plan::Read(query)) => RouteAction::Read(encode(&query)),
        Ok(Plan::Write(command)) => RouteAction::Write(encode(&command)),
        Ok(Plan::Watch(showtime)) => RouteAction::Watch(WatchRequest {
            topic: showtime_topic(showtime),
            query: encode(&Query::Showtime { showtime }),
            event: "showtime".to_string(),
        }),
        Ok(Plan::Respond(response)) => RouteAction::Respond(response),
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
    /// Stream this showtime.
    Watch(u32),
    /// Answer at once.
    Respond(HttpResponse),
}

/// Parses a request into a plan; commands have already passed their stateless checks.
fn plan(request: &HttpRequest) -> Result<Plan, Problem> {
    let not_found = || Problem::not_found(&truncate_for_echo(&request.path, 200));
    let (route, params) = resolve(&request.path).ok_or_else(not_found)?;
    let method = request.method.as_str();
    if !route.methods.contains(&method) {
        return Err(Problem::method_not_allowed(
            &truncate_for_echo(method, 20),
            &route.methods.join(", "),
        ));
    }
    if method != "GET" && request.body.len() > MAX_BODY_BYTES {
        return Err(body::too_large(request.body.len()));
    }
    let id = |i: usize| -> Result<u32, Problem> {
        params
            .get(i)
            .and_then(|t| parse_id(t))
            .ok_or_else(not_found)
    };
    let booking_id = || -> Result<u64, Problem> {
        params
            .first()
            .and_then(|t| parse_id(t))
            .ok_or_else(not_found)
    };
    let token = || -> Result<String, Problem> {
        match params.first() {
            Some(t) if t.chars().count() <= MAX_TOKEN_CHARS => Ok((*t).to_string()),
            _ => Err(not_found()),
        }
    };
    let query = || query_pairs(&request.query);
    let plan = match (route.path, method) {
        ("/" | "/app.js" | "/app.css", _) => {
            Plan::Respond(web::asset(route.path).ok_or_else(not_found)?)
        }
        ("/api/openapi.json", _) => Plan::Respond(openapi::response()),
        ("/api/movies", "GET") => Plan::Read(Query::Movies),
        ("/api/movies", _) => {
            let b: MovieBody = parse_body(&request.body)?;
            Plan::Write(Command::CreateMovie {
                id: b.id,
                info: MovieInfo {
                    title: b.title,
                    year: b.year,
                    duration_minutes: b.duration_minutes,
                    genres: b.genres,
                    director: b.director,
                    cast: b.cast,
                    languages: b.languages,
                    age_rating: b.age_rating,
                    synopsis: b.synopsis,
                },
            })
        }
        ("/api/movies/{id}", "GET") => Plan::Read(Query::Movie { movie: id(0)? }),
        ("/api/movies/{id}", _) => Plan::Write(Command::RemoveMovie { movie: id(0)? }),
        ("/api/theaters", "GET") => Plan::Read(Query::Theaters),
        ("/api/theaters", _) => {
            let b: TheaterBody = parse_body(&request.body)?;
            Plan::Write(Command::CreateTheater {
                id: b.id,
                info: TheaterInfo {
                    name: b.name,
                    location: b.location,
                    layout: layout_from_rows(&b.rows)?,
                },
            })
        }
        ("/api/theaters/{id}", "GET") => Plan::Read(Query::Theater { theater: id(0)? }),
        ("/api/theaters/{id}", _) => Plan::Write(Command::RemoveTheater { theater: id(0)? }),
        ("/api/showtimes", "GET") => {
            let (mut movie, mut theater) = (None, None);
            for (key, value) in query()? {
                match key.as_str() {
                    "movie" => movie = Some(param_id(&key, &value)?),
                    "theater" => theater = Some(param_id(&key, &value)?),
                    _ => {}
                }
            }
            Plan::Read(Query::Showtimes { movie, theater })
        }
        ("/api/showtimes", _) => {
            let b: ShowtimeBody = parse_body(&request.body)?;
            let starts_at_ms = crate::timefmt::parse_rfc3339(&b.starts_at).map_err(|e| {
                Problem::invalid_request(format!("field `starts_at`: {e}"))
                    .with("field", "starts_at")
            })?;
            Plan::Write(Command::CreateShowtime {
                id: b.id,
                movie: b.movie_id,
                theater: b.theater_id,
                starts_at_ms,
                price_cents: b.price_cents,
            })
        }
        ("/api/showtimes/{id}", "GET") => Plan::Read(Query::Showtime { showtime: id(0)? }),
        ("/api/showtimes/{id}", _) => Plan::Write(Command::RemoveShowtime { showtime: id(0)? }),
        ("/api/showtimes/{id}/seats", _) => {
            let showtime = id(0)?;
            let mut filter = None;
            for (key, value) in query()? {
                if key == "state" {
                    filter = Some(SeatState::parse(&value).ok_or_else(|| {
                        Problem::invalid_request(format!(
                            "query parameter `state` must be free, held or booked, got {:?}",
                            truncate_for_echo(&value, 20)
                        ))
                    })?);
                }
            }
            Plan::Read(Query::Seats { showtime, filter })
        }
        ("/api/showtimes/{id}/activity", _) => Plan::Read(Query::Activity { showtime: id(0)? }),
        ("/api/showtimes/{id}/events", _) => Plan::Watch(id(0)?),
        ("/api/showtimes/{id}/holds", _) => {
            let showtime = id(0)?;
            let b: HoldBody = parse_body(&request.body)?;
            Plan::Write(Command::Hold {
                showtime,
                seats: parse_seats(&b.seats)?,
                user: b.user,
                ttl_seconds: b.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS),
            })
        }
        ("/api/showtimes/{id}/bookings", _) => {
            let showtime = id(0)?;
            let b: BookBody = parse_body(&request.body)?;
            Plan::Write(Command::Book {
                showtime,
                seats: parse_seats(&b.seats)?,
                user: b.user,
            })
        }
        ("/api/holds/{token}", "GET") => Plan::Read(Query::Hold { hold: token()? }),
        ("/api/holds/{token}", _) => {
            let hold = token()?;
            let b: UserBody = parse_body(&request.body)?;
            Plan::Write(Command::Release { hold, user: b.user })
        }
        ("/api/holds/{token}/extend", _) => {
            let hold = token()?;
            let b: ExtendBody = parse_body(&request.body)?;
            Plan::Write(Command::Extend {
                hold,
                user: b.user,
                ttl_seconds: b.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS),
            })
        }
        ("/api/holds/{token}/confirm", _) => {
            let hold = token()?;
            let b: UserBody = parse_body(&request.body)?;
            Plan::Write(Command::Confirm { hold, user: b.user })
        }
        ("/api/bookings", _) => {
            let (mut user, mut showtime) = (None, None);
            for (key, value) in query()? {
                match key.as_str() {
                    "user" => user = Some(value),
                    "showtime" => showtime = Some(param_id(&key, &value)?),
                    _ => {}
                }
            }
            Plan::Read(Query::Bookings { user, showtime })
        }
        ("/api/bookings/{id}", "GET") => Plan::Read(Query::Booking {
            booking: booking_id()?,
        }),
        ("/api/bookings/{id}", _) => {
            let booking = booking_id()?;
            let b: UserBody = parse_body(&request.body)?;
            Plan::Write(Command::Cancel {
                booking,
                user: b.user,
            })
        }
        // Every (path, method) of ROUTES is matched above (a test checks it); this only keeps
        // the match total.
        _ => return Err(not_found()),
    };
    if let Plan::Write(command) = &plan {
        command.check().map_err(|r| Problem::from_rejection(&r))?;
    }
    Ok(plan)
}

/// Parses a path id: ASCII digits only (no sign, no spaces), within the type's range.
fn parse_id<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses an id in a query parameter; 400 when it is not one.
fn param_id(key: &str, value: &str) -> Result<u32, Problem> {
    parse_id(value).ok_or_else(|| {
        Problem::invalid_request(format!(
            "query parameter `{key}` must be an id, got {:?}",
            truncate_for_echo(value, 20)
        ))
    })
}

/// Parses seat id strings, after the count limits (so a huge list is refused before parsing).
fn parse_seats(texts: &[String]) -> Result<Vec<SeatId>, Problem> {
    if texts.is_empty() {
        return Err(Problem::from_rejection(&Rejection::NoSeats));
    }
    if texts.len() > MAX_SEATS_PER_REQUEST {
        return Err(Problem::from_rejection(&Rejection::TooManySeats {
            count: u32::try_from(texts.len()).unwrap_or(u32::MAX),
            max: MAX_SEATS_PER_REQUEST as u32,
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
        Err(Problem::invalid_request(format!(
            "field `seats`: not seat ids (a row letter and a number, like a1): {}",
            malformed.join(", ")
        ))
        .with("field", "seats")
        .with("seats", malformed))
    }
}

/// Turns `[{"row":"a","seats":20}, ...]` into a layout; rows must be `a`, `b`, ... in order.
fn layout_from_rows(rows: &[RowBody]) -> Result<Layout, Problem> {
    let invalid = |reason: String| Problem::from_rejection(&Rejection::invalid("rows", reason));
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

/// Cuts client text that is echoed back in an error.
fn truncate_for_echo(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// Turns the outcome of a routed read, write or watch into the response. For a watch
/// (`.../events`) the host passes the original request and the showtime query's outcome; the
/// body is then the same one-line Showtime JSON that `GET /api/showtimes/{id}` returns.
pub fn render(request: &HttpRequest, outcome: Outcome) -> HttpResponse {
    let read = request.method == "GET";
    match outcome {
        Outcome::Unavailable(text) => Problem::unavailable(text).into_response(),
        Outcome::Finished(Err(bytes)) if read => match decode::<Rejection>(&bytes) {
            Ok(rejection) => Problem::from_rejection(&rejection).into_response(),
            Err(_) => undecodable("refusal", bytes.len()),
        },
        Outcome::Finished(Err(bytes)) => match decode::<Refused>(&bytes) {
            Ok(refused) => Problem::from_rejection(&refused.rejection).into_response(),
            Err(_) => undecodable("refusal", bytes.len()),
        },
        Outcome::Finished(Ok(bytes)) if read => match decode::<Answer>(&bytes) {
            Ok(answer) => render_answer(&answer),
            Err(_) => undecodable("answer", bytes.len()),
        },
        Outcome::Finished(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => render_effect(&applied.effect),
            Err(_) => undecodable("answer", bytes.len()),
        },
    }
}

/// 500 for bytes that are not what the route expects.
fn undecodable(what: &str, len: usize) -> HttpResponse {
    Problem::internal(format!(
        "the state machine's {what} could not be decoded ({len} bytes)"
    ))
    .into_response()
}

/// 200 with the JSON of a query answer.
fn render_answer(answer: &Answer) -> HttpResponse {
    match answer {
        Answer::Movies(list) => json(
            200,
            &serde_json::json!({
                "movies": list.iter().map(MovieJson::from).collect::<Vec<_>>()
            }),
        ),
        Answer::Movie(m) => json(200, &MovieJson::from(m)),
        Answer::Theaters(list) => json(
            200,
            &serde_json::json!({
                "theaters": list.iter().map(TheaterJson::from).collect::<Vec<_>>()
            }),
        ),
        Answer::Theater(t) => json(200, &TheaterJson::from(t)),
        Answer::Showtimes(list) => json(
            200,
            &serde_json::json!({
                "showtimes": list.iter().map(ShowtimeSummaryJson::from).collect::<Vec<_>>()
            }),
        ),
        Answer::Showtime(detail) => json(200, &ShowtimeJson::from(detail)),
        Answer::Seats { showtime, seats } => json(
            200,
            &serde_json::json!({
                "showtime_id": showtime,
                "seats": seats.iter().map(SeatJson::from).collect::<Vec<_>>()
            }),
        ),
        Answer::Activity { showtime, changes } => json(
            200,
            &serde_json::json!({
                "showtime_id": showtime,
                "activity": changes.iter().map(ChangeJson::from).collect::<Vec<_>>()
            }),
        ),
        Answer::Hold(hold) => json(200, &HoldJson::from(hold)),
        Answer::Bookings(list) => json(
            200,
            &serde_json::json!({
                "bookings": list.iter().map(BookingJson::from).collect::<Vec<_>>()
            }),
        ),
        Answer::Booking(b) => json(200, &BookingJson::from(b)),
    }
}

/// 201 (with `location`) for creations, 200 for changes, with the JSON of what a command did.
fn render_effect(effect: &Effect) -> HttpResponse {
    match effect {
        Effect::Tick => json(200, &serde_json::json!({ "tick": true })),
        Effect::Booked(b) | Effect::Confirmed { booking: b, .. } => {
            created(&BookingJson::from(b), format!("/api/bookings/{}", b.id))
        }
        Effect::Cancelled(b) => json(200, &BookingJson::from(b)),
        Effect::Held(h) => created(&HoldJson::from(h), format!("/api/holds/{}", h.token)),
        Effect::Extended(h) | Effect::Released(h) => json(200, &HoldJson::from(h)),
        Effect::MovieCreated(m) => created(&MovieJson::from(m), format!("/api/movies/{}", m.id)),
        Effect::MovieRemoved(m) => json(200, &MovieJson::from(m)),
        Effect::TheaterCreated(t) => {
            created(&TheaterJson::from(t), format!("/api/theaters/{}", t.id))
        }
        Effect::TheaterRemoved(t) => json(200, &TheaterJson::from(t)),
        Effect::ShowtimeCreated(d) => created(
            &ShowtimeJson::from(d),
            format!("/api/showtimes/{}", d.summary.id),
        ),
        Effect::ShowtimeRemoved(s) => json(200, &ShowtimeSummaryJson::from(s)),
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

/// 201 with a `location` header.
fn created<T: Serialize>(value: &T, location: String) -> HttpResponse {
    let mut response = json(201, value);
    response.headers.push(("location".to_string(), location));
    response
}

#[cfg(test)]
mod tests;
