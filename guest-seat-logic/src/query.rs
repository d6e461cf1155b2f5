//! Read-only requests (`machine.query`, and the `read` outcomes the fronts render) and their
//! answers.
//!
//! Queries never change the state, so they are answered by any replica without going through the
//! log. The answer types already carry what a rendering needs (a showtime's movie title, its seat
//! states), so no front queries twice. The fronts answer and render in one call (contract 0.2.0
//! `outcome.read`); `machine.query` returns the answer postcard-encoded.
//!
//! Every list is paged ([`PageRequest`]): at most [`MAX_PAGE_ITEMS`] items in id order after a
//! cursor, examining at most [`MAX_PAGE_SCAN`] candidates, so no answer costs more than a small
//! part of a call's fuel whatever the state holds. A list answer's `next` is the cursor of the
//! following page (`None` at the end).
//!
//! Both enums are postcard-encoded by variant index; nothing was deployed before contract 0.2.0,
//! so they were redefined for it; new variants go at the end.

use serde::{Deserialize, Serialize};

use crate::activity::Change;
use crate::best::best_block;
use crate::catalog::{Movie, Theater};
use crate::limits::{DEFAULT_PAGE_ITEMS, MAX_PAGE_ITEMS, MAX_PAGE_SCAN};
use crate::rejection::Rejection;
use crate::rules::RuleSet;
use crate::seat::{Layout, SeatId};
use crate::state::{Booking, Hold, Settings, Showtime, State, Taker};
use crate::token::Digest;

/// Which page of a list: the items after a cursor, at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Only items whose id is greater (the previous page's `next`); `None` from the start.
    pub after: Option<u64>,
    /// Most items; 1 to [`MAX_PAGE_ITEMS`] (other values are clamped into that range).
    pub limit: u32,
}

impl Default for PageRequest {
    /// The first page of [`DEFAULT_PAGE_ITEMS`] items.
    fn default() -> Self {
        PageRequest {
            after: None,
            limit: DEFAULT_PAGE_ITEMS,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, by ascending id.
    pub items: Vec<T>,
    /// The cursor of the next page (pass it as `after`), `None` when the list ends here. A page
    /// that stopped because it examined [`MAX_PAGE_SCAN`] candidates may hold fewer than
    /// `limit` items and still have a `next`.
    pub next: Option<u64>,
}

/// Who reads a booking: its token's holder, or staff (an operator or admin whose credential the
/// host verified, or the console).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reader {
    /// Whoever holds the token with this digest.
    Customer(Digest),
    /// Staff: any booking.
    Staff,
}

/// A read-only request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// A page of movies.
    Movies {
        /// Which page.
        page: PageRequest,
    },
    /// One movie.
    Movie {
        /// Movie id.
        movie: u32,
    },
    /// A page of theaters.
    Theaters {
        /// Which page.
        page: PageRequest,
    },
    /// One theater.
    Theater {
        /// Theater id.
        theater: u32,
    },
    /// A page of showtimes with their seat counts, optionally of one movie and/or theater.
    Showtimes {
        /// Keep only showtimes of this movie.
        movie: Option<u32>,
        /// Keep only showtimes in this theater.
        theater: Option<u32>,
        /// Which page.
        page: PageRequest,
    },
    /// One showtime: summary, rows, every seat's state, version.
    Showtime {
        /// Showtime id.
        showtime: u32,
    },
    /// The seats of one showtime, optionally only those in one state.
    Seats {
        /// Showtime id.
        showtime: u32,
        /// Keep only seats in this state; `None` keeps all.
        filter: Option<SeatState>,
    },
    /// The last changes of one showtime.
    Activity {
        /// Showtime id.
        showtime: u32,
    },
    /// One hold, any status, by its token's digest.
    Hold {
        /// Digest of the hold's token.
        token: Digest,
    },
    /// A page of bookings (confirmed and recently cancelled), optionally of one user and/or
    /// showtime. Staff only: the fronts build it only for staff.
    Bookings {
        /// Keep only this customer name's bookings.
        user: Option<String>,
        /// Keep only bookings of this showtime.
        showtime: Option<u32>,
        /// Which page.
        page: PageRequest,
    },
    /// One booking, for its token's holder or staff.
    Booking {
        /// Booking id.
        booking: u64,
        /// Who reads it.
        reader: Reader,
    },
    /// The settings in force.
    Settings,
    /// The rules and settings in force, for clients that must not hard-code them.
    Limits,
    /// The best block of `count` free seats side by side in one row ([`crate::best`]).
    Best {
        /// Showtime id.
        showtime: u32,
        /// Seats wanted: 1 to the rules' `max_seats_per_request`.
        count: u32,
    },
}

