//! The state machine adapter: hands committed entries to the plugin, installs plugins at their
//! log index, builds and installs snapshots, and announces every commit.
//!
//! # Surviving plugin faults
//! A trap kills a component instance, and its in-memory state with it. So the adapter keeps a
//! *checkpoint* (the plugin's snapshot bytes) plus the commands applied since; after a fault it
//! builds a fresh instance, restores the checkpoint and replays those commands. The faulting
//! command is recorded as [`ApplyOutcome::Failed`] and left out of the replay list. Faults are
//! deterministic (fuel and memory are counted, not timed), so every replica fails the same
//! entry and ends in the same state.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, RaftSnapshotBuilder};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

use super::entry::{ApplyOutcome, Envelope, Payload, RequestKey};
use super::request_keys::{Lookup, RequestKeys};
use super::snapshot_store::{SnapshotStore, SnapshotStoreError};
use super::typ::{LogId, Snapshot, SnapshotMeta, StoredMembership};
use super::{SnapshotData, TypeConfig};
use crate::plugin::{Fault, Instance, LoadedPlugin, LogContext, PluginImage, Runtime};

/// Commands applied between two automatic checkpoints: bounds the replay after a fault.
const CHECKPOINT_EVERY: usize = 1024;

/// Format version of [`SnapshotImage`].
const SNAPSHOT_IMAGE_VERSION: u32 = 2;

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
    /// A plugin command and how it ended.
    Command {
        /// The command bytes (describe them with the plugin's `describe`).
        command: Vec<u8>,
        /// The result.
        outcome: ApplyOutcome,
    },
    /// A plugin install and how it ended.
    Plugin(ApplyOutcome),
    /// A membership change; the text lists the voters.
    Membership(String),
    /// The whole state was replaced by a snapshot from the leader.
    SnapshotInstalled,
}

/// What the host writes into a snapshot besides openraft's metadata.
#[derive(Serialize, Deserialize)]
struct SnapshotImage {
    version: u32,
    /// The plugin current at the snapshot's last applied entry.
    plugin: Option<PluginImage>,
    /// Log index of the entry that installed it.
    installed_at: u64,
    /// The plugin's own snapshot bytes.
    state: Vec<u8>,
    /// Idempotency keys applied and not yet forgotten.
    requests: RequestKeys,
    /// Every plugin install so far, oldest first.
    installs: Vec<InstallRecord>,
}

/// One plugin install, as `plugin history` lists it. Replicated state: kept in snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRecord {
    /// Log index of the install entry.
    pub index: u64,
    /// Leader time of the install entry, ms since the Unix epoch.
    pub at_ms: u64,
    /// `info().name`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// Component hash.
    pub hash: String,
    /// The snapshot format the plugin writes.
    pub snapshot_format: u32,
}

/// The current plugin and its state, for validating a swap candidate off the apply path.
pub struct CurrentState {
    /// The installed plugin.
    pub plugin: Arc<LoadedPlugin>,
    /// Log index of its install.
    pub installed_at: u64,
    /// Its snapshot of the state.
    pub snapshot: Vec<u8>,
    /// The last applied index the snapshot reflects.
    pub applied: u64,
}

/// Why a query could not be answered.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// No plugin has been committed to the log yet.
    #[error("no plugin has been installed in the cluster yet")]
    NoPlugin,
    /// The plugin faulted on this query.
    #[error("{0}")]
    Fault(#[from] Fault),
}

/// The live plugin and what it takes to rebuild it after a fault.
struct Active {
    plugin: Arc<LoadedPlugin>,
    instance: Instance,
    /// Log index of the entry that installed the plugin.
    installed_at: u64,
    /// Plugin snapshot bytes the replay starts from (`None`: the plugin's initial state).
    checkpoint: Option<Vec<u8>>,
    /// Commands applied successfully or refused since `checkpoint`, in order.
    replay: Vec<(LogContext, Vec<u8>)>,
}

