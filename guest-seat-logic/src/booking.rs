//! Bookings: direct booking (no hold), cancellation, and the step that records a new booking,
//! shared with hold confirmation.
//!
//! Each function checks every rule before its first write, so a refusal changes nothing.
//! Costs: k seats cost O(k log n) lookups and inserts; nothing clones the state.

use crate::activity::{self, Action, Change};
use crate::command::Effect;
use crate::rejection::Rejection;
use crate::seat::SeatId;
use crate::state::{Booking, BookingStatus, Showtime, State, Taker};

/// Where and when a command runs: its log index and its log time (the plugin clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    /// Log index of the entry.
    pub index: u64,
    /// Log time, ms since the Unix epoch (never earlier than any previous entry's).
    pub now_ms: u64,
}

/// Books `seats` (already checked by `check_seat_list`) if the showtime has them all free.
pub(crate) fn book(
    state: &mut State,
    showtime_id: u32,
    mut seats: Vec<SeatId>,
    user: String,
    at: At,
) -> Result<Effect, Rejection> {
    seats.sort_unstable();
    let showtime = state
        .showtimes
        .get(&showtime_id)
        .ok_or(Rejection::UnknownShowtime {
            showtime: showtime_id,
        })?;
    showtime.check_free(&seats)?;
    state.rules.check_take(showtime, &seats)?;
    // Every rule holds: mutate from here on, nothing below can fail.
    let booking = insert_booking(state, showtime_id, seats, user, None, at, Action::Booked);
    Ok(Effect::Booked(booking))
}

/// Records a new confirmed booking of seats the caller has checked are free (or held by the hold
/// being confirmed), takes the seats and logs the change. Cannot fail.
pub(crate) fn insert_booking(
    state: &mut State,
    showtime_id: u32,
    seats: Vec<SeatId>,
    user: String,
    hold: Option<String>,
    at: At,
    action: Action,
) -> Booking {
    let id = state.next_booking;
    // 2^64 bookings cannot happen; saturating keeps the arithmetic panic-free regardless.
    state.next_booking = state.next_booking.saturating_add(1);
    let price_per_seat = state
        .showtimes
        .get(&showtime_id)
        .map_or(0, |s| u64::from(s.price_cents));
    let booking = Booking {
        id,
        showtime: showtime_id,
        price_cents: price_per_seat.saturating_mul(seats.len() as u64),
        seats,
        user,
        created_at_ms: at.now_ms,
        log_index: at.index,
        hold,
        status: BookingStatus::Confirmed,
        cancelled_at_ms: None,
    };
    if let Some(showtime) = state.showtimes.get_mut(&showtime_id) {
        for &seat in &booking.seats {
            showtime.seats.insert(seat, Taker::Booking(id));
        }
        showtime.bookings.insert(id);
        record(
            showtime,
            at,
            &booking.user,
            action,
            &booking.seats,
            Some(id),
            booking.hold.clone(),
        );
    }
    state.bookings.insert(id, booking.clone());
    booking
}

/// Cancels a confirmed booking of `user`, freeing its seats; the booking stays readable.
pub(crate) fn cancel(state: &mut State, id: u64, user: &str, at: At) -> Result<Effect, Rejection> {
    let booking = state
        .bookings
        .get(&id)
        .ok_or(Rejection::UnknownBooking { booking: id })?;
    if booking.user != user {
        return Err(Rejection::NotBookingOwner { booking: id });
    }
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
        for seat in &booking.seats {
            showtime.seats.remove(seat);
        }
        showtime.bookings.remove(&id);
        record(
            showtime,
            at,
            user,
            Action::Cancelled,
            &booking.seats,
            Some(id),
            booking.hold.clone(),
        );
    }
    Ok(Effect::Cancelled(booking))
}

/// Removes cancelled bookings whose retention ended at or before `now_ms`.
pub(crate) fn prune(state: &mut State, now_ms: u64) {
    while let Some(&(cancelled_at, id)) = state.cancelled_bookings.first() {
        if cancelled_at.saturating_add(crate::state::RETENTION_MS) > now_ms {
            break;
        }
        state.cancelled_bookings.remove(&(cancelled_at, id));
        state.bookings.remove(&id);
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
    hold: Option<String>,
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
