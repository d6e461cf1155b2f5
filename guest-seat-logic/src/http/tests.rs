//! HTTP front tests: each request goes through `route`, the byte-level [`Machine`] and `render`,
//! exactly as the host would drive them, and the JSON and status codes are checked.

use serde_json::{json, Value};

use super::*;
use crate::contract::LogContext;
use crate::machine::Machine;

/// Log time of the first write.
const T0: u64 = 1_800_000_000_000;

/// A replica plus the log index and time the next write gets.
struct Api {
    machine: Machine,
    index: u64,
    now_ms: u64,
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
            now_ms: T0,
        }
    }

    fn request(method: &str, target: &str, body: &[u8]) -> HttpRequest {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_vec(),
        }
    }

    fn call(&mut self, method: &str, target: &str, body: &[u8]) -> Reply {
        let request = Api::request(method, target, body);
        let response = match route(&request) {
            RouteAction::Respond(response) => response,
            RouteAction::Read(query) | RouteAction::Watch(WatchRequest { query, .. }) => {
                render(&request, Outcome::Finished(self.machine.query(0, &query)))
            }
            RouteAction::Write(command) => {
                let result = self.apply(&command);
                render(&request, Outcome::Finished(result))
            }
        };
        let body = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Reply {
            status: response.status,
            response,
            body,
        }
    }

    fn apply(&mut self, command: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        self.index += 1;
        let ctx = LogContext {
            index: self.index,
            term: 1,
            leader_time_ms: self.now_ms,
        };
        self.machine.apply(&ctx, command)
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

    fn hold(&mut self, showtime: u32, seats: &[&str], user: &str) -> Reply {
        self.send(
            "POST",
            &format!("/api/showtimes/{showtime}/holds"),
            json!({ "seats": seats, "user": user }),
        )
    }
}

