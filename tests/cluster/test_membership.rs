//! Runtime membership: grow 3 -> 4 and shrink 4 -> 3 (removing the leader) under booking load
//! on prod nodes, membership intact after restarting every node, `--join`, and bad requests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::util::*;

fn change(addr: &str, body: Value) -> Answer {
    admin_send("POST", addr, "/v1/members", &body.to_string())
}

/// The voters' public API addresses as `addr` sees them.
fn voters(addr: &str) -> Option<Vec<String>> {
    let members = try_get(addr, "/v1/members")?.json();
    Some(
        members["voters"]
            .as_object()?
            .values()
            .filter_map(|m| m["api"].as_str().map(str::to_string))
            .collect(),
    )
}

/// Starts node 3, which is not in the profile, with `--join via --addr own --peer-addr
/// own_peer`; its stdout and stderr go to `joiner.stdout` and `joiner.stderr` in the cluster dir.
fn spawn_joiner(cluster: &Cluster, via: &str, own: &str, own_peer: &str) -> std::process::Child {
    let file = |name: &str| std::fs::File::create(cluster.dir.path().join(name)).expect(name);
    std::process::Command::new(host_bin())
        .args(["--id", "3", "--no-console", "--join", via])
        .args(["--addr", own, "--peer-addr", own_peer])
        .arg("--config-file")
        .arg(&cluster.config)
        .arg("--plugin")
        .arg(seat_plugin())
        .arg("--secrets")
        .arg(secrets_dir())
        .arg("--cache-dir")
        .arg(shared_cache())
        .stdin(std::process::Stdio::null())
        .stdout(file("joiner.stdout"))
        .stderr(file("joiner.stderr"))
        .spawn()
        .expect("spawn joiner")
}

/// The load's showtimes.
const SHOWTIMES: std::ops::RangeInclusive<u32> = 90..=97;

/// "showtime/seat" -> user of the load's showtimes on `addr` (local read).
fn holders(addr: &str) -> Option<BTreeMap<String, String>> {
    let mut seats = BTreeMap::new();
    for showtime in SHOWTIMES {
        for (seat, user) in booked_by(addr, showtime)? {
            seats.insert(format!("{showtime}/{seat}"), user);
        }
    }
    Some(seats)
}

fn assert_has_all(addr: &str, acked: &[(String, String)]) {
    let held = wait_until(
        Duration::from_secs(20),
        "every acknowledged booking",
        || holders(addr).filter(|h| acked.iter().all(|(seat, _)| h.contains_key(seat))),
    );
    for (seat, user) in acked {
        assert_eq!(held.get(seat), Some(user), "{addr} {seat}");
    }
}

