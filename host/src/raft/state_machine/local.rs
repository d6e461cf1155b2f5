//! Node-local plugin instances: HTTP route and render, console lines, queries, describe,
//! overview and status all run here, never on the canonical instance, so nothing a reader does
//! can change a replicated outcome.
//!
//! Each instance is owned by one worker thread (wasm calls block; they never run on the async
//! workers) and follows the committed tail lazily: a job that answers from the state (a read,
//! a watch, an overview) first applies the commands the canonical instance applied since the
//! instance last looked, so its state is as fresh as this node's; a job that must not depend
//! on the state (route, parse, rendering a write's result, describe, help) only needs the
//! current plugin and runs on the instance as it is, and an idle worker catches up on its own.
//! Under a stream of writes the local instances therefore do not apply every command a second
//! and third time (measured: that was two thirds of the plugin's CPU time on every node).
//!
//! A fault here (a query out of fuel, say) rebuilds that instance from the base point plus the
//! tail and changes nothing replicated. Jobs wait in one bounded queue that every worker takes
//! from; a full queue is refused at once rather than growing.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use tokio::sync::oneshot;

use super::tail::Tail;
use crate::plugin::{Fault, Instance, Limits, LoadedPlugin, Outcome};

/// Jobs waiting for a local instance before new ones are refused.
pub const QUEUE_DEPTH: usize = 1024;

/// How long an idle worker waits before catching up on its own.
const IDLE_CATCH_UP: Duration = Duration::from_millis(100);

/// Longest the other workers wait for the seeded one before building their own instances.
const START_GATE: Duration = Duration::from_secs(10);

/// Why a local job did not run.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LocalError {
    /// Every local instance is busy and the queue is full.
    #[error("this node is overloaded: {QUEUE_DEPTH} plugin calls are waiting")]
    Busy,
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
}

/// A node-local instance, as a job sees it.
pub struct LocalReplica {
    tail: Arc<Tail>,
    /// This node's `--plugin`, for the fronts until the cluster has a plugin.
    fallback: Arc<LoadedPlugin>,
    instance: Option<Instance>,
    /// The cluster's plugin `instance` runs and that plugin's install index (`None`: the
    /// fallback, before the first install).
    cluster_plugin: Option<(Arc<LoadedPlugin>, u64)>,
    generation: u64,
    /// The tail's plugin epoch this instance was built or caught up at.
    epoch: u64,
    position: usize,
    applied: u64,
}

/// An instance restored from the tail's current base, before any entry since (see
/// [`Machine::take_seed`](super::Machine::take_seed)).
pub struct Seed {
    instance: Instance,
    plugin: Arc<LoadedPlugin>,
    installed_at: u64,
    generation: u64,
    epoch: u64,
    applied: u64,
}

impl Seed {
    /// A seed for `tail`, whose base `instance` has just restored (`None` before the first
    /// install: there is nothing to seed).
    pub(super) fn new(instance: Instance, tail: &Tail) -> Option<Seed> {
        let base = tail.base();
        Some(Seed {
            instance,
            plugin: base.plugin.clone()?,
            installed_at: base.installed_at,
            generation: tail.generation(),
            epoch: tail.epoch(),
            applied: base.index,
        })
    }
}

impl LocalReplica {
    pub(super) fn new(tail: Arc<Tail>, fallback: Arc<LoadedPlugin>) -> Self {
        LocalReplica {
            tail,
            fallback,
            instance: None,
            cluster_plugin: None,
            generation: 0,
            epoch: 0,
            position: 0,
            applied: 0,
        }
    }

    /// A replica starting from a seed instead of restoring the base itself.
    pub(super) fn seeded(tail: Arc<Tail>, fallback: Arc<LoadedPlugin>, seed: Seed) -> Self {
        LocalReplica {
            tail,
            fallback,
            instance: Some(seed.instance),
            cluster_plugin: Some((seed.plugin, seed.installed_at)),
            generation: seed.generation,
            epoch: seed.epoch,
            position: 0,
            applied: seed.applied,
        }
    }

