//! HTTP front tests: each request goes through `route`, the byte-level [`Machine`] and `render`,
//! exactly as the host drives them (reads answered at render time), and the JSON, status codes,
//! access rules and token handling are checked.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::contract::{LogContext, Outcome};
use crate::machine::{decode, Machine};
use crate::testing::entropy;

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

    /// A string member of the body.
    fn text(&self, key: &str) -> String {
        self.body[key].as_str().unwrap_or("").to_string()
    }

    /// The raw body.
    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.response.body).into_owned()
    }
}

/// A request as the host would pass it: JSON content type, fresh entropy, no role.
fn request(method: &str, target: &str, body: &[u8]) -> HttpRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    HttpRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_vec(),
        role: None,
        entropy: entropy(),
        now_ms: T0,
    }
}

/// The same request with a verified role.
fn as_role(mut request: HttpRequest, role: &str) -> HttpRequest {
    request.role = Some(role.to_string());
    request
}

/// The same request with a bearer token.
fn with_bearer(mut request: HttpRequest, token: &str) -> HttpRequest {
    request
        .headers
        .push(("authorization".into(), format!("Bearer {token}")));
    request
}

impl Api {
    fn new() -> Self {
        Api {
            machine: Machine::new(),
            index: 0,
            now_ms: T0,
        }
    }

