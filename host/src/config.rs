//! Cluster profiles from `config.json`: which nodes form a cluster and how it is tuned.
//!
//! # Format
//! ```text
//! {
//!   "default": { "nodes": ["localhost:6000", "localhost:6001", "localhost:6002"] },
//!   "wan":     { "nodes": ["10.0.0.1:6000", "10.0.0.2:6000", "10.0.0.3:6000"],
//!                "heartbeat_ms": 200, "election_timeout_ms": [1000, 2000], "write_timeout_ms": 5000,
//!                "snapshot_every": 10000, "snapshot_interval_ms": 60000, "snapshot_keep": 1000,
//!                "plugin_limits": { "fuel_per_call": 50000000, "fuel_per_state_call": 5000000000,
//!                                   "memory_mib": 256, "stack_kib": 512 } }
//! }
//! ```
//! A node's id is its position in `nodes`. The profile only bootstraps a new cluster; once
//! running, membership lives in the replicated log.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::node::{SnapshotSettings, Timing};
use crate::plugin::Limits;

/// One named cluster layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `host:port` of each node; the index is the node id.
    pub nodes: Vec<String>,
    /// Leader heartbeat period (default 100).
    #[serde(default)]
    pub heartbeat_ms: Option<u64>,
    /// Election timeout range (default [500, 1000]).
    #[serde(default)]
    pub election_timeout_ms: Option<[u64; 2]>,
    /// How long a write may wait for a quorum (default 3000).
    #[serde(default)]
    pub write_timeout_ms: Option<u64>,
    /// Snapshot after this many applied entries (default 10000).
    #[serde(default)]
    pub snapshot_every: Option<u64>,
    /// Also snapshot at this interval when anything changed (default: off).
    #[serde(default)]
    pub snapshot_interval_ms: Option<u64>,
    /// Entries kept in the log behind a snapshot (default 1000).
    #[serde(default)]
    pub snapshot_keep: Option<u64>,
    /// Plugin resource limits; must be the same on every node of the cluster.
    #[serde(default)]
    pub plugin_limits: Option<PluginLimits>,
}

/// Plugin resource limits in a profile; each field defaults to [`Limits::default`].
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Fuel for one ordinary call (about one unit per wasm instruction; default 50,000,000).
    #[serde(default)]
    pub fuel_per_call: Option<u64>,
    /// Fuel for `snapshot` and `restore` (default 5,000,000,000).
    #[serde(default)]
    pub fuel_per_state_call: Option<u64>,
    /// Linear memory cap in MiB (default 256).
    #[serde(default)]
    pub memory_mib: Option<usize>,
    /// Wasm stack cap in KiB (default 512).
    #[serde(default)]
    pub stack_kib: Option<usize>,
}

impl Profile {
    /// The members as openraft wants them: id to address.
    pub fn members(&self) -> BTreeMap<u64, String> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, addr)| (i as u64, addr.clone()))
            .collect()
    }

    /// Raft timing, defaults filled in.
    pub fn timing(&self) -> Timing {
        let default = Timing::default();
        let [election_min_ms, election_max_ms] = self
            .election_timeout_ms
            .unwrap_or([default.election_min_ms, default.election_max_ms]);
        Timing {
            heartbeat_ms: self.heartbeat_ms.unwrap_or(default.heartbeat_ms),
            election_min_ms,
            election_max_ms,
        }
    }

    /// Snapshot policy, defaults filled in.
    pub fn snapshots(&self) -> SnapshotSettings {
        let default = SnapshotSettings::default();
        SnapshotSettings {
            every_entries: self.snapshot_every.unwrap_or(default.every_entries),
            interval: self
                .snapshot_interval_ms
                .map(Duration::from_millis)
                .or(default.interval),
            keep_entries: self.snapshot_keep.unwrap_or(default.keep_entries),
        }
    }

    /// Plugin limits, defaults filled in.
    pub fn limits(&self) -> Limits {
        let default = Limits::default();
        let given = self.plugin_limits.unwrap_or_default();
        Limits {
            fuel_per_call: given.fuel_per_call.unwrap_or(default.fuel_per_call),
            fuel_per_state_call: given
                .fuel_per_state_call
                .unwrap_or(default.fuel_per_state_call),
            memory_bytes: given
                .memory_mib
                .map_or(default.memory_bytes, |mib| mib.saturating_mul(1 << 20)),
            stack_bytes: given
                .stack_kib
                .map_or(default.stack_bytes, |kib| kib.saturating_mul(1 << 10)),
        }
    }

    /// The write timeout, default 3 s.
    pub fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms.unwrap_or(3000))
    }
}

