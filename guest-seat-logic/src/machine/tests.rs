//! Byte-level tests of `machine.*`: the clock, expiry by log time (ticks, refused commands,
//! bounded sweeps), retention pruning, the next deadline and topics that `apply` answers,
//! garbage input, snapshot/restore.

use super::*;
use crate::activity::Action;
use crate::command::{Applied, Effect, Refused};
use crate::limits::{MAX_EXPIRIES_PER_ENTRY, MAX_RETAINED_HOLDS};
use crate::query::{Answer, Reader};
use crate::seat::SeatId;
use crate::state::{BookingStatus, HoldStatus, RETENTION_MS};
use crate::testing::{ctx, digest};
use crate::token::{Digest, Kind};

/// Log time of the first test entry.
const T0: u64 = 1_800_000_000_000;

fn book(showtime: u32, seats: &[(u8, u16)], user: &str) -> Vec<u8> {
    book_with(showtime, seats, user, digest(Kind::Booking))
}

fn book_with(showtime: u32, seats: &[(u8, u16)], user: &str, token: Digest) -> Vec<u8> {
    encode(&Command::Book {
        showtime,
        seats: seats.iter().map(|&(r, n)| SeatId::new(r, n)).collect(),
        user: user.into(),
        token,
    })
}

fn hold(showtime: u32, seats: &[(u8, u16)], user: &str, ttl_seconds: u32) -> Vec<u8> {
    hold_with(showtime, seats, user, ttl_seconds, digest(Kind::Hold))
}

fn hold_with(
    showtime: u32,
    seats: &[(u8, u16)],
    user: &str,
    ttl_seconds: u32,
    token: Digest,
) -> Vec<u8> {
    encode(&Command::Hold {
        showtime,
        seats: seats.iter().map(|&(r, n)| SeatId::new(r, n)).collect(),
        user: user.into(),
        ttl_seconds,
        token,
    })
}

fn applied(result: Result<Vec<u8>, Vec<u8>>) -> Applied {
    match result.map(|b| decode::<Applied>(&b)) {
        Ok(Ok(applied)) => applied,
        other => panic!("expected applied, got {other:?}"),
    }
}

fn refused(result: Result<Vec<u8>, Vec<u8>>) -> Refused {
    match result.map_err(|b| decode::<Refused>(&b)) {
        Err(Ok(refused)) => refused,
        other => panic!("expected refused, got {other:?}"),
    }
}

/// Applies and expects success.
fn ok(machine: &mut Machine, index: u64, time_ms: u64, command: &[u8]) -> Applied {
    applied(machine.apply(&ctx(index, time_ms), command).result)
}

#[test]
fn apply_returns_result_topics_and_deadline_in_one_answer() {
    let mut machine = Machine::new();
    assert_eq!(
        machine.next_deadline(),
        Some(0),
        "the first-start showtimes wait for a date"
    );
    let answer = machine.apply(&ctx(1, T0), &book(1, &[(0, 1)], "alice"));
    // The first entry also dated every first-start showtime.
    assert_eq!(answer.topics, FIRST_TOPICS);
    assert_eq!(answer.next_deadline, None);
    let first = applied(answer.result);
    assert!(matches!(first.effect, Effect::Booked(ref b) if b.id == 1));
    assert!(first.expired.is_empty());
    let answer = machine.apply(&ctx(1, T0), &book(1, &[(0, 2)], "alice"));
    assert_eq!(answer.topics, ["showtime/1"]);
    let answer = machine.apply(&ctx(2, T0), &hold(2, &[(0, 1)], "bob", 60));
    assert_eq!(answer.next_deadline, Some(T0 + 60_000));
    assert_eq!(answer.topics, ["showtime/2"]);
    let answer = machine.apply(&ctx(3, T0), &book(1, &[(0, 1)], "bob"));
    assert!(answer.topics.is_empty());
    assert_eq!(answer.next_deadline, Some(T0 + 60_000));
    let second = refused(answer.result);
    assert!(matches!(second.rejection, Rejection::SeatsTaken { .. }));
}

