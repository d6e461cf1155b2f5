//! What a log entry carries and what applying it produces.
//!
//! The host stamps every entry with the leader's clock so that the plugin can reason about time
//! deterministically: replicas never read their own clocks while applying.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plugin::PluginImage;

/// The application data of one log entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Milliseconds since the Unix epoch on the leader when it accepted the entry.
    pub leader_time_ms: u64,
    /// What to apply.
    pub payload: Payload,
}

/// The operations the host replicates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Payload {
    /// Opaque plugin command bytes, applied with `machine.apply`.
    Command(Vec<u8>),
    /// Make this component the cluster's plugin, carrying the state over.
    InstallPlugin {
        /// The component and its hash.
        image: PluginImage,
        /// Only install if the cluster has no plugin yet: how a new cluster adopts the
        /// `--plugin` of whichever node leads first, without ever overriding a real install.
        bootstrap: bool,
    },
    /// A plugin command sent with a client's idempotency key: applied once; a retry with the
    /// same key and request gets the first outcome again (see [`super::request_keys`]).
    KeyedCommand {
        /// The key and a digest of the request it came with.
        key: RequestKey,
        /// Opaque plugin command bytes.
        command: Vec<u8>,
    },
}

/// A client's idempotency key and a digest of the request that carried it: the same key with a
/// different request is refused rather than answered with another request's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestKey {
    /// The key as the client sent it.
    pub key: String,
    /// SHA-256 of the request (method, path, body), computed by the node that received it.
    pub fingerprint: [u8; 32],
}

impl fmt::Display for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.payload {
            Payload::Command(bytes) => {
                write!(f, "command({} bytes)@{}", bytes.len(), self.leader_time_ms)
            }
            Payload::InstallPlugin { image, bootstrap } => {
                write!(
                    f,
                    "install-plugin({}, bootstrap={bootstrap})@{}",
                    image.short_hash(),
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
        }
    }
}

/// What applying one entry produced, returned to the writer and shown in commit notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    /// Blank and membership entries: nothing for the plugin.
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
        /// Hash of the new plugin.
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
