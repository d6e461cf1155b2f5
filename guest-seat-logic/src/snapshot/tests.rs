//! Snapshot tests: round trips with catalog, holds, bookings, settings and activity; strict
//! refusal of damaged or inconsistent snapshots; no panic on any bytes (property tests).

use proptest::prelude::*;

use super::*;
use crate::booking::Actor;
use crate::catalog::{MovieInfo, TheaterInfo};
use crate::command::{Command, Effect};
use crate::contract::LogContext;
use crate::machine::Machine;
use crate::rules::{RuleSet, RULES};
use crate::testing::digest;
use crate::token::Kind;

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
            time_ms: t0 + at,
        };
        match machine
            .apply(&ctx, &crate::machine::encode(&command))
            .result
        {
            Ok(bytes) => crate::machine::decode::<crate::command::Applied>(&bytes)
                .map(|a| a.effect)
                .unwrap_or(Effect::Tick),
            Err(e) => panic!("setup command {command:?} refused: {e:?}"),
        }
    };
    let seat = |t: &str| SeatId::parse(t).unwrap_or(SeatId::new(0, 0));
    let hold = |showtime, s: &str, ttl, token| Command::Hold {
        showtime,
        seats: vec![seat(s)],
        user: "alice".into(),
        ttl_seconds: ttl,
        token,
    };
    let held = |effect: Effect| match effect {
        Effect::Held(h) => h.id,
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
    let expiring = held(run(&mut machine, 0, hold(90, "a1", 5, digest(Kind::Hold))));
    let confirmed = digest(Kind::Hold);
    held(run(&mut machine, 0, hold(90, "b1", 60, confirmed)));
    run(
        &mut machine,
        1,
        Command::Confirm {
            hold: confirmed,
            token: digest(Kind::Booking),
        },
    );
    let released = digest(Kind::Hold);
    held(run(&mut machine, 1, hold(1, "a1", 60, released)));
    run(&mut machine, 2, Command::Release { hold: released });
    held(run(
        &mut machine,
        10_000,
        hold(1, "d6", 600, digest(Kind::Hold)),
    ));
    run(
        &mut machine,
        10_000,
        Command::Book {
            showtime: 2,
            seats: vec![seat("c3")],
            user: "bob".into(),
            token: digest(Kind::Booking),
        },
    );
    let bobs = digest(Kind::Booking);
    run(
        &mut machine,
        10_000,
        Command::Book {
            showtime: 2,
            seats: vec![seat("c4")],
            user: "bob".into(),
            token: bobs,
        },
    );
    run(
        &mut machine,
        10_001,
        Command::Cancel {
            booking: 3,
            by: Actor::Customer(bobs),
        },
    );
    run(
        &mut machine,
        10_001,
        Command::UpdateSettings {
            settings: Settings {
                max_seats_per_customer: 7,
            },
        },
    );
    let state = machine.state().clone();
    assert!(state
        .holds
        .values()
        .any(|h| h.id == expiring && h.status == HoldStatus::Expired));
    assert_eq!(state.expiries.len(), 1);
    state
}

#[test]
fn snapshot_round_trip_restores_the_same_state() {
    let state = busy_state();
    let bytes = write(&state);
    assert_eq!(&bytes[..4], &SNAPSHOT_FORMAT.to_le_bytes());
    assert_eq!(read(&bytes), Ok(state));
}

#[test]
fn default_and_empty_states_round_trip() {
    assert_eq!(read(&write(&State::default())), Ok(State::default()));
    assert_eq!(read(&write(&State::empty())), Ok(State::empty()));
}

#[test]
fn both_formats_carry_the_undated_first_start_state_without_a_new_field() {
    // The fresh state is undated by its clock of 0 alone: every format this build reads keeps
    // the clock, so a restored fresh state still asks for its dating tick at once.
    let fresh = State::default();
    let formats: &[u32] = if cfg!(feature = "v2") { &[1, 2] } else { &[1] };
    for &format in formats {
        let restored = read(&encode(&fresh, format));
        assert_eq!(
            restored.as_ref().map(|s| s.clock_ms),
            Ok(0),
            "format {format}"
        );
        assert_eq!(
            restored.as_ref().map(State::next_deadline),
            Ok(Some(0)),
            "format {format}"
        );
        assert!(
            restored
                .iter()
                .flat_map(|s| s.showtimes.values())
                .all(|s| s.starts_at_ms == 0),
            "format {format}"
        );
    }
}

