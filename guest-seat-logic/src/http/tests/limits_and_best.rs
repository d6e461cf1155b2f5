//! `GET /api/limits` and `GET /api/showtimes/{id}/best`: shapes, status codes, and that both
//! follow the state (settings changes, held seats, the rules of the build under test).

use serde_json::json;

use super::*;
use crate::rules::{RULES, VERSION};

#[test]
fn limits_show_the_rules_settings_and_hold_limits_in_force() {
    let mut api = Api::new();
    let limits = api.get("/api/limits");
    assert_eq!(limits.status, 200);
    assert_eq!(
        limits.body,
        json!({
            "rules_version": VERSION,
            "max_seats_per_request": RULES.max_seats_per_request,
            "max_seats_per_customer": 10,
            "no_stranded_seats": RULES.no_stranded_seats,
            "hold_ms": 600_000,
            "max_hold_ms": 7_200_000,
            "max_hold_lifetime_ms": 7_200_000,
        })
    );
    // An admin's settings change shows at once; writes are refused on the public route.
    let changed = api.admin(
        "PUT",
        "/api/settings",
        Some(json!({"max_seats_per_customer": 4})),
    );
    assert_eq!(changed.status, 200);
    assert_eq!(api.get("/api/limits").body["max_seats_per_customer"], 4);
    let put = api.admin("PUT", "/api/limits", Some(json!({})));
    assert_eq!(
        (put.status, put.kind()),
        (405, "/problems/method-not-allowed")
    );
}

#[test]
fn limits_follow_the_rule_set_of_the_state() {
    // The rule set is part of the state (a swap to v2 carries it); the answer reads it there.
    let state = crate::state::State {
        rules: crate::rules::V2_RULES,
        ..crate::state::State::default()
    };
    let answer = Query::Limits.answer(&state);
    assert!(matches!(
        answer,
        Ok(crate::query::Answer::Limits { rules, .. }) if rules == crate::rules::V2_RULES
    ));
}

/// The `seats` of a best-seats answer.
fn seat_names(reply: &Reply) -> Vec<String> {
    reply.body["seats"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn best_seats_are_central_and_skip_taken_and_held_seats() {
    let mut api = Api::new();
    let best = api.get("/api/showtimes/1/best?count=2");
    assert_eq!(best.status, 200);
    assert_eq!(
        best.body,
        json!({"showtime": 1, "count": 2, "seats": ["c3", "c4"]})
    );
    assert_eq!(api.book(1, &["c3", "c4"], "alice").status, 201);
    assert_eq!(
        seat_names(&api.get("/api/showtimes/1/best?count=2")),
        ["b3", "b4"]
    );
    // Held seats count as taken.
    assert_eq!(api.hold(1, &["b3", "b4"], "bob").status, 201);
    assert_eq!(
        seat_names(&api.get("/api/showtimes/1/best?count=2&consistency=local")),
        ["d3", "d4"]
    );
    // Asking books nothing.
    assert_eq!(api.get("/api/showtimes/1").body["free"], 20);
}

#[test]
fn best_seats_refuse_bad_counts_and_say_when_no_block_exists() {
    let mut api = Api::new();
    for bad in [
        "",
        "?count=",
        "?count=0",
        "?count=x",
        "?count=-2",
        "?count=11",
    ] {
        let reply = api.get(&format!("/api/showtimes/1/best{bad}"));
        assert_eq!(
            (reply.status, reply.kind()),
            (400, "/problems/invalid-request"),
            "{bad}"
        );
        assert_eq!(reply.body["parameter"], "count", "{bad}");
    }
    // The demo hall has rows of 6: 7 side by side never fit. Above the rules' limit (6 under
    // rules 2.x) it is a bad request; within it (rules 1.x allow 10), no block exists.
    let seven = api.get("/api/showtimes/1/best?count=7");
    if RULES.max_seats_per_request < 7 {
        assert_eq!(
            (seven.status, seven.kind()),
            (400, "/problems/invalid-request")
        );
        assert_eq!(seven.body["max"], RULES.max_seats_per_request);
    } else {
        assert_eq!(
            (seven.status, seven.kind()),
            (409, "/problems/no-seat-block")
        );
        assert_eq!(seven.body["count"], 7);
    }
    // Fill the middle of every row: only pairs at the row ends are left, and 3 fit nowhere.
    for row in ["a", "b", "c", "d"] {
        let middle: Vec<String> = (3..=4).map(|n| format!("{row}{n}")).collect();
        let middle: Vec<&str> = middle.iter().map(String::as_str).collect();
        assert_eq!(api.book(1, &middle, row).status, 201);
    }
    let none = api.get("/api/showtimes/1/best?count=3");
    assert_eq!((none.status, none.kind()), (409, "/problems/no-seat-block"));
    assert_eq!(none.body["showtime"], 1);
    assert!(none.text("detail").contains("3 free seats side by side"));
    assert_eq!(
        seat_names(&api.get("/api/showtimes/1/best?count=2")),
        ["c1", "c2"]
    );
    let unknown = api.get("/api/showtimes/99/best?count=2");
    assert_eq!(
        (unknown.status, unknown.kind()),
        (404, "/problems/unknown-showtime")
    );
}
