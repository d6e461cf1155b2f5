//! The state machine: committed entries go to the plugin's canonical instance on a dedicated
//! apply thread; snapshots are taken at base points and written off that thread; node-local
//! instances serve every read.
//!
//! - `canonical`: the replicated state and the canonical instance (the one call history).
//! - [`tail`]: the base point and the commands since, shared with local instances.
//! - [`local`]: the pool of node-local instances.
//! - [`image`]: what a snapshot holds.
//! - `reapply`: the committed log re-applied at start-up.
//! - [`request_keys`]: idempotency keys as replicated state.
//!
//! [`Machine`] is the handle the node keeps; [`StateMachine`] is openraft's face of it.

mod canonical;
pub mod image;
pub mod local;
mod reapply;
pub mod request_keys;
pub mod tail;

use std::io;
use std::sync::{mpsc, Arc, Mutex};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::RaftSnapshotBuilder;
use tokio::sync::{broadcast, oneshot, watch};

pub use canonical::Poisoned;
use canonical::{Canonical, SnapshotJob};
use image::InstallRecord;
use local::Seed;
use tail::Tail;

use super::entry::{ApplyOutcome, MachineConfig};
use super::snapshot_store::{read_file, SnapshotFile, SnapshotStore};
use super::typ::{Entry, LogId, Snapshot, SnapshotMeta, StoredMembership};
use super::TypeConfig;
use crate::plugin::{LoadedPlugin, Runtime};

/// A committed entry, as announced to consoles and event streams.
#[derive(Debug, Clone)]
pub struct CommitEvent {
    /// Log index of the entry.
    pub index: u64,
    /// Term of the leader that appended it.
    pub term: u64,
    /// What it was.
    pub kind: CommitKind,
}

/// The kinds of committed entries worth announcing.
#[derive(Debug, Clone)]
pub enum CommitKind {
    /// A plugin command, how it ended, and the watch topics it changed.
    Command {
        /// The command bytes (describe them with the plugin's `describe`).
        command: Vec<u8>,
        /// The result.
        outcome: ApplyOutcome,
        /// Topics whose watchers must wake.
        topics: Vec<String>,
    },
    /// A plugin install and how it ended.
    Plugin(ApplyOutcome),
    /// A machine config change and how it ended.
    Config(ApplyOutcome),
    /// A checkpoint (snapshot) entry.
    Checkpoint,
    /// A membership change; the text lists voters and learners.
    Membership(String),
    /// The whole state was replaced by a snapshot from the leader.
    SnapshotInstalled,
}

/// What the apply thread publishes after every batch.
#[derive(Debug, Clone, Default)]
pub struct MachineStatus {
    /// The last applied entry.
    pub last_applied: Option<LogId>,
    /// The membership as of the last applied entry.
    pub membership: StoredMembership,
    /// The cluster's plugin.
    pub plugin: Option<Arc<LoadedPlugin>>,
    /// Log index of its install.
    pub installed_at: u64,
    /// The machine config in force.
    pub config: MachineConfig,
    /// Log index of the last base point.
    pub base_index: u64,
    /// Log time of the last applied entry.
    pub log_time_ms: u64,
    /// Every plugin install, oldest first.
    pub installs: Arc<Vec<InstallRecord>>,
    /// Set when the machine stopped applying (see [`Poisoned`]).
    pub poisoned: Option<String>,
}

