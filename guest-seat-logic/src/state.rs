//! The replicated state: catalog, showtimes with their seat maps, holds, bookings, the plugin
//! clock, and the indexes that keep every rule O(log n).
//!
//! Everything here is plain data plus lookups; the rules that change it live in [`crate::admin`],
//! [`crate::booking`] and [`crate::hold`]. Ordered maps (`BTreeMap`) are used throughout so that
//! iteration order, and therefore every answer and snapshot, is the same on every replica.
//!
//! Facts (entries in `movies`, `theaters`, `showtimes`, `bookings`, `holds`, the settings) are
//! what snapshots store; everything marked *derived* is rebuilt from them on restore, and changed
//! only through the few methods here (`Showtime::occupy`/`vacate`, `State::index_*`) so that the
//! indexes cannot drift from the facts.
//!
//! Holds and bookings are owned through capability tokens: the state keeps only their SHA-256
//! digests (see [`crate::token`]), never a token.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::activity::Change;
use crate::catalog::{default_movies, default_theaters, Movie, Theater};
use crate::limits::{DEFAULT_SEATS_PER_CUSTOMER, MAX_SEATS_PER_HALL};
use crate::rejection::Rejection;
use crate::rules::{RuleSet, RULES};
use crate::schedule::FIRST_SHOWTIMES;
use crate::seat::{Layout, SeatId};
use crate::token::Digest;

pub use crate::limits::RETENTION_MS;

/// Id of the showtime that exists at first start, and that the demo console books into.
pub const DEMO_SHOWTIME: u32 = 1;

/// Settings an admin may change at run time (`PUT /api/settings`); replicated and snapshotted.
///
/// # Format
///
/// ```text
/// settings = postcard(max_seats_per_customer: u32 varint)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Most seats one customer (by `user` name) may hold or book in one showtime, active holds
    /// and confirmed bookings together; 1 to [`MAX_SEATS_PER_HALL`].
    pub max_seats_per_customer: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_seats_per_customer: DEFAULT_SEATS_PER_CUSTOMER,
        }
    }
}

impl Settings {
    /// Checks the limits of every setting.
    ///
    /// # Errors
    ///
    /// [`Rejection::Invalid`] naming the setting.
    pub fn check(&self) -> Result<(), Rejection> {
        let max = self.max_seats_per_customer;
        if (1..=MAX_SEATS_PER_HALL).contains(&max) {
            Ok(())
        } else {
            Err(Rejection::invalid(
                "max_seats_per_customer",
                format!("{max} is not 1 to {MAX_SEATS_PER_HALL}"),
            ))
        }
    }
}

/// Whether a booking still holds its seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookingStatus {
    /// The seats are booked.
    Confirmed,
    /// Cancelled (by its token's holder or an operator); the seats are free again.
    Cancelled,
}

/// A booking of one or more seats of one showtime by one customer.
///
/// Created by a direct booking or a confirmed hold. A cancelled booking stays readable (status
/// `cancelled`) for [`RETENTION_MS`] of log time, then is removed. Ids are never reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// Sequential id, starting at 1; public (activity, listings).
    pub id: u64,
    /// SHA-256 of the booking's token: whoever shows the token may read and cancel it.
    pub token: Digest,
    /// The showtime the seats belong to.
    pub showtime: u32,
    /// The booked seats, sorted in map order.
    pub seats: Vec<SeatId>,
    /// The customer's display name (it proves nothing; the token does).
    pub user: String,
    /// Log time when the booking committed.
    pub created_at_ms: u64,
    /// Log index of the entry that created the booking.
    pub log_index: u64,
    /// The hold it was confirmed from, by id, if any.
    pub hold: Option<u64>,
    /// Seat price times seats, in cents, as of booking.
    pub price_cents: u64,
    /// Confirmed or cancelled.
    pub status: BookingStatus,
    /// Log time of the cancellation; `Some` exactly when cancelled (drives pruning).
    pub cancelled_at_ms: Option<u64>,
}

