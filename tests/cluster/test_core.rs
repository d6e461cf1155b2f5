//! The replicated core: replicas agree whatever a single node does or is configured with.
//!
//! - a read that runs out of fuel on one node (a node-local instance) changes nothing
//!   replicated: the next writes apply alike everywhere;
//! - a snapshot that cannot be written on one node (its disk fails) does not stop it applying
//!   or make it disagree;
//! - a node whose `config.json` proposes other plugin limits runs under the cluster's (from the
//!   log) and agrees;
//! - a follower removed and added again under load catches up and agrees.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::*;

/// Every live node's (applied index, state hash) once they agree (30 s at most).
fn agreed(cluster: &Cluster) -> (u64, String) {
    agreed_state(cluster, Duration::from_secs(30))
}

#[test]
fn a_read_that_runs_out_of_fuel_on_one_node_changes_nothing_replicated() {
    // A budget bookings fit in (they cost ~30k units) and a 100-showtime page does not.
    let mut cluster =
        Cluster::configure_with(3, json!({"plugin_limits": {"fuel_per_call": 150_000u64}}));
    for id in 0..3 {
        cluster.spawn(id, false);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(20));
    let follower = cluster.addrs[(leader + 1) % 3].clone();
    for id in 0..40 {
        create_showtime(&cluster.addrs[leader], 100 + id, 2, 5);
    }
    let before = agreed(&cluster);

    let heavy = get(&follower, "/api/showtimes?limit=100&consistency=local");
    assert_eq!(heavy.status, 500, "{}", heavy.body);
    assert_eq!(
        heavy.problem_type(),
        "/problems/plugin-fault",
        "{}",
        heavy.body
    );
    assert!(heavy.body.contains("fuel"), "{}", heavy.body);
    // Again and again: the local instance is rebuilt each time, the replicated one untouched.
    for _ in 0..3 {
        assert_eq!(
            get(&follower, "/api/showtimes?limit=100&consistency=local").status,
            500
        );
    }
    // The follower still answers small reads, and writes apply alike on every replica.
    assert_eq!(
        get(&follower, "/api/showtimes/100?consistency=local").status,
        200
    );
    for (i, seat) in ["a1", "a2", "b1"].iter().enumerate() {
        let body = json!({"seats": [seat], "user": format!("u{i}")}).to_string();
        assert_eq!(
            post(&follower, "/api/showtimes/100/bookings", &body).status,
            201
        );
    }
    let after = agreed(&cluster);
    assert!(after.0 > before.0);
    assert_ne!(
        after.1, before.1,
        "the bookings changed the state, alike everywhere"
    );
}