/// Work for the apply thread.
enum Job {
    Apply {
        entries: Vec<Entry>,
        reply: oneshot::Sender<Result<Vec<ApplyOutcome>, Poisoned>>,
    },
    InstallSnapshot {
        meta: SnapshotMeta,
        image: Box<image::SnapshotImage>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A base point at the last applied entry, now (see [`SnapshotBuilder`]).
    ForceBase {
        reply: oneshot::Sender<Result<Option<SnapshotJob>, Poisoned>>,
    },
}

/// The node's handle on its state machine.
pub struct Machine {
    jobs: mpsc::Sender<Job>,
    status: watch::Receiver<MachineStatus>,
    events: broadcast::Sender<CommitEvent>,
    deadline: watch::Receiver<Option<u64>>,
    /// Index of the newest snapshot file written or installed.
    snapshots: watch::Receiver<Option<u64>>,
    tail: Arc<Tail>,
    store: SnapshotStore,
    runtime: Arc<Runtime>,
    /// See [`Machine::take_seed`].
    seed: Mutex<Option<Seed>>,
}

/// Commit announcements buffered per subscriber before it counts as lagging.
const EVENT_BUFFER: usize = 4096;

impl Machine {
    /// Opens the state machine: the newest snapshot in `store` (if any) is restored into the
    /// canonical instance, then the apply and snapshot-writer threads start.
    ///
    /// # Errors
    /// If the snapshot cannot be read or restored.
    pub fn open(runtime: Arc<Runtime>, store: SnapshotStore) -> Result<Arc<Machine>, String> {
        let mut canonical = Canonical::new(runtime.clone());
        let mut seed = None;
        if let Some(current) = store.current() {
            let started = std::time::Instant::now();
            let (meta, image) = read_file(&current.path).map_err(|e| e.to_string())?;
            let read = started.elapsed();
            let seeded = canonical.restore_snapshot(&meta, image, true)?;
            seed = seeded.and_then(|instance| Seed::new(instance, &canonical.tail));
            tracing::info!(
                index = ?meta.last_log_id.map(|id| id.index),
                read_ms = read.as_millis() as u64,
                restore_ms = (started.elapsed() - read).as_millis() as u64,
                "state restored from the latest snapshot"
            );
        }
        let (status_tx, status) = watch::channel(status_of(&canonical));
        let (deadline_tx, deadline) = watch::channel(canonical.deadline);
        let (snapshots_tx, snapshots) = watch::channel(
            store
                .current()
                .and_then(|s| s.meta.last_log_id.map(|id| id.index)),
        );
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (jobs, jobs_rx) = mpsc::channel();
        let (writes, writes_rx) = mpsc::channel::<SnapshotJob>();
        let tail = canonical.tail.clone();
        let writer_store = store.clone();
        std::thread::Builder::new()
            .name("snapshot-writer".into())
            .spawn(move || write_snapshots(writes_rx, writer_store, snapshots_tx))
            .map_err(|e| format!("cannot start the snapshot writer: {e}"))?;
        let apply_events = events.clone();
        std::thread::Builder::new()
            .name("apply".into())
            .spawn(move || {
                apply_loop(
                    jobs_rx,
                    canonical,
                    Publisher {
                        status: status_tx,
                        deadline: deadline_tx,
                        events: apply_events,
                        writes,
                    },
                )
            })
            .map_err(|e| format!("cannot start the apply thread: {e}"))?;
        Ok(Arc::new(Machine {
            jobs,
            status,
            events,
            deadline,
            snapshots,
            tail,
            store,
            runtime,
            seed: Mutex::new(seed),
        }))
    }

    /// The local instance restored beside the canonical one at start-up, once (for the first
    /// local worker).
    pub fn take_seed(&self) -> Option<Seed> {
        self.seed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// What the apply thread published last.
    pub fn status(&self) -> MachineStatus {
        self.status.borrow().clone()
    }

    /// Follows the published status (changes after every applied batch).
    pub fn watch_status(&self) -> watch::Receiver<MachineStatus> {
        self.status.clone()
    }

    /// Subscribes to announcements of every applied entry.
    pub fn subscribe(&self) -> broadcast::Receiver<CommitEvent> {
        self.events.subscribe()
    }

    /// The plugin's next deadline, updated after every batch.
    pub fn watch_deadline(&self) -> watch::Receiver<Option<u64>> {
        self.deadline.clone()
    }

    /// The index of the newest snapshot on disk, updated when one is written or installed.
    pub fn watch_snapshots(&self) -> watch::Receiver<Option<u64>> {
        self.snapshots.clone()
    }

    /// The committed tail local instances follow.
    pub fn tail(&self) -> Arc<Tail> {
        self.tail.clone()
    }

    /// The snapshot folder.
    pub fn store(&self) -> &SnapshotStore {
        &self.store
    }

    /// The plugin runtime.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.clone()
    }