/// Where a hold is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldStatus {
    /// Holding its seats until `expires_at`.
    Active,
    /// Turned into a booking.
    Confirmed,
    /// Given up by its token's holder.
    Released,
    /// Ran out of time.
    Expired,
}

impl HoldStatus {
    /// Lowercase name used in JSON: `active`, `confirmed`, `released`, `expired`.
    pub fn name(self) -> &'static str {
        match self {
            HoldStatus::Active => "active",
            HoldStatus::Confirmed => "confirmed",
            HoldStatus::Released => "released",
            HoldStatus::Expired => "expired",
        }
    }
}

impl BookingStatus {
    /// Lowercase name used in JSON: `confirmed`, `cancelled`.
    pub fn name(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Cancelled => "cancelled",
        }
    }
}

/// Seats reserved for a customer for a limited time, until confirmed, released or expired.
///
/// A finished hold (any status but active) stays readable for [`RETENTION_MS`] of log time after
/// it finished, then is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Sequential id, starting at 1; public (activity, events), orders holds, keys the indexes.
    pub id: u64,
    /// SHA-256 of the hold's token: whoever shows the token may read, extend, confirm or release
    /// the hold.
    pub token: Digest,
    /// The showtime the seats belong to.
    pub showtime: u32,
    /// The held seats, sorted in map order.
    pub seats: Vec<SeatId>,
    /// The customer's display name (it proves nothing; the token does).
    pub user: String,
    /// Log time of creation.
    pub created_at_ms: u64,
    /// Log time at which the first entry at or past it expires the hold.
    pub expires_at_ms: u64,
    /// Log index of the entry that created the hold.
    pub log_index: u64,
    /// Where the hold is in its life.
    pub status: HoldStatus,
    /// The booking a confirmed hold became.
    pub booking: Option<u64>,
    /// Log time it stopped being active; `Some` exactly when not active (drives pruning).
    pub finished_at_ms: Option<u64>,
}

/// Who has a seat that is not free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Taker {
    /// An active hold, by id.
    Hold(u64),
    /// A confirmed booking, by id.
    Booking(u64),
}

/// What a token digest in the state belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner {
    /// A hold (active or retained), by id.
    Hold(u64),
    /// A booking (confirmed or retained), by id.
    Booking(u64),
}

/// One showtime: a movie in a theater at a time, and which seats are held or booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Showtime {
    /// Showtime id.
    pub id: u32,
    /// The movie shown (must exist while the showtime does).
    pub movie: u32,
    /// The theater used (must exist while the showtime does).
    pub theater: u32,
    /// Start time, ms since the Unix epoch.
    pub starts_at_ms: u64,
    /// Price of one seat, in cents of EUR.
    pub price_cents: u32,
    /// Seats per row, copied from the theater at creation.
    pub layout: Layout,
    /// Log index of the last change (creation included); 0 for the first-start showtimes.
    pub version: u64,
    /// The last changes, oldest first.
    pub activity: VecDeque<Change>,
    /// *Derived*: taken seats and who took them; a seat absent here is free.
    pub seats: BTreeMap<SeatId, Taker>,
    /// *Derived*: confirmed bookings of this showtime.
    pub bookings: BTreeSet<u64>,
    /// *Derived*: active holds on this showtime.
    pub holds: BTreeSet<u64>,
    /// *Derived*: seats held by active holds (so counts cost O(1), not a walk of the seat map).
    pub held: u32,
    /// *Derived*: seats held or booked per customer name, for the per-customer limit; names
    /// with no seat have no entry.
    pub per_user: BTreeMap<String, u32>,
}

impl Showtime {
    /// A showtime with every seat free and no history.
    pub fn new(
        id: u32,
        movie: u32,
        theater: u32,
        starts_at_ms: u64,
        price_cents: u32,
        layout: Layout,
    ) -> Self {
        Showtime {
            id,
            movie,
            theater,
            starts_at_ms,
            price_cents,
            layout,
            version: 0,
            activity: VecDeque::new(),
            seats: BTreeMap::new(),
            bookings: BTreeSet::new(),
            holds: BTreeSet::new(),
            held: 0,
            per_user: BTreeMap::new(),
        }
    }

