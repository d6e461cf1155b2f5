//! The dev console's commands run non-interactively with `host ctl`, each asserted on its
//! output and exit status, as an operator's script would use them: 0 when the command did what
//! was asked, 1 (with the reason on stderr) when it was refused, in text and JSON modes alike.

use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::util::*;

/// Runs `host ctl --node ADDR --token-file ADMIN ARGS...`; returns exit code, stdout and
/// stderr.
fn ctl(addr: &str, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(host_bin())
        .args(["ctl", "--node", addr, "--token-file"])
        .arg(secrets_dir().join("admin.token"))
        .args(args)
        .output()
        .expect("run host ctl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn ok(addr: &str, args: &[&str]) -> String {
    let (code, out, err) = ctl(addr, args);
    assert_eq!(code, 0, "host ctl {args:?}: {out}{err}");
    out
}

/// Runs a command that must be refused: exit status 1, nothing on stdout; returns stderr.
fn refused(addr: &str, args: &[&str]) -> String {
    let (code, out, err) = ctl(addr, args);
    assert_eq!(code, 1, "host ctl {args:?} should be refused: {out}{err}");
    assert!(out.is_empty(), "host ctl {args:?} printed on stdout: {out}");
    err
}

#[test]
fn every_console_command_works_through_host_ctl() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(Duration::from_secs(10));
    let leader_addr = &cluster.addrs[leader];
    let follower = &cluster.addrs[(leader + 1) % 3];

    let status = ok(follower, &["status"]);
    assert!(status.contains("role:     follower"), "{status}");
    assert!(
        status.contains(&format!("leader:   node {leader}")),
        "{status}"
    );
    let leader_status = ok(leader_addr, &["get-node-status"]);
    assert!(
        leader_status.contains("(matched "),
        "the leader shows each follower's match: {leader_status}"
    );
    let json: Value =
        serde_json::from_str(&ok(follower, &["--json", "status"])).expect("JSON status");
    assert_eq!(json["leader_id"], leader);

    let is_leader = ok(leader_addr, &["is-leader"]);
    assert!(is_leader.starts_with("yes"), "{is_leader}");

    // Seat commands come from the plugin's dev console.
    let booked = ok(follower, &["book", "2", "a1,a2", "olga"]);
    assert!(booked.to_lowercase().contains("booked"), "{booked}");
    let taken = refused(follower, &["book", "2", "a2", "pete"]);
    assert!(taken.to_lowercase().contains("taken"), "{taken}");
    let taken_json = refused(follower, &["--json", "book", "2", "a2", "pete"]);
    assert!(taken_json.contains("\"ok\": false"), "{taken_json}");
    let showtimes = ok(follower, &["showtimes"]);
    assert!(showtimes.contains("Inception"), "{showtimes}");

    let members = ok(follower, &["members"]);
    assert_eq!(members.matches("voter").count(), 3, "{members}");
    assert!(members.contains("(leader)"), "{members}");
    let members_json: Value =
        serde_json::from_str(&ok(follower, &["--json", "members"])).expect("JSON");
    assert_eq!(members_json["voters"].as_object().map(|v| v.len()), Some(3));

    let logs = ok(follower, &["logs", "0", "50"]);
    assert!(logs.contains("install plugin"), "{logs}");
    assert!(logs.contains("membership"), "{logs}");
    assert!(
        logs.contains("olga"),
        "the booking is decoded by the plugin: {logs}"
    );
    let logs_json: Value =
        serde_json::from_str(&ok(follower, &["--json", "logs", "1", "3"])).expect("JSON");
    assert_eq!(logs_json.as_array().map(Vec::len), Some(3), "{logs_json}");
    assert_eq!(logs_json[0]["index"], 1);

    let snapshot = ok(follower, &["snapshot"]);
    assert!(
        snapshot.starts_with("snapshot taken at index"),
        "{snapshot}"
    );
    let snapshot_status: Value =
        serde_json::from_str(&ok(follower, &["--json", "status"])).expect("JSON");
    assert!(
        snapshot_status["snapshot"].as_u64().is_some(),
        "{snapshot_status}"
    );

    let state = ok(follower, &["get-state"]);
    assert!(state.contains("sha256"), "{state}");
    let plugin = ok(follower, &["plugin", "status"]);
    assert!(plugin.contains("seat-logic 1.1.0"), "{plugin}");
    let history = ok(follower, &["plugin", "history"]);
    assert_eq!(history.lines().count(), 1, "{history}");

    let help = ok(follower, &["help"]);
    for command in [
        "logs",
        "snapshot",
        "add-node",
        "remove-node",
        "members",
        "plugin install",
    ] {
        assert!(help.contains(command), "help lists {command}: {help}");
    }

    // Credentials: none is refused naming the token; the read-only operator reads but changes
    // nothing; the console over the admin API never reads a file of the node.
    let bare = Command::new(host_bin())
        .args(["ctl", "--node", follower, "status"])
        .current_dir(std::env::temp_dir())
        .output()
        .expect("run host ctl");
    assert_ne!(bare.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&bare.stderr).contains("401"),
        "{bare:?}"
    );
    let as_operator = |args: &[&str]| {
        let output = Command::new(host_bin())
            .args(["ctl", "--node", follower, "--token-file"])
            .arg(secrets_dir().join("operator.token"))
            .args(args)
            .output()
            .expect("run host ctl");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned()
                + &String::from_utf8_lossy(&output.stderr),
        )
    };
    let (code, status) = as_operator(&["status"]);
    assert_eq!(code, Some(0), "{status}");
    assert!(status.contains("role:"), "{status}");
    for change in [&["book", "2", "b1", "mallory"][..], &["snapshot"][..]] {
        let (code, said) = as_operator(change);
        assert_eq!(code, Some(1), "{change:?}: {said}");
        assert!(said.contains("admin role"), "{change:?}: {said}");
    }
    let file_read = admin_send(
        "POST",
        follower,
        "/v1/console",
        r#"{"line":"plugin install /etc/passwd"}"#,
    );
    assert_eq!(file_read.status, 200, "{}", file_read.body);
    assert!(
        file_read.body.contains("never a path on the node"),
        "{}",
        file_read.body
    );
    assert!(!file_read.body.contains("root"), "{}", file_read.body);
    let seats = get(follower, "/api/showtimes/2/seats?state=booked").json();
    assert_eq!(seats["seats"].as_array().map(Vec::len), Some(2), "{seats}");

    // Bad input gets a clear answer and exit status 1; so does an unreachable node.
    let unknown = refused(follower, &["frobnicate"]);
    assert!(unknown.contains("unknown command"), "{unknown}");
    let unknown_json = refused(follower, &["--json", "frobnicate"]);
    assert!(unknown_json.contains("unknown command"), "{unknown_json}");
    let bad_add = refused(follower, &["add-node", "nonsense"]);
    assert!(bad_add.contains("HOST:PORT"), "{bad_add}");
    let nobody = format!("127.0.0.1:{}", free_ports(1)[0]);
    let unreachable = refused(follower, &["add-node", &nobody, "5"]);
    assert!(unreachable.contains("cannot reach"), "{unreachable}");
    let stranger = refused(follower, &["remove-node", &nobody]);
    assert!(stranger.contains("not a member"), "{stranger}");
    let (code, _, err) = ctl(&nobody, &["status"]);
    assert_eq!(code, 1);
    assert!(err.contains(&nobody), "{err}");

    // `--json` checks the words as the console does: a typo changes nothing.
    let typo = refused(follower, &["--json", "remove-node", follower, "--forcee"]);
    assert!(typo.contains("usage: remove-node"), "{typo}");
    let members_after = ok(follower, &["members"]);
    assert_eq!(members_after.matches("voter").count(), 3, "{members_after}");
    let bad_logs = refused(follower, &["--json", "logs", "abc"]);
    assert!(bad_logs.contains("usage: logs"), "{bad_logs}");
    let bad_range = operator_get(follower, "/v1/logs?from=abc").expect("an answer");
    assert_eq!(bad_range.status, 400, "{}", bad_range.body);
    let (code, out, err) = ctl(follower, &[""]);
    assert_eq!(code, 2, "an empty command is bad usage: {out}{err}");
}
