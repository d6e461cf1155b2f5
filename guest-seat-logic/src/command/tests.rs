//! Rule tests at the state level: bookings, holds, tokens, the per-customer limit, catalog admin
//! and its bounds. Expiry and ticks, which run in `Machine::apply` before the command, are
//! tested in `machine/tests.rs`.

use super::*;
use crate::activity::Action;
use crate::catalog::default_movies;
use crate::limits::{MAX_MOVIES, MAX_SHOWTIMES, MAX_THEATERS};
use crate::rejection::Kind;
use crate::seat::Layout;
use crate::state::{BookingStatus, HoldStatus, Taker};
use crate::testing::{digest, seat, seats};
use crate::token::Kind as TokenKind;

/// Applies a command at log index `index` and log time `index` seconds.
fn run(state: &mut State, index: u64, command: Command) -> Result<Effect, Rejection> {
    let ctx = LogContext {
        index,
        term: 1,
        time_ms: index * 1000,
    };
    command.apply(state, &ctx, index * 1000)
}

/// The state's next deadline once an entry has been applied (commands run here without
/// `Machine::apply`, which moves the clock; a clock of 0 makes every deadline due at once).
fn deadline(state: &State) -> Option<u64> {
    let mut applied = state.clone();
    applied.clock_ms = applied.clock_ms.max(1);
    applied.next_deadline()
}

fn book_with(showtime: u32, list: &[&str], user: &str, token: Digest) -> Command {
    Command::Book {
        showtime,
        seats: seats(list),
        user: user.to_string(),
        token,
    }
}

fn book(showtime: u32, list: &[&str], user: &str) -> Command {
    book_with(showtime, list, user, digest(TokenKind::Booking))
}

fn hold_with(showtime: u32, list: &[&str], user: &str, ttl: u32, token: Digest) -> Command {
    Command::Hold {
        showtime,
        seats: seats(list),
        user: user.to_string(),
        ttl_seconds: ttl,
        token,
    }
}

