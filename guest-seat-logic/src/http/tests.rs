//! HTTP front tests: each request goes through `route`, the byte-level [`Machine`] and `render`,
//! exactly as the host would drive them, and the JSON and status codes are checked.

use serde_json::{json, Value};

use super::*;
use crate::contract::LogContext;
use crate::machine::Machine;

/// A replica plus the log index the next write gets.
struct Api {
    machine: Machine,
    index: u64,
}

/// Status, headers and parsed JSON body of a response.
struct Reply {
    status: u16,
    response: HttpResponse,
    body: Value,
}

impl Reply {
    /// The problem `type`, or "" when the body has none.
    fn kind(&self) -> &str {
        self.body["type"].as_str().unwrap_or("")
    }
}

impl Api {
    fn new() -> Self {
        Api {
            machine: Machine::new(),
            index: 0,
        }
    }

    fn call(&mut self, method: &str, target: &str, body: &[u8]) -> Reply {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let request = HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_vec(),
        };
        let response = match route(&request) {
            RouteAction::Respond(response) => response,
            RouteAction::Read(query) => {
                render(&request, Outcome::Finished(self.machine.query(0, &query)))
            }
            RouteAction::Write(command) => {
                self.index += 1;
                let ctx = LogContext {
                    index: self.index,
                    term: 1,
                    leader_time_ms: 1_700_000_000_000 + self.index,
                };
                render(
                    &request,
                    Outcome::Finished(self.machine.apply(&ctx, &command)),
                )
            }
        };
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Reply {
            status: response.status,
            response,
            body,
        }
    }

    fn get(&mut self, target: &str) -> Reply {
        self.call("GET", target, b"")
    }

    fn send(&mut self, method: &str, target: &str, body: Value) -> Reply {
        self.call(method, target, body.to_string().as_bytes())
    }

    fn book(&mut self, showtime: u32, seats: &[&str], user: &str) -> Reply {
        self.send(
            "POST",
            &format!("/api/showtimes/{showtime}/bookings"),
            json!({ "seats": seats, "user": user }),
        )
    }
}

#[test]
fn seat_map_of_the_demo_showtime_lists_all_seats_free() {
    let mut api = Api::new();
    let reply = api.get("/api/showtimes/1/seats");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.response.header("content-type"),
        Some("application/json")
    );
    assert_eq!(reply.body["showtime"], 1);
    assert_eq!(reply.body["rows"], json!(["a", "b", "c", "d"]));
    assert_eq!(reply.body["free"], 24);
    assert_eq!(reply.body["booked"], 0);
    assert_eq!(reply.body["seats"].as_array().map(Vec::len), Some(24));
    assert_eq!(
        reply.body["seats"][0],
        json!({"id": "a1", "row": "a", "number": 1, "state": "free"})
    );
    assert_eq!(reply.body["seats"][23]["id"], "d6");
}

#[test]
fn booking_returns_201_with_location_and_shows_in_the_seat_map() {
    let mut api = Api::new();
    let reply = api.book(1, &["A2", "a1"], "alice");
    assert_eq!(reply.status, 201);
    assert_eq!(reply.response.header("location"), Some("/api/bookings/1"));
    assert_eq!(reply.body["id"], 1);
    assert_eq!(reply.body["showtime"], 1);
    assert_eq!(reply.body["seats"], json!(["a1", "a2"]));
    assert_eq!(reply.body["user"], "alice");
    assert_eq!(reply.body["state"], "active");
    assert_eq!(reply.body["log_index"], 1);
    assert_eq!(reply.body["created_at_ms"], 1_700_000_000_001u64);

    let map = api.get("/api/showtimes/1/seats");
    assert_eq!(
        (map.body["free"].clone(), map.body["booked"].clone()),
        (json!(22), json!(2))
    );
    assert_eq!(
        map.body["seats"][1],
        json!({"id": "a2", "row": "a", "number": 2, "state": "booked", "booking": 1})
    );

    let booked = api.get("/api/showtimes/1/seats?state=booked");
    let ids: Vec<&str> = booked.body["seats"]
        .as_array()
        .map(|s| s.iter().filter_map(|v| v["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, ["a1", "a2"]);
    let free = api.get("/api/showtimes/1/seats?state=free");
    assert_eq!(free.body["seats"].as_array().map(Vec::len), Some(22));
    assert_eq!(free.body["free"], 22);

    let fetched = api.get("/api/bookings/1");
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body, reply.body);
}

#[test]
fn booking_a_taken_seat_is_409_listing_the_taken_seats() {
    let mut api = Api::new();
    assert_eq!(api.book(1, &["a1", "b2"], "alice").status, 201);
    let reply = api.book(1, &["a1", "a3", "b2"], "bob");
    assert_eq!(reply.status, 409);
    assert_eq!(
        reply.response.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(reply.kind(), "/problems/seat-taken");
    assert_eq!(reply.body["title"], "Seat already taken");
    assert_eq!(reply.body["status"], 409);
    assert_eq!(reply.body["seats"], json!(["a1", "b2"]));
    assert_eq!(
        reply.body["detail"],
        "seats a1, b2 of showtime 1 are booked"
    );
    // All or none: a3 stayed free.
    let map = api.get("/api/showtimes/1/seats?state=booked");
    assert_eq!(map.body["seats"].as_array().map(Vec::len), Some(2));
}

#[test]
fn unknown_showtime_and_unknown_seat_are_404_with_their_own_types() {
    let mut api = Api::new();
    let reply = api.book(9, &["a1"], "alice");
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-showtime")
    );
    let reply = api.book(1, &["a1", "z9"], "alice");
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-seat")
    );
    assert_eq!(reply.body["seats"], json!(["z9"]));
    let reply = api.get("/api/showtimes/9/seats");
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-showtime")
    );
    let reply = api.get("/api/showtimes/9");
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-showtime")
    );
    let reply = api.get("/api/bookings/5");
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-booking")
    );
}

