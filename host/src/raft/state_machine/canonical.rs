//! The canonical instance and the replicated host state, owned by the apply thread.
//!
//! # One call history, chosen by the log
//! wasmtime's fuel and memory accounting are deterministic only for identical call histories,
//! so the instance whose results are replicated sees exactly the same calls on every replica:
//! `apply` for every committed command, in order, and a rebuild (fresh instance + `restore` of
//! snapshot bytes) only at *base points*, which every replica places at the same log indexes:
//! - every `snapshot_every` entries, or further apart when the state is large (the next base
//!   is `max(snapshot_every, state bytes / STATE_BYTES_PER_ENTRY)` entries after the last, so
//!   the cost of serialising and restoring stays constant per entry);
//! - a plugin install (the new plugin restores the old one's state), a configure entry, and a
//!   checkpoint entry (`POST /v1/snapshot`).
//!
//! At a base point the state is serialised once: those bytes rebuild the instance, start the
//! new tail, and become the snapshot written to disk and sent to followers. So a replica that
//! restarts from that snapshot, or installs it from the leader, has the same history from there
//! on as one that applied every entry. Queries, rendering and everything node-local run on
//! other instances (`local`).
//!
//! # Faults
//! A command that traps or runs out of fuel or memory fails identically everywhere (same
//! history). The instance is then rebuilt from the base bytes plus the commands applied since
//! (the tail): the same calls as before the failed one, so the rebuilt instance is exactly the
//! one the failed command found, on every replica. A rebuild that fails anyway (it cannot, for
//! a deterministic plugin) poisons the machine: it stops applying rather than diverge.

use std::sync::Arc;

use openraft::EntryPayload;

use super::image::{InstallRecord, SnapshotImage, IMAGE_VERSION};
use super::request_keys::{Lookup, RequestKeys};
use super::tail::{Base, Tail, TailEntry};
use super::{CommitEvent, CommitKind};
use crate::plugin::{Fault, Instance, LoadedPlugin, LogContext, PluginImage, Runtime};
use crate::raft::entry::{ApplyOutcome, Envelope, MachineConfig, Payload, RequestKey};
use crate::raft::typ::{Entry, LogId, SnapshotMeta, StoredMembership};

/// Bytes of plugin state per entry between base points: a state of `n` bytes is serialised at
/// most once every `n / STATE_BYTES_PER_ENTRY` entries.
pub const STATE_BYTES_PER_ENTRY: u64 = 256;

/// The live plugin.
pub(super) struct Active {
    pub(super) plugin: Arc<LoadedPlugin>,
    pub(super) instance: Instance,
    /// Log index of the entry that installed it.
    pub(super) installed_at: u64,
}

/// A snapshot to write: made at a base point, written off the apply thread.
pub(super) struct SnapshotJob {
    pub(super) meta: SnapshotMeta,
    pub(super) image: SnapshotImage,
}

/// What applying one entry produced besides its outcome.
pub(super) struct Applied {
    pub(super) outcome: ApplyOutcome,
    /// Announced to consoles and event streams.
    pub(super) event: Option<CommitEvent>,
    /// Set when the entry was a base point.
    pub(super) snapshot: Option<SnapshotJob>,
}

/// Why the machine stopped applying.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the state machine is poisoned: {0}")]
pub struct Poisoned(pub String);

/// The replicated state of one replica.
pub(super) struct Canonical {
    runtime: Arc<Runtime>,
    pub(super) active: Option<Active>,
    pub(super) config: MachineConfig,
    pub(super) requests: RequestKeys,
    pub(super) installs: Vec<InstallRecord>,
    pub(super) log_time_ms: u64,
    pub(super) last_applied: Option<LogId>,
    pub(super) membership: StoredMembership,
    /// Where the tail starts, and the commands since: shared with local instances.
    pub(super) tail: Arc<Tail>,
    /// Index of the next periodic base point.
    next_base: u64,
    /// The plugin's next deadline.
    pub(super) deadline: Option<u64>,
    poisoned: Option<Poisoned>,
}

fn empty_base(config: &MachineConfig) -> Arc<Base> {
    Arc::new(Base {
        index: 0,
        plugin: None,
        installed_at: 0,
        limits: config.limits,
        state: Arc::new(Vec::new()),
    })
}

/// Entries from one base point to the next.
fn base_interval(config: &MachineConfig, state_len: usize) -> u64 {
    config
        .snapshot_every
        .max(state_len as u64 / STATE_BYTES_PER_ENTRY)
}

