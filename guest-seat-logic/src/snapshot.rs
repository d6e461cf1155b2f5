//! Snapshot format: how the whole state is written for Raft snapshots and read back.
//!
//! # Format
//!
//! ```text
//! snapshot = format body
//! format   = u32, little-endian          ; 1 (rules 1.x) or 2 (rules 2.x)
//! body     = facts                       ; format 1
//!          | rule-set facts              ; format 2
//! rule-set = postcard(RuleSet)           ; see crate::rules
//! facts    = postcard(Facts)             ; nothing may follow it
//! ```
//!
//! Format 2 is format 1 with the rule set in force in front: the facts are encoded the same way,
//! so one reader serves both. A build reads every format from [`MIN_RESTORE_FORMAT`] to the one
//! it writes ([`SNAPSHOT_FORMAT`], chosen by the feature `v2` in [`crate::rules`]) and refuses
//! newer ones with a sentence naming both ("snapshot format 2 is newer than this plugin reads
//! (1)"). Restoring a format 1 snapshot fills the rule set with this build's [`RULES`]: that is
//! the v1 to v2 migration, after which the seat limit and the stranded-seat rule apply to new
//! requests (bookings made under the old rules stay).
//!
//! # History
//!
//! Both formats were redefined for contract 0.2.0 (plugins 1.1.0 and 2.1.0): holds and bookings
//! now hold the SHA-256 digests of their capability tokens (a snapshot never holds a token),
//! activity names holds by id, and the facts gained the settings. Nothing of the earlier layout
//! was deployed outside tests, so the tags were kept; from now on a changed body gets a new tag.
//!
//! # What is checked
//!
//! The body holds only the facts (catalog, showtimes with their activity, bookings, holds,
//! counters, clock, settings, rules); every index (who has which seat, seat counts per customer,
//! token digests, expiry and retention order, showtimes by movie and theater, bookings by
//! showtime and customer) is rebuilt on restore. That keeps the format independent of the
//! in-memory structure, and rebuilding doubles as a consistency check: a snapshot whose holds
//! and bookings overlap, point at missing seats, showtimes, movies or theaters, share a token
//! digest or an id, hold more catalog entries or larger ids than the limits allow
//! ([`crate::limits`]), or record rules or settings outside their limits is refused. Decoding
//! and checking finish before anything is replaced, so a refused restore leaves the old state in
//! place. (An active hold already due is accepted: one entry expires a bounded number of holds,
//! so a state may hold due holds for a few entries.)

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::activity::{Change, MAX_ACTIVITY};
use crate::catalog::{Movie, Theater};
use crate::command::{check_seat_list, check_user, MAX_TTL_SECONDS};
use crate::limits::{MAX_ID, MAX_MOVIES, MAX_SHOWTIMES, MAX_THEATERS};
use crate::rules::{RuleSet, RULES};
pub use crate::rules::{MIN_RESTORE_FORMAT, SNAPSHOT_FORMAT};
use crate::seat::{Layout, SeatId};
use crate::state::{
    Booking, BookingStatus, Hold, HoldStatus, Settings, Showtime, State, Taker, TokenOwner,
};
use crate::token::Digest;

/// The facts of a snapshot, shared by formats 1 and 2 (format 1 called it the whole body).
#[derive(Debug, Serialize, Deserialize)]
struct Facts {
    /// Plugin clock.
    clock_ms: u64,
    /// Settings in force.
    settings: Settings,
    /// Id of the next booking.
    next_booking: u64,
    /// Id of the next hold.
    next_hold: u64,
    /// Movies by ascending id.
    movies: Vec<Movie>,
    /// Theaters by ascending id.
    theaters: Vec<Theater>,
    /// Showtimes by ascending id.
    showtimes: Vec<ShowtimeRecord>,
    /// Bookings (confirmed and retained cancelled ones) by ascending id.
    bookings: Vec<Booking>,
    /// Holds (active and retained finished ones) by ascending id.
    holds: Vec<Hold>,
}

