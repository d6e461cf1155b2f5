//! What a log entry carries and what applying it produces.
//!
//! The host stamps every entry with the leader's clock so that the plugin can reason about time
//! deterministically: replicas never read their own clocks while applying. Everything that
//! decides a replicated outcome travels in entries: commands, plugin installs and the
//! [`MachineConfig`] (plugin limits and snapshot spacing).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plugin::{Limits, LimitsError, PluginImage};

/// The application data of one log entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Milliseconds since the Unix epoch on the leader when it accepted the entry, never less
    /// than any time already in its log. The state machine also takes the running maximum, so
    /// log time never runs backwards whatever a leader's clock says.
    pub leader_time_ms: u64,
    /// What to apply.
    pub payload: Payload,
}

/// The operations the host replicates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Payload {
    /// Opaque plugin command bytes, applied with `machine.apply`.
    Command(Vec<u8>),
    /// A plugin command sent with a client's idempotency key: applied once; a retry with the
    /// same key and request gets the first outcome again (see [`super::request_keys`]).
    KeyedCommand {
        /// The key and a digest of the request it came with.
        key: RequestKey,
        /// Opaque plugin command bytes.
        command: Vec<u8>,
    },
    /// Make this component the cluster's plugin, carrying the state over. Only the leader
    /// appends it, after validating the component itself.
    InstallPlugin {
        /// The component and its hash.
        image: PluginImage,
        /// Only install if the cluster has no plugin yet: how a new cluster adopts the
        /// `--plugin` of whichever node leads first, without ever overriding a real install.
        bootstrap: bool,
        /// For a bootstrap: the machine config the cluster starts with (the proposing node's
        /// profile). Ignored otherwise (the config stays).
        config: MachineConfig,
    },
    /// Change the machine config (limits, snapshot spacing). Validated by the leader.
    Configure(MachineConfig),
    /// Take a snapshot at this entry's index on every replica (`POST /v1/snapshot`).
    Checkpoint,
}

impl Payload {
    /// The plugin command this payload carries, if it is one.
    pub fn command(&self) -> Option<&[u8]> {
        match self {
            Payload::Command(command) | Payload::KeyedCommand { command, .. } => Some(command),
            _ => None,
        }
    }
}

/// What decides replicated outcomes besides the log's commands: the plugin's resource limits
/// and how far apart snapshots are. Lives in the log (a bootstrap install, then configure
/// entries); a node's profile only proposes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineConfig {
    /// Limits every call of the canonical plugin instance runs under.
    pub limits: Limits,
    /// Snapshot at least this many entries apart (more when the state is large, see
    /// `state_machine`).
    pub snapshot_every: u64,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            limits: Limits::default(),
            snapshot_every: 10_000,
        }
    }
}

/// Least and most entries between snapshots.
pub const SNAPSHOT_EVERY_BOUNDS: (u64, u64) = (16, 100_000_000);

impl MachineConfig {
    /// Checks the limits and the snapshot spacing against their bounds.
    ///
    /// # Errors
    /// The first value out of bounds.
    pub fn validate(&self) -> Result<(), LimitsError> {
        self.limits.validate()?;
        let (min, max) = SNAPSHOT_EVERY_BOUNDS;
        if (min..=max).contains(&self.snapshot_every) {
            Ok(())
        } else {
            Err(LimitsError {
                name: "snapshot_every",
                value: self.snapshot_every.into(),
                min: min.into(),
                max: max.into(),
            })
        }
    }
}

/// A client's idempotency key and a digest of the request that carried it: the same key with a
/// different request is refused rather than answered with another request's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestKey {
    /// The key as the client sent it (checked: [`MIN_KEY_LEN`] to [`MAX_KEY_LEN`] visible ASCII
    /// characters).
    pub key: String,
    /// SHA-256 of the request (method, path, body), computed by the node that received it.
    pub fingerprint: [u8; 32],
}

/// Longest accepted idempotency key.
pub const MAX_KEY_LEN: usize = 64;

/// Shortest accepted idempotency key. A replay returns the first answer, capability tokens
/// included, to whoever sends the same key and request: the key is a secret and must not be
/// guessable (a UUID is 36 characters).
pub const MIN_KEY_LEN: usize = 16;

impl RequestKey {
    /// True for [`MIN_KEY_LEN`] to [`MAX_KEY_LEN`] visible ASCII characters.
    pub fn is_well_formed(key: &str) -> bool {
        (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len())
            && key.bytes().all(|b| b.is_ascii_graphic())
    }
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.payload {
            Payload::Command(bytes) => {
                write!(f, "command({} bytes)@{}", bytes.len(), self.leader_time_ms)
            }
            Payload::InstallPlugin {
                image, bootstrap, ..
            } => {
                write!(
                    f,
                    "install-plugin({}, bootstrap={bootstrap})@{}",
                    image.hash.short(),
                    self.leader_time_ms
                )
            }
            Payload::KeyedCommand { key, command } => write!(
                f,
                "command({} bytes, key {:?})@{}",
                command.len(),
                key.key,
                self.leader_time_ms
            ),
            Payload::Configure(config) => {
                write!(f, "configure({config:?})@{}", self.leader_time_ms)
            }
            Payload::Checkpoint => write!(f, "checkpoint@{}", self.leader_time_ms),
        }
    }
}

/// What applying one entry produced, returned to the writer and shown in commit notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    /// Blank, membership and checkpoint entries: nothing for the plugin.
    Nothing,
    /// The plugin applied the command; its answer.
    Applied(Vec<u8>),
    /// The plugin's rules refused the command; its reason, state untouched.
    Rejected(Vec<u8>),
    /// The plugin could not run the command (trap, fuel, memory, no plugin yet); the state is
    /// as before the command, on every replica.
    Failed(String),
    /// The plugin changed; state carried over.
    PluginInstalled {
        /// `info().name` of the new plugin.
        name: String,
        /// `info().version` of the new plugin.
        version: String,
        /// Hash of the new plugin, hex.
        hash: String,
    },
    /// A bootstrap install found a plugin already in place, or the same plugin was installed again.
    PluginUnchanged,
    /// The install failed on apply; the previous plugin stays. The text says why.
    PluginRefused(String),
    /// A keyed command seen before: the outcome it had then, nothing applied now.
    Replayed(Box<ApplyOutcome>),
    /// The idempotency key was first used for a different request; nothing applied.
    KeyReused(String),
    /// The machine config changed.
    Configured(MachineConfig),
    /// The config entry was refused when applied (out of bounds); nothing changed.
    ConfigRefused(String),
}

impl ApplyOutcome {
    /// The plugin's answer to a command, as its render functions expect it.
    pub fn command_result(&self) -> Option<Result<Vec<u8>, Vec<u8>>> {
        match self {
            ApplyOutcome::Applied(b) => Some(Ok(b.clone())),
            ApplyOutcome::Rejected(b) => Some(Err(b.clone())),
            ApplyOutcome::Replayed(first) => first.command_result(),
            _ => None,
        }
    }
}
