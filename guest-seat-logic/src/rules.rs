//! The seat rules that differ between plugin versions, and the only module that reads the cargo
//! feature `v2`.
//!
//! One crate builds two plugins: `plugins/seat.wasm` (rules 1.1.0, snapshot format 1) and, with
//! `--features v2`, `plugins/seat-v2.wasm` (rules 2.1.0, snapshot format 2). Version 2 adds two
//! rules users asked for: at most [`MAX_SEATS_V2`] seats per hold or booking request, and no
//! single free seat left stranded between taken seats of a row.
//!
//! The feature only picks the constants below ([`RULES`], [`VERSION`], [`SNAPSHOT_FORMAT`]); the
//! checks themselves are compiled into both builds and read the [`RuleSet`] kept in the state
//! (`State::rules`). Keeping the rule set in the state, rather than consulting the constants,
//! makes it part of what is replicated and snapshotted: format 2 snapshots record it, and a
//! restore of a format 1 snapshot fills it with this build's rules (the v1 to v2 migration). It
//! also lets the tests of both builds exercise both rule sets.

use serde::{Deserialize, Serialize};

use crate::command::MAX_SEATS_PER_REQUEST;
use crate::rejection::Rejection;
use crate::seat::SeatId;
use crate::state::Showtime;

/// Most seats one request may take under the version 1 rules (the request shape limit).
pub const MAX_SEATS_V1: usize = MAX_SEATS_PER_REQUEST;

/// Most seats one request may take under the version 2 rules.
pub const MAX_SEATS_V2: usize = 6;

/// Oldest snapshot format `restore` accepts (both builds migrate format 1).
pub const MIN_RESTORE_FORMAT: u32 = 1;

/// The seat rules in force: part of the replicated state, recorded by format 2 snapshots.
///
/// # Format
///
/// ```text
/// rule-set = postcard(max_seats_per_request: u32 varint, no_stranded_seats: bool)
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    /// Most seats one hold or booking request may take; 1 to [`MAX_SEATS_PER_REQUEST`].
    pub max_seats_per_request: u32,
    /// Whether a hold or booking that would leave a single free seat between two taken seats of
    /// a row is refused.
    pub no_stranded_seats: bool,
}

/// Rules of plugin version 1.x: the request shape limit only.
pub const V1_RULES: RuleSet = RuleSet {
    max_seats_per_request: MAX_SEATS_V1 as u32,
    no_stranded_seats: false,
};

/// Rules of plugin version 2.x.
pub const V2_RULES: RuleSet = RuleSet {
    max_seats_per_request: MAX_SEATS_V2 as u32,
    no_stranded_seats: true,
};

/// Rules version reported by `info`.
#[cfg(not(feature = "v2"))]
pub const VERSION: &str = "1.1.0";
/// Rules version reported by `info`.
#[cfg(feature = "v2")]
pub const VERSION: &str = "2.1.0";

/// Format `snapshot` writes (and the newest `restore` reads).
#[cfg(not(feature = "v2"))]
pub const SNAPSHOT_FORMAT: u32 = 1;
/// Format `snapshot` writes (and the newest `restore` reads).
#[cfg(feature = "v2")]
pub const SNAPSHOT_FORMAT: u32 = 2;

/// The rules of a fresh state, and of a state restored from a format 1 snapshot.
#[cfg(not(feature = "v2"))]
pub const RULES: RuleSet = V1_RULES;
/// The rules of a fresh state, and of a state restored from a format 1 snapshot.
#[cfg(feature = "v2")]
pub const RULES: RuleSet = V2_RULES;

impl RuleSet {
    /// Checks a rule set read from a snapshot.
    ///
    /// # Errors
    ///
    /// A sentence when the seat limit is outside 1 to [`MAX_SEATS_PER_REQUEST`].
    pub fn check(&self) -> Result<(), String> {
        let max = self.max_seats_per_request;
        if max == 0 || max as usize > MAX_SEATS_PER_REQUEST {
            return Err(format!(
                "rules allow {max} seats per request, must be 1 to {MAX_SEATS_PER_REQUEST}"
            ));
        }
        Ok(())
    }

    /// One line for `info` and the console: `at most 6 seats per request, no stranded seats`.
    pub fn summary(&self) -> String {
        format!(
            "at most {} seats per request{}",
            self.max_seats_per_request,
            if self.no_stranded_seats {
                ", no single seat stranded between taken seats"
            } else {
                ""
            }
        )
    }

    /// Checks a hold or direct booking of `seats` (sorted, distinct, existing and free) on
    /// `showtime` against these rules. Confirming a hold takes no new seats and is not checked.
    ///
    /// # Errors
    ///
    /// [`Rejection::TooManySeatsForRules`] when the request takes more seats than the rules
    /// allow, else [`Rejection::StrandedSeat`] listing the free seats it would strand.
    pub fn check_take(&self, showtime: &Showtime, seats: &[SeatId]) -> Result<(), Rejection> {
        let count = u32::try_from(seats.len()).unwrap_or(u32::MAX);
        if count > self.max_seats_per_request {
            return Err(Rejection::TooManySeatsForRules {
                count,
                max: self.max_seats_per_request,
            });
        }
        if self.no_stranded_seats {
            let stranded = stranded_seats(showtime, seats);
            if !stranded.is_empty() {
                return Err(Rejection::StrandedSeat {
                    showtime: showtime.id,
                    seats: stranded,
                });
            }
        }
        Ok(())
    }
}

/// The free seats that taking `seats` (sorted, distinct, existing and free) would strand: each
/// free seat next to a newly taken seat whose left and right neighbours would then both be taken
/// (held or booked). A row edge is not a taken neighbour, and free seats next to no newly taken
/// seat are not looked at, so gaps that already exist never block an unrelated request.
///
/// Cost: O(k log n) for k seats.
pub fn stranded_seats(showtime: &Showtime, seats: &[SeatId]) -> Vec<SeatId> {
    let taken_after = |seat: SeatId| {
        showtime.layout.contains(seat)
            && (showtime.seats.contains_key(&seat) || seats.binary_search(&seat).is_ok())
    };
    let mut stranded = Vec::new();
    for &seat in seats {
        let neighbours = [seat.number.checked_sub(1), seat.number.checked_add(1)];
        for number in neighbours.into_iter().flatten() {
            let free = SeatId::new(seat.row, number);
            if !showtime.layout.contains(free) || taken_after(free) {
                continue;
            }
            let left = free.number.checked_sub(1).map(|n| SeatId::new(free.row, n));
            let right = free.number.checked_add(1).map(|n| SeatId::new(free.row, n));
            if left.is_some_and(taken_after) && right.is_some_and(taken_after) {
                stranded.push(free);
            }
        }
    }
    stranded.sort_unstable();
    stranded.dedup();
    stranded
}

#[cfg(test)]
mod tests;