/// The facts of one showtime.
#[derive(Debug, Serialize, Deserialize)]
struct ShowtimeRecord {
    id: u32,
    movie: u32,
    theater: u32,
    starts_at_ms: u64,
    price_cents: u32,
    layout: Layout,
    version: u64,
    activity: Vec<Change>,
}

/// Writes the state as snapshot bytes of [`SNAPSHOT_FORMAT`].
pub fn write(state: &State) -> Vec<u8> {
    encode(state, SNAPSHOT_FORMAT)
}

/// The facts as written: borrowed from the state, encoded exactly as [`Facts`] (postcard
/// writes a sequence of references like one of values), so a snapshot copies no record.
#[derive(Serialize)]
struct FactsOut<'a> {
    clock_ms: u64,
    settings: Settings,
    next_booking: u64,
    next_hold: u64,
    movies: Vec<&'a Movie>,
    theaters: Vec<&'a Theater>,
    showtimes: Vec<ShowtimeOut<'a>>,
    bookings: Vec<&'a Booking>,
    holds: Vec<&'a Hold>,
}

/// One showtime as written, field for field as [`ShowtimeRecord`].
#[derive(Serialize)]
struct ShowtimeOut<'a> {
    id: u32,
    movie: u32,
    theater: u32,
    starts_at_ms: u64,
    price_cents: u32,
    layout: &'a Layout,
    version: u64,
    activity: &'a VecDeque<Change>,
}

/// Writes the state in `format`: 1 leaves the rules out, 2 (and anything else, which only tests
/// ask for) writes them before the facts.
fn encode(state: &State, format: u32) -> Vec<u8> {
    let facts = FactsOut {
        clock_ms: state.clock_ms,
        settings: state.settings,
        next_booking: state.next_booking,
        next_hold: state.next_hold,
        movies: state.movies.values().collect(),
        theaters: state.theaters.values().collect(),
        showtimes: state
            .showtimes
            .values()
            .map(|s| ShowtimeOut {
                id: s.id,
                movie: s.movie,
                theater: s.theater,
                starts_at_ms: s.starts_at_ms,
                price_cents: s.price_cents,
                layout: &s.layout,
                version: s.version,
                activity: &s.activity,
            })
            .collect(),
        bookings: state.bookings.values().collect(),
        holds: state.holds.values().collect(),
    };
    let mut bytes = format.to_le_bytes().to_vec();
    // Encoding derived types into a Vec cannot fail; an empty body would be refused by restore.
    if format != 1 {
        bytes.extend(postcard::to_allocvec(&state.rules).unwrap_or_default());
    }
    bytes.extend(postcard::to_allocvec(&facts).unwrap_or_default());
    bytes
}

/// Reads snapshot bytes of any format from [`MIN_RESTORE_FORMAT`] to [`SNAPSHOT_FORMAT`] into a
/// complete, checked state.
///
/// # Errors
///
/// A sentence for the operator: unknown format, undecodable body, or inconsistent content.
pub fn read(bytes: &[u8]) -> Result<State, String> {
    let Some((tag, body)) = bytes.split_first_chunk::<4>() else {
        return Err(format!(
            "snapshot too short: {} bytes, a snapshot starts with a 4-byte format tag",
            bytes.len()
        ));
    };
    let format = u32::from_le_bytes(*tag);
    if format > SNAPSHOT_FORMAT {
        return Err(format!(
            "snapshot format {format} is newer than this plugin reads ({SNAPSHOT_FORMAT})"
        ));
    }
    if format < MIN_RESTORE_FORMAT {
        return Err(format!(
            "snapshot format {format} is older than this plugin reads \
             ({MIN_RESTORE_FORMAT} to {SNAPSHOT_FORMAT})"
        ));
    }
    let (rules, facts) = if format == 1 {
        // The migration: a format 1 state gets this build's rules.
        (RULES, body)
    } else {
        let (rules, facts) = postcard::take_from_bytes::<RuleSet>(body)
            .map_err(|e| format!("snapshot format {format} rules do not decode: {e}"))?;
        rules
            .check()
            .map_err(|e| format!("snapshot format {format}: {e}"))?;
        (rules, facts)
    };
    let (facts, rest) = postcard::take_from_bytes::<Facts>(facts)
        .map_err(|e| format!("snapshot format {format} body does not decode: {e}"))?;
    if !rest.is_empty() {
        return Err(format!(
            "snapshot format {format} body has {} unexpected trailing bytes",
            rest.len()
        ));
    }
    let mut state = restore_facts(facts)?;
    state.rules = rules;
    Ok(state)
}