#[test]
fn a_snapshot_that_cannot_be_written_on_one_node_stops_nothing() {
    let mut cluster = Cluster::configure_with(3, json!({"snapshot_every": 16}));
    for id in 0..3 {
        cluster.spawn_prod(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let victim = (leader + 1) % 3;
    // The victim's snapshot folder becomes a file: every snapshot write there fails.
    let snapshots = cluster.data_dir(victim).join("snapshots");
    std::fs::remove_dir_all(&snapshots).expect("remove snapshots");
    std::fs::write(&snapshots, b"not a folder").expect("block it");
    create_showtime(&cluster.addrs[leader], 90, 4, 10);
    for i in 0..40 {
        let body = json!({"seats": [format!("{}{}", ["a", "b", "c", "d"][i / 10], i % 10 + 1)],
                          "user": format!("u{i}")})
        .to_string();
        assert_eq!(
            post(&cluster.addrs[i % 3], "/api/showtimes/90/bookings", &body).status,
            201
        );
    }
    let (applied, _) = agreed(&cluster);
    assert!(applied > 40);
    // The others wrote snapshots at the same base points; the victim logged its failures.
    let healthy = cluster.addrs[(leader + 2) % 3].clone();
    let snapshot = get(&healthy, "/v1/status").json()["snapshot"].as_u64();
    assert!(
        snapshot.is_some_and(|s| s >= 16),
        "snapshots elsewhere: {snapshot:?}"
    );
    let log = std::fs::read_to_string(cluster.dir.path().join(format!("node-{victim}.stderr")))
        .expect("log");
    assert!(
        log.contains("cannot write a snapshot"),
        "{}",
        cluster.diagnose()
    );
    assert_eq!(
        booked_by(&cluster.addrs[victim], 90).map(|b| b.len()),
        Some(40)
    );
}

#[test]
fn a_node_proposing_other_plugin_limits_runs_under_the_clusters_and_agrees() {
    let mut cluster = Cluster::configure(3);
    // Node 2 reads its own profile, whose limits would fail every booking (~30k units each).
    let tight = cluster.dir.path().join("tight.json");
    let mut profile: Value =
        serde_json::from_str(&std::fs::read_to_string(&cluster.config).expect("config"))
            .expect("json");
    profile["default"]["plugin_limits"] = json!({"fuel_per_call": 10_000u64});
    std::fs::write(&tight, profile.to_string()).expect("write");
    cluster.spawn(0, false);
    cluster.spawn(1, false);
    cluster.wait_for_leader(Duration::from_secs(20));
    cluster.spawn_with(2, false, &["--config-file", tight.to_str().expect("utf-8")]);
    cluster.wait_for_leader(Duration::from_secs(20));

    let configs: Vec<Value> = cluster
        .addrs
        .iter()
        .map(|addr| get(addr, "/v1/config").json())
        .collect();
    for config in &configs {
        assert_eq!(config, &configs[0]);
        assert_eq!(config["fuel_per_call"], 50_000_000u64, "{config}");
    }
    for (i, seat) in ["a1", "a2", "a3"].iter().enumerate() {
        assert_eq!(
            book(&cluster.addrs[2], &[seat], &format!("u{i}")).status,
            201
        );
    }
    agreed(&cluster);
    assert_eq!(
        booked_seats(&cluster.addrs[2]).map(|s| s.len()),
        Some(3),
        "node 2 applied them too"
    );
}

#[test]
fn a_follower_removed_and_added_again_under_load_catches_up_and_agrees() {
    let mut cluster = Cluster::configure_with(3, json!({"snapshot_every": 64}));
    for id in 0..3 {
        cluster.spawn_prod(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let victim = (leader + 1) % 3;
    create_showtime(&cluster.addrs[leader], 90, 12, 20);
    raise_customer_limit(&cluster.addrs[leader]);
    let stable: Vec<String> = (0..3)
        .filter(|id| *id != victim)
        .map(|id| cluster.addrs[id].clone())
        .collect();

    // Two clients book distinct seats through the nodes that stay.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..2)
        .map(|client| {
            let (acked, stop, targets) = (acked.clone(), stop.clone(), stable.clone());
            std::thread::spawn(move || {
                let seats =
                    (b'a'..=b'l').flat_map(|r| (1..=20).map(move |n| format!("{}{n}", r as char)));
                for (i, seat) in seats.skip(client).step_by(2).enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let body = json!({"seats": [seat], "user": format!("c{client}")}).to_string();
                    let key = format!("re-added-{client}-{i:06}");
                    let answer = try_request(
                        "POST",
                        &targets[i % targets.len()],
                        "/api/showtimes/90/bookings",
                        Some(&body),
                        &[("idempotency-key", &key)],
                    );
                    if answer.is_some_and(|a| a.status == 201) {
                        acked.lock().expect("lock").push(seat);
                    }
                    // A steady load, not a flood: the changes must happen while it runs.
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        })
        .collect();
    let acks = |n: usize| {
        wait_until(Duration::from_secs(60), "bookings acknowledged", || {
            (acked.lock().expect("lock").len() >= n).then_some(())
        })
    };
    acks(20);
    let removed = admin_send(
        "POST",
        &stable[0],
        "/v1/members",
        &json!({"remove": cluster.addrs[victim]}).to_string(),
    );
    assert_eq!(removed.status, 200, "{}", removed.body);
    let seen = acked.lock().expect("lock").len();
    acks(seen + 20);
    // The removed node restarts with its data and is added again.
    cluster.node(victim).kill();
    cluster.spawn_prod(victim);
    let victim_addr = cluster.addrs[victim].clone();
    wait_until(
        Duration::from_secs(20),
        "the removed node answers again",
        || try_get(&victim_addr, "/v1/status"),
    );
    let added = admin_send(
        "POST",
        &stable[1],
        "/v1/members",
        &json!({"add": cluster.addrs[victim]}).to_string(),
    );
    assert_eq!(added.status, 200, "{}", added.body);
    let seen = acked.lock().expect("lock").len();
    acks(seen + 20);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client");
    }
    let (_, hash) = agreed(&cluster);
    assert!(!hash.is_empty());
    let acked = acked.lock().expect("lock").clone();
    let booked = booked_by(&cluster.addrs[victim], 90).expect("bookings");
    for seat in &acked {
        assert!(
            booked.contains_key(seat),
            "{seat} missing on the re-added node"
        );
    }
}

/// Bookings in the big-state test: `RESERVOIR_BIG_STATE` overrides the 300,000.
fn big_state_bookings() -> usize {
    std::env::var("RESERVOIR_BIG_STATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300_000)
}

/// Seats per showtime of the big hall (26 rows x 100).
const BIG_HALL: usize = 2600;

/// Creates one 26 x 100 hall and showtimes `first..first + count` in it.
fn create_big_showtimes(addr: &str, first: u32, count: u32) {
    let rows: Vec<Value> = (b'a'..=b'z')
        .map(|r| json!({"row": (r as char).to_string(), "seats": 100}))
        .collect();
    let theater = admin_send(
        "POST",
        addr,
        "/api/theaters",
        &json!({"name": "Big hall", "location": "Load wing", "rows": rows}).to_string(),
    );
    assert_eq!(theater.status, 201, "{}", theater.body);
    for id in first..first + count {
        let showtime = admin_send(
            "POST",
            addr,
            "/api/showtimes",
            &json!({
                "id": id, "movie_id": 1, "theater_id": theater.json()["id"],
                "starts_at": "2026-12-31T21:00:00Z", "price_cents": 900,
            })
            .to_string(),
        );
        assert_eq!(showtime.status, 201, "{}", showtime.body);
    }
}

/// Books `count` distinct seats, one per booking and each for its own customer, across the
/// big showtimes from `first`, with `clients` concurrent keep-alive clients on `addr`. Every
/// booking must succeed: a retried request whose first try went through answers 409 for a seat
/// only that client books, which counts as booked. Returns bookings per second.
fn fill(addr: &str, first: u32, count: usize, clients: usize) -> f64 {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(900);
    std::thread::scope(|scope| {
        for client in 0..clients {
            scope.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(15))
                    .build();
                for n in (client..count).step_by(clients) {
                    let showtime = first + (n / BIG_HALL) as u32;
                    let seat = n % BIG_HALL;
                    let seat = format!("{}{}", (b'a' + (seat / 100) as u8) as char, seat % 100 + 1);
                    let body = json!({"seats": [seat], "user": format!("u{n}")}).to_string();
                    let url = format!("http://{addr}/api/showtimes/{showtime}/bookings");
                    let mut tries = 0;
                    loop {
                        assert!(Instant::now() < deadline, "the fill took over 15 minutes");
                        let status = match agent
                            .post(&url)
                            .set("content-type", "application/json")
                            .send_string(&body)
                        {
                            Ok(r) => r.status(),
                            Err(ureq::Error::Status(code, _)) => code,
                            Err(_) => 0,
                        };
                        match status {
                            201 => break,
                            409 if tries > 0 => break,
                            _ if tries < 5 => tries += 1,
                            _ => panic!("booking {seat} of showtime {showtime}: status {status}"),
                        }
                    }
                }
            });
        }
    });
    count as f64 / started.elapsed().as_secs_f64()
}

/// Bytes of the newest snapshot file in a node's data dir.
fn snapshot_bytes(data_dir: &std::path::Path) -> u64 {
    std::fs::read_dir(data_dir.join("snapshots"))
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".snap"))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

#[test]
fn a_300k_booking_state_reaches_a_wiped_follower_within_a_minute() {
    let bookings = big_state_bookings();
    let mut cluster = Cluster::configure(3);
    for id in 0..3 {
        cluster.spawn_prod(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let leader_addr = cluster.addrs[leader].clone();
    let showtimes = bookings.div_ceil(BIG_HALL) as u32;
    create_big_showtimes(&leader_addr, 1000, showtimes);
    let rate = fill(&leader_addr, 1000, bookings, 32);
    println!("filled {bookings} bookings at {rate:.0}/s");
    let (applied, hash) = agreed(&cluster);

    // A follower loses its disk and joins again: the leader's snapshot is all it can start from.
    let victim = (leader + 1) % 3;
    cluster.node(victim).kill();
    let dir = cluster.data_dir(victim);
    std::fs::remove_dir_all(&dir).expect("wipe data dir");
    let started = Instant::now();
    cluster.spawn_with(
        victim,
        false,
        &[
            "--prod",
            "--data-dir",
            dir.to_str().expect("utf-8"),
            "--join",
            &leader_addr,
        ],
    );
    let victim_addr = cluster.addrs[victim].clone();
    wait_until(
        Duration::from_secs(60),
        "the wiped follower serves the leader's state hash",
        || {
            let report = try_get(&victim_addr, "/v1/plugin")?.json();
            (report["applied"].as_u64()? >= applied && report["state_hash"] == json!(hash))
                .then_some(())
        },
    );
    println!(
        "wiped follower at the same state hash in {:?} ({} snapshot bytes)",
        started.elapsed(),
        snapshot_bytes(&dir)
    );
    // And it takes part: a booking through it reaches every node.
    assert_eq!(book(&victim_addr, &["a1"], "late").status, 201);
    agreed(&cluster);
}