    /// Brings the instance to the tail's end, rebuilding it first if it is dead, missing or
    /// on an older base; returns how many commands it applied.
    fn catch_up(&mut self) -> Result<usize, Fault> {
        let dead = self.instance.as_ref().is_none_or(Instance::is_dead);
        let generation = if dead { 0 } else { self.generation };
        let step = self.tail.catch_up(generation, self.position);
        if let Some(base) = &step.rebuild_from {
            self.instance = None;
            self.cluster_plugin = None;
            let Some(plugin) = &base.plugin else {
                // No plugin in the cluster yet: serve the fronts from the fallback.
                self.instance = Some(self.fallback.instantiate(fallback_limits(&self.fallback))?);
                self.generation = step.generation;
                self.epoch = step.epoch;
                self.position = step.position;
                self.applied = step.applied;
                return Ok(0);
            };
            let mut instance = plugin.instantiate(base.limits)?;
            instance
                .restore(&base.state)?
                .map_err(|reason| Fault::Trap(format!("restore refused: {reason}")))?;
            self.instance = Some(instance);
            self.cluster_plugin = Some((plugin.clone(), base.installed_at));
        }
        if let Some(instance) = self.instance.as_mut() {
            if self.cluster_plugin.is_some() {
                for entry in &step.entries {
                    instance.apply(entry.ctx, &entry.command)?;
                }
            }
        }
        self.generation = step.generation;
        self.epoch = step.epoch;
        self.position = step.position;
        self.applied = step.applied;
        Ok(step.entries.len())
    }

    /// The instance, caught up with every command this node applied.
    ///
    /// # Errors
    /// A [`Fault`] if rebuilding or catching up failed (the next job tries again).
    pub fn instance(&mut self) -> Result<&mut Instance, Fault> {
        self.catch_up()?;
        self.instance.as_mut().ok_or(Fault::Dead)
    }

    /// The instance with the cluster's current plugin and limits, its state as it is (it may
    /// lag this node's): for calls whose answer must not depend on the state. Catches up only
    /// when the instance is dead, missing or runs a plugin or limits no longer in force.
    ///
    /// # Errors
    /// A [`Fault`] if rebuilding failed (the next job tries again).
    pub fn stateless(&mut self) -> Result<&mut Instance, Fault> {
        let current =
            self.epoch == self.tail.epoch() && self.instance.as_ref().is_some_and(|i| !i.is_dead());
        if !current {
            self.catch_up()?;
        }
        self.instance.as_mut().ok_or(Fault::Dead)
    }

    /// The instance to render `outcome` on: caught up for a read (its answer comes from the
    /// state), as it is otherwise (a write's result or an unavailable outcome).
    ///
    /// # Errors
    /// A [`Fault`] if rebuilding or catching up failed.
    pub fn to_render(&mut self, outcome: &Outcome) -> Result<&mut Instance, Fault> {
        match outcome {
            Outcome::Read(_) => self.instance(),
            Outcome::Written(_) | Outcome::Unavailable(_) => self.stateless(),
        }
    }

    /// True when the instance holds the cluster's state (false before the first install).
    pub fn has_state(&self) -> bool {
        self.cluster_plugin.is_some()
    }

    /// The cluster's plugin the instance runs and the log index of its install (`None` before
    /// the first install): read with the state, so the two always belong together.
    pub fn cluster_plugin(&self) -> Option<(Arc<LoadedPlugin>, u64)> {
        self.cluster_plugin.clone()
    }

    /// The log index the instance's state reflects.
    pub fn applied(&self) -> u64 {
        self.applied
    }
}

/// Limits for the fallback plugin: the defaults with the stack it was loaded for.
fn fallback_limits(plugin: &LoadedPlugin) -> Limits {
    Limits {
        stack_bytes: plugin.stack_bytes,
        ..Limits::default()
    }
}

type Job = Box<dyn FnOnce(&mut LocalReplica) + Send>;

/// The pool of local instances.
pub struct LocalPool {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl LocalPool {
    /// Starts `size` workers (at least one), each with its own instance following `tail`;
    /// the first starts from `seed` if there is one, `(seed, replay_to)`: a restart from a
    /// snapshot, whose log the apply thread re-applies up to index `replay_to`.
    ///
    /// The other workers then build their instances only once the seeded one has followed
    /// the re-apply to its end: meanwhile the apply thread and the seeded worker have the
    /// machine's cores to themselves instead of sharing them with more restores and replays of
    /// the same commands (measured at a million bookings on 2 cores: the apply thread got a
    /// third of a core). Until then the seeded worker takes every job.
    pub fn start(
        size: usize,
        tail: Arc<Tail>,
        fallback: Arc<LoadedPlugin>,
        seed: Option<(Seed, u64)>,
    ) -> Self {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(QUEUE_DEPTH);
        // Closed (never sent on) when the seeded worker keeps up, or stops.
        let (keeping_up, gate) = crossbeam_channel::bounded::<()>(0);
        let mut start = seed.map(|(seed, replay_to)| (seed, replay_to, keeping_up));
        let gated = start.is_some();
        let workers = (0..size.max(1))
            .map(|n| {
                let rx = rx.clone();
                let (replica, start) = match start.take() {
                    Some((seed, replay_to, keeping_up)) => (
                        LocalReplica::seeded(tail.clone(), fallback.clone(), seed),
                        Start::Seeded {
                            replay_to,
                            keeping_up,
                        },
                    ),
                    None if gated => (
                        LocalReplica::new(tail.clone(), fallback.clone()),
                        Start::AfterSeeded(gate.clone()),
                    ),
                    None => (
                        LocalReplica::new(tail.clone(), fallback.clone()),
                        Start::Now,
                    ),
                };
                std::thread::Builder::new()
                    .name(format!("plugin-local-{n}"))
                    .spawn(move || work(rx, replica, start))
            })
            .filter_map(|spawned| match spawned {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a local plugin worker");
                    None
                }
            })
            .collect();
        LocalPool {
            jobs: Some(tx),
            workers,
        }
    }

