//! The JSON shapes of the API's answers (see `docs/http-api.md`), built from the wire types.
//!
//! Views borrow from the answer they render, so rendering copies no strings it does not print.
//! Times are RFC 3339 UTC strings; ids of related resources end in `_id`.

use serde::Serialize;

use crate::activity::Change;
use crate::catalog::{Movie, Theater};
use crate::query::{SeatView, ShowtimeDetail, ShowtimeSummary};
use crate::seat::{row_letter, Layout, SeatId};
use crate::state::{Booking, Hold};
use crate::timefmt::rfc3339;

/// The only currency prices are in.
pub const CURRENCY: &str = "EUR";

/// Seat ids as strings.
fn seat_names(seats: &[SeatId]) -> Vec<String> {
    seats.iter().map(SeatId::to_string).collect()
}

/// `Movie`.
#[derive(Serialize)]
pub struct MovieJson<'a> {
    id: u32,
    title: &'a str,
    year: u16,
    duration_minutes: u16,
    genres: &'a [String],
    director: &'a str,
    cast: &'a [String],
    languages: &'a [String],
    age_rating: &'a str,
    synopsis: &'a str,
}

impl<'a> From<&'a Movie> for MovieJson<'a> {
    fn from(m: &'a Movie) -> Self {
        MovieJson {
            id: m.id,
            title: &m.info.title,
            year: m.info.year,
            duration_minutes: m.info.duration_minutes,
            genres: &m.info.genres,
            director: &m.info.director,
            cast: &m.info.cast,
            languages: &m.info.languages,
            age_rating: &m.info.age_rating,
            synopsis: &m.info.synopsis,
        }
    }
}

/// `{"row":"a","seats":10}`
#[derive(Serialize)]
pub struct RowJson {
    row: String,
    seats: u16,
}

/// The rows of a layout.
fn rows(layout: &Layout) -> Vec<RowJson> {
    layout
        .rows
        .iter()
        .enumerate()
        .map(|(index, &seats)| RowJson {
            row: row_letter(index).to_string(),
            seats,
        })
        .collect()
}

/// `Theater`.
#[derive(Serialize)]
pub struct TheaterJson<'a> {
    id: u32,
    name: &'a str,
    location: &'a str,
    rows: Vec<RowJson>,
    capacity: u32,
}

impl<'a> From<&'a Theater> for TheaterJson<'a> {
    fn from(t: &'a Theater) -> Self {
        TheaterJson {
            id: t.id,
            name: &t.info.name,
            location: &t.info.location,
            rows: rows(&t.info.layout),
            capacity: t.info.layout.capacity(),
        }
    }
}

/// `{"id":1,"title":"Inception"}`
#[derive(Serialize)]
pub struct MovieRef<'a> {
    id: u32,
    title: &'a str,
}

/// `{"id":1,"name":"Grand Hall"}`
#[derive(Serialize)]
pub struct TheaterRef<'a> {
    id: u32,
    name: &'a str,
}

/// `ShowtimeSummary`.
#[derive(Serialize)]
pub struct ShowtimeSummaryJson<'a> {
    id: u32,
    movie: MovieRef<'a>,
    theater: TheaterRef<'a>,
    starts_at: String,
    price_cents: u32,
    currency: &'static str,
    capacity: u32,
    free: u32,
    held: u32,
    booked: u32,
}

impl<'a> From<&'a ShowtimeSummary> for ShowtimeSummaryJson<'a> {
    fn from(s: &'a ShowtimeSummary) -> Self {
        ShowtimeSummaryJson {
            id: s.id,
            movie: MovieRef {
                id: s.movie,
                title: &s.movie_title,
            },
            theater: TheaterRef {
                id: s.theater,
                name: &s.theater_name,
            },
            starts_at: rfc3339(s.starts_at_ms),
            price_cents: s.price_cents,
            currency: CURRENCY,
            capacity: s.capacity,
            free: s.free,
            held: s.held,
            booked: s.booked,
        }
    }
}

/// `Showtime`: the summary plus rows, seats and version.
#[derive(Serialize)]
pub struct ShowtimeJson<'a> {
    #[serde(flatten)]
    summary: ShowtimeSummaryJson<'a>,
    rows: Vec<RowJson>,
    seats: Vec<SeatJson>,
    version: u64,
}

impl<'a> From<&'a ShowtimeDetail> for ShowtimeJson<'a> {
    fn from(d: &'a ShowtimeDetail) -> Self {
        ShowtimeJson {
            summary: ShowtimeSummaryJson::from(&d.summary),
            rows: rows(&d.layout),
            seats: d.seats.iter().map(SeatJson::from).collect(),
            version: d.version,
        }
    }
}

/// `Seat`: `{"seat":"a1","row":"a","number":1,"state":"free"}`
#[derive(Serialize)]
pub struct SeatJson {
    seat: String,
    row: String,
    number: u16,
    state: &'static str,
}

impl From<&SeatView> for SeatJson {
    fn from(view: &SeatView) -> Self {
        SeatJson {
            seat: view.seat.to_string(),
            row: view.seat.row_letter().to_string(),
            number: view.seat.number,
            state: view.state.name(),
        }
    }
}

/// `Change`.
#[derive(Serialize)]
pub struct ChangeJson<'a> {
    index: u64,
    at: String,
    user: &'a str,
    action: &'static str,
    seats: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold: Option<&'a str>,
}

impl<'a> From<&'a Change> for ChangeJson<'a> {
    fn from(c: &'a Change) -> Self {
        ChangeJson {
            index: c.index,
            at: rfc3339(c.at_ms),
            user: &c.user,
            action: c.action.name(),
            seats: seat_names(&c.seats),
            booking_id: c.booking,
            hold: c.hold.as_deref(),
        }
    }
}

/// `Hold`.
#[derive(Serialize)]
pub struct HoldJson<'a> {
    token: &'a str,
    showtime_id: u32,
    seats: Vec<String>,
    user: &'a str,
    status: &'static str,
    created_at: String,
    expires_at: String,
    log_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_id: Option<u64>,
}

impl<'a> From<&'a Hold> for HoldJson<'a> {
    fn from(h: &'a Hold) -> Self {
        HoldJson {
            token: &h.token,
            showtime_id: h.showtime,
            seats: seat_names(&h.seats),
            user: &h.user,
            status: h.status.name(),
            created_at: rfc3339(h.created_at_ms),
            expires_at: rfc3339(h.expires_at_ms),
            log_index: h.log_index,
            booking_id: h.booking,
        }
    }
}

/// `Booking`.
#[derive(Serialize)]
pub struct BookingJson<'a> {
    id: u64,
    showtime_id: u32,
    seats: Vec<String>,
    user: &'a str,
    status: &'static str,
    created_at: String,
    log_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold: Option<&'a str>,
    price_cents: u64,
}

impl<'a> From<&'a Booking> for BookingJson<'a> {
    fn from(b: &'a Booking) -> Self {
        BookingJson {
            id: b.id,
            showtime_id: b.showtime,
            seats: seat_names(&b.seats),
            user: &b.user,
            status: b.status.name(),
            created_at: rfc3339(b.created_at_ms),
            log_index: b.log_index,
            hold: b.hold.as_deref(),
            price_cents: b.price_cents,
        }
    }
}
