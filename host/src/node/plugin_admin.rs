//! Changing the cluster's plugin and machine config: validate on the leader, off the apply
//! path, then replicate, so every replica switches at the same log index.
//!
//! Validation of a plugin candidate, in order (the first failing step is named in the refusal):
//! 1. `compile`: the bytes are a WebAssembly component this engine compiles;
//! 2. `imports`: it imports nothing;
//! 3. `exports`: it exports this host's contract version (`machine`, and fronts of it if any);
//! 4. `info`: `info()` answers within its fuel;
//! 5. `compatibility`: it reads the snapshot format the current state is in, as far as its
//!    `min-restore-format` tells, and it is not the plugin already installed;
//! 6. `dry-run`: on a node-local instance, `restore` of the current state's snapshot, one clock
//!    tick, and `snapshot` all succeed within the cluster's limits.
//!
//! Whatever node receives the request, the leader runs the validation and appends: a follower
//! forwards the component bytes, never an install entry. Nothing of a refused candidate reaches
//! the log; the running plugin stays.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::peer::{NodeRequest, NodeResponse};
use super::write::{OnLeader, WriteError};
use super::{now_ms, Node};
use crate::plugin::{Digest, LoadedPlugin, LogContext, PluginImage, PluginInfo};
use crate::raft::state_machine::image::InstallRecord;
use crate::raft::state_machine::MachineStatus;
use crate::raft::{ApplyOutcome, MachineConfig, Payload};

/// Largest plugin component accepted.
pub const MAX_PLUGIN_BYTES: usize = 64 << 20;

/// Least time an install entry may take to commit (it carries a whole component).
const INSTALL_WRITE_TIMEOUT: Duration = Duration::from_secs(20);

/// What `plugin status` and `GET /v1/plugin` show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginReport {
    /// The installed plugin, `None` before the first install.
    pub current: Option<CurrentPlugin>,
    /// Every install, oldest first.
    pub history: Vec<InstallRecord>,
    /// The machine config in force (limits, snapshot spacing), from the log.
    pub config: MachineConfig,
    /// The applied index `state_hash` was taken at.
    pub applied: u64,
    /// SHA-256 of the plugin's snapshot of the state: equal on replicas at the same index.
    pub state_hash: Option<String>,
    /// The last base point (snapshot) index.
    pub base_index: u64,
}

/// The installed plugin in a [`PluginReport`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentPlugin {
    /// `info().name`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// `info().description`.
    pub description: String,
    /// Component hash.
    pub hash: String,
    /// Snapshot format it writes.
    pub snapshot_format: u32,
    /// Oldest snapshot format it restores.
    pub min_restore_format: u32,
    /// Log index of its install.
    pub installed_at: u64,
    /// Which optional fronts it exports.
    pub fronts: Vec<String>,
}

/// A candidate that passed validation and was installed at `index` on every replica.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Installed {
    /// Log index of the install entry.
    pub index: u64,
    /// `info().name`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// Component hash.
    pub hash: String,
    /// What the candidate says about itself.
    pub snapshot_format: u32,
}

/// Why an admin change was not made.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum AdminError {
    /// Validation refused it; nothing entered the log.
    #[error("refused at step {step}: {reason}")]
    Refused {
        /// `compile`, `imports`, `exports`, `info`, `compatibility`, `dry-run` or `limits`.
        step: String,
        /// What went wrong, for humans.
        reason: String,
    },
    /// It is already the cluster's plugin.
    #[error("{0}")]
    Unchanged(String),
    /// The entry failed when applied (the same way on every replica); nothing changed.
    #[error("refused when applied, nothing changed: {0}")]
    FailedOnApply(String),
    /// The node asked does not lead (only between nodes).
    #[error("not the leader")]
    NotLeader,
    /// The entry could not be replicated.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl AdminError {
    fn refused(step: &str, reason: impl Into<String>) -> Self {
        AdminError::Refused {
            step: step.to_string(),
            reason: reason.into(),
        }
    }
}

/// The cluster's plugin and its state as one local instance holds it.
struct CurrentState {
    plugin: Arc<LoadedPlugin>,
    installed_at: u64,
    snapshot: Vec<u8>,
    applied: u64,
}

fn as_on_leader<T>(result: Result<T, AdminError>) -> OnLeader<Result<T, AdminError>> {
    match result {
        Err(AdminError::NotLeader) => OnLeader::NotLeader,
        other => OnLeader::Done(other),
    }
}

