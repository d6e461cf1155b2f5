//! The attacks of the "lock the cluster" issue, each tried against real nodes: every one is
//! refused with its documented answer and changes nothing (the same state hash on every node
//! before and after).
//!
//! - the peer channel: strangers (no certificate, another CA) cannot speak Raft or forward
//!   anything; a member's forged messages (a term near `u64::MAX`, a leadership-transfer flag
//!   from a non-leader, an append in the leader's name, a retire while still a member, a raw
//!   install) are bounded;
//! - admin endpoints need an admin token, changes the admin role, and the HTTP console never
//!   reads a file of the node;
//! - connection hygiene: slow headers and idle sockets are cut, connection and event-stream
//!   floods are capped, foreign `Host` names are refused.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use host::raft::entry::{Envelope, Payload};
use host::raft::transport::incarnations::Incarnations;
use host::raft::transport::{path, PeerClient, PeerError};
use host::raft::TypeConfig;
use host::secrets::{PeerTls, Secrets};
use openraft::entry::RaftEntry;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use openraft::Vote;
use serde_json::{json, Value};

use crate::util::*;

/// The state hash once the nodes agree again; `before` must be it (nothing changed the state;
/// entries that change nothing, such as heartbeats, may move the index).
fn assert_state_unchanged(cluster: &Cluster, before: &(u64, String)) {
    let after = agreed_state(cluster, Duration::from_secs(20));
    assert_eq!(after.1, before.1, "the state changed");
}

/// A peer client presenting a certificate of `secrets`' CA for node `id` of `incarnation`.
fn peer_client(secrets: &Secrets, id: u64, incarnation: u64) -> PeerClient {
    let tls = PeerTls::new(secrets, id, incarnation).expect("peer TLS");
    PeerClient::new(Some(tls), Arc::new(Incarnations::open(incarnation, None)))
}

fn own_secrets() -> Secrets {
    Secrets::load(secrets_dir()).expect("test credentials")
}

fn status(addr: &str) -> Value {
    get(addr, "/v1/status").json()
}

/// A node's incarnation, from its data dir.
fn incarnation_of(cluster: &Cluster, id: usize) -> u64 {
    let text = std::fs::read_to_string(cluster.data_dir(id).join("incarnation")).expect("file");
    u64::from_str_radix(text.trim(), 16).expect("hex")
}

