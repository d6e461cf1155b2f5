//! Catalog administration: adding and removing movies, theaters and showtimes.
//!
//! Removal refuses anything still in use (a movie or theater with showtimes, a showtime with
//! confirmed bookings or active holds), so no reference in the state ever dangles. New ids are
//! either chosen by the admin or the next free one (one past the highest in use).

use std::collections::BTreeMap;

use crate::catalog::{Movie, MovieInfo, Theater, TheaterInfo};
use crate::command::Effect;
use crate::query::{ShowtimeDetail, ShowtimeSummary};
use crate::rejection::{Kind, Rejection};
use crate::state::{Showtime, State};

/// The id to use: the chosen one if free, else one past the highest in use.
fn pick_id<V>(map: &BTreeMap<u32, V>, chosen: Option<u32>, kind: Kind) -> Result<u32, Rejection> {
    let id = match chosen {
        Some(id) => id,
        None => map
            .keys()
            .next_back()
            .map_or(1, |last| last.saturating_add(1)),
    };
    if map.contains_key(&id) {
        return Err(Rejection::AlreadyExists { kind, id });
    }
    Ok(id)
}

/// Showtimes using a movie or theater, by ascending id.
fn users(state: &State, uses: impl Fn(&Showtime) -> bool) -> Vec<u32> {
    state
        .showtimes
        .values()
        .filter(|s| uses(s))
        .map(|s| s.id)
        .collect()
}

/// Adds a movie (its fields already checked).
pub(crate) fn create_movie(
    state: &mut State,
    id: Option<u32>,
    info: MovieInfo,
) -> Result<Effect, Rejection> {
    let id = pick_id(&state.movies, id, Kind::Movie)?;
    let movie = Movie { id, info };
    state.movies.insert(id, movie.clone());
    Ok(Effect::MovieCreated(movie))
}

/// Removes a movie that no showtime shows.
pub(crate) fn remove_movie(state: &mut State, id: u32) -> Result<Effect, Rejection> {
    if !state.movies.contains_key(&id) {
        return Err(Rejection::UnknownMovie { movie: id });
    }
    let showtimes = users(state, |s| s.movie == id);
    if !showtimes.is_empty() {
        return Err(in_use(Kind::Movie, id, showtimes));
    }
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
    let id = pick_id(&state.theaters, id, Kind::Theater)?;
    let theater = Theater { id, info };
    state.theaters.insert(id, theater.clone());
    Ok(Effect::TheaterCreated(theater))
}

/// Removes a theater that no showtime uses.
pub(crate) fn remove_theater(state: &mut State, id: u32) -> Result<Effect, Rejection> {
    if !state.theaters.contains_key(&id) {
        return Err(Rejection::UnknownTheater { theater: id });
    }
    let showtimes = users(state, |s| s.theater == id);
    if !showtimes.is_empty() {
        return Err(in_use(Kind::Theater, id, showtimes));
    }
    state
        .theaters
        .remove(&id)
        .map(Effect::TheaterRemoved)
        .ok_or(Rejection::UnknownTheater { theater: id })
}

/// A movie or theater refusal listing its showtimes.
fn in_use(kind: Kind, id: u32, showtimes: Vec<u32>) -> Rejection {
    Rejection::InUse {
        kind,
        id,
        showtimes,
        bookings: 0,
        holds: 0,
    }
}

/// Adds a showtime of an existing movie in an existing theater, seats copied from the theater.
pub(crate) fn create_showtime(
    state: &mut State,
    id: Option<u32>,
    movie: u32,
    theater: u32,
    starts_at_ms: u64,
    price_cents: u32,
    index: u64,
) -> Result<Effect, Rejection> {
    if !state.movies.contains_key(&movie) {
        return Err(Rejection::UnknownMovie { movie });
    }
    let layout = state
        .theaters
        .get(&theater)
        .ok_or(Rejection::UnknownTheater { theater })?
        .info
        .layout
        .clone();
    let id = pick_id(&state.showtimes, id, Kind::Showtime)?;
    let mut showtime = Showtime::new(id, movie, theater, starts_at_ms, price_cents, layout);
    showtime.version = index;
    let detail = ShowtimeDetail::of(state, &showtime);
    state.showtimes.insert(id, showtime);
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
            bookings: u32::try_from(showtime.bookings.len()).unwrap_or(u32::MAX),
            holds: u32::try_from(showtime.holds.len()).unwrap_or(u32::MAX),
        });
    }
    let summary = ShowtimeSummary::of(state, showtime);
    state.showtimes.remove(&id);
    Ok(Effect::ShowtimeRemoved(summary))
}