impl Active {
    /// A fresh instance brought to the current state: checkpoint, then the replay list.
    fn rebuild(&mut self, runtime: &Runtime) -> Result<(), Fault> {
        let mut instance = runtime.instantiate(&self.plugin)?;
        if let Some(checkpoint) = &self.checkpoint {
            instance
                .restore(checkpoint)?
                .map_err(|reason| Fault::Trap(format!("restore refused: {reason}")))?;
        }
        for (ctx, command) in &self.replay {
            // Its answer was reported when it first ran; replay only rebuilds the state.
            let _answer = instance.apply(*ctx, command)?;
        }
        self.instance = instance;
        Ok(())
    }

    /// Applies one command, rebuilding the instance if it faults.
    fn apply(&mut self, runtime: &Runtime, ctx: LogContext, command: &[u8]) -> ApplyOutcome {
        match self.instance.apply(ctx, command) {
            Ok(result) => {
                self.replay.push((ctx, command.to_vec()));
                if self.replay.len() >= CHECKPOINT_EVERY {
                    self.checkpoint_now();
                }
                match result {
                    Ok(answer) => ApplyOutcome::Applied(answer),
                    Err(reason) => ApplyOutcome::Rejected(reason),
                }
            }
            Err(fault) => {
                tracing::warn!(index = ctx.index, %fault, "plugin fault while applying; rebuilding instance");
                if let Err(again) = self.rebuild(runtime) {
                    tracing::error!(%again, "rebuilding the plugin instance failed");
                }
                ApplyOutcome::Failed(fault.to_string())
            }
        }
    }

    fn checkpoint_now(&mut self) {
        match self.instance.snapshot() {
            Ok(bytes) => {
                self.checkpoint = Some(bytes);
                self.replay.clear();
            }
            // The instance died while snapshotting: rebuild happens on the next call. The replay
            // list keeps growing, which stays correct, only slower to replay.
            Err(fault) => tracing::warn!(%fault, "checkpoint failed"),
        }
    }

    /// A usable instance: rebuilt first if the last call killed it.
    fn instance(&mut self, runtime: &Runtime) -> Result<&mut Instance, Fault> {
        if self.instance.is_dead() {
            self.rebuild(runtime)?;
        }
        Ok(&mut self.instance)
    }
}

struct MachineState {
    last_applied: Option<LogId>,
    membership: StoredMembership,
    active: Option<Active>,
    /// The last snapshot built or installed, served to followers that need one.
    current_snapshot: Option<(SnapshotMeta, Vec<u8>)>,
    /// Idempotency keys of applied client requests (replicated state, kept in snapshots).
    requests: RequestKeys,
    /// Plugin installs so far (replicated state, kept in snapshots).
    installs: Vec<InstallRecord>,
}

/// The replicated state, shared between openraft (which applies) and the node (which queries).
pub struct Machine {
    runtime: Arc<Runtime>,
    /// Where snapshots are kept on disk (prod mode); `None` keeps them in memory only.
    snapshots: Option<SnapshotStore>,
    state: Mutex<MachineState>,
    events: broadcast::Sender<CommitEvent>,
    /// The cluster's current plugin, for fronts that want to follow swaps.
    plugin_tx: watch::Sender<Option<Arc<LoadedPlugin>>>,
    /// The plugin's `next-deadline` after the latest apply: when the leader should tick.
    deadline_tx: watch::Sender<Option<u64>>,
}

/// Summary of the applied state for status output.
#[derive(Debug, Clone)]
pub struct MachineStatus {
    /// Last applied log id.
    pub last_applied: Option<LogId>,
    /// The cluster's plugin, if one was installed.
    pub plugin: Option<Arc<LoadedPlugin>>,
    /// Index of the entry that installed it.
    pub plugin_installed_at: Option<u64>,
}

impl Machine {
    /// An empty state machine: no plugin until the log installs one. Snapshots stay in memory.
    pub fn new(runtime: Arc<Runtime>) -> Arc<Self> {
        Self::build(runtime, None)
    }