/// Why a profile could not be used. Each message is one line, ready for stderr.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not there.
    #[error("config file {0} not found (pass --config-file PATH)")]
    Missing(String),
    /// The file exists but cannot be read.
    #[error("cannot read config file {path}: {reason}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("invalid config file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What serde said, with line and column.
        reason: String,
    },
    /// No profile with that name.
    #[error("unknown profile '{name}' in {path} (profiles: {known})")]
    UnknownProfile {
        /// Asked for.
        name: String,
        /// The file.
        path: String,
        /// What exists.
        known: String,
    },
    /// The profile is unusable as is.
    #[error("profile '{name}' in {path}: {reason}")]
    BadProfile {
        /// The profile.
        name: String,
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// Reads `path` and returns profile `name`.
///
/// # Errors
/// [`ConfigError`] for a missing or unreadable file, bad JSON, an unknown profile, or a profile
/// with no nodes, duplicate addresses, inverted timeouts or an address without a port.
pub fn load_profile(path: &Path, name: &str) -> Result<Profile, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ConfigError::Missing(shown.clone()),
        _ => ConfigError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        },
    })?;
    let mut profiles: BTreeMap<String, Profile> =
        serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    let known = profiles.keys().cloned().collect::<Vec<_>>().join(", ");
    let profile = profiles
        .remove(name)
        .ok_or_else(|| ConfigError::UnknownProfile {
            name: name.to_string(),
            path: shown.clone(),
            known,
        })?;
    let bad = |reason: String| ConfigError::BadProfile {
        name: name.to_string(),
        path: shown.clone(),
        reason,
    };
    if profile.nodes.is_empty() {
        return Err(bad("it lists no nodes".into()));
    }
    for (i, addr) in profile.nodes.iter().enumerate() {
        let port_ok = addr
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(bad(format!("node {i} address '{addr}' is not host:port")));
        }
        if profile.nodes[..i].contains(addr) {
            return Err(bad(format!("address {addr} is listed twice")));
        }
    }
    if profile.snapshot_every == Some(0) {
        return Err(bad("snapshot_every must be at least 1".into()));
    }
    let timing = profile.timing();
    if timing.election_min_ms >= timing.election_max_ms
        || timing.heartbeat_ms >= timing.election_min_ms
    {
        return Err(bad(
            "need heartbeat_ms < election_timeout_ms[0] < election_timeout_ms[1]".into(),
        ));
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), text).expect("write temp file");
        file
    }

    #[test]
    fn loads_default_profile_with_ids_by_position() {
        let file = write(r#"{"default":{"nodes":["localhost:6000","localhost:6001"]}}"#);
        let profile = load_profile(file.path(), "default").expect("valid profile");
        assert_eq!(
            profile.members().get(&1).map(String::as_str),
            Some("localhost:6001")
        );
        assert_eq!(profile.write_timeout(), Duration::from_secs(3));
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let file = write(r#"{"default":{"nodes":["localhost:6000"]}}"#);
        let err = load_profile(file.path(), "prod").expect_err("unknown profile");
        assert_eq!(err.to_string().lines().count(), 1);
        assert!(err.to_string().contains("profiles: default"), "{err}");
    }

    #[test]
    fn rejects_unknown_fields_bad_addresses_and_bad_timing() {
        let cases = [
            r#"{"default":{"nodes":["localhost:6000"],"extra":1}}"#,
            r#"{"default":{"nodes":["localhost"]}}"#,
            r#"{"default":{"nodes":[]}}"#,
            r#"{"default":{"nodes":["a:1","a:1"]}}"#,
            r#"{"default":{"nodes":["a:1"],"election_timeout_ms":[900,800]}}"#,
            r#"not json"#,
        ];
        for text in cases {
            let file = write(text);
            assert!(
                load_profile(file.path(), "default").is_err(),
                "accepted {text}"
            );
        }
    }

    #[test]
    fn missing_file_is_reported_as_such() {
        let err =
            load_profile(Path::new("/nonexistent/config.json"), "default").expect_err("missing");
        assert!(matches!(err, ConfigError::Missing(_)));
    }
}
