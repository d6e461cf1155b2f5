//! The HTTP front (`http.route` / `http.render` of contract 0.2.0): the JSON API, its route
//! table and its access rules. The reference is `docs/http-api.md`; the machine-readable form is
//! `GET /api/openapi.json` ([`crate::openapi`]), which a test keeps equal to [`ROUTES`].
//!
//! # Routes
//!
//! ```text
//! GET    /                               the web page (also /app.js, /app.css)
//! GET    /movies, /movies/{id}, /movies/{id}/seats, /showtimes, /showtimes/{id}, /bookings
//!                                        the same page (its History API views, [`web::PAGES`])
//! GET    /api/openapi.json               the OpenAPI document
//! GET    /api/movies                     paged; POST: create (admin)
//! GET    /api/movies/{id}                DELETE: remove (admin)
//! GET    /api/theaters                   paged; POST: create (admin)
//! GET    /api/theaters/{id}              DELETE: remove (admin)
//! GET    /api/showtimes                  paged, ?movie=ID&theater=ID; POST: create (admin)
//! GET    /api/showtimes/{id}             DELETE: remove (admin)
//! GET    /api/showtimes/{id}/seats       ?state=free|held|booked
//! GET    /api/showtimes/{id}/activity    the last 100 changes
//! GET    /api/showtimes/{id}/best        ?count=N: the best N free seats side by side
//! GET    /api/showtimes/{id}/events      Server-Sent Events (a watch)
//! POST   /api/showtimes/{id}/holds       hold seats: 201 with the hold's token
//! POST   /api/showtimes/{id}/bookings    book seats directly: 201 with the booking's token
//! GET    /api/holds/{token}              DELETE: release (the token is the credential)
//! POST   /api/holds/{token}/extend
//! POST   /api/holds/{token}/confirm      201 with the booking's token
//! GET    /api/bookings                   paged, ?user=NAME&showtime=ID (admin or operator)
//! GET    /api/bookings/{id}              DELETE: cancel (bearer booking token, or staff)
//! GET    /api/settings                   PUT: change (admin)
//! GET    /api/limits                     the rules, settings and hold limits in force
//! ```
//!
//! # Flow
//!
//! `route` resolves the path (404 `/problems/not-found`, also for an `{id}` that is not a plain
//! decimal number), checks the method (405 with `allow`), then who may call it
//! ([`auth::authorize`], before a byte of the body is read), then for writes the body's size
//! (413) and media type (415), then parses the body and the stateless rules of the command. It
//! never answers from the state (its instance may lag the log): reads become `read` actions,
//! whose `render` answers the query from the state and renders it in one call. Routes that
//! create a hold or a booking mint its token from the request's entropy ([`crate::token`]); the
//! command carries only the digest, and `render` mints the token again to hand it to its
//! creator once. Every error is a [`Problem`]; nothing here panics on any request.

mod auth;
mod body;
mod json;
mod params;
mod render;

pub use auth::Access;
pub use body::MAX_BODY_BYTES;
pub use render::render;

use crate::booking::Actor;
use crate::catalog::{MovieInfo, TheaterInfo};
use crate::command::{Command, DEFAULT_TTL_SECONDS, MAX_SEATS_PER_REQUEST};
use crate::contract::{HttpAction, HttpRequest, HttpResponse, WatchRequest};
use crate::machine::encode;
use crate::problem::Problem;
use crate::query::{Query, Reader, SeatState};
use crate::rejection::Rejection;
use crate::seat::{parse_row, row_letter, Layout, SeatId, MAX_ROWS};
use crate::state::Settings;
use crate::token::{self, Kind};
use crate::topics::showtime_topic;
use crate::{openapi, web};

use auth::{authorize, check_json_body, Caller};
use body::{
    parse_body, parse_optional_body, BookBody, EmptyBody, ExtendBody, HoldBody, MovieBody, RowBody,
    SettingsBody, ShowtimeBody, TheaterBody,
};
use params::{parse_id, Params};

/// One route: a path template (`{id}` a decimal id, `{token}` a hold token) and, per method,
/// who may call it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// Path template.
    pub path: &'static str,
    /// Supported methods and their access rule.
    pub methods: &'static [(&'static str, Access)],
}