    /// Checks that a snapshot image can be installed: its plugin loads and restores its state
    /// in a fresh instance under the image's own limits. Blocking (compiles and runs wasm).
    ///
    /// # Errors
    /// Why the image cannot be installed.
    pub fn validate_image(&self, image: &image::SnapshotImage) -> Result<(), String> {
        let Some(plugin_image) = &image.plugin else {
            return Ok(());
        };
        if !plugin_image.is_intact() {
            return Err("the snapshot's plugin does not match its hash".into());
        }
        image.config.validate().map_err(|e| e.to_string())?;
        let plugin = self
            .runtime
            .load(plugin_image, image.config.limits.stack_bytes)
            .map_err(|e| format!("the snapshot's plugin is refused: {e}"))?;
        let mut instance = plugin
            .instantiate(image.config.limits)
            .map_err(|e| format!("the snapshot's plugin cannot start: {e}"))?;
        match instance.restore(&image.state) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(reason)) => Err(format!("the snapshot's plugin refuses its state: {reason}")),
            Err(fault) => Err(format!("the snapshot's plugin failed restoring: {fault}")),
        }
    }

    async fn apply_batch(&self, entries: Vec<Entry>) -> io::Result<Vec<ApplyOutcome>> {
        outcomes(self.submit_apply(entries)?).await
    }

    /// Hands `entries` to the apply thread; [`outcomes`] waits for them.
    fn submit_apply(&self, entries: Vec<Entry>) -> io::Result<Applying> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Apply { entries, reply })
            .map_err(|_| io::Error::other("the apply thread is gone"))?;
        Ok(answer)
    }

    /// Replaces the state with a verified snapshot (see [`StateMachine::install_snapshot`]).
    async fn install(&self, meta: &SnapshotMeta, snapshot: SnapshotFile) -> io::Result<()> {
        let image = match snapshot.prepared {
            Some(image) => *image,
            None => {
                let path = snapshot.path.clone();
                tokio::task::spawn_blocking(move || read_file(&path))
                    .await
                    .map_err(io::Error::other)??
                    .1
            }
        };
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::InstallSnapshot {
                meta: meta.clone(),
                image: Box::new(image),
                reply,
            })
            .map_err(|_| io::Error::other("the apply thread is gone"))?;
        answer
            .await
            .map_err(|_| io::Error::other("the apply thread is gone"))?
            .map_err(io::Error::other)?;
        let store = self.store.clone();
        let meta = meta.clone();
        let path = snapshot.path;
        tokio::task::spawn_blocking(move || store.adopt(&path, &meta))
            .await
            .map_err(io::Error::other)??;
        Ok(())
    }
}

/// Entries handed to the apply thread, their outcomes to come.
type Applying = oneshot::Receiver<Result<Vec<ApplyOutcome>, Poisoned>>;

/// The outcomes of entries handed to the apply thread.
async fn outcomes(applying: Applying) -> io::Result<Vec<ApplyOutcome>> {
    applying
        .await
        .map_err(|_| io::Error::other("the apply thread is gone"))?
        .map_err(io::Error::other)
}

/// Where the apply thread publishes.
struct Publisher {
    status: watch::Sender<MachineStatus>,
    deadline: watch::Sender<Option<u64>>,
    events: broadcast::Sender<CommitEvent>,
    writes: mpsc::Sender<SnapshotJob>,
}