#[test]
fn apply_refuses_garbage_without_changing_state() {
    let mut machine = Machine::new();
    for garbage in [&b"\xff\xff\xff"[..], b"\x00", b"hello world"] {
        let answer = machine.apply(&ctx(1, 0), garbage);
        assert!(answer.topics.is_empty());
        let r = refused(answer.result);
        assert!(matches!(r.rejection, Rejection::Undecodable { .. }));
    }
    let mut trailing = book(1, &[(0, 1)], "alice");
    trailing.push(0);
    assert!(machine.apply(&ctx(1, 0), &trailing).result.is_err());
    assert_eq!(machine, Machine::new());
}

/// The topics of the entry that dates the first-start showtimes.
const FIRST_TOPICS: [&str; 5] = [
    "showtime/1",
    "showtime/2",
    "showtime/3",
    "showtime/4",
    "showtime/5",
];

#[test]
fn empty_command_is_a_tick_that_answers_ok() {
    let mut machine = Machine::new();
    let answer = machine.apply(&ctx(1, T0), &[]);
    assert_eq!(answer.topics, FIRST_TOPICS);
    let tick = applied(answer.result);
    assert_eq!(tick.effect, Effect::Tick);
    assert!(tick.expired.is_empty());
    assert_eq!(machine.state().clock_ms, T0);
    let answer = machine.apply(&ctx(2, T0 + 1), &[]);
    assert!(answer.topics.is_empty());
    assert_eq!(answer.next_deadline, None);
}

#[test]
fn the_first_entry_dates_the_first_start_showtimes_from_its_log_time() {
    let fresh = Machine::new();
    // Reads before the first entry work: the showtimes start at 0 until dated.
    let before = fresh.answer(&encode(&Query::Showtime { showtime: 1 }));
    assert!(matches!(before, Ok(Answer::Showtime(ref d)) if d.summary.starts_at_ms == 0));
    // Two replicas, one restored from the fresh state's snapshot (as the host installs a
    // plugin), date the showtimes alike from the entry's log time alone.
    let mut one = Machine::new();
    let mut two = Machine::new();
    assert_eq!(two.restore(&fresh.snapshot()), Ok(Some(0)));
    for machine in [&mut one, &mut two] {
        ok(machine, 1, T0, &[]);
    }
    assert_eq!(one, two);
    let dates: Vec<(u32, u64)> = one
        .state()
        .showtimes
        .values()
        .map(|s| (s.id, s.starts_at_ms))
        .collect();
    assert_eq!(dates, crate::schedule::first_dates(T0));
    assert!(dates.iter().all(|&(_, at)| at > T0));
    // A later entry (or a restore of a dated state) never dates them again.
    ok(&mut one, 2, T0 + 3 * 86_400_000, &[]);
    assert_eq!(one.state().showtimes[&1].starts_at_ms, dates[0].1);
    let mut three = Machine::new();
    assert_eq!(three.restore(&one.snapshot()), Ok(None));
    ok(&mut three, 3, T0 + 4 * 86_400_000, &[]);
    assert_eq!(three.state().showtimes[&1].starts_at_ms, dates[0].1);
}

