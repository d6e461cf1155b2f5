//! Snapshot format: how the whole state is written for Raft snapshots and read back.
//!
//! # Format
//!
//! ```text
//! snapshot = format body
//! format   = u32, little-endian     ; 1 for this version
//! body     = postcard(SnapshotV1)   ; nothing may follow it
//! ```
//!
//! The body holds only the facts (showtimes, bookings, counters); the derived indexes (which seat
//! is held by which booking) are rebuilt on restore. That keeps the format independent of the
//! in-memory structure, and rebuilding doubles as a consistency check: a snapshot whose bookings
//! overlap or point at missing seats is refused. Decoding and checking finish before anything is
//! replaced, so a refused restore leaves the old state in place.
//!
//! A later format (say, with holds) gets a new `SnapshotV2` and a new tag; `restore` keeps reading
//! every tag from [`MIN_RESTORE_FORMAT`] on.

use serde::{Deserialize, Serialize};

use crate::command::check_user;
use crate::seat::Layout;
use crate::state::{Booking, Showtime, State};

/// Format `snapshot` writes.
pub const SNAPSHOT_FORMAT: u32 = 1;

/// Oldest format `restore` accepts.
pub const MIN_RESTORE_FORMAT: u32 = 1;

/// Body of a format-1 snapshot.
#[derive(Debug, Serialize, Deserialize)]
struct SnapshotV1 {
    /// Plugin clock.
    clock_ms: u64,
    /// Id of the next booking.
    next_booking: u64,
    /// Showtimes by ascending id.
    showtimes: Vec<(u32, Layout)>,
    /// Live bookings by ascending id.
    bookings: Vec<Booking>,
}

/// Writes the state as format-1 snapshot bytes.
pub fn write(state: &State) -> Vec<u8> {
    let body = SnapshotV1 {
        clock_ms: state.clock_ms,
        next_booking: state.next_booking,
        showtimes: state
            .showtimes
            .values()
            .map(|s| (s.id, s.layout.clone()))
            .collect(),
        bookings: state.bookings.values().cloned().collect(),
    };
    let mut bytes = SNAPSHOT_FORMAT.to_le_bytes().to_vec();
    // Encoding derived types into a Vec cannot fail; an empty body would be refused by restore.
    bytes.extend(postcard::to_allocvec(&body).unwrap_or_default());
    bytes
}

/// Reads snapshot bytes into a complete, checked state.
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
    match u32::from_le_bytes(*tag) {
        1 => read_v1(body),
        other => Err(format!(
            "unsupported snapshot format {other}: this plugin reads formats \
             {MIN_RESTORE_FORMAT} to {SNAPSHOT_FORMAT}"
        )),
    }
}