fn hold_cmd(showtime: u32, list: &[&str], user: &str, ttl: u32) -> Command {
    hold_with(showtime, list, user, ttl, digest(TokenKind::Hold))
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

fn by_token(kind: &str, token: Digest) -> Command {
    match kind {
        "confirm" => Command::Confirm {
            hold: token,
            token: digest(TokenKind::Booking),
        },
        "release" => Command::Release { hold: token },
        _ => Command::Extend {
            hold: token,
            ttl_seconds: 600,
        },
    }
}

#[test]
fn booking_takes_all_seats_and_records_who_when_and_price() {
    let mut state = State::default();
    let token = digest(TokenKind::Booking);
    let booking = booked(run(
        &mut state,
        7,
        book_with(2, &["a2", "A1"], "alice", token),
    ));
    assert_eq!(booking.id, 1);
    assert_eq!(booking.token, token);
    assert_eq!(booking.seats, seats(&["a1", "a2"]));
    assert_eq!((booking.created_at_ms, booking.log_index), (7000, 7));
    assert_eq!(booking.price_cents, 2400);
    assert_eq!(booking.status, BookingStatus::Confirmed);
    let showtime = &state.showtimes[&2];
    assert_eq!(showtime.taker(seat("a1")), Some(Taker::Booking(1)));
    assert_eq!(showtime.counts(), (78, 0, 2));
    assert_eq!(showtime.seats_of("alice"), 2);
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
    assert_eq!((change.booking, change.hold), (Some(1), None));
    assert_eq!(
        state.tokens.get(&token),
        Some(&crate::state::TokenOwner::Booking(1))
    );
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
fn only_the_token_holder_or_an_operator_may_cancel() {
    let mut state = State::default();
    let token = digest(TokenKind::Booking);
    let booking = booked(run(
        &mut state,
        1,
        book_with(1, &["c3", "c4"], "alice", token),
    ));
    let cancel = |by| Command::Cancel {
        booking: booking.id,
        by,
    };
    let before = state.clone();
    // A wrong token, or a token of another kind, answers as if there were no such booking.
    for wrong in [digest(TokenKind::Booking), digest(TokenKind::Hold)] {
        assert_eq!(
            run(&mut state, 2, cancel(Actor::Customer(wrong))),
            Err(Rejection::UnknownBooking { booking: 1 })
        );
    }
    assert_eq!(state, before);
    let cancelled = match run(&mut state, 3, cancel(Actor::Customer(token))) {
        Ok(Effect::Cancelled(b)) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(cancelled.cancelled_at_ms, Some(3000));
    assert_eq!(state.bookings[&1], cancelled);
    assert!(state.showtimes[&1].seats.is_empty());
    assert!(state.showtimes[&1].bookings.is_empty());
    assert_eq!(state.showtimes[&1].seats_of("alice"), 0);
    let change = state.showtimes[&1].activity.back().cloned();
    assert_eq!(
        change.map(|c| (c.action, c.user)),
        Some((Action::Cancelled, "alice".to_string()))
    );
    // Not idempotent: a second cancel is refused and changes nothing.
    let before = state.clone();
    assert_eq!(
        run(&mut state, 4, cancel(Actor::Operator)),
        Err(Rejection::BookingCancelled { booking: 1 })
    );
    assert_eq!(state, before);
    assert_eq!(
        run(
            &mut state,
            5,
            Command::Cancel {
                booking: 42,
                by: Actor::Operator
            }
        ),
        Err(Rejection::UnknownBooking { booking: 42 })
    );
    // An operator may cancel anyone's booking; the activity says so. Ids are never reused.
    let other = booked(run(&mut state, 6, book(1, &["c3"], "bob")));
    assert_eq!(other.id, 2);
    assert!(matches!(
        run(&mut state, 7, cancel_of(2)),
        Ok(Effect::Cancelled(b)) if b.user == "bob"
    ));
    assert_eq!(
        state.showtimes[&1].activity.back().map(|c| c.user.as_str()),
        Some("operator")
    );
}

fn cancel_of(booking: u64) -> Command {
    Command::Cancel {
        booking,
        by: Actor::Operator,
    }
}

#[test]
fn hold_takes_seats_until_expiry_and_conflicts_with_holds_and_bookings() {
    let mut state = State::default();
    let token = digest(TokenKind::Hold);
    let hold = held(run(
        &mut state,
        5,
        hold_with(2, &["b2", "b1"], "alice", 90, token),
    ));
    assert_eq!(hold.seats, seats(&["b1", "b2"]));
    assert_eq!(hold.token, token);
    assert_eq!((hold.created_at_ms, hold.expires_at_ms), (5000, 95_000));
    assert_eq!(hold.status, HoldStatus::Active);
    assert_eq!(state.showtimes[&2].counts(), (78, 2, 0));
    assert_eq!(deadline(&state), Some(95_000));
    assert_eq!(state.hold_by_token(&token).map(|h| h.id), Ok(1));
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
    assert_eq!(deadline(&state), Some(69_000));
    assert_eq!(
        state.showtimes[&2].activity.back().map(|c| c.hold),
        Some(Some(2))
    );
}

#[test]
fn a_token_already_in_the_state_is_refused() {
    let mut state = State::default();
    let token = digest(TokenKind::Hold);
    held(run(
        &mut state,
        1,
        hold_with(1, &["a1"], "alice", 60, token),
    ));
    let before = state.clone();
    assert_eq!(
        run(&mut state, 2, hold_with(1, &["a2"], "bob", 60, token)),
        Err(Rejection::TokenCollision)
    );
    assert_eq!(
        run(&mut state, 2, book_with(1, &["a2"], "bob", token)),
        Err(Rejection::TokenCollision)
    );
    assert_eq!(
        run(&mut state, 2, Command::Confirm { hold: token, token }),
        Err(Rejection::TokenCollision)
    );
    assert_eq!(state, before);
}

#[test]
fn extend_moves_expiry_but_never_past_two_hours_after_creation() {
    let mut state = State::default();
    let token = digest(TokenKind::Hold);
    held(run(
        &mut state,
        10,
        hold_with(2, &["a1"], "alice", 60, token),
    ));
    let extend = |ttl| Command::Extend {
        hold: token,
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
    assert_eq!(deadline(&state), Some(7_210_000));
    assert_eq!(state.expiries.len(), 1);
    assert_eq!(
        state.showtimes[&2].activity.back().map(|c| c.action),
        Some(Action::Extended)
    );
}

#[test]
fn only_the_holds_token_reaches_it() {
    let mut state = State::default();
    let token = digest(TokenKind::Hold);
    held(run(
        &mut state,
        1,
        hold_with(2, &["a1"], "alice", 60, token),
    ));
    // A booking token with the same secret would be another text, so another digest; any
    // token that is not this one names no hold.
    let before = state.clone();
    for kind in ["extend", "confirm", "release"] {
        for wrong in [digest(TokenKind::Hold), digest(TokenKind::Booking)] {
            assert_eq!(
                run(&mut state, 2, by_token(kind, wrong)),
                Err(Rejection::UnknownHold),
                "{kind}"
            );
        }
    }
    assert_eq!(state, before);
}

#[test]
fn confirm_turns_the_hold_into_a_booking_with_its_own_token() {
    let mut state = State::default();
    let token = digest(TokenKind::Hold);
    let hold = held(run(
        &mut state,
        1,
        hold_with(3, &["a1", "a2"], "alice", 60, token),
    ));
    let booking_token = digest(TokenKind::Booking);
    let confirm = Command::Confirm {
        hold: token,
        token: booking_token,
    };
    let (confirmed, booking) = match run(&mut state, 2, confirm) {
        Ok(Effect::Confirmed { hold, booking }) => (hold, booking),
        other => panic!("{other:?}"),
    };
    assert_eq!(confirmed.status, HoldStatus::Confirmed);
    assert_eq!(confirmed.booking, Some(booking.id));
    assert_eq!(booking.seats, seats(&["a1", "a2"]));
    assert_eq!(booking.hold, Some(hold.id));
    assert_eq!(booking.token, booking_token);
    assert_eq!(booking.price_cents, 2200);
    assert_eq!(state.showtimes[&3].counts(), (58, 0, 2));
    assert_eq!(state.showtimes[&3].seats_of("alice"), 2);
    assert_eq!(deadline(&state), None);
    assert!(state.showtimes[&3].holds.is_empty());
    assert_eq!(
        state.showtimes[&3].activity.back().map(|c| c.action),
        Some(Action::Confirmed)
    );
    // The hold's token does not open the booking; the booking's does.
    assert!(state.booking_with_token(booking.id, &token).is_err());
    assert!(state.booking_with_token(booking.id, &booking_token).is_ok());
    // Finished holds refuse further changes with the status they ended in.
    for kind in ["confirm", "release", "extend"] {
        assert_eq!(
            run(&mut state, 3, by_token(kind, token)),
            Err(Rejection::HoldFinished {
                hold: hold.id,
                status: HoldStatus::Confirmed
            })
        );
    }
}

#[test]
fn release_frees_the_seats_and_keeps_the_hold_readable() {
    let mut state = State::default();
    let token = digest(TokenKind::Hold);
    let hold = held(run(
        &mut state,
        1,
        hold_with(1, &["d6"], "alice", 60, token),
    ));
    match run(&mut state, 2, Command::Release { hold: token }) {
        Ok(Effect::Released(h)) => {
            assert_eq!(h.status, HoldStatus::Released);
            assert_eq!(h.finished_at_ms, Some(2000));
        }
        other => panic!("{other:?}"),
    }
    assert!(state.showtimes[&1].seats.is_empty());
    assert_eq!(state.showtimes[&1].counts(), (24, 0, 0));
    assert_eq!(
        state.hold_by_token(&token).map(|h| h.status),
        Ok(HoldStatus::Released)
    );
    assert_eq!(
        run(&mut state, 3, Command::Release { hold: token }),
        Err(Rejection::HoldFinished {
            hold: hold.id,
            status: HoldStatus::Released
        })
    );
    booked(run(&mut state, 4, book(1, &["d6"], "bob")));
}

#[test]
fn a_customer_may_take_at_most_the_limit_per_showtime() {
    let mut state = State::default();
    let six = ["a1", "a2", "a3", "a4", "a5", "a6"];
    held(run(&mut state, 1, hold_cmd(2, &six, "alice", 600)));
    booked(run(
        &mut state,
        2,
        book(2, &["b1", "b2", "b3", "b4"], "alice"),
    ));
    let before = state.clone();
    assert_eq!(
        run(&mut state, 3, book(2, &["c1"], "alice")),
        Err(Rejection::CustomerLimit {
            showtime: 2,
            user: "alice".into(),
            limit: 10,
            taken: 10,
            requested: 1
        })
    );
    assert!(matches!(
        run(&mut state, 3, hold_cmd(2, &["c1"], "alice", 60)),
        Err(Rejection::CustomerLimit { .. })
    ));
    assert_eq!(state, before);
    // Another name, or another showtime, is another count.
    booked(run(&mut state, 4, book(2, &["c1"], "bob")));
    booked(run(&mut state, 5, book(3, &["c1"], "alice")));
    // Cancelling frees room; confirming a hold takes none.
    assert!(run(&mut state, 6, cancel_of(1)).is_ok());
    assert_eq!(state.showtimes[&2].seats_of("alice"), 6);
    held(run(&mut state, 7, hold_cmd(2, &["d1", "d2"], "alice", 60)));
    assert_eq!(state.showtimes[&2].seats_of("alice"), 8);
    // An admin lowers the limit: what is held stays, new requests follow it.
    let settings = Settings {
        max_seats_per_customer: 8,
    };
    assert_eq!(
        run(&mut state, 8, Command::UpdateSettings { settings }),
        Ok(Effect::SettingsUpdated(settings))
    );
    assert!(matches!(
        run(&mut state, 9, book(2, &["e1"], "alice")),
        Err(Rejection::CustomerLimit {
            limit: 8,
            taken: 8,
            ..
        })
    ));
}

#[test]
fn settings_are_checked() {
    let mut state = State::default();
    for bad in [0, crate::limits::MAX_SEATS_PER_HALL + 1] {
        let settings = Settings {
            max_seats_per_customer: bad,
        };
        assert!(matches!(
            run(&mut state, 1, Command::UpdateSettings { settings }),
            Err(Rejection::Invalid { field, .. }) if field == "max_seats_per_customer"
        ));
    }
    assert_eq!(state.settings, Settings::default());
    assert_eq!(state.settings.max_seats_per_customer, 10);
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
    assert!(state.showtimes_by_movie.contains(&(5, 91)));
    assert!(state.showtimes_by_theater.contains(&(40, 90)));
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
fn an_id_past_the_highest_is_refused_and_never_breaks_automatic_ids() {
    let mut state = State::default();
    let info = default_movies().remove(0).info;
    let create = |id| Command::CreateMovie {
        id,
        info: info.clone(),
    };
    // The id that used to make every later automatic id overflow.
    for too_big in [u32::MAX, MAX_ID + 1] {
        assert!(matches!(
            run(&mut state, 1, create(Some(too_big))),
            Err(Rejection::Invalid { field, .. }) if field == "id"
        ));
    }
    assert!(matches!(run(&mut state, 2, create(None)), Ok(Effect::MovieCreated(m)) if m.id == 5));
    // The highest id is allowed; after it, automatic ids are exhausted, cleanly.
    assert!(matches!(
        run(&mut state, 3, create(Some(MAX_ID))),
        Ok(Effect::MovieCreated(m)) if m.id == MAX_ID
    ));
    let before = state.clone();
    assert_eq!(
        run(&mut state, 4, create(None)),
        Err(Rejection::IdsExhausted {
            kind: Kind::Movie,
            max: MAX_ID
        })
    );
    assert_eq!(state, before);
    // Chosen ids still work, and removing the highest one frees automatic ids again.
    assert!(run(&mut state, 5, create(Some(6))).is_ok());
    assert!(run(&mut state, 6, Command::RemoveMovie { movie: MAX_ID }).is_ok());
    assert!(matches!(run(&mut state, 7, create(None)), Ok(Effect::MovieCreated(m)) if m.id == 7));
}

#[test]
fn the_catalog_refuses_entries_past_its_caps() {
    let mut state = State::empty();
    let movie = default_movies().remove(0).info;
    for _ in 0..MAX_MOVIES {
        assert!(admin::create_movie(&mut state, None, movie.clone()).is_ok());
    }
    assert_eq!(
        admin::create_movie(&mut state, Some(5000), movie),
        Err(Rejection::CatalogFull {
            kind: Kind::Movie,
            limit: 1000
        })
    );
    let theater = TheaterInfo {
        name: "Hall".into(),
        location: String::new(),
        layout: Layout::uniform(1, 1),
    };
    for _ in 0..MAX_THEATERS {
        assert!(admin::create_theater(&mut state, None, theater.clone()).is_ok());
    }
    assert!(matches!(
        admin::create_theater(&mut state, None, theater),
        Err(Rejection::CatalogFull {
            kind: Kind::Theater,
            limit: 500
        })
    ));
    for i in 0..MAX_SHOWTIMES {
        let new = admin::NewShowtime {
            id: None,
            movie: 1,
            theater: 1 + (i % MAX_THEATERS) as u32,
            starts_at_ms: 0,
            price_cents: 100,
        };
        assert!(admin::create_showtime(&mut state, new, 1).is_ok());
    }
    let new = admin::NewShowtime {
        id: Some(MAX_ID),
        movie: 1,
        theater: 1,
        starts_at_ms: 0,
        price_cents: 100,
    };
    assert!(matches!(
        admin::create_showtime(&mut state, new, 1),
        Err(Rejection::CatalogFull {
            kind: Kind::Showtime,
            limit: 20_000
        })
    ));
    // A movie shown 20,000 times lists the first showtimes and counts them all.
    match admin::remove_movie(&mut state, 1) {
        Err(Rejection::InUse {
            showtimes,
            showtime_count,
            ..
        }) => {
            assert_eq!(showtimes, (1..=20).collect::<Vec<u32>>());
            assert_eq!(showtime_count, 20_000);
        }
        other => panic!("{other:?}"),
    }
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
            showtime_count: 1,
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
            showtime_count: 1,
            bookings: 0,
            holds: 0
        })
    );
    let token = digest(TokenKind::Hold);
    held(run(
        &mut state,
        2,
        hold_with(2, &["a1"], "alice", 60, token),
    ));
    booked(run(&mut state, 3, book(2, &["a2"], "bob")));
    assert_eq!(
        run(&mut state, 4, Command::RemoveShowtime { showtime: 2 }),
        Err(Rejection::InUse {
            kind: Kind::Showtime,
            id: 2,
            showtimes: vec![],
            showtime_count: 0,
            bookings: 1,
            holds: 1
        })
    );
    assert!(run(&mut state, 5, Command::Release { hold: token }).is_ok());
    assert!(run(&mut state, 6, cancel_of(1)).is_ok());
    assert!(matches!(
        run(&mut state, 7, Command::RemoveShowtime { showtime: 2 }),
        Ok(Effect::ShowtimeRemoved(s)) if s.id == 2
    ));
    assert!(!state.showtimes_by_movie.contains(&(1, 2)));
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
