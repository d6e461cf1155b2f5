//! Prod mode: durable log and snapshots survive kill -9 of every node, compaction, and wiped
//! data dirs; a data dir of another node is refused.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::*;

/// Creates showtime `id` with rows a-l x 20 seats (240 seats) through any node.
fn create_big_showtime(addr: &str, id: u32) {
    create_showtime(addr, id, 12, 20);
}

fn seat_ids() -> Vec<String> {
    (b'a'..=b'l')
        .flat_map(|r| (1..=20).map(move |n| format!("{}{n}", r as char)))
        .collect()
}

/// Seat -> user of showtime `showtime` as node `addr` has applied it (local read, every page);
/// panics if one seat is in two confirmed bookings.
fn holders(addr: &str, showtime: u32) -> Option<BTreeMap<String, String>> {
    let answer = operator_get(
        addr,
        &format!("/api/bookings?showtime={showtime}&consistency=local&limit=500"),
    )?;
    if answer.status != 200 {
        return None;
    }
    let json = answer.json();
    assert!(
        json["next"].is_null(),
        "one page holds a test showtime: {json}"
    );
    let mut held = BTreeMap::new();
    for booking in json["bookings"].as_array()? {
        if booking["status"] != "confirmed" {
            continue;
        }
        for seat in booking["seats"].as_array()? {
            let previous = held.insert(
                seat.as_str()?.to_string(),
                booking["user"].as_str()?.to_string(),
            );
            assert!(
                previous.is_none(),
                "seat {seat} held by two bookings on {addr}"
            );
        }
    }
    Some(held)
}

fn start_prod(cluster: &mut Cluster) {
    for id in 0..cluster.addrs.len() {
        cluster.spawn_prod(id);
    }
    cluster.wait_for_leader(Duration::from_secs(30));
}

#[test]
fn kill_9_of_all_nodes_under_load_loses_no_acknowledged_booking() {
    let mut cluster = Cluster::configure(3);
    start_prod(&mut cluster);
    create_big_showtime(&cluster.addrs[0], 90);
    raise_customer_limit(&cluster.addrs[0]);

    // Eight clients book distinct seats round-robin over the nodes until the kill.
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let seats = seat_ids();
    let clients: Vec<_> = (0..8)
        .map(|client| {
            let addrs = cluster.addrs.clone();
            let acknowledged = acknowledged.clone();
            let stop = stop.clone();
            let mine: Vec<String> = seats.iter().skip(client).step_by(8).cloned().collect();
            std::thread::spawn(move || {
                let user = format!("u{client}");
                for (i, seat) in mine.iter().enumerate() {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let body = json!({"seats": [seat], "user": user}).to_string();
                    let Some(answer) = try_send(
                        "POST",
                        &addrs[i % addrs.len()],
                        "/api/showtimes/90/bookings",
                        &body,
                    ) else {
                        continue;
                    };
                    if answer.status == 201 {
                        acknowledged
                            .lock()
                            .expect("lock")
                            .push((seat.clone(), user.clone()));
                    }
                }
            })
        })
        .collect();
    wait_until(
        Duration::from_secs(30),
        "some bookings acknowledged",
        || (acknowledged.lock().expect("lock").len() >= 60).then_some(()),
    );
    for node in &mut cluster.nodes {
        node.kill();
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().expect("client thread");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    println!(
        "{} bookings acknowledged before the kill",
        acknowledged.len()
    );

    start_prod(&mut cluster);
    for addr in cluster.addrs.clone() {
        let held = wait_until(
            Duration::from_secs(20),
            "every acknowledged booking on every node",
            || {
                holders(&addr, 90)
                    .filter(|held| acknowledged.iter().all(|(seat, _)| held.contains_key(seat)))
            },
        );
        for (seat, user) in &acknowledged {
            assert_eq!(held.get(seat), Some(user), "seat {seat} on {addr}");
        }
    }
    // The restarted cluster takes new bookings.
    assert_eq!(book(&cluster.addrs[1], &["a6"], "after").status, 201);
}

#[test]
fn a_follower_down_during_compaction_rejoins_through_a_snapshot() {
    let mut cluster = Cluster::configure_with(3, json!({"snapshot_every": 20, "snapshot_keep": 5}));
    start_prod(&mut cluster);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let follower = (leader + 1) % 3;
    cluster.node(follower).kill();

    create_big_showtime(&cluster.addrs[leader], 91);
    raise_customer_limit(&cluster.addrs[leader]);
    for seat in seat_ids().iter().take(60) {
        let body = json!({"seats": [seat], "user": "alice"}).to_string();
        assert_eq!(
            post(&cluster.addrs[leader], "/api/showtimes/91/bookings", &body).status,
            201
        );
    }
    // The leader compacts once its stream to the dead follower stops holding the log back.
    let leader_addr = cluster.addrs[leader].clone();
    wait_until(
        Duration::from_secs(20),
        "the leader snapshots and purges its log",
        || {
            let status = get(&leader_addr, "/v1/status").json();
            let snapshot = status["snapshot"].as_u64()?;
            let purged = status["purged"].as_u64()?;
            (snapshot >= 20 && purged >= 10).then_some(())
        },
    );

    cluster.spawn_prod(follower);
    let addr = cluster.addrs[follower].clone();
    wait_until(
        Duration::from_secs(30),
        "the follower converges through a snapshot",
        || holders(&addr, 91).filter(|held| held.len() == 60),
    );
}

#[test]
fn a_node_whose_data_dir_was_wiped_is_refused_until_it_joins_again() {
    let mut cluster = Cluster::configure(3);
    start_prod(&mut cluster);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    assert_eq!(
        book(&cluster.addrs[leader], &["a1", "a2"], "alice").status,
        201
    );
    let victim = (leader + 2) % 3;
    cluster.node(victim).kill();
    std::fs::remove_dir_all(cluster.data_dir(victim)).expect("wipe data dir");
    assert_eq!(book(&cluster.addrs[leader], &["a3"], "bob").status, 201);

    // Restarted as it was, it would vote under an identity whose vote record is gone: refused,
    // saying how to recover.
    cluster.spawn_prod(victim);
    let code = cluster.node(victim).wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(2), "a wiped member must not start as itself");
    let stderr = std::fs::read_to_string(cluster.dir.path().join(format!("node-{victim}.stderr")))
        .expect("stderr log");
    assert!(stderr.contains("--join"), "says how to recover: {stderr}");
    assert!(stderr.contains("vote"), "says why: {stderr}");

    // Started with --join, the old incarnation is removed and the node is added again fresh.
    let started = Instant::now();
    let dir = cluster.data_dir(victim);
    let via = cluster.addrs[leader].clone();
    cluster.spawn_with(
        victim,
        false,
        &[
            "--prod",
            "--data-dir",
            dir.to_str().expect("utf-8"),
            "--join",
            &via,
        ],
    );
    let addr = cluster.addrs[victim].clone();
    wait_until(
        Duration::from_secs(60),
        "the rejoined node catches up",
        || booked_seats(&addr).filter(|seats| seats == &["a1", "a2", "a3"]),
    );
    for node_addr in &cluster.addrs {
        wait_until(Duration::from_secs(30), "three voters again", || {
            let members = try_get(node_addr, "/v1/members")?.json();
            (members["voters"].as_object()?.len() == 3).then_some(())
        });
    }
    assert_eq!(book(&addr, &["a4"], "carol").status, 201);
    println!(
        "wiped node rejoined and caught up in {:?}",
        started.elapsed()
    );
}

