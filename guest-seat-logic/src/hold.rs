//! Holds: seats reserved for a while, then confirmed into a booking, released, or expired.
//!
//! A hold belongs to whoever has its token: every change names the hold by the token's digest
//! (see [`crate::token`]), and the answers and the public activity name it by its id.
//!
//! Expiry runs on log time only. At the start of every apply (ticks included), [`sweep`] expires
//! active holds whose `expires_at` is at or before the entry's log time, earliest first; the
//! index `State::expiries` (ordered by expiry time) makes that O(expired x log n), and its first
//! entry is the `next-deadline` the host waits for before appending a tick. One entry expires at
//! most [`MAX_EXPIRIES_PER_ENTRY`] holds; any others are due already, so the next deadline is
//! in the past and the leader ticks again at once. A due hold that is still waiting for its
//! sweep cannot be extended or confirmed (it answers expired). Finished holds stay readable for
//! a day of log time; [`prune`] forgets them lazily, oldest first.

use crate::activity::{Action, SYSTEM_USER};
use crate::booking::{check_new_token, check_take, insert_booking, record, At, NewBooking};
use crate::command::{Effect, MAX_TTL_SECONDS};
use crate::limits::{
    MAX_EXPIRIES_PER_ENTRY, MAX_PRUNES_PER_ENTRY, MAX_RETAINED_HOLDS, RETENTION_MS,
};
use crate::rejection::Rejection;
use crate::seat::SeatId;
use crate::state::{Hold, HoldStatus, State, Taker, TokenOwner};
use crate::token::Digest;

/// A hold request, its shape already checked.
pub(crate) struct HoldRequest {
    /// Showtime id.
    pub showtime: u32,
    /// Seats, checked for count and duplicates.
    pub seats: Vec<SeatId>,
    /// Display name.
    pub user: String,
    /// Lifetime from now, checked.
    pub ttl_seconds: u32,
    /// Digest of the hold's token.
    pub token: Digest,
}

/// Holds the seats for `ttl_seconds` if the showtime has them all free and every rule holds.
pub(crate) fn hold(state: &mut State, request: HoldRequest, at: At) -> Result<Effect, Rejection> {
    let HoldRequest {
        showtime: showtime_id,
        mut seats,
        user,
        ttl_seconds,
        token,
    } = request;
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
    let id = state.next_hold;
    state.next_hold = state.next_hold.saturating_add(1);
    let hold = Hold {
        id,
        token,
        showtime: showtime_id,
        seats,
        user,
        created_at_ms: at.now_ms,
        expires_at_ms: expiry(at.now_ms, at.now_ms, ttl_seconds),
        log_index: at.index,
        status: HoldStatus::Active,
        booking: None,
        finished_at_ms: None,
    };
    if let Some(showtime) = state.showtimes.get_mut(&showtime_id) {
        showtime.occupy(&hold.seats, Taker::Hold(id), &hold.user);
        record(
            showtime,
            at,
            &hold.user,
            Action::Held,
            &hold.seats,
            None,
            Some(id),
        );
    }
    state.tokens.insert(token, TokenOwner::Hold(id));
    state.expiries.insert((hold.expires_at_ms, id));
    state.holds.insert(id, hold.clone());
    Ok(Effect::Held(hold))
}

/// The expiry time of a hold created at `created_ms` and extended at `now_ms`: `ttl` after now,
/// but never past [`MAX_TTL_SECONDS`] after creation.
fn expiry(created_ms: u64, now_ms: u64, ttl_seconds: u32) -> u64 {
    let wanted = now_ms.saturating_add(u64::from(ttl_seconds) * 1000);
    let cap = created_ms.saturating_add(u64::from(MAX_TTL_SECONDS) * 1000);
    wanted.min(cap)
}

/// The id of the active hold a token names, or why it cannot be changed.
fn active_hold(state: &State, token: &Digest, now_ms: u64) -> Result<u64, Rejection> {
    let hold = state.hold_by_token(token)?;
    match hold.status {
        // Due but not yet swept (the sweep is bounded per entry): as good as expired.
        HoldStatus::Active if hold.expires_at_ms <= now_ms => {
            Err(Rejection::HoldExpired { hold: hold.id })
        }
        HoldStatus::Active => Ok(hold.id),
        HoldStatus::Expired => Err(Rejection::HoldExpired { hold: hold.id }),
        status @ (HoldStatus::Confirmed | HoldStatus::Released) => Err(Rejection::HoldFinished {
            hold: hold.id,
            status,
        }),
    }
}

