//! Cluster profiles from `config.json`: which nodes form a cluster and how it is tuned.
//!
//! # Format
//! ```text
//! {
//!   "default": { "nodes": ["localhost:8001", "localhost:8002", "localhost:8003"] },
//!   "legacy":  ["localhost:7001", "localhost:7002", "localhost:7003"],
//!   "wan":     { "nodes": [{"api": "10.0.0.1:443", "peer": "10.0.0.1:7400"}, ...],
//!                "heartbeat_ms": 200, "election_timeout_ms": [1000, 2000], "write_timeout_ms": 5000,
//!                "snapshot_every": 10000, "snapshot_keep": 1000, "local_instances": 2,
//!                "plugin_limits": { "fuel_per_call": 50000000, "fuel_per_state_call": 20000000000,
//!                                   "memory_mib": 1024, "stack_kib": 512 },
//!                "http": { "max_connections": 4096, "max_connections_per_ip": 256,
//!                          "header_timeout_ms": 10000, "body_timeout_ms": 30000,
//!                          "max_body_bytes": 65536, "max_streams": 1024, "max_streams_per_ip": 32,
//!                          "allowed_hosts": ["tickets.example"] } }
//! }
//! ```
//! A node's id is its position in `nodes`. A node is its public API address (`host:port`, where
//! customers and admins connect), its peer channel then listening on the same host at port +
//! 1000; or an object naming both. A profile may be a bare list of nodes (the original system's
//! form). The profile only bootstraps a new cluster; once running, membership lives in the
//! replicated log, and so do the plugin limits and snapshot spacing (`plugin_limits` and
//! `snapshot_every` are what this node proposes when it bootstraps the cluster's plugin).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::http::HttpLimits;
use crate::node::addr::{is_host_port, with_port_offset};
use crate::node::Timing;
use crate::plugin::Limits;
use crate::raft::{MachineConfig, Member};

/// How far a node's peer port is from its API port when the profile names only the API.
pub const PEER_PORT_OFFSET: u16 = 1000;

/// One node of a profile: its public API address, or both addresses.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum NodeEntry {
    /// `host:port` of the public API; the peer channel is at port + 1000.
    Api(String),
    /// Both addresses.
    Both {
        /// The public API.
        api: String,
        /// The peer channel.
        peer: String,
    },
}

impl NodeEntry {
    /// The member this entry describes.
    ///
    /// # Errors
    /// If an address is not `host:port` or the peer port would leave 1..=65535.
    pub fn member(&self) -> Result<Member, String> {
        match self {
            NodeEntry::Api(api) => {
                if !is_host_port(api) {
                    return Err(format!("'{api}' is not host:port"));
                }
                Ok(Member {
                    api: api.clone(),
                    peer: with_port_offset(api, PEER_PORT_OFFSET)?,
                })
            }
            NodeEntry::Both { api, peer } => {
                for addr in [api, peer] {
                    if !is_host_port(addr) {
                        return Err(format!("'{addr}' is not host:port"));
                    }
                }
                Ok(Member {
                    api: api.clone(),
                    peer: peer.clone(),
                })
            }
        }
    }
}

/// A profile as written: a bare list of nodes, or an object with settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum ProfileForm {
    List(Vec<NodeEntry>),
    Full(Box<Profile>),
}

/// The public port's limits in a profile; each field defaults to [`HttpLimits::default`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Open connections at once, all clients together (default 4096).
    pub max_connections: Option<usize>,
    /// Open connections from one client address (default 256).
    pub max_connections_per_ip: Option<usize>,
    /// Time for a request's headers to arrive, and for an idle connection to be kept (default 10000).
    pub header_timeout_ms: Option<u64>,
    /// Time for a request's body to arrive (default 30000).
    pub body_timeout_ms: Option<u64>,
    /// Largest request body of the public API (default 65536).
    pub max_body_bytes: Option<usize>,
    /// Open event streams at once (default 1024).
    pub max_streams: Option<usize>,
    /// Open event streams from one client address (default 32).
    pub max_streams_per_ip: Option<usize>,
    /// `Host` names served; empty or absent: any.
    pub allowed_hosts: Option<Vec<String>>,
}

/// One named cluster layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Each node; the index is the node id.
    pub nodes: Vec<NodeEntry>,
    /// Leader heartbeat period (default 40).
    #[serde(default)]
    pub heartbeat_ms: Option<u64>,
    /// Election timeout range (default [100, 200]).
    #[serde(default)]
    pub election_timeout_ms: Option<[u64; 2]>,
    /// How long a write may wait for a quorum (default 3000).
    #[serde(default)]
    pub write_timeout_ms: Option<u64>,
    /// Snapshot at least this many entries apart (default 10000); proposed at bootstrap.
    #[serde(default)]
    pub snapshot_every: Option<u64>,
    /// Entries kept in the log behind a snapshot (default 1000).
    #[serde(default)]
    pub snapshot_keep: Option<u64>,
    /// Plugin resource limits this node proposes at bootstrap (the cluster's come from its log).
    #[serde(default)]
    pub plugin_limits: Option<PluginLimits>,
    /// Node-local plugin instances serving reads and the fronts (default 2).
    #[serde(default)]
    pub local_instances: Option<usize>,
    /// The public port's limits.
    #[serde(default)]
    pub http: Option<HttpSettings>,
}

