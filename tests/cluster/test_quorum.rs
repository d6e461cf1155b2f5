//! A node without a quorum answers writes with 503 within its timeout and its console stays usable.

use std::time::{Duration, Instant};

use crate::util::*;

#[test]
fn a_lone_node_answers_writes_with_503_in_bounded_time_and_its_console_still_works() {
    let mut cluster = Cluster::configure(3);
    let addr = cluster.addrs[0].clone();
    cluster.spawn(0, true);
    wait_until(Duration::from_secs(10), "node 0 answers HTTP", || {
        try_get(&addr, "/v1/status")
    });

    let started = Instant::now();
    let answer = book(&addr, &["a1"], "alice");
    let took = started.elapsed();
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(
        answer.json()["type"],
        "/problems/unavailable",
        "{}",
        answer.body
    );
    // The profile's write timeout is 2 s; allow generous slack for a loaded CI machine.
    assert!(took < Duration::from_secs(8), "503 took {took:?}");

    let node = cluster.node(0);
    node.type_line("is-leader");
    node.expect_output(0, "there is no leader", Duration::from_secs(10));
    let mark = node.seen.len();
    node.type_line("a1");
    node.expect_output(mark, "Could not book", Duration::from_secs(15));
    let mark = node.seen.len();
    node.type_line("help");
    node.expect_output(mark, "is-leader", Duration::from_secs(5));
}
