//! The booking API (1.1) on a real 3-node cluster: every route with its success and error
//! answers, who may call it (admin and operator roles; hold and booking tokens as
//! capabilities), paging, the per-customer limit and its setting, idempotent retries that
//! replay the first answer with its token, and the OpenAPI document against the routes served.
//!
//! Checks that a refused request "changed nothing" compare the applied index and the state hash
//! (`GET /v1/plugin`) of every node before and after.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

/// How long a cluster may take to apply the same entries everywhere.
const SETTLE: Duration = Duration::from_secs(10);

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

/// Asserts a 401 `unauthorized` with its `www-authenticate: Bearer` challenge.
fn assert_unauthorized(answer: &Answer) {
    assert_problem(answer, 401, "unauthorized");
    assert!(
        answer
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "401 without a Bearer challenge: {:?}",
        answer.headers
    );
}

/// A JSON request without any credential.
fn send_json(method: &str, addr: &str, path: &str, body: Value) -> Answer {
    request(method, addr, path, Some(&body.to_string()), &[])
}

/// A request with `Authorization: Bearer <token>` and an optional JSON body.
fn send_with(method: &str, addr: &str, path: &str, body: Option<Value>, token: &str) -> Answer {
    let auth = bearer(token);
    let body = body.map(|b| b.to_string());
    request(method, addr, path, body.as_deref(), &[(auth.0, &auth.1)])
}

/// A JSON request with the admin token.
fn admin_json(method: &str, addr: &str, path: &str, body: Value) -> Answer {
    admin_send(method, addr, path, &body.to_string())
}

/// The `token` of a 201 answer, checked for its shape (`h_` or `b_` and 32 characters).
fn token_of(answer: &Answer, prefix: &str) -> String {
    assert_eq!(answer.status, 201, "{}", answer.body);
    let token = answer.json()["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {}", answer.body))
        .to_string();
    assert_token_shape(&token, prefix);
    token
}

/// A token of the right shape that no hold or booking has.
fn made_up_token(prefix: &str) -> String {
    format!("{prefix}{}", "A".repeat(32))
}

