//! Concurrency and time on a real cluster: 50 clients racing for the same seats, holds expiring
//! by log time at one index on every node, and live seat maps over Server-Sent Events (which
//! never show a hold's or a booking's token).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

#[test]
fn fifty_clients_racing_for_the_same_seats_get_one_winner_per_seat() {
    let cluster = Cluster::start(3);
    let seats = ["a1", "a2", "a3", "a4", "a5"];
    let clients = 50;
    let barrier = Arc::new(Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let addr = cluster.addrs[client % 3].clone();
            let barrier = barrier.clone();
            let seat = seats[client % seats.len()];
            std::thread::spawn(move || {
                let user = format!("racer{client}");
                let body = json!({"seats": [seat], "user": user}).to_string();
                barrier.wait();
                let answer = request("POST", &addr, "/api/showtimes/2/bookings", Some(&body), &[]);
                (seat, user, answer)
            })
        })
        .collect();
    let mut winners: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut tokens = Vec::new();
    let mut conflicts = 0;
    for handle in handles {
        let (seat, user, answer) = handle.join().expect("client thread");
        match answer.status {
            201 => {
                let token = answer.json()["token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                assert_token_shape(&token, "b_");
                tokens.push(token);
                winners.entry(seat).or_default().push(user);
            }
            409 => {
                assert_eq!(
                    answer.problem_type(),
                    "/problems/seat-taken",
                    "{}",
                    answer.body
                );
                assert_eq!(answer.json()["seats"], json!([seat]));
                conflicts += 1;
            }
            other => panic!("{user} got {other}: {}", answer.body),
        }
    }
    println!("winners {winners:?}, {conflicts} clean conflicts");
    assert_eq!(conflicts, clients - seats.len());
    for seat in seats {
        let won = winners.get(seat).map_or(0, Vec::len);
        assert_eq!(
            won, 1,
            "seat {seat} must have exactly one winner: {winners:?}"
        );
    }
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), seats.len(), "every winner got its own token");
    // Every node agrees on who holds each seat (read as an operator once all have applied the
    // same entries).
    settled_state(&cluster.addrs, Duration::from_secs(10));
    for addr in &cluster.addrs {
        let holders = booked_by(addr, 2).expect("bookings of showtime 2");
        for seat in seats {
            assert_eq!(holders.get(seat), winners[seat].first(), "{addr}");
        }
        assert_eq!(holders.len(), seats.len(), "{addr}: {holders:?}");
    }
}

/// The log index at which `addr`'s activity of `showtime` records the expiry of hold `hold_id`.
fn expiry_index(addr: &str, showtime: u64, hold_id: u64) -> Option<u64> {
    let activity = try_get(
        addr,
        &format!("/api/showtimes/{showtime}/activity?consistency=local"),
    )?
    .json();
    activity["activity"]
        .as_array()?
        .iter()
        .find(|c| c["action"] == "expired" && c["hold_id"] == hold_id)
        .and_then(|c| c["index"].as_u64())
}

