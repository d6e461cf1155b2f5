//! The JSON shapes of the API's answers (see `docs/http-api.md`), built from the wire types.
//!
//! Views borrow from the answer they render, so rendering copies no strings it does not print.
//! Times are RFC 3339 UTC strings; ids of related resources end in `_id`. A `token` appears only
//! in the answer to the request that minted it (the caller passes it in); no view ever holds a
//! token digest.

use serde::Serialize;

use crate::activity::Change;
use crate::catalog::{Movie, Theater};
use crate::command::{DEFAULT_TTL_SECONDS, MAX_TTL_SECONDS};
use crate::query::{MovieSummary, SeatView, ShowtimeDetail, ShowtimeSummary};
use crate::rules::{RuleSet, VERSION};
use crate::seat::{row_letter, Layout, SeatId};
use crate::state::{Booking, Hold, Settings};
use crate::timefmt::rfc3339;

/// The only currency prices are in.
pub const CURRENCY: &str = "EUR";

/// Seat ids, serialised as a list of strings (`["a1","a2"]`) without allocating one per seat.
#[derive(Clone, Copy)]
pub struct SeatNames<'a>(&'a [SeatId]);

impl Serialize for SeatNames<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|&seat| SeatName(seat)))
    }
}

/// One seat id as a string, written straight into the output.
#[derive(Clone, Copy)]
struct SeatName(SeatId);

impl Serialize for SeatName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buffer = [0u8; crate::seat::SEAT_NAME_BYTES];
        serializer.serialize_str(self.0.write_name(&mut buffer))
    }
}

/// Seat ids as strings.
fn seat_names(seats: &[SeatId]) -> SeatNames<'_> {
    SeatNames(seats)
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

/// `MovieSummary`: a movie as lists show it (no genres, cast, languages, director or synopsis,
/// so that a page of 500 stays small whatever admins wrote: at most about 400 bytes a movie).
#[derive(Serialize)]
pub struct MovieSummaryJson<'a> {
    id: u32,
    title: &'a str,
    year: u16,
    duration_minutes: u16,
    age_rating: &'a str,
}

impl<'a> From<&'a MovieSummary> for MovieSummaryJson<'a> {
    fn from(m: &'a MovieSummary) -> Self {
        MovieSummaryJson {
            id: m.id,
            title: &m.title,
            year: m.year,
            duration_minutes: m.duration_minutes,
            age_rating: &m.age_rating,
        }
    }
}

/// `Settings`.
#[derive(Serialize)]
pub struct SettingsJson {
    max_seats_per_customer: u32,
}

impl From<&Settings> for SettingsJson {
    fn from(s: &Settings) -> Self {
        SettingsJson {
            max_seats_per_customer: s.max_seats_per_customer,
        }
    }
}

/// `Limits`: the rules, settings and hold limits in force (`GET /api/limits`), so that no
/// client hard-codes them. Field names are stable; `docs/http-api.md` describes each.
#[derive(Serialize)]
pub struct LimitsJson {
    /// The running plugin's rules version (`1.1.0`, `2.1.0`).
    rules_version: &'static str,
    /// Most seats one hold, booking or best-seats request may take (the rules').
    max_seats_per_request: u32,
    /// Most seats one customer name may hold or book per showtime (the admin setting).
    max_seats_per_customer: u32,
    /// Whether a hold or booking may not leave a single free seat between taken seats.
    no_stranded_seats: bool,
    /// How long a hold lasts when the request names no `ttl_seconds`, in ms.
    hold_ms: u64,
    /// Longest `ttl_seconds` a hold or an extension may ask for, in ms.
    max_hold_ms: u64,
    /// Longest a hold may last from its creation, extensions included, in ms.
    max_hold_lifetime_ms: u64,
}

impl LimitsJson {
    /// The limits of these rules and settings, under this build's hold constants.
    pub fn new(rules: &RuleSet, settings: &Settings) -> Self {
        LimitsJson {
            rules_version: VERSION,
            max_seats_per_request: rules.max_seats_per_request,
            max_seats_per_customer: settings.max_seats_per_customer,
            no_stranded_seats: rules.no_stranded_seats,
            hold_ms: u64::from(DEFAULT_TTL_SECONDS) * 1000,
            max_hold_ms: u64::from(MAX_TTL_SECONDS) * 1000,
            max_hold_lifetime_ms: u64::from(MAX_TTL_SECONDS) * 1000,
        }
    }
}

/// `Best`: `{"showtime":1,"count":2,"seats":["c3","c4"]}`.
#[derive(Serialize)]
pub struct BestJson<'a> {
    /// Showtime id.
    showtime: u32,
    /// Seats suggested.
    count: usize,
    /// The seats, in order, side by side in one row.
    seats: SeatNames<'a>,
}

impl<'a> BestJson<'a> {
    /// The view of a best-seats answer.
    pub fn new(showtime: u32, seats: &'a [SeatId]) -> Self {
        BestJson {
            showtime,
            count: seats.len(),
            seats: seat_names(seats),
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

/// `Seat`: `{"seat":"a1","row":"a","number":1,"state":"free"}` (a hall has up to 2,600, so
/// nothing here allocates).
#[derive(Serialize)]
pub struct SeatJson {
    seat: SeatName,
    row: char,
    number: u16,
    state: &'static str,
}

impl From<&SeatView> for SeatJson {
    fn from(view: &SeatView) -> Self {
        SeatJson {
            seat: SeatName(view.seat),
            row: view.seat.row_letter(),
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
    seats: SeatNames<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_id: Option<u64>,
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
            hold_id: c.hold,
        }
    }
}

/// `Hold`.
#[derive(Serialize)]
pub struct HoldJson<'a> {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    showtime_id: u32,
    seats: SeatNames<'a>,
    user: &'a str,
    status: &'static str,
    created_at: String,
    expires_at: String,
    log_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    booking_id: Option<u64>,
}

impl<'a> HoldJson<'a> {
    /// The view of a hold, with its token when the answer is its creator's.
    pub fn new(h: &'a Hold, token: Option<&'a str>) -> Self {
        HoldJson {
            id: h.id,
            token,
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

impl<'a> From<&'a Hold> for HoldJson<'a> {
    fn from(h: &'a Hold) -> Self {
        HoldJson::new(h, None)
    }
}

/// `Booking`.
#[derive(Serialize)]
pub struct BookingJson<'a> {
    id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    showtime_id: u32,
    seats: SeatNames<'a>,
    user: &'a str,
    status: &'static str,
    created_at: String,
    log_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hold_id: Option<u64>,
    price_cents: u64,
}

impl<'a> BookingJson<'a> {
    /// The view of a booking, with its token when the answer is its creator's.
    pub fn new(b: &'a Booking, token: Option<&'a str>) -> Self {
        BookingJson {
            id: b.id,
            token,
            showtime_id: b.showtime,
            seats: seat_names(&b.seats),
            user: &b.user,
            status: b.status.name(),
            created_at: rfc3339(b.created_at_ms),
            log_index: b.log_index,
            hold_id: b.hold,
            price_cents: b.price_cents,
        }
    }
}

impl<'a> From<&'a Booking> for BookingJson<'a> {
    fn from(b: &'a Booking) -> Self {
        BookingJson::new(b, None)
    }
}
