//! Helpers for cluster tests: start and kill real node processes, talk HTTP to them, and wait
//! for conditions with a deadline (never for a fixed time).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `host` binary cargo built for this test run.
pub fn host_bin() -> &'static str {
    env!("CARGO_BIN_EXE_host")
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed seat plugin.
pub fn seat_plugin() -> PathBuf {
    workspace().join("plugins/seat.wasm")
}

/// The credentials every test cluster of this process shares (made once, in a temp dir that
/// lives as long as the process).
pub fn secrets_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("secrets");
        host::secrets::keygen(&path).expect("keygen");
        (dir, path)
    });
    path
}

fn token(file: &str) -> String {
    std::fs::read_to_string(secrets_dir().join(file))
        .expect("token file")
        .trim()
        .to_string()
}

/// The admin token of the test clusters.
pub fn admin_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| token("admin.token"))
}

/// The read-only operator token of the test clusters.
pub fn operator_token() -> &'static str {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| token("operator.token"))
}

/// One compiled-plugin cache for every node of this test process.
pub fn shared_cache() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// The header carrying the admin token.
pub fn admin() -> (&'static str, String) {
    ("authorization", format!("Bearer {}", admin_token()))
}

/// Runs `host` with `args` from the workspace root, expecting it to exit on its own within 30 s
/// (killed and reported otherwise); returns its exit code and stderr.
pub fn run_host(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(host_bin())
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn host");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll host") {
            break status;
        }
        if Instant::now() >= deadline {
            // Kill so the test fails with a message instead of hanging.
            let _ = child.kill();
            let _ = child.wait();
            panic!("host {args:?} did not exit within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().expect("stderr"), &mut stderr)
        .expect("read stderr");
    (status.code().unwrap_or(-1), stderr)
}

/// `n` ports that were free a moment ago (bound on :0 by the OS, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// Polls `probe` every 50 ms until it returns `Some`, or panics after `timeout` with `what`
/// and the last value `describe` reported.
pub fn wait_until<T>(timeout: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP answer: status and body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// A response header's value, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The problem `type` of an error answer (empty if the body has none).
    pub fn problem_type(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(15))
        .build()
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Option<Answer> {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(_) => return None,
    };
    let status = response.status();
    let content_type = response.header("content-type").unwrap_or("").to_string();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|name| {
            let value = response.header(&name)?.to_string();
            Some((name.to_ascii_lowercase(), value))
        })
        .collect();
    let body = response.into_string().ok()?;
    Some(Answer {
        status,
        content_type,
        body,
        headers,
    })
}

/// True for host paths that need the admin token (all of `/v1` but `/v1/peer`).
fn needs_admin(path: &str) -> bool {
    path.starts_with("/v1/") && !path.starts_with("/v1/peer")
}

/// GET, `None` if the node cannot be reached. `/v1` paths carry the admin token.
pub fn try_get(addr: &str, path: &str) -> Option<Answer> {
    let mut request = agent().get(&format!("http://{addr}{path}"));
    if needs_admin(path) {
        request = request.set("authorization", &format!("Bearer {}", admin_token()));
    }
    answer(request.call())
}

/// GET that must reach the node.
pub fn get(addr: &str, path: &str) -> Answer {
    try_get(addr, path).unwrap_or_else(|| panic!("GET {path} on {addr}: no answer"))
}

/// Request with a JSON body, `None` if the node cannot be reached. `/v1` paths carry the
/// admin token.
pub fn try_send(method: &str, addr: &str, path: &str, body: &str) -> Option<Answer> {
    let mut request = agent()
        .request(method, &format!("http://{addr}{path}"))
        .set("content-type", "application/json");
    if needs_admin(path) {
        request = request.set("authorization", &format!("Bearer {}", admin_token()));
    }
    answer(request.send_string(body))
}

