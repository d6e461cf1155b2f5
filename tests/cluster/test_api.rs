//! The booking API on a real 3-node cluster: every route with its success and error answers,
//! idempotent retries, and the OpenAPI document against the routes actually served.

use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

/// Asserts status and problem type of an error answer.
fn assert_problem(answer: &Answer, status: u16, kind: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(
        answer.problem_type(),
        format!("/problems/{kind}"),
        "{}",
        answer.body
    );
    assert!(
        answer.content_type.starts_with("application/problem+json"),
        "{}",
        answer.content_type
    );
}

fn send_json(method: &str, addr: &str, path: &str, body: Value) -> Answer {
    request(method, addr, path, Some(&body.to_string()), &[])
}

/// Seat name -> state of a showtime, read on `addr`.
fn seat_states(addr: &str, showtime: u64) -> std::collections::BTreeMap<String, String> {
    let view = get(addr, &format!("/api/showtimes/{showtime}")).json();
    view["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| {
            (
                s["seat"].as_str().expect("seat").to_string(),
                s["state"].as_str().expect("state").to_string(),
            )
        })
        .collect()
}

#[test]
fn catalog_routes_read_and_change_the_replicated_catalog() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = &cluster.addrs[(leader + 1) % 3];
    let other = &cluster.addrs[(leader + 2) % 3];

    let movies = get(follower, "/api/movies").json();
    let titles: Vec<&str> = movies["movies"]
        .as_array()
        .expect("movies")
        .iter()
        .filter_map(|m| m["title"].as_str())
        .collect();
    for title in ["Inception", "The Matrix", "Interstellar", "Spirited Away"] {
        assert!(titles.contains(&title), "{title} missing from {titles:?}");
    }
    let inception = get(follower, "/api/movies/1").json();
    assert_eq!(inception["title"], "Inception");
    assert_eq!(inception["director"], "Christopher Nolan");
    assert_problem(&get(follower, "/api/movies/999"), 404, "unknown-movie");
    assert_problem(&get(follower, "/api/movies/abc"), 404, "not-found");

    let theaters = get(follower, "/api/theaters").json();
    let capacities: Vec<u64> = theaters["theaters"]
        .as_array()
        .expect("theaters")
        .iter()
        .filter_map(|t| t["capacity"].as_u64())
        .collect();
    for capacity in [80, 60, 48, 4] {
        assert!(capacities.contains(&capacity), "{capacities:?}");
    }
    assert_eq!(get(follower, "/api/theaters/1").status, 200);
    assert_problem(&get(follower, "/api/theaters/999"), 404, "unknown-theater");

    let showtimes = get(follower, "/api/showtimes").json();
    let listed = showtimes["showtimes"].as_array().expect("showtimes");
    assert!(listed.len() >= 5, "demo + 4 catalog showtimes: {showtimes}");
    for showtime in listed {
        assert!(showtime["movie"]["title"].is_string(), "{showtime}");
        assert!(showtime["theater"]["name"].is_string(), "{showtime}");
    }
    let second = get(follower, "/api/showtimes/2").json();
    let capacity = second["capacity"].as_u64().expect("capacity");
    assert_eq!(
        second["seats"].as_array().expect("seats").len() as u64,
        capacity
    );
    assert_problem(
        &get(follower, "/api/showtimes/999"),
        404,
        "unknown-showtime",
    );

    // Admin: a theater, a movie and a showtime, created through a follower.
    let theater = send_json(
        "POST",
        follower,
        "/api/theaters",
        json!({"name": "Test Hall", "location": "Basement",
               "rows": [{"row": "a", "seats": 3}, {"row": "b", "seats": 2}]}),
    );
    assert_eq!(theater.status, 201, "{}", theater.body);
    let theater_id = theater.json()["id"].as_u64().expect("theater id");
    assert_eq!(
        theater.header("location"),
        Some(format!("/api/theaters/{theater_id}").as_str())
    );
    assert_eq!(theater.json()["capacity"], 5);
    let movie = send_json(
        "POST",
        follower,
        "/api/movies",
        json!({"title": "Paprika", "year": 2006, "duration_minutes": 90, "genres": ["Animation"],
               "director": "Satoshi Kon", "cast": ["Megumi Hayashibara"], "languages": ["Japanese"],
               "age_rating": "R", "synopsis": "A device to enter dreams is stolen."}),
    );
    assert_eq!(movie.status, 201, "{}", movie.body);
    let movie_id = movie.json()["id"].as_u64().expect("movie id");
    let showtime = send_json(
        "POST",
        other,
        "/api/showtimes",
        json!({"movie_id": movie_id, "theater_id": theater_id,
               "starts_at": "2026-12-24T18:00:00Z", "price_cents": 900}),
    );
    assert_eq!(showtime.status, 201, "{}", showtime.body);
    let showtime_id = showtime.json()["id"].as_u64().expect("showtime id");
    let view = get(follower, &format!("/api/showtimes/{showtime_id}")).json();
    assert_eq!(view["capacity"], 5, "{view}");
    assert_eq!(view["movie"]["title"], "Paprika");

    assert_problem(
        &send_json(
            "POST",
            follower,
            "/api/showtimes",
            json!({"movie_id": 99999, "theater_id": theater_id,
                   "starts_at": "2026-12-24T18:00:00Z", "price_cents": 900}),
        ),
        404,
        "unknown-movie",
    );
    assert_problem(
        &send_json(
            "POST",
            follower,
            "/api/showtimes",
            json!({"id": showtime_id, "movie_id": movie_id, "theater_id": theater_id,
                   "starts_at": "2026-12-24T18:00:00Z", "price_cents": 900}),
        ),
        409,
        "already-exists",
    );
    assert_problem(
        &send_json(
            "POST",
            follower,
            "/api/showtimes",
            json!({"movie_id": movie_id, "theater_id": theater_id,
                   "starts_at": "next tuesday", "price_cents": 900}),
        ),
        400,
        "invalid-request",
    );
    assert_problem(
        &send_json(
            "POST",
            follower,
            "/api/theaters",
            json!({"name": "Empty", "location": "Nowhere", "rows": []}),
        ),
        400,
        "invalid-request",
    );

    // In use: neither the movie nor the theater can go while the showtime has a booking.
    let booked = send_json(
        "POST",
        other,
        &format!("/api/showtimes/{showtime_id}/bookings"),
        json!({"seats": ["a1"], "user": "ann"}),
    );
    assert_eq!(booked.status, 201, "{}", booked.body);
    let delete = |path: String| send_json("DELETE", follower, &path, json!({}));
    assert_problem(&delete(format!("/api/movies/{movie_id}")), 409, "in-use");
    assert_problem(
        &delete(format!("/api/theaters/{theater_id}")),
        409,
        "in-use",
    );
    assert_problem(
        &delete(format!("/api/showtimes/{showtime_id}")),
        409,
        "in-use",
    );

    let booking_id = booked.json()["id"].as_u64().expect("booking id");
    let cancelled = send_json(
        "DELETE",
        follower,
        &format!("/api/bookings/{booking_id}"),
        json!({"user": "ann"}),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(delete(format!("/api/showtimes/{showtime_id}")).status, 200);
    assert_eq!(delete(format!("/api/movies/{movie_id}")).status, 200);
    assert_eq!(delete(format!("/api/theaters/{theater_id}")).status, 200);
    for addr in &cluster.addrs {
        assert_problem(
            &get(addr, &format!("/api/showtimes/{showtime_id}")),
            404,
            "unknown-showtime",
        );
        assert_problem(
            &get(addr, &format!("/api/movies/{movie_id}")),
            404,
            "unknown-movie",
        );
    }
    assert_problem(&delete("/api/movies/99999".into()), 404, "unknown-movie");
}

