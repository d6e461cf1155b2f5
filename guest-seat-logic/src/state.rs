//! The replicated state: catalog, showtimes with their seat maps, holds, bookings, the plugin
//! clock, and the indexes that keep every rule O(log n).
//!
//! Everything here is plain data plus lookups; the rules that change it live in [`crate::admin`],
//! [`crate::booking`] and [`crate::hold`]. Ordered maps (`BTreeMap`) are used throughout so that
//! iteration order, and therefore every answer and snapshot, is the same on every replica.
//!
//! Facts (entries in `movies`, `theaters`, `showtimes`, `bookings`, `holds`) are what snapshots
//! store; everything marked *derived* is rebuilt from them on restore.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::activity::Change;
use crate::catalog::{default_movies, default_theaters, Movie, Theater};
use crate::rejection::Rejection;
use crate::rules::{RuleSet, RULES};
use crate::seat::{Layout, SeatId};

/// Id of the showtime that exists at first start, and that the demo console books into.
pub const DEMO_SHOWTIME: u32 = 1;

/// How long finished holds and cancelled bookings stay readable: 24 hours of log time.
pub const RETENTION_MS: u64 = 24 * 3600 * 1000;

/// Whether a booking still holds its seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookingStatus {
    /// The seats are booked.
    Confirmed,
    /// Cancelled by its user; the seats are free again.
    Cancelled,
}

/// A booking of one or more seats of one showtime by one user.
///
/// Created by a direct booking or a confirmed hold. A cancelled booking stays readable (status
/// `cancelled`) for [`RETENTION_MS`] of log time, then is removed. Ids are never reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// Sequential id, starting at 1.
    pub id: u64,
    /// The showtime the seats belong to.
    pub showtime: u32,
    /// The booked seats, sorted in map order.
    pub seats: Vec<SeatId>,
    /// Who booked; only this user may cancel.
    pub user: String,
    /// Log time when the booking committed.
    pub created_at_ms: u64,
    /// Log index of the entry that created the booking.
    pub log_index: u64,
    /// The hold it was confirmed from, if any.
    pub hold: Option<String>,
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
    /// Given up by its user.
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

/// Seats reserved for a user for a limited time, until confirmed, released or expired.
///
/// A finished hold (any status but active) stays readable for [`RETENTION_MS`] of log time after
/// it finished, then is removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Sequential internal id, starting at 1; orders holds and keys the indexes.
    pub id: u64,
    /// The opaque token clients name the hold by (unique; not a secret, the user check is).
    pub token: String,
    /// The showtime the seats belong to.
    pub showtime: u32,
    /// The held seats, sorted in map order.
    pub seats: Vec<SeatId>,
    /// Who holds them; only this user may extend, confirm or release.
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
        }
    }

    /// Who has a seat, if anyone.
    pub fn taker(&self, seat: SeatId) -> Option<Taker> {
        self.seats.get(&seat).copied()
    }

    /// `(free, held, booked)` seat counts.
    pub fn counts(&self) -> (u32, u32, u32) {
        let held = self
            .seats
            .values()
            .filter(|t| matches!(t, Taker::Hold(_)))
            .count();
        let held = u32::try_from(held).unwrap_or(u32::MAX);
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
    /// The plugin clock: the largest leader time seen in any applied entry, so that time never
    /// runs backwards when leadership moves to a node with a slower clock.
    pub clock_ms: u64,
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
    /// *Derived*: hold id by token.
    pub tokens: BTreeMap<String, u64>,
    /// *Derived*: `(expires_at, hold id)` of every active hold, earliest first.
    pub expiries: BTreeSet<(u64, u64)>,
    /// *Derived*: `(finished_at, hold id)` of every finished hold, for pruning.
    pub finished_holds: BTreeSet<(u64, u64)>,
    /// *Derived*: `(cancelled_at, booking id)` of every cancelled booking, for pruning.
    pub cancelled_bookings: BTreeSet<(u64, u64)>,
    /// The seat rules in force: this build's [`crate::rules::RULES`] at first start and after
    /// restoring a format 1 snapshot, else as a format 2 snapshot recorded them.
    pub rules: RuleSet,
}

/// The first-start showtimes: `(id, movie, theater, starts_at, price_cents)`.
const DEFAULT_SHOWTIMES: [(u32, u32, u32, &str, u32); 5] = [
    (DEMO_SHOWTIME, 4, 5, "2026-12-01T16:00:00Z", 900),
    (2, 1, 1, "2026-12-01T20:00:00Z", 1200),
    (3, 2, 2, "2026-12-02T19:30:00Z", 1100),
    (4, 3, 3, "2026-12-03T20:00:00Z", 1300),
    (5, 4, 4, "2026-12-04T17:00:00Z", 2500),
];

impl Default for State {
    /// The state at first start, before any restore: four movies, the theaters of
    /// [`crate::catalog::default_theaters`], the demo showtime 1 (Demo Hall, rows a-d, seats
    /// 1-6) and showtimes 2 to 5, all seats free, so a fresh cluster can be tried at once.
    fn default() -> Self {
        let mut state = State::empty();
        state.movies = default_movies().into_iter().map(|m| (m.id, m)).collect();
        state.theaters = default_theaters().into_iter().map(|t| (t.id, t)).collect();
        for (id, movie, theater, starts_at, price) in DEFAULT_SHOWTIMES {
            let layout = state
                .theaters
                .get(&theater)
                .map(|t| t.info.layout.clone())
                .unwrap_or_else(|| Layout::uniform(1, 1));
            // The constants are valid RFC 3339 (checked by a test); 0 would only misdate them.
            let starts_at_ms = crate::timefmt::parse_rfc3339(starts_at).unwrap_or(0);
            state.showtimes.insert(
                id,
                Showtime::new(id, movie, theater, starts_at_ms, price, layout),
            );
        }
        state
    }
}

impl State {
    /// A state with no catalog, showtimes, holds or bookings at all.
    pub fn empty() -> Self {
        State {
            clock_ms: 0,
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
            rules: RULES,
        }
    }

    /// The hold a token names.
    ///
    /// # Errors
    ///
    /// [`Rejection::UnknownHold`] when no (unpruned) hold has the token.
    pub fn hold_by_token(&self, token: &str) -> Result<&Hold, Rejection> {
        self.tokens
            .get(token)
            .and_then(|id| self.holds.get(id))
            .ok_or_else(|| Rejection::UnknownHold {
                hold: token.to_string(),
            })
    }

    /// The earliest expiry of an active hold: when the state next has something timed to do.
    pub fn next_deadline(&self) -> Option<u64> {
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
            assert!(showtime.starts_at_ms > 1_796_000_000_000, "{}", showtime.id);
        }
        assert_eq!(state.next_deadline(), None);
    }
}