#[test]
fn a_data_dir_of_another_node_or_a_corrupt_snapshot_is_refused_at_startup() {
    let mut cluster = Cluster::configure_with(3, json!({"snapshot_every": 16}));
    start_prod(&mut cluster);
    for i in 0..24 {
        assert_eq!(
            book(
                &cluster.addrs[0],
                &[&format!("{}{}", ["a", "b", "c", "d"][i / 6], i % 6 + 1)],
                &format!("user{i}")
            )
            .status,
            201
        );
    }
    wait_until(Duration::from_secs(10), "node 1 took a snapshot", || {
        get(&cluster.addrs[1], "/v1/status").json()["snapshot"].as_u64()
    });
    for node in &mut cluster.nodes {
        node.kill();
    }
    let dir0 = cluster.data_dir(0);
    let dir0 = dir0.to_str().expect("utf-8");
    let config = cluster.config.to_str().expect("utf-8").to_string();
    let plugin = seat_plugin();
    let plugin = plugin.to_str().expect("utf-8");
    let secrets = secrets_dir().to_str().expect("utf-8").to_string();
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--secrets", secrets.as_str()]);
        let (code, stderr) = run_host(&args);
        (Some(code), stderr)
    };
    let (code, stderr) = run(&[
        "--id",
        "1",
        "--prod",
        "--data-dir",
        dir0,
        "--config-file",
        &config,
        "--plugin",
        plugin,
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("node 0"), "names the owner: {stderr}");

    let snapshots = cluster.data_dir(1).join("snapshots");
    // The snapshot file proper (a kill during a save may also leave a temp file).
    let file = std::fs::read_dir(&snapshots)
        .expect("snapshot dir")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "snap"))
        .expect("a snapshot file");
    let mut bytes = std::fs::read(&file).expect("read snapshot");
    let len = bytes.len();
    bytes.truncate(len - 7);
    std::fs::write(&file, bytes).expect("truncate snapshot");
    let dir1 = cluster.data_dir(1);
    let (code, stderr) = run(&[
        "--id",
        "1",
        "--prod",
        "--data-dir",
        dir1.to_str().expect("utf-8"),
        "--config-file",
        &config,
        "--plugin",
        plugin,
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert_eq!(
        stderr
            .trim_end()
            .lines()
            .filter(|l| l.starts_with("error"))
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_prod_node_stops_cleanly_on_sigterm_and_restarts_with_its_data() {
    let mut cluster = Cluster::configure(1);
    cluster.spawn_prod(0);
    cluster.wait_for_leader(Duration::from_secs(20));
    assert_eq!(book(&cluster.addrs[0], &["d4"], "carol").status, 201);
    let pid = cluster.node(0).pid().expect("running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("run kill");
    assert!(sent.success());
    let code = cluster.node(0).wait_exit(Duration::from_secs(15));
    assert_eq!(code, Some(0), "SIGTERM must end a prod node with status 0");

    cluster.spawn_prod(0);
    let addr = cluster.addrs[0].clone();
    wait_until(
        Duration::from_secs(20),
        "the booking is back after the restart",
        || booked_seats(&addr).filter(|seats| seats == &["d4"]),
    );
}
