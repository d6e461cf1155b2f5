//! The bundled plugin's features that depend on a fresh cluster's first moments and on the
//! replicated state as a client sees it: first-start showtimes dated from the first log time
//! (the same on every node), the rules in force (`/api/limits`) and the best-seats read.

use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// The epoch, which the first-start showtimes read as until the first entry dates them.
const UNDATED: &str = "1970-01-01T00:00:00Z";

/// `starts_at` of showtimes 1 to 5 as the node at `addr` sees them locally; `None` until it
/// answers for all five.
fn starts(addr: &str) -> Option<Vec<String>> {
    (1..=5)
        .map(|id| {
            let answer = try_get(addr, &format!("/api/showtimes/{id}?consistency=local"))?;
            (answer.status == 200)
                .then(|| answer.json()["starts_at"].as_str().map(str::to_string))
                .flatten()
        })
        .collect()
}

#[test]
fn a_fresh_cluster_dates_the_first_showtimes_alike_and_serves_limits_and_best_seats() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(20));
    let addr = &cluster.addrs[leader];
    // Nobody writes: the leader's clock tick alone dates them, on every node alike.
    let dated: Vec<Vec<String>> = cluster
        .addrs
        .iter()
        .map(|node| {
            wait_until(Duration::from_secs(20), "first showtimes dated", || {
                starts(node).filter(|s| s.iter().all(|at| at != UNDATED))
            })
        })
        .collect();
    assert!(dated.iter().all(|d| *d == dated[0]), "{dated:?}");
    for at in &dated[0] {
        assert!(at.ends_with(":00:00Z") || at.ends_with(":30:00Z"), "{at}");
    }

    // The demo showtime is upcoming and bookable at once (RFC 3339 UTC strings of the same
    // shape order like the times they name).
    let booked = book(addr, &["a1"], "alice");
    assert_eq!(booked.status, 201, "{}", booked.body);
    let created = booked.json()["created_at"]
        .as_str()
        .expect("created_at")
        .to_string();
    for at in &dated[0] {
        assert!(
            at.as_str() > created.as_str(),
            "{at} starts after {created}"
        );
    }

    let limits = get(addr, "/api/limits").json();
    assert_eq!(limits["rules_version"], "1.1.0", "{limits}");
    assert_eq!(limits["max_seats_per_request"], 10, "{limits}");
    assert_eq!(limits["max_seats_per_customer"], 10, "{limits}");
    assert_eq!(limits["no_stranded_seats"], false, "{limits}");
    assert_eq!(limits["hold_ms"], 600_000, "{limits}");

    let best = get(addr, "/api/showtimes/1/best?count=2");
    assert_eq!(best.status, 200, "{}", best.body);
    assert_eq!(
        best.json()["seats"],
        Value::from(vec!["c3", "c4"]),
        "{}",
        best.body
    );
    let refused = get(addr, "/api/showtimes/1/best?count=0");
    assert_eq!(
        (refused.status, refused.problem_type().as_str()),
        (400, "/problems/invalid-request"),
        "{}",
        refused.body
    );
}