fn status_of(canonical: &Canonical) -> MachineStatus {
    MachineStatus {
        last_applied: canonical.last_applied,
        membership: canonical.membership.clone(),
        plugin: canonical.active.as_ref().map(|a| a.plugin.clone()),
        installed_at: canonical.active.as_ref().map_or(0, |a| a.installed_at),
        config: canonical.config,
        base_index: canonical.tail.base().index,
        log_time_ms: canonical.log_time_ms,
        installs: Arc::new(canonical.installs.clone()),
        poisoned: None,
    }
}

impl Publisher {
    fn publish(&self, canonical: &Canonical, poisoned: Option<&Poisoned>) {
        let mut status = status_of(canonical);
        status.poisoned = poisoned.map(|p| p.0.clone());
        // Only replace the installs list when it changed, so status stays cheap to copy.
        let previous = self.status.borrow().installs.clone();
        if *previous == *status.installs {
            status.installs = previous;
        }
        self.tail_applied(canonical);
        self.status.send_replace(status);
        self.deadline.send_if_modified(|deadline| {
            let changed = *deadline != canonical.deadline;
            *deadline = canonical.deadline;
            changed
        });
    }

    fn tail_applied(&self, canonical: &Canonical) {
        if let Some(id) = canonical.last_applied {
            canonical.tail.set_applied(id.index);
        }
    }
}

/// The apply thread: owns the canonical instance until every sender is gone.
fn apply_loop(jobs: mpsc::Receiver<Job>, mut canonical: Canonical, out: Publisher) {
    let mut poisoned: Option<Poisoned> = None;
    while let Ok(job) = jobs.recv() {
        match job {
            Job::Apply { entries, reply } => {
                let mut outcomes = Vec::with_capacity(entries.len());
                let mut result = Ok(());
                for entry in &entries {
                    match canonical.apply(entry) {
                        Ok(applied) => {
                            if let Some(event) = applied.event {
                                // No subscriber is fine: nobody listens.
                                let _ = out.events.send(event);
                            }
                            if let Some(snapshot) = applied.snapshot {
                                // The writer outlives this thread's senders only on shutdown.
                                let _ = out.writes.send(snapshot);
                            }
                            outcomes.push(applied.outcome);
                        }
                        Err(stop) => {
                            poisoned = Some(stop.clone());
                            result = Err(stop);
                            break;
                        }
                    }
                }
                out.publish(&canonical, poisoned.as_ref());
                // openraft may have stopped waiting (shutdown): nothing to tell then.
                let _ = reply.send(result.map(|()| outcomes));
            }
            Job::ForceBase { reply } => {
                let job = canonical.force_base_point();
                out.publish(&canonical, poisoned.as_ref());
                let _ = reply.send(job);
            }
            Job::InstallSnapshot { meta, image, reply } => {
                let result = canonical.restore_snapshot(&meta, *image, false).map(|_| ());
                if result.is_ok() {
                    let (index, term) = meta
                        .last_log_id
                        .map_or((0, 0), |id| (id.index, id.leader_id.term));
                    let _ = out.events.send(CommitEvent {
                        index,
                        term,
                        kind: CommitKind::SnapshotInstalled,
                    });
                }
                out.publish(&canonical, poisoned.as_ref());
                let _ = reply.send(result);
            }
        }
    }
}

/// The snapshot writer: saves base-point snapshots, newest first (an older job still queued
/// behind a newer one is skipped), and announces each one written.
fn write_snapshots(
    jobs: mpsc::Receiver<SnapshotJob>,
    store: SnapshotStore,
    written: watch::Sender<Option<u64>>,
) {
    while let Ok(mut job) = jobs.recv() {
        while let Ok(newer) = jobs.try_recv() {
            job = newer;
        }
        let index = job.meta.last_log_id.map(|id| id.index);
        let started = std::time::Instant::now();
        match store.save(&job.meta, &job.image) {
            Ok(stored) => {
                tracing::info!(
                    index = ?index,
                    bytes = stored.len,
                    ms = started.elapsed().as_millis() as u64,
                    "snapshot written"
                );
                written.send_replace(stored.meta.last_log_id.map(|id| id.index));
            }
            Err(e) => tracing::error!(error = %e, "cannot write a snapshot; the log is kept"),
        }
    }
}

