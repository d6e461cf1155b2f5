//! One run, from an empty network to a verdict: build the namespaces, start the nodes, make a
//! small showtime, start the clients and the plugin swap, run the fault schedule, heal, stop
//! the clients, wait for the replicas to converge, read the final state from every node, check.
//!
//! Whatever happens, the nodes are killed and the network removed before [`run`] returns (the
//! `Cluster` and `Network` guards); the run's directory (credentials, profile, data dirs, node
//! logs, `history.txt`) is kept when something was wrong or `keep` is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde_json::Value;

use crate::api::{Body, Http, PluginState, Reply};
use crate::check::{self, Anomaly, FinalBooking, FinalState};
use crate::cluster::{Cluster, Paths};
use crate::history::{secs, Clock, Op, Seen};
use crate::nemesis::{self, FaultRecord, Nemesis, Schedule, SwapRecord};
use crate::net::Network;
use crate::signal;
use crate::workload::{Client, Shared, Target};

/// Rows of the test hall.
pub const ROWS: usize = 2;
/// Seats per row.
pub const ROW_LEN: usize = 5;
/// How long the cluster may take to elect its first leader (it compiles the plugin first).
const FIRST_LEADER_DEADLINE: Duration = Duration::from_secs(120);
/// How long after the final heal a write must be acknowledged.
const LIVENESS_DEADLINE: Duration = Duration::from_secs(30);
/// How long the replicas may take to reach the same applied index and state hash.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(60);
/// How long clients may take to finish their last operation once told to stop.
const CLIENT_STOP_DEADLINE: Duration = Duration::from_secs(60);

/// What a run needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// How long faults are injected.
    pub duration: Duration,
    /// Concurrent clients.
    pub clients: usize,
    /// The `host` binary.
    pub host: PathBuf,
    /// Seat rules 1.x (nodes start with it).
    pub plugin_v1: PathBuf,
    /// Seat rules 2.x (swapped in once per run).
    pub plugin_v2: PathBuf,
    /// Configurations the linearizability search may explore per seat.
    pub budget: usize,
    /// Keep the run's directory even when all is well.
    pub keep: bool,
    /// Per-request timeout of the clients.
    pub request_timeout: Duration,
    /// Clients read with `consistency=local` (a self-test: the checker should fail).
    pub stale_reads: bool,
}

/// What came of a run.
#[derive(Debug)]
pub struct Report {
    /// Its seed.
    pub seed: u64,
    /// Its directory (removed unless kept).
    pub dir: PathBuf,
    /// Whether the directory was kept.
    pub kept: bool,
    /// The faults injected.
    pub faults: Vec<FaultRecord>,
    /// The plugin swap, if its time came.
    pub swap: Option<SwapRecord>,
    /// Every client operation.
    pub ops: Vec<Op>,
    /// The seats the clients used.
    pub seats: Vec<String>,
    /// Violated checks.
    pub anomalies: Vec<Anomaly>,
    /// A harness error that stopped the run (no verdict).
    pub error: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Time the checks took.
    pub check_time: Duration,
    /// The applied index every replica reached.
    pub final_applied: Option<u64>,
}

/// Runs once with `seed`, in a directory under `base`.
pub fn run(seed: u64, config: &Config, base: &Path) -> Report {
    let started = Instant::now();
    let dir = base.join(format!("run-seed-{seed}"));
    let mut report = Report {
        seed,
        dir: dir.clone(),
        kept: true,
        faults: Vec::new(),
        swap: None,
        ops: Vec::new(),
        seats: Vec::new(),
        anomalies: Vec::new(),
        error: None,
        elapsed: Duration::ZERO,
        check_time: Duration::ZERO,
        final_applied: None,
    };
    let result = std::fs::create_dir_all(&dir)
        .with_context(|| format!("creating {}", dir.display()))
        .and_then(|()| execute(seed, config, &dir, &mut report));
    if let Err(error) = result {
        report.error = Some(format!("{error:#}"));
    }
    report.elapsed = started.elapsed();
    let failed = report.error.is_some() || !report.anomalies.is_empty();
    if failed || config.keep {
        if let Err(e) = write_history(&dir, &report) {
            eprintln!("faults: writing history.txt: {e}");
        }
    } else {
        report.kept = false;
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            eprintln!("faults: removing {}: {e}", dir.display());
        }
    }
    report
}