#[test]
fn hold_expires_at_the_first_entry_at_or_after_its_expiry() {
    let mut machine = Machine::new();
    let token = digest(Kind::Hold);
    ok(
        &mut machine,
        1,
        T0,
        &hold_with(2, &[(0, 1), (0, 2)], "alice", 60, token),
    );
    let expires = T0 + 60_000;
    assert_eq!(machine.next_deadline(), Some(expires));
    // One millisecond early: still active.
    let early = machine.apply(&ctx(2, expires - 1), &[]);
    assert!(applied(early.result).expired.is_empty());
    assert_eq!(early.next_deadline, Some(expires));
    // Exactly at the expiry: the tick frees the seats.
    let answer = machine.apply(&ctx(3, expires), &[]);
    assert_eq!(answer.topics, ["showtime/2"]);
    assert_eq!(answer.next_deadline, None);
    let tick = applied(answer.result);
    assert_eq!(tick.expired.len(), 1);
    assert_eq!(tick.expired[0].id, 1);
    assert_eq!(tick.expired[0].status, HoldStatus::Expired);
    assert_eq!(tick.expired[0].finished_at_ms, Some(expires));
    let showtime = &machine.state().showtimes[&2];
    assert!(showtime.seats.is_empty() && showtime.holds.is_empty());
    assert_eq!(showtime.counts(), (80, 0, 0));
    assert_eq!(showtime.version, 3);
    let change = showtime.activity.back().cloned();
    assert_eq!(
        change.map(|c| (c.index, c.at_ms, c.user, c.action, c.hold)),
        Some((3, expires, "system".to_string(), Action::Expired, Some(1)))
    );
    // Changing an expired hold: hold-expired.
    let confirm = encode(&Command::Confirm {
        hold: token,
        token: digest(Kind::Booking),
    });
    let late = refused(machine.apply(&ctx(4, expires + 5), &confirm).result);
    assert_eq!(late.rejection, Rejection::HoldExpired { hold: 1 });
    assert!(late.expired.is_empty());
}

#[test]
fn expiry_happens_before_the_command_even_when_it_is_refused() {
    let mut machine = Machine::new();
    ok(&mut machine, 1, T0, &hold(2, &[(0, 1)], "alice", 10));
    ok(&mut machine, 2, T0, &hold(3, &[(0, 1)], "alice", 20));
    // A refused command at a time both holds are due: both expire anyway.
    let answer = machine.apply(&ctx(3, T0 + 30_000), &book(9, &[(0, 1)], "bob"));
    assert_eq!(answer.topics, ["showtime/2", "showtime/3"]);
    let r = refused(answer.result);
    assert_eq!(r.rejection, Rejection::UnknownShowtime { showtime: 9 });
    assert_eq!(r.expired.len(), 2);
    // An accepted command on a seat freed by the sweep of its own entry succeeds.
    ok(
        &mut machine,
        4,
        T0 + 40_000,
        &hold(1, &[(0, 1)], "alice", 10),
    );
    let answer = machine.apply(&ctx(5, T0 + 50_000), &book(1, &[(0, 1)], "bob"));
    assert_eq!(answer.topics, ["showtime/1"]);
    let a = applied(answer.result);
    assert_eq!(a.expired.len(), 1);
    assert!(matches!(a.effect, Effect::Booked(_)));
}

#[test]
fn one_entry_expires_a_bounded_number_of_holds_and_the_rest_follow() {
    let mut machine = Machine::new();
    let theater = encode(&Command::CreateTheater {
        id: Some(9),
        info: crate::catalog::TheaterInfo {
            name: "Big".into(),
            location: String::new(),
            layout: crate::seat::Layout::uniform(26, 30),
        },
    });
    ok(&mut machine, 1, T0, &theater);
    let showtime = encode(&Command::CreateShowtime {
        id: Some(90),
        movie: 1,
        theater: 9,
        starts_at_ms: T0,
        price_cents: 100,
    });
    ok(&mut machine, 2, T0, &showtime);
    // 620 one-seat holds by 620 customers, all due at the same time.
    let layout = machine.state().showtimes[&90].layout.clone();
    let mut index = 2;
    let mut tokens = Vec::new();
    for seat in layout.seats().take(MAX_EXPIRIES_PER_ENTRY + 120) {
        index += 1;
        let token = digest(Kind::Hold);
        let command = encode(&Command::Hold {
            showtime: 90,
            seats: vec![seat],
            user: format!("user{index}"),
            ttl_seconds: 60,
            token,
        });
        ok(&mut machine, index, T0, &command);
        tokens.push(token);
    }
    assert_eq!(
        tokens.len(),
        MAX_EXPIRIES_PER_ENTRY + 120,
        "not enough seats"
    );
    let due = T0 + 60_000;
    let first = machine.apply(&ctx(index + 1, due), &[]);
    assert_eq!(applied(first.result).expired.len(), MAX_EXPIRIES_PER_ENTRY);
    // The rest are due already: the deadline is in the past, so the leader ticks at once.
    assert_eq!(first.next_deadline, Some(due));
    // A due hold not yet swept cannot be changed any more.
    let last = tokens.last().copied().unwrap_or(Digest([0; 32]));
    let extend = encode(&Command::Extend {
        hold: last,
        ttl_seconds: 60,
    });
    let refusal = refused(machine.apply(&ctx(index + 2, due), &extend).result);
    assert!(matches!(refusal.rejection, Rejection::HoldExpired { .. }));
    assert_eq!(refusal.expired.len(), 120);
    assert_eq!(machine.next_deadline(), None);
    assert!(machine
        .state()
        .holds
        .values()
        .all(|h| h.status == HoldStatus::Expired));
}