#[test]
fn grow_to_four_and_shrink_by_removing_the_leader_under_load_then_restart_everything() {
    let mut cluster = Cluster::configure(3);
    for id in 0..3 {
        cluster.spawn_prod(id);
    }
    cluster.wait_for_leader(Duration::from_secs(30));
    raise_customer_limit(&cluster.addrs[0]);
    for showtime in SHOWTIMES {
        create_showtime(&cluster.addrs[0], showtime, 12, 20);
    }

    // Two clients book distinct seats through whichever nodes answer.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let last_refusal: Arc<Mutex<String>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let addrs = Arc::new(Mutex::new(cluster.addrs[..3].to_vec()));
    let clients: Vec<_> = (0..2)
        .map(|client| {
            let (acked, stop, addrs) = (acked.clone(), stop.clone(), addrs.clone());
            let last_refusal = last_refusal.clone();
            std::thread::spawn(move || {
                let user = format!("m{client}");
                let seats = SHOWTIMES.flat_map(|show| {
                    (b'a'..=b'l').flat_map(move |r| {
                        (1..=20).map(move |n| (show, format!("{}{n}", r as char)))
                    })
                });
                for (i, (show, seat)) in seats.skip(client).step_by(2).enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    // A steady load, not a flood: the changes must happen while it runs.
                    std::thread::sleep(Duration::from_millis(5));
                    let targets = addrs.lock().expect("lock").clone();
                    let body = json!({"seats": [seat], "user": user}).to_string();
                    let key = format!("membership-{client}-{i:06}");
                    let answer = try_request(
                        "POST",
                        &targets[i % targets.len()],
                        &format!("/api/showtimes/{show}/bookings"),
                        Some(&body),
                        &[("idempotency-key", &key)],
                    );
                    match answer {
                        Some(a) if a.status == 201 => acked
                            .lock()
                            .expect("lock")
                            .push((format!("{show}/{seat}"), user.clone())),
                        Some(a) => {
                            *last_refusal.lock().expect("lock") = format!("{} {}", a.status, a.body)
                        }
                        None => *last_refusal.lock().expect("lock") = "no answer".into(),
                    }
                }
            })
        })
        .collect();
    let acks = |n: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while acked.lock().expect("lock").len() < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{} of {n} bookings acknowledged; last refusal: {}",
                acked.lock().expect("lock").len(),
                last_refusal.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    acks(20);

    // Grow: node 3 is added to the profile and started; it finds the running cluster and waits.
    let new = cluster.add_to_profile();
    cluster.spawn_prod(new);
    let new_addr = cluster.addrs[new].clone();
    wait_until(Duration::from_secs(20), "the new node answers", || {
        try_get(&new_addr, "/v1/status")
    });
    let grown = change(&cluster.addrs[1], json!({"add": new_addr}));
    assert_eq!(grown.status, 200, "{}", grown.body);
    assert_eq!(
        grown.json()["voters"].as_object().map(|v| v.len()),
        Some(4),
        "{}",
        grown.body
    );
    for addr in &cluster.addrs {
        wait_until(Duration::from_secs(10), "four voters everywhere", || {
            voters(addr).filter(|v| v.len() == 4)
        });
    }
    addrs.lock().expect("lock").push(new_addr.clone());
    let before = acked.lock().expect("lock").len();
    acks(before + 20);

    // Shrink: remove the leader itself; it hands leadership over first.
    let old_leader = cluster.wait_for_leader(Duration::from_secs(10));
    let old_addr = cluster.addrs[old_leader].clone();
    addrs.lock().expect("lock").retain(|a| *a != old_addr);
    let shrunk = change(&old_addr, json!({"remove": old_addr}));
    assert_eq!(shrunk.status, 200, "{}", shrunk.body);
    let remaining: Vec<String> = cluster
        .addrs
        .iter()
        .filter(|a| **a != old_addr)
        .cloned()
        .collect();
    for addr in &remaining {
        let now = wait_until(
            Duration::from_secs(10),
            "three voters on the others",
            || voters(addr).filter(|v| v.len() == 3),
        );
        assert!(!now.contains(&old_addr), "{now:?}");
    }
    let before = acked.lock().expect("lock").len();
    acks(before + 20);
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client");
    }
    let acked = acked.lock().expect("lock").clone();
    println!("{} bookings acknowledged across the changes", acked.len());
    for addr in &remaining {
        assert_has_all(addr, &acked);
    }
    // The removed node stopped taking part: its process ended on its own, cleanly, after
    // answering the request that removed it (asserted above).
    assert_eq!(
        cluster.node(old_leader).wait_exit(Duration::from_secs(20)),
        Some(0),
        "the removed node exits with status 0"
    );

    // Restart every remaining node: the membership comes back from their logs.
    let remaining_ids: Vec<usize> = (0..cluster.addrs.len())
        .filter(|id| *id != old_leader)
        .collect();
    for id in &remaining_ids {
        cluster.node(*id).kill();
    }
    for id in &remaining_ids {
        cluster.spawn_prod(*id);
    }
    cluster.wait_for_leader(Duration::from_secs(30));
    for addr in &remaining {
        let now = wait_until(Duration::from_secs(20), "membership after restart", || {
            voters(addr).filter(|v| v.len() == 3)
        });
        assert!(!now.contains(&old_addr));
        assert_has_all(addr, &acked);
    }
}

#[test]
fn join_adds_a_node_without_config_and_bad_changes_are_refused_clearly() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = cluster.addrs[(leader + 1) % 3].clone();

    // --join: node 3 is not in config.json at all; it names the member by its API address.
    let ports = free_ports(2);
    let own = format!("127.0.0.1:{}", ports[0]);
    let own_peer = format!("127.0.0.1:{}", ports[1]);
    let mut joiner = spawn_joiner(&cluster, &follower, &own, &own_peer);
    for addr in cluster.addrs.iter().chain([&own]) {
        let now = wait_until(
            Duration::from_secs(30),
            "the joiner is a voter everywhere",
            || voters(addr).filter(|v| v.len() == 4),
        );
        assert!(now.contains(&own), "{now:?}");
    }
    assert_eq!(book(&own, &["b2"], "joiner").status, 201);

    // Bad requests, each with a clear answer.
    let malformed = change(&follower, json!({"add": "not an address"}));
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert!(malformed.body.contains("HOST:PORT"), "{}", malformed.body);
    let again = change(&follower, json!({"add": own}));
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body.contains("already a member"), "{}", again.body);
    let nobody = format!("127.0.0.1:{}", free_ports(1)[0]);
    let unreachable = change(&follower, json!({"add": nobody}));
    assert_eq!(unreachable.status, 502, "{}", unreachable.body);
    assert!(
        unreachable.body.contains("cannot reach"),
        "{}",
        unreachable.body
    );
    let stranger = change(&follower, json!({"remove": nobody}));
    assert_eq!(stranger.status, 404, "{}", stranger.body);
    let both = change(&follower, json!({"add": own, "remove": own}));
    assert_eq!(both.status, 400, "{}", both.body);
    let unknown_field = change(&follower, json!({"add": own, "voter": true}));
    assert_eq!(unknown_field.status, 400, "{}", unknown_field.body);

    // With two of four voters down, removing a third live one would leave no reachable majority.
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let others: Vec<usize> = (0..3).filter(|id| *id != leader).collect();
    cluster.node(others[0]).kill();
    joiner.kill().expect("kill joiner");
    let _ = joiner.wait();
    let target = cluster.addrs[others[1]].clone();
    let dead = json!(others[0]);
    wait_until(
        Duration::from_secs(15),
        "the leader notices the dead nodes",
        || {
            let members = try_get(&cluster.addrs[leader], "/v1/members")?.json();
            let reachable = members["reachable"].as_array()?.clone();
            (!reachable.contains(&dead) && !reachable.contains(&json!(3))).then_some(())
        },
    );
    let refused = change(&cluster.addrs[leader], json!({"remove": target}));
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert!(refused.body.contains("--force"), "{}", refused.body);
    assert_eq!(
        voters(&cluster.addrs[leader]).map(|v| v.len()),
        Some(4),
        "nothing changed"
    );
}

