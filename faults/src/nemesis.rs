//! Faults: a schedule drawn from the run's seed, and its execution against the cluster.
//!
//! The schedule is a list of steps (a pause, a fault, how long it lasts) fixed by the seed,
//! the node count and nothing else; who "the leader" is gets resolved when the fault starts.
//! Kinds come from a deck of [`Kind::ALL`] in three groups of three; the seed rotates the
//! groups (so three consecutive seeds, as `--short` runs them, each begin with a different
//! group) and shuffles within each group, then later decks are shuffled whole.
//!
//! Every fault heals before the next one starts; after healing, the nemesis waits (with a
//! deadline) for all nodes to agree on a leader again and records how long that took.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use crate::api::{Body, Http};
use crate::cluster::{describe_exit, last_log_line, last_log_line_with, Cluster};
use crate::history::{secs, Clock};
use crate::net::Network;
use crate::signal;

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// kill -9 the leader, restart it.
    KillLeader,
    /// kill -9 a follower, restart it.
    KillFollower,
    /// SIGSTOP the leader, SIGCONT it.
    PauseLeader,
    /// SIGSTOP a follower, SIGCONT it.
    PauseFollower,
    /// Cut the leader off from every other node.
    IsolateLeader,
    /// Split into a majority and a minority (the minority holds the leader or not).
    Split,
    /// Two halves that cannot see each other, and one node that sees both.
    Bridge,
    /// kill -9 every node, restart them all.
    KillAll,
    /// Remove a follower, wipe its data dir, start it again with `--join`.
    Rejoin,
}

impl Kind {
    /// The deck: three groups of three.
    pub const ALL: [Kind; 9] = [
        Kind::KillLeader,
        Kind::IsolateLeader,
        Kind::Rejoin,
        Kind::PauseLeader,
        Kind::Split,
        Kind::KillFollower,
        Kind::KillAll,
        Kind::Bridge,
        Kind::PauseFollower,
    ];

    /// Name for reports.
    pub fn label(self) -> &'static str {
        match self {
            Kind::KillLeader => "kill -9 leader",
            Kind::KillFollower => "kill -9 follower",
            Kind::PauseLeader => "pause leader",
            Kind::PauseFollower => "pause follower",
            Kind::IsolateLeader => "partition: leader isolated",
            Kind::Split => "partition: majority/minority",
            Kind::Bridge => "partition: bridge",
            Kind::KillAll => "kill -9 all",
            Kind::Rejoin => "membership: remove, wipe, --join",
        }
    }
}

/// The label of the plugin swap in reports.
pub const SWAP_LABEL: &str = "plugin swap v1 -> v2";

/// One step of the schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Quiet time before the fault.
    pub gap: Duration,
    /// The fault.
    pub kind: Kind,
    /// How long it lasts before healing (for a rejoin: the time budget to rejoin is separate).
    pub hold: Duration,
    /// A random number that picks targets among the candidates at run time.
    pub pick: u64,
    /// A random choice of variant: the minority holds the leader (split), the leader is the
    /// bridge (bridge), the removal is explicit before the wipe (rejoin).
    pub variant: bool,
}

/// The faults of one run, fixed by seed, node count and duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Steps in order (more than a run uses; it stops when its time is up).
    pub steps: Vec<Step>,
    /// When the plugin swap starts, from the start of the faults.
    pub swap_at: Duration,
    /// Which node is asked first to swap.
    pub swap_node: usize,
}