impl Node {
    /// The cluster's plugin and state from a local instance (`None` before the first install).
    /// The plugin, its install index and the state are read together from that instance, which
    /// may be ahead of the published status (it follows the tail as the apply thread fills it).
    async fn current_state(&self) -> Result<Option<CurrentState>, String> {
        if self.inner.machine.status().plugin.is_none() {
            return Ok(None);
        }
        let read = self
            .inner
            .local
            .run(|replica| {
                let instance = replica.instance()?;
                let bytes = instance.snapshot()?;
                Ok::<_, crate::plugin::Fault>((bytes, replica.applied(), replica.cluster_plugin()))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let (snapshot, applied, Some((plugin, installed_at))) = read else {
            return Ok(None);
        };
        Ok(Some(CurrentState {
            plugin,
            installed_at,
            snapshot,
            applied,
        }))
    }

    /// The plugin, its install history, the machine config and a hash of the state, from this
    /// node's applied state (computed on a local instance, never under the apply thread).
    ///
    /// # Errors
    /// The plugin's fault if it cannot snapshot the state.
    pub async fn plugin_report(&self) -> Result<PluginReport, String> {
        let current = self.current_state().await?;
        let status = self.inner.machine.status();
        let history = status.installs.as_ref().clone();
        let Some(state) = current else {
            return Ok(PluginReport {
                current: None,
                history,
                config: status.config,
                applied: self.applied_index(),
                state_hash: None,
                base_index: status.base_index,
            });
        };
        // The instance may be ahead of the published status: wait for the status of its batch,
        // then list the installs up to its state only, so the report describes one moment.
        let status = self.status_reaching(state.applied).await;
        let history = status
            .installs
            .iter()
            .filter(|install| install.index <= state.applied)
            .cloned()
            .collect();
        let info = &state.plugin.info;
        let mut fronts = Vec::new();
        if state.plugin.fronts.http {
            fronts.push("http".to_string());
        }
        if state.plugin.fronts.console {
            fronts.push("console".to_string());
        }
        Ok(PluginReport {
            current: Some(CurrentPlugin {
                name: info.name.clone(),
                version: info.version.clone(),
                description: info.description.clone(),
                hash: state.plugin.image.hash.hex(),
                snapshot_format: info.snapshot_format,
                min_restore_format: info.min_restore_format,
                installed_at: state.installed_at,
                fronts,
            }),
            history,
            config: status.config,
            applied: state.applied,
            state_hash: Some(Digest::of(&state.snapshot).hex()),
            base_index: status.base_index,
        })
    }

    /// The published status once it covers `index` (the apply thread publishes after each
    /// batch, so this is at most one batch away); the latest one if it does not within a second.
    async fn status_reaching(&self, index: u64) -> MachineStatus {
        let mut statuses = self.inner.machine.watch_status();
        let reached =
            |status: &MachineStatus| status.last_applied.is_some_and(|id| id.index >= index);
        let waited = tokio::time::timeout(Duration::from_secs(1), statuses.wait_for(reached)).await;
        match waited {
            Ok(Ok(status)) => status.clone(),
            _ => self.inner.machine.status(),
        }
    }

    /// Starts compiling the plugins of install entries a follower just received, so that the
    /// swap itself (on the apply thread) finds them compiled.
    pub(crate) fn precompile_installs(&self, entries: &[crate::raft::typ::Entry]) {
        for entry in entries {
            let openraft::EntryPayload::Normal(envelope) = &entry.payload else {
                continue;
            };
            let Payload::InstallPlugin {
                image,
                config,
                bootstrap,
            } = &envelope.payload
            else {
                continue;
            };
            let stack = if *bootstrap {
                config.limits.stack_bytes
            } else {
                self.inner.machine.status().config.limits.stack_bytes
            };
            let node = self.clone();
            let image = image.clone();
            tokio::spawn(async move { node.precompile(image, stack).await });
        }
    }

    /// Compiles a plugin into the runtime's caches, off the async workers. Failures are only
    /// logged: the install's apply reports them the same way on every replica.
    async fn precompile(&self, image: PluginImage, stack_bytes: usize) {
        if !image.is_intact() {
            return;
        }
        let runtime = self.inner.machine.runtime();
        let compiled = tokio::task::spawn_blocking(move || runtime.load(&image, stack_bytes)).await;
        if let Ok(Err(e)) = compiled {
            tracing::debug!(error = %e, "precompiling a plugin failed; its install will say so");
        }
    }

    /// Validates `bytes` as the cluster's next plugin on the leader and, if it passes,
    /// replicates the swap.
    ///
    /// # Errors
    /// [`AdminError`] naming the failed validation step, or why the install did not commit.
    pub async fn install_plugin(&self, bytes: Vec<u8>) -> Result<Installed, AdminError> {
        if bytes.len() > MAX_PLUGIN_BYTES {
            return Err(AdminError::refused(
                "compile",
                format!(
                    "the component has {} bytes, more than {MAX_PLUGIN_BYTES}",
                    bytes.len()
                ),
            ));
        }
        let deadline = Instant::now() + self.inner.write_timeout.max(INSTALL_WRITE_TIMEOUT) * 2;
        let request = NodeRequest::Install {
            bytes: bytes.clone(),
        };
        self.on_leader(
            deadline,
            request,
            || async { as_on_leader(self.install_as_leader(bytes.clone()).await) },
            |response| match response {
                NodeResponse::Installed(result) => Some(as_on_leader(result)),
                _ => None,
            },
        )
        .await?
    }

    /// Validates and appends an install; only the leader does.
    pub(crate) async fn install_as_leader(&self, bytes: Vec<u8>) -> Result<Installed, AdminError> {
        if !self.inner.raft.is_leader() {
            return Err(AdminError::NotLeader);
        }
        if bytes.len() > MAX_PLUGIN_BYTES {
            return Err(AdminError::refused("compile", "the component is too large"));
        }
        let image = PluginImage::new(bytes);
        let candidate = self.validate_plugin(image.clone()).await?;
        let config = self.inner.machine.status().config;
        let deadline = Instant::now() + self.inner.write_timeout.max(INSTALL_WRITE_TIMEOUT);
        let payload = Payload::InstallPlugin {
            image,
            bootstrap: false,
            config,
        };
        let committed = self
            .propose(payload, deadline)
            .await?
            .ok_or(AdminError::NotLeader)?;
        match committed.outcome {
            ApplyOutcome::PluginInstalled { .. } => Ok(Installed {
                index: committed.index,
                name: candidate.info.name.clone(),
                version: candidate.info.version.clone(),
                hash: candidate.image.hash.hex(),
                snapshot_format: candidate.info.snapshot_format,
            }),
            ApplyOutcome::PluginUnchanged => Err(AdminError::Unchanged(format!(
                "{} {} ({}) is already the cluster's plugin",
                candidate.info.name,
                candidate.info.version,
                candidate.image.hash.short()
            ))),
            ApplyOutcome::PluginRefused(reason) => Err(AdminError::FailedOnApply(reason)),
            other => Err(AdminError::FailedOnApply(format!(
                "unexpected outcome {other:?}"
            ))),
        }
    }

    /// Runs every validation step on a candidate without touching the log.
    ///
    /// # Errors
    /// [`AdminError::Refused`] or [`AdminError::Unchanged`].
    pub async fn validate_plugin(
        &self,
        image: PluginImage,
    ) -> Result<Arc<LoadedPlugin>, AdminError> {
        let config = self.inner.machine.status().config;
        let runtime = self.inner.machine.runtime();
        let loading = image.clone();
        // Compiling takes CPU time: keep it off the async workers.
        let candidate =
            tokio::task::spawn_blocking(move || runtime.load(&loading, config.limits.stack_bytes))
                .await
                .map_err(|e| {
                    AdminError::refused("compile", format!("validation task failed: {e}"))
                })?
                .map_err(|e| AdminError::refused(e.step(), e.reason()))?;
        let current = self.current_state().await.map_err(|e| {
            AdminError::refused("dry-run", format!("snapshot of the current state: {e}"))
        })?;
        let Some(current) = current else {
            return Ok(candidate);
        };
        if current.plugin.image.hash == candidate.image.hash {
            return Err(AdminError::Unchanged(format!(
                "{} {} ({}) is already the cluster's plugin (installed at index {})",
                candidate.info.name,
                candidate.info.version,
                candidate.image.hash.short(),
                current.installed_at
            )));
        }
        let (old, new) = (&current.plugin.info, &candidate.info);
        if new.min_restore_format > old.snapshot_format {
            return Err(AdminError::refused(
                "compatibility",
                format!(
                    "{} {} restores snapshot formats {} and newer, but the state is in format {} ({} {})",
                    new.name, new.version, new.min_restore_format, old.snapshot_format, old.name, old.version
                ),
            ));
        }
        let dry = candidate.clone();
        let old_info = old.clone();
        let tick = LogContext {
            index: current.applied + 1,
            term: 0,
            time_ms: now_ms(),
        };
        tokio::task::spawn_blocking(move || {
            dry_run(&dry, &old_info, config, &current.snapshot, tick)
        })
        .await
        .map_err(|e| AdminError::refused("dry-run", format!("validation task failed: {e}")))??;
        Ok(candidate)
    }

    /// Changes the machine config (limits, snapshot spacing) through the log, validated by the
    /// leader.
    ///
    /// # Errors
    /// [`AdminError`]: out of bounds, refused when applied, or not committed.
    pub async fn configure(&self, config: MachineConfig) -> Result<MachineConfig, AdminError> {
        config
            .validate()
            .map_err(|e| AdminError::refused("limits", e.to_string()))?;
        let deadline = Instant::now() + self.inner.write_timeout * 2;
        self.on_leader(
            deadline,
            NodeRequest::Configure(config),
            || async { as_on_leader(self.configure_as_leader(config).await) },
            |response| match response {
                NodeResponse::Configured(result) => Some(as_on_leader(result)),
                _ => None,
            },
        )
        .await?
    }

    /// Checks and appends a config change; only the leader does.
    pub(crate) async fn configure_as_leader(
        &self,
        config: MachineConfig,
    ) -> Result<MachineConfig, AdminError> {
        if !self.inner.raft.is_leader() {
            return Err(AdminError::NotLeader);
        }
        config
            .validate()
            .map_err(|e| AdminError::refused("limits", e.to_string()))?;
        let deadline = Instant::now() + self.inner.write_timeout;
        let committed = self
            .propose(Payload::Configure(config), deadline)
            .await?
            .ok_or(AdminError::NotLeader)?;
        match committed.outcome {
            ApplyOutcome::Configured(config) => Ok(config),
            ApplyOutcome::ConfigRefused(reason) => Err(AdminError::FailedOnApply(reason)),
            other => Err(AdminError::FailedOnApply(format!(
                "unexpected outcome {other:?}"
            ))),
        }
    }

    /// Takes a snapshot on every replica (a checkpoint entry) and waits (up to 60 s) until this
    /// node has written it; returns its index.
    ///
    /// # Errors
    /// [`AdminError`] if the entry is not committed or the snapshot does not appear in time.
    pub async fn snapshot_now(&self) -> Result<u64, AdminError> {
        let deadline = Instant::now() + self.inner.write_timeout * 2;
        let index = self
            .on_leader(
                deadline,
                NodeRequest::Checkpoint,
                || async { as_on_leader(self.checkpoint_as_leader().await) },
                |response| match response {
                    NodeResponse::Checkpointed(result) => Some(as_on_leader(result)),
                    _ => None,
                },
            )
            .await??;
        let mut written = self.inner.machine.watch_snapshots();
        let wait = async {
            written
                .wait_for(|at| at.is_some_and(|at| at >= index))
                .await
                .is_ok()
        };
        match tokio::time::timeout(Duration::from_secs(60), wait).await {
            Ok(true) => Ok(index),
            _ => Err(AdminError::FailedOnApply(format!(
                "the checkpoint at index {index} committed but no snapshot was written here within 60 s"
            ))),
        }
    }

    /// Appends a checkpoint entry; only the leader does.
    pub(crate) async fn checkpoint_as_leader(&self) -> Result<u64, AdminError> {
        if !self.inner.raft.is_leader() {
            return Err(AdminError::NotLeader);
        }
        let deadline = Instant::now() + self.inner.write_timeout;
        let committed = self
            .propose(Payload::Checkpoint, deadline)
            .await?
            .ok_or(AdminError::NotLeader)?;
        Ok(committed.index)
    }
}

/// Restores the current state into the candidate, ticks once and snapshots, under the
/// cluster's limits. Blocking.
fn dry_run(
    candidate: &LoadedPlugin,
    old: &PluginInfo,
    config: MachineConfig,
    state: &[u8],
    tick: LogContext,
) -> Result<(), AdminError> {
    let new = &candidate.info;
    let mut instance = candidate
        .instantiate(config.limits)
        .map_err(|fault| AdminError::refused("dry-run", format!("instantiate: {fault}")))?;
    match instance.restore(state) {
        Ok(Ok(_)) => {}
        Ok(Err(reason)) => return Err(refused_restore(old, new, &reason)),
        Err(fault) => {
            return Err(AdminError::refused(
                "dry-run",
                format!("restore of the current state: {fault}"),
            ))
        }
    }
    if let Err(fault) = instance.apply(tick, &[]) {
        return Err(AdminError::refused(
            "dry-run",
            format!("a clock tick after restore: {fault}"),
        ));
    }
    if let Err(fault) = instance.snapshot() {
        return Err(AdminError::refused(
            "dry-run",
            format!("snapshot after restore: {fault}"),
        ));
    }
    Ok(())
}

/// The refusal for a candidate whose `restore` declined the current state, worded as a refused
/// rollback when the candidate writes an older format than the state's.
fn refused_restore(old: &PluginInfo, new: &PluginInfo, reason: &str) -> AdminError {
    if new.snapshot_format < old.snapshot_format {
        AdminError::refused(
            "compatibility",
            format!(
                "rollback refused: the state is in snapshot format {} (written by {} {}) and {} {} writes format {} and cannot read it: {reason}",
                old.snapshot_format, old.name, old.version, new.name, new.version, new.snapshot_format
            ),
        )
    } else {
        AdminError::refused(
            "dry-run",
            format!("restore refused the current state: {reason}"),
        )
    }
}