impl Canonical {
    /// A machine with nothing applied and no plugin.
    pub(super) fn new(runtime: Arc<Runtime>) -> Self {
        let config = MachineConfig::default();
        let tail = Arc::new(Tail::new(empty_base(&config)));
        Canonical {
            runtime,
            active: None,
            next_base: base_interval(&config, 0),
            config,
            requests: RequestKeys::default(),
            installs: Vec::new(),
            log_time_ms: 0,
            last_applied: None,
            membership: StoredMembership::default(),
            tail,
            deadline: None,
            poisoned: None,
        }
    }

    /// Replaces everything with a snapshot's state, rebuilding the instance from its bytes: the
    /// same base point every other replica rebuilt at.
    ///
    /// With `seed`, a second instance (for a local worker) restores the same state on another
    /// thread meanwhile and is returned: at start-up the first read then does not wait for a
    /// second restore after the canonical one (they take seconds for a large state).
    ///
    /// # Errors
    /// Why the snapshot cannot be used (its plugin is refused, or it refuses the state); nothing
    /// is replaced then.
    pub(super) fn restore_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        image: SnapshotImage,
        seed: bool,
    ) -> Result<Option<Instance>, String> {
        let index = meta.last_log_id.map_or(0, |id| id.index);
        let state = image.state;
        let mut seeded = None;
        let (active, deadline) = match &image.plugin {
            None => (None, None),
            Some(plugin_image) => {
                let plugin = self
                    .load(plugin_image, &image.config)
                    .map_err(|e| format!("the snapshot's plugin is refused: {e}"))?;
                let restored = std::thread::scope(|scope| {
                    let seeding = seed
                        .then(|| scope.spawn(|| rebuild(&plugin, &image.config, &state, &[]).ok()));
                    let canonical = rebuild(&plugin, &image.config, &state, &[]);
                    seeded = seeding
                        .and_then(|seeding| seeding.join().ok())
                        .flatten()
                        .map(|(instance, _)| instance);
                    canonical
                });
                let (instance, deadline) = restored
                    .map_err(|e| format!("the snapshot's plugin cannot restore it: {e}"))?;
                (
                    Some(Active {
                        plugin,
                        instance,
                        installed_at: image.installed_at,
                    }),
                    deadline,
                )
            }
        };
        self.active = active;
        self.deadline = deadline;
        self.config = image.config;
        self.requests = image.requests;
        self.installs = image.installs;
        self.log_time_ms = image.log_time_ms;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.start_tail(index, state, false);
        self.tail.set_applied(index);
        Ok(seeded)
    }

    fn load(
        &self,
        image: &PluginImage,
        config: &MachineConfig,
    ) -> Result<Arc<LoadedPlugin>, String> {
        if !image.is_intact() {
            return Err("the plugin bytes do not match their hash".into());
        }
        self.runtime
            .load(image, config.limits.stack_bytes)
            .map_err(|e| e.to_string())
    }

    /// Applies one committed entry.
    ///
    /// # Errors
    /// [`Poisoned`] once a rebuild has failed: the replica must stop rather than diverge.
    pub(super) fn apply(&mut self, entry: &Entry) -> Result<Applied, Poisoned> {
        if let Some(poisoned) = &self.poisoned {
            return Err(poisoned.clone());
        }
        let index = entry.log_id.index;
        let term = entry.log_id.leader_id.term;
        self.last_applied = Some(entry.log_id);
        let mut applied = Applied {
            outcome: ApplyOutcome::Nothing,
            event: None,
            snapshot: None,
        };
        let mut base_here = index >= self.next_base;
        match &entry.payload {
            EntryPayload::Blank => {}
            EntryPayload::Membership(membership) => {
                self.membership = StoredMembership::new(Some(entry.log_id), membership.clone());
                let ids = |ids: &mut dyn Iterator<Item = u64>| {
                    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
                };
                let learners = ids(&mut membership.learner_ids());
                let text = if learners.is_empty() {
                    format!("voters {}", ids(&mut membership.voter_ids()))
                } else {
                    format!(
                        "voters {}; learners {learners}",
                        ids(&mut membership.voter_ids())
                    )
                };
                applied.event = Some(CommitEvent {
                    index,
                    term,
                    kind: CommitKind::Membership(text),
                });
            }
            EntryPayload::Normal(envelope) => {
                self.log_time_ms = self.log_time_ms.max(envelope.leader_time_ms);
                let ctx = LogContext {
                    index,
                    term,
                    time_ms: self.log_time_ms,
                };
                self.requests.expire(ctx.time_ms);
                let (outcome, event, base) = self.apply_envelope(ctx, envelope)?;
                applied.outcome = outcome;
                applied.event = Some(event);
                base_here |= base;
            }
        }
        if base_here {
            applied.snapshot = self.base_point(entry.log_id)?;
        }
        Ok(applied)
    }

    /// Applies a normal entry; the flag says whether it makes a base point.
    fn apply_envelope(
        &mut self,
        ctx: LogContext,
        envelope: &Envelope,
    ) -> Result<(ApplyOutcome, CommitEvent, bool), Poisoned> {
        let event = |kind| CommitEvent {
            index: ctx.index,
            term: ctx.term,
            kind,
        };
        Ok(match &envelope.payload {
            Payload::Command(command) => {
                let (outcome, topics) = self.apply_command(ctx, command, None)?;
                let kind = CommitKind::Command {
                    command: command.clone(),
                    outcome: outcome.clone(),
                    topics,
                };
                (outcome, event(kind), false)
            }
            Payload::KeyedCommand { key, command } => {
                let (outcome, topics) = self.apply_command(ctx, command, Some(key))?;
                let kind = CommitKind::Command {
                    command: command.clone(),
                    outcome: outcome.clone(),
                    topics,
                };
                (outcome, event(kind), false)
            }
            Payload::InstallPlugin {
                image,
                bootstrap,
                config,
            } => {
                let (outcome, base) = self.install(ctx, image, *bootstrap, config)?;
                (outcome.clone(), event(CommitKind::Plugin(outcome)), base)
            }
            Payload::Configure(config) => {
                let (outcome, base) = self.configure(config)?;
                (outcome.clone(), event(CommitKind::Config(outcome)), base)
            }
            Payload::Checkpoint => (ApplyOutcome::Nothing, event(CommitKind::Checkpoint), true),
        })
    }

    /// Applies a plugin command, at most once per idempotency key.
    fn apply_command(
        &mut self,
        ctx: LogContext,
        command: &[u8],
        key: Option<&RequestKey>,
    ) -> Result<(ApplyOutcome, Vec<String>), Poisoned> {
        let lookup = key.map_or(Lookup::New, |key| self.requests.lookup(key));
        match lookup {
            Lookup::Replay(first) => return Ok((ApplyOutcome::Replayed(Box::new(first)), vec![])),
            Lookup::Reused => {
                let reason = format!(
                    "the idempotency key {:?} was first used with a different request",
                    key.map_or("", |k| k.key.as_str())
                );
                return Ok((ApplyOutcome::KeyReused(reason), vec![]));
            }
            Lookup::New => {}
        }
        let Some(active) = self.active.as_mut() else {
            return Ok((
                ApplyOutcome::Failed("no plugin has been installed in the cluster yet".into()),
                vec![],
            ));
        };
        let (outcome, topics) = match active.instance.apply(ctx, command) {
            Ok(applied) => {
                self.tail.push(TailEntry {
                    ctx,
                    command: Arc::from(command),
                });
                self.deadline = applied.next_deadline;
                let outcome = match applied.result {
                    Ok(answer) => ApplyOutcome::Applied(answer),
                    Err(reason) => ApplyOutcome::Rejected(reason),
                };
                (outcome, applied.topics)
            }
            Err(fault) => {
                tracing::warn!(index = ctx.index, %fault, "plugin fault while applying; rebuilding the instance from the base point");
                self.rebuild_after_fault()?;
                (ApplyOutcome::Failed(fault.to_string()), vec![])
            }
        };
        // Faults are not remembered: a retry may succeed once the cause is fixed.
        if let (Some(key), ApplyOutcome::Applied(_) | ApplyOutcome::Rejected(_)) = (key, &outcome) {
            self.requests.remember(key, outcome.clone(), ctx.time_ms);
        }
        Ok((outcome, topics))
    }

    /// Rebuilds the canonical instance as it was before the failed call: base bytes plus the
    /// tail's commands.
    fn rebuild_after_fault(&mut self) -> Result<(), Poisoned> {
        let base = self.tail.base();
        let entries = self.tail.entries();
        let Some(active) = self.active.as_mut() else {
            return Ok(());
        };
        match rebuild(&active.plugin, &self.config, &base.state, &entries) {
            Ok((instance, deadline)) => {
                active.instance = instance;
                self.deadline = deadline.or(self.deadline);
                Ok(())
            }
            Err(fault) => {
                let poisoned = Poisoned(format!(
                    "rebuilding the plugin instance after a fault failed: {fault}"
                ));
                tracing::error!(%poisoned);
                self.poisoned = Some(poisoned.clone());
                Err(poisoned)
            }
        }
    }

    /// Swaps the plugin at this index: the old plugin's snapshot into the new one's restore.
    /// Any failure leaves the old plugin in place, identically on every replica.
    fn install(
        &mut self,
        ctx: LogContext,
        image: &PluginImage,
        bootstrap: bool,
        proposed: &MachineConfig,
    ) -> Result<(ApplyOutcome, bool), Poisoned> {
        if let Some(active) = &self.active {
            if bootstrap || active.plugin.image.hash == image.hash {
                return Ok((ApplyOutcome::PluginUnchanged, false));
            }
        }
        let config = match (&self.active, bootstrap) {
            // The first install of a cluster brings its machine config.
            (None, _) => match proposed.validate() {
                Ok(()) => *proposed,
                Err(e) => return Ok((ApplyOutcome::PluginRefused(format!("config: {e}")), false)),
            },
            (Some(_), _) => self.config,
        };
        let plugin = match self.load(image, &config) {
            Ok(plugin) => plugin,
            Err(reason) => return Ok((ApplyOutcome::PluginRefused(reason), false)),
        };
        let carried = match self.active.as_mut() {
            Some(active) => match active.instance.snapshot() {
                Ok(bytes) => bytes,
                Err(fault) => {
                    self.rebuild_after_fault()?;
                    return Ok((
                        ApplyOutcome::PluginRefused(format!(
                            "snapshot of the current state: {fault}"
                        )),
                        false,
                    ));
                }
            },
            // No state yet: the new plugin's initial state, taken from a throwaway instance.
            None => match plugin
                .instantiate(config.limits)
                .and_then(|mut i| i.snapshot())
            {
                Ok(bytes) => bytes,
                Err(fault) => {
                    return Ok((
                        ApplyOutcome::PluginRefused(format!("initial snapshot: {fault}")),
                        false,
                    ))
                }
            },
        };
        let carried = Arc::new(carried);
        let (instance, deadline) = match rebuild(&plugin, &config, &carried, &[]) {
            Ok(rebuilt) => rebuilt,
            Err(fault) => {
                return Ok((
                    ApplyOutcome::PluginRefused(format!("restore: {fault}")),
                    false,
                ))
            }
        };
        self.installs.push(InstallRecord {
            index: ctx.index,
            at_ms: ctx.time_ms,
            name: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            hash: plugin.image.hash.hex(),
            snapshot_format: plugin.info.snapshot_format,
        });
        let outcome = ApplyOutcome::PluginInstalled {
            name: plugin.info.name.clone(),
            version: plugin.info.version.clone(),
            hash: plugin.image.hash.hex(),
        };
        self.config = config;
        self.deadline = deadline;
        self.active = Some(Active {
            plugin,
            instance,
            installed_at: ctx.index,
        });
        self.start_tail(ctx.index, carried, false);
        Ok((outcome, true))
    }

    /// Changes the machine config at this index (a base point under the new limits).
    fn configure(&mut self, config: &MachineConfig) -> Result<(ApplyOutcome, bool), Poisoned> {
        if let Err(e) = config.validate() {
            return Ok((ApplyOutcome::ConfigRefused(e.to_string()), false));
        }
        let Some(active) = self.active.as_mut() else {
            self.config = *config;
            return Ok((ApplyOutcome::Configured(*config), false));
        };
        let plugin = match self
            .runtime
            .load(&active.plugin.image, config.limits.stack_bytes)
        {
            Ok(plugin) => plugin,
            Err(e) => return Ok((ApplyOutcome::ConfigRefused(e.to_string()), false)),
        };
        let bytes = match active.instance.snapshot() {
            Ok(bytes) => Arc::new(bytes),
            Err(fault) => {
                self.rebuild_after_fault()?;
                return Ok((
                    ApplyOutcome::ConfigRefused(format!("snapshot of the current state: {fault}")),
                    false,
                ));
            }
        };
        match rebuild(&plugin, config, &bytes, &[]) {
            Ok((instance, deadline)) => {
                active.plugin = plugin;
                active.instance = instance;
                self.deadline = deadline;
                self.config = *config;
                let index = self.last_applied.map_or(0, |id| id.index);
                self.start_tail(index, bytes, false);
                Ok((ApplyOutcome::Configured(*config), true))
            }
            Err(fault) => Ok((
                ApplyOutcome::ConfigRefused(format!(
                    "the state does not fit the new limits: {fault}"
                )),
                false,
            )),
        }
    }

    /// Starts a new tail at `index` from these state bytes (the instance was just rebuilt
    /// from them). `continues`: the bytes are what the tail's commands produced, under the
    /// same plugin and limits (see [`Tail::rebase`]).
    fn start_tail(&mut self, index: u64, state: Arc<Vec<u8>>, continues: bool) {
        self.next_base = index.saturating_add(base_interval(&self.config, state.len()));
        self.tail.rebase(
            Arc::new(Base {
                index,
                plugin: self.active.as_ref().map(|a| a.plugin.clone()),
                installed_at: self.active.as_ref().map_or(0, |a| a.installed_at),
                limits: self.config.limits,
                state,
            }),
            continues,
        );
    }

    /// Makes the last applied entry a base point now (only for openraft's forced snapshot at
    /// start-up, see `SnapshotBuilder`).
    ///
    /// # Errors
    /// [`Poisoned`] as for [`Canonical::apply`].
    pub(super) fn force_base_point(&mut self) -> Result<Option<SnapshotJob>, Poisoned> {
        match self.last_applied {
            Some(log_id) => self.base_point(log_id),
            None => {
                let base = self.tail.base();
                Ok(Some(SnapshotJob {
                    meta: SnapshotMeta {
                        last_log_id: None,
                        last_membership: self.membership.clone(),
                    },
                    image: self.image(&base),
                }))
            }
        }
    }

    /// Makes this entry a base point: serialise the state once, rebuild the instance from
    /// those bytes (unless the entry already did, as installs and configures do), start a new
    /// tail, and hand back the snapshot to write.
    fn base_point(&mut self, log_id: LogId) -> Result<Option<SnapshotJob>, Poisoned> {
        let index = log_id.index;
        let base = self.tail.base();
        if base.index != index {
            let started = std::time::Instant::now();
            let state = match self.active.as_mut() {
                None => Arc::new(Vec::new()),
                Some(active) => match active.instance.snapshot() {
                    Ok(bytes) => Arc::new(bytes),
                    Err(fault) => {
                        // The same on every replica: no base point here; try again later.
                        tracing::error!(index, %fault, "cannot snapshot the state; the next base point is postponed");
                        self.rebuild_after_fault()?;
                        self.next_base = index.saturating_add(self.config.snapshot_every);
                        return Ok(None);
                    }
                },
            };
            let serialised = started.elapsed();
            if let Some(active) = self.active.as_mut() {
                match rebuild(&active.plugin, &self.config, &state, &[]) {
                    Ok((instance, deadline)) => {
                        active.instance = instance;
                        self.deadline = deadline;
                    }
                    Err(fault) => {
                        let poisoned = Poisoned(format!(
                            "the plugin cannot restore its own snapshot at index {index}: {fault}"
                        ));
                        tracing::error!(%poisoned);
                        self.poisoned = Some(poisoned.clone());
                        return Err(poisoned);
                    }
                }
            }
            tracing::info!(
                index,
                bytes = state.len(),
                snapshot_ms = serialised.as_millis() as u64,
                restore_ms = (started.elapsed() - serialised).as_millis() as u64,
                "base point"
            );
            self.start_tail(index, state, true);
        }
        let base = self.tail.base();
        Ok(Some(SnapshotJob {
            meta: SnapshotMeta {
                last_log_id: Some(log_id),
                last_membership: self.membership.clone(),
            },
            image: self.image(&base),
        }))
    }

    /// The snapshot image of the state at the current base point (which must be the last
    /// applied entry).
    fn image(&self, base: &Base) -> SnapshotImage {
        SnapshotImage {
            version: IMAGE_VERSION,
            plugin: self.active.as_ref().map(|a| a.plugin.image.clone()),
            installed_at: self.active.as_ref().map_or(0, |a| a.installed_at),
            config: self.config,
            log_time_ms: self.log_time_ms,
            requests: self.requests.clone(),
            installs: self.installs.clone(),
            state: base.state.clone(),
        }
    }
}

/// A fresh instance of `plugin` holding `state`, then `entries` applied: the base-point rebuild.
fn rebuild(
    plugin: &LoadedPlugin,
    config: &MachineConfig,
    state: &[u8],
    entries: &[TailEntry],
) -> Result<(Instance, Option<u64>), Fault> {
    let mut instance = plugin.instantiate(config.limits)?;
    let mut deadline = instance
        .restore(state)?
        .map_err(|reason| Fault::Trap(format!("restore refused: {reason}")))?;
    for entry in entries {
        // Its answer was reported when it first ran; the replay only rebuilds the state.
        deadline = instance.apply(entry.ctx, &entry.command)?.next_deadline;
    }
    Ok((instance, deadline))
}