/// Decodes and checks a format-1 body.
fn read_v1(body: &[u8]) -> Result<State, String> {
    let (snapshot, rest) = postcard::take_from_bytes::<SnapshotV1>(body)
        .map_err(|e| format!("snapshot format 1 body does not decode: {e}"))?;
    if !rest.is_empty() {
        return Err(format!(
            "snapshot format 1 body has {} unexpected trailing bytes",
            rest.len()
        ));
    }
    let mut state = State::empty();
    state.clock_ms = snapshot.clock_ms;
    state.next_booking = snapshot.next_booking;
    for (id, layout) in snapshot.showtimes {
        layout
            .check()
            .map_err(|e| format!("snapshot showtime {id}: {e}"))?;
        if state
            .showtimes
            .insert(id, Showtime::new(id, layout))
            .is_some()
        {
            return Err(format!("snapshot lists showtime {id} twice"));
        }
    }
    for booking in snapshot.bookings {
        let id = booking.id;
        if id == 0 || id >= state.next_booking {
            return Err(format!(
                "snapshot booking #{id} is outside 1..{}",
                state.next_booking
            ));
        }
        check_user(&booking.user)
            .map_err(|e| format!("snapshot booking #{id}: {}", e.summary()))?;
        if booking.seats.is_empty() {
            return Err(format!("snapshot booking #{id} has no seats"));
        }
        let showtime = state.showtimes.get_mut(&booking.showtime).ok_or_else(|| {
            format!(
                "snapshot booking #{id} is for missing showtime {}",
                booking.showtime
            )
        })?;
        for &seat in &booking.seats {
            if !showtime.layout.contains(seat) {
                return Err(format!(
                    "snapshot booking #{id} holds seat {seat}, which showtime {} lacks",
                    booking.showtime
                ));
            }
            if let Some(other) = showtime.taken.insert(seat, id) {
                return Err(format!(
                    "snapshot bookings #{other} and #{id} both hold seat {seat} of showtime {}",
                    booking.showtime
                ));
            }
        }
        showtime.bookings.insert(id);
        if state.bookings.insert(id, booking).is_some() {
            return Err(format!("snapshot lists booking #{id} twice"));
        }
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Command;
    use crate::contract::LogContext;
    use crate::seat::SeatId;

    fn busy_state() -> State {
        let mut state = State::default();
        let ctx = LogContext {
            index: 3,
            term: 1,
            leader_time_ms: 1_700_000_000_000,
        };
        let commands = [
            Command::CreateShowtime {
                showtime: 7,
                layout: Layout { rows: vec![3, 5] },
            },
            Command::Book {
                showtime: 1,
                seats: vec![SeatId::new(0, 1), SeatId::new(3, 6)],
                user: "alice".into(),
            },
            Command::Book {
                showtime: 7,
                seats: vec![SeatId::new(1, 5)],
                user: "bob".into(),
            },
            Command::Book {
                showtime: 1,
                seats: vec![SeatId::new(2, 2)],
                user: "carol".into(),
            },
            Command::Cancel {
                booking: 3,
                user: "carol".into(),
            },
        ];
        for command in commands {
            if let Err(e) = command.apply(&mut state, &ctx) {
                panic!("setup command refused: {e:?}");
            }
        }
        state
    }

    #[test]
    fn snapshot_round_trip_restores_the_same_state() {
        let state = busy_state();
        let bytes = write(&state);
        assert_eq!(&bytes[..4], &1u32.to_le_bytes());
        assert_eq!(read(&bytes), Ok(state));
    }

    #[test]
    fn default_state_round_trips() {
        assert_eq!(read(&write(&State::default())), Ok(State::default()));
    }

    #[test]
    fn restore_refuses_unknown_formats() {
        let mut bytes = write(&State::default());
        bytes[..4].copy_from_slice(&2u32.to_le_bytes());
        let err = read(&bytes).err().unwrap_or_default();
        assert!(err.contains("unsupported snapshot format 2"), "{err}");
    }

    #[test]
    fn restore_refuses_garbage_and_truncation() {
        assert!(read(&[]).is_err());
        assert!(read(&[1, 0]).is_err());
        assert!(read(&[1, 0, 0, 0, 0xff, 0xff, 0xff]).is_err());
        let full = write(&busy_state());
        for cut in 0..full.len() {
            assert!(read(&full[..cut]).is_err(), "truncated at {cut} accepted");
        }
        let mut trailing = full.clone();
        trailing.push(0);
        assert!(read(&trailing).is_err());
    }

    #[test]
    fn restore_refuses_overlapping_bookings() {
        let mut state = busy_state();
        let mut clash = state.bookings[&1].clone();
        clash.id = 9;
        state.next_booking = 10;
        state.bookings.insert(9, clash);
        let err = read(&write(&state)).err().unwrap_or_default();
        assert!(err.contains("both hold seat"), "{err}");
    }

    #[test]
    fn restore_refuses_bookings_of_missing_seats_or_showtimes() {
        let mut state = busy_state();
        if let Some(b) = state.bookings.get_mut(&1) {
            b.seats.push(SeatId::new(0, 99));
        }
        assert!(read(&write(&state)).is_err());
        let mut state = busy_state();
        if let Some(b) = state.bookings.get_mut(&1) {
            b.showtime = 55;
        }
        assert!(read(&write(&state)).is_err());
    }
}
