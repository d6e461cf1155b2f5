//! Rule tests at the state level: bookings, holds, catalog admin. Expiry and ticks, which run in
//! `Machine::apply` before the command, are tested in `machine/tests.rs`.

use super::*;
use crate::activity::Action;
use crate::catalog::default_movies;
use crate::rejection::Kind;
use crate::seat::Layout;
use crate::state::{BookingStatus, HoldStatus, Taker};

fn seat(text: &str) -> SeatId {
    SeatId::parse(text).unwrap_or_else(|| panic!("test seat {text:?} must parse"))
}

fn seats(texts: &[&str]) -> Vec<SeatId> {
    texts.iter().map(|t| seat(t)).collect()
}

/// Applies a command at log index `index` and log time `index` seconds.
fn run(state: &mut State, index: u64, command: Command) -> Result<Effect, Rejection> {
    let ctx = LogContext {
        index,
        term: 1,
        leader_time_ms: index * 1000,
    };
    command.apply(state, &ctx, index * 1000)
}

fn book(showtime: u32, list: &[&str], user: &str) -> Command {
    Command::Book {
        showtime,
        seats: seats(list),
        user: user.to_string(),
    }
}

fn hold_cmd(showtime: u32, list: &[&str], user: &str, ttl: u32) -> Command {
    Command::Hold {
        showtime,
        seats: seats(list),
        user: user.to_string(),
        ttl_seconds: ttl,
    }
}

fn booked(effect: Result<Effect, Rejection>) -> Booking {
    match effect {
        Ok(Effect::Booked(booking)) => booking,
        other => panic!("expected a booking, got {other:?}"),
    }
}

fn held(effect: Result<Effect, Rejection>) -> Hold {
    match effect {
        Ok(Effect::Held(hold)) => hold,
        other => panic!("expected a hold, got {other:?}"),
    }
}

fn user_cmd(kind: &str, token: &str, user: &str) -> Command {
    let (hold, user) = (token.to_string(), user.to_string());
    match kind {
        "confirm" => Command::Confirm { hold, user },
        "release" => Command::Release { hold, user },
        _ => Command::Extend {
            hold,
            user,
            ttl_seconds: 600,
        },
    }
}

#[test]
fn booking_takes_all_seats_and_records_who_when_and_price() {
    let mut state = State::default();
    let booking = booked(run(&mut state, 7, book(2, &["a2", "A1"], "alice")));
    assert_eq!(booking.id, 1);
    assert_eq!(booking.seats, seats(&["a1", "a2"]));
    assert_eq!((booking.created_at_ms, booking.log_index), (7000, 7));
    assert_eq!(booking.price_cents, 2400);
    assert_eq!(booking.status, BookingStatus::Confirmed);
    let showtime = &state.showtimes[&2];
    assert_eq!(showtime.taker(seat("a1")), Some(Taker::Booking(1)));
    assert_eq!(showtime.counts(), (78, 0, 2));
    assert_eq!(showtime.version, 7);
    let change = &showtime.activity[0];
    assert_eq!(
        (
            change.index,
            change.at_ms,
            change.user.as_str(),
            change.action
        ),
        (7, 7000, "alice", Action::Booked)
    );
    assert_eq!(change.booking, Some(1));
}

#[test]
fn booking_is_all_or_none_and_lists_every_taken_seat() {
    let mut state = State::default();
    booked(run(&mut state, 1, book(1, &["a3", "b2"], "alice")));
    held(run(&mut state, 2, hold_cmd(1, &["c1"], "carol", 600)));
    let before = state.clone();
    assert_eq!(
        run(&mut state, 3, book(1, &["c1", "a1", "b2", "a3"], "bob")),
        Err(Rejection::SeatsTaken {
            showtime: 1,
            seats: seats(&["a3", "b2", "c1"])
        })
    );
    assert_eq!(state, before, "a refused booking must change nothing");
}

#[test]
fn seat_requests_refuse_duplicates_unknown_seats_and_bad_sizes() {
    let mut state = State::default();
    assert_eq!(
        run(&mut state, 1, book(1, &["a1", "a2", "a1"], "alice")),
        Err(Rejection::DuplicateSeats {
            seats: seats(&["a1"])
        })
    );
    match run(&mut state, 1, hold_cmd(1, &["a1", "z9", "a7"], "alice", 60)) {
        Err(Rejection::UnknownSeats { seats: s, .. }) => assert_eq!(s, seats(&["a7", "z9"])),
        other => panic!("expected unknown seats, got {other:?}"),
    }
    assert_eq!(
        run(&mut state, 1, book(1, &[], "alice")),
        Err(Rejection::NoSeats)
    );
    let eleven: Vec<&str> = vec!["a1"; 11];
    assert_eq!(
        run(&mut state, 1, book(2, &eleven, "alice")),
        Err(Rejection::TooManySeats { count: 11, max: 10 })
    );
    let ten = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10"];
    assert_eq!(state, State::default());
    // As many seats as the rules in force allow (all ten under the version 1 rules).
    let max = state.rules.max_seats_per_request as usize;
    booked(run(&mut state, 2, book(2, &ten[..max], "alice")));
    assert_eq!(
        run(&mut state, 3, book(9, &["a1"], "alice")),
        Err(Rejection::UnknownShowtime { showtime: 9 })
    );
}