/// Checks decoded facts and rebuilds every index from them.
fn restore_facts(snapshot: Facts) -> Result<State, String> {
    let mut state = State::empty();
    state.clock_ms = snapshot.clock_ms;
    snapshot
        .settings
        .check()
        .map_err(|e| format!("snapshot settings: {}", e.summary()))?;
    state.settings = snapshot.settings;
    state.next_booking = snapshot.next_booking;
    state.next_hold = snapshot.next_hold;
    check_count("movies", snapshot.movies.len(), MAX_MOVIES)?;
    check_count("theaters", snapshot.theaters.len(), MAX_THEATERS)?;
    check_count("showtimes", snapshot.showtimes.len(), MAX_SHOWTIMES)?;
    for movie in snapshot.movies {
        let id = movie.id;
        movie
            .info
            .check()
            .map_err(|e| format!("snapshot movie {id}: {}", e.summary()))?;
        if !valid_id(id) || state.movies.insert(id, movie).is_some() {
            return Err(format!(
                "snapshot movie id {id} is out of range or repeated"
            ));
        }
    }
    for theater in snapshot.theaters {
        let id = theater.id;
        theater
            .info
            .check()
            .map_err(|e| format!("snapshot theater {id}: {}", e.summary()))?;
        if !valid_id(id) || state.theaters.insert(id, theater).is_some() {
            return Err(format!(
                "snapshot theater id {id} is out of range or repeated"
            ));
        }
    }
    for record in snapshot.showtimes {
        restore_showtime(&mut state, record)?;
    }
    let mut indexes = Indexes::with_capacity(snapshot.bookings.len(), snapshot.holds.len());
    for booking in snapshot.bookings {
        restore_booking(&mut state, &mut indexes, booking)?;
    }
    for hold in snapshot.holds {
        restore_hold(&mut state, &mut indexes, hold)?;
    }
    indexes.install(&mut state)?;
    Ok(state)
}

/// Records and index entries gathered while restoring, turned into the state's maps at the
/// end in bulk: sorting a vector and building a B-tree from sorted input is several times
/// cheaper than inserting a million entries one by one, which decides how long a replica
/// takes to restart or rebuild at a base point.
struct Indexes {
    bookings: Vec<(u64, Booking)>,
    holds: Vec<(u64, Hold)>,
    tokens: Vec<(Digest, TokenOwner)>,
    bookings_by_showtime: Vec<(u32, u64)>,
    takes: Vec<Take>,
}

/// A seat taken by a confirmed booking or an active hold, gathered while restoring and given to
/// its showtime in bulk at the end (inserting seat by seat into each showtime's maps took over a
/// third of a restore).
struct Take {
    showtime: u32,
    seat: SeatId,
    /// Bookings before holds, each by id: the order records are read in, so a clash names the
    /// later record, as when seats were taken one record at a time.
    taker: (TakerKind, u64),
    /// The record's position in [`Indexes::bookings`] or [`Indexes::holds`] (for its customer).
    record: usize,
}

/// Which records a [`Take`] comes from, in the order they are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TakerKind {
    Booking,
    Hold,
}

