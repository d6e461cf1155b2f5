//! Console front tests: line parsing in both modes, rendering of outcomes through a real
//! [`Machine`], help, overview and `describe`.

use super::*;
use crate::contract::LogContext;
use crate::machine::Machine;

/// Log time of every test write.
const T0: u64 = 1_700_000_000_000;

/// Runs a console line the way the host does and returns the printed text (`None` when the
/// plugin does not know the line).
fn run(machine: &mut Machine, index: &mut u64, line: &str, mode: ConsoleMode) -> Option<String> {
    let outcome = match console(line, mode)? {
        ConsoleAction::Print(text) => return Some(text),
        ConsoleAction::Read(query) => Outcome::Finished(machine.query(0, &query)),
        ConsoleAction::Write(command) => {
            *index += 1;
            let ctx = LogContext {
                index: *index,
                term: 1,
                leader_time_ms: T0,
            };
            Outcome::Finished(machine.apply(&ctx, &command))
        }
    };
    Some(console_render(line, mode, outcome))
}

/// A fresh machine and a runner for one mode.
fn session(mode: ConsoleMode) -> impl FnMut(&str) -> Option<String> {
    let mut machine = Machine::new();
    let mut index = 0;
    move |line| run(&mut machine, &mut index, line, mode)
}

fn written(line: &str, mode: ConsoleMode) -> Command {
    match console(line, mode) {
        Some(ConsoleAction::Write(bytes)) => match decode::<Command>(&bytes) {
            Ok(command) => command,
            Err(e) => panic!("{line:?}: undecodable command {e:?}"),
        },
        other => panic!("{line:?}: expected a write, got {other:?}"),
    }
}

#[test]
fn demo_seat_lines_book_in_showtime_1_for_demo() {
    let expected = Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 1), SeatId::new(0, 2)],
        user: "demo".into(),
    };
    for line in ["a1 a2", "a1,a2", "A1, a2", "  a1\ta2  "] {
        assert_eq!(written(line, ConsoleMode::Demo), expected, "{line:?}");
    }
    assert_eq!(
        written("CANCEL #4", ConsoleMode::Demo),
        Command::Cancel {
            booking: 4,
            user: "demo".into()
        }
    );
    assert!(matches!(
        console("map", ConsoleMode::Demo),
        Some(ConsoleAction::Read(_))
    ));
}