#[test]
fn an_expired_hold_frees_its_seats_at_the_same_log_index_on_every_node() {
    let cluster = Cluster::start(3);
    let hold = post(
        &cluster.addrs[0],
        "/api/showtimes/3/holds",
        &json!({"seats": ["c1", "c2"], "user": "frank", "ttl_seconds": 1}).to_string(),
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let token = hold.json()["token"].as_str().expect("token").to_string();
    assert_token_shape(&token, "h_");
    let hold_id = hold.json()["id"].as_u64().expect("hold id");
    let held_at = hold.json()["log_index"].as_u64().expect("log index");

    // Nobody writes: the leader's tick must expire the hold by itself.
    let indexes: Vec<u64> = cluster
        .addrs
        .iter()
        .map(|addr| {
            wait_until(
                Duration::from_secs(15),
                "the hold expires on every node",
                || expiry_index(addr, 3, hold_id),
            )
        })
        .collect();
    println!("hold taken at index {held_at}, expired at indexes {indexes:?}");
    assert!(
        indexes.iter().all(|&i| i == indexes[0] && i > held_at),
        "{indexes:?}"
    );
    for addr in &cluster.addrs {
        let view = get(addr, "/api/showtimes/3?consistency=local").json();
        for seat in view["seats"].as_array().expect("seats") {
            if seat["seat"] == "c1" || seat["seat"] == "c2" {
                assert_eq!(seat["state"], "free", "{addr}: {seat}");
            }
        }
        let expired = get(addr, &format!("/api/holds/{token}"));
        assert_eq!(
            expired.json()["status"],
            "expired",
            "{addr}: {}",
            expired.body
        );
        assert_no_token("an expired hold", &expired.body, &[&token]);
        let activity = get(addr, "/api/showtimes/3/activity");
        assert_no_token("activity", &activity.body, &[&token]);
    }
    // Too late, by token (API 1.1: no body): confirm, extend and release all say expired,
    // naming the hold by id.
    for (method, path) in [
        ("POST", format!("/api/holds/{token}/confirm")),
        ("POST", format!("/api/holds/{token}/extend")),
        ("DELETE", format!("/api/holds/{token}")),
    ] {
        let late = request(method, &cluster.addrs[1], &path, None, &[]);
        assert_eq!(late.status, 410, "{method} {path}: {}", late.body);
        assert_eq!(late.problem_type(), "/problems/hold-expired");
        assert_eq!(late.json()["hold"], hold_id, "{}", late.body);
        assert_no_token("a hold-expired problem", &late.body, &[&token]);
    }
    let states = settled_state(&cluster.addrs, Duration::from_secs(10));
    println!("every node at {states:?}");
}

/// One Server-Sent Event.
#[derive(Debug)]
struct Event {
    id: u64,
    name: String,
    data: Value,
    /// The data as sent, for checks that no token appears in it.
    raw: String,
}

/// Opens an event stream; events arrive on the returned channel (the reader thread ends when
/// the test drops the receiver and the next event arrives, or the node goes away).
fn open_events(addr: &str, path: &str, last_event_id: Option<u64>) -> mpsc::Receiver<Event> {
    let mut request = ureq::get(&format!("http://{addr}{path}"));
    if let Some(id) = last_event_id {
        request = request.set("last-event-id", &id.to_string());
    }
    let response = request.call().expect("event stream");
    assert_eq!(response.status(), 200);
    assert_eq!(response.header("content-type"), Some("text/event-stream"));
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(response.into_reader());
    std::thread::spawn(move || {
        let (mut id, mut name, mut data) = (0, String::new(), String::new());
        for line in reader.lines() {
            let Ok(line) = line else { return };
            if let Some(value) = line.strip_prefix("id: ") {
                id = value.parse().expect("numeric event id");
            } else if let Some(value) = line.strip_prefix("event: ") {
                name = value.to_string();
            } else if let Some(value) = line.strip_prefix("data: ") {
                data.push_str(value);
            } else if line.is_empty() && !data.is_empty() {
                let raw = std::mem::take(&mut data);
                let event = Event {
                    id,
                    name: std::mem::take(&mut name),
                    data: serde_json::from_str(&raw).expect("JSON data"),
                    raw,
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
        }
    });
    rx
}

fn next_event(events: &mpsc::Receiver<Event>) -> Event {
    let event = events
        .recv_timeout(Duration::from_secs(10))
        .expect("an event within 10 s");
    // The data is the showtime as GET shows it: it names no hold or booking, let alone a token.
    for word in ["token", "hold_id", "booking_id"] {
        assert!(
            !event.raw.contains(word),
            "event {} shows {word:?}: {}",
            event.id,
            event.raw
        );
    }
    event
}

fn state_of(event: &Event, seat: &str) -> String {
    event.data["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .find(|s| s["seat"] == seat)
        .and_then(|s| s["state"].as_str())
        .expect("seat in map")
        .to_string()
}

#[test]
fn event_streams_show_every_change_and_resume_from_the_last_event_id() {
    let cluster = Cluster::start(3);
    let watcher = &cluster.addrs[2];
    let writer = &cluster.addrs[0];
    let path = "/api/showtimes/4/events";

    let events = open_events(watcher, path, None);
    let first = next_event(&events);
    assert_eq!(first.name, "showtime");
    assert_eq!(state_of(&first, "a1"), "free");

    let gus = post(
        writer,
        "/api/showtimes/4/bookings",
        r#"{"seats":["a1"],"user":"gus"}"#,
    );
    assert_eq!(gus.status, 201, "{}", gus.body);
    let gus_token = gus.json()["token"].as_str().expect("token").to_string();
    let gus_id = gus.json()["id"].as_u64().expect("booking id");
    let booked = next_event(&events);
    assert!(booked.id > first.id, "{} then {}", first.id, booked.id);
    assert_eq!(state_of(&booked, "a1"), "booked");

    let hold = post(
        writer,
        "/api/showtimes/4/holds",
        r#"{"seats":["a2"],"user":"gus"}"#,
    );
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold_token = hold.json()["token"].as_str().expect("token").to_string();
    let held = next_event(&events);
    assert_eq!(state_of(&held, "a2"), "held");
    assert_eq!(held.id, hold.json()["log_index"].as_u64().expect("index"));
    // A change of another showtime is not a change of this one: the resume below would repeat
    // an event if it were.
    assert_eq!(book(writer, &["d6"], "gus").status, 201);
    drop(events);

    // Resuming with the last id: no repeat; the first event is the next change.
    let resumed = open_events(watcher, path, Some(held.id));
    let third = post(
        writer,
        "/api/showtimes/4/bookings",
        r#"{"seats":["a3"],"user":"gus"}"#,
    );
    assert_eq!(third.status, 201, "{}", third.body);
    let third_token = third.json()["token"].as_str().expect("token").to_string();
    let next = next_event(&resumed);
    assert_eq!(
        state_of(&next, "a3"),
        "booked",
        "no repeat of event {}",
        held.id
    );
    assert!(next.id > held.id);
    drop(resumed);

    // Resuming from an older id: the current state at once.
    let behind = open_events(watcher, path, Some(first.id));
    let caught_up = next_event(&behind);
    assert_eq!(caught_up.id, next.id);
    assert_eq!(state_of(&caught_up, "a1"), "booked");
    assert_eq!(state_of(&caught_up, "a3"), "booked");

    // Changes made with tokens (API 1.1) stream too, and their events show no token.
    let tokens = [
        gus_token.as_str(),
        hold_token.as_str(),
        third_token.as_str(),
    ];
    let extended = request(
        "POST",
        writer,
        &format!("/api/holds/{hold_token}/extend"),
        None,
        &[],
    );
    assert_eq!(extended.status, 200, "{}", extended.body);
    let after_extend = next_event(&behind);
    assert!(after_extend.id > caught_up.id);
    assert_eq!(state_of(&after_extend, "a2"), "held");
    let confirmed = request(
        "POST",
        writer,
        &format!("/api/holds/{hold_token}/confirm"),
        None,
        &[],
    );
    assert_eq!(confirmed.status, 201, "{}", confirmed.body);
    let confirmed_token = confirmed.json()["token"]
        .as_str()
        .expect("token")
        .to_string();
    let after_confirm = next_event(&behind);
    assert_eq!(state_of(&after_confirm, "a2"), "booked");
    let auth = bearer(&gus_token);
    let cancelled = request(
        "DELETE",
        writer,
        &format!("/api/bookings/{gus_id}"),
        None,
        &[(auth.0, &auth.1)],
    );
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let after_cancel = next_event(&behind);
    assert_eq!(state_of(&after_cancel, "a1"), "free");
    for event in [
        &first,
        &booked,
        &held,
        &next,
        &caught_up,
        &after_extend,
        &after_confirm,
        &after_cancel,
    ] {
        assert_no_token("an event", &event.raw, &tokens);
        assert_no_token("an event", &event.raw, &[&confirmed_token]);
    }

    let missing = get(watcher, "/api/showtimes/999/events");
    assert_eq!(missing.status, 404, "{}", missing.body);
}