    /// Gives `seats` (checked free and existing) to `taker` of customer `user`, keeping every
    /// derived count in step. Seats already taken are left alone (the caller checked they are
    /// free; a snapshot reader checks the answer).
    ///
    /// Returns how many seats were taken.
    pub fn occupy(&mut self, seats: &[SeatId], taker: Taker, user: &str) -> u32 {
        let mut taken = 0u32;
        for &seat in seats {
            if let std::collections::btree_map::Entry::Vacant(free) = self.seats.entry(seat) {
                free.insert(taker);
                taken = taken.saturating_add(1);
            }
        }
        match taker {
            Taker::Hold(id) => {
                self.holds.insert(id);
                self.held = self.held.saturating_add(taken);
            }
            Taker::Booking(id) => {
                self.bookings.insert(id);
            }
        }
        if taken > 0 {
            // Look up before inserting: most takes are by a customer already counted, and the
            // key's allocation would be wasted.
            match self.per_user.get_mut(user) {
                Some(count) => *count = count.saturating_add(taken),
                None => {
                    self.per_user.insert(user.to_string(), taken);
                }
            }
        }
        taken
    }

    /// Frees the `seats` that `taker` of customer `user` has, keeping every derived count in
    /// step; seats someone else has are left alone.
    pub fn vacate(&mut self, seats: &[SeatId], taker: Taker, user: &str) {
        let mut freed = 0u32;
        for seat in seats {
            if self.seats.get(seat) == Some(&taker) {
                self.seats.remove(seat);
                freed = freed.saturating_add(1);
            }
        }
        match taker {
            Taker::Hold(id) => {
                self.holds.remove(&id);
                self.held = self.held.saturating_sub(freed);
            }
            Taker::Booking(id) => {
                self.bookings.remove(&id);
            }
        }
        if let Some(count) = self.per_user.get_mut(user) {
            *count = count.saturating_sub(freed);
            if *count == 0 {
                self.per_user.remove(user);
            }
        }
    }

    /// Seats a customer holds or has booked in this showtime.
    pub fn seats_of(&self, user: &str) -> u32 {
        self.per_user.get(user).copied().unwrap_or(0)
    }

    /// Who has a seat, if anyone.
    pub fn taker(&self, seat: SeatId) -> Option<Taker> {
        self.seats.get(&seat).copied()
    }

    /// `(free, held, booked)` seat counts, in O(1).
    pub fn counts(&self) -> (u32, u32, u32) {
        let held = self.held;
        let taken = u32::try_from(self.seats.len()).unwrap_or(u32::MAX);
        let booked = taken.saturating_sub(held);
        (self.layout.capacity().saturating_sub(taken), held, booked)
    }

    /// Checks that every seat (already sorted, no duplicates) exists and is free.
    ///
    /// # Errors
    ///
    /// [`Rejection::UnknownSeats`] listing every missing seat, else [`Rejection::SeatsTaken`]
    /// listing every held or booked one.
    pub fn check_free(&self, seats: &[SeatId]) -> Result<(), Rejection> {
        let unknown: Vec<SeatId> = seats
            .iter()
            .copied()
            .filter(|&seat| !self.layout.contains(seat))
            .collect();
        if !unknown.is_empty() {
            return Err(Rejection::UnknownSeats {
                showtime: self.id,
                seats: unknown,
                layout: self.layout.clone(),
            });
        }
        let taken: Vec<SeatId> = seats
            .iter()
            .copied()
            .filter(|&seat| self.seats.contains_key(&seat))
            .collect();
        if taken.is_empty() {
            Ok(())
        } else {
            Err(Rejection::SeatsTaken {
                showtime: self.id,
                seats: taken,
            })
        }
    }
}