#[test]
fn restore_refuses_formats_newer_or_older_than_it_reads() {
    let mut bytes = write(&State::default());
    let newer = SNAPSHOT_FORMAT + 1;
    bytes[..4].copy_from_slice(&newer.to_le_bytes());
    let err = read(&bytes).err().unwrap_or_default();
    assert_eq!(
        err,
        format!("snapshot format {newer} is newer than this plugin reads ({SNAPSHOT_FORMAT})")
    );
    bytes[..4].copy_from_slice(&0u32.to_le_bytes());
    let err = read(&bytes).err().unwrap_or_default();
    assert!(err.contains("snapshot format 0 is older"), "{err}");
}

#[test]
fn format_2_is_the_rule_set_followed_by_the_format_1_body() {
    let state = busy_state();
    let one = encode(&state, 1);
    let two = encode(&state, 2);
    let rules = postcard::to_allocvec(&state.rules).unwrap_or_default();
    assert_eq!(&two[..4], &2u32.to_le_bytes());
    assert_eq!(&two[4..4 + rules.len()], &rules[..]);
    assert_eq!(&two[4 + rules.len()..], &one[4..]);
}

#[test]
fn format_1_restores_with_this_builds_rules() {
    // The migration: a format 1 snapshot records no rules, so the restoring build's apply.
    let mut state = busy_state();
    state.rules = RuleSet {
        max_seats_per_request: 3,
        no_stranded_seats: !RULES.no_stranded_seats,
    };
    let restored = read(&encode(&state, 1));
    state.rules = RULES;
    assert_eq!(restored, Ok(state));
}

#[cfg(not(feature = "v2"))]
#[test]
fn v1_refuses_a_format_2_snapshot() {
    let err = read(&encode(&busy_state(), 2)).err().unwrap_or_default();
    assert_eq!(err, "snapshot format 2 is newer than this plugin reads (1)");
}

