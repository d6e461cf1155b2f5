//! Swapping the cluster's plugin: validate a candidate off the apply path, then replicate the
//! install so that every replica swaps at the same log index.
//!
//! Validation, in order (the first failing step is named in the refusal):
//! 1. `compile`: the bytes are a WebAssembly component this engine compiles;
//! 2. `imports`: it imports nothing;
//! 3. `exports`: it exports the plugin world;
//! 4. `info`: `info()` answers within its fuel;
//! 5. `compatibility`: it reads the snapshot format the current state is in, as far as its
//!    `min-restore-format` tells, and it is not the plugin already installed;
//! 6. `dry-run`: on a separate instance, `restore` of the current state's snapshot, one clock
//!    tick, and `snapshot` all succeed within the limits (so a plugin that traps on restore,
//!    loops forever or grows memory without bound is refused before it reaches the log).
//!
//! Nothing of a refused candidate reaches the log; the running plugin stays.

use std::sync::Arc;

use serde::Serialize;

use super::{now_ms, Node, WriteError};
use crate::plugin::runtime::hex_sha256;
use crate::plugin::{LoadError, LoadedPlugin, LogContext, PluginImage, PluginInfo};
use crate::raft::state_machine::InstallRecord;
use crate::raft::{ApplyOutcome, Payload};

/// What `plugin status` and `GET /v1/plugin` show.
#[derive(Debug, Clone, Serialize)]
pub struct PluginReport {
    /// The installed plugin, `None` before the first install.
    pub current: Option<CurrentPlugin>,
    /// Every install, oldest first.
    pub history: Vec<InstallRecord>,
    /// The applied index `state_hash` was taken at.
    pub applied: u64,
    /// SHA-256 of the plugin's snapshot of the state: equal on replicas at the same index.
    pub state_hash: Option<String>,
}

/// The installed plugin in a [`PluginReport`].
#[derive(Debug, Clone, Serialize)]
pub struct CurrentPlugin {
    /// `info().name`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// `info().description`.
    pub description: String,
    /// Component hash.
    pub hash: String,
    /// Snapshot format it writes, and the oldest it reads.
    pub snapshot_format: u32,
    /// Oldest snapshot format it restores.
    pub min_restore_format: u32,
    /// Log index of its install.
    pub installed_at: u64,
}

/// A candidate that passed validation and was installed at `index` on every replica.
#[derive(Debug, Clone, Serialize)]
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

/// Why a candidate was not installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Validation refused it; nothing entered the log.
    #[error("refused at step {step}: {reason}")]
    Refused {
        /// `compile`, `imports`, `exports`, `info`, `compatibility` or `dry-run`.
        step: &'static str,
        /// What went wrong, for humans.
        reason: String,
    },
    /// It is already the cluster's plugin.
    #[error("{0}")]
    Unchanged(String),
    /// The install entry failed when applied (the same way on every replica); the previous
    /// plugin stays.
    #[error("the install failed when applied, the previous plugin stays: {0}")]
    FailedOnApply(String),
    /// The entry could not be replicated.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl InstallError {
    fn refused(step: &'static str, reason: impl Into<String>) -> Self {
        InstallError::Refused {
            step,
            reason: reason.into(),
        }
    }
}

impl From<LoadError> for InstallError {
    fn from(error: LoadError) -> Self {
        let step = match &error {
            LoadError::Compile(_) => "compile",
            LoadError::Imports(_) => "imports",
            LoadError::Exports(_) => "exports",
            LoadError::Info(_) => "info",
            _ => "compile",
        };
        // The Display text starts with the step name already; keep only the reason.
        let text = error.to_string();
        let reason = text
            .strip_prefix(step)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&text)
            .to_string();
        InstallError::refused(step, reason)
    }
}

impl Node {
    /// The plugin, its install history and a hash of the state, from this node's applied state.
    ///
    /// # Errors
    /// The plugin's fault if it cannot snapshot the state.
    pub async fn plugin_report(&self) -> Result<PluginReport, String> {
        let node = self.clone();
        tokio::task::spawn_blocking(move || {
            let machine = &node.inner.machine;
            let history = machine.plugin_history();
            let current = machine.current_state().map_err(|e| e.to_string())?;
            Ok(match current {
                None => PluginReport {
                    current: None,
                    history,
                    applied: node.applied_index(),
                    state_hash: None,
                },
                Some(state) => PluginReport {
                    current: Some(CurrentPlugin {
                        name: state.plugin.info.name.clone(),
                        version: state.plugin.info.version.clone(),
                        description: state.plugin.info.description.clone(),
                        hash: state.plugin.image.hash.clone(),
                        snapshot_format: state.plugin.info.snapshot_format,
                        min_restore_format: state.plugin.info.min_restore_format,
                        installed_at: state.installed_at,
                    }),
                    history,
                    applied: state.applied,
                    state_hash: Some(hex_sha256(&state.snapshot)),
                },
            })
        })
        .await
        .map_err(|e| format!("plugin report task failed: {e}"))?
    }

    /// Starts compiling the plugins of install entries a follower just received, so that the
    /// swap itself (at apply time, on the apply path) finds them compiled.
    pub(crate) fn precompile_installs(&self, entries: &[crate::raft::typ::Entry]) {
        for entry in entries {
            let openraft::EntryPayload::Normal(envelope) = &entry.payload else {
                continue;
            };
            let Payload::InstallPlugin { image, .. } = &envelope.payload else {
                continue;
            };
            let node = self.clone();
            let image = image.clone();
            tokio::spawn(async move { node.precompile(image).await });
        }
    }