    /// Routes, runs and renders one request.
    fn call(&mut self, request: &HttpRequest) -> Reply {
        let response = match route(request) {
            HttpAction::Respond(response) => response,
            HttpAction::Read(query) | HttpAction::Watch(WatchRequest { query, .. }) => {
                render(&self.machine, request, Outcome::Read(query))
            }
            HttpAction::Write(command) => {
                let result = self.apply(&command);
                render(&self.machine, request, Outcome::Written(result))
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
            time_ms: self.now_ms,
        };
        self.machine.apply(&ctx, command).result
    }

    fn get(&mut self, target: &str) -> Reply {
        self.call(&request("GET", target, b""))
    }

    fn get_as(&mut self, role: &str, target: &str) -> Reply {
        self.call(&as_role(request("GET", target, b""), role))
    }

    fn send(&mut self, method: &str, target: &str, body: Value) -> Reply {
        self.call(&request(method, target, body.to_string().as_bytes()))
    }

    /// A request of role `admin`.
    fn admin(&mut self, method: &str, target: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.call(&as_role(request(method, target, body.as_bytes()), "admin"))
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

    /// A bodyless request on a hold's path.
    fn on_hold(&mut self, method: &str, token: &str, suffix: &str) -> Reply {
        self.call(&request(
            method,
            &format!("/api/holds/{token}{suffix}"),
            b"",
        ))
    }

    /// A bodyless request on a booking with its bearer token.
    fn on_booking(&mut self, method: &str, id: &Value, token: &str) -> Reply {
        self.call(&with_bearer(
            request(method, &format!("/api/bookings/{id}"), b""),
            token,
        ))
    }
}

/// Ids of a list answer under `key`.
fn ids(reply: &Reply, key: &str) -> Vec<u64> {
    reply.body[key]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["id"].as_u64()).collect())
        .unwrap_or_default()
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
    assert_eq!(ids(&movies, "movies"), [1, 2, 3, 4]);
    assert_eq!(movies.body["next"], Value::Null);
    // Lists show a summary; the movie itself has every field.
    assert_eq!(
        movies.body["movies"][0],
        json!({"id": 1, "title": "Inception", "year": 2010, "duration_minutes": 148,
               "age_rating": "PG-13"})
    );
    let inception = api.get("/api/movies/1");
    assert_eq!(inception.body["title"], "Inception");
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
    // Until the first log entry the first-start showtimes are undated (the epoch); the first
    // one (here a tick at T0, 2027-01-15T08:00Z) dates them from its log time.
    assert_eq!(
        api.get("/api/showtimes/2").body["starts_at"],
        "1970-01-01T00:00:00Z"
    );
    assert!(api.apply(&[]).is_ok());
    let showtimes = api.get("/api/showtimes");
    assert_eq!(ids(&showtimes, "showtimes"), [1, 2, 3, 4, 5]);
    assert_eq!(
        showtimes.body["showtimes"][0]["starts_at"],
        "2027-01-15T09:00:00Z"
    );
    assert_eq!(
        showtimes.body["showtimes"][1],
        json!({"id": 2, "movie": {"id": 1, "title": "Inception"},
               "theater": {"id": 1, "name": "Grand Hall"}, "starts_at": "2027-01-15T20:00:00Z",
               "price_cents": 1200, "currency": "EUR", "capacity": 80, "free": 80, "held": 0,
               "booked": 0})
    );
    assert_eq!(
        ids(
            &api.get("/api/showtimes?movie=4&consistency=local"),
            "showtimes"
        ),
        [1, 5]
    );
    assert_eq!(ids(&api.get("/api/showtimes?theater=5"), "showtimes"), [1]);
    assert_eq!(
        ids(&api.get("/api/showtimes?movie=4&theater=4"), "showtimes"),
        [5]
    );
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
fn every_list_is_paged_with_a_cursor() {
    let mut api = Api::new();
    let first = api.get("/api/movies?limit=3");
    assert_eq!(ids(&first, "movies"), [1, 2, 3]);
    assert_eq!(first.body["next"], 3);
    let rest = api.get("/api/movies?limit=3&after=3");
    assert_eq!(ids(&rest, "movies"), [4]);
    assert_eq!(rest.body["next"], Value::Null);
    // A full last page: the cursor is null, as nothing follows.
    assert_eq!(api.get("/api/movies?limit=4").body["next"], Value::Null);
    assert_eq!(
        ids(&api.get("/api/theaters?limit=2&after=2"), "theaters"),
        [3, 4]
    );
    let page = api.get("/api/showtimes?limit=2&after=1");
    assert_eq!(
        (ids(&page, "showtimes"), page.body["next"].clone()),
        (vec![2, 3], json!(3))
    );
    assert_eq!(
        ids(&api.get("/api/showtimes?movie=4&after=1"), "showtimes"),
        [5]
    );
    assert!(ids(&api.get("/api/showtimes?after=4294967296"), "showtimes").is_empty());
    for bad in ["limit=0", "limit=501", "limit=ten", "after=x", "after=-1"] {
        for list in ["/api/movies", "/api/theaters", "/api/showtimes"] {
            let reply = api.get(&format!("{list}?{bad}"));
            assert_eq!(
                (reply.status, reply.kind()),
                (400, "/problems/invalid-request"),
                "{list}?{bad}"
            );
        }
    }
    assert_eq!(api.get("/api/movies?limit=500").status, 200);
    // Bookings too (staff only).
    for seat in ["a1", "a2", "a3"] {
        assert_eq!(api.book(2, &[seat], "alice").status, 201);
    }
    api.book(3, &["a1"], "bob");
    let page = api.get_as("operator", "/api/bookings?limit=2");
    assert_eq!(
        (ids(&page, "bookings"), page.body["next"].clone()),
        (vec![1, 2], json!(2))
    );
    let page = api.get_as("operator", "/api/bookings?limit=2&after=2");
    assert_eq!(
        (ids(&page, "bookings"), page.body["next"].clone()),
        (vec![3, 4], Value::Null)
    );
    let alice = api.get_as("admin", "/api/bookings?user=alice&limit=2&after=1");
    assert_eq!(ids(&alice, "bookings"), [2, 3]);
    let of3 = api.get_as("admin", "/api/bookings?showtime=3");
    assert_eq!(ids(&of3, "bookings"), [4]);
    assert_eq!(
        ids(
            &api.get_as("admin", "/api/bookings?showtime=3&user=alice"),
            "bookings"
        ),
        Vec::<u64>::new()
    );
    assert_eq!(api.get_as("admin", "/api/bookings?limit=501").status, 400);
}

#[test]
fn a_page_of_500_showtimes_of_a_full_state_renders() {
    // The largest catalog the limits allow, listed a page at a time: each page is cheap work
    // (no walk of seat maps or of the whole state), which keeps it far below the host's fuel.
    let mut state = crate::state::State::default();
    for id in 6..=crate::limits::MAX_SHOWTIMES as u32 {
        state.insert_showtime(crate::state::Showtime::new(
            id,
            1 + id % 4,
            1 + id % 5,
            T0,
            900,
            crate::seat::Layout::uniform(26, 100),
        ));
    }
    let mut api = Api::new();
    assert!(api.machine.restore(&crate::snapshot::write(&state)).is_ok());
    let mut after = 0u64;
    let mut pages = 0;
    let started = std::time::Instant::now();
    loop {
        let reply = api.get(&format!("/api/showtimes?limit=500&after={after}"));
        assert_eq!(reply.status, 200);
        let listed = ids(&reply, "showtimes");
        pages += 1;
        match reply.body["next"].as_u64() {
            Some(next) => {
                assert_eq!(listed.len(), 500);
                after = next;
            }
            None => break,
        }
    }
    assert_eq!(pages, 40);
    // Filters by movie go through the index; a filter that matches nothing stays cheap.
    let by_movie = api.get("/api/showtimes?movie=2&limit=500");
    assert_eq!(ids(&by_movie, "showtimes").len(), 500);
    let none = api.get("/api/showtimes?movie=2&theater=1&limit=500");
    assert!(none.body["next"].is_null() || none.body["next"].is_u64());
    // Generous even for a debug build; the host team measures the fuel of the release build.
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
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
    let request = request("GET", "/api/showtimes/3/events", b"");
    let HttpAction::Watch(watch) = route(&request) else {
        panic!("not a watch")
    };
    assert_eq!(watch.topic, "showtime/3");
    assert_eq!(watch.event, "showtime");
    assert_eq!(
        decode::<Query>(&watch.query),
        Ok(Query::Showtime { showtime: 3 })
    );
    let machine = Machine::new();
    let response = render(&machine, &request, Outcome::Read(watch.query));
    assert_eq!(response.status, 200);
    assert!(!response.body.contains(&b'\n'));
    let direct = Api::new().get("/api/showtimes/3");
    assert_eq!(
        serde_json::from_slice::<Value>(&response.body).ok(),
        Some(direct.body)
    );
    for bad in ["/api/showtimes/x/events", "/api/showtimes/-1/events"] {
        assert!(
            matches!(route(&super::tests::request("GET", bad, b"")), HttpAction::Respond(r) if r.status == 404)
        );
    }
    assert!(
        matches!(route(&super::tests::request("POST", "/api/showtimes/3/events", b"")), HttpAction::Respond(r) if r.status == 405)
    );
}

#[test]
fn booking_returns_201_with_its_token_once() {
    let mut api = Api::new();
    let reply = api.book(2, &["A2", "a1"], "alice");
    assert_eq!(reply.status, 201);
    assert_eq!(reply.response.header("location"), Some("/api/bookings/1"));
    let token = reply.text("token");
    assert!(token.starts_with("b_") && token.len() == 34, "{token}");
    assert_eq!(
        reply.body,
        json!({"id": 1, "token": token, "showtime_id": 2, "seats": ["a1", "a2"], "user": "alice",
               "status": "confirmed", "created_at": "2027-01-15T08:00:00Z", "log_index": 1,
               "price_cents": 2400})
    );
    // Read back with the token: the same booking, without the token.
    let fetched = api.on_booking("GET", &json!(1), &token);
    assert_eq!(fetched.status, 200);
    let mut expected = reply.body.clone();
    if let Some(object) = expected.as_object_mut() {
        object.remove("token");
    }
    assert_eq!(fetched.body, expected);
    // Case of the scheme does not matter; surrounding spaces neither.
    let mut lower = request("GET", "/api/bookings/1", b"");
    lower
        .headers
        .push(("authorization".into(), format!("bearer   {token} ")));
    assert_eq!(api.call(&lower).status, 200);
}

#[test]
fn a_booking_answers_only_its_token_or_staff() {
    let mut api = Api::new();
    let alice = api.book(1, &["a1"], "alice").text("token");
    let bob = api.book(1, &["a2"], "bob").text("token");
    let id = json!(1);
    // No credential: 401 with a challenge, the same whether the booking exists or not.
    for target in ["/api/bookings/1", "/api/bookings/999"] {
        for method in ["GET", "DELETE"] {
            let reply = api.call(&request(method, target, b""));
            assert_eq!(
                (reply.status, reply.kind()),
                (401, "/problems/unauthorized"),
                "{method} {target}"
            );
            assert_eq!(reply.response.header("www-authenticate"), Some("Bearer"));
        }
    }
    // A wrong token (another booking's, a hold's, garbage): exactly as for no booking.
    let hold = api.hold(1, &["a3"], "carol").text("token");
    for wrong in [bob.as_str(), hold.as_str(), "b_nope", "x"] {
        for method in ["GET", "DELETE"] {
            let reply = api.on_booking(method, &id, wrong);
            assert_eq!(
                (reply.status, reply.kind()),
                (404, "/problems/unknown-booking"),
                "{method} {wrong}"
            );
            let missing = api.on_booking(method, &json!(999), wrong);
            assert_eq!(
                (missing.status, missing.kind(), missing.text("detail")),
                (
                    404,
                    "/problems/unknown-booking",
                    reply.text("detail").replace('1', "999")
                ),
            );
        }
    }
    let basic = api.call(&{
        let mut r = request("GET", "/api/bookings/1", b"");
        r.headers
            .push(("authorization".into(), "Basic YTpi".into()));
        r
    });
    assert_eq!(basic.status, 401);
    // Staff read any booking; only an admin cancels one without its token.
    assert_eq!(
        api.get_as("operator", "/api/bookings/2").body["user"],
        "bob"
    );
    assert_eq!(api.get_as("admin", "/api/bookings/2").status, 200);
    let operator = api.call(&as_role(
        request("DELETE", "/api/bookings/2", b""),
        "operator",
    ));
    assert_eq!(
        (operator.status, operator.kind()),
        (403, "/problems/forbidden")
    );
    let stranger = api.call(&as_role(request("GET", "/api/bookings/2", b""), "auditor"));
    assert_eq!(stranger.status, 403);
    let cancelled = api.admin("DELETE", "/api/bookings/2", None);
    assert_eq!(
        (cancelled.status, cancelled.body["status"].clone()),
        (200, json!("cancelled"))
    );
    assert!(cancelled.body.get("token").is_none());
    // The owner cancels with the token; cancelling twice is 409.
    let mine = api.on_booking("DELETE", &id, &alice);
    assert_eq!(
        (mine.status, mine.body["status"].clone()),
        (200, json!("cancelled"))
    );
    let again = api.on_booking("DELETE", &id, &alice);
    assert_eq!(
        (again.status, again.kind()),
        (409, "/problems/booking-cancelled")
    );
    assert_eq!(
        api.on_booking("GET", &id, &alice).body["status"],
        "cancelled"
    );
    let activity = api.get("/api/showtimes/1/activity");
    let users: Vec<&str> = activity.body["activity"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["user"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(users, ["alice", "bob", "carol", "operator", "alice"]);
}

#[test]
fn the_bookings_list_is_for_staff_only() {
    let mut api = Api::new();
    api.book(1, &["a1"], "alice");
    let anonymous = api.get("/api/bookings");
    assert_eq!(
        (anonymous.status, anonymous.kind()),
        (401, "/problems/unauthorized")
    );
    assert_eq!(
        anonymous.response.header("www-authenticate"),
        Some("Bearer")
    );
    assert_eq!(api.get("/api/bookings?user=alice").status, 401);
    assert_eq!(
        api.get_as("viewer", "/api/bookings").kind(),
        "/problems/forbidden"
    );
    let listed = api.get_as("operator", "/api/bookings?user=alice");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["bookings"][0]["user"], "alice");
    assert!(listed.body["bookings"][0].get("token").is_none());
    assert_eq!(api.get_as("admin", "/api/bookings?showtime=x").status, 400);
}

#[test]
fn tokens_appear_only_in_their_creators_answer() {
    let mut api = Api::new();
    let held = api.hold(2, &["a1", "a2"], "alice");
    let hold_token = held.text("token");
    let booked = api.book(2, &["b1"], "bob");
    let booking_token = booked.text("token");
    let confirmed = api.on_hold("POST", &hold_token, "/confirm");
    let confirmed_token = confirmed.text("token");
    assert_eq!(confirmed.status, 201);
    let tokens = [&hold_token, &booking_token, &confirmed_token];
    for token in tokens {
        assert_eq!(token.len(), 34, "{token}");
    }
    let mut bodies = vec![
        api.get("/api/showtimes/2/activity").raw(),
        api.get("/api/showtimes/2").raw(),
        api.get_as("admin", "/api/bookings").raw(),
        api.on_hold("GET", &hold_token, "").raw(),
        api.on_booking("GET", &json!(1), &booking_token).raw(),
        api.on_booking("GET", &json!(2), &confirmed_token).raw(),
        api.on_booking("DELETE", &json!(2), &confirmed_token).raw(),
    ];
    // The SSE view is the showtime's rendering.
    let watch = request("GET", "/api/showtimes/2/events", b"");
    if let HttpAction::Watch(w) = route(&watch) {
        bodies.push(
            String::from_utf8_lossy(&render(&api.machine, &watch, Outcome::Read(w.query)).body)
                .into_owned(),
        );
    }
    bodies.push(crate::console::render(
        &api.machine,
        &crate::contract::ConsoleLine {
            text: "bookings".into(),
            mode: crate::contract::ConsoleMode::Dev,
            entropy: entropy(),
        },
        Outcome::Read(encode(&Query::Bookings {
            user: None,
            showtime: None,
            page: Default::default(),
        })),
    ));
    let snapshot = api.machine.snapshot();
    for token in tokens {
        for body in &bodies {
            assert!(!body.contains(&token[2..]), "{token} leaked in {body}");
        }
        assert!(!snapshot.windows(32).any(|w| w == &token.as_bytes()[2..34]));
    }
    // The hold and booking ids are public instead.
    let activity = api.get("/api/showtimes/2/activity");
    assert_eq!(activity.body["activity"][2]["hold_id"], 1);
    assert_eq!(activity.body["activity"][2]["booking_id"], 2);
    let booking = api.get_as("admin", "/api/bookings/2");
    assert_eq!(booking.body["hold_id"], 1);
}

#[test]
fn an_answer_rendered_for_other_entropy_carries_no_token() {
    // An idempotent replay rendered with the retry's entropy cannot show the first token.
    let mut api = Api::new();
    let first = request(
        "POST",
        "/api/showtimes/2/holds",
        br#"{"seats":["a1"],"user":"alice"}"#,
    );
    let HttpAction::Write(command) = route(&first) else {
        panic!("not a write")
    };
    let result = api.apply(&command);
    let mut retry = first.clone();
    retry.entropy = entropy();
    let replayed = render(&api.machine, &retry, Outcome::Written(result.clone()));
    assert_eq!(replayed.status, 201);
    let body: Value = serde_json::from_slice(&replayed.body).unwrap_or(Value::Null);
    assert!(body.get("token").is_none(), "{body}");
    assert_eq!(replayed.header("location"), None);
    assert_eq!(body["id"], 1);
    let original = render(&api.machine, &first, Outcome::Written(result));
    assert!(original
        .header("location")
        .is_some_and(|l| l.starts_with("/api/holds/h_")));
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
        let reply = api.call(&request(
            "POST",
            "/api/showtimes/1/bookings",
            body.as_bytes(),
        ));
        assert_eq!(
            (reply.status, reply.kind()),
            (400, "/problems/invalid-request"),
            "{body}"
        );
        let detail = reply.body["detail"].as_str().unwrap_or("");
        assert!(detail.contains(needle), "{body}: {detail}");
        // Whatever found the field wrong (the decoder or the rules), the problem names it.
        if let Some((_, named)) = needle.split_once("field `") {
            let field = named.trim_end_matches('`');
            assert_eq!(reply.body["field"], json!(field), "{body}: {}", reply.body);
        }
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
        let reply = api.call(&request("POST", "/api/showtimes/1/holds", body.as_bytes()));
        assert_eq!(reply.status, 400, "{body}");
        assert!(
            reply.body["detail"].as_str().unwrap_or("").contains(needle),
            "{body}"
        );
    }
    assert_eq!(api.index, 0, "no malformed request may reach the log");
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    let reply = api.call(&request("POST", "/api/showtimes/1/bookings", &huge));
    assert_eq!(
        (reply.status, reply.kind()),
        (413, "/problems/body-too-large")
    );
}

#[test]
fn json_bodies_need_a_json_content_type() {
    let mut api = Api::new();
    let body = br#"{"seats":["a1"],"user":"alice"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut r = request("POST", "/api/showtimes/1/bookings", body);
        r.headers.clear();
        if let Some(kind) = content_type {
            r.headers.push(("content-type".into(), kind.into()));
        }
        let reply = api.call(&r);
        assert_eq!(
            (reply.status, reply.kind()),
            (415, "/problems/unsupported-media-type"),
            "{content_type:?}"
        );
    }
    let mut r = request("POST", "/api/showtimes/1/bookings", body);
    r.headers = vec![(
        "content-type".into(),
        "application/vnd.seats+json; charset=utf-8".into(),
    )];
    assert_eq!(api.call(&r).status, 201);
    // Bodyless writes need no content type.
    let token = api.hold(1, &["b1"], "alice").text("token");
    let mut bare = request("POST", &format!("/api/holds/{token}/extend"), b"");
    bare.headers.clear();
    assert_eq!(api.call(&bare).status, 200);
    // Admin writes too.
    let mut admin = as_role(
        request(
            "POST",
            "/api/movies",
            br#"{"title":"Up","year":2009,"duration_minutes":96}"#,
        ),
        "admin",
    );
    admin.headers = vec![("content-type".into(), "text/json".into())];
    assert_eq!(api.call(&admin).status, 415);
    assert_eq!(api.index, 3);
}