#[test]
fn bad_user_names_and_ttls_are_refused() {
    let long = "x".repeat(MAX_USER_CHARS + 1);
    for user in ["", " alice", "alice ", "al\nice", long.as_str()] {
        let mut state = State::default();
        assert!(
            matches!(run(&mut state, 1, book(1, &["a1"], user)), Err(Rejection::Invalid { field, .. }) if field == "user"),
            "{user:?}"
        );
    }
    for ttl in [0, 7201] {
        let mut state = State::default();
        assert!(matches!(
            run(&mut state, 1, hold_cmd(1, &["a1"], "alice", ttl)),
            Err(Rejection::Invalid { field, .. }) if field == "ttl_seconds"
        ));
    }
    let mut state = State::default();
    booked(run(
        &mut state,
        1,
        book(1, &["a1"], &"é".repeat(MAX_USER_CHARS)),
    ));
}

#[test]
fn cancel_by_owner_frees_the_seats_and_keeps_the_booking_readable() {
    let mut state = State::default();
    let booking = booked(run(&mut state, 1, book(1, &["c3", "c4"], "alice")));
    let cancel = |user: &str| Command::Cancel {
        booking: booking.id,
        user: user.into(),
    };
    let before = state.clone();
    assert_eq!(
        run(&mut state, 2, cancel("mallory")),
        Err(Rejection::NotBookingOwner { booking: 1 })
    );
    assert_eq!(state, before);
    let cancelled = match run(&mut state, 3, cancel("alice")) {
        Ok(Effect::Cancelled(b)) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(cancelled.cancelled_at_ms, Some(3000));
    assert_eq!(state.bookings[&1], cancelled);
    assert!(state.showtimes[&1].seats.is_empty());
    assert!(state.showtimes[&1].bookings.is_empty());
    assert_eq!(
        state.showtimes[&1].activity.back().map(|c| c.action),
        Some(Action::Cancelled)
    );
    // Not idempotent: a second cancel is refused and changes nothing.
    let before = state.clone();
    assert_eq!(
        run(&mut state, 4, cancel("alice")),
        Err(Rejection::BookingCancelled { booking: 1 })
    );
    assert_eq!(state, before);
    assert_eq!(
        run(
            &mut state,
            5,
            Command::Cancel {
                booking: 42,
                user: "alice".into()
            }
        ),
        Err(Rejection::UnknownBooking { booking: 42 })
    );
    // Ids are never reused.
    assert_eq!(booked(run(&mut state, 6, book(1, &["c3"], "bob"))).id, 2);
}

#[test]
fn hold_takes_seats_until_expiry_and_conflicts_with_holds_and_bookings() {
    let mut state = State::default();
    let hold = held(run(&mut state, 5, hold_cmd(2, &["b2", "b1"], "alice", 90)));
    assert_eq!(hold.seats, seats(&["b1", "b2"]));
    assert_eq!((hold.created_at_ms, hold.expires_at_ms), (5000, 95_000));
    assert_eq!(hold.status, HoldStatus::Active);
    assert!(
        hold.token.starts_with('h') && hold.token.len() == 17,
        "{}",
        hold.token
    );
    assert_eq!(state.showtimes[&2].counts(), (78, 2, 0));
    assert_eq!(state.next_deadline(), Some(95_000));
    assert_eq!(
        run(&mut state, 6, book(2, &["b2"], "bob")),
        Err(Rejection::SeatsTaken {
            showtime: 2,
            seats: seats(&["b2"])
        })
    );
    booked(run(&mut state, 7, book(2, &["c1"], "bob")));
    assert_eq!(
        run(&mut state, 8, hold_cmd(2, &["c1", "b1", "d1"], "carol", 60)),
        Err(Rejection::SeatsTaken {
            showtime: 2,
            seats: seats(&["b1", "c1"])
        })
    );
    let other = held(run(&mut state, 9, hold_cmd(2, &["d1"], "carol", 60)));
    assert_ne!(other.token, hold.token);
    assert_eq!(state.next_deadline(), Some(69_000));
}

#[test]
fn extend_moves_expiry_but_never_past_two_hours_after_creation() {
    let mut state = State::default();
    let hold = held(run(&mut state, 10, hold_cmd(2, &["a1"], "alice", 60)));
    let extend = |ttl| Command::Extend {
        hold: hold.token.clone(),
        user: "alice".into(),
        ttl_seconds: ttl,
    };
    match run(&mut state, 20, extend(600)) {
        Ok(Effect::Extended(h)) => assert_eq!(h.expires_at_ms, 620_000),
        other => panic!("{other:?}"),
    }
    match run(&mut state, 500, extend(7200)) {
        Ok(Effect::Extended(h)) => assert_eq!(h.expires_at_ms, 10_000 + 7_200_000),
        other => panic!("{other:?}"),
    }
    assert_eq!(state.next_deadline(), Some(7_210_000));
    assert_eq!(state.expiries.len(), 1);
    assert_eq!(
        state.showtimes[&2].activity.back().map(|c| c.action),
        Some(Action::Extended)
    );
}

#[test]
fn only_the_holds_user_may_extend_confirm_or_release_it() {
    let mut state = State::default();
    let hold = held(run(&mut state, 1, hold_cmd(2, &["a1"], "alice", 60)));
    let before = state.clone();
    for kind in ["extend", "confirm", "release"] {
        assert_eq!(
            run(&mut state, 2, user_cmd(kind, &hold.token, "mallory")),
            Err(Rejection::NotHoldOwner {
                hold: hold.token.clone()
            }),
            "{kind}"
        );
        assert_eq!(
            run(&mut state, 2, user_cmd(kind, "hnope", "alice")),
            Err(Rejection::UnknownHold {
                hold: "hnope".into()
            }),
            "{kind}"
        );
    }
    assert_eq!(state, before);
}

#[test]
fn confirm_turns_the_hold_into_a_booking_of_the_same_seats() {
    let mut state = State::default();
    let hold = held(run(&mut state, 1, hold_cmd(3, &["a1", "a2"], "alice", 60)));
    let (confirmed, booking) = match run(&mut state, 2, user_cmd("confirm", &hold.token, "alice")) {
        Ok(Effect::Confirmed { hold, booking }) => (hold, booking),
        other => panic!("{other:?}"),
    };
    assert_eq!(confirmed.status, HoldStatus::Confirmed);
    assert_eq!(confirmed.booking, Some(booking.id));
    assert_eq!(booking.seats, seats(&["a1", "a2"]));
    assert_eq!(booking.hold.as_deref(), Some(hold.token.as_str()));
    assert_eq!(booking.price_cents, 2200);
    assert_eq!(state.showtimes[&3].counts(), (58, 0, 2));
    assert_eq!(state.next_deadline(), None);
    assert!(state.showtimes[&3].holds.is_empty());
    assert_eq!(
        state.showtimes[&3].activity.back().map(|c| c.action),
        Some(Action::Confirmed)
    );
    // Finished holds refuse further changes with the status they ended in.
    for kind in ["confirm", "release", "extend"] {
        assert_eq!(
            run(&mut state, 3, user_cmd(kind, &hold.token, "alice")),
            Err(Rejection::HoldFinished {
                hold: hold.token.clone(),
                status: HoldStatus::Confirmed
            })
        );
    }
}

#[test]
fn release_frees_the_seats_and_keeps_the_hold_readable() {
    let mut state = State::default();
    let hold = held(run(&mut state, 1, hold_cmd(1, &["d6"], "alice", 60)));
    match run(&mut state, 2, user_cmd("release", &hold.token, "alice")) {
        Ok(Effect::Released(h)) => {
            assert_eq!(h.status, HoldStatus::Released);
            assert_eq!(h.finished_at_ms, Some(2000));
        }
        other => panic!("{other:?}"),
    }
    assert!(state.showtimes[&1].seats.is_empty());
    assert_eq!(
        state.hold_by_token(&hold.token).map(|h| h.status),
        Ok(HoldStatus::Released)
    );
    assert_eq!(
        run(&mut state, 3, user_cmd("release", &hold.token, "alice")),
        Err(Rejection::HoldFinished {
            hold: hold.token.clone(),
            status: HoldStatus::Released
        })
    );
    booked(run(&mut state, 4, book(1, &["d6"], "bob")));
}

#[test]
fn catalog_admin_creates_with_next_free_or_chosen_ids() {
    let mut state = State::default();
    let info = default_movies().remove(0).info;
    match run(
        &mut state,
        1,
        Command::CreateMovie {
            id: None,
            info: info.clone(),
        },
    ) {
        Ok(Effect::MovieCreated(m)) => assert_eq!(m.id, 5),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(
            &mut state,
            2,
            Command::CreateMovie {
                id: Some(5),
                info: info.clone()
            }
        ),
        Err(Rejection::AlreadyExists {
            kind: Kind::Movie,
            id: 5
        })
    );
    assert!(matches!(
        run(&mut state, 2, Command::CreateMovie { id: Some(0), info }),
        Err(Rejection::Invalid { .. })
    ));
    let theater = TheaterInfo {
        name: "Hall".into(),
        location: String::new(),
        layout: Layout { rows: vec![3, 5] },
    };
    match run(
        &mut state,
        3,
        Command::CreateTheater {
            id: Some(40),
            info: theater,
        },
    ) {
        Ok(Effect::TheaterCreated(t)) => assert_eq!(t.id, 40),
        other => panic!("{other:?}"),
    }
    let create = |id, movie, theater| Command::CreateShowtime {
        id,
        movie,
        theater,
        starts_at_ms: 1_796_155_200_000,
        price_cents: 900,
    };
    match run(&mut state, 4, create(Some(90), 5, 40)) {
        Ok(Effect::ShowtimeCreated(d)) => {
            assert_eq!((d.summary.id, d.summary.capacity, d.version), (90, 8, 4));
            assert_eq!(d.summary.movie_title, "Inception");
            assert_eq!(d.seats.len(), 8);
        }
        other => panic!("{other:?}"),
    }
    match run(&mut state, 5, create(None, 5, 40)) {
        Ok(Effect::ShowtimeCreated(d)) => assert_eq!(d.summary.id, 91),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(&mut state, 6, create(Some(90), 5, 40)),
        Err(Rejection::AlreadyExists {
            kind: Kind::Showtime,
            id: 90
        })
    );
    assert_eq!(
        run(&mut state, 6, create(None, 77, 40)),
        Err(Rejection::UnknownMovie { movie: 77 })
    );
    assert_eq!(
        run(&mut state, 6, create(None, 5, 77)),
        Err(Rejection::UnknownTheater { theater: 77 })
    );
    assert!(matches!(
        run(&mut state, 6, Command::CreateShowtime { id: None, movie: 5, theater: 40, starts_at_ms: 0, price_cents: 2_000_000 }),
        Err(Rejection::Invalid { field, .. }) if field == "price_cents"
    ));
}

#[test]
fn catalog_removal_refuses_entries_in_use() {
    let mut state = State::default();
    assert_eq!(
        run(&mut state, 1, Command::RemoveMovie { movie: 1 }),
        Err(Rejection::InUse {
            kind: Kind::Movie,
            id: 1,
            showtimes: vec![2],
            bookings: 0,
            holds: 0
        })
    );
    assert_eq!(
        run(&mut state, 1, Command::RemoveTheater { theater: 1 }),
        Err(Rejection::InUse {
            kind: Kind::Theater,
            id: 1,
            showtimes: vec![2],
            bookings: 0,
            holds: 0
        })
    );
    let hold = held(run(&mut state, 2, hold_cmd(2, &["a1"], "alice", 60)));
    booked(run(&mut state, 3, book(2, &["a2"], "bob")));
    assert_eq!(
        run(&mut state, 4, Command::RemoveShowtime { showtime: 2 }),
        Err(Rejection::InUse {
            kind: Kind::Showtime,
            id: 2,
            showtimes: vec![],
            bookings: 1,
            holds: 1
        })
    );
    assert!(run(&mut state, 5, user_cmd("release", &hold.token, "alice")).is_ok());
    assert!(run(
        &mut state,
        6,
        Command::Cancel {
            booking: 1,
            user: "bob".into()
        }
    )
    .is_ok());
    assert!(matches!(
        run(&mut state, 7, Command::RemoveShowtime { showtime: 2 }),
        Ok(Effect::ShowtimeRemoved(s)) if s.id == 2
    ));
    assert!(matches!(
        run(&mut state, 8, Command::RemoveMovie { movie: 1 }),
        Ok(Effect::MovieRemoved(_))
    ));
    assert!(matches!(
        run(&mut state, 9, Command::RemoveTheater { theater: 1 }),
        Ok(Effect::TheaterRemoved(_))
    ));
    assert_eq!(
        run(&mut state, 10, Command::RemoveMovie { movie: 1 }),
        Err(Rejection::UnknownMovie { movie: 1 })
    );
    assert_eq!(
        run(&mut state, 10, Command::RemoveTheater { theater: 1 }),
        Err(Rejection::UnknownTheater { theater: 1 })
    );
    assert_eq!(
        run(&mut state, 10, Command::RemoveShowtime { showtime: 2 }),
        Err(Rejection::UnknownShowtime { showtime: 2 })
    );
    // The cancelled booking of the removed showtime stays readable.
    assert_eq!(state.bookings[&1].status, BookingStatus::Cancelled);
}