#[test]
fn holds_and_bookings_follow_the_rules_on_every_node() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let a = &cluster.addrs[(leader + 1) % 3];
    let b = &cluster.addrs[(leader + 2) % 3];
    let showtime = 3;

    let hold = send_json(
        "POST",
        a,
        &format!("/api/showtimes/{showtime}/holds"),
        json!({"seats": ["a1", "A2"], "user": "alice"}),
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold = hold.json();
    let token = hold["token"].as_str().expect("token").to_string();
    assert_eq!(hold["status"], "active");
    assert_eq!(hold["seats"], json!(["a1", "a2"]));
    assert!(
        hold["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{hold}"
    );
    let seen = get(b, &format!("/api/holds/{token}")).json();
    assert_eq!(seen["user"], "alice");
    let states = seat_states(b, showtime);
    assert_eq!(states["a1"], "held");
    assert_eq!(states["a2"], "held");

    // Held seats are taken for everybody else, by hold or by booking; all or nothing.
    let clash = send_json(
        "POST",
        b,
        &format!("/api/showtimes/{showtime}/holds"),
        json!({"seats": ["a3", "a2"], "user": "bob"}),
    );
    assert_problem(&clash, 409, "seat-taken");
    assert_eq!(clash.json()["seats"], json!(["a2"]));
    assert_eq!(seat_states(b, showtime)["a3"], "free");
    assert_problem(
        &send_json(
            "POST",
            b,
            &format!("/api/showtimes/{showtime}/bookings"),
            json!({"seats": ["a1"], "user": "bob"}),
        ),
        409,
        "seat-taken",
    );
    let unknown = send_json(
        "POST",
        b,
        &format!("/api/showtimes/{showtime}/holds"),
        json!({"seats": ["z99"], "user": "bob"}),
    );
    assert_problem(&unknown, 404, "unknown-seat");
    assert_problem(
        &send_json(
            "POST",
            b,
            "/api/showtimes/999/holds",
            json!({"seats": ["a1"], "user": "bob"}),
        ),
        404,
        "unknown-showtime",
    );
    assert_problem(
        &send_json(
            "POST",
            b,
            &format!("/api/showtimes/{showtime}/holds"),
            json!({"seats": ["a5"], "user": "bob", "ttl_seconds": 0}),
        ),
        400,
        "invalid-request",
    );

    // Only the owner extends, confirms or releases.
    let hold_path = format!("/api/holds/{token}");
    for (path, method) in [
        (format!("{hold_path}/extend"), "POST"),
        (format!("{hold_path}/confirm"), "POST"),
        (hold_path.clone(), "DELETE"),
    ] {
        let body = json!({"user": "mallory", "ttl_seconds": 60});
        let body = if path.ends_with("extend") {
            body
        } else {
            json!({"user": "mallory"})
        };
        assert_problem(&send_json(method, b, &path, body), 403, "not-owner");
    }
    let extended = send_json(
        "POST",
        b,
        &format!("{hold_path}/extend"),
        json!({"user": "alice", "ttl_seconds": 7200}),
    );
    assert_eq!(extended.status, 200, "{}", extended.body);
    assert!(
        extended.json()["expires_at"].as_str() > hold["expires_at"].as_str(),
        "{}",
        extended.body
    );

    let confirmed = send_json(
        "POST",
        a,
        &format!("{hold_path}/confirm"),
        json!({"user": "alice"}),
    );
    assert_eq!(confirmed.status, 201, "{}", confirmed.body);
    let booking = confirmed.json();
    assert_eq!(booking["seats"], json!(["a1", "a2"]));
    assert_eq!(booking["hold"], token.as_str());
    assert_eq!(booking["status"], "confirmed");
    let booking_id = booking["id"].as_u64().expect("booking id");
    assert_eq!(
        confirmed.header("location"),
        Some(format!("/api/bookings/{booking_id}").as_str())
    );
    assert_problem(
        &send_json(
            "POST",
            b,
            &format!("{hold_path}/confirm"),
            json!({"user": "alice"}),
        ),
        409,
        "hold-finished",
    );
    assert_problem(
        &send_json("DELETE", b, &hold_path, json!({"user": "alice"})),
        409,
        "hold-finished",
    );
    assert_eq!(get(b, &hold_path).json()["status"], "confirmed");
    for addr in &cluster.addrs {
        let states = seat_states(addr, showtime);
        assert_eq!(
            (states["a1"].as_str(), states["a2"].as_str()),
            ("booked", "booked")
        );
    }

    // Release frees the seats at once.
    let second = send_json(
        "POST",
        a,
        &format!("/api/showtimes/{showtime}/holds"),
        json!({"seats": ["b1"], "user": "carol", "ttl_seconds": 120}),
    );
    assert_eq!(second.status, 201, "{}", second.body);
    let second_token = second.json()["token"].as_str().expect("token").to_string();
    let released = send_json(
        "DELETE",
        b,
        &format!("/api/holds/{second_token}"),
        json!({"user": "carol"}),
    );
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.json()["status"], "released");
    assert_eq!(seat_states(a, showtime)["b1"], "free");
    assert_problem(&get(a, "/api/holds/no-such-token"), 404, "unknown-hold");

    // Direct booking, listing, cancelling (owner only).
    let direct = send_json(
        "POST",
        b,
        &format!("/api/showtimes/{showtime}/bookings"),
        json!({"seats": ["b2", "b3"], "user": "dave"}),
    );
    assert_eq!(direct.status, 201, "{}", direct.body);
    assert_eq!(
        get(a, &format!("/api/bookings/{booking_id}")).json()["user"],
        "alice"
    );
    let alices = get(a, "/api/bookings?user=alice").json();
    let ids: Vec<u64> = alices["bookings"]
        .as_array()
        .expect("bookings")
        .iter()
        .filter_map(|b| b["id"].as_u64())
        .collect();
    assert_eq!(ids, [booking_id]);
    let by_showtime = get(a, &format!("/api/bookings?showtime={showtime}")).json();
    assert_eq!(
        by_showtime["bookings"].as_array().expect("bookings").len(),
        2
    );
    assert_problem(
        &send_json(
            "DELETE",
            a,
            &format!("/api/bookings/{booking_id}"),
            json!({"user": "bob"}),
        ),
        403,
        "not-owner",
    );
    let cancelled = send_json(
        "DELETE",
        a,
        &format!("/api/bookings/{booking_id}"),
        json!({"user": "alice"}),
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(seat_states(b, showtime)["a1"], "free");
    assert_problem(&get(a, "/api/bookings/999999"), 404, "unknown-booking");

    // Activity: who, when, what, in log order.
    let activity = get(b, &format!("/api/showtimes/{showtime}/activity")).json();
    let actions: Vec<&str> = activity["activity"]
        .as_array()
        .expect("activity")
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "held",
            "extended",
            "confirmed",
            "held",
            "released",
            "booked",
            "cancelled"
        ],
        "{activity}"
    );
}