#[test]
fn malformed_booking_requests_are_400_with_specific_types() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "/problems/invalid-request"),
        (b"not json", "/problems/invalid-request"),
        (b"{\"seats\":[\"a1\"]}", "/problems/invalid-request"),
        (b"{\"user\":\"alice\"}", "/problems/invalid-request"),
        (
            b"{\"seats\":\"a1\",\"user\":\"alice\"}",
            "/problems/invalid-request",
        ),
        (
            b"{\"seats\":[1],\"user\":\"alice\"}",
            "/problems/invalid-request",
        ),
        (
            b"{\"seats\":[\"a1\"],\"user\":7}",
            "/problems/invalid-request",
        ),
        (
            b"{\"seats\":[\"a1\"],\"user\":\"alice\",\"vip\":true}",
            "/problems/invalid-request",
        ),
        (b"[\"a1\"]", "/problems/invalid-request"),
        (b"\xff\xfe\x00", "/problems/invalid-request"),
        (b"{\"seats\":[],\"user\":\"alice\"}", "/problems/no-seats"),
        (
            b"{\"seats\":[\"a1\",\"A1\"],\"user\":\"alice\"}",
            "/problems/duplicate-seats",
        ),
        (
            b"{\"seats\":[\"a1\",\"hello\"],\"user\":\"alice\"}",
            "/problems/invalid-seat",
        ),
        (
            b"{\"seats\":[\"a1\"],\"user\":\"\"}",
            "/problems/invalid-user",
        ),
        (
            b"{\"seats\":[\"a1\"],\"user\":\"a\\u0000b\"}",
            "/problems/invalid-user",
        ),
    ];
    for (body, kind) in cases {
        let mut api = Api::new();
        let reply = api.call("POST", "/api/showtimes/1/bookings", body);
        assert_eq!(
            (reply.status, reply.kind()),
            (400, *kind),
            "body {:?}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(api.index, 0, "a malformed request must not be replicated");
    }
    let mut api = Api::new();
    let many: Vec<String> = (1..=101).map(|n| format!("a{n}")).collect();
    let reply = api.send(
        "POST",
        "/api/showtimes/1/bookings",
        json!({"seats": many, "user": "alice"}),
    );
    assert_eq!(
        (reply.status, reply.kind()),
        (400, "/problems/too-many-seats")
    );
}

#[test]
fn cancel_by_owner_is_200_and_by_others_403() {
    let mut api = Api::new();
    assert_eq!(api.book(1, &["c1"], "alice").status, 201);
    let reply = api.send("DELETE", "/api/bookings/1", json!({"user": "bob"}));
    assert_eq!((reply.status, reply.kind()), (403, "/problems/not-owner"));
    let reply = api.send("DELETE", "/api/bookings/1", json!({"user": "alice"}));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["state"], "cancelled");
    assert_eq!(reply.body["seats"], json!(["c1"]));
    let reply = api.send("DELETE", "/api/bookings/1", json!({"user": "alice"}));
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-booking")
    );
    assert_eq!(api.get("/api/showtimes/1/seats").body["free"], 24);
    let reply = api.call("DELETE", "/api/bookings/1", b"");
    assert_eq!(
        (reply.status, reply.kind()),
        (400, "/problems/invalid-request")
    );
}