#[test]
fn hold_lifecycle_with_the_token_as_credential() {
    let mut api = Api::new();
    let created = api.send(
        "POST",
        "/api/showtimes/2/holds",
        json!({"seats": ["c2", "c1"], "user": "alice", "ttl_seconds": 120}),
    );
    assert_eq!(created.status, 201);
    let token = created.text("token");
    assert!(token.starts_with("h_") && token.len() == 34, "{token}");
    assert_eq!(
        created.response.header("location").map(str::to_string),
        Some(format!("/api/holds/{token}"))
    );
    assert_eq!(
        created.body,
        json!({"id": 1, "token": token, "showtime_id": 2, "seats": ["c1", "c2"], "user": "alice",
               "status": "active", "created_at": "2027-01-15T08:00:00Z",
               "expires_at": "2027-01-15T08:02:00Z", "log_index": 1})
    );
    let read = api.on_hold("GET", &token, "");
    assert_eq!(read.body["id"], 1);
    assert!(read.body.get("token").is_none());
    let default_ttl = api.hold(2, &["d1"], "bob");
    assert_eq!(default_ttl.body["expires_at"], "2027-01-15T08:10:00Z");
    let path = |suffix: &str| format!("/api/holds/{token}{suffix}");
    // Another hold's token or a made-up one reaches nothing.
    let bobs = default_ttl.text("token");
    let forged = crate::token::mint(crate::token::Kind::Hold, &[1; 32])
        .map(|m| m.text)
        .unwrap_or_default();
    for (wrong, kind) in [
        (forged.as_str(), "/problems/unknown-hold"),
        ("hnope", "/problems/unknown-hold"),
        (&token.replacen("h_", "b_", 1), "/problems/unknown-hold"),
    ] {
        let reply = api.on_hold("POST", wrong, "/extend");
        assert_eq!((reply.status, reply.kind()), (404, kind), "{wrong}");
        assert!(!reply.raw().contains(&wrong[2..]), "token echoed");
    }
    api.now_ms += 60_000;
    let extended = api.send("POST", &path("/extend"), json!({"ttl_seconds": 7200}));
    assert_eq!(extended.status, 200);
    assert_eq!(extended.body["expires_at"], "2027-01-15T10:00:00Z");
    assert!(extended.body.get("token").is_none());
    let stale = api.send("POST", &path("/confirm"), json!({"user": "alice"}));
    assert_eq!(stale.status, 400, "the old body shape is refused");
    let confirmed = api.on_hold("POST", &token, "/confirm");
    assert_eq!(confirmed.status, 201);
    assert_eq!(confirmed.body["hold_id"], 1);
    assert_eq!(confirmed.body["seats"], json!(["c1", "c2"]));
    let booking_token = confirmed.text("token");
    assert!(booking_token.starts_with("b_"), "{booking_token}");
    let booking = confirmed.body["id"].clone();
    assert_eq!(
        confirmed.response.header("location").map(str::to_string),
        Some(format!("/api/bookings/{booking}"))
    );
    assert_eq!(api.on_booking("GET", &booking, &booking_token).status, 200);
    // The hold's token is no booking credential.
    assert_eq!(api.on_booking("GET", &booking, &token).status, 404);
    let hold = api.on_hold("GET", &token, "");
    assert_eq!(
        (hold.body["status"].clone(), hold.body["booking_id"].clone()),
        (json!("confirmed"), booking)
    );
    let again = api.on_hold("POST", &token, "/confirm");
    assert_eq!(
        (again.status, again.kind(), again.body["hold"].clone()),
        (409, "/problems/hold-finished", json!(1))
    );
    let released = api.send("DELETE", &path(""), json!({}));
    assert_eq!(
        (released.status, released.kind()),
        (409, "/problems/hold-finished")
    );
    assert_eq!(api.on_hold("DELETE", &bobs, "").body["status"], "released");
    assert_eq!(
        api.get(&format!("/api/holds/{}", "h".repeat(65))).kind(),
        "/problems/unknown-hold"
    );
}