#[test]
fn malformed_requests_get_4xx_problems_never_5xx() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[0];
    let path = "/api/showtimes/2/bookings";
    for body in [
        "{",
        "[]",
        r#"{"seats":"a1","user":"x"}"#,
        r#"{"seats":["a1"],"user":7}"#,
        r#"{"seats":["a1"],"user":"x","extra":1}"#,
        r#"{"seats":[],"user":"x"}"#,
        r#"{"seats":["a1","a1"],"user":"x"}"#,
        r#"{"seats":["a1","a2","a3","a4","a5","a6","a7","a8","a9","a10","b1"],"user":"x"}"#,
        r#"{"seats":["a1"],"user":""}"#,
    ] {
        let answer = request("POST", addr, path, Some(body), &[]);
        assert_problem(&answer, 400, "invalid-request");
        assert!(answer.json()["detail"].is_string(), "{}", answer.body);
    }
    let huge = format!(r#"{{"seats":["a1"],"user":"{}"}}"#, "x".repeat(2 << 20));
    assert_problem(
        &request("POST", addr, path, Some(&huge), &[]),
        413,
        "body-too-large",
    );

    let wrong_method = request("PUT", addr, "/api/showtimes/2", Some("{}"), &[]);
    assert_problem(&wrong_method, 405, "method-not-allowed");
    assert!(wrong_method
        .header("allow")
        .is_some_and(|a| a.contains("GET")));
    assert_problem(&get(addr, "/api/nothing-here"), 404, "not-found");
    assert_problem(&get(addr, "/v1/nothing-here"), 404, "not-found");
    // Nothing was booked by any of it.
    let states = seat_states(addr, 2);
    assert!(states.values().all(|s| s == "free"), "{states:?}");
}