#[test]
fn clock_never_runs_backwards() {
    let mut machine = Machine::new();
    ok(&mut machine, 1, T0 + 5000, &book(1, &[(0, 1)], "alice"));
    // An entry with an earlier log time (a host that broke its promise).
    let late = ok(&mut machine, 2, T0, &book(1, &[(0, 2)], "alice"));
    assert!(matches!(late.effect, Effect::Booked(ref b) if b.created_at_ms == T0 + 5000));
    let h = ok(&mut machine, 3, T0, &hold(1, &[(0, 3)], "alice", 1));
    assert!(matches!(h.effect, Effect::Held(ref h) if h.expires_at_ms == T0 + 6000));
}

#[test]
fn finished_holds_and_cancelled_bookings_are_pruned_after_a_day() {
    let mut machine = Machine::new();
    let token = digest(Kind::Hold);
    ok(
        &mut machine,
        1,
        T0,
        &hold_with(2, &[(0, 1)], "alice", 60, token),
    );
    let release = encode(&Command::Release { hold: token });
    ok(&mut machine, 2, T0 + 1000, &release);
    let booking_token = digest(Kind::Booking);
    ok(
        &mut machine,
        3,
        T0 + 1000,
        &book_with(2, &[(0, 2)], "bob", booking_token),
    );
    let cancel = encode(&Command::Cancel {
        booking: 1,
        by: crate::booking::Actor::Customer(booking_token),
    });
    ok(&mut machine, 4, T0 + 2000, &cancel);
    let hold_query = encode(&Query::Hold { token });
    let booking_query = encode(&Query::Booking {
        booking: 1,
        reader: Reader::Customer(booking_token),
    });
    // Just under a day later: both still readable.
    ok(&mut machine, 5, T0 + 1000 + RETENTION_MS - 1, &[]);
    assert!(matches!(
        machine.answer(&hold_query),
        Ok(Answer::Hold(h)) if h.status == HoldStatus::Released
    ));
    assert!(matches!(
        machine.answer(&booking_query),
        Ok(Answer::Booking(b)) if b.status == BookingStatus::Cancelled
    ));
    // A day after release: the hold is gone, the booking (cancelled later) not yet.
    ok(&mut machine, 6, T0 + 1000 + RETENTION_MS, &[]);
    assert_eq!(machine.answer(&hold_query), Err(Rejection::UnknownHold));
    assert!(machine.answer(&booking_query).is_ok());
    ok(&mut machine, 7, T0 + 2000 + RETENTION_MS, &[]);
    assert_eq!(
        machine.answer(&booking_query),
        Err(Rejection::UnknownBooking { booking: 1 })
    );
    let state = machine.state();
    assert!(state.tokens.is_empty());
    assert!(state.finished_holds.is_empty());
    assert!(state.cancelled_bookings.is_empty());
    assert!(state.bookings_by_user.is_empty() && state.bookings_by_showtime.is_empty());
}