impl Route {
    /// The supported methods, for `allow`.
    pub fn allow(&self) -> String {
        self.methods
            .iter()
            .map(|(m, _)| *m)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Shorthands for the route table.
const GET: (&str, Access) = ("GET", Access::Public);
/// Admin-only creation.
const POST_ADMIN: (&str, Access) = ("POST", Access::Admin);
/// Admin-only removal.
const DELETE_ADMIN: (&str, Access) = ("DELETE", Access::Admin);

/// Every route the plugin serves: the one table `route` dispatches on, `allow` headers and
/// access rules come from, and the OpenAPI document is tested against.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        methods: &[GET],
    },
    Route {
        path: "/app.js",
        methods: &[GET],
    },
    Route {
        path: "/app.css",
        methods: &[GET],
    },
    Route {
        path: "/movies",
        methods: &[GET],
    },
    Route {
        path: "/movies/{id}",
        methods: &[GET],
    },
    Route {
        path: "/movies/{id}/seats",
        methods: &[GET],
    },
    Route {
        path: "/showtimes",
        methods: &[GET],
    },
    Route {
        path: "/showtimes/{id}",
        methods: &[GET],
    },
    Route {
        path: "/bookings",
        methods: &[GET],
    },
    Route {
        path: "/api/openapi.json",
        methods: &[GET],
    },
    Route {
        path: "/api/movies",
        methods: &[GET, POST_ADMIN],
    },
    Route {
        path: "/api/movies/{id}",
        methods: &[GET, DELETE_ADMIN],
    },
    Route {
        path: "/api/theaters",
        methods: &[GET, POST_ADMIN],
    },
    Route {
        path: "/api/theaters/{id}",
        methods: &[GET, DELETE_ADMIN],
    },
    Route {
        path: "/api/showtimes",
        methods: &[GET, POST_ADMIN],
    },
    Route {
        path: "/api/showtimes/{id}",
        methods: &[GET, DELETE_ADMIN],
    },
    Route {
        path: "/api/showtimes/{id}/seats",
        methods: &[GET],
    },
    Route {
        path: "/api/showtimes/{id}/activity",
        methods: &[GET],
    },
    Route {
        path: "/api/showtimes/{id}/best",
        methods: &[GET],
    },
    Route {
        path: "/api/showtimes/{id}/events",
        methods: &[GET],
    },
    Route {
        path: "/api/showtimes/{id}/holds",
        methods: &[("POST", Access::Public)],
    },
    Route {
        path: "/api/showtimes/{id}/bookings",
        methods: &[("POST", Access::Public)],
    },
    Route {
        path: "/api/holds/{token}",
        methods: &[GET, ("DELETE", Access::Public)],
    },
    Route {
        path: "/api/holds/{token}/extend",
        methods: &[("POST", Access::Public)],
    },
    Route {
        path: "/api/holds/{token}/confirm",
        methods: &[("POST", Access::Public)],
    },
    Route {
        path: "/api/bookings",
        methods: &[("GET", Access::Staff)],
    },
    Route {
        path: "/api/bookings/{id}",
        methods: &[
            ("GET", Access::OwnerOrStaff),
            ("DELETE", Access::OwnerOrAdmin),
        ],
    },
    Route {
        path: "/api/settings",
        methods: &[GET, ("PUT", Access::Admin)],
    },
    Route {
        path: "/api/limits",
        methods: &[GET],
    },
];

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
pub fn route(request: &HttpRequest) -> HttpAction {
    match plan(request) {
        Ok(Plan::Read(query)) => HttpAction::Read(encode(&query)),
        Ok(Plan::Write(command)) => HttpAction::Write(encode(&command)),
        Ok(Plan::Watch(showtime)) => HttpAction::Watch(WatchRequest {
            topic: showtime_topic(showtime),
            query: encode(&Query::Showtime { showtime }),
            event: "showtime".to_string(),
        }),
        Ok(Plan::Respond(response)) => HttpAction::Respond(response),
        Err(problem) => HttpAction::Respond(problem.into_response()),
    }
}

/// What a request turned into, before encoding.
#[derive(Debug)]
enum Plan {
    /// Answer this query.
    Read(Query),
    /// Replicate this command.
    Write(Command),
    /// Stream this showtime.
    Watch(u32),
    /// Answer at once.
    Respond(HttpResponse),
}

/// A resolved, authorised request on its way to a plan.
struct Call<'a> {
    request: &'a HttpRequest,
    route: &'static Route,
    method: &'a str,
    params: Vec<&'a str>,
    caller: Caller,
}

impl Call<'_> {
    /// 404 for this path.
    fn not_found(&self) -> Problem {
        Problem::not_found(&truncate_for_echo(&self.request.path, 200))
    }

    /// The `i`th path parameter as an id of type `T`; 404 when it is not one.
    fn id<T: std::str::FromStr>(&self, i: usize) -> Result<T, Problem> {
        self.params
            .get(i)
            .and_then(|t| parse_id(t))
            .ok_or_else(|| self.not_found())
    }

    /// The path's hold token as a digest. A text that cannot be a hold token names no hold:
    /// 404 `/problems/unknown-hold` without a lookup (and without echoing it).
    fn hold_token(&self) -> Result<token::Digest, Problem> {
        self.params
            .first()
            .and_then(|t| token::parse(Kind::Hold, t))
            .ok_or_else(|| Problem::from_rejection(&Rejection::UnknownHold))
    }

    /// The query string.
    fn query(&self) -> Result<Params, Problem> {
        Params::parse(&self.request.query)
    }

    /// A token of `kind` minted from the request's entropy.
    fn mint(&self, kind: Kind) -> Result<token::Digest, Problem> {
        token::mint(kind, &self.request.entropy)
            .map(|m| m.digest)
            .map_err(|e| Problem::internal(e.to_string()))
    }
}

