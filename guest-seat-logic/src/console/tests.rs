//! Console front tests: line parsing in both modes, rendering of outcomes through a real
//! [`Machine`], help, overview and `describe`.

use super::*;
use crate::contract::LogContext;
use crate::machine::Machine;

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
                leader_time_ms: 1_700_000_000_000,
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
        written("cancel 3", ConsoleMode::Demo),
        Command::Cancel {
            booking: 3,
            user: "demo".into()
        }
    );
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
    ] {
        assert_eq!(console(line, ConsoleMode::Demo), None, "{line:?}");
    }
}

#[test]
fn demo_mode_prints_usage_for_known_commands_with_bad_arguments() {
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
    assert_eq!(demo("cancel 1").as_deref(), Some("There is no booking #1."));
    let map = demo("map").unwrap_or_default();
    assert!(
        map.starts_with("Showtime 1 (4 rows x 6 seats, 24 free)"),
        "{map}"
    );
}

#[test]
fn unavailable_outcome_says_what_could_not_be_done() {
    let text = console_render(
        "a1",
        ConsoleMode::Demo,
        Outcome::Unavailable("no quorum".into()),
    );
    assert_eq!(text, "Could not book a1: no quorum");
    let text = console_render(
        "cancel 3 bob",
        ConsoleMode::Dev,
        Outcome::Unavailable("timeout".into()),
    );
    assert_eq!(text, "Could not cancel booking #3: timeout");
    let text = console_render(
        "showtimes",
        ConsoleMode::Dev,
        Outcome::Unavailable("x".into()),
    );
    assert_eq!(text, "Could not list showtimes: x");
}

#[test]
fn dev_commands_parse_into_commands_and_queries() {
    assert_eq!(
        written("book 1 a1,B2 alice", ConsoleMode::Dev),
        Command::Book {
            showtime: 1,
            seats: vec![SeatId::new(0, 1), SeatId::new(1, 2)],
            user: "alice".into()
        }
    );
    assert_eq!(
        written("cancel 3 alice", ConsoleMode::Dev),
        Command::Cancel {
            booking: 3,
            user: "alice".into()
        }
    );
    assert_eq!(
        written("add-showtime 7 a-l:20", ConsoleMode::Dev),
        Command::CreateShowtime {
            showtime: 7,
            layout: Layout::uniform(12, 20)
        }
    );
    assert_eq!(
        written("add-showtime 8 a-b:10,c:12", ConsoleMode::Dev),
        Command::CreateShowtime {
            showtime: 8,
            layout: Layout {
                rows: vec![10, 10, 12]
            }
        }
    );
    assert_eq!(
        written("remove-showtime 7", ConsoleMode::Dev),
        Command::RemoveShowtime { showtime: 7 }
    );
    for line in ["seats 1", "showtimes", "bookings", "booking 4"] {
        assert!(
            matches!(
                console(line, ConsoleMode::Dev),
                Some(ConsoleAction::Read(_))
            ),
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
        "cancel 3",
        "seats",
        "seats one",
        "showtimes now",
        "booking",
        "add-showtime 7",
        "add-showtime 7 b-c:10",
        "add-showtime 7 a-c",
        "add-showtime 7 c-a:5",
        "add-showtime 7 a-z:5,a:1",
        "remove-showtime",
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
        console("add-showtime 7 a:101", ConsoleMode::Dev),
        Some(ConsoleAction::Print(t)) if t.starts_with("Invalid rows")
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
        dev("add-showtime 7 a-l:20").as_deref(),
        Some("Created showtime 7 (12 rows x 20 seats).")
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
        Some("#1  showtime 7  a1,l20  alice  2023-11-14 22:13:20 UTC  (log 2)")
    );
    assert_eq!(
        dev("showtimes").as_deref(),
        Some(
            "Showtime 1: 4 rows x 6 seats, 24 free, 0 booked (0 bookings)\n\
             Showtime 7: 12 rows x 20 seats, 238 free, 2 booked (1 booking)"
        )
    );
    assert_eq!(
        dev("remove-showtime 7").as_deref(),
        Some("Showtime 7 still has 1 booking; cancel them first.")
    );
    assert_eq!(dev("booking 9").as_deref(), Some("There is no booking #9."));
    assert_eq!(dev("seats 9").as_deref(), Some("There is no showtime 9."));
    let map = dev("seats 7").unwrap_or_default();
    assert!(map.contains("\n  a  X  .  ."), "{map}");
    assert_eq!(
        dev("cancel 1 alice")
            .as_deref()
            .map(|t| t.starts_with("Cancelled")),
        Some(true)
    );
    assert_eq!(dev("bookings").as_deref(), Some("No bookings."));
    assert_eq!(
        dev("remove-showtime 7").as_deref(),
        Some("Removed showtime 7.")
    );
}

#[test]
fn help_has_one_line_per_command() {
    let dev = console_help(ConsoleMode::Dev);
    assert_eq!(dev.lines().count(), DEV_HELP.len());
    assert!(dev.lines().any(|l| l.starts_with("add-showtime ID ROWS")));
    let demo = console_help(ConsoleMode::Demo);
    assert_eq!(demo.lines().count(), DEMO_HELP.len());
    assert!(demo.lines().any(|l| l.starts_with("cancel N")));
}

#[test]
fn overview_renders_the_seat_map_of_showtime_1() {
    let mut machine = Machine::new();
    let ctx = LogContext::default();
    let book = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 3)],
        user: "demo".into(),
    });
    assert!(machine.apply(&ctx, &book).is_ok());
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
fn describe_names_command_and_result() {
    let mut machine = Machine::new();
    let ctx = LogContext::default();
    let book = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 2), SeatId::new(0, 1)],
        user: "alice".into(),
    });
    assert_eq!(describe(&book, None), "book a2,a1 in showtime 1 for alice");
    let first = machine.apply(&ctx, &book);
    assert_eq!(
        describe(&book, Some(first)),
        "book a2,a1 in showtime 1 for alice -> booking #1"
    );
    let again = encode(&Command::Book {
        showtime: 1,
        seats: vec![SeatId::new(0, 1)],
        user: "bob".into(),
    });
    let refused = machine.apply(&ctx, &again);
    assert_eq!(
        describe(&again, Some(refused)),
        "book a1 in showtime 1 for bob -> refused: seat a1 taken"
    );
    let create = encode(&Command::CreateShowtime {
        showtime: 7,
        layout: Layout::uniform(12, 20),
    });
    assert_eq!(
        describe(&create, None),
        "create showtime 7 (12 rows, 240 seats)"
    );
    let cancel = encode(&Command::Cancel {
        booking: 1,
        user: "al\nice".into(),
    });
    assert_eq!(
        describe(&cancel, None),
        "cancel booking #1 for al\u{FFFD}ice"
    );
}

#[test]
fn describe_never_traps_on_garbage() {
    assert_eq!(describe(&[], None), "undecodable command (0 bytes)");
    assert_eq!(
        describe(&[0xff, 0xff, 0xff], Some(Ok(vec![1]))),
        "undecodable command (3 bytes)"
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
    // Every 2-byte prefix must describe without panicking.
    for a in 0..=255u8 {
        for b in [0u8, 1, 7, 0x80, 0xff] {
            let text = describe(&[a, b], Some(Err(vec![a, b])));
            assert!(!text.contains('\n'));
        }
    }
}