#[test]
fn retained_holds_are_capped_oldest_first() {
    let mut state = crate::state::State::default();
    let extra = 5u64;
    for id in 1..=(MAX_RETAINED_HOLDS as u64 + extra) {
        state.finished_holds.insert((T0 + id, id));
    }
    hold::prune(&mut state, T0);
    assert_eq!(state.finished_holds.len(), MAX_RETAINED_HOLDS);
    assert_eq!(
        state.finished_holds.first(),
        Some(&(T0 + extra + 1, extra + 1))
    );
}

#[test]
fn topics_name_the_showtime_each_command_changed() {
    let mut machine = Machine::new();
    let mut index = 0;
    let mut run = |command: Vec<u8>| {
        index += 1;
        let answer = machine.apply(&ctx(index, T0 + index), &command);
        (answer.topics, answer.result)
    };
    let one = |id: u32| vec![format!("showtime/{id}")];
    assert_eq!(
        run(Vec::new()).0,
        FIRST_TOPICS,
        "the first entry dates them"
    );
    let token = digest(Kind::Hold);
    assert_eq!(run(hold_with(2, &[(0, 1)], "alice", 60, token)).0, one(2));
    let booking_token = digest(Kind::Booking);
    let commands = [
        encode(&Command::Extend {
            hold: token,
            ttl_seconds: 60,
        }),
        encode(&Command::Confirm {
            hold: token,
            token: booking_token,
        }),
        encode(&Command::Cancel {
            booking: 1,
            by: crate::booking::Actor::Customer(booking_token),
        }),
        book(3, &[(0, 1)], "alice"),
    ];
    for (command, id) in commands.into_iter().zip([2, 2, 2, 3]) {
        assert_eq!(run(command).0, one(id));
    }
    let token = digest(Kind::Hold);
    assert_eq!(run(hold_with(4, &[(0, 1)], "bob", 60, token)).0, one(4));
    assert_eq!(run(encode(&Command::Release { hold: token })).0, one(4));
    let created = run(encode(&Command::CreateShowtime {
        id: Some(90),
        movie: 1,
        theater: 1,
        starts_at_ms: T0,
        price_cents: 100,
    }));
    assert_eq!(created.0, one(90));
    assert_eq!(
        run(encode(&Command::RemoveShowtime { showtime: 90 })).0,
        one(90)
    );
    // Catalog changes, settings and refusals without expiries name nothing.
    assert!(run(encode(&Command::RemoveMovie { movie: 9 })).0.is_empty());
    assert!(run(encode(&Command::UpdateSettings {
        settings: crate::state::Settings::default()
    }))
    .0
    .is_empty());
    assert!(run(book(3, &[(0, 1)], "bob")).0.is_empty());
    // Many showtimes sort as strings and appear once each.
    let holds: Vec<crate::state::Hold> = [10u32, 9, 10]
        .iter()
        .map(|&showtime| crate::state::Hold {
            id: 1,
            token: Digest([0; 32]),
            showtime,
            seats: Vec::new(),
            user: String::new(),
            created_at_ms: 0,
            expires_at_ms: 0,
            log_index: 0,
            status: HoldStatus::Expired,
            booking: None,
            finished_at_ms: None,
        })
        .collect();
    assert_eq!(
        crate::topics::topics(&holds, Some(&Effect::Tick)),
        ["showtime/10", "showtime/9"]
    );
}

#[test]
fn query_answers_and_refuses_unknown_ids() {
    let machine = Machine::new();
    let seats = machine.query(
        0,
        &encode(&Query::Seats {
            showtime: 1,
            filter: None,
        }),
    );
    match seats.map(|b| decode::<Answer>(&b)) {
        Ok(Ok(Answer::Seats { seats, .. })) => assert_eq!(seats.len(), 24),
        other => panic!("unexpected {other:?}"),
    }
    let missing = machine.query(
        0,
        &encode(&Query::Booking {
            booking: 5,
            reader: Reader::Staff,
        }),
    );
    assert_eq!(
        missing.map_err(|b| decode::<Rejection>(&b)),
        Err(Ok(Rejection::UnknownBooking { booking: 5 }))
    );
    assert!(machine.query(0, b"\xff").is_err());
    assert!(matches!(
        machine.answer(b"\xff"),
        Err(Rejection::Undecodable { bytes: 1 })
    ));
}

