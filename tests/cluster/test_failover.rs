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