/// Parses a request into a plan; commands have already passed their stateless checks.
fn plan(request: &HttpRequest) -> Result<Plan, Problem> {
    let not_found = || Problem::not_found(&truncate_for_echo(&request.path, 200));
    let (route, params) = resolve(&request.path).ok_or_else(not_found)?;
    let method = request.method.as_str();
    let Some(&(_, access)) = route.methods.iter().find(|(m, _)| *m == method) else {
        return Err(Problem::method_not_allowed(
            &truncate_for_echo(method, 20),
            &route.allow(),
        ));
    };
    // An `{id}` that is no decimal id names nothing, whoever asks.
    let ids_ok = route
        .path
        .split('/')
        .filter(|s| s.starts_with('{'))
        .zip(&params)
        .all(|(name, text)| name != "{id}" || parse_id::<u64>(text).is_some());
    if !ids_ok {
        return Err(not_found());
    }
    let booking = params.first().and_then(|t| parse_id(t)).unwrap_or(0);
    let caller = authorize(access, request, booking)?;
    if method != "GET" {
        if request.body.len() > MAX_BODY_BYTES {
            return Err(body::too_large(request.body.len()));
        }
        check_json_body(request)?;
    }
    let call = Call {
        request,
        route,
        method,
        params,
        caller,
    };
    let plan = match route.path {
        path if !path.starts_with("/api/") => {
            Plan::Respond(web::asset(path).ok_or_else(not_found)?)
        }
        "/api/openapi.json" => Plan::Respond(openapi::response()),
        "/api/settings" => plan_settings(&call)?,
        "/api/limits" => Plan::Read(Query::Limits),
        path if path.starts_with("/api/holds") => plan_hold(&call)?,
        path if path.starts_with("/api/bookings") => plan_booking(&call)?,
        path if path.ends_with("/holds") || path.ends_with("/bookings") => plan_take(&call)?,
        _ => plan_catalog(&call)?,
    };
    if let Plan::Write(command) = &plan {
        command.check().map_err(|r| Problem::from_rejection(&r))?;
    }
    Ok(plan)
}

