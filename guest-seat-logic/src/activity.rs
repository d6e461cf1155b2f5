//! The per-showtime activity list: who changed which seats, when (log time) and how.
//!
//! Every seat change (booking, hold, release, expiry, confirmation, cancellation, extension) is
//! recorded on its showtime, which keeps the last [`MAX_ACTIVITY`] changes so the list stays
//! bounded whatever the traffic. Recording a change also sets the showtime's `version` to the
//! entry's log index, which is what clients compare to know whether their view is current.
//!
//! The list is public (`/activity`, SSE), so it names holds and bookings by id, never by token.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::seat::SeatId;

pub use crate::limits::MAX_ACTIVITY;

/// The user recorded for changes nobody asked for (hold expiry).
pub const SYSTEM_USER: &str = "system";

/// The user recorded for changes an operator made (a cancellation from the console or by an
/// admin over HTTP).
pub const OPERATOR_USER: &str = "operator";

/// What happened to the seats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Booked directly, without a hold.
    Booked,
    /// Held for a while.
    Held,
    /// A hold was released by its user.
    Released,
    /// A hold ran out of time.
    Expired,
    /// A hold became a booking.
    Confirmed,
    /// A booking was cancelled.
    Cancelled,
    /// A hold got a new expiry time.
    Extended,
}

impl Action {
    /// Lowercase name used in JSON: `booked`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Booked => "booked",
            Action::Held => "held",
            Action::Released => "released",
            Action::Expired => "expired",
            Action::Confirmed => "confirmed",
            Action::Cancelled => "cancelled",
            Action::Extended => "extended",
        }
    }
}

/// One recorded change of a showtime's seats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Log index of the entry that made the change.
    pub index: u64,
    /// Log time of that entry (plugin clock, ms since the Unix epoch).
    pub at_ms: u64,
    /// Who: the hold's or booking's display name, [`SYSTEM_USER`] for expiry, or
    /// [`OPERATOR_USER`] for an operator's cancellation.
    pub user: String,
    /// What happened.
    pub action: Action,
    /// The seats concerned, in map order.
    pub seats: Vec<SeatId>,
    /// The booking concerned, if any.
    pub booking: Option<u64>,
    /// The hold concerned, by id, if any.
    pub hold: Option<u64>,
}

/// Appends a change to a showtime's list, dropping the oldest beyond [`MAX_ACTIVITY`].
pub fn push(list: &mut VecDeque<Change>, change: Change) {
    list.push_back(change);
    while list.len() > MAX_ACTIVITY {
        list.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_hundred_changes() {
        let mut list = VecDeque::new();
        for index in 1..=150 {
            push(
                &mut list,
                Change {
                    index,
                    at_ms: index,
                    user: "alice".into(),
                    action: Action::Booked,
                    seats: vec![SeatId::new(0, 1)],
                    booking: Some(index),
                    hold: None,
                },
            );
        }
        assert_eq!(list.len(), MAX_ACTIVITY);
        assert_eq!(list.front().map(|c| c.index), Some(51));
        assert_eq!(list.back().map(|c| c.index), Some(150));
    }
}