#[test]
fn the_peer_channel_refuses_strangers_and_bounds_what_members_send() {
    let mut cluster = Cluster::configure(3);
    for id in 0..3 {
        cluster.spawn_prod(id);
    }
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    assert_eq!(book(&cluster.addrs[leader], &["a1"], "alice").status, 201);
    let before = agreed_state(&cluster, Duration::from_secs(20));
    let term = status(&cluster.addrs[leader])["term"]
        .as_u64()
        .expect("term");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let timeout = Duration::from_secs(5);

    // No TLS at all: plain HTTP to a peer port gets nowhere.
    let plain = try_send("POST", &cluster.peers[follower], path::APPEND, "{}");
    assert!(
        plain.is_none(),
        "a plain request to the peer port: {plain:?}"
    );
    // Raft routes are not on the public port either.
    assert_eq!(
        post(&cluster.addrs[follower], "/raft/append", "").status,
        404
    );
    assert_eq!(
        post(&cluster.addrs[follower], "/v1/forward/retire", "").status,
        404
    );

    // A stranger with a certificate of another CA: refused at the handshake, whatever it sends.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    host::secrets::keygen(elsewhere.path()).expect("keygen");
    let stranger = peer_client(
        &Secrets::load(elsewhere.path()).expect("load"),
        leader as u64,
        1,
    );
    let forged_vote = VoteRequest::<TypeConfig>::new(Vote::new(term + 1, leader as u64), None);
    let answer: Result<Value, PeerError> = runtime.block_on(stranger.call(
        &cluster.peers[follower],
        path::VOTE,
        &forged_vote,
        timeout,
    ));
    assert!(
        matches!(answer, Err(PeerError::Unreachable { .. })),
        "a stranger's vote: {answer:?}"
    );
    let forged_entry = host::raft::typ::Entry::new_normal(
        openraft::testing::log_id::<TypeConfig>(term, leader as u64, 999),
        Envelope {
            leader_time_ms: 1,
            payload: Payload::Command(b"forged".to_vec()),
        },
    );
    let forged_append = AppendEntriesRequest::<TypeConfig> {
        vote: Vote::new_committed(term, leader as u64),
        prev_log_id: None,
        entries: vec![forged_entry],
        leader_commit: None,
    };
    let answer: Result<Value, PeerError> = runtime.block_on(stranger.call(
        &cluster.peers[follower],
        path::APPEND,
        &forged_append,
        timeout,
    ));
    assert!(answer.is_err(), "a stranger's append: {answer:?}");

    // A member (the follower's own certificate) that speaks in the leader's name: refused.
    let impostor = peer_client(
        &own_secrets(),
        follower as u64,
        incarnation_of(&cluster, follower),
    );
    let answer: Result<Value, PeerError> = runtime.block_on(impostor.call(
        &cluster.peers[other],
        path::APPEND,
        &forged_append,
        timeout,
    ));
    match answer {
        Err(PeerError::Protocol { reason, .. }) => assert!(reason.contains("as node"), "{reason}"),
        other => panic!("an append in the leader's name: {other:?}"),
    }
    // A term near u64::MAX (openraft would overflow on term + 1 and persist it): refused.
    let huge = VoteRequest::<TypeConfig>::new(Vote::new(u64::MAX, follower as u64), None);
    let answer: Result<Value, PeerError> =
        runtime.block_on(impostor.call(&cluster.peers[other], path::VOTE, &huge, timeout));
    match answer {
        Err(PeerError::Protocol { reason, .. }) => assert!(reason.contains("term"), "{reason}"),
        other => panic!("a vote with term u64::MAX: {other:?}"),
    }
    // Leadership-transfer votes from a member the leader never named: judged as ordinary votes,
    // which the leader lease refuses, so the leader stays.
    for _ in 0..20 {
        let mut transfer =
            VoteRequest::<TypeConfig>::new(Vote::new(term + 1, follower as u64), None);
        transfer.leadership_transfer = true;
        for target in [leader, other] {
            let _: Result<Value, PeerError> = runtime.block_on(impostor.call(
                &cluster.peers[target],
                path::VOTE,
                &transfer,
                timeout,
            ));
        }
    }
    assert_eq!(
        cluster.wait_for_leader(Duration::from_secs(10)),
        leader,
        "the leader stayed"
    );
    // A retire while the target is still a member: refused; it keeps taking part.
    let retire: Result<host::node::NodeResponse, PeerError> = runtime.block_on(impostor.call(
        &cluster.peers[other],
        path::NODE,
        &host::node::NodeRequest::Retire,
        timeout,
    ));
    match retire {
        Ok(host::node::NodeResponse::Retired(Err(reason))) => {
            assert!(reason.contains("refused"), "{reason}")
        }
        other => panic!("a retire of a member: {other:?}"),
    }
    assert_ne!(status(&cluster.addrs[other])["role"], "shutdown");
    // A raw install through the peer channel: the leader validates it like any install, and an
    // endless restore is refused before anything reaches the log.
    let bytes = std::fs::read(workspace().join("plugins/test/loop-restore.wasm")).expect("plugin");
    let install: Result<host::node::NodeResponse, PeerError> = runtime.block_on(impostor.call(
        &cluster.peers[leader],
        path::NODE,
        &host::node::NodeRequest::Install { bytes },
        Duration::from_secs(60),
    ));
    match install {
        Ok(host::node::NodeResponse::Installed(Err(refused))) => {
            assert!(refused.to_string().contains("dry-run"), "{refused}")
        }
        other => panic!("a raw install: {other:?}"),
    }
    let history = get(&cluster.addrs[leader], "/v1/plugin").json()["history"].clone();
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");

    // The cluster still works, term bounded, and nothing above changed the state.
    assert_state_unchanged(&cluster, &before);
    let now = status(&cluster.addrs[leader])["term"]
        .as_u64()
        .expect("term");
    assert!(now < term + 10, "the term stayed small: {now}");
    assert_eq!(book(&cluster.addrs[other], &["a2"], "bob").status, 201);
}

