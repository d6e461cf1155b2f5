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
}

impl ApplyOutcome {
    /// The plugin's answer to a command, as its render functions expect it.
    pub fn command_result(&self) -> Option<Result<Vec<u8>, Vec<u8>>> {
        match self {
            ApplyOutcome::Applied(b) => Some(Ok(b.clone())),
            ApplyOutcome::Rejected(b) => Some(Err(b.clone())),
            _ => None,
        }
    }
}
