//! Catalog administration: adding and removing movies, theaters and showtimes, and the settings.
//!
//! Removal refuses anything still in use (a movie or theater with showtimes, a showtime with
//! confirmed bookings or active holds), so no reference in the state ever dangles. New ids are
//! either chosen by the admin (at most [`MAX_ID`]) or the next one (one past the highest in
//! use), and each kind of entry has a cap ([`crate::limits`]), so an admin cannot grow the
//! catalog without bound or break id arithmetic. The fronts only let role `admin` build these
//! commands.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Movie, MovieInfo, Theater, TheaterInfo};
use crate::command::Effect;
use crate::limits::{MAX_ID, MAX_MOVIES, MAX_SHOWTIMES, MAX_THEATERS};
use crate::query::{ShowtimeDetail, ShowtimeSummary};
use crate::rejection::{Kind, Rejection};
use crate::state::{Settings, Showtime, State};

/// Showtime ids a movie or theater refusal lists at most (the count is always given).
pub const MAX_LISTED_SHOWTIMES: usize = 20;

/// The id to use: the chosen one if free, else one past the highest in use; the catalog must
/// have room for one more entry.
///
/// # Errors
///
/// [`Rejection::CatalogFull`] at the cap, [`Rejection::IdsExhausted`] when the next id would
/// pass [`MAX_ID`], [`Rejection::AlreadyExists`] for a chosen id in use.
fn pick_id<V>(
    map: &BTreeMap<u32, V>,
    chosen: Option<u32>,
    kind: Kind,
    cap: usize,
) -> Result<u32, Rejection> {
    if map.len() >= cap {
        return Err(Rejection::CatalogFull {
            kind,
            limit: u32::try_from(cap).unwrap_or(u32::MAX),
        });
    }
    let id = match chosen {
        Some(id) => id,
        None => map
            .keys()
            .next_back()
            .map_or(Some(1), |last| last.checked_add(1))
            .filter(|&id| id <= MAX_ID)
            .ok_or(Rejection::IdsExhausted { kind, max: MAX_ID })?,
    };
    if map.contains_key(&id) {
        return Err(Rejection::AlreadyExists { kind, id });
    }
    Ok(id)
}

/// Adds a movie (its fields already checked).
pub(crate) fn create_movie(
    state: &mut State,
    id: Option<u32>,
    info: MovieInfo,
) -> Result<Effect, Rejection> {
    let id = pick_id(&state.movies, id, Kind::Movie, MAX_MOVIES)?;
    let movie = Movie { id, info };
    state.movies.insert(id, movie.clone());
    Ok(Effect::MovieCreated(movie))
}

/// Removes a movie that no showtime shows.
pub(crate) fn remove_movie(state: &mut State, id: u32) -> Result<Effect, Rejection> {
    if !state.movies.contains_key(&id) {
        return Err(Rejection::UnknownMovie { movie: id });
    }
    check_unused(&state.showtimes_by_movie, Kind::Movie, id)?;
    state
        .movies
        .remove(&id)
        .map(Effect::MovieRemoved)
        .ok_or(Rejection::UnknownMovie { movie: id })
}

/// Adds a theater (its fields already checked).
pub(crate) fn create_theater(
    state: &mut State,
    id: Option<u32>,
    info: TheaterInfo,
) -> Result<Effect, Rejection> {
    let id = pick_id(&state.theaters, id, Kind::Theater, MAX_THEATERS)?;
    let theater = Theater { id, info };
    state.theaters.insert(id, theater.clone());
    Ok(Effect::TheaterCreated(theater))
}

/// Removes a theater that no showtime uses.
pub(crate) fn remove_theater(state: &mut State, id: u32) -> Result<Effect, Rejection> {
    if !state.theaters.contains_key(&id) {
        return Err(Rejection::UnknownTheater { theater: id });
    }
    check_unused(&state.showtimes_by_theater, Kind::Theater, id)?;
    state
        .theaters
        .remove(&id)
        .map(Effect::TheaterRemoved)
        .ok_or(Rejection::UnknownTheater { theater: id })
}

/// Refuses removing a movie or theater that a showtime uses, listing the first
/// [`MAX_LISTED_SHOWTIMES`] of them and counting all.
fn check_unused(index: &BTreeSet<(u32, u32)>, kind: Kind, id: u32) -> Result<(), Rejection> {
    let mut users = index.range((id, 0)..=(id, u32::MAX)).map(|&(_, s)| s);
    let showtimes: Vec<u32> = users.by_ref().take(MAX_LISTED_SHOWTIMES).collect();
    if showtimes.is_empty() {
        return Ok(());
    }
    let more = users.count();
    Err(Rejection::InUse {
        kind,
        id,
        showtime_count: u32::try_from(showtimes.len() + more).unwrap_or(u32::MAX),
        showtimes,
        bookings: 0,
        holds: 0,
    })
}

/// A new showtime's facts.
pub(crate) struct NewShowtime {
    /// Chosen id, or `None` for the next one.
    pub id: Option<u32>,
    /// Movie id.
    pub movie: u32,
    /// Theater id.
    pub theater: u32,
    /// Start, ms since the Unix epoch.
    pub starts_at_ms: u64,
    /// Seat price in cents.
    pub price_cents: u32,
}

/// Adds a showtime of an existing movie in an existing theater, seats copied from the theater.
pub(crate) fn create_showtime(
    state: &mut State,
    new: NewShowtime,
    index: u64,
) -> Result<Effect, Rejection> {
    if !state.movies.contains_key(&new.movie) {
        return Err(Rejection::UnknownMovie { movie: new.movie });
    }
    let layout = state
        .theaters
        .get(&new.theater)
        .ok_or(Rejection::UnknownTheater {
            theater: new.theater,
        })?
        .info
        .layout
        .clone();
    let id = pick_id(&state.showtimes, new.id, Kind::Showtime, MAX_SHOWTIMES)?;
    let mut showtime = Showtime::new(
        id,
        new.movie,
        new.theater,
        new.starts_at_ms,
        new.price_cents,
        layout,
    );
    showtime.version = index;
    let detail = ShowtimeDetail::of(state, &showtime);
    state.insert_showtime(showtime);
    Ok(Effect::ShowtimeCreated(detail))
}

/// Removes a showtime with no confirmed bookings and no active holds.
pub(crate) fn remove_showtime(state: &mut State, id: u32) -> Result<Effect, Rejection> {
    let showtime = state
        .showtimes
        .get(&id)
        .ok_or(Rejection::UnknownShowtime { showtime: id })?;
    if !showtime.bookings.is_empty() || !showtime.holds.is_empty() {
        return Err(Rejection::InUse {
            kind: Kind::Showtime,
            id,
            showtimes: Vec::new(),
            showtime_count: 0,
            bookings: u32::try_from(showtime.bookings.len()).unwrap_or(u32::MAX),
            holds: u32::try_from(showtime.holds.len()).unwrap_or(u32::MAX),
        });
    }
    let summary = ShowtimeSummary::of(state, showtime);
    state.remove_showtime(id);
    Ok(Effect::ShowtimeRemoved(summary))
}

/// Replaces the settings (already checked). Holds and bookings made under the old settings stay;
/// the new ones apply to later requests.
pub(crate) fn update_settings(state: &mut State, settings: Settings) -> Effect {
    state.settings = settings;
    Effect::SettingsUpdated(settings)
}