/// Plugin resource limits in a profile; each field defaults to [`Limits::default`].
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginLimits {
    /// Fuel for one ordinary call (about one unit per wasm instruction; default 50,000,000).
    #[serde(default)]
    pub fuel_per_call: Option<u64>,
    /// Fuel for `snapshot` and `restore` (default 20,000,000,000).
    #[serde(default)]
    pub fuel_per_state_call: Option<u64>,
    /// Linear memory cap in MiB (default 1024).
    #[serde(default)]
    pub memory_mib: Option<usize>,
    /// Wasm stack cap in KiB (default 512).
    #[serde(default)]
    pub stack_kib: Option<usize>,
}

impl Profile {
    /// The members: id to addresses (entries are checked by [`load_profile`]).
    pub fn members(&self) -> BTreeMap<u64, Member> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, entry)| entry.member().ok().map(|m| (i as u64, m)))
            .collect()
    }

    /// The public API addresses of the nodes, in id order.
    pub fn api_addrs(&self) -> Vec<String> {
        self.members().into_values().map(|m| m.api).collect()
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

    /// The machine config this node proposes at bootstrap, defaults filled in.
    pub fn machine_config(&self) -> MachineConfig {
        let default = MachineConfig::default();
        MachineConfig {
            limits: self.limits(),
            snapshot_every: self.snapshot_every.unwrap_or(default.snapshot_every),
        }
    }

    /// Log entries kept behind a snapshot (default 1000).
    pub fn keep_entries(&self) -> u64 {
        self.snapshot_keep.unwrap_or(1_000)
    }

    /// Local plugin instances (default 2, at least 1, at most 16).
    pub fn local_instances(&self) -> usize {
        self.local_instances.unwrap_or(2).clamp(1, 16)
    }

    /// The public port's limits, defaults filled in.
    pub fn http_limits(&self) -> HttpLimits {
        let default = HttpLimits::default();
        let given = self.http.clone().unwrap_or_default();
        HttpLimits {
            max_connections: given.max_connections.unwrap_or(default.max_connections),
            max_connections_per_ip: given
                .max_connections_per_ip
                .unwrap_or(default.max_connections_per_ip),
            header_timeout: given
                .header_timeout_ms
                .map_or(default.header_timeout, Duration::from_millis),
            body_timeout: given
                .body_timeout_ms
                .map_or(default.body_timeout, Duration::from_millis),
            max_body: given.max_body_bytes.unwrap_or(default.max_body),
            max_streams: given.max_streams.unwrap_or(default.max_streams),
            max_streams_per_ip: given
                .max_streams_per_ip
                .unwrap_or(default.max_streams_per_ip),
            allowed_hosts: given.allowed_hosts.unwrap_or(default.allowed_hosts),
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
    let mut profiles: BTreeMap<String, ProfileForm> =
        serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    let known = profiles.keys().cloned().collect::<Vec<_>>().join(", ");
    let profile = match profiles.remove(name) {
        Some(ProfileForm::Full(profile)) => *profile,
        Some(ProfileForm::List(nodes)) => Profile {
            nodes,
            heartbeat_ms: None,
            election_timeout_ms: None,
            write_timeout_ms: None,
            snapshot_every: None,
            snapshot_keep: None,
            plugin_limits: None,
            local_instances: None,
            http: None,
        },
        None => {
            return Err(ConfigError::UnknownProfile {
                name: name.to_string(),
                path: shown.clone(),
                known,
            })
        }
    };
    let bad = |reason: String| ConfigError::BadProfile {
        name: name.to_string(),
        path: shown.clone(),
        reason,
    };
    if profile.nodes.is_empty() {
        return Err(bad("it lists no nodes".into()));
    }
    let mut seen: Vec<String> = Vec::new();
    for (i, entry) in profile.nodes.iter().enumerate() {
        let member = entry
            .member()
            .map_err(|reason| bad(format!("node {i}: {reason}")))?;
        for addr in [member.api, member.peer] {
            if seen.contains(&addr) {
                return Err(bad(format!("address {addr} is listed twice")));
            }
            seen.push(addr);
        }
    }
    profile
        .machine_config()
        .validate()
        .map_err(|e| bad(e.to_string()))?;
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
        let file = write(r#"{"default":{"nodes":["localhost:8001","localhost:8002"]}}"#);
        let profile = load_profile(file.path(), "default").expect("valid profile");
        assert_eq!(
            profile.members().get(&1),
            Some(&Member {
                api: "localhost:8002".into(),
                peer: "localhost:9002".into()
            })
        );
        assert_eq!(profile.write_timeout(), Duration::from_secs(3));
    }

    #[test]
    fn bare_lists_and_explicit_peer_addresses_are_profiles_too() {
        let file = write(
            r#"{"legacy":["localhost:6000","localhost:6001"],
                "split":{"nodes":[{"api":"a:80","peer":"a:7400"}]}}"#,
        );
        let legacy = load_profile(file.path(), "legacy").expect("bare list");
        assert_eq!(legacy.api_addrs(), ["localhost:6000", "localhost:6001"]);
        let split = load_profile(file.path(), "split").expect("objects");
        assert_eq!(split.members()[&0].peer, "a:7400");
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
            r#"{"default":{"nodes":["a:1","a:1001"]}}"#,
            r#"{"default":{"nodes":["a:65000"]}}"#,
            r#"{"default":{"nodes":["a:1"],"plugin_limits":{"memory_mib":1}}}"#,
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