/// Whether a seat is free, held or booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeatState {
    /// Nobody has it.
    Free,
    /// An active hold has it.
    Held,
    /// A confirmed booking has it.
    Booked,
}

impl SeatState {
    /// Lowercase name used in JSON and query strings.
    pub fn name(self) -> &'static str {
        match self {
            SeatState::Free => "free",
            SeatState::Held => "held",
            SeatState::Booked => "booked",
        }
    }

    /// Parses `free`, `held` or `booked`.
    pub fn parse(text: &str) -> Option<SeatState> {
        match text {
            "free" => Some(SeatState::Free),
            "held" => Some(SeatState::Held),
            "booked" => Some(SeatState::Booked),
            _ => None,
        }
    }
}

/// The answer to a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// Answer to [`Query::Movies`].
    Movies(Page<MovieSummary>),
    /// Answer to [`Query::Movie`].
    Movie(Movie),
    /// Answer to [`Query::Theaters`].
    Theaters(Page<Theater>),
    /// Answer to [`Query::Theater`].
    Theater(Theater),
    /// Answer to [`Query::Showtimes`].
    Showtimes(Page<ShowtimeSummary>),
    /// Answer to [`Query::Showtime`].
    Showtime(ShowtimeDetail),
    /// Answer to [`Query::Seats`].
    Seats {
        /// Showtime id.
        showtime: u32,
        /// The seats, possibly filtered, in map order.
        seats: Vec<SeatView>,
    },
    /// Answer to [`Query::Activity`].
    Activity {
        /// Showtime id.
        showtime: u32,
        /// The last changes, oldest first.
        changes: Vec<Change>,
    },
    /// Answer to [`Query::Hold`].
    Hold(Hold),
    /// Answer to [`Query::Bookings`].
    Bookings(Page<Booking>),
    /// Answer to [`Query::Booking`].
    Booking(Booking),
    /// Answer to [`Query::Settings`].
    Settings(Settings),
    /// Answer to [`Query::Limits`].
    Limits {
        /// The seat rules in force (`State::rules`).
        rules: RuleSet,
        /// The settings in force.
        settings: Settings,
    },
    /// Answer to [`Query::Best`].
    Best {
        /// Showtime id.
        showtime: u32,
        /// The seats, in order, all in one row.
        seats: Vec<SeatId>,
    },
}

/// A movie as lists show it: what fits on one line, not the lists and the synopsis (so that a
/// page costs little whatever admins wrote).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovieSummary {
    /// Movie id.
    pub id: u32,
    /// Title.
    pub title: String,
    /// Release year.
    pub year: u16,
    /// Running time.
    pub duration_minutes: u16,
    /// Director(s), as one line.
    pub director: String,
    /// Age rating.
    pub age_rating: String,
}

impl MovieSummary {
    /// Summarises a movie.
    pub fn of(movie: &Movie) -> Self {
        MovieSummary {
            id: movie.id,
            title: movie.info.title.clone(),
            year: movie.info.year,
            duration_minutes: movie.info.duration_minutes,
            director: movie.info.director.clone(),
            age_rating: movie.info.age_rating.clone(),
        }
    }
}

/// A showtime with its movie and theater names and its seat counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowtimeSummary {
    /// Showtime id.
    pub id: u32,
    /// Movie id.
    pub movie: u32,
    /// Movie title (empty if the movie is missing, which the rules prevent).
    pub movie_title: String,
    /// Theater id.
    pub theater: u32,
    /// Theater name (empty if the theater is missing, which the rules prevent).
    pub theater_name: String,
    /// Start, ms since the Unix epoch.
    pub starts_at_ms: u64,
    /// Price of one seat, in cents.
    pub price_cents: u32,
    /// Seats in total.
    pub capacity: u32,
    /// Free seats.
    pub free: u32,
    /// Held seats.
    pub held: u32,
    /// Booked seats.
    pub booked: u32,
}

impl ShowtimeSummary {
    /// Summarises a showtime as it is now.
    pub fn of(state: &State, showtime: &Showtime) -> Self {
        let (free, held, booked) = showtime.counts();
        ShowtimeSummary {
            id: showtime.id,
            movie: showtime.movie,
            movie_title: state
                .movies
                .get(&showtime.movie)
                .map(|m| m.info.title.clone())
                .unwrap_or_default(),
            theater: showtime.theater,
            theater_name: state
                .theaters
                .get(&showtime.theater)
                .map(|t| t.info.name.clone())
                .unwrap_or_default(),
            starts_at_ms: showtime.starts_at_ms,
            price_cents: showtime.price_cents,
            capacity: showtime.layout.capacity(),
            free,
            held,
            booked,
        }
    }
}

