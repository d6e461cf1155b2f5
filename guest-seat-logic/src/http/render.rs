//! `http.render`: turns the outcome of a routed read, write or watch into the response.
//!
//! A `read` outcome carries the query: it is answered from this instance's state and rendered
//! in the same call (contract 0.2.0), without encoding the answer. A `written` outcome carries
//! `machine.apply`'s result bytes. For a watch (`.../events`) the host passes the original
//! request and the showtime query; the body is then the same one-line Showtime JSON that
//! `GET /api/showtimes/{id}` returns.
//!
//! A hold or booking created by the request gets its token back here: render mints the token
//! again from the request's entropy and shows it only if its digest is the one the state machine
//! recorded. An answer replayed for another request (other entropy, e.g. an idempotent retry
//! rendered with the retry's entropy) therefore carries no token rather than a wrong one.

use serde::Serialize;

use super::json::{
    BestJson, BookingJson, ChangeJson, HoldJson, LimitsJson, MovieJson, MovieSummaryJson, SeatJson,
    SettingsJson, ShowtimeJson, ShowtimeSummaryJson, TheaterJson,
};
use crate::command::{Applied, Effect, Refused};
use crate::contract::{HttpRequest, HttpResponse, Outcome};
use crate::machine::{decode, Machine};
use crate::problem::Problem;
use crate::query::{Answer, Page};
use crate::token::{self, Digest, Kind};

/// Turns the outcome of a routed read, write or watch into the response.
pub fn render(machine: &Machine, request: &HttpRequest, outcome: Outcome) -> HttpResponse {
    match outcome {
        Outcome::Unavailable(text) => Problem::unavailable(text).into_response(),
        Outcome::Read(query) => match machine.answer(&query) {
            Ok(answer) => render_answer(&answer),
            Err(rejection) => Problem::from_rejection(&rejection).into_response(),
        },
        Outcome::Written(Err(bytes)) => match decode::<Refused>(&bytes) {
            Ok(refused) => Problem::from_rejection(&refused.rejection).into_response(),
            Err(_) => undecodable("refusal", bytes.len()),
        },
        Outcome::Written(Ok(bytes)) => match decode::<Applied>(&bytes) {
            Ok(applied) => render_effect(&applied.effect, &request.entropy),
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

/// A page of a list as `{"<key>": [items], "next": cursor-or-null}`, each item rendered as it
/// is written (no list of views is built first).
struct PageJson<'a, T, F> {
    /// The list's name: `movies`, `theaters`, `showtimes`, `bookings`.
    key: &'static str,
    /// The page.
    page: &'a Page<T>,
    /// Item to view.
    view: F,
}

impl<'a, T, V, F> Serialize for PageJson<'a, T, F>
where
    V: Serialize,
    F: Fn(&'a T) -> V,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry(self.key, &Items(self.page, &self.view))?;
        map.serialize_entry("next", &self.page.next)?;
        map.end()
    }
}

/// The items of a page, viewed one by one.
struct Items<'a, 'f, T, F>(&'a Page<T>, &'f F);

impl<'a, T, V, F> Serialize for Items<'a, '_, T, F>
where
    V: Serialize,
    F: Fn(&'a T) -> V,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.items.iter().map(self.1))
    }
}

/// 200 with the JSON of a page.
fn page<'a, T, V: Serialize>(
    page: &'a Page<T>,
    key: &'static str,
    view: impl Fn(&'a T) -> V,
) -> HttpResponse {
    json(200, &PageJson { key, page, view })
}

/// 200 with the JSON of a query answer.
fn render_answer(answer: &Answer) -> HttpResponse {
    match answer {
        Answer::Movies(list) => page(list, "movies", MovieSummaryJson::from),
        Answer::Movie(m) => json(200, &MovieJson::from(m)),
        Answer::Theaters(list) => page(list, "theaters", TheaterJson::from),
        Answer::Theater(t) => json(200, &TheaterJson::from(t)),
        Answer::Showtimes(list) => page(list, "showtimes", ShowtimeSummaryJson::from),
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
        Answer::Bookings(list) => page(list, "bookings", BookingJson::from),
        Answer::Booking(b) => json(200, &BookingJson::from(b)),
        Answer::Settings(s) => json(200, &SettingsJson::from(s)),
        Answer::Limits { rules, settings } => json(200, &LimitsJson::new(rules, settings)),
        Answer::Best { showtime, seats } => json(200, &BestJson::new(*showtime, seats)),
    }
}

/// The token of `kind` this request minted, if its digest is `recorded`.
fn token_for(kind: Kind, entropy: &[u8], recorded: &Digest) -> Option<String> {
    token::mint(kind, entropy)
        .ok()
        .filter(|minted| minted.digest.matches(recorded))
        .map(|minted| minted.text)
}

/// 201 (with `location`) for creations, 200 for changes, with the JSON of what a command did.
fn render_effect(effect: &Effect, entropy: &[u8]) -> HttpResponse {
    match effect {
        Effect::Tick => json(200, &serde_json::json!({ "tick": true })),
        Effect::Booked(b) | Effect::Confirmed { booking: b, .. } => {
            let token = token_for(Kind::Booking, entropy, &b.token);
            created(
                &BookingJson::new(b, token.as_deref()),
                Some(format!("/api/bookings/{}", b.id)),
            )
        }
        Effect::Cancelled(b) => json(200, &BookingJson::from(b)),
        Effect::Held(h) => {
            let token = token_for(Kind::Hold, entropy, &h.token);
            let location = token.as_ref().map(|t| format!("/api/holds/{t}"));
            created(&HoldJson::new(h, token.as_deref()), location)
        }
        Effect::Extended(h) | Effect::Released(h) => json(200, &HoldJson::from(h)),
        Effect::MovieCreated(m) => {
            created(&MovieJson::from(m), Some(format!("/api/movies/{}", m.id)))
        }
        Effect::MovieRemoved(m) => json(200, &MovieJson::from(m)),
        Effect::TheaterCreated(t) => created(
            &TheaterJson::from(t),
            Some(format!("/api/theaters/{}", t.id)),
        ),
        Effect::TheaterRemoved(t) => json(200, &TheaterJson::from(t)),
        Effect::ShowtimeCreated(d) => created(
            &ShowtimeJson::from(d),
            Some(format!("/api/showtimes/{}", d.summary.id)),
        ),
        Effect::ShowtimeRemoved(s) => json(200, &ShowtimeSummaryJson::from(s)),
        Effect::SettingsUpdated(s) => json(200, &SettingsJson::from(s)),
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

/// 201, with a `location` header when the new resource has an address this answer may show.
fn created<T: Serialize>(value: &T, location: Option<String>) -> HttpResponse {
    let mut response = json(201, value);
    if let Some(location) = location {
        response.headers.push(("location".to_string(), location));
    }
    response
}