#[test]
fn release_and_expiry_over_http() {
    let mut api = Api::new();
    let token = api.hold(1, &["a1"], "alice").text("token");
    let released = api.on_hold("DELETE", &token, "");
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
        .text("token");
    api.now_ms += 1000;
    let late = api.on_hold("POST", &token, "/confirm");
    assert_eq!((late.status, late.kind()), (410, "/problems/hold-expired"));
    assert_eq!(api.on_hold("GET", &token, "").body["status"], "expired");
    let activity = api.get("/api/showtimes/1/activity");
    let actions: Vec<&str> = activity.body["activity"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["held", "released", "held", "expired"]);
    assert_eq!(activity.body["activity"][3]["user"], "system");
    assert_eq!(activity.body["activity"][3]["hold_id"], 2);
    assert_eq!(activity.body["activity"][3]["index"], 4);
    assert_eq!(activity.body["activity"][3]["at"], "2027-01-15T08:00:01Z");
    assert_eq!(api.get("/api/showtimes/9/activity").status, 404);
}

#[test]
fn customers_are_limited_per_showtime_and_admins_set_the_limit() {
    let mut api = Api::new();
    let settings = api.get("/api/settings");
    assert_eq!(
        (settings.status, settings.body.clone()),
        (200, json!({"max_seats_per_customer": 10}))
    );
    assert_eq!(
        api.hold(2, &["a1", "a2", "a3", "a4", "a5", "a6"], "alice")
            .status,
        201
    );
    assert_eq!(api.book(2, &["b1", "b2", "b3", "b4"], "alice").status, 201);
    let refused = api.book(2, &["c1"], "alice");
    assert_eq!(
        (refused.status, refused.kind()),
        (409, "/problems/customer-limit")
    );
    assert_eq!(
        (
            refused.body["limit"].clone(),
            refused.body["taken"].clone(),
            refused.body["requested"].clone()
        ),
        (json!(10), json!(10), json!(1))
    );
    assert!(refused.text("detail").contains("at most 10 seats"));
    assert_eq!(api.book(3, &["c1"], "alice").status, 201);
    // Only an admin changes the setting.
    let body = json!({"max_seats_per_customer": 12}).to_string();
    let anonymous = api.call(&request("PUT", "/api/settings", body.as_bytes()));
    assert_eq!(anonymous.status, 401);
    let operator = api.call(&as_role(
        request("PUT", "/api/settings", body.as_bytes()),
        "operator",
    ));
    assert_eq!(operator.status, 403);
    for bad in [
        json!({"max_seats_per_customer": 0}),
        json!({}),
        json!({"max_seats_per_customer": 12, "x": 1}),
    ] {
        assert_eq!(api.admin("PUT", "/api/settings", Some(bad)).status, 400);
    }
    let changed = api.admin(
        "PUT",
        "/api/settings",
        Some(json!({"max_seats_per_customer": 12})),
    );
    assert_eq!(changed.body, json!({"max_seats_per_customer": 12}));
    assert_eq!(api.book(2, &["c1", "c2"], "alice").status, 201);
    assert_eq!(api.get("/api/settings").body["max_seats_per_customer"], 12);
}