#[test]
fn idempotency_keys_replay_the_first_answer_and_refuse_other_requests() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[1];
    let path = "/api/showtimes/4/bookings";
    let body = r#"{"seats":["a3"],"user":"ivy"}"#;
    let key = [("idempotency-key", "7d1c-retry-test")];

    let first = request("POST", addr, path, Some(body), &key);
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    for other in &cluster.addrs {
        let again = request("POST", other, path, Some(body), &key);
        assert_eq!(again.status, 201, "{}", again.body);
        assert_eq!(again.body, first.body, "a retry gets the first answer");
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    let refused_first = request("POST", addr, path, Some(body), &[]);
    assert_problem(&refused_first, 409, "seat-taken");

    let other_body = r#"{"seats":["a4"],"user":"ivy"}"#;
    assert_problem(
        &request("POST", addr, path, Some(other_body), &key),
        422,
        "idempotency-key-reused",
    );
    assert_eq!(
        seat_states(addr, 4)["a4"],
        "free",
        "the reused key booked nothing"
    );

    // A refusal is remembered too: the retry is refused the same way even after the seat frees.
    let taken_key = [("idempotency-key", "taken-once")];
    let refused = request("POST", addr, path, Some(body), &taken_key);
    assert_problem(&refused, 409, "seat-taken");
    let booking_id = first.json()["id"].as_u64().expect("booking id");
    let cancel = request(
        "DELETE",
        addr,
        &format!("/api/bookings/{booking_id}"),
        Some(r#"{"user":"ivy"}"#),
        &[],
    );
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let replayed = request("POST", addr, path, Some(body), &taken_key);
    assert_problem(&replayed, 409, "seat-taken");
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(seat_states(addr, 4)["a3"], "free");
    assert_problem(
        &request(
            "POST",
            addr,
            path,
            Some(body),
            &[("idempotency-key", "has space")],
        ),
        400,
        "invalid-request",
    );
}

#[test]
fn an_idempotent_retry_after_a_leader_failover_gets_the_first_answer() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = cluster.addrs[(leader + 1) % 3].clone();
    let path = "/api/showtimes/5/bookings";
    let body = r#"{"seats":["a1","a2"],"user":"erin"}"#;
    let key = [("idempotency-key", "failover-retry-1")];
    let first = request("POST", &follower, path, Some(body), &key);
    assert_eq!(first.status, 201, "{}", first.body);

    cluster.node(leader).kill();
    let new_leader = cluster.wait_for_leader(Duration::from_secs(15));
    assert_ne!(new_leader, leader);
    for addr in cluster.live_addrs() {
        let retry = wait_until(Duration::from_secs(10), "the retry is answered", || {
            try_request("POST", &addr, path, Some(body), &key).filter(|a| a.status != 503)
        });
        assert_eq!(retry.status, 201, "{}", retry.body);
        assert_eq!(retry.body, first.body);
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    }
    let erins = get(&cluster.addrs[new_leader], "/api/bookings?user=erin").json();
    assert_eq!(
        erins["bookings"].as_array().expect("bookings").len(),
        1,
        "{erins}"
    );
}

