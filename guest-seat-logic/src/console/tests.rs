//! Console front tests: line parsing in both modes, rendering of outcomes through a real
//! [`Machine`] (reads answered at render time, as contract 0.2.0 does), tokens printed once,
//! help, overview and `describe`.

use super::*;
use crate::contract::LogContext;
use crate::describe::describe;
use crate::rejection::Rejection;
use crate::testing::{digest, entropy};

/// Log time of every test write.
const T0: u64 = 1_700_000_000_000;

/// A line of `mode` with fresh entropy.
fn line(text: &str, mode: ConsoleMode) -> ConsoleLine {
    ConsoleLine {
        text: text.to_string(),
        mode,
        entropy: entropy(),
    }
}

/// Runs a console line the way the host does and returns the printed text (`None` when the
/// plugin does not know the line).
fn run(machine: &mut Machine, index: &mut u64, text: &str, mode: ConsoleMode) -> Option<String> {
    let line = line(text, mode);
    let outcome = match parse(&line)? {
        ConsoleAction::Print(text) => return Some(text),
        ConsoleAction::Read(query) => Outcome::Read(query),
        ConsoleAction::Write(command) => {
            *index += 1;
            let ctx = LogContext {
                index: *index,
                term: 1,
                time_ms: T0,
            };
            Outcome::Written(machine.apply(&ctx, &command).result)
        }
    };
    Some(render(machine, &line, outcome))
}

/// A fresh machine and a runner for one mode.
fn session(mode: ConsoleMode) -> impl FnMut(&str) -> Option<String> {
    let mut machine = Machine::new();
    let mut index = 0;
    move |line| run(&mut machine, &mut index, line, mode)
}

fn action(text: &str, mode: ConsoleMode) -> Option<ConsoleAction> {
    parse(&line(text, mode))
}

fn written(text: &str, mode: ConsoleMode) -> Command {
    match action(text, mode) {
        Some(ConsoleAction::Write(bytes)) => match decode::<Command>(&bytes) {
            Ok(command) => command,
            Err(e) => panic!("{text:?}: undecodable command {e:?}"),
        },
        other => panic!("{text:?}: expected a write, got {other:?}"),
    }
}

/// The token printed in a sentence ending `..., token X).`
fn printed_token(text: &str) -> String {
    text.rsplit("token ")
        .next()
        .unwrap_or("")
        .trim_end_matches(").")
        .to_string()
}