impl Schedule {
    /// The schedule of a run.
    pub fn new(seed: u64, nodes: usize, duration: Duration) -> Schedule {
        let mut rng = SmallRng::seed_from_u64(seed.wrapping_mul(0xa076_1d64_78bd_642f) ^ 0x5eed);
        let mut deck: Vec<Kind> = Vec::new();
        let groups: Vec<&[Kind]> = Kind::ALL.chunks(3).collect();
        let first = (seed % 3) as usize;
        for g in 0..groups.len() {
            let mut group = groups
                .get((first + g) % groups.len())
                .map(|g| g.to_vec())
                .unwrap_or_default();
            group.shuffle(&mut rng);
            deck.extend(group);
        }
        let steps_needed = (duration.as_secs() as usize / 2).clamp(4, 1_000);
        while deck.len() < steps_needed {
            let mut more = Kind::ALL.to_vec();
            more.shuffle(&mut rng);
            deck.extend(more);
        }
        let steps = deck
            .into_iter()
            .map(|kind| Step {
                gap: Duration::from_millis(rng.gen_range(500..2_000)),
                kind,
                hold: Duration::from_millis(match kind {
                    Kind::KillAll => rng.gen_range(500..2_000),
                    _ => rng.gen_range(1_500..4_000),
                }),
                pick: rng.gen(),
                variant: rng.gen_bool(0.5),
            })
            .collect();
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let swap_at =
            Duration::from_millis(rng.gen_range(millis / 5..=(millis * 7 / 10).max(millis / 5)));
        Schedule {
            steps,
            swap_at,
            swap_node: rng.gen_range(0..nodes.max(1)),
        }
    }
}

/// A fault as it happened.
#[derive(Debug, Clone)]
pub struct FaultRecord {
    /// Its kind's label.
    pub label: &'static str,
    /// What exactly was done.
    pub detail: String,
    /// The leader when it started, if one was known.
    pub leader: Option<usize>,
    /// Whether it took the leader away (killed, paused, cut off from a majority).
    pub removes_leader: bool,
    /// Start (µs since the run started).
    pub start: u64,
    /// When it was fully in place (µs): the kill reaped, the signal sent, the last
    /// namespace's rules loaded. Failover times count from here.
    pub effective: u64,
    /// When it was healed (µs).
    pub healed: u64,
    /// When all nodes agreed on a leader again after healing (µs), if they did in time.
    pub recovered: Option<u64>,
}

impl FaultRecord {
    /// One line for the log.
    pub fn line(&self) -> String {
        format!(
            "{:>8} .. {:>8}  {}: {}{}",
            secs(self.start),
            secs(self.healed),
            self.label,
            self.detail,
            match self.recovered {
                Some(at) => format!(
                    " (leader agreed {}s after healing)",
                    secs(at.saturating_sub(self.healed))
                ),
                None => " (no agreed leader within the deadline after healing)".to_string(),
            }
        )
    }
}

/// Something wrong the nemesis saw (a node exiting on its own, a rejoin that never finished).
#[derive(Debug, Clone)]
pub struct Incident {
    /// When (µs).
    pub at: u64,
    /// What.
    pub detail: String,
}

/// How long to wait for an agreed leader after healing, and before a fault that needs one.
pub const RECOVERY_DEADLINE: Duration = Duration::from_secs(30);
/// How long a wiped node may take to become a voter again.
pub const REJOIN_DEADLINE: Duration = Duration::from_secs(60);
/// Unexpected exits of one node after which the nemesis stops restarting it.
const MAX_RESTARTS: u32 = 3;

/// Runs the schedule against the cluster.
pub struct Nemesis<'a> {
    /// The nodes.
    pub cluster: &'a mut Cluster,
    /// Their network.
    pub net: &'a Network,
    /// Admin requests (short timeout).
    pub http: Http,
    /// The run's clock.
    pub clock: Clock,
    /// Faults done.
    pub faults: Vec<FaultRecord>,
    /// Anomalies seen while faulting.
    pub incidents: Vec<Incident>,
    /// Nodes whose exit is expected (being removed).
    expected_exit: BTreeSet<usize>,
    /// Unexpected exits per node.
    restarts: Vec<u32>,
}