/// Movies, theaters, showtimes and a showtime's views.
fn plan_catalog(call: &Call) -> Result<Plan, Problem> {
    let body = &call.request.body;
    Ok(match (call.route.path, call.method) {
        ("/api/movies", "GET") => Plan::Read(Query::Movies {
            page: call.query()?.page()?,
        }),
        ("/api/movies", _) => {
            let b: MovieBody = parse_body(body)?;
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
        ("/api/movies/{id}", "GET") => Plan::Read(Query::Movie { movie: call.id(0)? }),
        ("/api/movies/{id}", _) => {
            let movie = call.id(0)?;
            parse_optional_body::<EmptyBody>(body)?;
            Plan::Write(Command::RemoveMovie { movie })
        }
        ("/api/theaters", "GET") => Plan::Read(Query::Theaters {
            page: call.query()?.page()?,
        }),
        ("/api/theaters", _) => {
            let b: TheaterBody = parse_body(body)?;
            Plan::Write(Command::CreateTheater {
                id: b.id,
                info: TheaterInfo {
                    name: b.name,
                    location: b.location,
                    layout: layout_from_rows(&b.rows)?,
                },
            })
        }
        ("/api/theaters/{id}", "GET") => Plan::Read(Query::Theater {
            theater: call.id(0)?,
        }),
        ("/api/theaters/{id}", _) => {
            let theater = call.id(0)?;
            parse_optional_body::<EmptyBody>(body)?;
            Plan::Write(Command::RemoveTheater { theater })
        }
        ("/api/showtimes", "GET") => {
            let query = call.query()?;
            Plan::Read(Query::Showtimes {
                movie: query.id("movie")?,
                theater: query.id("theater")?,
                page: query.page()?,
            })
        }
        ("/api/showtimes", _) => {
            let b: ShowtimeBody = parse_body(body)?;
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
        ("/api/showtimes/{id}", "GET") => Plan::Read(Query::Showtime {
            showtime: call.id(0)?,
        }),
        ("/api/showtimes/{id}", _) => {
            let showtime = call.id(0)?;
            parse_optional_body::<EmptyBody>(body)?;
            Plan::Write(Command::RemoveShowtime { showtime })
        }
        ("/api/showtimes/{id}/seats", _) => {
            let showtime = call.id(0)?;
            let filter = match call.query()?.get("state") {
                None => None,
                Some(value) => Some(SeatState::parse(value).ok_or_else(|| {
                    Problem::invalid_request(format!(
                        "query parameter `state` must be free, held or booked, got {:?}",
                        truncate_for_echo(value, 20)
                    ))
                    .with("parameter", "state")
                })?),
            };
            Plan::Read(Query::Seats { showtime, filter })
        }
        ("/api/showtimes/{id}/activity", _) => Plan::Read(Query::Activity {
            showtime: call.id(0)?,
        }),
        ("/api/showtimes/{id}/best", _) => Plan::Read(Query::Best {
            showtime: call.id(0)?,
            count: call.query()?.count()?,
        }),
        ("/api/showtimes/{id}/events", _) => Plan::Watch(call.id(0)?),
        // Every (path, method) of ROUTES is matched (a test checks it); this keeps it total.
        _ => return Err(call.not_found()),
    })
}

/// `POST /api/showtimes/{id}/holds` and `/bookings`: take seats, minting the owner's token.
fn plan_take(call: &Call) -> Result<Plan, Problem> {
    let showtime = call.id(0)?;
    if call.route.path.ends_with("/holds") {
        let b: HoldBody = parse_body(&call.request.body)?;
        let seats = parse_seats(&b.seats)?;
        Ok(Plan::Write(Command::Hold {
            showtime,
            seats,
            user: b.user,
            ttl_seconds: b.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS),
            token: call.mint(Kind::Hold)?,
        }))
    } else {
        let b: BookBody = parse_body(&call.request.body)?;
        let seats = parse_seats(&b.seats)?;
        Ok(Plan::Write(Command::Book {
            showtime,
            seats,
            user: b.user,
            token: call.mint(Kind::Booking)?,
        }))
    }
}

/// `/api/holds/{token}...`: the token in the path is the credential.
fn plan_hold(call: &Call) -> Result<Plan, Problem> {
    let hold = call.hold_token()?;
    let body = &call.request.body;
    Ok(match (call.route.path, call.method) {
        ("/api/holds/{token}", "GET") => Plan::Read(Query::Hold { token: hold }),
        ("/api/holds/{token}", _) => {
            parse_optional_body::<EmptyBody>(body)?;
            Plan::Write(Command::Release { hold })
        }
        ("/api/holds/{token}/extend", _) => {
            let b: ExtendBody = parse_optional_body(body)?;
            Plan::Write(Command::Extend {
                hold,
                ttl_seconds: b.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS),
            })
        }
        ("/api/holds/{token}/confirm", _) => {
            parse_optional_body::<EmptyBody>(body)?;
            Plan::Write(Command::Confirm {
                hold,
                token: call.mint(Kind::Booking)?,
            })
        }
        _ => return Err(call.not_found()),
    })
}

/// `/api/bookings...`: staff lists; a booking for its bearer token's holder or staff.
fn plan_booking(call: &Call) -> Result<Plan, Problem> {
    if call.route.path == "/api/bookings" {
        let query = call.query()?;
        return Ok(Plan::Read(Query::Bookings {
            user: query.get("user").map(str::to_string),
            showtime: query.id("showtime")?,
            page: query.page()?,
        }));
    }
    let booking = call.id(0)?;
    Ok(match (call.method, call.caller) {
        ("GET", Caller::Customer(token)) => Plan::Read(Query::Booking {
            booking,
            reader: Reader::Customer(token),
        }),
        ("GET", _) => Plan::Read(Query::Booking {
            booking,
            reader: Reader::Staff,
        }),
        (_, caller) => {
            parse_optional_body::<EmptyBody>(&call.request.body)?;
            let by = match caller {
                Caller::Customer(token) => Actor::Customer(token),
                // `authorize` lets only role admin (or a customer) through to DELETE.
                Caller::Staff { admin: true } => Actor::Operator,
                Caller::Staff { admin: false } | Caller::Anyone => {
                    return Err(auth::unauthorized("cancelling needs the booking's token"))
                }
            };
            Plan::Write(Command::Cancel { booking, by })
        }
    })
}

/// `/api/settings`.
fn plan_settings(call: &Call) -> Result<Plan, Problem> {
    if call.method == "GET" {
        return Ok(Plan::Read(Query::Settings));
    }
    let b: SettingsBody = parse_body(&call.request.body)?;
    Ok(Plan::Write(Command::UpdateSettings {
        settings: Settings {
            max_seats_per_customer: b.max_seats_per_customer,
        },
    }))
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

#[cfg(test)]
mod tests;