#[test]
fn demo_seat_lines_book_in_showtime_1_for_demo_with_a_token_of_the_lines_entropy() {
    for text in ["a1 a2", "a1,a2", "A1, a2", "  a1\ta2  "] {
        let line = line(text, ConsoleMode::Demo);
        let Some(ConsoleAction::Write(bytes)) = parse(&line) else {
            panic!("{text:?}: not a write")
        };
        let expected = token::mint(Kind::Booking, &line.entropy).map(|m| m.digest);
        match decode::<Command>(&bytes) {
            Ok(Command::Book {
                showtime: 1,
                seats,
                user,
                token,
            }) => {
                assert_eq!(seats, vec![SeatId::new(0, 1), SeatId::new(0, 2)]);
                assert_eq!(user, "demo");
                assert_eq!(Ok(token), expected);
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    assert_eq!(
        written("CANCEL #4", ConsoleMode::Demo),
        Command::Cancel {
            booking: 4,
            by: Actor::Operator
        }
    );
    assert!(matches!(
        action("map", ConsoleMode::Demo),
        Some(ConsoleAction::Read(_))
    ));
}

#[test]
fn lines_without_enough_entropy_mint_nothing() {
    let short = ConsoleLine {
        text: "a1".into(),
        mode: ConsoleMode::Demo,
        entropy: vec![1; 8],
    };
    assert!(matches!(
        parse(&short),
        Some(ConsoleAction::Print(t)) if t.contains("entropy")
    ));
}

#[test]
fn demo_mode_leaves_unknown_lines_to_the_host() {
    for text in [
        "",
        "   ",
        "hello",
        "a1 hello",
        "book 1 a1 alice",
        "showtimes",
        "aa1",
        "tick",
    ] {
        assert_eq!(action(text, ConsoleMode::Demo), None, "{text:?}");
    }
    for text in ["cancel", "cancel x", "cancel 1 2", "map now"] {
        assert!(
            matches!(action(text, ConsoleMode::Demo), Some(ConsoleAction::Print(t)) if t.starts_with("usage:")),
            "{text:?}"
        );
    }
}

#[test]
fn demo_session_messages() {
    let mut demo = session(ConsoleMode::Demo);
    let map = demo("map").unwrap_or_default();
    assert!(
        map.starts_with("Showtime 1 (4 rows x 6 seats, 24 free)\n"),
        "{map}"
    );
    let booked = demo("a1 a2").unwrap_or_default();
    assert!(
        booked.starts_with("Booked a1, a2 for demo (booking #1, token b_"),
        "{booked}"
    );
    assert_eq!(printed_token(&booked).len(), token::TOKEN_CHARS);
    assert_eq!(demo("a1").as_deref(), Some("Seat a1 is already taken."));
    assert_eq!(
        demo("a2 a1 b1").as_deref(),
        Some("Seats a1, a2 are already taken.")
    );
    assert_eq!(
        demo("z9").as_deref(),
        Some("There is no seat z9 in showtime 1 (rows a-d, seats 1-6).")
    );
    assert_eq!(
        demo("a1 a1").as_deref(),
        Some("Seat a1 is listed more than once.")
    );
    assert_eq!(
        demo("cancel 1").as_deref(),
        Some("Cancelled booking #1; seats a1, a2 are free again.")
    );
    assert_eq!(
        demo("cancel 1").as_deref(),
        Some("Booking #1 is already cancelled.")
    );
    assert_eq!(demo("cancel 7").as_deref(), Some("There is no booking #7."));
}

#[test]
fn best_suggests_seats_without_booking_them() {
    let mut demo = session(ConsoleMode::Demo);
    let text = |out: Option<String>| out.unwrap_or_default();
    assert_eq!(
        text(demo("best 2")),
        "Best 2 seats side by side in showtime 1: c3, c4 (nothing is booked)."
    );
    assert!(text(demo("c3 c4")).contains("Booked"), "still free to book");
    assert!(text(demo("best 2")).contains(": b3, b4 "));
    let seven = text(demo("best 7"));
    if crate::rules::RULES.max_seats_per_request < 7 {
        assert_eq!(seven, "Ask for 1 to 6 seats side by side (not 7).");
    } else {
        assert!(
            seven.starts_with("No row has 7 free seats side by side"),
            "{seven}"
        );
    }
    assert!(text(demo("best 0")).contains("Ask for 1 to"));
    assert!(text(demo("best x")).starts_with("usage: best N"));
    assert!(text(demo("best")).starts_with("usage: best N"));
    let mut dev = session(ConsoleMode::Dev);
    assert!(text(dev("best 2 4")).contains("4 seats side by side in showtime 2: e4, e5, e6, e7 "));
    assert_eq!(
        text(dev("best 9 1")),
        text::rejection(
            &Rejection::UnknownShowtime { showtime: 9 },
            ConsoleMode::Dev
        )
    );
    let limits = text(dev("limits"));
    assert!(
        limits.starts_with(&format!("Rules {}", crate::rules::VERSION)),
        "{limits}"
    );
    assert!(limits.contains("at most 10 seats per showtime"), "{limits}");
}

#[test]
fn unavailable_outcome_says_what_could_not_be_done() {
    let token = token::mint(Kind::Hold, &[1; 32])
        .map(|m| m.text)
        .unwrap_or_default();
    let machine = Machine::new();
    let cases = [
        ("a1".to_string(), ConsoleMode::Demo, "Could not book a1: x"),
        (
            "cancel 3".to_string(),
            ConsoleMode::Dev,
            "Could not cancel booking #3: x",
        ),
        (
            "showtimes".to_string(),
            ConsoleMode::Dev,
            "Could not list showtimes: x",
        ),
        (
            "hold 2 a1 bob".to_string(),
            ConsoleMode::Dev,
            "Could not hold a1 in showtime 2: x",
        ),
        (
            format!("confirm {token}"),
            ConsoleMode::Dev,
            "Could not confirm the hold: x",
        ),
        ("tick".to_string(), ConsoleMode::Dev, "Could not tick: x"),
    ];
    for (text, mode, expected) in cases {
        assert_eq!(
            render(
                &machine,
                &line(&text, mode),
                Outcome::Unavailable("x".into())
            ),
            expected
        );
    }
}

#[test]
fn dev_commands_parse_into_commands_and_queries() {
    let dev = ConsoleMode::Dev;
    assert!(matches!(
        written("book 1 a1,B2 alice", dev),
        Command::Book { showtime: 1, seats, user, .. }
            if seats == vec![SeatId::new(0, 1), SeatId::new(1, 2)] && user == "alice"
    ));
    assert!(matches!(
        written("hold 2 a1 alice", dev),
        Command::Hold {
            showtime: 2,
            ttl_seconds: 600,
            ..
        }
    ));
    assert!(matches!(
        written("hold 2 a1 alice 30", dev),
        Command::Hold {
            ttl_seconds: 30,
            ..
        }
    ));
    let hold = token::mint(Kind::Hold, &[2; 32]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        written(&format!("extend {} 90", hold.text), dev),
        Command::Extend {
            hold: hold.digest,
            ttl_seconds: 90
        }
    );
    assert!(matches!(
        written(&format!("confirm {}", hold.text), dev),
        Command::Confirm { hold: h, .. } if h == hold.digest
    ));
    assert_eq!(
        written(&format!("release {}", hold.text), dev),
        Command::Release { hold: hold.digest }
    );
    assert_eq!(
        written("cancel #3", dev),
        Command::Cancel {
            booking: 3,
            by: Actor::Operator
        }
    );
    assert_eq!(
        written("add-theater a-b:10,c:12 Big Hall", dev),
        Command::CreateTheater {
            id: None,
            info: TheaterInfo {
                name: "Big Hall".into(),
                location: String::new(),
                layout: Layout {
                    rows: vec![10, 10, 12]
                }
            }
        }
    );
    assert!(matches!(
        written("add-movie 2009 96 Up in the air", dev),
        Command::CreateMovie { id: None, info } if info.title == "Up in the air" && info.year == 2009
    ));
    assert_eq!(
        written("add-showtime 1 2 2026-12-01T20:00:00Z 900 90", dev),
        Command::CreateShowtime {
            id: Some(90),
            movie: 1,
            theater: 2,
            starts_at_ms: 1_796_155_200_000,
            price_cents: 900
        }
    );
    assert_eq!(
        written("remove-showtime 7", dev),
        Command::RemoveShowtime { showtime: 7 }
    );
    assert_eq!(
        written("remove-movie 7", dev),
        Command::RemoveMovie { movie: 7 }
    );
    assert_eq!(
        written("remove-theater 7", dev),
        Command::RemoveTheater { theater: 7 }
    );
    assert_eq!(
        written("customer-limit 4", dev),
        Command::UpdateSettings {
            settings: Settings {
                max_seats_per_customer: 4
            }
        }
    );
    assert_eq!(action("tick", dev), Some(ConsoleAction::Write(Vec::new())));
    for text in [
        "seats 1",
        "showtimes",
        "showtimes 3",
        "bookings",
        "bookings 10",
        "booking 4",
        "movies",
        "movies 2",
        "theaters",
        "activity 2",
        "settings",
        &format!("show-hold {}", hold.text),
    ] {
        assert!(
            matches!(action(text, dev), Some(ConsoleAction::Read(_))),
            "{text:?}"
        );
    }
}

#[test]
fn dev_bad_arity_or_arguments_print_usage_not_none() {
    for text in [
        "book",
        "book 1 a1",
        "book x a1 alice",
        "book 1 hello alice",
        "hold 1 a1",
        "hold 1 a1 alice soon",
        "hold 1 a1 alice 5 6",
        "extend",
        "extend hx",
        "confirm",
        "confirm hx",
        "confirm h_x alice",
        "release",
        "cancel",
        "cancel x",
        "cancel 3 bob",
        "seats one",
        "showtimes now",
        "showtimes 1 2",
        "add-movie 2009 96",
        "add-movie year 96 Up",
        "add-theater a-c:5",
        "add-theater b-c:10 X",
        "add-theater a-c X",
        "add-theater c-a:5 X",
        "add-theater a-z:5,a:1 X",
        "add-showtime 1 2 tomorrow 900",
        "add-showtime 1 2",
        "remove-showtime",
        "customer-limit",
        "customer-limit many",
        "settings now",
        "tick now",
    ] {
        match action(text, ConsoleMode::Dev) {
            Some(ConsoleAction::Print(t)) => assert!(t.starts_with("usage: "), "{t}"),
            other => panic!("{text:?}: expected usage, got {other:?}"),
        }
    }
    assert_eq!(action("a1", ConsoleMode::Dev), None);
    assert_eq!(action("frobnicate 1", ConsoleMode::Dev), None);
}

#[test]
fn stateless_refusals_are_printed_without_replicating() {
    assert_eq!(
        action("book 1 a1,a1 alice", ConsoleMode::Dev),
        Some(ConsoleAction::Print(
            "Seat a1 is listed more than once.".into()
        ))
    );
    assert!(matches!(
        action("add-theater a:101 X", ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid rows")
    ));
    assert!(matches!(
        action("hold 1 a1 alice 9000", ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid ttl_seconds")
    ));
    assert!(matches!(
        action("customer-limit 0", ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid max_seats_per_customer")
    ));
    let long_user = format!("book 1 a1 {}", "u".repeat(65));
    assert!(matches!(
        action(&long_user, ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid user")
    ));
}

#[test]
fn dev_session_messages() {
    let mut dev = session(ConsoleMode::Dev);
    assert_eq!(
        dev("add-theater a-l:20 Big Hall").as_deref(),
        Some("Created theater 6 (Big Hall, 12 rows x 20 seats).")
    );
    assert_eq!(
        dev("add-showtime 1 6 2026-12-01T20:00:00Z 900 7").as_deref(),
        Some("Created showtime 7 (Inception in Big Hall, 2026-12-01 20:00:00 UTC, 12 rows x 20 seats).")
    );
    let booked = dev("book 7 l20,a1 alice").unwrap_or_default();
    assert!(
        booked.starts_with("Booked a1, l20 in showtime 7 for alice (booking #1, token b_"),
        "{booked}"
    );
    assert_eq!(
        dev("book 7 a1 bob").as_deref(),
        Some("Seat a1 in showtime 7 is already taken.")
    );
    assert_eq!(
        dev("booking 1").as_deref(),
        Some("#1  showtime 7  a1,l20  alice  2023-11-14 22:13:20 UTC  (log 3)")
    );
    let held = dev("hold 7 b1,b2 carol 60").unwrap_or_default();
    assert!(
        held.starts_with(
            "Held b1, b2 in showtime 7 for carol until 2023-11-14 22:14:20 UTC (hold 1, token h_"
        ),
        "{held}"
    );
    let token = printed_token(&held);
    assert!(token::parse(Kind::Hold, &token).is_some(), "{token}");
    let shown = dev(&format!("show-hold {token}")).unwrap_or_default();
    assert!(shown.starts_with("hold 1  showtime 7") && shown.contains("active until"));
    assert!(!shown.contains(&token));
    let wrong = token::mint(Kind::Hold, &[9; 32])
        .map(|m| m.text)
        .unwrap_or_default();
    assert_eq!(
        dev(&format!("confirm {wrong}")).as_deref(),
        Some("There is no hold with that token.")
    );
    let confirmed = dev(&format!("confirm {token}")).unwrap_or_default();
    assert!(
        confirmed.starts_with(
            "Confirmed hold 1: booked b1, b2 in showtime 7 for carol (booking #2, token b_"
        ),
        "{confirmed}"
    );
    assert_ne!(printed_token(&confirmed), token);
    assert_eq!(
        dev(&format!("release {token}")).as_deref(),
        Some("Hold 1 is already confirmed.")
    );
    let list = dev("showtimes").unwrap_or_default();
    assert!(list.ends_with("Showtime 7: Inception in Big Hall, 2026-12-01 20:00:00 UTC, 236 free, 0 held, 4 booked"), "{list}");
    assert_eq!(
        dev("remove-showtime 7").as_deref(),
        Some("Showtime 7 still has 2 bookings and 0 active holds; cancel or release them first.")
    );
    assert_eq!(
        dev("remove-movie 1").as_deref(),
        Some("Movie 1 is used by showtimes 2, 7; remove them first.")
    );
    let map = dev("seats 7").unwrap_or_default();
    assert!(map.contains("\n  a  X  .  ."), "{map}");
    let activity = dev("activity 7").unwrap_or_default();
    assert_eq!(activity.lines().count(), 3, "{activity}");
    assert!(
        activity
            .lines()
            .any(|l| l.contains("confirmed b1,b2  booking #2  hold 1")),
        "{activity}"
    );
    assert_eq!(
        dev("cancel 2").as_deref(),
        Some("Cancelled booking #2; seats b1, b2 are free again.")
    );
    let bookings = dev("bookings").unwrap_or_default();
    assert_eq!(bookings.lines().count(), 2, "{bookings}");
    assert!(!bookings.contains("token") && !bookings.contains("b_"));
    assert_eq!(dev("booking 9").as_deref(), Some("There is no booking #9."));
    assert_eq!(dev("seats 9").as_deref(), Some("There is no showtime 9."));
    assert_eq!(dev("tick").as_deref(), Some("Tick."));
    assert_eq!(
        dev("settings").as_deref(),
        Some("Each customer may hold or book at most 10 seats per showtime.")
    );
    assert_eq!(
        dev("customer-limit 2").as_deref(),
        Some("Each customer may hold or book at most 2 seats per showtime.")
    );
    assert_eq!(
        dev("book 7 c1,c2,c3 dave").as_deref(),
        Some(
            "dave already has 0 seats of showtime 7; 3 more would pass the limit of 2 per \
             customer."
        )
    );
    assert!(dev("movies").is_some_and(
        |t| t.lines().count() == 4 && t.starts_with("Movie 1: Inception (2010, 148 min")
    ));
    assert!(dev("theaters").is_some_and(|t| t.lines().count() == 6));
    assert_eq!(
        dev("theaters 5").as_deref().map(|t| t.lines().count()),
        Some(1)
    );
}

#[test]
fn long_lists_are_paged_with_a_hint_for_the_next_page() {
    let mut dev = session(ConsoleMode::Dev);
    for i in 0..101 {
        assert!(dev(&format!("add-movie 2000 90 Film {i}"))
            .is_some_and(|t| t.starts_with("Created movie")));
    }
    let first = dev("movies").unwrap_or_default();
    assert_eq!(first.lines().count(), 101, "{first}");
    assert!(first.ends_with("\nMore: movies 100"), "{first}");
    let second = dev("movies 100").unwrap_or_default();
    assert_eq!(second.lines().count(), 5, "{second}");
    assert!(!second.contains("More:"));
}

#[test]
fn held_seats_show_differently_from_booked_ones() {
    let mut dev = session(ConsoleMode::Dev);
    dev("hold 1 a2 alice");
    dev("book 1 a3 bob");
    let map = dev("seats 1").unwrap_or_default();
    assert!(
        map.starts_with("Showtime 1 (4 rows x 6 seats, 22 free, 1 held)"),
        "{map}"
    );
    assert!(map.contains("\n  a  .  o  X  .  .  .\n"), "{map}");
    assert!(map.ends_with(". free   o held   X booked"), "{map}");
}

#[test]
fn help_has_one_line_per_command() {
    let dev = help(ConsoleMode::Dev);
    assert_eq!(dev.lines().count(), DEV_HELP.len());
    for start in [
        "hold SHOWTIME",
        "confirm TOKEN",
        "release TOKEN",
        "extend TOKEN",
        "cancel BOOKING",
        "movies",
        "theaters",
        "showtimes",
        "customer-limit",
        "tick",
    ] {
        assert!(dev.lines().any(|l| l.starts_with(start)), "{start}");
    }
    let demo = help(ConsoleMode::Demo);
    assert_eq!(demo.lines().count(), DEMO_HELP.len());
    assert!(demo.lines().any(|l| l.starts_with("cancel N")));
}

#[test]
fn overview_renders_the_seat_map_of_showtime_1() {
    let mut machine = Machine::new();
    let book = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 3)],
        user: "demo".into(),
        token: digest(Kind::Booking),
    });
    assert!(machine.apply(&LogContext::default(), &book).result.is_ok());
    for mode in [ConsoleMode::Demo, ConsoleMode::Dev] {
        let Some(query) = overview(mode) else {
            panic!("no overview query")
        };
        let text = render_overview(&machine, mode, Outcome::Read(query));
        assert!(
            text.starts_with("Showtime 1 (4 rows x 6 seats, 23 free)"),
            "{text}"
        );
        assert!(text.contains("\n  a  .  .  X  .  .  .\n"), "{text}");
    }
    let text = render_overview(
        &machine,
        ConsoleMode::Demo,
        Outcome::Unavailable("no leader".into()),
    );
    assert_eq!(text, "Seat map unavailable: no leader");
    let mut empty = Machine::new();
    assert!(empty
        .restore(&crate::snapshot::write(&crate::state::State::empty()))
        .is_ok());
    let query = overview(ConsoleMode::Demo).unwrap_or_default();
    let text = render_overview(&empty, ConsoleMode::Demo, Outcome::Read(query));
    assert_eq!(text, "There is no showtime 1.");
    assert_eq!(
        render_overview(&empty, ConsoleMode::Demo, Outcome::Read(vec![0xff])),
        "The state machine could not decode the request (1 bytes); plugin versions may differ."
    );
}

#[test]
fn describe_names_every_command_and_its_result_and_never_a_token() {
    let mut machine = Machine::new();
    let mut index = 0;
    let mut apply = |command: &[u8], at: u64| {
        index += 1;
        let ctx = LogContext {
            index,
            term: 1,
            time_ms: T0 + at,
        };
        let result = machine.apply(&ctx, command).result;
        describe(command, Some(result))
    };
    let book = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 2), SeatId::new(0, 1)],
        user: "alice".into(),
        token: digest(Kind::Booking),
    });
    assert_eq!(describe(&book, None), "book a2,a1 in showtime 1 for alice");
    assert_eq!(
        apply(&book, 0),
        "book a2,a1 in showtime 1 for alice -> booking #1"
    );
    let again = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 2), SeatId::new(0, 1)],
        user: "alice".into(),
        token: digest(Kind::Booking),
    });
    assert_eq!(
        apply(&again, 0),
        "book a2,a1 in showtime 1 for alice -> refused: seats a1,a2 taken"
    );
    let minted = crate::testing::minted(Kind::Hold);
    let hold = encode(&Command::Hold {
        showtime: 2,
        seats: vec![SeatId::new(0, 1)],
        user: "bob".into(),
        ttl_seconds: 60,
        token: minted.digest,
    });
    assert_eq!(
        apply(&hold, 0),
        "hold a1 in showtime 2 for bob for 60 s -> hold 1 until 2023-11-14 22:14:20 UTC"
    );
    let confirm = encode(&Command::Confirm {
        hold: minted.digest,
        token: digest(Kind::Booking),
    });
    let line = apply(&confirm, 1);
    assert_eq!(line, "confirm a hold -> hold 1 became booking #2");
    assert!(!line.contains(&minted.text));
    assert_eq!(apply(&[], 1000), "tick");
    let expiring = encode(&Command::Hold {
        showtime: 2,
        seats: vec![SeatId::new(0, 2)],
        user: "bob".into(),
        ttl_seconds: 60,
        token: digest(Kind::Hold),
    });
    apply(&expiring, 1000);
    assert_eq!(
        apply(&[], 61_000),
        "tick -> expired hold 2 (a2 of showtime 2)"
    );
    assert_eq!(describe(&[], None), "tick");
    // Expiries before a refused command are still described.
    let third = encode(&Command::Hold {
        showtime: 2,
        seats: vec![SeatId::new(2, 1)],
        user: "bob".into(),
        ttl_seconds: 60,
        token: digest(Kind::Hold),
    });
    apply(&third, 61_000);
    assert_eq!(
        apply(&again, 121_000),
        "book a2,a1 in showtime 1 for alice -> refused: seats a1,a2 taken; expired hold 3 \
         (c1 of showtime 2)"
    );
    let phrases = [
        (
            Command::Extend {
                hold: digest(Kind::Hold),
                ttl_seconds: 30,
            },
            "extend a hold to 30 s from now",
        ),
        (
            Command::Release {
                hold: digest(Kind::Hold),
            },
            "release a hold",
        ),
        (
            Command::Cancel {
                booking: 1,
                by: Actor::Customer(digest(Kind::Booking)),
            },
            "cancel booking #1 (by token)",
        ),
        (
            Command::Cancel {
                booking: 1,
                by: Actor::Operator,
            },
            "cancel booking #1 (by operator)",
        ),
        (Command::RemoveMovie { movie: 3 }, "remove movie 3"),
        (Command::RemoveTheater { theater: 3 }, "remove theater 3"),
        (Command::RemoveShowtime { showtime: 3 }, "remove showtime 3"),
        (
            Command::UpdateSettings {
                settings: Settings {
                    max_seats_per_customer: 4,
                },
            },
            "set the customer limit to 4 seats per showtime",
        ),
        (
            Command::CreateShowtime {
                id: Some(9),
                movie: 1,
                theater: 2,
                starts_at_ms: 1_796_155_200_000,
                price_cents: 900,
            },
            "create showtime 9 of movie 1 in theater 2 at 2026-12-01 20:00:00 UTC, 900 cents",
        ),
        (
            Command::CreateTheater {
                id: None,
                info: TheaterInfo {
                    name: "Annex".into(),
                    location: String::new(),
                    layout: Layout::uniform(2, 3),
                },
            },
            "create theater Annex (2 rows, 6 seats)",
        ),
    ];
    for (command, phrase) in phrases {
        assert_eq!(describe(&encode(&command), None), phrase);
    }
    let movie = encode(&Command::CreateMovie {
        id: Some(8),
        info: crate::catalog::default_movies().remove(1).info,
    });
    assert_eq!(describe(&movie, None), "create movie 8 The Matrix");
}

