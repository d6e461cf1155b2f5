//! The demo console driven through piped stdin on all three nodes.

use std::time::Duration;

use crate::util::*;

#[test]
fn demo_console_books_refuses_taken_seats_answers_is_leader_and_notifies_other_nodes() {
    let mut cluster = Cluster::configure(3);
    for id in 0..3 {
        cluster.spawn(id, true);
    }
    cluster.wait_for_leader(Duration::from_secs(20));
    let wait = Duration::from_secs(15);

    // Every console shows the seat map once the plugin is in place, and every console (not only
    // the first to start) noticed the first commits: the membership and the plugin install.
    for id in 0..3 {
        let node = cluster.node(id);
        node.expect_output(0, "Showtime 1", wait);
        let membership = node.expect_output(0, "membership: voters", wait);
        assert!(membership.contains("voters 0, 1, 2"), "{membership}");
        node.expect_output(0, "plugin seat-logic", wait);
    }

    let node = cluster.node(0);
    let mark = node.seen.len();
    node.type_line("a1");
    node.expect_output(mark, "Booked a1", wait);
    let mark = node.seen.len();
    node.type_line("a1");
    node.expect_output(mark, "already taken", wait);
    let mark = node.seen.len();
    node.type_line("is-leader");
    let answer = node.expect_output(mark, "node 0", wait);
    assert!(
        answer.starts_with("yes:") || answer.starts_with("no:"),
        "{answer}"
    );
    let mark = node.seen.len();
    node.type_line("no-such-command");
    node.expect_output(mark, "unknown command", wait);

    for id in 1..3 {
        let notice = cluster.node(id).expect_output(0, "[commit", wait);
        assert!(notice.contains("term"), "{notice}");
        cluster.node(id).expect_output(0, "a1", wait);
    }

    let node = cluster.node(0);
    node.type_line("exit");
    wait_until(
        Duration::from_secs(10),
        "console exit ends the process",
        || try_get(&node.addr, "/v1/status").is_none().then_some(()),
    );
}
