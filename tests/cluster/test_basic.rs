//! Bookings replicate to every node; conflicts and bad requests get clean answers.

use std::time::Duration;

use serde_json::json;

use crate::util::*;

#[test]
fn booking_sent_to_a_follower_commits_and_is_visible_on_all_nodes() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = (leader + 1) % 3;

    let answer = book(&cluster.addrs[follower], &["a1", "a2"], "alice");
    assert_eq!(answer.status, 201, "{}", answer.body);
    let booking = answer.json();
    assert_eq!(booking["seats"], json!(["a1", "a2"]));
    assert_eq!(booking["user"], "alice");

    // A linearizable read on the third node sees the booking at once.
    let other = (leader + 2) % 3;
    let seats = get(&cluster.addrs[other], "/api/showtimes/1/seats?state=booked").json();
    let ids: Vec<&str> = seats["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["seat"].as_str())
        .collect();
    assert_eq!(ids, ["a1", "a2"], "{seats}");

    for addr in &cluster.addrs {
        wait_until(
            Duration::from_secs(5),
            "booking applied on every node",
            || booked_seats(addr).filter(|seats| seats == &["a1", "a2"]),
        );
    }
}

#[test]
fn a_taken_seat_conflicts_on_every_node_and_multi_seat_bookings_are_all_or_nothing() {
    let cluster = Cluster::start(3);
    let first = book(&cluster.addrs[0], &["b3"], "alice");
    assert_eq!(first.status, 201, "{}", first.body);

    for addr in &cluster.addrs {
        let again = book(addr, &["b3"], "bob");
        assert_eq!(again.status, 409, "{}", again.body);
        assert_eq!(again.content_type, "application/problem+json");
        assert_eq!(
            again.json()["type"],
            "/problems/seat-taken",
            "{}",
            again.body
        );

        let mixed = book(addr, &["b4", "b3"], "bob");
        assert_eq!(mixed.status, 409, "{}", mixed.body);
    }
    for addr in &cluster.addrs {
        let booked = wait_until(Duration::from_secs(5), "b3 applied", || {
            booked_seats(addr).filter(|s| s.contains(&"b3".to_string()))
        });
        assert!(
            !booked.contains(&"b4".to_string()),
            "b4 was booked by a refused multi-seat booking: {booked:?}"
        );
    }
    let later = book(&cluster.addrs[1], &["b4"], "bob");
    assert_eq!(later.status, 201, "b4 must still be free: {}", later.body);
}

#[test]
fn unknown_showtimes_seats_and_malformed_bodies_get_problem_responses() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[0];

    let unknown_showtime = post(
        addr,
        "/api/showtimes/999/bookings",
        r#"{"seats":["a1"],"user":"x"}"#,
    );
    assert_eq!(unknown_showtime.status, 404, "{}", unknown_showtime.body);
    assert_eq!(
        unknown_showtime.json()["type"],
        "/problems/unknown-showtime"
    );

    let unknown_seat = book(addr, &["z99"], "x");
    assert_eq!(unknown_seat.status, 404, "{}", unknown_seat.body);
    assert_eq!(unknown_seat.json()["type"], "/problems/unknown-seat");

    for body in [
        r#"{"seats":["a1"]"#,
        r#"{"seats":"a1","user":"x"}"#,
        r#"{"seats":["a1"],"user":"x","extra":1}"#,
        "",
    ] {
        let bad = post(addr, "/api/showtimes/1/bookings", body);
        assert_eq!(bad.status, 400, "body {body:?} -> {}", bad.body);
        assert_eq!(bad.content_type, "application/problem+json");
    }
    assert_eq!(get(addr, "/api/showtimes/999/seats").status, 404);
    assert_eq!(get(addr, "/v1/nothing-here").status, 404);
    // Nothing above changed the state.
    assert_eq!(booked_seats(addr), Some(Vec::new()));
}

#[test]
fn status_reports_role_leader_log_members_and_plugin() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    for (id, addr) in cluster.addrs.iter().enumerate() {
        let status = get(addr, "/v1/status").json();
        assert_eq!(status["id"], id);
        let expected_role = if id == leader { "leader" } else { "follower" };
        assert_eq!(status["role"], expected_role, "{status}");
        assert_eq!(status["leader_id"], leader);
        assert_eq!(status["leader_addr"], cluster.addrs[leader]);
        assert!(status["term"].as_u64().is_some_and(|t| t >= 1), "{status}");
        assert!(
            status["last_log_index"].as_u64().is_some_and(|i| i >= 1),
            "{status}"
        );
        assert!(status["last_applied"].as_u64().is_some(), "{status}");
        assert_eq!(status["voters"].as_array().map(Vec::len), Some(3));
        assert_eq!(status["plugin"]["name"], "seat-logic");
        assert_eq!(status["plugin"]["hash"].as_str().map(str::len), Some(64));
    }
}