#[test]
fn describe_never_traps_on_garbage() {
    assert_eq!(
        describe(&[0xff, 0xff, 0xff], Some(Ok(vec![1]))),
        "undecodable command (3 bytes) -> undecodable result (1 bytes)"
    );
    let remove = encode(&Command::RemoveShowtime { showtime: 2 });
    assert_eq!(
        describe(&remove, Some(Ok(vec![0xff]))),
        "remove showtime 2 -> undecodable result (1 bytes)"
    );
    assert_eq!(
        describe(&remove, Some(Err(vec![]))),
        "remove showtime 2 -> refused: undecodable reason (0 bytes)"
    );
    assert_eq!(
        describe(&[], Some(Ok(vec![0xff]))),
        "tick -> undecodable result (1 bytes)"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    #[test]
    fn parse_and_render_never_panic_on_arbitrary_lines(
        text in "(book|hold|confirm|release|extend|cancel|movies|seats|add-theater|customer-limit|a1)? ?.{0,40}",
        dev in proptest::prelude::any::<bool>(),
        entropy in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
    ) {
        let mode = if dev { ConsoleMode::Dev } else { ConsoleMode::Demo };
        let line = ConsoleLine { text, mode, entropy };
        let mut machine = Machine::new();
        let outcome = match parse(&line) {
            Some(ConsoleAction::Read(query)) => Outcome::Read(query),
            Some(ConsoleAction::Write(command)) => {
                Outcome::Written(machine.apply(&LogContext::default(), &command).result)
            }
            _ => Outcome::Read(bytes.clone()),
        };
        let _ = render(&machine, &line, outcome);
        let _ = render(&machine, &line, Outcome::Written(Ok(bytes.clone())));
        let _ = render(&machine, &line, Outcome::Written(Err(bytes.clone())));
        let _ = render_overview(&machine, mode, Outcome::Read(bytes));
    }
}