#[test]
fn restore_of_garbage_keeps_the_current_state() {
    let mut machine = Machine::new();
    ok(&mut machine, 1, T0, &book(1, &[(1, 1)], "alice"));
    let before = machine.clone();
    let mut good = machine.snapshot();
    let last = good.len() - 1;
    good[last] ^= 0xff;
    for bad in [vec![], vec![9, 0, 0, 0], b"garbage!".to_vec(), good] {
        assert!(machine.restore(&bad).is_err());
        assert_eq!(machine, before);
    }
}

#[test]
fn restore_replaces_the_state_and_answers_its_deadline() {
    let mut source = Machine::new();
    ok(&mut source, 1, T0, &book(1, &[(1, 1)], "alice"));
    ok(&mut source, 2, T0, &hold(2, &[(1, 1)], "alice", 30));
    let mut target = Machine::new();
    ok(&mut target, 1, T0, &book(1, &[(2, 2)], "bob"));
    assert_eq!(target.restore(&source.snapshot()), Ok(Some(T0 + 30_000)));
    assert_eq!(target, source);
    // A fresh state restores with a deadline due at once (its showtimes wait for a date).
    assert_eq!(target.restore(&Machine::new().snapshot()), Ok(Some(0)));
}

#[test]
fn info_reports_name_version_and_formats() {
    let info = Machine::info();
    assert_eq!(info.name, "seat-logic");
    if cfg!(feature = "v2") {
        assert_eq!(info.version, "2.1.0");
        assert_eq!((info.snapshot_format, info.min_restore_format), (2, 1));
        assert!(
            info.description.contains("at most 6 seats"),
            "{}",
            info.description
        );
    } else {
        assert_eq!(info.version, "1.1.0");
        assert_eq!((info.snapshot_format, info.min_restore_format), (1, 1));
    }
}

/// Valid encoded commands of every kind, for mutation.
fn sample_commands() -> Vec<Vec<u8>> {
    vec![
        book(1, &[(0, 1), (0, 2)], "alice"),
        hold(2, &[(1, 1)], "bob", 60),
        encode(&Command::Confirm {
            hold: digest(Kind::Hold),
            token: digest(Kind::Booking),
        }),
        encode(&Command::Cancel {
            booking: 1,
            by: crate::booking::Actor::Customer(digest(Kind::Booking)),
        }),
        encode(&Command::CreateTheater {
            id: Some(7),
            info: crate::catalog::TheaterInfo {
                name: "Hall".into(),
                location: "Here".into(),
                layout: crate::seat::Layout::uniform(3, 4),
            },
        }),
        encode(&Command::UpdateSettings {
            settings: crate::state::Settings::default(),
        }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    #[test]
    fn decoding_and_applying_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
    ) {
        let _ = decode::<Command>(&bytes);
        let mut machine = Machine::new();
        let answer = machine.apply(&ctx(1, T0), &bytes);
        let _ = crate::describe::describe(&bytes, Some(answer.result));
        let _ = machine.query(0, &bytes);
        let _ = crate::describe::describe(&bytes, Some(Ok(bytes.clone())));
        let _ = crate::describe::describe(&bytes, Some(Err(bytes.clone())));
    }

    #[test]
    fn mutated_commands_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
            1..6,
        ),
    ) {
        let mut bytes = sample_commands().swap_remove(which);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let mut machine = Machine::new();
        let answer = machine.apply(&ctx(1, T0), &bytes);
        let _ = crate::describe::describe(&bytes, Some(answer.result));
        // Whatever was applied, the state still snapshots and restores.
        let snapshot = machine.snapshot();
        proptest::prop_assert!(Machine::new().restore(&snapshot).is_ok());
    }
}
