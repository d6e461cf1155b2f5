//! Bookings: direct booking (no hold), cancellation, and the step that records a new booking,
//! shared with hold confirmation.
//!
//! Each function checks every rule before its first write, so a refusal changes nothing.
//! Costs: k seats cost O(k log n) lookups and inserts; nothing clones the state.

use serde::{Deserialize, Serialize};

use crate::activity::{self, Action, Change, OPERATOR_USER};
use crate::command::Effect;
use crate::limits::{MAX_PRUNES_PER_ENTRY, MAX_RETAINED_BOOKINGS, RETENTION_MS};
use crate::rejection::Rejection;
use crate::seat::SeatId;
use crate::state::{Booking, BookingStatus, Showtime, State, Taker};
use crate::token::Digest;

/// Where and when a command runs: its log index and its log time (the plugin clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// Log index of the entry.
    pub index: u64,
    /// Log time, ms since the Unix epoch (never earlier than any previous entry's).
    pub now_ms: u64,
}

/// Who asks for a change of a booking: the proof the command carries.
///
/// Only the fronts build commands: `Customer` from a bearer token a customer showed, `Operator`
/// only for the console (a trusted operator at the node) and for HTTP requests whose admin
/// credential the host verified (`role` admin). A customer's request can never produce
/// `Operator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    /// Whoever holds the token with this digest.
    Customer(Digest),
    /// A trusted operator (console, or an admin over HTTP).
    Operator,
}

/// Books `seats` (already checked by `check_seat_list`) if the showtime has them all free and
/// every rule holds.
pub(crate) fn book(
    state: &mut State,
    showtime_id: u32,
    mut seats: Vec<SeatId>,
    user: String,
    token: Digest,
    at: At,
) -> Result<Effect, Rejection> {
    seats.sort_unstable();
    let showtime = state
        .showtimes
        .get(&showtime_id)
        .ok_or(Rejection::UnknownShowtime {
            showtime: showtime_id,
        })?;
    check_take(state, showtime, &seats, &user)?;
    check_new_token(state, &token)?;
    // Every rule holds: mutate from here on, nothing below can fail.
    let booking = insert_booking(
        state,
        NewBooking {
            showtime: showtime_id,
            seats,
            user,
            token,
            hold: None,
        },
        at,
        Action::Booked,
    );
    Ok(Effect::Booked(booking))
}

/// Checks that a customer may take `seats` (sorted, distinct) of a showtime: they exist and are
/// free, the seat rules allow them, and the customer stays within the per-customer limit.
///
/// # Errors
///
/// The first broken rule, in that order.
pub(crate) fn check_take(
    state: &State,
    showtime: &Showtime,
    seats: &[SeatId],
    user: &str,
) -> Result<(), Rejection> {
    showtime.check_free(seats)?;
    state.rules.check_take(showtime, seats)?;
    let limit = state.settings.max_seats_per_customer;
    let taken = showtime.seats_of(user);
    let requested = u32::try_from(seats.len()).unwrap_or(u32::MAX);
    if taken.saturating_add(requested) > limit {
        return Err(Rejection::CustomerLimit {
            showtime: showtime.id,
            user: user.to_string(),
            limit,
            taken,
            requested,
        });
    }
    Ok(())
}

/// Refuses a token digest that is already in the state: two tokens never collide.
///
/// # Errors
///
/// [`Rejection::TokenCollision`] (only a host whose entropy repeats can cause it).
pub(crate) fn check_new_token(state: &State, token: &Digest) -> Result<(), Rejection> {
    if state.tokens.contains_key(token) {
        Err(Rejection::TokenCollision)
    } else {
        Ok(())
    }
}

/// A booking about to be recorded.
pub(crate) struct NewBooking {
    /// Showtime id.
    pub showtime: u32,
    /// Seats, sorted, checked free (or held by the hold being confirmed, already freed).
    pub seats: Vec<SeatId>,
    /// Display name.
    pub user: String,
    /// Token digest, checked new.
    pub token: Digest,
    /// The hold it comes from.
    pub hold: Option<u64>,
}

