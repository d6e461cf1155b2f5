//! Tests of the version 2 rules (seat limit, stranded seats) and of their problem types.
//!
//! The rule set lives in the state, so these run in both builds: each test sets the rules it
//! checks. Showtime 1 of the first-start state has rows a-d of seats 1-6.

use super::*;
use crate::command::{Command, Effect};
use crate::contract::LogContext;
use crate::problem::Problem;
use crate::state::State;
use crate::testing::{digest, seats};
use crate::token::Kind;

/// The first-start state under `rules`.
fn state_with(rules: RuleSet) -> State {
    State {
        rules,
        ..State::default()
    }
}

/// Applies a command at log index `index` (log time `index` seconds).
fn run(state: &mut State, index: u64, command: Command) -> Result<Effect, Rejection> {
    let ctx = LogContext {
        index,
        term: 1,
        time_ms: index * 1000,
    };
    command.apply(state, &ctx, index * 1000)
}

fn book(list: &[&str]) -> Command {
    Command::Book {
        showtime: 1,
        seats: seats(list),
        user: "alice".into(),
        token: digest(Kind::Booking),
    }
}

fn hold(list: &[&str]) -> Command {
    Command::Hold {
        showtime: 1,
        seats: seats(list),
        user: "alice".into(),
        ttl_seconds: 600,
        token: digest(Kind::Hold),
    }
}

/// Books `list` on showtime 1 and fails the test if refused.
fn must_book(state: &mut State, list: &[&str]) {
    if let Err(e) = run(state, 1, book(list)) {
        panic!("booking {list:?} refused: {e:?}");
    }
}

fn stranded(list: &[&str]) -> Result<Effect, Rejection> {
    Err(Rejection::StrandedSeat {
        showtime: 1,
        seats: seats(list),
    })
}

#[test]
fn build_selects_its_rules_version_and_format() {
    if cfg!(feature = "v2") {
        assert_eq!((RULES, VERSION, SNAPSHOT_FORMAT), (V2_RULES, "2.1.0", 2));
    } else {
        assert_eq!((RULES, VERSION, SNAPSHOT_FORMAT), (V1_RULES, "1.1.0", 1));
    }
    assert_eq!(MIN_RESTORE_FORMAT, 1);
    assert_eq!(State::default().rules, RULES);
    assert_eq!(V2_RULES.max_seats_per_request, 6);
}

#[test]
fn v2_allows_six_seats_per_request_and_refuses_seven() {
    let mut state = state_with(V2_RULES);
    must_book(&mut state, &["a1", "a2", "a3", "a4", "a5", "a6"]);
    let seven = ["b1", "b2", "b3", "b4", "b5", "b6", "c1"];
    let before = state.clone();
    let too_many = Err(Rejection::TooManySeatsForRules { count: 7, max: 6 });
    assert_eq!(run(&mut state, 2, book(&seven)), too_many);
    assert_eq!(run(&mut state, 2, hold(&seven)), too_many);
    assert_eq!(state, before);
}

#[test]
fn v1_allows_up_to_the_request_limit() {
    let mut state = state_with(V1_RULES);
    must_book(
        &mut state,
        &["b1", "b2", "b3", "b4", "b5", "b6", "c1", "c2", "c3", "c4"],
    );
}

#[test]
fn v2_refuses_a_single_free_seat_between_taken_seats() {
    let mut state = state_with(V2_RULES);
    must_book(&mut state, &["a1", "a2"]);
    assert_eq!(run(&mut state, 2, book(&["a4"])), stranded(&["a3"]));
    assert_eq!(run(&mut state, 2, hold(&["a4"])), stranded(&["a3"]));
    // A held seat counts as taken too.
    assert!(run(&mut state, 3, hold(&["b2"])).is_ok());
    assert_eq!(run(&mut state, 4, book(&["b4"])), stranded(&["b3"]));
    assert_eq!(state.showtimes[&1].seats.len(), 3);
}

#[test]
fn v2_lists_every_seat_a_request_would_strand() {
    let mut state = state_with(V2_RULES);
    must_book(&mut state, &["a2", "a6"]);
    assert_eq!(run(&mut state, 2, book(&["a4"])), stranded(&["a3", "a5"]));
    // Seats of one request may strand one between them.
    assert_eq!(run(&mut state, 2, book(&["b1", "b3"])), stranded(&["b2"]));
}