/// Sets the clients' stop flag when dropped, so no client outlives a run that failed early.
struct StopGuard(Arc<Shared>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::Relaxed);
    }
}

fn execute(seed: u64, config: &Config, dir: &Path, report: &mut Report) -> anyhow::Result<()> {
    let clock = Clock::start();
    let net = Network::create(config.nodes).context("building the network")?;
    let paths = Paths {
        host: config.host.clone(),
        plugin: config.plugin_v1.clone(),
    };
    let v2 = std::fs::read(&config.plugin_v2)
        .with_context(|| format!("reading {}", config.plugin_v2.display()))?;
    let mut cluster = Cluster::prepare(dir, &net, paths, clock)?;
    println!(
        "  network 10.250.{}.0/24, nodes {}; run dir {}",
        net.x,
        cluster.apis().join(" "),
        dir.display()
    );
    for id in 0..config.nodes {
        cluster.start(id, None)?;
    }
    let admin = Http::new(Duration::from_secs(2));
    let apis = cluster.apis();
    let token = cluster.admin_token.clone();
    let mut nemesis = Nemesis::new(&mut cluster, &net, admin.clone(), clock);
    let leader = nemesis.wait_leader(FIRST_LEADER_DEADLINE)?.ok_or_else(|| {
        anyhow!("the nodes did not agree on a leader within {FIRST_LEADER_DEADLINE:?} of starting")
    })?;
    let mut target = setup(&admin, &apis, leader, &token, seed)?;
    target.stale_reads = config.stale_reads;
    let target = Arc::new(target);
    report.seats = target.seats.clone();
    println!(
        "  {:>8}  leader node {leader}; showtime {} with seats {}",
        secs(clock.now()),
        target.showtime,
        target.seats.join(",")
    );

    let shared = Arc::new(Shared::default());
    let _stop = StopGuard(shared.clone());
    let (done, histories) = mpsc::channel();
    let key_prefix = format!("f{seed:x}-{:x}", clock.now());
    for c in 0..config.clients {
        let client = Client::new(
            c,
            seed,
            &key_prefix,
            Http::new(config.request_timeout),
            target.clone(),
            shared.clone(),
            clock,
        );
        let done = done.clone();
        std::thread::Builder::new()
            .name(format!("client-{c}"))
            .spawn(move || {
                // The receiver lives until the run stops waiting for clients.
                let _ = done.send(client.run());
            })
            .context("starting a client thread")?;
    }
    drop(done);
    let schedule = Schedule::new(seed, config.nodes, config.duration);
    let swap = {
        let (apis, token, shared) = (apis.clone(), token.clone(), shared.clone());
        let (at, node) = (clock.elapsed() + schedule.swap_at, schedule.swap_node);
        std::thread::Builder::new()
            .name("plugin-swap".into())
            .spawn(move || nemesis::swap_plugin(at, node, &apis, &token, &v2, clock, &shared.stop))
            .context("starting the swap thread")?
    };

    let faulted = nemesis.run(&schedule, config.duration);
    report.faults = nemesis.faults.clone();
    faulted?;
    nemesis.heal_all()?;
    let healed = clock.now();
    println!(
        "  {:>8}  healed: every node running, no partition",
        secs(healed)
    );
    if nemesis.wait_leader(nemesis::RECOVERY_DEADLINE)?.is_none() {
        report.anomalies.push(Anomaly {
            check: "liveness",
            detail: format!(
                "no leader agreed by every node within {:?} of the final heal",
                nemesis::RECOVERY_DEADLINE
            ),
            seats: Vec::new(),
            at: Some(healed),
        });
    }
    let live = nemesis.wait_for(LIVENESS_DEADLINE, |_| {
        (shared.last_ok_write.load(Ordering::Relaxed) > healed).then_some(())
    })?;
    if live.is_none() {
        report.anomalies.push(Anomaly {
            check: "liveness",
            detail: format!(
                "no write was acknowledged within {LIVENESS_DEADLINE:?} of the final heal"
            ),
            seats: Vec::new(),
            at: Some(healed),
        });
    }

    shared.stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + CLIENT_STOP_DEADLINE;
    for _ in 0..config.clients {
        signal::check()?;
        let left = deadline.saturating_duration_since(Instant::now());
        let ops = histories.recv_timeout(left).map_err(|_| {
            anyhow!("a client did not finish within {CLIENT_STOP_DEADLINE:?} of being stopped")
        })?;
        report.ops.extend(ops);
    }
    report.ops.sort_by_key(|op| (op.invoke, op.id));
    report.swap = swap
        .join()
        .map_err(|_| anyhow!("the plugin swap thread panicked"))?;
    println!(
        "  {:>8}  clients stopped: {} operations",
        secs(clock.now()),
        report.ops.len()
    );

    let (fin, states) = converge(&mut nemesis, &admin, &target, clock, report)?;
    report.final_applied = states.first().map(|s| s.applied);
    if let Some(swap) = &report.swap {
        let versions: Vec<&str> = states.iter().map(|s| s.version.as_str()).collect();
        if swap.acknowledged && !versions.iter().all(|v| v.starts_with("2.")) {
            report.anomalies.push(Anomaly {
                check: "plugin-swap",
                detail: format!(
                    "the swap to rules 2.x was acknowledged, but the nodes run {versions:?}"
                ),
                seats: Vec::new(),
                at: Some(swap.end),
            });
        }
    }
    let checking = Instant::now();
    report.anomalies.extend(check::check_all(
        &report.ops,
        &target.seats,
        &fin,
        config.budget,
    ));
    report.check_time = checking.elapsed();
    for incident in &nemesis.incidents {
        report.anomalies.push(Anomaly {
            check: "node",
            detail: incident.detail.clone(),
            seats: Vec::new(),
            at: Some(incident.at),
        });
    }
    let mut stops = nemesis.cluster.stop_all(Duration::from_secs(20));
    stops.retain(|(_, how)| how != "exit 0");
    for (id, how) in stops {
        report.anomalies.push(Anomaly {
            check: "node",
            detail: format!("node {id} did not stop cleanly on SIGTERM: {how}"),
            seats: Vec::new(),
            at: None,
        });
    }
    Ok(())
}