impl Take {
    fn taker(&self) -> Taker {
        match self.taker {
            (TakerKind::Booking, id) => Taker::Booking(id),
            (TakerKind::Hold, id) => Taker::Hold(id),
        }
    }
}

impl Indexes {
    fn with_capacity(bookings: usize, holds: usize) -> Self {
        Indexes {
            bookings: Vec::with_capacity(bookings),
            holds: Vec::with_capacity(holds),
            tokens: Vec::with_capacity(bookings.saturating_add(holds)),
            bookings_by_showtime: Vec::with_capacity(bookings),
            takes: Vec::with_capacity(bookings),
        }
    }

    /// Records that `taker`, the next record of its kind, takes `seats` of `showtime`,
    /// refusing a missing showtime or seat (a seat taken twice is refused by [`Self::install`]).
    fn take(
        &mut self,
        state: &State,
        showtime: u32,
        seats: &[SeatId],
        taker: Taker,
    ) -> Result<(), String> {
        // Named only when refusing: formatting it for every record would cost more than the rest.
        let what = || taker_name(taker);
        let layout = &state
            .showtimes
            .get(&showtime)
            .ok_or_else(|| format!("snapshot {} is for missing showtime {showtime}", what()))?
            .layout;
        if let Some(seat) = seats.iter().find(|&&seat| !layout.contains(seat)) {
            return Err(format!(
                "snapshot {} has seat {seat}, which showtime {showtime} lacks",
                what()
            ));
        }
        let (taker, record) = match taker {
            Taker::Booking(id) => ((TakerKind::Booking, id), self.bookings.len()),
            Taker::Hold(id) => ((TakerKind::Hold, id), self.holds.len()),
        };
        self.takes.extend(seats.iter().map(|&seat| Take {
            showtime,
            seat,
            taker,
            record,
        }));
        Ok(())
    }

    /// Gives every showtime its taken seats, bookings, holds and per-customer counts, refusing
    /// a seat two records take.
    fn give_seats(&mut self, state: &mut State) -> Result<(), String> {
        self.takes
            .sort_unstable_by_key(|take| (take.showtime, take.seat, take.taker));
        let same_seat =
            |pair: &&[Take]| pair[0].showtime == pair[1].showtime && pair[0].seat == pair[1].seat;
        if let Some(pair) = self.takes.windows(2).find(same_seat) {
            return Err(format!(
                "snapshot {} and {:?} both hold seat {} of showtime {}",
                taker_name(pair[1].taker()),
                pair[0].taker(),
                pair[0].seat,
                pair[0].showtime
            ));
        }
        for group in self.takes.chunk_by(|a, b| a.showtime == b.showtime) {
            let Some(showtime) = state.showtimes.get_mut(&group[0].showtime) else {
                continue; // checked by `take`
            };
            let mut bookings = Vec::new();
            let mut holds = Vec::new();
            let mut per_user: HashMap<&str, u32> = HashMap::new();
            for take in group {
                let user = match take.taker {
                    (TakerKind::Booking, id) => {
                        bookings.push(id);
                        &self.bookings[take.record].1.user
                    }
                    (TakerKind::Hold, id) => {
                        holds.push(id);
                        &self.holds[take.record].1.user
                    }
                };
                *per_user.entry(user).or_default() += 1;
            }
            showtime.held = u32::try_from(holds.len()).unwrap_or(u32::MAX);
            bookings.sort_unstable();
            bookings.dedup();
            holds.sort_unstable();
            holds.dedup();
            let mut per_user: Vec<(&str, u32)> = per_user.into_iter().collect();
            per_user.sort_unstable();
            showtime.seats = group.iter().map(|take| (take.seat, take.taker())).collect();
            showtime.bookings = bookings.into_iter().collect();
            showtime.holds = holds.into_iter().collect();
            showtime.per_user = per_user
                .into_iter()
                .map(|(user, seats)| (user.to_string(), seats))
                .collect();
        }
        Ok(())
    }

