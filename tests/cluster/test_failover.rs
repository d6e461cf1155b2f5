//! Killing the leader with SIGKILL: a new leader takes over and nothing committed is lost.

use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn after_kill_9_of_the_leader_a_new_leader_serves_and_earlier_bookings_survive() {
    let mut cluster = Cluster::start(3);
    let old_leader = cluster.wait_for_leader(Duration::from_secs(10));
    let before = book(&cluster.addrs[old_leader], &["c1", "c2"], "alice");
    assert_eq!(before.status, 201, "{}", before.body);

    let killed_at = Instant::now();
    cluster.node(old_leader).kill();
    let new_leader = cluster.wait_for_leader(Duration::from_secs(15));
    assert_ne!(new_leader, old_leader);
    println!(
        "new leader {new_leader} agreed on {:?} after the kill",
        killed_at.elapsed()
    );

    let survivor = cluster
        .live_addrs()
        .into_iter()
        .find(|a| *a != cluster.addrs[new_leader])
        .expect("a follower survives");
    let after = book(&survivor, &["c3"], "bob");
    assert_eq!(after.status, 201, "{}", after.body);

    for addr in cluster.live_addrs() {
        let seats = wait_until(
            Duration::from_secs(5),
            "both bookings on every survivor",
            || booked_seats(&addr).filter(|s| s.len() == 3),
        );
        assert_eq!(seats, ["c1", "c2", "c3"]);
    }
}

/// Sends SIGSTOP (or SIGCONT) to a node's process.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid}");
}

#[test]
fn a_write_forwarded_to_a_paused_leader_ends_when_a_new_leader_is_elected() {
    // A write timeout far above the election time: an answer well before it came from the
    // follower noticing the election, not from the timeout.
    let mut cluster = Cluster::configure_with(3, serde_json::json!({"write_timeout_ms": 20_000}));
    for id in 0..3 {
        cluster.spawn(id, false);
    }
    let old_leader = cluster.wait_for_leader(Duration::from_secs(20));
    let follower = cluster.addrs[(old_leader + 1) % 3].clone();
    assert_eq!(book(&follower, &["a1"], "alice").status, 201);
    let pid = cluster.node(old_leader).pid().expect("running");
    signal(pid, "-STOP");

    // Both sent at once, while the follower still takes the paused node for the leader. With
    // an idempotency key the follower sends the write again to the new leader; without one it
    // cannot (the old leader may still commit it) and answers 503 once it sees the election.
    let timed = |key: Option<&'static str>, seat: &'static str| {
        let follower = follower.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let body = serde_json::json!({"seats": [seat], "user": seat}).to_string();
            let headers: Vec<(&str, &str)> =
                key.map(|k| ("idempotency-key", k)).into_iter().collect();
            let answer = request(
                "POST",
                &follower,
                "/api/showtimes/1/bookings",
                Some(&body),
                &headers,
            );
            (answer, started.elapsed())
        })
    };
    let keyed = timed(Some("failover-retry-0123456789"), "a2");
    let plain = timed(None, "a3");
    let (keyed, keyed_took) = keyed.join().expect("keyed client");
    let (plain, plain_took) = plain.join().expect("plain client");
    signal(pid, "-CONT");

    assert_eq!(keyed.status, 201, "{}", keyed.body);
    assert!(
        keyed_took < Duration::from_secs(10),
        "the keyed write waited {keyed_took:?}"
    );
    assert!(
        [201, 503].contains(&plain.status),
        "{} {}",
        plain.status,
        plain.body
    );
    assert!(
        plain_took < Duration::from_secs(10),
        "the plain write waited {plain_took:?}"
    );
    let (_, _) = agreed_state(&cluster, Duration::from_secs(30));
}