/// The whole state of the plugin; one value per replica, changed only by committed entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// The plugin clock: the largest log time seen in any applied entry. (Contract 0.2.0 log
    /// time already never runs backwards; the clock keeps that true whatever the host does.)
    pub clock_ms: u64,
    /// What admins have set.
    pub settings: Settings,
    /// Movies by id.
    pub movies: BTreeMap<u32, Movie>,
    /// Theaters by id.
    pub theaters: BTreeMap<u32, Theater>,
    /// Showtimes by id.
    pub showtimes: BTreeMap<u32, Showtime>,
    /// Bookings (confirmed, and cancelled ones not yet pruned) by id.
    pub bookings: BTreeMap<u64, Booking>,
    /// Holds (active, and finished ones not yet pruned) by id.
    pub holds: BTreeMap<u64, Hold>,
    /// Id the next booking gets; only ever grows.
    pub next_booking: u64,
    /// Id the next hold gets; only ever grows.
    pub next_hold: u64,
    /// *Derived*: every token digest in the state, with what it belongs to; unique.
    pub tokens: BTreeMap<Digest, TokenOwner>,
    /// *Derived*: `(expires_at, hold id)` of every active hold, earliest first.
    pub expiries: BTreeSet<(u64, u64)>,
    /// *Derived*: `(finished_at, hold id)` of every finished hold, for pruning.
    pub finished_holds: BTreeSet<(u64, u64)>,
    /// *Derived*: `(cancelled_at, booking id)` of every cancelled booking, for pruning.
    pub cancelled_bookings: BTreeSet<(u64, u64)>,
    /// *Derived*: `(movie, showtime)` of every showtime, for filtered lists and in-use checks.
    pub showtimes_by_movie: BTreeSet<(u32, u32)>,
    /// *Derived*: `(theater, showtime)` of every showtime.
    pub showtimes_by_theater: BTreeSet<(u32, u32)>,
    /// *Derived*: `(showtime, booking)` of every booking kept (confirmed or cancelled).
    pub bookings_by_showtime: BTreeSet<(u32, u64)>,
    /// *Derived*: `(user, booking)` of every booking kept.
    pub bookings_by_user: BTreeSet<(String, u64)>,
    /// The seat rules in force: this build's [`crate::rules::RULES`] at first start and after
    /// restoring a format 1 snapshot, else as a format 2 snapshot recorded them.
    pub rules: RuleSet,
}

impl Default for State {
    /// The state at first start, before any restore: four movies, the theaters of
    /// [`crate::catalog::default_theaters`], the demo showtime 1 (Demo Hall, rows a-d, seats
    /// 1-6) and showtimes 2 to 5, all seats free, so a fresh cluster can be tried at once. The
    /// showtimes start at 0 until the first applied entry dates them ([`crate::schedule`]).
    fn default() -> Self {
        let mut state = State::empty();
        state.movies = default_movies().into_iter().map(|m| (m.id, m)).collect();
        state.theaters = default_theaters().into_iter().map(|t| (t.id, t)).collect();
        for (id, movie, theater, price) in FIRST_SHOWTIMES {
            let layout = state
                .theaters
                .get(&theater)
                .map(|t| t.info.layout.clone())
                .unwrap_or_else(|| Layout::uniform(1, 1));
            state.insert_showtime(Showtime::new(id, movie, theater, 0, price, layout));
        }
        state
    }
}

impl State {
    /// A state with no catalog, showtimes, holds or bookings at all.
    pub fn empty() -> Self {
        State {
            clock_ms: 0,
            settings: Settings::default(),
            movies: BTreeMap::new(),
            theaters: BTreeMap::new(),
            showtimes: BTreeMap::new(),
            bookings: BTreeMap::new(),
            holds: BTreeMap::new(),
            next_booking: 1,
            next_hold: 1,
            tokens: BTreeMap::new(),
            expiries: BTreeSet::new(),
            finished_holds: BTreeSet::new(),
            cancelled_bookings: BTreeSet::new(),
            showtimes_by_movie: BTreeSet::new(),
            showtimes_by_theater: BTreeSet::new(),
            bookings_by_showtime: BTreeSet::new(),
            bookings_by_user: BTreeSet::new(),
            rules: RULES,
        }
    }