/// Any request with optional JSON body and extra headers, `None` if the node cannot be reached.
pub fn try_request(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Option<Answer> {
    let mut request = agent().request(method, &format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    answer(match body {
        Some(body) => request
            .set("content-type", "application/json")
            .send_string(body),
        None => request.call(),
    })
}

/// Like [`try_request`], for a node that must answer.
pub fn request(
    method: &str,
    addr: &str,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Answer {
    try_request(method, addr, path, body, headers)
        .unwrap_or_else(|| panic!("{method} {path} on {addr}: no answer"))
}

/// POST that must reach the node.
pub fn post(addr: &str, path: &str, body: &str) -> Answer {
    try_send("POST", addr, path, body).unwrap_or_else(|| panic!("POST {path} on {addr}: no answer"))
}

/// A JSON request with the admin token (catalog changes, settings).
pub fn admin_send(method: &str, addr: &str, path: &str, body: &str) -> Answer {
    let auth = admin();
    request(method, addr, path, Some(body), &[(auth.0, &auth.1)])
}

/// Books `seats` of showtime 1 for `user` on the node at `addr`.
pub fn book(addr: &str, seats: &[&str], user: &str) -> Answer {
    let body = serde_json::json!({ "seats": seats, "user": user }).to_string();
    post(addr, "/api/showtimes/1/bookings", &body)
}

/// The ids of booked seats of showtime 1 as this node sees it locally.
pub fn booked_seats(addr: &str) -> Option<Vec<String>> {
    let answer = try_get(addr, "/api/showtimes/1/seats?consistency=local")?;
    if answer.status != 200 {
        return None;
    }
    let json = answer.json();
    let seats = json["seats"].as_array()?;
    Some(
        seats
            .iter()
            .filter(|s| s["state"] == "booked")
            .filter_map(|s| s["seat"].as_str().map(str::to_string))
            .collect(),
    )
}

/// Creates a theater with `rows` rows of `seats` seats and showtime `id` in it, through `addr`.
pub fn create_showtime(addr: &str, id: u32, rows: u8, seats: u16) {
    let layout: Vec<Value> = (b'a'..b'a' + rows)
        .map(|r| serde_json::json!({"row": (r as char).to_string(), "seats": seats}))
        .collect();
    let theater = admin_send(
        "POST",
        addr,
        "/api/theaters",
        &serde_json::json!({"name": format!("Hall {id}"), "location": "Test wing", "rows": layout})
            .to_string(),
    );
    assert_eq!(theater.status, 201, "{}", theater.body);
    let showtime = admin_send(
        "POST",
        addr,
        "/api/showtimes",
        &serde_json::json!({
            "id": id,
            "movie_id": 1,
            "theater_id": theater.json()["id"],
            "starts_at": "2026-12-31T21:00:00Z",
            "price_cents": 1000,
        })
        .to_string(),
    );
    assert_eq!(showtime.status, 201, "{}", showtime.body);
}

/// Raises the seats one customer may take per showtime (default 10) through `addr`, for load
/// clients that book many seats under one name.
pub fn raise_customer_limit(addr: &str) {
    let answer = admin_send(
        "PUT",
        addr,
        "/api/settings",
        r#"{"max_seats_per_customer":2600}"#,
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// A GET with the read-only operator token.
pub fn operator_get(addr: &str, path: &str) -> Option<Answer> {
    let auth = format!("Bearer {}", operator_token());
    try_request("GET", addr, path, None, &[("authorization", &auth)])
}

/// Seat -> user of the bookings of `showtime` on `addr` (local read, as an operator; every
/// page).
pub fn booked_by(addr: &str, showtime: u32) -> Option<BTreeMap<String, String>> {
    let mut seats = BTreeMap::new();
    let mut after = 0u64;
    loop {
        let answer = operator_get(
            addr,
            &format!("/api/bookings?showtime={showtime}&consistency=local&limit=500&after={after}"),
        )?;
        if answer.status != 200 {
            return None;
        }
        let json = answer.json();
        collect_booked(&json, &mut seats)?;
        match json["next"].as_u64() {
            Some(next) => after = next,
            None => return Some(seats),
        }
    }
}

fn collect_booked(json: &Value, seats: &mut BTreeMap<String, String>) -> Option<()> {
    for booking in json["bookings"].as_array()? {
        if booking["status"] != "confirmed" {
            continue;
        }
        for seat in booking["seats"].as_array()? {
            seats.insert(
                seat.as_str()?.to_string(),
                booking["user"].as_str()?.to_string(),
            );
        }
    }
    Some(())
}

/// A running node process, killed (SIGKILL) and reaped on drop.
pub struct NodeProc {
    pub id: usize,
    pub addr: String,
    child: Option<Child>,
    /// Present for console nodes: writing lines drives the console.
    stdin: Option<ChildStdin>,
    /// Console output lines, for console nodes.
    lines: Option<mpsc::Receiver<String>>,
    /// Everything read from `lines` so far.
    pub seen: Vec<String>,
}

impl NodeProc {
    /// The OS process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits (at most `timeout`) for the process to exit by itself; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = self.child.as_mut().expect("running");
        let status = wait_until(timeout, "the node exits", || {
            child.try_wait().expect("poll child")
        });
        self.child = None;
        status.code()
    }

    /// Kills the process now (SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill node");
            child.wait().expect("reap node");
        }
    }

    /// Types a line into the console.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("console node");
        writeln!(stdin, "{line}").expect("write to console");
        stdin.flush().expect("flush console");
    }

    /// Waits until a console output line contains `needle`; returns it. Lines already seen
    /// before `from` (an index into `seen`) are not considered.
    pub fn expect_output(&mut self, from: usize, needle: &str, timeout: Duration) -> String {
        if let Some(hit) = self.seen[from.min(self.seen.len())..]
            .iter()
            .find(|l| l.contains(needle))
        {
            return hit.clone();
        }
        let deadline = Instant::now() + timeout;
        let lines = self.lines.as_ref().expect("console node");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "node {} console: no line containing {needle:?} within {timeout:?}; output so far:\n{}",
                    self.id,
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already dead is fine: we only make sure it is gone.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A cluster profile in a temp dir, and the nodes started from it.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    /// Each node's public API address.
    pub addrs: Vec<String>,
    /// Each node's peer channel address.
    pub peers: Vec<String>,
    pub nodes: Vec<NodeProc>,
}

/// The profile's entry for one node.
fn node_entry(api: &str, peer: &str) -> Value {
    serde_json::json!({ "api": api, "peer": peer })
}

impl Cluster {
    /// Writes a profile of `n` nodes on free loopback ports; starts none.
    pub fn configure(n: usize) -> Cluster {
        Cluster::configure_with(n, serde_json::json!({}))
    }

    /// Like [`Cluster::configure`], with extra profile fields (e.g. snapshot settings).
    pub fn configure_with(n: usize, extra: Value) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = free_ports(2 * n);
        let addrs: Vec<String> = ports[..n]
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let peers: Vec<String> = ports[n..]
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let nodes: Vec<Value> = addrs
            .iter()
            .zip(&peers)
            .map(|(api, peer)| node_entry(api, peer))
            .collect();
        let config = dir.path().join("config.json");
        let mut profile = serde_json::json!({ "nodes": nodes, "write_timeout_ms": 2000 });
        if let (Some(profile), Some(extra)) = (profile.as_object_mut(), extra.as_object()) {
            profile.extend(extra.clone());
        }
        let profile = serde_json::json!({ "default": profile });
        std::fs::write(&config, profile.to_string()).expect("write config");
        Cluster {
            dir,
            config,
            addrs,
            peers,
            nodes: Vec::new(),
        }
    }

    /// Adds a node on a free loopback port to the profile file, as an operator edits
    /// config.json after the cluster formed; returns its id. Running nodes do not reread it.
    pub fn add_to_profile(&mut self) -> usize {
        let ports = free_ports(2);
        let addr = format!("127.0.0.1:{}", ports[0]);
        let peer = format!("127.0.0.1:{}", ports[1]);
        let text = std::fs::read_to_string(&self.config).expect("read config");
        let mut config: Value = serde_json::from_str(&text).expect("config JSON");
        config["default"]["nodes"]
            .as_array_mut()
            .expect("nodes")
            .push(node_entry(&addr, &peer));
        std::fs::write(&self.config, config.to_string()).expect("write config");
        self.addrs.push(addr);
        self.peers.push(peer);
        self.addrs.len() - 1
    }

    /// Starts `n` headless nodes and waits until they agree on a leader with the plugin installed.
    pub fn start(n: usize) -> Cluster {
        let mut cluster = Cluster::configure(n);
        for id in 0..n {
            cluster.spawn(id, false);
        }
        // Generous: parallel tests on a loaded 2-core machine start slowly.
        cluster.wait_for_leader(Duration::from_secs(60));
        cluster
    }

    /// Starts node `id`, with a console on piped stdin if `console`.
    pub fn spawn(&mut self, id: usize, console: bool) -> &mut NodeProc {
        self.spawn_with(id, console, &[])
    }

    /// Node `id`'s data dir for prod mode.
    pub fn data_dir(&self, id: usize) -> PathBuf {
        self.dir.path().join(format!("node-{id}"))
    }

    /// Starts node `id` in prod mode (durable storage in its data dir, no console).
    pub fn spawn_prod(&mut self, id: usize) -> &mut NodeProc {
        let dir = self.data_dir(id);
        let dir = dir.to_str().expect("utf-8 temp path").to_string();
        self.spawn_with(id, false, &["--prod", "--data-dir", &dir])
    }

    /// Starts node `id` with extra flags.
    pub fn spawn_with(&mut self, id: usize, console: bool, extra: &[&str]) -> &mut NodeProc {
        let log = std::fs::File::create(self.dir.path().join(format!("node-{id}.stderr")))
            .expect("log file");
        let mut command = Command::new(host_bin());
        command.arg("--id").arg(id.to_string());
        if !extra.contains(&"--config-file") {
            command.arg("--config-file").arg(&self.config);
        }
        command
            .arg("--plugin")
            .arg(seat_plugin())
            .args(extra)
            .stderr(Stdio::from(log));
        if !extra.contains(&"--insecure") && !extra.contains(&"--secrets") {
            command.arg("--secrets").arg(secrets_dir());
        }
        if !extra.contains(&"--cache-dir") {
            // Every test node shares one compiled-plugin cache: a component compiles once per run.
            command.arg("--cache-dir").arg(shared_cache());
        }
        if console {
            command.stdin(Stdio::piped()).stdout(Stdio::piped());
        } else {
            command
                .arg("--no-console")
                .stdin(Stdio::null())
                .stdout(Stdio::null());
        }
        let mut child = command.spawn().expect("spawn host");
        let stdin = child.stdin.take();
        let lines = child.stdout.take().map(|stdout| {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { return };
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            });
            rx
        });
        self.nodes.retain(|n| n.id != id);
        self.nodes.push(NodeProc {
            id,
            addr: self.addrs[id].clone(),
            child: Some(child),
            stdin,
            lines,
            seen: Vec::new(),
        });
        self.nodes.last_mut().expect("just pushed")
    }

    /// The node with this id.
    pub fn node(&mut self, id: usize) -> &mut NodeProc {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .expect("node started")
    }

    /// Addresses of nodes still running.
    pub fn live_addrs(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.addr.clone())
            .collect()
    }

    /// The last lines of every node's stderr log, for failure messages.
    pub fn diagnose(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let path = self.dir.path().join(format!("node-{}.stderr", node.id));
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(8)..];
            out.push_str(&format!(
                "--- node {} ({}):\n{}\n",
                node.id,
                node.addr,
                tail.join("\n")
            ));
        }
        out
    }

    /// Waits until every running node names the same running leader and has the plugin;
    /// returns the leader's id. On timeout, panics with each node's status and log tail.
    pub fn wait_for_leader(&self, timeout: Duration) -> usize {
        let addrs = self.live_addrs();
        let live: Vec<usize> = self
            .nodes
            .iter()
            .filter(|n| n.child.is_some())
            .map(|n| n.id)
            .collect();
        let deadline = Instant::now() + timeout;
        loop {
            let statuses: Vec<Option<Value>> = addrs
                .iter()
                .map(|addr| try_get(addr, "/v1/status").map(|a| a.json()))
                .collect();
            let leaders: Vec<Option<u64>> = statuses
                .iter()
                .map(|s| {
                    s.as_ref()
                        .filter(|s| !s["plugin"].is_null())
                        .and_then(|s| s["leader_id"].as_u64())
                })
                .collect();
            if let Some(Some(first)) = leaders.first() {
                let agreed = leaders.iter().all(|l| *l == Some(*first));
                if agreed && live.contains(&(*first as usize)) {
                    return *first as usize;
                }
            }
            if Instant::now() >= deadline {
                let summary: Vec<String> = statuses
                    .iter()
                    .map(|s| match s {
                        Some(s) => format!(
                            "id {} role {} leader {} term {} applied {} plugin {}",
                            s["id"],
                            s["role"],
                            s["leader_id"],
                            s["term"],
                            s["last_applied"],
                            !s["plugin"].is_null()
                        ),
                        None => "no answer".into(),
                    })
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for all live nodes to agree on a leader with the plugin:\n{}\n{}",
                    summary.join("\n"),
                    self.diagnose()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The header carrying the operator token.
pub fn operator() -> (&'static str, String) {
    ("authorization", format!("Bearer {}", operator_token()))
}

/// The header showing `token` (a booking token, or any other bearer) as
/// `Authorization: Bearer <token>`.
pub fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

/// A request whose body is sent with `content_type` instead of JSON's (no admin token is
/// added), `None` if the node cannot be reached.
pub fn try_send_typed(
    method: &str,
    addr: &str,
    path: &str,
    body: &str,
    content_type: &str,
    headers: &[(&str, &str)],
) -> Option<Answer> {
    let mut request = agent().request(method, &format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    answer(request.set("content-type", content_type).send_string(body))
}

/// Applied index and state hash of a node (`GET /v1/plugin`, local), `None` if it cannot say.
pub fn plugin_state(addr: &str) -> Option<(u64, String)> {
    let answer = try_get(addr, "/v1/plugin")?;
    if answer.status != 200 {
        return None;
    }
    let report = answer.json();
    Some((
        report["applied"].as_u64()?,
        report["state_hash"].as_str()?.to_string(),
    ))
}

/// Waits until every node in `addrs` reports the same applied index and state hash, twice in
/// a row (so no entry was in flight); returns them.
pub fn settled_state(addrs: &[String], timeout: Duration) -> (u64, String) {
    let mut last = None;
    wait_until(timeout, "every node has applied the same state", || {
        let states: Vec<(u64, String)> = addrs
            .iter()
            .map(|a| plugin_state(a))
            .collect::<Option<_>>()?;
        let first = states.first()?.clone();
        let agreed = states.iter().all(|s| *s == first).then_some(first);
        let stable = agreed.is_some() && agreed == last;
        last = agreed.clone();
        if stable {
            agreed
        } else {
            None
        }
    })
}

/// Asserts that `token` is a capability token of `prefix` (`h_` or `b_`): the prefix and 32
/// URL-safe base64 characters.
pub fn assert_token_shape(token: &str, prefix: &str) {
    let body = token.strip_prefix(prefix).unwrap_or("");
    assert!(
        body.len() == 32
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "not a {prefix} token: {token:?}"
    );
}

/// Asserts that no token of `tokens` (nor its random part) appears in `text`.
pub fn assert_no_token(what: &str, text: &str, tokens: &[&str]) {
    for token in tokens {
        let secret = token.get(2..).unwrap_or(token);
        assert!(
            !text.contains(secret),
            "{what} shows the token {token}: {text}"
        );
    }
}

/// Every live node's (applied index, state hash) once they all report the same pair; panics
/// if they do not within `timeout`.
pub fn agreed_state(cluster: &Cluster, timeout: Duration) -> (u64, String) {
    wait_until(timeout, "every node at one state hash", || {
        let reports: Vec<Value> = cluster
            .live_addrs()
            .iter()
            .map(|addr| try_get(addr, "/v1/plugin").map(|a| a.json()))
            .collect::<Option<_>>()?;
        let first = reports.first()?.clone();
        let same = reports
            .iter()
            .all(|r| r["applied"] == first["applied"] && r["state_hash"] == first["state_hash"]);
        same.then(|| {
            (
                first["applied"].as_u64().unwrap_or(0),
                first["state_hash"].as_str().unwrap_or("").to_string(),
            )
        })
    })
}
