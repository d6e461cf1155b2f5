//! The replicated state: showtimes with their seat maps, the live bookings, and the plugin clock.
//!
//! Everything here is plain data plus O(log n) lookups; the rules that change it live in
//! [`crate::command`]. Ordered maps (`BTreeMap`) are used throughout so that iteration order, and
//! therefore every answer and snapshot, is the same on every replica.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::seat::{Layout, SeatId};

/// Id of the showtime that exists at first start, and that the demo console books into.
pub const DEMO_SHOWTIME: u32 = 1;

/// A confirmed booking of one or more seats of one showtime by one user.
///
/// Created by a `book` command and removed again by `cancel`: the state holds live bookings only,
/// so a cancelled booking id answers "unknown booking". Ids are never reused.
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
    /// Plugin clock (monotonic leader time, ms since the Unix epoch) when the booking committed.
    pub created_at_ms: u64,
    /// Raft log index of the entry that created the booking.
    pub log_index: u64,
}

/// One showtime: its hall layout and which seats are taken by which booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Showtime {
    /// Showtime id, chosen by the admin that created it.
    pub id: u32,
    /// Seats per row.
    pub layout: Layout,
    /// Booked seats and the booking that holds each; a seat absent here is free.
    pub taken: BTreeMap<SeatId, u64>,
    /// Ids of the live bookings in this showtime, kept so that counting them and refusing to
    /// remove a booked showtime need no scan of all bookings.
    pub bookings: BTreeSet<u64>,
}

impl Showtime {
    /// A showtime with every seat free.
    pub fn new(id: u32, layout: Layout) -> Self {
        Showtime {
            id,
            layout,
            taken: BTreeMap::new(),
            bookings: BTreeSet::new(),
        }
    }

    /// The booking holding a seat, if any.
    pub fn holder(&self, seat: SeatId) -> Option<u64> {
        self.taken.get(&seat).copied()
    }

    /// Number of booked seats.
    pub fn booked(&self) -> u32 {
        u32::try_from(self.taken.len()).unwrap_or(u32::MAX)
    }

    /// Number of free seats.
    pub fn free(&self) -> u32 {
        self.layout.capacity().saturating_sub(self.booked())
    }
}

/// The whole state of the plugin; one value per replica, changed only by committed commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Showtimes by id.
    pub showtimes: BTreeMap<u32, Showtime>,
    /// Live bookings by id.
    pub bookings: BTreeMap<u64, Booking>,
    /// Id the next booking gets; only ever grows.
    pub next_booking: u64,
    /// The plugin's clock: the largest leader time seen in a committed command, so that time
    /// never runs backwards when leadership moves to a node with a slower clock.
    pub clock_ms: u64,
}

impl Default for State {
    /// The state at first start, before any restore: the demo hall (showtime 1, rows a-d, seats
    /// 1-6, all free), so that a fresh cluster can be tried at once.
    fn default() -> Self {
        let mut showtimes = BTreeMap::new();
        showtimes.insert(
            DEMO_SHOWTIME,
            Showtime::new(DEMO_SHOWTIME, Layout::uniform(4, 6)),
        );
        State {
            showtimes,
            bookings: BTreeMap::new(),
            next_booking: 1,
            clock_ms: 0,
        }
    }
}

impl State {
    /// A state with no showtimes at all.
    pub fn empty() -> Self {
        State {
            showtimes: BTreeMap::new(),
            bookings: BTreeMap::new(),
            next_booking: 1,
            clock_ms: 0,
        }
    }
}
