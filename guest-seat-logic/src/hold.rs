//! Holds: seats reserved for a while, then confirmed into a booking, released, or expired.
//!
//! Expiry runs on log time only. At the start of every apply (ticks included), [`sweep`] expires
//! every active hold whose `expires_at` is at or before the entry's log time; the index
//! `State::expiries` (ordered by expiry time) makes that O(expired x log n), and its first entry
//! is the `next-deadline` the host waits for before appending a tick. Finished holds stay
//! readable for a day of log time; [`prune`] removes them lazily, oldest first.
//!
//! Tokens are derived from the hold id and the log index through a 64-bit mixer: opaque and
//! identical on every replica. They are not a secret; the owner check is the access rule.

use crate::activity::{Action, SYSTEM_USER};
use crate::booking::{insert_booking, record, At};
use crate::command::{Effect, MAX_TTL_SECONDS};
use crate::rejection::Rejection;
use crate::seat::SeatId;
use crate::state::{Hold, HoldStatus, State, Taker, RETENTION_MS};

/// Holds `seats` (already checked) for `ttl_seconds` if the showtime has them all free.
pub(crate) fn hold(
    state: &mut State,
    showtime_id: u32,
    mut seats: Vec<SeatId>,
    user: String,
    ttl_seconds: u32,
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
    let id = state.next_hold;
    state.next_hold = state.next_hold.saturating_add(1);
    let token = new_token(state, id, at.index);
    let hold = Hold {
        id,
        token: token.clone(),
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
        for &seat in &hold.seats {
            showtime.seats.insert(seat, Taker::Hold(id));
        }
        showtime.holds.insert(id);
        record(
            showtime,
            at,
            &hold.user,
            Action::Held,
            &hold.seats,
            None,
            Some(token.clone()),
        );
    }
    state.tokens.insert(token, id);
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

/// Looks up an active hold of `user`, or says why it cannot be changed.
fn active_hold_of(state: &State, token: &str, user: &str) -> Result<u64, Rejection> {
    let hold = state.hold_by_token(token)?;
    if hold.user != user {
        return Err(Rejection::NotHoldOwner {
            hold: hold.token.clone(),
        });
    }
    match hold.status {
        HoldStatus::Active => Ok(hold.id),
        HoldStatus::Expired => Err(Rejection::HoldExpired {
            hold: hold.token.clone(),
        }),
        status @ (HoldStatus::Confirmed | HoldStatus::Released) => Err(Rejection::HoldFinished {
            hold: hold.token.clone(),
            status,
        }),
    }
}

/// Moves an active hold's expiry to `ttl_seconds` after now, capped at 2 h after creation.
pub(crate) fn extend(
    state: &mut State,
    token: &str,
    user: &str,
    ttl_seconds: u32,
    at: At,
) -> Result<Effect, Rejection> {
    let id = active_hold_of(state, token, user)?;
    let Some(hold) = state.holds.get_mut(&id) else {
        return Err(Rejection::UnknownHold {
            hold: token.to_string(),
        });
    };
    let old = hold.expires_at_ms;
    hold.expires_at_ms = expiry(hold.created_at_ms, at.now_ms, ttl_seconds);
    let hold = hold.clone();
    state.expiries.remove(&(old, id));
    state.expiries.insert((hold.expires_at_ms, id));
    if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
        let token = Some(hold.token.clone());
        record(
            showtime,
            at,
            user,
            Action::Extended,
            &hold.seats,
            None,
            token,
        );
    }
    Ok(Effect::Extended(hold))
}

/// Turns an active hold into a confirmed booking of the same seats.
pub(crate) fn confirm(
    state: &mut State,
    token: &str,
    user: &str,
    at: At,
) -> Result<Effect, Rejection> {
    let id = active_hold_of(state, token, user)?;
    let Some(hold) = finish(state, id, HoldStatus::Confirmed, at.now_ms) else {
        return Err(Rejection::UnknownHold {
            hold: token.to_string(),
        });
    };
    let booking = insert_booking(
        state,
        hold.showtime,
        hold.seats.clone(),
        hold.user.clone(),
        Some(hold.token.clone()),
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
pub(crate) fn release(
    state: &mut State,
    token: &str,
    user: &str,
    at: At,
) -> Result<Effect, Rejection> {
    let id = active_hold_of(state, token, user)?;
    let Some(hold) = finish(state, id, HoldStatus::Released, at.now_ms) else {
        return Err(Rejection::UnknownHold {
            hold: token.to_string(),
        });
    };
    if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
        let token = Some(hold.token.clone());
        record(
            showtime,
            at,
            user,
            Action::Released,
            &hold.seats,
            None,
            token,
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
        for seat in &hold.seats {
            if showtime.seats.get(seat) == Some(&Taker::Hold(id)) {
                showtime.seats.remove(seat);
            }
        }
        showtime.holds.remove(&id);
    }
    Some(hold)
}

/// Expires every active hold due at `at.now_ms` (expires_at <= now), earliest first, recording
/// each on its showtime as done by `system`. Returns the expired holds.
pub(crate) fn sweep(state: &mut State, at: At) -> Vec<Hold> {
    let mut expired = Vec::new();
    while let Some(&(expires_at, id)) = state.expiries.first() {
        if expires_at > at.now_ms {
            break;
        }
        match finish(state, id, HoldStatus::Expired, at.now_ms) {
            Some(hold) => {
                if let Some(showtime) = state.showtimes.get_mut(&hold.showtime) {
                    let token = Some(hold.token.clone());
                    record(
                        showtime,
                        at,
                        SYSTEM_USER,
                        Action::Expired,
                        &hold.seats,
                        None,
                        token,
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

/// Removes finished holds whose retention ended at or before `now_ms`.
pub(crate) fn prune(state: &mut State, now_ms: u64) {
    while let Some(&(finished_at, id)) = state.finished_holds.first() {
        if finished_at.saturating_add(RETENTION_MS) > now_ms {
            break;
        }
        state.finished_holds.remove(&(finished_at, id));
        if let Some(hold) = state.holds.remove(&id) {
            state.tokens.remove(&hold.token);
        }
    }
}

/// A fresh token for hold `id` created at log `index`: `h` and 16 hex digits of a SplitMix64
/// mix, re-mixed in the (astronomically unlikely) case it is already taken.
fn new_token(state: &State, id: u64, index: u64) -> String {
    let mut seed = id ^ index.rotate_left(32);
    loop {
        seed = mix(seed);
        let token = format!("h{seed:016x}");
        if !state.tokens.contains_key(&token) {
            return token;
        }
    }
}

/// SplitMix64's finaliser: a bijective 64-bit mixer.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