impl<'a> Nemesis<'a> {
    /// A nemesis for this cluster.
    pub fn new(
        cluster: &'a mut Cluster,
        net: &'a Network,
        http: Http,
        clock: Clock,
    ) -> Nemesis<'a> {
        let n = cluster.nodes.len();
        Nemesis {
            cluster,
            net,
            http,
            clock,
            faults: Vec::new(),
            incidents: Vec::new(),
            expected_exit: BTreeSet::new(),
            restarts: vec![0; n],
        }
    }

    /// Reaps nodes that exited on their own: records an incident and restarts them (up to a
    /// limit), unless the exit was expected.
    pub fn check_exits(&mut self) -> anyhow::Result<()> {
        for (id, status) in self.cluster.exited() {
            if self.expected_exit.contains(&id) {
                continue;
            }
            let log = self
                .cluster
                .nodes
                .get(id)
                .map(|n| n.log.display().to_string())
                .unwrap_or_default();
            let said = self
                .cluster
                .nodes
                .get(id)
                .and_then(|n| last_log_line(&n.log))
                .unwrap_or_default();
            self.incidents.push(Incident {
                at: self.clock.now(),
                detail: format!(
                    "node {id} exited on its own ({}); its log: {log}; last line: {said}",
                    describe_exit(status)
                ),
            });
            println!(
                "  {:>8}  node {id} exited on its own ({})",
                secs(self.clock.now()),
                describe_exit(status)
            );
            let count = self.restarts.get_mut(id).context("node id")?;
            *count += 1;
            if *count <= MAX_RESTARTS {
                self.cluster.start(id, None)?;
            }
        }
        Ok(())
    }

    /// Waits for `d` (schedule pacing, not a condition), watching for exits and Ctrl-C.
    pub fn idle(&mut self, d: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + d;
        loop {
            signal::check()?;
            self.check_exits()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    /// Polls `probe` every 100 ms until it answers `Some`, or `deadline` passes (`None`);
    /// watches for exits and Ctrl-C meanwhile.
    pub fn wait_for<T>(
        &mut self,
        deadline: Duration,
        mut probe: impl FnMut(&mut Self) -> Option<T>,
    ) -> anyhow::Result<Option<T>> {
        let until = Instant::now() + deadline;
        loop {
            signal::check()?;
            self.check_exits()?;
            if let Some(value) = probe(self) {
                return Ok(Some(value));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until every running node agrees on a running leader; returns it.
    pub fn wait_leader(&mut self, deadline: Duration) -> anyhow::Result<Option<usize>> {
        self.wait_for(deadline, |n| n.cluster.agreed_leader(&n.http))
    }

    /// Runs the schedule's steps until `duration` of the run has passed, healing each fault
    /// before the next.
    ///
    /// # Errors
    /// A command or process operation that failed (a harness error), or Ctrl-C.
    pub fn run(&mut self, schedule: &Schedule, duration: Duration) -> anyhow::Result<()> {
        let begin = Instant::now();
        for step in &schedule.steps {
            if begin.elapsed() + step.gap + step.hold > duration {
                break;
            }
            self.idle(step.gap)?;
            let leader = self.wait_leader(RECOVERY_DEADLINE)?;
            self.fault(step, leader)?;
        }
        Ok(())
    }

    /// Running nodes other than `leader`.
    fn followers(&self, leader: Option<usize>) -> Vec<usize> {
        self.cluster
            .nodes
            .iter()
            .filter(|n| n.is_up() && Some(n.id) != leader)
            .map(|n| n.id)
            .collect()
    }

    fn pick_from(list: &[usize], pick: u64) -> Option<usize> {
        if list.is_empty() {
            return None;
        }
        list.get((pick % list.len() as u64) as usize).copied()
    }

    /// Every pair across the groups.
    fn cut_between(groups: &[Vec<usize>]) -> BTreeSet<(usize, usize)> {
        let mut cut = BTreeSet::new();
        for (i, a) in groups.iter().enumerate() {
            for b in groups.iter().skip(i + 1) {
                for &x in a {
                    for &y in b {
                        cut.insert((x.min(y), x.max(y)));
                    }
                }
            }
        }
        cut
    }

    /// Does one fault, heals it and waits for recovery.
    fn fault(&mut self, step: &Step, leader: Option<usize>) -> anyhow::Result<()> {
        let n = self.cluster.nodes.len();
        let start = self.clock.now();
        let mut effective = start;
        let followers = self.followers(leader);
        let mut rng = SmallRng::seed_from_u64(step.pick);
        let (detail, removes_leader) = match step.kind {
            Kind::KillLeader | Kind::KillFollower => {
                let target = if step.kind == Kind::KillLeader {
                    leader.or_else(|| Self::pick_from(&followers, step.pick))
                } else {
                    Self::pick_from(&followers, step.pick)
                };
                let Some(target) = target else {
                    return Ok(());
                };
                self.cluster.kill(target)?;
                effective = self.clock.now();
                self.idle(step.hold)?;
                self.cluster.start(target, None)?;
                (
                    format!(
                        "node {target} down for {}s",
                        secs(step.hold.as_micros() as u64)
                    ),
                    Some(target) == leader,
                )
            }
            Kind::PauseLeader | Kind::PauseFollower => {
                let target = if step.kind == Kind::PauseLeader {
                    leader.or_else(|| Self::pick_from(&followers, step.pick))
                } else {
                    Self::pick_from(&followers, step.pick)
                };
                let Some(target) = target else {
                    return Ok(());
                };
                self.cluster.pause(target)?;
                effective = self.clock.now();
                let held = self.idle(step.hold);
                self.cluster.resume(target)?;
                held?;
                (
                    format!(
                        "node {target} stopped for {}s",
                        secs(step.hold.as_micros() as u64)
                    ),
                    Some(target) == leader,
                )
            }
            Kind::IsolateLeader | Kind::Split | Kind::Bridge => {
                let mut all: Vec<usize> = (0..n).collect();
                all.shuffle(&mut rng);
                let groups: Vec<Vec<usize>> = match step.kind {
                    Kind::IsolateLeader => {
                        let alone = leader.unwrap_or(all.first().copied().unwrap_or(0));
                        let rest = (0..n).filter(|&i| i != alone).collect();
                        vec![vec![alone], rest]
                    }
                    Kind::Split => {
                        let size = (n - 1) / 2;
                        let mut minority: Vec<usize> = Vec::new();
                        if let (true, Some(l)) = (step.variant, leader) {
                            minority.push(l);
                        }
                        for &i in &all {
                            if minority.len() >= size.max(1) {
                                break;
                            }
                            if Some(i) != leader {
                                minority.push(i);
                            }
                        }
                        let majority = (0..n).filter(|i| !minority.contains(i)).collect();
                        vec![minority, majority]
                    }
                    _ => {
                        // Bridge: one node sees both halves.
                        let bridge = match (step.variant, leader) {
                            (true, Some(l)) => l,
                            _ => Self::pick_from(&followers, step.pick)
                                .unwrap_or(all.first().copied().unwrap_or(0)),
                        };
                        let rest: Vec<usize> =
                            all.iter().copied().filter(|&i| i != bridge).collect();
                        let half = rest.len().div_ceil(2);
                        vec![rest[..half].to_vec(), rest[half..].to_vec()]
                    }
                };
                let cut = Self::cut_between(&groups);
                self.net.partition(&cut)?;
                effective = self.clock.now();
                let held = self.idle(step.hold);
                self.net.heal()?;
                held?;
                let removes = match (step.kind, leader) {
                    (Kind::Bridge, _) | (_, None) => false,
                    (_, Some(l)) => groups.iter().any(|g| g.contains(&l) && g.len() * 2 <= n),
                };
                let separator = match step.kind {
                    Kind::Bridge => {
                        let bridge = (0..n).find(|i| !groups.iter().any(|g| g.contains(i)));
                        format!(
                            " | bridge {} | ",
                            bridge.map_or("?".into(), |b| b.to_string())
                        )
                    }
                    _ => " | ".to_string(),
                };
                let shown: Vec<String> = groups.iter().map(|g| format!("{g:?}")).collect();
                (
                    format!(
                        "{} for {}s (leader was {})",
                        shown.join(&separator),
                        secs(step.hold.as_micros() as u64),
                        leader.map_or("unknown".into(), |l| format!("node {l}"))
                    ),
                    removes,
                )
            }
            Kind::KillAll => {
                let mut order: Vec<usize> = (0..n).collect();
                for &i in &order {
                    self.cluster.kill(i)?;
                }
                effective = self.clock.now();
                self.idle(step.hold)?;
                order.shuffle(&mut rng);
                for &i in &order {
                    self.cluster.start(i, None)?;
                }
                (
                    format!(
                        "all down for {}s, restarted in order {order:?}",
                        secs(step.hold.as_micros() as u64)
                    ),
                    leader.is_some(),
                )
            }
            Kind::Rejoin => {
                let (Some(l), Some(target)) = (leader, Self::pick_from(&followers, step.pick))
                else {
                    println!(
                        "  {:>8}  {}: skipped (no leader)",
                        secs(start),
                        step.kind.label()
                    );
                    return Ok(());
                };
                let detail = self.rejoin(target, l, step.variant)?;
                (detail, false)
            }
        };
        let healed = self.clock.now();
        let recovered = self
            .wait_leader(RECOVERY_DEADLINE)?
            .map(|_| self.clock.now());
        let record = FaultRecord {
            label: step.kind.label(),
            detail,
            leader,
            removes_leader: removes_leader && leader.is_some(),
            start,
            effective,
            healed,
            recovered,
        };
        println!("  {}", record.line());
        self.faults.push(record);
        Ok(())
    }

    /// Removes `target` (explicitly first when `explicit`), wipes it, starts it with
    /// `--join` and waits until it is a voter again.
    fn rejoin(&mut self, target: usize, leader: usize, explicit: bool) -> anyhow::Result<String> {
        let leader_api = self
            .cluster
            .nodes
            .get(leader)
            .map(|n| n.api.clone())
            .context("leader id")?;
        let mut detail = String::new();
        self.expected_exit.insert(target);
        if explicit {
            detail.push_str(&self.remove_member(target, leader)?);
        }
        self.cluster.kill(target)?;
        self.cluster.wipe(target)?;
        let started = Instant::now();
        let mut joins = 0;
        let mut voter = self.wait_rejoined(target, &leader_api, &mut joins)?;
        if voter.is_none() && !explicit {
            // `--join` alone did not get it back: say so, then remove the old incarnation
            // explicitly so the rest of the run has its full cluster again.
            let said = self
                .cluster
                .nodes
                .get(target)
                .and_then(|n| last_log_line_with(&n.log, "join").or_else(|| last_log_line(&n.log)))
                .unwrap_or_default();
            self.incidents.push(Incident {
                at: self.clock.now(),
                detail: format!(
                    "node {target} (wiped while a member, started with --join {leader_api}) was not a voter within {REJOIN_DEADLINE:?} ({joins} join attempt(s)); its log's last line: {said}"
                ),
            });
            detail.push_str(&format!(
                "wiped node {target}, --join: NOT a voter within {REJOIN_DEADLINE:?}; fallback: "
            ));
            let leader = self.cluster.leader(&self.http).unwrap_or(leader);
            detail.push_str(&self.remove_member(target, leader)?);
            voter = self.wait_rejoined(target, &leader_api, &mut joins)?;
        }
        // Until here an exit of the target was expected (removal, a join attempt that ended
        // and was restarted); from now on it is a crash again.
        self.expected_exit.remove(&target);
        match voter {
            Some(()) => detail.push_str(&format!(
                "wiped node {target}{}, --join, voter again after {}s{}",
                if explicit { "" } else { " (still a member)" },
                secs(started.elapsed().as_micros() as u64),
                if joins > 1 {
                    format!(" ({joins} join attempts)")
                } else {
                    String::new()
                }
            )),
            None => {
                self.incidents.push(Incident {
                    at: self.clock.now(),
                    detail: format!(
                        "node {target} (wiped, removed, started with --join) was not a voter within {REJOIN_DEADLINE:?} ({joins} join attempt(s))"
                    ),
                });
                detail.push_str(&format!(
                    "wiped node {target}, --join: NOT a voter within {REJOIN_DEADLINE:?}"
                ));
            }
        }
        Ok(detail)
    }

    /// `POST /v1/members {"remove": target}` on `leader`; a description of the answer.
    fn remove_member(&mut self, target: usize, leader: usize) -> anyhow::Result<String> {
        let api = |id: usize| {
            self.cluster
                .nodes
                .get(id)
                .map(|n| n.api.clone())
                .context("node id")
        };
        let (leader_api, target_api) = (api(leader)?, api(target)?);
        let slow = Http::new(Duration::from_secs(25));
        let body = serde_json::json!({ "remove": target_api }).to_string();
        let auth = format!("Bearer {}", self.cluster.admin_token);
        let reply = slow.call(
            "POST",
            &leader_api,
            "/v1/members",
            &[("authorization", &auth)],
            Body::Json(&body),
        );
        Ok(format!(
            "remove node {target} via node {leader}: {}; ",
            reply.describe().chars().take(100).collect::<String>()
        ))
    }

    /// Keeps node `target` running with `--join` (restarting it through the current leader
    /// when a join attempt ends, at most [`MAX_RESTARTS`] times) until it is a voter that
    /// follows a leader and has the plugin, or [`REJOIN_DEADLINE`] passes.
    fn wait_rejoined(
        &mut self,
        target: usize,
        first_via: &str,
        joins: &mut u32,
    ) -> anyhow::Result<Option<()>> {
        let mut via = first_via.to_string();
        let mut attempts = 0;
        self.wait_for(REJOIN_DEADLINE, |nem| {
            if !nem.cluster.nodes.get(target).is_some_and(|n| n.is_up()) {
                if attempts >= MAX_RESTARTS {
                    return None;
                }
                attempts += 1;
                *joins += 1;
                if attempts > 1 {
                    // The previous join attempt ended: join through whoever leads now.
                    if let Some(api) = nem
                        .cluster
                        .leader(&nem.http)
                        .and_then(|l| nem.cluster.nodes.get(l).map(|n| n.api.clone()))
                    {
                        via = api;
                    }
                }
                if let Err(e) = nem.cluster.start(target, Some(&via)) {
                    nem.incidents.push(Incident {
                        at: nem.clock.now(),
                        detail: format!("cannot start node {target} with --join: {e:#}"),
                    });
                }
                return None;
            }
            let statuses = nem.cluster.statuses(&nem.http);
            let own = statuses.get(target).cloned().flatten()?;
            let leader_id = own.leader_id?;
            let lead = statuses
                .get(usize::try_from(leader_id).ok()?)
                .cloned()
                .flatten()?;
            (lead.voters.contains(&(target as u64)) && own.has_plugin && own.role == "follower")
                .then_some(())
        })
    }

    /// Heals everything: no partition, every node running and continued.
    ///
    /// # Errors
    /// A failed command.
    pub fn heal_all(&mut self) -> anyhow::Result<()> {
        self.net.heal()?;
        for id in 0..self.cluster.nodes.len() {
            self.cluster.resume(id)?;
            if !self.cluster.nodes.get(id).is_some_and(|n| n.is_up()) {
                self.cluster.start(id, None)?;
            }
        }
        Ok(())
    }
}

/// The plugin swap: posts the v2 component at `at`, retrying on other nodes until a node
/// answers 201 (or 409 plugin-unchanged: it is installed already), the attempts run out, or
/// `stop` is set.
#[derive(Debug, Clone)]
pub struct SwapRecord {
    /// When the first attempt started (µs).
    pub start: u64,
    /// When the last ended (µs).
    pub end: u64,
    /// Attempts made.
    pub attempts: u32,
    /// Whether a node acknowledged the install.
    pub acknowledged: bool,
    /// The last answer.
    pub last: String,
}

/// Runs the plugin swap (on its own thread). Returns `None` if the run ended first.
pub fn swap_plugin(
    at: Duration,
    first_node: usize,
    apis: &[String],
    token: &str,
    wasm: &[u8],
    clock: Clock,
    stop: &std::sync::atomic::AtomicBool,
) -> Option<SwapRecord> {
    // Pacing until the scheduled time (bounded by `at`), watching `stop`.
    while clock.elapsed() < at {
        if stop.load(Ordering::Relaxed) || signal::interrupted() {
            return None;
        }
        std::thread::sleep(
            at.saturating_sub(clock.elapsed())
                .min(Duration::from_millis(50)),
        );
    }
    let http = Http::new(Duration::from_secs(30));
    let auth = format!("Bearer {token}");
    let start = clock.now();
    let mut record = SwapRecord {
        start,
        end: start,
        attempts: 0,
        acknowledged: false,
        last: String::new(),
    };
    let n = apis.len().max(1);
    for attempt in 0..6 {
        if attempt > 0 && (stop.load(Ordering::Relaxed) || signal::interrupted()) {
            break;
        }
        record.attempts += 1;
        let api = apis
            .get((first_node + attempt) % n)
            .cloned()
            .unwrap_or_default();
        let reply = http.call(
            "POST",
            &api,
            "/v1/plugin",
            &[("authorization", &auth)],
            Body::Wasm(wasm),
        );
        record.last = format!("node {}: {}", (first_node + attempt) % n, reply.describe());
        record.end = clock.now();
        if let crate::api::Reply::Answer { status, body } = &reply {
            if *status == 201 || (*status == 409 && body.contains("plugin-unchanged")) {
                record.acknowledged = true;
                break;
            }
        }
        // Pacing before the next attempt on another node.
        std::thread::sleep(Duration::from_millis(500));
    }
    println!(
        "  {:>8} .. {:>8}  {SWAP_LABEL}: {} after {} attempt(s); last: {}",
        secs(record.start),
        secs(record.end),
        if record.acknowledged {
            "installed"
        } else {
            "NOT acknowledged"
        },
        record.attempts,
        record.last.chars().take(160).collect::<String>()
    );
    Some(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_the_schedule() {
        let a = Schedule::new(7, 3, Duration::from_secs(30));
        let b = Schedule::new(7, 3, Duration::from_secs(30));
        assert_eq!(a, b);
        assert_ne!(a, Schedule::new(8, 3, Duration::from_secs(30)));
    }

    #[test]
    fn three_consecutive_seeds_begin_with_every_group() {
        let mut firsts = BTreeSet::new();
        for seed in 40..43 {
            let schedule = Schedule::new(seed, 3, Duration::from_secs(30));
            for step in schedule.steps.iter().take(3) {
                firsts.insert(step.kind);
            }
        }
        assert_eq!(firsts, Kind::ALL.into_iter().collect());
    }

    #[test]
    fn the_swap_falls_inside_the_run() {
        for seed in 0..50 {
            let s = Schedule::new(seed, 5, Duration::from_secs(30));
            assert!(s.swap_at >= Duration::from_secs(6) && s.swap_at <= Duration::from_secs(21));
            assert!(s.swap_node < 5);
        }
    }

    #[test]
    fn cuts_separate_groups_only() {
        let cut = Nemesis::cut_between(&[vec![0, 1], vec![2]]);
        assert_eq!(cut, BTreeSet::from([(0, 2), (1, 2)]));
    }
}