    /// A state machine that keeps its snapshots in `store`, restored from the latest one there.
    ///
    /// # Errors
    /// If the stored snapshot is corrupt or its plugin cannot be loaded or restored.
    pub fn recover(
        runtime: Arc<Runtime>,
        store: SnapshotStore,
    ) -> Result<Arc<Self>, SnapshotStoreError> {
        let latest = store.load_latest()?;
        let machine = Self::build(runtime, Some(store));
        if let Some((meta, data)) = latest {
            let corrupt = |e: io::Error| SnapshotStoreError::Corrupt {
                path: "latest snapshot".into(),
                reason: e.to_string(),
            };
            let prepared = machine.prepare_snapshot(&data).map_err(corrupt)?;
            machine.replace_state(&meta, data, prepared);
        }
        Ok(machine)
    }

    fn build(runtime: Arc<Runtime>, snapshots: Option<SnapshotStore>) -> Arc<Self> {
        let (events, _) = broadcast::channel(1024);
        let (plugin_tx, _) = watch::channel(None);
        let (deadline_tx, _) = watch::channel(None);
        Arc::new(Machine {
            runtime,
            snapshots,
            state: Mutex::new(MachineState {
                last_applied: None,
                membership: StoredMembership::default(),
                active: None,
                current_snapshot: None,
                requests: RequestKeys::default(),
                installs: Vec::new(),
            }),
            events,
            plugin_tx,
            deadline_tx,
        })
    }

    fn lock(&self) -> MutexGuard<'_, MachineState> {
        // Plugin faults are caught as values; a panic here would be a host bug, and the state it
        // leaves is still the last fully applied one.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Subscribes to commit announcements.
    pub fn subscribe(&self) -> broadcast::Receiver<CommitEvent> {
        self.events.subscribe()
    }

    /// Watches the cluster's current plugin.
    pub fn watch_plugin(&self) -> watch::Receiver<Option<Arc<LoadedPlugin>>> {
        self.plugin_tx.subscribe()
    }