    /// Checks that no two records share a token digest and fills the state's maps.
    fn install(mut self, state: &mut State) -> Result<(), String> {
        self.give_seats(state)?;
        // Digests are random: their first eight bytes almost always decide the order, and
        // comparing those as one integer is much cheaper than comparing 32 bytes.
        self.tokens.sort_unstable_by(|a, b| {
            digest_prefix(&a.0)
                .cmp(&digest_prefix(&b.0))
                .then_with(|| a.0.cmp(&b.0))
        });
        if let Some(pair) = self.tokens.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(format!(
                "snapshot {} and {} share a token digest",
                owner_name(pair[0].1),
                owner_name(pair[1].1)
            ));
        }
        self.bookings_by_showtime.sort_unstable();
        state.bookings_by_user = by_user(&self.bookings).into_iter().collect();
        state.bookings = self.bookings.into_iter().collect();
        state.holds = self.holds.into_iter().collect();
        state.tokens = self.tokens.into_iter().collect();
        state.bookings_by_showtime = self.bookings_by_showtime.into_iter().collect();
        Ok(())
    }
}

/// The `(user, booking)` index entries of `bookings` (ascending ids), already in index order:
/// grouped by name through a hash map and the names sorted, instead of sorting one string
/// pair per booking (which took longer than the rest of a restore). The map's iteration order
/// never reaches the state: only the sorted names do.
fn by_user(bookings: &[(u64, Booking)]) -> Vec<(String, u64)> {
    let mut ids: HashMap<&str, Vec<u64>> = HashMap::new();
    for (id, booking) in bookings {
        ids.entry(booking.user.as_str()).or_default().push(*id);
    }
    let mut users: Vec<(&str, Vec<u64>)> = ids.into_iter().collect();
    users.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut entries = Vec::with_capacity(bookings.len());
    for (user, ids) in users {
        entries.extend(ids.into_iter().map(|id| (user.to_string(), id)));
    }
    entries
}

/// The first eight bytes of a digest as a big-endian integer: ordered as the digest is.
fn digest_prefix(digest: &Digest) -> u64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&digest.0[..8]);
    u64::from_be_bytes(prefix)
}

/// How a refusal names a token's owner.
fn owner_name(owner: TokenOwner) -> String {
    match owner {
        TokenOwner::Hold(id) => format!("hold {id}"),
        TokenOwner::Booking(id) => format!("booking #{id}"),
    }
}

/// How a refusal names a seat's taker.
fn taker_name(taker: Taker) -> String {
    match taker {
        Taker::Hold(id) => owner_name(TokenOwner::Hold(id)),
        Taker::Booking(id) => owner_name(TokenOwner::Booking(id)),
    }
}

/// Catalog ids are 1 to [`MAX_ID`].
fn valid_id(id: u32) -> bool {
    (1..=MAX_ID).contains(&id)
}

/// Refuses more entries of a kind than the limits allow.
fn check_count(what: &str, count: usize, max: usize) -> Result<(), String> {
    if count > max {
        return Err(format!("snapshot holds {count} {what}, at most {max}"));
    }
    Ok(())
}

/// Checks and inserts one showtime.
fn restore_showtime(state: &mut State, record: ShowtimeRecord) -> Result<(), String> {
    let id = record.id;
    record
        .layout
        .check()
        .map_err(|e| format!("snapshot showtime {id}: {e}"))?;
    if !state.movies.contains_key(&record.movie) {
        return Err(format!(
            "snapshot showtime {id} shows missing movie {}",
            record.movie
        ));
    }
    if !state.theaters.contains_key(&record.theater) {
        return Err(format!(
            "snapshot showtime {id} uses missing theater {}",
            record.theater
        ));
    }
    if record.activity.len() > MAX_ACTIVITY {
        return Err(format!(
            "snapshot showtime {id} keeps {} changes, at most {MAX_ACTIVITY}",
            record.activity.len()
        ));
    }
    if !valid_id(id) || state.showtimes.contains_key(&id) {
        return Err(format!(
            "snapshot showtime id {id} is out of range or repeated"
        ));
    }
    let mut showtime = Showtime::new(
        id,
        record.movie,
        record.theater,
        record.starts_at_ms,
        record.price_cents,
        record.layout,
    );
    showtime.version = record.version;
    showtime.activity = VecDeque::from(record.activity);
    state.insert_showtime(showtime);
    Ok(())
}