#[test]
fn v2_does_not_count_row_edges_as_taken() {
    let mut state = state_with(V2_RULES);
    must_book(&mut state, &["a2"]);
    must_book(&mut state, &["a5"]);
    assert_eq!(state.showtimes[&1].seats.len(), 2);
    // a1 and a6 sit between a taken seat and the wall: allowed. Row b is unaffected by row a.
    must_book(&mut state, &["b2", "b3"]);
}

#[test]
fn v2_ignores_gaps_that_already_exist() {
    // Gaps made under the version 1 rules (or before a migration) stay.
    let mut state = state_with(V1_RULES);
    must_book(&mut state, &["a1", "a3"]);
    state.rules = V2_RULES;
    must_book(&mut state, &["c1"]);
    // a4 is next to a3 and a5; a2 is next to nothing new, so its gap does not block a4.
    must_book(&mut state, &["a4"]);
    must_book(&mut state, &["a5", "a6"]);
    // A single seat that closes an old one-seat gap leaves nothing free behind.
    must_book(&mut state, &["a2"]);
}

#[test]
fn v2_allows_requests_that_fill_a_gap_exactly() {
    let mut state = state_with(V2_RULES);
    must_book(&mut state, &["a1"]);
    must_book(&mut state, &["a4"]);
    // Taking a2 alone would strand a3; taking both fills the gap.
    assert_eq!(run(&mut state, 2, book(&["a2"])), stranded(&["a3"]));
    assert_eq!(run(&mut state, 2, hold(&["a3"])), stranded(&["a2"]));
    must_book(&mut state, &["a3", "a2"]);
}

#[test]
fn confirming_a_hold_checks_no_rule_again() {
    let mut state = state_with(V2_RULES);
    let token = digest(Kind::Hold);
    let command = Command::Hold {
        showtime: 1,
        seats: seats(&["a2"]),
        user: "alice".into(),
        ttl_seconds: 600,
        token,
    };
    assert!(matches!(run(&mut state, 1, command), Ok(Effect::Held(_))));
    // a4 is booked under the old rules, stranding a3 next to the hold.
    state.rules = V1_RULES;
    must_book(&mut state, &["a4"]);
    state.rules = V2_RULES;
    let confirm = Command::Confirm {
        hold: token,
        token: digest(Kind::Booking),
    };
    assert!(matches!(
        run(&mut state, 2, confirm),
        Ok(Effect::Confirmed { .. })
    ));
}

#[test]
fn v1_rules_never_refuse_stranded_seats() {
    let mut state = state_with(V1_RULES);
    must_book(&mut state, &["a1"]);
    must_book(&mut state, &["a3"]);
    assert_eq!(
        stranded_seats(&state.showtimes[&1], &seats(&["a5"])),
        seats(&["a4"])
    );
    must_book(&mut state, &["a5"]);
}

#[test]
fn snapshot_rule_sets_are_checked() {
    assert!(V1_RULES.check().is_ok());
    assert!(V2_RULES.check().is_ok());
    for max in [0, 11] {
        let rules = RuleSet {
            max_seats_per_request: max,
            no_stranded_seats: true,
        };
        assert!(rules.check().is_err(), "{max}");
    }
}

#[test]
fn rule_refusals_map_to_their_problem_types() {
    let too_many = Problem::from_rejection(&Rejection::TooManySeatsForRules { count: 7, max: 6 })
        .into_response();
    assert_eq!(too_many.status, 422);
    let body = String::from_utf8_lossy(&too_many.body);
    assert!(
        body.contains(r#""type":"/problems/too-many-seats""#),
        "{body}"
    );
    assert!(body.contains(r#""max":6"#), "{body}");
    let stranded = Problem::from_rejection(&Rejection::StrandedSeat {
        showtime: 1,
        seats: seats(&["a3"]),
    })
    .into_response();
    assert_eq!(stranded.status, 409);
    let body = String::from_utf8_lossy(&stranded.body);
    assert!(
        body.contains(r#""type":"/problems/stranded-seat""#),
        "{body}"
    );
    assert!(body.contains(r#""seats":["a3"]"#), "{body}");
}