    /// Runs `f` on a local instance and returns what it returns.
    ///
    /// # Errors
    /// [`LocalError::Busy`] when the queue is full, [`LocalError::Stopped`] on shutdown.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LocalReplica) -> R + Send + 'static,
    ) -> Result<R, LocalError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |replica| {
            // The caller may have given up waiting; the answer is then of no use.
            let _ = tx.send(f(replica));
        });
        let Some(jobs) = &self.jobs else {
            return Err(LocalError::Stopped);
        };
        match jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(LocalError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(LocalError::Stopped),
        }
        rx.await.map_err(|_| LocalError::Stopped)
    }
}

impl Drop for LocalPool {
    fn drop(&mut self) {
        // Closing the queue ends every worker after its current job.
        self.jobs = None;
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                tracing::error!("a local plugin worker panicked");
            }
        }
    }
}

/// How a worker begins.
enum Start {
    /// At once, building its instance on first use or when idle.
    Now,
    /// From a seed; `keeping_up` is dropped once it has applied up to `replay_to`.
    Seeded {
        replay_to: u64,
        keeping_up: Sender<()>,
    },
    /// Once the seeded worker keeps up (or [`START_GATE`] passed): then it builds its
    /// instance before taking jobs.
    AfterSeeded(Receiver<()>),
}

fn work(jobs: Receiver<Job>, mut replica: LocalReplica, start: Start) {
    let mut keeping_up = None;
    let mut replay_to = 0;
    match start {
        Start::Now => {}
        Start::Seeded {
            replay_to: end,
            keeping_up: sender,
        } => {
            replay_to = end;
            keeping_up = Some(sender);
        }
        Start::AfterSeeded(gate) => {
            // Only ever closed, never sent on: any return means go.
            let _ = gate.recv_timeout(START_GATE);
            // A pool stopped meanwhile needs no instance built.
            let waiting = match jobs.try_recv() {
                Err(crossbeam_channel::TryRecvError::Disconnected) => return,
                waiting => waiting.ok(),
            };
            // Built before its first job, even one already waiting: the instance answers
            // for the state the seeded worker reached, not for an empty one.
            catch_up_idle(&mut replica);
            if let Some(job) = waiting {
                job(&mut replica);
            }
        }
    }
    let mut pause = IDLE_CATCH_UP;
    loop {
        match jobs.recv_timeout(pause) {
            Ok(job) => {
                job(&mut replica);
                // Jobs that need no state must not keep the seeded worker from following.
                if keeping_up.is_some() && catch_up_idle(&mut replica).is_none() {
                    drop(keeping_up.take());
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                let applied = catch_up_idle(&mut replica);
                // A fault opens the gate too: the other workers had better build their own.
                if applied.is_none() {
                    drop(keeping_up.take());
                }
                // While the log is re-applied, follow it without pausing.
                pause = match applied {
                    Some(1..) if keeping_up.is_some() => Duration::ZERO,
                    _ => IDLE_CATCH_UP,
                };
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
        if replica.applied() >= replay_to {
            drop(keeping_up.take());
        }
    }
}

/// An idle worker's catch-up: how many commands it applied, `None` after a fault (left for
/// the next job, which rebuilds).
fn catch_up_idle(replica: &mut LocalReplica) -> Option<usize> {
    match replica.catch_up() {
        Ok(applied) => Some(applied),
        Err(fault) => {
            tracing::debug!(%fault, "local instance could not catch up; it rebuilds on next use");
            None
        }
    }
}