/// Seat name -> state of a showtime, read on `addr`.
fn seat_states(addr: &str, showtime: u64) -> BTreeMap<String, String> {
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

/// A booking read by an operator on `addr`.
fn booking_as_operator(addr: &str, id: u64) -> Value {
    let auth = operator();
    let answer = request(
        "GET",
        addr,
        &format!("/api/bookings/{id}"),
        None,
        &[(auth.0, &auth.1)],
    );
    assert_eq!(answer.status, 200, "{addr}: {}", answer.body);
    answer.json()
}

/// Every item of a paged list, following `next` with pages of `limit`; also returns the
/// number of pages read.
fn all_pages(
    addr: &str,
    path: &str,
    key: &str,
    limit: u32,
    auth: &[(&str, &str)],
) -> (Vec<Value>, usize) {
    let join = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut after: Option<u64> = None;
    for pages in 1..=1000 {
        let cursor = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let answer = request(
            "GET",
            addr,
            &format!("{path}{join}limit={limit}{cursor}"),
            None,
            auth,
        );
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        let page = answer.json();
        let got = page[key].as_array().expect("items");
        assert!(
            got.len() <= limit as usize,
            "{path}: page over {limit}: {page}"
        );
        items.extend(got.iter().cloned());
        match &page["next"] {
            Value::Null => return (items, pages),
            next => after = Some(next.as_u64().unwrap_or_else(|| panic!("next: {page}"))),
        }
    }
    panic!("{path}: more than 1000 pages");
}

/// The ids of a list's items.
fn ids(items: &[Value]) -> Vec<u64> {
    items.iter().filter_map(|i| i["id"].as_u64()).collect()
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
    assert_eq!(movies["next"], Value::Null, "one page: {movies}");
    // Lists show summaries; the movie itself has every field.
    assert!(movies["movies"][0]["director"].is_null(), "{movies}");
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

    // Admin: a theater, a movie and a showtime, created through followers.
    let theater = admin_json(
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
    let movie = admin_json(
        "POST",
        follower,
        "/api/movies",
        json!({"title": "Paprika", "year": 2006, "duration_minutes": 90, "genres": ["Animation"],
               "director": "Satoshi Kon", "cast": ["Megumi Hayashibara"], "languages": ["Japanese"],
               "age_rating": "R", "synopsis": "A device to enter dreams is stolen."}),
    );
    assert_eq!(movie.status, 201, "{}", movie.body);
    let movie_id = movie.json()["id"].as_u64().expect("movie id");
    let showtime = admin_json(
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
        &admin_json(
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
        &admin_json(
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
        &admin_json(
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
        &admin_json(
            "POST",
            follower,
            "/api/theaters",
            json!({"name": "Empty", "location": "Nowhere", "rows": []}),
        ),
        400,
        "invalid-request",
    );
    assert_problem(
        &admin_json(
            "POST",
            follower,
            "/api/movies",
            json!({"id": 2_000_000_001u64, "title": "Too far", "year": 2000, "duration_minutes": 90}),
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
    let ann = token_of(&booked, "b_");
    let delete = |path: String| admin_json("DELETE", follower, &path, json!({}));
    let in_use = delete(format!("/api/movies/{movie_id}"));
    assert_problem(&in_use, 409, "in-use");
    assert_eq!(
        in_use.json()["showtimes"],
        json!([showtime_id]),
        "{}",
        in_use.body
    );
    assert_eq!(in_use.json()["showtime_count"], 1, "{}", in_use.body);
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

    // Ann cancels with her booking's token; then everything can go.
    let booking_id = booked.json()["id"].as_u64().expect("booking id");
    let cancelled = send_with(
        "DELETE",
        follower,
        &format!("/api/bookings/{booking_id}"),
        None,
        &ann,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert!(
        cancelled.json().get("token").is_none(),
        "{}",
        cancelled.body
    );
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
fn catalog_and_settings_changes_need_the_admin_role_and_refusals_change_nothing() {
    let cluster = Cluster::start(3);
    // A customer's booking token is no admin credential either.
    let customer = token_of(
        &send_json(
            "POST",
            &cluster.addrs[0],
            "/api/showtimes/2/bookings",
            json!({"seats": ["h1"], "user": "zoe"}),
        ),
        "b_",
    );
    let before = settled_state(&cluster.addrs, SETTLE);

    let changes: [(&str, &str, Value); 7] = [
        (
            "POST",
            "/api/movies",
            json!({"title": "Heist", "year": 2020, "duration_minutes": 100}),
        ),
        ("DELETE", "/api/movies/4", json!({})),
        (
            "POST",
            "/api/theaters",
            json!({"name": "Annex", "rows": [{"row": "a", "seats": 2}]}),
        ),
        ("DELETE", "/api/theaters/4", json!({})),
        (
            "POST",
            "/api/showtimes",
            json!({"movie_id": 1, "theater_id": 1, "starts_at": "2026-12-24T18:00:00Z",
                   "price_cents": 900}),
        ),
        ("DELETE", "/api/showtimes/3", json!({})),
        ("PUT", "/api/settings", json!({"max_seats_per_customer": 1})),
    ];
    let operator = operator();
    let customer = bearer(&customer);
    let made_up = bearer("not-an-admin-token");
    for addr in &cluster.addrs {
        for (method, path, body) in &changes {
            let body = body.to_string();
            let what = format!("{method} {path} on {addr}");
            let anonymous = request(method, addr, path, Some(&body), &[]);
            assert_unauthorized(&anonymous);
            let as_operator = request(
                method,
                addr,
                path,
                Some(&body),
                &[(operator.0, &operator.1)],
            );
            assert_problem(&as_operator, 403, "forbidden");
            assert_eq!(
                as_operator.json()["role"],
                "operator",
                "{what}: {}",
                as_operator.body
            );
            for (name, value) in [&customer, &made_up] {
                let answer = request(method, addr, path, Some(&body), &[(name, value)]);
                assert_unauthorized(&answer);
            }
        }
    }
    let after = settled_state(&cluster.addrs, SETTLE);
    assert_eq!(after, before, "refused catalog changes changed the state");
    for addr in &cluster.addrs {
        assert_eq!(
            get(addr, "/api/settings").json()["max_seats_per_customer"],
            10
        );
        assert_eq!(get(addr, "/api/movies/4").status, 200);
        assert_eq!(get(addr, "/api/showtimes/3").status, 200);
    }

    // The same change with the admin token goes through (and does change the state).
    let changed = admin_json(
        "PUT",
        &cluster.addrs[1],
        "/api/settings",
        json!({"max_seats_per_customer": 1}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json(), json!({"max_seats_per_customer": 1}));
    let changed_state = settled_state(&cluster.addrs, SETTLE);
    assert_ne!(
        changed_state.1, before.1,
        "the admin's change shows in the state hash"
    );
    for addr in &cluster.addrs {
        assert_eq!(
            get(addr, "/api/settings").json()["max_seats_per_customer"],
            1
        );
    }
    // Host endpoints keep their own rule: the operator token reads /v1, never changes it.
    let status = request(
        "GET",
        &cluster.addrs[0],
        "/v1/status",
        None,
        &[(operator.0, &operator.1)],
    );
    assert_eq!(status.status, 200, "{}", status.body);
    let snapshot = request(
        "POST",
        &cluster.addrs[0],
        "/v1/snapshot",
        None,
        &[(operator.0, &operator.1)],
    );
    assert_problem(&snapshot, 403, "forbidden");
}

#[test]
fn holds_and_bookings_follow_the_rules_on_every_node() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let a = &cluster.addrs[(leader + 1) % 3];
    let b = &cluster.addrs[(leader + 2) % 3];
    let showtime = 3;

    let created = send_json(
        "POST",
        a,
        &format!("/api/showtimes/{showtime}/holds"),
        json!({"seats": ["a1", "A2"], "user": "alice"}),
    );
    let token = token_of(&created, "h_");
    let hold = created.json();
    let hold_id = hold["id"].as_u64().expect("hold id");
    assert_eq!(
        created.header("location"),
        Some(format!("/api/holds/{token}").as_str())
    );
    assert_eq!(hold["status"], "active");
    assert_eq!(hold["seats"], json!(["a1", "a2"]));
    assert!(
        hold["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{hold}"
    );
    let hold_path = format!("/api/holds/{token}");
    for addr in &cluster.addrs {
        let seen = get(addr, &hold_path);
        assert_eq!(seen.status, 200, "{addr}: {}", seen.body);
        assert_eq!(seen.json()["user"], "alice");
        assert_eq!(seen.json()["id"], hold_id);
        assert!(
            seen.json().get("token").is_none(),
            "GET shows the token: {}",
            seen.body
        );
    }
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
    assert_no_token("a seat-taken problem", &clash.body, &[&token]);
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

    // Only the token extends, confirms or releases: a wrong or made-up one names no hold, and
    // the API 1.0 bodies naming a user are refused as unknown fields.
    for wrong in [
        made_up_token("h_"),
        "no-such-token".to_string(),
        format!("b_{}", &token[2..]),
    ] {
        for (method, path) in [
            ("POST", format!("/api/holds/{wrong}/extend")),
            ("POST", format!("/api/holds/{wrong}/confirm")),
            ("DELETE", format!("/api/holds/{wrong}")),
            ("GET", format!("/api/holds/{wrong}")),
        ] {
            let answer = request(method, b, &path, None, &[]);
            assert_problem(&answer, 404, "unknown-hold");
            assert!(
                !answer.body.contains(&wrong),
                "the token is echoed: {}",
                answer.body
            );
        }
    }
    for (method, path, body) in [
        (
            "POST",
            format!("{hold_path}/extend"),
            json!({"user": "alice", "ttl_seconds": 60}),
        ),
        (
            "POST",
            format!("{hold_path}/confirm"),
            json!({"user": "alice"}),
        ),
        ("DELETE", hold_path.clone(), json!({"user": "alice"})),
    ] {
        let answer = send_json(method, b, &path, body);
        assert_problem(&answer, 400, "invalid-request");
        assert!(answer.body.contains("user"), "{}", answer.body);
    }
    assert_eq!(get(a, &hold_path).json()["status"], "active");

    let extended = send_json(
        "POST",
        b,
        &format!("{hold_path}/extend"),
        json!({"ttl_seconds": 7200}),
    );
    assert_eq!(extended.status, 200, "{}", extended.body);
    assert!(
        extended.json()["expires_at"].as_str() > hold["expires_at"].as_str(),
        "{}",
        extended.body
    );
    assert!(extended.json().get("token").is_none(), "{}", extended.body);
    // No body: the default lifetime from now (earlier than the 2 h just set).
    let default_extend = request("POST", a, &format!("{hold_path}/extend"), None, &[]);
    assert_eq!(default_extend.status, 200, "{}", default_extend.body);
    assert!(
        default_extend.json()["expires_at"].as_str() < extended.json()["expires_at"].as_str(),
        "{}",
        default_extend.body
    );

    let confirmed = request("POST", a, &format!("{hold_path}/confirm"), None, &[]);
    let booking_token = token_of(&confirmed, "b_");
    let booking = confirmed.json();
    assert_eq!(booking["seats"], json!(["a1", "a2"]));
    assert_eq!(booking["hold_id"], hold_id);
    assert!(booking.get("hold").is_none(), "{booking}");
    assert_eq!(booking["status"], "confirmed");
    let booking_id = booking["id"].as_u64().expect("booking id");
    assert_eq!(
        confirmed.header("location"),
        Some(format!("/api/bookings/{booking_id}").as_str())
    );
    assert_problem(
        &request("POST", b, &format!("{hold_path}/confirm"), None, &[]),
        409,
        "hold-finished",
    );
    assert_problem(
        &request("DELETE", b, &hold_path, None, &[]),
        409,
        "hold-finished",
    );
    let finished = get(b, &hold_path).json();
    assert_eq!(finished["status"], "confirmed");
    assert_eq!(finished["booking_id"], booking_id);
    for addr in &cluster.addrs {
        let states = seat_states(addr, showtime);
        assert_eq!(
            (states["a1"].as_str(), states["a2"].as_str()),
            ("booked", "booked")
        );
    }
    // The hold's token does not open the booking.
    assert_problem(
        &send_with(
            "GET",
            a,
            &format!("/api/bookings/{booking_id}"),
            None,
            &token,
        ),
        404,
        "unknown-booking",
    );

    // Release frees the seats at once.
    let second = send_json(
        "POST",
        a,
        &format!("/api/showtimes/{showtime}/holds"),
        json!({"seats": ["b1"], "user": "carol", "ttl_seconds": 120}),
    );
    let second_token = token_of(&second, "h_");
    let released = request(
        "DELETE",
        b,
        &format!("/api/holds/{second_token}"),
        Some("{}"),
        &[],
    );
    assert_eq!(released.status, 200, "{}", released.body);
    assert_eq!(released.json()["status"], "released");
    assert!(released.json().get("token").is_none(), "{}", released.body);
    assert_eq!(seat_states(a, showtime)["b1"], "free");

    // Direct booking; the owner reads it with its token, staff list and read it.
    let direct = send_json(
        "POST",
        b,
        &format!("/api/showtimes/{showtime}/bookings"),
        json!({"seats": ["b2", "b3"], "user": "dave"}),
    );
    let dave = token_of(&direct, "b_");
    let dave_id = direct.json()["id"].as_u64().expect("booking id");
    assert_eq!(
        direct.header("location"),
        Some(format!("/api/bookings/{dave_id}").as_str())
    );
    assert_eq!(
        direct.json()["price_cents"],
        2 * get(a, "/api/showtimes/3").json()["price_cents"]
            .as_u64()
            .expect("price")
    );
    for addr in &cluster.addrs {
        let own = send_with(
            "GET",
            addr,
            &format!("/api/bookings/{booking_id}"),
            None,
            &booking_token,
        );
        assert_eq!(own.status, 200, "{addr}: {}", own.body);
        assert_eq!(own.json()["user"], "alice");
        assert!(
            own.json().get("token").is_none(),
            "GET shows the token: {}",
            own.body
        );
        assert_eq!(booking_as_operator(addr, dave_id)["user"], "dave");
    }
    assert_unauthorized(&get(a, "/api/bookings?user=alice"));
    let operator = operator();
    let ops = [(operator.0, operator.1.as_str())];
    let alices = request("GET", a, "/api/bookings?user=alice", None, &ops).json();
    assert_eq!(
        ids(alices["bookings"].as_array().expect("bookings")),
        [booking_id]
    );
    let by_showtime = request(
        "GET",
        a,
        &format!("/api/bookings?showtime={showtime}"),
        None,
        &ops,
    )
    .json();
    assert_eq!(
        by_showtime["bookings"].as_array().expect("bookings").len(),
        2
    );

    // Cancelling needs the booking's own token: dave's does not cancel alice's booking.
    assert_problem(
        &send_with(
            "DELETE",
            a,
            &format!("/api/bookings/{booking_id}"),
            None,
            &dave,
        ),
        404,
        "unknown-booking",
    );
    assert_unauthorized(&request(
        "DELETE",
        a,
        &format!("/api/bookings/{booking_id}"),
        None,
        &[],
    ));
    assert_eq!(booking_as_operator(b, booking_id)["status"], "confirmed");
    let cancelled = send_with(
        "DELETE",
        a,
        &format!("/api/bookings/{booking_id}"),
        None,
        &booking_token,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(seat_states(b, showtime)["a1"], "free");
    assert_problem(
        &send_with(
            "DELETE",
            b,
            &format!("/api/bookings/{booking_id}"),
            None,
            &booking_token,
        ),
        409,
        "booking-cancelled",
    );
    // The owner still reads the cancelled booking.
    let kept = send_with(
        "GET",
        b,
        &format!("/api/bookings/{booking_id}"),
        None,
        &booking_token,
    );
    assert_eq!(kept.json()["status"], "cancelled", "{}", kept.body);
    assert_problem(
        &request("GET", a, "/api/bookings/999999", None, &ops),
        404,
        "unknown-booking",
    );
    assert_problem(
        &send_with("GET", a, "/api/bookings/999999", None, &booking_token),
        404,
        "unknown-booking",
    );

    // Activity: who, when, what, in log order; holds and bookings named by id only.
    let activity_answer = get(b, &format!("/api/showtimes/{showtime}/activity"));
    assert_no_token(
        "activity",
        &activity_answer.body,
        &[&token, &second_token, &booking_token, &dave],
    );
    let activity = activity_answer.json();
    let changes = activity["activity"].as_array().expect("activity");
    let actions: Vec<&str> = changes
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "held",
            "extended",
            "extended",
            "confirmed",
            "held",
            "released",
            "booked",
            "cancelled"
        ],
        "{activity}"
    );
    assert_eq!(changes[0]["hold_id"], hold_id, "{activity}");
    assert_eq!(changes[3]["booking_id"], booking_id, "{activity}");
    assert_eq!(changes[3]["hold_id"], hold_id, "{activity}");
    assert_eq!(changes[7]["booking_id"], booking_id, "{activity}");
    assert!(
        changes
            .iter()
            .all(|c| c.get("hold").is_none() && c.get("token").is_none()),
        "{activity}"
    );
}

#[test]
fn a_booking_opens_only_with_its_own_token_and_cancel_by_user_name_fails() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = &cluster.addrs[(leader + 1) % 3];
    let alice = send_json(
        "POST",
        follower,
        "/api/showtimes/2/bookings",
        json!({"seats": ["c1", "c2"], "user": "alice"}),
    );
    let alice_token = token_of(&alice, "b_");
    let alice_id = alice.json()["id"].as_u64().expect("booking id");
    let mallory = send_json(
        "POST",
        follower,
        "/api/showtimes/2/bookings",
        json!({"seats": ["d1"], "user": "mallory"}),
    );
    let mallory_token = token_of(&mallory, "b_");
    let hold = send_json(
        "POST",
        follower,
        "/api/showtimes/2/holds",
        json!({"seats": ["d2"], "user": "mallory"}),
    );
    let hold_token = token_of(&hold, "h_");
    let before = settled_state(&cluster.addrs, SETTLE);
    let path = format!("/api/bookings/{alice_id}");

    // The API 1.0 attack: "DELETE /api/bookings/1 {"user":"alice"}" cancelled alice's booking.
    // With no token it is refused before the body is read, on every node, and changes nothing.
    for addr in &cluster.addrs {
        assert_unauthorized(&send_json("DELETE", addr, &path, json!({"user": "alice"})));
        assert_unauthorized(&request("DELETE", addr, &path, None, &[]));
        assert_unauthorized(&request("GET", addr, &path, None, &[]));
        // Not a token at all, or another kind of token: answered like no such booking (a
        // malformed one without a lookup).
        for wrong in ["alice", "Bearer", hold_token.as_str()] {
            assert_problem(
                &send_with("GET", addr, &path, None, wrong),
                404,
                "unknown-booking",
            );
            assert_problem(
                &send_with("DELETE", addr, &path, None, wrong),
                404,
                "unknown-booking",
            );
        }
        // The operator reads, but may not cancel.
        let operator = operator();
        assert_problem(
            &request("DELETE", addr, &path, None, &[(operator.0, &operator.1)]),
            403,
            "forbidden",
        );
    }
    let after = settled_state(&cluster.addrs, SETTLE);
    assert_eq!(after, before, "the refused attacks changed the state");

    // Another customer's real token: 404 for reading and cancelling, exactly as for no booking.
    let missing = send_with(
        "GET",
        follower,
        "/api/bookings/999999",
        None,
        &mallory_token,
    );
    for addr in &cluster.addrs {
        let read = send_with("GET", addr, &path, None, &mallory_token);
        assert_problem(&read, 404, "unknown-booking");
        let cancel = send_with("DELETE", addr, &path, None, &mallory_token);
        assert_problem(&cancel, 404, "unknown-booking");
        assert_eq!(read.json()["title"], missing.json()["title"]);
        // The token with the old body: still no cancel.
        let with_body = send_with(
            "DELETE",
            addr,
            &path,
            Some(json!({"user": "alice"})),
            &mallory_token,
        );
        assert_problem(&with_body, 400, "invalid-request");
    }
    for addr in &cluster.addrs {
        let booking = booking_as_operator(addr, alice_id);
        assert_eq!(
            booking["status"], "confirmed",
            "{addr}: alice's booking was cancelled"
        );
        let states = seat_states(addr, 2);
        assert_eq!(
            (states["c1"].as_str(), states["c2"].as_str()),
            ("booked", "booked")
        );
    }
    // (A well-formed token is checked by the state machine, so those refusals are log entries:
    // they advance the applied index and the log clock, never a booking.)
    let after_tokens = settled_state(&cluster.addrs, SETTLE);
    println!("state before {before:?}, after the token attacks {after_tokens:?}");
    let entries = get(
        follower,
        &format!(
            "/v1/logs?from={}&n={}",
            before.0 + 1,
            after_tokens.0 - before.0
        ),
    )
    .json();
    let entries = entries.as_array().expect("log lines");
    assert_eq!(
        entries.len() as u64,
        after_tokens.0 - before.0,
        "{entries:?}"
    );
    for entry in entries {
        let text = entry["text"].as_str().unwrap_or_default();
        assert!(
            text.starts_with(&format!("cancel booking #{alice_id}")),
            "only the refused cancels were written: {entries:?}"
        );
        assert_no_token("a log line", text, &[&mallory_token, &alice_token]);
    }

    // Alice's own token with the old body is a 400, and then without it cancels.
    assert_problem(
        &send_with(
            "DELETE",
            follower,
            &path,
            Some(json!({"user": "alice"})),
            &alice_token,
        ),
        400,
        "invalid-request",
    );
    let cancelled = send_with("DELETE", follower, &path, Some(json!({})), &alice_token);
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");

    // An admin cancels any booking; the activity names the operator.
    let mallory_id = mallory.json()["id"].as_u64().expect("booking id");
    let by_admin = admin_json(
        "DELETE",
        follower,
        &format!("/api/bookings/{mallory_id}"),
        json!({}),
    );
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
    assert_eq!(by_admin.json()["status"], "cancelled");
    let activity = get(follower, "/api/showtimes/2/activity").json();
    let last = activity["activity"]
        .as_array()
        .and_then(|a| a.last())
        .cloned()
        .expect("a change");
    assert_eq!(last["action"], "cancelled", "{activity}");
    assert_eq!(last["user"], "operator", "{activity}");
    assert_eq!(last["booking_id"], mallory_id, "{activity}");
}

#[test]
fn tokens_never_appear_in_reads_lists_activity_or_log_listings() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[0];
    let held = send_json(
        "POST",
        addr,
        "/api/showtimes/4/holds",
        json!({"seats": ["a1", "a2"], "user": "tess"}),
    );
    let hold_token = token_of(&held, "h_");
    let released_hold = send_json(
        "POST",
        addr,
        "/api/showtimes/4/holds",
        json!({"seats": ["a3"], "user": "tess"}),
    );
    let released_token = token_of(&released_hold, "h_");
    assert_eq!(
        request(
            "DELETE",
            addr,
            &format!("/api/holds/{released_token}"),
            None,
            &[]
        )
        .status,
        200
    );
    let confirmed = request(
        "POST",
        addr,
        &format!("/api/holds/{hold_token}/confirm"),
        None,
        &[],
    );
    let confirmed_token = token_of(&confirmed, "b_");
    let direct = send_json(
        "POST",
        addr,
        "/api/showtimes/4/bookings",
        json!({"seats": ["b1"], "user": "tess"}),
    );
    let direct_token = token_of(&direct, "b_");
    let direct_id = direct.json()["id"].as_u64().expect("booking id");
    let cancelled = send_with(
        "DELETE",
        addr,
        &format!("/api/bookings/{direct_id}"),
        None,
        &direct_token,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let tokens = [
        hold_token.as_str(),
        released_token.as_str(),
        confirmed_token.as_str(),
        direct_token.as_str(),
    ];
    assert_no_token("a cancellation", &cancelled.body, &tokens);

    let operator = operator();
    let ops = [(operator.0, operator.1.as_str())];
    let confirmed_id = confirmed.json()["id"].as_u64().expect("booking id");
    for node in &cluster.addrs {
        let reads = [
            ("GET hold", get(node, &format!("/api/holds/{hold_token}"))),
            (
                "GET released hold",
                get(node, &format!("/api/holds/{released_token}")),
            ),
            ("activity", get(node, "/api/showtimes/4/activity")),
            ("showtime", get(node, "/api/showtimes/4")),
            ("seats", get(node, "/api/showtimes/4/seats")),
            (
                "bookings list",
                request("GET", node, "/api/bookings", None, &ops),
            ),
            (
                "bookings of tess",
                request(
                    "GET",
                    node,
                    "/api/bookings?user=tess&showtime=4",
                    None,
                    &ops,
                ),
            ),
            (
                "booking as operator",
                request(
                    "GET",
                    node,
                    &format!("/api/bookings/{confirmed_id}"),
                    None,
                    &ops,
                ),
            ),
            (
                "booking as owner",
                send_with(
                    "GET",
                    node,
                    &format!("/api/bookings/{confirmed_id}"),
                    None,
                    &confirmed_token,
                ),
            ),
            (
                "cancelled booking as owner",
                send_with(
                    "GET",
                    node,
                    &format!("/api/bookings/{direct_id}"),
                    None,
                    &direct_token,
                ),
            ),
            ("log listing", get(node, "/v1/logs?n=1000")),
        ];
        for (what, answer) in reads {
            assert_eq!(answer.status, 200, "{what} on {node}: {}", answer.body);
            assert_no_token(what, &answer.body, &tokens);
        }
    }
    // The listing did describe those entries (so the check above looked at them).
    let logs = get(addr, "/v1/logs?n=1000").body;
    assert!(logs.contains("tess"), "{logs}");
}

#[test]
fn the_customer_limit_counts_holds_and_bookings_until_an_admin_raises_it() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[1];
    let take = |kind: &str, seats: &[&str], user: &str| {
        send_json(
            "POST",
            addr,
            &format!("/api/showtimes/2/{kind}"),
            json!({"seats": seats, "user": user}),
        )
    };
    for node in &cluster.addrs {
        assert_eq!(
            get(node, "/api/settings").json(),
            json!({"max_seats_per_customer": 10})
        );
    }
    let hold = take("holds", &["a1", "a2", "a3", "a4", "a5", "a6"], "alice");
    let hold_token = token_of(&hold, "h_");
    token_of(&take("bookings", &["b1", "b2", "b3", "b4"], "alice"), "b_");

    // Six held and four booked: a further seat passes the default limit of 10, held or booked.
    for kind in ["holds", "bookings"] {
        let refused = take(kind, &["c1"], "alice");
        assert_problem(&refused, 409, "customer-limit");
        let problem = refused.json();
        assert_eq!(problem["limit"], 10, "{problem}");
        assert_eq!(problem["taken"], 10, "{problem}");
        assert_eq!(problem["requested"], 1, "{problem}");
        assert_eq!(problem["user"], "alice", "{problem}");
        assert_eq!(problem["showtime"], 2, "{problem}");
    }
    // Per customer and per showtime: bob, and alice in another showtime, are not limited.
    token_of(&take("bookings", &["c1"], "bob"), "b_");
    token_of(
        &send_json(
            "POST",
            addr,
            "/api/showtimes/3/bookings",
            json!({"seats": ["a1"], "user": "alice"}),
        ),
        "b_",
    );
    // Confirming the hold takes no new seat.
    token_of(
        &request(
            "POST",
            addr,
            &format!("/api/holds/{hold_token}/confirm"),
            None,
            &[],
        ),
        "b_",
    );
    assert_problem(&take("bookings", &["c2"], "alice"), 409, "customer-limit");

    // Only an admin changes the settings; the body has every field.
    let raise = json!({"max_seats_per_customer": 12});
    assert_unauthorized(&send_json("PUT", addr, "/api/settings", raise.clone()));
    let operator = operator();
    assert_problem(
        &request(
            "PUT",
            addr,
            "/api/settings",
            Some(&raise.to_string()),
            &[(operator.0, &operator.1)],
        ),
        403,
        "forbidden",
    );
    assert_problem(
        &admin_json("PUT", addr, "/api/settings", json!({})),
        400,
        "invalid-request",
    );
    let raised = admin_json("PUT", addr, "/api/settings", raise.clone());
    assert_eq!(raised.status, 200, "{}", raised.body);
    assert_eq!(raised.json(), raise);
    for node in &cluster.addrs {
        assert_eq!(get(node, "/api/settings").json(), raise, "{node}");
    }
    token_of(&take("bookings", &["c2", "c3"], "alice"), "b_");
    let refused = take("holds", &["c4"], "alice");
    assert_problem(&refused, 409, "customer-limit");
    assert_eq!(refused.json()["limit"], 12, "{}", refused.body);

    // Lowering it keeps what alice has, and refuses her more.
    assert_eq!(
        admin_json(
            "PUT",
            addr,
            "/api/settings",
            json!({"max_seats_per_customer": 5})
        )
        .status,
        200
    );
    settled_state(&cluster.addrs, SETTLE);
    for node in &cluster.addrs {
        let booked = booked_by(node, 2).expect("bookings of showtime 2");
        let alices = booked.values().filter(|u| *u == "alice").count();
        assert_eq!(alices, 12, "{node}: {booked:?}");
    }
    let refused = take("bookings", &["c4"], "alice");
    assert_problem(&refused, 409, "customer-limit");
    assert_eq!(refused.json()["limit"], 5, "{}", refused.body);
}

#[test]
fn lists_answer_pages_that_follow_next_to_the_end() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let addr = &cluster.addrs[(leader + 1) % 3];
    for title in ["Alpha", "Beta", "Gamma"] {
        let created = admin_json(
            "POST",
            addr,
            "/api/movies",
            json!({"title": title, "year": 2001, "duration_minutes": 90}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let whole = get(addr, "/api/movies").json();
    let every = ids(whole["movies"].as_array().expect("movies"));
    assert_eq!(every.len(), 7, "{whole}");
    assert_eq!(whole["next"], Value::Null);
    assert!(
        every.windows(2).all(|w| w[0] < w[1]),
        "ascending ids: {every:?}"
    );

    // Pages of 2: four pages, the same items in the same order; the last one says `null`.
    let first = get(addr, "/api/movies?limit=2").json();
    assert_eq!(ids(first["movies"].as_array().expect("movies")), every[..2]);
    assert_eq!(
        first["next"], every[1],
        "next is the cursor to pass as `after`: {first}"
    );
    for node in &cluster.addrs {
        let (items, pages) = all_pages(node, "/api/movies", "movies", 2, &[]);
        assert_eq!(ids(&items), every, "{node}");
        assert_eq!(pages, 4, "{node}");
    }
    let tail = get(addr, &format!("/api/movies?after={}", every[4])).json();
    assert_eq!(ids(tail["movies"].as_array().expect("movies")), every[5..]);
    assert_eq!(tail["next"], Value::Null);

    // Filtered and staff-only lists page the same way.
    for seat in ["a1", "a2", "a3"] {
        token_of(
            &send_json(
                "POST",
                addr,
                "/api/showtimes/2/bookings",
                json!({"seats": [seat], "user": "pam"}),
            ),
            "b_",
        );
    }
    token_of(
        &send_json(
            "POST",
            addr,
            "/api/showtimes/3/bookings",
            json!({"seats": ["a1"], "user": "pam"}),
        ),
        "b_",
    );
    let operator = operator();
    let ops = [(operator.0, operator.1.as_str())];
    let (bookings, pages) = all_pages(
        addr,
        "/api/bookings?user=pam&showtime=2",
        "bookings",
        1,
        &ops,
    );
    assert_eq!(bookings.len(), 3, "{bookings:?}");
    assert!(pages >= 3, "{pages} pages");
    assert!(
        bookings
            .iter()
            .all(|b| b["showtime_id"] == 2 && b["user"] == "pam"),
        "{bookings:?}"
    );
    let (all, _) = all_pages(addr, "/api/bookings", "bookings", 2, &ops);
    assert_eq!(all.len(), 4, "{all:?}");
    let (showtimes, pages) = all_pages(addr, "/api/showtimes", "showtimes", 2, &[]);
    assert!(showtimes.len() >= 5 && pages >= 3, "{showtimes:?}");
    let (theaters, _) = all_pages(addr, "/api/theaters", "theaters", 1, &[]);
    assert_eq!(theaters.len(), 5, "{theaters:?}");
    assert_unauthorized(&get(addr, "/api/bookings?limit=1"));
    let admin = admin();
    let (as_admin, _) = all_pages(addr, "/api/bookings", "bookings", 3, &[(admin.0, &admin.1)]);
    assert_eq!(ids(&as_admin), ids(&all), "admins list bookings too");

    for bad in ["limit=0", "limit=501", "limit=ten", "after=-1", "after=x"] {
        let answer = get(addr, &format!("/api/movies?{bad}"));
        assert_problem(&answer, 400, "invalid-request");
    }
    let most = get(addr, "/api/movies?limit=500");
    assert_eq!(most.status, 200, "{}", most.body);
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
        r#"{"seats":["a1"],"user":" x"}"#,
        r#"{"seats":["a1"],"user":"x\u0007"}"#,
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
fn unknown_missing_and_mistyped_body_fields_are_named_in_a_field_member() {
    // docs/http-api.md, Conventions: "Unknown fields, wrong types and bad JSON are 400
    // /problems/invalid-request with a `detail` naming the field (and a `field` member)".
    let cluster = Cluster::start(1);
    let addr = &cluster.addrs[0];
    let hold = send_json(
        "POST",
        addr,
        "/api/showtimes/2/holds",
        json!({"seats": ["a1"], "user": "x"}),
    );
    let token = token_of(&hold, "h_");
    let cases = [
        (
            "/api/showtimes/2/holds",
            r#"{"seats":["a1"],"user":7}"#,
            "user",
        ),
        (
            "/api/showtimes/2/holds",
            r#"{"seats":"a1","user":"x"}"#,
            "seats",
        ),
        (
            "/api/showtimes/2/holds",
            r#"{"seats":["a1"],"user":"x","ttl_seconds":-5}"#,
            "ttl_seconds",
        ),
        ("/api/showtimes/2/holds", r#"{"seats":["a1"]}"#, "user"),
        (
            "/api/showtimes/2/bookings",
            r#"{"seats":["a1"],"user":"x","extra":1}"#,
            "extra",
        ),
    ];
    let extend = format!("/api/holds/{token}/extend");
    let mut missing = Vec::new();
    for (path, body, field) in cases
        .iter()
        .map(|(p, b, f)| (p.to_string(), *b, *f))
        .chain([(extend, r#"{"user":"x"}"#, "user")])
    {
        let answer = request("POST", addr, &path, Some(body), &[]);
        assert_problem(&answer, 400, "invalid-request");
        let problem = answer.json();
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("`{field}`"))),
            "{body}: {problem}"
        );
        if problem["field"] != field {
            missing.push(format!("{body} -> {problem}"));
        }
    }
    // Decoding errors (wrong type, unknown or missing field) name the field like the rules'
    // own checks do.
    assert!(
        missing.is_empty(),
        "no `field` member in:\n{}",
        missing.join("\n")
    );
}

#[test]
fn json_writes_sent_as_text_plain_are_refused_with_415_and_change_nothing() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[0];
    let booking = send_json(
        "POST",
        addr,
        "/api/showtimes/2/bookings",
        json!({"seats": ["e1"], "user": "vic"}),
    );
    let token = token_of(&booking, "b_");
    let booking_id = booking.json()["id"].as_u64().expect("booking id");
    let hold = send_json(
        "POST",
        addr,
        "/api/showtimes/2/holds",
        json!({"seats": ["e2"], "user": "vic"}),
    );
    let hold_token = token_of(&hold, "h_");
    let before = settled_state(&cluster.addrs, SETTLE);

    // What a hostile page's cross-site form or fetch can send without a preflight: a simple
    // content type, and no custom header. (The hold token in a path is a secret the page lacks;
    // this checks the body rule alone.)
    let auth = bearer(&token);
    let admin_auth = admin();
    /// Method, path, body and extra headers of one write.
    type Write<'a> = (&'a str, String, String, Vec<(&'a str, &'a str)>);
    let writes: [Write; 6] = [
        (
            "POST",
            "/api/showtimes/2/bookings".into(),
            json!({"seats": ["e3"], "user": "eve"}).to_string(),
            vec![],
        ),
        (
            "POST",
            "/api/showtimes/2/holds".into(),
            json!({"seats": ["e4"], "user": "eve"}).to_string(),
            vec![],
        ),
        (
            "POST",
            format!("/api/holds/{hold_token}/confirm"),
            "{}".into(),
            vec![],
        ),
        (
            "DELETE",
            format!("/api/holds/{hold_token}"),
            "{}".into(),
            vec![],
        ),
        (
            "DELETE",
            format!("/api/bookings/{booking_id}"),
            "{}".into(),
            vec![(auth.0, auth.1.as_str())],
        ),
        (
            "PUT",
            "/api/settings".into(),
            json!({"max_seats_per_customer": 1}).to_string(),
            vec![(admin_auth.0, admin_auth.1.as_str())],
        ),
    ];
    for node in &cluster.addrs {
        for (method, path, body, headers) in &writes {
            for content_type in [
                "text/plain",
                "text/plain;charset=UTF-8",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
            ] {
                let answer = try_send_typed(method, node, path, body, content_type, headers)
                    .unwrap_or_else(|| panic!("{method} {path} on {node}: no answer"));
                assert_problem(&answer, 415, "unsupported-media-type");
            }
        }
    }
    assert_eq!(
        settled_state(&cluster.addrs, SETTLE),
        before,
        "a 415 changed the state"
    );
    let states = seat_states(addr, 2);
    assert_eq!(
        (
            states["e1"].as_str(),
            states["e2"].as_str(),
            states["e3"].as_str(),
            states["e4"].as_str()
        ),
        ("booked", "held", "free", "free")
    );
    // The same requests as JSON do go through (so the 415 was about the content type).
    let confirmed = try_send_typed(
        "POST",
        addr,
        &format!("/api/holds/{hold_token}/confirm"),
        "{}",
        "application/json; charset=utf-8",
        &[],
    )
    .expect("an answer");
    token_of(&confirmed, "b_");
    // A bodyless write needs no content type at all.
    let cancelled = send_with(
        "DELETE",
        addr,
        &format!("/api/bookings/{booking_id}"),
        None,
        &token,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
}

#[test]
fn idempotency_keys_replay_the_first_answer_with_its_token_and_refuse_other_requests() {
    let cluster = Cluster::start(3);
    let addr = &cluster.addrs[1];
    let path = "/api/showtimes/4/bookings";
    let body = r#"{"seats":["a3"],"user":"ivy"}"#;
    let key = [("idempotency-key", "7d1c-retry-test-0001")];

    let first = request("POST", addr, path, Some(body), &key);
    let token = token_of(&first, "b_");
    assert_eq!(first.header("idempotent-replayed"), None);
    let booking_id = first.json()["id"].as_u64().expect("booking id");
    for other in &cluster.addrs {
        let again = request("POST", other, path, Some(body), &key);
        assert_eq!(again.status, 201, "{}", again.body);
        assert_eq!(
            again.body, first.body,
            "{other}: a retry gets the first answer, token included"
        );
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.header("location"), first.header("location"));
        // The replayed token is the real one: it opens the booking.
        let own = send_with(
            "GET",
            other,
            &format!("/api/bookings/{booking_id}"),
            None,
            &token,
        );
        assert_eq!(own.status, 200, "{other}: {}", own.body);
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

    // Holds and confirmations replay their tokens (and a hold its location) the same way.
    let hold_key = [("idempotency-key", "hold-once-0123456789")];
    let hold_body = r#"{"seats":["b1","b2"],"user":"ivy"}"#;
    let hold = request(
        "POST",
        &cluster.addrs[0],
        "/api/showtimes/4/holds",
        Some(hold_body),
        &hold_key,
    );
    let hold_token = token_of(&hold, "h_");
    let confirm_key = [("idempotency-key", "confirm-once-0123456789")];
    let confirm_path = format!("/api/holds/{hold_token}/confirm");
    let confirmed = request("POST", &cluster.addrs[2], &confirm_path, None, &confirm_key);
    let confirmed_token = token_of(&confirmed, "b_");
    for other in &cluster.addrs {
        let again = request(
            "POST",
            other,
            "/api/showtimes/4/holds",
            Some(hold_body),
            &hold_key,
        );
        assert_eq!((again.status, &again.body), (201, &hold.body), "{other}");
        assert_eq!(
            again.header("location"),
            Some(format!("/api/holds/{hold_token}").as_str())
        );
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        let again = request("POST", other, &confirm_path, None, &confirm_key);
        assert_eq!(
            (again.status, &again.body),
            (201, &confirmed.body),
            "{other}"
        );
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    let confirmed_id = confirmed.json()["id"].as_u64().expect("booking id");
    let own = send_with(
        "GET",
        addr,
        &format!("/api/bookings/{confirmed_id}"),
        None,
        &confirmed_token,
    );
    assert_eq!(own.status, 200, "{}", own.body);
    // Without its key the same confirm is a second confirm.
    assert_problem(
        &request("POST", addr, &confirm_path, None, &[]),
        409,
        "hold-finished",
    );

    // A refusal is remembered too: the retry is refused the same way even after the seat frees.
    let taken_key = [("idempotency-key", "taken-once-0123456789")];
    let refused = request("POST", addr, path, Some(body), &taken_key);
    assert_problem(&refused, 409, "seat-taken");
    let cancel = send_with(
        "DELETE",
        addr,
        &format!("/api/bookings/{booking_id}"),
        None,
        &token,
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
            &[("idempotency-key", "has space 0123456789")],
        ),
        400,
        "invalid-request",
    );
}

#[test]
fn an_idempotent_retry_after_a_leader_kill_gets_the_first_answer_with_its_token() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = cluster.addrs[(leader + 1) % 3].clone();
    let path = "/api/showtimes/5/bookings";
    let body = r#"{"seats":["a1","a2"],"user":"erin"}"#;
    let key = [("idempotency-key", "failover-retry-0001")];
    let first = request("POST", &follower, path, Some(body), &key);
    let token = token_of(&first, "b_");
    let booking_id = first.json()["id"].as_u64().expect("booking id");

    cluster.node(leader).kill();
    let new_leader = cluster.wait_for_leader(Duration::from_secs(15));
    assert_ne!(new_leader, leader);
    for addr in cluster.live_addrs() {
        let retry = wait_until(Duration::from_secs(10), "the retry is answered", || {
            try_request("POST", &addr, path, Some(body), &key).filter(|a| a.status != 503)
        });
        assert_eq!(retry.status, 201, "{}", retry.body);
        assert_eq!(
            retry.body, first.body,
            "{addr}: the first answer, token included"
        );
        assert_eq!(retry.header("idempotent-replayed"), Some("true"));
        let own = send_with(
            "GET",
            &addr,
            &format!("/api/bookings/{booking_id}"),
            None,
            &token,
        );
        assert_eq!(own.status, 200, "{addr}: {}", own.body);
    }
    let operator = operator();
    let erins = request(
        "GET",
        &cluster.addrs[new_leader],
        "/api/bookings?user=erin",
        None,
        &[(operator.0, &operator.1)],
    )
    .json();
    assert_eq!(
        erins["bookings"].as_array().expect("bookings").len(),
        1,
        "{erins}"
    );
    // The token still cancels after the failover.
    let cancelled = send_with(
        "DELETE",
        &cluster.addrs[new_leader],
        &format!("/api/bookings/{booking_id}"),
        None,
        &token,
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
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