#[test]
fn admin_endpoints_need_a_token_and_changes_need_the_admin_role() {
    let cluster = Cluster::start(3);
    let addr = cluster.addrs[1].clone();
    assert_eq!(book(&addr, &["b1"], "carol").status, 201);
    let before = agreed_state(&cluster, Duration::from_secs(20));
    let operator = format!("Bearer {}", operator_token());
    let wrong = "Bearer rsv_0000000000000000000000000000000000000000000000000000000000000000";
    let echo = std::fs::read(workspace().join("plugins/test/echo.wasm")).expect("plugin");
    let changes: Vec<(&str, &str, Option<&str>)> = vec![
        ("POST", "/v1/members", Some(r#"{"remove":"127.0.0.1:1"}"#)),
        ("POST", "/v1/snapshot", None),
        ("PUT", "/v1/config", Some(r#"{"fuel_per_call":10000}"#)),
        (
            "POST",
            "/v1/console",
            Some(r#"{"line":"book 2 a1 mallory"}"#),
        ),
    ];
    for (method, path, body) in &changes {
        for auth in [None, Some(wrong)] {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| ("authorization", a)).into_iter().collect();
            let answer = try_request(method, &addr, path, *body, &headers).expect("answer");
            assert_eq!(
                answer.status, 401,
                "{method} {path} with {auth:?}: {}",
                answer.body
            );
            assert_eq!(
                answer
                    .header("www-authenticate")
                    .map(|v| v.starts_with("Bearer")),
                Some(true)
            );
        }
    }
    for (method, path, body) in &changes[..3] {
        let answer = try_request(method, &addr, path, *body, &[("authorization", &operator)])
            .expect("answer");
        assert_eq!(
            answer.status, 403,
            "operator {method} {path}: {}",
            answer.body
        );
    }
    let console = try_request(
        "POST",
        &addr,
        "/v1/console",
        Some(r#"{"line":"book 2 a1 mallory"}"#),
        &[("authorization", &operator)],
    )
    .expect("answer");
    assert!(console.body.contains("admin role"), "{}", console.body);
    // A plugin install without the admin role, as an attacker's other application.
    let response = ureq::post(&format!("http://{addr}/v1/plugin"))
        .set("content-type", "application/wasm")
        .set("authorization", &operator)
        .send_bytes(&echo);
    assert!(
        matches!(response, Err(ureq::Error::Status(403, _))),
        "{response:?}"
    );
    let response = ureq::post(&format!("http://{addr}/v1/plugin"))
        .set("content-type", "application/wasm")
        .send_bytes(&echo);
    assert!(
        matches!(response, Err(ureq::Error::Status(401, _))),
        "{response:?}"
    );
    // Reads: the operator may, nobody else.
    assert_eq!(
        try_request("GET", &addr, "/v1/status", None, &[])
            .expect("answer")
            .status,
        401
    );
    assert_eq!(
        try_request(
            "GET",
            &addr,
            "/v1/logs",
            None,
            &[("authorization", &operator)]
        )
        .expect("answer")
        .status,
        200
    );
    // A cross-site form post (text/plain) to the console: 415 before anything else.
    let admin = format!("Bearer {}", admin_token());
    let form = agent_post_text(&addr, "/v1/console", &admin, r#"{"line":"snapshot"}"#);
    assert_eq!(form, 415);
    // An idempotency key that is not visible ASCII is refused, not ignored.
    let body = r#"{"seats":["b2"],"user":"dave"}"#;
    let mut raw = format!(
        "POST /api/showtimes/1/bookings HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nidempotency-key: caf",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(b"\xe9\r\n\r\n");
    raw.extend_from_slice(body.as_bytes());
    let answer = raw_exchange(&addr, &raw);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let long_key = "k".repeat(65);
    let keyed = request(
        "POST",
        &addr,
        "/api/showtimes/1/bookings",
        Some(r#"{"seats":["b2"],"user":"dave"}"#),
        &[("idempotency-key", &long_key)],
    );
    assert_eq!(keyed.status, 400, "{}", keyed.body);
    assert_state_unchanged(&cluster, &before);
}

/// Sends raw request bytes and reads the answer until the node closes the connection.
fn raw_exchange(addr: &str, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).expect("connect");
    socket.write_all(request).expect("send");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// POSTs `body` as `text/plain` with `auth`; returns the status.
fn agent_post_text(addr: &str, path: &str, auth: &str, body: &str) -> u16 {
    match ureq::post(&format!("http://{addr}{path}"))
        .set("content-type", "text/plain")
        .set("authorization", auth)
        .send_string(body)
    {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(e) => panic!("POST {path}: {e}"),
    }
}

#[test]
fn slow_headers_idle_sockets_and_stream_floods_are_cut_and_the_node_keeps_serving() {
    let mut cluster = Cluster::configure_with(
        1,
        json!({"http": {"header_timeout_ms": 1500, "max_connections_per_ip": 12,
                        "max_streams_per_ip": 3, "allowed_hosts": ["localhost", "127.0.0.1"]}}),
    );
    cluster.spawn(0, false);
    cluster.wait_for_leader(Duration::from_secs(20));
    let addr = cluster.addrs[0].clone();

    // A slow client sends a header byte every 300 ms: the node closes the connection when its
    // headers are not complete within the header timeout (1.5 s), long before they would be.
    let slow = TcpStream::connect(&addr).expect("connect");
    let mut writer = slow.try_clone().expect("clone");
    let started = Instant::now();
    let dripping = std::thread::spawn(move || {
        for byte in b"GET /api/showtimes HTTP/1.1\r\nHost: localhost\r\nX-Slow: 0123456789\r\n" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = (&slow).read_to_end(&mut rest);
    let cut_after = started.elapsed();
    assert!(
        cut_after < Duration::from_secs(5),
        "a slow header kept for {cut_after:?}"
    );
    drop(slow);
    dripping.join().expect("writer");

    // An idle-socket flood: connections over the per-address cap get a 429 and are closed; the
    // idle ones are closed after the header timeout; then the node serves again.
    let flood: Vec<TcpStream> = (0..12)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let mut extra = TcpStream::connect(&addr).expect("connect");
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = extra.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 429"),
        "over the cap: {answer:?}"
    );
    wait_until(
        Duration::from_secs(10),
        "the idle sockets are closed by the node",
        || {
            flood
                .iter()
                .all(|socket| {
                    let _ = socket.set_read_timeout(Some(Duration::from_millis(50)));
                    let mut buf = [0u8; 1];
                    matches!((&*socket).read(&mut buf), Ok(0))
                })
                .then_some(())
        },
    );
    drop(flood);
    wait_until(Duration::from_secs(10), "the node serves again", || {
        try_get(&addr, "/api/showtimes/1").filter(|a| a.status == 200)
    });

    // An event-stream flood: past the per-address cap, 429; the node keeps answering.
    let streams: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut socket = TcpStream::connect(&addr).expect("connect");
            socket
                .write_all(b"GET /api/showtimes/1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .expect("request");
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            let mut buf = [0u8; 64];
            let n = socket.read(&mut buf).expect("stream answer");
            assert!(
                buf[..n].starts_with(b"HTTP/1.1 200"),
                "{:?}",
                String::from_utf8_lossy(&buf[..n])
            );
            socket
        })
        .collect();
    let over = request("GET", &addr, "/api/showtimes/1/events", None, &[]);
    assert_eq!(over.status, 429, "{}", over.body);
    assert_eq!(over.problem_type(), "/problems/too-many-streams");
    assert_eq!(get(&addr, "/api/showtimes/1").status, 200);
    drop(streams);

    // A foreign Host name is refused; the allowed ones are served.
    let foreign = request(
        "GET",
        &addr,
        "/api/showtimes/1",
        None,
        &[("host", "evil.example")],
    );
    assert_eq!(foreign.status, 421, "{}", foreign.body);
    assert_eq!(get(&addr, "/api/showtimes/1").status, 200);
}
