//! Snapshot tests: round trips with catalog, holds, bookings and activity; strict refusal of
//! damaged or inconsistent snapshots.

use super::*;
use crate::catalog::{MovieInfo, TheaterInfo};
use crate::command::{Command, Effect};
use crate::contract::LogContext;
use crate::machine::Machine;

/// A state with every kind of fact: new catalog entries, an active hold, a confirmed hold, a
/// released hold, an expired hold, confirmed and cancelled bookings, activity.
fn busy_state() -> State {
    let mut machine = Machine::new();
    let t0 = 1_800_000_000_000;
    let mut index = 0;
    let mut run = |machine: &mut Machine, at: u64, command: Command| {
        index += 1;
        let ctx = LogContext {
            index,
            term: 1,
            leader_time_ms: t0 + at,
        };
        match machine.apply(&ctx, &crate::machine::encode(&command)) {
            Ok(bytes) => crate::machine::decode::<crate::command::Applied>(&bytes)
                .map(|a| a.effect)
                .unwrap_or(Effect::Tick),
            Err(e) => panic!("setup command {command:?} refused: {e:?}"),
        }
    };
    let seat = |t: &str| SeatId::parse(t).unwrap_or(SeatId::new(0, 0));
    let hold = |showtime, s: &str, ttl| Command::Hold {
        showtime,
        seats: vec![seat(s)],
        user: "alice".into(),
        ttl_seconds: ttl,
    };
    let token = |effect: Effect| match effect {
        Effect::Held(h) => h.token,
        other => panic!("{other:?}"),
    };
    run(
        &mut machine,
        0,
        Command::CreateMovie {
            id: None,
            info: MovieInfo {
                title: "Up".into(),
                year: 2009,
                duration_minutes: 96,
                genres: vec!["Animation".into()],
                director: "Pete Docter".into(),
                cast: vec![],
                languages: vec!["English".into()],
                age_rating: "PG".into(),
                synopsis: String::new(),
            },
        },
    );
    run(
        &mut machine,
        0,
        Command::CreateTheater {
            id: Some(9),
            info: TheaterInfo {
                name: "Annex".into(),
                location: "Yard".into(),
                layout: Layout { rows: vec![3, 5] },
            },
        },
    );
    run(
        &mut machine,
        0,
        Command::CreateShowtime {
            id: Some(90),
            movie: 5,
            theater: 9,
            starts_at_ms: t0,
            price_cents: 700,
        },
    );
    let expiring = token(run(&mut machine, 0, hold(90, "a1", 5)));
    let confirmed = token(run(&mut machine, 0, hold(90, "b1", 60)));
    run(
        &mut machine,
        1,
        Command::Confirm {
            hold: confirmed,
            user: "alice".into(),
        },
    );
    let released = token(run(&mut machine, 1, hold(1, "a1", 60)));
    run(
        &mut machine,
        2,
        Command::Release {
            hold: released,
            user: "alice".into(),
        },
    );
    token(run(&mut machine, 10_000, hold(1, "d6", 600)));
    run(
        &mut machine,
        10_000,
        Command::Book {
            showtime: 2,
            seats: vec![seat("c3")],
            user: "bob".into(),
        },
    );
    run(
        &mut machine,
        10_000,
        Command::Book {
            showtime: 2,
            seats: vec![seat("c4")],
            user: "bob".into(),
        },
    );
    run(
        &mut machine,
        10_001,
        Command::Cancel {
            booking: 3,
            user: "bob".into(),
        },
    );
    let state = machine.state().clone();
    assert!(state
        .holds
        .values()
        .any(|h| h.token == expiring && h.status == HoldStatus::Expired));
    assert_eq!(state.expiries.len(), 1);
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
fn default_and_empty_states_round_trip() {
    assert_eq!(read(&write(&State::default())), Ok(State::default()));
    assert_eq!(read(&write(&State::empty())), Ok(State::empty()));
}

#[test]
fn restore_refuses_unknown_formats() {
    let mut bytes = write(&State::default());
    bytes[..4].copy_from_slice(&2u32.to_le_bytes());
    let err = read(&bytes).err().unwrap_or_default();
    assert!(err.contains("unsupported snapshot format 2"), "{err}");
}

#[test]
fn restore_refuses_garbage_truncation_and_trailing_bytes() {
    assert!(read(&[]).is_err());
    assert!(read(&[1, 0]).is_err());
    assert!(read(&[1, 0, 0, 0, 0xff, 0xff, 0xff]).is_err());
    let full = write(&busy_state());
    for cut in (0..full.len()).step_by(7) {
        assert!(read(&full[..cut]).is_err(), "truncated at {cut} accepted");
    }
    let mut trailing = full.clone();
    trailing.push(0);
    assert!(read(&trailing).is_err());
}

/// Writes a changed copy of the busy state and returns restore's complaint.
fn refusal(change: impl FnOnce(&mut State)) -> String {
    let mut state = busy_state();
    change(&mut state);
    match read(&write(&state)) {
        Ok(_) => panic!("inconsistent snapshot accepted"),
        Err(e) => e,
    }
}

#[test]
fn restore_refuses_overlapping_holds_and_bookings() {
    let err = refusal(|s| {
        let mut clash = s.bookings[&1].clone();
        clash.id = 9;
        s.next_booking = 10;
        s.bookings.insert(9, clash);
    });
    assert!(err.contains("both hold seat"), "{err}");
    let err = refusal(|s| {
        let active = s
            .holds
            .values()
            .find(|h| h.status == HoldStatus::Active)
            .cloned();
        if let Some(mut clash) = active {
            clash.id = 50;
            clash.token = "hclash".into();
            s.next_hold = 51;
            s.holds.insert(50, clash);
        }
    });
    assert!(err.contains("both hold seat"), "{err}");
}

#[test]
fn restore_refuses_dangling_references() {
    let err = refusal(|s| {
        if let Some(b) = s.bookings.get_mut(&1) {
            b.seats.push(SeatId::new(0, 99));
        }
    });
    assert!(err.contains("lacks"), "{err}");
    let err = refusal(|s| {
        if let Some(b) = s.bookings.get_mut(&1) {
            b.showtime = 55;
        }
    });
    assert!(err.contains("missing showtime"), "{err}");
    let err = refusal(|s| {
        s.movies.remove(&5);
    });
    assert!(err.contains("missing movie"), "{err}");
    let err = refusal(|s| {
        s.theaters.remove(&9);
    });
    assert!(err.contains("missing theater"), "{err}");
}

#[test]
fn restore_refuses_inconsistent_holds() {
    // An active hold already due should have been expired by the entry that moved the clock.
    let err = refusal(|s| s.clock_ms += 3_600_000);
    assert!(err.contains("inconsistent status"), "{err}");
    let err = refusal(|s| {
        for hold in s.holds.values_mut() {
            hold.token = "hsame".into();
        }
    });
    assert!(err.contains("reuses token"), "{err}");
    let err = refusal(|s| {
        if let Some(h) = s
            .holds
            .values_mut()
            .find(|h| h.status == HoldStatus::Confirmed)
        {
            h.booking = None;
        }
    });
    assert!(err.contains("inconsistent status"), "{err}");
    let err = refusal(|s| s.next_hold = 1);
    assert!(err.contains("outside"), "{err}");
    let err = refusal(|s| {
        if let Some(h) = s.holds.values_mut().next() {
            h.expires_at_ms = h.created_at_ms + 7_200_001;
        }
    });
    assert!(err.contains("bad expiry"), "{err}");
}

#[test]
fn restore_refuses_inconsistent_bookings() {
    let err = refusal(|s| {
        if let Some(b) = s.bookings.get_mut(&3) {
            b.cancelled_at_ms = None;
            b.status = crate::state::BookingStatus::Cancelled;
        }
    });
    assert!(err.contains("inconsistent status"), "{err}");
    let err = refusal(|s| {
        if let Some(b) = s.bookings.get_mut(&1) {
            b.user = String::new();
        }
    });
    assert!(err.contains("booking #1"), "{err}");
}