#[test]
fn catalog_changes_need_role_admin() {
    let mut api = Api::new();
    let movie = json!({"title": "Up", "year": 2009, "duration_minutes": 96});
    let writes = [
        ("POST", "/api/movies", Some(movie.clone())),
        ("DELETE", "/api/movies/1", None),
        (
            "POST",
            "/api/theaters",
            Some(json!({"name": "X", "rows": [{"row": "a", "seats": 1}]})),
        ),
        ("DELETE", "/api/theaters/1", None),
        (
            "POST",
            "/api/showtimes",
            Some(
                json!({"movie_id": 1, "theater_id": 1, "starts_at": "2026-12-01T20:00:00Z", "price_cents": 1}),
            ),
        ),
        ("DELETE", "/api/showtimes/1", None),
        (
            "PUT",
            "/api/settings",
            Some(json!({"max_seats_per_customer": 3})),
        ),
    ];
    for (method, path, body) in &writes {
        let bytes = body.as_ref().map(|b| b.to_string()).unwrap_or_default();
        let anonymous = api.call(&request(method, path, bytes.as_bytes()));
        assert_eq!(
            (anonymous.status, anonymous.kind()),
            (401, "/problems/unauthorized"),
            "{method} {path}"
        );
        assert_eq!(
            anonymous.response.header("www-authenticate"),
            Some("Bearer")
        );
        let operator = api.call(&as_role(
            request(method, path, bytes.as_bytes()),
            "operator",
        ));
        assert_eq!(
            (operator.status, operator.kind()),
            (403, "/problems/forbidden"),
            "{method} {path}"
        );
        // A customer's bearer token is no admin credential.
        let token = api.book(4, &["a1"], "x").text("token");
        let customer = api.call(&with_bearer(
            request(method, path, bytes.as_bytes()),
            &token,
        ));
        assert_eq!(customer.status, 401);
        api.admin("DELETE", "/api/bookings/1", None);
        api.index = 0;
    }
    // Refused before the body is read: a garbage body still gets 401.
    assert_eq!(
        api.call(&request("POST", "/api/movies", b"\xff")).status,
        401
    );
    assert_eq!(api.admin("POST", "/api/movies", Some(movie)).status, 201);
}