/// One seat and its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatView {
    /// The seat.
    pub seat: SeatId,
    /// Free, held or booked.
    pub state: SeatState,
}

/// A showtime in full: summary, rows, every seat's state and the version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowtimeDetail {
    /// Names and counts.
    pub summary: ShowtimeSummary,
    /// Seats per row.
    pub layout: Layout,
    /// Every seat in map order.
    pub seats: Vec<SeatView>,
    /// Log index of the last change.
    pub version: u64,
}

impl ShowtimeDetail {
    /// The full view of a showtime as it is now.
    pub fn of(state: &State, showtime: &Showtime) -> Self {
        ShowtimeDetail {
            summary: ShowtimeSummary::of(state, showtime),
            layout: showtime.layout.clone(),
            seats: seat_views(showtime, None),
            version: showtime.version,
        }
    }
}

/// The seats of a showtime in map order, optionally only those in one state.
fn seat_views(showtime: &Showtime, filter: Option<SeatState>) -> Vec<SeatView> {
    showtime
        .layout
        .seats()
        .map(|seat| SeatView {
            seat,
            state: match showtime.taker(seat) {
                None => SeatState::Free,
                Some(Taker::Hold(_)) => SeatState::Held,
                Some(Taker::Booking(_)) => SeatState::Booked,
            },
        })
        .filter(|view| filter.is_none_or(|wanted| view.state == wanted))
        .collect()
}

impl Query {
    /// Answers the query from the state.
    ///
    /// # Errors
    ///
    /// An `Unknown*` rejection when the id or token names nothing (or, for a booking, the reader
    /// shows the wrong token).
    pub fn answer(&self, state: &State) -> Result<Answer, Rejection> {
        let showtime = |id: u32| {
            state
                .showtimes
                .get(&id)
                .ok_or(Rejection::UnknownShowtime { showtime: id })
        };
        Ok(match self {
            Query::Movies { page } => {
                Answer::Movies(map_page(&state.movies, *page, MovieSummary::of))
            }
            Query::Movie { movie } => Answer::Movie(
                state
                    .movies
                    .get(movie)
                    .cloned()
                    .ok_or(Rejection::UnknownMovie { movie: *movie })?,
            ),
            Query::Theaters { page } => {
                Answer::Theaters(map_page(&state.theaters, *page, Theater::clone))
            }
            Query::Theater { theater } => Answer::Theater(
                state
                    .theaters
                    .get(theater)
                    .cloned()
                    .ok_or(Rejection::UnknownTheater { theater: *theater })?,
            ),
            Query::Showtimes {
                movie,
                theater,
                page,
            } => Answer::Showtimes(showtimes_page(state, *movie, *theater, *page)),
            Query::Showtime { showtime: id } => {
                Answer::Showtime(ShowtimeDetail::of(state, showtime(*id)?))
            }
            Query::Seats {
                showtime: id,
                filter,
            } => Answer::Seats {
                showtime: *id,
                seats: seat_views(showtime(*id)?, *filter),
            },
            Query::Activity { showtime: id } => Answer::Activity {
                showtime: *id,
                changes: showtime(*id)?.activity.iter().cloned().collect(),
            },
            Query::Hold { token } => Answer::Hold(state.hold_by_token(token)?.clone()),
            Query::Bookings {
                user,
                showtime,
                page,
            } => Answer::Bookings(bookings_page(state, user.as_deref(), *showtime, *page)),
            Query::Booking { booking, reader } => Answer::Booking(
                match reader {
                    Reader::Customer(token) => state.booking_with_token(*booking, token)?,
                    Reader::Staff => state
                        .bookings
                        .get(booking)
                        .ok_or(Rejection::UnknownBooking { booking: *booking })?,
                }
                .clone(),
            ),
            Query::Settings => Answer::Settings(state.settings),
            Query::Limits => Answer::Limits {
                rules: state.rules,
                settings: state.settings,
            },
            Query::Best {
                showtime: id,
                count,
            } => Answer::Best {
                showtime: *id,
                seats: best_seats(state, showtime(*id)?, *count)?,
            },
        })
    }
}

/// The best block of `count` seats of a showtime, within the rules' seat limit.
///
/// # Errors
///
/// [`Rejection::BlockTooLarge`] when `count` is 0 or above the rules' `max_seats_per_request`,
/// [`Rejection::NoSeatBlock`] when no row has such a block.
fn best_seats(state: &State, showtime: &Showtime, count: u32) -> Result<Vec<SeatId>, Rejection> {
    let max = state.rules.max_seats_per_request;
    let too_large = Rejection::BlockTooLarge { count, max };
    if count == 0 || count > max {
        return Err(too_large);
    }
    let count16 = u16::try_from(count).map_err(|_| too_large)?;
    best_block(showtime, count16).ok_or(Rejection::NoSeatBlock {
        showtime: showtime.id,
        count,
    })
}