#[test]
fn catalog_lists_the_default_movies_theaters_and_showtimes() {
    let mut api = Api::new();
    let movies = api.get("/api/movies");
    assert_eq!(movies.status, 200);
    assert_eq!(
        movies.response.header("content-type"),
        Some("application/json")
    );
    assert_eq!(movies.body["movies"].as_array().map(Vec::len), Some(4));
    let inception = api.get("/api/movies/1");
    assert_eq!(inception.body["title"], "Inception");
    assert_eq!(inception.body["year"], 2010);
    assert_eq!(inception.body["duration_minutes"], 148);
    assert_eq!(inception.body["director"], "Christopher Nolan");
    assert!(inception.body["cast"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    let theaters = api.get("/api/theaters");
    let capacities: Vec<u64> = theaters.body["theaters"]
        .as_array()
        .map(|l| l.iter().filter_map(|t| t["capacity"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(capacities, [80, 60, 48, 4, 24]);
    assert_eq!(
        api.get("/api/theaters/1").body["rows"][0],
        json!({"row": "a", "seats": 10})
    );
    let showtimes = api.get("/api/showtimes");
    assert_eq!(
        showtimes.body["showtimes"].as_array().map(Vec::len),
        Some(5)
    );
    assert_eq!(
        showtimes.body["showtimes"][1],
        json!({"id": 2, "movie": {"id": 1, "title": "Inception"},
               "theater": {"id": 1, "name": "Grand Hall"}, "starts_at": "2026-12-01T20:00:00Z",
               "price_cents": 1200, "currency": "EUR", "capacity": 80, "free": 80, "held": 0,
               "booked": 0})
    );
    let by_movie = api.get("/api/showtimes?movie=4&consistency=local");
    let ids: Vec<u64> = by_movie.body["showtimes"]
        .as_array()
        .map(|l| l.iter().filter_map(|s| s["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, [1, 5]);
    let by_theater = api.get("/api/showtimes?theater=5");
    assert_eq!(by_theater.body["showtimes"][0]["id"], 1);
    assert_eq!(
        api.get("/api/showtimes?movie=x").kind(),
        "/problems/invalid-request"
    );
    assert_eq!(api.get("/api/movies/9").kind(), "/problems/unknown-movie");
    assert_eq!(
        api.get("/api/theaters/9").kind(),
        "/problems/unknown-theater"
    );
}

#[test]
fn showtime_has_summary_rows_seats_and_version() {
    let mut api = Api::new();
    let reply = api.get("/api/showtimes/1");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["rows"].as_array().map(Vec::len), Some(4));
    assert_eq!(reply.body["seats"].as_array().map(Vec::len), Some(24));
    assert_eq!(
        reply.body["seats"][0],
        json!({"seat": "a1", "row": "a", "number": 1, "state": "free"})
    );
    assert_eq!(reply.body["version"], 0);
    assert_eq!(reply.body["theater"]["name"], "Demo Hall");
    api.book(1, &["a1"], "alice");
    api.hold(1, &["a2"], "bob");
    let after = api.get("/api/showtimes/1");
    assert_eq!(after.body["version"], 2);
    assert_eq!(
        (
            after.body["free"].clone(),
            after.body["held"].clone(),
            after.body["booked"].clone()
        ),
        (json!(22), json!(1), json!(1))
    );
    assert_eq!(after.body["seats"][1]["state"], "held");
    let held = api.get("/api/showtimes/1/seats?state=held");
    assert_eq!(
        held.body,
        json!({"showtime_id": 1, "seats": [{"seat": "a2", "row": "a", "number": 2, "state": "held"}]})
    );
    let free = api.get("/api/showtimes/1/seats?state=free");
    assert_eq!(free.body["seats"].as_array().map(Vec::len), Some(22));
    assert_eq!(
        api.get("/api/showtimes/1/seats?state=gone").kind(),
        "/problems/invalid-request"
    );
    assert_eq!(
        api.get("/api/showtimes/9").kind(),
        "/problems/unknown-showtime"
    );
    assert_eq!(api.get("/api/showtimes/9/seats").status, 404);
}

#[test]
fn events_route_is_a_watch_rendering_the_showtime_as_one_line() {
    let request = Api::request("GET", "/api/showtimes/3/events", b"");
    let RouteAction::Watch(watch) = route(&request) else {
        panic!("not a watch")
    };
    assert_eq!(watch.topic, "showtime/3");
    assert_eq!(watch.event, "showtime");
    assert_eq!(
        decode::<Query>(&watch.query),
        Ok(Query::Showtime { showtime: 3 })
    );
    let machine = Machine::new();
    let response = render(&request, Outcome::Finished(machine.query(0, &watch.query)));
    assert_eq!(response.status, 200);
    assert!(!response.body.contains(&b'\n'));
    let direct = Api::new().get("/api/showtimes/3");
    assert_eq!(
        serde_json::from_slice::<Value>(&response.body).ok(),
        Some(direct.body)
    );
    for bad in ["/api/showtimes/x/events", "/api/showtimes/-1/events"] {
        assert!(
            matches!(route(&Api::request("GET", bad, b"")), RouteAction::Respond(r) if r.status == 404)
        );
    }
    assert!(
        matches!(route(&Api::request("POST", "/api/showtimes/3/events", b"")), RouteAction::Respond(r) if r.status == 405)
    );
}

#[test]
fn booking_returns_201_with_location_and_is_readable() {
    let mut api = Api::new();
    let reply = api.book(2, &["A2", "a1"], "alice");
    assert_eq!(reply.status, 201);
    assert_eq!(reply.response.header("location"), Some("/api/bookings/1"));
    assert_eq!(
        reply.body,
        json!({"id": 1, "showtime_id": 2, "seats": ["a1", "a2"], "user": "alice",
               "status": "confirmed", "created_at": "2027-01-15T08:00:00Z", "log_index": 1,
               "price_cents": 2400})
    );
    let fetched = api.get("/api/bookings/1");
    assert_eq!((fetched.status, &fetched.body), (200, &reply.body));
    api.book(3, &["a1"], "bob");
    let mine = api.get("/api/bookings?user=alice");
    assert_eq!(mine.body["bookings"].as_array().map(Vec::len), Some(1));
    let of3 = api.get("/api/bookings?showtime=3");
    assert_eq!(of3.body["bookings"][0]["user"], "bob");
    assert_eq!(
        api.get("/api/bookings").body["bookings"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(api.get("/api/bookings?showtime=x").status, 400);
    assert_eq!(
        api.get("/api/bookings/77").kind(),
        "/problems/unknown-booking"
    );
}

#[test]
fn taken_and_unknown_seats_are_409_and_404_listing_the_seats() {
    let mut api = Api::new();
    api.book(1, &["a1"], "alice");
    api.hold(1, &["b1"], "alice");
    let taken = api.book(1, &["b1", "a1", "c1"], "bob");
    assert_eq!(taken.status, 409);
    assert_eq!(taken.kind(), "/problems/seat-taken");
    assert_eq!(taken.body["seats"], json!(["a1", "b1"]));
    assert_eq!(
        taken.response.header("content-type"),
        Some("application/problem+json")
    );
    let held = api.hold(1, &["a1"], "bob");
    assert_eq!((held.status, held.kind()), (409, "/problems/seat-taken"));
    let unknown = api.book(1, &["z9", "a7"], "bob");
    assert_eq!(
        (unknown.status, unknown.kind()),
        (404, "/problems/unknown-seat")
    );
    assert_eq!(unknown.body["seats"], json!(["a7", "z9"]));
    assert_eq!(
        api.book(9, &["a1"], "bob").kind(),
        "/problems/unknown-showtime"
    );
}

#[test]
fn malformed_requests_are_400_invalid_request_naming_the_problem() {
    let mut api = Api::new();
    let cases: &[(&str, &str)] = &[
        (
            r#"{"seats":["a1"],"user":"alice","extra":1}"#,
            "unknown field `extra`",
        ),
        (r#"{"seats":["a1"]}"#, "missing field `user`"),
        (r#"{"seats":"a1","user":"alice"}"#, "field `seats`"),
        (r#"{"seats":[1],"user":"alice"}"#, "field `seats`"),
        (r#"{"seats":["a1"],"user":7}"#, "field `user`"),
        (r#"{"seats":["a1"],"user":"alice""#, "invalid JSON"),
        ("[]", "JSON object"),
        ("", "invalid JSON"),
        (r#"{"seats":[],"user":"alice"}"#, "at least one seat"),
        (
            r#"{"seats":["a1","a2","a3","a4","a5","a6","b1","b2","b3","b4","b5"],"user":"alice"}"#,
            "at most 10",
        ),
        (r#"{"seats":["a1","a1"],"user":"alice"}"#, "more than once"),
        (r#"{"seats":["1a"],"user":"alice"}"#, "not seat ids"),
        (r#"{"seats":["a1"],"user":""}"#, "field `user`"),
        (r#"{"seats":["a1"],"user":" alice"}"#, "field `user`"),
    ];
    for (body, needle) in cases {
        let reply = api.call("POST", "/api/showtimes/1/bookings", body.as_bytes());
        assert_eq!(
            (reply.status, reply.kind()),
            (400, "/problems/invalid-request"),
            "{body}"
        );
        let detail = reply.body["detail"].as_str().unwrap_or("");
        assert!(detail.contains(needle), "{body}: {detail}");
    }
    let holds: &[(&str, &str)] = &[
        (
            r#"{"seats":["a1"],"user":"a","ttl_seconds":0}"#,
            "ttl_seconds",
        ),
        (
            r#"{"seats":["a1"],"user":"a","ttl_seconds":7201}"#,
            "ttl_seconds",
        ),
        (
            r#"{"seats":["a1"],"user":"a","ttl_seconds":-5}"#,
            "ttl_seconds",
        ),
        (
            r#"{"seats":["a1"],"user":"a","ttl_seconds":"x"}"#,
            "ttl_seconds",
        ),
    ];
    for (body, needle) in holds {
        let reply = api.call("POST", "/api/showtimes/1/holds", body.as_bytes());
        assert_eq!(reply.status, 400, "{body}");
        assert!(
            reply.body["detail"].as_str().unwrap_or("").contains(needle),
            "{body}"
        );
    }
    assert_eq!(api.index, 0, "no malformed request may reach the log");
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    let reply = api.call("POST", "/api/showtimes/1/bookings", &huge);
    assert_eq!(
        (reply.status, reply.kind()),
        (413, "/problems/body-too-large")
    );
}

#[test]
fn hold_lifecycle_over_http() {
    let mut api = Api::new();
    let created = api.send(
        "POST",
        "/api/showtimes/2/holds",
        json!({"seats": ["c2", "c1"], "user": "alice", "ttl_seconds": 120}),
    );
    assert_eq!(created.status, 201);
    let token = created.body["token"].as_str().unwrap_or("").to_string();
    assert_eq!(
        created.response.header("location").map(str::to_string),
        Some(format!("/api/holds/{token}"))
    );
    assert_eq!(
        created.body,
        json!({"token": token, "showtime_id": 2, "seats": ["c1", "c2"], "user": "alice",
               "status": "active", "created_at": "2027-01-15T08:00:00Z",
               "expires_at": "2027-01-15T08:02:00Z", "log_index": 1})
    );
    assert_eq!(api.get(&format!("/api/holds/{token}")).body, created.body);
    let default_ttl = api.hold(2, &["d1"], "bob");
    assert_eq!(default_ttl.body["expires_at"], "2027-01-15T08:10:00Z");
    let path = |suffix: &str| format!("/api/holds/{token}{suffix}");
    let wrong = api.send(
        "POST",
        &path("/extend"),
        json!({"user": "bob", "ttl_seconds": 60}),
    );
    assert_eq!((wrong.status, wrong.kind()), (403, "/problems/not-owner"));
    api.now_ms += 60_000;
    let extended = api.send(
        "POST",
        &path("/extend"),
        json!({"user": "alice", "ttl_seconds": 7200}),
    );
    assert_eq!(extended.status, 200);
    assert_eq!(extended.body["expires_at"], "2027-01-15T10:00:00Z");
    let confirmed = api.send("POST", &path("/confirm"), json!({"user": "alice"}));
    assert_eq!(confirmed.status, 201);
    assert_eq!(confirmed.body["hold"], token.as_str());
    assert_eq!(confirmed.body["seats"], json!(["c1", "c2"]));
    let booking = confirmed.body["id"].clone();
    assert_eq!(
        confirmed.response.header("location").map(str::to_string),
        Some(format!("/api/bookings/{booking}"))
    );
    let hold = api.get(&path(""));
    assert_eq!(
        (hold.body["status"].clone(), hold.body["booking_id"].clone()),
        (json!("confirmed"), booking)
    );
    let again = api.send("POST", &path("/confirm"), json!({"user": "alice"}));
    assert_eq!(
        (again.status, again.kind()),
        (409, "/problems/hold-finished")
    );
    let released = api.send("DELETE", &path(""), json!({"user": "alice"}));
    assert_eq!(
        (released.status, released.kind()),
        (409, "/problems/hold-finished")
    );
    assert_eq!(api.get("/api/holds/hnope").kind(), "/problems/unknown-hold");
    assert_eq!(
        api.get(&format!("/api/holds/{}", "h".repeat(65))).kind(),
        "/problems/not-found"
    );
}

#[test]
fn release_and_expiry_over_http() {
    let mut api = Api::new();
    let token = api.hold(1, &["a1"], "alice").body["token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let released = api.send(
        "DELETE",
        &format!("/api/holds/{token}"),
        json!({"user": "alice"}),
    );
    assert_eq!(
        (released.status, released.body["status"].clone()),
        (200, json!("released"))
    );
    let token = api
        .send(
            "POST",
            "/api/showtimes/1/holds",
            json!({"seats": ["b1"], "user": "alice", "ttl_seconds": 1}),
        )
        .body["token"]
        .as_str()
        .unwrap_or("")
        .to_string();
    api.now_ms += 1000;
    let late = api.send(
        "POST",
        &format!("/api/holds/{token}/confirm"),
        json!({"user": "alice"}),
    );
    assert_eq!((late.status, late.kind()), (410, "/problems/hold-expired"));
    assert_eq!(
        api.get(&format!("/api/holds/{token}")).body["status"],
        "expired"
    );
    let activity = api.get("/api/showtimes/1/activity");
    let actions: Vec<&str> = activity.body["activity"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["held", "released", "held", "expired"]);
    assert_eq!(activity.body["activity"][3]["user"], "system");
    assert_eq!(activity.body["activity"][3]["hold"], token.as_str());
    assert_eq!(activity.body["activity"][3]["index"], 4);
    assert_eq!(activity.body["activity"][3]["at"], "2027-01-15T08:00:01Z");
    assert_eq!(api.get("/api/showtimes/9/activity").status, 404);
}

#[test]
fn cancel_by_owner_is_200_and_by_others_403() {
    let mut api = Api::new();
    api.book(1, &["a1"], "alice");
    let other = api.send("DELETE", "/api/bookings/1", json!({"user": "mallory"}));
    assert_eq!((other.status, other.kind()), (403, "/problems/not-owner"));
    let cancelled = api.send("DELETE", "/api/bookings/1", json!({"user": "alice"}));
    assert_eq!(
        (cancelled.status, cancelled.body["status"].clone()),
        (200, json!("cancelled"))
    );
    assert_eq!(api.get("/api/bookings/1").body["status"], "cancelled");
    let again = api.send("DELETE", "/api/bookings/1", json!({"user": "alice"}));
    assert_eq!(
        (again.status, again.kind()),
        (409, "/problems/booking-cancelled")
    );
    assert_eq!(api.send("DELETE", "/api/bookings/1", json!({})).status, 400);
}

#[test]
fn admin_creates_and_removes_catalog_entries() {
    let mut api = Api::new();
    let movie = api.send(
        "POST",
        "/api/movies",
        json!({"title": "Up", "year": 2009, "duration_minutes": 96, "genres": ["Animation"]}),
    );
    assert_eq!(
        (movie.status, movie.response.header("location")),
        (201, Some("/api/movies/5"))
    );
    assert_eq!(movie.body["genres"], json!(["Animation"]));
    assert_eq!(movie.body["cast"], json!([]));
    let clash = api.send(
        "POST",
        "/api/movies",
        json!({"id": 5, "title": "Up", "year": 2009, "duration_minutes": 96}),
    );
    assert_eq!(
        (clash.status, clash.kind()),
        (409, "/problems/already-exists")
    );
    let bad = api.send(
        "POST",
        "/api/movies",
        json!({"title": "Up", "year": 1500, "duration_minutes": 96}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body["detail"].as_str().unwrap_or("").contains("year"));
    let theater = api.send(
        "POST",
        "/api/theaters",
        json!({"name": "Annex", "rows": [{"row": "a", "seats": 3}, {"row": "b", "seats": 4}]}),
    );
    assert_eq!(
        (
            theater.status,
            theater.body["id"].clone(),
            theater.body["capacity"].clone()
        ),
        (201, json!(6), json!(7))
    );
    for rows in [
        json!([]),
        json!([{"row": "b", "seats": 3}]),
        json!([{"row": "a", "seats": 0}]),
        json!([{"row": "a", "seats": 101}]),
    ] {
        let reply = api.send("POST", "/api/theaters", json!({"name": "X", "rows": rows}));
        assert_eq!(reply.status, 400, "{rows}");
        assert_eq!(reply.body["field"], "rows");
    }
    let showtime = api.send("POST", "/api/showtimes", json!({"id": 90, "movie_id": 5, "theater_id": 6, "starts_at": "2026-12-24T18:30:00+01:00", "price_cents": 800}));
    assert_eq!(showtime.status, 201);
    assert_eq!(
        showtime.response.header("location"),
        Some("/api/showtimes/90")
    );
    assert_eq!(showtime.body["starts_at"], "2026-12-24T17:30:00Z");
    assert_eq!(showtime.body["seats"].as_array().map(Vec::len), Some(7));
    let next = api.send("POST", "/api/showtimes", json!({"movie_id": 5, "theater_id": 6, "starts_at": "2026-12-25T18:30:00Z", "price_cents": 800}));
    assert_eq!(next.body["id"], 91);
    let bad_time = api.send(
        "POST",
        "/api/showtimes",
        json!({"movie_id": 5, "theater_id": 6, "starts_at": "tomorrow", "price_cents": 800}),
    );
    assert_eq!(
        (bad_time.status, bad_time.body["field"].clone()),
        (400, json!("starts_at"))
    );
    let unknown = api.send("POST", "/api/showtimes", json!({"movie_id": 50, "theater_id": 6, "starts_at": "2026-12-25T18:30:00Z", "price_cents": 800}));
    assert_eq!(unknown.kind(), "/problems/unknown-movie");
    let in_use = api.call("DELETE", "/api/movies/5", b"");
    assert_eq!((in_use.status, in_use.kind()), (409, "/problems/in-use"));
    assert_eq!(in_use.body["showtimes"], json!([90, 91]));
    assert_eq!(
        api.call("DELETE", "/api/theaters/6", b"").kind(),
        "/problems/in-use"
    );
    api.book(90, &["a1"], "alice");
    let busy = api.call("DELETE", "/api/showtimes/90", b"");
    assert_eq!(
        (busy.status, busy.kind(), busy.body["bookings"].clone()),
        (409, "/problems/in-use", json!(1))
    );
    assert_eq!(api.call("DELETE", "/api/showtimes/91", b"").status, 200);
    api.send("DELETE", "/api/bookings/1", json!({"user": "alice"}));
    assert_eq!(api.call("DELETE", "/api/showtimes/90", b"").status, 200);
    assert_eq!(api.call("DELETE", "/api/movies/5", b"").status, 200);
    assert_eq!(api.call("DELETE", "/api/theaters/6", b"").status, 200);
    assert_eq!(
        api.call("DELETE", "/api/theaters/6", b"").kind(),
        "/problems/unknown-theater"
    );
    assert_eq!(
        api.call("DELETE", "/api/movies/5", b"").kind(),
        "/problems/unknown-movie"
    );
    assert_eq!(
        api.call("DELETE", "/api/showtimes/90", b"").kind(),
        "/problems/unknown-showtime"
    );
}

#[test]
fn web_page_and_openapi_are_served_and_other_paths_are_404() {
    let mut api = Api::new();
    let page = api.get("/");
    assert_eq!(page.status, 200);
    assert_eq!(
        page.response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.response.header("cache-control"), Some("no-cache"));
    assert!(api
        .get("/app.js")
        .response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/javascript")));
    assert!(api
        .get("/app.css")
        .response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/css")));
    let doc = api.get("/api/openapi.json");
    assert_eq!(
        (doc.status, doc.body["openapi"].clone()),
        (200, json!("3.1.0"))
    );
    for path in [
        "/index.html",
        "/favicon.ico",
        "/api",
        "/api/",
        "/api/movies/",
        "/api/showtimes/1/x",
        "/api/showtimes/01x",
        "/api/bookings/-1",
        "/api/showtimes/99999999999",
    ] {
        let reply = api.get(path);
        assert_eq!(
            (reply.status, reply.kind()),
            (404, "/problems/not-found"),
            "{path}"
        );
    }
    let wrong = api.call("PUT", "/api/showtimes/1", b"");
    assert_eq!(
        (wrong.status, wrong.kind()),
        (405, "/problems/method-not-allowed")
    );
    assert_eq!(wrong.response.header("allow"), Some("GET, DELETE"));
    assert_eq!(
        api.call("POST", "/", b"").response.header("allow"),
        Some("GET")
    );
}

#[test]
fn unavailable_and_undecodable_outcomes_render_as_503_and_500() {
    let request = Api::request("POST", "/api/showtimes/1/bookings", b"{}");
    let response = render(&request, Outcome::Unavailable("no quorum".into()));
    assert_eq!(response.status, 503);
    assert!(String::from_utf8_lossy(&response.body).contains("no quorum"));
    for outcome in [Ok(vec![0xff]), Err(vec![0xff])] {
        assert_eq!(
            render(&request, Outcome::Finished(outcome.clone())).status,
            500
        );
        let get = Api::request("GET", "/api/showtimes/1", b"");
        assert_eq!(render(&get, Outcome::Finished(outcome)).status, 500);
    }
}

#[test]
fn route_never_panics_on_odd_requests() {
    let long = "9".repeat(300);
    let paths = [
        "",
        "/",
        "//",
        "/api//",
        "/api/showtimes//seats",
        "/api/holds/",
        "/api/holds//confirm",
        "/\u{0}",
        "/api/showtimes/1/events/x",
        long.as_str(),
    ];
    for method in ["GET", "POST", "DELETE", "PUT", "", "get"] {
        for path in paths {
            for body in [&b""[..], b"\xff\xfe", b"{}", b"null"] {
                let request = HttpRequest {
                    method: method.into(),
                    path: path.into(),
                    query: "state=%ff&user=%".into(),
                    headers: Vec::new(),
                    body: body.to_vec(),
                };
                if let RouteAction::Respond(response) = route(&request) {
                    assert!(
                        response.status < 500 || response.status == 200,
                        "{method} {path}"
                    );
                }
            }
        }
    }
}