/// Retries an admin write (same `Idempotency-Key`) on every node in turn until it is
/// answered 2xx; a 4xx is an error.
fn admin_write(
    http: &Http,
    apis: &[String],
    first: usize,
    token: &str,
    (method, path, body): (&str, &str, &str),
    key: &str,
) -> anyhow::Result<Value> {
    let auth = format!("Bearer {token}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    for attempt in 0..200 {
        signal::check()?;
        if Instant::now() >= deadline {
            break;
        }
        let api = apis
            .get((first + attempt) % apis.len().max(1))
            .cloned()
            .unwrap_or_default();
        let reply = http.call(
            method,
            &api,
            path,
            &[("authorization", &auth), ("idempotency-key", key)],
            Body::Json(body),
        );
        match &reply {
            Reply::Answer { status, .. } if (200..300).contains(status) => {
                return reply
                    .ok_json()
                    .ok_or_else(|| anyhow!("{method} {path}: answer is not JSON"));
            }
            Reply::Answer { status, body } if (400..500).contains(status) => {
                bail!("{method} {path} refused: {status} {body}");
            }
            _ => last = reply.describe(),
        }
        // Pacing between retries while the cluster settles.
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("{method} {path}: no success within 60 s; last: {last}")
}

/// Makes the hall, the showtime and the customer limit; returns what clients work on.
fn setup(
    http: &Http,
    apis: &[String],
    leader: usize,
    token: &str,
    seed: u64,
) -> anyhow::Result<Target> {
    let rows: Vec<Value> = (0..ROWS)
        .map(|r| serde_json::json!({"row": ((b'a' + r as u8) as char).to_string(), "seats": ROW_LEN}))
        .collect();
    let theater = serde_json::json!({"name": format!("Fault hall {seed}"), "location": "faults", "rows": rows}).to_string();
    let theater = admin_write(
        http,
        apis,
        leader,
        token,
        ("POST", "/api/theaters", &theater),
        &format!("setup-theater-{seed:020}"),
    )?;
    let theater_id = theater["id"]
        .as_u64()
        .context("theater answer without id")?;
    let showtime = serde_json::json!({
        "movie_id": 1,
        "theater_id": theater_id,
        "starts_at": "2030-01-01T20:00:00Z",
        "price_cents": 1000,
    })
    .to_string();
    let showtime = admin_write(
        http,
        apis,
        leader,
        token,
        ("POST", "/api/showtimes", &showtime),
        &format!("setup-showtime-{seed:020}"),
    )?;
    let showtime_id = showtime["id"]
        .as_u64()
        .context("showtime answer without id")?;
    let settings = serde_json::json!({"max_seats_per_customer": 100}).to_string();
    admin_write(
        http,
        apis,
        leader,
        token,
        ("PUT", "/api/settings", &settings),
        &format!("setup-settings-{seed:020}"),
    )?;
    let seats = (0..ROWS)
        .flat_map(|r| (1..=ROW_LEN).map(move |n| format!("{}{n}", (b'a' + r as u8) as char)))
        .collect();
    Ok(Target {
        showtime: showtime_id,
        seats,
        row_len: ROW_LEN,
        apis: apis.to_vec(),
        stale_reads: false,
    })
}

/// A node's local view: seat map and booking list.
type View = (BTreeMap<String, Seen>, BTreeMap<u64, FinalBooking>);

/// Reads node `api`'s local seat map and bookings of the showtime.
fn local_view(http: &Http, api: &str, token: &str, target: &Target) -> Option<View> {
    let seats_json = http
        .call(
            "GET",
            api,
            &format!("/api/showtimes/{}/seats?consistency=local", target.showtime),
            &[],
            Body::None,
        )
        .ok_json()?;
    let mut seats = BTreeMap::new();
    for seat in seats_json["seats"].as_array()? {
        seats.insert(
            seat["seat"].as_str()?.to_string(),
            Seen::parse(seat["state"].as_str()?)?,
        );
    }
    let mut bookings = BTreeMap::new();
    let mut after: Option<u64> = None;
    // Bounded: 1,000 pages of 500 is far more than a run makes.
    for _ in 0..1_000 {
        let mut path = format!(
            "/api/bookings?showtime={}&consistency=local&limit=500",
            target.showtime
        );
        if let Some(after) = after {
            path.push_str(&format!("&after={after}"));
        }
        let page = http.admin_get(api, &path, token)?;
        for booking in page["bookings"].as_array()? {
            let seats = booking["seats"]
                .as_array()?
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect();
            bookings.insert(
                booking["id"].as_u64()?,
                FinalBooking {
                    status: booking["status"].as_str()?.to_string(),
                    seats,
                },
            );
        }
        match page["next"].as_u64() {
            Some(next) => after = Some(next),
            None => return Some((seats, bookings)),
        }
    }
    None
}

/// Waits until every node has the same applied index and state hash, then reads every node's
/// local state and compares; records `replicas` anomalies. Returns the final state (node 0's
/// view if they differ) and the nodes' plugin states.
fn converge(
    nemesis: &mut Nemesis<'_>,
    http: &Http,
    target: &Target,
    clock: Clock,
    report: &mut Report,
) -> anyhow::Result<(FinalState, Vec<PluginState>)> {
    let token = nemesis.cluster.admin_token.clone();
    let apis = nemesis.cluster.apis();
    let started = Instant::now();
    let mut last_seen = String::new();
    // A few rounds: an entry applied between the hash check and the reads starts over.
    for _round in 0..5 {
        let agreed =
            nemesis.wait_for(CONVERGE_DEADLINE.saturating_sub(started.elapsed()), |n| {
                let states = n.cluster.plugin_states(http);
                last_seen = states
                    .iter()
                    .enumerate()
                    .map(|(i, s)| match s {
                        Some(s) => format!(
                            "node {i}: applied {} hash {:.12} v{}",
                            s.applied, s.state_hash, s.version
                        ),
                        None => format!("node {i}: no answer"),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let states: Vec<PluginState> = states.into_iter().collect::<Option<_>>()?;
                let first = states.first()?;
                states
                    .iter()
                    .all(|s| s.applied == first.applied && s.state_hash == first.state_hash)
                    .then_some(states)
            })?;
        let Some(states) = agreed else {
            report.anomalies.push(Anomaly {
                check: "replicas",
                detail: format!("the replicas did not reach one applied index and state hash within {CONVERGE_DEADLINE:?}; last seen: {last_seen}"),
                seats: Vec::new(),
                at: None,
            });
            // Check the history against node 0's view anyway.
            let view = apis
                .first()
                .and_then(|api| local_view(http, api, &token, target));
            let (seats, bookings) =
                view.ok_or_else(|| anyhow!("node 0 cannot be read after the run"))?;
            return Ok((
                FinalState {
                    seats,
                    bookings,
                    at: clock.now(),
                },
                Vec::new(),
            ));
        };
        let views: Vec<Option<View>> = apis
            .iter()
            .map(|api| local_view(http, api, &token, target))
            .collect();
        let after: Vec<Option<PluginState>> = nemesis.cluster.plugin_states(http);
        if after
            .iter()
            .zip(&states)
            .any(|(a, b)| a.as_ref() != Some(b))
        {
            continue;
        }
        let at = clock.now();
        let first = views
            .first()
            .cloned()
            .flatten()
            .ok_or_else(|| anyhow!("node 0's final state cannot be read"))?;
        let count = |seen: Seen| first.0.values().filter(|s| **s == seen).count();
        println!(
            "  {:>8}  converged: every node at applied index {} with state hash {:.16}; seats {} free, {} held, {} booked; {} bookings ({} confirmed)",
            secs(at),
            states.first().map_or(0, |s| s.applied),
            states.first().map_or("", |s| s.state_hash.as_str()),
            count(Seen::Free),
            count(Seen::Held),
            count(Seen::Booked),
            first.1.len(),
            first.1.values().filter(|b| b.status == "confirmed").count()
        );
        for (i, view) in views.iter().enumerate().skip(1) {
            match view {
                None => bail!("node {i}'s final state cannot be read"),
                Some(view) if *view != first => report.anomalies.push(Anomaly {
                    check: "replicas",
                    detail: format!(
                        "node {i} and node 0 have the same applied index and state hash but differ: {}",
                        diff_views(&first, view)
                    ),
                    seats: Vec::new(),
                    at: Some(at),
                }),
                Some(_) => {}
            }
        }
        let (seats, bookings) = first;
        return Ok((
            FinalState {
                seats,
                bookings,
                at,
            },
            states,
        ));
    }
    bail!("the replicas kept applying entries after the clients stopped")
}

/// What differs between two views, briefly.
fn diff_views(a: &View, b: &View) -> String {
    let mut out = String::new();
    for (seat, state) in &a.0 {
        let other = b.0.get(seat);
        if other != Some(state) {
            out.push_str(&format!("seat {seat} {state} vs {other:?}; "));
        }
    }
    let ids: std::collections::BTreeSet<&u64> = a.1.keys().chain(b.1.keys()).collect();
    for id in ids {
        if a.1.get(id) != b.1.get(id) {
            out.push_str(&format!(
                "booking {id} {:?} vs {:?}; ",
                a.1.get(id),
                b.1.get(id)
            ));
        }
    }
    out
}

/// Writes every operation and fault, in time order, to `dir/history.txt`.
fn write_history(dir: &Path, report: &Report) -> std::io::Result<()> {
    let mut text = format!("seed {}\nfaults:\n", report.seed);
    for fault in &report.faults {
        text.push_str(&format!("  {}\n", fault.line()));
    }
    if let Some(swap) = &report.swap {
        text.push_str(&format!(
            "  {:>8} .. {:>8}  {}: acknowledged {} after {} attempt(s); last {}\n",
            secs(swap.start),
            secs(swap.end),
            nemesis::SWAP_LABEL,
            swap.acknowledged,
            swap.attempts,
            swap.last
        ));
    }
    text.push_str("operations:\n");
    for op in &report.ops {
        text.push_str(&format!("  {}\n", op.line()));
    }
    std::fs::write(dir.join("history.txt"), text)
}