    /// Compiles a plugin into the runtime's caches, off the async workers. Failures are only
    /// logged: the install's apply reports them the same way on every replica.
    pub(crate) async fn precompile(&self, image: PluginImage) {
        if !image.is_intact() {
            return;
        }
        let runtime = self.inner.machine.runtime();
        let compiled = tokio::task::spawn_blocking(move || runtime.load(image)).await;
        if let Ok(Err(e)) = compiled {
            tracing::debug!(error = %e, "precompiling a plugin failed; its install will say so");
        }
    }

    /// Validates `bytes` as the cluster's next plugin and, if it passes, replicates the swap.
    ///
    /// # Errors
    /// [`InstallError`] naming the failed validation step, or why the install did not commit.
    pub async fn install_plugin(&self, bytes: Vec<u8>) -> Result<Installed, InstallError> {
        let image = PluginImage::new(bytes);
        let candidate = self.validate_plugin(image.clone()).await?;
        let committed = self
            .write(Payload::InstallPlugin {
                image,
                bootstrap: false,
            })
            .await?;
        match committed.outcome {
            ApplyOutcome::PluginInstalled { .. } => Ok(Installed {
                index: committed.index,
                name: candidate.info.name.clone(),
                version: candidate.info.version.clone(),
                hash: candidate.image.hash.clone(),
                snapshot_format: candidate.info.snapshot_format,
            }),
            ApplyOutcome::PluginUnchanged => Err(InstallError::Unchanged(format!(
                "{} {} ({}) is already the cluster's plugin",
                candidate.info.name,
                candidate.info.version,
                candidate.image.short_hash()
            ))),
            ApplyOutcome::PluginRefused(reason) => Err(InstallError::FailedOnApply(reason)),
            other => Err(InstallError::FailedOnApply(format!(
                "unexpected outcome {other:?}"
            ))),
        }
    }

    /// Runs every validation step on a candidate without touching the log.
    ///
    /// # Errors
    /// [`InstallError::Refused`] or [`InstallError::Unchanged`].
    pub async fn validate_plugin(
        &self,
        image: PluginImage,
    ) -> Result<Arc<LoadedPlugin>, InstallError> {
        let node = self.clone();
        // Compiling and the dry run take CPU time: keep them off the async workers.
        tokio::task::spawn_blocking(move || node.validate_blocking(image))
            .await
            .map_err(|e| InstallError::refused("dry-run", format!("validation task failed: {e}")))?
    }

    fn validate_blocking(&self, image: PluginImage) -> Result<Arc<LoadedPlugin>, InstallError> {
        let runtime = self.inner.machine.runtime();
        let candidate = runtime.load(image)?;
        let Some(current) = self.inner.machine.current_state().map_err(|e| {
            InstallError::refused("dry-run", format!("snapshot of the current state: {e}"))
        })?
        else {
            return Ok(candidate);
        };
        if current.plugin.image.hash == candidate.image.hash {
            return Err(InstallError::Unchanged(format!(
                "{} {} ({}) is already the cluster's plugin (installed at index {})",
                candidate.info.name,
                candidate.info.version,
                candidate.image.short_hash(),
                current.installed_at
            )));
        }
        let (old, new) = (&current.plugin.info, &candidate.info);
        if new.min_restore_format > old.snapshot_format {
            return Err(InstallError::refused(
                "compatibility",
                format!(
                    "{} {} restores snapshot formats {} and newer, but the state is in format {} ({} {})",
                    new.name, new.version, new.min_restore_format, old.snapshot_format, old.name, old.version
                ),
            ));
        }
        let mut instance = runtime
            .instantiate(&candidate)
            .map_err(|fault| InstallError::refused("dry-run", format!("instantiate: {fault}")))?;
        match instance.restore(&current.snapshot) {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => return Err(refused_restore(old, new, &reason)),
            Err(fault) => {
                return Err(InstallError::refused(
                    "dry-run",
                    format!("restore of the current state: {fault}"),
                ))
            }
        }
        let tick = LogContext {
            index: current.applied + 1,
            term: 0,
            leader_time_ms: now_ms(),
        };
        if let Err(fault) = instance.apply(tick, &[]) {
            return Err(InstallError::refused(
                "dry-run",
                format!("a clock tick after restore: {fault}"),
            ));
        }
        if let Err(fault) = instance.snapshot() {
            return Err(InstallError::refused(
                "dry-run",
                format!("snapshot after restore: {fault}"),
            ));
        }
        Ok(candidate)
    }
}

/// The refusal for a candidate whose `restore` declined the current state, worded as a refused
/// rollback when the candidate writes an older format than the state's.
fn refused_restore(old: &PluginInfo, new: &PluginInfo, reason: &str) -> InstallError {
    if new.snapshot_format < old.snapshot_format {
        InstallError::refused(
            "compatibility",
            format!(
                "rollback refused: the state is in snapshot format {} (written by {} {}) and {} {} writes format {} and cannot read it: {reason}",
                old.snapshot_format, old.name, old.version, new.name, new.version, new.snapshot_format
            ),
        )
    } else {
        InstallError::refused(
            "dry-run",
            format!("restore refused the current state: {reason}"),
        )
    }
}
