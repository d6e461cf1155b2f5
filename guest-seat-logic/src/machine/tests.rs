//! Byte-level tests of `machine.*`: the clock, expiry by log time (ticks, refused commands),
//! retention pruning, `next-deadline`, garbage input, snapshot/restore, and `topics`.

use super::*;
use crate::activity::Action;
use crate::command::{Applied, Effect, Refused};
use crate::query::Answer;
use crate::seat::SeatId;
use crate::state::{BookingStatus, HoldStatus, RETENTION_MS};
use crate::topics::topics;

/// Log time of the first test entry.
const T0: u64 = 1_800_000_000_000;

fn ctx(index: u64, leader_time_ms: u64) -> LogContext {
    LogContext {
        index,
        term: 1,
        leader_time_ms,
    }
}

fn book(showtime: u32, seats: &[(u8, u16)], user: &str) -> Vec<u8> {
    encode(&Command::Book {
        showtime,
        seats: seats.iter().map(|&(r, n)| SeatId::new(r, n)).collect(),
        user: user.into(),
    })
}

fn hold(showtime: u32, seats: &[(u8, u16)], user: &str, ttl_seconds: u32) -> Vec<u8> {
    encode(&Command::Hold {
        showtime,
        seats: seats.iter().map(|&(r, n)| SeatId::new(r, n)).collect(),
        user: user.into(),
        ttl_seconds,
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

fn token_of(applied: &Applied) -> String {
    match &applied.effect {
        Effect::Held(h) => h.token.clone(),
        other => panic!("expected a hold, got {other:?}"),
    }
}

fn topic_list(command: &[u8], result: &Result<Vec<u8>, Vec<u8>>) -> Vec<String> {
    topics(command, result)
}

#[test]
fn apply_returns_encoded_booking_or_refusal() {
    let mut machine = Machine::new();
    let first = applied(machine.apply(&ctx(1, T0), &book(1, &[(0, 1)], "alice")));
    assert!(matches!(first.effect, Effect::Booked(ref b) if b.id == 1));
    assert!(first.expired.is_empty());
    let second = refused(machine.apply(&ctx(2, T0), &book(1, &[(0, 1)], "bob")));
    assert!(matches!(second.rejection, Rejection::SeatsTaken { .. }));
}

#[test]
fn apply_refuses_garbage_without_changing_state() {
    let mut machine = Machine::new();
    for garbage in [&b"\xff\xff\xff"[..], b"\x00", b"hello world"] {
        let r = refused(machine.apply(&ctx(1, 0), garbage));
        assert!(matches!(r.rejection, Rejection::Undecodable { .. }));
    }
    let mut trailing = book(1, &[(0, 1)], "alice");
    trailing.push(0);
    assert!(machine.apply(&ctx(1, 0), &trailing).is_err());
    assert_eq!(machine, Machine::new());
}

#[test]
fn empty_command_is_a_tick_that_answers_ok() {
    let mut machine = Machine::new();
    let tick = applied(machine.apply(&ctx(1, T0), &[]));
    assert_eq!(tick.effect, Effect::Tick);
    assert!(tick.expired.is_empty());
    assert_eq!(machine.state().clock_ms, T0);
    assert_eq!(topic_list(&[], &Ok(encode(&tick))), Vec::<String>::new());
}

#[test]
fn hold_expires_at_the_first_entry_at_or_after_its_expiry() {
    let mut machine = Machine::new();
    let created = applied(machine.apply(&ctx(1, T0), &hold(2, &[(0, 1), (0, 2)], "alice", 60)));
    let token = token_of(&created);
    let expires = T0 + 60_000;
    assert_eq!(machine.next_deadline(), Some(expires));
    // One millisecond early: still active.
    let early = applied(machine.apply(&ctx(2, expires - 1), &[]));
    assert!(early.expired.is_empty());
    assert_eq!(machine.next_deadline(), Some(expires));
    // Exactly at the expiry: the tick frees the seats.
    let tick = applied(machine.apply(&ctx(3, expires), &[]));
    assert_eq!(tick.expired.len(), 1);
    assert_eq!(tick.expired[0].token, token);
    assert_eq!(tick.expired[0].status, HoldStatus::Expired);
    assert_eq!(tick.expired[0].finished_at_ms, Some(expires));
    assert_eq!(machine.next_deadline(), None);
    let showtime = &machine.state().showtimes[&2];
    assert!(showtime.seats.is_empty() && showtime.holds.is_empty());
    assert_eq!(showtime.version, 3);
    let change = showtime.activity.back().cloned();
    assert_eq!(
        change.map(|c| (c.index, c.at_ms, c.user, c.action)),
        Some((3, expires, "system".to_string(), Action::Expired))
    );
    assert_eq!(
        topic_list(&[], &Ok(encode(&tick))),
        vec!["showtime/2".to_string()]
    );
    // Changing an expired hold: hold-expired.
    let confirm = encode(&Command::Confirm {
        hold: token.clone(),
        user: "alice".into(),
    });
    let late = refused(machine.apply(&ctx(4, expires + 5), &confirm));
    assert_eq!(late.rejection, Rejection::HoldExpired { hold: token });
    assert!(late.expired.is_empty());
}

#[test]
fn expiry_happens_before_the_command_even_when_it_is_refused() {
    let mut machine = Machine::new();
    applied(machine.apply(&ctx(1, T0), &hold(2, &[(0, 1)], "alice", 10)));
    applied(machine.apply(&ctx(2, T0), &hold(3, &[(0, 1)], "alice", 20)));
    // A refused command at a time both holds are due: both expire anyway.
    let command = book(9, &[(0, 1)], "bob");
    let result = machine.apply(&ctx(3, T0 + 30_000), &command);
    let r = refused(result.clone());
    assert_eq!(r.rejection, Rejection::UnknownShowtime { showtime: 9 });
    assert_eq!(r.expired.len(), 2);
    assert_eq!(
        topic_list(&command, &result),
        vec!["showtime/2".to_string(), "showtime/3".to_string()]
    );
    // An accepted command on a seat freed by the sweep of its own entry succeeds.
    applied(machine.apply(&ctx(4, T0 + 40_000), &hold(1, &[(0, 1)], "alice", 10)));
    let command = book(1, &[(0, 1)], "bob");
    let result = machine.apply(&ctx(5, T0 + 50_000), &command);
    let a = applied(result.clone());
    assert_eq!(a.expired.len(), 1);
    assert!(matches!(a.effect, Effect::Booked(_)));
    assert_eq!(
        topic_list(&command, &result),
        vec!["showtime/1".to_string()]
    );
}

#[test]
fn clock_never_runs_backwards() {
    let mut machine = Machine::new();
    applied(machine.apply(&ctx(1, T0 + 5000), &book(1, &[(0, 1)], "alice")));
    // A new leader with a slow clock.
    let late = applied(machine.apply(&ctx(2, T0), &book(1, &[(0, 2)], "alice")));
    assert!(matches!(late.effect, Effect::Booked(ref b) if b.created_at_ms == T0 + 5000));
    // A hold made under the slow clock still expires by the plugin clock.
    let h = applied(machine.apply(&ctx(3, T0), &hold(1, &[(0, 3)], "alice", 1)));
    assert!(matches!(h.effect, Effect::Held(ref h) if h.expires_at_ms == T0 + 6000));
}

#[test]
fn finished_holds_and_cancelled_bookings_are_pruned_after_a_day() {
    let mut machine = Machine::new();
    let created = applied(machine.apply(&ctx(1, T0), &hold(2, &[(0, 1)], "alice", 60)));
    let token = token_of(&created);
    let release = encode(&Command::Release {
        hold: token.clone(),
        user: "alice".into(),
    });
    applied(machine.apply(&ctx(2, T0 + 1000), &release));
    applied(machine.apply(&ctx(3, T0 + 1000), &book(2, &[(0, 2)], "bob")));
    let cancel = encode(&Command::Cancel {
        booking: 1,
        user: "bob".into(),
    });
    applied(machine.apply(&ctx(4, T0 + 2000), &cancel));
    let hold_query = encode(&Query::Hold {
        hold: token.clone(),
    });
    let booking_query = encode(&Query::Booking { booking: 1 });
    // Just under a day later: both still readable.
    applied(machine.apply(&ctx(5, T0 + 1000 + RETENTION_MS - 1), &[]));
    assert!(matches!(
        machine.query(0, &hold_query).map(|b| decode::<Answer>(&b)),
        Ok(Ok(Answer::Hold(h))) if h.status == HoldStatus::Released
    ));
    assert!(matches!(
        machine.query(0, &booking_query).map(|b| decode::<Answer>(&b)),
        Ok(Ok(Answer::Booking(b))) if b.status == BookingStatus::Cancelled
    ));
    // A day after release: the hold is gone, the booking (cancelled later) not yet.
    applied(machine.apply(&ctx(6, T0 + 1000 + RETENTION_MS), &[]));
    assert_eq!(
        machine
            .query(0, &hold_query)
            .map_err(|b| decode::<Rejection>(&b)),
        Err(Ok(Rejection::UnknownHold { hold: token }))
    );
    assert!(machine.query(0, &booking_query).is_ok());
    applied(machine.apply(&ctx(7, T0 + 2000 + RETENTION_MS), &[]));
    assert_eq!(
        machine
            .query(0, &booking_query)
            .map_err(|b| decode::<Rejection>(&b)),
        Err(Ok(Rejection::UnknownBooking { booking: 1 }))
    );
    assert!(machine.state().tokens.is_empty());
    assert!(machine.state().finished_holds.is_empty());
    assert!(machine.state().cancelled_bookings.is_empty());
}

#[test]
fn topics_name_the_showtime_each_command_changed() {
    let mut machine = Machine::new();
    let mut index = 0;
    let mut run = |command: Vec<u8>| {
        index += 1;
        let result = machine.apply(&ctx(index, T0 + index), &command);
        (topic_list(&command, &result), result)
    };
    let one = |id: u32| vec![format!("showtime/{id}")];
    let (t, r) = run(hold(2, &[(0, 1)], "alice", 60));
    assert_eq!(t, one(2));
    let token = token_of(&applied(r));
    let user = || "alice".to_string();
    let commands = [
        encode(&Command::Extend {
            hold: token.clone(),
            user: user(),
            ttl_seconds: 60,
        }),
        encode(&Command::Confirm {
            hold: token.clone(),
            user: user(),
        }),
        encode(&Command::Cancel {
            booking: 1,
            user: user(),
        }),
        book(3, &[(0, 1)], "alice"),
    ];
    let expected = [2, 2, 2, 3];
    for (command, id) in commands.into_iter().zip(expected) {
        assert_eq!(run(command).0, one(id));
    }
    let (t, r) = run(hold(4, &[(0, 1)], "bob", 60));
    assert_eq!(t, one(4));
    let token = token_of(&applied(r));
    assert_eq!(
        run(encode(&Command::Release {
            hold: token,
            user: "bob".into()
        }))
        .0,
        one(4)
    );
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
    // Catalog changes and refusals without expiries name nothing.
    assert!(run(encode(&Command::RemoveMovie { movie: 9 })).0.is_empty());
    assert!(run(book(3, &[(0, 1)], "bob")).0.is_empty());
    // Undecodable answers name nothing rather than trapping.
    assert!(topic_list(&[1], &Ok(vec![0xff])).is_empty());
    assert!(topic_list(&[1], &Err(vec![])).is_empty());
    // Many showtimes sort as strings and appear once each.
    let list = topics(
        &[],
        &Ok(encode(&Applied {
            expired: Vec::new(),
            effect: Effect::Tick,
        })),
    );
    assert!(list.is_empty());
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
    let missing = machine.query(0, &encode(&Query::Booking { booking: 5 }));
    assert_eq!(
        missing.map_err(|b| decode::<Rejection>(&b)),
        Err(Ok(Rejection::UnknownBooking { booking: 5 }))
    );
    assert!(machine.query(0, b"\xff").is_err());
}

#[test]
fn restore_of_garbage_keeps_the_current_state() {
    let mut machine = Machine::new();
    applied(machine.apply(&ctx(1, T0), &book(1, &[(1, 1)], "alice")));
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
fn restore_replaces_the_state_and_keeps_deadlines() {
    let mut source = Machine::new();
    applied(source.apply(&ctx(1, T0), &book(1, &[(1, 1)], "alice")));
    applied(source.apply(&ctx(2, T0), &hold(2, &[(1, 1)], "alice", 30)));
    let mut target = Machine::new();
    applied(target.apply(&ctx(1, T0), &book(1, &[(2, 2)], "bob")));
    assert_eq!(target.restore(&source.snapshot()), Ok(()));
    assert_eq!(target, source);
    assert_eq!(target.next_deadline(), Some(T0 + 30_000));
}

#[test]
fn info_reports_name_version_and_formats() {
    let info = Machine::info();
    assert_eq!(info.name, "seat-logic");
    if cfg!(feature = "v2") {
        assert_eq!(info.version, "2.0.0");
        assert_eq!((info.snapshot_format, info.min_restore_format), (2, 1));
        assert!(
            info.description.contains("at most 6 seats"),
            "{}",
            info.description
        );
    } else {
        assert_eq!(info.version, "1.0.0");
        assert_eq!((info.snapshot_format, info.min_restore_format), (1, 1));
    }
}