/// The first u32 id after a cursor; `None` when no u32 id is after it.
fn first_u32_after(after: Option<u64>) -> Option<u32> {
    match after {
        None => Some(0),
        Some(cursor) => u32::try_from(cursor).ok()?.checked_add(1),
    }
}

/// The first u64 id after a cursor; `None` when no id is after it.
fn first_u64_after(after: Option<u64>) -> Option<u64> {
    match after {
        None => Some(0),
        Some(cursor) => cursor.checked_add(1),
    }
}

/// The empty last page.
fn empty<T>() -> Page<T> {
    Page {
        items: Vec::new(),
        next: None,
    }
}

/// One page from `(id, item)` candidates in ascending id order: keeps those `wanted` accepts,
/// up to the page's limit, examining at most [`MAX_PAGE_SCAN`] candidates (see [`Page::next`]).
fn page_of<'a, T: 'a, U>(
    candidates: impl Iterator<Item = (u64, &'a T)>,
    page: PageRequest,
    wanted: impl Fn(&T) -> bool,
    view: impl Fn(&T) -> U,
) -> Page<U> {
    let limit = page.limit.clamp(1, MAX_PAGE_ITEMS) as usize;
    let mut items = Vec::with_capacity(limit.min(64));
    let mut last_kept = None;
    let mut last_seen = None;
    for (examined, (id, item)) in candidates.enumerate() {
        if examined >= MAX_PAGE_SCAN {
            // Out of budget: the next page resumes after the last candidate examined.
            return Page {
                items,
                next: last_seen,
            };
        }
        if wanted(item) {
            if items.len() == limit {
                // A further match exists: this page is full and the next one starts after it.
                return Page {
                    items,
                    next: last_kept,
                };
            }
            items.push(view(item));
            last_kept = Some(id);
        }
        last_seen = Some(id);
    }
    Page { items, next: None }
}

/// One page of a u32-keyed map.
fn map_page<T, U>(
    map: &std::collections::BTreeMap<u32, T>,
    page: PageRequest,
    view: impl Fn(&T) -> U,
) -> Page<U> {
    match first_u32_after(page.after) {
        Some(from) => page_of(
            map.range(from..).map(|(&id, item)| (u64::from(id), item)),
            page,
            |_| true,
            view,
        ),
        None => empty(),
    }
}

/// A page of showtimes, through the movie or theater index when a filter names one.
fn showtimes_page(
    state: &State,
    movie: Option<u32>,
    theater: Option<u32>,
    page: PageRequest,
) -> Page<ShowtimeSummary> {
    let Some(from) = first_u32_after(page.after) else {
        return empty();
    };
    let lookup = |id: u32| state.showtimes.get(&id).map(|s| (u64::from(id), s));
    let summary = |s: &Showtime| ShowtimeSummary::of(state, s);
    match (movie, theater) {
        (Some(m), _) => page_of(
            state
                .showtimes_by_movie
                .range((m, from)..=(m, u32::MAX))
                .filter_map(|&(_, id)| lookup(id)),
            page,
            |s| theater.is_none_or(|t| s.theater == t),
            summary,
        ),
        (None, Some(t)) => page_of(
            state
                .showtimes_by_theater
                .range((t, from)..=(t, u32::MAX))
                .filter_map(|&(_, id)| lookup(id)),
            page,
            |_| true,
            summary,
        ),
        (None, None) => map_page(&state.showtimes, page, summary),
    }
}

/// A page of bookings, through the user or showtime index when a filter names one.
fn bookings_page(
    state: &State,
    user: Option<&str>,
    showtime: Option<u32>,
    page: PageRequest,
) -> Page<Booking> {
    let Some(from) = first_u64_after(page.after) else {
        return empty();
    };
    let lookup = |id: u64| state.bookings.get(&id).map(|b| (id, b));
    match (user, showtime) {
        (Some(user), _) => page_of(
            state
                .bookings_by_user
                .range((user.to_string(), from)..=(user.to_string(), u64::MAX))
                .filter_map(|(_, id)| lookup(*id)),
            page,
            |b| showtime.is_none_or(|s| b.showtime == s),
            Booking::clone,
        ),
        (None, Some(s)) => page_of(
            state
                .bookings_by_showtime
                .range((s, from)..=(s, u64::MAX))
                .filter_map(|&(_, id)| lookup(id)),
            page,
            |_| true,
            Booking::clone,
        ),
        (None, None) => page_of(
            state.bookings.range(from..).map(|(&id, b)| (id, b)),
            page,
            |_| true,
            Booking::clone,
        ),
    }
}