    /// The runtime plugins of this machine run in.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.runtime.clone()
    }

    /// The installed plugin with a snapshot of its state, `None` before the first install.
    ///
    /// # Errors
    /// The plugin's fault if it cannot snapshot.
    pub fn current_state(&self) -> Result<Option<CurrentState>, Fault> {
        let mut state = self.lock();
        let applied = state.last_applied.map_or(0, |id| id.index);
        let Some(active) = state.active.as_mut() else {
            return Ok(None);
        };
        let snapshot = active.instance(&self.runtime)?.snapshot()?;
        Ok(Some(CurrentState {
            plugin: active.plugin.clone(),
            installed_at: active.installed_at,
            snapshot,
            applied,
        }))
    }

    /// Every plugin install so far, oldest first.
    pub fn plugin_history(&self) -> Vec<InstallRecord> {
        self.lock().installs.clone()
    }

    /// Watches the leader time at which the plugin next has something timed to do.
    pub fn watch_deadline(&self) -> watch::Receiver<Option<u64>> {
        self.deadline_tx.subscribe()
    }

    /// Asks the plugin for its next deadline and publishes it if it changed.
    fn refresh_deadline(&self, state: &mut MachineState) {
        let deadline = match state.active.as_mut() {
            None => None,
            Some(active) => match active
                .instance(&self.runtime)
                .and_then(|i| i.next_deadline())
            {
                Ok(deadline) => deadline,
                Err(fault) => {
                    tracing::warn!(%fault, "next-deadline failed; no tick scheduled");
                    None
                }
            },
        };
        self.deadline_tx.send_if_modified(|current| {
            let changed = *current != deadline;
            *current = deadline;
            changed
        });
    }

    /// Last applied log id and the current plugin.
    pub fn status(&self) -> MachineStatus {
        let state = self.lock();
        MachineStatus {
            last_applied: state.last_applied,
            plugin: state.active.as_ref().map(|a| a.plugin.clone()),
            plugin_installed_at: state.active.as_ref().map(|a| a.installed_at),
        }
    }

    /// Runs a read-only plugin query against the local state, as of now.
    ///
    /// # Errors
    /// [`QueryError::NoPlugin`] before the first install; [`QueryError::Fault`] if the plugin
    /// faults (the instance is rebuilt on the next call).
    pub fn query(
        &self,
        now_ms: u64,
        request: &[u8],
    ) -> Result<Result<Vec<u8>, Vec<u8>>, QueryError> {
        let mut state = self.lock();
        let active = state.active.as_mut().ok_or(QueryError::NoPlugin)?;
        let instance = active.instance(&self.runtime)?;
        Ok(instance.query(now_ms, request)?)
    }

    fn announce(&self, event: CommitEvent) {
        // No subscriber is fine: nobody is watching this node's commits.
        let _ = self.events.send(event);
    }

    fn apply_envelope(
        &self,
        state: &mut MachineState,
        log_id: LogId,
        envelope: &Envelope,
    ) -> ApplyOutcome {
        let ctx = LogContext {
            index: log_id.index,
            term: log_id.leader_id.term,
            leader_time_ms: envelope.leader_time_ms,
        };
        match &envelope.payload {
            Payload::Command(command) => self.apply_command(state, ctx, command, None),
            Payload::KeyedCommand { key, command } => {
                self.apply_command(state, ctx, command, Some(key))
            }
            Payload::InstallPlugin { image, bootstrap } => {
                let outcome = self.install(state, ctx, image, *bootstrap);
                self.announce(CommitEvent {
                    index: ctx.index,
                    term: ctx.term,
                    kind: CommitKind::Plugin(outcome.clone()),
                });
                outcome
            }
        }
    }

    /// Applies a plugin command, at most once per idempotency key, and announces it.
    fn apply_command(
        &self,
        state: &mut MachineState,
        ctx: LogContext,
        command: &[u8],
        key: Option<&RequestKey>,
    ) -> ApplyOutcome {
        state.requests.expire(ctx.leader_time_ms);
        let lookup = key.map_or(Lookup::New, |key| state.requests.lookup(key));
        let outcome = match lookup {
            Lookup::Replay(first) => ApplyOutcome::Replayed(Box::new(first)),
            Lookup::Reused => ApplyOutcome::KeyReused(format!(
                "the idempotency key {:?} was first used with a different request",
                key.map_or("", |k| k.key.as_str())
            )),
            Lookup::New => {
                let outcome = match state.active.as_mut() {
                    Some(active) => active.apply(&self.runtime, ctx, command),
                    None => ApplyOutcome::Failed(QueryError::NoPlugin.to_string()),
                };
                // Faults are not remembered: a retry may succeed once the cause is fixed.
                if let (Some(key), ApplyOutcome::Applied(_) | ApplyOutcome::Rejected(_)) =
                    (key, &outcome)
                {
                    state
                        .requests
                        .remember(key, outcome.clone(), ctx.leader_time_ms);
                }
                outcome
            }
        };
        self.announce(CommitEvent {
            index: ctx.index,
            term: ctx.term,
            kind: CommitKind::Command {
                command: command.to_vec(),
                outcome: outcome.clone(),
            },
        });
        outcome
    }

    /// Swaps the plugin at this log index: old snapshot into the new plugin's restore. Any
    /// failure leaves the old plugin in place and is reported the same way on every replica.
    fn install(
        &self,
        state: &mut MachineState,
        ctx: LogContext,
        image: &PluginImage,
        bootstrap: bool,
    ) -> ApplyOutcome {
        let index = ctx.index;
        if let Some(active) = &state.active {
            if bootstrap || active.plugin.image.hash == image.hash {
                return ApplyOutcome::PluginUnchanged;
            }
        }
        if !image.is_intact() {
            return ApplyOutcome::PluginRefused("the plugin bytes do not match their hash".into());
        }
        let plugin = match self.runtime.load(image.clone()) {
            Ok(plugin) => plugin,
            Err(e) => return ApplyOutcome::PluginRefused(e.to_string()),
        };
        let carried = match state.active.as_mut() {
            None => None,
            Some(active) => match active.instance(&self.runtime).and_then(|i| i.snapshot()) {
                Ok(bytes) => Some(bytes),
                Err(fault) => {
                    return ApplyOutcome::PluginRefused(format!(
                        "snapshot of the current state: {fault}"
                    ))
                }
            },
        };
        let mut instance = match self.runtime.instantiate(&plugin) {
            Ok(instance) => instance,
            Err(fault) => return ApplyOutcome::PluginRefused(format!("instantiate: {fault}")),
        };
        if let Some(bytes) = &carried {
            match instance.restore(bytes) {
                Ok(Ok(())) => {}
                Ok(Err(reason)) => {
                    return ApplyOutcome::PluginRefused(format!("restore: {reason}"))
                }
                Err(fault) => return ApplyOutcome::PluginRefused(format!("restore: {fault}")),
            }
        }
        let outcome = ApplyOutcome::PluginInstalled {
            name: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            hash: plugin.image.hash.clone(),
        };
        state.installs.push(InstallRecord {
            index,
            at_ms: ctx.leader_time_ms,
            name: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            hash: plugin.image.hash.clone(),
            snapshot_format: plugin.info.snapshot_format,
        });
        state.active = Some(Active {
            plugin: plugin.clone(),
            instance,
            installed_at: index,
            checkpoint: carried,
            replay: Vec::new(),
        });
        self.plugin_tx.send_replace(Some(plugin));
        outcome
    }

    fn build_snapshot(&self) -> Result<(SnapshotMeta, Vec<u8>), io::Error> {
        let mut state = self.lock();
        let (plugin, installed_at, plugin_state) = match state.active.as_mut() {
            None => (None, 0, Vec::new()),
            Some(active) => {
                let instance = active.instance(&self.runtime).map_err(io::Error::other)?;
                let bytes = instance.snapshot().map_err(io::Error::other)?;
                active.checkpoint = Some(bytes.clone());
                active.replay.clear();
                (
                    Some(active.plugin.image.clone()),
                    active.installed_at,
                    bytes,
                )
            }
        };
        let image = SnapshotImage {
            version: SNAPSHOT_IMAGE_VERSION,
            plugin,
            installed_at,
            state: plugin_state,
            requests: state.requests.clone(),
            installs: state.installs.clone(),
        };
        let data = postcard::to_stdvec(&image).map_err(io::Error::other)?;
        let meta = SnapshotMeta {
            last_log_id: state.last_applied,
            last_membership: state.membership.clone(),
        };
        drop(state);
        // Written outside the lock so applies go on while the file is fsynced.
        if let Some(store) = &self.snapshots {
            store.save(&meta, &data)?;
        }
        self.lock().current_snapshot = Some((meta.clone(), data.clone()));
        Ok((meta, data))
    }

    /// Validates a snapshot fully (decode, load plugin, restore into a fresh instance) before
    /// replacing anything: an error returned to openraft would stop the node.
    fn install_snapshot(&self, meta: &SnapshotMeta, data: Vec<u8>) -> Result<(), io::Error> {
        let prepared = self.prepare_snapshot(&data)?;
        if let Some(store) = &self.snapshots {
            store.save(meta, &data)?;
        }
        self.replace_state(meta, data, prepared);
        let (index, term) = meta
            .last_log_id
            .map_or((0, 0), |id| (id.index, id.leader_id.term));
        self.announce(CommitEvent {
            index,
            term,
            kind: CommitKind::SnapshotInstalled,
        });
        Ok(())
    }

    /// Decodes snapshot bytes into a live plugin instance holding that state, plus the
    /// idempotency keys.
    fn prepare_snapshot(&self, data: &[u8]) -> Result<Prepared, io::Error> {
        let invalid = |text: String| io::Error::new(io::ErrorKind::InvalidData, text);
        let image: SnapshotImage = postcard::from_bytes(data)
            .map_err(|e| invalid(format!("undecodable snapshot: {e}")))?;
        if image.version != SNAPSHOT_IMAGE_VERSION {
            return Err(invalid(format!(
                "snapshot image version {} is not {SNAPSHOT_IMAGE_VERSION}",
                image.version
            )));
        }
        let Some(plugin_image) = image.plugin else {
            return Ok(Prepared {
                active: None,
                requests: image.requests,
                installs: image.installs,
            });
        };
        if !plugin_image.is_intact() {
            return Err(invalid("snapshot plugin does not match its hash".into()));
        }
        let plugin = self.runtime.load(plugin_image).map_err(io::Error::other)?;
        let mut instance = self
            .runtime
            .instantiate(&plugin)
            .map_err(io::Error::other)?;
        instance
            .restore(&image.state)
            .map_err(io::Error::other)?
            .map_err(invalid)?;
        Ok(Prepared {
            active: Some(Active {
                plugin,
                instance,
                installed_at: image.installed_at,
                checkpoint: Some(image.state),
                replay: Vec::new(),
            }),
            requests: image.requests,
            installs: image.installs,
        })
    }

    fn replace_state(&self, meta: &SnapshotMeta, data: Vec<u8>, prepared: Prepared) {
        let plugin = prepared.active.as_ref().map(|a| a.plugin.clone());
        {
            let mut state = self.lock();
            state.active = prepared.active;
            state.requests = prepared.requests;
            state.installs = prepared.installs;
            self.refresh_deadline(&mut state);
            state.last_applied = meta.last_log_id;
            state.membership = meta.last_membership.clone();
            state.current_snapshot = Some((meta.clone(), data));
        }
        self.plugin_tx.send_replace(plugin);
    }
}