/// Checks and inserts one booking, taking its seats if confirmed.
fn restore_booking(
    state: &mut State,
    indexes: &mut Indexes,
    booking: Booking,
) -> Result<(), String> {
    let id = booking.id;
    if id == 0 || id >= state.next_booking {
        return Err(format!(
            "snapshot booking #{id} is outside 1..{}",
            state.next_booking
        ));
    }
    if indexes.bookings.last().is_some_and(|(last, _)| *last >= id) {
        return Err(format!(
            "snapshot lists booking #{id} twice or out of order"
        ));
    }
    check_user(&booking.user).map_err(|e| format!("snapshot booking #{id}: {}", e.summary()))?;
    check_seat_list(&booking.seats)
        .map_err(|e| format!("snapshot booking #{id}: {}", e.summary()))?;
    match (booking.status, booking.cancelled_at_ms) {
        (BookingStatus::Confirmed, None) => {
            indexes.take(state, booking.showtime, &booking.seats, Taker::Booking(id))?;
        }
        (BookingStatus::Cancelled, Some(at)) if at <= state.clock_ms => {
            state.cancelled_bookings.insert((at, id));
        }
        _ => return Err(format!("snapshot booking #{id} has an inconsistent status")),
    }
    indexes
        .tokens
        .push((booking.token, TokenOwner::Booking(id)));
    indexes.bookings_by_showtime.push((booking.showtime, id));
    indexes.bookings.push((id, booking));
    Ok(())
}

/// Checks and inserts one hold, taking its seats if active.
fn restore_hold(state: &mut State, indexes: &mut Indexes, hold: Hold) -> Result<(), String> {
    let id = hold.id;
    if id == 0 || id >= state.next_hold {
        return Err(format!(
            "snapshot hold {id} is outside 1..{}",
            state.next_hold
        ));
    }
    if indexes.holds.last().is_some_and(|(last, _)| *last >= id) {
        return Err(format!("snapshot lists hold {id} twice or out of order"));
    }
    check_user(&hold.user).map_err(|e| format!("snapshot hold {id}: {}", e.summary()))?;
    check_seat_list(&hold.seats).map_err(|e| format!("snapshot hold {id}: {}", e.summary()))?;
    let cap = hold
        .created_at_ms
        .saturating_add(u64::from(MAX_TTL_SECONDS) * 1000);
    if hold.expires_at_ms > cap {
        return Err(format!("snapshot hold {id} has a bad expiry"));
    }
    match (hold.status, hold.finished_at_ms, hold.booking) {
        (HoldStatus::Active, None, None) => {
            indexes.take(state, hold.showtime, &hold.seats, Taker::Hold(id))?;
            state.expiries.insert((hold.expires_at_ms, id));
        }
        (HoldStatus::Confirmed, Some(at), Some(_))
        | (HoldStatus::Released | HoldStatus::Expired, Some(at), None)
            if at <= state.clock_ms =>
        {
            state.finished_holds.insert((at, id));
        }
        _ => return Err(format!("snapshot hold {id} has an inconsistent status")),
    }
    indexes.tokens.push((hold.token, TokenOwner::Hold(id)));
    indexes.holds.push((id, hold));
    Ok(())
}

#[cfg(test)]
mod tests;