/// A state as plugin 1.1.0 leaves it: a 10-seat booking and a single-seat gap (a2 of showtime
/// 1), both allowed by the version 1 rules.
#[cfg(feature = "v2")]
fn v1_state() -> State {
    let mut state = busy_state();
    state.rules = crate::rules::V1_RULES;
    state.settings = Settings::default();
    let ctx = LogContext {
        index: 100,
        term: 1,
        time_ms: state.clock_ms,
    };
    let ten = ["a1", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5"];
    let book = Command::Book {
        showtime: 3,
        seats: ten.iter().filter_map(|t| SeatId::parse(t)).collect(),
        user: "carol".into(),
        token: digest(Kind::Booking),
    };
    let now = state.clock_ms;
    assert!(matches!(
        book.apply(&mut state, &ctx, now),
        Ok(Effect::Booked(_))
    ));
    state
}

#[cfg(feature = "v2")]
#[test]
fn v2_migrates_a_v1_snapshot_and_applies_its_rules_from_then_on() {
    let v1 = v1_state();
    let bytes = encode(&v1, 1);
    let mut migrated = match read(&bytes) {
        Ok(state) => state,
        Err(e) => panic!("v1 snapshot refused: {e}"),
    };
    assert_eq!(migrated.rules, crate::rules::V2_RULES);
    assert_eq!(migrated.bookings, v1.bookings);
    assert_eq!(migrated.showtimes, v1.showtimes);
    // The old 10-seat booking and the gap stay; new requests follow the version 2 rules.
    let ctx = LogContext {
        index: 101,
        term: 1,
        time_ms: migrated.clock_ms,
    };
    let seven = Command::Book {
        showtime: 3,
        seats: ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
            .iter()
            .filter_map(|t| SeatId::parse(t))
            .collect(),
        user: "dave".into(),
        token: digest(Kind::Booking),
    };
    let now = migrated.clock_ms;
    assert_eq!(
        seven.apply(&mut migrated, &ctx, now),
        Err(crate::rejection::Rejection::TooManySeatsForRules { count: 7, max: 6 })
    );
    // Written again, it is format 2 and round-trips with its rules.
    let again = write(&migrated);
    assert_eq!(&again[..4], &2u32.to_le_bytes());
    assert_eq!(read(&again), Ok(migrated));
}

#[cfg(feature = "v2")]
#[test]
fn format_2_keeps_its_rules_and_refuses_bad_ones() {
    let mut state = busy_state();
    state.rules.max_seats_per_request = 4;
    assert_eq!(read(&encode(&state, 2)), Ok(state.clone()));
    for max in [0, 11] {
        state.rules.max_seats_per_request = max;
        let err = read(&encode(&state, 2)).err().unwrap_or_default();
        assert!(err.contains("seats per request"), "{max}: {err}");
    }
    // A rule set cut short, or a body cut short after it.
    assert!(read(&[2, 0, 0, 0, 6]).is_err());
    assert!(read(&[2, 0, 0, 0, 6, 1]).is_err());
    assert!(read(&[2, 0, 0, 0, 6, 2]).is_err());
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
    // The later record is named first, the one that took the seat before it second.
    assert!(
        err.contains("booking #9 and Booking(1) both hold seat"),
        "{err}"
    );
    let err = refusal(|s| {
        let active = s
            .holds
            .values()
            .find(|h| h.status == HoldStatus::Active)
            .cloned();
        if let Some(mut clash) = active {
            clash.id = 50;
            clash.token = digest(Kind::Hold);
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
    let err = refusal(|s| {
        let same = digest(Kind::Hold);
        for hold in s.holds.values_mut() {
            hold.token = same;
        }
    });
    assert!(err.contains("share a token digest"), "{err}");
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
    // A finished hold whose time is after the clock cannot have happened.
    let err = refusal(|s| {
        if let Some(h) = s.holds.values_mut().find(|h| h.finished_at_ms.is_some()) {
            h.finished_at_ms = Some(s.clock_ms + 1);
        }
    });
    assert!(err.contains("inconsistent status"), "{err}");
}

#[test]
fn restore_accepts_an_active_hold_already_due() {
    // One entry expires a bounded number of holds, so due holds may wait for the next entries.
    let mut state = busy_state();
    state.clock_ms += 3_600_000;
    let restored = read(&write(&state));
    assert_eq!(restored, Ok(state.clone()));
    assert!(state.next_deadline().is_some_and(|d| d < state.clock_ms));
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
    // A booking sharing a token digest with a hold.
    let err = refusal(|s| {
        let token = s.holds.values().next().map(|h| h.token);
        if let (Some(b), Some(token)) = (s.bookings.get_mut(&1), token) {
            b.token = token;
        }
    });
    assert!(err.contains("share a token digest"), "{err}");
}

#[test]
fn restore_refuses_settings_ids_and_counts_past_the_limits() {
    let err = refusal(|s| s.settings.max_seats_per_customer = 0);
    assert!(err.contains("settings"), "{err}");
    let err = refusal(|s| {
        if let Some(mut movie) = s.movies.remove(&1) {
            movie.id = crate::limits::MAX_ID + 1;
            s.movies.insert(movie.id, movie);
        }
        s.showtimes.retain(|_, show| show.movie != 1);
        s.bookings.retain(|_, b| b.showtime != 2);
        s.holds.retain(|_, h| h.showtime != 2);
    });
    assert!(err.contains("out of range"), "{err}");
    let err = refusal(|s| {
        let template = s.movies.get(&1).cloned();
        for id in 100..(100 + crate::limits::MAX_MOVIES as u32) {
            if let Some(mut movie) = template.clone() {
                movie.id = id;
                s.movies.insert(id, movie);
            }
        }
    });
    assert!(err.contains("at most 1000"), "{err}");
}

#[test]
fn snapshots_hold_digests_never_tokens() {
    let mut machine = Machine::new();
    let token = crate::testing::minted(Kind::Hold);
    let command = Command::Hold {
        showtime: 1,
        seats: vec![SeatId::new(0, 1)],
        user: "alice".into(),
        ttl_seconds: 60,
        token: token.digest,
    };
    let ctx = LogContext {
        index: 1,
        term: 1,
        time_ms: 1,
    };
    assert!(machine
        .apply(&ctx, &crate::machine::encode(&command))
        .result
        .is_ok());
    let bytes = machine.snapshot();
    let text = token.text.as_bytes();
    assert!(!bytes.windows(text.len()).any(|w| w == text));
    let secret = &token.text.as_bytes()[2..];
    assert!(!bytes.windows(secret.len()).any(|w| w == secret));
    assert!(bytes.windows(32).any(|w| w == token.digest.0));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn read_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = read(&bytes);
        let mut tagged = SNAPSHOT_FORMAT.to_le_bytes().to_vec();
        tagged.extend_from_slice(&bytes);
        let mut machine = Machine::new();
        let before = machine.clone();
        if machine.restore(&tagged).is_err() {
            prop_assert_eq!(machine, before);
        }
    }

    #[test]
    fn read_never_panics_on_mutated_snapshots(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = write(&busy_state());
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        // Either refused with a sentence, or a complete state that writes itself back.
        if let Ok(state) = read(&bytes) {
            prop_assert!(read(&write(&state)).is_ok());
        }
    }
}

/// How long snapshot and restore take natively for a state of `RESERVOIR_BOOKINGS` (default
/// 200,000) one-seat bookings by `RESERVOIR_USERS` (default 64, as the fill benchmark makes)
/// customers. A profiling aid:
/// `cargo test --release -p guest-seat-logic large_state -- --ignored --nocapture`.
#[test]
#[ignore = "profiling aid: run in release with --ignored --nocapture"]
fn large_state_snapshot_and_restore_timing() {
    let bookings: u64 = std::env::var("RESERVOIR_BOOKINGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let users: u64 = std::env::var("RESERVOIR_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let mut machine = Machine::new();
    let mut index = 0;
    let mut run = |machine: &mut Machine, command: Command| {
        index += 1;
        let ctx = LogContext {
            index,
            term: 1,
            time_ms: 1_800_000_000_000 + index,
        };
        if let Err(e) = machine
            .apply(&ctx, &crate::machine::encode(&command))
            .result
        {
            panic!("setup command {command:?} refused: {e:?}");
        }
    };
    run(
        &mut machine,
        Command::UpdateSettings {
            settings: Settings {
                max_seats_per_customer: 2600,
            },
        },
    );
    run(
        &mut machine,
        Command::CreateTheater {
            id: Some(100),
            info: TheaterInfo {
                name: "Big".into(),
                location: String::new(),
                layout: Layout {
                    rows: vec![100; 26],
                },
            },
        },
    );
    let per_showtime = 2600;
    let showtimes = bookings.div_ceil(per_showtime) as u32;
    for s in 0..showtimes {
        run(
            &mut machine,
            Command::CreateShowtime {
                id: Some(1000 + s),
                movie: 1,
                theater: 100,
                starts_at_ms: 1_900_000_000_000,
                price_cents: 900,
            },
        );
    }
    for n in 0..bookings {
        let showtime = 1000 + (n / per_showtime) as u32;
        let place = (n % per_showtime) as u16;
        run(
            &mut machine,
            Command::Book {
                showtime,
                seats: vec![SeatId::new((place / 100) as u8, place % 100 + 1)],
                user: format!("client-{}", n % users.max(1)),
                token: digest(Kind::Booking),
            },
        );
    }
    let started = std::time::Instant::now();
    let bytes = machine.snapshot();
    let snapshot = started.elapsed();
    let repeats: u32 = std::env::var("RESERVOIR_RESTORES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut restored = Machine::new();
    let started = std::time::Instant::now();
    for _ in 0..repeats {
        restored = Machine::new();
        restored.restore(&bytes).expect("restores");
    }
    let restore = started.elapsed() / repeats.max(1);
    println!(
        "{bookings} bookings: {} bytes, snapshot {snapshot:?}, restore {restore:?}",
        bytes.len()
    );
    assert_eq!(restored.snapshot(), bytes);
}