#[test]
fn admin_creates_and_removes_catalog_entries() {
    let mut api = Api::new();
    let movie = api.admin(
        "POST",
        "/api/movies",
        Some(json!({"title": "Up", "year": 2009, "duration_minutes": 96, "genres": ["Animation"]})),
    );
    assert_eq!(
        (movie.status, movie.response.header("location")),
        (201, Some("/api/movies/5"))
    );
    assert_eq!(movie.body["genres"], json!(["Animation"]));
    assert_eq!(movie.body["cast"], json!([]));
    let clash = api.admin(
        "POST",
        "/api/movies",
        Some(json!({"id": 5, "title": "Up", "year": 2009, "duration_minutes": 96})),
    );
    assert_eq!(
        (clash.status, clash.kind()),
        (409, "/problems/already-exists")
    );
    let bad = api.admin(
        "POST",
        "/api/movies",
        Some(json!({"title": "Up", "year": 1500, "duration_minutes": 96})),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text("detail").contains("year"));
    let theater = api.admin(
        "POST",
        "/api/theaters",
        Some(
            json!({"name": "Annex", "rows": [{"row": "a", "seats": 3}, {"row": "b", "seats": 4}]}),
        ),
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
        let reply = api.admin(
            "POST",
            "/api/theaters",
            Some(json!({"name": "X", "rows": rows})),
        );
        assert_eq!(reply.status, 400, "{rows}");
        assert_eq!(reply.body["field"], "rows");
    }
    let showtime = api.admin("POST", "/api/showtimes", Some(json!({"id": 90, "movie_id": 5, "theater_id": 6, "starts_at": "2026-12-24T18:30:00+01:00", "price_cents": 800})));
    assert_eq!(showtime.status, 201);
    assert_eq!(
        showtime.response.header("location"),
        Some("/api/showtimes/90")
    );
    assert_eq!(showtime.body["starts_at"], "2026-12-24T17:30:00Z");
    assert_eq!(showtime.body["seats"].as_array().map(Vec::len), Some(7));
    let next = api.admin("POST", "/api/showtimes", Some(json!({"movie_id": 5, "theater_id": 6, "starts_at": "2026-12-25T18:30:00Z", "price_cents": 800})));
    assert_eq!(next.body["id"], 91);
    let bad_time = api.admin(
        "POST",
        "/api/showtimes",
        Some(json!({"movie_id": 5, "theater_id": 6, "starts_at": "tomorrow", "price_cents": 800})),
    );
    assert_eq!(
        (bad_time.status, bad_time.body["field"].clone()),
        (400, json!("starts_at"))
    );
    let unknown = api.admin("POST", "/api/showtimes", Some(json!({"movie_id": 50, "theater_id": 6, "starts_at": "2026-12-25T18:30:00Z", "price_cents": 800})));
    assert_eq!(unknown.kind(), "/problems/unknown-movie");
    let in_use = api.admin("DELETE", "/api/movies/5", None);
    assert_eq!((in_use.status, in_use.kind()), (409, "/problems/in-use"));
    assert_eq!(in_use.body["showtimes"], json!([90, 91]));
    assert_eq!(in_use.body["showtime_count"], 2);
    assert_eq!(
        api.admin("DELETE", "/api/theaters/6", None).kind(),
        "/problems/in-use"
    );
    let token = api.book(90, &["a1"], "alice").text("token");
    let busy = api.admin("DELETE", "/api/showtimes/90", None);
    assert_eq!(
        (busy.status, busy.kind(), busy.body["bookings"].clone()),
        (409, "/problems/in-use", json!(1))
    );
    assert_eq!(
        api.admin("DELETE", "/api/showtimes/91", Some(json!({})))
            .status,
        200
    );
    assert_eq!(api.on_booking("DELETE", &json!(1), &token).status, 200);
    assert_eq!(api.admin("DELETE", "/api/showtimes/90", None).status, 200);
    assert_eq!(api.admin("DELETE", "/api/movies/5", None).status, 200);
    assert_eq!(api.admin("DELETE", "/api/theaters/6", None).status, 200);
    assert_eq!(
        api.admin("DELETE", "/api/theaters/6", None).kind(),
        "/problems/unknown-theater"
    );
    assert_eq!(
        api.admin("DELETE", "/api/movies/5", Some(json!({"x": 1})))
            .status,
        400
    );
    assert_eq!(
        api.admin("DELETE", "/api/movies/5", None).kind(),
        "/problems/unknown-movie"
    );
    assert_eq!(
        api.admin("DELETE", "/api/showtimes/90", None).kind(),
        "/problems/unknown-showtime"
    );
}