    /// The hold a token digest names.
    ///
    /// # Errors
    ///
    /// [`Rejection::UnknownHold`] when no (unpruned) hold has the token.
    pub fn hold_by_token(&self, token: &Digest) -> Result<&Hold, Rejection> {
        match self.tokens.get(token) {
            Some(TokenOwner::Hold(id)) => self.holds.get(id).ok_or(Rejection::UnknownHold),
            _ => Err(Rejection::UnknownHold),
        }
    }

    /// The booking `id` if `token` is its token (compared in constant time).
    ///
    /// # Errors
    ///
    /// [`Rejection::UnknownBooking`] when there is no such booking or the token is not its
    /// token: the two answers are the same, so booking ids cannot be probed.
    pub fn booking_with_token(&self, id: u64, token: &Digest) -> Result<&Booking, Rejection> {
        match self.bookings.get(&id) {
            Some(booking) if booking.token.matches(token) => Ok(booking),
            _ => Err(Rejection::UnknownBooking { booking: id }),
        }
    }

    /// Adds a showtime and its index entries (the caller checked the id is free).
    pub fn insert_showtime(&mut self, showtime: Showtime) {
        self.showtimes_by_movie
            .insert((showtime.movie, showtime.id));
        self.showtimes_by_theater
            .insert((showtime.theater, showtime.id));
        self.showtimes.insert(showtime.id, showtime);
    }

    /// Removes a showtime and its index entries.
    pub fn remove_showtime(&mut self, id: u32) -> Option<Showtime> {
        let showtime = self.showtimes.remove(&id)?;
        self.showtimes_by_movie.remove(&(showtime.movie, id));
        self.showtimes_by_theater.remove(&(showtime.theater, id));
        Some(showtime)
    }

    /// Adds a booking record, its token and its index entries (seats are the caller's job).
    pub fn index_booking(&mut self, booking: Booking) {
        self.tokens
            .insert(booking.token, TokenOwner::Booking(booking.id));
        self.bookings_by_showtime
            .insert((booking.showtime, booking.id));
        self.bookings_by_user
            .insert((booking.user.clone(), booking.id));
        self.bookings.insert(booking.id, booking);
    }

    /// Forgets a booking record, its token and its index entries.
    pub fn forget_booking(&mut self, id: u64) {
        if let Some(booking) = self.bookings.remove(&id) {
            self.tokens.remove(&booking.token);
            self.bookings_by_showtime.remove(&(booking.showtime, id));
            self.bookings_by_user.remove(&(booking.user, id));
        }
    }

    /// Forgets a hold record and its token.
    pub fn forget_hold(&mut self, id: u64) {
        if let Some(hold) = self.holds.remove(&id) {
            self.tokens.remove(&hold.token);
        }
    }

    /// When the state next has something timed to do: at once (0) while no entry has been
    /// applied (the first one dates the first-start showtimes, see [`crate::schedule`]), else
    /// the earliest expiry of an active hold.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.clock_ms == 0 {
            return Some(0);
        }
        self.expiries.first().map(|&(at, _)| at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_state_has_the_demo_showtime_and_four_more() {
        let state = State::default();
        let ids: Vec<u32> = state.showtimes.keys().copied().collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        assert_eq!(state.showtimes[&1].layout, Layout::uniform(4, 6));
        for showtime in state.showtimes.values() {
            assert!(state.movies.contains_key(&showtime.movie));
            let theater = &state.theaters[&showtime.theater];
            assert_eq!(theater.info.layout, showtime.layout);
            assert_eq!(showtime.starts_at_ms, 0, "undated until the first entry");
        }
        assert_eq!(state.next_deadline(), Some(0), "a tick is due at once");
    }
}