#[test]
fn admin_creates_and_removes_showtimes() {
    let mut api = Api::new();
    let rows: Vec<Value> = ('a'..='l')
        .map(|r| json!({"row": r.to_string(), "seats": 20}))
        .collect();
    let reply = api.send("POST", "/api/showtimes", json!({"id": 7, "rows": rows}));
    assert_eq!(reply.status, 201);
    assert_eq!(reply.response.header("location"), Some("/api/showtimes/7"));
    assert_eq!(reply.body["capacity"], 240);
    assert_eq!(reply.body["rows"][11], json!({"row": "l", "seats": 20}));

    let reply = api.send(
        "POST",
        "/api/showtimes",
        json!({"id": 7, "rows": [{"row": "a", "seats": 1}]}),
    );
    assert_eq!(
        (reply.status, reply.kind()),
        (409, "/problems/showtime-exists")
    );

    let list = api.get("/api/showtimes");
    let ids: Vec<u64> = list.body["showtimes"]
        .as_array()
        .map(|s| s.iter().filter_map(|v| v["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [1, 7]);

    let detail = api.get("/api/showtimes/7");
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["seats"].as_array().map(Vec::len), Some(240));
    assert_eq!(detail.body["free"], 240);

    assert_eq!(api.book(7, &["l20"], "alice").status, 201);
    let reply = api.call("DELETE", "/api/showtimes/7", b"");
    assert_eq!(
        (reply.status, reply.kind()),
        (409, "/problems/showtime-has-bookings")
    );
    assert_eq!(reply.body["bookings"], 1);
    let reply = api.call("DELETE", "/api/showtimes/9", b"");
    assert_eq!(
        (reply.status, reply.kind()),
        (404, "/problems/unknown-showtime")
    );
    let reply = api.call("DELETE", "/api/showtimes/1", b"");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["id"], 1);
}

#[test]
fn bad_showtime_definitions_are_400_invalid_rows() {
    let cases = [
        json!({"id": 8, "rows": []}),
        json!({"id": 8, "rows": [{"row": "b", "seats": 5}]}),
        json!({"id": 8, "rows": [{"row": "a", "seats": 5}, {"row": "c", "seats": 5}]}),
        json!({"id": 8, "rows": [{"row": "a", "seats": 0}]}),
        json!({"id": 8, "rows": [{"row": "a", "seats": 101}]}),
        json!({"id": 8, "rows": [{"row": "a", "seats": 4294967295u32}]}),
        json!({"id": 8, "rows": [{"row": "aa", "seats": 5}]}),
    ];
    for body in cases {
        let mut api = Api::new();
        let reply = api.send("POST", "/api/showtimes", body.clone());
        assert_eq!(
            (reply.status, reply.kind()),
            (400, "/problems/invalid-rows"),
            "{body}"
        );
    }
    let too_many: Vec<Value> = (0..27).map(|_| json!({"row": "a", "seats": 1})).collect();
    let mut api = Api::new();
    let reply = api.send("POST", "/api/showtimes", json!({"id": 8, "rows": too_many}));
    assert_eq!(
        (reply.status, reply.kind()),
        (400, "/problems/invalid-rows")
    );
    let reply = api.send("POST", "/api/showtimes", json!({"id": -1, "rows": []}));
    assert_eq!(
        (reply.status, reply.kind()),
        (400, "/problems/invalid-request")
    );
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let mut api = Api::new();
    for path in [
        "/",
        "/api",
        "/api/",
        "/api/showtimes/",
        "/api/showtimes/abc",
        "/api/showtimes/-1/seats",
        "/api/showtimes/+1",
        "/api/showtimes/99999999999/seats",
        "/api/showtimes/1/seats/extra",
        "/api/bookings/1.5",
        "/api/movies",
        "/API/showtimes",
    ] {
        let reply = api.get(path);
        assert_eq!(
            (reply.status, reply.kind()),
            (404, "/problems/not-found"),
            "{path}"
        );
    }
    let cases = [
        ("PUT", "/api/showtimes", "GET, POST"),
        ("DELETE", "/api/showtimes/1/seats", "GET"),
        ("GET", "/api/showtimes/1/bookings", "POST"),
        ("PATCH", "/api/bookings/1", "GET, DELETE"),
        ("get", "/api/bookings", "GET"),
    ];
    for (method, path, allow) in cases {
        let reply = api.call(method, path, b"");
        assert_eq!(reply.status, 405, "{method} {path}");
        assert_eq!(reply.kind(), "/problems/method-not-allowed");
        assert_eq!(reply.response.header("allow"), Some(allow));
    }
}

#[test]
fn bad_seat_filter_is_400_invalid_query() {
    let mut api = Api::new();
    let reply = api.get("/api/showtimes/1/seats?state=taken");
    assert_eq!(
        (reply.status, reply.kind()),
        (400, "/problems/invalid-query")
    );
    let reply = api.get("/api/showtimes/1/seats?other=1&&state=free");
    assert_eq!(reply.status, 200);
}

#[test]
fn unavailable_outcome_is_503_with_the_hosts_text() {
    let request = HttpRequest {
        method: "POST".into(),
        path: "/api/showtimes/1/bookings".into(),
        ..HttpRequest::default()
    };
    let response = render(&request, Outcome::Unavailable("no quorum".into()));
    assert_eq!(response.status, 503);
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    assert_eq!(body["type"], "/problems/unavailable");
    assert_eq!(body["detail"], "no quorum");
}

#[test]
fn undecodable_results_render_as_500_not_a_trap() {
    for method in ["GET", "POST"] {
        let request = HttpRequest {
            method: method.into(),
            path: "/api/showtimes".into(),
            ..HttpRequest::default()
        };
        for outcome in [
            Outcome::Finished(Ok(vec![0xff, 0xff])),
            Outcome::Finished(Err(vec![0xff, 0xff])),
            Outcome::Finished(Ok(vec![])),
        ] {
            let response = render(&request, outcome);
            assert_eq!(response.status, 500, "{method}");
        }
    }
}

#[test]
fn route_never_panics_and_always_answers_with_something_sensible() {
    let long_path = format!("/api/showtimes/{}", "9".repeat(10_000));
    let long_seat = format!("{{\"seats\":[\"a{}\"],\"user\":\"x\"}}", "1".repeat(10_000));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let methods = ["GET", "POST", "DELETE", "PUT", "", "\u{0}", "GÉT"];
    let paths = [
        "",
        "/",
        "api/showtimes",
        "/api/showtimes",
        "/api/showtimes/1",
        "/api/showtimes/1/seats",
        "/api/showtimes/1/bookings",
        "/api/showtimes/18446744073709551616/bookings",
        "/api/bookings",
        "/api/bookings/18446744073709551615",
        "/api/bookings/18446744073709551616",
        "/api//bookings",
        "/api/showtimes/1/../2",
        "/api/ショー",
        long_path.as_str(),
    ];
    let bodies: [&[u8]; 10] = [
        b"",
        b"\xff\xff\xff\xff",
        b"{",
        b"null",
        b"{\"seats\":[\"a1\"],\"user\":\"alice\"}",
        b"{\"id\":1e999,\"rows\":[]}",
        b"{\"id\":99999999999999999999,\"rows\":[]}",
        b"{\"user\":\"\\ud800\"}",
        long_seat.as_bytes(),
        deep.as_bytes(),
    ];
    for method in methods {
        for path in paths {
            for body in bodies {
                let request = HttpRequest {
                    method: method.into(),
                    path: path.into(),
                    query: "state=%ff&state".into(),
                    headers: vec![],
                    body: body.to_vec(),
                };
                match route(&request) {
                    RouteAction::Respond(response) => {
                        assert!(
                            (400..500).contains(&response.status),
                            "{method} {path}: {}",
                            response.status
                        );
                        let parsed: Result<Value, _> = serde_json::from_slice(&response.body);
                        assert!(parsed.is_ok(), "problem body is not JSON");
                    }
                    RouteAction::Read(bytes) => assert!(decode::<Query>(&bytes).is_ok()),
                    RouteAction::Write(bytes) => {
                        let command = decode::<Command>(&bytes);
                        assert!(matches!(command, Ok(ref c) if c.check().is_ok()));
                    }
                }
            }
        }
    }
}

#[test]
fn problem_details_are_cut_when_they_echo_huge_input() {
    let mut api = Api::new();
    let huge = format!("{{\"id\":\"{}\",\"rows\":[]}}", "x".repeat(100_000));
    let reply = api.call("POST", "/api/showtimes", huge.as_bytes());
    assert_eq!(reply.status, 400);
    let detail = reply.body["detail"].as_str().unwrap_or("");
    assert!(detail.chars().count() <= 310, "{} chars", detail.len());
}