#[test]
fn a_huge_chosen_id_is_refused_and_automatic_ids_keep_working() {
    let mut api = Api::new();
    let movie = |id: Option<u64>| {
        let mut body = json!({"title": "Up", "year": 2009, "duration_minutes": 96});
        if let (Some(id), Some(object)) = (id, body.as_object_mut()) {
            object.insert("id".into(), json!(id));
        }
        Some(body)
    };
    // 4294967295 used to be accepted and to break every later automatic id.
    let huge = api.admin("POST", "/api/movies", movie(Some(4_294_967_295)));
    assert_eq!(
        (huge.status, huge.body["field"].clone()),
        (400, json!("id"))
    );
    assert_eq!(
        api.admin("POST", "/api/movies", movie(Some(4_294_967_296)))
            .status,
        400
    );
    assert_eq!(api.admin("POST", "/api/movies", movie(None)).body["id"], 5);
    let top = api.admin("POST", "/api/movies", movie(Some(2_000_000_000)));
    assert_eq!(top.status, 201);
    let exhausted = api.admin("POST", "/api/movies", movie(None));
    assert_eq!(
        (
            exhausted.status,
            exhausted.kind(),
            exhausted.body["max"].clone()
        ),
        (409, "/problems/ids-exhausted", json!(2_000_000_000u32))
    );
    assert_eq!(api.admin("POST", "/api/movies", movie(Some(6))).status, 201);
}

#[test]
fn minting_routes_need_the_hosts_entropy() {
    let mut api = Api::new();
    let mut poor = request(
        "POST",
        "/api/showtimes/1/bookings",
        br#"{"seats":["a1"],"user":"a"}"#,
    );
    poor.entropy = vec![7; 8];
    let reply = api.call(&poor);
    assert_eq!((reply.status, reply.kind()), (500, "/problems/internal"));
    assert!(reply.text("detail").contains("entropy"));
    assert_eq!(api.index, 0);
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
    let wrong = api.call(&request("PUT", "/api/showtimes/1", b""));
    assert_eq!(
        (wrong.status, wrong.kind()),
        (405, "/problems/method-not-allowed")
    );
    assert_eq!(wrong.response.header("allow"), Some("GET, DELETE"));
    assert_eq!(
        api.call(&request("POST", "/", b""))
            .response
            .header("allow"),
        Some("GET")
    );
}