#[test]
fn the_openapi_document_lists_exactly_the_served_routes() {
    let cluster = Cluster::start(1);
    let addr = &cluster.addrs[0];
    let document = get(addr, "/api/openapi.json");
    assert_eq!(document.status, 200);
    let document = document.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    let paths = document["paths"].as_object().expect("paths");
    assert!(paths.len() >= 15, "{:?}", paths.keys());
    let methods = ["get", "post", "put", "patch", "delete"];
    let mut checked = 0;
    for (template, operations) in paths {
        // Ids that name nothing: every documented route must be routed (answer anything but
        // a route-level 404 or 405) and must change nothing.
        let path = template
            .replace("{id}", "999999")
            .replace("{token}", "no-such-token");
        for method in methods {
            let documented = operations.get(method).is_some();
            let answer = if path.ends_with("/events") && method == "get" {
                // An event stream never ends: the status line is all this test needs.
                let status = ureq::get(&format!("http://{addr}{path}"))
                    .call()
                    .map(|r| r.status())
                    .unwrap_or_else(|e| match e {
                        ureq::Error::Status(code, _) => code,
                        other => panic!("{path}: {other}"),
                    });
                assert!(documented && status != 405, "GET {path}: {status}");
                checked += 1;
                continue;
            } else {
                request(&method.to_uppercase(), addr, &path, Some("{}"), &[])
            };
            let route_missing = answer.status == 405
                || (answer.status == 404 && answer.problem_type() == "/problems/not-found");
            assert_eq!(
                !route_missing,
                documented,
                "{} {path}: documented={documented}, answered {} {}",
                method.to_uppercase(),
                answer.status,
                answer.body
            );
            checked += 1;
        }
    }
    println!("{checked} method/path pairs checked against the OpenAPI document");
}