/// A snapshot decoded and restored into a fresh instance, ready to replace the state.
struct Prepared {
    active: Option<Active>,
    requests: RequestKeys,
    installs: Vec<InstallRecord>,
}

/// The openraft face of [`Machine`].
#[derive(Clone)]
pub struct StateMachine {
    machine: Arc<Machine>,
}

impl StateMachine {
    /// Wraps a shared machine; the node keeps another handle for queries.
    pub fn new(machine: Arc<Machine>) -> Self {
        StateMachine { machine }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        let (meta, data) = self.machine.build_snapshot()?;
        Ok(Snapshot {
            meta,
            snapshot: std::io::Cursor::new(data),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        let state = self.machine.lock();
        Ok((state.last_applied, state.membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>>
            + Unpin
            + openraft::OptionalSend,
    {
        let mut applied_commands = false;
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            let outcome = {
                let mut state = self.machine.lock();
                state.last_applied = Some(entry.log_id);
                applied_commands |= matches!(entry.payload, EntryPayload::Normal(_));
                match &entry.payload {
                    EntryPayload::Blank => ApplyOutcome::Nothing,
                    EntryPayload::Normal(envelope) => {
                        self.machine
                            .apply_envelope(&mut state, entry.log_id, envelope)
                    }
                    EntryPayload::Membership(membership) => {
                        state.membership =
                            StoredMembership::new(Some(entry.log_id), membership.clone());
                        let voters: Vec<String> =
                            membership.voter_ids().map(|id| id.to_string()).collect();
                        self.machine.announce(CommitEvent {
                            index: entry.log_id.index,
                            term: entry.log_id.leader_id.term,
                            kind: CommitKind::Membership(format!("voters {}", voters.join(", "))),
                        });
                        ApplyOutcome::Nothing
                    }
                }
            };
            if let Some(responder) = responder {
                responder.send(outcome);
            }
        }
        if applied_commands {
            let mut state = self.machine.lock();
            self.machine.refresh_deadline(&mut state);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        self.machine.install_snapshot(meta, snapshot.into_inner())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        let state = self.machine.lock();
        Ok(state
            .current_snapshot
            .as_ref()
            .map(|(meta, data)| Snapshot {
                meta: meta.clone(),
                snapshot: std::io::Cursor::new(data.clone()),
            }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use openraft::testing::log_id;

    use super::*;
    use crate::plugin::tests::bundled_plugin;
    use crate::plugin::{ConsoleAction, ConsoleMode, Limits, PluginImage, Runtime};
    use crate::raft::RequestKey;

    /// The bundled plugin's command for a demo console line, built by its own front.
    fn command(runtime: &Runtime, line: &str) -> Vec<u8> {
        let plugin = runtime.load(bundled_plugin()).expect("valid plugin");
        let mut front = runtime.instantiate(&plugin).expect("instance");
        match front.console(line, ConsoleMode::Demo).expect("console") {
            Some(ConsoleAction::Write(command)) => command,
            other => panic!("{line} is not a write: {other:?}"),
        }
    }

    struct Harness {
        machine: Arc<Machine>,
        index: u64,
    }

    impl Harness {
        fn new(limits: Limits) -> Harness {
            let machine = Machine::new(Arc::new(Runtime::new(limits).expect("engine")));
            let mut harness = Harness { machine, index: 0 };
            let install = Payload::InstallPlugin {
                image: bundled_plugin(),
                bootstrap: true,
            };
            assert!(matches!(
                harness.apply(install),
                ApplyOutcome::PluginInstalled { .. }
            ));
            harness
        }

        fn apply(&mut self, payload: Payload) -> ApplyOutcome {
            self.index += 1;
            let envelope = Envelope {
                leader_time_ms: 1_000 + self.index,
                payload,
            };
            let mut state = self.machine.lock();
            self.machine.apply_envelope(
                &mut state,
                log_id::<TypeConfig>(1, 0, self.index),
                &envelope,
            )
        }

        /// The plugin's first call builds its initial state, which costs more fuel than any
        /// later command; a snapshot (which has the large state-call budget) pays it up front.
        fn warm_up(&self) {
            self.machine.build_snapshot().expect("snapshot");
        }

        fn fuel_of(&mut self, command: Vec<u8>) -> u64 {
            let outcome = self.apply(Payload::Command(command));
            assert!(matches!(outcome, ApplyOutcome::Applied(_)), "{outcome:?}");
            let mut state = self.machine.lock();
            state
                .active
                .as_mut()
                .expect("plugin")
                .instance
                .last_fuel_used()
        }
    }

    #[test]
    fn a_command_that_runs_out_of_fuel_fails_alone_and_the_state_survives() {
        let big_command = "b1 b2 b3 b4 b5 b6 c1 c2 c3 c4";
        // Calibrate: fuel of a one-item command and of a ten-item one (the most one request takes).
        let runtime = Runtime::new(Limits::default()).expect("engine");
        let mut calibration = Harness::new(Limits::default());
        calibration.warm_up();
        let small = calibration.fuel_of(command(&runtime, "a1"));
        let large = calibration.fuel_of(command(&runtime, big_command));
        assert!(
            large > small * 3 / 2,
            "a 10-item command should cost clearly more fuel than 1 item: {small} vs {large}"
        );

        // A budget between the two: small commands fit, the big one runs out of fuel.
        let limits = Limits {
            fuel_per_call: (small + large) / 2,
            ..Limits::default()
        };
        let mut harness = Harness::new(limits);
        harness.warm_up();
        let a1 = command(&runtime, "a1");
        assert!(matches!(
            harness.apply(Payload::Command(a1.clone())),
            ApplyOutcome::Applied(_)
        ));
        let failed = harness.apply(Payload::Command(command(&runtime, big_command)));
        match &failed {
            ApplyOutcome::Failed(reason) => assert!(reason.contains("ran out of fuel"), "{reason}"),
            other => panic!("expected an out-of-fuel failure, got {other:?}"),
        }
        // The instance was rebuilt from the replay list: a1 still applies as before (refused again),
        // and nothing of the failed command stuck (b1 applies).
        assert!(matches!(
            harness.apply(Payload::Command(a1)),
            ApplyOutcome::Rejected(_)
        ));
        assert!(matches!(
            harness.apply(Payload::Command(command(&runtime, "b1"))),
            ApplyOutcome::Applied(_)
        ));
    }

    #[test]
    fn snapshots_carry_plugin_and_state_to_a_fresh_machine() {
        let runtime = Runtime::new(Limits::default()).expect("engine");
        let mut source = Harness::new(Limits::default());
        assert!(matches!(
            source.apply(Payload::Command(command(&runtime, "c3"))),
            ApplyOutcome::Applied(_)
        ));
        let (meta, data) = source.machine.build_snapshot().expect("snapshot");

        let target = Machine::new(Arc::new(Runtime::new(Limits::default()).expect("engine")));
        target.install_snapshot(&meta, data).expect("install");
        assert_eq!(target.status().last_applied, meta.last_log_id);
        let mut target = Harness {
            machine: target,
            index: 10,
        };
        assert!(matches!(
            target.apply(Payload::Command(command(&runtime, "c3"))),
            ApplyOutcome::Rejected(_)
        ));
    }

    #[test]
    fn a_keyed_command_applies_once_and_its_key_survives_a_snapshot() {
        let runtime = Runtime::new(Limits::default()).expect("engine");
        let key = |fingerprint: u8| RequestKey {
            key: "retry-me".into(),
            fingerprint: [fingerprint; 32],
        };
        let keyed = |fingerprint: u8, line: &str| Payload::KeyedCommand {
            key: key(fingerprint),
            command: command(&runtime, line),
        };
        let mut source = Harness::new(Limits::default());
        let first = source.apply(keyed(1, "a2"));
        assert!(matches!(first, ApplyOutcome::Applied(_)), "{first:?}");
        // The retry is answered with the first outcome, and not applied again (a second booking
        // of a2 would be refused).
        assert_eq!(
            source.apply(keyed(1, "a2")),
            ApplyOutcome::Replayed(Box::new(first.clone()))
        );
        assert!(matches!(
            source.apply(keyed(2, "a3")),
            ApplyOutcome::KeyReused(_)
        ));
        assert!(
            matches!(
                source.apply(Payload::Command(command(&runtime, "a3"))),
                ApplyOutcome::Applied(_)
            ),
            "the refused reuse must not have booked a3"
        );

        let (meta, data) = source.machine.build_snapshot().expect("snapshot");
        let target = Machine::new(Arc::new(Runtime::new(Limits::default()).expect("engine")));
        target.install_snapshot(&meta, data).expect("install");
        let mut target = Harness {
            machine: target,
            index: 10,
        };
        assert_eq!(
            target.apply(keyed(1, "a2")),
            ApplyOutcome::Replayed(Box::new(first))
        );
    }

    #[test]
    fn a_corrupt_snapshot_is_refused_and_changes_nothing() {
        let runtime = Runtime::new(Limits::default()).expect("engine");
        let mut harness = Harness::new(Limits::default());
        assert!(matches!(
            harness.apply(Payload::Command(command(&runtime, "d1"))),
            ApplyOutcome::Applied(_)
        ));
        let (meta, mut data) = harness.machine.build_snapshot().expect("snapshot");
        let last = data.len() - 1;
        data[last] ^= 0x5a;
        data.truncate(data.len() / 2);
        assert!(harness.machine.install_snapshot(&meta, data).is_err());
        assert!(matches!(
            harness.apply(Payload::Command(command(&runtime, "d1"))),
            ApplyOutcome::Rejected(_)
        ));
    }

    #[test]
    fn a_bootstrap_install_never_replaces_the_current_plugin() {
        let mut harness = Harness::new(Limits::default());
        let again = harness.apply(Payload::InstallPlugin {
            image: bundled_plugin(),
            bootstrap: true,
        });
        assert_eq!(again, ApplyOutcome::PluginUnchanged);
        let bogus = PluginImage {
            hash: "0".repeat(64),
            bytes: b"junk".to_vec(),
        };
        let refused = harness.apply(Payload::InstallPlugin {
            image: bogus,
            bootstrap: false,
        });
        assert!(
            matches!(refused, ApplyOutcome::PluginRefused(_)),
            "{refused:?}"
        );
        assert!(harness.machine.status().plugin.is_some());
    }
}