/// Records a new confirmed booking of seats the caller has checked are free, takes the seats
/// and logs the change. Cannot fail.
pub(crate) fn insert_booking(
    state: &mut State,
    new: NewBooking,
    at: At,
    action: Action,
) -> Booking {
    let id = state.next_booking;
    // 2^64 bookings cannot happen; saturating keeps the arithmetic panic-free regardless.
    state.next_booking = state.next_booking.saturating_add(1);
    let price_per_seat = state
        .showtimes
        .get(&new.showtime)
        .map_or(0, |s| u64::from(s.price_cents));
    let booking = Booking {
        id,
        token: new.token,
        showtime: new.showtime,
        price_cents: price_per_seat.saturating_mul(new.seats.len() as u64),
        seats: new.seats,
        user: new.user,
        created_at_ms: at.now_ms,
        log_index: at.index,
        hold: new.hold,
        status: BookingStatus::Confirmed,
        cancelled_at_ms: None,
    };
    if let Some(showtime) = state.showtimes.get_mut(&booking.showtime) {
        showtime.occupy(&booking.seats, Taker::Booking(id), &booking.user);
        record(
            showtime,
            at,
            &booking.user,
            action,
            &booking.seats,
            Some(id),
            booking.hold,
        );
    }
    state.index_booking(booking.clone());
    booking
}

/// Cancels a confirmed booking for its token's holder or an operator, freeing its seats; the
/// booking stays readable.
///
/// A customer whose token is not the booking's gets the same answer as for a booking that does
/// not exist, so ids cannot be probed.
pub(crate) fn cancel(state: &mut State, id: u64, by: Actor, at: At) -> Result<Effect, Rejection> {
    let booking = match by {
        Actor::Customer(token) => state.booking_with_token(id, &token)?,
        Actor::Operator => state
            .bookings
            .get(&id)
            .ok_or(Rejection::UnknownBooking { booking: id })?,
    };
    if booking.status == BookingStatus::Cancelled {
        return Err(Rejection::BookingCancelled { booking: id });
    }
    let Some(booking) = state.bookings.get_mut(&id) else {
        // Looked up just above; unreachable, but refusing is safer than panicking.
        return Err(Rejection::UnknownBooking { booking: id });
    };
    booking.status = BookingStatus::Cancelled;
    booking.cancelled_at_ms = Some(at.now_ms);
    let booking = booking.clone();
    state.cancelled_bookings.insert((at.now_ms, id));
    if let Some(showtime) = state.showtimes.get_mut(&booking.showtime) {
        showtime.vacate(&booking.seats, Taker::Booking(id), &booking.user);
        let who = match by {
            Actor::Customer(_) => booking.user.as_str(),
            Actor::Operator => OPERATOR_USER,
        };
        record(
            showtime,
            at,
            who,
            Action::Cancelled,
            &booking.seats,
            Some(id),
            booking.hold,
        );
    }
    Ok(Effect::Cancelled(booking))
}

/// Forgets cancelled bookings whose retention ended at or before `now_ms`, and the oldest ones
/// beyond [`MAX_RETAINED_BOOKINGS`]; at most [`MAX_PRUNES_PER_ENTRY`] per call.
pub(crate) fn prune(state: &mut State, now_ms: u64) {
    for _ in 0..MAX_PRUNES_PER_ENTRY {
        let Some(&(cancelled_at, id)) = state.cancelled_bookings.first() else {
            return;
        };
        let expired = cancelled_at.saturating_add(RETENTION_MS) <= now_ms;
        if !expired && state.cancelled_bookings.len() <= MAX_RETAINED_BOOKINGS {
            return;
        }
        state.cancelled_bookings.remove(&(cancelled_at, id));
        state.forget_booking(id);
    }
}

/// Logs a change on a showtime and moves its version to this entry.
pub(crate) fn record(
    showtime: &mut Showtime,
    at: At,
    user: &str,
    action: Action,
    seats: &[SeatId],
    booking: Option<u64>,
    hold: Option<u64>,
) {
    showtime.version = at.index;
    activity::push(
        &mut showtime.activity,
        Change {
            index: at.index,
            at_ms: at.now_ms,
            user: user.to_string(),
            action,
            seats: seats.to_vec(),
            booking,
            hold,
        },
    );
}