#[test]
fn demo_mode_leaves_unknown_lines_to_the_host() {
    for line in [
        "",
        "   ",
        "hello",
        "a1 hello",
        "book 1 a1 alice",
        "showtimes",
        "aa1",
        "tick",
    ] {
        assert_eq!(console(line, ConsoleMode::Demo), None, "{line:?}");
    }
    for line in ["cancel", "cancel x", "cancel 1 2", "map now"] {
        assert!(
            matches!(console(line, ConsoleMode::Demo), Some(ConsoleAction::Print(t)) if t.starts_with("usage:")),
            "{line:?}"
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
    assert_eq!(
        demo("a1 a2").as_deref(),
        Some("Booked a1, a2 for demo (booking #1).")
    );
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
fn unavailable_outcome_says_what_could_not_be_done() {
    let cases = [
        ("a1", ConsoleMode::Demo, "Could not book a1: x"),
        (
            "cancel 3 bob",
            ConsoleMode::Dev,
            "Could not cancel booking #3: x",
        ),
        ("showtimes", ConsoleMode::Dev, "Could not list showtimes: x"),
        (
            "hold 2 a1 bob",
            ConsoleMode::Dev,
            "Could not hold a1 in showtime 2: x",
        ),
        (
            "confirm hab bob",
            ConsoleMode::Dev,
            "Could not confirm hold hab: x",
        ),
        ("tick", ConsoleMode::Dev, "Could not tick: x"),
    ];
    for (line, mode, expected) in cases {
        assert_eq!(
            console_render(line, mode, Outcome::Unavailable("x".into())),
            expected
        );
    }
}

#[test]
fn dev_commands_parse_into_commands_and_queries() {
    let dev = ConsoleMode::Dev;
    assert_eq!(
        written("book 1 a1,B2 alice", dev),
        Command::Book {
            showtime: 1,
            seats: vec![SeatId::new(0, 1), SeatId::new(1, 2)],
            user: "alice".into()
        }
    );
    assert_eq!(
        written("hold 2 a1 alice", dev),
        Command::Hold {
            showtime: 2,
            seats: vec![SeatId::new(0, 1)],
            user: "alice".into(),
            ttl_seconds: 600
        }
    );
    assert_eq!(
        written("hold 2 a1 alice 30", dev),
        Command::Hold {
            showtime: 2,
            seats: vec![SeatId::new(0, 1)],
            user: "alice".into(),
            ttl_seconds: 30
        }
    );
    assert_eq!(
        written("extend hx alice 90", dev),
        Command::Extend {
            hold: "hx".into(),
            user: "alice".into(),
            ttl_seconds: 90
        }
    );
    assert_eq!(
        written("confirm hx alice", dev),
        Command::Confirm {
            hold: "hx".into(),
            user: "alice".into()
        }
    );
    assert_eq!(
        written("release hx alice", dev),
        Command::Release {
            hold: "hx".into(),
            user: "alice".into()
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
    assert_eq!(console("tick", dev), Some(ConsoleAction::Write(Vec::new())));
    for line in [
        "seats 1",
        "showtimes",
        "bookings",
        "booking 4",
        "movies",
        "theaters",
        "activity 2",
        "show-hold hx",
    ] {
        assert!(
            matches!(console(line, dev), Some(ConsoleAction::Read(_))),
            "{line:?}"
        );
    }
}

#[test]
fn dev_bad_arity_or_arguments_print_usage_not_none() {
    for line in [
        "book",
        "book 1 a1",
        "book x a1 alice",
        "book 1 hello alice",
        "hold 1 a1",
        "hold 1 a1 alice soon",
        "hold 1 a1 alice 5 6",
        "extend hx",
        "confirm hx",
        "release",
        "cancel 3",
        "seats one",
        "showtimes now",
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
        "tick now",
    ] {
        match console(line, ConsoleMode::Dev) {
            Some(ConsoleAction::Print(text)) => assert!(text.starts_with("usage: "), "{text}"),
            other => panic!("{line:?}: expected usage, got {other:?}"),
        }
    }
    assert_eq!(console("a1", ConsoleMode::Dev), None);
    assert_eq!(console("frobnicate 1", ConsoleMode::Dev), None);
}

#[test]
fn stateless_refusals_are_printed_without_replicating() {
    assert_eq!(
        console("book 1 a1,a1 alice", ConsoleMode::Dev),
        Some(ConsoleAction::Print(
            "Seat a1 is listed more than once.".into()
        ))
    );
    assert!(matches!(
        console("add-theater a:101 X", ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid rows")
    ));
    assert!(matches!(
        console("hold 1 a1 alice 9000", ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid ttl_seconds")
    ));
    let long_user = format!("book 1 a1 {}", "u".repeat(65));
    assert!(matches!(
        console(&long_user, ConsoleMode::Dev),
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
    assert_eq!(
        dev("book 7 l20,a1 alice").as_deref(),
        Some("Booked a1, l20 in showtime 7 for alice (booking #1).")
    );
    assert_eq!(
        dev("book 7 a1 bob").as_deref(),
        Some("Seat a1 in showtime 7 is already taken.")
    );
    assert_eq!(
        dev("cancel 1 bob").as_deref(),
        Some("Booking #1 was made by another user; only they can cancel it.")
    );
    assert_eq!(
        dev("booking 1").as_deref(),
        Some("#1  showtime 7  a1,l20  alice  2023-11-14 22:13:20 UTC  (log 3)")
    );
    let held = dev("hold 7 b1,b2 carol 60").unwrap_or_default();
    assert!(
        held.starts_with(
            "Held b1, b2 in showtime 7 for carol until 2023-11-14 22:14:20 UTC (hold h"
        ),
        "{held}"
    );
    let token = held
        .rsplit("(hold ")
        .next()
        .unwrap_or("")
        .trim_end_matches(").")
        .to_string();
    assert!(dev(&format!("show-hold {token}")).is_some_and(|t| t.contains("active until")));
    assert_eq!(
        dev(&format!("confirm {token} bob")).as_deref(),
        Some(format!("Hold {token} was made by another user; only they can change it.").as_str())
    );
    assert_eq!(
        dev(&format!("confirm {token} carol")).as_deref(),
        Some(
            format!("Confirmed hold {token}: booked b1, b2 in showtime 7 for carol (booking #2).")
                .as_str()
        )
    );
    assert_eq!(
        dev(&format!("release {token} carol")).as_deref(),
        Some(format!("Hold {token} is already confirmed.").as_str())
    );
    assert_eq!(
        dev("release hzz carol").as_deref(),
        Some("There is no hold hzz.")
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
        activity.lines().any(|l| l.contains("confirmed b1,b2")),
        "{activity}"
    );
    assert_eq!(dev("booking 9").as_deref(), Some("There is no booking #9."));
    assert_eq!(dev("seats 9").as_deref(), Some("There is no showtime 9."));
    assert_eq!(dev("tick").as_deref(), Some("Tick."));
    assert!(dev("movies").is_some_and(
        |t| t.lines().count() == 4 && t.starts_with("Movie 1: Inception (2010, 148 min")
    ));
    assert!(dev("theaters").is_some_and(|t| t.lines().count() == 6));
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
    let dev = console_help(ConsoleMode::Dev);
    assert_eq!(dev.lines().count(), DEV_HELP.len());
    for start in [
        "hold SHOWTIME",
        "confirm TOKEN",
        "release TOKEN",
        "movies",
        "theaters",
        "showtimes",
        "tick",
    ] {
        assert!(dev.lines().any(|l| l.starts_with(start)), "{start}");
    }
    let demo = console_help(ConsoleMode::Demo);
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
    });
    assert!(machine.apply(&LogContext::default(), &book).is_ok());
    for mode in [ConsoleMode::Demo, ConsoleMode::Dev] {
        let Some(query) = overview(mode) else {
            panic!("no overview query")
        };
        let text = render_overview(mode, Outcome::Finished(machine.query(0, &query)));
        assert!(
            text.starts_with("Showtime 1 (4 rows x 6 seats, 23 free)"),
            "{text}"
        );
        assert!(text.contains("\n  a  .  .  X  .  .  .\n"), "{text}");
    }
    let text = render_overview(ConsoleMode::Demo, Outcome::Unavailable("no leader".into()));
    assert_eq!(text, "Seat map unavailable: no leader");
    let mut empty = Machine::new();
    assert!(empty
        .restore(&crate::snapshot::write(&crate::state::State::empty()))
        .is_ok());
    let query = overview(ConsoleMode::Demo).unwrap_or_default();
    let text = render_overview(ConsoleMode::Demo, Outcome::Finished(empty.query(0, &query)));
    assert_eq!(text, "There is no showtime 1.");
}

#[test]
fn describe_names_every_command_and_its_result() {
    let mut machine = Machine::new();
    let mut index = 0;
    let mut apply = |command: &[u8], at: u64| {
        index += 1;
        let ctx = LogContext {
            index,
            term: 1,
            leader_time_ms: T0 + at,
        };
        let result = machine.apply(&ctx, command);
        describe(command, Some(result))
    };
    let book = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 2), SeatId::new(0, 1)],
        user: "alice".into(),
    });
    assert_eq!(describe(&book, None), "book a2,a1 in showtime 1 for alice");
    assert_eq!(
        apply(&book, 0),
        "book a2,a1 in showtime 1 for alice -> booking #1"
    );
    assert_eq!(
        apply(&book, 0),
        "book a2,a1 in showtime 1 for alice -> refused: seats a1,a2 taken"
    );
    let hold = encode(&Command::Hold {
        showtime: 2,
        seats: vec![SeatId::new(0, 1)],
        user: "bob".into(),
        ttl_seconds: 60,
    });
    let held = apply(&hold, 0);
    assert!(
        held.starts_with("hold a1 in showtime 2 for bob for 60 s -> hold h")
            && held.ends_with("until 2023-11-14 22:14:20 UTC"),
        "{held}"
    );
    assert_eq!(apply(&[], 1000), "tick");
    let expired = apply(&[], 60_000);
    assert!(
        expired.starts_with("tick -> expired hold h") && expired.ends_with("(a1 of showtime 2)"),
        "{expired}"
    );
    assert_eq!(describe(&[], None), "tick");
    // Expiries before a refused command are still described.
    apply(&hold, 60_000);
    let refused = apply(&book, 120_000);
    assert!(
        refused.starts_with(
            "book a2,a1 in showtime 1 for alice -> refused: seats a1,a2 taken; expired hold h"
        ),
        "{refused}"
    );
    let phrases = [
        (
            Command::Extend {
                hold: "hx".into(),
                user: "al".into(),
                ttl_seconds: 30,
            },
            "extend hold hx for al to 30 s from now",
        ),
        (
            Command::Confirm {
                hold: "hx".into(),
                user: "al".into(),
            },
            "confirm hold hx for al",
        ),
        (
            Command::Release {
                hold: "hx".into(),
                user: "al".into(),
            },
            "release hold hx for al",
        ),
        (
            Command::Cancel {
                booking: 1,
                user: "al\nice".into(),
            },
            "cancel booking #1 for al\u{FFFD}ice",
        ),
        (Command::RemoveMovie { movie: 3 }, "remove movie 3"),
        (Command::RemoveTheater { theater: 3 }, "remove theater 3"),
        (Command::RemoveShowtime { showtime: 3 }, "remove showtime 3"),
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
    // Every 2-byte prefix must describe without panicking.
    for a in 0..=255u8 {
        for b in [0u8, 1, 0x7f, 0x80, 0xff] {
            // Only the absence of a panic matters; any text will do.
            assert!(!describe(&[a, b], Some(Ok(vec![a, b]))).is_empty());
            assert!(!describe(&[a, b], Some(Err(vec![b, a]))).is_empty());
        }
    }
}