/// The openraft face of [`Machine`].
#[derive(Clone)]
pub struct StateMachine {
    machine: Arc<Machine>,
}

impl StateMachine {
    /// Wraps a shared machine; the node keeps another handle.
    pub fn new(machine: Arc<Machine>) -> Self {
        StateMachine { machine }
    }
}

/// Builds snapshots for openraft: hands over the newest base-point snapshot already on disk
/// (snapshots are never taken at a node-local moment, see `canonical`).
///
/// One exception, `force`: openraft asks for a snapshot at start-up when it finds log entries
/// purged but no snapshot (which this node never causes: it purges only behind a snapshot on
/// disk). Then a base point is made at the last applied entry, written, and handed over.
pub struct SnapshotBuilder {
    store: SnapshotStore,
    /// Set for a forced snapshot.
    force: Option<Arc<Machine>>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        if let Some(machine) = &self.force {
            let (reply, answer) = oneshot::channel();
            machine
                .jobs
                .send(Job::ForceBase { reply })
                .map_err(|_| io::Error::other("the apply thread is gone"))?;
            let job = answer
                .await
                .map_err(|_| io::Error::other("the apply thread is gone"))?
                .map_err(io::Error::other)?;
            if let Some(job) = job {
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || store.save(&job.meta, &job.image))
                    .await
                    .map_err(io::Error::other)??;
            }
        }
        let store = self.store.clone();
        let current = tokio::task::spawn_blocking(move || store.open_current())
            .await
            .map_err(io::Error::other)??;
        let (meta, snapshot) =
            current.ok_or_else(|| io::Error::other("no snapshot has been written yet"))?;
        Ok(Snapshot { meta, snapshot })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotFile;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let status = self.machine.status();
        Ok((status.last_applied, status.membership))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>>
            + Unpin
            + openraft::OptionalSend,
    {
        let mut batch = Vec::new();
        let mut responders = Vec::new();
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            batch.push(entry);
            responders.push(responder);
        }
        let outcomes = self.machine.apply_batch(batch).await?;
        for (responder, outcome) in responders.into_iter().zip(outcomes) {
            if let Some(responder) = responder {
                responder.send(outcome);
            }
        }
        Ok(())
    }

    async fn try_create_snapshot_builder(&mut self, force: bool) -> Option<Self::SnapshotBuilder> {
        if force {
            return Some(SnapshotBuilder {
                store: self.machine.store.clone(),
                force: Some(self.machine.clone()),
            });
        }
        // Only base points make snapshots; until one is on disk there is nothing to hand over.
        self.machine.store.current()?;
        Some(self.get_snapshot_builder().await)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        SnapshotBuilder {
            store: self.machine.store.clone(),
            force: None,
        }
    }

    /// Installs a snapshot received from the leader. The peer transport verified it (checksum,
    /// decoding, a restore into a fresh instance) before handing it to Raft, because an error
    /// here stops this node's Raft.
    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotFile,
    ) -> Result<(), io::Error> {
        self.machine.install(meta, snapshot).await
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let store = self.machine.store.clone();
        let current = tokio::task::spawn_blocking(move || store.open_current())
            .await
            .map_err(io::Error::other)??;
        Ok(current.map(|(meta, snapshot)| Snapshot { meta, snapshot }))
    }
}

/// A state machine with no plugin and snapshots in a temp folder (kept alive by the guard), for
/// the storage test suites.
#[cfg(test)]
pub(crate) fn for_tests() -> (tempfile::TempDir, StateMachine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SnapshotStore::open(dir.path(), u64::MAX).expect("snapshot store");
    let machine = Machine::open(Arc::new(Runtime::new()), store).expect("machine");
    (dir, StateMachine::new(machine))
}

#[cfg(test)]
mod tests;
