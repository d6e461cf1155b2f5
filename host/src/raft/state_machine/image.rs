//! What a snapshot holds besides openraft's metadata: the plugin (bytes and hash), its state
//! bytes, and the host's own replicated state (machine config, idempotency keys, install
//! history, log time). Every snapshot is taken at a *base point* (see `canonical`), so the
//! state bytes are exactly what every replica's canonical instance restored at that index.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::request_keys::RequestKeys;
use crate::plugin::PluginImage;
use crate::raft::entry::MachineConfig;

/// Format version of [`SnapshotImage`]; a newer one is refused with a clear message.
pub const IMAGE_VERSION: u32 = 3;

/// One plugin install, as `plugin history` lists it. Replicated state: kept in snapshots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallRecord {
    /// Log index of the install entry.
    pub index: u64,
    /// Log time of the install entry, ms since the Unix epoch.
    pub at_ms: u64,
    /// `info().name`.
    pub name: String,
    /// `info().version`.
    pub version: String,
    /// Component hash, hex.
    pub hash: String,
    /// The snapshot format the plugin writes.
    pub snapshot_format: u32,
}

/// The replicated state at a base point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotImage {
    /// [`IMAGE_VERSION`].
    pub version: u32,
    /// The plugin current at the snapshot's index (`None` before the first install).
    pub plugin: Option<PluginImage>,
    /// Log index of the entry that installed it.
    pub installed_at: u64,
    /// The machine config in force.
    pub config: MachineConfig,
    /// Log time of the last applied entry.
    pub log_time_ms: u64,
    /// Idempotency keys applied and not yet forgotten.
    pub requests: RequestKeys,
    /// Every plugin install so far, oldest first.
    pub installs: Vec<InstallRecord>,
    /// The plugin's own snapshot bytes (empty without a plugin), shared with the base point
    /// they were taken at.
    pub state: Arc<Vec<u8>>,
}