#[test]
fn the_dev_console_adds_and_removes_a_node_and_shows_progress() {
    let mut cluster = Cluster::configure(3);
    cluster.spawn_with(0, true, &["--dev"]);
    cluster.spawn(1, false);
    cluster.spawn(2, false);
    cluster.wait_for_leader(Duration::from_secs(20));
    let new = cluster.add_to_profile();
    cluster.spawn(new, false);
    let new_addr = cluster.addrs[new].clone();
    wait_until(Duration::from_secs(20), "the new node answers", || {
        try_get(&new_addr, "/v1/status")
    });

    let new_peer = cluster.peers[new].clone();
    let console = cluster.node(0);
    let from = console.seen.len();
    console.type_line(&format!("add-node {new_addr}"));
    console.expect_output(
        from,
        &format!("adding {new_addr}: it joins as a learner"),
        Duration::from_secs(10),
    );
    console.expect_output(from, "done in", Duration::from_secs(60));
    console.expect_output(
        from,
        &format!("node {new}  {new_addr}  (peer {new_peer})  voter"),
        Duration::from_secs(5),
    );

    let from = console.seen.len();
    console.type_line(&format!("add-node {new_addr}"));
    console.expect_output(from, "already a member", Duration::from_secs(10));

    let from = console.seen.len();
    console.type_line(&format!("remove-node {new_addr}"));
    console.expect_output(from, "done in", Duration::from_secs(30));
    let from = console.seen.len();
    console.type_line("members");
    console.expect_output(from, "members:", Duration::from_secs(5));
    let members = wait_until(Duration::from_secs(10), "three voters again", || {
        voters(&cluster.addrs[1]).filter(|v| v.len() == 3)
    });
    assert!(!members.contains(&new_addr), "{members:?}");
}

#[test]
fn a_node_joined_by_host_name_is_removed_by_the_address_as_typed_and_stops() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = cluster.addrs[(leader + 1) % 3].clone();
    let by_name = |addr: &str| addr.replace("127.0.0.1", "localhost");

    // The operator writes host names, as README does; membership keeps them as typed.
    let ports = free_ports(2);
    let own = format!("localhost:{}", ports[0]);
    let own_peer = format!("localhost:{}", ports[1]);
    let mut joiner = spawn_joiner(&cluster, &by_name(&follower), &own, &own_peer);
    let numeric = own.replace("localhost", "127.0.0.1");
    for addr in cluster.addrs.iter().chain([&numeric]) {
        let now = wait_until(
            Duration::from_secs(30),
            "the joiner is a voter everywhere",
            || voters(addr).filter(|v| v.len() == 4),
        );
        assert!(now.contains(&own), "kept as typed: {now:?}");
    }
    let status = operator_get(&numeric, "/v1/status")
        .expect("the joiner answers")
        .json();
    assert_eq!(status["addr"], json!(own), "{status}");

    // `host ctl remove-node` with the address as the operator typed it at `--addr`.
    let removed = std::process::Command::new(host_bin())
        .args(["ctl", "--node", &by_name(&follower), "--token-file"])
        .arg(secrets_dir().join("admin.token"))
        .args(["remove-node", &own])
        .output()
        .expect("run host ctl");
    assert_eq!(
        removed.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&removed.stdout),
        String::from_utf8_lossy(&removed.stderr)
    );
    for addr in &cluster.addrs {
        let now = wait_until(
            Duration::from_secs(20),
            "three voters are left everywhere",
            || voters(addr).filter(|v| v.len() == 3),
        );
        assert!(!now.contains(&own), "{now:?}");
    }

    // The removed node stops on its own and says why.
    let exit = wait_until(Duration::from_secs(20), "the removed node stops", || {
        joiner.try_wait().expect("poll the joiner")
    });
    assert!(exit.success(), "the removed node exits cleanly: {exit}");
    let said = std::fs::read_to_string(cluster.dir.path().join("joiner.stdout")).expect("stdout");
    assert!(said.contains("was removed from the cluster"), "{said}");
    assert_eq!(book(&follower, &["c3"], "after").status, 201);
}