/// Moves an active hold's expiry to `ttl_seconds` after now, capped at 2 h after creation.
pub(crate) fn extend(
    state: &mut State,
    token: &Digest,
    ttl_seconds: u32,
    at: At,
) -> Result<Effect, Rejection> {
    let id = active_hold(state, token, at.now_ms)?;
    let Some(hold) = state.holds.get_mut(&id) else {
        return Err(Rejection::UnknownHold);
    };
    let old = hold.expires_at_ms;
    hold.expires_at_ms = expiry(hold.created_at_ms, at.now_ms, ttl_seconds);
    let hold = hold.clone();
    state.expiries.remove(&(old, id));
    state.expiries.insert((hold.expires_at_ms, id));
    if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
        record(
            showtime,
            at,
            &hold.user,
            Action::Extended,
            &hold.seats,
            None,
            Some(id),
        );
    }
    Ok(Effect::Extended(hold))
}

/// Turns an active hold into a confirmed booking of the same seats, owned by a new booking
/// token (the hold's token does not carry over).
pub(crate) fn confirm(
    state: &mut State,
    token: &Digest,
    booking_token: Digest,
    at: At,
) -> Result<Effect, Rejection> {
    let id = active_hold(state, token, at.now_ms)?;
    check_new_token(state, &booking_token)?;
    let Some(hold) = finish(state, id, HoldStatus::Confirmed, at.now_ms) else {
        return Err(Rejection::UnknownHold);
    };
    let booking = insert_booking(
        state,
        NewBooking {
            showtime: hold.showtime,
            seats: hold.seats.clone(),
            user: hold.user.clone(),
            token: booking_token,
            hold: Some(id),
        },
        at,
        Action::Confirmed,
    );
    let hold = match state.holds.get_mut(&id) {
        Some(stored) => {
            stored.booking = Some(booking.id);
            stored.clone()
        }
        None => hold,
    };
    Ok(Effect::Confirmed { hold, booking })
}

/// Gives up an active hold, freeing its seats.
pub(crate) fn release(state: &mut State, token: &Digest, at: At) -> Result<Effect, Rejection> {
    let id = active_hold(state, token, at.now_ms)?;
    let Some(hold) = finish(state, id, HoldStatus::Released, at.now_ms) else {
        return Err(Rejection::UnknownHold);
    };
    if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
        record(
            showtime,
            at,
            &hold.user,
            Action::Released,
            &hold.seats,
            None,
            Some(id),
        );
    }
    Ok(Effect::Released(hold))
}

/// Ends an active hold: sets its status, frees its seats, moves it from the expiry index to the
/// retention index. Returns the hold as it now is (`None` only for an unknown id).
fn finish(state: &mut State, id: u64, status: HoldStatus, now_ms: u64) -> Option<Hold> {
    let hold = state.holds.get_mut(&id)?;
    hold.status = status;
    hold.finished_at_ms = Some(now_ms);
    let hold = hold.clone();
    state.expiries.remove(&(hold.expires_at_ms, id));
    state.finished_holds.insert((now_ms, id));
    if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
        showtime.vacate(&hold.seats, Taker::Hold(id), &hold.user);
    }
    Some(hold)
}

/// Expires active holds due at `at.now_ms` (expires_at <= now), earliest first and at most
/// [`MAX_EXPIRIES_PER_ENTRY`], recording each on its showtime as done by `system`. Returns the
/// expired holds.
pub(crate) fn sweep(state: &mut State, at: At) -> Vec<Hold> {
    let mut expired = Vec::new();
    while expired.len() < MAX_EXPIRIES_PER_ENTRY {
        let Some(&(expires_at, id)) = state.expiries.first() else {
            break;
        };
        if expires_at > at.now_ms {
            break;
        }
        match finish(state, id, HoldStatus::Expired, at.now_ms) {
            Some(hold) => {
                if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
                    record(
                        showtime,
                        at,
                        SYSTEM_USER,
                        Action::Expired,
                        &hold.seats,
                        None,
                        Some(id),
                    );
                }
                expired.push(hold);
            }
            // An index entry without its hold cannot be built (restore checks); drop it anyway
            // so the loop always ends.
            None => {
                state.expiries.remove(&(expires_at, id));
            }
        }
    }
    expired
}

/// Forgets finished holds whose retention ended at or before `now_ms`, and the oldest ones
/// beyond [`MAX_RETAINED_HOLDS`]; at most [`MAX_PRUNES_PER_ENTRY`] per call.
pub(crate) fn prune(state: &mut State, now_ms: u64) {
    for _ in 0..MAX_PRUNES_PER_ENTRY {
        let Some(&(finished_at, id)) = state.finished_holds.first() else {
            return;
        };
        let expired = finished_at.saturating_add(RETENTION_MS) <= now_ms;
        if !expired && state.finished_holds.len() <= MAX_RETAINED_HOLDS {
            return;
        }
        state.finished_holds.remove(&(finished_at, id));
        state.forget_hold(id);
    }
}