#[test]
fn the_pages_deep_links_serve_the_page_and_api_paths_never_do() {
    let mut api = Api::new();
    let index = api.get("/").response.body;
    for path in [
        "/movies",
        "/movies/1",
        "/movies/1/seats",
        "/showtimes",
        "/showtimes/2",
        "/bookings",
    ] {
        let reply = api.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(
            reply.response.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert_eq!(reply.response.body, index, "{path}");
    }
    for path in [
        "/api/nope",
        "/api/movies/1/seats",
        "/movies/x",
        "/movies/1/x",
        "/showtimes/",
        "/bookings/1",
        "/nope",
    ] {
        let reply = api.get(path);
        assert_eq!(
            (reply.status, reply.kind()),
            (404, "/problems/not-found"),
            "{path}"
        );
    }
    let post = api.call(&request("POST", "/movies", b""));
    assert_eq!(post.status, 405);
}

#[test]
fn unavailable_and_undecodable_outcomes_render_as_503_and_500() {
    let machine = Machine::new();
    let post = request("POST", "/api/showtimes/1/bookings", b"{}");
    let response = render(&machine, &post, Outcome::Unavailable("no quorum".into()));
    assert_eq!(response.status, 503);
    assert!(String::from_utf8_lossy(&response.body).contains("no quorum"));
    for outcome in [Ok(vec![0xff]), Err(vec![0xff])] {
        assert_eq!(
            render(&machine, &post, Outcome::Written(outcome)).status,
            500
        );
    }
    let get = request("GET", "/api/showtimes/1", b"");
    assert_eq!(
        render(&machine, &get, Outcome::Read(vec![0xff])).status,
        500
    );
}

#[test]
fn problem_types_of_the_new_refusals() {
    use crate::rejection::Kind;
    let cases = [
        (
            Rejection::CatalogFull {
                kind: Kind::Theater,
                limit: 500,
            },
            409,
            "catalog-full",
        ),
        (
            Rejection::IdsExhausted {
                kind: Kind::Movie,
                max: 5,
            },
            409,
            "ids-exhausted",
        ),
        (Rejection::TokenCollision, 503, "token-collision"),
        (Rejection::UnknownHold, 404, "unknown-hold"),
        (
            Rejection::CustomerLimit {
                showtime: 1,
                user: "a".into(),
                limit: 2,
                taken: 2,
                requested: 1,
            },
            409,
            "customer-limit",
        ),
    ];
    for (rejection, status, kind) in cases {
        let response = Problem::from_rejection(&rejection).into_response();
        assert_eq!(response.status, status, "{kind}");
        let body = String::from_utf8_lossy(&response.body).into_owned();
        assert!(
            body.contains(&format!("\"type\":\"/problems/{kind}\"")),
            "{body}"
        );
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
                let mut r = request(method, path, body);
                r.query = "state=%ff&user=%".into();
                if let HttpAction::Respond(response) = route(&r) {
                    assert!(
                        response.status < 500 || response.status == 200,
                        "{method} {path}"
                    );
                }
            }
        }
    }
}

/// Strategies for arbitrary requests: real paths mixed with noise, real methods and roles
/// mixed with others, arbitrary headers, bodies, queries and entropy.
fn arbitrary_request() -> impl Strategy<Value = HttpRequest> {
    let paths = prop_oneof![
        Just("/api/movies".to_string()),
        Just("/api/showtimes/1/holds".to_string()),
        Just("/api/showtimes/2/bookings".to_string()),
        Just("/api/bookings".to_string()),
        Just("/api/bookings/1".to_string()),
        Just("/api/holds/h_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/confirm".to_string()),
        Just("/api/settings".to_string()),
        "/api/[a-z]{0,9}/[0-9a-z_]{0,40}(/[a-z]{0,8})?",
        ".{0,64}",
    ];
    let methods = prop_oneof![
        Just("GET".to_string()),
        Just("POST".to_string()),
        Just("DELETE".to_string()),
        Just("PUT".to_string()),
        "[A-Za-z]{0,8}",
    ];
    let bodies = prop_oneof![
        Just(br#"{"seats":["a1","b2"],"user":"alice","ttl_seconds":60}"#.to_vec()),
        Just(br#"{"max_seats_per_customer":3}"#.to_vec()),
        Just(br#"{"title":"Up","year":2009,"duration_minutes":96,"id":4294967295}"#.to_vec()),
        proptest::collection::vec(any::<u8>(), 0..200),
        ".{0,200}".prop_map(String::into_bytes),
    ];
    let roles = proptest::option::of(prop_oneof![
        Just("admin".to_string()),
        Just("operator".to_string()),
        ".{0,12}",
    ]);
    let headers = proptest::collection::vec(
        (
            prop_oneof![
                Just("content-type".to_string()),
                Just("authorization".to_string()),
                "[a-z-]{0,12}",
            ],
            prop_oneof![
                Just("application/json".to_string()),
                Just("Bearer b_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_string()),
                ".{0,60}",
            ],
        ),
        0..4,
    );
    (
        methods,
        paths,
        ".{0,60}",
        headers,
        bodies,
        roles,
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<u64>(),
    )
        .prop_map(
            |(method, path, query, headers, body, role, entropy, now_ms)| HttpRequest {
                method,
                path,
                query,
                headers,
                body,
                role,
                entropy,
                now_ms,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn route_and_render_never_panic_on_arbitrary_requests(request in arbitrary_request()) {
        let mut machine = Machine::new();
        match route(&request) {
            HttpAction::Respond(response) => prop_assert!(response.status >= 200),
            HttpAction::Read(query) | HttpAction::Watch(WatchRequest { query, .. }) => {
                let response = render(&machine, &request, Outcome::Read(query));
                prop_assert!(response.status >= 200);
            }
            HttpAction::Write(command) => {
                let result = machine.apply(&LogContext::default(), &command).result;
                let response = render(&machine, &request, Outcome::Written(result));
                prop_assert!(response.status >= 200);
            }
        }
    }

    #[test]
    fn render_never_panics_on_arbitrary_outcomes(
        request in arbitrary_request(),
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        which in 0u8..4,
    ) {
        let machine = Machine::new();
        let outcome = match which {
            0 => Outcome::Read(bytes),
            1 => Outcome::Written(Ok(bytes)),
            2 => Outcome::Written(Err(bytes)),
            _ => Outcome::Unavailable(String::from_utf8_lossy(&bytes).into_owned()),
        };
        prop_assert!(render(&machine, &request, outcome).status >= 200);
    }
}

mod limits_and_best;
